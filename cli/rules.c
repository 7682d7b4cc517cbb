/* rules.c — `pacsaudit rules list | lint | test`: the rules as data. */
#include "cli.h"

#include "analyzer/datadir.h"
#include "analyzer/policy.h"
#include "rules/compile.h"
#include "rules/rule.h"
#include "rules/ruletest.h"

#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit rules list [--rules PATH]... [--policy FILE] [--format text|json]\n"
             "       pacsaudit rules lint FILE|DIR...\n"
             "       pacsaudit rules test [--policy FILE] [FILE|DIR...]\n"
             "       pacsaudit rules sql ID\n"
             "\n"
             "  list   every rule: id, kind, strength, severity, guideline sections, title\n"
             "         (ja/en) and the thresholds in force (with --policy, the site's\n"
             "         overrides, marked \"(policy)\")\n"
             "  lint   checks rule files and prints every problem as FILE: JSON path: cause\n"
             "  test   runs each rule file's own test cases (the built-in pack by default);\n"
             "         cases use the pack's tests/policy.json unless --policy is given\n"
             "  sql    the SQL statements a rule compiles to, with their bound values\n"
             "\n"
             "Rule files are described in docs/rules.md.\n"
             "\n"
             "exit status: 0 ok, 1 a lint problem or a failed case, 2 usage error,\n"
             "3 internal error\n");
}

static void emit_stderr(void *ctx, const char *line)
{
  (void)ctx;
  pa_cli_line(stderr, "%s", line);
}

static const char *policy_param(void *ctx, const char *rule_id, const char *name)
{
  const char *t = NULL;
  pa_policy_param(ctx, rule_id, name, &t);
  return t;
}

static int cmd_list(int argc, char **argv)
{
  static const struct option opts[] = {{"rules", required_argument, NULL, 'r'},
                                       {"policy", required_argument, NULL, 'p'},
                                       {"format", required_argument, NULL, 'f'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
  struct pa_diag d = {emit_stderr, NULL, 0, 0};
  const char *format = "text", *policy = NULL;
  pa_ruleset *rs = pa_ruleset_new();
  json_t *out = json_array();
  pa_policy *p = NULL;
  int c, rc = PA_EXIT_INTERNAL;

  if (!rs || !out)
    goto done;
  if (pa_ruleset_load(rs, pa_datadir(PA_DATA_RULES), 1, &d) != PA_OK)
    goto done;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'r':
      if (pa_ruleset_load(rs, optarg, 0, &d) == PA_NOMEM)
        goto done;
      break;
    case 'p': policy = optarg; break;
    case 'f': format = optarg; break;
    case 'h':
      help(stdout);
      rc = PA_EXIT_OK;
      goto done;
    default:
      help(stderr);
      rc = PA_EXIT_INPUT;
      goto done;
    }
  }
  if (optind != argc || (strcmp(format, "text") && strcmp(format, "json"))) {
    help(stderr);
    rc = PA_EXIT_INPUT;
    goto done;
  }
  if (policy) {
    struct pa_err err;
    pa_err_clear(&err);
    if (pa_policy_load(policy, &p, &err)) {
      pa_cli_line(stderr, "pacsaudit: %s (pacsaudit policy lint %s shows every problem)", err.msg,
                  policy);
      rc = PA_EXIT_INPUT;
      goto done;
    }
  }
  if (!strcmp(format, "text"))
    pa_cli_line(stdout, "%-8s %-10s %-9s %-8s %-26s %s", "id", "kind", "strength", "severity",
                "guideline", "title / thresholds");
  for (size_t i = 0; i < pa_ruleset_count(rs); i++) {
    const struct pa_rule *r = pa_ruleset_get(rs, i);
    struct pa_compile_opts o = {.param = p ? policy_param : NULL, .param_ctx = p};
    struct pa_diag quiet = {0};
    struct pa_compiled cp;
    char th[512] = "";
    size_t n = 0;

    pa_rule_compile(r, &o, &cp, &quiet);
    for (size_t k = 0; k < cp.n_params && n < sizeof th; k++)
      n += (size_t)snprintf(th + n, sizeof th - n, "%s%s=%s%s", k ? " " : "", cp.params[k].name,
                            cp.params[k].text, cp.params[k].from_policy ? " (policy)" : "");
    if (!strcmp(format, "json")) {
      json_t *o2 =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:{s:s, s:s}, s:s, s:s, s:b}", "id", r->id, "kind",
                  r->kind, "strength", r->strength, "severity", r->severity, "guideline",
                  json_deep_copy(json_object_get(r->doc, "guideline")), "title", "en", r->title_en,
                  "ja", r->title_ja, "thresholds", th, "file", r->file, "builtin", r->builtin);
      json_array_append_new(out, o2);
    } else {
      char *g = json_dumps(json_object_get(r->doc, "guideline"), JSON_COMPACT);
      pa_cli_line(stdout, "%-8s %-10s %-9s %-8s %-26s %s / %s", r->id, r->kind, r->strength,
                  r->severity, g ? g : "", r->title_en, r->title_ja);
      if (*th)
        pa_cli_line(stdout, "%-64s thresholds: %s", "", th);
      free(g);
    }
    pa_compiled_cleanup(&cp);
  }
  if (!strcmp(format, "json")) {
    char *t = json_dumps(out, JSON_INDENT(2));
    if (!t)
      goto done;
    printf("%s\n", t); /* JSON: control bytes are escaped by jansson */
    free(t);
  }
  rc = d.n_errors ? PA_EXIT_INPUT : PA_EXIT_OK;
