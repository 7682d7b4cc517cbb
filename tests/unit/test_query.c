/* test_query.c — analyzer/query: the timeline of one subject.
 *
 * A small store written through pa_store_put_event, then queried: a patient
 * id with and without its CX suffix, AE titles and addresses on either side,
 * the order by time, the period, the limit, hostile values coming back
 * unchanged, bad queries refused, and the plans using the indexes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pa_test.h"

#include "analyzer/query.h"
#include "analyzer/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 INT64_C(1795053900000000) /* 2026-11-19T11:05:00+09:00 */
#define MIN INT64_C(60000000)

/* The events, stored in this order (not time order). Each has a distinct
 * event_code that names it, so the tests compare lists of names. */
static const struct ev {
  const char *name;
  int64_t t;            /* minutes after T0 */
  const char *source, *user, *src_ip, *src_ae, *dst_ip, *dst_ae, *patient;
} evs[] = {
  {"e-late-bare", 50, "atna", "r.tanaka", "192.0.2.50", NULL, NULL, NULL, "0020481739"},
  {"e-cx", 10, "atna", "r.tanaka", "192.0.2.50", NULL, NULL, NULL,
   "0020481739^^^HOSPA&1.2.392.200119.1&ISO^PI"},
  {"e-early-bare", -30, "fhir", "k.sato", "192.0.2.51", NULL, NULL, NULL, "0020481739"},
  {"e-other-cx", 20, "atna", "k.sato", NULL, NULL, NULL, NULL, "0020481739^^^HOSPB"},
  /* longer ids that share the prefix: never the same patient */
  {"e-longer", 15, "atna", "k.sato", NULL, NULL, NULL, NULL, "00204817390"},
  {"e-longer-cx", 16, "atna", "k.sato", NULL, NULL, NULL, NULL, "002048173^^^HOSPA"},
  {"e-dicom-out", 5, "dicom", NULL, "10.0.0.5", "WS_RAD1", "10.0.0.2", "PACS", "0031000101"},
  {"e-dicom-in", 6, "dicom", NULL, "10.0.0.2", "PACS", "10.0.0.5", "WS_RAD1", "0031000101"},
  {"e-dicom-self", 7, "dicom", NULL, "10.0.0.5", "WS_RAD1", "10.0.0.5", "WS_RAD1", NULL},
  {"e-syslog", 8, "syslog", "a.suzuki", "10.0.0.5", NULL, NULL, NULL, NULL},
  {"e-ws2", 9, "dicom", NULL, "10.0.0.6", "WS_RAD2", "10.0.0.2", "PACS", NULL},
  /* the same time twice: storing order decides */
  {"e-tie-1", 30, "syslog", "m.ito", NULL, NULL, NULL, NULL, NULL},
  {"e-tie-2", 30, "atna", "m.ito", NULL, NULL, NULL, NULL, NULL},
  /* hostile values: a terminal escape, a formula, markup, a newline */
  {"e-hostile", 40, "syslog", "=cmd|'/c calc'!A1", "\x1b]0;pwn\x07", "<b>AE</b>", NULL,
   "-2+3", "P1\r\nforged line"},
};
#define N_EVS (sizeof evs / sizeof evs[0])

static int setup(void **state)
{
  struct pa_test_db *f = pa_test_db_new("query");
  struct pa_err err;
  assert_non_null(f);
  for (size_t i = 0; i < N_EVS; i++) {
    struct pa_event e = {0};
    int64_t id;
    e.ts = T0 + evs[i].t * MIN;
    e.source = evs[i].source;
    e.origin = "test";
    e.event_code = evs[i].name;
    e.outcome = i % 2 ? 0 : 8;
    e.user_id = evs[i].user;
    e.src_ip = evs[i].src_ip;
    e.src_ae = evs[i].src_ae;
    e.dst_ip = evs[i].dst_ip;
    e.dst_ae = evs[i].dst_ae;
    e.patient_id = evs[i].patient;
    e.object_count = -1;
    e.secure = -1;
    assert_int_equal(pa_store_put_event(f->s, &e, &id), PA_OK);
  }
  /* queries run read-only, as the CLI runs them */
  assert_int_equal(pa_store_close(f->s), PA_OK);
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &f->s, &err), PA_OK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  pa_test_db_free(*state);
  return 0;
}

