/* test_store.c — the store: schema contract, file mode, dedup, batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pa_test.h"

#include "analyzer/store.h"
#include "analyzer/store_schema.h"
#include "collectors/audit_map.h"

#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int setup(void **state)
{
  assert_non_null(*state = pa_test_db_new("store"));
  return 0;
}

static int teardown(void **state)
{
  pa_test_db_free(*state);
  return 0;
}

/* Every table and column of design.md's contract exists by name. */
static void test_contract_columns(void **state)
{
  struct pa_test_db *f = *state;
  static const char *const want[][2] = {
    {"events", "id"}, {"events", "ts"}, {"events", "received_ts"}, {"events", "source"},
    {"events", "origin"}, {"events", "event_code"}, {"events", "action"},
    {"events", "outcome"}, {"events", "user_id"}, {"events", "user_name"},
    {"events", "user_role"}, {"events", "src_ip"}, {"events", "src_ae"},
    {"events", "dst_ip"}, {"events", "dst_ae"}, {"events", "host"},
    {"events", "patient_id"}, {"events", "study_uid"}, {"events", "object_count"},
    {"events", "secure"}, {"events", "assoc_id"}, {"events", "raw_id"},
    {"associations", "id"}, {"associations", "started_at"}, {"associations", "ended_at"},
    {"associations", "client_ip"}, {"associations", "client_port"},
    {"associations", "server_ip"}, {"associations", "server_port"},
    {"associations", "calling_ae"}, {"associations", "called_ae"},
    {"associations", "result"}, {"associations", "reject_reason"},
    {"associations", "user_identity_type"}, {"associations", "user_identity"},
    {"associations", "tls"}, {"associations", "bytes"}, {"associations", "origin"},
    {"presentation_contexts", "assoc_id"}, {"presentation_contexts", "pc_id"},
    {"presentation_contexts", "abstract_syntax"},
    {"presentation_contexts", "transfer_syntaxes"}, {"presentation_contexts", "result"},
    {"dimse", "id"}, {"dimse", "assoc_id"}, {"dimse", "ts"}, {"dimse", "message_id"},
    {"dimse", "command"}, {"dimse", "sop_class_uid"}, {"dimse", "sop_instance_uid"},
    {"dimse", "status"}, {"dimse", "patient_id"}, {"dimse", "study_uid"},
    {"dimse", "query"}, {"dimse", "move_destination"},
    {"raw", "bytes"}, {"raw", "origin"}, {"raw", "offset"}, {"raw", "sha256"},
    {"raw", "prev_hash"}, {"raw", "chain_hash"},
    {"quarantine", "bytes"}, {"quarantine", "error"}, {"quarantine", "origin"},
    {"quarantine", "offset"},
    {"findings", "id"}, {"findings", "rule_id"}, {"findings", "severity"},
    {"findings", "guideline_ref"}, {"findings", "subject"}, {"findings", "first_ts"},
    {"findings", "last_ts"}, {"findings", "count"}, {"findings", "evidence"},
    {"findings", "fingerprint"}, {"findings", "first_seen_run"}, {"findings", "status"},
    {"runs", "id"}, {"ingest_state", "path"},
  };
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(f->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
    char sql[256];
    sqlite3_stmt *q;
    snprintf(sql, sizeof sql, "SELECT %s FROM %s LIMIT 0", want[i][1], want[i][0]);
    if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) != SQLITE_OK)
      fail_msg("missing %s.%s", want[i][0], want[i][1]);
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
}

static void test_private_mode_and_wal(void **state)
{
  struct pa_test_db *f = *state;
  struct stat sb;
  assert_int_equal(stat(f->path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  assert_int_equal(pa_store_version_found(f->s), 0);
}

static struct pa_assoc sample_assoc(void)
{
  struct pa_assoc a;
  memset(&a, 0, sizeof a);
  a.started_at = 1700000000000000LL;
  snprintf(a.conn.client_ip, sizeof a.conn.client_ip, "127.0.0.1");
  snprintf(a.conn.server_ip, sizeof a.conn.server_ip, "127.0.0.1");
  a.conn.client_port = 40000;
  a.conn.server_port = 104;
  a.conn.origin = "x.pcap";
  snprintf(a.calling_ae, sizeof a.calling_ae, "CT01");
  snprintf(a.called_ae, sizeof a.called_ae, "PACS");
  a.result = "incomplete";
  return a;
}

static int64_t count(const char *path, const char *sql)
{
  sqlite3 *db;
  sqlite3_stmt *q;
  int64_t n = -1;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
  if (sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  sqlite3_close(db);
  return n;
}

/* The same association twice is stored once; the second begin says so. */
static void test_assoc_dedup_and_update(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_assoc a = sample_assoc();
  int64_t id1, id2;
  struct pa_store_counts c;

  assert_int_equal(pa_store_assoc_begin(f->s, &a, &id1), PA_OK);
  assert_true(id1 > 0);
  a.result = "released";
  a.ended_at = a.started_at + 5;
  assert_int_equal(pa_store_assoc_update(f->s, id1, &a), PA_OK);
  assert_int_equal(pa_store_assoc_begin(f->s, &a, &id2), PA_OK);
  assert_int_equal(id2, 0);
  pa_store_counts(f->s, &c);
  assert_int_equal(c.associations, 1);
  assert_int_equal(c.duplicates, 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM associations WHERE result='released'"
                                  " AND calling_ae='CT01' AND user_identity IS NULL"), 1);
}

/* Unknown fields are NULL, not 0 or "". */
static void test_event_nulls(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e;
  int64_t id;
  pa_event_init(&e);
  e.ts = 1;
  e.source = "dicom";
  e.event_code = "ASSOC:start";
  e.src_ip = "";
  assert_int_equal(pa_store_put_event(f->s, &e, &id), PA_OK);
  assert_true(id > 0);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events WHERE outcome IS NULL AND"
                                  " src_ip IS NULL AND secure IS NULL AND action IS NULL"
                                  " AND object_count IS NULL AND assoc_id IS NULL"), 1);
}

/* Inside a batch nothing is visible to others until commit. */
static void test_batch(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e;
  pa_event_init(&e);
  e.ts = 2;
  e.source = "dicom";
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  for (int i = 0; i < 10; i++)
    assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events"), 0);
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events"), 10);
}

/* A listener's events: committed to events_pending batch by batch, moved
 * into events with their ids at commit; another writer's event in between
 * takes an id above theirs; a later line joins a pending event; a writable
 * open moves what a writer that did not close left pending, a reader does
 * not. */
