/* test_policy.c — the site policy: each bad document with the exact error
 * line it must give, the roster CSV, and the TEMP tables the engine joins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "analyzer/policy.h"
#include "analyzer/policy_int.h"
#include "analyzer/tm.h"
#include "tests/unit/pa_test.h"

#define PA_TEST_FIELD_CAP PA_MAX_CSV_FIELD
#define PA_TEST_POLICY_CAP PA_MAX_POLICY_FILE

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Loads json under the label "policy.json"; returns the rc and fills m. */
static pa_rc load(const char *json, const char *base, pa_policy **p, struct pa_policy_msgs *m,
                  struct pa_err *err)
{
  pa_err_clear(err);
  pa_policy_msgs_init(m);
  return pa_policy_load_string_msgs("policy.json", json, strlen(json), base, p, m, err);
}

static int has_line(const struct pa_policy_msgs *m, const char *line)
{
  for (size_t i = 0; i < m->n_errors; i++)
    if (!strcmp(m->errors[i], line))
      return 1;
  return 0;
}

static void dump(const struct pa_policy_msgs *m)
{
  for (size_t i = 0; i < m->n_errors; i++)
    fprintf(stderr, "  got: %s\n", m->errors[i]);
}

/* One bad document, the one error line it gives. */
static const struct bad {
  const char *json, *line;
} bads[] = {
  {"[1]", "policy.json: expected a JSON object, not an array"},
  {"{\"users\": [}", "policy.json: line 1 column 12: unexpected token near '}'"},
  {"{\"site\": {}, \"site\": {}}",
   "policy.json: line 1 column 19: duplicate object key near '\"site\"'"},
  {"{\"frobnicate\": 1}", "policy.json: frobnicate: unknown key"},
  /* a control byte in a key is escaped: one line, none forged */
  {"{\"a\\nb\": 1}", "policy.json: a\\x0ab: unknown key"},
  {"{\"users\": [{\"id\": \"u\", \"x\\r\\u007f\": 1}]}",
   "policy.json: users[0].x\\x0d\\x7f: unknown key"},
  {"{\"site\": {\"timezone\": \"Mars/Olympus\"}}",
   "policy.json: site.timezone: \"Mars/Olympus\" is not a known time zone"},
  {"{\"site\": {\"name\": \"x\", \"tz\": \"UTC\"}}", "policy.json: site.tz: unknown key"},
  {"{\"hours\": {\"days\": [\"Mon\", \"Mun\"], \"start\": \"08:00\", \"end\": \"19:00\"}}",
   "policy.json: hours.days[1]: \"Mun\" is not a day (Mon Tue Wed Thu Fri Sat Sun)"},
  {"{\"hours\": {\"days\": [], \"start\": \"8:00\", \"end\": \"19:00\"}}",
   "policy.json: hours.start: \"8:00\" is not a time of day (HH:MM)"},
  {"{\"hours\": {\"days\": [], \"start\": \"19:00\", \"end\": \"08:00\"}}",
   "policy.json: hours: start 19:00 is not before end 08:00"},
  {"{\"hours\": {\"days\": [], \"start\": \"08:00\", \"end\": \"19:00\", "
   "\"holidays\": [\"2026-01-32\"]}}",
   "policy.json: hours.holidays[0]: \"2026-01-32\" is not a date (YYYY-MM-DD)"},
  {"{\"users\": [{\"id\": \"a\"}, {\"id\": \"b\"}, {\"id\": \"c\"}, "
   "{\"id\": \"d\", \"valid_to\": \"2026-13-01\"}]}",
   "policy.json: users[3].valid_to: \"2026-13-01\" is not a date (YYYY-MM-DD)"},
  {"{\"users\": [{\"name\": \"nobody\"}]}", "policy.json: users[0].id: required"},
  {"{\"users\": [{\"id\": \"a\"}, {\"id\": \"a\"}]}",
   "policy.json: users[1].id: \"a\" is also users[0]"},
  {"{\"users\": [{\"id\": \"a\", \"vaild_to\": \"2026-01-01\"}]}",
   "policy.json: users[0].vaild_to: unknown key"},
  {"{\"users\": [{\"id\": \"a\", \"kind\": \"robot\"}]}",
   "policy.json: users[0].kind: \"robot\" is not one of person, shared, emergency, service"},
  {"{\"roles\": {\"clerk\": {\"may\": [\"login\"]}}, \"users\": [{\"id\": \"a\", "
   "\"role\": \"nurse\"}]}",
   "policy.json: users[0].role: \"nurse\" is not in roles"},
  {"{\"users\": [{\"id\": \"a\", \"valid_from\": \"2026-05-01\", \"valid_to\": \"2026-04-30\"}]}",
   "policy.json: users[0]: valid_from 2026-05-01 is after valid_to 2026-04-30"},
  {"{\"users\": [{\"id\": \"a\", \"mfa\": \"yes\"}]}",
   "policy.json: users[0].mfa: expected true or false, not a string"},
  {"{\"users\": [{\"id\": \"v\", \"windows\": [{\"from\": \"2026-11-20T12:00\", "
   "\"to\": \"2026-11-20T09:00\"}]}]}",
   "policy.json: users[0].windows[0]: from is not before to"},
  {"{\"users\": [{\"id\": \"v\", \"windows\": [{\"from\": \"2026-11-20 25:00\", "
   "\"to\": \"2026-11-21T09:00\"}]}]}",
   "policy.json: users[0].windows[0].from: \"2026-11-20 25:00\" is not a time "
   "(YYYY-MM-DDThh:mm)"},
  {"{\"roles\": {\"clerk\": {\"may\": [\"login\", \"fly\"]}}}",
   "policy.json: roles.clerk.may[1]: \"fly\" is not an operation (login, logout, query, "
   "retrieve, store, view, report, export, import, delete, modify, admin, audit-read)"},
  {"{\"aes\": [{\"title\": \"A_TITLE_LONGER_THAN_16\"}]}",
   "policy.json: aes[0].title: \"A_TITLE_LONGER_THAN_16\" is not an AE title (1 to 16 "
   "printable characters, no backslash)"},
  {"{\"aes\": [{\"title\": \"PACS\"}, {\"title\": \"PACS\"}]}",
   "policy.json: aes[1].title: \"PACS\" is also aes[0]"},
  {"{\"aes\": [{\"title\": \"PACS\", \"ips\": [\"192.0.2.1\", \"192.0.2.300\"]}]}",
   "policy.json: aes[0].ips[1]: \"192.0.2.300\" is not an IP address or CIDR range"},
  {"{\"aes\": [{\"title\": \"PACS\", \"ips\": [\"2001:db8::/129\"]}]}",
   "policy.json: aes[0].ips[0]: \"2001:db8::/129\" is not an IP address or CIDR range"},
  {"{\"aes\": [{\"title\": \"PACS\", \"ips\": [\"10.0.0.0/8x\"]}]}",
   "policy.json: aes[0].ips[0]: \"10.0.0.0/8x\" is not an IP address or CIDR range"},
  {"{\"aes\": [{\"title\": \"CT\", \"may\": [\"C-STORE\", \"C-DELETE\"]}]}",
   "policy.json: aes[0].may[1]: \"C-DELETE\" is not a DICOM command (C-ECHO, C-FIND, C-MOVE, "
   "C-GET, C-STORE, N-ACTION, N-CREATE, N-DELETE, N-EVENT-REPORT, N-GET, N-SET)"},
  {"{\"vip_patients\": [\"P1\", 2]}",
   "policy.json: vip_patients[1]: expected a string, not a number"},
  {"{\"require\": {\"tls\": 1}}", "policy.json: require.tls: expected true or false, not a number"},
  {"{\"require\": {\"mfa_from\": \"2027-04-31\"}}",
   "policy.json: require.mfa_from: \"2027-04-31\" is not a date (YYYY-MM-DD)"},
  {"{\"require\": {\"max_clock_skew_s\": -0.5}}",
   "policy.json: require.max_clock_skew_s: -0.5 must be 0 or more"},
  {"{\"require\": {\"log_silence_h\": 0}}",
   "policy.json: require.log_silence_h: 0 must be more than 0"},
  {"{\"require\": {\"mfa\": true}}", "policy.json: require.mfa: unknown key"},
  {"{\"thresholds\": {\"AC-08\": {\"window\": \"10 min\"}}}",
   "policy.json: thresholds.AC-08.window: \"10 min\" is not a number or a duration "
   "(90s, 10m, 1h, 1d)"},
  {"{\"thresholds\": {\"AC-08\": {\"count\": true}}}",
   "policy.json: thresholds.AC-08.count: expected a number or a duration, not a boolean"},
  {"{\"disable\": \"AC-10\"}", "policy.json: disable: expected an array, not a string"},
  {"{\"exceptions\": [{\"rule\": \"PR-04\", \"subject\": \"k\", \"until\": \"2099-01-01\"}]}",
   "policy.json: exceptions[0].reason: required"},
  {"{\"exceptions\": [{\"rule\": \"PR-04\", \"subject\": \"k\", \"reason\": \"\"}]}",
   "policy.json: exceptions[0].reason: must not be empty"},
  {"{\"roster_csv\": \"no-such-roster.csv\"}",
   "policy.json: roster_csv: cannot read no-such-roster.csv: No such file or directory"},
};

