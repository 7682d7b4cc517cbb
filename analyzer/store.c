/* store.c — the SQLite store (see store.h): open, close, schema migration,
 * batches and the write lock, runs and ingest_state. The inserts are in
 * store_put.c, the raw store and its hash chain in store_raw.c; what they
 * share is in store_int.h. */
#include "store_int.h"
#include "store_schema.h"
#include "limits.h"
#include "log.h"
#include "tm.h"
#include "utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* An event's insert, into events or events_pending: its id is one more
 * than the largest of both tables, taken in the statement itself, so that
 * ids stay unique across the two whichever writer inserts (a listener with
 * rows pending, an ingest, a capture) and the pending rows move into events
 * as they are. */
#define PA__EVENT_INS                                                                 \
  " (" PA__EVENTS_V14_NAMES ")"                                                       \
  " VALUES ((SELECT max(coalesce((SELECT max(id) FROM events), 0),"                   \
  " coalesce((SELECT max(id) FROM events_pending), 0)) + 1),"                         \
  " ?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"

const char *const pa__store_stmt_sql[PA__ST_COUNT] = {
  /* findings (store_findings.c): the same episode overlaps or comes within
   * the gap; with no gap (a gap rule, whose episodes share their end rows)
   * it starts at the same time or strictly overlaps */
  [PA__ST_FIND_FIND] =
    "SELECT id, first_ts, last_ts, count, status FROM findings WHERE rule_id = ?1 AND"
    " subject IS ?2 AND coalesce(json_extract(detail, '$.part'), 0) = ?6 AND"
    " ((?5 > 0 AND first_ts <= ?4 + ?5 AND last_ts + ?5 >= ?3) OR"
    " first_ts = ?3 OR (?5 = 0 AND first_ts < ?4 AND last_ts > ?3)) ORDER BY first_ts"
    " LIMIT 1",
  [PA__ST_FIND_INS] =
    "INSERT OR IGNORE INTO findings (rule_id, severity, guideline_ref, subject, first_ts,"
    " last_ts, count, evidence, fingerprint, first_seen_run, status, strength, updated_run,"
    " reason, assoc_evidence, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [PA__ST_FIND_UPD] =
    "UPDATE findings SET first_ts = ?2, last_ts = ?3, count = ?4, evidence = ?5,"
    " assoc_evidence = ?6, updated_run = ?7 WHERE id = ?1",
  [PA__ST_RULE_RUN] =
    "INSERT OR REPLACE INTO rule_runs (run_id, rule_id, decided, why, since_ts, until_ts, new,"
    " known, excepted, ms) VALUES (?,?,?,?,?,?,?,?,?,?)",
  [PA__ST_FIND_STATUS] =
    "UPDATE findings SET status = ?2, reason = ?3, updated_run = ?4 WHERE id = ?1",
  [PA__ST_ASSOC_INS] =
    "INSERT OR IGNORE INTO associations (started_at, client_ip, client_port,"
    " server_ip, server_port, result, tls, origin) VALUES (?,?,?,?,?,?,?,?)",
  [PA__ST_ASSOC_UPD] =
    "UPDATE associations SET ended_at=?, calling_ae=?, called_ae=?, result=?,"
    " reject_reason=?, user_identity_type=?, user_identity=?, tls=?, bytes=?,"
    " user_identity_sha256=?, user_identity_response=?, tls_server_name=?,"
    " application_context=?, max_pdu_rq=?, max_pdu_ac=?, impl_class_rq=?,"
    " impl_version_rq=?, impl_class_ac=?, impl_version_ac=?, anomalies=?,"
    " anomaly_count=? WHERE id=?",
  [PA__ST_PCTX] =
    "INSERT OR REPLACE INTO presentation_contexts (assoc_id, pc_id,"
    " abstract_syntax, transfer_syntaxes, result, accepted_transfer_syntax)"
    " VALUES (?,?,?,?,?,?)",
  [PA__ST_DIMSE] =
    "INSERT INTO dimse (assoc_id, ts, message_id, command, sop_class_uid,"
    " sop_instance_uid, status, patient_id, study_uid, query, move_destination,"
    " rsp_ts, by_acceptor, completed, failed, warning, move_originator_ae,"
    " move_originator_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  [PA__ST_DRES] =
    "INSERT INTO dimse_results (dimse_id, seq, patient_id, study_uid) VALUES (?,?,?,?)",
  [PA__ST_EVENT] = "INSERT INTO events" PA__EVENT_INS,
  [PA__ST_EVENT_PENDING] = "INSERT INTO events_pending" PA__EVENT_INS,
  [PA__ST_EVENT_JOIN] =
    "UPDATE events SET auth_method = coalesce(auth_method, ?),"
    " user_id = coalesce(user_id, ?) WHERE id = ?",
  [PA__ST_EVENT_JOIN_PENDING] =
    "UPDATE events_pending SET auth_method = coalesce(auth_method, ?),"
    " user_id = coalesce(user_id, ?) WHERE id = ?",
  [PA__ST_STATE_GET] =
    "SELECT kind, inode, size, mtime, head_sha256, offset FROM ingest_state"
    " WHERE path=?",
  [PA__ST_STATE_PUT] =
    "INSERT OR REPLACE INTO ingest_state (path, kind, inode, size, mtime,"
    " head_sha256, offset, run_id, updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
  [PA__ST_DETAIL] =
    "INSERT INTO audit_details (event_id, format, event_id_system, event_display,"
    " event_types, event_type_names, outcome_desc, purpose, source_id, source_site,"
    " source_types, warnings) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
  /* the fields equal to the event's are left out (from_event: store_put.c) */
  [PA__ST_PART] =
    "INSERT INTO atna_participants_data (event_id, seq, user_id, alt_user_id, user_name,"
    " is_requestor, user_type, user_id_type, net_id, net_type, net_type_effective,"
    " ae_title, roles, role_names, from_event) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  /* the cx_* parts are bound NULL when object_id splits into them
   * (cx_stored NULL; store_put.c, cx_derived) */
  [PA__ST_OBJ] =
    "INSERT INTO atna_objects_data (event_id, seq, object_id, type_code, role_code,"
    " lifecycle, id_type_code, id_type_system, name, description, query_b64, cx_stored,"
    " cx_id, cx_namespace, cx_universal_id, n_instances, sop_classes, accession, study_uids)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
  /* the 8-byte key finds the candidates, the full hash decides */
  [PA__ST_RAW_FIND] = "SELECT id FROM raw WHERE sha_key=?2 AND sha256=?1",
  [PA__ST_RAW_WHERE] = "SELECT origin, offset FROM raw WHERE id=?",
  [PA__ST_REPEAT] =
    "INSERT OR IGNORE INTO raw_repeats (raw_id, received_ts, origin, offset) VALUES (?,?,?,?)",
  [PA__ST_RAW_INS] =
    "INSERT INTO raw (received_ts, origin, offset, size, compressed, bytes, sha256,"
    " prev_hash, chain_hash, dict_id, sha_key, chain_v)"
    " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,2)",
  [PA__ST_QUAR] =
    "INSERT OR IGNORE INTO quarantine (received_ts, origin, offset, error, size, bytes,"
    " sha256, run_id) VALUES (?,?,?,?,?,?,?,?)",
};