static void test_events_pending(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e, j;
  struct pa_err err;
  pa_store *other, *r;
  int64_t id[3], oid, rid, found;
  int dup;

  pa_event_init(&e);
  e.ts = 5;
  e.source = "syslog";
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &other, &err), PA_OK); /* an ingest, say */
  pa_store_events_pending(f->s, 1);
  pa_store_batch_limits(f->s, 1, 1000000);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pa_store_put_event(f->s, &e, &id[i]), PA_OK);
    assert_int_equal(pa_store_batch_tick(f->s), PA_OK); /* a batch of one row */
  }
  assert_int_equal(id[1], id[0] + 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events"), 0);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_pending"), 2);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_all"), 2);

  /* the other writer's event while they wait */
  assert_int_equal(pa_store_put_event(other, &e, &oid), PA_OK);
  assert_int_equal(oid, id[1] + 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_pending"), 2);

  /* the first writer goes on: above both */
  assert_int_equal(pa_store_put_raw(f->s, "a line", 6, "t.log", 0, 5, &rid, &dup), PA_OK);
  e.raw_id = rid;
  assert_int_equal(pa_store_put_event(f->s, &e, &id[2]), PA_OK);
  assert_int_equal(id[2], oid + 1);
  assert_int_equal(pa_store_batch_tick(f->s), PA_OK);
  pa_event_init(&j);
  j.user_id = "joined";
  assert_int_equal(pa_store_event_join(other, id[2], &j), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_pending WHERE user_id = 'joined'"),
                   1);
  assert_int_equal(pa_store_event_of_raw(other, rid, 5, &found), PA_OK);
  assert_int_equal(found, id[2]);

  /* a reader does not move them; a writable open does */
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &r, &err), PA_OK);
  assert_int_equal(pa_store_close(r), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_pending"), 3);
  assert_int_equal(pa_store_close(other), PA_OK);
  assert_int_equal(pa_store_open(f->path, &other, &err), PA_OK);
  assert_int_equal(pa_store_close(other), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_pending"), 0);
  assert_int_equal(count(f->path, "SELECT count(DISTINCT id) FROM events"), 4);
  assert_int_equal(count(f->path, "SELECT id FROM events WHERE user_id = 'joined'"), id[2]);

  /* the close of the first writer: nothing left to move, nothing doubled */
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  assert_int_equal(pa_store_close(f->s), PA_OK);
  f->s = NULL;
  assert_int_equal(count(f->path, "SELECT count(*) FROM events"), 4);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events_all"), 4);
}

static void test_state_roundtrip(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_input_state in = {.inode = 7, .size = 100, .mtime_us = 9, .offset = 100};
  struct pa_input_state out;
  int found;
  snprintf(in.kind, sizeof in.kind, "pcap");
  snprintf(in.head_sha256, sizeof in.head_sha256, "ab");
  assert_int_equal(pa_store_state_get(f->s, "/x", &out, &found), PA_OK);
  assert_int_equal(found, 0);
  assert_int_equal(pa_store_state_put(f->s, "/x", &in, 0), PA_OK);
  assert_int_equal(pa_store_state_get(f->s, "/x", &out, &found), PA_OK);
  assert_int_equal(found, 1);
  assert_int_equal(out.inode, 7);
  assert_int_equal(out.offset, 100);
  assert_string_equal(out.kind, "pcap");
  assert_string_equal(out.head_sha256, "ab");
}

static void test_runs(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_run_counts c = {.inputs = 3, .events = 5};
  int64_t id;
  assert_int_equal(pa_store_run_begin(f->s, "ingest", "a b", &id), PA_OK);
  assert_int_equal(pa_store_run_end(f->s, id, "ok", &c, NULL), PA_OK);
  assert_int_equal(count(f->path, "SELECT events FROM runs WHERE status='ok'"), 5);
}

/* Reopening migrates nothing; a newer schema is refused. */
static void test_versions(void **state)
{
  struct pa_test_db *f = *state;
  pa_store *s2;
  struct pa_err err;
  sqlite3 *db;

  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &s2, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s2), PA_SCHEMA_VERSION);
  pa_store_close(s2);
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(pa_store_open(f->path, &s2, &err), PA_DB);
  assert_null(s2);
  assert_non_null(strstr(err.msg, "newer"));
}

static void test_not_a_database(void **state)
{
  (void)state;
  char path[] = "/tmp/pa_notdb_XXXXXX";
  int fd = mkstemp(path);
  pa_store *s;
  struct pa_err err;
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "this is not sqlite, just text padding the header.....", 52), 52);
  close(fd);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_DB);
  assert_non_null(strstr(err.msg, path));
  unlink(path);
}

/* The same bytes are kept once; the chain verifies, and a change to any
 * stored message is found. */
static void test_raw_chain(void **state)
{
  struct pa_test_db *f = *state;
  char big[2000];
  int64_t id1, id2, id3, bad;
  int dup;
  uint64_t n;
  struct pa_err err;
  sqlite3 *db;

  memset(big, 'a', sizeof big); /* compresses */
  assert_int_equal(pa_store_put_raw(f->s, "hello", 5, "f", 0, 1, &id1, &dup), PA_OK);
  assert_int_equal(dup, 0);
  assert_int_equal(pa_store_put_raw(f->s, big, sizeof big, "f", 5, 1, &id2, &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, "hello", 5, "g", 9, 2, &id3, &dup), PA_OK);
  assert_int_equal(dup, 1);
  assert_int_equal(id3, id1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM raw"), 2);
  assert_int_equal(count(f->path, "SELECT compressed FROM raw WHERE size=2000"), 2);
  assert_int_equal(count(f->path, "SELECT count(*) FROM raw WHERE prev_hash IS NULL"), 1);
  pa_err_clear(&err);
  assert_int_equal(pa_store_verify_raw(f->s, &n, &bad, &err), PA_OK);
  assert_int_equal(n, 2);

  /* reopening continues the chain from the last row */
  pa_store_close(f->s);
  assert_int_equal(pa_store_open(f->path, &f->s, &err), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, "third", 5, "f", 0, 3, &id3, &dup), PA_OK);
  assert_int_equal(pa_store_verify_raw(f->s, &n, &bad, &err), PA_OK);
  assert_int_equal(n, 3);

  /* tamper with the first message */
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE raw SET bytes=X'68656c6c70' WHERE size=5 AND"
                                    " prev_hash IS NULL", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(pa_store_verify_raw(f->s, &n, &bad, &err), PA_MALFORMED);
  assert_int_equal(bad, id1);
  assert_int_equal(n, 0);
  assert_non_null(strstr(err.msg, "sha256"));
}

/* Retention drops the bytes of a prefix of raw received before the cut; the
 * chain still verifies, a message received again is still known, and a
 * row without bytes beyond the cut is found. */