static void test_bad_documents(void **state)
{
  (void)state;
  for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
    pa_policy *p = (pa_policy *)1;
    struct pa_policy_msgs m;
    struct pa_err err;
    pa_rc rc = load(bads[i].json, NULL, &p, &m, &err);
    if (rc != PA_MALFORMED || !has_line(&m, bads[i].line)) {
      fprintf(stderr, "case %zu: %s\n  want: %s\n", i, bads[i].json, bads[i].line);
      dump(&m);
    }
    assert_int_equal(rc, PA_MALFORMED);
    assert_null(p);
    assert_true(has_line(&m, bads[i].line));
    assert_string_equal(err.msg, m.errors[0]);
    pa_policy_msgs_cleanup(&m);
  }
}

/* Every error of one document, not just the first; x- and _comment pass. */
static void test_collects_all(void **state)
{
  (void)state;
  static const char *const json =
    "{\"_comment\": \"hi\", \"x-tool\": {\"any\": 1},"
    " \"users\": [{\"id\": \"a\", \"kind\": \"robot\", \"x-note\": 1},"
    "             {\"id\": \"b\", \"valid_from\": \"yesterday\"}],"
    " \"aes\": [{\"title\": \"\"}], \"oops\": 1}";
  static const char *const want[] = {
    "policy.json: oops: unknown key",
    "policy.json: users[0].kind: \"robot\" is not one of person, shared, emergency, service",
    "policy.json: users[1].valid_from: \"yesterday\" is not a date (YYYY-MM-DD)",
    "policy.json: aes[0].title: must not be empty",
  };
  pa_policy *p;
  struct pa_policy_msgs m;
  struct pa_err err;
  assert_int_equal(load(json, NULL, &p, &m, &err), PA_MALFORMED);
  if (m.n_errors != sizeof want / sizeof want[0])
    dump(&m);
  assert_int_equal(m.n_errors, sizeof want / sizeof want[0]);
  for (size_t i = 0; i < m.n_errors; i++)
    assert_string_equal(m.errors[i], want[i]);
  pa_policy_msgs_cleanup(&m);
}

