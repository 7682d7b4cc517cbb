/* main.c — pacsaudit's entry point: dispatches to one subcommand. */
#include "cli.h"

#include "analyzer/log.h"
#include "analyzer/store.h"

#include "pa_version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
  {"ingest", pa_cmd_ingest, "read captures, syslog, ATNA and FHIR files (incremental)"},
  {"listen", pa_cmd_listen, "receive syslog (UDP, TCP, TLS, RELP) and capture DICOM live"},
  {"check", pa_cmd_check, "run the guideline 6.0 rules over the store, record findings"},
  {"rules", pa_cmd_rules, "list, lint and test rules, and show the SQL of one"},
  {"policy", pa_cmd_policy, "check a site policy file (policy lint FILE)"},
  {"report", pa_cmd_report, "the periodic-review report (text, JSON, CSV, HTML)"},
  {"query", pa_cmd_query, "the timeline of one patient, user, AE title or IP address"},
  {"findings", pa_cmd_findings, "list findings; ack or close one (who, when, why are kept)"},
  {"review", pa_cmd_review, "record a reviewer's sign-off (review evidence for AU-02)"},
  {"nightly", pa_cmd_nightly, "the nightly job: ingest what is new, check, report, retention"},
  {"demo", pa_cmd_demo, "build a demo database from the bundled data and its HTML report"},
  {"verify", pa_cmd_verify, "check the hash chain of the raw message store, and its seals"},
  {"seal", pa_cmd_seal, "sign a checkpoint of the hash chain into a seal file"},
};

static void usage(FILE *f)
{
  fprintf(f, "usage: pacsaudit COMMAND [OPTIONS] [ARGS]\n"
             "\n"
             "PACS audit-log compliance analyzer: DICOM traffic, syslog and ATNA\n"
             "audit messages into one SQLite database.\n"
             "\n"
             "commands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf(f, "\n"
             "  pacsaudit COMMAND --help   options of one command\n"
             "  pacsaudit --version        print the version\n"
             "\n"
             "exit status: 0 ok, 1 findings, 2 usage or input error, 3 internal error\n");
}

const char *pa_cli_default_db(void)
{
  const char *env = getenv("PACSAUDIT_DB");
  return env && *env ? env : "pacsaudit.db";
}

int pa_cli_open_store(const char *db, pa_store **s) { return pa_cli_open_store_mode(db, 0, s); }

int pa_cli_open_store_mode(const char *db, int flags, pa_store **s)
{
  struct pa_err err;
  pa_rc rc;

  pa_err_clear(&err);
  if ((rc = pa_store_open_mode(db, flags, s, &err)) == PA_OK)
    return PA_EXIT_OK;
  pa_log(PA_LOG_ERROR, "%s", rc == PA_NOMEM ? "out of memory" : err.msg);
  return rc == PA_NOMEM ? PA_EXIT_INTERNAL : PA_EXIT_INPUT;
}

int main(int argc, char **argv)
{
  /* The database and everything beside it hold patient data. */
  umask(077);
  if (argc < 2) {
    usage(stderr);
    return PA_EXIT_INPUT;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return PA_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) {
    pa_cli_line(stdout, "pacsaudit %s", PA_VERSION);
    return PA_EXIT_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (!strcmp(argv[1], commands[i].name))
      return commands[i].run(argc - 1, argv + 1);
  pa_cli_line(stderr, "pacsaudit: unknown command '%s' (see pacsaudit --help)", argv[1]);
  return PA_EXIT_INPUT;
}
