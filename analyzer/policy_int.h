/* policy_int.h — policy.c's entry points for tests and fuzzers only.
 *
 * The roster CSV is otherwise reached only through a policy file's
 * roster_csv, which pa_policy_load reads from disk; this parses a buffer
 * through the same reader, so tests/fuzz/fuzz_roster_csv.c can feed it. */
#ifndef PA_POLICY_INT_H
#define PA_POLICY_INT_H

#include "policy.h"

#include <stddef.h>

/* Parses csv[0..len) (need not be NUL-terminated, at most PA_MAX_ROSTER_CSV
 * bytes) as the roster CSV of a policy that gives nothing else (the default
 * time zone, no roles), and merges its users as pa_policy_load does; label
 * (NULL: "roster.csv") names its lines in messages. Results, *out and msgs
 * as pa_policy_load_string_msgs. */
pa_rc pa__policy_load_roster_string(const char *label, const char *csv, size_t len, pa_policy **out,
                                    struct pa_policy_msgs *msgs, struct pa_err *err);

#endif