_Static_assert(PA_SCHEMA_VERSION == PA__STORE_N_MIGRATIONS,
               "one migration per schema version");

static pa_rc txn_begin(pa_store *s);
static pa_rc txn_commit(pa_store *s);
static pa_rc deferred_recover(pa_store *s);
static pa_rc pending_recover(pa_store *s);

int64_t pa__store_mono_us(void)
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
void pa__store_txn_fail(pa_store *s)
{
  if (!s->in_txn)
    return;
  if (!s->txn_failed)
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
  s->txn_failed = 1;
}

int pa_store_version_found(const pa_store *s) { return s->version_found; }

pa_rc pa__store_exec(pa_store *s, const char *sql)
{
  return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? PA_OK : PA_DB;
}

sqlite3_stmt *pa__store_stmt(pa_store *s, int which)
{
  if (!s->st[which] &&
      sqlite3_prepare_v3(s->db, pa__store_stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                         &s->st[which], NULL) != SQLITE_OK) {
    pa__store_txn_fail(s);
    return NULL;
  }
  sqlite3_reset(s->st[which]);
  sqlite3_clear_bindings(s->st[which]);
  return s->st[which];
}

/* In batch mode, the first write opens the transaction: BEGIN IMMEDIATE
 * takes the write lock before anything is read for the write (the raw
 * chain's tip, a duplicate check), so two processes writing the same
 * database (a listener and an ingest) serialise whole batches and the hash
 * chain stays one chain. No lock is held while a batch is idle. */
pa_rc pa__store_write_begin(pa_store *s)
{
  if (!s->in_batch || s->in_txn)
    return PA_OK;
  return txn_begin(s);
}

