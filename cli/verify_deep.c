/* verify_deep.c — `pacsaudit verify --deep`: the derived rows against the
 * raw messages they came from.
 *
 * Every raw message whose bytes are kept is fed again, in id order with its
 * stored origin, offset and time of receipt (and each recorded repeat of it
 * at its place in time), through the feed that ingest and listen use
 * (ingest/feed.h), into a scratch store in a private temporary folder. Then
 * the rows of events, audit_details, atna_participants and atna_objects
 * that each raw message yields there are compared with those stored for it:
 * a stored row no re-parse yields is "added", a re-parsed row not stored is
 * "removed", and a row that differs is "changed", column by column.
 *
 * Apart, not compared: events without a raw message (DICOM captures),
 * raw rows whose bytes retention dropped, and quarantined messages (counted
 * on both sides). */
#include "cli.h"

#include "analyzer/log.h"
#include "analyzer/store.h"
#include "collectors/file_src.h"
#include "collectors/syslog.h"
#include "ingest/feed.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Differences printed before the rest are only counted. */
#define DEEP_MAX_LINES 1000

struct deep {
  pa_store *s;          /* the store under test, read-only: borrowed */
  pa_store *scratch;    /* the re-parse: owned */
  const char *db;
  const char *tz;
  int64_t kept_to;      /* raw rows up to this id have no bytes by design */
  int64_t *skip;        /* owned: raw ids not fed (no bytes, bytes that do not restore) */
  size_t n_skip, cap_skip;
  int64_t *map;         /* owned: scratch raw id -> stored raw id */
  size_t n_map;
  uint64_t fed, repeats, no_bytes, retained, diffs, printed;
  char kind_origin[1024]; /* the origin whose ingest_state kind is cached */
  int kind_known;
  enum pa_file_kind kind;
  int64_t mtime_us;
};

static int skip_add(struct deep *d, int64_t id)
{
  if (d->n_skip == d->cap_skip) {
    size_t cap = d->cap_skip ? d->cap_skip * 2 : 64;
    int64_t *p = realloc(d->skip, cap * sizeof *p);
    if (!p)
      return -1;
    d->skip = p;
    d->cap_skip = cap;
  }
  d->skip[d->n_skip++] = id; /* in id order: sorted */
  return 0;
}

static int skipped(const struct deep *d, int64_t raw)
{
  size_t lo = 0, hi = d->n_skip;
  if (raw <= d->kept_to)
    return 1;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (d->skip[mid] == raw)
      return 1;
    if (d->skip[mid] < raw)
      lo = mid + 1;
    else
      hi = mid;
  }
  return 0;
}

/* What the file at origin was read as, and its mtime (RFC 3164's reference
 * year), from ingest_state; PA_FILE_UNKNOWN when ingest has no record of
 * it (a network origin, or a state forgotten). */