/* The names of the rows, space-separated, and checks of each row. */
struct got {
  char names[1024];
  int64_t last_ts, last_id;
  int stop_after; /* > 0: return PA_IO from that row on */
  int n;
};

static pa_rc collect(void *ctx, const struct pa_query_row *r)
{
  struct got *g = ctx;
  size_t l = strlen(g->names);
  /* ordered by (ts, id) */
  assert_true(g->n == 0 || r->ts > g->last_ts || (r->ts == g->last_ts && r->id > g->last_id));
  g->last_ts = r->ts;
  g->last_id = r->id;
  snprintf(g->names + l, sizeof g->names - l, "%s%s", l ? " " : "", r->event_code);
  g->n++;
  if (g->stop_after && g->n >= g->stop_after)
    return PA_IO;
  return PA_OK;
}

static const char *run(pa_store *s, enum pa_query_kind kind, const char *subject,
                       int64_t since, int64_t until, uint64_t limit, struct got *g)
{
  struct pa_query q = {kind, subject, since, until, limit};
  struct pa_err err;
  uint64_t n;
  memset(g, 0, sizeof *g);
  pa_err_clear(&err);
  assert_int_equal(pa_query_run(s, &q, collect, g, &n, &err), PA_OK);
  assert_int_equal(n, (uint64_t)g->n);
  return g->names;
}

static void test_patient_cx(void **state)
{
  struct pa_test_db *f = *state;
  struct got g;
  static const char *const all =
    "e-early-bare e-cx e-other-cx e-late-bare";
  /* bare id finds the CX-suffixed ones; CX id finds the bare ones */
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739", 0, 0, 0, &g), all);
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739^^^HOSPA", 0, 0, 0, &g), all);
  assert_string_equal(
    run(f->s, PA_QUERY_PATIENT, "0020481739^^^HOSPA&1.2.392.200119.1&ISO^PI", 0, 0, 0, &g),
    all);
  /* a prefix is not the patient, nor is a longer id */
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "002048173", 0, 0, 0, &g), "e-longer-cx");
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "00204817390", 0, 0, 0, &g), "e-longer");
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481", 0, 0, 0, &g), "");
}

static void test_ae_ip_both_directions(void **state)
{
  struct pa_test_db *f = *state;
  struct got g;
  /* as caller, as called, and both at once given once */
  assert_string_equal(run(f->s, PA_QUERY_AE, "WS_RAD1", 0, 0, 0, &g),
                      "e-dicom-out e-dicom-in e-dicom-self");
  assert_string_equal(run(f->s, PA_QUERY_AE, "PACS", 0, 0, 0, &g),
                      "e-dicom-out e-dicom-in e-ws2");
  assert_string_equal(run(f->s, PA_QUERY_IP, "10.0.0.5", 0, 0, 0, &g),
                      "e-dicom-out e-dicom-in e-dicom-self e-syslog");
  assert_string_equal(run(f->s, PA_QUERY_IP, "10.0.0.2", 0, 0, 0, &g),
                      "e-dicom-out e-dicom-in e-ws2");
  /* exact: no prefix match on addresses */
  assert_string_equal(run(f->s, PA_QUERY_IP, "10.0.0", 0, 0, 0, &g), "");
  assert_string_equal(run(f->s, PA_QUERY_AE, "ws_rad1", 0, 0, 0, &g), "");
}

