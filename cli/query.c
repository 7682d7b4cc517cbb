/* query.c — `pacsaudit query`: the timeline of one patient, user, AE title
 * or IP address, across every source, in the site's time zone.
 *
 * Opens the store read-only (a typo in --db never creates a database), asks
 * analyzer/query for the rows and writes each as it comes: aligned text for
 * people, a JSON array or CSV for tools. Everything in a row comes from logs:
 * text has its control bytes escaped, CSV cells cannot become formulas. */
#include "cli.h"

#include "analyzer/err.h"
#include "analyzer/log.h"
#include "analyzer/policy.h"
#include "analyzer/query.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "analyzer/tz.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit query [--db FILE] [--policy FILE] [--since TIME] [--until TIME]\n"
          "                       [--format text|json|csv] [--limit N] [--plan]\n"
          "                       patient ID | user ID | ae TITLE | ip ADDRESS\n"
          "\n"
          "Prints the timeline of one patient, user, AE title or IP address across every\n"
          "source (ATNA, FHIR, syslog, DICOM), ordered by time, in the site's time zone:\n"
          "what was done, by whom, from where, on which patient or study, the outcome,\n"
          "and the source and input each event came from.\n"
          "\n"
          "  patient ID   the patient id, with or without its CX suffix (0020481739 and\n"
          "               0020481739^^^HOSPA find each other)\n"
          "  user ID      the user id as logged\n"
          "  ae TITLE     an AE title, as the caller or the called node\n"
          "  ip ADDRESS   an address, as the source or the destination\n"
          "\n"
          "options:\n"
          "  --db FILE        database (default $PACSAUDIT_DB or ./pacsaudit.db); opened\n"
          "                   read-only, never created\n"
          "  --policy FILE    the site policy: its site.timezone (default Asia/Tokyo)\n"
          "  --since TIME     events from TIME (ISO 8601; a date is local midnight in the\n"
          "  --until TIME     site's zone); --until is exclusive\n"
          "  --format F       text (default), json (an array of objects) or csv (RFC 4180)\n"
          "  --limit N        the first N events only; 0: all (the default for json\n"
          "                   and csv; text shows the first 1000 and says if more\n"
          "                   follow)\n"
          "  --plan           print the query plan (EXPLAIN QUERY PLAN) instead of rows\n"
          "  -h, --help       this text\n"
          "\n"
          "exit status: 0 ok (no events: \"no events\" on stderr), 2 usage error or a\n"
          "database that cannot be opened, 3 internal error\n");
}

enum fmt { F_TEXT, F_JSON, F_CSV };

struct out {
  enum fmt fmt;
  const pa_tz *tz;
  uint64_t n;
  uint64_t shown_max; /* text by default: print this many, then say more follow */
  int more;           /* a row past shown_max came */
  int io_error;
};

/* What the text timeline shows without --limit: a screenful an
 * investigator reads, answered in well under a second however busy the
 * subject (a PACS's AE title has millions of events a month). */
#define TEXT_DEFAULT_ROWS 1000

/* ts as local wall time: "YYYY-MM-DD hh:mm:ss" (text) or ISO 8601 with the
 * zone's offset and microseconds (json, csv). */
