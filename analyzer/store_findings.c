/* store_findings.c — the findings the rules keep (see store.h). */
#include "store.h"
#include "store_int.h"
#include "hash.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static pa_rc set_status(pa_store *s, int64_t id, const char *status, const char *reason,
                        int64_t run_id)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_FIND_STATUS);
  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, id);
  sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
  pa__store_bind_text(q, 3, reason);
  pa__store_bind_opt(q, 4, run_id ? run_id : -1);
  return pa__store_step_done(s, q);
}

pa_rc pa_store_finding_put(pa_store *s, const struct pa_finding *f, int64_t run_id,
                           int *known_out)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_FIND_FIND);
  char fp_in[1024], fp[PA_SHA256_HEXLEN];
  int rc;

  *known_out = 0;
  if (!q)
    return PA_DB;
  if (pa__store_write_begin(s)) /* the lookup belongs to the write's transaction */
    return PA_DB;
  pa__store_bind_text(q, 1, f->rule_id);
  pa__store_bind_text(q, 2, f->subject);
  sqlite3_bind_int64(q, 3, f->first_ts);
  sqlite3_bind_int64(q, 4, f->last_ts);
  sqlite3_bind_int64(q, 5, f->gap_us);
  sqlite3_bind_int(q, 6, f->part);
  if ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0);
    int64_t of = sqlite3_column_int64(q, 1), ol = sqlite3_column_int64(q, 2);
    int64_t on = sqlite3_column_int64(q, 3);
    char status[16];
    snprintf(status, sizeof status, "%s", (const char *)sqlite3_column_text(q, 4) ?: "");
    sqlite3_reset(q);
    *known_out = 1;
    if (f->first_ts < of || f->last_ts > ol || f->count > on) { /* new data extends it */
      sqlite3_stmt *u = pa__store_stmt(s, PA__ST_FIND_UPD);
      if (!u)
        return PA_DB;
      sqlite3_bind_int64(u, 1, id);
      sqlite3_bind_int64(u, 2, f->first_ts < of ? f->first_ts : of);
      sqlite3_bind_int64(u, 3, f->last_ts > ol ? f->last_ts : ol);
      sqlite3_bind_int64(u, 4, f->count > on ? f->count : on);
      pa__store_bind_text(u, 5, f->evidence);
      pa__store_bind_text(u, 6, f->assoc_evidence);
      pa__store_bind_opt(u, 7, run_id ? run_id : -1);
      if (pa__store_step_done(s, u))
        return PA_DB;
    }
    if (f->excepted && !strcmp(status, "open"))
      return set_status(s, id, "excepted", f->excepted, run_id);
    if (!f->excepted && !strcmp(status, "excepted")) /* the exception ended or went */
      return set_status(s, id, "open", NULL, run_id);
    return PA_OK;
  }
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    pa__store_txn_fail(s);
    return PA_DB;
  }
  if (f->part)
    snprintf(fp_in, sizeof fp_in, "%s\x1f%s\x1f%" PRId64 "\x1f%d", f->rule_id,
             f->subject ? f->subject : "", f->first_ts, f->part);
  else
    snprintf(fp_in, sizeof fp_in, "%s\x1f%s\x1f%" PRId64, f->rule_id,
             f->subject ? f->subject : "", f->first_ts);
  pa_sha256_hex(fp_in, strlen(fp_in), fp);
  if (!(q = pa__store_stmt(s, PA__ST_FIND_INS)))
    return PA_DB;
  pa__store_bind_text(q, 1, f->rule_id);
  pa__store_bind_text(q, 2, f->severity);
  pa__store_bind_text(q, 3, f->guideline_ref);
  pa__store_bind_text(q, 4, f->subject);
  sqlite3_bind_int64(q, 5, f->first_ts);
  sqlite3_bind_int64(q, 6, f->last_ts);
  sqlite3_bind_int64(q, 7, f->count);
  sqlite3_bind_text(q, 8, f->evidence ? f->evidence : "[]", -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 9, fp, -1, SQLITE_STATIC);
  pa__store_bind_opt(q, 10, run_id ? run_id : -1);
  sqlite3_bind_text(q, 11, f->excepted ? "excepted" : "open", -1, SQLITE_STATIC);
  pa__store_bind_text(q, 12, f->strength);
  pa__store_bind_opt(q, 13, run_id ? run_id : -1);
  pa__store_bind_text(q, 14, f->excepted);
  pa__store_bind_text(q, 15, f->assoc_evidence);
  pa__store_bind_text(q, 16, f->detail);
  return pa__store_step_done(s, q);
}

pa_rc pa_store_rule_run_put(pa_store *s, int64_t run_id, const struct pa_rule_run *r)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_RULE_RUN);
  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, run_id);
  pa__store_bind_text(q, 2, r->rule_id);
  sqlite3_bind_int(q, 3, r->decided);
  pa__store_bind_text(q, 4, r->why);
  pa__store_bind_opt(q, 5, r->since_ts ? r->since_ts : -1);
  pa__store_bind_opt(q, 6, r->until_ts ? r->until_ts : -1);
  sqlite3_bind_int64(q, 7, (int64_t)r->n_new);
  sqlite3_bind_int64(q, 8, (int64_t)r->n_known);
  sqlite3_bind_int64(q, 9, (int64_t)r->n_excepted);
  sqlite3_bind_int64(q, 10, (int64_t)(r->ms + 0.5));
  return pa__store_step_done(s, q);
}