static void test_raw_prune(void **state)
{
  struct pa_test_db *f = *state;
  char big[2000];
  int64_t id[4], up_to, at, bad;
  int dup;
  uint64_t n;
  struct pa_err err;
  sqlite3 *db;

  memset(big, 'b', sizeof big);
  assert_int_equal(pa_store_put_raw(f->s, "one", 3, "f", 0, 100, &id[0], &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, big, sizeof big, "f", 3, 200, &id[1], &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, "three", 5, "f", 9, 150, &id[2], &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, "four", 4, "f", 14, 400, &id[3], &dup), PA_OK);
  /* before 300: rows 1 and 2, and not 3 though it is older, for the cut is
   * a prefix of the chain */
  assert_int_equal(pa_store_raw_prune(f->s, 160, 0, &n, &up_to), PA_OK);
  assert_int_equal(n, 1);
  assert_int_equal(up_to, id[0]);
  assert_int_equal(pa_store_raw_prune(f->s, 300, 0, &n, &up_to), PA_OK);
  assert_int_equal(n, 2);
  assert_int_equal(up_to, id[2]);
  assert_int_equal(pa_store_raw_prune(f->s, 300, 0, &n, &up_to), PA_OK);
  assert_int_equal(n, 0);
  assert_int_equal(count(f->path, "SELECT count(*) FROM raw WHERE length(bytes) = 0"), 3);
  assert_int_equal(count(f->path, "SELECT count(*) FROM raw_retention"), 2);
  assert_int_equal(pa_store_raw_retention(f->s, &up_to, &at), PA_OK);
  assert_int_equal(up_to, id[2]);
  assert_true(at > 0);
  pa_err_clear(&err);
  assert_int_equal(pa_store_verify_raw(f->s, &n, &bad, &err), PA_OK);
  assert_int_equal(n, 4);
  /* a copy of a pruned message is still the same message */
  assert_int_equal(pa_store_put_raw(f->s, "one", 3, "g", 0, 500, &at, &dup), PA_OK);
  assert_int_equal(dup, 1);
  assert_int_equal(at, id[0]);

  /* bytes removed past the cut: broken */
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "UPDATE raw SET bytes = x'' WHERE size = 4", NULL, NULL,
                                NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(pa_store_verify_raw(f->s, &n, &bad, &err), PA_MALFORMED);
  assert_int_equal(bad, id[3]);
  assert_non_null(strstr(err.msg, "retention"));
}

/* Writers that open one new database at once all get it, migrated once:
 * the loser of the race must not fail on "table raw already exists". */
static void test_open_race(void **state)
{
  struct pa_test_db *f = *state;
  char path[160];

  for (int round = 0; round < 5; round++) {
    pid_t kids[4];
    snprintf(path, sizeof path, "%s/race%d.db", f->dir, round);
    for (int i = 0; i < 4; i++) {
      kids[i] = fork();
      assert_true(kids[i] >= 0);
      if (kids[i] == 0) {
        struct pa_err err;
        pa_store *s;
        int64_t id;
        int dup;
        char msg[32];
        pa_err_clear(&err);
        if (pa_store_open(path, &s, &err) != PA_OK) {
          fprintf(stderr, "open: %s\n", err.msg);
          _exit(1);
        }
        snprintf(msg, sizeof msg, "writer %d", i);
        _exit(pa_store_put_raw(s, msg, strlen(msg), "t", 0, 1, &id, &dup) == PA_OK &&
              pa_store_close(s) == PA_OK ? 0 : 2);
      }
    }
    for (int i = 0; i < 4; i++) {
      int st;
      assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
      assert_true(WIFEXITED(st));
      assert_int_equal(WEXITSTATUS(st), 0);
    }
    assert_int_equal(count(path, "SELECT count(*) FROM raw"), 4);
    assert_int_equal(count(path, "PRAGMA user_version"), PA_SCHEMA_VERSION);
  }
}

static void test_quarantine_once(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_store_counts c;
  assert_int_equal(pa_store_quarantine(f->s, "<bad", 4, "x.xml", 10, "atna.not_xml", 0), PA_OK);
  assert_int_equal(pa_store_quarantine(f->s, "<bad", 4, "x.xml", 10, "atna.not_xml", 0), PA_OK);
  pa_store_counts(f->s, &c);
  assert_int_equal(c.quarantined, 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM quarantine WHERE error='atna.not_xml'"
                                  " AND offset=10 AND bytes=CAST('<bad' AS BLOB)"), 1);
}

static void test_audit_details(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_participant parts[2] = {
    {.user_id = "dr.sato", .is_requestor = 1, .user_type = 1, .net_type = 2,
     .net_type_effective = 2, .net_id = "10.0.0.5"},
    {.user_id = "PACS", .is_requestor = 0, .user_type = -1, .net_type = -1,
     .net_type_effective = -1, .ae_title = "PACS", .roles = "110152"},
  };
  struct pa_object objs[1] = {
    {.object_id = "PA-0001", .type_code = 1, .role_code = 1, .lifecycle = -1,
     .n_instances = -1, .cx_id = "PA-0001"},
  };
  struct pa_audit a;
  int64_t id;

  memset(&a, 0, sizeof a);
  pa_event_init(&a.ev);
  a.ev.ts = 5;
  a.ev.source = "atna";
  a.ev.event_code = "DCM:110112";
  a.format = "dicom-xml";
  a.participants = parts;
  a.n_participants = 2;
  a.objects = objs;
  a.n_objects = 1;
  assert_int_equal(pa_store_put_audit(f->s, &a, &id), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM atna_participants WHERE event_id=1"), 2);
  assert_int_equal(count(f->path, "SELECT seq FROM atna_participants WHERE ae_title='PACS'"), 1);
  assert_int_equal(count(f->path, "SELECT type_code FROM atna_objects WHERE object_id='PA-0001'"
                                  " AND lifecycle IS NULL"), 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM audit_details WHERE format='dicom-xml'"),
                   1);
}

/* A version-1 file is migrated to the current version when opened. */
static void test_migrate_from_v1(void **state)
{
  (void)state;
  char path[] = "/tmp/pa_v1_XXXXXX";
  int fd = mkstemp(path);
  sqlite3 *db;
  pa_store *s;
  struct pa_err err;

  assert_true(fd >= 0);
  close(fd);
  unlink(path);
  /* version 1 is the store as it was before audit_details was added */
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, pa__store_migrations[0], NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "INSERT INTO events (ts, source) VALUES (1, 'dicom');"
                                    "PRAGMA user_version=1", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), 1);
  pa_store_close(s);
  assert_int_equal(count(path, "PRAGMA user_version"), PA_SCHEMA_VERSION);
  assert_int_equal(count(path, "SELECT count(*) FROM audit_details"), 0);
  assert_int_equal(count(path, "SELECT count(*) FROM events"), 1);
  unlink(path);
}

/* Two writers on one database (a listener and an ingest): their batches
 * take turns and the raw chain stays one chain. */