done:
  json_decref(out);
  pa_ruleset_free(rs);
  pa_policy_free(p);
  return rc;
}

/* rules sql ID: the statements a rule compiles to, with their bound values,
 * for a reader who wants to see what the rule asks of the store. */
/* The values of st's '?', one comment line each. */
static void print_binds(const struct pa_sqlstmt *st)
{
  for (size_t b = 0; b < st->n_binds; b++) {
    const struct pa_bind *v = &st->binds[b];
    if (v->type == PA_BIND_TEXT)
      pa_cli_line(stdout, "--   ?%zu = '%s'", b + 1, v->s);
    else if (v->type == PA_BIND_INT)
      pa_cli_line(stdout, "--   ?%zu = %lld", b + 1, (long long)v->i);
    else
      pa_cli_line(stdout, "--   ?%zu = %g", b + 1, v->d);
  }
}

static int cmd_sql(int argc, char **argv)
{
  struct pa_diag d = {emit_stderr, NULL, 0, 0};
  pa_ruleset *rs;
  const struct pa_rule *r;
  struct pa_compile_opts o = {0};
  struct pa_compiled cp;
  int rc = PA_EXIT_INPUT;

  if (argc != 2) {
    help(stderr);
    return PA_EXIT_INPUT;
  }
  if (!(rs = pa_ruleset_new()))
    return PA_EXIT_INTERNAL;
  if (pa_ruleset_load(rs, pa_datadir(PA_DATA_RULES), 1, &d) != PA_OK)
    goto done;
  if (!(r = pa_ruleset_find(rs, argv[1]))) {
    pa_cli_line(stderr, "pacsaudit: rules sql: no rule %s", argv[1]);
    goto done;
  }
  if (pa_rule_compile(r, &o, &cp, &d) == PA_OK) {
    for (size_t i = 0; i < cp.n_decide + cp.n_stmts; i++) {
      const struct pa_sqlstmt *st = i < cp.n_decide ? &cp.decide[i] : &cp.stmts[i - cp.n_decide];
      printf("-- %s %zu\n%s;\n", i < cp.n_decide ? "decide" : "statement",
             i < cp.n_decide ? i + 1 : i - cp.n_decide + 1, st->sql);
      print_binds(st);
      if (!st->read)
        continue;
      printf("-- (check reads events x%s instead when the index SQLite picks leads to the"
             " table for %.0f%% of sampled rows or more", pa_dialect_sqlite.scan_hint,
             PA_ENGINE_SCAN_PERMILLE / 10.0);
      if (st->read->sortable)
        printf("; below, its rows stored in order: read by a scan from %.0f%%, else fetched"
               " in table order", PA_ENGINE_SORT_PERMILLE / 10.0);
      printf("; check -v logs it)\n");
    }
    rc = PA_EXIT_OK;
  }
  pa_compiled_cleanup(&cp);
done:
  pa_ruleset_free(rs);
  return rc;
}

