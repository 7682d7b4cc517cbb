/* findings.c — `pacsaudit findings`: list the findings, and let a reviewer
 * acknowledge or close one.
 *
 * The list only reads: it opens the database read-only and never creates
 * one. ack and close write through the store (pa_store_finding_set_status):
 * the status, a finding_history row with who, when and why, and a runs row,
 * all in one transaction; nothing is deleted. Everything printed that came
 * from logs or from a reviewer is escaped for its format: control bytes in
 * text, formulas in CSV, invalid UTF-8 in JSON. */
#include "cli.h"

#include "analyzer/buf.h"
#include "analyzer/err.h"
#include "analyzer/utf8.h"
#include "analyzer/log.h"
#include "analyzer/policy.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit findings [--db FILE] [--status S] [--rule ID] [--format F]\n"
          "       pacsaudit findings [--db FILE] ack ID --by NAME --note TEXT\n"
          "       pacsaudit findings [--db FILE] close ID --by NAME --note TEXT\n"
          "\n"
          "Lists the findings `pacsaudit check` recorded, or records a reviewer's decision\n"
          "on one: ack (acknowledged: seen, being handled) or close (dealt with). Who, when\n"
          "and why are kept in the store with every earlier change; nothing is deleted.\n"
          "A finding goes open or excepted -> acknowledged -> closed, or open -> closed;\n"
          "a later check never changes a status a reviewer set.\n"
          "\n"
          "options:\n"
          "  --db FILE        database (default $PACSAUDIT_DB or ./pacsaudit.db); it must\n"
          "                   exist: the list opens it read-only, ack and close never\n"
          "                   create one\n"
          "  --status S       list only open, excepted, acknowledged or closed findings\n"
          "  --rule ID        list only the findings of rule ID\n"
          "  --format F       text (default), json or csv\n"
          "  --policy FILE    the site policy, for its time zone (default Asia/Tokyo)\n"
          "  --by NAME        ack, close: who decides (required; UTF-8 text)\n"
          "  --note TEXT      ack, close: why (required)\n"
          "  -h, --help       this text\n"
          "\n"
          "exit status: 0 ok, 2 usage or input error (a missing database, an unknown\n"
          "finding id, a change not allowed), 3 internal error\n");
}

/* ---- text, CSV and JSON cells -------------------------------------- */

/* v with control bytes escaped (text output). Returns buf. */
static const char *esc(const char *v, char *buf, size_t size)
{
  pa_escape_ctl(buf, size, v ? v : "");
  return buf;
}

/* One CSV cell: a cell that a spreadsheet would read as a formula (it
 * starts with = + - @, a tab or CR) gets a leading '; a cell with a comma,
 * quote or line break is quoted. */
static void csv_cell(const char *v, int last)
{
  const char *p;
  int quote;

  if (!v)
    v = "";
  quote = strpbrk(v, ",\"\r\n") != NULL;
  if (quote)
    putchar('"');
  if (strchr("=+-@\t\r", v[0]) && v[0])
    putchar('\'');
  for (p = v; *p; p++) {
    if (*p == '"')
      putchar('"');
    putchar(*p);
  }
  if (quote)
    putchar('"');
  putchar(last ? '\n' : ',');
}

/* A JSON string of v (NULL: null). Bytes that are not UTF-8 are written as
 * the text \xNN, so a hostile subject cannot make the output invalid. */
static json_t *jstr(const char *v)
{
  struct pa_buf b;
  json_t *j;
  size_t len, i = 0, n;

  if (!v)
    return json_null();
  len = strlen(v);
  if ((j = json_stringn(v, len)))
    return j;
  pa_buf_init(&b, 4 * len + 1);
  while (i < len) {
    if ((n = pa_utf8_char(v + i, len - i))) {
      if (pa_buf_append(&b, v + i, n))
        break;
      i += n;
    } else {
      char x[5];
      snprintf(x, sizeof x, "\\x%02x", (unsigned char)v[i]);
      if (pa_buf_append(&b, x, 4))
        break;
      i++;
    }
  }
  j = json_string(pa_buf_str(&b));
  pa_buf_cleanup(&b);
  return j;
}

static const char *col(sqlite3_stmt *q, int i) { return (const char *)sqlite3_column_text(q, i); }

/* A time for people: "YYYY-MM-DD hh:mm:ss" in the site's zone. */
static void short_time(int64_t us, const char *tz, char out[40])
{
  pa_time_format(us, tz, out);
  out[10] = ' ';
  out[19] = '\0';
}

