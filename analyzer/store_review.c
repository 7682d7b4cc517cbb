/* store_review.c — what reviewers record (see store.h): a finding's status
 * set by a person (findings ack|close) with its history, and the sign-offs
 * of `review`. Each is one transaction with its runs row, so the record of
 * who did what and the run that did it are never apart. */
#include "store.h"
#include "store_int.h"
#include "tm.h"
#include "utf8.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* 1 when s is well-formed UTF-8; with no_ctl, also without a C0 control
 * byte or DEL. */
static int utf8_ok(const char *s, int no_ctl)
{
  size_t len = strlen(s), i = 0, n;
  while (i < len) {
    unsigned char c = (unsigned char)s[i];
    if (no_ctl && (c < 0x20 || c == 0x7f))
      return 0;
    if (!(n = pa_utf8_char(s + i, len - i)))
      return 0;
    i += n;
  }
  return 1;
}

static pa_rc check_who(const char *by, const char *note, const char *what, struct pa_err *err)
{
  if (!by || !*by)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s: --by is empty", what);
  if (!utf8_ok(by, 1))
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0,
                      "%s: --by is not UTF-8 text (or holds a control character)", what);
  if (note && !utf8_ok(note, 0))
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s: --note is not UTF-8 text", what);
  return PA_OK;
}

/* The write transaction of one reviewer's act: its own, never inside a
 * batch or a read snapshot. */
static pa_rc txn_begin(pa_store *s, struct pa_err *err)
{
  if (s->in_batch || s->in_txn || s->in_read)
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "a batch or read is open on the store");
  if (pa__store_exec(s, "BEGIN IMMEDIATE"))
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(s->db));
  return PA_OK;
}

/* Commits, or rolls back when rc is not PA_OK (err is set then) or the
 * commit fails. */
static pa_rc txn_end(pa_store *s, pa_rc rc, struct pa_err *err)
{
  if (rc == PA_OK && pa__store_exec(s, "COMMIT") == PA_OK)
    return PA_OK;
  if (rc == PA_OK)
    rc = pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(s->db));
  if (!sqlite3_get_autocommit(s->db))
    pa__store_exec(s, "ROLLBACK");
  return rc;
}

static pa_rc db_err(pa_store *s, struct pa_err *err)
{
  return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(s->db));
}

/* Whether a reviewer may take a finding from `from` to `to`. */
static int allowed(const char *from, const char *to)
{
  if (!strcmp(to, "acknowledged"))
    return !strcmp(from, "open") || !strcmp(from, "excepted");
  if (!strcmp(to, "closed"))
    return !strcmp(from, "open") || !strcmp(from, "acknowledged");
  return 0;
}

pa_rc pa_store_finding_set_status(pa_store *s, int64_t finding_id, const char *status,
                                  const char *by, const char *note, int64_t *run_id_out,
                                  struct pa_err *err)
{
  static const struct pa_run_counts zero;
  sqlite3_stmt *q = NULL;
  char what[64], args[64], from[32];
  int64_t run_id = 0, now = pa_time_now();
  pa_rc rc;
  int src;

