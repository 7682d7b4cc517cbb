/* check.c — `pacsaudit check`: runs the rules over the store.
 *
 * Loads the site policy (a bad one stops everything: exit 2), the built-in
 * pack and the site's rules (a bad site rule is reported and skipped), runs
 * the engine over the period and prints one line per rule. The findings
 * stay in the store for `report`. */
#include "cli.h"

#include "analyzer/datadir.h"
#include "analyzer/log.h"
#include "analyzer/policy.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "rules/engine.h"
#include "rules/rule.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void help(FILE *f)
{
  fprintf(f,
          "usage: pacsaudit check [--db FILE] [--policy FILE] [--rules DIR|FILE]...\n"
          "                       [--since TIME] [--until TIME] [--format text|json] [--no-pack]\n"
          "                       [--threads N] [--read auto|index] [-q] [-v]\n"
          "\n"
          "Runs the built-in guideline 6.0 rule pack (and the site's own rules) over the\n"
          "store and records the findings, one per episode. Re-running over the same data\n"
          "adds nothing; new data that extends an episode updates its finding. A finding\n"
          "that a policy exception covers is kept with the status 'excepted'.\n"
          "\n"
          "options:\n"
          "  --db FILE        database (default $PACSAUDIT_DB or ./pacsaudit.db); it must\n"
          "                   exist (pacsaudit ingest makes it)\n"
          "  --policy FILE    the site policy (check it with `pacsaudit policy lint FILE`);\n"
          "                   without one, the rules that need a roster, AE registry or\n"
          "                   hours are undecidable\n"
          "  --rules PATH     a site rule file or folder, added to the pack (repeatable);\n"
          "                   a rule with a pack rule's id replaces it\n"
          "  --no-pack        run only the --rules given\n"
          "  --since TIME     judge events from TIME (ISO 8601; a date is local midnight\n"
          "  --until TIME     in the site's zone); --until is exclusive\n"
          "  --format F       text (default) or json\n"
          "  --threads N      run rules on N connections at once (default: one a CPU,\n"
          "                   at most 4); the findings are the same for any N\n"
          "  --read HOW       auto (default): a rule reads events by a full scan where\n"
          "                   the index SQLite picks would lead to the table for a large\n"
          "                   share of a sample of rows; a read whose rows the next\n"
          "                   statements want in order is stored in it, read by a scan\n"
          "                   from 5%% of the rows, else its index's rows fetched in table\n"
          "                   order (-v logs each choice); index: always through the\n"
          "                   index, in its order.\n"
          "                   The findings are the same either way\n"
          "  -q, --quiet      print only the summary line\n"
          "  -v, --verbose    log the time of each rule's statements (stderr)\n"
          "  -h, --help       this text\n"
          "\n"
          "Each rule's line says what it found (new, known, excepted; open in the store\n"
          "over the period) and whether the data could decide it, or why not. On a\n"
          "terminal, stderr shows which rule is running.\n"
          "\n"
          "exit status: 0 no open findings, 1 open findings, 2 a bad policy, a bad rule or\n"
          "a usage error, 3 internal error\n");
}

static void emit_stderr(void *ctx, const char *line)
{
  (void)ctx;
  pa_cli_line(stderr, "pacsaudit: %s", line);
}

/* Loads the policy, printing every error; NULL with *bad set when it is
 * not valid. */
static pa_policy *load_policy(const char *path, int *bad)
{
  struct pa_policy_msgs msgs;
  struct pa_err err;
  pa_policy *p = NULL;
  pa_rc rc;

  *bad = 0;
  if (!path)
    return NULL;
  pa_policy_msgs_init(&msgs);
  pa_err_clear(&err);
  rc = pa_policy_load_msgs(path, &p, &msgs, &err);
  for (size_t i = 0; i < msgs.n_errors; i++)
    pa_cli_line(stderr, "pacsaudit: %s", msgs.errors[i]);
  for (size_t i = 0; i < msgs.n_warnings; i++)
    pa_cli_line(stderr, "pacsaudit: warning: %s", msgs.warnings[i]);
  if (rc != PA_OK) {
    if (!msgs.n_errors)
      pa_cli_line(stderr, "pacsaudit: %s: %s", path, err.msg);
    pa_cli_line(stderr, "pacsaudit: %s: the policy is not valid; nothing was checked", path);
    *bad = 1;
  }
  pa_policy_msgs_cleanup(&msgs);
  return p;
}

/* On a terminal, which rule is running: a check of a year of data takes
 * minutes. The line is rewritten in place and cleared at the end. */
static void progress(void *ctx, size_t i, size_t n, const struct pa_rule *r)
{
  (void)ctx;
  fprintf(stderr, "\rcheck: rule %zu of %zu: %-8s", i + 1, n, r->id);
  fflush(stderr);
}

static const char *status_of(const struct pa_rule_result *r)
{
  return r->disabled ? "disabled" : r->failed ? "failed" : r->decided ? "decided" : "undecidable";
}

