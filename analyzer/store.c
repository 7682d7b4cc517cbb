/* store.c — the SQLite store (see store.h). */
#include "store.h"
#include "store_schema.h"
#include "limits.h"
#include "hash.h"
#include "log.h"
#include "tm.h"

#include <zlib.h>

#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

enum {
  ST_ASSOC_INS,
  ST_ASSOC_UPD,
  ST_PCTX,
  ST_DIMSE,
  ST_EVENT,
  ST_STATE_GET,
  ST_STATE_PUT,
  ST_DETAIL,
  ST_PART,
  ST_OBJ,
  ST_RAW_FIND,
  ST_RAW_INS,
  ST_RAW_WHERE,
  ST_REPEAT,
  ST_QUAR,
  ST_COUNT
};

static const char *const stmt_sql[ST_COUNT] = {
  [ST_ASSOC_INS] =
    "INSERT OR IGNORE INTO associations (started_at, client_ip, client_port,"
    " server_ip, server_port, result, tls, origin) VALUES (?,?,?,?,?,?,?,?)",
  [ST_ASSOC_UPD] =
    "UPDATE associations SET ended_at=?, calling_ae=?, called_ae=?, result=?,"
    " reject_reason=?, user_identity_type=?, user_identity=?, tls=?, bytes=?,"
    " user_identity_sha256=?, user_identity_response=?, tls_server_name=?,"
    " application_context=?, max_pdu_rq=?, max_pdu_ac=?, impl_class_rq=?,"
    " impl_version_rq=?, impl_class_ac=?, impl_version_ac=?, anomalies=?,"
    " anomaly_count=? WHERE id=?",
  [ST_PCTX] =
    "INSERT OR REPLACE INTO presentation_contexts (assoc_id, pc_id,"
    " abstract_syntax, transfer_syntaxes, result, accepted_transfer_syntax)"
    " VALUES (?,?,?,?,?,?)",
  [ST_DIMSE] =
    "INSERT INTO dimse (assoc_id, ts, message_id, command, sop_class_uid,"
    " sop_instance_uid, status, patient_id, study_uid, query, move_destination,"
    " rsp_ts, by_acceptor, completed, failed, warning, move_originator_ae,"
    " move_originator_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [ST_EVENT] =
    "INSERT INTO events (ts, received_ts, source, origin, event_code, action,"
    " outcome, user_id, user_name, user_role, src_ip, src_ae, dst_ip, dst_ae,"
    " host, patient_id, study_uid, object_count, secure, assoc_id, raw_id)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [ST_STATE_GET] =
    "SELECT kind, inode, size, mtime, head_sha256, offset FROM ingest_state"
    " WHERE path=?",
  [ST_STATE_PUT] =
    "INSERT OR REPLACE INTO ingest_state (path, kind, inode, size, mtime,"
    " head_sha256, offset, run_id, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
  [ST_DETAIL] =
    "INSERT INTO audit_details (event_id, format, event_id_system, event_display,"
    " event_types, event_type_names, outcome_desc, purpose, source_id, source_site,"
    " source_types, warnings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
  [ST_PART] =
    "INSERT INTO atna_participants (event_id, seq, user_id, alt_user_id, user_name,"
    " is_requestor, user_type, user_id_type, net_id, net_type, net_type_effective,"
    " ae_title, roles, role_names) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [ST_OBJ] =
    "INSERT INTO atna_objects (event_id, seq, object_id, type_code, role_code,"
    " lifecycle, id_type_code, id_type_system, name, description, query_b64, cx_id,"
    " cx_namespace, cx_universal_id, n_instances, sop_classes, accession, study_uids)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [ST_RAW_FIND] = "SELECT id FROM raw WHERE sha256=?",
  [ST_RAW_WHERE] = "SELECT origin, offset FROM raw WHERE id=?",
  [ST_REPEAT] =
    "INSERT OR IGNORE INTO raw_repeats (raw_id, received_ts, origin, offset) VALUES (?,?,?,?)",
  [ST_RAW_INS] =
    "INSERT INTO raw (received_ts, origin, offset, size, compressed, bytes, sha256,"
    " prev_hash, chain_hash) VALUES (?,?,?,?,?,?,?,?,?)",
  [ST_QUAR] =
    "INSERT OR IGNORE INTO quarantine (received_ts, origin, offset, error, size, bytes,"
    " sha256, run_id) VALUES (?,?,?,?,?,?,?,?)",
};

_Static_assert(PA_SCHEMA_VERSION == PA__STORE_N_MIGRATIONS,
               "one migration per schema version");

