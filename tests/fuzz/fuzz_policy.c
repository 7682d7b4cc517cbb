/* fuzz_policy.c — libFuzzer target for the site policy loader: the input as
 * the policy JSON. A policy that loads is installed into an in-memory SQLite
 * database (the pol_* tables) and read back through its accessors.
 *
 * roster_csv resolves against fixtures/policy (found from the path of
 * tests/unit/pa_test.h), so "roster.csv" reaches the roster reader and the
 * merge; tests/fuzz/fuzz_roster_csv.c fuzzes the CSV itself. Seeds:
 * fixtures/policy, fixtures/scenario/policy.json,
 * rules/pack/tests/policy.json and small edge cases. */
#include "analyzer/policy.h"
#include "tests/unit/pa_test.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static sqlite3 *db;
static char base_dir[4096];

static void init(void)
{
  pa_test_src_path(base_dir, sizeof base_dir, "fixtures/policy");
  if (sqlite3_open(":memory:", &db) != SQLITE_OK) {
    fprintf(stderr, "fuzz_policy: cannot open an in-memory database\n");
    abort();
  }
}

/* Reads every accessor, so a string the policy hands out is touched. */
static size_t touch(const pa_policy *p)
{
  struct pa_policy_counts cnt;
  const char *a, *b, *t;
  size_t n = strlen(pa_policy_path(p)) + strlen(pa_policy_tz_name(p));

  if (pa_policy_site_name(p))
    n += strlen(pa_policy_site_name(p));
  for (size_t i = 0; i < pa_policy_n_params(p); i++) {
    pa_policy_param_at(p, i, &a, &b, &t);
    n += strlen(a) + strlen(b) + strlen(t);
    if (pa_policy_param(p, a, b, &t) == PA_OK && t)
      n += strlen(t);
  }
  for (size_t i = 0; i < pa_policy_n_warnings(p); i++)
    n += strlen(pa_policy_warning(p, i));
  n += (size_t)pa_policy_disabled(p, "AC-08");
  pa_policy_counts(p, &cnt);
  return n + cnt.users + pa_policy_n_users(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_policy_msgs msgs;
  struct pa_err err;
  pa_policy *p = NULL;

  if (!db)
    init();
  pa_policy_msgs_init(&msgs);
  pa_err_clear(&err);
  if (pa_policy_load_string_msgs("policy.json", (const char *)data, size, base_dir, &p, &msgs,
                                 &err) == PA_OK) {
    if (touch(p) == (size_t)-1)
      abort();
    pa_err_clear(&err);
    (void)pa_policy_install(p, db, &err);
  }
  for (size_t i = 0; i < msgs.n_errors; i++)
    if (strchr(msgs.errors[i], '\n')) /* one line each, whatever the input */
      abort();
  pa_policy_free(p);
  pa_policy_msgs_cleanup(&msgs);
  return 0;
}
