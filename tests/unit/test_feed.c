/* test_feed.c — the feed (ingest/feed) over a store of its own, and the
 * file driver (collectors/file_src) that hands it a file's messages: raw
 * once, repeats, quarantine, one message all or nothing, the sshd try
 * written as two lines, and one sniffer for the file and syslog paths. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/store.h"
#include "collectors/file_src.h"
#include "ingest/feed.h"
#include "pa_test.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

struct fx {
  char dir[64];
  char path[128];
  pa_store *s;
  struct pa_feed feed;
  struct pa_syslog_opts o;
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof *f);
  struct pa_err err;
  int64_t run;

  snprintf(f->dir, sizeof f->dir, "/tmp/pa_feed_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &f->s, &err), PA_OK);
  assert_int_equal(pa_store_run_begin(f->s, "ingest", "test", &run), PA_OK);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(pa_feed_init(&f->feed, f->s, NULL, "Asia/Tokyo", run, &err), PA_OK);
  /* 2024-06-01 as the reference year of RFC 3164 lines */
  pa_syslog_opts_init(&f->o, 1717200000000000LL, "Asia/Tokyo");
  *state = f;
  return 0;
}

static void rm_db(struct fx *f)
{
  char p[200];
  unlink(f->path);
  snprintf(p, sizeof p, "%s-wal", f->path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", f->path);
  unlink(p);
}

static int teardown(void **state)
{
  struct fx *f = *state;
  struct dirent *e;
  DIR *d;
  pa_feed_cleanup(&f->feed);
  pa_store_batch_commit(f->s);
  pa_store_close(f->s);
  rm_db(f);
  if ((d = opendir(f->dir))) { /* the files a test wrote */
    while ((e = readdir(d)))
      if (e->d_name[0] != '.') {
        char p[400];
        snprintf(p, sizeof p, "%s/%s", f->dir, e->d_name);
        unlink(p);
      }
    closedir(d);
  }
  rmdir(f->dir);
  free(f);
  return 0;
}

/* The first column of the first row of sql, as an integer. */
static int64_t q1(struct fx *f, const char *sql)
{
  sqlite3_stmt *st;
  int64_t v = -1;
  assert_int_equal(sqlite3_prepare_v2(pa_store_handle(f->s), sql, -1, &st, NULL), SQLITE_OK);
  if (sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static pa_rc line(struct fx *f, const char *s, const char *origin, int64_t off)
{
  return pa_feed_syslog(&f->feed, (const uint8_t *)s, strlen(s), origin, off, 1717200000000000LL,
                        &f->o);
}

static const char atna_msg[] =
  "<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - <AuditMessage><EventIdentification "
  "EventDateTime=\"2024-01-12T08:30:00Z\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"110112\" "
  "codeSystemName=\"DCM\"/></EventIdentification><ActiveParticipant UserID=\"ivy\" "
  "UserIsRequestor=\"true\"/></AuditMessage>";

/* An audit message is its own event: sent again, it is the same one. */
static void test_atna_once(void **state)
{
  struct fx *f = *state;
  assert_int_equal(line(f, atna_msg, "udp://a", 0), PA_OK);
  assert_int_equal(line(f, atna_msg, "udp://a", 500), PA_OK);
  assert_int_equal(f->feed.n.messages, 2);
  assert_int_equal(f->feed.n.atna, 1);
  assert_int_equal(f->feed.n.duplicates, 1);
  assert_int_equal(f->feed.n.repeats, 0);
  assert_int_equal(q1(f, "select count(*) from events where user_id='ivy' and source='atna'"), 1);
  assert_int_equal(q1(f, "select count(*) from raw"), 1);
  assert_int_equal(q1(f, "select count(*) from raw_repeats"), 0);
}

/* sshd writes one identical line a failed try: each is an event, the
 * bytes kept once, the repeats' places kept. */
static void test_text_repeats(void **state)
{
  struct fx *f = *state;
  const char *l =
    "Nov 20 10:00:00 pacs01 sshd[4242]: Failed password for root from 203.0.113.9 port 50022 ssh2";
  for (int i = 0; i < 3; i++)
    assert_int_equal(line(f, l, "/var/log/auth.log", i * 93), PA_OK);
  assert_int_equal(f->feed.n.decoded, 3);
  assert_int_equal(f->feed.n.repeats, 2);
  assert_int_equal(q1(f, "select count(*) from events where user_id='root' and outcome=4"), 3);
  assert_int_equal(q1(f, "select count(*) from raw"), 1);
  assert_int_equal(q1(f, "select sum(offset) from raw_repeats"), 93 + 186);
  /* the same line at a place already seen is the same line read again */
  assert_int_equal(line(f, l, "/var/log/auth.log", 93), PA_OK);
  assert_int_equal(q1(f, "select count(*) from events"), 3);
  assert_int_equal(f->feed.n.duplicates, 1);
}

/* One failed try of an unknown account, written as two lines, is one
 * failure with the second line's method; a further Failed line is a
 * further try. */
static void test_sshd_try_join(void **state)
{
  struct fx *f = *state;
  assert_int_equal(line(f,
                        "Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9 "
                        "port 33012",
                        "t", 0),
                   PA_OK);
  assert_int_equal(line(f,
                        "Jan 12 08:02:06 pacs01 sshd[2301]: Failed password for invalid user "
                        "admin from 203.0.113.9 port 33012 ssh2",
                        "t", 82),
                   PA_OK);
  assert_int_equal(line(f,
                        "Jan 12 08:02:09 pacs01 sshd[2301]: Failed password for invalid user "
                        "admin from 203.0.113.9 port 33012 ssh2",
                        "t", 189),
                   PA_OK);
  assert_int_equal(f->feed.n.joined, 1);
  assert_int_equal(q1(f, "select count(*) from events where user_id='admin' and outcome=4"), 2);
  assert_int_equal(q1(f, "select count(*) from events where auth_method='password'"), 2);
  assert_int_equal(q1(f, "select count(*) from raw"), 3);
}

/* What cannot be parsed is quarantined with its reason and kept in raw. */
static void test_quarantine(void **state)
{
  struct fx *f = *state;
  static const char bad[] = "<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - <AuditMessage><Event";
  static const char junk[] = "\x01\x02 not a frame";
  assert_int_equal(line(f, bad, "tcp://x", 7), PA_OK);
  assert_int_equal(f->feed.n.quarantined, 1);
  assert_int_equal(q1(f, "select count(*) from quarantine where offset=7 and error like 'atna.%'"),
                   1);
  assert_int_equal(q1(f, "select count(*) from raw"), 1);
  assert_int_equal(pa_feed_bad(&f->feed, (const uint8_t *)junk, sizeof junk - 1, "tcp://x", 99,
                               "syslog.frame: cut"),
                   PA_OK);
  assert_int_equal(f->feed.n.quarantined, 2);
  assert_int_equal(q1(f, "select count(*) from quarantine where error='syslog.frame: cut'"), 1);
  /* the same bytes again are quarantined once */
  assert_int_equal(pa_feed_bad(&f->feed, (const uint8_t *)junk, sizeof junk - 1, "tcp://x", 99,
                               "syslog.frame: cut"),
                   PA_OK);
  assert_int_equal(f->feed.n.quarantined, 2);
}

/* A message's rows are written all or none: the store failing on its
 * event takes its raw row back with the batch, and the message is parsed
 * again by the next run. */
static void test_all_or_nothing(void **state)
{
  struct fx *f = *state;
  const char *ok = "Jan 12 08:00:00 pacs01 foo: nothing";
  const char *l = "Jan 12 08:01:02 pacs01 sshd[2211]: Accepted password for alice from 192.0.2.10 "
                  "port 52144 ssh2";
  struct pa_err err;
  int64_t run;

  assert_int_equal(line(f, ok, "a", 0), PA_OK);
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(sqlite3_exec(pa_store_handle(f->s),
                                "CREATE TRIGGER fail_ev BEFORE INSERT ON events BEGIN "
                                "SELECT RAISE(ABORT, 'simulated'); END",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  assert_int_equal(line(f, l, "b", 0), PA_DB);
  assert_int_not_equal(pa_store_batch_commit(f->s), PA_OK); /* the failed batch rolls back */
  assert_int_equal(q1(f, "select count(*) from raw"), 1);
  assert_int_equal(sqlite3_exec(pa_store_handle(f->s), "DROP TRIGGER fail_ev", NULL, NULL, NULL),
                   SQLITE_OK);
  /* the next run: the message, whole */
  pa_feed_cleanup(&f->feed);
  pa_err_clear(&err);
  assert_int_equal(pa_store_run_begin(f->s, "ingest", "again", &run), PA_OK);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(pa_feed_init(&f->feed, f->s, NULL, NULL, run, &err), PA_OK);
  assert_int_equal(line(f, l, "b", 0), PA_OK);
  assert_int_equal(pa_store_batch_commit(f->s), PA_OK);
  assert_int_equal(pa_store_batch_begin(f->s), PA_OK);
  assert_int_equal(q1(f, "select count(*) from raw"), 2);
  assert_int_equal(q1(f, "select count(*) from events where user_id='alice'"), 1);
}

/* A file of path's content, under the fixture's folder. */
static void put_file(struct fx *f, const char *name, const void *p, size_t len, char *path,
                     size_t cap)
{
  FILE *o;
  snprintf(path, cap, "%s/%s", f->dir, name);
  assert_non_null(o = fopen(path, "wb"));
  assert_int_equal(fwrite(p, 1, len, o), len);
  fclose(o);
}

static pa_rc read_file(struct fx *f, const char *path, enum pa_file_kind want)
{
  struct pa_file_sink sink;
  struct pa_file fs;
  struct pa_err err;
  int64_t resume;
  pa_rc rc;

  pa_err_clear(&err);
  assert_int_equal(pa_file_open(&fs, path, &err), PA_OK);
  assert_int_equal(fs.kind, want);
  pa_feed_file_sink(&f->feed, &sink);
  rc = pa_file_read(&fs, 0, NULL, &sink, &resume);
  pa_file_close(&fs);
  return rc;
}

/* The pre-2004 IHE Yr4 format is kept raw only (formats.md §0), whether it
 * comes as a file or as a syslog message body: never quarantined. */
static void test_ihe_yr4_same_on_both_paths(void **state)
{
  struct fx *f = *state;
  static const char body[] = "<?xml version=\"1.0\"?>\n<IHEYr4><Login/></IHEYr4>\n";
  char path[200], msg[256];

  put_file(f, "yr4.xml", body, sizeof body - 1, path, sizeof path);
  assert_int_equal(read_file(f, path, PA_FILE_IHE_YR4), PA_OK);
  snprintf(msg, sizeof msg, "<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - %s", body);
  assert_int_equal(line(f, msg, "udp://a", 0), PA_OK);
  assert_int_equal(f->feed.n.quarantined, 0);
  assert_int_equal(f->feed.n.unmatched, 2);
  assert_int_equal(q1(f, "select count(*) from raw"), 2);
  assert_int_equal(q1(f, "select count(*) from events"), 0);
  assert_int_equal(q1(f, "select count(*) from quarantine"), 0);
  /* and an AuditMessage file is parsed as its syslog twin is */
  put_file(f, "am.xml", strstr(atna_msg, "<Audit"), strlen(strstr(atna_msg, "<Audit")), path,
           sizeof path);
  assert_int_equal(read_file(f, path, PA_FILE_ATNA), PA_OK);
  assert_int_equal(q1(f, "select count(*) from events where user_id='ivy'"), 1);
  /* XML of another root as a file: the ATNA parser says why (quarantine) */
  static const char other[] = "<?xml version=\"1.0\"?><data/>";
  put_file(f, "other.xml", other, sizeof other - 1, path, sizeof path);
  assert_int_equal(read_file(f, path, PA_FILE_ATNA), PA_OK);
  assert_int_equal(q1(f, "select count(*) from quarantine where error like 'atna.AuditMessage%'"),
                   1);
}

/* Sniffing a file's head: captures by magic, audit bodies by the syslog
 * body sniffer, JSON as one text or NDJSON, syslog by its header lines. */
static void test_sniff(void **state)
{
  (void)state;
  static const struct {
    const char *head;
    size_t len;
    int full;
    enum pa_file_kind k;
  } t[] = {
    {"\xd4\xc3\xb2\xa1\x02\x00", 6, 0, PA_FILE_PCAP},
    {"\x0a\x0d\x0d\x0a\x00", 5, 0, PA_FILE_PCAP},
    {"\xef\xbb\xbf<?xml version=\"1.0\"?><AuditMessage>", 0, 0, PA_FILE_ATNA},
    {"<ns:AuditMessage>", 0, 0, PA_FILE_ATNA},
    {"\n<IHEYr4><Login/></IHEYr4>", 0, 0, PA_FILE_IHE_YR4},
    {"<?xml version=\"1.0\"?><data/>", 0, 0, PA_FILE_ATNA},
    {"{\"resourceType\":\"AuditEvent\"}", 0, 0, PA_FILE_FHIR},
    {"{\"resourceType\":\"AuditEvent\"}\n{\"resourceType\":\"AuditEvent\"}\n", 0, 0,
     PA_FILE_NDJSON},
    {"{\"resourceType\":\"AuditEvent\",", 0, 1, PA_FILE_NDJSON},
    {"{\n  \"resourceType\": \"AuditEvent\"\n}\n", 0, 0, PA_FILE_FHIR},
    {"[1,2]", 0, 0, PA_FILE_FHIR},
    {"123 <13>1 - - - - - x", 0, 0, PA_FILE_SYSLOG},
    {"Jan 12 08:01:02 pacs01 sshd[1]: x\n", 0, 0, PA_FILE_SYSLOG},
    {"-- Journal begins --\nJan 12 08:01:02 pacs01 sshd[1]: x\n", 0, 0, PA_FILE_SYSLOG},
    {"#!/bin/sh\nJan 12 08:01:02 pacs01 sshd[1]: x\n", 0, 0, PA_FILE_UNKNOWN},
    {"just some notes\n", 0, 0, PA_FILE_UNKNOWN},
    {"", 0, 0, PA_FILE_UNKNOWN},
  };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    size_t n = t[i].len ? t[i].len : strlen(t[i].head);
    enum pa_file_kind k = pa_file_sniff((const uint8_t *)t[i].head, n, t[i].full);
    if (k != t[i].k)
      fail_msg("case %zu: %s, want %s", i, pa_file_kind_name(k), pa_file_kind_name(t[i].k));
  }
}

/* What a recording sink saw. */
struct rec {
  int syslog, body, bad;
  int64_t offsets[16];
  int n;
};

static void note(struct rec *r, int64_t off)
{
  if (r->n < 16)
    r->offsets[r->n++] = off;
}
static pa_rc rec_syslog(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
                        const struct pa_syslog_opts *o)
{
  (void)p, (void)len, (void)origin, (void)o;
  ((struct rec *)ctx)->syslog++;
  note(ctx, offset);
  return PA_OK;
}
static pa_rc rec_body(void *ctx, enum pa_syslog_body k, const uint8_t *p, size_t len,
                      const char *origin, int64_t offset)
{
  (void)k, (void)p, (void)len, (void)origin;
  ((struct rec *)ctx)->body++;
  note(ctx, offset);
  return PA_OK;
}
static pa_rc rec_bad(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
                     const char *why)
{
  (void)p, (void)len, (void)origin, (void)why;
  ((struct rec *)ctx)->bad++;
  note(ctx, offset);
  return PA_OK;
}

/* The driver over files: NDJSON lines at their offsets, a gzip log read
 * through zlib, a grown log read from where it stopped, identity. */
static void test_file_driver(void **state)
{
  struct fx *f = *state;
  struct pa_file_sink sink = {.syslog = rec_syslog, .body = rec_body, .bad = rec_bad};
  static const char nd[] = "{\"resourceType\":\"AuditEvent\"}\n\n{\"resourceType\":\"AuditEvent\"}"
                           "\r\n{\"a\":1}";
  static const char log[] = "Jan 12 08:01:02 pacs01 a: one\nJan 12 08:01:03 pacs01 a: two\n";
  struct pa_file fs, fs2;
  struct pa_err err;
  struct rec r = {0};
  char path[200];
  int64_t resume;
  gzFile gz;

  sink.ctx = &r;
  put_file(f, "e.ndjson", nd, sizeof nd - 1, path, sizeof path);
  assert_int_equal(pa_file_open(&fs, path, &err), PA_OK);
  assert_int_equal(fs.kind, PA_FILE_NDJSON);
  assert_int_equal(pa_file_read(&fs, 0, NULL, &sink, &resume), PA_OK);
  pa_file_close(&fs);
  assert_int_equal(r.body, 3);
  assert_int_equal(r.offsets[0], 0);
  assert_int_equal(r.offsets[1], 31);
  assert_int_equal(r.offsets[2], 62);

  memset(&r, 0, sizeof r);
  snprintf(path, sizeof path, "%s/auth.log.1.gz", f->dir);
  assert_non_null(gz = gzopen(path, "wb"));
  assert_int_equal(gzwrite(gz, log, sizeof log - 1), (int)(sizeof log - 1));
  gzclose(gz);
  assert_int_equal(pa_file_open(&fs, path, &err), PA_OK);
  assert_int_equal(fs.kind, PA_FILE_SYSLOG);
  assert_true(fs.is_gz);
  assert_int_equal(pa_file_read(&fs, 0, NULL, &sink, &resume), PA_OK);
  pa_file_close(&fs);
  assert_int_equal(r.syslog, 2);
  assert_int_equal(r.offsets[1], 30);

  /* a log that grew: the same file, read on from where the last frame began */
  memset(&r, 0, sizeof r);
  put_file(f, "grow.log", log, 30, path, sizeof path);
  assert_int_equal(pa_file_open(&fs, path, &err), PA_OK);
  assert_int_equal(pa_file_read(&fs, 0, NULL, &sink, &resume), PA_OK);
  pa_file_close(&fs);
  assert_int_equal(resume, 0);
  FILE *o = fopen(path, "ab");
  fwrite(log + 30, 1, sizeof log - 1 - 30, o);
  fclose(o);
  assert_int_equal(pa_file_open(&fs2, path, &err), PA_OK);
  assert_true(pa_file_same(&fs.id, &fs2.id, fs2.head, fs2.head_len));
  memset(&r, 0, sizeof r);
  assert_int_equal(pa_file_read(&fs2, resume, NULL, &sink, &resume), PA_OK);
  pa_file_close(&fs2);
  assert_int_equal(r.syslog, 2);
  assert_int_equal(resume, 30);
  /* another file under the name is not the same */
  put_file(f, "grow.log", "Jan 12 09:00:00 pacs01 b: x\n", 28, path, sizeof path);
  assert_int_equal(pa_file_open(&fs2, path, &err), PA_OK);
  assert_false(pa_file_same(&fs.id, &fs2.id, fs2.head, fs2.head_len));
  pa_file_close(&fs2);
  /* no such file */
  assert_int_equal(pa_file_open(&fs2, "/nonexistent/x", &err), PA_IO);
  assert_non_null(strstr(err.msg, "cannot read"));
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_atna_once, setup, teardown),
    cmocka_unit_test_setup_teardown(test_text_repeats, setup, teardown),
    cmocka_unit_test_setup_teardown(test_sshd_try_join, setup, teardown),
    cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
    cmocka_unit_test_setup_teardown(test_all_or_nothing, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ihe_yr4_same_on_both_paths, setup, teardown),
    cmocka_unit_test(test_sniff),
    cmocka_unit_test_setup_teardown(test_file_driver, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