static void print_text(const pa_ruleset *rs, const struct pa_rule_result *res, int quiet)
{
  size_t n = pa_ruleset_count(rs);
  uint64_t nn = 0, nk = 0, ne = 0, no = 0;
  size_t dec = 0, und = 0, dis = 0, fail = 0;

  if (!quiet)
    pa_cli_line(stdout, "%-8s %-9s %-8s %5s %5s %8s %5s  %s", "rule", "strength", "severity", "new",
                "known", "excepted", "open", "status");
  for (size_t i = 0; i < n; i++) {
    const struct pa_rule_result *r = &res[i];
    nn += r->n_new;
    nk += r->n_known;
    ne += r->n_excepted;
    no += r->n_open;
    dec += r->decided && !r->failed;
    und += !r->decided && !r->disabled && !r->failed;
    dis += r->disabled;
    fail += r->failed;
    if (quiet)
      continue;
    pa_cli_line(stdout, "%-8s %-9s %-8s %5llu %5llu %8llu %5llu  %s%s%s", r->rule->id,
                r->rule->strength, r->rule->severity, (unsigned long long)r->n_new,
                (unsigned long long)r->n_known, (unsigned long long)r->n_excepted,
                (unsigned long long)r->n_open, status_of(r), r->decided && !r->failed ? "" : ": ",
                r->decided && !r->failed ? "" : r->why_en);
  }
  pa_cli_line(
    stdout,
    "check: %zu rules: %zu decided, %zu undecidable, %zu disabled%s%s; findings: %llu new,"
    " %llu known, %llu excepted; %llu open",
    n, dec, und, dis, fail ? ", failed: " : "", fail ? "see above" : "", (unsigned long long)nn,
    (unsigned long long)nk, (unsigned long long)ne, (unsigned long long)no);
}

static int print_json(const pa_ruleset *rs, const struct pa_rule_result *res, int64_t run_id)
{
  json_t *root = json_object(), *rules = json_array();
  char *text;
  if (!root || !rules)
    return -1;
  json_object_set_new(root, "run_id", json_integer(run_id));
  json_object_set_new(root, "rules", rules);
  for (size_t i = 0; i < pa_ruleset_count(rs); i++) {
    const struct pa_rule_result *r = &res[i];
    json_array_append_new(
      rules, json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?, s:s?, s:s, s:i}", "id",
                       r->rule->id, "strength", r->rule->strength, "severity", r->rule->severity,
                       "status", status_of(r), "new", (json_int_t)r->n_new, "known",
                       (json_int_t)r->n_known, "excepted", (json_int_t)r->n_excepted, "open",
                       (json_int_t)r->n_open, "why", r->decided && !r->failed ? NULL : r->why_en,
                       "why_ja", r->decided && !r->failed ? NULL : r->why_ja, "thresholds",
                       r->params, "ms", (int)r->ms));
  }
  text = json_dumps(root, JSON_INDENT(2));
  json_decref(root);
  if (!text)
    return -1;
  printf("%s\n", text); /* JSON: control bytes are escaped by jansson */
  free(text);
  return 0;
}

int pa_cmd_check(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},
    {"policy", required_argument, NULL, 'p'},
    {"rules", required_argument, NULL, 'r'},
    {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},
    {"format", required_argument, NULL, 'f'},
    {"no-pack", no_argument, NULL, 'N'},
    {"threads", required_argument, NULL, 'T'},
    {"read", required_argument, NULL, 'R'},
    {"quiet", no_argument, NULL, 'q'},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
  };
  struct pa_check_args a = {.db_path = pa_cli_default_db(), .format = "text", .pack = 1};
  struct pa_check_summary sum;
  long long n;
  int c;

  while ((c = getopt_long(argc, argv, "hqv", opts, NULL)) != -1) {
    switch (c) {
    case 'd': a.db_path = optarg; break;
    case 'p': a.policy_path = optarg; break;
    case 'r':
      if (a.n_site == PA_CHECK_MAX_SITE_RULES) {
        pa_cli_line(stderr, "pacsaudit: check: at most %d --rules", PA_CHECK_MAX_SITE_RULES);
        return PA_EXIT_INPUT;
      }
      a.site_rules[a.n_site++] = optarg;
      break;
    case 's': a.since = optarg; break;
    case 'u': a.until = optarg; break;
    case 'f': a.format = optarg; break;
    case 'N': a.pack = 0; break;
    case 'T':
      if (pa_cli_parse_count(optarg, 1, 64, &n)) {
        pa_cli_line(stderr, "pacsaudit: check: --threads takes a number from 1 to 64");
        return PA_EXIT_INPUT;
      }
      a.threads = (int)n;
      break;
    case 'R':
      if (strcmp(optarg, "auto") && strcmp(optarg, "index")) {
        pa_cli_line(stderr, "pacsaudit: check: --read is auto or index");
        return PA_EXIT_INPUT;
      }
      a.index_only = !strcmp(optarg, "index");
      break;
    case 'q': a.quiet = 1; break;
    case 'v': pa_log_threshold = PA_LOG_DEBUG; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || (strcmp(a.format, "text") && strcmp(a.format, "json"))) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  return pa_cli_check(&a, &sum);
}

