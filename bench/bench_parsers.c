/* bench_parsers.c — the reference rates that `pacsaudit ingest` is read
 * against: what the parsers and the store can do alone, on the same
 * messages (bench/audit-ingest.sh runs it; design.md "Measured limits").
 *
 *   pa_bench_parsers FILE.xml|FILE.json [seconds]
 *       one message in a loop (msgs/s and MB/s), ATNA XML or FHIR JSON
 *   pa_bench_parsers --lines FILE [--max N] [--db PATH] [--only STAGES]
 *       the RFC 5424 lines of FILE (pa_bench_gen output), each stage over
 *       all of them (or the first N), one line of results per stage:
 *         sax2      libxml2 SAX2 alone: one push context reused (reset per
 *                   message), a SAX handler whose callbacks do nothing
 *         atna      pa_atna_parse with no sink (the parser, no store)
 *         events    plain inserts into the events table with its indexes
 *                   (pa_store_put_event in batches, as ingest commits them);
 *                   only the insert is timed, not the parse that yields it
 *         audit     pa_store_put_audit: the events row, audit_details and
 *                   one row a participant and an object (timed alone)
 *         raw       pa_store_put_raw of each whole line (SHA-256, zlib, the
 *                   raw row and its sha256 UNIQUE index, the hash chain)
 *         zlib      the compression of raw before schema 10 alone: one
 *                   reused deflate stream (level 1, memLevel 5), reset per
 *                   message
 *         zstd      the raw store's compression alone (store_raw.c): a
 *                   dictionary trained on the first PA_RAW_DICT_SAMPLES
 *                   lines (timed apart), then every line with one reused
 *                   ZSTD_CCtx at level 1, without and with the dictionary
 *                   (two result lines: zstd-nodict and zstd)
 *         floor     the least a SQLite store of the raw rows can cost: the
 *                   two SHA-256 (message, chain) and one verbatim row a
 *                   message into a table with no index, 64 KB pages,
 *                   journal_mode=OFF, synchronous=OFF, one transaction.
 *                   Not a design (no durability, no dedup); a bound that no
 *                   tuning of the store can beat
 *       STAGES is a comma list (default all). The store stages each use a
 *       fresh database at PATH (default /tmp/pa_bench_parsers.db; removed
 *       before and after).
 *
 * Output lines: "STAGE n=N secs=S rate=R unit=U mb_s=M stage_cpu_secs=C"
 * (MB = 10^6 bytes of message body for the parse stages, of whole lines for
 * raw; C is the CPU time of the whole stage, for the store stages including
 * the parse that feeds them). */
#include "analyzer/hash.h"
#include "analyzer/limits.h"
#include "analyzer/store.h"
#include "collectors/atna_xml.h"
#include "collectors/fhir_audit.h"

#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <sqlite3.h>
#include <zdict.h>
#include <zlib.h>
#include <zstd.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- one message in a loop (the original mode) ---- */

static pa_rc count_audit(void *ctx, const struct pa_audit *a)
{
  (*(size_t *)ctx) += a->n_participants;
  return PA_OK;
}

static int one_message(int argc, char **argv)
{
  FILE *f;
  static uint8_t buf[1 << 22];
  size_t len, parts = 0, n = 0;
  double secs = argc > 2 ? strtod(argv[2], NULL) : 3.0, t0, t;
  int xml;
  pa_atna *x = NULL;
  struct pa_sink sink = {0};
  struct pa_msg_ctx ctx = {"bench", 1, 0, NULL, "UTC", NULL};

  if (!(f = fopen(argv[1], "rb"))) {
    fprintf(stderr, "pa_bench_parsers: %s: cannot open\n", argv[1]);
    return 2;
  }
  len = fread(buf, 1, sizeof buf, f);
  fclose(f);
  xml = strstr(argv[1], ".xml") != NULL;
  sink.ctx = &parts;
  sink.audit = count_audit;
  if (xml && pa_atna_new(&x) != PA_OK)
    return 3;
  t0 = now();
  do {
    for (int i = 0; i < 1000; i++) {
      struct pa_err e;
      size_t got;
      pa_rc rc = xml ? pa_atna_parse(x, buf, len, &ctx, &sink, &e)
                     : pa_fhir_parse(buf, len, &ctx, &sink, &got, &e);
      if (rc != PA_OK) {
        fprintf(stderr, "%s: %s\n", argv[1], e.msg);
        return 1;
      }
    }
    n += 1000;
    t = now() - t0;
  } while (t < secs);
  printf("%s: %zu bytes, %zu msgs, %.0f msgs/s, %.1f MB/s\n", argv[1], len, n, (double)n / t,
         (double)n * (double)len / t / 1e6);
  pa_atna_free(x);
  return 0;
}