static void test_two_writers_one_chain(void **state)
{
  struct pa_test_db *f = *state;
  pa_store *b;
  struct pa_err err;
  int64_t id, bad;
  uint64_t n;
  int dup;
  char msg[32];

  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &b, &err), PA_OK);
  for (int round = 0; round < 3; round++) {
    pa_store *w = round % 2 ? b : f->s;
    assert_int_equal(pa_store_batch_begin(w), PA_OK);
    for (int i = 0; i < 4; i++) {
      snprintf(msg, sizeof msg, "round %d message %d", round, i);
      assert_int_equal(pa_store_put_raw(w, msg, strlen(msg), "x", i, 1, &id, &dup), PA_OK);
      assert_int_equal(dup, 0);
    }
    assert_int_equal(pa_store_batch_commit(w), PA_OK);
  }
  /* one message outside any batch, from each */
  assert_int_equal(pa_store_put_raw(f->s, "lone a", 6, "x", 0, 1, &id, &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(b, "lone b", 6, "x", 0, 1, &id, &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(f->s, "lone b", 6, "x", 0, 1, &id, &dup), PA_OK);
  assert_int_equal(dup, 1); /* the other writer's message is found */
  assert_int_equal(pa_store_verify_raw(b, &n, &bad, &err), PA_OK);
  assert_int_equal(n, 14);
  pa_store_close(b);
}

/* The number the first column of sql's first row holds, read through h. */
static int64_t count_h(sqlite3 *h, const char *sql)
{
  sqlite3_stmt *q;
  int64_t n = -1;
  assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &q, NULL), SQLITE_OK);
  if (sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

/* A reader never creates: a missing file is PA_IO naming it, and nothing
 * appears on disk. */
static void test_open_missing(void **state)
{
  struct pa_test_db *f = *state;
  static const int modes[] = {PA_STORE_RDONLY, PA_STORE_NOCREATE,
                              PA_STORE_NOCREATE | PA_STORE_NOMIGRATE};
  char path[160], wal[170];
  struct pa_err err;
  pa_store *s;

  snprintf(path, sizeof path, "%s/typo.db", f->dir);
  snprintf(wal, sizeof wal, "%s-wal", path);
  for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
    pa_err_clear(&err);
    s = (pa_store *)1;
    assert_int_equal(pa_store_open_mode(path, modes[i], &s, &err), PA_IO);
    assert_null(s);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, "no such database"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(wal, F_OK), -1);
  }
  /* flags 0 is pa_store_open: it creates */
  assert_int_equal(pa_store_open_mode(path, 0, &s, &err), PA_OK);
  assert_int_equal(access(path, F_OK), 0);
  pa_store_close(s);
  unlink(path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", path);
  unlink(wal);
}

/* A read-only handle reads a WAL database while a writer holds it, even in
 * the middle of the writer's batch; it writes nothing (a write through it
 * fails, the journal mode stays WAL), and it also opens the file once the
 * writer has closed it (no -wal or -shm left). */
static void test_rdonly_beside_writer(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e;
  struct pa_err err;
  pa_store *r;
  sqlite3 *h;

  pa_event_init(&e);
  e.ts = 3;
  e.source = "syslog";
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &r, &err), PA_OK);
  assert_int_equal(pa_store_version_found(r), PA_SCHEMA_VERSION);
  h = pa_store_handle(r);
  assert_non_null(h);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 1);
  /* the writer holds the write lock with a batch open */
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 1);
  assert_int_equal(pa_store_put_event(r, &e, NULL), PA_DB); /* read-only */
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 2);
  assert_int_equal(pa_store_close(r), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events"), 2);

  /* the writer gone: its -wal and -shm are removed at close */
  assert_int_equal(pa_store_close(f->s), PA_OK);
  f->s = NULL;
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &r, &err), PA_OK);
  h = pa_store_handle(r);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 2);
  {
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
    sqlite3_finalize(q);
  }
  assert_int_equal(pa_store_close(r), PA_OK);
}

/* The store's pa_sha_key() (store.c) for a plain sqlite3 handle running
 * migration 13: the first 8 bytes of a 32-byte BLOB, big-endian. */
static void sha_key_fn(sqlite3_context *c, int n, sqlite3_value **v)
{
  const unsigned char *b = sqlite3_value_blob(v[0]);
  uint64_t k = 0;

  (void)n;
  if (!b || sqlite3_value_bytes(v[0]) != 32) {
    sqlite3_result_null(c);
    return;
  }
  for (int i = 0; i < 8; i++)
    k = k << 8 | b[i];
  sqlite3_result_int64(c, (int64_t)k);
}

/* A new file at path with the schema of version v, made by migrations 1
 * to v on a plain handle (the caller's: sqlite3_close), without setting
 * user_version. */
static sqlite3 *db_at(const char *path, int v)
{
  sqlite3 *db;

  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_create_function(db, "pa_sha_key", 1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                           NULL, sha_key_fn, NULL, NULL),
                   SQLITE_OK);
  for (int i = 0; i < v; i++)
    assert_int_equal(sqlite3_exec(db, pa__store_migrations[i], NULL, NULL, NULL), SQLITE_OK);
  return db;
}

/* Turns a version-14 (or later) file back into version 13's shape: no
 * events_pending nor events_all (version 16), and atna_objects and
 * atna_participants tables again, holding every column in full (what
 * version 13 stored), from what the views read. */
static const char revert_v14[] =
  "DROP VIEW events_all; DROP TABLE events_pending;"
  "CREATE TABLE o13 AS SELECT * FROM atna_objects;"
  "CREATE TABLE p13 AS SELECT * FROM atna_participants;"
  "DROP VIEW atna_objects; DROP VIEW atna_participants;"
  "DROP TABLE atna_objects_data; DROP TABLE atna_participants_data;"
  "ALTER TABLE o13 RENAME TO atna_objects; ALTER TABLE p13 RENAME TO atna_participants;"
  "PRAGMA user_version=13;";

/* An older schema is migrated by a writer, refused by a reader or with
 * NOMIGRATE (and left as it was); an empty file is not a database to read. */
