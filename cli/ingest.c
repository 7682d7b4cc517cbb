/* ingest.c — `pacsaudit ingest`: recognise each input by its content, skip
 * what is already stored, and drive the matching collector into the store.
 *
 * Kinds: pcap/pcapng captures (pcap_source), syslog files (framed, joined
 * into messages, then feed.c), bare ATNA XML files, FHIR JSON files and
 * NDJSON; any of the text kinds may be gzip-compressed (rotated logs).
 *
 * Re-running is safe. ingest_state remembers each file's inode, size, the
 * hash of its head and how far it was read: an unchanged file is skipped, a
 * syslog file that grew is read from where the last run stopped, and
 * anything else that changed is read again, with raw's SHA-256 and the
 * associations' key keeping what is stored from being added twice. */
#include "cli.h"
#include "feed.h"

#include "analyzer/buf.h"
#include "analyzer/hash.h"
#include "analyzer/limits.h"
#include "analyzer/log.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "collectors/pcap_source.h"
#include "collectors/syslog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define CHUNK (1024 * 1024)

enum kind { KIND_UNKNOWN, KIND_PCAP, KIND_SYSLOG, KIND_ATNA, KIND_FHIR, KIND_NDJSON };

static const char *const kind_name[] = {"unknown",  "pcap",      "syslog",
                                        "atna-xml", "fhir-json", "ndjson"};

struct ingest {
  pa_store *store;
  struct pa_feed feed;
  int64_t run_id;
  int quiet;
  int progress;        /* stderr is a terminal and not --quiet */
  const char *current; /* the file being read, for progress lines */
  struct pa_run_counts counts;
  uint64_t passed_over; /* files of no known kind met in folders */
  uint8_t *chunk;       /* CHUNK bytes, owned */
};

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit ingest [--db FILE] [--decoders PATH] [--tz ZONE] [--quiet] PATH...\n"
             "\n"
             "Reads each PATH (a file, or a folder read recursively in name order) into\n"
             "the database. The kind of each file is recognised by its content:\n"
             "  pcap, pcapng  DICOM associations (any port) and TLS connections\n"
             "  syslog        RFC 5424 or RFC 3164 lines, LF or octet-counted; a message\n"
             "                may span lines (ATNA XML); ATNA, FHIR and plain lines inside\n"
             "  ATNA XML      one DICOM PS3.15 / RFC 3881 AuditMessage\n"
             "  FHIR JSON     an AuditEvent, a Bundle of them, or NDJSON (one a line)\n"
             "Text files may be gzip-compressed. Files of other kinds met inside a\n"
             "folder are passed over; a file named on the command line must be known.\n"
             "\n"
             "A file read before and unchanged since is skipped; a syslog file that\n"
             "grew is read from where the last run stopped; a message or association\n"
             "already stored is never added twice (a file read again, or a copy of\n"
             "it, adds nothing), but the same plain log line again further on in a\n"
             "file is an event of its own ('repeated'). What cannot be parsed is kept\n"
             "in the quarantine table with the reason.\n"
             "\n"
             "options:\n"
             "  --db FILE        database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
             "  --decoders PATH  site decoders (a JSON file or a folder of them), tried\n"
             "                   after the built-in ones (sshd, PAM, sudo, Keycloak)\n"
             "  --tz ZONE        zone of times that carry none (RFC 3164 syslog, zone-less\n"
             "                   ATNA times); default Asia/Tokyo\n"
             "  -q, --quiet      no progress and no summary\n"
             "  -h, --help       this text\n"
             "\n"
             "exit status: 0 ok, 2 some input could not be read (the rest is stored),\n"
             "3 internal error\n");
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

