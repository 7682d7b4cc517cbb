/* policy.c — `pacsaudit policy lint FILE`: checks a site policy and its
 * roster CSV, printing every error at once (one line each), so an officer
 * fixes them all in one pass. */
#include "cli.h"

#include "analyzer/policy.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit policy lint FILE\n"
             "\n"
             "Checks a site policy (JSON, see docs/policy.md) and the roster CSV it names.\n"
             "Every error is printed on stderr, one line each, naming the file, the JSON\n"
             "path (or the CSV line) and the cause; warnings (an exception past its\n"
             "`until`) follow them. A valid policy gets a one-line summary on stdout.\n"
             "\n"
             "options:\n"
             "  -h, --help   this text\n"
             "\n"
             "exit status: 0 valid, 2 invalid or unreadable, 3 internal error\n");
}

static int lint(const char *path)
{
  struct pa_policy_msgs m;
  struct pa_policy_counts n;
  struct pa_err err;
  pa_policy *p = NULL;
  pa_rc rc;

  pa_err_clear(&err);
  pa_policy_msgs_init(&m);
  rc = pa_policy_load_msgs(path, &p, &m, &err);
  for (size_t i = 0; i < m.n_errors; i++)
    pa_cli_line(stderr, "%s", m.errors[i]);
  for (size_t i = 0; i < m.n_warnings; i++)
    pa_cli_line(stderr, "warning: %s", m.warnings[i]);
  if (rc == PA_OK) {
    pa_policy_counts(p, &n);
    pa_cli_line(stdout,
                "%s: valid: %zu users (%zu from the roster), %zu roles, %zu AEs, %zu VIPs, "
                "%zu holidays, %zu exceptions, %zu warnings",
                path, n.users, n.roster_users, n.roles, n.aes, n.vips, n.holidays, n.exceptions,
                m.n_warnings);
  } else if (rc == PA_MALFORMED) {
    pa_cli_line(stderr, "%s: invalid: %zu errors", path, m.n_errors);
  } else {
    pa_cli_line(stderr, "%s", err.msg[0] ? err.msg : pa_strerror(rc));
  }
  pa_policy_msgs_cleanup(&m);
  pa_policy_free(p);
  return rc == PA_OK ? PA_EXIT_OK : rc == PA_NOMEM ? PA_EXIT_INTERNAL : PA_EXIT_INPUT;
}

int pa_cmd_policy(int argc, char **argv)
{
  static const struct option opts[] = {
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  int c;

  while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
    switch (c) {
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind < argc && !strcmp(argv[optind], "lint")) {
    argc -= optind;
    argv += optind;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
      switch (c) {
      case 'h': help(stdout); return PA_EXIT_OK;
      default: help(stderr); return PA_EXIT_INPUT;
      }
    }
    if (argc - optind == 1)
      return lint(argv[optind]);
  }
  help(stderr);
  return PA_EXIT_INPUT;
}