struct pa_store {
  sqlite3 *db;
  sqlite3_stmt *st[ST_COUNT]; /* prepared lazily, finalized at close */
  int version_found;
  int in_batch;                     /* batch mode: writes gather in transactions */
  int in_txn;                       /* a batch transaction is open (we hold the write lock) */
  int txn_failed;                   /* a write of the open batch failed: it will roll back */
  uint64_t commits;                 /* batch transactions committed */
  char err[256];                    /* why the last batch failed, "" if it did not */
  int64_t busy_since, busy_said;    /* on_busy: when the wait began, when last logged */
  int64_t stop_seen;                /* on_busy: when *stop was first seen set (for all
                                       later waits too: the process is stopping), 0 not yet */
  volatile sig_atomic_t *stop;      /* borrowed: set when the process is to stop */
  uint64_t batch_rows;
  uint64_t batch_max_rows;          /* tick commits after this many rows */
  int64_t batch_max_us;             /* or this long */
  int64_t batch_started;
  struct pa_store_counts counts;    /* rows written, the open batch's included */
  struct pa_store_counts pending;   /* of those, the open batch's: undone if it rolls back */
  int have_chain;                   /* chain_tip loaded from the last raw row */
  uint8_t chain_tip[PA_SHA256_LEN]; /* chain_hash of the last raw row */
  int chain_empty;                  /* raw holds no row yet */
  uint8_t *zbuf;                    /* compression scratch, owned */
  size_t zbuf_size;
  z_stream z;                       /* deflate state, reused for every message */
  int z_ready;                      /* z holds a deflateInit2'd stream */
};

/* Counts a row written; a row of the open batch is also pending. */
#define COUNT(s, f) ((s)->counts.f++, (s)->in_txn ? (void)(s)->pending.f++ : (void)0)

static int64_t mono_us(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

const char *pa_store_errmsg(const pa_store *s)
{
  if (s && s->err[0])
    return s->err;
  return s && s->db ? sqlite3_errmsg(s->db) : "no database";
}

uint64_t pa_store_commits(const pa_store *s) { return s->commits; }

/* A write of the open batch failed: keep SQLite's reason, and make the
 * batch roll back as a whole when it ends. */
static void txn_fail(pa_store *s)
{
  if (!s->in_txn)
    return;
  if (!s->txn_failed)
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
  s->txn_failed = 1;
}

int pa_store_version_found(const pa_store *s) { return s->version_found; }

static pa_rc exec(pa_store *s, const char *sql)
{
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? PA_OK : PA_DB;
}

static sqlite3_stmt *stmt(pa_store *s, int which)
{
  if (!s->st[which] &&
      sqlite3_prepare_v3(s->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                         &s->st[which], NULL) != SQLITE_OK) {
    txn_fail(s);
    return NULL;
  }
  sqlite3_reset(s->st[which]);
  sqlite3_clear_bindings(s->st[which]);
  return s->st[which];
}

/* Binds a string; "" and NULL both become NULL so absent reads as absent.
 * SQLITE_STATIC: every caller steps (and resets) the statement before it
 * returns, while v is still valid, and stmt() clears the bindings before
 * the next use, so SQLite never reads v after that. Copying each value
 * (SQLITE_TRANSIENT) was a malloc, a memcpy and a free per column. */
static void bind_text(sqlite3_stmt *q, int i, const char *v)
{
  if (v && *v)
    sqlite3_bind_text(q, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(q, i);
}

/* Binds v, or NULL when v is below zero (the records' "unknown"). */
static void bind_opt(sqlite3_stmt *q, int i, int64_t v)
{
  if (v < 0)
    sqlite3_bind_null(q, i);
  else
    sqlite3_bind_int64(q, i, v);
}

/* In batch mode, the first write opens the transaction: BEGIN IMMEDIATE
 * takes the write lock before anything is read for the write (the raw
 * chain's tip, a duplicate check), so two processes writing the same
 * database (a listener and an ingest) serialise whole batches and the hash
 * chain stays one chain. No lock is held while a batch is idle. */
static pa_rc write_begin(pa_store *s)
{
  if (!s->in_batch || s->in_txn)
    return PA_OK;
  if (exec(s, "BEGIN IMMEDIATE"))
    return PA_DB;
  s->in_txn = 1;
  s->batch_rows = 0;
  s->batch_started = mono_us();
  s->have_chain = 0; /* another writer may have appended since our last batch */
  return PA_OK;
}

static pa_rc step_done(pa_store *s, sqlite3_stmt *q)
{
  int rc;

  if (write_begin(s)) {
    sqlite3_reset(q);
    return PA_DB;
  }
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    txn_fail(s);
    return PA_DB;
  }
  s->batch_rows++;
  return PA_OK;
}

/* Creates the file 0600 first: it holds patient data. SQLite gives its WAL
 * and shm files the database file's mode. */
static pa_rc create_private(const char *path, struct pa_err *err)
{
  int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    close(fd);
    return PA_OK;
  }
  if (errno == EEXIST)
    return PA_OK;
  return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot create: %s", path,
                    strerror(errno));
}

static pa_rc migrate(pa_store *s, const char *path, struct pa_err *err)
{
  sqlite3_stmt *q = NULL;
  int v;

  if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) != SQLITE_OK ||
      sqlite3_step(q) != SQLITE_ROW) {
    sqlite3_finalize(q);
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: not a database: %s", path,
                      sqlite3_errmsg(s->db));
  }
  v = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  s->version_found = v;
  if (v > PA__STORE_N_MIGRATIONS)
    return pa_err_set(err, PA_DB, UINT64_MAX, 0,
                      "%s: schema version %d is newer than this pacsaudit knows (%d)",
                      path, v, PA__STORE_N_MIGRATIONS);
  for (; v < PA__STORE_N_MIGRATIONS; v++) {
    char setv[64];
    snprintf(setv, sizeof setv, "PRAGMA user_version=%d", v + 1);
    if (exec(s, "BEGIN IMMEDIATE") || exec(s, pa__store_migrations[v]) ||
        exec(s, setv) || exec(s, "COMMIT")) {
      pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: migration to schema %d failed: %s",
                 path, v + 1, sqlite3_errmsg(s->db));
      exec(s, "ROLLBACK");
      return PA_DB;
    }
  }
  return PA_OK;
}

