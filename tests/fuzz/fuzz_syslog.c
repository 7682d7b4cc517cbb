/* fuzz_syslog.c — libFuzzer target: the syslog framer (every mode, input cut
 * into chunks) and the parser and body sniffer on every frame and on the
 * whole input.
 *
 * Input: byte 0 picks the framing mode (low 2 bits) and JOIN (bit 2), byte 1
 * the chunk size (1..256) and the cap; the rest is the stream. */
#include "analyzer/limits.h"
#include "collectors/syslog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void check_msg(const uint8_t *p, size_t len, const struct pa_syslog_opts *o)
{
  struct pa_syslog_msg m;
  struct pa_err e;
  const struct pa_syslog_str *f[] = {&m.ts_raw, &m.hostname, &m.app_name, &m.procid,
                                     &m.msgid,  &m.sd,       &m.msg};
  pa_rc rc = pa_syslog_parse(p, len, o, &m, &e);
  if (rc != PA_OK && rc != PA_MALFORMED && rc != PA_LIMIT)
    abort();
  /* every field lies inside the input */
  for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
    if (f[i]->p && (f[i]->p < p || f[i]->p + f[i]->len > p + len))
      abort();
  if (m.pri > 191 || (m.pri >= 0 && (m.facility != m.pri >> 3 || m.severity != (m.pri & 7))))
    abort();
  (void)pa_syslog_body_kind(m.msg.p, m.msg.len);
  char small[8];
  pa_syslog_str_copy(small, sizeof small, m.hostname);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const unsigned modes[] = {PA_SYSLOG_FRAMING_AUTO, PA_SYSLOG_FRAMING_OCTET,
                                   PA_SYSLOG_FRAMING_LF, PA_SYSLOG_FRAMING_AUTO};
  struct pa_syslog_opts o;
  struct pa_syslog_framer f;
  struct pa_syslog_frame fr;
  struct pa_err e;
  size_t chunk, cap, at = 0;
  unsigned mode;
  uint64_t total = 0;

  if (size < 2)
    return 0;
  mode = modes[data[0] & 3] | ((data[0] & 4) ? PA_SYSLOG_FRAMING_JOIN : 0);
  chunk = (size_t)data[1] + 1;
  cap = (data[0] & 8) ? 64 + data[1] : 0; /* small caps reach the cut/resync paths */
  data += 2;
  size -= 2;
  pa_syslog_opts_init(&o, 1700000000000000LL, "Asia/Tokyo");
  check_msg(data, size, &o);

  pa_syslog_framer_init(&f, cap, mode);
  for (;;) {
    size_t n = size - at < chunk ? size - at : chunk;
    /* a private copy, so a frame pointing into a stale chunk is caught */
    uint8_t *c = malloc(n ? n : 1);
    pa_rc rc;
    memcpy(c, data + at, n);
    if (n == 0)
      pa_syslog_framer_end(&f);
    else if (pa_syslog_framer_feed(&f, c, n) != PA_OK)
      abort();
    while ((rc = pa_syslog_framer_next(&f, &fr, &e)) != PA_NEED_MORE) {
      if (rc != PA_OK && rc != PA_MALFORMED && rc != PA_LIMIT)
        abort();
      if (fr.len > f.cap || fr.offset + fr.len > size || fr.frame_offset > fr.offset)
        abort();
      if (fr.len && memcmp(fr.p, data + fr.offset, fr.len) != 0)
        abort(); /* the frame is the stream's bytes at its offset */
      total += fr.len;
      check_msg(fr.p, fr.len, &o);
    }
    free(c);
    at += n;
    if (n == 0)
      break;
  }
  if (total > size)
    abort();
  pa_syslog_framer_cleanup(&f);
  return 0;
}