static pa_rc txn_begin(pa_store *s)
{
  if (pa__store_exec(s, "BEGIN IMMEDIATE")) {
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
    return PA_DB;
  }
  s->in_txn = 1;
  s->batch_rows = 0;
  s->batch_started = pa__store_mono_us();
  s->have_chain = 0; /* another writer may have appended since our last batch */
  return PA_OK;
}

pa_rc pa__store_step_done(pa_store *s, sqlite3_stmt *q)
{
  int rc;

  if (pa__store_write_begin(s)) {
    sqlite3_reset(q);
    return PA_DB;
  }
  rc = sqlite3_step(q);
  sqlite3_reset(q);
  if (rc != SQLITE_DONE) {
    pa__store_txn_fail(s);
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

int pa__store_bind_text(sqlite3_stmt *q, int i, const char *v)
{
  size_t len, n;
  char *fixed;

  if (!v || !*v)
    return sqlite3_bind_null(q, i), 0;
  len = strlen(v);
  if (pa_utf8_valid(v, len))
    return sqlite3_bind_text(q, i, v, (int)len, SQLITE_STATIC), 0;
  if (!(fixed = pa_utf8_repair(v, len, &n)))
    return -1;
  sqlite3_bind_text(q, i, fixed, (int)n, free);
  return 0;
}

/* PRAGMA journal_mode=WAL. Two writers opening a new file at once both
 * read it and then both want it alone: SQLite refuses one at once
 * (SQLITE_BUSY without the busy handler, since waiting would deadlock), so
 * it tries again, a while, before failing. */
static pa_rc set_wal(pa_store *s)
{
  for (int i = 0; i < 200; i++) {
    if (pa__store_exec(s, "PRAGMA journal_mode=WAL") == PA_OK)
      return PA_OK;
    if (sqlite3_errcode(s->db) != SQLITE_BUSY)
      return PA_DB;
    usleep(10000 + 1000 * (i % 10));
  }
  return PA_DB;
}

static pa_rc read_version(pa_store *s, int *v_out)
{
  sqlite3_stmt *q = NULL;
  int ok = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &q, NULL) == SQLITE_OK &&
           sqlite3_step(q) == SQLITE_ROW;

  if (ok)
    *v_out = sqlite3_column_int(q, 0);
  sqlite3_finalize(q);
  return ok ? PA_OK : PA_DB;
}

static pa_rc migrate(pa_store *s, const char *path, struct pa_err *err)
{
  int v;

  if (read_version(s, &v))
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: not a database: %s", path,
                      sqlite3_errmsg(s->db));
  s->version_found = v;
  if (v > PA__STORE_N_MIGRATIONS)
    return pa_err_set(err, PA_DB, UINT64_MAX, 0,
                      "%s: schema version %d is newer than this pacsaudit knows (%d)",
                      path, v, PA__STORE_N_MIGRATIONS);
  if (v == 0 && (s->flags & PA_STORE_NOMIGRATE))
    return pa_err_set(err, PA_DB, UINT64_MAX, 0,
                      "%s: not a pacsaudit database (no schema); ingest into it first",
                      path);
  if (v < PA__STORE_N_MIGRATIONS && (s->flags & PA_STORE_NOMIGRATE))
    return pa_err_set(err, PA_DB, UINT64_MAX, 0,
                      "%s: schema version %d is older than this pacsaudit reads (%d);"
                      " run pacsaudit ingest on it once to migrate it",
                      path, v, PA__STORE_N_MIGRATIONS);
  /* A migration that copies a table drops the old one, and SQLite keeps
   * what a statement changed in its statement journal: with temp_store
   * MEMORY that held every page of the table dropped (3.3 GB of RSS for a
   * 10M-event store). On file it stays on disk. */
  if (v < PA__STORE_N_MIGRATIONS && pa__store_exec(s, "PRAGMA temp_store=FILE"))
    goto fail;
  while (v < PA__STORE_N_MIGRATIONS) {
    char setv[64];
    /* Another writer may be migrating the same file: the version read
     * above is only a hint. Under the write lock, read it again and apply
     * only what is still missing. */
    if (pa__store_exec(s, "BEGIN IMMEDIATE") || read_version(s, &v))
      goto fail;
    if (v >= PA__STORE_N_MIGRATIONS) {
      if (pa__store_exec(s, "COMMIT"))
        goto fail;
      break;
    }
    snprintf(setv, sizeof setv, "PRAGMA user_version=%d", v + 1);
    if (pa__store_exec(s, pa__store_migrations[v]) || pa__store_exec(s, setv) ||
        pa__store_exec(s, "COMMIT"))
      goto fail;
    v++;
  }
  if (pa__store_exec(s, "PRAGMA temp_store=MEMORY"))
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: %s", path, sqlite3_errmsg(s->db));
  return PA_OK;
fail:
  pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: migration to schema %d failed: %s", path, v + 1,
             sqlite3_errmsg(s->db));
  pa__store_exec(s, "ROLLBACK");
  return PA_DB;
}