/* ---- the lines of a file ---- */

struct msg {
  const uint8_t *line; /* the whole syslog line, without its LF */
  size_t line_len;
  const uint8_t *xml;  /* the XML body inside it */
  size_t xml_len;
};

struct lines {
  struct msg *m;
  size_t n;
  uint64_t line_bytes, xml_bytes;
};

static int load_lines(const char *path, size_t max, struct lines *L)
{
  struct stat sb;
  const uint8_t *p, *end;
  size_t cap = 0;
  int fd = open(path, O_RDONLY);

  memset(L, 0, sizeof *L);
  if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0)
    return -1;
  p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return -1;
  madvise((void *)p, (size_t)sb.st_size, MADV_SEQUENTIAL);
  end = p + sb.st_size;
  while (p < end && L->n < max) {
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *e = lf ? lf : end;
    const uint8_t *x = memchr(p, '<', (size_t)(e - p)); /* <PRI> */
    struct msg *m;
    if (x)
      x = memchr(x + 1, '<', (size_t)(e - x - 1)); /* the body */
    if (x) {
      if (L->n == cap) {
        cap = cap ? cap * 2 : 65536;
        if (!(L->m = realloc(L->m, cap * sizeof *L->m)))
          return -1;
      }
      m = &L->m[L->n++];
      m->line = p;
      m->line_len = (size_t)(e - p);
      m->xml = x;
      m->xml_len = (size_t)(e - x);
      L->line_bytes += m->line_len;
      L->xml_bytes += m->xml_len;
    }
    p = lf ? lf + 1 : end;
  }
  return L->n ? 0 : -1;
}

/* CPU seconds (user + system) of this process so far: less disturbed than
 * wall time by other jobs on the machine. */
