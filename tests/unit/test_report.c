/* test_report.c — the report model and its renderings: the checklist's
 * answers, counts, MT-01's patients, hostile values through every format,
 * and pseudonymization. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/datadir.h"
#include "analyzer/store.h"
#include "reports/report.h"
#include "rules/rule.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 INT64_C(1795046400000000) /* 2026-11-19T00:00:00Z, 09:00 in Tokyo */
#define MIN INT64_C(60000000)

static const char *const pids[] = {"0020481739", "0031000128", "P\x1b[31mX"};

struct fx {
  char dir[64], path[128], key[128], shortkey[128];
  pa_store *s;
  int64_t ev[8];
};

static int64_t event(struct fx *f, int64_t ts, const char *user, const char *ae,
                     const char *patient)
{
  struct pa_event e = {0};
  int64_t id = 0;
  e.ts = ts;
  e.source = "atna";
  e.origin = "viewer01.log";
  e.event_code = "DCM:110103";
  e.action = 'R';
  e.outcome = 0;
  e.user_id = user;
  e.src_ae = ae;
  e.patient_id = patient;
  e.object_count = -1;
  e.secure = -1;
  assert_int_equal(pa_store_put_event(f->s, &e, &id), PA_OK);
  return id;
}

static void finding(struct fx *f, int64_t run, const char *rule, const char *subject,
                    int64_t first, int64_t last, const char *evidence, const char *excepted)
{
  struct pa_finding fi = {0};
  int known;
  fi.rule_id = rule;
  fi.severity = "high";
  fi.strength = !strcmp(rule, "NW-04") ? "advisory" : "direct";
  fi.guideline_ref = !strcmp(rule, "AC-01")   ? "[\"シス14①\", \"企13③\"]"
                     : !strcmp(rule, "AC-04") ? "[\"シス14②\"]"
                     : !strcmp(rule, "NW-04") ? "[\"シス13\"]"
                     : !strcmp(rule, "PR-03") ? "[\"シス17①\"]"
                                              : "[\"シス10④\"]";
  fi.subject = subject;
  fi.first_ts = first;
  fi.last_ts = last;
  fi.count = 2;
  fi.evidence = evidence;
  fi.gap_us = MIN;
  fi.excepted = excepted;
  assert_int_equal(pa_store_finding_put(f->s, &fi, run, &known), PA_OK);
}

/* A check run where every pack rule was decided but AU-05. */
static int64_t check_run(struct fx *f)
{
  pa_ruleset *rs = pa_ruleset_new();
  struct pa_run_counts rc = {0};
  struct pa_diag d = {0};
  int64_t run;
  assert_int_equal(pa_ruleset_load(rs, pa_datadir(PA_DATA_RULES), 1, &d), PA_OK);
  assert_int_equal(pa_store_run_begin(f->s, "check", NULL, &run), PA_OK);
  for (size_t i = 0; i < pa_ruleset_count(rs); i++) {
    struct pa_rule_run rr = {0};
    rr.rule_id = pa_ruleset_get(rs, i)->id;
    rr.decided = strcmp(rr.rule_id, "AU-05") != 0;
    rr.why = rr.decided ? NULL : "no source sends its own clock";
    assert_int_equal(pa_store_rule_run_put(f->s, run, &rr), PA_OK);
  }
  assert_int_equal(pa_store_run_end(f->s, run, "ok", &rc, NULL), PA_OK);
  pa_ruleset_free(rs);
  return run;
}