/* Another writer holds the lock (a listener and a nightly ingest take turns
 * batch by batch, so a wait is short): wait, say so every 10 s, and give up
 * after PA_STORE_BUSY_MAX_MS, which only a writer that is stuck reaches. */
static int on_busy(void *ctx, int n)
{
  pa_store *s = ctx;
  int64_t now = pa__store_mono_us();
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

/* Reads a small /proc file into buf (NUL-terminated); its length, or -1. */
static ssize_t read_small(const char *path, char *buf, size_t size)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  ssize_t n;

  if (fd < 0)
    return -1;
  n = read(fd, buf, size - 1);
  close(fd);
  if (n < 0)
    return -1;
  buf[n] = 0;
  return n;
}

/* "BOOT_ID:STARTTIME" of process pid: the boot it runs in and when it
 * started (clock ticks after boot, field 22 of /proc/PID/stat), which a
 * later process given the same pid does not share. 0, or -1 when the
 * process does not exist (or /proc cannot tell). */
static int proc_marker(long pid, char *out, size_t len)
{
  char path[64], stat[1024], boot[64];
  const char *p;
  ssize_t n;
  int field = 2;

  snprintf(path, sizeof path, "/proc/%ld/stat", pid);
  if (read_small(path, stat, sizeof stat) < 0 ||
      (n = read_small("/proc/sys/kernel/random/boot_id", boot, sizeof boot)) <= 0)
    return -1;
  boot[strcspn(boot, "\n")] = 0;
  /* the command name (field 2) may hold spaces and parentheses: count
   * from the last ')' */
  if (!(p = strrchr(stat, ')')))
    return -1;
  for (p++; *p && field < 22; p++)
    if (*p == ' ')
      field++;
  if (field != 22 || !(*p >= '0' && *p <= '9'))
    return -1;
  snprintf(out, len, "%s:%.*s", boot, (int)strspn(p, "0123456789"), p);
  return 0;
}

/* Marks each 'running' run whose process is gone 'interrupted' (see
 * store.h). A row without a start marker is judged by its pid alone. Not
 * being able to tell is no reason to fail the open: such rows stay. */
static void mark_interrupted(pa_store *s)
{
  sqlite3_stmt *q = NULL;
  int64_t stale[64];
  int n = 0;

  if (sqlite3_prepare_v2(s->db,
                         "SELECT id, pid, proc_start FROM runs WHERE status='running'"
                         " AND pid IS NOT NULL", -1, &q, NULL) != SQLITE_OK)
    return;
  while (n < (int)(sizeof stale / sizeof stale[0]) && sqlite3_step(q) == SQLITE_ROW) {
    long pid = (long)sqlite3_column_int64(q, 1);
    const char *was = (const char *)sqlite3_column_text(q, 2);
    char now[128];
    int gone;

    if (pid <= 0)
      continue;
    if (proc_marker(pid, now, sizeof now) == 0)
      gone = was && strcmp(was, now) != 0;
    else
      gone = kill((pid_t)pid, 0) != 0 && errno == ESRCH;
    if (gone)
      stale[n++] = sqlite3_column_int64(q, 0);
  }
  sqlite3_finalize(q);
  q = NULL;
  if (!n || sqlite3_prepare_v2(s->db,
                               "UPDATE runs SET status='interrupted', ended_at=? WHERE id=?"
                               " AND status='running'", -1, &q, NULL) != SQLITE_OK)
    goto out;
  for (int i = 0; i < n; i++) {
    sqlite3_bind_int64(q, 1, pa_time_now());
    sqlite3_bind_int64(q, 2, stale[i]);
    if (sqlite3_step(q) != SQLITE_DONE) {
      pa_log(PA_LOG_WARN, "cannot mark interrupted runs: %s", sqlite3_errmsg(s->db));
      break;
    }
    sqlite3_reset(q);
    pa_log(PA_LOG_INFO, "run %lld: its process is gone; marked interrupted", (long long)stale[i]);
  }
out:
  sqlite3_finalize(q);
}

/* pa_sha_key(blob): raw.sha_key of a sha256 (pa__store_sha_key); NULL for
 * anything shorter than 8 bytes. For the migration that fills the column. */