static pa_rc origin_kind(struct deep *d, const char *origin)
{
  sqlite3_stmt *q = NULL;
  const char *k;
  int r;

  if (d->kind_known && !strcmp(d->kind_origin, origin))
    return PA_OK;
  d->kind = PA_FILE_UNKNOWN;
  d->mtime_us = 0;
  snprintf(d->kind_origin, sizeof d->kind_origin, "%s", origin);
  d->kind_known = strlen(origin) < sizeof d->kind_origin;
  if (sqlite3_prepare_v2(pa_store_handle(d->s),
                         "SELECT kind, mtime FROM ingest_state WHERE path = ?1", -1, &q, NULL))
    return PA_DB;
  sqlite3_bind_text(q, 1, origin, -1, SQLITE_STATIC);
  if ((r = sqlite3_step(q)) == SQLITE_ROW && (k = (const char *)sqlite3_column_text(q, 0))) {
    for (int i = PA_FILE_PCAP; i <= PA_FILE_IHE_YR4; i++)
      if (!strcmp(k, pa_file_kind_name((enum pa_file_kind)i)))
        d->kind = (enum pa_file_kind)i;
    d->mtime_us = sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
  return r == SQLITE_ROW || r == SQLITE_DONE ? PA_OK : PA_DB;
}

/* One stored message, or a repeat of it, into the scratch store: a
 * document file's message as a document, everything else (a syslog file's
 * frame, a network message) as a syslog message. */
static pa_rc feed_one(struct deep *d, struct pa_feed *f, const uint8_t *p, size_t len,
                      const char *origin, int64_t offset, int64_t received_ts)
{
  struct pa_syslog_opts o;
  pa_rc rc;

  if ((rc = origin_kind(d, origin)))
    return rc;
  /* a listener's origin is a URL (tcp://, udp://, tls://, relp://): its
   * messages without a time of their own were stamped "receipt" */
  f->live = strstr(origin, "://") != NULL;
  switch (d->kind) {
  case PA_FILE_ATNA:
  case PA_FILE_FHIR:
  case PA_FILE_NDJSON:
  case PA_FILE_IHE_YR4:
    return pa_feed_body(f, pa_file_body_kind(d->kind), p, len, origin, offset, received_ts);
  default:
    /* a file: its mtime, as the file driver does; a socket: the receipt */
    pa_syslog_opts_init(&o, d->kind == PA_FILE_SYSLOG && d->mtime_us ? d->mtime_us : received_ts,
                        d->tz);
    return pa_feed_syslog(f, p, len, origin, offset, received_ts, &o);
  }
}

struct feed_cur {
  sqlite3_stmt *q;
  int has;
  int64_t id, raw_id, received_ts, offset;
};

static pa_rc cur_next(struct feed_cur *c)
{
  int r = sqlite3_step(c->q);
  c->has = r == SQLITE_ROW;
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return PA_DB;
  if (c->has) {
    c->id = sqlite3_column_int64(c->q, 0);
    c->raw_id = sqlite3_column_int64(c->q, 1);
    c->received_ts = sqlite3_column_int64(c->q, 2);
    c->offset = sqlite3_column_type(c->q, 4) == SQLITE_NULL ? -1 : sqlite3_column_int64(c->q, 4);
  }
  return PA_OK;
}

/* Feeds every raw row in id order, each repeat before the first raw row
 * received after it (where the stream met it). */
static pa_rc feed_all(struct deep *d, struct pa_feed *f)
{
  struct feed_cur raw = {0}, rep = {0};
  sqlite3 *db = pa_store_handle(d->s);
  struct pa_err err;
  uint8_t *bytes = NULL;
  size_t len;
  pa_rc rc = PA_DB;

  if (sqlite3_prepare_v2(db, "SELECT id, id, received_ts, origin, offset FROM raw ORDER BY id",
                         -1, &raw.q, NULL) ||
      sqlite3_prepare_v2(db,
                         "SELECT id, raw_id, received_ts, origin, offset FROM raw_repeats"
                         " ORDER BY id",
                         -1, &rep.q, NULL))
    goto out;
  if ((rc = cur_next(&raw)) || (rc = cur_next(&rep)))
    goto out;
  while (raw.has || rep.has) {
    /* never before its own raw row, whatever the clock did */
    int use_rep = rep.has && (!raw.has || (rep.received_ts < raw.received_ts &&
                                           rep.raw_id < raw.id));
    struct feed_cur *c = use_rep ? &rep : &raw;
    const char *origin = (const char *)sqlite3_column_text(c->q, 3);

    if (skipped(d, c->raw_id) && use_rep) {
      if ((rc = cur_next(c)))
        goto out;
      continue;
    }
    pa_err_clear(&err);
    rc = c->raw_id <= d->kept_to ? PA_USAGE
                                  : pa_store_raw_get(d->s, c->raw_id, &bytes, &len, &err);
    if (rc == PA_USAGE || rc == PA_MALFORMED) {
      if (!use_rep) {
        if (c->raw_id <= d->kept_to)
          d->retained++;
        else {
          d->no_bytes++;
          pa_cli_line(stdout, "%s: raw row %lld: its bytes cannot be read (%s): not re-parsed",
                      d->db, (long long)c->raw_id,
                      err.msg[0] ? err.msg : "no bytes past the retention");
          if (c->raw_id > d->kept_to && skip_add(d, c->raw_id)) {
            rc = PA_NOMEM;
            goto out;
          }
        }
      }
      if ((rc = cur_next(c)))
        goto out;
      continue;
    }
    if (rc)
      goto out;
    rc = feed_one(d, f, bytes, len, origin ? origin : "", c->offset, c->received_ts);
    free(bytes);
    bytes = NULL;
    if (rc)
      goto out;
    use_rep ? d->repeats++ : d->fed++;
    if ((rc = cur_next(c)))
      goto out;
  }
  rc = PA_OK;
out:
  free(bytes);
  sqlite3_finalize(raw.q);
  sqlite3_finalize(rep.q);
  return rc;
}

/* map[scratch raw id] = the stored raw id of the same bytes (by sha256,
 * through the index of its first 8 bytes, sha_key). */
static pa_rc build_map(struct deep *d)
{
  sqlite3_stmt *a = NULL, *b = NULL;
  pa_rc rc = PA_DB;
  int64_t n;
  int r;

  if (sqlite3_prepare_v2(pa_store_handle(d->scratch), "SELECT id, sha256, sha_key FROM raw ORDER BY id",
                         -1, &a, NULL) ||
      sqlite3_prepare_v2(pa_store_handle(d->s), "SELECT id FROM raw WHERE sha_key = ?2 AND sha256 = ?1", -1, &b,
                         NULL))
    goto out;
  while ((r = sqlite3_step(a)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(a, 0);
    if (id <= 0 || id > INT32_MAX)
      goto out;
    if ((size_t)id >= d->n_map) {
      size_t cap = d->n_map ? d->n_map : 1024;
      while (cap <= (size_t)id)
        cap *= 2;
      int64_t *p = realloc(d->map, cap * sizeof *p);
      if (!p) {
        rc = PA_NOMEM;
        goto out;
      }
      memset(p + d->n_map, 0, (cap - d->n_map) * sizeof *p);
      d->map = p;
      d->n_map = cap;
    }
    sqlite3_bind_value(b, 1, sqlite3_column_value(a, 1));
    sqlite3_bind_int64(b, 2, sqlite3_column_int64(a, 2)); /* the sha256 index */
    n = sqlite3_step(b) == SQLITE_ROW ? sqlite3_column_int64(b, 0) : 0;
    sqlite3_reset(b);
    d->map[id] = n;
  }
  rc = r == SQLITE_DONE ? PA_OK : PA_DB;
out:
  sqlite3_finalize(a);
  sqlite3_finalize(b);
  return rc;
}

/* ---- the comparison ------------------------------------------------------ */

struct table {
  const char *name;
  const char *skip_cols; /* ",a,b," not compared (ids that differ by nature) */
  const char *from;      /* "FROM ... " giving the row's raw id as e.raw_id */
  const char *prefix;    /* the table's alias */
  const char *key;       /* the row's label id */
  const char *order;
};

struct row {
  int64_t id;
  sqlite3_value **v; /* owned */
  int matched;
};

struct group {
  struct row *r;
  size_t n, cap;
};

struct side {
  sqlite3_stmt *q;
  int has;
  int64_t raw; /* of the current row, mapped on the scratch side */
  const int64_t *map;
  size_t n_map;
};

static void group_clear(struct group *g, int ncol)
{
  for (size_t i = 0; i < g->n; i++) {
    for (int c = 0; c < ncol; c++)
      sqlite3_value_free(g->r[i].v[c]);
    free(g->r[i].v);
  }
  g->n = 0;
}

static pa_rc side_step(struct side *s)
{
  int r = sqlite3_step(s->q);
  s->has = r == SQLITE_ROW;
  if (r != SQLITE_ROW && r != SQLITE_DONE)
    return PA_DB;
  if (s->has) {
    int64_t raw = sqlite3_column_int64(s->q, 0);
    if (s->map)
      raw = raw > 0 && (size_t)raw < s->n_map ? s->map[raw] : 0;
    s->raw = raw;
  }
  return PA_OK;
}

/* Reads the rows of raw id raw from s into g (columns 2..ncol+1). */
static pa_rc side_group(struct side *s, int64_t raw, int ncol, struct group *g)
{
  pa_rc rc;
  while (s->has && s->raw == raw) {
    if (g->n == g->cap) {
      size_t cap = g->cap ? g->cap * 2 : 8;
      struct row *p = realloc(g->r, cap * sizeof *p);
      if (!p)
        return PA_NOMEM;
      g->r = p;
      g->cap = cap;
    }
    struct row *r = &g->r[g->n];
    r->id = sqlite3_column_int64(s->q, 1);
    r->matched = 0;
    if (!(r->v = calloc((size_t)ncol, sizeof *r->v)))
      return PA_NOMEM;
    g->n++;
    for (int c = 0; c < ncol; c++)
      if (!(r->v[c] = sqlite3_value_dup(sqlite3_column_value(s->q, c + 2))))
        return PA_NOMEM;
    if ((rc = side_step(s)))
      return rc;
  }
  return PA_OK;
}

static int value_eq(sqlite3_value *a, sqlite3_value *b)
{
  int t = sqlite3_value_type(a);
  if (t != sqlite3_value_type(b))
    return 0;
  switch (t) {
  case SQLITE_NULL: return 1;
  case SQLITE_INTEGER: return sqlite3_value_int64(a) == sqlite3_value_int64(b);
  case SQLITE_FLOAT: return sqlite3_value_double(a) == sqlite3_value_double(b);
  default: {
    const void *pa = t == SQLITE_BLOB ? sqlite3_value_blob(a) : (const void *)sqlite3_value_text(a);
    const void *pb = t == SQLITE_BLOB ? sqlite3_value_blob(b) : (const void *)sqlite3_value_text(b);
    int na = sqlite3_value_bytes(a), nb = sqlite3_value_bytes(b);
    return na == nb && (!na || !memcmp(pa, pb, (size_t)na));
  }
  }
}

/* A value as the report shows it: NULL, or its text cut at 200 bytes. */
static void value_str(sqlite3_value *v, char *out, size_t len)
{
  const unsigned char *t;
  if (sqlite3_value_type(v) == SQLITE_NULL) {
    snprintf(out, len, "NULL");
    return;
  }
  t = sqlite3_value_text(v);
  snprintf(out, len, "'%.200s%s'", t ? (const char *)t : "",
           sqlite3_value_bytes(v) > 200 ? "..." : "");
}

static void compare_group(struct deep *d, const struct table *t, char **cols, int ncol,
                          int64_t raw, struct group *a, struct group *b)
{
  char x[256], y[256], what[128];
  size_t j = 0;

  /* the rows that are equal in every column pair first, whatever their order */
  for (size_t i = 0; i < a->n; i++)
    for (size_t k = 0; k < b->n; k++) {
      int c;
      if (b->r[k].matched)
        continue;
      for (c = 0; c < ncol && value_eq(a->r[i].v[c], b->r[k].v[c]); c++)
        ;
      if (c == ncol) {
        a->r[i].matched = b->r[k].matched = 1;
        break;
      }
    }
  /* then the rest pairwise, in order: changed; what is left over: added or removed */
  for (size_t i = 0; i < a->n; i++) {
    if (a->r[i].matched)
      continue;
    while (j < b->n && b->r[j].matched)
      j++;
    snprintf(what, sizeof what, strcmp(t->name, "events") ? "%s row of event %lld" : "%s row %lld",
             t->name, (long long)a->r[i].id);
    if (j == b->n) {
      d->diffs++;
      if (d->printed++ < DEEP_MAX_LINES)
        pa_cli_line(stdout, "%s: %s (raw %lld): added: stored, but the re-parse of its raw"
                            " message does not yield it", d->db, what, (long long)raw);
      continue;
    }
    for (int c = 0; c < ncol; c++)
      if (!value_eq(a->r[i].v[c], b->r[j].v[c])) {
        value_str(a->r[i].v[c], x, sizeof x);
        value_str(b->r[j].v[c], y, sizeof y);
        d->diffs++;
        if (d->printed++ < DEEP_MAX_LINES)
          pa_cli_line(stdout, "%s: %s (raw %lld): column %s stored %s, re-parsed %s", d->db, what,
                      (long long)raw, cols[c], x, y);
      }
    b->r[j].matched = 1;
  }
  for (size_t k = 0; k < b->n; k++)
    if (!b->r[k].matched) {
      char first[256] = "";
      if (ncol)
        value_str(b->r[k].v[0], first, sizeof first);
      d->diffs++;
      if (d->printed++ < DEEP_MAX_LINES)
        pa_cli_line(stdout,
                    "%s: %s row of raw %lld: removed: the re-parse yields it (%s %s), the store"
                    " does not hold it",
                    d->db, t->name, (long long)raw, ncol ? cols[0] : "", first);
    }
}

/* The compared columns of t: all but those in skip_cols, from the store's
 * schema (both stores are of the same version). *cols owned. */
static pa_rc table_cols(struct deep *d, const struct table *t, char ***cols, int *ncol)
{
  sqlite3_stmt *q = NULL;
  char sql[128], pat[128];
  pa_rc rc = PA_NOMEM;

  *cols = NULL;
  *ncol = 0;
  snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", t->name);
  if (sqlite3_prepare_v2(pa_store_handle(d->s), sql, -1, &q, NULL))
    return PA_DB;
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *n = (const char *)sqlite3_column_text(q, 1);
    if (!n)
      continue;
    snprintf(pat, sizeof pat, ",%s,", n);
    if (strstr(t->skip_cols, pat))
      continue;
    char **p = realloc(*cols, (size_t)(*ncol + 1) * sizeof *p);
    if (!p)
      goto out;
    *cols = p;
    if (!(p[*ncol] = strdup(n)))
      goto out;
    (*ncol)++;
  }
  rc = PA_OK;
out:
  sqlite3_finalize(q);
  return rc;
}

static pa_rc compare_table(struct deep *d, const struct table *t, uint64_t *n_rows)
{
  struct side a = {0}, b = {0};
  struct group ga = {0}, gb = {0};
  char **cols = NULL, *sql = NULL;
  size_t len, off;
  int ncol = 0;
  pa_rc rc;

  if ((rc = table_cols(d, t, &cols, &ncol)))
    goto out;
  len = 256 + strlen(t->from) + strlen(t->order);
  for (int c = 0; c < ncol; c++)
    len += strlen(cols[c]) + strlen(t->prefix) + 4;
  rc = PA_NOMEM;
  if (!(sql = malloc(len)))
    goto out;
  off = (size_t)snprintf(sql, len, "SELECT e.raw_id, %s", t->key);
  for (int c = 0; c < ncol; c++)
    off += (size_t)snprintf(sql + off, len - off, ", %s.\"%s\"", t->prefix, cols[c]);
  snprintf(sql + off, len - off, " %s WHERE e.raw_id IS NOT NULL ORDER BY %s", t->from, t->order);
  rc = PA_DB;
  if (sqlite3_prepare_v2(pa_store_handle(d->s), sql, -1, &a.q, NULL) ||
      sqlite3_prepare_v2(pa_store_handle(d->scratch), sql, -1, &b.q, NULL))
    goto out;
  b.map = d->map;
  b.n_map = d->n_map;
  if ((rc = side_step(&a)) || (rc = side_step(&b)))
    goto out;
  while (a.has || b.has) {
    int64_t raw = !b.has || (a.has && a.raw <= b.raw) ? a.raw : b.raw;
    if ((rc = side_group(&a, raw, ncol, &ga)) || (rc = side_group(&b, raw, ncol, &gb)))
      goto out;
    if (!skipped(d, raw) || gb.n) {
      *n_rows += ga.n;
      compare_group(d, t, cols, ncol, raw, &ga, &gb);
    }
    group_clear(&ga, ncol);
    group_clear(&gb, ncol);
  }
  rc = PA_OK;
out:
  if (rc == PA_DB)
    pa_log(PA_LOG_ERROR, "%s: %s: %s", d->db, t->name, sqlite3_errmsg(pa_store_handle(d->s)));
  group_clear(&ga, ncol);
  group_clear(&gb, ncol);
  free(ga.r);
  free(gb.r);
  sqlite3_finalize(a.q);
  sqlite3_finalize(b.q);
  for (int c = 0; c < ncol; c++)
    free(cols[c]);
  free(cols);
  free(sql);
  return rc;
}

static int64_t count(pa_store *s, const char *sql)
{
  sqlite3_stmt *q = NULL;
  int64_t n = -1;
  if (sqlite3_prepare_v2(pa_store_handle(s), sql, -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

/* Events through events_all: a listener's events not yet moved out of
 * events_pending are stored events too (docs/schema.md). */
static const struct table tables[] = {
  {"events", ",id,raw_id,assoc_id,", "FROM events_all e", "e", "e.id", "e.raw_id, e.id"},
  {"audit_details", ",event_id,", "FROM audit_details x JOIN events_all e ON e.id = x.event_id",
   "x", "x.event_id", "e.raw_id, x.event_id"},
  {"atna_participants", ",event_id,",
   "FROM atna_participants x JOIN events_all e ON e.id = x.event_id", "x", "x.event_id",
   "e.raw_id, x.event_id, x.seq"},
  {"atna_objects", ",event_id,",
   "FROM atna_objects x JOIN events_all e ON e.id = x.event_id", "x", "x.event_id",
   "e.raw_id, x.event_id, x.seq"},
};

int pa_cli_verify_deep(pa_store *s, const char *db, const char *site_decoders, const char *tz)
{
  struct deep d;
  struct pa_feed f;
  struct pa_err err;
  const char *tmp = getenv("TMPDIR");
  char dir[2048], path[2100], aux[2120];
  uint64_t n_rows[sizeof tables / sizeof tables[0]] = {0};
  int64_t at, run_id = 0;
  int r = PA_EXIT_INTERNAL, feed_ok = 0;
  pa_rc rc;

  memset(&d, 0, sizeof d);
  d.s = s;
  d.db = db;
  d.tz = tz;
  snprintf(dir, sizeof dir, "%s/pacsaudit-deep-XXXXXX", tmp && *tmp && strlen(tmp) < 1024 ? tmp : "/tmp");
  if (!mkdtemp(dir)) {
    pa_log(PA_LOG_ERROR, "%s: cannot make a scratch folder: %m", dir);
    return PA_EXIT_INTERNAL;
  }
  snprintf(path, sizeof path, "%s/scratch.db", dir);
  pa_err_clear(&err);
  if (pa_store_raw_retention(s, &d.kept_to, &at) ||
      pa_store_open(path, &d.scratch, &err) ||
      pa_store_run_begin(d.scratch, "verify", "--deep", &run_id)) {
    pa_log(PA_LOG_ERROR, "%s: %s", path, err.msg[0] ? err.msg : "cannot open the scratch store");
    goto out;
  }
  pa_err_clear(&err);
  if (pa_feed_init(&f, d.scratch, site_decoders, tz, run_id, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg[0] ? err.msg : "cannot load the decoders");
    pa_feed_cleanup(&f);
    r = PA_EXIT_INPUT;
    goto out;
  }
  feed_ok = 1;
  if ((rc = pa_store_batch_begin(d.scratch)) || (rc = feed_all(&d, &f)) ||
      (rc = pa_store_batch_commit(d.scratch))) {
    pa_log(PA_LOG_ERROR, "%s: re-parse failed: %s", db, pa_strerror(rc));
    goto out;
  }
  if ((rc = build_map(&d))) {
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_strerror(rc));
    goto out;
  }
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
    if ((rc = compare_table(&d, &tables[i], &n_rows[i])))
      goto out;
  if (d.printed > DEEP_MAX_LINES)
    pa_cli_line(stdout, "%s: ... %llu more differences not shown", db,
                (unsigned long long)(d.printed - DEEP_MAX_LINES));
  pa_cli_line(stdout,
              "%s: deep: %llu raw messages re-parsed (and %llu repeats): %llu events, %llu"
              " audit_details, %llu atna_participants, %llu atna_objects rows compared",
              db, (unsigned long long)d.fed, (unsigned long long)d.repeats,
              (unsigned long long)n_rows[0], (unsigned long long)n_rows[1],
              (unsigned long long)n_rows[2], (unsigned long long)n_rows[3]);
  pa_cli_line(stdout,
              "%s: deep: apart, not compared: %lld events without a raw message (captures),"
              " %llu raw rows kept by their hash only (retention), %llu raw rows without"
              " readable bytes",
              db, (long long)count(s, "SELECT count(*) FROM events_all WHERE raw_id IS NULL"),
              (unsigned long long)d.retained, (unsigned long long)d.no_bytes);
  pa_cli_line(stdout,
              "%s: deep: quarantined messages: %lld stored, %lld in the re-parse (counted only)",
              db, (long long)count(s, "SELECT count(*) FROM quarantine"),
              (long long)count(d.scratch, "SELECT count(*) FROM quarantine"));
  if (d.diffs)
    pa_cli_line(stdout, "%s: deep: %llu differences between the derived rows and the raw"
                        " messages: the derived rows were changed, or the parsers changed",
                db, (unsigned long long)d.diffs);
  else
    pa_cli_line(stdout, "%s: deep: every derived row matches its raw message", db);
  r = d.diffs || d.no_bytes ? PA_EXIT_FINDINGS : PA_EXIT_OK;
out:
  if (feed_ok)
    pa_feed_cleanup(&f);
  pa_store_close(d.scratch);
  unlink(path);
  snprintf(aux, sizeof aux, "%s-wal", path);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-shm", path);
  unlink(aux);
  snprintf(aux, sizeof aux, "%s-journal", path);
  unlink(aux);
  rmdir(dir);
  free(d.skip);
  free(d.map);
  return r;
}
