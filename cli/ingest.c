/* ingest.c — `pacsaudit ingest`: recognise each input by its content, skip
 * what is already stored, and drive the matching collector into the store.
 *
 * Kinds: pcap/pcapng captures (pcap_source), syslog files (framed, joined
 * into messages, then ingest/feed.c), bare ATNA XML files, FHIR JSON files
 * and NDJSON; any of the text kinds may be gzip-compressed (rotated logs).
 * The file driver (collectors/file_src) sniffs, identifies and reads them;
 * this file decides what to read again and prints what was done.
 *
 * Re-running is safe. ingest_state remembers each file's inode, size, the
 * hash of its head and how far it was read: an unchanged file is skipped, a
 * syslog file that grew is read from where the last run stopped, and
 * anything else that changed is read again, with raw's SHA-256 and the
 * associations' key keeping what is stored from being added twice. */
#include "cli.h"
#include "ingest/feed.h"
#include "ingest/pipe.h"

#include "analyzer/buf.h"
#include "analyzer/hash.h"
#include "analyzer/limits.h"
#include "analyzer/log.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "collectors/file_src.h"
#include "collectors/pcap_source.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(PA_FILE_HEAD == PA_STATE_HEAD, "a file's identity hashes the head it is sniffed by");

struct ingest {
  pa_store *store;
  struct pa_feed feed;
  pa_pipe *pipe;       /* worker threads in front of the writer; NULL: --workers 0 */
  int64_t run_id;
  int quiet;
  int progress;        /* stderr is a terminal and not --quiet */
  const char *current; /* the file being read, for progress lines */
  struct pa_run_counts counts;
  uint64_t passed_over; /* files of no known kind met in folders */
};

/* SIGINT and SIGTERM while a syslog, ATNA or FHIR file is read: the read
 * stops at the next message, what was read (queued to the workers too) is
 * written and committed, and the file is read again by the next ingest
 * (what is stored is not added twice). At any other moment (a capture, the
 * indexes made at the end) the signal does what it does by default: the
 * open batch is lost as with kill -9, and the next run recovers it. */
static volatile sig_atomic_t stoppable, stop_sig;

static void on_stop(int sig)
{
  if (!stoppable) {
    signal(sig, SIG_DFL);
    raise(sig);
    return;
  }
  stop_sig = sig;
}

/* The file sink, stopped when a signal came (stop_sig): PA_USAGE, which
 * the driver passes back. */
struct stop_sink {
  struct pa_file_sink in;
};

static pa_rc stop_syslog(void *ctx, const uint8_t *p, size_t len, const char *origin,
                         int64_t offset, const struct pa_syslog_opts *o)
{
  struct stop_sink *s = ctx;
  return stop_sig ? PA_USAGE : s->in.syslog(s->in.ctx, p, len, origin, offset, o);
}

static pa_rc stop_body(void *ctx, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                       const char *origin, int64_t offset)
{
  struct stop_sink *s = ctx;
  return stop_sig ? PA_USAGE : s->in.body(s->in.ctx, kind, p, len, origin, offset);
}