static void sql_sha_key(sqlite3_context *c, int n, sqlite3_value **v)
{
  (void)n;
  if (sqlite3_value_type(v[0]) != SQLITE_BLOB || sqlite3_value_bytes(v[0]) < 8) {
    sqlite3_result_null(c);
    return;
  }
  sqlite3_result_int64(c, pa__store_sha_key(sqlite3_value_blob(v[0])));
}

pa_rc pa_store_open(const char *path, pa_store **out, struct pa_err *err)
{
  return pa_store_open_mode(path, 0, out, err);
}

pa_rc pa_store_open_mode(const char *path, int flags, pa_store **out, struct pa_err *err)
{
  struct stat sb;
  pa_store *s;
  pa_rc rc;

  *out = NULL;
  if (flags & PA_STORE_RDONLY)
    flags |= PA_STORE_NOCREATE | PA_STORE_NOMIGRATE;
  if (flags & PA_STORE_NOCREATE) {
    /* SQLite's own "unable to open database file" does not say which or why */
    if (stat(path, &sb) != 0)
      return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: %s", path,
                        errno == ENOENT ? "no such database" : strerror(errno));
  } else if ((rc = create_private(path, err))) {
    return rc;
  }
  /* made 0600 here; a file made otherwise may be open to every user */
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (sb.st_mode & 077))
    pa_log(PA_LOG_WARN, "%s: readable or writable by others (mode %03o); it holds patient"
                        " data: chmod 600 it", path, (unsigned)(sb.st_mode & 0777));
  s = calloc(1, sizeof *s);
  if (!s)
    return PA_NOMEM;
  s->flags = flags;
  s->batch_max_rows = PA_STORE_BATCH_ROWS;
  s->batch_max_us = PA_STORE_BATCH_US;
  if (sqlite3_open_v2(path, &s->db,
                      ((flags & PA_STORE_RDONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) |
                          SQLITE_OPEN_NOMUTEX,
                      NULL) != SQLITE_OK) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: cannot open: %s", path,
               s->db ? sqlite3_errmsg(s->db) : "out of memory");
    pa_store_close(s);
    return PA_DB;
  }
  sqlite3_busy_handler(s->db, on_busy, s);
  /* WAL lets readers (query, report) work during a long ingest; NORMAL is
   * durable across application crashes, and a batch is the unit of loss on
   * power failure. The cache is an upper bound: it only grows when used.
   * A reader leaves the journal mode alone: changing it is a write, and
   * the writer that made the file set WAL already. */
  if ((!(flags & PA_STORE_RDONLY) && (set_wal(s) ||
                                      pa__store_exec(s, "PRAGMA synchronous=NORMAL") ||
                                      pa__store_exec(s, "PRAGMA wal_autocheckpoint="
                                                        PA_STR(PA_STORE_WAL_PAGES)))) ||
      pa__store_exec(s, "PRAGMA foreign_keys=OFF") ||
      pa__store_exec(s, "PRAGMA cache_size=-131072") ||
      pa__store_exec(s, "PRAGMA temp_store=MEMORY")) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: %s", path, sqlite3_errmsg(s->db));
    pa_store_close(s);
    return PA_DB;
  }
  if (sqlite3_create_function(s->db, "pa_sha_key", 1,
                              SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                              sql_sha_key, NULL, NULL) != SQLITE_OK) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: %s", path, sqlite3_errmsg(s->db));
    pa_store_close(s);
    return PA_DB;
  }
  if ((rc = migrate(s, path, err))) {
    pa_store_close(s);
    return rc;
  }
  if (!(flags & PA_STORE_RDONLY))
    mark_interrupted(s);
  if (!(flags & PA_STORE_RDONLY) && (deferred_recover(s) || pending_recover(s))) {
    pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s: %s", path, s->err);
    pa_store_close(s);
    return PA_DB;
  }
  *out = s;
  return PA_OK;
}

sqlite3 *pa_store_handle(pa_store *s) { return s->db; }

/* BEGIN alone takes no snapshot until the first read; reading the schema
 * cookie takes it now, so every query until read_end sees the database as
 * it is at read_begin. */
pa_rc pa_store_read_begin(pa_store *s)
{
  if (s->in_read || s->in_txn)
    return PA_DB;
  if (pa__store_exec(s, "BEGIN"))
    return PA_DB;
  if (pa__store_exec(s, "PRAGMA schema_version")) {
    pa__store_exec(s, "ROLLBACK");
    return PA_DB;
  }
  s->in_read = 1;
  return PA_OK;
}