static void test_open_nomigrate(void **state)
{
  struct pa_test_db *f = *state;
  char path[160], old_version[64], old_msg[64];
  struct pa_err err;
  sqlite3 *db;
  pa_store *s;
  int fd;

  snprintf(path, sizeof path, "%s/old.db", f->dir);
  db = db_at(path, PA_SCHEMA_VERSION - 1);
  snprintf(old_version, sizeof old_version, "PRAGMA user_version=%d", PA_SCHEMA_VERSION - 1);
  snprintf(old_msg, sizeof old_msg, "schema version %d is older", PA_SCHEMA_VERSION - 1);
  assert_int_equal(sqlite3_exec(db, old_version, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  for (int i = 0; i < 2; i++) {
    pa_err_clear(&err);
    assert_int_equal(pa_store_open_mode(path, i ? PA_STORE_RDONLY : PA_STORE_NOMIGRATE, &s,
                                        &err), PA_DB);
    assert_null(s);
    assert_non_null(strstr(err.msg, path));
    assert_non_null(strstr(err.msg, old_msg));
    assert_int_equal(count(path, "PRAGMA user_version"), PA_SCHEMA_VERSION - 1);
  }
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), PA_SCHEMA_VERSION - 1);
  pa_store_close(s);
  assert_int_equal(count(path, "PRAGMA user_version"), PA_SCHEMA_VERSION);
  unlink(path);

  fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
  assert_true(fd >= 0);
  close(fd);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open_mode(path, PA_STORE_RDONLY, &s, &err), PA_DB);
  assert_non_null(strstr(err.msg, "not a pacsaudit database"));
  unlink(path);
}

/* Between read_begin and read_end every query sees one snapshot. */
static void test_read_snapshot(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e;
  struct pa_err err;
  pa_store *r;
  sqlite3 *h;

  pa_event_init(&e);
  e.ts = 4;
  e.source = "dicom";
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &r, &err), PA_OK);
  h = pa_store_handle(r);
  assert_int_equal(pa_store_read_begin(r), PA_OK);
  assert_int_equal(pa_store_read_begin(r), PA_DB); /* no nesting */
  /* committed after read_begin, before the first query: still unseen */
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 1);
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events WHERE ts = 4"), 1);
  assert_int_equal(pa_store_read_end(r), PA_OK);
  assert_int_equal(count_h(h, "SELECT count(*) FROM events"), 3);
  assert_int_equal(pa_store_read_end(r), PA_OK); /* none open: no-op */
  /* a read left open is ended by close */
  assert_int_equal(pa_store_read_begin(r), PA_OK);
  assert_int_equal(pa_store_close(r), PA_OK);
}

/* event_type and auth_method reach events, and op reads them: a logout
 * is told from a login. */
static void test_event_type_and_op(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_event e;

  pa_event_init(&e);
  e.ts = 6;
  e.source = "syslog";
  e.event_code = "DCM:110114";
  e.event_type = "DCM:110122";
  e.auth_method = "publickey";
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  e.event_type = "DCM:110123";
  e.auth_method = NULL;
  assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events WHERE op='login' AND"
                                  " event_type='DCM:110122' AND auth_method='publickey'"), 1);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events WHERE op='logout' AND"
                                  " auth_method IS NULL"), 1);
}

/* Migration 6 computes event_type for rows stored before it exactly as
 * ingest computes it now (pa_audit_event_type), so old and new rows agree. */
static void test_migration6_event_type_agrees(void **state)
{
  static const char *const lists[] = {"110122", "110123,110122", "A777", "search-type,ITI-67",
                                      "1101", "110122x,9", "113871", "read"};
  struct pa_test_db *f = *state;
  struct pa_arena ar;
  char path[160], sql[256];
  sqlite3 *db;
  pa_store *s;
  struct pa_err err;

  snprintf(path, sizeof path, "%s/v5.db", f->dir);
  db = db_at(path, 5);
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    snprintf(sql, sizeof sql,
             "INSERT INTO events (id, ts, source) VALUES (%zu, 1, 'atna');"
             "INSERT INTO audit_details (event_id, event_types) VALUES (%zu, '%s');",
             i + 1, i + 1, lists[i]);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  }
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=5", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  pa_arena_init(&ar, 4096);
  for (size_t i = 0; i < sizeof lists / sizeof lists[0]; i++) {
    sqlite3_stmt *q;
    const char *want = pa_audit_event_type(&ar, lists[i]);
    assert_int_equal(sqlite3_prepare_v2(pa_store_handle(s),
                                        "SELECT event_type FROM events WHERE id=?", -1, &q,
                                        NULL), SQLITE_OK);
    sqlite3_bind_int64(q, 1, (int64_t)i + 1);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    if (!want)
      assert_int_equal(sqlite3_column_type(q, 0), SQLITE_NULL);
    else if (strcmp((const char *)sqlite3_column_text(q, 0), want))
      fail_msg("%s: migration %s, ingest %s", lists[i], sqlite3_column_text(q, 0), want);
    sqlite3_finalize(q);
  }
  pa_arena_cleanup(&ar);
  pa_store_close(s);
  unlink(path);
}

/* A C-FIND's results become dimse_results rows, in order, under its id. */
static void test_dimse_results(void **state)
{
  struct pa_test_db *f = *state;
  struct pa_assoc a = sample_assoc();
  struct pa_dimse_result res[3] = {{"PA-0001", ""}, {"PA-0002", "1.2.3"}, {"", "1.2.4"}};
  struct pa_dimse d;
  int64_t aid, id;

  assert_int_equal(pa_store_assoc_begin(f->s, &a, &aid), PA_OK);
  memset(&d, 0, sizeof d);
  d.assoc_id = aid;
  d.ts = 10;
  d.command = "C-FIND-RQ";
  d.status = 0;
  d.move_originator_id = d.completed = d.failed = d.warning = -1;
  d.results = res;
  d.n_results = 3;
  assert_int_equal(pa_store_put_dimse(f->s, &d, &id), PA_OK);
  d.n_results = 0;
  assert_int_equal(pa_store_put_dimse(f->s, &d, NULL), PA_OK);
  assert_int_equal(count(f->path, "SELECT count(*) FROM dimse_results"), 3);
  assert_int_equal(count(f->path, "SELECT count(*) FROM dimse_results WHERE dimse_id=1 AND"
                                  " ((seq=0 AND patient_id='PA-0001' AND study_uid IS NULL) OR"
                                  "  (seq=1 AND patient_id='PA-0002' AND study_uid='1.2.3') OR"
                                  "  (seq=2 AND patient_id IS NULL AND study_uid='1.2.4'))"), 3);
  assert_int_equal(id, 1);
}


/* A finding is kept once per episode: the same episode again is "known",
 * new data extends it, another part or a later episode is new; the policy's
 * exceptions move open <-> excepted, and a reviewer's status is kept. */
