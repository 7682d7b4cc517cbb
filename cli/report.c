/* report.c — `pacsaudit report`: the report of a period, from the store.
 *
 * Opens the database read-only (a missing one is exit 2 and nothing is
 * created), builds the model (reports/report.h) and renders it to stdout
 * or to -o FILE, written to a temporary file beside it and renamed, so a
 * reader never sees half a report. */
#include "cli.h"

#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "reports/report.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit report [--db FILE] [--format text|json|csv|html] [-o FILE]\n"
          "                        [--since TIME] [--until TIME] [--lang ja|en]\n"
          "                        [--policy FILE] [--pseudonymize KEYFILE]\n"
          "\n"
          "The periodic-review report: the sources and how much of the period they\n"
          "cover, the counts, the findings with their evidence, the guideline checklist\n"
          "(はい / いいえ / 判定不能) and the review sign-off, from the latest check run.\n"
          "\n"
          "options:\n"
          "  --db FILE          database (default $PACSAUDIT_DB or ./pacsaudit.db); opened\n"
          "                     read-only, never created\n"
          "  --format F         text (default), json (docs/report-json.md), csv (one row\n"
          "                     per finding) or html (one self-contained page with charts,\n"
          "                     printable on A4)\n"
          "  -o, --output FILE  write there (atomically) instead of stdout\n"
          "  --since TIME       the period (ISO 8601; a date is local midnight in the\n"
          "  --until TIME       site's zone); --until is exclusive\n"
          "  --lang L           ja (default) or en\n"
          "  --policy FILE      the site policy (default: the one the latest check used)\n"
          "  --pseudonymize KEYFILE\n"
          "                     patient ids become keyed HMAC-SHA256 tokens (the key is\n"
          "                     the file's bytes, at least 16); free text is left out\n"
          "  -h, --help         this text\n"
          "\n"
          "exit status: 0 ok, 2 usage or input error, 3 internal error\n");
}

static int to_exit(pa_rc rc)
{
  return rc == PA_OK ? PA_EXIT_OK
       : rc == PA_IO || rc == PA_MALFORMED || rc == PA_USAGE || rc == PA_LIMIT ? PA_EXIT_INPUT
                                                                               : PA_EXIT_INTERNAL;
}

/* Renders m to path, whole or not at all (pa_cli_out). */
static int write_file(const json_t *m, enum pa_report_format f, const char *path)
{
  struct pa_cli_out o;
  struct pa_err err;
  FILE *out;
  pa_rc rc;

  if (!(out = pa_cli_out_open(&o, path)))
    return PA_EXIT_INPUT;
  pa_err_clear(&err);
  if ((rc = pa_report_render(m, f, out, &err)))
    pa_cli_line(stderr, "pacsaudit: %s: %s", path, err.msg);
  if (pa_cli_out_close(&o, rc == PA_OK))
    return rc == PA_OK || rc == PA_IO ? PA_EXIT_INPUT : PA_EXIT_INTERNAL;
  return PA_EXIT_OK;
}

struct args {
  const char *db, *format, *output, *since, *until;
  struct pa_report_opts o;
};

/* 0, or the exit code of a bad command line (help printed). */
static int parse_args(int argc, char **argv, struct args *a)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},      {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},  {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},   {"lang", required_argument, NULL, 'l'},
    {"policy", required_argument, NULL, 'p'},  {"pseudonymize", required_argument, NULL, 'k'},
    {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
  };
  int c;
  while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
    switch (c) {
    case 'd': a->db = optarg; break;
    case 'f': a->format = optarg; break;
    case 'o': a->output = optarg; break;
    case 's': a->since = optarg; break;
    case 'u': a->until = optarg; break;
    case 'l': a->o.lang = optarg; break;
    case 'p': a->o.policy_path = optarg; break;
    case 'k': a->o.pseudonymize_key = optarg; break;
    case 'h': help(stdout); return -1;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || (strcmp(a->o.lang, "ja") && strcmp(a->o.lang, "en"))) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  return 0;
}

int pa_cmd_report(int argc, char **argv)
{
  struct args a = {pa_cli_default_db(), "text", NULL, NULL, NULL, {"ja", 0, 0, NULL, NULL}};
  enum pa_report_format fmt;
  struct pa_err err;
  pa_store *s = NULL;
  json_t *m = NULL;
  char tz[128];
  int r;
  pa_rc rc;

  if ((r = parse_args(argc, argv, &a)))
    return r < 0 ? PA_EXIT_OK : r;
  if (pa_report_format_parse(a.format, &fmt)) {
    fprintf(stderr, "pacsaudit: report: --format %s: text, json or csv\n", a.format);
    return PA_EXIT_INPUT;
  }
  if ((r = pa_cli_open_store_mode(a.db, PA_STORE_RDONLY, &s)))
    return r;
  pa_err_clear(&err);
  if ((rc = pa_report_site_tz(s, a.o.policy_path, tz, sizeof tz, &err))) {
    fprintf(stderr, "pacsaudit: %s\n", err.msg);
    r = to_exit(rc);
    goto out;
  }
  if ((a.since && pa_cli_parse_time("--since", a.since, tz, &a.o.since_us)) ||
      (a.until && pa_cli_parse_time("--until", a.until, tz, &a.o.until_us))) {
    r = PA_EXIT_INPUT;
    goto out;
  }
  if ((rc = pa_report_model_build(s, &a.o, &m, &err))) {
    fprintf(stderr, "pacsaudit: %s\n", err.msg[0] ? err.msg : pa_strerror(rc));
    r = to_exit(rc);
    goto out;
  }
  if (a.output)
    r = write_file(m, fmt, a.output);
  else if ((rc = pa_report_render(m, fmt, stdout, &err))) {
    fprintf(stderr, "pacsaudit: %s\n", err.msg);
    r = to_exit(rc);
  }
out:
  json_decref(m);
  pa_store_close(s);
  return r;
}
