/* bench_writer.c — the writer alone: the store's rows for N ATNA messages,
 * with no parsing in the timed part (issue 5/6, "make the writer do less").
 *
 *   pa_bench_writer FILE [--max N] [--db PATH] [--keep] [--no-bulk]
 *
 * FILE is pa_bench_gen output (RFC 5424 lines, one AuditMessage each). Each
 * message is parsed once, before the clock starts, and its record (struct
 * pa_audit with its participants and objects) copied into memory. Timed:
 * for each message pa_store_put_raw of the whole line (SHA-256, compression,
 * the raw row, the dedup lookup, the hash chain) then pa_store_put_audit
 * (events, audit_details, participants, objects) with raw_id set, and the
 * batch tick, as `pacsaudit ingest` does (pa_store_bulk_begin first, unless
 * --no-bulk); then the last commit and the close (which ends the bulk load:
 * the deferred indexes are made there, and timed). The
 * database is fresh (PATH removed first; removed after unless --keep).
 *
 * Output: "writer n=N secs=S rate=R unit=msgs/s db_bytes=B bytes_per_msg=P
 * close_secs=C cpu_secs=U cpu_rate=M" on one line: M is messages per CPU-second
 * (user + system) of the timed part, the figure to compare on a shared,
 * busy machine where the wall rate says more about the neighbours. */
#include "analyzer/store.h"
#include "collectors/atna_xml.h"

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