static enum kind sniff(const uint8_t *p, size_t n)
{
  static const uint8_t magics[][4] = {
    {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, /* pcap, µs */
    {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, /* pcap, ns */
    {0x0a, 0x0d, 0x0d, 0x0a},                           /* pcapng SHB */
  };
  int head_full = n >= PA_STATE_HEAD; /* the file goes on past p[n] */
  size_t i;

  if (n >= 4)
    for (size_t k = 0; k < sizeof magics / sizeof magics[0]; k++)
      if (!memcmp(p, magics[k], 4))
        return KIND_PCAP;
  i = skip_bom_ws(p, n);
  p += i;
  n -= i;
  if (n >= 5 && (!memcmp(p, "<?xml", 5) || (n >= 13 && !memcmp(p, "<AuditMessage", 13))))
    return KIND_ATNA;
  if (n >= 1 && p[0] == '{')
    return looks_ndjson(p, n, head_full) ? KIND_NDJSON : KIND_FHIR;
  if (n >= 1 && p[0] == '[')
    return KIND_FHIR; /* JSON, but no resource: the parser says why, quarantine keeps it */
  /* octet counting: MSG-LEN SP '<' */
  for (i = 0; i < n && i < 8 && p[i] >= '0' && p[i] <= '9'; i++)
    ;
  if (i > 0 && p[0] != '0' && i + 1 < n && p[i] == ' ' && p[i + 1] == '<')
    return KIND_SYSLOG;
  /* A log may begin with lines that are not a syslog header: the tail of a
   * message cut at rotation (XML, an indented stack trace) or a journal
   * banner ("-- Journal begins ..."). Such lines may come before the first
   * header; any other line (a script's "#!", prose) means it is no log. */
  for (const uint8_t *e = p + n, *l = p; l && l < e;) {
    if (pa_syslog_line_is_header(l, (size_t)(e - l), 1) == 1)
      return KIND_SYSLOG;
    if (!(l[0] == '<' || l[0] == ' ' || l[0] == '\t' || l[0] == '\r' || l[0] == '\n' ||
          (e - l >= 3 && !memcmp(l, "-- ", 3))))
      break;
    if ((l = memchr(l, '\n', (size_t)(e - l))))
      l++;
  }
  return KIND_UNKNOWN;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
  struct ingest *in = ctx;
  if (total)
    fprintf(stderr, "\r%s: %3u%% %llu/%llu MB", in->current, (unsigned)(done * 100 / total),
            (unsigned long long)(done >> 20), (unsigned long long)(total >> 20));
  else
    fprintf(stderr, "\r%s: %llu MB", in->current, (unsigned long long)(done >> 20));
}

/* A file, read plain or through zlib. */
struct src {
  int fd;
  gzFile gz;     /* set for gzip files; owns fd */
  int64_t size;  /* bytes on disk */
  char why[160]; /* a gzip read error, with where it happened */
};

static ssize_t src_read(struct src *s, uint8_t *buf, size_t n)
{
  if (s->gz) {
    int r = gzread(s->gz, buf, (unsigned)n), errnum = Z_OK;
    const char *msg = r <= 0 ? gzerror(s->gz, &errnum) : NULL;
    /* zlib ends a file cut short like a whole one (0), and says so only
     * through gzerror: a file still being written, or a copy cut off */
    if (r < 0 || (r == 0 && errnum != Z_OK)) {
      snprintf(s->why, sizeof s->why, "offset %lld (%lld uncompressed): %s",
               (long long)gzoffset(s->gz), (long long)gztell(s->gz),
               errnum == Z_BUF_ERROR ? "the gzip data ends early (a truncated file)"
               : msg && *msg         ? msg
                                     : "corrupt gzip data");
      return -1;
    }
    return r;
  }
  for (;;) {
    ssize_t r = read(s->fd, buf, n);
    if (r >= 0 || errno != EINTR)
      return r;
  }
}

/* Where in the compressed file we are, for progress. */
static uint64_t src_pos(struct src *s)
{
  if (s->gz)
    return (uint64_t)gzoffset(s->gz);
  return (uint64_t)lseek(s->fd, 0, SEEK_CUR);
}

/* Syslog text: frames (joined across lines) into feed. Sets *resume_out to
 * where the last frame began, so a grown file is re-read from there. */
static pa_rc read_syslog(struct ingest *in, struct src *s, const char *path, int64_t start,
                         int64_t mtime_us, int64_t *resume_out)
{
  struct pa_syslog_framer fr;
  struct pa_syslog_opts o;
  uint64_t next_progress = 4 << 20;
  pa_rc rc = PA_OK;
  int eof = 0;

  pa_syslog_opts_init(&o, mtime_us, in->feed.tz);
  pa_syslog_framer_init(&fr, 0, PA_SYSLOG_FRAMING_AUTO | PA_SYSLOG_FRAMING_JOIN);
  *resume_out = start;
  while (rc == PA_OK) {
    struct pa_syslog_frame f;
    struct pa_err e;
    pa_rc r;

    pa_err_clear(&e);
    r = pa_syslog_framer_next(&fr, &f, &e);
    if (r == PA_NEED_MORE) {
      ssize_t n;
      if (eof)
        break;
      n = src_read(s, in->chunk, CHUNK);
      if (n < 0) {
        rc = PA_IO;
        break;
      }
      if (n == 0) {
        eof = 1;
        pa_syslog_framer_end(&fr);
        continue;
      }
      if (pa_syslog_framer_feed(&fr, in->chunk, (size_t)n) != PA_OK) {
        rc = PA_NOMEM;
        break;
      }
      if (in->progress && src_pos(s) >= next_progress) {
        progress(in, src_pos(s), (uint64_t)s->size);
        next_progress = src_pos(s) + (4 << 20);
      }
      continue;
    }
    if (r == PA_NOMEM) {
      rc = r;
      break;
    }
    *resume_out = start + (int64_t)f.frame_offset;
    if (r == PA_OK)
      rc =
        pa_feed_syslog(&in->feed, f.p, f.len, path, start + (int64_t)f.offset, pa_time_now(), &o);
    else
      rc = pa_feed_bad(&in->feed, f.p, f.len, path, start + (int64_t)f.offset, e.msg);
  }
  pa_syslog_framer_cleanup(&fr);
  return rc;
}

/* NDJSON: every non-blank line is one FHIR JSON text. */
static pa_rc read_ndjson(struct ingest *in, struct src *s, const char *path)
{
  struct pa_buf line;
  uint64_t off = 0, line_off = 0;
  int over = 0;
  pa_rc rc = PA_OK;
  ssize_t n;

  pa_buf_init(&line, PA_MAX_FHIR_MSG);
  while (rc == PA_OK && (n = src_read(s, in->chunk, CHUNK)) > 0) {
    size_t i = 0;
    while (rc == PA_OK && i < (size_t)n) {
      const uint8_t *lf = memchr(in->chunk + i, '\n', (size_t)n - i);
      size_t take = lf ? (size_t)(lf - (in->chunk + i)) : (size_t)n - i;
      if (!over && pa_buf_append(&line, in->chunk + i, take) == PA_LIMIT)
        over = 1;
      i += take;
      off += take;
      if (!lf)
        break;
      i++;
      off++;
      if (over)
        rc = pa_feed_bad(&in->feed, line.p, line.len, path, (int64_t)line_off,
                         "fhir.size: NDJSON line over the size limit");
      else if (line.len && skip_bom_ws(line.p, line.len) < line.len)
        rc = pa_feed_body(&in->feed, PA_FEED_FHIR, line.p, line.len, path, (int64_t)line_off,
                          pa_time_now());
      pa_buf_reset(&line);
      over = 0;
      line_off = off;
    }
  }
  if (rc == PA_OK && n < 0)
    rc = PA_IO;
  if (rc == PA_OK && line.len && skip_bom_ws(line.p, line.len) < line.len)
    rc = over ? pa_feed_bad(&in->feed, line.p, line.len, path, (int64_t)line_off,
                            "fhir.size: NDJSON line over the size limit")
              : pa_feed_body(&in->feed, PA_FEED_FHIR, line.p, line.len, path, (int64_t)line_off,
                             pa_time_now());
  pa_buf_cleanup(&line);
  return rc;
}

/* One document (ATNA XML, FHIR JSON), read up to its cap. */
static pa_rc read_document(struct ingest *in, struct src *s, const char *path, enum kind k)
{
  size_t cap = k == KIND_ATNA ? PA_MAX_ATNA_MSG : PA_MAX_FHIR_MSG;
  struct pa_buf doc;
  ssize_t n;
  pa_rc rc = PA_OK;

  pa_buf_init(&doc, cap);
  while ((n = src_read(s, in->chunk, CHUNK)) > 0)
    if (pa_buf_append(&doc, in->chunk, (size_t)n) == PA_LIMIT) {
      size_t room = doc.cap - doc.len;
      pa_buf_append(&doc, in->chunk, room);
      rc = pa_feed_bad(&in->feed, doc.p, doc.len, path, 0,
                       k == KIND_ATNA ? "atna.size: file over the size of one message"
                                      : "fhir.size: file over the size of one JSON text");
      pa_buf_cleanup(&doc);
      return rc;
    }
  if (n < 0)
    rc = PA_IO;
  else
    rc = pa_feed_body(&in->feed, k == KIND_ATNA ? PA_FEED_ATNA : PA_FEED_FHIR, doc.p, doc.len, path,
                      0, pa_time_now());
  pa_buf_cleanup(&doc);
  return rc;
}

/* Identity of a file: inode, size, mtime, and the hash of its first
 * head_len bytes (read into head). */
static int identify(int fd, struct pa_input_state *st, uint8_t *head, size_t *head_len)
{
  struct stat sb;
  ssize_t n;

  if (fstat(fd, &sb) != 0 || (n = pread(fd, head, PA_STATE_HEAD, 0)) < 0)
    return -1;
  memset(st, 0, sizeof *st);
  st->inode = (int64_t)sb.st_ino;
  st->size = (int64_t)sb.st_size;
  st->mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
  *head_len = (size_t)n;
  pa_sha256_hex(head, (size_t)n, st->head_sha256);
  return 0;
}

/* Is this the same file as last time, only (maybe) longer? */
static int same_file(const struct pa_input_state *old, const struct pa_input_state *now,
                     const uint8_t *head, size_t head_len)
{
  char hex[PA_SHA256_HEXLEN];
  size_t n = old->size < PA_STATE_HEAD ? (size_t)old->size : PA_STATE_HEAD;

  if (old->inode != now->inode || now->size < old->size || n > head_len)
    return 0;
  pa_sha256_hex(head, n, hex);
  return !strcmp(hex, old->head_sha256);
}

static void add_feed_counts(struct ingest *in, const struct pa_feed_counts *before)
{
  const struct pa_feed_counts *n = &in->feed.n;
  in->counts.quarantined += n->quarantined - before->quarantined;
}

/* Adds what the store wrote for one file (sc1 - sc0) to the run's counts. */
static void add_store_counts(struct ingest *in, const struct pa_store_counts *sc0,
                             const struct pa_store_counts *sc1)
{
  in->counts.associations += sc1->associations - sc0->associations;
  in->counts.dimse += sc1->dimse - sc0->dimse;
  in->counts.events += sc1->events - sc0->events;
  in->counts.raw += sc1->raw - sc0->raw;
}

static int ingest_file(struct ingest *in, const char *path, int named)
{
  static uint8_t head[PA_STATE_HEAD];
  struct pa_input_state st, old;
  struct pa_store_counts sc0, sc1;
  struct pa_feed_counts fc0 = in->feed.n;
  struct src s = {.fd = -1};
  size_t head_len;
  int found = 0, gz = 0, fd;
  int64_t start = 0, resume = 0;
  enum kind k;
  /* the name as printed: a file name may hold control bytes */
  char shown[4 * PATH_MAX + 1];
  pa_rc rc;

  pa_escape_ctl(shown, sizeof shown, path);
  fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || identify(fd, &st, head, &head_len) != 0) {
    pa_log(PA_LOG_ERROR, "%s: cannot read: %s", path, strerror(errno));
    if (fd >= 0)
      close(fd);
    in->counts.errors++;
    return -1;
  }
  k = sniff(head, head_len);
  if (k == KIND_UNKNOWN && head_len >= 2 && head[0] == 0x1f && head[1] == 0x8b) {
    /* gzip: what is inside decides */
    uint8_t inner[PA_STATE_HEAD];
    gzFile g = gzdopen(dup(fd), "rb");
    int n = g ? gzread(g, inner, sizeof inner) : -1;
    if (g)
      gzclose(g);
    if (n > 0 && (k = sniff(inner, (size_t)n)) == KIND_PCAP) {
      close(fd);
      pa_log(PA_LOG_ERROR,
             "%s: offset 0: a gzip-compressed capture; decompress it first "
             "(libpcap reads captures uncompressed)",
             path);
      in->counts.errors++;
      return -1;
    }
    gz = 1;
  }
  if (k == KIND_UNKNOWN) {
    close(fd);
    /* A file named on the command line must be readable; one met while
     * walking a folder (a README, a script) is passed over. */
    if (!named) {
      pa_log(PA_LOG_INFO, "%s: not a supported input, passed over", path);
      in->passed_over++;
      return 0;
    }
    pa_log(PA_LOG_ERROR,
           "%s: offset 0: unrecognised input (not pcap, pcapng, syslog, "
           "ATNA XML or FHIR JSON)",
           path);
    in->counts.errors++;
    return -1;
  }
  in->counts.inputs++;
  snprintf(st.kind, sizeof st.kind, "%s%s", kind_name[k], gz ? ".gz" : "");
  if (pa_store_state_get(in->store, path, &old, &found)) {
    close(fd);
    return -2;
  }
  if (found && same_file(&old, &st, head, head_len)) {
    if (old.size == st.size && old.mtime_us == st.mtime_us) {
      close(fd);
      in->counts.inputs_skipped++;
      if (!in->quiet)
        pa_cli_line(stdout, "%s: unchanged since the last ingest, skipped", shown);
      return 0;
    }
    if (k == KIND_SYSLOG && !gz)
      start = old.offset; /* it grew: read what was appended */
  }

  in->current = shown;
  pa_store_counts(in->store, &sc0);
  if (k == KIND_PCAP) {
    struct pa_pcap_stats ps = {0};
    struct pa_pcap_opts po = {0};
    struct pa_err err;
    close(fd);
    pa_err_clear(&err);
    err.input = path;
    if (in->progress) {
      po.progress = progress;
      po.progress_ctx = in;
    }
    rc = pa_pcap_read_file(path, &in->feed.sink, &po, &ps, &err);
    if (in->progress)
      fputs("\r\033[K", stderr);
    pa_store_counts(in->store, &sc1);
    in->counts.errors += ps.anomalies;
    if (!in->quiet)
      pa_cli_line(
        stdout,
        "%s: pcap, %llu packets, %llu associations (%llu TLS) new %llu, dimse %llu, "
        "events %llu, already stored %llu, anomalies %llu",
        shown, (unsigned long long)ps.packets, (unsigned long long)(ps.dicom + ps.tls),
        (unsigned long long)ps.tls, (unsigned long long)(sc1.associations - sc0.associations),
        (unsigned long long)(sc1.dimse - sc0.dimse), (unsigned long long)(sc1.events - sc0.events),
        (unsigned long long)(sc1.duplicates - sc0.duplicates), (unsigned long long)ps.anomalies);
    if (rc == PA_MALFORMED) {
      /* named with packet and offset by the collector; the rest is kept */
      add_store_counts(in, &sc0, &sc1);
      return -1;
    }
    if (rc != PA_OK && rc != PA_DB && rc != PA_NOMEM) {
      pa_log(PA_LOG_ERROR, "%s: %s", path, err.msg[0] ? err.msg : pa_strerror(rc));
      in->counts.errors++;
      add_store_counts(in, &sc0, &sc1);
      return -1;
    }
  } else {
    s.fd = fd;
    s.size = st.size;
    /* the sniff above read through a dup of fd: they share the offset */
    if (gz && (lseek(fd, 0, SEEK_SET) != 0 || !(s.gz = gzdopen(fd, "rb")))) {
      close(fd);
      return -2;
    }
    if (start && lseek(fd, start, SEEK_SET) != start)
      start = 0;
    if (k == KIND_SYSLOG)
      rc = read_syslog(in, &s, path, start, st.mtime_us, &resume);
    else if (k == KIND_NDJSON)
      rc = read_ndjson(in, &s, path);
    else
      rc = read_document(in, &s, path, k);
    if (s.gz)
      gzclose(s.gz);
    else
      close(fd);
    if (in->progress)
      fputs("\r\033[K", stderr);
    pa_store_counts(in->store, &sc1);
    add_feed_counts(in, &fc0);
    if (!in->quiet) {
      const struct pa_feed_counts *n = &in->feed.n;
      pa_cli_line(
        stdout,
        "%s: %s%s%s, %llu messages, %llu events (%llu ATNA, %llu FHIR, %llu decoded), "
        "%llu plain lines kept raw only, %llu already stored, %llu repeated, "
        "%llu quarantined",
        shown, kind_name[k], gz ? " (gzip)" : "", start ? " from where it stopped" : "",
        (unsigned long long)(n->messages - fc0.messages),
        (unsigned long long)(sc1.events - sc0.events), (unsigned long long)(n->atna - fc0.atna),
        (unsigned long long)(n->fhir - fc0.fhir), (unsigned long long)(n->decoded - fc0.decoded),
        (unsigned long long)(n->unmatched - fc0.unmatched),
        (unsigned long long)(n->duplicates - fc0.duplicates),
        (unsigned long long)(n->repeats - fc0.repeats),
        (unsigned long long)(n->quarantined - fc0.quarantined));
    }
    if (rc == PA_IO) {
      if (s.why[0])
        pa_log(PA_LOG_ERROR,
               "%s: %s; what came before is stored, and the file is read"
               " again once it is whole",
               path, s.why);
      else
        pa_log(PA_LOG_ERROR, "%s: read error: %s", path, strerror(errno));
      add_store_counts(in, &sc0, &sc1); /* what came before the error is stored */
      in->counts.errors++;
      return -1;
    }
  }
  if (rc == PA_DB || rc == PA_NOMEM) {
    pa_log(PA_LOG_ERROR, "%s: %s: %s", path, pa_strerror(rc), pa_store_errmsg(in->store));
    return -2;
  }
  add_store_counts(in, &sc0, &sc1);
  st.offset = k == KIND_SYSLOG && !gz ? resume : st.size;
  if (pa_store_state_put(in->store, path, &st, in->run_id))
    return -2;
  return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
  return strcmp((*a)->d_name, (*b)->d_name);
}

/* Files of a folder in name order, so runs are repeatable. */
static int ingest_path(struct ingest *in, const char *path, int depth)
{
  struct stat sb;
  struct dirent **ents;
  int n, worst = 0;

  if (stat(path, &sb) != 0) {
    pa_log(PA_LOG_ERROR, "%s: %s", path, strerror(errno));
    in->counts.errors++;
    return -1;
  }
  if (!S_ISDIR(sb.st_mode))
    return S_ISREG(sb.st_mode) ? ingest_file(in, path, depth == 0) : 0;
  if (depth > 32) {
    pa_log(PA_LOG_ERROR, "%s: folders nested too deep", path);
    in->counts.errors++;
    return -1;
  }
  n = scandir(path, &ents, NULL, by_name);
  if (n < 0) {
    pa_log(PA_LOG_ERROR, "%s: %s", path, strerror(errno));
    in->counts.errors++;
    return -1;
  }
  for (int i = 0; i < n; i++) {
    char sub[4096];
    int r = 0;
    if (ents[i]->d_name[0] != '.' && worst > -2) {
      if ((size_t)snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name) >= sizeof sub) {
        pa_log(PA_LOG_ERROR, "%s/%s: path too long", path, ents[i]->d_name);
        in->counts.errors++;
        r = -1;
      } else {
        r = ingest_path(in, sub, depth + 1);
      }
    }
    if (r < worst)
      worst = r;
    free(ents[i]);
  }
  free(ents);
  return worst;
}