static double cpu_secs(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static double cpu_mark;

static void report(const char *stage, size_t n, double secs, const char *unit, uint64_t bytes)
{
  double cpu = cpu_secs() - cpu_mark;
  printf("%s n=%zu secs=%.3f rate=%.0f unit=%s mb_s=%.1f stage_cpu_secs=%.3f\n", stage, n, secs,
         secs > 0 ? (double)n / secs : 0.0, unit, secs > 0 ? (double)bytes / secs / 1e6 : 0.0,
         cpu);
  fflush(stdout);
}

static void noop_start(void *ud, const xmlChar *l, const xmlChar *pfx, const xmlChar *uri,
                       int nns, const xmlChar **ns, int na, int nd, const xmlChar **at)
{
  (void)ud, (void)l, (void)pfx, (void)uri, (void)nns, (void)ns, (void)na, (void)nd, (void)at;
}

static void noop_end(void *ud, const xmlChar *l, const xmlChar *pfx, const xmlChar *uri)
{
  (void)ud, (void)l, (void)pfx, (void)uri;
}

static void noop_chars(void *ud, const xmlChar *ch, int len)
{
  (void)ud, (void)ch, (void)len;
}

/* libxml2 SAX2 with nothing done in the callbacks: the parser's own cost. */
static int stage_sax2(const struct lines *L)
{
  xmlSAXHandler sax;
  xmlParserCtxtPtr c;
  size_t bad = 0;
  double t0;

  memset(&sax, 0, sizeof sax);
  sax.initialized = XML_SAX2_MAGIC;
  sax.startElementNs = noop_start;
  sax.endElementNs = noop_end;
  sax.characters = noop_chars;
  if (!(c = xmlCreatePushParserCtxt(&sax, NULL, NULL, 0, NULL)))
    return -1;
  cpu_mark = cpu_secs();
  t0 = now();
  for (size_t i = 0; i < L->n; i++) {
    xmlCtxtResetPush(c, NULL, 0, NULL, NULL);
    xmlCtxtUseOptions(c, XML_PARSE_NONET | XML_PARSE_NOWARNING);
    if (xmlParseChunk(c, (const char *)L->m[i].xml, (int)L->m[i].xml_len, 1) != 0 ||
        !c->wellFormed)
      bad++;
  }
  report("sax2", L->n, now() - t0, "msgs/s", L->xml_bytes);
  xmlFreeParserCtxt(c);
  if (bad)
    fprintf(stderr, "pa_bench_parsers: sax2: %zu messages not well-formed\n", bad);
  return bad ? -1 : 0;
}

static int stage_atna(const struct lines *L)
{
  struct pa_msg_ctx ctx = {"bench", 1, 0, NULL, "Asia/Tokyo", NULL};
  pa_atna *x;
  size_t bad = 0;
  double t0;

  if (pa_atna_new(&x) != PA_OK)
    return -1;
  cpu_mark = cpu_secs();
  t0 = now();
  for (size_t i = 0; i < L->n; i++) {
    struct pa_err e;
    if (pa_atna_parse(x, L->m[i].xml, L->m[i].xml_len, &ctx, NULL, &e) != PA_OK)
      bad++;
  }
  report("atna", L->n, now() - t0, "msgs/s", L->xml_bytes);
  pa_atna_free(x);
  if (bad)
    fprintf(stderr, "pa_bench_parsers: atna: %zu messages failed\n", bad);
  return bad ? -1 : 0;
}

/* The store stages: the parser yields each message, the sink times only
 * the store call (and the batch tick that commits). */
struct timed {
  pa_store *s;
  int audit;     /* put_audit, else put_event */
  double secs;
  size_t rows;
};

static pa_rc timed_sink(void *ctx, const struct pa_audit *a)
{
  struct timed *T = ctx;
  double t0 = now();
  pa_rc rc = T->audit ? pa_store_put_audit(T->s, a, NULL) : pa_store_put_event(T->s, &a->ev, NULL);
  if (rc == PA_OK)
    rc = pa_store_batch_tick(T->s);
  T->secs += now() - t0;
  T->rows++;
  return rc;
}

static void remove_db(const char *db)
{
  char p[4200];
  unlink(db);
  snprintf(p, sizeof p, "%s-wal", db);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", db);
  unlink(p);
}

static int open_fresh(const char *db, pa_store **s)
{
  struct pa_err e;
  remove_db(db);
  pa_err_clear(&e);
  if (pa_store_open(db, s, &e) != PA_OK || pa_store_batch_begin(*s) != PA_OK) {
    fprintf(stderr, "pa_bench_parsers: %s: %s\n", db, e.msg);
    return -1;
  }
  return 0;
}

static int stage_store(const struct lines *L, const char *db, int audit)
{
  struct pa_msg_ctx ctx = {"bench", 0, 0, NULL, "Asia/Tokyo", NULL};
  struct timed T = {0};
  struct pa_sink sink = {0};
  pa_atna *x;
  double t0;
  int rc = 0;

  if (open_fresh(db, &T.s) || pa_atna_new(&x) != PA_OK)
    return -1;
  cpu_mark = cpu_secs();
  T.audit = audit;
  sink.ctx = &T;
  sink.audit = timed_sink;
  for (size_t i = 0; i < L->n && !rc; i++) {
    struct pa_err e;
    if (pa_atna_parse(x, L->m[i].xml, L->m[i].xml_len, &ctx, &sink, &e) != PA_OK) {
      fprintf(stderr, "pa_bench_parsers: message %zu: %s\n", i, e.msg);
      rc = -1;
    }
  }
  t0 = now();
  if (pa_store_batch_commit(T.s) != PA_OK || pa_store_close(T.s) != PA_OK)
    rc = -1;
  T.secs += now() - t0; /* the last commit and the checkpoint at close */
  report(audit ? "audit" : "events", T.rows, T.secs, audit ? "msgs/s" : "rows/s", 0);
  pa_atna_free(x);
  remove_db(db);
  return rc;
}

static int stage_raw(const struct lines *L, const char *db)
{
  pa_store *s;
  double t0;
  int rc = 0;

  if (open_fresh(db, &s))
    return -1;
  cpu_mark = cpu_secs();
  t0 = now();
  for (size_t i = 0; i < L->n && !rc; i++) {
    int64_t id;
    int dup;
    if (pa_store_put_raw(s, L->m[i].line, L->m[i].line_len, "bench", (int64_t)i, 1, &id, &dup) ||
        pa_store_batch_tick(s))
      rc = -1;
  }
  if (pa_store_batch_commit(s) != PA_OK || pa_store_close(s) != PA_OK)
    rc = -1;
  report("raw", L->n, now() - t0, "msgs/s", L->line_bytes);
  remove_db(db);
  return rc;
}

/* The same deflate settings as the store's compress_raw (analyzer/store.c). */
static int stage_zlib(const struct lines *L)
{
  z_stream z;
  uint8_t out[1 << 16];
  uint64_t zbytes = 0;
  double t0;

  memset(&z, 0, sizeof z);
  if (deflateInit2(&z, 1, Z_DEFLATED, 15, 5, Z_DEFAULT_STRATEGY) != Z_OK)
    return -1;
  cpu_mark = cpu_secs();
  t0 = now();
  for (size_t i = 0; i < L->n; i++) {
    if (L->m[i].line_len > sizeof out / 2 || deflateReset(&z) != Z_OK)
      continue;
    z.next_in = (Bytef *)(uintptr_t)L->m[i].line;
    z.avail_in = (uInt)L->m[i].line_len;
    z.next_out = out;
    z.avail_out = sizeof out;
    if (deflate(&z, Z_FINISH) == Z_STREAM_END)
      zbytes += z.total_out;
  }
  report("zlib", L->n, now() - t0, "msgs/s", L->line_bytes);
  deflateEnd(&z);
  fprintf(stderr, "pa_bench_parsers: zlib: stored/original %.3f\n",
          L->line_bytes ? (double)zbytes / (double)L->line_bytes : 0.0);
  printf("zlib_detail ratio=%.4f\n", L->line_bytes ? (double)zbytes / (double)L->line_bytes : 0.0);
  return 0;
}

/* One pass of ZSTD_compress2 over every line; the bytes out. */
static uint64_t zstd_pass(ZSTD_CCtx *c, const struct lines *L, uint8_t *out, size_t cap)
{
  uint64_t zbytes = 0;

  for (size_t i = 0; i < L->n; i++) {
    size_t n = ZSTD_compress2(c, out, cap, L->m[i].line, L->m[i].line_len);
    zbytes += ZSTD_isError(n) || n >= L->m[i].line_len ? L->m[i].line_len : n;
  }
  return zbytes;
}

/* The raw store's zstd (store_raw.c): level 1, no checksum, no dictionary
 * id, a dictionary trained as the store trains it. */
static int stage_zstd(const struct lines *L)
{
  size_t ns = L->n < PA_RAW_DICT_SAMPLES ? L->n : PA_RAW_DICT_SAMPLES, used = 0, k = 0;
  size_t *sizes = calloc(ns ? ns : 1, sizeof *sizes), dsize, cap = ZSTD_compressBound(1 << 16);
  uint8_t *samp = malloc(PA_RAW_DICT_SAMPLE_BYTES), *dict = malloc(PA_RAW_DICT_SIZE);
  uint8_t *out = malloc(cap);
  ZSTD_CCtx *c = ZSTD_createCCtx();
  ZSTD_CDict *cd = NULL;
  uint64_t z0, z1;
  double t0, train;
  int rc = -1;

  if (!sizes || !samp || !dict || !out || !c)
    goto out;
  for (size_t i = 0; i < ns; i++) {
    size_t take = L->m[i].line_len < PA_RAW_DICT_SAMPLE_MAX ? L->m[i].line_len
                                                            : PA_RAW_DICT_SAMPLE_MAX;
    if (used + take > PA_RAW_DICT_SAMPLE_BYTES)
      break;
    memcpy(samp + used, L->m[i].line, take);
    used += take;
    sizes[k++] = take;
  }
  t0 = now();
  dsize = ZDICT_trainFromBuffer(dict, PA_RAW_DICT_SIZE, samp, sizes, (unsigned)k);
  train = now() - t0;
  if (ZDICT_isError(dsize)) {
    fprintf(stderr, "pa_bench_parsers: zstd: training failed: %s\n",
            ZDICT_getErrorName(dsize));
    goto out;
  }
  if (!(cd = ZSTD_createCDict(dict, dsize, 1)))
    goto out;
  ZSTD_CCtx_setParameter(c, ZSTD_c_compressionLevel, 1);
  ZSTD_CCtx_setParameter(c, ZSTD_c_checksumFlag, 0);
  ZSTD_CCtx_setParameter(c, ZSTD_c_dictIDFlag, 0);
  cpu_mark = cpu_secs();
  t0 = now();
  z0 = zstd_pass(c, L, out, cap);
  report("zstd-nodict", L->n, now() - t0, "msgs/s", L->line_bytes);
  ZSTD_CCtx_refCDict(c, cd);
  cpu_mark = cpu_secs();
  t0 = now();
  z1 = zstd_pass(c, L, out, cap);
  report("zstd", L->n, now() - t0, "msgs/s", L->line_bytes);
  fprintf(stderr, "pa_bench_parsers: zstd: dictionary of %zu bytes trained on %zu lines in"
                  " %.3f s; stored/original %.3f without it, %.3f with it\n",
          dsize, k, train, L->line_bytes ? (double)z0 / (double)L->line_bytes : 0.0,
          L->line_bytes ? (double)z1 / (double)L->line_bytes : 0.0);
  printf("zstd_detail dict_bytes=%zu train_secs=%.3f ratio_nodict=%.4f ratio_dict=%.4f\n",
         dsize, train, L->line_bytes ? (double)z0 / (double)L->line_bytes : 0.0,
         L->line_bytes ? (double)z1 / (double)L->line_bytes : 0.0);
  rc = 0;
out:
  ZSTD_freeCDict(cd);
  ZSTD_freeCCtx(c);
  free(out);
  free(dict);
  free(samp);
  free(sizes);
  return rc;
}

static int stage_floor(const struct lines *L, const char *db)
{
  static const char *const setup =
    "PRAGMA page_size=65536; PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;"
    "PRAGMA cache_size=-131072;"
    "CREATE TABLE raw (id INTEGER PRIMARY KEY, received_ts INTEGER, origin TEXT,"
    " offset INTEGER, size INTEGER, bytes BLOB, sha256 BLOB, chain_hash BLOB);"
    "BEGIN";
  uint8_t link[2 * PA_SHA256_LEN] = {0}, sha[PA_SHA256_LEN];
  sqlite3 *d = NULL;
  sqlite3_stmt *q = NULL;
  double t0;
  int rc = 0;

  remove_db(db);
  cpu_mark = cpu_secs();
  t0 = now();
  if (sqlite3_open(db, &d) != SQLITE_OK || sqlite3_exec(d, setup, NULL, NULL, NULL) ||
      sqlite3_prepare_v2(d, "INSERT INTO raw (received_ts, origin, offset, size, bytes,"
                            " sha256, chain_hash) VALUES (1, 'bench', ?, ?, ?, ?, ?)",
                         -1, &q, NULL))
    rc = -1;
  for (size_t i = 0; i < L->n && !rc; i++) {
    pa_sha256(L->m[i].line, L->m[i].line_len, sha);
    memcpy(link + PA_SHA256_LEN, sha, sizeof sha);
    pa_sha256(link, sizeof link, link); /* chain: H(prev || sha) */
    sqlite3_bind_int64(q, 1, (int64_t)i);
    sqlite3_bind_int64(q, 2, (int64_t)L->m[i].line_len);
    sqlite3_bind_blob(q, 3, L->m[i].line, (int)L->m[i].line_len, SQLITE_STATIC);
    sqlite3_bind_blob(q, 4, sha, sizeof sha, SQLITE_STATIC);
    sqlite3_bind_blob(q, 5, link, PA_SHA256_LEN, SQLITE_STATIC);
    if (sqlite3_step(q) != SQLITE_DONE)
      rc = -1;
    sqlite3_reset(q);
  }
  if (!rc && sqlite3_exec(d, "COMMIT", NULL, NULL, NULL))
    rc = -1;
  if (rc)
    fprintf(stderr, "pa_bench_parsers: floor: %s\n", sqlite3_errmsg(d));
  sqlite3_finalize(q);
  sqlite3_close(d);
  report("floor", L->n, now() - t0, "msgs/s", L->line_bytes);
  remove_db(db);
  return rc;
}

static int want(const char *only, const char *stage)
{
  size_t n = strlen(stage);
  if (!only)
    return 1;
  for (const char *p = only; (p = strstr(p, stage)); p += n)
    if ((p == only || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
      return 1;
  return 0;
}

int main(int argc, char **argv)
{
  const char *file = NULL, *db = "/tmp/pa_bench_parsers.db", *only = NULL;
  size_t max = (size_t)-1;
  struct lines L;
  int rc = 0;

  if (argc >= 2 && strcmp(argv[1], "--lines") != 0)
    return one_message(argc, argv);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--lines"))
      file = argv[i + 1];
    else if (!strcmp(argv[i], "--max"))
      max = (size_t)strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--db"))
      db = argv[i + 1];
    else if (!strcmp(argv[i], "--only"))
      only = argv[i + 1];
    else
      file = NULL, i = argc;
  }
  if (!file) {
    fprintf(stderr, "usage: pa_bench_parsers FILE.xml|FILE.json [seconds]\n"
                    "       pa_bench_parsers --lines FILE [--max N] [--db PATH] [--only "
                    "sax2,atna,events,audit,raw,zlib,zstd,floor]\n");
    return 2;
  }
  if (load_lines(file, max, &L)) {
    fprintf(stderr, "pa_bench_parsers: %s: no lines\n", file);
    return 2;
  }
  printf("lines n=%zu line_bytes=%llu xml_bytes=%llu\n", L.n, (unsigned long long)L.line_bytes,
         (unsigned long long)L.xml_bytes);
  /* touch every page once so the first stage does not pay the page faults */
  {
    volatile uint8_t sum = 0;
    for (size_t i = 0; i < L.n; i++)
      for (size_t k = 0; k < L.m[i].line_len; k += 4096)
        sum += L.m[i].line[k];
    (void)sum;
  }
  if (!rc && want(only, "sax2"))
    rc = stage_sax2(&L);
  if (!rc && want(only, "atna"))
    rc = stage_atna(&L);
  if (!rc && want(only, "events"))
    rc = stage_store(&L, db, 0);
  if (!rc && want(only, "audit"))
    rc = stage_store(&L, db, 1);
  if (!rc && want(only, "raw"))
    rc = stage_raw(&L, db);
  if (!rc && want(only, "zlib"))
    rc = stage_zlib(&L);
  if (!rc && want(only, "zstd"))
    rc = stage_zstd(&L);
  if (!rc && want(only, "floor"))
    rc = stage_floor(&L, db);
  free(L.m);
  return rc ? 1 : 0;
}
