/* model_events.c — the report's view of the events: each source's span,
 * coverage and gaps, events per day and per hour of day, the top users
 * and AEs. One GROUP BY over the period's range of the events_ts index, in
 * 15-minute buckets (every zone's offset is a multiple of 15 minutes, so a
 * bucket falls in one local hour and day). */
#include "model_int.h"

#include "analyzer/tz.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET_US INT64_C(900000000)
#define HOUR_US INT64_C(3600000000)
#define DAY_US (24 * HOUR_US)

struct bucket {
  int src;               /* index into the source/origin list */
  int64_t q, n, lo, hi;  /* bucket number, events, first and last time */
};

struct acc {
  struct bucket *b;
  size_t n, cap;
  json_t *keys;          /* [[source, origin], ...] in order */
  int64_t first, last;   /* over every source */
};

static pa_rc push(struct acc *a, const struct bucket *b)
{
  if (a->n == a->cap) {
    size_t cap = a->cap ? 2 * a->cap : 1024;
    struct bucket *nb = realloc(a->b, cap * sizeof *nb);
    if (!nb)
      return PA_NOMEM;
    a->b = nb;
    a->cap = cap;
  }
  a->b[a->n++] = *b;
  if (a->n == 1 || b->lo < a->first)
    a->first = b->lo;
  if (a->n == 1 || b->hi > a->last)
    a->last = b->hi;
  return PA_OK;
}

/* Index of (source, origin) in a->keys, appended when new (the rows come
 * ordered by source and origin, so a new one is the last). */
static int key_of(struct acc *a, sqlite3_stmt *q)
{
  size_t n = json_array_size(a->keys);
  json_t *k = json_pack("[o, o]", pa__rep_col_str(q, 0), pa__rep_col_str(q, 1));
  if (n && json_equal(json_array_get(a->keys, n - 1), k)) {
    json_decref(k);
    return (int)n - 1;
  }
  json_array_append_new(a->keys, k);
  return (int)n;
}

static pa_rc collect(struct pa_mctx *c, struct acc *a)
{
  sqlite3_stmt *q;
  pa_rc rc;
  int s;

  if ((rc = pa__rep_prepare(c, "SELECT source, origin, ts / 900000000, count(*), min(ts), "
                               "max(ts) FROM events WHERE ts >= ?1 AND ts < ?2 "
                               "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3", &q)))
    return rc;
  sqlite3_bind_int64(q, 1, c->lo);
  sqlite3_bind_int64(q, 2, c->hi);
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    struct bucket b = {key_of(a, q), sqlite3_column_int64(q, 2), sqlite3_column_int64(q, 3),
                       sqlite3_column_int64(q, 4), sqlite3_column_int64(q, 5)};
    if ((rc = push(a, &b)))
      break;
  }
  if (!rc && s != SQLITE_DONE)
    rc = pa__rep_db_err(c);
  sqlite3_finalize(q);
  return rc;
}

/* The quiet time that counts as a gap: require.log_silence_h (AU-03), 24 h
 * by default. */
static int64_t gap_us(const struct pa_mctx *c)
{
  const char *t = NULL;
  char *end;
  double h;
  if (c->pol)
    pa_policy_param(c->pol, "require", "log_silence_h", &t);
  h = t ? strtod(t, &end) : 24;
  if (t && (*end || !(h > 0) || h > 24 * 366))
    h = 24;
  return (int64_t)(h * (double)HOUR_US);
}

static json_t *gap(const struct pa_mctx *c, int64_t from, int64_t to)
{
  double h = round((double)(to - from) / (double)HOUR_US * 10) / 10;
  return json_pack("{s:o, s:o, s:f}", "from", pa__rep_time(c, from), "to",
                   pa__rep_time(c, to), "hours", h);
}

/* One source's entry from its buckets b[0..n) (in time order). */
static json_t *source_entry(const struct pa_mctx *c, const json_t *key, const struct bucket *b,
                            size_t n, int64_t p0, int64_t p1)
{
  int64_t g = gap_us(c), quiet = 0, events = 0;
  json_t *gaps = json_array();
  double cov = 1.0;

  if (b[0].lo - p0 >= g) {
    json_array_append_new(gaps, gap(c, p0, b[0].lo));
    quiet += b[0].lo - p0;
  }
  for (size_t i = 0; i < n; i++) {
    events += b[i].n;
    if (i && b[i].lo - b[i - 1].hi >= g) {
      json_array_append_new(gaps, gap(c, b[i - 1].hi, b[i].lo));
      quiet += b[i].lo - b[i - 1].hi;
    }
  }
  if (p1 - b[n - 1].hi >= g) {
    json_array_append_new(gaps, gap(c, b[n - 1].hi, p1));
    quiet += p1 - b[n - 1].hi;
  }
  if (p1 > p0)
    cov = round((1.0 - (double)quiet / (double)(p1 - p0)) * 1000) / 1000;
  return json_pack("{s:O, s:O, s:o, s:o, s:I, s:f, s:o}", "source", json_array_get(key, 0),
                   "origin", json_array_get(key, 1), "first", pa__rep_time(c, b[0].lo), "last",
                   pa__rep_time(c, b[n - 1].hi), "events", (json_int_t)events, "coverage",
                   cov < 0 ? 0.0 : cov, "gaps", gaps);
}

