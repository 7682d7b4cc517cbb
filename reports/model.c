/* model.c — the report model (report.h): its frame, the site, the period,
 * the check run, the rules and the review. The parts live in
 * model_events.c, model_findings.c, model_checklist.c and pseudo.c. */
#include "model_int.h"

#include "analyzer/datadir.h"
#include "analyzer/tm.h"
#include "analyzer/tz.h"
#include "rules/engine.h"

#include "pa_version.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

json_t *pa__rep_time(const struct pa_mctx *c, int64_t us)
{
  int32_t off = pa_tz_offset_s(c->tz, us);
  int64_t secs = (us >= 0 ? us / 1000000 : (us - 999999) / 1000000) + off;
  time_t t = (time_t)secs;
  struct tm tm;
  char date[32], buf[48];
  int a = off < 0 ? -off : off;

  /* the site's zone table (analyzer/tz), not TZ: the same answer, and no
   * zone switch for each of thousands of times */
  if (!gmtime_r(&t, &tm) || !strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm))
    return json_null();
  snprintf(buf, sizeof buf, "%s%c%02d:%02d", date, off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
  return json_string(buf);
}

/* Length of the valid UTF-8 sequence at p[0..n), 0 when invalid. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
  size_t len = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
             : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
  if (!len || len > n || (len == 2 && p[0] < 0xc2) || (len == 4 && p[0] > 0xf4))
    return 0;
  for (size_t i = 1; i < len; i++)
    if ((p[i] & 0xc0) != 0x80)
      return 0;
  if ((len == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (len == 3 && p[0] == 0xed && p[1] > 0x9f) ||
      (len == 4 && p[0] == 0xf0 && p[1] < 0x90) || (len == 4 && p[0] == 0xf4 && p[1] > 0x8f))
    return 0;
  return len;
}

json_t *pa__rep_col_str(sqlite3_stmt *q, int col)
{
  const unsigned char *t = sqlite3_column_text(q, col);
  size_t n = (size_t)sqlite3_column_bytes(q, col), o = 0;
  json_t *v;
  char *b;

  if (!t)
    return json_null();
  if ((v = json_stringn((const char *)t, n)))
    return v;
  /* not UTF-8 (a log's bytes): each invalid byte becomes U+FFFD */
  if (n > SIZE_MAX / 3 - 1 || !(b = malloc(3 * n + 1)))
    return NULL;
  for (size_t i = 0; i < n;) {
    size_t l = utf8_len(t + i, n - i);
    if (l) {
      memcpy(b + o, t + i, l);
      o += l;
      i += l;
    } else {
      memcpy(b + o, "\xef\xbf\xbd", 3);
      o += 3;
      i++;
    }
  }
  v = json_stringn(b, o);
  free(b);
  return v;
}

pa_rc pa__rep_db_err(struct pa_mctx *c)
{
  return pa_err_set(c->err, PA_DB, UINT64_MAX, 0, "report: %s", sqlite3_errmsg(c->db));
}

pa_rc pa__rep_prepare(struct pa_mctx *c, const char *sql, sqlite3_stmt **q)
{
  if (sqlite3_prepare_v2(c->db, sql, -1, q, NULL) == SQLITE_OK)
    return PA_OK;
  *q = NULL;
  return pa__rep_db_err(c);
}

pa_rc pa_report_format_parse(const char *name, enum pa_report_format *out)
{
  static const struct {
    const char *name;
    enum pa_report_format f;
  } fmts[] = {{"text", PA_REPORT_TEXT}, {"json", PA_REPORT_JSON}, {"csv", PA_REPORT_CSV},
               {"html", PA_REPORT_HTML}};
  for (size_t i = 0; name && i < sizeof fmts / sizeof fmts[0]; i++)
    if (!strcmp(name, fmts[i].name)) {
      *out = fmts[i].f;
      return PA_OK;
    }
  return PA_MALFORMED;
}

/* ---- the check run and the policy ------------------------------------ */

/* The latest check run that recorded rule decisions: id, time, policy
 * path (runs.args). *id_out 0 when there is none. *policy_out is malloc'd
 * (the caller frees) or NULL. */