  snprintf(what, sizeof what, "finding %" PRId64, finding_id);
  if (!status || (strcmp(status, "acknowledged") && strcmp(status, "closed")))
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0,
                      "%s: a reviewer sets acknowledged or closed", what);
  if ((rc = check_who(by, note, what, err)))
    return rc;
  if ((rc = txn_begin(s, err)))
    return rc;
  if (sqlite3_prepare_v2(s->db, "SELECT status FROM findings WHERE id = ?", -1, &q, NULL) !=
      SQLITE_OK) {
    rc = db_err(s, err);
    goto out;
  }
  sqlite3_bind_int64(q, 1, finding_id);
  src = sqlite3_step(q);
  if (src == SQLITE_DONE) {
    rc = pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s: no such finding", what);
    goto out;
  }
  if (src != SQLITE_ROW) {
    rc = db_err(s, err);
    goto out;
  }
  snprintf(from, sizeof from, "%s", (const char *)sqlite3_column_text(q, 0) ?: "");
  sqlite3_finalize(q);
  q = NULL;
  if (!allowed(from, status)) {
    rc = pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s is %s: it cannot be %s", what, from,
                    !strcmp(from, status) ? (strcmp(status, "closed") ? "acknowledged again"
                                                                       : "closed again")
                                          : status);
    goto out;
  }
  snprintf(args, sizeof args, "%s %" PRId64, !strcmp(status, "closed") ? "close" : "ack",
           finding_id);
  if (pa_store_run_begin(s, "findings", args, &run_id)) {
    rc = db_err(s, err);
    goto out;
  }
  if (sqlite3_prepare_v2(s->db, "UPDATE findings SET status = ?2, updated_run = ?3 WHERE id = ?1",
                         -1, &q, NULL) != SQLITE_OK) {
    rc = db_err(s, err);
    goto out;
  }
  sqlite3_bind_int64(q, 1, finding_id);
  sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 3, run_id);
  if (sqlite3_step(q) != SQLITE_DONE) {
    rc = db_err(s, err);
    goto out;
  }
  sqlite3_finalize(q);
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO finding_history (finding_id, status, prev_status, by, at,"
                         " note, run_id) VALUES (?,?,?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK) {
    q = NULL;
    rc = db_err(s, err);
    goto out;
  }
  sqlite3_bind_int64(q, 1, finding_id);
  sqlite3_bind_text(q, 2, status, -1, SQLITE_STATIC);
  pa__store_bind_text(q, 3, from);
  sqlite3_bind_text(q, 4, by, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 5, now);
  pa__store_bind_text(q, 6, note);
  sqlite3_bind_int64(q, 7, run_id);
  if (sqlite3_step(q) != SQLITE_DONE) {
    rc = db_err(s, err);
    goto out;
  }
  if (pa_store_run_end(s, run_id, "ok", &zero, NULL))
    rc = db_err(s, err);
out:
  sqlite3_finalize(q);
  rc = txn_end(s, rc, err);
  if (rc == PA_OK && run_id_out)
    *run_id_out = run_id;
  return rc;
}

pa_rc pa_store_review_put(pa_store *s, const struct pa_review *r, int64_t *id_out,
                          struct pa_err *err)
{
  static const struct pa_run_counts zero;
  sqlite3_stmt *q = NULL;
  int64_t run_id = 0, id = 0;
  pa_rc rc;

  if ((rc = check_who(r->by, r->note, "review", err)))
    return rc;
  if (r->has_period && r->period_to <= r->period_from)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0,
                      "review: the period ends before it begins");
  if ((rc = txn_begin(s, err)))
    return rc;
  if (pa_store_run_begin(s, "review", NULL, &run_id)) {
    rc = db_err(s, err);
    goto out;
  }
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO reviews (by, at, note, period_from, period_to, run_id)"
                         " VALUES (?,?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK) {
    rc = db_err(s, err);
    goto out;
  }
  sqlite3_bind_text(q, 1, r->by, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, r->at ? r->at : pa_time_now());
  pa__store_bind_text(q, 3, r->note);
  if (r->has_period) {
    sqlite3_bind_int64(q, 4, r->period_from);
    sqlite3_bind_int64(q, 5, r->period_to);
  }
  sqlite3_bind_int64(q, 6, run_id);
  if (sqlite3_step(q) != SQLITE_DONE) {
    rc = db_err(s, err);
    goto out;
  }
  id = sqlite3_last_insert_rowid(s->db);
  if (pa_store_run_end(s, run_id, "ok", &zero, NULL))
    rc = db_err(s, err);
out:
  sqlite3_finalize(q);
  rc = txn_end(s, rc, err);
  if (rc == PA_OK && id_out)
    *id_out = id;
  return rc;
}
