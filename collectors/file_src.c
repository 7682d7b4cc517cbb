/* file_src.c — the file driver (see file_src.h). Moved out of cli/ingest.c
 * so that tests reach it; the reading is as it was there. */
#include "file_src.h"

#include "../analyzer/buf.h"
#include "../analyzer/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1024 * 1024)

static const char *const kind_name[] = {"unknown",   "pcap",   "syslog", "atna-xml",
                                        "fhir-json", "ndjson", "ihe-yr4"};

const char *pa_file_kind_name(enum pa_file_kind k)
{
  return (unsigned)k < sizeof kind_name / sizeof kind_name[0] ? kind_name[k] : "unknown";
}

enum pa_syslog_body pa_file_body_kind(enum pa_file_kind k)
{
  switch (k) {
  case PA_FILE_ATNA: return PA_SYSLOG_BODY_ATNA_XML;
  case PA_FILE_IHE_YR4: return PA_SYSLOG_BODY_IHE_YR4;
  default: return PA_SYSLOG_BODY_FHIR_JSON;
  }
}

static size_t skip_bom_ws(const uint8_t *p, size_t n)
{
  size_t i = 0;
  if (n >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
    i = 3;
  while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r' || p[i] == '\n'))
    i++;
  return i;
}

/* NDJSON when the first line is a whole JSON object by itself (ends in '}')
 * and another line starts with '{'; else one JSON text. A first line longer
 * than the head is NDJSON too: a pretty-printed text breaks its first line
 * early, and a file of one long line reads the same either way. */
static int looks_ndjson(const uint8_t *p, size_t n, int head_full)
{
  const uint8_t *lf = memchr(p, '\n', n);
  size_t e;
  if (!lf)
    return head_full;
  e = (size_t)(lf - p);
  while (e > 0 && (p[e - 1] == '\r' || p[e - 1] == ' ' || p[e - 1] == '\t'))
    e--;
  if (e == 0 || p[e - 1] != '}')
    return 0;
  for (size_t i = (size_t)(lf - p) + 1; i < n; i++)
    if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
      return p[i] == '{';
  return 0;
}

enum pa_file_kind pa_file_sniff(const uint8_t *p, size_t n, int head_full)
{
  static const uint8_t magics[][4] = {
    {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, /* pcap, µs */
    {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, /* pcap, ns */
    {0x0a, 0x0d, 0x0d, 0x0a},                           /* pcapng SHB */
  };
  size_t i;

  if (n >= 4)
    for (size_t k = 0; k < sizeof magics / sizeof magics[0]; k++)
      if (!memcmp(p, magics[k], 4))
        return PA_FILE_PCAP;
  /* the body sniffer that syslog messages go through decides between the
   * audit formats, so a body is the same thing in a file as in a message */
  switch (pa_syslog_body_kind(p, n)) {
  case PA_SYSLOG_BODY_ATNA_XML: return PA_FILE_ATNA;
  case PA_SYSLOG_BODY_IHE_YR4: return PA_FILE_IHE_YR4;
  case PA_SYSLOG_BODY_FHIR_JSON: break;               /* one text or NDJSON: below */
  case PA_SYSLOG_BODY_XML_OTHER: return PA_FILE_ATNA; /* the parser says why not */
  case PA_SYSLOG_BODY_TEXT: break;
  }
  i = skip_bom_ws(p, n);
  p += i;
  n -= i;
  if (n >= 1 && p[0] == '{')
    return looks_ndjson(p, n, head_full) ? PA_FILE_NDJSON : PA_FILE_FHIR;
  if (n >= 1 && p[0] == '[')
    return PA_FILE_FHIR; /* JSON, but no resource: the parser says why, quarantine keeps it */
  /* octet counting: MSG-LEN SP '<' */
  for (i = 0; i < n && i < 8 && p[i] >= '0' && p[i] <= '9'; i++)
    ;
  if (i > 0 && p[0] != '0' && i + 1 < n && p[i] == ' ' && p[i + 1] == '<')
    return PA_FILE_SYSLOG;
  /* A log may begin with lines that are not a syslog header: the tail of a
   * message cut at rotation (XML, an indented stack trace) or a journal
   * banner ("-- Journal begins ..."). Such lines may come before the first
   * header; any other line (a script's "#!", prose) means it is no log. */
  for (const uint8_t *e = p + n, *l = p; l && l < e;) {
    if (pa_syslog_line_is_header(l, (size_t)(e - l), 1) == 1)
      return PA_FILE_SYSLOG;
    if (!(l[0] == '<' || l[0] == ' ' || l[0] == '\t' || l[0] == '\r' || l[0] == '\n' ||
          (e - l >= 3 && !memcmp(l, "-- ", 3))))
      break;
    if ((l = memchr(l, '\n', (size_t)(e - l))))
      l++;
  }
  return PA_FILE_UNKNOWN;
}

int pa_file_same(const struct pa_file_id *old, const struct pa_file_id *now, const uint8_t *head,
                 size_t head_len)
{
  char hex[PA_SHA256_HEXLEN];
  size_t n = old->size < PA_FILE_HEAD ? (size_t)old->size : PA_FILE_HEAD;

  if (old->size < 0 || old->inode != now->inode || now->size < old->size || n > head_len)
    return 0;
  pa_sha256_hex(head, n, hex);
  return !strcmp(hex, old->head_sha256);
}

/* Identity of an open file: inode, size, mtime, and the hash of its first
 * PA_FILE_HEAD bytes (read into f->head). */
static int identify(struct pa_file *f)
{
  struct stat sb;
  ssize_t n;

  if (fstat(f->fd, &sb) != 0 || (n = pread(f->fd, f->head, PA_FILE_HEAD, 0)) < 0)
    return -1;
  memset(&f->id, 0, sizeof f->id);
  f->id.inode = (int64_t)sb.st_ino;
  f->id.size = (int64_t)sb.st_size;
  f->id.mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
  f->head_len = (size_t)n;
  pa_sha256_hex(f->head, (size_t)n, f->id.head_sha256);
  return 0;
}

pa_rc pa_file_open(struct pa_file *f, const char *path, struct pa_err *err)
{
  memset(f, 0, sizeof *f);
  f->path = path;
  f->fd = open(path, O_RDONLY | O_CLOEXEC);
  if (f->fd < 0 || identify(f) != 0) {
    int e = errno;
    pa_file_close(f);
    errno = e;
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot read: %s", path, strerror(e));
  }
  f->kind = pa_file_sniff(f->head, f->head_len, f->head_len >= PA_FILE_HEAD);
  if (f->kind == PA_FILE_UNKNOWN && f->head_len >= 2 && f->head[0] == 0x1f && f->head[1] == 0x8b) {
    /* gzip: what is inside decides */
    uint8_t inner[PA_FILE_HEAD];
    int d = dup(f->fd);
    gzFile g = d >= 0 ? gzdopen(d, "rb") : NULL;
    int n = g ? gzread(g, inner, sizeof inner) : -1;
    if (g)
      gzclose(g);
    else if (d >= 0)
      close(d);
    if (n > 0 &&
        (f->kind = pa_file_sniff(inner, (size_t)n, n >= (int)sizeof inner)) == PA_FILE_PCAP) {
      pa_file_close(f);
      return pa_err_set(err, PA_MALFORMED, 0, 0,
                        "%s: offset 0: a gzip-compressed capture; decompress it first "
                        "(libpcap reads captures uncompressed)",
                        path);
    }
    f->is_gz = 1;
  }
  return PA_OK;
}

void pa_file_close(struct pa_file *f)
{
  if (f->gz)
    gzclose((gzFile)f->gz);
  else if (f->fd >= 0)
    close(f->fd);
  f->gz = NULL;
  f->fd = -1;
}

static ssize_t src_read(struct pa_file *f, uint8_t *buf, size_t n)
{
  if (f->gz) {
    gzFile gz = f->gz;
    int r = gzread(gz, buf, (unsigned)n), errnum = Z_OK;
    const char *msg = r <= 0 ? gzerror(gz, &errnum) : NULL;
    /* zlib ends a file cut short like a whole one (0), and says so only
     * through gzerror: a file still being written, or a copy cut off */
    if (r < 0 || (r == 0 && errnum != Z_OK)) {
      snprintf(f->why, sizeof f->why, "offset %lld (%lld uncompressed): %s",
               (long long)gzoffset(gz), (long long)gztell(gz),
               errnum == Z_BUF_ERROR ? "the gzip data ends early (a truncated file)"
               : msg && *msg         ? msg
                                     : "corrupt gzip data");
      return -1;
    }
    return r;
  }
  for (;;) {
    ssize_t r = read(f->fd, buf, n);
    if (r >= 0 || errno != EINTR)
      return r;
  }
}

/* Where in the file on disk the read is, for progress. */
static uint64_t src_pos(struct pa_file *f)
{
  if (f->gz)
    return (uint64_t)gzoffset((gzFile)f->gz);
  return (uint64_t)lseek(f->fd, 0, SEEK_CUR);
}

/* Syslog text: frames (joined across lines) into the sink. */
static pa_rc read_syslog(struct pa_file *f, uint8_t *chunk, int64_t start, const char *tz,
                         const struct pa_file_sink *sink, int64_t *resume_out)
{
  struct pa_syslog_framer fr;
  struct pa_syslog_opts o;
  uint64_t next_progress = 4 << 20;
  pa_rc rc = PA_OK;
  int eof = 0;

  pa_syslog_opts_init(&o, f->id.mtime_us, tz);
  pa_syslog_framer_init(&fr, 0, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN);
  *resume_out = start;
  while (rc == PA_OK) {
    struct pa_syslog_frame fm;
    struct pa_err e;
    pa_rc r;

    pa_err_clear(&e);
    r = pa_syslog_framer_next(&fr, &fm, &e);
    if (r == PA_NEED_MORE) {
      ssize_t n;
      if (eof)
        break;
      n = src_read(f, chunk, CHUNK);
      if (n < 0) {
        rc = PA_IO;
        break;
      }
      if (n == 0) {
        eof = 1;
        pa_syslog_framer_end(&fr);
        continue;
      }
      if (pa_syslog_framer_feed(&fr, chunk, (size_t)n) != PA_OK) {
        rc = PA_NOMEM;
        break;
      }
      if (sink->progress && src_pos(f) >= next_progress) {
        sink->progress(sink->progress_ctx, src_pos(f), (uint64_t)f->id.size);
        next_progress = src_pos(f) + (4 << 20);
      }
      continue;
    }
    if (r == PA_NOMEM) {
      rc = r;
      break;
    }
    *resume_out = start + (int64_t)fm.frame_offset;
    if (r == PA_OK)
      rc = sink->syslog(sink->ctx, fm.p, fm.len, f->path, start + (int64_t)fm.offset, &o);
    else
      rc = sink->bad(sink->ctx, fm.p, fm.len, f->path, start + (int64_t)fm.offset, e.msg);
  }
  pa_syslog_framer_cleanup(&fr);
  return rc;
}

/* NDJSON: every non-blank line is one FHIR JSON text. */
static pa_rc read_ndjson(struct pa_file *f, uint8_t *chunk, const struct pa_file_sink *sink)
{
  static const char over_why[] = "fhir.size: NDJSON line over the size limit";
  struct pa_buf line;
  uint64_t off = 0, line_off = 0;
  int over = 0;
  pa_rc rc = PA_OK;
  ssize_t n;

  pa_buf_init(&line, PA_MAX_FHIR_MSG);
  while (rc == PA_OK && (n = src_read(f, chunk, CHUNK)) > 0) {
    size_t i = 0;
    while (rc == PA_OK && i < (size_t)n) {
      const uint8_t *lf = memchr(chunk + i, '\n', (size_t)n - i);
      size_t take = lf ? (size_t)(lf - (chunk + i)) : (size_t)n - i;
      if (!over && pa_buf_append(&line, chunk + i, take) == PA_LIMIT)
        over = 1;
      i += take;
      off += take;
      if (!lf)
        break;
      i++;
      off++;
      if (over)
        rc = sink->bad(sink->ctx, line.p, line.len, f->path, (int64_t)line_off, over_why);
      else if (line.len && skip_bom_ws(line.p, line.len) < line.len)
        rc = sink->body(sink->ctx, PA_SYSLOG_BODY_FHIR_JSON, line.p, line.len, f->path,
                        (int64_t)line_off);
      pa_buf_reset(&line);
      over = 0;
      line_off = off;
    }
  }
  if (rc == PA_OK && n < 0)
    rc = PA_IO;
  if (rc == PA_OK && line.len && skip_bom_ws(line.p, line.len) < line.len)
    rc = over ? sink->bad(sink->ctx, line.p, line.len, f->path, (int64_t)line_off, over_why)
              : sink->body(sink->ctx, PA_SYSLOG_BODY_FHIR_JSON, line.p, line.len, f->path,
                           (int64_t)line_off);
  pa_buf_cleanup(&line);
  return rc;
}

/* One document (ATNA XML, IHE Yr4, FHIR JSON), read up to its cap. */
static pa_rc read_document(struct pa_file *f, uint8_t *chunk, const struct pa_file_sink *sink)
{
  int xml = f->kind == PA_FILE_ATNA || f->kind == PA_FILE_IHE_YR4;
  size_t cap = xml ? PA_MAX_ATNA_MSG : PA_MAX_FHIR_MSG;
  struct pa_buf doc;
  ssize_t n;
  pa_rc rc = PA_OK;

  pa_buf_init(&doc, cap);
  while ((n = src_read(f, chunk, CHUNK)) > 0)
    if (pa_buf_append(&doc, chunk, (size_t)n) == PA_LIMIT) {
      size_t room = doc.cap - doc.len;
      pa_buf_append(&doc, chunk, room);
      rc = sink->bad(sink->ctx, doc.p, doc.len, f->path, 0,
                     xml ? "atna.size: file over the size of one message"
                         : "fhir.size: file over the size of one JSON text");
      pa_buf_cleanup(&doc);
      return rc;
    }
  if (n < 0)
    rc = PA_IO;
  else
    rc = sink->body(sink->ctx, pa_file_body_kind(f->kind), doc.p, doc.len, f->path, 0);
  pa_buf_cleanup(&doc);
  return rc;
}

pa_rc pa_file_read(struct pa_file *f, int64_t start, const char *tz,
                   const struct pa_file_sink *sink, int64_t *resume_out)
{
  uint8_t *chunk;
  pa_rc rc;
  int e;

  *resume_out = 0;
  if (f->fd < 0 || f->kind == PA_FILE_PCAP || f->kind == PA_FILE_UNKNOWN)
    return PA_IO;
  if (f->is_gz) {
    start = 0;
    /* the sniff read through a dup of fd: they share the offset */
    if (lseek(f->fd, 0, SEEK_SET) != 0 || !(f->gz = gzdopen(f->fd, "rb")))
      return PA_IO;
  } else if (start && lseek(f->fd, start, SEEK_SET) != start) {
    start = 0;
  }
  if (f->kind != PA_FILE_SYSLOG)
    start = 0;
  if (!(chunk = malloc(CHUNK)))
    return PA_NOMEM;
  if (f->kind == PA_FILE_SYSLOG)
    rc = read_syslog(f, chunk, start, tz, sink, resume_out);
  else if (f->kind == PA_FILE_NDJSON)
    rc = read_ndjson(f, chunk, sink);
  else
    rc = read_document(f, chunk, sink);
  e = errno;
  free(chunk);
  errno = e; /* a read error's, for the caller's message */
  return rc;
}
