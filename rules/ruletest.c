/* ruletest.c — run a rule file's own test cases (see ruletest.h). */
#include "rules/ruletest.h"
#include "rules/engine.h"

#include "analyzer/datadir.h"
#include "analyzer/policy.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The columns a case may write: the store's own, read from the table, so a
 * case never puts a name into SQL that the table does not have. */
static int has_column(sqlite3 *db, const char *table, const char *col)
{
  sqlite3_stmt *q;
  int found = 0;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM pragma_table_info(?1) WHERE name = ?2", -1, &q,
                         NULL) != SQLITE_OK)
    return 0;
  sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 2, col, -1, SQLITE_STATIC);
  found = sqlite3_step(q) == SQLITE_ROW;
  sqlite3_finalize(q);
  return found;
}

static int is_time_col(const char *col)
{
  static const char *const t[] = {"ts", "received_ts", "started_at", "ended_at", "rsp_ts",
                                  "at", "period_from", "period_to", NULL};
  for (const char *const *p = t; *p; p++)
    if (!strcmp(*p, col))
      return 1;
  return 0;
}

/* Defaults for the NOT NULL columns a case need not spell out. */
static const char *defaults(const char *table)
{
  if (!strcmp(table, "events"))
    return "{\"source\": \"atna\"}";
  if (!strcmp(table, "associations"))
    return "{\"client_ip\": \"192.0.2.100\", \"client_port\": 40000, \"server_ip\": "
           "\"192.0.2.2\", \"server_port\": 104, \"result\": \"released\", \"tls\": 0}";
  if (!strcmp(table, "dimse"))
    return "{\"assoc_id\": 1}";
  if (!strcmp(table, "reviews"))
    return "{\"by\": \"reviewer\"}";
  return "{}";
}

/* Writes one row of table from the JSON object row. */
static int put_row(sqlite3 *db, const char *table, json_t *row, const char *tz, const char *where,
                   struct pa_diag *d)
{
  json_t *full = json_loads(defaults(table), 0, NULL);
  char sql[4096], vals[1024];
  size_t ns = 0, nv = 0, i = 0;
  sqlite3_stmt *q = NULL;
  const char *k;
  json_t *v;
  int rc = -1;

  if (!full || !json_is_object(row)) {
    pa_diag_error(d, "%s: a row is an object of column: value", where);
    goto out;
  }
  json_object_update(full, row);
  ns = (size_t)snprintf(sql, sizeof sql, "INSERT INTO %s (", table);
  json_object_foreach(full, k, v) {
    if (!has_column(db, table, k)) {
      pa_diag_error(d, "%s: %s has no column \"%s\"", where, table, k);
      goto out;
    }
    ns += (size_t)snprintf(sql + ns, ns < sizeof sql ? sizeof sql - ns : 0, "%s%s",
                           i ? ", " : "", k);
    nv += (size_t)snprintf(vals + nv, nv < sizeof vals ? sizeof vals - nv : 0, "%s?",
                           i ? ", " : "");
    i++;
  }
  ns += (size_t)snprintf(sql + ns, ns < sizeof sql ? sizeof sql - ns : 0, ") VALUES (%s)", vals);
  if (ns >= sizeof sql || nv >= sizeof vals) {
    pa_diag_error(d, "%s: too many columns", where);
    goto out;
  }
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK) {
    pa_diag_error(d, "%s: %s", where, sqlite3_errmsg(db));
    goto out;
  }
  i = 0;
  json_object_foreach(full, k, v) {
    int j = (int)++i;
    if (json_is_string(v) && is_time_col(k)) {
      int64_t us;
      const char *t = json_string_value(v);
      if (pa_time_parse_iso(t, strlen(t), tz, &us, NULL, NULL)) {
        pa_diag_error(d, "%s: %s: \"%s\" is not a time", where, k, t);
        goto out;
      }
      sqlite3_bind_int64(q, j, us);
    } else if (json_is_string(v))
      sqlite3_bind_text(q, j, json_string_value(v), -1, SQLITE_TRANSIENT);
    else if (json_is_integer(v))
      sqlite3_bind_int64(q, j, json_integer_value(v));
    else if (json_is_real(v))
      sqlite3_bind_double(q, j, json_real_value(v));
    else if (json_is_boolean(v))
      sqlite3_bind_int(q, j, json_is_true(v));
    else if (!json_is_null(v)) {
      pa_diag_error(d, "%s: %s: a string, number or null", where, k);
      goto out;
    }
  }
  if (sqlite3_step(q) != SQLITE_DONE) {
    pa_diag_error(d, "%s: %s", where, sqlite3_errmsg(db));
    goto out;
  }
  rc = 0;
