/* query.h — investigation: the timeline of one patient, user, AE title or
 * IP address across every source (ATNA, FHIR, syslog, DICOM), merged and
 * ordered by time (`pacsaudit query`, docs/query.md).
 *
 * Read side of the store: it prepares its own statements on the store's
 * handle and writes nothing, so it runs on a store opened PA_STORE_RDONLY.
 * Each kind of subject is answered from the events indexes (docs/schema.md,
 * "Indexes"); docs/performance.md holds the plans and timings on 10M events.
 *
 * Matching:
 *  - patient: patient_id equal to the id, with or without its HL7 CX suffix:
 *    "0020481739" matches a stored "0020481739^^^HOSPA&...&ISO^PI" and
 *    "0020481739^^^HOSPA" matches a stored "0020481739". The comparison is on
 *    the id part (CX.1) only: the assigning authority is not compared (each
 *    row shows the stored id whole, so two authorities can be told apart).
 *  - user: user_id, exactly.
 *  - ae: src_ae or dst_ae, exactly (a row with both is given once).
 *  - ip: src_ip or dst_ip, exactly (as stored: no CIDR, no canonical form).
 * Rows come in (ts, id) order: time, and the order of storing within one
 * microsecond. */
#ifndef PA_QUERY_H
#define PA_QUERY_H

#include "err.h"
#include "store.h"

#include <stddef.h>
#include <stdint.h>

enum pa_query_kind { PA_QUERY_PATIENT, PA_QUERY_USER, PA_QUERY_AE, PA_QUERY_IP };

/* "patient", "user", "ae", "ip" to *out; PA_USAGE for any other word. */
pa_rc pa_query_kind_parse(const char *word, enum pa_query_kind *out);
/* The word of kind (static, never NULL). */
const char *pa_query_kind_name(enum pa_query_kind kind);

/* What to look for. All borrowed for the call. */
struct pa_query {
  enum pa_query_kind kind;
  const char *subject;  /* the id, title or address; not empty */
  int64_t since_us;     /* µs UTC, first time included; 0: from the start */
  int64_t until_us;     /* µs UTC, first time excluded; 0: to the end */
  uint64_t limit;       /* at most this many rows (the earliest); 0: all */
};

/* One event of the timeline. Every string is borrowed: valid only during
 * the callback (copy what must outlive it); NULL where the store has NULL.
 * Strings are as stored: they come from logs and may hold anything
 * (control bytes, markup, formula prefixes): escape them for the output. */
struct pa_query_row {
  int64_t id;                 /* events.id */
  int64_t ts;                 /* µs UTC, the event's own time */
  const char *source;         /* 'dicom', 'atna', 'fhir', 'syslog' */
  const char *origin;         /* the input it came from */
  const char *event_code;     /* e.g. 'DCM:110110', 'DIMSE:C-MOVE-RQ' */
  const char *op;             /* the policy's operation (view, retrieve, ...) or NULL */
  const char *action;         /* C R U D E, or NULL */
  int has_outcome;            /* 0: outcome unknown (NULL) */
  int outcome;                /* 0 success, 4 minor, 8 serious, 12 major failure */
  const char *user_id, *user_name, *user_role;
  const char *src_ip, *src_ae, *dst_ip, *dst_ae, *host;
  const char *patient_id, *study_uid;
  int64_t object_count;       /* -1 when NULL */
};

/* Called once a row, in order. Returning anything but PA_OK stops the
 * query, and pa_query_run returns that code. */
typedef pa_rc (*pa_query_cb)(void *ctx, const struct pa_query_row *row);

/* Runs q over s in one read transaction (one snapshot, whatever a writer
 * commits meanwhile) and calls cb for each row; *n_out (may be NULL) is
 * the number of rows given to cb. PA_USAGE (err says why) for an empty
 * subject, a patient id with nothing before its CX suffix ("^^^HOSPA"), or
 * since >= until when both are set; PA_DB (err holds SQLite's message) when
 * the store cannot answer; else PA_OK or the callback's code. Nothing is
 * allocated that outlives the call. */
pa_rc pa_query_run(pa_store *s, const struct pa_query *q, pa_query_cb cb, void *ctx,
                   uint64_t *n_out, struct pa_err *err);

/* The SQL pa_query_run prepares for kind (static text, never NULL):
 * parameters ?1 the subject (for a patient, its id without the CX suffix),
 * ?2 since, ?3 until (µs), ?4 the limit (-1 none). For docs and benches. */
const char *pa_query_sql(enum pa_query_kind kind);

/* Calls line(ctx, text) with each row of EXPLAIN QUERY PLAN of q's
 * statement, indented two spaces a level (the sqlite3 shell's tree
 * without its drawing), so a test or the bench can see which indexes
 * answer it. text is borrowed for the call. PA_DB on a store error. */
pa_rc pa_query_plan(pa_store *s, const struct pa_query *q,
                    void (*line)(void *ctx, const char *text), void *ctx,
                    struct pa_err *err);

/* The name of an outcome code: "success", "minor-failure",
 * "serious-failure", "major-failure"; "unknown" for any other value.
 * Static, never NULL. */
const char *pa_query_outcome_name(int outcome);

#endif
