/* test_sqlfn.c — the rule engine's SQL functions (rules/sqlfn), each through
 * real SQL on an in-memory database: REGEXP (cache, bad patterns, the match
 * limit), cidr_match, and the local-time functions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/tm.h"
#include "rules/sqlfn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The zone of the tests: a fixed offset, seconds east of UTC. */
static int32_t fixed_tz(const void *tz, int64_t utc_us)
{
  (void)utc_us;
  return *(const int32_t *)tz;
}

static const int32_t tokyo = 9 * 3600, new_york = -5 * 3600, utc = 0;

static sqlite3 *open_db(const int32_t *off)
{
  sqlite3 *db = NULL;
  struct pa_err err;
  pa_err_clear(&err);
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(pa_sqlfn_register(db, fixed_tz, off, &err), PA_OK);
  return db;
}

/* The one value of the one row of sql, with text parameters ?1, ?2 (NULL
 * binds SQL NULL). Returns the SQLite type; *text_out (buf) gets the value as
 * text, or the error message when the statement fails (type -1). */
static int one(sqlite3 *db, const char *sql, const char *p1, const char *p2, char *buf,
               size_t n)
{
  sqlite3_stmt *st = NULL;
  int type, rc;

  buf[0] = '\0';
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (p1)
    sqlite3_bind_text(st, 1, p1, -1, SQLITE_STATIC);
  if (p2)
    sqlite3_bind_text(st, 2, p2, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    snprintf(buf, n, "%s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return -1;
  }
  type = sqlite3_column_type(st, 0);
  if (type != SQLITE_NULL)
    snprintf(buf, n, "%s", (const char *)sqlite3_column_text(st, 0));
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  return type;
}

/* "1", "0" or "NULL" */
static const char *result(sqlite3 *db, const char *sql, const char *p1, const char *p2)
{
  static char buf[512];
  int t = one(db, sql, p1, p2, buf, sizeof buf);
  if (t == -1)
    fail_msg("%s: %s", sql, buf);
  return t == SQLITE_NULL ? "NULL" : buf;
}

static void exec(sqlite3 *db, const char *sql)
{
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
}

/* ---- regexp ------------------------------------------------------------- */

static void test_regexp_cases(void **state)
{
  static const struct {
    const char *pat, *value, *want;
  } cases[] = {
    {"^DCM:1101", "DCM:110114", "1"},
    {"adm(in)?$", "root", "0"},
    {"(?i)^ADMIN", "admin", "1"},
    {"^田中", "田中 涼子", "1"},
    {"^.{2}$", "田中", "1"},          /* UTF mode: two characters, six bytes */
    {"a", "\xff\xfe" "a", "1"},       /* invalid UTF-8 in the subject: no error */
    {"^.$", "\xff", "0"},
    {"^(guest|user|admin)[0-9]*$", "guest12", "1"},
    {"^(guest|user|admin)[0-9]*$", "r.tanaka", "0"},
    {"", "", "1"},
    {"x", NULL, "NULL"},
    {NULL, "x", "NULL"},
  };
  sqlite3 *db = open_db(&utc);
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = result(db, "SELECT ?2 REGEXP ?1", cases[i].pat, cases[i].value);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("case %zu: /%s/ on \"%s\": %s, want %s", i, cases[i].pat ? cases[i].pat : "NULL",
               cases[i].value ? cases[i].value : "NULL", got, cases[i].want);
    /* the function form is the same function */
    assert_string_equal(result(db, "SELECT regexp(?1, ?2)", cases[i].pat, cases[i].value),
                        cases[i].want);
  }
  /* a non-text value is matched as its text */
  assert_string_equal(result(db, "SELECT 110114 REGEXP '^1101'", NULL, NULL), "1");
  sqlite3_close(db);
}

static void test_regexp_bad_pattern(void **state)
{
  static const struct {
    const char *pat;
    uint64_t offset;
  } cases[] = {
    {"ab(c", 4},
    {"a[z-a]", 4},
    {"x{3,1}", 5},
    {"ok\xff", 2}, /* the pattern itself must be UTF-8 */
  };
  sqlite3 *db = open_db(&utc);
  char buf[512], want[32];
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct pa_err err;
    pa_err_clear(&err);
    assert_int_equal(pa_sqlfn_regex_check(cases[i].pat, &err), PA_RULE);
    if (err.offset != cases[i].offset)
      fail_msg("/%s/: offset %llu, want %llu (%s)", cases[i].pat, (unsigned long long)err.offset,
               (unsigned long long)cases[i].offset, err.msg);
    /* through SQL: an error naming the pattern and the offset, never 0 */
    assert_int_equal(one(db, "SELECT 'abc' REGEXP ?1", cases[i].pat, NULL, buf, sizeof buf), -1);
    snprintf(want, sizeof want, "offset %llu", (unsigned long long)cases[i].offset);
    if (!strstr(buf, want) || !strstr(buf, "bad pattern"))
      fail_msg("/%s/: \"%s\" does not say \"%s\"", cases[i].pat, buf, want);
  }
  {
    struct pa_err err;
    pa_err_clear(&err);
    assert_int_equal(pa_sqlfn_regex_check("^(a|b)+[0-9]{2,}$", &err), PA_OK);
  }
  sqlite3_close(db);
}