static double cpu_secs(void)
{
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* A bump arena: the copies of every record, freed at exit. */
struct arena {
  char *p;
  size_t used, cap;
};

static void *arena_get(struct arena *A, size_t n)
{
  void *r;
  n = (n + 15) & ~(size_t)15;
  if (A->used + n > A->cap) {
    A->cap = n > (64u << 20) ? n : (64u << 20);
    if (!(A->p = malloc(A->cap))) {
      fprintf(stderr, "pa_bench_writer: out of memory\n");
      exit(1);
    }
    A->used = 0;
  }
  r = A->p + A->used;
  A->used += n;
  return r;
}

static const char *sdup(struct arena *A, const char *s)
{
  size_t n;
  char *d;
  if (!s)
    return NULL;
  n = strlen(s) + 1;
  d = arena_get(A, n);
  memcpy(d, s, n);
  return d;
}

struct rec {
  const uint8_t *line;
  size_t line_len;
  struct pa_audit a;
};

struct loader {
  struct arena A;
  struct rec *r; /* the record being filled */
};

static pa_rc keep(void *ctx, const struct pa_audit *a)
{
  struct loader *L = ctx;
  struct arena *A = &L->A;
  struct pa_audit *c = &L->r->a;
  struct pa_event *e = &c->ev;
  struct pa_participant *ps;
  struct pa_object *os;

  *c = *a;
  e->source = sdup(A, e->source);
  e->origin = sdup(A, e->origin);
  e->event_code = sdup(A, e->event_code);
  e->event_type = sdup(A, e->event_type);
  e->auth_method = sdup(A, e->auth_method);
  e->user_id = sdup(A, e->user_id);
  e->user_name = sdup(A, e->user_name);
  e->user_role = sdup(A, e->user_role);
  e->src_ip = sdup(A, e->src_ip);
  e->src_ae = sdup(A, e->src_ae);
  e->dst_ip = sdup(A, e->dst_ip);
  e->dst_ae = sdup(A, e->dst_ae);
  e->host = sdup(A, e->host);
  e->patient_id = sdup(A, e->patient_id);
  e->study_uid = sdup(A, e->study_uid);
  c->format = sdup(A, a->format);
  c->event_id_system = sdup(A, a->event_id_system);
  c->event_display = sdup(A, a->event_display);
  c->event_types = sdup(A, a->event_types);
  c->event_type_names = sdup(A, a->event_type_names);
  c->outcome_desc = sdup(A, a->outcome_desc);
  c->purpose = sdup(A, a->purpose);
  c->source_id = sdup(A, a->source_id);
  c->source_site = sdup(A, a->source_site);
  c->source_types = sdup(A, a->source_types);
  c->warnings = sdup(A, a->warnings);
  ps = arena_get(A, (a->n_participants + 1) * sizeof *ps);
  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    ps[i] = *p;
    ps[i].user_id = sdup(A, p->user_id);
    ps[i].alt_user_id = sdup(A, p->alt_user_id);
    ps[i].user_name = sdup(A, p->user_name);
    ps[i].user_id_type = sdup(A, p->user_id_type);
    ps[i].net_id = sdup(A, p->net_id);
    ps[i].ae_title = sdup(A, p->ae_title);
    ps[i].roles = sdup(A, p->roles);
    ps[i].role_names = sdup(A, p->role_names);
  }
  c->participants = ps;
  os = arena_get(A, (a->n_objects + 1) * sizeof *os);
  for (size_t i = 0; i < a->n_objects; i++) {
    const struct pa_object *o = &a->objects[i];
    os[i] = *o;
    os[i].object_id = sdup(A, o->object_id);
    os[i].id_type_code = sdup(A, o->id_type_code);
    os[i].id_type_system = sdup(A, o->id_type_system);
    os[i].name = sdup(A, o->name);
    os[i].description = sdup(A, o->description);
    os[i].query_b64 = sdup(A, o->query_b64);
    os[i].cx_id = sdup(A, o->cx_id);
    os[i].cx_namespace = sdup(A, o->cx_namespace);
    os[i].cx_universal_id = sdup(A, o->cx_universal_id);
    os[i].sop_classes = sdup(A, o->sop_classes);
    os[i].accession = sdup(A, o->accession);
    os[i].study_uids = sdup(A, o->study_uids);
  }
  c->objects = os;
  return PA_OK;
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

/* Parses every line of path (at most max) into recs; returns their count. */
static size_t load(const char *path, size_t max, struct loader *L, struct rec **out)
{
  struct pa_msg_ctx ctx = {"bench", 1, 0, NULL, "Asia/Tokyo", NULL};
  struct pa_sink sink = {0};
  struct stat sb;
  const uint8_t *p, *end;
  struct rec *R = NULL;
  size_t n = 0, cap = 0;
  pa_atna *x;
  int fd = open(path, O_RDONLY);

  if (fd < 0 || fstat(fd, &sb) != 0 || sb.st_size == 0 || pa_atna_new(&x) != PA_OK)
    return 0;
  p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
  close(fd);
  if (p == MAP_FAILED)
    return 0;
  end = p + sb.st_size;
  sink.ctx = L;
  sink.audit = keep;
  while (p < end && n < max) {
    const uint8_t *lf = memchr(p, '\n', (size_t)(end - p));
    const uint8_t *e = lf ? lf : end;
    const uint8_t *xml = memchr(p, '<', (size_t)(e - p)); /* <PRI> */
    struct pa_err err;
    if (xml)
      xml = memchr(xml + 1, '<', (size_t)(e - xml - 1)); /* the body */
    if (xml) {
      if (n == cap) {
        cap = cap ? cap * 2 : 65536;
        if (!(R = realloc(R, cap * sizeof *R)))
          return 0;
      }
      L->r = &R[n];
      memset(L->r, 0, sizeof *L->r);
      R[n].line = p;
      R[n].line_len = (size_t)(e - p);
      if (pa_atna_parse(x, xml, (size_t)(e - xml), &ctx, &sink, &err) == PA_OK && R[n].a.format)
        n++;
    }
    p = lf ? lf + 1 : end;
  }
  pa_atna_free(x);
  *out = R;
  return n;
}

int main(int argc, char **argv)
{
  const char *file = NULL, *db = "/tmp/pa_bench_writer.db";
  size_t max = (size_t)-1, n;
  struct loader L = {{0}, NULL};
  struct rec *R = NULL;
  struct pa_err err;
  struct stat sb;
  pa_store *s;
  double t0, t1, t2, c0;
  int keep_db = 0, bulk = 1, rc = 0;

  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--max") && i + 1 < argc)
      max = (size_t)strtoull(argv[++i], NULL, 10);
    else if (!strcmp(argv[i], "--db") && i + 1 < argc)
      db = argv[++i];
    else if (!strcmp(argv[i], "--keep"))
      keep_db = 1;
    else if (!strcmp(argv[i], "--no-bulk"))
      bulk = 0;
    else if (argv[i][0] != '-' && !file)
      file = argv[i];
    else
      file = NULL, i = argc;
  }
  if (!file) {
    fprintf(stderr, "usage: pa_bench_writer FILE [--max N] [--db PATH] [--keep] [--no-bulk]\n");
    return 2;
  }
  if (!(n = load(file, max, &L, &R))) {
    fprintf(stderr, "pa_bench_writer: %s: no messages\n", file);
    return 2;
  }
  remove_db(db);
  pa_err_clear(&err);
  if (pa_store_open(db, &s, &err) != PA_OK || pa_store_batch_begin(s) != PA_OK ||
      (bulk && pa_store_bulk_begin(s) != PA_OK)) {
    fprintf(stderr, "pa_bench_writer: %s: %s\n", db, err.msg);
    return 1;
  }
  c0 = cpu_secs(); /* the bulk_begin above drops indexes of an empty table: no cost */
  t0 = now();
  for (size_t i = 0; i < n && !rc; i++) {
    int64_t id;
    int dup_found;
    if (pa_store_put_raw(s, R[i].line, R[i].line_len, "bench", (int64_t)i, 1, &id, &dup_found) !=
        PA_OK) {
      rc = 1;
      break;
    }
    if (dup_found)
      continue;
    R[i].a.ev.raw_id = id;
    if (pa_store_put_audit(s, &R[i].a, NULL) != PA_OK || pa_store_batch_tick(s) != PA_OK)
      rc = 1;
  }
  t1 = now();
  if (pa_store_batch_commit(s) != PA_OK || pa_store_close(s) != PA_OK)
    rc = 1;
  t2 = now();
  if (rc) {
    fprintf(stderr, "pa_bench_writer: a store call failed\n");
    return 1;
  }
  if (stat(db, &sb) != 0)
    sb.st_size = 0;
  printf("writer%s n=%zu secs=%.3f rate=%.0f unit=msgs/s db_bytes=%lld bytes_per_msg=%.0f"
         " close_secs=%.3f cpu_secs=%.3f cpu_rate=%.0f\n",
         bulk ? "" : "_nobulk", n, t2 - t0, (double)n / (t2 - t0), (long long)sb.st_size,
         (double)sb.st_size / (double)n, t2 - t1, cpu_secs() - c0, (double)n / (cpu_secs() - c0));
  if (!keep_db)
    remove_db(db);
  free(R);
  return 0;
}