/* Another writer holds the lock (a listener and a nightly ingest take turns
 * batch by batch, so a wait is short): wait, say so every 10 s, and give up
 * after PA_STORE_BUSY_MAX_MS, which only a writer that is stuck reaches. */
static int on_busy(void *ctx, int n)
{
  pa_store *s = ctx;
  int64_t now = mono_us();
  struct timespec ts = {0, 20 * 1000 * 1000};

  if (n == 0)
    s->busy_since = s->busy_said = now;
  if (now - s->busy_since >= PA_STORE_BUSY_MAX_MS * 1000LL)
    return 0;
  /* asked to stop: wait a little longer for the batch, not 10 minutes */
  if (s->stop && *s->stop && !s->stop_seen) {
    s->stop_seen = now;
    pa_log(PA_LOG_WARN, "stopping: waiting up to %d s more for the database lock",
           PA_STORE_BUSY_STOP_MS / 1000);
  }
  if (s->stop_seen && now - s->stop_seen >= PA_STORE_BUSY_STOP_MS * 1000LL)
    return 0;
  if (now - s->busy_said >= 10000000) {
    s->busy_said = now;
    pa_log(PA_LOG_WARN, "the database is locked by another writer; waiting (%lld s)",
           (long long)((now - s->busy_since) / 1000000));
  }
  nanosleep(&ts, NULL);
  return 1;
}

pa_rc pa_store_open(const char *path, pa_store **out, struct pa_err *err)
{
  pa_store *s;
  pa_rc rc;

  *out = NULL;
  if ((rc = create_private(path, err)))
    return rc;
  s = calloc(1, sizeof *s);
  if (!s)
    return PA_NOMEM;
  s->batch_max_rows = PA_STORE_BATCH_ROWS;
  s->batch_max_us = PA_STORE_BATCH_US;
  if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: cannot open: %s", path,
               s->db ? sqlite3_errmsg(s->db) : "out of memory");
    pa_store_close(s);
    return PA_DB;
  }
  sqlite3_busy_handler(s->db, on_busy, s);
  /* WAL lets readers (query, report) work during a long ingest; NORMAL is
   * durable across application crashes, and a batch is the unit of loss on
   * power failure. The cache is an upper bound: it only grows when used. */
  if (exec(s, "PRAGMA journal_mode=WAL") || exec(s, "PRAGMA synchronous=NORMAL") ||
      exec(s, "PRAGMA foreign_keys=OFF") || exec(s, "PRAGMA cache_size=-131072") ||
      exec(s, "PRAGMA temp_store=MEMORY")) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: %s", path, sqlite3_errmsg(s->db));
    pa_store_close(s);
    return PA_DB;
  }
  if ((rc = migrate(s, path, err))) {
    pa_store_close(s);
    return rc;
  }
  *out = s;
  return PA_OK;
}