static pa_rc stop_bad(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
                      const char *why)
{
  struct stop_sink *s = ctx;
  return stop_sig ? PA_USAGE : s->in.bad(s->in.ctx, p, len, origin, offset, why);
}

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit ingest [--db FILE] [--decoders PATH] [--tz ZONE] [--workers N]\n"
             "                        [--stages] [--quiet] PATH...\n"
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
             "  --workers N      threads that hash, compress and parse syslog, ATNA and\n"
             "                   FHIR files ahead of the one database writer, through a\n"
             "                   bounded queue; 0 does everything in one thread. The rows\n"
             "                   written are the same. Default: the CPUs less one (at\n"
             "                   least 1 when there are 2 or more)\n"
             "  --stages         after the summary, the time a message took in each stage\n"
             "                   (hash, compress, parse on the workers; write)\n"
             "  -q, --quiet      no progress and no summary\n"
             "  -h, --help       this text\n"
             "\n"
             "SIGINT or SIGTERM while a syslog, ATNA or FHIR file is read: what was read\n"
             "is stored and the run ends (status 2); the next ingest reads the file again.\n"
             "\n"
             "exit status: 0 ok, 2 some input could not be read (the rest is stored),\n"
             "3 internal error\n");
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
  struct pa_input_state st, old;
  struct pa_store_counts sc0, sc1;
  struct pa_feed_counts fc0 = in->feed.n;
  struct pa_file *fs;
  struct pa_err err;
  int found = 0, ret = 0;
  int64_t start = 0, resume = 0;
  enum pa_file_kind k;
  /* the name as printed: a file name may hold control bytes */
  char shown[4 * PATH_MAX + 1];
  pa_rc rc;

  pa_escape_ctl(shown, sizeof shown, path);
  if (!(fs = malloc(sizeof *fs)))
    return -2;
  pa_err_clear(&err);
  rc = pa_file_open(fs, path, &err);
  if (rc) {
    pa_log(PA_LOG_ERROR, "%s", err.msg);
    in->counts.errors++;
    free(fs);
    return -1;
  }
  k = fs->kind;
  if (k == PA_FILE_UNKNOWN) {
    pa_file_close(fs);
    free(fs);
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
  memset(&st, 0, sizeof st);
  st.inode = fs->id.inode;
  st.size = fs->id.size;
  st.mtime_us = fs->id.mtime_us;
  snprintf(st.head_sha256, sizeof st.head_sha256, "%s", fs->id.head_sha256);
  snprintf(st.kind, sizeof st.kind, "%s%s", pa_file_kind_name(k), fs->is_gz ? ".gz" : "");
  if (pa_store_state_get(in->store, path, &old, &found)) {
    ret = -2;
    goto out;
  }
  if (found) {
    struct pa_file_id oid = {.inode = old.inode, .size = old.size, .mtime_us = old.mtime_us};
    snprintf(oid.head_sha256, sizeof oid.head_sha256, "%s", old.head_sha256);
    if (pa_file_same(&oid, &fs->id, fs->head, fs->head_len)) {
      if (old.size == st.size && old.mtime_us == st.mtime_us) {
        in->counts.inputs_skipped++;
        if (!in->quiet)
          pa_cli_line(stdout, "%s: unchanged since the last ingest, skipped", shown);
        goto out;
      }
      if (k == PA_FILE_SYSLOG && !fs->is_gz)
        start = old.offset; /* it grew: read what was appended */
    }
  }

  in->current = shown;
  pa_store_counts(in->store, &sc0);
  if (k == PA_FILE_PCAP) {
    struct pa_pcap_stats ps = {0};
    struct pa_pcap_opts po = {0};
    pa_file_close(fs);
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
      ret = -1;
      goto out;
    }
    if (rc != PA_OK && rc != PA_DB && rc != PA_NOMEM) {
      pa_log(PA_LOG_ERROR, "%s: %s", path, err.msg[0] ? err.msg : pa_strerror(rc));
      in->counts.errors++;
      add_store_counts(in, &sc0, &sc1);
      ret = -1;
      goto out;
    }
  } else {
    struct pa_file_sink sink;
    struct stop_sink ss;
    if (in->pipe)
      pa_pipe_file_sink(in->pipe, &ss.in);
    else
      pa_feed_file_sink(&in->feed, &ss.in);
    memset(&sink, 0, sizeof sink);
    sink.ctx = &ss;
    sink.syslog = stop_syslog;
    sink.body = stop_body;
    sink.bad = stop_bad;
    if (in->progress) {
      sink.progress = progress;
      sink.progress_ctx = in;
    }
    stoppable = 1;
    rc = pa_file_read(fs, start, in->feed.tz, &sink, &resume);
    int read_errno = errno;
    if (in->pipe) {
      /* what is still queued is written before the counts and the state */
      pa_rc frc = pa_pipe_flush(in->pipe);
      if (frc)
        rc = frc; /* a store error outranks the read's */
    }
    stoppable = 0;
    if (stop_sig && rc != PA_DB && rc != PA_NOMEM) {
      if (in->progress)
        fputs("\r\033[K", stderr);
      pa_log(PA_LOG_ERROR,
             "%s: interrupted (signal %d): the messages read so far are stored; the file is"
             " read again by the next ingest", path, (int)stop_sig);
      pa_store_counts(in->store, &sc1);
      add_feed_counts(in, &fc0);
      add_store_counts(in, &sc0, &sc1);
      in->counts.errors++;
      ret = -1;
      goto out;
    }
    pa_file_close(fs);
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
        shown, pa_file_kind_name(k), fs->is_gz ? " (gzip)" : "",
        start ? " from where it stopped" : "", (unsigned long long)(n->messages - fc0.messages),
        (unsigned long long)(sc1.events - sc0.events), (unsigned long long)(n->atna - fc0.atna),
        (unsigned long long)(n->fhir - fc0.fhir), (unsigned long long)(n->decoded - fc0.decoded),
        (unsigned long long)(n->unmatched - fc0.unmatched),
        (unsigned long long)(n->duplicates - fc0.duplicates),
        (unsigned long long)(n->repeats - fc0.repeats),
        (unsigned long long)(n->quarantined - fc0.quarantined));
    }
    if (rc == PA_IO) {
      if (fs->why[0])
        pa_log(PA_LOG_ERROR,
               "%s: %s; what came before is stored, and the file is read"
               " again once it is whole",
               path, fs->why);
      else
        pa_log(PA_LOG_ERROR, "%s: read error: %s", path, strerror(read_errno));
      add_store_counts(in, &sc0, &sc1); /* what came before the error is stored */
      in->counts.errors++;
      ret = -1;
      goto out;
    }
  }
  if (rc == PA_DB || rc == PA_NOMEM) {
    pa_log(PA_LOG_ERROR, "%s: %s: %s", path, pa_strerror(rc), pa_store_errmsg(in->store));
    ret = -2;
    goto out;
  }
  add_store_counts(in, &sc0, &sc1);
  st.offset = k == PA_FILE_SYSLOG && !fs->is_gz ? resume : st.size;
  if (pa_store_state_put(in->store, path, &st, in->run_id))
    ret = -2;