static void test_user_order_and_ties(void **state)
{
  struct pa_test_db *f = *state;
  struct got g;
  assert_string_equal(run(f->s, PA_QUERY_USER, "k.sato", 0, 0, 0, &g),
                      "e-early-bare e-longer e-longer-cx e-other-cx");
  assert_string_equal(run(f->s, PA_QUERY_USER, "m.ito", 0, 0, 0, &g), "e-tie-1 e-tie-2");
  assert_string_equal(run(f->s, PA_QUERY_USER, "nobody", 0, 0, 0, &g), "");
}

static void test_period_and_limit(void **state)
{
  struct pa_test_db *f = *state;
  struct got g;
  /* since included, until excluded */
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739", T0 + 10 * MIN, T0 + 50 * MIN,
                          0, &g),
                      "e-cx e-other-cx");
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739", T0 + 11 * MIN, 0, 0, &g),
                      "e-other-cx e-late-bare");
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739", 0, T0, 0, &g),
                      "e-early-bare");
  assert_string_equal(run(f->s, PA_QUERY_AE, "WS_RAD1", T0 + 6 * MIN, T0 + 7 * MIN, 0, &g),
                      "e-dicom-in");
  assert_string_equal(run(f->s, PA_QUERY_IP, "10.0.0.5", T0 + 7 * MIN, 0, 0, &g),
                      "e-dicom-self e-syslog");
  /* the limit keeps the earliest, across both arms of a merge */
  assert_string_equal(run(f->s, PA_QUERY_PATIENT, "0020481739", 0, 0, 2, &g),
                      "e-early-bare e-cx");
  assert_string_equal(run(f->s, PA_QUERY_AE, "PACS", 0, 0, 2, &g), "e-dicom-out e-dicom-in");
}

static pa_rc check_hostile(void *ctx, const struct pa_query_row *r)
{
  int *n = ctx;
  /* values come back byte for byte: escaping is the output's job */
  assert_string_equal(r->user_id, "=cmd|'/c calc'!A1");
  assert_string_equal(r->src_ip, "\x1b]0;pwn\x07");
  assert_string_equal(r->src_ae, "<b>AE</b>");
  assert_string_equal(r->dst_ae, "-2+3");
  assert_string_equal(r->patient_id, "P1\r\nforged line");
  assert_null(r->dst_ip);
  assert_null(r->op);
  assert_int_equal(r->has_outcome, 1);
  assert_int_equal(r->outcome, 0);
  assert_int_equal(r->object_count, -1);
  (*n)++;
  return PA_OK;
}

static void test_hostile_values(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  int n = 0;
  struct pa_query q = {PA_QUERY_USER, "=cmd|'/c calc'!A1", 0, 0, 0};
  assert_int_equal(pa_query_run(f->s, &q, check_hostile, &n, NULL, &err), PA_OK);
  q.kind = PA_QUERY_AE;
  q.subject = "-2+3";
  assert_int_equal(pa_query_run(f->s, &q, check_hostile, &n, NULL, &err), PA_OK);
  q.kind = PA_QUERY_IP;
  q.subject = "\x1b]0;pwn\x07";
  assert_int_equal(pa_query_run(f->s, &q, check_hostile, &n, NULL, &err), PA_OK);
  q.kind = PA_QUERY_PATIENT;
  q.subject = "P1\r\nforged line";
  assert_int_equal(pa_query_run(f->s, &q, check_hostile, &n, NULL, &err), PA_OK);
  assert_int_equal(n, 4);
  /* SQL in a subject is a value */
  q.kind = PA_QUERY_USER;
  q.subject = "x' OR '1'='1";
  n = 0;
  assert_int_equal(pa_query_run(f->s, &q, check_hostile, &n, NULL, &err), PA_OK);
  assert_int_equal(n, 0);
}