int pa_cli_check(const struct pa_check_args *a, struct pa_check_summary *sum)
{
  struct pa_diag d = {emit_stderr, NULL, 0, 0};
  struct pa_engine_opts eo = {0};
  struct pa_rule_result *res = NULL;
  struct pa_run_counts rcnt = {0};
  struct pa_err err;
  pa_ruleset *rs = NULL;
  pa_policy *pol = NULL;
  pa_store *s = NULL;
  char *policy_abs = NULL;
  int r, bad_policy, exit_code = PA_EXIT_INTERNAL;
  size_t site_errors;
  pa_rc rc;

  memset(sum, 0, sizeof *sum);
  pol = load_policy(a->policy_path, &bad_policy);
  if (bad_policy)
    return PA_EXIT_INPUT;
  if ((a->since &&
       pa_cli_parse_time("--since", a->since, pol ? pa_policy_tz_name(pol) : NULL, &eo.since_us)) ||
      (a->until &&
       pa_cli_parse_time("--until", a->until, pol ? pa_policy_tz_name(pol) : NULL, &eo.until_us))) {
    exit_code = PA_EXIT_INPUT;
    goto out;
  }
  if (!(rs = pa_ruleset_new()))
    goto out;
  if (a->pack && (rc = pa_ruleset_load(rs, pa_datadir(PA_DATA_RULES), 1, &d)) != PA_OK) {
    pa_cli_line(stderr, "pacsaudit: the built-in rule pack (%s) cannot be read",
                pa_datadir(PA_DATA_RULES));
    goto out;
  }
  if (d.n_errors) {
    pa_cli_line(stderr, "pacsaudit: the built-in rule pack has errors: this is a bug");
    goto out;
  }
  for (size_t i = 0; i < a->n_site; i++)
    if ((rc = pa_ruleset_load(rs, a->site_rules[i], 0, &d)) == PA_NOMEM)
      goto out;
  site_errors = d.n_errors;
  if (!pa_ruleset_count(rs)) {
    pa_cli_line(stderr, "pacsaudit: check: no rules to run");
    exit_code = PA_EXIT_INPUT;
    goto out;
  }
  /* a typo in --db must not judge an empty, new database as compliant */
  if ((r = pa_cli_open_store_mode(a->db_path, PA_STORE_NOCREATE, &s))) {
    exit_code = r;
    goto out;
  }
  pa_err_clear(&err);
  if (pa_engine_attach(s, pol, &err)) {
    pa_cli_line(stderr, "pacsaudit: %s: %s", a->db_path, err.msg);
    goto out;
  }
  /* the policy's full path, so that `report` finds the zone and hours it used */
  policy_abs = a->policy_path ? realpath(a->policy_path, NULL) : NULL;
  if (pa_store_run_begin(s, "check", policy_abs ? policy_abs : a->policy_path, &eo.run_id))
    eo.run_id = 0;
  if (!a->quiet && isatty(STDERR_FILENO) && pa_log_threshold < PA_LOG_DEBUG)
    eo.progress = progress;
  eo.policy = pol;
  eo.threads = a->threads ? a->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
  eo.index_only = a->index_only;
  rc = pa_engine_run(s, rs, &eo, &res, &d);
  if (eo.progress)
    fprintf(stderr, "\r%40s\r", "");
  if (rc == PA_RULE) {
    pa_cli_line(stderr,
                "pacsaudit: %s: the policy's thresholds do not fit the rules; nothing was"
                " checked",
                a->policy_path ? a->policy_path : "policy");
    if (eo.run_id)
      pa_store_run_end(s, eo.run_id, "input-error", &rcnt, NULL);
    exit_code = PA_EXIT_INPUT;
    goto out;
  }
  if (rc != PA_OK) {
    if (eo.run_id)
      pa_store_run_end(s, eo.run_id, "error", &rcnt, NULL);
    goto out;
  }
  sum->run_id = eo.run_id;
  for (size_t i = 0; i < pa_ruleset_count(rs); i++) {
    sum->n_new += res[i].n_new;
    sum->n_open += res[i].n_open;
    sum->n_undecidable += !res[i].decided && !res[i].disabled && !res[i].failed;
    rcnt.errors += res[i].failed;
  }
  sum->n_rules = pa_ruleset_count(rs);
  if (eo.run_id)
    pa_store_run_end(s, eo.run_id, rcnt.errors ? "error" : "ok", &rcnt, NULL);
  if (!a->silent && !strcmp(a->format, "json")) {
    if (print_json(rs, res, eo.run_id))
      goto out;
  } else if (!a->silent) {
    print_text(rs, res, a->quiet);
  }
  exit_code = rcnt.errors   ? PA_EXIT_INTERNAL
              : site_errors ? PA_EXIT_INPUT
              : sum->n_open ? PA_EXIT_FINDINGS
                            : PA_EXIT_OK;
out:
  free(policy_abs);
  free(res);
  pa_store_close(s);
  pa_ruleset_free(rs);
  pa_policy_free(pol);
  return exit_code;
}