static void test_finding_put(void **state)
{
  struct pa_test_db *f = *state;
  sqlite3 *db = pa_store_handle(f->s);
  struct pa_finding a = {
    .rule_id = "AC-08", .severity = "medium", .strength = "advisory",
    .guideline_ref = "[\"シス14\"]", .subject = "r.tanaka", .first_ts = 1000, .last_ts = 2000,
    .count = 5, .evidence = "[1,2,3,4,5]", .gap_us = 600, .part = 0};
  struct pa_finding b;
  sqlite3_stmt *q;
  int known = -1;

  assert_int_equal(pa_store_finding_put(f->s, &a, 7, &known), PA_OK);
  assert_int_equal(known, 0);
  assert_int_equal(pa_store_finding_put(f->s, &a, 8, &known), PA_OK); /* again: the same */
  assert_int_equal(known, 1);
  b = a; /* new data extends the episode */
  b.last_ts = 2500;
  b.count = 6;
  b.evidence = "[1,2,3,4,5,6]";
  assert_int_equal(pa_store_finding_put(f->s, &b, 9, &known), PA_OK);
  assert_int_equal(known, 1);
  b = a; /* another check of the same rule: its own finding */
  b.part = 2;
  b.detail = "{\"part\":2}";
  assert_int_equal(pa_store_finding_put(f->s, &b, 9, &known), PA_OK);
  assert_int_equal(known, 0);
  b = a; /* later than the gap: a new episode */
  b.first_ts = 5000;
  b.last_ts = 5000;
  assert_int_equal(pa_store_finding_put(f->s, &b, 9, &known), PA_OK);
  assert_int_equal(known, 0);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*), count(DISTINCT fingerprint),"
                                      " sum(last_ts = 2500 AND count = 6 AND first_seen_run = 7"
                                      " AND updated_run = 9) FROM findings", -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(q, 0), 3);
  assert_int_equal(sqlite3_column_int(q, 1), 3);
  assert_int_equal(sqlite3_column_int(q, 2), 1);
  sqlite3_finalize(q);
  /* an exception applies, then no longer */
  b = a;
  b.excepted = "night shift";
  assert_int_equal(pa_store_finding_put(f->s, &b, 10, &known), PA_OK);
  assert_int_equal(known, 1);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT status, reason FROM findings WHERE"
                                      " first_ts = 1000 AND detail IS NULL", -1, &q, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "excepted");
  assert_string_equal((const char *)sqlite3_column_text(q, 1), "night shift");
  sqlite3_reset(q);
  assert_int_equal(pa_store_finding_put(f->s, &a, 11, &known), PA_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "open");
  sqlite3_reset(q);
  /* a reviewer's status stays */
  assert_int_equal(sqlite3_exec(db, "UPDATE findings SET status = 'closed' WHERE first_ts = 1000"
                                " AND detail IS NULL", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(pa_store_finding_put(f->s, &b, 12, &known), PA_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "closed");
  sqlite3_finalize(q);
}

/* A bulk load into an empty events table drops its secondary indexes and
 * makes them again when it ends; a load that dies leaves them recorded in
 * deferred_indexes, and the next writable open makes them. With rows in
 * events nothing is deferred. */
static void test_bulk_deferred_indexes(void **state)
{
  struct pa_test_db *f = *state;
  const char *n_idx = "SELECT count(*) FROM sqlite_schema WHERE type='index' AND"
                      " tbl_name='events' AND sql IS NOT NULL";
  int64_t all = count(f->path, n_idx);
  struct pa_event e;
  struct pa_err err;
  pa_store *s2;

  assert_true(all >= 9);
  pa_event_init(&e);
  e.ts = 7;
  e.source = "atna";
  e.user_id = "u1";
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(pa_store_bulk_begin(f->s), PA_OK);
  assert_int_equal(count(f->path, n_idx), 0);
  assert_int_equal(count(f->path, "SELECT count(*) FROM deferred_indexes"), all);
  for (int i = 0; i < 100; i++)
    assert_int_equal(pa_store_put_event(f->s, &e, NULL), PA_OK);
  assert_int_equal(pa_store_bulk_end(f->s), PA_OK);
  assert_int_equal(count(f->path, n_idx), all);
  assert_int_equal(count(f->path, "SELECT count(*) FROM deferred_indexes"), 0);
  assert_int_equal(count(f->path, "SELECT count(*) FROM events WHERE user_id='u1'"), 100);

  /* events has rows: nothing deferred */
  assert_int_equal(pa_store_bulk_begin(f->s), PA_OK);
  assert_int_equal(count(f->path, n_idx), all);
  assert_int_equal(pa_store_bulk_end(f->s), PA_OK);

  /* a load that dies: its handle never closes (the indexes stay dropped);
   * another writable open makes them */
  {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "DELETE FROM events", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
  }
  assert_int_equal(pa_store_bulk_begin(f->s), PA_OK);
  assert_int_equal(count(f->path, n_idx), 0);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open_mode(f->path, PA_STORE_RDONLY, &s2, &err), PA_OK);
  assert_int_equal(pa_store_close(s2), PA_OK);
  assert_int_equal(count(f->path, n_idx), 0); /* a reader makes nothing */
  assert_int_equal(pa_store_open(f->path, &s2, &err), PA_OK);
  assert_int_equal(count(f->path, n_idx), all);
  assert_int_equal(count(f->path, "SELECT count(*) FROM deferred_indexes"), 0);
  assert_int_equal(pa_store_close(s2), PA_OK);
  /* the first handle's end finds nothing left to make */
  assert_int_equal(pa_store_bulk_end(f->s), PA_OK);
  assert_int_equal(count(f->path, n_idx), all);
}

/* Version 13 copies raw to drop the 32-byte UNIQUE index: the rows of a
 * version-12 file keep their ids, bytes and chain, get their sha_key, and a
 * message stored before the migration is still found as a duplicate. */
/* The rows of atna_objects and atna_participants in one string, every
 * column, in order (NULL as "-"). */
/* Every row of each query, its values as text ("-" for NULL), into out. */
static void dump(const char *path, const char *const *sql, size_t n_sql, char *out, size_t cap)
{
  sqlite3 *db;
  size_t len = 0;

  out[0] = 0;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  for (size_t k = 0; k < n_sql; k++) {
    sqlite3_stmt *q;
    assert_int_equal(sqlite3_prepare_v2(db, sql[k], -1, &q, NULL), SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
      for (int i = 0; i < sqlite3_column_count(q); i++) {
        const char *v = (const char *)sqlite3_column_text(q, i);
        int n = snprintf(out + len, cap - len, "%s|", v ? v : "-");
        assert_true(n > 0 && (size_t)n < cap - len);
        len += (size_t)n;
      }
      assert_true(len + 2 < cap);
      out[len++] = '\n';
      out[len] = 0;
    }
    sqlite3_finalize(q);
  }
  sqlite3_close(db);
}

static void dump_detail(const char *path, char *out, size_t cap)
{
  static const char *const sql[] = {
    "SELECT * FROM atna_objects ORDER BY event_id, seq",
    "SELECT * FROM atna_participants ORDER BY event_id, seq"};
  dump(path, sql, 2, out, cap);
}

/* Version 15 stores op: a version-14 file's events are copied with the
 * same rows, op as the virtual column gave it, its indexes made again, and
 * the views over events read the copy. */
