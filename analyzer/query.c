/* query.c — the timeline of one subject across every source (query.h).
 *
 * One statement a kind of subject, each answered from events indexes whose
 * key is the subject and then ts, so rows come out in time order without a
 * sort where one index answers (user), and through a merge of two ordered
 * index walks where two columns can hold the subject (ae, ip: UNION ALL,
 * the second arm leaving out what the first gave). A patient id is looked
 * up twice in events_patient, merged the same way: equal to the bare id,
 * and in the range of ids that start with the bare id and '^' (the CX
 * suffix), a range rather than LIKE so that the index answers it ('_' is
 * the byte after '^'); that arm is sorted, it is a few rows. */
#include "query.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

#define COLS                                                                          \
  "id, ts, source, origin, event_code, op, action, outcome, user_id, user_name,"     \
  " user_role, src_ip, src_ae, dst_ip, dst_ae, host, patient_id, study_uid, object_count"
#define PERIOD " AND ts >= ?2 AND ts < ?3"

static const char *const sql[] = {
  /* the bare id, then the ids with a CX suffix; +ts keeps the planner
   * from walking events_ts for the range arm (it has no statistics) */
  [PA_QUERY_PATIENT] =
    "SELECT " COLS " FROM events WHERE patient_id = ?1" PERIOD
    " UNION ALL SELECT " COLS " FROM events WHERE patient_id >= ?1 || '^' AND"
    " patient_id < ?1 || '_' AND +ts >= ?2 AND +ts < ?3"
    " ORDER BY ts, id LIMIT ?4",
  [PA_QUERY_USER] =
    "SELECT " COLS " FROM events WHERE user_id = ?1" PERIOD " ORDER BY ts, id LIMIT ?4",
  [PA_QUERY_AE] =
    "SELECT " COLS " FROM events WHERE src_ae = ?1" PERIOD
    " UNION ALL SELECT " COLS " FROM events WHERE dst_ae = ?1 AND src_ae IS NOT ?1" PERIOD
    " ORDER BY ts, id LIMIT ?4",
  [PA_QUERY_IP] =
    "SELECT " COLS " FROM events WHERE src_ip = ?1" PERIOD
    " UNION ALL SELECT " COLS " FROM events WHERE dst_ip = ?1 AND src_ip IS NOT ?1" PERIOD
    " ORDER BY ts, id LIMIT ?4",
};

static const char *const kind_names[] = {
  [PA_QUERY_PATIENT] = "patient",
  [PA_QUERY_USER] = "user",
  [PA_QUERY_AE] = "ae",
  [PA_QUERY_IP] = "ip",
};

#define N_KINDS (sizeof kind_names / sizeof kind_names[0])

pa_rc pa_query_kind_parse(const char *word, enum pa_query_kind *out)
{
  for (size_t i = 0; i < N_KINDS; i++)
    if (word && !strcmp(word, kind_names[i])) {
      *out = (enum pa_query_kind)i;
      return PA_OK;
    }
  return PA_USAGE;
}

const char *pa_query_kind_name(enum pa_query_kind kind)
{
  return (size_t)kind < N_KINDS ? kind_names[kind] : "?";
}

const char *pa_query_sql(enum pa_query_kind kind)
{
  return (size_t)kind < N_KINDS ? sql[kind] : sql[PA_QUERY_USER];
}

const char *pa_query_outcome_name(int outcome)
{
  switch (outcome) {
  case 0: return "success";
  case 4: return "minor-failure";
  case 8: return "serious-failure";
  case 12: return "major-failure";
  default: return "unknown";
  }
}

/* Checks q and prepares its statement with every parameter bound into
 * *st_out (the caller's: sqlite3_finalize). */
static pa_rc prepare(pa_store *s, const struct pa_query *q, const char *prefix,
                     sqlite3_stmt **st_out, struct pa_err *err)
{
  sqlite3 *db = pa_store_handle(s);
  sqlite3_stmt *st = NULL;
  const char *subj = q->subject;
  size_t len;
  char text[2048];

  *st_out = NULL;
  if ((size_t)q->kind >= N_KINDS)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "unknown kind of subject");
  if (!subj || !*subj)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "the %s to look for is empty",
                      kind_names[q->kind]);
  len = strlen(subj);
  if (q->kind == PA_QUERY_PATIENT) {
    const char *caret = strchr(subj, '^');
    if (caret)
      len = (size_t)(caret - subj);
    if (!len)
      return pa_err_set(err, PA_USAGE, UINT64_MAX, 0,
                        "the patient id has nothing before its CX suffix");
  }
  if (q->since_us && q->until_us && q->since_us >= q->until_us)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "the period is empty (since >= until)");
  if ((size_t)snprintf(text, sizeof text, "%s%s", prefix, sql[q->kind]) >= sizeof text)
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "query text too long"); /* not reached */
  if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK)
    goto db_error;
  if (sqlite3_bind_text(st, 1, subj, (int)len, SQLITE_TRANSIENT) != SQLITE_OK ||
      sqlite3_bind_int64(st, 2, q->since_us ? q->since_us : INT64_MIN) != SQLITE_OK ||
      sqlite3_bind_int64(st, 3, q->until_us ? q->until_us : INT64_MAX) != SQLITE_OK ||
      sqlite3_bind_int64(st, 4, q->limit && q->limit <= INT64_MAX ? (int64_t)q->limit : -1) !=
        SQLITE_OK)
    goto db_error;
  *st_out = st;
  return PA_OK;
