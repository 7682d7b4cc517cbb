/* model_findings.c — the findings of the period with their rules' texts,
 * history and evidence; their counts and charts; MT-01's maintenance
 * windows with the patients touched in each. */
#include "model_int.h"

#include <stdlib.h>
#include <string.h>

#define FINDING_COLS                                                                   \
  "id, rule_id, severity, strength, guideline_ref, subject, first_ts, last_ts, count, " \
  "evidence, status, reason, detail"

/* A finding and where it sorts. */
struct item {
  json_t *f;
  int ref;
  const char *rule_id;
  int64_t first;
};

static int cmp_item(const void *x, const void *y)
{
  const struct item *a = x, *b = y;
  int r = strcmp(a->rule_id, b->rule_id);
  if (a->ref != b->ref)
    return a->ref < b->ref ? -1 : 1;
  if (r)
    return r;
  return a->first < b->first ? -1 : a->first > b->first;
}

static json_t *opt_time(const struct pa_mctx *c, sqlite3_stmt *q, int col)
{
  return sqlite3_column_type(q, col) == SQLITE_NULL ? json_null()
                                                    : pa__rep_time(c, sqlite3_column_int64(q, col));
}

/* A patient id column: the token when pseudonymized. */
static json_t *patient_col(const struct pa_mctx *c, sqlite3_stmt *q, int col)
{
  const char *t = (const char *)sqlite3_column_text(q, col);
  if (!t || !c->key_len)
    return pa__rep_col_str(q, col);
  return pa__rep_token(c, t);
}

/* The first PA_REPORT_EVIDENCE_MAX events of the ids in ev. */
static pa_rc evidence(struct pa_mctx *c, sqlite3_stmt *q, const json_t *ev, json_t *out)
{
  size_t i;
  json_t *v;
  json_array_foreach(ev, i, v) {
    if (i == PA_REPORT_EVIDENCE_MAX)
      break;
    sqlite3_reset(q);
    sqlite3_bind_int64(q, 1, json_integer_value(v));
    if (sqlite3_step(q) != SQLITE_ROW)
      continue;
    json_t *e = json_pack(
      "{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "event_id",
      (json_int_t)sqlite3_column_int64(q, 0), "ts", pa__rep_time(c, sqlite3_column_int64(q, 1)),
      "source", pa__rep_col_str(q, 2), "origin", pa__rep_col_str(q, 3), "event_code",
      pa__rep_col_str(q, 4), "op", pa__rep_col_str(q, 5), "user_id", pa__rep_col_str(q, 6),
      "src_ip", pa__rep_col_str(q, 7), "src_ae", pa__rep_col_str(q, 8), "dst_ae",
      pa__rep_col_str(q, 9), "patient_id", patient_col(c, q, 10), "study_uid",
      pa__rep_col_str(q, 11), "outcome",
      sqlite3_column_type(q, 12) == SQLITE_NULL ? json_null()
                                                : json_integer(sqlite3_column_int64(q, 12)));
    if (!e || json_array_append_new(out, e))
      return PA_NOMEM;
  }
  return PA_OK;
}

/* finding_history rows of finding id (when the table exists: hq NULL
 * otherwise). Notes are free text: dropped when pseudonymized. */
static json_t *history(struct pa_mctx *c, sqlite3_stmt *hq, int64_t id)
{
  json_t *h = json_array();
  if (!hq)
    return h;
  sqlite3_reset(hq);
  sqlite3_bind_int64(hq, 1, id);
  while (sqlite3_step(hq) == SQLITE_ROW) {
    json_t *at = sqlite3_column_type(hq, 2) == SQLITE_INTEGER
                   ? pa__rep_time(c, sqlite3_column_int64(hq, 2)) : pa__rep_col_str(hq, 2);
    json_array_append_new(h, json_pack("{s:o, s:o, s:o, s:o}", "status", pa__rep_col_str(hq, 0),
                                       "by", pa__rep_col_str(hq, 1), "at", at, "note",
                                       c->key_len ? json_null() : pa__rep_col_str(hq, 3)));
  }
  return h;
}