static void fmt_time(const pa_tz *tz, int64_t ts, int iso, char out[64])
{
  int64_t local = pa_tz_to_local_us(tz, ts);
  int64_t secs = local / 1000000, us = local % 1000000;
  time_t t;
  struct tm tm;
  int32_t off = pa_tz_offset_s(tz, ts);
  int aoff = (off < 0 ? -off : off) % 86400; /* a zone is within a day of UTC */

  if (us < 0) {
    us += 1000000;
    secs--;
  }
  t = (time_t)secs;
  if (!gmtime_r(&t, &tm)) {
    snprintf(out, 64, "%lld", (long long)ts);
    return;
  }
  if (!iso) {
    snprintf(out, 64, "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return;
  }
  snprintf(out, 64, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld%c%02d:%02d", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long long)us,
           off < 0 ? '-' : '+', aoff / 3600, (aoff % 3600) / 60);
}

/* ---- text ---------------------------------------------------------------- */

/* Terminal columns of the escaped text s: a UTF-8 lead byte counts 1, a
 * CJK or full-width one (E1..EF, 3-byte) 2, continuation bytes 0. Only for
 * padding: a wrong guess shifts a column, nothing more. */
static size_t columns(const char *s)
{
  size_t n = 0;
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if ((*p & 0xC0) != 0x80)
      n += *p >= 0xE1 && *p <= 0xEF ? 2 : 1;
  return n;
}

/* Writes s with its control bytes escaped (\xNN), whole however long;
 * returns the columns written. */
static size_t emit(const char *s)
{
  char small[1024], *buf = small;
  size_t len = strlen(s), cols;
  if (4 * len + 1 > sizeof small && !(buf = malloc(4 * len + 1)))
    buf = small; /* out of memory: written cut rather than not at all */
  pa_escape_ctl(buf, buf == small ? sizeof small : 4 * len + 1, s);
  fputs(buf, stdout);
  cols = columns(buf);
  if (buf != small)
    free(buf);
  return cols;
}

static int has(const char *s) { return s && *s; }

/* One cell made of parts, each an (open, value, close) triple: a part
 * whose value is empty, or the same as the value before it, is left out;
 * the first part written drops its open when it has no close (" @AE"
 * alone is "AE") and its open's leading blanks otherwise (" (name)" alone
 * is "(name)"). "-" when every part is empty. Padded to width and followed
 * by two blanks, or by a newline when last. */
static void cell(int width, int last, size_t n, const char *const *parts)
{
  size_t cols = 0;
  const char *prev = NULL;
  for (size_t i = 0; i < n; i++) {
    const char *open = parts[3 * i], *v = parts[3 * i + 1], *close = parts[3 * i + 2];
    if (!has(v) || (prev && !strcmp(prev, v)))
      continue;
    if (!prev)
      for (open = *close ? open : ""; *open == ' '; open++)
        ;
    cols += emit(open);
    cols += emit(v);
    cols += emit(close);
    prev = v;
  }
  if (!prev)
    cols += emit("-");
  if (last) {
    putchar('\n');
    return;
  }
  for (; (int)cols < width; cols++)
    putchar(' ');
  fputs("  ", stdout);
}

#define CELL(width, ...)                                                           \
  do {                                                                             \
    const char *const parts_[] = {__VA_ARGS__};                                    \
    cell(width, 0, sizeof parts_ / sizeof parts_[0] / 3, parts_);                  \
  } while (0)

static const char *outcome_text(const struct pa_query_row *r)
{
  return r->has_outcome ? pa_query_outcome_name(r->outcome) : "-";
}

static void text_header(const pa_tz *tz)
{
  char zone[64];
  snprintf(zone, sizeof zone, "time (%s)", pa_tz_name(tz));
  printf("%-19s  %-6s  %-9s  %-16s  %-15s  %-24s  %-22s  %-22s  %-24s  %s\n", zone, "source",
         "op", "event", "outcome", "who", "from", "to", "patient / study", "origin");
}

static void text_row(struct out *o, const struct pa_query_row *r)
{
  char t[64];
  const char *const origin[] = {"", r->origin, ""};
  /* a study without a patient is shown "- / study" */
  const char *patient = has(r->patient_id) ? r->patient_id : has(r->study_uid) ? "-" : NULL;

  fmt_time(o->tz, r->ts, 0, t);
  CELL(19, "", t, "");
  CELL(6, "", r->source, "");
  CELL(9, "", r->op, "");
  CELL(16, "", r->event_code, "");
  CELL(15, "", outcome_text(r), "");
  CELL(24, "", r->user_id, "", " (", r->user_name, ")", " @", r->src_ae, "");
  CELL(22, "", r->src_ip, "", " (", r->host, ")");
  CELL(22, "", r->dst_ae, "", " @", r->dst_ip, "");
  CELL(24, "", patient, "", " / ", r->study_uid, "");
  cell(0, 1, 1, origin);
}

/* ---- csv ----------------------------------------------------------------- */

static const char *const csv_cols[] = {
  "time", "source", "origin", "event_id", "op", "event_code", "action", "outcome",
  "user_id", "user_name", "user_role", "src_ip", "src_ae", "dst_ip", "dst_ae", "host",
  "patient_id", "study_uid", "object_count",
};
#define N_CSV_COLS (sizeof csv_cols / sizeof csv_cols[0])

/* One RFC 4180 cell: quoted when it holds a comma, a quote, CR or LF; a
 * cell that a spreadsheet would read as a formula (it starts with = + - @,
 * tab or CR) gets a leading ' first. */
static void csv_cell(const char *s, int last)
{
  int formula = s && (*s == '=' || *s == '+' || *s == '-' || *s == '@' || *s == '\t' ||
                      *s == '\r');
  int quote = s && (formula || strpbrk(s, ",\"\r\n") != NULL);
  if (s) {
    if (quote)
      putchar('"');
    if (formula)
      putchar('\'');
    for (const char *p = s; *p; p++) {
      if (*p == '"')
        putchar('"');
      putchar(*p);
    }
    if (quote)
      putchar('"');
  }
  fputs(last ? "\r\n" : ",", stdout);
}

static void csv_header(void)
{
  for (size_t i = 0; i < N_CSV_COLS; i++)
    csv_cell(csv_cols[i], i + 1 == N_CSV_COLS);
}

static void csv_row(struct out *o, const struct pa_query_row *r)
{
  char t[64], id[24], oc[24], cnt[24];
  const char *v[N_CSV_COLS];

  fmt_time(o->tz, r->ts, 1, t);
  snprintf(id, sizeof id, "%lld", (long long)r->id);
  snprintf(oc, sizeof oc, "%d", r->outcome);
  snprintf(cnt, sizeof cnt, "%lld", (long long)r->object_count);
  v[0] = t; v[1] = r->source; v[2] = r->origin; v[3] = id; v[4] = r->op;
  v[5] = r->event_code; v[6] = r->action; v[7] = r->has_outcome ? oc : NULL;
  v[8] = r->user_id; v[9] = r->user_name; v[10] = r->user_role; v[11] = r->src_ip;
  v[12] = r->src_ae; v[13] = r->dst_ip; v[14] = r->dst_ae; v[15] = r->host;
  v[16] = r->patient_id; v[17] = r->study_uid; v[18] = r->object_count >= 0 ? cnt : NULL;
  for (size_t i = 0; i < N_CSV_COLS; i++)
    csv_cell(v[i], i + 1 == N_CSV_COLS);
}

/* ---- json ---------------------------------------------------------------- */

/* A JSON string of s, or null; a value that is not UTF-8 is kept with each
 * byte outside ASCII written as the text \xNN (nothing is dropped). */
static json_t *jstr(const char *s)
{
  json_t *j;
  if (!s)
    return json_null();
  if ((j = json_string(s)))
    return j;
  {
    size_t n = strlen(s);
    char *b = malloc(6 * n + 1);
    size_t o = 0;
    if (!b)
      return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
      if (*p < 0x80)
        b[o++] = (char)*p;
      else
        o += (size_t)snprintf(b + o, 7, "\\x%02x", *p);
    }
    b[o] = '\0';
    j = json_string(b);
    free(b);
    return j;
  }
}

