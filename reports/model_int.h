/* model_int.h — what the parts of the model builder share (private to
 * reports/). */
#ifndef PA_REPORT_MODEL_INT_H
#define PA_REPORT_MODEL_INT_H

#include "report.h"

#include "analyzer/policy.h"
#include "rules/rule.h"

#include <sqlite3.h>
#include <stdint.h>

#define PA_REPORT_EVIDENCE_MAX 50
#define PA_REPORT_TOP 10

/* One build: borrowed handles, the period and the model growing in m. */
struct pa_mctx {
  sqlite3 *db;
  int ja;                  /* lang is "ja" */
  const char *tz_name;     /* the site's zone (borrowed from pol, or the default) */
  const pa_tz *tz;         /* NULL: tz_name loaded into own_tz */
  pa_tz *own_tz;
  pa_policy *pol;          /* owned; NULL when there is no policy */
  pa_ruleset *rs;          /* owned: the built-in pack */
  int64_t since, until;    /* µs UTC, 0 open */
  int64_t lo, hi;          /* the same for SQL ranges: INT64_MIN / INT64_MAX when open */
  int64_t run_id;          /* the latest check run, 0 none */
  unsigned char key[64];   /* the pseudonymization key (HMAC), key_len 0: none */
  size_t key_len;
  json_t *m;               /* the model (borrowed from the builder) */
  struct pa_err *err;
};

/* An ISO 8601 time in the site's zone, seconds precision; json null for
 * ts_valid 0. New reference. */
json_t *pa__rep_time(const struct pa_mctx *c, int64_t us);
/* A column as a JSON string, or null when NULL. New reference. */
json_t *pa__rep_col_str(sqlite3_stmt *q, int col);
/* Prepares sql on c->db; PA_DB with err set on failure. */
pa_rc pa__rep_prepare(struct pa_mctx *c, const char *sql, sqlite3_stmt **q);
/* Steps to the end after a failure: PA_DB with SQLite's message in err. */
pa_rc pa__rep_db_err(struct pa_mctx *c);

/* model_events.c: "sources", "counts.events" and the event charts. */
pa_rc pa__rep_sources(struct pa_mctx *c, json_t *charts);
pa_rc pa__rep_top(struct pa_mctx *c, json_t *charts);
/* model_findings.c: "findings" (ordered), "maintenance" and the finding
 * counts and charts. */
pa_rc pa__rep_findings(struct pa_mctx *c, json_t *counts, json_t *charts);
pa_rc pa__rep_maintenance(struct pa_mctx *c);
/* The position of a guideline ref in the checklist (by item), or a large
 * number for refs no item covers. */
int pa__rep_ref_order(const char *ref);
/* model_checklist.c: "checklist" and "not_decidable" (after "rules" and
 * "findings"). */
pa_rc pa__rep_checklist(struct pa_mctx *c);

/* pseudo.c: reads the key file (at least 16 bytes) into c->key. */
pa_rc pa__rep_key_load(struct pa_mctx *c, const char *path);
/* The token of a patient id ("P-" and 16 hex digits of HMAC-SHA256 under
 * c->key, over the id without its CX suffix). New reference; NULL on
 * failure. */
json_t *pa__rep_token(const struct pa_mctx *c, const char *patient_id);

#endif