out:
  sqlite3_finalize(q);
  json_decref(full);
  return rc;
}

/* The policy of a case: its own "policy", else the default document with
 * its "policy_patch" merged in (object keys replaced whole). */
static pa_policy *case_policy(json_t *tc, json_t *dflt, const char *base_dir, const char *where,
                              struct pa_diag *d)
{
  json_t *doc = json_object_get(tc, "policy");
  json_t *patch = json_object_get(tc, "policy_patch");
  struct pa_policy_msgs msgs;
  struct pa_err err;
  pa_policy *p = NULL;
  char *text;

  doc = doc ? json_deep_copy(doc) : json_deep_copy(dflt);
  if (!doc)
    return NULL;
  if (patch)
    json_object_update(doc, patch);
  text = json_dumps(doc, JSON_COMPACT);
  json_decref(doc);
  if (!text)
    return NULL;
  pa_policy_msgs_init(&msgs);
  pa_err_clear(&err);
  if (pa_policy_load_string_msgs(where, text, strlen(text), base_dir, &p, &msgs, &err)) {
    for (size_t i = 0; i < msgs.n_errors; i++)
      pa_diag_error(d, "%s: policy: %s", where, msgs.errors[i]);
    if (!msgs.n_errors)
      pa_diag_error(d, "%s: policy: %s", where, err.msg);
  }
  pa_policy_msgs_cleanup(&msgs);
  free(text);
  return p;
}

/* The findings of the rule, in a stable order, as "subject count status". */
static json_t *findings_of(sqlite3 *db, const char *rule_id)
{
  sqlite3_stmt *q;
  json_t *a = json_array();
  if (!a || sqlite3_prepare_v2(db, "SELECT subject, count, status FROM findings WHERE"
                               " rule_id = ? ORDER BY subject, first_ts", -1, &q,
                               NULL) != SQLITE_OK)
    return a;
  sqlite3_bind_text(q, 1, rule_id, -1, SQLITE_STATIC);
  while (sqlite3_step(q) == SQLITE_ROW)
    json_array_append_new(a, json_pack("{s:s?, s:I, s:s}", "subject",
                                       (const char *)sqlite3_column_text(q, 0), "count",
                                       (json_int_t)sqlite3_column_int64(q, 1), "status",
                                       (const char *)sqlite3_column_text(q, 2)));
  sqlite3_finalize(q);
  return a;
}

/* 1 when got matches expect: the same subjects in the same order and number,
 * with count and status where expect gives them. */
static int matches(json_t *expect, json_t *got)
{
  size_t i;
  json_t *e;
  if (json_array_size(expect) != json_array_size(got))
    return 0;
  json_array_foreach(expect, i, e) {
    json_t *g = json_array_get(got, i);
    json_t *cnt = json_object_get(e, "count"), *st = json_object_get(e, "status");
    if (!json_equal(json_object_get(e, "subject"), json_object_get(g, "subject")))
      return 0;
    if (cnt && !json_equal(cnt, json_object_get(g, "count")))
      return 0;
    if (st && !json_equal(st, json_object_get(g, "status")))
      return 0;
  }
  return 1;
}

static int64_t case_time(json_t *tc, const char *key, const char *tz, const char *where,
                         struct pa_diag *d)
{
  const char *t = json_string_value(json_object_get(tc, key));
  int64_t us = 0;
  if (t && pa_time_parse_iso(t, strlen(t), tz, &us, NULL, NULL)) {
    pa_diag_error(d, "%s: %s: \"%s\" is not a time", where, key, t);
    return 0;
  }
  return us;
}

/* The query plan steps of one run, one per line. */
struct plan_text {
  char buf[16384];
  size_t len;
};

static void plan_step(void *ctx, const struct pa_rule *r, const char *step)
{
  struct plan_text *t = ctx;
  (void)r;
  if (t->len < sizeof t->buf)
    t->len += (size_t)snprintf(t->buf + t->len, sizeof t->buf - t->len, "%s\n", step);
}

/* A rule's "plan": the indexes its statements must use, and no full scan
 * of a table read as x (the rule's rows) when it names any. 1 when the
 * plan holds, else 0 with why on out. */
