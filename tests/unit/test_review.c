/* test_review.c — what reviewers record in the store (store_review.c): a
 * finding's status with its history, and sign-offs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pa_test.h"

#include "analyzer/store.h"
#include "analyzer/store_schema.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int setup(void **state)
{
  assert_non_null(*state = pa_test_db_new("review"));
  return 0;
}

static int teardown(void **state)
{
  pa_test_db_free(*state);
  return 0;
}

/* One integer from sql. */
static int64_t num(pa_store *s, const char *sql)
{
  sqlite3_stmt *q;
  int64_t v;
  assert_int_equal(sqlite3_prepare_v2(pa_store_handle(s), sql, -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  v = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return v;
}

/* The status of finding id, copied into buf. */
static const char *status_of(pa_store *s, int64_t id, char *buf, size_t size)
{
  sqlite3_stmt *q;
  assert_int_equal(sqlite3_prepare_v2(pa_store_handle(s),
                                      "SELECT status FROM findings WHERE id = ?", -1, &q, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(q, 1, id);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  snprintf(buf, size, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  return buf;
}

/* A finding of subject subj at time t (ids 1, 2, 3 in the order put). */
static void put(pa_store *s, const char *subj, int64_t t, const char *excepted)
{
  struct pa_finding a = {
    .rule_id = "AC-08", .severity = "medium", .strength = "advisory",
    .guideline_ref = "[\"シス14\"]", .subject = subj, .first_ts = t, .last_ts = t + 1000,
    .count = 5, .evidence = "[1,2,3,4,5]", .gap_us = 600, .excepted = excepted};
  int known;
  assert_int_equal(pa_store_finding_put(s, &a, 0, &known), PA_OK);
  assert_int_equal(known, 0);
}

static void test_transitions(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  char st[32];
  static const struct {
    int64_t id;
    const char *to;
    pa_rc rc;
    const char *now; /* the status after */
    const char *msg; /* in err.msg on failure */
  } steps[] = {
    {1, "acknowledged", PA_OK, "acknowledged", NULL},
    {1, "acknowledged", PA_USAGE, "acknowledged", "finding 1 is acknowledged: it cannot be"
                                                  " acknowledged again"},
    {1, "closed", PA_OK, "closed", NULL},
    {1, "acknowledged", PA_USAGE, "closed", "finding 1 is closed: it cannot be acknowledged"},
    {1, "closed", PA_USAGE, "closed", "cannot be closed again"},
    {2, "closed", PA_OK, "closed", NULL},                  /* open -> closed */
    {3, "closed", PA_USAGE, "excepted", "finding 3 is excepted: it cannot be closed"},
    {3, "acknowledged", PA_OK, "acknowledged", NULL},      /* excepted -> acknowledged */
    {3, "closed", PA_OK, "closed", NULL},
    {2, "open", PA_USAGE, "closed", "acknowledged or closed"}, /* no way back */
  };

  put(f->s, "r.tanaka", 1000, NULL);
  put(f->s, "k.sato", 1000, NULL);
  put(f->s, "n.kato", 1000, "night shift");
  for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
    pa_err_clear(&err);
    assert_int_equal(pa_store_finding_set_status(f->s, steps[i].id, steps[i].to, "山田 太郎",
                                                 "seen", NULL, &err), steps[i].rc);
    assert_string_equal(status_of(f->s, steps[i].id, st, sizeof st), steps[i].now);
    if (steps[i].msg)
      assert_non_null(strstr(err.msg, steps[i].msg));
  }
  /* only the changes made are recorded: one history row and one run each */
  assert_int_equal(num(f->s, "SELECT count(*) FROM finding_history"), 5);
  assert_int_equal(num(f->s, "SELECT count(*) FROM runs WHERE command = 'findings'"), 5);
}

/* Each change is a history row that names who, when, why, the status
 * before and the run; the rows of earlier changes stay. */
static void test_history_rows(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  int64_t run1 = 0, run2 = 0;
  sqlite3_stmt *q;

  put(f->s, "r.tanaka", 1000, NULL);
  pa_err_clear(&err);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "山田 太郎",
                                               "checking with the ward", &run1, &err), PA_OK);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "closed", "佐藤 花子",
                                               "leave approved", &run2, &err), PA_OK);
  assert_true(run1 > 0 && run2 > run1);
  assert_int_equal(sqlite3_prepare_v2(pa_store_handle(f->s),
                                      "SELECT h.finding_id, h.status, h.prev_status, h.by, h.at,"
                                      " h.note, h.run_id, r.command, r.args, r.status,"
                                      " r.ended_at IS NOT NULL FROM finding_history h JOIN"
                                      " runs r ON r.id = h.run_id ORDER BY h.id", -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(q, 0), 1);
  assert_string_equal((const char *)sqlite3_column_text(q, 1), "acknowledged");
  assert_string_equal((const char *)sqlite3_column_text(q, 2), "open");
  assert_string_equal((const char *)sqlite3_column_text(q, 3), "山田 太郎");
  assert_true(sqlite3_column_int64(q, 4) > 1700000000000000LL); /* µs, now */
  assert_string_equal((const char *)sqlite3_column_text(q, 5), "checking with the ward");
  assert_int_equal(sqlite3_column_int64(q, 6), run1);
  assert_string_equal((const char *)sqlite3_column_text(q, 7), "findings");
  assert_string_equal((const char *)sqlite3_column_text(q, 8), "ack 1");
  assert_string_equal((const char *)sqlite3_column_text(q, 9), "ok");
  assert_int_equal(sqlite3_column_int(q, 10), 1);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 1), "closed");
  assert_string_equal((const char *)sqlite3_column_text(q, 2), "acknowledged");
  assert_string_equal((const char *)sqlite3_column_text(q, 3), "佐藤 花子");
  assert_int_equal(sqlite3_column_int64(q, 6), run2);
  assert_string_equal((const char *)sqlite3_column_text(q, 8), "close 1");
  assert_int_equal(sqlite3_step(q), SQLITE_DONE);
  sqlite3_finalize(q);
  assert_int_equal(num(f->s, "SELECT updated_run FROM findings WHERE id = 1"), run2);
}