pa_rc pa_store_close(pa_store *s)
{
  pa_rc rc = PA_OK;

  if (!s)
    return PA_OK;
  if (s->in_batch)
    rc = pa_store_batch_commit(s);
  for (int i = 0; i < ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  free(s->zbuf);
  if (s->z_ready)
    deflateEnd(&s->z);
  if (s->db && sqlite3_close(s->db) != SQLITE_OK)
    rc = PA_DB;
  free(s);
  return rc;
}

pa_rc pa_store_batch_begin(pa_store *s)
{
  s->in_batch = 1; /* the transaction itself opens with the first write */
  return PA_OK;
}

void pa_store_batch_limits(pa_store *s, uint64_t max_rows, int64_t max_us)
{
  s->batch_max_rows = max_rows ? max_rows : 1;
  s->batch_max_us = max_us;
}

/* Ends the open batch. A batch is all or nothing: after a failed write, or
 * a failed COMMIT, it rolls back whole, so that no message is kept half
 * (its raw row without its event) and skipped as "already stored" when it
 * is read again. */
static pa_rc txn_commit(pa_store *s)
{
  if (!s->in_txn)
    return PA_OK;
  if (!s->txn_failed && exec(s, "COMMIT") == PA_OK) {
    s->in_txn = 0;
    s->commits++;
    s->err[0] = 0;
    memset(&s->pending, 0, sizeof s->pending);
    return PA_OK;
  }
  if (!s->txn_failed)
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
  if (!sqlite3_get_autocommit(s->db))
    exec(s, "ROLLBACK");
  s->in_txn = s->txn_failed = 0;
  s->have_chain = 0;
  s->counts.associations -= s->pending.associations;
  s->counts.duplicates -= s->pending.duplicates;
  s->counts.pctx -= s->pending.pctx;
  s->counts.dimse -= s->pending.dimse;
  s->counts.events -= s->pending.events;
  s->counts.raw -= s->pending.raw;
  s->counts.quarantined -= s->pending.quarantined;
  memset(&s->pending, 0, sizeof s->pending);
  return PA_DB;
}

pa_rc pa_store_batch_commit(pa_store *s)
{
  s->in_batch = 0;
  return txn_commit(s);
}

pa_rc pa_store_batch_tick(pa_store *s)
{
  if (!s->in_txn)
    return PA_OK;
  if (s->batch_rows < s->batch_max_rows && mono_us() - s->batch_started < s->batch_max_us)
    return PA_OK;
  return txn_commit(s);
}

pa_rc pa_store_assoc_begin(pa_store *s, const struct pa_assoc *a, int64_t *id_out)
{
  sqlite3_stmt *q = stmt(s, ST_ASSOC_INS);
  pa_rc rc;

  *id_out = 0;
  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, a->started_at);
  sqlite3_bind_text(q, 2, a->conn.client_ip, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(q, 3, a->conn.client_port);
  sqlite3_bind_text(q, 4, a->conn.server_ip, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(q, 5, a->conn.server_port);
  sqlite3_bind_text(q, 6, a->result ? a->result : "incomplete", -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 7, a->tls);
  bind_text(q, 8, a->conn.origin);
  if ((rc = step_done(s, q)))
    return rc;
  if (sqlite3_changes(s->db) == 0) {
    COUNT(s, duplicates);
    return PA_OK;
  }
  *id_out = sqlite3_last_insert_rowid(s->db);
  COUNT(s, associations);
  return pa_store_assoc_update(s, *id_out, a);
}

pa_rc pa_store_assoc_update(pa_store *s, int64_t id, const struct pa_assoc *a)
{
  sqlite3_stmt *q = stmt(s, ST_ASSOC_UPD);

  if (!q)
    return PA_DB;
  bind_opt(q, 1, a->ended_at ? a->ended_at : -1);
  bind_text(q, 2, a->calling_ae);
  bind_text(q, 3, a->called_ae);
  sqlite3_bind_text(q, 4, a->result ? a->result : "incomplete", -1, SQLITE_STATIC);
  bind_text(q, 5, a->reject_reason);
  bind_opt(q, 6, a->user_identity_type ? a->user_identity_type : -1);
  bind_text(q, 7, a->user_identity);
  sqlite3_bind_int(q, 8, a->tls);
  sqlite3_bind_int64(q, 9, (int64_t)a->bytes);
  bind_text(q, 10, a->user_identity_sha256);
  bind_opt(q, 11, a->user_identity_type ? a->user_identity_rsp : -1);
  bind_text(q, 12, a->tls_server_name);
  bind_text(q, 13, a->app_context);
  bind_opt(q, 14, a->max_pdu_rq);
  bind_opt(q, 15, a->max_pdu_ac);
  bind_text(q, 16, a->impl_class_rq);
  bind_text(q, 17, a->impl_version_rq);
  bind_text(q, 18, a->impl_class_ac);
  bind_text(q, 19, a->impl_version_ac);
  bind_text(q, 20, a->anomalies);
  sqlite3_bind_int(q, 21, (int)a->n_anomalies);
  sqlite3_bind_int64(q, 22, id);
  return step_done(s, q);
}

pa_rc pa_store_put_pctx(pa_store *s, int64_t assoc_id, const struct pa_pctx *pc)
{
  sqlite3_stmt *q = stmt(s, ST_PCTX);
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, assoc_id);
  sqlite3_bind_int(q, 2, pc->pc_id);
  bind_text(q, 3, pc->abstract_syntax);
  bind_text(q, 4, pc->transfer_syntaxes);
  bind_opt(q, 5, pc->result);
  bind_text(q, 6, pc->accepted_ts);
  if ((rc = step_done(s, q)) == PA_OK)
    COUNT(s, pctx);
  return rc;
}

pa_rc pa_store_put_dimse(pa_store *s, const struct pa_dimse *d, int64_t *id_out)
{
  sqlite3_stmt *q = stmt(s, ST_DIMSE);
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, d->assoc_id);
  sqlite3_bind_int64(q, 2, d->ts);
  sqlite3_bind_int(q, 3, d->message_id);
  sqlite3_bind_text(q, 4, d->command, -1, SQLITE_STATIC);
  bind_text(q, 5, d->sop_class_uid);
  bind_text(q, 6, d->sop_instance_uid);
  bind_opt(q, 7, d->status);
  bind_text(q, 8, d->patient_id);
  bind_text(q, 9, d->study_uid);
  bind_text(q, 10, d->query);
  bind_text(q, 11, d->move_destination);
  bind_opt(q, 12, d->rsp_ts ? d->rsp_ts : -1);
  sqlite3_bind_int(q, 13, d->by_acceptor);
  bind_opt(q, 14, d->completed);
  bind_opt(q, 15, d->failed);
  bind_opt(q, 16, d->warning);
  bind_text(q, 17, d->move_originator_ae);
  bind_opt(q, 18, d->move_originator_id);
  if ((rc = step_done(s, q)))
    return rc;
  COUNT(s, dimse);
  if (id_out)
    *id_out = sqlite3_last_insert_rowid(s->db);
  return PA_OK;
}