/* ---- the list ------------------------------------------------------ */

static const char *const list_sql =
  "SELECT f.id, f.rule_id, f.severity, f.strength, f.status, f.subject, f.first_ts,"
  " f.last_ts, f.count, f.guideline_ref, f.reason, h.by, h.at, h.note"
  " FROM findings f LEFT JOIN finding_history h ON h.id ="
  "  (SELECT max(id) FROM finding_history WHERE finding_id = f.id)"
  " WHERE (?1 IS NULL OR f.status = ?1) AND (?2 IS NULL OR f.rule_id = ?2) ORDER BY f.id";

enum { C_ID, C_RULE, C_SEV, C_STR, C_STATUS, C_SUBJ, C_FIRST, C_LAST, C_COUNT, C_GREF, C_REASON,
       C_BY, C_AT, C_NOTE };

static json_t *history_of(sqlite3_stmt *h, int64_t id, const char *tz)
{
  json_t *a = json_array();
  char t[40];
  sqlite3_reset(h);
  sqlite3_bind_int64(h, 1, id);
  while (a && sqlite3_step(h) == SQLITE_ROW) {
    pa_time_format(sqlite3_column_int64(h, 3), tz, t);
    json_array_append_new(a, json_pack("{s:o, s:o, s:o, s:s, s:I, s:o, s:I}", "status",
                                       jstr(col(h, 0)), "prev_status", jstr(col(h, 1)), "by",
                                       jstr(col(h, 2)), "at", t, "at_us",
                                       (json_int_t)sqlite3_column_int64(h, 3), "note",
                                       jstr(col(h, 4)), "run_id",
                                       (json_int_t)sqlite3_column_int64(h, 5)));
  }
  return a;
}

static json_t *json_row(sqlite3_stmt *q, sqlite3_stmt *h, const char *tz)
{
  char f[40], l[40];
  json_t *gref = NULL, *o;
  const char *g = col(q, C_GREF);

  pa_time_format(sqlite3_column_int64(q, C_FIRST), tz, f);
  pa_time_format(sqlite3_column_int64(q, C_LAST), tz, l);
  if (g)
    gref = json_loads(g, 0, NULL);
  if (!gref)
    gref = jstr(g);
  o = json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:s, s:I, s:I, s:I, s:o, s:o, s:o}", "id",
                (json_int_t)sqlite3_column_int64(q, C_ID), "rule_id", jstr(col(q, C_RULE)),
                "severity", jstr(col(q, C_SEV)), "strength", jstr(col(q, C_STR)), "status",
                jstr(col(q, C_STATUS)), "subject", jstr(col(q, C_SUBJ)), "first", f, "last", l,
                "first_us", (json_int_t)sqlite3_column_int64(q, C_FIRST), "last_us",
                (json_int_t)sqlite3_column_int64(q, C_LAST), "count",
                (json_int_t)sqlite3_column_int64(q, C_COUNT), "guideline", gref, "reason",
                jstr(col(q, C_REASON)), "history",
                history_of(h, sqlite3_column_int64(q, C_ID), tz));
  return o;
}

static void text_row(sqlite3_stmt *q, const char *tz)
{
  char f[40], l[40], a[40], e1[64], e2[64], e3[64], e4[64], subj[2048], by[1024], note[4096];

  short_time(sqlite3_column_int64(q, C_FIRST), tz, f);
  short_time(sqlite3_column_int64(q, C_LAST), tz, l);
  printf("%6lld %-8s %-8s %-9s %-12s %6lld %s %s %s\n",
         (long long)sqlite3_column_int64(q, C_ID), esc(col(q, C_RULE), e1, sizeof e1),
         esc(col(q, C_SEV), e2, sizeof e2), esc(col(q, C_STR), e3, sizeof e3),
         esc(col(q, C_STATUS), e4, sizeof e4), (long long)sqlite3_column_int64(q, C_COUNT), f,
         l, esc(col(q, C_SUBJ) ? col(q, C_SUBJ) : "-", subj, sizeof subj));
  if (col(q, C_BY)) {
    short_time(sqlite3_column_int64(q, C_AT), tz, a);
    printf("%6s %s by %s at %s%s%s\n", "", e4, esc(col(q, C_BY), by, sizeof by), a,
           col(q, C_NOTE) ? ": " : "", esc(col(q, C_NOTE), note, sizeof note));
  } else if (col(q, C_REASON)) {
    printf("%6s %s: %s\n", "", e4, esc(col(q, C_REASON), note, sizeof note));
  }
}