/* Days since 1970-01-01 to "YYYY-MM-DD" (H. Hinnant's civil_from_days). */
static void date_of(int64_t z, char out[40])
{
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  int64_t doe = z - era * 146097;
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  int64_t mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
  int64_t m = mp < 10 ? mp + 3 : mp - 9, y = yoe + era * 400 + (m <= 2);
  snprintf(out, 40, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
}

static int64_t floor_div(int64_t a, int64_t b)
{
  return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int strcmp_ptr(const void *x, const void *y)
{
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* events_per_day (by local date, then source) and by_hour. */
static pa_rc per_day_hour(const struct pa_mctx *c, const struct acc *a, json_t *charts)
{
  json_t *days = json_object(), *hours = json_object_get(charts, "by_hour");
  json_t *per_day = json_object_get(charts, "events_per_day");
  int64_t h24[24] = {0};
  const char *k;
  json_t *v;

  for (size_t i = 0; i < a->n; i++) {
    int64_t loc = pa_tz_to_local_us(c->tz, a->b[i].q * BUCKET_US);
    char date[40], key[256];
    json_t *sk = json_array_get(a->keys, (size_t)a->b[i].src);
    const char *src = json_string_value(json_array_get(sk, 0));
    date_of(floor_div(loc, DAY_US), date);
    h24[floor_div(loc, HOUR_US) - floor_div(loc, DAY_US) * 24] += a->b[i].n;
    snprintf(key, sizeof key, "%s\x1f%s", date, src ? src : "");
    json_object_set_new(days, key, json_integer(json_integer_value(json_object_get(days, key))
                                                + a->b[i].n));
  }
  for (int h = 0; h < 24; h++)
    json_array_append_new(hours, json_integer(h24[h]));
  /* keys sort as date, then source */
  const char **ks = malloc((json_object_size(days) + 1) * sizeof *ks);
  size_t n = 0;
  if (!ks) {
    json_decref(days);
    return PA_NOMEM;
  }
  json_object_foreach(days, k, v) ks[n++] = k;
  qsort(ks, n, sizeof *ks, strcmp_ptr);
  for (size_t i = 0; i < n; i++) {
    const char *sep = strchr(ks[i], '\x1f');
    json_array_append_new(per_day, json_pack("{s:s%, s:s, s:O}", "date", ks[i],
                                             (size_t)(sep - ks[i]), "source", sep + 1, "events",
                                             json_object_get(days, ks[i])));
  }
  free(ks);
  json_decref(days);
  return PA_OK;
}

pa_rc pa__rep_sources(struct pa_mctx *c, json_t *charts)
{
  struct acc a = {0};
  json_t *sources = json_array(), *counts = json_object_get(c->m, "counts");
  int64_t total = 0, p0, p1;
  pa_rc rc;

  json_object_set_new(c->m, "sources", sources);
  if (!(a.keys = json_array()))
    return PA_NOMEM;
  if ((rc = collect(c, &a)))
    goto out;
  p0 = c->since ? c->since : a.first;
  p1 = c->until ? c->until : a.last;
  for (size_t i = 0, j; i < a.n; i = j) {
    for (j = i; j < a.n && a.b[j].src == a.b[i].src; j++)
      total += a.b[j].n;
    json_array_append_new(sources, source_entry(c, json_array_get(a.keys, (size_t)a.b[i].src),
                                                a.b + i, j - i, p0, p1));
  }
  json_object_set_new(counts, "events", json_integer(total));
  rc = per_day_hour(c, &a, charts);
out:
  free(a.b);
  json_decref(a.keys);
  return rc;
}

/* The ten busiest values of column col over the period. */
static pa_rc top(struct pa_mctx *c, const char *col, json_t *arr)
{
  char sql[256];
  sqlite3_stmt *q;
  pa_rc rc;
  int s;

  /* over a period, its range of events_ts; over everything, the column's
   * own covering index (the planner's choice either way without the hint
   * is the covering index, which reads the whole table for one month) */
  snprintf(sql, sizeof sql, "SELECT %s, count(*) FROM events%s WHERE ts >= ?1 AND ts < ?2 AND "
           "%s IS NOT NULL GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %d", col,
           c->since || c->until ? " INDEXED BY events_ts" : "", col, PA_REPORT_TOP);
  if ((rc = pa__rep_prepare(c, sql, &q)))
    return rc;
  sqlite3_bind_int64(q, 1, c->lo);
  sqlite3_bind_int64(q, 2, c->hi);
  while ((s = sqlite3_step(q)) == SQLITE_ROW)
    json_array_append_new(arr, json_pack("{s:o, s:I}", "id", pa__rep_col_str(q, 0), "events",
                                         (json_int_t)sqlite3_column_int64(q, 1)));
  if (s != SQLITE_DONE)
    rc = pa__rep_db_err(c);
  sqlite3_finalize(q);
  return rc;
}

pa_rc pa__rep_top(struct pa_mctx *c, json_t *charts)
{
  pa_rc rc = top(c, "user_id", json_object_get(charts, "top_users"));
  return rc ? rc : top(c, "src_ae", json_object_get(charts, "top_aes"));
}