pa_rc pa_store_put_event(pa_store *s, const struct pa_event *e, int64_t *id_out)
{
  sqlite3_stmt *q = stmt(s, ST_EVENT);
  char action[2] = {e->action, 0};
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, e->ts);
  bind_opt(q, 2, e->received_ts ? e->received_ts : -1);
  sqlite3_bind_text(q, 3, e->source, -1, SQLITE_STATIC);
  bind_text(q, 4, e->origin);
  bind_text(q, 5, e->event_code);
  bind_text(q, 6, action);
  bind_opt(q, 7, e->outcome);
  bind_text(q, 8, e->user_id);
  bind_text(q, 9, e->user_name);
  bind_text(q, 10, e->user_role);
  bind_text(q, 11, e->src_ip);
  bind_text(q, 12, e->src_ae);
  bind_text(q, 13, e->dst_ip);
  bind_text(q, 14, e->dst_ae);
  bind_text(q, 15, e->host);
  bind_text(q, 16, e->patient_id);
  bind_text(q, 17, e->study_uid);
  bind_opt(q, 18, e->object_count);
  bind_opt(q, 19, e->secure);
  bind_opt(q, 20, e->assoc_id ? e->assoc_id : -1);
  bind_opt(q, 21, e->raw_id ? e->raw_id : -1);
  if ((rc = step_done(s, q)))
    return rc;
  COUNT(s, events);
  if (id_out)
    *id_out = sqlite3_last_insert_rowid(s->db);
  return PA_OK;
}

void pa_store_counts(const pa_store *s, struct pa_store_counts *out) { *out = s->counts; }