out:
  pa_file_close(fs);
  free(fs);
  return ret;
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
    if (ents[i]->d_name[0] != '.' && worst > -2 && !stop_sig) {
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
    {"workers", required_argument, NULL, 'w'}, {"stages", no_argument, NULL, 'S'},
    {"help", no_argument, NULL, 'h'},     {NULL, 0, NULL, 0},
  };
  struct ingest in = {0};
  const char *db = pa_cli_default_db(), *decoders = NULL, *tz = NULL;
  int workers = pa_pipe_default_workers();
  int stages = 0;
  struct pa_buf args;
  struct pa_err err;
  int c, r, worst = 0;

  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'D': decoders = optarg; break;
    case 'z': tz = optarg; break;
    case 'q': in.quiet = 1; break;
    case 'w': {
      long long v;
      if (pa_cli_parse_count(optarg, 0, PA_PIPE_MAX_WORKERS, &v)) {
        pa_cli_line(stderr, "pacsaudit ingest: --workers: a number from 0 to %d", PA_PIPE_MAX_WORKERS);
        return PA_EXIT_INPUT;
      }
      workers = (int)v;
      break;
    }
    case 'S': stages = 1; break;
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
  {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
  }

  pa_err_clear(&err);
  if ((r = pa_cli_open_store(db, &in.store)))
    return r;
  join_args(&args, argc - optind, argv + optind);
  if (pa_store_run_begin(in.store, "ingest", pa_buf_str(&args), &in.run_id) ||
      pa_store_batch_begin(in.store) || pa_store_bulk_begin(in.store)) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(in.store));
    worst = -2;
  }
  pa_buf_cleanup(&args);
  if (!worst)
    pa_store_run_track(in.store, in.run_id); /* counts committed batch by batch */
  if (!worst && pa_feed_init(&in.feed, in.store, decoders, tz, in.run_id, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg[0] ? err.msg : "cannot load the decoders");
    worst = -3;
  }
  if (!worst && workers > 0 && pa_pipe_new(&in.feed, workers, &in.pipe)) {
    pa_log(PA_LOG_ERROR, "cannot start %d worker threads", workers);
    worst = -2;
  }
  for (int i = optind; i < argc && worst > -2 && !stop_sig; i++) {
    r = ingest_path(&in, argv[i], 0);
    if (r < worst)
      worst = r;
  }
  if (in.pipe && stages && !in.quiet) {
    struct pa_pipe_stats ps;
    pa_pipe_stats(in.pipe, &ps);
    if (ps.messages) {
      double n = (double)ps.messages;
      pa_cli_line(stdout,
                  "ingest: %llu messages, time a message on average: hash %.1f us, compress "
                  "%.1f us, parse %.1f us (on %d workers); write %.1f us (the writer, commits "
                  "included); the queue was full %llu times",
                  (unsigned long long)ps.messages, ps.ns_hash / n / 1e3, ps.ns_zstd / n / 1e3,
                  ps.ns_parse / n / 1e3, workers, ps.ns_write / n / 1e3,
                  (unsigned long long)ps.waits);
    }
  }
  pa_pipe_free(in.pipe);
  in.pipe = NULL;
  pa_feed_cleanup(&in.feed);
  /* after a store error this rolls the open batch back; the run row still
   * says how the run ended */
  if (pa_store_batch_commit(in.store) && worst > -2) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(in.store));
    worst = -2;
  }
  {
    /* what was committed, also when a failure cut a file short */
    struct pa_store_counts sc;
    pa_store_counts(in.store, &sc);
    in.counts.associations = sc.associations;
    in.counts.dimse = sc.dimse;
    in.counts.events = sc.events;
    in.counts.raw = sc.raw;
    if (worst <= -2)
      in.counts.quarantined = sc.quarantined;
  }
  if (in.run_id && pa_store_run_end(in.store, in.run_id,
                                    worst <= -2 ? "error"
                                    : stop_sig  ? "interrupted"
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
  return worst == -3   ? PA_EXIT_INPUT
         : worst == -2 ? PA_EXIT_INTERNAL
         : worst       ? PA_EXIT_INPUT
                       : PA_EXIT_OK;
}