static int cmd_lint(int argc, char **argv)
{
  struct pa_diag d = {emit_stderr, NULL, 0, 0};
  size_t rules = 0;

  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? PA_EXIT_INPUT : PA_EXIT_OK;
  }
  for (int i = 1; i < argc; i++) {
    pa_ruleset *rs = pa_ruleset_new();
    if (!rs)
      return PA_EXIT_INTERNAL;
    if (pa_ruleset_load(rs, argv[i], 0, &d) == PA_NOMEM) {
      pa_ruleset_free(rs);
      return PA_EXIT_INTERNAL;
    }
    rules += pa_ruleset_count(rs);
    pa_ruleset_free(rs);
  }
  pa_cli_line(stdout, "lint: %zu rules valid, %zu problems", rules, d.n_errors);
  return d.n_errors ? PA_EXIT_FINDINGS : PA_EXIT_OK;
}

static int cmd_test(int argc, char **argv)
{
  static const struct option opts[] = {
    {"policy", required_argument, NULL, 'p'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
  struct pa_diag d = {emit_stderr, NULL, 0, 0};
  struct pa_ruletest_counts n;
  const char *policy = NULL;
  pa_ruleset *rs = pa_ruleset_new();
  int c, rc = PA_EXIT_INTERNAL;

  if (!rs)
    return rc;
  while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
    switch (c) {
    case 'p': policy = optarg; break;
    case 'h':
      help(stdout);
      pa_ruleset_free(rs);
      return PA_EXIT_OK;
    default:
      help(stderr);
      pa_ruleset_free(rs);
      return PA_EXIT_INPUT;
    }
  }
  if (optind == argc && pa_ruleset_load(rs, pa_datadir(PA_DATA_RULES), 1, &d) != PA_OK)
    goto done;
  for (int i = optind; i < argc; i++)
    if (pa_ruleset_load(rs, argv[i], 0, &d) != PA_OK)
      goto done;
  if (pa_ruletest_run(rs, policy, stdout, &n, &d) != PA_OK)
    goto done;
  printf("rules test: %zu rules, %zu cases, %zu rules without cases or not loading\n"
         "%zu passed, %zu failed\n",
         n.rules, n.cases, n.rules_bad, n.cases - n.failed, n.failed);
  rc = n.failed || n.rules_bad || d.n_errors ? PA_EXIT_FINDINGS : PA_EXIT_OK;
done:
  pa_ruleset_free(rs);
  return rc;
}

int pa_cmd_rules(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    help(argc < 2 ? stderr : stdout);
    return argc < 2 ? PA_EXIT_INPUT : PA_EXIT_OK;
  }
  optind = 1;
  if (!strcmp(argv[1], "list"))
    return cmd_list(argc - 1, argv + 1);
  if (!strcmp(argv[1], "lint"))
    return cmd_lint(argc - 1, argv + 1);
  if (!strcmp(argv[1], "test"))
    return cmd_test(argc - 1, argv + 1);
  if (!strcmp(argv[1], "sql"))
    return cmd_sql(argc - 1, argv + 1);
  pa_cli_line(stderr, "pacsaudit: rules: unknown subcommand '%s' (list, lint, test, sql)", argv[1]);
  return PA_EXIT_INPUT;
}