static pa_rc latest_run(sqlite3 *db, int64_t *id_out, int64_t *at_out, char **policy_out)
{
  sqlite3_stmt *q;
  int rc;
  *id_out = *at_out = 0;
  *policy_out = NULL;
  if (sqlite3_prepare_v2(db,
                         "SELECT r.id, r.started_at, r.args FROM runs r WHERE r.command = "
                         "'check' AND EXISTS (SELECT 1 FROM rule_runs WHERE run_id = r.id) "
                         "ORDER BY r.id DESC LIMIT 1",
                         -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *p = (const char *)sqlite3_column_text(q, 2);
    *id_out = sqlite3_column_int64(q, 0);
    *at_out = sqlite3_column_int64(q, 1);
    if (p && *p && !(*policy_out = strdup(p))) {
      sqlite3_finalize(q);
      return PA_NOMEM;
    }
  }
  sqlite3_finalize(q);
  return rc == SQLITE_ROW || rc == SQLITE_DONE ? PA_OK : PA_DB;
}

/* Loads the policy at path (given: errors are the caller's; recorded by a
 * run: a policy that has gone since is left out). */
static pa_rc load_policy(const char *path, int given, pa_policy **out, struct pa_err *err)
{
  struct pa_err e2;
  pa_rc rc;
  *out = NULL;
  pa_err_clear(&e2);
  rc = pa_policy_load(path, out, &e2);
  if (rc == PA_OK)
    return PA_OK;
  pa_policy_free(*out);
  *out = NULL;
  if (rc == PA_NOMEM)
    return rc;
  if (!given)
    return PA_OK;
  return pa_err_set(err, rc == PA_IO ? PA_IO : PA_MALFORMED, UINT64_MAX, 0,
                    "%s: the policy cannot be used: %s", path, e2.msg);
}

pa_rc pa_report_site_tz(pa_store *s, const char *policy_path, char *tz, size_t size,
                        struct pa_err *err)
{
  int64_t id, at;
  char *rec = NULL;
  pa_policy *pol = NULL;
  pa_rc rc;

  snprintf(tz, size, "%s", PA_DEFAULT_TZ);
  if (!policy_path && (rc = latest_run(pa_store_handle(s), &id, &at, &rec)) != PA_OK)
    return pa_err_set(err, rc, UINT64_MAX, 0, "report: %s",
                      sqlite3_errmsg(pa_store_handle(s)));
  rc = policy_path || rec ? load_policy(policy_path ? policy_path : rec, policy_path != NULL,
                                        &pol, err)
                          : PA_OK;
  if (rc == PA_OK && pol)
    snprintf(tz, size, "%s", pa_policy_tz_name(pol));
  pa_policy_free(pol);
  free(rec);
  return rc;
}

/* ---- the frame -------------------------------------------------------- */

static const char *const dow_short[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* The working hours from the policy's pol_hours, days in runs that share
 * the same hours ("mon-fri"); the chart's hour marks beside them. */
static pa_rc working_hours(struct pa_mctx *c, json_t **wh_out, json_t *chart)
{
  int start[7], end[7];
  sqlite3_stmt *q;
  json_t *wh = json_array();
  pa_rc rc = PA_OK;

  *wh_out = wh;
  for (int d = 0; d < 7; d++)
    start[d] = end[d] = -1;
  if ((rc = pa__rep_prepare(c, "SELECT dow, start_min, end_min FROM temp.pol_hours", &q)))
    return rc;
  while (sqlite3_step(q) == SQLITE_ROW) {
    int d = sqlite3_column_int(q, 0);
    if (d >= 0 && d < 7) {
      start[d] = sqlite3_column_int(q, 1);
      end[d] = sqlite3_column_int(q, 2);
    }
  }
  sqlite3_finalize(q);
  for (int i = 0; i < 7;) { /* Monday first */
    int d = (i + 1) % 7, j = i + 1;
    char days[16], from[32], to[32];
    if (start[d] < 0) {
      i++;
      continue;
    }
    while (j < 7 && start[(j + 1) % 7] == start[d] && end[(j + 1) % 7] == end[d])
      j++;
    if (j - 1 > i)
      snprintf(days, sizeof days, "%s-%s", dow_short[d], dow_short[j % 7]);
    else
      snprintf(days, sizeof days, "%s", dow_short[d]);
    snprintf(from, sizeof from, "%02d:%02d", start[d] / 60, start[d] % 60);
    snprintf(to, sizeof to, "%02d:%02d", end[d] / 60, end[d] % 60);
    json_array_append_new(wh, json_pack("{s:s, s:s, s:s}", "days", days, "from", from,
                                        "to", to));
    json_t *mark = json_pack("{s:i, s:i}", "from_hour", start[d] / 60, "to_hour",
                             (end[d] + 59) / 60);
    size_t k;
    json_t *v;
    int dup = 0;
    json_array_foreach(chart, k, v) dup |= json_equal(v, mark);
    if (!dup)
      json_array_append(chart, mark);
    json_decref(mark);
    i = j;
  }
  return PA_OK;
}

static pa_rc site(struct pa_mctx *c, json_t *charts)
{
  json_t *s = json_object(), *wh = json_null(), *chart = json_array();
  pa_rc rc = PA_OK;
  const char *name = c->pol ? pa_policy_site_name(c->pol) : NULL;

  json_object_set_new(s, "name", name ? json_string(name) : json_null());
  json_object_set_new(s, "timezone", json_string(c->tz_name));
  if (c->pol) {
    json_decref(wh);
    rc = working_hours(c, &wh, chart);
    if (!json_array_size(wh)) { /* the policy sets none */
      json_decref(wh);
      wh = json_null();
    }
  }
  json_object_set_new(s, "working_hours", wh);
  json_object_set_new(c->m, "site", s);
  json_object_set_new(charts, "working_hours", chart);
  return rc;
}

static void period(struct pa_mctx *c)
{
  json_object_set_new(c->m, "period",
                      json_pack("{s:o, s:o}", "since",
                                c->since ? pa__rep_time(c, c->since) : json_null(), "until",
                                c->until ? pa__rep_time(c, c->until) : json_null()));
}

static void run(struct pa_mctx *c, int64_t at, const char *policy)
{
  if (!c->run_id) {
    json_object_set_new(c->m, "run", json_null());
    return;
  }
  json_object_set_new(c->m, "run",
                      json_pack("{s:I, s:o, s:o}", "id", (json_int_t)c->run_id, "at",
                                pa__rep_time(c, at), "policy",
                                policy ? json_string(policy) : json_null()));
}

/* ---- rules ------------------------------------------------------------ */

static const char *lang_text(const struct pa_mctx *c, const char *ja, const char *en)
{
  return c->ja && ja ? ja : en ? en : ja;
}

/* A why of rule_runs (English) in the report's language, where known. */
static const char *why_text(const struct pa_mctx *c, const struct pa_rule *r, const char *en)
{
  static const char *const own[][2] = {
    {"no check run recorded", "check の実行記録がない"},
    {"the latest check run did not run this rule", "最新の check でこのルールは実行されていない"},
  };
  const char *ja;
  if (!c->ja)
    return en;
  for (size_t k = 0; k < sizeof own / sizeof own[0]; k++)
    if (!strcmp(own[k][0], en))
      return own[k][1];
  return (ja = pa_engine_why_ja(r, en)) ? ja : en;
}

/* One rule's entry: from the pack (r, may be NULL for a site rule the run
 * recorded) and the run's row of rule_runs (q positioned on it, or NULL). */
static json_t *rule_entry(struct pa_mctx *c, const char *id, const struct pa_rule *r,
                          sqlite3_stmt *q)
{
  int decided = q ? sqlite3_column_int(q, 1) : 0;
  const char *why = q ? (const char *)sqlite3_column_text(q, 2) : NULL;
  int disabled = (c->pol && pa_policy_disabled(c->pol, id)) ||
                 (why && !strcmp(why, "disabled by the site"));
  json_t *g = r ? json_loads(r->guideline, 0, NULL) : NULL;

  if (!q)
    why = c->run_id ? "the latest check run did not run this rule" : "no check run recorded";
  return json_pack("{s:s, s:s?, s:s?, s:s?, s:o, s:b, s:o, s:b, s:i}", "id", id, "title",
                   r ? lang_text(c, r->title_ja, r->title_en) : NULL, "strength",
                   r ? r->strength : NULL, "severity", r ? r->severity : NULL, "guideline",
                   g ? g : json_array(), "decided", decided, "why",
                   decided || !why ? json_null() : json_string(why_text(c, r, why)), "disabled",
                   disabled,
                   "findings", 0);
}

static pa_rc rules(struct pa_mctx *c)
{
  json_t *arr = json_array();
  sqlite3_stmt *one = NULL, *all = NULL;
  pa_rc rc;

  json_object_set_new(c->m, "rules", arr);
  if ((rc = pa__rep_prepare(c, "SELECT rule_id, decided, why FROM rule_runs WHERE run_id = ?1"
                               " AND rule_id = ?2", &one)) ||
      (rc = pa__rep_prepare(c, "SELECT rule_id, decided, why FROM rule_runs WHERE run_id = ?1"
                               " ORDER BY rule_id", &all)))
    goto out;
  for (size_t i = 0; i < pa_ruleset_count(c->rs); i++) {
    const struct pa_rule *r = pa_ruleset_get(c->rs, i);
    sqlite3_reset(one);
    sqlite3_bind_int64(one, 1, c->run_id);
    sqlite3_bind_text(one, 2, r->id, -1, SQLITE_STATIC);
    int row = sqlite3_step(one) == SQLITE_ROW;
    json_array_append_new(arr, rule_entry(c, r->id, r, row ? one : NULL));
  }
  sqlite3_bind_int64(all, 1, c->run_id);
  while (sqlite3_step(all) == SQLITE_ROW) { /* a site rule the run had */
    const char *id = (const char *)sqlite3_column_text(all, 0);
    if (id && !pa_ruleset_find(c->rs, id))
      json_array_append_new(arr, rule_entry(c, id, NULL, all));
  }
out:
  sqlite3_finalize(one);
  sqlite3_finalize(all);
  return rc;
}

/* rules[].findings: how many findings of each rule the report holds. */
static void rule_counts(struct pa_mctx *c)
{
  json_t *rules = json_object_get(c->m, "rules"), *f, *r;
  size_t i, k;
  json_array_foreach(json_object_get(c->m, "findings"), i, f) {
    const char *id = json_string_value(json_object_get(f, "rule_id"));
    json_array_foreach(rules, k, r) {
      if (id && !strcmp(id, json_string_value(json_object_get(r, "id")) ?: "")) {
        json_int_t n = json_integer_value(json_object_get(r, "findings"));
        json_object_set_new(r, "findings", json_integer(n + 1));
        break;
      }
    }
  }
}

/* ---- review ----------------------------------------------------------- */

/* A time column: µs as ISO in the site's zone, or null. */
static json_t *time_col(const struct pa_mctx *c, sqlite3_stmt *q, int col)
{
  if (sqlite3_column_type(q, col) == SQLITE_NULL)
    return json_null();
  return pa__rep_time(c, sqlite3_column_int64(q, col));
}

/* The latest sign-off recorded by `pacsaudit review` whose period meets
 * the report's (one without a period meets every period). */
static pa_rc review(struct pa_mctx *c)
{
  sqlite3_stmt *q;
  pa_rc rc;

  json_object_set_new(c->m, "review", json_null());
  if ((rc = pa__rep_prepare(c, "SELECT by, at, note, period_from, period_to FROM reviews"
                               " WHERE coalesce(period_to, ?1 + 1) > ?1"
                               " AND coalesce(period_from, ?2 - 1) < ?2"
                               " ORDER BY at DESC, id DESC LIMIT 1", &q)))
    return rc;
  sqlite3_bind_int64(q, 1, c->lo);
  sqlite3_bind_int64(q, 2, c->hi);
  if (sqlite3_step(q) == SQLITE_ROW)
    json_object_set_new(c->m, "review",
                        json_pack("{s:o, s:o, s:o, s:o, s:o}", "by", pa__rep_col_str(q, 0), "at",
                                  time_col(c, q, 1), "note",
                                  c->key_len ? json_null() : pa__rep_col_str(q, 2), "from",
                                  time_col(c, q, 3), "to", time_col(c, q, 4)));
  sqlite3_finalize(q);
  return PA_OK;
}

/* ---- the build -------------------------------------------------------- */

/* The model's keys in their documented order, each filled in later. */
static json_t *frame(const struct pa_mctx *c, json_t **counts, json_t **charts)
{
  static const char *const keys[] = {"site", "period", "run", "sources", "counts", "charts",
                                     "rules", "findings", "maintenance", "checklist",
                                     "not_decidable", "review", NULL};
  static const char *const chart_keys[] = {"findings_by_rule", "findings_by_severity",
                                           "events_per_day", "by_hour", "working_hours",
                                           "top_users", "top_aes", NULL};
  json_t *m = json_pack("{s:s, s:i, s:s, s:o, s:s, s:b}", "format", "pacsaudit-report",
                        "version", 1, "generator", "pacsaudit " PA_VERSION, "generated_at",
                        pa__rep_time(c, pa_time_now()), "lang", c->ja ? "ja" : "en",
                        "pseudonymized", c->key_len > 0);
  if (!m)
    return NULL;
  for (size_t i = 0; keys[i]; i++)
    json_object_set_new(m, keys[i], json_null());
  *counts = json_object();
  *charts = json_object();
  for (size_t i = 0; chart_keys[i]; i++)
    json_object_set_new(*charts, chart_keys[i], json_array());
  json_object_set(m, "counts", *counts);
  json_object_set(m, "charts", *charts);
  return m;
}

static void emit_nothing(void *ctx, const char *line)
{
  (void)ctx;
  (void)line;
}

/* The policy (given or recorded), its zone and its tables; the pack. */
static pa_rc setup(struct pa_mctx *c, pa_store *s, const struct pa_report_opts *o,
                   int64_t *run_at, char **rec_policy)
{
  struct pa_diag d = {emit_nothing, NULL, 0, 0};
  pa_rc rc;

  if ((rc = latest_run(c->db, &c->run_id, run_at, rec_policy)) != PA_OK)
    return rc == PA_NOMEM ? rc : pa__rep_db_err(c);
  if (o->policy_path || *rec_policy)
    if ((rc = load_policy(o->policy_path ? o->policy_path : *rec_policy,
                          o->policy_path != NULL, &c->pol, c->err)))
      return rc;
  if (c->pol && (rc = pa_policy_install(c->pol, c->db, c->err)) != PA_OK)
    return rc;
  c->tz_name = c->pol ? pa_policy_tz_name(c->pol) : PA_DEFAULT_TZ;
  c->tz = c->pol ? pa_policy_tz(c->pol) : NULL;
  if (!c->tz) {
    if ((rc = pa_tz_load(c->tz_name, &c->own_tz, c->err)))
      return rc;
    c->tz = c->own_tz;
  }
  if (!(c->rs = pa_ruleset_new()))
    return PA_NOMEM;
  if (pa_ruleset_load(c->rs, pa_datadir(PA_DATA_RULES), 1, &d) == PA_NOMEM)
    return PA_NOMEM;
  (void)s;
  return PA_OK;
}

static pa_rc parts(struct pa_mctx *c, json_t *counts, json_t *charts, int64_t run_at,
                   const char *rec_policy, const char *given_policy)
{
  pa_rc rc;
  period(c);
  run(c, run_at, given_policy ? given_policy : rec_policy);
  if ((rc = site(c, charts)) || (rc = pa__rep_sources(c, charts)) ||
      (rc = pa__rep_top(c, charts)) || (rc = rules(c)) ||
      (rc = pa__rep_findings(c, counts, charts)) || (rc = pa__rep_maintenance(c)))
    return rc;
  rule_counts(c);
  if ((rc = pa__rep_checklist(c)) || (rc = review(c)))
    return rc;
  return PA_OK;
}

pa_rc pa_report_model_build(pa_store *s, const struct pa_report_opts *o, json_t **out,
                            struct pa_err *err)
{
  struct pa_mctx c = {0};
  json_t *counts = NULL, *charts = NULL;
  char *rec_policy = NULL;
  int64_t run_at = 0;
  int reading = 0;
  pa_rc rc;

  *out = NULL;
  c.db = pa_store_handle(s);
  c.err = err;
  c.ja = !o->lang || strcmp(o->lang, "en");
  c.since = o->since_us;
  c.until = o->until_us;
  c.lo = c.since ? c.since : INT64_MIN;
  c.hi = c.until ? c.until : INT64_MAX;
  if (o->pseudonymize_key && (rc = pa__rep_key_load(&c, o->pseudonymize_key)))
    goto out;
  if ((rc = pa_store_read_begin(s)) != PA_OK) {
    rc = pa__rep_db_err(&c);
    goto out;
  }
  reading = 1;
  if ((rc = setup(&c, s, o, &run_at, &rec_policy)))
    goto out;
  rc = PA_NOMEM;
  if (!(c.m = frame(&c, &counts, &charts)))
    goto out;
  rc = parts(&c, counts, charts, run_at, rec_policy, o->policy_path);
out:
  if (reading)
    pa_store_read_end(s);
  json_decref(counts);
  json_decref(charts);
  if (rc == PA_OK)
    *out = c.m;
  else
    json_decref(c.m);
  free(rec_policy);
  pa_ruleset_free(c.rs);
  pa_policy_free(c.pol);
  pa_tz_free(c.own_tz);
  return rc;
}