static int list(pa_store *s, const char *status, const char *rule, const char *format,
                const char *tz)
{
  sqlite3 *db = pa_store_handle(s);
  sqlite3_stmt *q = NULL, *h = NULL;
  json_t *root = NULL, *arr = NULL;
  uint64_t n = 0, by_status[4] = {0};
  static const char *const st[] = {"open", "excepted", "acknowledged", "closed"};
  int rc, r = PA_EXIT_INTERNAL;
  char *text;

  if (sqlite3_prepare_v2(db, list_sql, -1, &q, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(db, "SELECT status, prev_status, by, at, note, run_id FROM"
                             " finding_history WHERE finding_id = ? ORDER BY id", -1, &h,
                         NULL) != SQLITE_OK) {
    pa_log(PA_LOG_ERROR, "findings: %s", sqlite3_errmsg(db));
    goto out;
  }
  if (status)
    sqlite3_bind_text(q, 1, status, -1, SQLITE_STATIC);
  if (rule)
    sqlite3_bind_text(q, 2, rule, -1, SQLITE_STATIC);
  if (!strcmp(format, "json")) {
    if (!(root = json_object()) || !(arr = json_array()) ||
        json_object_set_new(root, "findings", arr))
      goto out;
  } else if (!strcmp(format, "csv")) {
    printf("id,rule_id,severity,strength,status,subject,first,last,count,guideline,reason,"
           "reviewed_by,reviewed_at,note\n");
  } else {
    printf("%6s %-8s %-8s %-9s %-12s %6s %-19s %-19s %s\n", "id", "rule", "severity",
           "strength", "status", "count", "first", "last", "subject");
  }
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *stat = col(q, C_STATUS) ? col(q, C_STATUS) : "";
    n++;
    for (size_t i = 0; i < 4; i++)
      by_status[i] += !strcmp(stat, st[i]);
    if (arr) {
      json_t *o = json_row(q, h, tz);
      if (!o || json_array_append_new(arr, o))
        goto out;
    } else if (!strcmp(format, "csv")) {
      char id[24], cnt[24], f[40], l[40], a[40];
      snprintf(id, sizeof id, "%lld", (long long)sqlite3_column_int64(q, C_ID));
      snprintf(cnt, sizeof cnt, "%lld", (long long)sqlite3_column_int64(q, C_COUNT));
      pa_time_format(sqlite3_column_int64(q, C_FIRST), tz, f);
      pa_time_format(sqlite3_column_int64(q, C_LAST), tz, l);
      if (col(q, C_BY))
        pa_time_format(sqlite3_column_int64(q, C_AT), tz, a);
      csv_cell(id, 0);
      csv_cell(col(q, C_RULE), 0);
      csv_cell(col(q, C_SEV), 0);
      csv_cell(col(q, C_STR), 0);
      csv_cell(stat, 0);
      csv_cell(col(q, C_SUBJ), 0);
      csv_cell(f, 0);
      csv_cell(l, 0);
      csv_cell(cnt, 0);
      csv_cell(col(q, C_GREF), 0);
      csv_cell(col(q, C_REASON), 0);
      csv_cell(col(q, C_BY), 0);
      csv_cell(col(q, C_BY) ? a : NULL, 0);
      csv_cell(col(q, C_NOTE), 1);
    } else {
      text_row(q, tz);
    }
  }
  if (rc != SQLITE_DONE) {
    pa_log(PA_LOG_ERROR, "findings: %s", sqlite3_errmsg(db));
    goto out;
  }
  if (root) {
    if (!(text = json_dumps(root, JSON_INDENT(2))))
      goto out;
    printf("%s\n", text);
    free(text);
  } else if (strcmp(format, "csv")) {
    printf("findings: %llu (%llu open, %llu excepted, %llu acknowledged, %llu closed)\n",
           (unsigned long long)n, (unsigned long long)by_status[0],
           (unsigned long long)by_status[1], (unsigned long long)by_status[2],
           (unsigned long long)by_status[3]);
  }
  r = PA_EXIT_OK;
out:
  sqlite3_finalize(q);
  sqlite3_finalize(h);
  json_decref(root);
  return r;
}

/* ---- ack and close ------------------------------------------------- */

static int parse_id(const char *v, int64_t *id)
{
  char *end;
  long long x;
  errno = 0;
  x = strtoll(v, &end, 10);
  if (errno || end == v || *end || x <= 0)
    return -1;
  *id = x;
  return 0;
}