static void test_migrate_op_stored(void **state)
{
  static const char *const codes[] = {"DIMSE:C-FIND-RQ", "DIMSE:C-MOVE-RQ", "DCM:110114",
                                      "DCM:110104", "DCM:110110", "FHIR:rest", "DCM:110113",
                                      "ASSOC:start"};
  static const char *const sql[] = {
    "SELECT * FROM events ORDER BY id",
    "SELECT * FROM atna_participants ORDER BY event_id, seq",
    "SELECT id, op FROM events_and_reviews ORDER BY id",
    ("SELECT name, sql FROM sqlite_schema WHERE tbl_name = 'events' AND type = 'index'"
     " ORDER BY name")};
  struct pa_test_db *f = *state;
  static char before[16384], after[16384];
  char path[160], q[512];
  sqlite3 *db;
  pa_store *s;
  struct pa_err err;

  snprintf(path, sizeof path, "%s/v14.db", f->dir);
  db = db_at(path, 14);
  for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
    snprintf(q, sizeof q,
             "INSERT INTO events (id, ts, source, event_code, event_type, action, user_id,"
             " patient_id) VALUES (%zu, %zu, 'atna', '%s', '%s', '%c', 'u%zu', 'p%zu');"
             "INSERT INTO atna_participants_data (event_id, seq, from_event) VALUES (%zu, 0, 1);",
             i + 1, 100 - i, codes[i], i % 2 ? "DCM:110123" : "DCM:110136", "CRUDE"[i % 5], i,
             i % 3, i + 1);
    assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
  }
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=14", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(chmod(path, 0600), 0);
  assert_int_equal(count(path, "SELECT hidden FROM pragma_table_xinfo('events')"
                               " WHERE name = 'op'"), 2); /* virtual */
  dump(path, sql, 4, before, sizeof before);
  assert_non_null(strstr(before, "|retrieve|\n"));
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), 14);
  assert_int_equal(pa_store_close(s), PA_OK);
  assert_int_equal(count(path, "SELECT hidden FROM pragma_table_xinfo('events')"
                               " WHERE name = 'op'"), 3); /* stored */
  dump(path, sql, 4, after, sizeof after);
  assert_string_equal(after, before);
  assert_int_equal(count(path, "SELECT count(*) FROM deferred_indexes"), 0);
  assert_int_equal(count(path, "SELECT count(*) FROM sqlite_schema WHERE name = 'events_v15'"),
                   0);
  unlink(path);
}

/* Version 14 stores an object's CX parts only when its object_id does not
 * split into them, and a participant's fields only when they are not its
 * event's; the views read every column as before. A version-13 file's rows
 * are migrated and read the same through the views. */
static void test_migrate_detail_views(void **state)
{
  (void)state;
  char path[] = "/tmp/pa_v13_XXXXXX";
  int fd = mkstemp(path);
  static char before[8192], after[8192], direct[8192];
  struct pa_participant parts[3] = {
    {.user_id = "dr.sato", .user_name = "Sato", .is_requestor = 1, .user_type = 1,
     .net_type = 2, .net_type_effective = 2, .net_id = "10.0.0.5",
     .role_names = "Radiologist", .roles = "R1"},
    {.user_id = "PACS", .is_requestor = 0, .user_type = -1, .net_type = -1,
     .net_type_effective = -1, .ae_title = "PACS", .roles = "110152", .net_id = "10.0.0.9"},
    {.user_id = "", .user_name = "Sato", .is_requestor = 0, .user_type = -1, .net_type = -1,
     .net_type_effective = -1},
  };
  struct pa_object objs[6] = {
    /* split as the collector does: nothing stored twice */
    {.object_id = "PA-0001^^^HOSP&1.2.3&ISO", .type_code = 1, .role_code = 1,
     .lifecycle = -1, .n_instances = -1},
    /* parts that are not the split of object_id are kept */
    {.object_id = "PA-0001", .type_code = 1, .role_code = 1, .lifecycle = -1,
     .n_instances = -1, .cx_id = "PA-0001"},
    {.object_id = "^^^&2.16.1", .type_code = 1, .lifecycle = -1, .n_instances = -1},
    {.object_id = "X9^a^b^NS^more^and", .type_code = 2, .lifecycle = -1, .n_instances = -1},
    {.object_id = "Z^^^NS&&ISO", .type_code = 2, .lifecycle = -1, .n_instances = -1,
     .cx_id = "other"},
    {.object_id = NULL, .type_code = 2, .lifecycle = -1, .n_instances = 3},
  };
  struct pa_arena arena, *ar = &arena;
  struct pa_audit a;
  struct pa_err err;
  pa_store *s;
  int64_t id;

  assert_true(fd >= 0);
  pa_arena_init(ar, 4096);
  close(fd);
  unlink(path);
  for (size_t i = 0; i < 5; i++)
    if (i != 1 && i != 4)
      pa_audit_cx_split(ar, &objs[i]);
  assert_string_equal(objs[0].cx_namespace, "HOSP");
  memset(&a, 0, sizeof a);
  pa_event_init(&a.ev);
  a.ev.ts = 5;
  a.ev.source = "atna";
  a.ev.event_code = "DCM:110112";
  a.ev.user_id = "dr.sato";
  a.ev.user_name = "Sato";
  a.ev.src_ip = "10.0.0.5";
  a.ev.user_role = "Radiologist";
  a.format = "dicom-xml";
  a.participants = parts;
  a.n_participants = 3;
  a.objects = objs;
  a.n_objects = 6;
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_put_audit(s, &a, &id), PA_OK);
  assert_int_equal(pa_store_close(s), PA_OK);
  /* what the writer stored: the split parts and the event's fields left out */
  assert_int_equal(count(path, "SELECT count(*) FROM atna_objects_data WHERE cx_stored IS NULL"
                               " AND cx_id IS NULL AND cx_namespace IS NULL AND"
                               " cx_universal_id IS NULL"), 4);
  assert_int_equal(count(path, "SELECT sum(1 << seq) FROM atna_objects_data"
                               " WHERE cx_stored = 1"), 1 << 1 | 1 << 4);
  assert_int_equal(count(path, "SELECT from_event FROM atna_participants_data WHERE seq = 0 AND"
                               " user_id IS NULL AND user_name IS NULL AND net_id IS NULL AND"
                               " role_names IS NULL AND roles = 'R1'"), 1 | 2 | 4 | 16);
  assert_int_equal(count(path, "SELECT count(*) FROM atna_participants_data WHERE seq = 1 AND"
                               " from_event IS NULL AND user_id = 'PACS'"), 1);
  assert_int_equal(count(path, "SELECT from_event FROM atna_participants_data WHERE seq = 2"
                               " AND user_id IS NULL"), 2);
  /* the views give back every column as given */
  dump_detail(path, direct, sizeof direct);
  assert_non_null(strstr(direct, "|PA-0001^^^HOSP&1.2.3&ISO|1|1|-|-|-|-|-|-|PA-0001|HOSP|1.2.3|"));
  assert_non_null(strstr(direct, "|PA-0001|1|1|-|-|-|-|-|-|PA-0001|-|-|"));
  assert_non_null(strstr(direct, "|^^^&2.16.1|1|0|-|-|-|-|-|-|-|-|2.16.1|"));
  assert_non_null(strstr(direct, "|X9^a^b^NS^more^and|2|0|-|-|-|-|-|-|X9|NS|-|"));
  assert_non_null(strstr(direct, "|Z^^^NS&&ISO|2|0|-|-|-|-|-|-|other|-|-|"));
  assert_non_null(strstr(direct, "|0|dr.sato|-|Sato|1|1|-|10.0.0.5|2|2|-|R1|Radiologist|"));
  assert_non_null(strstr(direct, "|1|PACS|-|-|0|-|-|10.0.0.9|-|-|PACS|110152|-|"));
  assert_non_null(strstr(direct, "|2|-|-|Sato|0|"));
  /* a version-13 file of the same rows, migrated */
  {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, revert_v14, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
  }
  dump_detail(path, before, sizeof before);
  assert_string_equal(before, direct);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), 13);
  assert_int_equal(pa_store_close(s), PA_OK);
  dump_detail(path, after, sizeof after);
  assert_string_equal(after, before);
  assert_int_equal(count(path, "SELECT count(*) FROM atna_objects_data WHERE cx_stored IS NULL"
                               " AND cx_id IS NULL"), 4);
  assert_int_equal(count(path, "SELECT sum(from_event) FROM atna_participants_data"), 23 + 2);
  pa_arena_cleanup(ar);
  unlink(path);
}