pa_rc pa_store_read_end(pa_store *s)
{
  if (!s->in_read)
    return PA_OK;
  s->in_read = 0;
  if (pa__store_exec(s, "COMMIT") == PA_OK)
    return PA_OK;
  pa__store_exec(s, "ROLLBACK");
  return PA_DB;
}

pa_rc pa_store_close(pa_store *s)
{
  pa_rc rc = PA_OK;

  if (!s)
    return PA_OK;
  if (s->in_read)
    pa_store_read_end(s);
  if (s->in_batch || s->ev_pending_rows)
    rc = pa_store_batch_commit(s);
  if (s->bulk && pa_store_bulk_end(s))
    rc = PA_DB;
  for (int i = 0; i < PA__ST_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  pa__store_raw_free(s);
  if (s->db && sqlite3_close(s->db) != SQLITE_OK)
    rc = PA_DB;
  free(s);
  return rc;
}


/* Deferred indexes (pa_store_bulk_begin). The names and statements come
 * from sqlite_schema, so an index a later migration adds to events is
 * deferred too. */
#define PA__DEFER_MAX 64

struct deferred {
  char *name[PA__DEFER_MAX], *sql[PA__DEFER_MAX];
  int n;
};

static void deferred_free(struct deferred *d)
{
  for (int i = 0; i < d->n; i++) {
    sqlite3_free(d->name[i]);
    sqlite3_free(d->sql[i]);
  }
  d->n = 0;
}

/* Reads name and sql of each row of the query into d (owned: deferred_free). */
static pa_rc deferred_read(pa_store *s, const char *sql, struct deferred *d)
{
  sqlite3_stmt *q = NULL;
  int r = SQLITE_ERROR;

  d->n = 0;
  if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  while ((r = sqlite3_step(q)) == SQLITE_ROW && d->n < PA__DEFER_MAX) {
    const char *name = (const char *)sqlite3_column_text(q, 0);
    const char *text = (const char *)sqlite3_column_text(q, 1);
    if (!name || !text)
      continue;
    d->name[d->n] = sqlite3_mprintf("%s", name);
    d->sql[d->n] = sqlite3_mprintf("%s", text);
    if (!d->name[d->n] || !d->sql[d->n]) {
      sqlite3_free(d->name[d->n]);
      sqlite3_free(d->sql[d->n]);
      r = SQLITE_NOMEM;
      break;
    }
    d->n++;
  }
  sqlite3_finalize(q);
  if (r != SQLITE_DONE && r != SQLITE_ROW) {
    deferred_free(d);
    return PA_DB;
  }
  return PA_OK;
}

static pa_rc exec_each(pa_store *s, const char *fmt, const struct deferred *d, int which)
{
  for (int i = 0; i < d->n; i++) {
    char *sql = sqlite3_mprintf(fmt, which ? d->sql[i] : d->name[i]);
    pa_rc rc = sql ? pa__store_exec(s, sql) : PA_NOMEM;
    sqlite3_free(sql);
    if (rc)
      return rc;
  }
  return PA_OK;
}

pa_rc pa_store_bulk_begin(pa_store *s)
{
  struct deferred d = {{0}, {0}, 0};
  sqlite3_stmt *q = NULL;
  char *rec = NULL;
  int empty;
  pa_rc rc = PA_DB;

  if (s->bulk || s->in_txn || (s->flags & PA_STORE_RDONLY))
    return s->in_txn ? PA_DB : PA_OK;
  if (pa__store_exec(s, "BEGIN IMMEDIATE"))
    return PA_DB;
  if (sqlite3_prepare_v2(s->db, "SELECT NOT EXISTS (SELECT 1 FROM events)", -1, &q, NULL) !=
          SQLITE_OK ||
      sqlite3_step(q) != SQLITE_ROW)
    goto out;
  empty = sqlite3_column_int(q, 0);
  sqlite3_finalize(q); /* a DROP fails while a statement is still active */
  q = NULL;
  if (!empty) {
    rc = PA_OK;
    goto out;
  }
  rec = sqlite3_mprintf("INSERT OR IGNORE INTO deferred_indexes (name, sql, since)"
                        " SELECT name, sql, %lld FROM sqlite_schema WHERE type = 'index'"
                        " AND tbl_name = 'events' AND sql IS NOT NULL",
                        (long long)pa_time_now());
  if (!rec || pa__store_exec(s, rec) ||
      deferred_read(s, "SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND"
                       " tbl_name = 'events' AND sql IS NOT NULL", &d) ||
      exec_each(s, "DROP INDEX IF EXISTS \"%w\"", &d, 0))
    goto out;
  s->bulk = 1;
  rc = PA_OK;
out:
  sqlite3_finalize(q);
  sqlite3_free(rec);
  deferred_free(&d);
  if (rc == PA_OK && pa__store_exec(s, "COMMIT") == PA_OK)
    return PA_OK;
  pa__store_exec(s, "ROLLBACK");
  s->bulk = 0;
  return PA_DB;
}

/* deferred_build's transaction. */
static pa_rc deferred_build_txn(pa_store *s)
{
  struct deferred d = {{0}, {0}, 0};
  pa_rc rc = PA_DB;

  if (pa__store_exec(s, "BEGIN IMMEDIATE"))
    return PA_DB;
  if (deferred_read(s, "SELECT d.name, d.sql FROM deferred_indexes d WHERE NOT EXISTS"
                       " (SELECT 1 FROM sqlite_schema m WHERE m.type = 'index' AND"
                       " m.name = d.name)", &d) ||
      exec_each(s, "%s", &d, 1) || pa__store_exec(s, "DELETE FROM deferred_indexes"))
    goto out;
  rc = PA_OK;
out:
  deferred_free(&d);
  if (rc == PA_OK && pa__store_exec(s, "COMMIT") == PA_OK)
    return PA_OK;
  snprintf(s->err, sizeof s->err, "deferred indexes: %s", sqlite3_errmsg(s->db));
  pa__store_exec(s, "ROLLBACK");
  return PA_DB;
}

/* Makes every index in deferred_indexes that does not exist, and empties
 * it, in one transaction. The sorts of the build spill to files beyond the
 * cache, not to memory, so memory stays flat in the number of rows; then
 * temp_store is set back (the store's own connection holds no temp table
 * for the switch to drop). */
static pa_rc deferred_build(pa_store *s)
{
  pa_rc rc;

  if (pa__store_exec(s, "PRAGMA temp_store=FILE"))
    return PA_DB;
  rc = deferred_build_txn(s);
  if (pa__store_exec(s, "PRAGMA temp_store=MEMORY") && rc == PA_OK)
    rc = PA_DB;
  return rc;
}

pa_rc pa_store_bulk_end(pa_store *s)
{
  pa_rc rc = PA_OK;

  if (s->in_txn && txn_commit(s))
    rc = PA_DB;
  s->bulk = 0;
  if (s->flags & PA_STORE_RDONLY)
    return rc;
  return deferred_build(s) ? PA_DB : rc;
}

/* Whether the query of one integer (an EXISTS) says 1; 0 too when it fails. */
static int says_yes(pa_store *s, const char *sql)
{
  sqlite3_stmt *q = NULL;
  int yes = 0;

  if (sqlite3_prepare_v2(s->db, sql, -1, &q, NULL) == SQLITE_OK && sqlite3_step(q) == SQLITE_ROW)
    yes = sqlite3_column_int(q, 0) == 1;
  sqlite3_finalize(q);
  return yes;
}

/* At a writable open: indexes a dead bulk load left out are made now. */
static pa_rc deferred_recover(pa_store *s)
{
  if (!says_yes(s, "SELECT EXISTS (SELECT 1 FROM deferred_indexes)"))
    return PA_OK;
  pa_log(PA_LOG_INFO, "making the events indexes that an interrupted bulk load or a"
                       " migration left to build");
  return deferred_build(s);
}

/* Moves every row of events_pending into events, and commits: in the open
 * batch's transaction, or in one of its own. The ids stay (they were taken
 * across both tables), so the rows that point at an event (audit details,
 * participants, objects) need nothing. */
static pa_rc pending_move(pa_store *s)
{
  if (!s->in_txn && txn_begin(s))
    return PA_DB;
  if (pa__store_exec(s, "INSERT INTO events (" PA__EVENTS_V14_NAMES ") SELECT "
                        PA__EVENTS_V14_NAMES " FROM events_pending ORDER BY id;"
                        "DELETE FROM events_pending"))
    pa__store_txn_fail(s);
  s->ev_pending_rows = 0;
  s->ev_pending_since = 0;
  return txn_commit(s);
}

/* At a writable open: events a listener committed to events_pending and
 * did not move (it was killed, or it is running now: moving its rows early
 * is harmless) are moved, so that whoever opens to write (check, ingest)
 * works on every event stored before it. */
static pa_rc pending_recover(pa_store *s)
{
  return says_yes(s, "SELECT EXISTS (SELECT 1 FROM events_pending)") ? pending_move(s) : PA_OK;
}

void pa_store_events_pending(pa_store *s, int on) { s->ev_pending = on; }

/* Whether the events pending are to move now: many of them, or the oldest
 * held so long that a reader of events would miss it. */
static int pending_due(const pa_store *s)
{
  return s->ev_pending_rows &&
         (s->ev_pending_rows >= PA_STORE_PENDING_ROWS ||
          pa__store_mono_us() - s->ev_pending_since >= PA_STORE_PENDING_US);
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
/* The counts of the tracked run as they stand once the open batch commits:
 * written in the batch's own transaction, so they are never ahead of or
 * behind what is stored. */
static pa_rc run_counts_put(pa_store *s)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (!s->run_id)
    return PA_OK;
  if (sqlite3_prepare_v2(s->db,
                         "UPDATE runs SET events=?, raw=?, quarantined=?, associations=?,"
                         " dimse=? WHERE id=?", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, (int64_t)s->counts.events);
  sqlite3_bind_int64(q, 2, (int64_t)s->counts.raw);
  sqlite3_bind_int64(q, 3, (int64_t)s->counts.quarantined);
  sqlite3_bind_int64(q, 4, (int64_t)s->counts.associations);
  sqlite3_bind_int64(q, 5, (int64_t)s->counts.dimse);
  sqlite3_bind_int64(q, 6, s->run_id);
  rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? PA_OK : PA_DB;
}

void pa_store_run_track(pa_store *s, int64_t run_id) { s->run_id = run_id; }

static pa_rc txn_commit(pa_store *s)
{
  if (!s->in_txn)
    return PA_OK;
  if (!s->txn_failed && run_counts_put(s) == PA_OK && pa__store_exec(s, "COMMIT") == PA_OK) {
    s->in_txn = 0;
    s->commits++;
    s->err[0] = 0;
    memset(&s->pending, 0, sizeof s->pending);
    return PA_OK;
  }
  if (!s->txn_failed)
    snprintf(s->err, sizeof s->err, "%s", sqlite3_errmsg(s->db));
  if (!sqlite3_get_autocommit(s->db))
    pa__store_exec(s, "ROLLBACK");
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
  return s->ev_pending_rows ? pending_move(s) : txn_commit(s);
}

pa_rc pa_store_batch_tick(pa_store *s)
{
  if (pending_due(s))
    return pending_move(s);
  if (!s->in_txn || (s->batch_rows < s->batch_max_rows &&
                     pa__store_mono_us() - s->batch_started < s->batch_max_us))
    return PA_OK;
  return txn_commit(s);
}

void pa_store_counts(const pa_store *s, struct pa_store_counts *out) { *out = s->counts; }

void pa_store_batch_fail(pa_store *s)
{
  pa__store_txn_fail(s);
}

void pa_store_interrupt(pa_store *s, volatile sig_atomic_t *stop)
{
  s->stop = stop;
}

pa_rc pa_store_run_begin(pa_store *s, const char *command, const char *args,
                         int64_t *run_id_out)
{
  char marker[128];
  sqlite3_stmt *q = NULL;
  int rc;

  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO runs (started_at, command, args, status, pid, proc_start)"
                         " VALUES (?,?,?,'running',?,?)", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_text(q, 2, command, -1, SQLITE_TRANSIENT);
  pa__store_bind_text(q, 3, args);
  sqlite3_bind_int64(q, 4, (int64_t)getpid());
  if (proc_marker((long)getpid(), marker, sizeof marker) == 0)
    sqlite3_bind_text(q, 5, marker, -1, SQLITE_TRANSIENT);
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
  pa__store_bind_text(q, 11, detail);
  sqlite3_bind_int64(q, 12, run_id);
  rc = sqlite3_step(q);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? PA_OK : PA_DB;
}

pa_rc pa_store_state_get(pa_store *s, const char *path, struct pa_input_state *st,
                         int *found_out)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_STATE_GET);
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
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_STATE_PUT);

  if (!q)
    return PA_DB;
  sqlite3_bind_text(q, 1, path, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(q, 2, st->kind, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 3, st->inode);
  sqlite3_bind_int64(q, 4, st->size);
  sqlite3_bind_int64(q, 5, st->mtime_us);
  sqlite3_bind_text(q, 6, st->head_sha256, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(q, 7, st->offset);
  pa__store_bind_opt(q, 8, run_id > 0 ? run_id : -1);
  sqlite3_bind_int64(q, 9, pa_time_now());
  return pa__store_step_done(s, q);
}