/* An exception past its until is a warning, not an error. */
static void test_past_exception_warns(void **state)
{
  (void)state;
  static const char *const json =
    "{\"exceptions\": [{\"rule\": \"PR-04\", \"subject\": \"k\", \"until\": \"2020-01-31\","
    " \"reason\": \"approved\"}]}";
  pa_policy *p;
  struct pa_policy_msgs m;
  struct pa_err err;
  assert_int_equal(load(json, NULL, &p, &m, &err), PA_OK);
  assert_int_equal(m.n_errors, 0);
  assert_int_equal(m.n_warnings, 1);
  assert_string_equal(m.warnings[0], "policy.json: exceptions[0].until: 2020-01-31 has passed; "
                                     "the exception no longer applies");
  assert_int_equal(pa_policy_n_warnings(p), 1);
  assert_string_equal(pa_policy_warning(p, 0), m.warnings[0]);
  pa_policy_msgs_cleanup(&m);
  pa_policy_free(p);
}

/* Writes a roster into a fresh folder; returns the folder (static). */
static const char *roster_dir(const char *csv, size_t len)
{
  static char dir[64];
  char path[128];
  FILE *f;
  snprintf(dir, sizeof dir, "/tmp/pa_test_policy_XXXXXX");
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof path, "%s/roster.csv", dir);
  assert_non_null(f = fopen(path, "wb"));
  assert_int_equal(fwrite(csv, 1, len, f), len);
  fclose(f);
  return dir;
}

