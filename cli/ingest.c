/* ingest.c — `pacsaudit ingest`: sniff each input by content, skip what is
 * already stored, drive the matching collector into the store.
 *
 * The only place where collectors meet the store: each collector writes
 * through the store's pa_sink. Re-ingesting is safe: unchanged files are
 * skipped by their ingest_state, and associations already stored are
 * recognised by their addresses, ports and start time. */
#include "cli.h"

#include "analyzer/buf.h"
#include "analyzer/hash.h"
#include "analyzer/log.h"
#include "analyzer/store.h"
#include "collectors/pcap_source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum input_kind { KIND_UNKNOWN, KIND_PCAP };

struct ingest {
  pa_store *store;
  struct pa_sink sink;
  int64_t run_id;
  int quiet;
  int progress;           /* stderr is a terminal and not --quiet */
  const char *current;    /* the file being read, for progress lines */
  struct pa_run_counts counts;
};

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit ingest [--db FILE] [--quiet] PATH...\n"
          "\n"
          "Reads each PATH (a file, or a folder read recursively) into the database.\n"
          "The kind of each file is recognised by its content:\n"
          "  pcap, pcapng   DICOM associations (any port) and TLS connections\n"
          "Files of other kinds met inside a folder are passed over; a file named\n"
          "on the command line that is of no known kind is an error.\n"
          "\n"
          "A file read before and unchanged since is skipped; one that changed is\n"
          "read again and only what is not stored yet is added.\n"
          "\n"
          "options:\n"
          "  --db FILE    database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
          "  -q, --quiet  no progress and no summary\n"
          "  -h, --help   this text\n"
          "\n"
          "exit status: 0 ok, 2 some input could not be read (the rest is stored),\n"
          "3 internal error\n");
}