/* detail.label_<lang> (a rule's part), or null. */
static json_t *part_label(const struct pa_mctx *c, const char *detail)
{
  json_t *d = detail ? json_loads(detail, 0, NULL) : NULL;
  json_t *l = json_object_get(d, c->ja ? "label_ja" : "label_en");
  json_t *out = json_is_string(l) ? json_copy(l) : json_null();
  json_decref(d);
  return out;
}

static int subject_is_patient(const struct pa_rule *r)
{
  const char *s = r ? json_string_value(json_object_get(r->doc, "subject")) : NULL;
  return s && !strcmp(s, "patient_id");
}

/* The finding at q's row, as the model has it. */
static json_t *finding(struct pa_mctx *c, sqlite3_stmt *q, sqlite3_stmt *eq, sqlite3_stmt *hq)
{
  const char *rid = (const char *)sqlite3_column_text(q, 1);
  const struct pa_rule *r = rid ? pa_ruleset_find(c->rs, rid) : NULL;
  const char *strength = (const char *)sqlite3_column_text(q, 3);
  json_t *g = json_loads((const char *)sqlite3_column_text(q, 4) ?: "[]", 0, NULL);
  json_t *ev = json_loads((const char *)sqlite3_column_text(q, 9) ?: "[]", 0, NULL);
  json_t *rows = json_array(), *f;
  const char *title = r ? (c->ja ? r->title_ja : r->title_en) : NULL;
  const char *expl = r ? (c->ja ? r->message_ja : r->message_en) : NULL;

  if (!strength && r)
    strength = r->strength;
  f = json_pack("{s:I, s:o, s:s?, s:s?, s:s?, s:o, s:o, s:b, s:o, s:o, s:o, s:I, s:o, s:o, s:o}",
                "id", (json_int_t)sqlite3_column_int64(q, 0), "rule_id", pa__rep_col_str(q, 1),
                "title", title, "explanation", expl, "strength", strength, "severity",
                pa__rep_col_str(q, 2), "guideline",
                json_is_array(g) ? json_incref(g) : json_array(),
                "violation", strength && strcmp(strength, "direct") == 0, "subject",
                c->key_len && subject_is_patient(r) && sqlite3_column_text(q, 5)
                  ? pa__rep_token(c, (const char *)sqlite3_column_text(q, 5))
                  : pa__rep_col_str(q, 5),
                "first", opt_time(c, q, 6), "last", opt_time(c, q, 7), "count",
                (json_int_t)sqlite3_column_int64(q, 8), "status", pa__rep_col_str(q, 10),
                "reason", c->key_len ? json_null() : pa__rep_col_str(q, 11), "part_label",
                part_label(c, (const char *)sqlite3_column_text(q, 12)));
  json_decref(g);
  if (f) {
    json_object_set_new(f, "history", history(c, hq, sqlite3_column_int64(q, 0)));
    json_object_set_new(f, "evidence_total", json_integer((json_int_t)json_array_size(ev)));
    if (evidence(c, eq, ev, rows) == PA_OK)
      json_object_set(f, "evidence", rows);
    else {
      json_decref(f);
      f = NULL;
    }
  }
  json_decref(rows);
  json_decref(ev);
  return f;
}

/* Adds 1 to obj[key] (created at 0). */
static void bump(json_t *obj, const char *key)
{
  if (key)
    json_object_set_new(obj, key, json_integer(json_integer_value(json_object_get(obj, key)) + 1));
}