static int plan_ok(const struct pa_rule *r, const struct plan_text *t, const char *where,
                   FILE *out)
{
  json_t *want = json_object_get(r->doc, "plan"), *v;
  size_t i;
  int ok = 1;
  json_array_foreach(want, i, v) {
    char needle[128];
    snprintf(needle, sizeof needle, "USING INDEX %s ", json_string_value(v) ?: "");
    if (!strstr(t->buf, needle) &&
        !(snprintf(needle, sizeof needle, "USING COVERING INDEX %s ",
                   json_string_value(v) ?: "") > 0 && strstr(t->buf, needle))) {
      fprintf(out, "FAIL %s: the plan does not use index %s:\n%s", where,
              json_string_value(v) ?: "?", t->buf);
      ok = 0;
    }
  }
  if (json_array_size(want) && (strstr(t->buf, "SCAN x\n") || strstr(t->buf, "SCAN x "))) {
    fprintf(out, "FAIL %s: the plan scans every row:\n%s", where, t->buf);
    ok = 0;
  }
  return ok;
}

/* Runs one case; 0 pass, 1 fail, -1 the case itself is broken. */
static int run_case(const pa_ruleset *one, const struct pa_rule *r, json_t *tc, json_t *dflt,
                    const char *base_dir, const char *where, FILE *out, struct pa_diag *d)
{
  static const char *const tables[] = {"associations", "dimse", "dimse_results", "events",
                                       "reviews"};
  static const char *const keys[] = {"name", "policy", "policy_patch", "events", "associations",
                                     "dimse", "dimse_results", "reviews", "since", "until",
                                     "expect", "decided", NULL};
  const char *tmp = getenv("TMPDIR");
  char path[4096] = "";
  struct pa_engine_opts eo = {0};
  struct plan_text plan = {"", 0};
  struct pa_rule_result *res = NULL;
  struct pa_err err;
  pa_policy *p = NULL;
  pa_store *s = NULL;
  json_t *got = NULL, *again = NULL, *expect = json_object_get(tc, "expect");
  sqlite3 *db;
  const char *k, *tz;
  json_t *v;
  int fd, result = -1;
  size_t errors = d->n_errors;

  json_object_foreach(tc, k, v) {
    const char *const *a;
    for (a = keys; *a && strcmp(*a, k); a++)
      ;
    if (!*a)
      pa_diag_error(d, "%s: unknown key \"%s\"", where, k);
  }
  if (!json_is_array(expect))
    pa_diag_error(d, "%s: expect: a list of {\"subject\", \"count\"?, \"status\"?}", where);
  if (d->n_errors > errors || !(p = case_policy(tc, dflt, base_dir, where, d)))
    goto out;
  tz = pa_policy_tz_name(p);
  snprintf(path, sizeof path, "%s/pacsaudit-ruletest-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if ((fd = mkstemp(path)) < 0) {
    pa_diag_error(d, "%s: cannot make a temporary file", where);
    goto out;
  }
  close(fd);
  unlink(path);
  pa_err_clear(&err);
  if (pa_store_open(path, &s, &err)) {
    pa_diag_error(d, "%s: %s", where, err.msg);
    goto out;
  }
  db = pa_store_handle(s);
  if (pa_engine_attach(s, p, &err)) {
    pa_diag_error(d, "%s: %s", where, err.msg);
    goto out;
  }
  for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++) {
    json_t *rows = json_object_get(tc, tables[t]);
    size_t i;
    char w[1024];
    if (rows && !json_is_array(rows)) {
      pa_diag_error(d, "%s: %s: a list of rows", where, tables[t]);
      goto out;
    }
    json_array_foreach(rows, i, v) {
      snprintf(w, sizeof w, "%s: %s[%zu]", where, tables[t], i);
      if (put_row(db, tables[t], v, tz, w, d))
        goto out;
    }
  }
  eo.since_us = case_time(tc, "since", tz, where, d);
  eo.until_us = case_time(tc, "until", tz, where, d);
  if (d->n_errors > errors)
    goto out;
  eo.plan = plan_step; /* the index plans, whatever share of the case's rows a read keeps */
  eo.plan_ctx = &plan;
  eo.index_only = 1;
  if (pa_engine_run(s, one, &eo, &res, d) || res[0].failed) {
    fprintf(out, "FAIL %s: the rule did not run: %s\n", where, res ? res[0].why_en : "");
    result = 1;
    goto out;
  }
  if (res[0].decided && !plan_ok(r, &plan, where, out)) { /* undecided: nothing ran */
    result = 1;
    goto out;
  }
  eo.plan = NULL;
  eo.index_only = 0; /* the second run may read by a scan, and must find the same */
  got = findings_of(db, r->id);
  free(res);
  res = NULL;
  /* a second run over the same data adds nothing */
  if (pa_engine_run(s, one, &eo, &res, d) != PA_OK) {
    fprintf(out, "FAIL %s: the second run failed\n", where);
    result = 1;
    goto out;
  }
  if (res[0].n_new) {
    fprintf(out, "FAIL %s: a second run added %llu findings\n", where,
            (unsigned long long)res[0].n_new);
    result = 1;
    goto out;
  }
  again = findings_of(db, r->id);
  if (json_is_boolean(json_object_get(tc, "decided")) &&
      json_is_true(json_object_get(tc, "decided")) != res[0].decided) {
    fprintf(out, "FAIL %s: expected the rule %sdecided, it was %s%s\n", where,
            res[0].decided ? "not " : "", res[0].decided ? "decided" : "not decided: ",
            res[0].decided ? "" : res[0].why_en);
    result = 1;
    goto out;
  }
  if (!matches(expect, got) || !json_equal(got, again)) {
    char *e = json_dumps(expect, JSON_COMPACT), *g = json_dumps(got, JSON_COMPACT);
    fprintf(out, "FAIL %s:%s\n  expected %s\n  got      %s\n", where,
            res[0].decided ? "" : " (not decided)", e ? e : "?", g ? g : "?");
    free(e);
    free(g);
    result = 1;
    goto out;
  }
  fprintf(out, "ok   %s\n", where);
  result = 0;