/* Catastrophic backtracking is an error at the match limit, not a silent 0. */
static void test_regexp_match_limit(void **state)
{
  sqlite3 *db = open_db(&utc);
  char buf[512], subj[64];
  (void)state;
  memset(subj, 'a', 40);
  subj[40] = 'b';
  subj[41] = '\0';
  assert_int_equal(one(db, "SELECT ?2 REGEXP '^(a+)+$'", NULL, subj, buf, sizeof buf), -1);
  if (!strstr(buf, "limit"))
    fail_msg("no limit in \"%s\"", buf);
  /* the same pattern on a short subject still answers */
  assert_string_equal(result(db, "SELECT 'aaab' REGEXP '^(a+)+$'", NULL, NULL), "0");
  assert_string_equal(result(db, "SELECT 'aaaa' REGEXP '^(a+)+$'", NULL, NULL), "1");
  sqlite3_close(db);
}

/* One pattern over many rows (auxdata), patterns from a column (the cache),
 * and more distinct patterns than the cache holds (eviction). */
static void test_regexp_cache(void **state)
{
  sqlite3 *db = open_db(&utc);
  char want[512];
  (void)state;
  exec(db, "CREATE TABLE t(v TEXT, p TEXT);"
           "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 9999)"
           " INSERT INTO t SELECT 'u' || i, '^u' || (i % 3) FROM c;");
  /* u7, u7x: numbers starting with 7 below 10000: 1 + 10 + 100 + 1000 */
  assert_string_equal(result(db, "SELECT count(*) FROM t WHERE v REGEXP '^u7'", NULL, NULL),
                      "1111");
  /* three patterns alternating row by row: u0.., u1.., u2.. by i % 3 */
  snprintf(want, sizeof want, "%s",
           result(db,
                  "SELECT count(*) FROM t WHERE CAST(substr(v, 2, 1) AS INTEGER) = (rowid - 1) % 3",
                  NULL, NULL));
  assert_string_not_equal(want, "0");
  assert_string_equal(result(db, "SELECT count(*) FROM t WHERE v REGEXP p", NULL, NULL), want);
  /* 500 distinct patterns, more than the cache holds, twice over */
  exec(db, "UPDATE t SET p = '^u' || (rowid % 500)");
  snprintf(want, sizeof want, "%s",
           result(db,
                  "SELECT count(*) FROM t WHERE substr(v, 1, length('u' || (rowid % 500))) ="
                  " 'u' || (rowid % 500)",
                  NULL, NULL));
  assert_string_not_equal(want, "0");
  assert_string_equal(result(db, "SELECT count(*) FROM t WHERE v REGEXP p", NULL, NULL), want);
  sqlite3_close(db);
}

/* Printed, not asserted: the machine is shared. */
static void test_regexp_speed(void **state)
{
  sqlite3 *db = open_db(&utc);
  struct timespec a, b;
  double s;
  int want = 0;
  char wbuf[16];
  (void)state;
  exec(db, "CREATE TABLE b(v TEXT);"
           "WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 1000000)"
           " INSERT INTO b SELECT 'user' || i || '@ws' || (i % 97) FROM c;");
  /* users whose number is all nines, on ws10..ws19 */
  for (long i = 9; i <= 1000000; i = i * 10 + 9)
    want += i % 97 >= 10 && i % 97 <= 19;
  snprintf(wbuf, sizeof wbuf, "%d", want);
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_string_equal(
    result(db, "SELECT count(*) FROM b WHERE v REGEXP '^user9+@ws1[0-9]$'", NULL, NULL), wbuf);
  clock_gettime(CLOCK_MONOTONIC, &b);
  s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
  printf("sqlfn: REGEXP over 1M rows, one cached pattern: %.3f s, %.0f rows/s\n", s, 1e6 / s);
  sqlite3_close(db);
}

/* ---- cidr_match --------------------------------------------------------- */