static void rm_roster(const char *dir)
{
  char path[128];
  snprintf(path, sizeof path, "%s/roster.csv", dir);
  unlink(path);
  rmdir(dir);
}

static const struct bad_csv {
  const char *csv, *line; /* line: after "<dir>/roster.csv: " */
} bad_csvs[] = {
  {"", "line 1: no header row"},
  {"id,name,rank\n", "line 1: unknown column \"rank\""},
  {"name,role\n", "line 1: no \"id\" column"},
  {"id,id\n", "line 1: column \"id\" appears twice"},
  {"id,name\r\na,b\r\nc\r\n", "line 3: 1 fields, the header has 2"},
  {"id,valid_to\na,2026-13-01\n", "line 2: valid_to: \"2026-13-01\" is not a date (YYYY-MM-DD)"},
  {"id,name\na,\"open\n", "line 2: a quoted field is not closed"},
  {"id,name\na,\"x\"y\n", "line 2: text after the closing quote of a field"},
  {"id,name\na,x\"y\n", "line 2: a quote inside an unquoted field"},
  {"id,name\n\"a\nb\",x\nc,d\nc,e\n", "line 5: id: \"c\" is also on line 4"},
  {"id,kind\na,robot\n", "line 2: kind: \"robot\" is not one of person, shared, emergency, service"},
  {"id,mfa\na,maybe\n", "line 2: mfa: \"maybe\" is not true or false"},
  {"id,name\n,nobody\n", "line 2: id: required"},
  {"id,role\na,nurse\n", "line 2: role: \"nurse\" is not in roles"},
  {"id,valid_from,valid_to\na,2026-02-01,2026-01-31\n",
   "line 2: valid_from 2026-02-01 is after valid_to 2026-01-31"},
};

static void test_bad_roster(void **state)
{
  (void)state;
  static const char *const json =
    "{\"roster_csv\": \"roster.csv\", \"roles\": {\"clerk\": {\"may\": [\"login\"]}}}";
  for (size_t i = 0; i < sizeof bad_csvs / sizeof bad_csvs[0]; i++) {
    const char *dir = roster_dir(bad_csvs[i].csv, strlen(bad_csvs[i].csv));
    char want[512];
    pa_policy *p;
    struct pa_policy_msgs m;
    struct pa_err err;
    pa_rc rc = load(json, dir, &p, &m, &err);
    snprintf(want, sizeof want, "%s/roster.csv: %s", dir, bad_csvs[i].line);
    if (rc != PA_MALFORMED || !has_line(&m, want)) {
      fprintf(stderr, "csv case %zu\n  want: %s\n", i, want);
      dump(&m);
    }
    assert_int_equal(rc, PA_MALFORMED);
    assert_true(has_line(&m, want));
    pa_policy_msgs_cleanup(&m);
    rm_roster(dir);
  }
}

static void test_roster_caps(void **state)
{
  (void)state;
  /* a field one byte over the cap */
  size_t n = 8 + PA_TEST_FIELD_CAP + 2;
  char *csv = malloc(n);
  memcpy(csv, "id,name\n", 8);
  memset(csv + 8, 'a', PA_TEST_FIELD_CAP + 1);
  csv[n - 1] = '\n';
  const char *dir = roster_dir(csv, n);
  char want[256];
  pa_policy *p;
  struct pa_policy_msgs m;
  struct pa_err err;
  assert_int_equal(load("{\"roster_csv\": \"roster.csv\"}", dir, &p, &m, &err), PA_MALFORMED);
  snprintf(want, sizeof want, "%s/roster.csv: line 2: a field is longer than %d bytes", dir,
           PA_TEST_FIELD_CAP);
  if (!has_line(&m, want))
    dump(&m);
  assert_true(has_line(&m, want));
  pa_policy_msgs_cleanup(&m);
  rm_roster(dir);
  free(csv);
}