/* The sink: each callback writes one record, then lets the batch roll. */
static pa_rc sink_assoc_begin(void *ctx, const struct pa_assoc *a, int64_t *id_out)
{
  pa_rc rc = pa_store_assoc_begin(ctx, a, id_out);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_assoc_update(void *ctx, int64_t id, const struct pa_assoc *a)
{
  pa_rc rc = pa_store_assoc_update(ctx, id, a);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_pctx(void *ctx, int64_t assoc_id, const struct pa_pctx *pc)
{
  return pa_store_put_pctx(ctx, assoc_id, pc);
}

static pa_rc sink_dimse(void *ctx, const struct pa_dimse *d)
{
  pa_rc rc = pa_store_put_dimse(ctx, d, NULL);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_event(void *ctx, const struct pa_event *e)
{
  pa_rc rc = pa_store_put_event(ctx, e, NULL);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc put_event(void *ctx, const struct pa_event *e)
{
  return pa_store_put_event(ctx, e, NULL);
}

static pa_rc put_audit(void *ctx, const struct pa_audit *a)
{
  return pa_store_put_audit(ctx, a, NULL);
}

void pa_store_msg_sink(pa_store *s, struct pa_sink *out)
{
  memset(out, 0, sizeof *out);
  out->ctx = s;
  out->audit = put_audit;
  out->event = put_event;
}

void pa_store_batch_fail(pa_store *s)
{
  txn_fail(s);
}

void pa_store_interrupt(pa_store *s, volatile sig_atomic_t *stop)
{
  s->stop = stop;
}

void pa_store_sink(pa_store *s, struct pa_sink *out)
{
  out->audit = put_audit; /* one message may make several: the caller ticks */
  out->ctx = s;
  out->assoc_begin = sink_assoc_begin;
  out->assoc_update = sink_assoc_update;
  out->pctx = sink_pctx;
  out->dimse = sink_dimse;
  out->event = sink_event;
}

pa_rc pa_store_run_begin(pa_store *s, const char *command, const char *args,
                         int64_t *run_id_out)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO runs (started_at, command, args, status)"
                         " VALUES (?,?,?,'running')", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_text(q, 2, command, -1, SQLITE_TRANSIENT);
  bind_text(q, 3, args);
  rc = sqlite3_step(q);
  sqlite3_finalize(q);
  if (rc != SQLITE_DONE)
    return PA_DB;
  *run_id_out = sqlite3_last_insert_rowid(s->db);
  return PA_OK;
}

pa_rc pa_store_run_end(pa_store *s, int64_t run_id, const char *status,
                       const struct pa_run_counts *c, const char *detail)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (sqlite3_prepare_v2(s->db,
                         "UPDATE runs SET ended_at=?, status=?, inputs=?, inputs_skipped=?,"
                         " associations=?, dimse=?, events=?, raw=?, quarantined=?,"
                         " errors=?, detail=? WHERE id=?", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_text(q, 2, status, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, (int64_t)c->inputs);
  sqlite3_bind_int64(q, 4, (int64_t)c->inputs_skipped);
  sqlite3_bind_int64(q, 5, (int64_t)c->associations);
  sqlite3_bind_int64(q, 6, (int64_t)c->dimse);
  sqlite3_bind_int64(q, 7, (int64_t)c->events);
  sqlite3_bind_int64(q, 8, (int64_t)c->raw);
  sqlite3_bind_int64(q, 9, (int64_t)c->quarantined);
  sqlite3_bind_int64(q, 10, (int64_t)c->errors);
  bind_text(q, 11, detail);
  sqlite3_bind_int64(q, 12, run_id);
  rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? PA_OK : PA_DB;
}

pa_rc pa_store_state_get(pa_store *s, const char *path, struct pa_input_state *st,
                         int *found_out)
{
  sqlite3_stmt *q = stmt(s, ST_STATE_GET);
  int rc;

  *found_out = 0;
  if (!q)
    return PA_DB;
  sqlite3_bind_text(q, 1, path, -1, SQLITE_TRANSIENT);
  rc = sqlite3_step(q);
  if (rc == SQLITE_ROW) {
    const unsigned char *kind = sqlite3_column_text(q, 0);
    const unsigned char *head = sqlite3_column_text(q, 4);
    memset(st, 0, sizeof *st);
    snprintf(st->kind, sizeof st->kind, "%s", kind ? (const char *)kind : "");
    st->inode = sqlite3_column_int64(q, 1);
    st->size = sqlite3_column_int64(q, 2);
    st->mtime_us = sqlite3_column_int64(q, 3);
    snprintf(st->head_sha256, sizeof st->head_sha256, "%s", head ? (const char *)head : "");
    st->offset = sqlite3_column_int64(q, 5);
    *found_out = 1;
    rc = SQLITE_DONE;
  }
  sqlite3_reset(q);
  return rc == SQLITE_DONE ? PA_OK : PA_DB;
}

pa_rc pa_store_state_put(pa_store *s, const char *path, const struct pa_input_state *st,
                         int64_t run_id)
{
  sqlite3_stmt *q = stmt(s, ST_STATE_PUT);

  if (!q)
    return PA_DB;
  sqlite3_bind_text(q, 1, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, st->kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, st->inode);
  sqlite3_bind_int64(q, 4, st->size);
  sqlite3_bind_int64(q, 5, st->mtime_us);
  sqlite3_bind_text(q, 6, st->head_sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 7, st->offset);
  bind_opt(q, 8, run_id > 0 ? run_id : -1);
  sqlite3_bind_int64(q, 9, pa_time_now());
  return step_done(s, q);
}

pa_rc pa_store_put_audit(pa_store *s, const struct pa_audit *a, int64_t *id_out)
{
  sqlite3_stmt *q;
  int64_t id;
  pa_rc rc;

  if ((rc = pa_store_put_event(s, &a->ev, &id)))
    return rc;
  if (id_out)
    *id_out = id;
  if (!(q = stmt(s, ST_DETAIL)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, id);
  bind_text(q, 2, a->format);
  bind_text(q, 3, a->event_id_system);
  bind_text(q, 4, a->event_display);
  bind_text(q, 5, a->event_types);
  bind_text(q, 6, a->event_type_names);
  bind_text(q, 7, a->outcome_desc);
  bind_text(q, 8, a->purpose);
  bind_text(q, 9, a->source_id);
  bind_text(q, 10, a->source_site);
  bind_text(q, 11, a->source_types);
  bind_text(q, 12, a->warnings);
  if ((rc = step_done(s, q)))
    return rc;
  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    if (!(q = stmt(s, ST_PART)))
      return PA_DB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)i);
    bind_text(q, 3, p->user_id);
    bind_text(q, 4, p->alt_user_id);
    bind_text(q, 5, p->user_name);
    bind_opt(q, 6, p->is_requestor);
    bind_opt(q, 7, p->user_type);
    bind_text(q, 8, p->user_id_type);
    bind_text(q, 9, p->net_id);
    bind_opt(q, 10, p->net_type);
    bind_opt(q, 11, p->net_type_effective);
    bind_text(q, 12, p->ae_title);
    bind_text(q, 13, p->roles);
    bind_text(q, 14, p->role_names);
    if ((rc = step_done(s, q)))
      return rc;
  }
  for (size_t i = 0; i < a->n_objects; i++) {
    const struct pa_object *o = &a->objects[i];
    if (!(q = stmt(s, ST_OBJ)))
      return PA_DB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)i);
    bind_text(q, 3, o->object_id);
    bind_opt(q, 4, o->type_code);
    bind_opt(q, 5, o->role_code);
    bind_opt(q, 6, o->lifecycle);
    bind_text(q, 7, o->id_type_code);
    bind_text(q, 8, o->id_type_system);
    bind_text(q, 9, o->name);
    bind_text(q, 10, o->description);
    bind_text(q, 11, o->query_b64);
    bind_text(q, 12, o->cx_id);
    bind_text(q, 13, o->cx_namespace);
    bind_text(q, 14, o->cx_universal_id);
    bind_opt(q, 15, o->n_instances);
    bind_text(q, 16, o->sop_classes);
    bind_text(q, 17, o->accession);
    bind_text(q, 18, o->study_uids);
    if ((rc = step_done(s, q)))
      return rc;
  }
  return PA_OK;
}

/* chain_hash of row n = SHA-256(chain_hash of row n-1 || sha256 of row n);
 * the first row hashes its sha256 alone. */
static void chain_next(const uint8_t *prev, const uint8_t sha[PA_SHA256_LEN],
                       uint8_t out[PA_SHA256_LEN])
{
  uint8_t both[2 * PA_SHA256_LEN];
  size_t n = 0;
  if (prev) {
    memcpy(both, prev, PA_SHA256_LEN);
    n = PA_SHA256_LEN;
  }
  memcpy(both + n, sha, PA_SHA256_LEN);
  pa_sha256(both, n + PA_SHA256_LEN, out);
}