static void write_file(const char *path, const char *bytes, size_t n)
{
  FILE *k = fopen(path, "wb");
  assert_non_null(k);
  assert_int_equal(fwrite(bytes, 1, n, k), n);
  fclose(k);
}

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof *f);
  struct pa_err err;
  char ev[128];
  int64_t run;

  snprintf(f->dir, sizeof f->dir, "/tmp/pa_report_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
  snprintf(f->key, sizeof f->key, "%s/key", f->dir);
  snprintf(f->shortkey, sizeof f->shortkey, "%s/short", f->dir);
  write_file(f->key, "0123456789abcdef0123456789abcdef", 32);
  write_file(f->shortkey, "short", 5);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &f->s, &err), PA_OK);
  f->ev[0] = event(f, T0 + 60 * MIN, "t.nakamura", "<script>alert(1)</script>", pids[0]);
  f->ev[1] = event(f, T0 + 61 * MIN, "t.nakamura", "WS1", "0020481739^^^HOSPA");
  f->ev[2] = event(f, T0 + 120 * MIN, "vendor-fse", "WS1", pids[1]);
  f->ev[3] = event(f, T0 + 125 * MIN, "vendor-fse", "WS1", "0020481739^^^HOSPA");
  f->ev[4] = event(f, T0 + 130 * MIN, "vendor-fse", "WS1", pids[1]);
  f->ev[5] = event(f, T0 + 140 * MIN, "=cmd|' /C calc'!A0", "WS1", pids[2]);
  run = check_run(f);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  snprintf(ev, sizeof ev, "[%lld, %lld]", (long long)f->ev[0], (long long)f->ev[1]);
  finding(f, run, "AC-01", "t.nakamura", T0 + 60 * MIN, T0 + 61 * MIN, ev, NULL);
  snprintf(ev, sizeof ev, "[%lld, %lld, %lld]", (long long)f->ev[2], (long long)f->ev[3],
           (long long)f->ev[4]);
  finding(f, run, "MT-01", "vendor-fse", T0 + 120 * MIN, T0 + 130 * MIN, ev, NULL);
  snprintf(ev, sizeof ev, "[%lld]", (long long)f->ev[5]);
  finding(f, run, "AC-04", "=cmd|' /C calc'!A0", T0 + 140 * MIN, T0 + 140 * MIN, ev,
          "a \"reason\" naming 0020481739");
  finding(f, run, "NW-04", "WS1", T0 + 140 * MIN, T0 + 140 * MIN, ev, NULL);
  finding(f, run, "PR-03", "0020481739", T0 + 60 * MIN, T0 + 61 * MIN, "[]", NULL);
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  char cmd[128];
  pa_store_close(f->s);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static json_t *build(struct fx *f, const char *lang, const char *key)
{
  struct pa_report_opts o = {lang, 0, 0, NULL, key};
  struct pa_err err;
  json_t *m = NULL;
  pa_err_clear(&err);
  assert_int_equal(pa_report_model_build(f->s, &o, &m, &err), PA_OK);
  return m;
}

static const json_t *row(const json_t *m, const char *ref)
{
  size_t i;
  json_t *r;
  json_array_foreach(json_object_get(m, "checklist"), i, r)
    if (!strcmp(json_string_value(json_object_get(r, "ref")), ref))
      return r;
  fail_msg("no checklist row %s", ref);
  return NULL;
}

static const char *answer(const json_t *m, const char *ref)
{
  return json_string_value(json_object_get(row(m, ref), "answer"));
}

/* Renders m in f into a malloc'd NUL-terminated buffer. */
static char *render(const json_t *m, enum pa_report_format fmt)
{
  char *buf = NULL;
  size_t len = 0;
  struct pa_err err;
  FILE *out = open_memstream(&buf, &len);
  assert_non_null(out);
  assert_int_equal(pa_report_render(m, fmt, out, &err), PA_OK);
  fclose(out);
  return buf;
}

/* はい, いいえ and 判定不能 as guideline-6.0.md defines them. */
static void test_checklist(void **state)
{
  struct fx *f = *state;
  json_t *m = build(f, "ja", NULL);
  const json_t *r;

  assert_int_equal(json_array_size(json_object_get(m, "checklist")), 13);
  /* AC-01 open, direct: いいえ, linked to its finding */
  assert_string_equal(answer(m, "シス14①"), "いいえ");
  r = row(m, "シス14①");
  assert_int_equal(json_array_size(json_object_get(r, "findings")), 1);
  /* AC-04's only finding is excepted: every rule decided, no violation */
  assert_string_equal(answer(m, "シス14②"), "はい");
  assert_string_equal(answer(m, "シス14⑥"), "はい");
  /* NW-04 is advisory: its open finding is no violation */
  assert_string_equal(answer(m, "シス13 (13.3)"), "はい");
  /* AU-05 undecided: 判定不能 naming why */
  assert_string_equal(answer(m, "シス17③"), "判定不能");
  r = row(m, "シス17③");
  assert_non_null(strstr(json_string_value(json_array_get(json_object_get(r, "missing"), 0)),
                         "AU-05: no source sends its own clock"));
  assert_string_equal(answer(m, "シス10④"), "いいえ");
  assert_int_equal(json_array_size(json_object_get(m, "not_decidable")), 4);
  assert_true(json_is_null(json_object_get(m, "review")));
  json_decref(m);
}