static void tally(json_t *counts, json_t *charts, struct item *it, size_t n)
{
  json_t *st = json_pack("{s:i, s:i, s:i, s:i, s:i}", "open", 0, "excepted", 0, "acknowledged",
                         0, "closed", 0, "total", 0);
  json_t *sev = json_pack("{s:i, s:i, s:i}", "high", 0, "medium", 0, "low", 0);
  json_t *str = json_pack("{s:i, s:i, s:i}", "direct", 0, "derived", 0, "advisory", 0);
  json_t *by_rule = json_object(), *v;
  const char *k;

  for (size_t i = 0; i < n; i++) {
    bump(st, json_string_value(json_object_get(it[i].f, "status")));
    bump(st, "total");
    bump(sev, json_string_value(json_object_get(it[i].f, "severity")));
    bump(str, json_string_value(json_object_get(it[i].f, "strength")));
    bump(by_rule, it[i].rule_id);
  }
  json_object_set_new(counts, "findings", st);
  json_object_set_new(counts, "by_severity", sev);
  json_object_set_new(counts, "by_strength", str);
  /* rule ids in order: jansson keeps insertion order, so sort a copy */
  const char **ids = malloc((json_object_size(by_rule) + 1) * sizeof *ids);
  size_t m = 0;
  if (ids) {
    json_object_foreach(by_rule, k, v) ids[m++] = k;
    for (size_t i = 1; i < m; i++) /* insertion sort: a few dozen rules */
      for (size_t j = i; j > 0 && strcmp(ids[j - 1], ids[j]) > 0; j--) {
        const char *t = ids[j];
        ids[j] = ids[j - 1];
        ids[j - 1] = t;
      }
    for (size_t i = 0; i < m; i++)
      json_array_append_new(json_object_get(charts, "findings_by_rule"),
                            json_pack("{s:s, s:O}", "rule_id", ids[i], "count",
                                      json_object_get(by_rule, ids[i])));
    free(ids);
  }
  json_object_foreach(sev, k, v)
    json_array_append_new(json_object_get(charts, "findings_by_severity"),
                          json_pack("{s:s, s:O}", "severity", k, "count", v));
  json_decref(by_rule);
}

static pa_rc prepare_all(struct pa_mctx *c, sqlite3_stmt **q, sqlite3_stmt **eq,
                         sqlite3_stmt **hq)
{
  pa_rc rc;
  if ((rc = pa__rep_prepare(c, "SELECT " FINDING_COLS " FROM findings WHERE coalesce(last_ts, "
                               "first_ts, 0) >= ?1 AND coalesce(first_ts, 0) < ?2", q)) ||
      (rc = pa__rep_prepare(c, "SELECT id, ts, source, origin, event_code, op, user_id, "
                               "src_ip, src_ae, dst_ae, patient_id, study_uid, outcome "
                               "FROM events WHERE id = ?1", eq)))
    return rc;
  if ((rc = pa__rep_prepare(c, "SELECT status, by, at, note FROM finding_history "
                               "WHERE finding_id = ?1 ORDER BY at, id", hq)))
    return rc;
  sqlite3_bind_int64(*q, 1, c->lo);
  sqlite3_bind_int64(*q, 2, c->hi);
  return PA_OK;
}

static pa_rc grow(struct item **it, size_t n, size_t *cap)
{
  struct item *ni;
  if (n < *cap)
    return PA_OK;
  *cap = *cap ? 2 * *cap : 64;
  if (!(ni = realloc(*it, *cap * sizeof *ni)))
    return PA_NOMEM;
  *it = ni;
  return PA_OK;
}