static void test_migrate_raw_sha_key(void **state)
{
  (void)state;
  char path[] = "/tmp/pa_v9_XXXXXX";
  int fd = mkstemp(path);
  sqlite3 *db;
  pa_store *s;
  struct pa_err err;
  int64_t id;
  int dup;
  uint64_t n = 0;
  int64_t bad = -1;

  assert_true(fd >= 0);
  close(fd);
  unlink(path);
  /* a version-9 file with two messages, written by this store's own code
   * path: open at 10, then turn the file back into version 9's raw */
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_put_raw(s, "first message", 13, "a.log", 0, 1, &id, &dup), PA_OK);
  assert_int_equal(pa_store_put_raw(s, "second message", 14, "a.log", 14, 2, &id, &dup), PA_OK);
  assert_int_equal(id, 2);
  pa_store_close(s);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, revert_v14, NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=12", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db,
                                "CREATE TABLE raw12 (id INTEGER PRIMARY KEY, received_ts INTEGER"
                                " NOT NULL, origin TEXT, offset INTEGER, size INTEGER NOT NULL,"
                                " compressed INTEGER NOT NULL DEFAULT 0, bytes BLOB NOT NULL,"
                                " sha256 BLOB NOT NULL UNIQUE, prev_hash BLOB, chain_hash BLOB NOT"
                                " NULL, chain_v INTEGER NOT NULL DEFAULT 1, dict_id INTEGER);"
                                "INSERT INTO raw12 SELECT id, received_ts, origin, offset, size,"
                                " compressed, bytes, sha256, prev_hash, chain_hash, chain_v,"
                                " dict_id FROM raw;"
                                "DROP TABLE raw; ALTER TABLE raw12 RENAME TO raw;"
                                "DROP TABLE deferred_indexes;",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  sqlite3_close(db);
  assert_int_equal(count(path, "SELECT count(*) FROM sqlite_schema WHERE name ="
                               " 'sqlite_autoindex_raw_1'"), 1);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(pa_store_version_found(s), 12);
  assert_int_equal(count(path, "SELECT count(*) FROM sqlite_schema WHERE name ="
                               " 'sqlite_autoindex_raw_1'"), 0);
  /* the key is the hash's first 8 bytes, big-endian */
  assert_int_equal(count(path, "SELECT count(*) FROM raw WHERE printf('%016X', sha_key) ="
                               " hex(substr(sha256, 1, 8))"), 2);
  assert_int_equal(pa_store_put_raw(s, "first message", 13, "b.log", 0, 3, &id, &dup), PA_OK);
  assert_int_equal(dup, 1);
  assert_int_equal(id, 1);
  assert_int_equal(pa_store_put_raw(s, "third message", 13, "b.log", 13, 3, &id, &dup), PA_OK);
  assert_int_equal(dup, 0);
  assert_int_equal(id, 3);
  assert_int_equal(pa_store_verify_raw(s, &n, &bad, &err), PA_OK);
  assert_int_equal(n, 3);
  assert_int_equal(bad, 0);
  pa_store_close(s);
  unlink(path);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_contract_columns, setup, teardown),
    cmocka_unit_test_setup_teardown(test_private_mode_and_wal, setup, teardown),
    cmocka_unit_test_setup_teardown(test_assoc_dedup_and_update, setup, teardown),
    cmocka_unit_test_setup_teardown(test_event_nulls, setup, teardown),
    cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
    cmocka_unit_test_setup_teardown(test_state_roundtrip, setup, teardown),
    cmocka_unit_test_setup_teardown(test_runs, setup, teardown),
    cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
    cmocka_unit_test(test_not_a_database),
    cmocka_unit_test_setup_teardown(test_raw_chain, setup, teardown),
    cmocka_unit_test_setup_teardown(test_quarantine_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_audit_details, setup, teardown),
    cmocka_unit_test(test_migrate_from_v1),
    cmocka_unit_test_setup_teardown(test_two_writers_one_chain, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_missing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rdonly_beside_writer, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_nomigrate, setup, teardown),
    cmocka_unit_test_setup_teardown(test_read_snapshot, setup, teardown),
    cmocka_unit_test_setup_teardown(test_event_type_and_op, setup, teardown),
    cmocka_unit_test_setup_teardown(test_dimse_results, setup, teardown),
    cmocka_unit_test_setup_teardown(test_migration6_event_type_agrees, setup, teardown),
    cmocka_unit_test_setup_teardown(test_finding_put, setup, teardown),
    cmocka_unit_test_setup_teardown(test_raw_prune, setup, teardown),
    cmocka_unit_test_setup_teardown(test_open_race, setup, teardown),
    cmocka_unit_test_setup_teardown(test_events_pending, setup, teardown),
    cmocka_unit_test_setup_teardown(test_bulk_deferred_indexes, setup, teardown),
    cmocka_unit_test(test_migrate_raw_sha_key),
    cmocka_unit_test(test_migrate_detail_views),
    cmocka_unit_test_setup_teardown(test_migrate_op_stored, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
