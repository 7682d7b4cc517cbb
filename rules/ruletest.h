/* ruletest.h — a rule file's own test cases (`pacsaudit rules test`).
 *
 * Each case of a rule's "tests" list builds a fresh store in a temporary
 * file: rows of events, associations, dimse and dimse_results written as
 * JSON (times as ISO 8601 text, read in the policy's zone when they have
 * none), a site policy (the pack's tests/policy.json, or the case's own,
 * or that one with "policy_patch" merged in), then runs the rule through
 * the engine as `check` does and compares the findings with "expect": the
 * same subjects, as many episodes, and the count and status where the
 * case gives them. The rule is then run again on the same store, which
 * must add nothing. docs/rules.md describes the format. */
#ifndef PA_RULETEST_H
#define PA_RULETEST_H

#include "rules/rule.h"

#include <stdio.h>

struct pa_ruletest_counts {
  size_t rules, cases, failed; /* failed: cases that failed */
  size_t rules_bad;            /* rules with no cases, or that do not load */
};

/* Runs the cases of every rule in rs. One line per case goes to out ("ok"
 * or what differed); problems of the cases themselves go to d. The
 * default policy is policy_path (NULL: the pack's tests/policy.json). */
pa_rc pa_ruletest_run(const pa_ruleset *rs, const char *policy_path, FILE *out,
                      struct pa_ruletest_counts *counts, struct pa_diag *d);

#endif