static void test_cidr_cases(void **state)
{
  static const struct {
    const char *ip, *net, *want;
  } cases[] = {
    {"192.0.2.33", "192.0.2.32/28", "1"},
    {"192.0.2.47", "192.0.2.32/28", "1"},
    {"192.0.2.48", "192.0.2.32/28", "0"},
    {"192.0.2.31", "192.0.2.32/28", "0"},
    {"192.0.2.33", "192.0.2.33/28", "1"}, /* host bits in the net: its network */
    {"192.0.2.33", "192.0.2.33", "1"},
    {"192.0.2.34", "192.0.2.33", "0"},
    {"192.0.2.33", "192.0.2.33/32", "1"},
    {"192.0.2.34", "192.0.2.33/32", "0"},
    {"192.0.2.5", "192.0.2.4/31", "1"},
    {"192.0.2.6", "192.0.2.4/31", "0"},
    {"10.1.2.3", "0.0.0.0/0", "1"},
    {"255.255.255.255", "0.0.0.0/0", "1"},
    {"::ffff:192.0.2.1", "192.0.2.0/24", "1"},
    {"::ffff:192.0.3.1", "192.0.2.0/24", "0"},
    {"2001:db8::1", "2001:db8::/32", "1"},
    {"2001:db9::1", "2001:db8::/32", "0"},
    {"2001:db8::1", "2001:db8::1/128", "1"},
    {"2001:db8::2", "2001:db8::1/128", "0"},
    {"2001:db8::1", "2001:DB8:0:0:0:0:0:1", "1"},
    {"2001:db8::3", "2001:db8::2/127", "1"},
    {"2001:db8::4", "2001:db8::2/127", "0"},
    {"2001:db8::1", "::/0", "1"},
    {"fe80::1", "fe80::/10", "1"},
    {"febf::1", "fe80::/10", "1"},
    {"fec0::1", "fe80::/10", "0"},
    {"192.0.2.1", "2001:db8::/32", "0"},
    {"2001:db8::1", "192.0.2.0/24", "0"},
    {"2001:db8::1", "0.0.0.0/0", "0"},
    /* malformed: 0, never an error */
    {"192.0.2.1", "192.0.2.0/33", "0"},
    {"2001:db8::1", "2001:db8::/129", "0"},
    {"192.0.2.1", "192.0.2.0/", "0"},
    {"192.0.2.1", "192.0.2.0/-1", "0"},
    {"192.0.2.1", "192.0.2.0/24x", "0"},
    {"192.0.2.1", "192.0.2.0/0024", "0"},
    {"192.0.2.1", "/24", "0"},
    {"192.0.2.1", "", "0"},
    {"192.0.2.1", "not-a-net", "0"},
    {"999.1.1.1", "0.0.0.0/0", "0"},
    {"", "0.0.0.0/0", "0"},
    {"192.0.2.1 ", "0.0.0.0/0", "0"},
    {"192.0.2.1:104", "0.0.0.0/0", "0"},
    {"fe80::1%eth0", "fe80::/10", "0"},
    {"[2001:db8::1]", "::/0", "0"},
    {"ws-rad1.example", "0.0.0.0/0", "0"},
    {"192.0.2.1111111111111111111111111111111111111111111111111111", "0.0.0.0/0", "0"},
    {NULL, "0.0.0.0/0", "NULL"},
    {"192.0.2.1", NULL, "NULL"},
  };
  sqlite3 *db = open_db(&utc);
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *got = result(db, "SELECT cidr_match(?1, ?2)", cases[i].ip, cases[i].net);
    if (strcmp(got, cases[i].want) != 0)
      fail_msg("case %zu: %s in %s: %s, want %s", i, cases[i].ip ? cases[i].ip : "NULL",
               cases[i].net ? cases[i].net : "NULL", got, cases[i].want);
  }
  /* a constant net over many rows (auxdata), and a net from a column */
  exec(db, "CREATE TABLE e(ip TEXT, net TEXT);"
           "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < 255)"
           " INSERT INTO e SELECT '192.0.2.' || i, CASE i % 2 WHEN 0 THEN '192.0.2.0/25'"
           " ELSE 'bad/99' END FROM c;");
  assert_string_equal(
    result(db, "SELECT count(*) FROM e WHERE cidr_match(ip, '192.0.2.32/28')", NULL, NULL), "16");
  assert_string_equal(result(db, "SELECT count(*) FROM e WHERE cidr_match(ip, net)", NULL, NULL),
                      "64");
  sqlite3_close(db);
}

/* ---- local time --------------------------------------------------------- */

static int64_t utc_us(int y, int mo, int d, int h, int mi, int s)
{
  int64_t us;
  assert_int_equal(pa_time_from_utc(y, mo, d, h, mi, s, 0, &us), PA_OK);
  return us;
}