/* An unknown id, a bad name or note: an input error that names it, and
 * nothing written, not even a runs row. */
static void test_unknown_id_and_bad_input(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  char st[32];

  put(f->s, "r.tanaka", 1000, NULL);
  pa_err_clear(&err);
  assert_int_equal(pa_store_finding_set_status(f->s, 42, "acknowledged", "山田 太郎", "x", NULL,
                                               &err), PA_USAGE);
  assert_string_equal(err.msg, "finding 42: no such finding");
  pa_err_clear(&err);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "", "x", NULL, &err),
                   PA_USAGE);
  assert_non_null(strstr(err.msg, "--by is empty"));
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "a\x1b[2Jb", "x", NULL,
                                               &err), PA_USAGE);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "\xe5\xb1", "x", NULL,
                                               &err), PA_USAGE); /* cut UTF-8 */
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "\xc0\xaf", "x", NULL,
                                               &err), PA_USAGE); /* overlong '/' */
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "ok", "\xff", NULL,
                                               &err), PA_USAGE);
  assert_non_null(strstr(err.msg, "--note is not UTF-8"));
  assert_string_equal(status_of(f->s, 1, st, sizeof st), "open");
  assert_int_equal(num(f->s, "SELECT count(*) FROM finding_history"), 0);
  assert_int_equal(num(f->s, "SELECT count(*) FROM runs"), 0);
  /* a multi-line note is UTF-8 text like any other */
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "山田 太郎",
                                               "line one\nline two", NULL, &err), PA_OK);
}

/* A later check (the engine's upsert of the same episode, with more data
 * or an exception) never changes a reviewer's status. */
static void test_recheck_keeps_reviewer_status(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_finding a = {
    .rule_id = "AC-08", .severity = "medium", .strength = "advisory",
    .guideline_ref = "[\"シス14\"]", .subject = "r.tanaka", .first_ts = 1000, .last_ts = 2000,
    .count = 5, .evidence = "[1,2,3,4,5]", .gap_us = 600};
  struct pa_err err;
  char st[32];
  int known;

  assert_int_equal(pa_store_finding_put(f->s, &a, 0, &known), PA_OK);
  pa_err_clear(&err);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "acknowledged", "山田 太郎", "seen",
                                               NULL, &err), PA_OK);
  assert_int_equal(pa_store_finding_put(f->s, &a, 0, &known), PA_OK); /* the same data */
  assert_int_equal(known, 1);
  assert_string_equal(status_of(f->s, 1, st, sizeof st), "acknowledged");
  a.last_ts = 2500; /* more data extends the episode */
  a.count = 6;
  a.excepted = "night shift"; /* and an exception now covers it */
  assert_int_equal(pa_store_finding_put(f->s, &a, 0, &known), PA_OK);
  assert_int_equal(known, 1);
  assert_string_equal(status_of(f->s, 1, st, sizeof st), "acknowledged");
  assert_int_equal(num(f->s, "SELECT count FROM findings WHERE id = 1"), 6);
  assert_int_equal(pa_store_finding_set_status(f->s, 1, "closed", "山田 太郎", "done", NULL,
                                               &err), PA_OK);
  a.excepted = NULL;
  a.last_ts = 2600;
  assert_int_equal(pa_store_finding_put(f->s, &a, 0, &known), PA_OK);
  assert_string_equal(status_of(f->s, 1, st, sizeof st), "closed");
  assert_int_equal(num(f->s, "SELECT count(*) FROM findings"), 1);
}