static int json_row(struct out *o, const struct pa_query_row *r)
{
  char t[64], *text;
  json_t *j = json_object();
  int bad = 0;

  if (!j)
    return -1;
  fmt_time(o->tz, r->ts, 1, t);
#define SET(k, v)                                    \
  do {                                               \
    json_t *v_ = (v);                                \
    if (!v_ || json_object_set_new(j, (k), v_) != 0) \
      bad = 1;                                       \
  } while (0)
  SET("time", json_string(t));
  SET("ts_us", json_integer(r->ts));
  SET("source", jstr(r->source));
  SET("origin", jstr(r->origin));
  SET("event_id", json_integer(r->id));
  SET("op", jstr(r->op));
  SET("event_code", jstr(r->event_code));
  SET("action", jstr(r->action));
  SET("outcome", r->has_outcome ? json_integer(r->outcome) : json_null());
  SET("outcome_name", r->has_outcome ? json_string(pa_query_outcome_name(r->outcome))
                                     : json_null());
  SET("user_id", jstr(r->user_id));
  SET("user_name", jstr(r->user_name));
  SET("user_role", jstr(r->user_role));
  SET("src_ip", jstr(r->src_ip));
  SET("src_ae", jstr(r->src_ae));
  SET("dst_ip", jstr(r->dst_ip));
  SET("dst_ae", jstr(r->dst_ae));
  SET("host", jstr(r->host));
  SET("patient_id", jstr(r->patient_id));
  SET("study_uid", jstr(r->study_uid));
  SET("object_count", r->object_count >= 0 ? json_integer(r->object_count) : json_null());
#undef SET
  text = bad ? NULL : json_dumps(j, JSON_PRESERVE_ORDER | JSON_COMPACT);
  json_decref(j);
  if (!text)
    return -1;
  printf("%s\n  %s", o->n ? "," : "[", text);
  free(text);
  return 0;
}

/* ---- the rows ------------------------------------------------------------ */

static pa_rc on_row(void *ctx, const struct pa_query_row *r)
{
  struct out *o = ctx;
  if (o->shown_max && o->n == o->shown_max) {
    o->more = 1;
    return PA_OK; /* the one row asked for beyond them: there are more */
  }
  switch (o->fmt) {
  case F_TEXT:
    if (!o->n)
      text_header(o->tz);
    text_row(o, r);
    break;
  case F_CSV:
    if (!o->n)
      csv_header();
    csv_row(o, r);
    break;
  case F_JSON:
    if (json_row(o, r))
      return PA_NOMEM;
    break;
  }
  o->n++;
  if (ferror(stdout)) {
    o->io_error = 1;
    return PA_IO;
  }
  return PA_OK;
}

static void on_plan(void *ctx, const char *text)
{
  (void)ctx;
  char buf[2048];
  pa_escape_ctl(buf, sizeof buf, text);
  printf("%s\n", buf);
}