static pa_rc load_chain_tip(pa_store *s)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (s->have_chain)
    return PA_OK;
  if (sqlite3_prepare_v2(s->db, "SELECT chain_hash FROM raw ORDER BY id DESC LIMIT 1", -1,
                         &q, NULL) != SQLITE_OK)
    return PA_DB;
  rc = sqlite3_step(q);
  s->chain_empty = 1;
  if (rc == SQLITE_ROW && sqlite3_column_bytes(q, 0) == PA_SHA256_LEN) {
    memcpy(s->chain_tip, sqlite3_column_blob(q, 0), PA_SHA256_LEN);
    s->chain_empty = 0;
  }
  sqlite3_finalize(q);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    txn_fail(s);
    return PA_DB;
  }
  s->have_chain = 1;
  return PA_OK;
}

/* Compresses p into s->zbuf as one zlib stream (what uncompress() reads);
 * returns the compressed size, or 0 when it does not pay (small or
 * incompressible input).
 *
 * One deflate state serves every message: compress2() allocates and frees
 * about 270 KB of state per call, and its page faults cost more than the
 * compression itself on 1-2 KB messages. memLevel 5 keeps what deflateReset
 * clears per message small (an 8 KB hash table instead of 64 KB) and compresses
 * messages of this size as well as the default. */
static size_t compress_raw(pa_store *s, const void *p, size_t len)
{
  size_t bound;

  if (len < 256 || len > UINT32_MAX / 2)
    return 0;
  if (!s->z_ready) {
    memset(&s->z, 0, sizeof s->z);
    if (deflateInit2(&s->z, 1, Z_DEFLATED, 15, 5, Z_DEFAULT_STRATEGY) != Z_OK)
      return 0;
    s->z_ready = 1;
  } else if (deflateReset(&s->z) != Z_OK) {
    return 0;
  }
  bound = deflateBound(&s->z, (uLong)len);
  if (bound > s->zbuf_size) {
    uint8_t *nb = realloc(s->zbuf, bound);
    if (!nb)
      return 0;
    s->zbuf = nb;
    s->zbuf_size = bound;
  }
  s->z.next_in = (Bytef *)(uintptr_t)p;
  s->z.avail_in = (uInt)len;
  s->z.next_out = s->zbuf;
  s->z.avail_out = (uInt)bound;
  if (deflate(&s->z, Z_FINISH) != Z_STREAM_END || s->z.total_out >= len)
    return 0;
  return (size_t)s->z.total_out;
}

pa_rc pa_store_put_raw(pa_store *s, const void *p, size_t len, const char *origin,
                       int64_t offset, int64_t received_ts, int64_t *id_out,
                       int *dup_out)
{
  uint8_t sha[PA_SHA256_LEN], chain[PA_SHA256_LEN];
  sqlite3_stmt *q;
  size_t zlen;
  pa_rc rc;
  int r;

  *id_out = 0;
  *dup_out = 0;
  pa_sha256(p, len, sha);
  if (!s->in_batch) {
    /* one message on its own: the same lock discipline as a batch */
    if ((rc = pa_store_batch_begin(s)) || (rc = write_begin(s)))
      return rc;
    rc = pa_store_put_raw(s, p, len, origin, offset, received_ts, id_out, dup_out);
    if (rc)
      txn_fail(s); /* the commit below rolls back */
    if (pa_store_batch_commit(s) && !rc)
      rc = PA_DB;
    return rc;
  }
  if ((rc = write_begin(s)))
    return rc;
  if (!(q = stmt(s, ST_RAW_FIND)))
    return PA_DB;
  sqlite3_bind_blob(q, 1, sha, sizeof sha, SQLITE_STATIC);
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *id_out = sqlite3_column_int64(q, 0);
    *dup_out = 1;
  }
  sqlite3_reset(q);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    txn_fail(s);
    return PA_DB;
  }
  if (*dup_out)
    return PA_OK;
  if ((rc = load_chain_tip(s)))
    return rc;
  chain_next(s->chain_empty ? NULL : s->chain_tip, sha, chain);
  zlen = compress_raw(s, p, len);
  if (!(q = stmt(s, ST_RAW_INS)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, received_ts);
  bind_text(q, 2, origin);
  bind_opt(q, 3, offset);
  sqlite3_bind_int64(q, 4, (int64_t)len);
  sqlite3_bind_int(q, 5, zlen ? 1 : 0);
  if (zlen)
    sqlite3_bind_blob(q, 6, s->zbuf, (int)zlen, SQLITE_STATIC);
  else
    sqlite3_bind_blob(q, 6, len ? p : "", (int)len, SQLITE_STATIC);
  sqlite3_bind_blob(q, 7, sha, sizeof sha, SQLITE_STATIC);
  if (s->chain_empty)
    sqlite3_bind_null(q, 8);
  else
    sqlite3_bind_blob(q, 8, s->chain_tip, PA_SHA256_LEN, SQLITE_STATIC);
  sqlite3_bind_blob(q, 9, chain, sizeof chain, SQLITE_STATIC);
  if ((rc = step_done(s, q))) {
    /* the tip may be stale if another writer appended: reload next time */
    s->have_chain = 0;
    return rc;
  }
  memcpy(s->chain_tip, chain, sizeof chain);
  s->chain_empty = 0;
  *id_out = sqlite3_last_insert_rowid(s->db);
  COUNT(s, raw);
  return PA_OK;
}