static int set_status(const char *db, const char *verb, const char *idtext, const char *by,
                      const char *note)
{
  const char *status = !strcmp(verb, "ack") ? "acknowledged" : "closed";
  char ebuf[1024], e2[4096];
  struct pa_err err;
  pa_store *s = NULL;
  int64_t id, run_id = 0;
  pa_rc rc;
  int r;

  if (parse_id(idtext, &id)) {
    fprintf(stderr, "pacsaudit: findings %s: \"%s\" is not a finding id (a number from"
                    " `pacsaudit findings`)\n", verb, esc(idtext, ebuf, sizeof ebuf));
    return PA_EXIT_INPUT;
  }
  if (!by || !note) {
    fprintf(stderr, "pacsaudit: findings %s: --by NAME and --note TEXT are required\n", verb);
    return PA_EXIT_INPUT;
  }
  /* a writer, but a typo in --db must not create a database */
  if ((r = pa_cli_open_store_mode(db, PA_STORE_NOCREATE, &s)))
    return r;
  pa_err_clear(&err);
  rc = pa_store_finding_set_status(s, id, status, by, note, &run_id, &err);
  if (rc == PA_OK)
    printf("finding %" PRId64 ": %s by %s (run %" PRId64 ")\n", id, status,
           esc(by, ebuf, sizeof ebuf), run_id);
  else
    fprintf(stderr, "pacsaudit: %s: %s\n", esc(db, ebuf, sizeof ebuf),
            esc(err.msg, e2, sizeof e2));
  if (pa_store_close(s) && rc == PA_OK)
    rc = PA_DB;
  return rc == PA_OK ? PA_EXIT_OK : rc == PA_USAGE ? PA_EXIT_INPUT : PA_EXIT_INTERNAL;
}

/* The site's zone from --policy, else the default; *bad when the policy
 * does not load. The returned policy (may be NULL) is the caller's. */
static pa_policy *tz_policy(const char *path, int *bad)
{
  struct pa_err err;
  pa_policy *p = NULL;
  *bad = 0;
  if (!path)
    return NULL;
  pa_err_clear(&err);
  if (pa_policy_load(path, &p, &err) != PA_OK) {
    fprintf(stderr, "pacsaudit: %s: %s\n", path, err.msg);
    *bad = 1;
    pa_policy_free(p);
    return NULL;
  }
  return p;
}

int pa_cmd_findings(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},     {"status", required_argument, NULL, 's'},
    {"rule", required_argument, NULL, 'r'},   {"format", required_argument, NULL, 'f'},
    {"by", required_argument, NULL, 'b'},     {"note", required_argument, NULL, 'n'},
    {"policy", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db = pa_cli_default_db(), *status = NULL, *rule = NULL, *format = "text";
  const char *by = NULL, *note = NULL, *policy = NULL;
  pa_policy *pol;
  pa_store *s = NULL;
  int c, r, bad;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 's': status = optarg; break;
    case 'r': rule = optarg; break;
    case 'f': format = optarg; break;
    case 'b': by = optarg; break;
    case 'n': note = optarg; break;
    case 'p': policy = optarg; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind < argc) {
    if ((strcmp(argv[optind], "ack") && strcmp(argv[optind], "close")) ||
        optind + 2 != argc || status || rule || strcmp(format, "text")) {
      help(stderr);
      return PA_EXIT_INPUT;
    }
    return set_status(db, argv[optind], argv[optind + 1], by, note);
  }
  if (by || note) {
    fprintf(stderr, "pacsaudit: findings: --by and --note go with ack or close\n");
    return PA_EXIT_INPUT;
  }
  if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "csv")) {
    fprintf(stderr, "pacsaudit: findings: --format is text, json or csv\n");
    return PA_EXIT_INPUT;
  }
  if (status && strcmp(status, "open") && strcmp(status, "excepted") &&
      strcmp(status, "acknowledged") && strcmp(status, "closed")) {
    fprintf(stderr, "pacsaudit: findings: --status is open, excepted, acknowledged or"
                    " closed\n");
    return PA_EXIT_INPUT;
  }
  pol = tz_policy(policy, &bad);
  if (bad)
    return PA_EXIT_INPUT;
  /* a reader: a typo in --db must not leave an empty database behind */
  if ((r = pa_cli_open_store_mode(db, PA_STORE_RDONLY, &s)) == PA_EXIT_OK) {
    r = list(s, status, rule, format, pol ? pa_policy_tz_name(pol) : PA_DEFAULT_TZ);
    pa_store_close(s);
  }
  pa_policy_free(pol);
  return r;
}