int pa_cmd_query(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},    {"policy", required_argument, NULL, 'p'},
    {"since", required_argument, NULL, 's'}, {"until", required_argument, NULL, 'u'},
    {"format", required_argument, NULL, 'f'}, {"limit", required_argument, NULL, 'l'},
    {"plan", no_argument, NULL, 'P'},        {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db_path = pa_cli_default_db(), *policy_path = NULL, *format = "text";
  const char *since = NULL, *until = NULL, *limit = NULL;
  struct pa_query q = {0};
  struct out o = {0};
  struct pa_err err;
  pa_policy *pol = NULL;
  pa_tz *own_tz = NULL;
  pa_store *s = NULL;
  int c, r, plan = 0, exit_code = PA_EXIT_INTERNAL;
  uint64_t n = 0;
  pa_rc rc;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db_path = optarg; break;
    case 'p': policy_path = optarg; break;
    case 's': since = optarg; break;
    case 'u': until = optarg; break;
    case 'f': format = optarg; break;
    case 'l': limit = optarg; break;
    case 'P': plan = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (!strcmp(format, "text"))
    o.fmt = F_TEXT;
  else if (!strcmp(format, "json"))
    o.fmt = F_JSON;
  else if (!strcmp(format, "csv"))
    o.fmt = F_CSV;
  else {
    fprintf(stderr, "pacsaudit: query: --format is text, json or csv\n");
    return PA_EXIT_INPUT;
  }
  if (argc - optind != 2 || pa_query_kind_parse(argv[optind], &q.kind) != PA_OK) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  q.subject = argv[optind + 1];
  if (limit) {
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(limit, &end, 10);
    if (errno || end == limit || *end || *limit == '-') {
      fprintf(stderr, "pacsaudit: query: --limit takes a number (0: all)\n");
      return PA_EXIT_INPUT;
    }
    q.limit = v;
  } else if (o.fmt == F_TEXT) {
    o.shown_max = TEXT_DEFAULT_ROWS;
    q.limit = TEXT_DEFAULT_ROWS + 1;
  }

  pa_err_clear(&err);
  if (policy_path) {
    if ((rc = pa_policy_load(policy_path, &pol, &err)) != PA_OK) {
      fprintf(stderr, "pacsaudit: %s: %s\n", policy_path, err.msg);
      exit_code = rc == PA_NOMEM ? PA_EXIT_INTERNAL : PA_EXIT_INPUT;
      goto out;
    }
    o.tz = pa_policy_tz(pol);
  } else {
    if ((rc = pa_tz_load(PA_DEFAULT_TZ, &own_tz, &err)) != PA_OK) {
      fprintf(stderr, "pacsaudit: query: %s\n", err.msg);
      goto out;
    }
    o.tz = own_tz;
  }
  if ((since && pa_cli_parse_time("--since", since, pa_tz_name(o.tz), &q.since_us)) ||
      (until && pa_cli_parse_time("--until", until, pa_tz_name(o.tz), &q.until_us))) {
    exit_code = PA_EXIT_INPUT;
    goto out;
  }
  /* a reader: a typo in --db must not leave an empty database behind */
  if ((r = pa_cli_open_store_mode(db_path, PA_STORE_RDONLY, &s))) {
    exit_code = r;
    goto out;
  }
  if (plan) {
    rc = pa_query_plan(s, &q, on_plan, NULL, &err);
  } else {
    rc = pa_query_run(s, &q, on_row, &o, &n, &err);
    if (rc == PA_OK && o.fmt == F_JSON)
      fputs(n ? "\n]\n" : "[]\n", stdout);
  }
  if (rc == PA_USAGE) {
    char shown[512];
    pa_escape_ctl(shown, sizeof shown, err.msg);
    fprintf(stderr, "pacsaudit: query: %s\n", shown);
    exit_code = PA_EXIT_INPUT;
    goto out;
  }
  if (rc != PA_OK) {
    if (o.io_error)
      fprintf(stderr, "pacsaudit: query: cannot write the output: %s\n", strerror(errno));
    else
      fprintf(stderr, "pacsaudit: query: %s: %s\n", db_path,
              err.msg[0] ? err.msg : pa_strerror(rc));
    goto out;
  }
  if (fflush(stdout) != 0) {
    fprintf(stderr, "pacsaudit: query: cannot write the output: %s\n", strerror(errno));
    goto out;
  }
  if (!plan && !n)
    fprintf(stderr, "no events\n");
  if (o.more)
    fprintf(stderr, "pacsaudit: query: the first %d events are shown and more follow:"
                    " narrow with --since/--until, or --limit N (0: all)\n", TEXT_DEFAULT_ROWS);
  exit_code = PA_EXIT_OK;
out:
  pa_store_close(s);
  pa_policy_free(pol);
  pa_tz_free(own_tz);
  return exit_code;
}