pa_rc pa__rep_findings(struct pa_mctx *c, json_t *counts, json_t *charts)
{
  sqlite3_stmt *q = NULL, *eq = NULL, *hq = NULL;
  struct item *it = NULL;
  size_t n = 0, cap = 0;
  json_t *arr = json_array();
  pa_rc rc;
  int s;

  json_object_set_new(c->m, "findings", arr);
  if ((rc = prepare_all(c, &q, &eq, &hq)))
    goto out;
  while ((s = sqlite3_step(q)) == SQLITE_ROW) {
    json_t *f = NULL;
    if ((rc = grow(&it, n, &cap)) || !(f = finding(c, q, eq, hq))) {
      rc = PA_NOMEM;
      goto out;
    }
    it[n].f = f;
    it[n].rule_id = json_string_value(json_object_get(f, "rule_id")) ?: "";
    it[n].ref = pa__rep_ref_order(
      json_string_value(json_array_get(json_object_get(f, "guideline"), 0)));
    it[n++].first = sqlite3_column_int64(q, 6);
  }
  if (s != SQLITE_DONE) {
    rc = pa__rep_db_err(c);
    goto out;
  }
  if (n)
    qsort(it, n, sizeof *it, cmp_item);
  tally(counts, charts, it, n);
  for (size_t i = 0; i < n; i++)
    json_array_append(arr, it[i].f);
out:
  for (size_t i = 0; i < n; i++)
    json_decref(it[i].f);
  free(it);
  sqlite3_finalize(q);
  sqlite3_finalize(eq);
  sqlite3_finalize(hq);
  return rc;
}

/* ---- MT-01 ------------------------------------------------------------ */

/* The patients user touched in [from, to], first touch order, each id
 * without its CX suffix. */
static pa_rc patients(struct pa_mctx *c, sqlite3_stmt *pq, json_t *out)
{
  int s;
  while ((s = sqlite3_step(pq)) == SQLITE_ROW) {
    json_t *p = json_pack("{s:o, s:o, s:I}", "patient_id", patient_col(c, pq, 0), "first",
                          pa__rep_time(c, sqlite3_column_int64(pq, 1)), "count",
                          (json_int_t)sqlite3_column_int64(pq, 2));
    if (!p || json_array_append_new(out, p))
      return PA_NOMEM;
  }
  return s == SQLITE_DONE ? PA_OK : pa__rep_db_err(c);
}

pa_rc pa__rep_maintenance(struct pa_mctx *c)
{
  sqlite3_stmt *q = NULL, *pq = NULL;
  json_t *arr = json_array();
  pa_rc rc;

  json_object_set_new(c->m, "maintenance", arr);
  if ((rc = pa__rep_prepare(c, "SELECT id, subject, first_ts, last_ts FROM findings WHERE "
                               "rule_id = 'MT-01' AND subject IS NOT NULL AND last_ts >= ?1 AND"
                               " first_ts < ?2 ORDER BY first_ts, id", &q)) ||
      (rc = pa__rep_prepare(c, "SELECT pid, min(ts), count(*) FROM (SELECT CASE WHEN "
                               "instr(patient_id, '^') > 0 THEN substr(patient_id, 1, "
                               "instr(patient_id, '^') - 1) ELSE patient_id END AS pid, ts "
                               "FROM events WHERE user_id = ?1 AND ts >= ?2 AND ts <= ?3 AND "
                               "patient_id IS NOT NULL AND patient_id <> '') "
                               "GROUP BY pid ORDER BY 2, 1", &pq)))
    goto out;
  sqlite3_bind_int64(q, 1, c->lo);
  sqlite3_bind_int64(q, 2, c->hi);
  while (!rc && sqlite3_step(q) == SQLITE_ROW) {
    json_t *pts = json_array();
    json_array_append_new(arr, json_pack("{s:I, s:o, s:o, s:o, s:o}", "finding_id",
                                         (json_int_t)sqlite3_column_int64(q, 0), "user",
                                         pa__rep_col_str(q, 1), "from",
                                         pa__rep_time(c, sqlite3_column_int64(q, 2)), "to",
                                         pa__rep_time(c, sqlite3_column_int64(q, 3)),
                                         "patients", pts));
    sqlite3_reset(pq);
    sqlite3_bind_text(pq, 1, (const char *)sqlite3_column_text(q, 1), -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(pq, 2, sqlite3_column_int64(q, 2));
    sqlite3_bind_int64(pq, 3, sqlite3_column_int64(q, 3));
    rc = patients(c, pq, pts);
  }
out:
  sqlite3_finalize(q);
  sqlite3_finalize(pq);
  return rc;
}