static void test_counts_and_maintenance(void **state)
{
  struct fx *f = *state;
  json_t *m = build(f, "en", NULL), *c = json_object_get(m, "counts"), *mt, *p;
  json_t *fs = json_object_get(c, "findings");

  assert_int_equal(json_integer_value(json_object_get(c, "events")), 6);
  assert_int_equal(json_integer_value(json_object_get(fs, "total")), 5);
  assert_int_equal(json_integer_value(json_object_get(fs, "open")), 4);
  assert_int_equal(json_integer_value(json_object_get(fs, "excepted")), 1);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(c, "by_strength"),
                                                      "advisory")), 1);
  assert_int_equal(json_array_size(json_object_get(m, "sources")), 1);
  /* the first finding sorts by guideline item: シス14① before シス10④ */
  assert_string_equal(json_string_value(json_object_get(
                        json_array_get(json_object_get(m, "findings"), 0), "rule_id")), "AC-01");
  /* MT-01: patients in first-touch order, CX suffix folded */
  mt = json_array_get(json_object_get(m, "maintenance"), 0);
  assert_non_null(mt);
  assert_string_equal(json_string_value(json_object_get(mt, "user")), "vendor-fse");
  assert_int_equal(json_array_size(json_object_get(mt, "patients")), 2);
  p = json_array_get(json_object_get(mt, "patients"), 0);
  assert_string_equal(json_string_value(json_object_get(p, "patient_id")), "0031000128");
  assert_int_equal(json_integer_value(json_object_get(p, "count")), 2);
  p = json_array_get(json_object_get(mt, "patients"), 1);
  assert_string_equal(json_string_value(json_object_get(p, "patient_id")), "0020481739");
  assert_string_equal(json_string_value(json_object_get(m, "lang")), "en");
  json_decref(m);
}

/* A period leaves out what falls outside it. */
static void test_period(void **state)
{
  struct fx *f = *state;
  struct pa_report_opts o = {"ja", T0 + 100 * MIN, T0 + 135 * MIN, NULL, NULL};
  struct pa_err err;
  json_t *m = NULL;
  pa_err_clear(&err);
  assert_int_equal(pa_report_model_build(f->s, &o, &m, &err), PA_OK);
  assert_int_equal(json_integer_value(json_object_get(json_object_get(m, "counts"), "events")), 3);
  assert_int_equal(json_array_size(json_object_get(m, "findings")), 1);
  assert_string_equal(answer(m, "シス14①"), "はい");
  json_decref(m);
}

/* Hostile values: no control byte reaches a terminal, no cell is a formula,
 * the JSON stays JSON. */
static void test_hostile(void **state)
{
  struct fx *f = *state;
  json_t *m = build(f, "ja", NULL), *back;
  char *text = render(m, PA_REPORT_TEXT), *csv = render(m, PA_REPORT_CSV);
  char *js = render(m, PA_REPORT_JSON);

  assert_null(strchr(text, '\x1b'));
  assert_non_null(strstr(text, "P\\x1b[31mX"));
  assert_non_null(strstr(text, "<script>alert(1)</script>")); /* text: shown as it is */
  assert_null(strstr(csv, ",=cmd"));
  assert_non_null(strstr(csv, ",'=cmd|' /C calc'!A0,"));
  assert_non_null(strstr(csv, "\"a \"\"reason\"\" naming 0020481739\""));
  assert_null(strchr(js, '\x1b'));
  assert_non_null(back = json_loads(js, 0, NULL));
  assert_true(json_equal(back, m));
  json_decref(back);
  free(text);
  free(csv);
  free(js);
  json_decref(m);
}

