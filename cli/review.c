/* review.c — `pacsaudit review`: records a reviewer's sign-off.
 *
 * The guideline asks that access logs be reviewed periodically (シス17①,
 * 企5③); a sign-off recorded here is review evidence for AU-02, beside an
 * auditor's use of the audit log (110101). It is one reviews row and its
 * runs row, written in one transaction (pa_store_review_put). */
#include "cli.h"

#include "analyzer/err.h"
#include "analyzer/log.h"
#include "analyzer/policy.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit review [--db FILE] --by NAME [--note TEXT] [--period FROM..TO]\n"
          "                        [--policy FILE]\n"
          "\n"
          "Records a reviewer's sign-off: the logs were reviewed (for the period, when\n"
          "given). `pacsaudit check` counts it as review evidence for AU-02 at the end of\n"
          "the period it covers, or when it was made if that is earlier.\n"
          "\n"
          "options:\n"
          "  --db FILE          database (default $PACSAUDIT_DB or ./pacsaudit.db); it\n"
          "                     must exist (a typo never creates one)\n"
          "  --by NAME          who signs (required; UTF-8 text, e.g. \"山田 太郎\")\n"
          "  --note TEXT        what was reviewed, e.g. \"monthly review\"\n"
          "  --period FROM..TO  the period reviewed: ISO 8601 times in the site's zone;\n"
          "                     a date as TO means the whole day\n"
          "                     (2026-11-01..2026-11-30 is November)\n"
          "  --policy FILE      the site policy, for its time zone (default Asia/Tokyo)\n"
          "  -h, --help         this text\n"
          "\n"
          "exit status: 0 recorded, 2 usage or input error, 3 internal error\n");
}

/* One end of the period. A date alone as the end means up to the next
 * local midnight (the next day found by its date, so a day of a clock
 * change is right). */
static int parse_end(const char *t, size_t len, const char *tz, int is_to, int64_t *us)
{
  char next[40];
  if (pa_time_parse_iso(t, len, tz, us, NULL, NULL))
    return -1;
  if (!is_to || len != 10)
    return 0;
  pa_time_format(*us + 36 * 3600 * 1000000LL, tz, next);
  return pa_time_parse_iso(next, 10, tz, us, NULL, NULL) ? -1 : 0;
}

static int parse_period(const char *p, const char *tz, struct pa_review *r)
{
  const char *dots = strstr(p, "..");
  if (!dots || dots == p || !dots[2] ||
      parse_end(p, (size_t)(dots - p), tz, 0, &r->period_from) ||
      parse_end(dots + 2, strlen(dots + 2), tz, 1, &r->period_to))
    return -1;
  r->has_period = 1;
  return 0;
}

int pa_cmd_review(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},     {"by", required_argument, NULL, 'b'},
    {"note", required_argument, NULL, 'n'},   {"period", required_argument, NULL, 'P'},
    {"policy", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  const char *db = pa_cli_default_db(), *period = NULL, *policy = NULL;
  struct pa_review rv = {0};
  char ebuf[1024], e2[1024], from[40], to[40];
  struct pa_err err;
  pa_policy *pol = NULL;
  pa_store *s = NULL;
  const char *tz;
  int64_t id = 0;
  int c, r;
  pa_rc rc;

  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'd': db = optarg; break;
    case 'b': rv.by = optarg; break;
    case 'n': rv.note = optarg; break;
    case 'P': period = optarg; break;
    case 'p': policy = optarg; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  if (!rv.by) {
    fprintf(stderr, "pacsaudit: review: --by NAME is required (who signs)\n");
    return PA_EXIT_INPUT;
  }
  pa_err_clear(&err);
  if (policy && pa_policy_load(policy, &pol, &err) != PA_OK) {
    pa_escape_ctl(ebuf, sizeof ebuf, policy);
    fprintf(stderr, "pacsaudit: %s: %s\n", ebuf, err.msg);
    pa_policy_free(pol);
    return PA_EXIT_INPUT;
  }
  tz = pol ? pa_policy_tz_name(pol) : PA_DEFAULT_TZ;
  r = PA_EXIT_INPUT;
  if (period && parse_period(period, tz, &rv)) {
    pa_escape_ctl(ebuf, sizeof ebuf, period);
    fprintf(stderr, "pacsaudit: review: --period \"%s\" is not FROM..TO"
                    " (2026-11-01..2026-11-30)\n", ebuf);
    goto out;
  }
  if ((r = pa_cli_open_store_mode(db, PA_STORE_NOCREATE, &s)))
    goto out;
  rc = pa_store_review_put(s, &rv, &id, &err);
  if (pa_store_close(s) && rc == PA_OK)
    rc = PA_DB;
  if (rc != PA_OK) {
    pa_escape_ctl(ebuf, sizeof ebuf, db);
    pa_escape_ctl(e2, sizeof e2, err.msg);
    fprintf(stderr, "pacsaudit: %s: %s\n", ebuf, e2);
    r = rc == PA_USAGE ? PA_EXIT_INPUT : PA_EXIT_INTERNAL;
    goto out;
  }
  pa_escape_ctl(ebuf, sizeof ebuf, rv.by);
  if (rv.has_period) {
    pa_time_format(rv.period_from, tz, from);
    pa_time_format(rv.period_to, tz, to);
    printf("review %" PRId64 ": signed by %s for %s .. %s\n", id, ebuf, from, to);
  } else {
    printf("review %" PRId64 ": signed by %s\n", id, ebuf);
  }
  r = PA_EXIT_OK;
out:
  pa_policy_free(pol);
  return r;
}
