/* fuzz_roster_csv.c — libFuzzer target for the roster CSV reader (RFC 4180,
 * analyzer/policy.c): the input as a roster CSV alone, through
 * pa__policy_load_roster_string, the reader a policy's roster_csv goes
 * through. Seeds: the fixtures' roster.csv files and edge cases (quotes,
 * CRLF, a BOM, newlines inside quotes). */
#include "analyzer/policy_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct pa_policy_msgs msgs;
  struct pa_err err;
  pa_policy *p = NULL;

  pa_policy_msgs_init(&msgs);
  pa_err_clear(&err);
  if (pa__policy_load_roster_string("roster.csv", (const char *)data, size, &p, &msgs, &err) ==
      PA_OK) {
    struct pa_policy_counts cnt;
    pa_policy_counts(p, &cnt);
    if (cnt.roster_users != cnt.users || cnt.users != pa_policy_n_users(p))
      abort(); /* a roster alone: every user comes from it */
  }
  for (size_t i = 0; i < msgs.n_errors; i++)
    if (strchr(msgs.errors[i], '\n')) /* one line each, whatever the input */
      abort();
  pa_policy_free(p);
  pa_policy_msgs_cleanup(&msgs);
  return 0;
}