/* A value in a message is cut after 60 bytes and the rest of a UTF-8
 * sequence: a run of continuation bytes (the CSV is not checked for UTF-8)
 * once ran past the quoting buffer. */
static void test_roster_quote_cut(void **state)
{
  char csv[3 + 300 + 1], want[512];
  size_t o;
  pa_policy *p = (pa_policy *)1;
  struct pa_policy_msgs m;
  struct pa_err err;

  (void)state;
  memcpy(csv, "id,", 3);
  memset(csv + 3, 0x9b, 300);
  csv[sizeof csv - 1] = '\n';
  /* 63 bytes quoted (60, then to the end of a would-be sequence), each
   * written \x9b in the line: they are not UTF-8 */
  o = (size_t)snprintf(want, sizeof want, "roster.csv: line 1: unknown column \"");
  for (int i = 0; i < 63; i++)
    o += (size_t)snprintf(want + o, sizeof want - o, "\\x9b");
  snprintf(want + o, sizeof want - o, "...\"");
  pa_policy_msgs_init(&m);
  pa_err_clear(&err);
  assert_int_equal(pa__policy_load_roster_string(NULL, csv, sizeof csv, &p, &m, &err),
                   PA_MALFORMED);
  assert_null(p);
  assert_int_equal(m.n_errors, 1);
  assert_string_equal(m.errors[0], want);
  pa_policy_msgs_cleanup(&m);
}

/* The roster alone, from a buffer: its users, and the same checks. */
static void test_roster_string(void **state)
{
  static const char csv[] = "\xEF\xBB\xBFid,name,mfa\r\n\"a\",\"Tanaka, \"\"R\"\"\",yes\r\n"
                            "b,\"two\nlines\",no\r\n\r\n";
  pa_policy *p;
  struct pa_policy_counts cnt;
  struct pa_policy_msgs m;
  struct pa_err err;

  (void)state;
  pa_policy_msgs_init(&m);
  pa_err_clear(&err);
  assert_int_equal(pa__policy_load_roster_string("r.csv", csv, sizeof csv - 1, &p, &m, &err),
                   PA_OK);
  assert_int_equal(m.n_errors, 0);
  pa_policy_counts(p, &cnt);
  assert_int_equal(cnt.users, 2);
  assert_int_equal(cnt.roster_users, 2);
  assert_string_equal(pa_policy_path(p), "r.csv");
  assert_string_equal(pa_policy_tz_name(p), "Asia/Tokyo");
  pa_policy_free(p);
  pa_policy_msgs_cleanup(&m);
  assert_int_equal(pa__policy_load_roster_string("r.csv", "id\na\na\n", 6, &p, &m, &err),
                   PA_MALFORMED);
  assert_string_equal(err.msg, "r.csv: line 3: id: \"a\" is also on line 2");
  pa_policy_msgs_cleanup(&m);
}

static sqlite3 *db_open(void)
{
  sqlite3 *db;
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  return db;
}

