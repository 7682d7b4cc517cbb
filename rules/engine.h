/* engine.h — runs rules over the store and keeps their findings.
 *
 * The engine stands on an open store whose connection has the site
 * policy's pol_* temp tables (analyzer/policy.h) and the SQL functions of
 * sqlfn.h (pa_engine_attach). For each rule it decides whether the data
 * and the policy can answer it over the period, runs its compiled SQL
 * into r_hits inside one read snapshot, cuts the hits of each subject and
 * part into episodes, and then, in one batch, keeps the episodes through
 * pa_store_finding_put (analyzer/store.h):
 *   - an episode that overlaps a finding of the same rule, part and
 *     subject (or comes within the part's episode gap of it) is that
 *     finding: "known", extended when the new data reaches further;
 *   - any other is "new", with a fingerprint that stays the same across
 *     runs;
 *   - one that a policy exception covers is "excepted", with its reason.
 * Nothing is ever deleted; a reviewer's status is kept. */
#ifndef PA_ENGINE_H
#define PA_ENGINE_H

#include "rules/rule.h"

#include "analyzer/store.h"

#include <sqlite3.h>

struct pa_policy;
#include <stdint.h>

struct pa_engine_opts {
  int64_t since_us, until_us; /* the period; 0 = open */
  int64_t run_id;             /* runs.id of this check, 0 when not recorded */
  int dry_run;                /* evaluate, but write no findings (rules test, lint) */
  /* When set, each statement's EXPLAIN QUERY PLAN, one line a step, is
   * handed to it before the statement runs (rules test checks the plans). */
  void (*plan)(void *ctx, const struct pa_rule *r, const char *step);
  void *plan_ctx;
  /* When set, called before each rule runs: i of n (progress on long runs). */
  void (*progress)(void *ctx, size_t i, size_t n, const struct pa_rule *r);
  void *progress_ctx;
  /* Lanes: rules run on this many connections at once (0 or 1: the
   * caller's alone; at most PA_ENGINE_LANES_MAX). Each further lane opens
   * the store's file read-only, attached to policy (give the one given to
   * pa_engine_attach; NULL is the empty policy), and all lanes read one
   * snapshot. Findings are the same whatever the number: only the time
   * changes. progress is then called from any lane, one call at a time;
   * with plan set there is one lane. */
  int threads;
  const struct pa_policy *policy;
  /* Read through indexes even where a read keeps most rows of events and
   * a full scan would be faster (rules test checks the index plans). */
  int index_only;
};

/* What one rule did in one run. */
struct pa_rule_result {
  const struct pa_rule *rule; /* borrowed from the rule set */
  int disabled;               /* the site's policy turned it off */
  int decided;                /* the data covered it: its answer means something */
  int failed;                 /* its SQL failed (why says how); the others still ran */
  char why_en[256], why_ja[256]; /* when not decided or failed */
  uint64_t n_new, n_known, n_excepted; /* episodes found, by what they were to the store */
  uint64_t n_open;            /* its findings open in the store over the period */
  double ms;                  /* time spent */
  char params[512];           /* the thresholds in force, "count=5 window=10m (policy)" */
};

/* Runs every rule of rs. *res_out (n = pa_ruleset_count) is the caller's,
 * freed with free(). Problems of the policy's thresholds (a name that the
 * rule does not have) go to d and stop the run with PA_RULE before any
 * rule runs; a rule whose SQL fails is reported in its result and the
 * others run. PA_DB when the store cannot be read or written. */
pa_rc pa_engine_run(pa_store *s, const pa_ruleset *rs, const struct pa_engine_opts *o,
                    struct pa_rule_result **res_out, struct pa_diag *d);

struct pa_policy;

/* Readies db for the engine: the policy's pol_* temp tables (p may be
 * NULL: an empty policy, so rules that need one are undecidable), the SQL
 * functions with the policy's zone, and the engine's own temp tables. p
 * must outlive db's use by the engine. PA_DB / PA_NOMEM with err set. */
pa_rc pa_engine_attach(pa_store *s, const struct pa_policy *p, struct pa_err *err);

/* The Japanese of a text the engine records in rule_runs.why (which holds
 * the English): the engine's own texts and rule r's decide.data[].why (r
 * may be NULL). Borrowed (static, or from r's document); NULL when it is
 * none of those (an SQL error's text). For the report. */
const char *pa_engine_why_ja(const struct pa_rule *r, const char *why_en);

/* Creates the engine's temp tables on db (r_hits, r_eps); run does it too. */
pa_rc pa_engine_prepare(sqlite3 *db);

#endif
