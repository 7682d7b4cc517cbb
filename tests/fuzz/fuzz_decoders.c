/* fuzz_decoders.c — libFuzzer target: lines through the built-in decoders.
 *
 * The decoders are loaded once from collectors/decoders (found from the path
 * of tests/unit/pa_test.h, or $PA_DECODERS_DIR). Input: "PROGRAM\nMESSAGE" is
 * matched as APP-NAME/TAG and MSG directly (reaching every decoder's pattern);
 * the whole input is also parsed as a syslog message and matched. */
#include "collectors/decoders.h"
#include "collectors/syslog.h"
#include "tests/unit/pa_test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static pa_decoders *dec;
static pa_decoders_scratch *scratch;

static void init(void)
{
  char dir[4096];
  const char *env = getenv("PA_DECODERS_DIR");
  struct pa_err e;

  if (env)
    snprintf(dir, sizeof dir, "%s", env);
  else
    pa_test_src_path(dir, sizeof dir, "collectors/decoders");
  dec = pa_decoders_new();
  scratch = pa_decoders_scratch_new();
  pa_err_clear(&e);
  if (!dec || !scratch || pa_decoders_load_dir(dec, dir, &e) != PA_OK) {
    fprintf(stderr, "fuzz_decoders: %s\n", e.msg);
    abort();
  }
}

static void match(const struct pa_syslog_msg *m)
{
  struct pa_event ev;
  struct pa_decoded info;
  struct pa_err e;
  pa_rc rc = pa_decoders_match(dec, m, scratch, &ev, &info, &e);
  if (rc != PA_OK && rc != PA_LIMIT && rc != PA_MALFORMED)
    abort();
  if (info.matched) {
    const char *s[] = {ev.user_id, ev.src_ip, ev.user_role, ev.host, ev.event_code};
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
      if (s[i] && strlen(s[i]) > 1024)
        abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_syslog_msg m;
  struct pa_err e;
  const uint8_t *nl;

  if (!dec)
    init();
  nl = memchr(data, '\n', size);
  memset(&m, 0, sizeof m);
  m.format = PA_SYSLOG_RFC3164;
  m.pri = -1;
  if (nl) {
    m.app_name.p = data;
    m.app_name.len = (size_t)(nl - data);
    m.msg.p = nl + 1;
    m.msg.len = size - (size_t)(nl - data) - 1;
  } else {
    m.msg.p = data;
    m.msg.len = size;
  }
  match(&m);
  if (pa_syslog_parse(data, size, NULL, &m, &e) == PA_OK)
    match(&m);
  return 0;
}