static enum input_kind sniff(const uint8_t *p, size_t n)
{
  static const uint8_t magics[][4] = {
    {0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, /* pcap, us */
    {0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, /* pcap, ns */
    {0x0a, 0x0d, 0x0d, 0x0a},                           /* pcapng SHB */
  };
  if (n < 4)
    return KIND_UNKNOWN;
  for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
    if (!memcmp(p, magics[i], 4))
      return KIND_PCAP;
  return KIND_UNKNOWN;
}

static void progress(void *ctx, uint64_t done, uint64_t total)
{
  struct ingest *in = ctx;
  if (total)
    fprintf(stderr, "\r%s: %3u%% %llu/%llu MB", in->current,
            (unsigned)(done * 100 / total), (unsigned long long)(done >> 20),
            (unsigned long long)(total >> 20));
  else
    fprintf(stderr, "\r%s: %llu MB", in->current, (unsigned long long)(done >> 20));
}

/* Reads the identity of the file: inode, size, mtime and the hash of its head. */
static int identify(const char *path, struct pa_input_state *st, uint8_t *head,
                    size_t *head_len)
{
  struct stat sb;
  ssize_t n;
  int fd = open(path, O_RDONLY | O_CLOEXEC);

  if (fd < 0)
    return -1;
  if (fstat(fd, &sb) != 0 || (n = read(fd, head, PA_STATE_HEAD)) < 0) {
    close(fd);
    return -1;
  }
  close(fd);
  memset(st, 0, sizeof *st);
  st->inode = (int64_t)sb.st_ino;
  st->size = (int64_t)sb.st_size;
  st->mtime_us = (int64_t)sb.st_mtim.tv_sec * 1000000 + sb.st_mtim.tv_nsec / 1000;
  *head_len = (size_t)n;
  pa_sha256_hex(head, (size_t)n, st->head_sha256);
  return 0;
}

static int ingest_file(struct ingest *in, const char *path, int named)
{
  static uint8_t head[PA_STATE_HEAD];
  struct pa_input_state st, old;
  struct pa_pcap_stats ps = {0};
  struct pa_pcap_opts po = {0};
  struct pa_store_counts before, after;
  struct pa_err err;
  size_t head_len;
  int found = 0;
  pa_rc rc;

  pa_err_clear(&err);
  err.input = path;
  if (identify(path, &st, head, &head_len) != 0) {
    pa_log(PA_LOG_ERROR, "%s: cannot read: %s", path, strerror(errno));
    in->counts.errors++;
    return -1;
  }
  if (sniff(head, head_len) != KIND_PCAP) {
    /* A file named on the command line must be readable; one met while
     * walking a folder (a README, a script) is passed over. */
    if (!named) {
      pa_log(PA_LOG_INFO, "%s: not a supported input, passed over", path);
      return 0;
    }
    pa_log(PA_LOG_ERROR, "%s: offset 0: unrecognised input (not pcap or pcapng)", path);
    in->counts.errors++;
    return -1;
  }
  in->counts.inputs++;
  snprintf(st.kind, sizeof st.kind, "pcap");
  if (pa_store_state_get(in->store, path, &old, &found))
    return -2;
  if (found && old.inode == st.inode && old.size == st.size &&
      !strcmp(old.head_sha256, st.head_sha256) && old.offset == st.size) {
    in->counts.inputs_skipped++;
    if (!in->quiet)
      printf("%s: unchanged since the last ingest, skipped\n", path);
    return 0;
  }

  in->current = path;
  if (in->progress) {
    po.progress = progress;
    po.progress_ctx = in;
  }
  pa_store_counts(in->store, &before);
  rc = pa_pcap_read_file(path, &in->sink, &po, &ps, &err);
  if (in->progress)
    fputs("\r\033[K", stderr);
  pa_store_counts(in->store, &after);
  in->counts.associations += after.associations - before.associations;
  in->counts.dimse += after.dimse - before.dimse;
  in->counts.events += after.events - before.events;
  in->counts.errors += ps.anomalies;
  if (!in->quiet)
    printf("%s: pcap, %llu packets, %llu associations (%llu TLS) new %llu, "
           "dimse %llu, events %llu, already stored %llu, anomalies %llu\n",
           path, (unsigned long long)ps.packets,
           (unsigned long long)(ps.dicom + ps.tls), (unsigned long long)ps.tls,
           (unsigned long long)(after.associations - before.associations),
           (unsigned long long)(after.dimse - before.dimse),
           (unsigned long long)(after.events - before.events),
           (unsigned long long)(after.duplicates - before.duplicates),
           (unsigned long long)ps.anomalies);
  if (rc == PA_DB || rc == PA_NOMEM) {
    pa_log(PA_LOG_ERROR, "%s: %s: %s", path, pa_strerror(rc), pa_store_errmsg(in->store));
    return -2;
  }
  if (rc == PA_MALFORMED) {
    /* A damaged capture: the collector has named the file, packet and
     * offset on stderr and counted it; what was read before is stored. */
    return -1;
  }
  if (rc != PA_OK) {
    pa_log(PA_LOG_ERROR, "%s: %s", path, err.msg[0] ? err.msg : pa_strerror(rc));
    in->counts.errors++;
    return -1;
  }
  st.offset = st.size;
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
    {"db", required_argument, NULL, 'd'},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct ingest in = {0};
  const char *db = pa_cli_default_db();
  struct pa_err err;
  struct pa_buf args;
  int c, worst = 0;

  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'q': in.quiet = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "pacsaudit ingest: no input given\n");
    help(stderr);
    return PA_EXIT_INPUT;
  }
  in.progress = !in.quiet && isatty(STDERR_FILENO);

  pa_err_clear(&err);
  if (pa_store_open(db, &in.store, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg);
    return PA_EXIT_INTERNAL;
  }
  pa_store_sink(in.store, &in.sink);
  join_args(&args, argc - optind, argv + optind);
  if (pa_store_run_begin(in.store, "ingest", pa_buf_str(&args), &in.run_id) ||
      pa_store_batch_begin(in.store)) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(in.store));
    pa_buf_cleanup(&args);
    pa_store_close(in.store);
    return PA_EXIT_INTERNAL;
  }
  pa_buf_cleanup(&args);
  for (int i = optind; i < argc && worst > -2; i++) {
    int r = ingest_path(&in, argv[i], 0);
    if (r < worst)
      worst = r;
  }
  if (pa_store_batch_commit(in.store))
    worst = -2;
  if (pa_store_run_end(in.store, in.run_id,
                       worst == -2 ? "error" : worst ? "input-error" : "ok", &in.counts,
                       NULL))
    worst = -2;
  if (!in.quiet)
    printf("ingest: %llu inputs (%llu unchanged), %llu new associations, %llu dimse, "
           "%llu events, %llu errors\n",
           (unsigned long long)in.counts.inputs, (unsigned long long)in.counts.inputs_skipped,
           (unsigned long long)in.counts.associations, (unsigned long long)in.counts.dimse,
           (unsigned long long)in.counts.events, (unsigned long long)in.counts.errors);
  if (pa_store_close(in.store))
    worst = -2;
  return worst == -2 ? PA_EXIT_INTERNAL : worst ? PA_EXIT_INPUT : PA_EXIT_OK;
}