/* The first column of the first row of sql as text ("NULL" for NULL). */
static char *q1(sqlite3 *db, const char *sql)
{
  static char buf[512];
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) != SQLITE_ROW)
    snprintf(buf, sizeof buf, "(no row)");
  else if (sqlite3_column_type(st, 0) == SQLITE_NULL)
    snprintf(buf, sizeof buf, "NULL");
  else
    snprintf(buf, sizeof buf, "%s", (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  return buf;
}

static int64_t utc(int y, int mo, int d, int h, int mi)
{
  int64_t us;
  assert_int_equal(pa_time_from_utc(y, mo, d, h, mi, 0, 0, &us), PA_OK);
  return us;
}

static void assert_q_i64(sqlite3 *db, const char *sql, int64_t want)
{
  char w[32];
  snprintf(w, sizeof w, "%lld", (long long)want);
  assert_string_equal(q1(db, sql), w);
}

/* The example policy and its roster, through to the TEMP tables. */
static void test_valid_fixture_install(void **state)
{
  (void)state;
  char path[1024];
  pa_policy *p;
  struct pa_policy_msgs m;
  struct pa_err err;
  struct pa_policy_counts n;
  const char *text, *rule, *name;
  sqlite3 *db;

  pa_test_fixture_path(path, sizeof path, "policy/valid.json");
  pa_err_clear(&err);
  pa_policy_msgs_init(&m);
  assert_int_equal(pa_policy_load_msgs(path, &p, &m, &err), PA_OK);
  assert_int_equal(m.n_errors + m.n_warnings, 0);
  pa_policy_counts(p, &n);
  assert_int_equal(n.users, 7);
  assert_int_equal(n.roster_users, 3); /* r.tanaka's roster row loses to users */
  assert_int_equal(pa_policy_n_users(p), 7);
  assert_int_equal(n.roles, 6);
  assert_int_equal(n.aes, 3);
  assert_int_equal(n.vips, 2);
  assert_int_equal(n.holidays, 2);
  assert_int_equal(n.exceptions, 1);
  assert_string_equal(pa_policy_tz_name(p), "Asia/Tokyo");
  assert_string_equal(pa_tz_name(pa_policy_tz(p)), "Asia/Tokyo");
  assert_string_equal(pa_policy_path(p), path);
  assert_true(pa_policy_disabled(p, "AC-10"));
  assert_false(pa_policy_disabled(p, "AC-08"));
  pa_policy_param(p, "AC-08", "window", &text);
  assert_string_equal(text, "10m");
  pa_policy_param(p, "AC-08", "count", &text);
  assert_string_equal(text, "5");
  pa_policy_param(p, "AC-08", "nope", &text);
  assert_null(text);
  pa_policy_param(p, "require", "tls", &text);
  assert_string_equal(text, "true");
  pa_policy_param(p, "require", "mfa_from", &text);
  assert_string_equal(text, "2027-04-01");
  assert_int_equal(pa_policy_n_params(p), 4);
  pa_policy_param_at(p, 2, &rule, &name, &text);
  assert_string_equal(rule, "PR-01");
  assert_string_equal(name, "distinct_patients");
  assert_string_equal(text, "50");

  db = db_open();
  for (int round = 0; round < 2; round++) /* again: the old tables are replaced */
    assert_int_equal(pa_policy_install(p, db, &err), PA_OK);
  assert_string_equal(q1(db, "SELECT name || '|' || timezone FROM pol_site"),
                      "Example General Hospital|Asia/Tokyo");
  assert_string_equal(q1(db, "SELECT count(*) FROM pol_users"), "7");
  /* users wins over the roster's row for the same id */
  assert_string_equal(q1(db, "SELECT name || '|' || role FROM pol_users WHERE id='r.tanaka'"),
                      "田中 涼子|radiologist");
  /* valid_from: local midnight in Tokyo; valid_to open */
  assert_q_i64(db, "SELECT valid_from FROM pol_users WHERE id='r.tanaka'",
               utc(2020, 3, 31, 15, 0));
  assert_string_equal(q1(db, "SELECT valid_to FROM pol_users WHERE id='r.tanaka'"), "NULL");
  assert_string_equal(q1(db, "SELECT mfa FROM pol_users WHERE id='r.tanaka'"), "1");
  /* valid_to 2026-03-31 holds through that day: exclusive 2026-04-01 00:00 JST */
  assert_q_i64(db, "SELECT valid_to FROM pol_users WHERE id='s.sato'", utc(2026, 3, 31, 15, 0));
  assert_string_equal(q1(db, "SELECT name FROM pol_users WHERE id='s.sato'"), "Sato, Shiro");
  assert_string_equal(q1(db, "SELECT mfa FROM pol_users WHERE id='s.sato'"), "0");
  /* RFC 4180: doubled quotes, a CRLF inside quotes; empty kind is person */
  assert_string_equal(q1(db, "SELECT name FROM pol_users WHERE id='h.ito'"), "Ito \"Hana\"");
  assert_string_equal(q1(db, "SELECT department FROM pol_users WHERE id='h.ito'"),
                      "front desk\r\nwest wing");
  assert_string_equal(q1(db, "SELECT kind || '|' || ifnull(mfa, 'NULL') FROM pol_users "
                             "WHERE id='h.ito'"), "person|NULL");
  assert_string_equal(q1(db, "SELECT kind FROM pol_users WHERE id='rad-shared'"), "shared");
  assert_q_i64(db, "SELECT from_ts FROM pol_user_windows WHERE user_id='vendor-fse'",
               utc(2026, 11, 20, 0, 0));
  assert_q_i64(db, "SELECT to_ts FROM pol_user_windows WHERE user_id='vendor-fse'",
               utc(2026, 11, 20, 3, 0));
  assert_string_equal(q1(db, "SELECT count(*) FROM pol_roles"), "6");
  assert_string_equal(q1(db, "SELECT group_concat(op, ',') FROM (SELECT op FROM pol_role_ops "
                             "WHERE role='admin' ORDER BY op)"),
                      "admin,audit-read,delete,export,login");
  assert_string_equal(q1(db, "SELECT kind || restricted || has_dests FROM pol_aes "
                             "WHERE title='WS_RAD1'"), "workstation11");
  assert_string_equal(q1(db, "SELECT kind || restricted || has_dests FROM pol_aes "
                             "WHERE title='PACS'"), "archive00");
  assert_string_equal(q1(db, "SELECT group_concat(net, ' ') FROM pol_ae_nets "
                             "WHERE title='WS_RAD1'"), "192.0.2.32/28 2001:db8::/32");
  assert_string_equal(q1(db, "SELECT group_concat(op, ' ') FROM pol_ae_ops WHERE title='CT01'"),
                      "C-ECHO C-STORE");
  assert_string_equal(q1(db, "SELECT dest FROM pol_ae_dests WHERE title='WS_RAD1'"), "WS_RAD1");
  assert_string_equal(q1(db, "SELECT group_concat(patient_id, ' ') FROM pol_vip"),
                      "P000123 P000456");
  assert_string_equal(q1(db, "SELECT group_concat(dow || ':' || start_min || '-' || end_min, ' ')"
                             " FROM pol_hours"),
                      "1:480-1140 2:480-1140 3:480-1140 4:480-1140 5:480-1140");
  assert_string_equal(q1(db, "SELECT group_concat(day, ' ') FROM pol_holidays"),
                      "2026-01-01 2026-01-02");
  assert_string_equal(q1(db, "SELECT value FROM pol_require WHERE name='tls'"), "1");
  assert_q_i64(db, "SELECT value FROM pol_require WHERE name='mfa_from'",
               utc(2027, 3, 31, 15, 0));
  assert_string_equal(q1(db, "SELECT value FROM pol_require WHERE name='max_clock_skew_s'"), "5");
  assert_string_equal(q1(db, "SELECT value FROM pol_require WHERE name='log_silence_h'"), "24");
  assert_string_equal(q1(db, "SELECT value FROM pol_params WHERE rule_id='PR-01' "
                             "AND name='window'"), "1h");
  assert_string_equal(q1(db, "SELECT count(*) FROM pol_params"), "4");
  assert_string_equal(q1(db, "SELECT rule_id FROM pol_disabled"), "AC-10");
  assert_string_equal(q1(db, "SELECT rule_id || '|' || subject || '|' || reason "
                             "FROM pol_exceptions"),
                      "PR-04|k.nakamura|night reading shift, approved by the CIO on 2026-10-01");
  assert_q_i64(db, "SELECT until_ts FROM pol_exceptions", utc(2099, 3, 31, 15, 0));
  sqlite3_close(db);
  pa_policy_msgs_cleanup(&m);
  pa_policy_free(p);
}

/* Dates in a zone with DST, defaults when most is absent. */
static void test_new_york_and_defaults(void **state)
{
  (void)state;
  static const char *const json =
    "{\"site\": {\"timezone\": \"America/New_York\"},"
    " \"users\": [{\"id\": \"a\", \"valid_from\": \"2026-03-08\", \"valid_to\": \"2026-03-08\","
    "              \"windows\": [{\"from\": \"2026-03-08T01:00\", \"to\": \"2026-03-08T03:00\"},"
    "                           {\"from\": \"2026-03-08T01:00Z\", \"to\": \"2026-03-08T03:00+01:00\"}]}],"
    " \"thresholds\": {\"AC-08\": {\"ratio\": 0.1}}, \"require\": {\"max_clock_skew_s\": 2.5}}";
  pa_policy *p;
  struct pa_policy_msgs m;
  struct pa_err err;
  const char *text;
  sqlite3 *db;

  assert_int_equal(load(json, NULL, &p, &m, &err), PA_OK);
  pa_policy_param(p, "AC-08", "ratio", &text);
  assert_string_equal(text, "0.1");
  pa_policy_param(p, "require", "max_clock_skew_s", &text);
  assert_string_equal(text, "2.5");
  db = db_open();
  assert_int_equal(pa_policy_install(p, db, &err), PA_OK);
  assert_string_equal(q1(db, "SELECT ifnull(name, 'NULL') || '|' || timezone FROM pol_site"),
                      "NULL|America/New_York");
  /* the day of the spring change is 23 hours long */
  assert_q_i64(db, "SELECT valid_from FROM pol_users", utc(2026, 3, 8, 5, 0));
  assert_q_i64(db, "SELECT valid_to FROM pol_users", utc(2026, 3, 9, 4, 0));
  assert_string_equal(q1(db, "SELECT kind || '|' || ifnull(mfa, 'NULL') FROM pol_users"),
                      "person|NULL");
  assert_q_i64(db, "SELECT (to_ts - from_ts) / 60000000 FROM pol_user_windows LIMIT 1", 60);
  assert_q_i64(db, "SELECT from_ts FROM pol_user_windows LIMIT 1 OFFSET 1",
               utc(2026, 3, 8, 1, 0));
  assert_q_i64(db, "SELECT to_ts FROM pol_user_windows LIMIT 1 OFFSET 1", utc(2026, 3, 8, 2, 0));
  assert_string_equal(q1(db, "SELECT value FROM pol_require"), "2.5");
  assert_string_equal(q1(db, "SELECT count(*) FROM pol_hours"), "0");
  sqlite3_close(db);
  pa_policy_msgs_cleanup(&m);
  pa_policy_free(p);
}

static void test_load_errors(void **state)
{
  (void)state;
  pa_policy *p;
  struct pa_err err;
  char path[1024];
  pa_err_clear(&err);
  assert_int_equal(pa_policy_load("/nonexistent/policy.json", &p, &err), PA_IO);
  assert_null(p);
  assert_string_equal(err.msg, "/nonexistent/policy.json: cannot read: No such file or directory");
  pa_test_fixture_path(path, sizeof path, "policy/bad-users.json");
  assert_int_equal(pa_policy_load(path, &p, &err), PA_MALFORMED);
  assert_null(p);
  /* err holds the first of the five errors */
  assert_non_null(strstr(err.msg, "bad-users.json: users[1].role: \"radiologst\" is not in roles"));
  /* the size cap */
  size_t n = PA_TEST_POLICY_CAP + 1;
  char *big = malloc(n);
  memset(big, ' ', n);
  assert_int_equal(pa_policy_load_string("big.json", big, n, NULL, &p, &err), PA_LIMIT);
  free(big);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_bad_documents),
    cmocka_unit_test(test_collects_all),
    cmocka_unit_test(test_past_exception_warns),
    cmocka_unit_test(test_bad_roster),
    cmocka_unit_test(test_roster_caps),
    cmocka_unit_test(test_roster_quote_cut),
    cmocka_unit_test(test_roster_string),
    cmocka_unit_test(test_valid_fixture_install),
    cmocka_unit_test(test_new_york_and_defaults),
    cmocka_unit_test(test_load_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
