/* verify.c — `pacsaudit verify`: proves the raw store is intact.
 *
 * Re-hashes every kept message and re-computes the hash chain; a message
 * changed, removed from the middle or reordered breaks it. */
#include "cli.h"

#include "analyzer/log.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <getopt.h>
#include <stdio.h>

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit verify [--db FILE]\n"
             "\n"
             "Checks the hash chain of the raw message store: every message against its\n"
             "SHA-256, and every chain link against the one before it. Messages whose\n"
             "bytes the nightly retention dropped are checked by their chain link.\n"
             "\n"
             "options:\n"
             "  --db FILE    database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
             "  -h, --help   this text\n"
             "\n"
             "exit status: 0 the chain holds, 1 it is broken (the first bad row is named),\n"
             "2 usage error or a database that cannot be opened, 3 internal error\n");
}

int pa_cmd_verify(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db = pa_cli_default_db();
  struct pa_err err;
  pa_store *s;
  uint64_t n;
  int64_t bad, kept_to, kept_at;
  pa_rc rc;
  int c, r;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  pa_err_clear(&err);
  /* a reader: a typo in --db must not leave an empty database behind */
  if ((r = pa_cli_open_store_mode(db, PA_STORE_RDONLY, &s)))
    return r;
  rc = pa_store_verify_raw(s, &n, &bad, &err);
  if (rc == PA_OK && (rc = pa_store_raw_retention(s, &kept_to, &kept_at)) == PA_OK) {
    pa_cli_line(stdout, "%s: raw store intact: %llu messages, hash chain verified", db,
                (unsigned long long)n);
    if (kept_to) {
      char when[40];
      pa_time_format(kept_at, NULL, when);
      pa_cli_line(stdout, "%s: rows up to id %lld are kept by their hash only (retention, %s)", db,
                  (long long)kept_to, when);
    }
  } else if (rc == PA_MALFORMED)
    pa_cli_line(stdout, "%s: raw store BROKEN after %llu good messages: %s", db,
                (unsigned long long)n, err.msg);
  else
    pa_log(PA_LOG_ERROR, "%s: %s", db, pa_store_errmsg(s));
  pa_store_close(s);
  return rc == PA_OK ? PA_EXIT_OK : rc == PA_MALFORMED ? PA_EXIT_FINDINGS : PA_EXIT_INTERNAL;
}