out:
  free(res);
  json_decref(got);
  json_decref(again);
  pa_store_close(s);
  if (path[0]) {
    char side[4200];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
  }
  pa_policy_free(p);
  return result;
}

pa_rc pa_ruletest_run(const pa_ruleset *rs, const char *policy_path, FILE *out,
                      struct pa_ruletest_counts *counts, struct pa_diag *d)
{
  char dflt_path[4096], base_dir[4096], *slash;
  json_error_t je;
  json_t *dflt;

  memset(counts, 0, sizeof *counts);
  if (!policy_path) {
    snprintf(dflt_path, sizeof dflt_path, "%s/tests/policy.json", pa_datadir(PA_DATA_RULES));
    policy_path = dflt_path;
  }
  if (!(dflt = json_load_file(policy_path, JSON_REJECT_DUPLICATES, &je))) {
    pa_diag_error(d, "%s: line %d: %s", policy_path, je.line, je.text);
    return PA_IO;
  }
  snprintf(base_dir, sizeof base_dir, "%s", policy_path);
  if ((slash = strrchr(base_dir, '/')))
    *slash = 0;
  else
    snprintf(base_dir, sizeof base_dir, ".");
  for (size_t i = 0; i < pa_ruleset_count(rs); i++) {
    const struct pa_rule *r = pa_ruleset_get(rs, i);
    json_t *tests = json_object_get(r->doc, "tests"), *tc;
    pa_ruleset *one;
    size_t j;

    counts->rules++;
    if (!json_array_size(tests)) {
      fprintf(out, "FAIL %s: %s has no test cases\n", r->file, r->id);
      counts->rules_bad++;
      continue;
    }
    /* the engine runs a set: a set of this one rule, borrowing its doc */
    if (!(one = pa_ruleset_new())) {
      json_decref(dflt);
      return PA_NOMEM;
    }
    {
      struct pa_diag quiet = {0};
      if (pa_ruleset_load(one, r->file, r->builtin, &quiet) != PA_OK ||
          pa_ruleset_count(one) != 1) {
        fprintf(out, "FAIL %s: does not load\n", r->file);
        counts->rules_bad++;
        pa_ruleset_free(one);
        continue;
      }
    }
    json_array_foreach(tests, j, tc) {
      char where[512];
      const char *name = json_string_value(json_object_get(tc, "name"));
      int rc;
      snprintf(where, sizeof where, "%s: tests[%zu] %s", r->id, j, name ? name : "");
      counts->cases++;
      rc = run_case(one, r, tc, dflt, base_dir, where, out, d);
      if (rc)
        counts->failed++;
      if (rc < 0)
        fprintf(out, "FAIL %s: the case is broken (see above)\n", where);
    }
    pa_ruleset_free(one);
  }
  json_decref(dflt);
  return PA_OK;
}