/* A sign-off: its row and run; as review evidence (events_and_reviews) it
 * stands at the end of its period, or when it was made if earlier. */
static void test_review_put(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_review r = {.by = "山田 太郎", .note = "monthly review", .at = 5000000,
                        .has_period = 1, .period_from = 1000000, .period_to = 4000000};
  struct pa_err err;
  int64_t id = 0;

  pa_err_clear(&err);
  assert_int_equal(pa_store_review_put(f->s, &r, &id, &err), PA_OK);
  assert_int_equal(id, 1);
  r.at = 3000000; /* signed before its period ended */
  assert_int_equal(pa_store_review_put(f->s, &r, &id, &err), PA_OK);
  r.has_period = 0;
  r.at = 0; /* now */
  r.note = NULL;
  assert_int_equal(pa_store_review_put(f->s, &r, &id, &err), PA_OK);
  assert_int_equal(id, 3);
  assert_int_equal(num(f->s, "SELECT count(*) FROM reviews r JOIN runs u ON u.id = r.run_id"
                             " WHERE u.command = 'review' AND u.status = 'ok'"), 3);
  assert_int_equal(num(f->s, "SELECT period_to FROM reviews WHERE id = 1"), 4000000);
  assert_int_equal(num(f->s, "SELECT count(*) FROM reviews WHERE id = 3 AND period_from IS NULL"
                             " AND note IS NULL AND at > 1700000000000000"), 1);
  assert_int_equal(num(f->s, "SELECT sum(ts = 3999999) + 10 * sum(ts = 3000000) FROM"
                             " events_and_reviews WHERE op = 'review'"), 11);
  assert_int_equal(num(f->s, "SELECT count(*) FROM events_and_reviews WHERE op = 'review' AND"
                             " id IS NULL AND user_id IS NULL AND user_name = '山田 太郎'"), 3);
  /* a period that ends before it begins, an empty name: nothing written */
  r.has_period = 1;
  r.period_from = 4000000;
  r.period_to = 4000000;
  assert_int_equal(pa_store_review_put(f->s, &r, &id, &err), PA_USAGE);
  assert_non_null(strstr(err.msg, "the period ends before it begins"));
  r.has_period = 0;
  r.by = "";
  assert_int_equal(pa_store_review_put(f->s, &r, &id, &err), PA_USAGE);
  assert_int_equal(num(f->s, "SELECT count(*) FROM reviews"), 3);
  assert_int_equal(num(f->s, "SELECT count(*) FROM runs"), 3);
}

/* A version 6 database gets the reviewers' tables when a writer opens it;
 * its findings keep their status. */
static void test_migration_from_6(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_err err;
  char path[160];
  sqlite3 *db;
  pa_store *s;

  snprintf(path, sizeof path, "%s/v6.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  for (int v = 0; v < 6; v++)
    assert_int_equal(sqlite3_exec(db, pa__store_migrations[v], NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=6;"
                                    "INSERT INTO findings (rule_id, severity, guideline_ref,"
                                    " count, evidence, fingerprint, status) VALUES ('AU-02',"
                                    " 'medium', '[]', 1, '[]', 'fp', 'open')", NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open_mode(path, PA_STORE_NOCREATE, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), 6);
  assert_int_equal(pa_store_finding_set_status(s, 1, "acknowledged", "山田 太郎", "x", NULL,
                                               &err), PA_OK);
  assert_int_equal(num(s, "SELECT count(*) FROM finding_history"), 1);
  assert_int_equal(num(s, "PRAGMA user_version"), PA_SCHEMA_VERSION);
  pa_store_close(s);
  unlink(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_transitions, setup, teardown),
    cmocka_unit_test_setup_teardown(test_history_rows, setup, teardown),
    cmocka_unit_test_setup_teardown(test_unknown_id_and_bad_input, setup, teardown),
    cmocka_unit_test_setup_teardown(test_recheck_keeps_reviewer_status, setup, teardown),
    cmocka_unit_test_setup_teardown(test_review_put, setup, teardown),
    cmocka_unit_test_setup_teardown(test_migration_from_6, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