static void test_local_cases(void **state)
{
  struct {
    const int32_t *tz;
    int64_t ts;
    const char *day, *minute, *dow;
  } cases[] = {
    /* 23:30 UTC is 08:30 the next day in Tokyo, a Saturday */
    {&tokyo, utc_us(2026, 11, 20, 23, 30, 0), "2026-11-21", "510", "6"},
    {&tokyo, utc_us(2026, 11, 1, 14, 59, 59), "2026-11-01", "1439", "0"},
    {&tokyo, utc_us(2026, 11, 1, 15, 0, 0), "2026-11-02", "0", "1"},
    /* a leap day ends at Tokyo midnight */
    {&tokyo, utc_us(2024, 2, 29, 14, 59, 0), "2024-02-29", "1439", "4"},
    {&tokyo, utc_us(2024, 2, 29, 15, 0, 0), "2024-03-01", "0", "5"},
    /* west of UTC the local date is the day before */
    {&new_york, utc_us(2027, 1, 1, 3, 0, 0), "2026-12-31", "1320", "4"},
    /* before the epoch */
    {&utc, -1, "1969-12-31", "1439", "3"},
    {&utc, utc_us(1900, 3, 1, 0, 0, 0), "1900-03-01", "0", "4"},
    {&utc, utc_us(2000, 2, 29, 12, 0, 0), "2000-02-29", "720", "2"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    sqlite3 *db = open_db(cases[i].tz);
    char ts[32], want[32];
    snprintf(ts, sizeof ts, "%lld", (long long)cases[i].ts);
    snprintf(want, sizeof want, "%lld",
             (long long)(cases[i].ts + (int64_t)*cases[i].tz * 1000000));
    assert_string_equal(result(db, "SELECT local_day(CAST(?1 AS INTEGER))", ts, NULL),
                        cases[i].day);
    assert_string_equal(result(db, "SELECT local_minute(CAST(?1 AS INTEGER))", ts, NULL),
                        cases[i].minute);
    assert_string_equal(result(db, "SELECT local_dow(CAST(?1 AS INTEGER))", ts, NULL),
                        cases[i].dow);
    assert_string_equal(result(db, "SELECT local_us(CAST(?1 AS INTEGER))", ts, NULL), want);
    sqlite3_close(db);
  }
  {
    static const char *const fns[] = {"local_us", "local_day", "local_minute", "local_dow"};
    sqlite3 *db = open_db(&tokyo);
    for (size_t i = 0; i < 4; i++) {
      char sql[96];
      snprintf(sql, sizeof sql, "SELECT %s(NULL)", fns[i]);
      assert_string_equal(result(db, sql, NULL, NULL), "NULL");
      /* out of range: NULL, not an overflow */
      snprintf(sql, sizeof sql, "SELECT %s(9223372036854775807)", fns[i]);
      assert_string_equal(result(db, sql, NULL, NULL), "NULL");
      snprintf(sql, sizeof sql, "SELECT %s(-9223372036854775807 - 1)", fns[i]);
      assert_string_equal(result(db, sql, NULL, NULL), "NULL");
    }
    sqlite3_close(db);
  }
}

/* The integer civil-date math against gmtime_r over many times, 1901..2099. */
static void test_local_vs_gmtime(void **state)
{
  sqlite3 *db = open_db(&tokyo);
  sqlite3_stmt *st;
  uint64_t x = 88172645463325252ULL;
  (void)state;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT local_day(?1), local_minute(?1), local_dow(?1)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  for (int i = 0; i < 20000; i++) {
    int64_t ts, lsec;
    time_t t;
    struct tm tm;
    char day[48];
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    ts = (int64_t)(x % (UINT64_C(6300000000) * 1000000)) - INT64_C(2200000000) * 1000000;
    lsec = ts / 1000000 - (ts % 1000000 < 0) + tokyo;
    t = (time_t)lsec;
    assert_non_null(gmtime_r(&t, &tm));
    snprintf(day, sizeof day, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    sqlite3_bind_int64(st, 1, ts);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), day);
    assert_int_equal(sqlite3_column_int(st, 1), tm.tm_hour * 60 + tm.tm_min);
    assert_int_equal(sqlite3_column_int(st, 2), tm.tm_wday);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* Without a zone function the functions read UTC. */
static void test_no_tz(void **state)
{
  sqlite3 *db = NULL;
  struct pa_err err;
  (void)state;
  pa_err_clear(&err);
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(pa_sqlfn_register(db, NULL, NULL, &err), PA_OK);
  assert_string_equal(result(db, "SELECT local_day(0) || ' ' || local_minute(0)", NULL, NULL),
                      "1970-01-01 0");
  sqlite3_close(db);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_regexp_cases),      cmocka_unit_test(test_regexp_bad_pattern),
    cmocka_unit_test(test_regexp_match_limit), cmocka_unit_test(test_regexp_cache),
    cmocka_unit_test(test_regexp_speed),      cmocka_unit_test(test_cidr_cases),
    cmocka_unit_test(test_local_cases),       cmocka_unit_test(test_local_vs_gmtime),
    cmocka_unit_test(test_no_tz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
