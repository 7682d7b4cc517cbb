/* demo.c — `pacsaudit demo`: the whole job on the bundled demo data.
 *
 * A week at a small hospital (fixtures/scenario, installed as the demo
 * data): a PACS archive's and a viewer's ATNA, an EMR's FHIR AuditEvents,
 * a gateway's sshd log and a DICOM capture, with a violation of most rules
 * and near misses beside them. demo builds a fresh database from it, runs
 * check with the bundled policy, writes the HTML report, and says where it
 * is and how to open it. */
#include "cli.h"

#include "analyzer/datadir.h"
#include "analyzer/store.h"
#include "reports/report.h"

#include <errno.h>
#include <getopt.h>
#include <glob.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit demo [--out DIR] [--lang ja|en]\n"
             "\n"
             "Builds a demo database from the bundled data (a week at a small hospital:\n"
             "ATNA from a PACS archive and a viewer, FHIR AuditEvents, sshd syslog and a\n"
             "DICOM capture, with violations of most rules), checks it with the bundled\n"
             "site policy, writes the HTML report, and prints where it is.\n"
             "\n"
             "options:\n"
             "  --out DIR     where the database and the report go (default\n"
             "                ./pacsaudit-demo); made if missing; a demo database there\n"
             "                is built again\n"
             "  --lang L      the report's language: ja (default) or en\n"
             "  -h, --help    this text\n"
             "\n"
             "exit status: 0 the report is written, 2 a usage error or an unwritable\n"
             "folder, 3 internal error\n");
}

/* Removes a database file and its WAL companions, if there. */
static int remove_db(const char *db)
{
  static const char *const ext[] = {"", "-wal", "-shm"};
  char p[PATH_MAX];

  for (size_t i = 0; i < 3; i++) {
    snprintf(p, sizeof p, "%s%s", db, ext[i]);
    if (unlink(p) && errno != ENOENT) {
      pa_cli_line(stderr, "pacsaudit: demo: %s: cannot remove: %s", p, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* Ingests every capture, log and NDJSON file of the demo data into db. */
static int ingest_demo(const char *data, const char *db)
{
  static const char *const pats[] = {"*.log", "*.ndjson", "*.pcap"};
  char *argv[64] = {"ingest", "--quiet", "--db", (char *)db};
  int argc = 4, code;
  glob_t g;
  char pat[PATH_MAX];

  memset(&g, 0, sizeof g);
  for (size_t i = 0; i < 3; i++) {
    snprintf(pat, sizeof pat, "%s/%s", data, pats[i]);
    if (glob(pat, i ? GLOB_APPEND : 0, NULL, &g) == GLOB_NOSPACE) {
      globfree(&g);
      return PA_EXIT_INTERNAL;
    }
  }
  if (g.gl_pathc == 0 || g.gl_pathc > 60) {
    pa_cli_line(stderr, "pacsaudit: demo: %s: no demo data there (is pacsaudit installed whole?)",
                data);
    globfree(&g);
    return PA_EXIT_INPUT;
  }
  for (size_t i = 0; i < g.gl_pathc; i++)
    argv[argc++] = g.gl_pathv[i];
  optind = 0; /* getopt again, in this process */
  code = pa_cmd_ingest(argc, argv);
  globfree(&g);
  return code;
}

static int write_report(const char *db, const char *policy, const char *lang, const char *path)
{
  struct pa_report_opts o = {.lang = lang, .policy_path = policy};
  struct pa_cli_out out;
  struct pa_err err;
  pa_store *s = NULL;
  json_t *m = NULL;
  FILE *f;
  int code, ok;

  if ((code = pa_cli_open_store_mode(db, PA_STORE_RDONLY, &s)))
    return code;
  pa_err_clear(&err);
  if (pa_report_model_build(s, &o, &m, &err)) {
    pa_cli_line(stderr, "pacsaudit: demo: report: %s", err.msg);
    pa_store_close(s);
    return PA_EXIT_INTERNAL;
  }
  pa_store_close(s);
  if (!(f = pa_cli_out_open(&out, path))) {
    json_decref(m);
    return PA_EXIT_INPUT;
  }
  if (!(ok = pa_report_render(m, PA_REPORT_HTML, f, &err) == PA_OK))
    pa_cli_line(stderr, "pacsaudit: demo: %s: %s", path, err.msg);
  json_decref(m);
  return pa_cli_out_close(&out, ok) ? PA_EXIT_INTERNAL : PA_EXIT_OK;
}

int pa_cmd_demo(int argc, char **argv)
{
  static const struct option opts[] = {
    {"out", required_argument, NULL, 'o'},
    {"lang", required_argument, NULL, 'l'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *dir = "pacsaudit-demo", *lang = "ja", *data = pa_datadir(PA_DATA_DEMO);
  struct pa_check_args ca = {.format = "text", .pack = 1, .silent = 1};
  struct pa_check_summary sum;
  char db[PATH_MAX], policy[PATH_MAX], report[PATH_MAX], abs[PATH_MAX];
  int c, code;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'o': dir = optarg; break;
    case 'l': lang = optarg; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || (strcmp(lang, "ja") && strcmp(lang, "en"))) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  if (mkdir(dir, 0700) && errno != EEXIST) {
    pa_cli_line(stderr, "pacsaudit: demo: %s: cannot create: %s", dir, strerror(errno));
    return PA_EXIT_INPUT;
  }
  if (snprintf(db, sizeof db, "%s/demo.db", dir) >= (int)sizeof db ||
      snprintf(report, sizeof report, "%s/report.html", dir) >= (int)sizeof report ||
      snprintf(policy, sizeof policy, "%s/policy.json", data) >= (int)sizeof policy) {
    pa_cli_line(stderr, "pacsaudit: demo: %s: path too long", dir);
    return PA_EXIT_INPUT;
  }
  pa_cli_line(stdout, "demo: building %s from %s", db, realpath(data, abs) ? abs : data);
  if (remove_db(db))
    return PA_EXIT_INPUT;
  if ((code = ingest_demo(data, db)))
    return code;
  ca.db_path = db;
  ca.policy_path = policy;
  code = pa_cli_check(&ca, &sum);
  if (code != PA_EXIT_OK && code != PA_EXIT_FINDINGS)
    return code;
  pa_cli_line(stdout, "demo: %zu rules checked (%zu undecidable on a week of data): %llu findings",
              sum.n_rules, sum.n_undecidable, sum.n_new);
  if ((code = write_report(db, policy, lang, report)))
    return code;
  if (!realpath(report, abs))
    snprintf(abs, sizeof abs, "%s", report);
  printf("demo: the report is %s\n"
         "demo: open it in a browser: xdg-open %s  (or file://%s)\n"
         "demo: look around the database: pacsaudit findings --db %s\n",
         abs, abs, abs, db);
  return PA_EXIT_OK;
}
