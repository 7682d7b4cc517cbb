/* fuzz_feed.c — libFuzzer target: the feed (ingest/feed) over a store, so
 * every parser a received message can reach runs behind it: the syslog
 * header, the body sniffer, ATNA XML, FHIR JSON, the decoders and the sshd
 * try join, and the file driver's sniffing and framing of a whole file.
 *
 * Input: byte 0 picks the path (mod 6):
 *   0 one syslog message (a frame or a datagram)    pa_feed_syslog
 *   1 an ATNA XML document from a file               pa_feed_body
 *   2 a FHIR JSON text (a file, an NDJSON line)      pa_feed_body
 *   3 an IHE Yr4 document                            pa_feed_body
 *   4 bytes that could not be framed                 pa_feed_bad
 *   5 a whole file, through collectors/file_src      pa_file_open/pa_file_read
 * the rest is the bytes.
 *
 * The store is a file on /dev/shm (memory; $TMPDIR when there is none),
 * opened once per process and removed at exit: pa_store_open has no
 * in-memory mode. What must hold: input never makes the feed fail (only the
 * store may, and it does not here), every call counts one message, and a
 * message adds at most one raw row. */
#include "analyzer/store.h"
#include "collectors/file_src.h"
#include "ingest/feed.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pa_store *store;
static struct pa_feed feed;
static struct pa_syslog_opts opts;
static char db_path[256], file_path[256];
static unsigned inputs;

static void remove_files(void)
{
  char p[300];
  pa_feed_cleanup(&feed);
  if (store) {
    pa_store_batch_commit(store);
    pa_store_close(store);
  }
  unlink(db_path);
  snprintf(p, sizeof p, "%s-wal", db_path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", db_path);
  unlink(p);
  unlink(file_path);
}

static void open_store(void)
{
  const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
  struct pa_err err;
  int64_t run;

  if (!dir)
    dir = "/tmp";
  snprintf(db_path, sizeof db_path, "%s/pa_fuzz_feed_%ld.db", dir, (long)getpid());
  snprintf(file_path, sizeof file_path, "%s/pa_fuzz_feed_%ld.in", dir, (long)getpid());
  pa_err_clear(&err);
  if (pa_store_open(db_path, &store, &err) || pa_store_run_begin(store, "ingest", "fuzz", &run) ||
      pa_store_batch_begin(store) || pa_feed_init(&feed, store, NULL, NULL, run, &err)) {
    fprintf(stderr, "fuzz_feed: cannot open the store: %s\n", err.msg);
    abort();
  }
  pa_syslog_opts_init(&opts, 1717200000000000LL, NULL);
  atexit(remove_files);
}

static void feed_file(const uint8_t *p, size_t len)
{
  struct pa_file_sink sink;
  struct pa_file f;
  struct pa_err err;
  int64_t resume;
  FILE *o = fopen(file_path, "wb");
  pa_rc rc;

  if (!o || fwrite(p, 1, len, o) != len || fclose(o) != 0)
    abort();
  pa_err_clear(&err);
  rc = pa_file_open(&f, file_path, &err);
  if (rc == PA_MALFORMED) /* a gzip-compressed capture */
    return;
  if (rc != PA_OK)
    abort();
  if (f.kind != PA_FILE_PCAP && f.kind != PA_FILE_UNKNOWN) {
    pa_feed_file_sink(&feed, &sink);
    rc = pa_file_read(&f, 0, NULL, &sink, &resume);
    /* a gzip file cut short is a read error of the file; nothing else is */
    if (rc != PA_OK && !(rc == PA_IO && f.is_gz))
      abort();
  }
  pa_file_close(&f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_store_counts c0, c1;
  uint64_t m0;
  pa_rc rc = PA_OK;

  if (!store)
    open_store();
  if (size < 1)
    return 0;
  pa_store_counts(store, &c0);
  m0 = feed.n.messages;
  const uint8_t *p = data + 1;
  size_t len = size - 1;
  switch (data[0] % 6) {
  case 0: rc = pa_feed_syslog(&feed, p, len, "udp://fuzz", 0, 1717200000000000LL, &opts); break;
  case 1:
    rc = pa_feed_body(&feed, PA_SYSLOG_BODY_ATNA_XML, p, len, "/fuzz.xml", 0, 1717200000000000LL);
    break;
  case 2:
    rc = pa_feed_body(&feed, PA_SYSLOG_BODY_FHIR_JSON, p, len, "/fuzz.json", 0, 1717200000000000LL);
    break;
  case 3:
    rc = pa_feed_body(&feed, PA_SYSLOG_BODY_IHE_YR4, p, len, "/fuzz.xml", 0, 1717200000000000LL);
    break;
  case 4: rc = pa_feed_bad(&feed, p, len, "tcp://fuzz", 0, "fuzz: not a frame"); break;
  case 5: feed_file(p, len); break;
  }
  if (rc != PA_OK)
    abort();
  pa_store_counts(store, &c1);
  if (data[0] % 6 != 5 && (feed.n.messages != m0 + 1 || c1.raw > c0.raw + 1))
    abort();
  if (++inputs % 256 == 0 && (pa_store_batch_commit(store) || pa_store_batch_begin(store)))
    abort();
  return 0;
}