db_error:
  pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return PA_DB;
}

/* Column i as text, NULL where the store has NULL; sets *nomem when a
 * value could not be converted (out of memory). */
static const char *col_text(sqlite3_stmt *st, int i, int *nomem)
{
  const char *t = (const char *)sqlite3_column_text(st, i);
  if (!t && sqlite3_column_type(st, i) != SQLITE_NULL)
    *nomem = 1;
  return t;
}

pa_rc pa_query_run(pa_store *s, const struct pa_query *q, pa_query_cb cb, void *ctx,
                   uint64_t *n_out, struct pa_err *err)
{
  sqlite3_stmt *st = NULL;
  uint64_t n = 0;
  int began = 0, r;
  pa_rc rc;

  if (n_out)
    *n_out = 0;
  if ((rc = prepare(s, q, "", &st, err)) != PA_OK)
    return rc;
  if ((rc = pa_store_read_begin(s)) != PA_OK) {
    pa_err_set(err, rc, UINT64_MAX, 0, "%s", pa_store_errmsg(s));
    goto out;
  }
  began = 1;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    struct pa_query_row row;
    int nomem = 0;
    row.id = sqlite3_column_int64(st, 0);
    row.ts = sqlite3_column_int64(st, 1);
    row.source = col_text(st, 2, &nomem);
    row.origin = col_text(st, 3, &nomem);
    row.event_code = col_text(st, 4, &nomem);
    row.op = col_text(st, 5, &nomem);
    row.action = col_text(st, 6, &nomem);
    row.has_outcome = sqlite3_column_type(st, 7) != SQLITE_NULL;
    row.outcome = row.has_outcome ? sqlite3_column_int(st, 7) : 0;
    row.user_id = col_text(st, 8, &nomem);
    row.user_name = col_text(st, 9, &nomem);
    row.user_role = col_text(st, 10, &nomem);
    row.src_ip = col_text(st, 11, &nomem);
    row.src_ae = col_text(st, 12, &nomem);
    row.dst_ip = col_text(st, 13, &nomem);
    row.dst_ae = col_text(st, 14, &nomem);
    row.host = col_text(st, 15, &nomem);
    row.patient_id = col_text(st, 16, &nomem);
    row.study_uid = col_text(st, 17, &nomem);
    row.object_count =
      sqlite3_column_type(st, 18) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 18);
    if (nomem) {
      rc = pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "out of memory");
      goto out;
    }
    n++;
    if ((rc = cb(ctx, &row)) != PA_OK)
      goto out;
  }
  if (r != SQLITE_DONE) {
    rc = pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(pa_store_handle(s)));
    goto out;
  }
  rc = PA_OK;
out:
  sqlite3_finalize(st);
  if (began)
    pa_store_read_end(s);
  if (n_out)
    *n_out = n;
  return rc;
}

pa_rc pa_query_plan(pa_store *s, const struct pa_query *q,
                    void (*line)(void *ctx, const char *text), void *ctx,
                    struct pa_err *err)
{
  /* (id, depth) of the rows seen, to indent a row under its parent */
  struct { int id, depth; } seen[64];
  size_t n_seen = 0;
  sqlite3_stmt *st = NULL;
  pa_rc rc;
  int r;

  if ((rc = prepare(s, q, "EXPLAIN QUERY PLAN ", &st, err)) != PA_OK)
    return rc;
  while ((r = sqlite3_step(st)) == SQLITE_ROW) {
    int id = sqlite3_column_int(st, 0), parent = sqlite3_column_int(st, 1), depth = 0;
    int nomem = 0;
    const char *detail = col_text(st, 3, &nomem);
    char text[512];
    for (size_t i = 0; i < n_seen; i++)
      if (seen[i].id == parent)
        depth = seen[i].depth + 1;
    if (n_seen < sizeof seen / sizeof seen[0]) {
      seen[n_seen].id = id;
      seen[n_seen++].depth = depth;
    }
    snprintf(text, sizeof text, "%*s%s", 2 * depth, "", detail ? detail : "");
    line(ctx, text);
  }
  rc = r == SQLITE_DONE ? PA_OK
                        : pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s",
                                     sqlite3_errmsg(pa_store_handle(s)));
  sqlite3_finalize(st);
  return rc;
}
