/* policy.h — the site policy: who the users are, which DICOM nodes exist,
 * when people work (../docs/policy.md has the format).
 *
 * Loaded once and validated whole: every mistake is collected, each as one
 * line naming the file, the JSON path and the cause
 * (`policy.json: users[3].valid_to: "2026-13-01" is not a date`), so an
 * officer fixes them all in one pass. pa_policy_install then puts the policy
 * into TEMP tables (pol_*) that the rule engine joins on; the tables are
 * described in docs/internals/policy.md. */
#ifndef PA_POLICY_H
#define PA_POLICY_H

#include "err.h"
#include "tz.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pa_policy pa_policy;

/* Every error and warning line of one load, each a malloc'd C string
 * without a newline. Initialise with pa_policy_msgs_init, free with
 * pa_policy_msgs_cleanup. Past PA_MAX_POLICY_ERRORS errors, the rest are
 * only counted in n_errors_dropped. */
struct pa_policy_msgs {
  char **errors;
  size_t n_errors;
  size_t n_errors_dropped;
  char **warnings; /* e.g. an exception past its `until` */
  size_t n_warnings;
};
void pa_policy_msgs_init(struct pa_policy_msgs *m);
void pa_policy_msgs_cleanup(struct pa_policy_msgs *m);

/* Reads and validates the policy file at path (at most PA_MAX_POLICY_FILE
 * bytes), and its roster_csv relative to path's folder. On PA_OK *out is
 * the caller's (pa_policy_free). Otherwise *out is NULL and err holds the
 * first error line: PA_IO (unreadable), PA_LIMIT (too large),
 * PA_MALFORMED (any error at all), PA_NOMEM. err->input is not set. */
pa_rc pa_policy_load(const char *path, pa_policy **out, struct pa_err *err);

/* The same, with every error and warning line appended to *msgs (the
 * caller's, may be NULL); warnings are also kept in the policy. */
pa_rc pa_policy_load_msgs(const char *path, pa_policy **out, struct pa_policy_msgs *msgs,
                          struct pa_err *err);

/* The same over json[0..len) (need not be NUL-terminated); label names it
 * in messages (e.g. "policy.json"); roster_csv is read relative to base_dir
 * (NULL: the current folder). */
pa_rc pa_policy_load_string(const char *label, const char *json, size_t len,
                            const char *base_dir, pa_policy **out, struct pa_err *err);
pa_rc pa_policy_load_string_msgs(const char *label, const char *json, size_t len,
                                 const char *base_dir, pa_policy **out,
                                 struct pa_policy_msgs *msgs, struct pa_err *err);

/* Accepts NULL. */
void pa_policy_free(pa_policy *p);

/* Borrowed strings below live as long as p. */
const char *pa_policy_path(const pa_policy *p);     /* path or label given at load */
const char *pa_policy_tz_name(const pa_policy *p);  /* site.timezone or "Asia/Tokyo" */
const pa_tz *pa_policy_tz(const pa_policy *p);
const char *pa_policy_site_name(const pa_policy *p); /* NULL when not given */

/* 1 when rule_id is listed in `disable`. */
int pa_policy_disabled(const pa_policy *p, const char *rule_id);

/* The override of rule_id's parameter name as written (a number's JSON
 * text such as "5" or "0.5", or a duration such as "10m"), in *text_out; NULL
 * when there is none. rule_id "require" reads `require.*` (tls as "true" or
 * "false", mfa_from as the date written). PA_OK always. */
pa_rc pa_policy_param(const pa_policy *p, const char *rule_id, const char *name,
                      const char **text_out);

/* The thresholds given, in file order, so the engine can reject names a rule
 * does not have: i < pa_policy_n_params(p). */
size_t pa_policy_n_params(const pa_policy *p);
void pa_policy_param_at(const pa_policy *p, size_t i, const char **rule_id_out,
                        const char **name_out, const char **text_out);

size_t pa_policy_n_warnings(const pa_policy *p);
const char *pa_policy_warning(const pa_policy *p, size_t i);

struct pa_policy_counts {
  size_t users;        /* after the merge */
  size_t roster_users; /* of which from the roster CSV */
  size_t roles, aes, vips, holidays, exceptions, disabled, params;
};
void pa_policy_counts(const pa_policy *p, struct pa_policy_counts *out);
size_t pa_policy_n_users(const pa_policy *p);

/* (Re)creates the TEMP tables pol_* on db and fills them from p, in one
 * savepoint: on failure nothing changes. PA_DB with err->msg from SQLite,
 * PA_NOMEM. */
pa_rc pa_policy_install(const pa_policy *p, sqlite3 *db, struct pa_err *err);

#endif