pa_rc pa_store_put_repeat(pa_store *s, int64_t raw_id, const char *origin, int64_t offset,
                          int64_t received_ts, int *new_out)
{
  sqlite3_stmt *q;
  int r, same = 0;

  *new_out = 0;
  if (!origin || write_begin(s) || !(q = stmt(s, ST_RAW_WHERE)))
    return origin ? PA_DB : PA_OK;
  sqlite3_bind_int64(q, 1, raw_id);
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    const char *o = (const char *)sqlite3_column_text(q, 0);
    same = o && !strcmp(o, origin);
    /* the same place of the same stream: read again, not received again */
    if (same && offset >= 0 && sqlite3_column_type(q, 1) == SQLITE_INTEGER &&
        sqlite3_column_int64(q, 1) == offset)
      same = 0;
  }
  sqlite3_reset(q);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    txn_fail(s);
    return PA_DB;
  }
  if (!same) /* another stream: a copy, a rotated file, a relay's resend */
    return PA_OK;
  if (!(q = stmt(s, ST_REPEAT)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, raw_id);
  sqlite3_bind_int64(q, 2, received_ts);
  sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
  bind_opt(q, 4, offset);
  if (step_done(s, q))
    return PA_DB;
  *new_out = sqlite3_changes(s->db) > 0;
  return PA_OK;
}

pa_rc pa_store_quarantine(pa_store *s, const void *p, size_t len, const char *origin,
                          int64_t offset, const char *error, int64_t run_id)
{
  uint8_t sha[PA_SHA256_LEN];
  sqlite3_stmt *q = stmt(s, ST_QUAR);
  pa_rc rc;

  if (!q)
    return PA_DB;
  pa_sha256(p, len, sha);
  sqlite3_bind_int64(q, 1, pa_time_now());
  bind_text(q, 2, origin);
  bind_opt(q, 3, offset);
  sqlite3_bind_text(q, 4, error && *error ? error : "unparsed", -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 5, (int64_t)len);
  sqlite3_bind_blob(q, 6, len ? p : "", (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_blob(q, 7, sha, sizeof sha, SQLITE_TRANSIENT);
  bind_opt(q, 8, run_id > 0 ? run_id : -1);
  if ((rc = step_done(s, q)))
    return rc;
  if (sqlite3_changes(s->db))
    COUNT(s, quarantined);
  return PA_OK;
}

pa_rc pa_store_verify_raw(pa_store *s, uint64_t *n_out, int64_t *bad_id_out,
                          struct pa_err *err)
{
  sqlite3_stmt *q = NULL;
  uint8_t prev[PA_SHA256_LEN], sha[PA_SHA256_LEN], chain[PA_SHA256_LEN];
  uint8_t *plain = NULL;
  size_t plain_size = 0;
  int have_prev = 0, r;
  pa_rc rc = PA_OK;

  *n_out = 0;
  *bad_id_out = 0;
  if (sqlite3_prepare_v2(s->db,
                         "SELECT id, size, compressed, bytes, sha256, prev_hash, chain_hash"
                         " FROM raw ORDER BY id", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  while ((r = sqlite3_step(q)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(q, 0);
    int64_t size = sqlite3_column_int64(q, 1);
    const void *bytes = sqlite3_column_blob(q, 3);
    int nbytes = sqlite3_column_bytes(q, 3);
    const void *data = bytes;
    size_t dlen = (size_t)nbytes;
    const char *why = NULL;

    if (sqlite3_column_int(q, 2)) {
      uLongf out_len = (uLongf)size;
      if (size < 0 || size > 64 * 1024 * 1024) {
        why = "size out of range";
      } else {
        if ((size_t)size + 1 > plain_size) {
          uint8_t *nb = realloc(plain, (size_t)size + 1);
          if (!nb) {
            rc = PA_NOMEM;
            break;
          }
          plain = nb;
          plain_size = (size_t)size + 1;
        }
        if (uncompress(plain, &out_len, bytes, (uLong)nbytes) != Z_OK ||
            out_len != (uLongf)size)
          why = "compressed bytes do not inflate to their size";
        data = plain;
        dlen = out_len;
      }
    } else if ((int64_t)dlen != size) {
      why = "size does not match the bytes";
    }
    if (!why) {
      pa_sha256(data, dlen, sha);
      if (sqlite3_column_bytes(q, 4) != PA_SHA256_LEN ||
          memcmp(sha, sqlite3_column_blob(q, 4), PA_SHA256_LEN))
        why = "message bytes do not match their sha256";
    }
    if (!why) {
      int plen = sqlite3_column_bytes(q, 5);
      if (have_prev ? plen != PA_SHA256_LEN ||
                        memcmp(prev, sqlite3_column_blob(q, 5), PA_SHA256_LEN)
                    : plen != 0)
        why = "prev_hash does not match the previous row's chain_hash";
    }
    if (!why) {
      chain_next(have_prev ? prev : NULL, sha, chain);
      if (sqlite3_column_bytes(q, 6) != PA_SHA256_LEN ||
          memcmp(chain, sqlite3_column_blob(q, 6), PA_SHA256_LEN))
        why = "chain_hash does not match";
    }
    if (why) {
      *bad_id_out = id;
      rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, (uint64_t)id, "raw row %lld: %s",
                      (long long)id, why);
      break;
    }
    memcpy(prev, chain, sizeof prev);
    have_prev = 1;
    (*n_out)++;
  }
  if (rc == PA_OK && r != SQLITE_DONE)
    rc = PA_DB;
  sqlite3_finalize(q);
  free(plain);
  return rc;
}