/* The inputs as one line for runs.args; owned by the caller (pa_buf_cleanup). */
static void join_args(struct pa_buf *b, int argc, char **argv)
{
  pa_buf_init(b, 64 * 1024);
  for (int i = 0; i < argc; i++)
    if (pa_buf_appendf(b, "%s%s", i ? " " : "", argv[i]))
      break;
}

int pa_cmd_ingest(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'}, {"decoders", required_argument, NULL, 'D'},
    {"tz", required_argument, NULL, 'z'}, {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
  };
  struct ingest in = {0};
  const char *db = pa_cli_default_db(), *decoders = NULL, *tz = NULL;
  struct pa_buf args;
  struct pa_err err;
  int c, r, worst = 0;

  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'D': decoders = optarg; break;
    case 'z': tz = optarg; break;
    case 'q': in.quiet = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind >= argc) {
    pa_cli_line(stderr, "pacsaudit ingest: no input given");
    help(stderr);
    return PA_EXIT_INPUT;
  }
  in.progress = !in.quiet && isatty(STDERR_FILENO);
  if (!(in.chunk = malloc(CHUNK)))
    return PA_EXIT_INTERNAL;

  pa_err_clear(&err);
  if ((r = pa_cli_open_store(db, &in.store))) {
    free(in.chunk);
    return r;
  }
  join_args(&args, argc - optind, argv + optind);
  if (pa_store_run_begin(in.store, "ingest", pa_buf_str(&args), &in.run_id) ||
      pa_store_batch_begin(in.store) || pa_store_bulk_begin(in.store)) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(in.store));
    worst = -2;
  }
  pa_buf_cleanup(&args);
  if (!worst && pa_feed_init(&in.feed, in.store, decoders, tz, in.run_id, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg[0] ? err.msg : "cannot load the decoders");
    worst = -3;
  }
  for (int i = optind; i < argc && worst > -2; i++) {
    r = ingest_path(&in, argv[i], 0);
    if (r < worst)
      worst = r;
  }
  pa_feed_cleanup(&in.feed);
  /* after a store error this rolls the open batch back; the run row still
   * says how the run ended */
  if (pa_store_batch_commit(in.store) && worst > -2) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(in.store));
    worst = -2;
  }
  if (in.run_id && pa_store_run_end(in.store, in.run_id,
                                    worst <= -2 ? "error"
                                    : worst     ? "input-error"
                                                : "ok",
                                    &in.counts, NULL))
    worst = -2;
  if (!in.quiet && worst > -2)
    pa_cli_line(stdout,
                "ingest: %llu inputs (%llu unchanged), %llu new associations, %llu dimse, "
                "%llu events, %llu messages kept, %llu quarantined, %llu errors",
                (unsigned long long)in.counts.inputs, (unsigned long long)in.counts.inputs_skipped,
                (unsigned long long)in.counts.associations, (unsigned long long)in.counts.dimse,
                (unsigned long long)in.counts.events, (unsigned long long)in.counts.raw,
                (unsigned long long)in.counts.quarantined, (unsigned long long)in.counts.errors);
  if (!in.quiet && in.passed_over)
    pa_cli_line(stdout, "ingest: %llu files in folders were of no supported kind and passed over",
                (unsigned long long)in.passed_over);
  if (pa_store_close(in.store))
    worst = -2;
  free(in.chunk);
  return worst == -3   ? PA_EXIT_INPUT
         : worst == -2 ? PA_EXIT_INTERNAL
         : worst       ? PA_EXIT_INPUT
                       : PA_EXIT_OK;
}