static void test_refused_and_stopped(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  struct got g = {0};
  uint64_t n = 99;
  struct pa_query q = {PA_QUERY_PATIENT, "^^^HOSPA", 0, 0, 0};
  enum pa_query_kind k;

  pa_err_clear(&err);
  assert_int_equal(pa_query_run(f->s, &q, collect, &g, &n, &err), PA_USAGE);
  assert_non_null(strstr(err.msg, "CX suffix"));
  assert_int_equal(n, 0);
  q.subject = "";
  assert_int_equal(pa_query_run(f->s, &q, collect, &g, &n, &err), PA_USAGE);
  q.subject = "0020481739";
  q.since_us = T0;
  q.until_us = T0;
  assert_int_equal(pa_query_run(f->s, &q, collect, &g, &n, &err), PA_USAGE);
  /* a callback's code stops the query and comes back */
  q.since_us = q.until_us = 0;
  g.stop_after = 2;
  assert_int_equal(pa_query_run(f->s, &q, collect, &g, &n, &err), PA_IO);
  assert_int_equal(n, 2);
  /* the words */
  assert_int_equal(pa_query_kind_parse("ae", &k), PA_OK);
  assert_int_equal(k, PA_QUERY_AE);
  assert_int_equal(pa_query_kind_parse("host", &k), PA_USAGE);
  assert_int_equal(pa_query_kind_parse(NULL, &k), PA_USAGE);
  assert_string_equal(pa_query_kind_name(PA_QUERY_IP), "ip");
  assert_string_equal(pa_query_outcome_name(8), "serious-failure");
  assert_string_equal(pa_query_outcome_name(3), "unknown");
}

struct plan { char text[2048]; };

static void plan_line(void *ctx, const char *line)
{
  struct plan *p = ctx;
  size_t l = strlen(p->text);
  snprintf(p->text + l, sizeof p->text - l, "%s\n", line);
}

/* Each kind is answered from an index keyed on the subject, never by a
 * walk of events_ts or a scan, with or without a period. */
static void test_plans_use_indexes(void **state)
{
  struct pa_test_db *f = *state;
  static const struct { enum pa_query_kind k; const char *want[2]; } cases[] = {
    {PA_QUERY_PATIENT, {"INDEX events_patient (patient_id=?", "INDEX events_patient (patient_id>?"}},
    {PA_QUERY_USER, {"INDEX events_user (user_id=?", NULL}},
    {PA_QUERY_AE, {"INDEX events_src_ae (src_ae=?", "INDEX events_dst_ae (dst_ae=?"}},
    {PA_QUERY_IP, {"INDEX events_src_ip (src_ip=?", "INDEX events_dst_ip (dst_ip=?"}},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int period = 0; period < 2; period++) {
      struct plan p = {{0}};
      struct pa_err err;
      struct pa_query q = {cases[i].k, "X", period ? T0 : 0, period ? T0 + MIN : 0, 0};
      assert_int_equal(pa_query_plan(f->s, &q, plan_line, &p, &err), PA_OK);
      for (int w = 0; w < 2; w++)
        if (cases[i].want[w] && !strstr(p.text, cases[i].want[w]))
          fail_msg("%s: no \"%s\" in the plan:\n%s", pa_query_kind_name(cases[i].k),
                   cases[i].want[w], p.text);
      if (strstr(p.text, "events_ts") || strstr(p.text, "SCAN"))
        fail_msg("%s: a walk of events:\n%s", pa_query_kind_name(cases[i].k), p.text);
      /* the merge gives time order; only a CX range arm is sorted */
      if (cases[i].k != PA_QUERY_PATIENT && strstr(p.text, "TEMP B-TREE"))
        fail_msg("%s: a sort:\n%s", pa_query_kind_name(cases[i].k), p.text);
    }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_patient_cx, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ae_ip_both_directions, setup, teardown),
    cmocka_unit_test_setup_teardown(test_user_order_and_ties, setup, teardown),
    cmocka_unit_test_setup_teardown(test_period_and_limit, setup, teardown),
    cmocka_unit_test_setup_teardown(test_hostile_values, setup, teardown),
    cmocka_unit_test_setup_teardown(test_refused_and_stopped, setup, teardown),
    cmocka_unit_test_setup_teardown(test_plans_use_indexes, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