/* No patient id of the data in any rendering; one id, one token. */
static void test_pseudonymize(void **state)
{
  struct fx *f = *state;
  json_t *m = build(f, "ja", f->key), *p;
  char *out[3] = {render(m, PA_REPORT_TEXT), render(m, PA_REPORT_CSV),
                  render(m, PA_REPORT_JSON)};
  const char *tok;

  assert_true(json_is_true(json_object_get(m, "pseudonymized")));
  for (int k = 0; k < 3; k++) {
    for (size_t i = 0; i < 2; i++)
      assert_null(strstr(out[k], pids[i]));
    assert_null(strstr(out[k], "[31mX"));
    free(out[k]);
  }
  p = json_object_get(json_array_get(json_object_get(m, "findings"), 0), "evidence");
  tok = json_string_value(json_object_get(json_array_get(p, 0), "patient_id"));
  assert_non_null(tok);
  assert_int_equal(strlen(tok), 18);
  assert_memory_equal(tok, "P-", 2);
  /* "0020481739" and "0020481739^^^HOSPA" */
  assert_string_equal(tok, json_string_value(json_object_get(json_array_get(p, 1), "patient_id")));
  json_decref(m);
}

static void test_short_key(void **state)
{
  struct fx *f = *state;
  struct pa_report_opts o = {"ja", 0, 0, NULL, f->shortkey};
  struct pa_err err;
  json_t *m = NULL;
  pa_err_clear(&err);
  assert_int_equal(pa_report_model_build(f->s, &o, &m, &err), PA_MALFORMED);
  assert_null(m);
  assert_non_null(strstr(err.msg, f->shortkey));
  o.pseudonymize_key = "/nonexistent/key";
  assert_int_equal(pa_report_model_build(f->s, &o, &m, &err), PA_IO);
  assert_non_null(strstr(err.msg, "/nonexistent/key"));
}

/* The review sign-off and the findings' history. */
static void test_review_history(void **state)
{
  struct fx *f = *state;
  sqlite3 *db = pa_store_handle(f->s);
  json_t *m, *rv, *h;
  char sql[512];

  snprintf(sql, sizeof sql,
           "INSERT INTO reviews (by, at, note, period_from, period_to)"
           " VALUES ('山田 太郎', %lld, 'monthly review', %lld, %lld);"
           "INSERT INTO finding_history (finding_id, status, by, at, note)"
           " SELECT id, 'acknowledged', 'k.sato', %lld, 'seen'"
           " FROM findings WHERE rule_id = 'AC-01';",
           (long long)(T0 + 600 * MIN), (long long)T0, (long long)(T0 + 1440 * MIN),
           (long long)(T0 + 500 * MIN));
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  m = build(f, "ja", NULL);
  rv = json_object_get(m, "review");
  assert_string_equal(json_string_value(json_object_get(rv, "by")), "山田 太郎");
  assert_string_equal(json_string_value(json_object_get(rv, "at")), "2026-11-19T19:00:00+09:00");
  assert_string_equal(json_string_value(json_object_get(rv, "note")), "monthly review");
  h = json_object_get(json_array_get(json_object_get(m, "findings"), 0), "history");
  assert_int_equal(json_array_size(h), 1);
  assert_string_equal(json_string_value(json_object_get(json_array_get(h, 0), "by")), "k.sato");
  json_decref(m);
  m = build(f, "ja", f->key); /* free text goes */
  assert_true(json_is_null(json_object_get(json_object_get(m, "review"), "note")));
  h = json_object_get(json_array_get(json_object_get(m, "findings"), 0), "history");
  assert_true(json_is_null(json_object_get(json_array_get(h, 0), "note")));
  json_decref(m);
}

static void test_format_parse(void **state)
{
  enum pa_report_format fmt;
  (void)state;
  assert_int_equal(pa_report_format_parse("json", &fmt), PA_OK);
  assert_int_equal(fmt, PA_REPORT_JSON);
  assert_int_equal(pa_report_format_parse("csv", &fmt), PA_OK);
  assert_int_equal(pa_report_format_parse("text", &fmt), PA_OK);
  assert_int_equal(pa_report_format_parse("pdf", &fmt), PA_MALFORMED);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_checklist, setup, teardown),
    cmocka_unit_test_setup_teardown(test_counts_and_maintenance, setup, teardown),
    cmocka_unit_test_setup_teardown(test_period, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hostile, setup, teardown),
    cmocka_unit_test_setup_teardown(test_pseudonymize, setup, teardown),
    cmocka_unit_test_setup_teardown(test_short_key, setup, teardown),
    cmocka_unit_test_setup_teardown(test_review_history, setup, teardown),
    cmocka_unit_test(test_format_parse),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
