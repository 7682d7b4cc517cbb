/* test_seal.c — tamper evidence: chain v2 covers origin, offset and
 * received_ts; a schema-9 database's v1 rows stay verifiable after the
 * migration; the seal line (sign, parse, check) with real Ed25519 keys;
 * the store's side of seals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/seal.h"
#include "analyzer/store.h"
#include "analyzer/store_schema.h"
#include "analyzer/store_seal.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fx {
  char dir[64];
  char path[128], key[128], pub[128], other[128];
  pa_store *s;
};

/* An Ed25519 key pair, as `openssl genpkey -algorithm ed25519` and
 * `openssl pkey -pubout` write them. */
static void write_keys(const char *priv_path, const char *pub_path)
{
  EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
  EVP_PKEY *k = NULL;
  FILE *f;

  assert_non_null(c);
  assert_int_equal(EVP_PKEY_keygen_init(c), 1);
  assert_int_equal(EVP_PKEY_keygen(c, &k), 1);
  assert_non_null(f = fopen(priv_path, "w"));
  assert_int_equal(PEM_write_PrivateKey(f, k, NULL, NULL, 0, NULL, NULL), 1);
  fclose(f);
  assert_non_null(f = fopen(pub_path, "w"));
  assert_int_equal(PEM_write_PUBKEY(f, k), 1);
  fclose(f);
  EVP_PKEY_free(k);
  EVP_PKEY_CTX_free(c);
}

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof *f);
  struct pa_err err;
  char other_pub[160];
  snprintf(f->dir, sizeof f->dir, "/tmp/pa_seal_XXXXXX");
  assert_non_null(mkdtemp(f->dir));
  snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
  snprintf(f->key, sizeof f->key, "%s/k.pem", f->dir);
  snprintf(f->pub, sizeof f->pub, "%s/k.pub", f->dir);
  snprintf(f->other, sizeof f->other, "%s/o.pub", f->dir);
  snprintf(other_pub, sizeof other_pub, "%s/o.pem", f->dir);
  write_keys(f->key, f->pub);
  write_keys(other_pub, f->other);
  pa_err_clear(&err);
  assert_int_equal(pa_store_open(f->path, &f->s, &err), PA_OK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;
  char cmd[200];
  pa_store_close(f->s);
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
  assert_int_equal(system(cmd), 0);
  free(f);
  return 0;
}

static void put(pa_store *s, const char *msg, const char *origin, int64_t offset, int64_t ts)
{
  int64_t id;
  int dup;
  assert_int_equal(pa_store_put_raw(s, msg, strlen(msg), origin, offset, ts, &id, &dup), PA_OK);
  assert_int_equal(dup, 0);
}

static void exec(pa_store *s, const char *sql)
{
  assert_int_equal(sqlite3_exec(pa_store_handle(s), sql, NULL, NULL, NULL), SQLITE_OK);
}

static void put_four(pa_store *s)
{
  put(s, "<13>Dec  1 09:00:00 gw01 sshd[1]: one", "/var/log/auth.log", 0, 1000);
  put(s, "<13>Dec  1 09:00:01 gw01 sshd[1]: two", "udp:10.0.0.1", -1, 2000);
  put(s, "<13>Dec  1 09:00:02 gw01 sshd[1]: three", "/var/log/\xff" "bad.log", 77, 3000);
  put(s, "<13>Dec  1 09:00:03 gw01 sshd[1]: four", NULL, 99, 4000);
}

static int64_t verify_bad(pa_store *s, char *why, size_t cap)
{
  struct pa_err err;
  uint64_t n;
  int64_t bad = -1;
  pa_err_clear(&err);
  pa_rc rc = pa_store_verify_raw(s, &n, &bad, &err);
  snprintf(why, cap, "%s", err.msg);
  if (rc == PA_OK)
    assert_int_equal(bad, 0);
  else
    assert_int_equal(rc, PA_MALFORMED);
  return bad;
}

/* Each metadata column of a v2 row is covered: a change names the row. */
static void test_chain_v2_covers_metadata(void **state)
{
  struct fx *f = *state;
  static const char *const edits[] = {
    "UPDATE raw SET origin = 'elsewhere' WHERE id = 3",
    "UPDATE raw SET origin = NULL WHERE id = 3",
    "UPDATE raw SET origin = '' WHERE id = 4", /* NULL and '' are told apart */
    "UPDATE raw SET offset = 78 WHERE id = 3",
    "UPDATE raw SET offset = 0 WHERE id = 2",  /* NULL and 0 are told apart */
    "UPDATE raw SET offset = NULL WHERE id = 1",
    "UPDATE raw SET received_ts = 2999 WHERE id = 3",
    "UPDATE raw SET chain_v = 1 WHERE id = 3",
    "UPDATE raw SET chain_v = 3 WHERE id = 2",
  };
  static const int64_t rows[] = {3, 3, 4, 3, 2, 1, 3, 3, 2};
  char why[256];

  put_four(f->s);
  assert_int_equal(verify_bad(f->s, why, sizeof why), 0);
  for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
    exec(f->s, "SAVEPOINT e");
    exec(f->s, edits[i]);
    assert_int_equal(verify_bad(f->s, why, sizeof why), rows[i]);
    assert_non_null(strstr(why, "raw row"));
    assert_true(strstr(why, "origin, offset or received_ts") || strstr(why, "chain_v"));
    exec(f->s, "ROLLBACK TO e");
    exec(f->s, "RELEASE e");
  }
  /* the origin that was not UTF-8 is chained as stored (U+FFFD) */
  assert_int_equal(verify_bad(f->s, why, sizeof why), 0);
}

/* A schema-9 database with v1 rows: migrated, its rows stay v1 and verify,
 * new rows are v2 after them. */
static void test_v1_rows_after_migration(void **state)
{
  struct fx *f = *state;
  char path[160], why[256];
  uint8_t sha[PA_SHA256_LEN], both[2 * PA_SHA256_LEN], chain[PA_SHA256_LEN];
  sqlite3 *db;
  sqlite3_stmt *q;
  struct pa_err err;
  pa_store *s;

  snprintf(path, sizeof path, "%s/v9.db", f->dir);
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  for (int v = 0; v < 9; v++)
    assert_int_equal(sqlite3_exec(db, pa__store_migrations[v], NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=9", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO raw (received_ts, origin, offset, size,"
                                          " bytes, sha256, prev_hash, chain_hash)"
                                          " VALUES (1, 'old.log', ?1, ?2, ?3, ?4, ?5, ?6)",
                                      -1, &q, NULL), SQLITE_OK);
  for (int i = 0; i < 3; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof msg, "old message %d", i);
    pa_sha256(msg, (size_t)n, sha);
    if (i) /* v1: SHA-256(prev || sha), the first row sha alone */
      memcpy(both, chain, PA_SHA256_LEN);
    memcpy(both + (i ? PA_SHA256_LEN : 0), sha, PA_SHA256_LEN);
    sqlite3_bind_int(q, 1, i);
    sqlite3_bind_int(q, 2, n);
    sqlite3_bind_blob(q, 3, msg, n, SQLITE_TRANSIENT);
    sqlite3_bind_blob(q, 4, sha, PA_SHA256_LEN, SQLITE_TRANSIENT);
    if (i)
      sqlite3_bind_blob(q, 5, chain, PA_SHA256_LEN, SQLITE_TRANSIENT);
    else
      sqlite3_bind_null(q, 5);
    pa_sha256(both, i ? 2 * PA_SHA256_LEN : PA_SHA256_LEN, chain);
    sqlite3_bind_blob(q, 6, chain, PA_SHA256_LEN, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(q), SQLITE_DONE);
    sqlite3_reset(q);
    sqlite3_clear_bindings(q);
  }
  sqlite3_finalize(q);
  sqlite3_close(db);
  assert_int_equal(chmod(path, 0600), 0);

  pa_err_clear(&err);
  assert_int_equal(pa_store_open(path, &s, &err), PA_OK);
  assert_int_equal(verify_bad(s, why, sizeof why), 0);
  put(s, "new message", "new.log", 0, 5);
  assert_int_equal(verify_bad(s, why, sizeof why), 0);
  assert_int_equal(sqlite3_prepare_v2(pa_store_handle(s),
                                      "SELECT group_concat(chain_v, '') FROM raw ORDER BY id",
                                      -1, &q, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(q), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(q, 0), "1112");
  sqlite3_finalize(q);
  /* a v1 row's origin is not covered (it was written before): said in
   * docs/evidence.md; its bytes still are */
  exec(s, "UPDATE raw SET bytes = CAST('old message X' AS BLOB) WHERE id = 2");
  assert_int_equal(verify_bad(s, why, sizeof why), 2);
  assert_non_null(strstr(why, "do not match their sha256"));
  pa_store_close(s);
}

/* Sign, parse, check; an altered line fails; another key is another id. */
static void test_seal_line(void **state)
{
  struct fx *f = *state;
  struct pa_seal seal = {.at = 1764550800123456, .rows = 4, .last_id = 4}, back;
  pa_seal_key *k, *pub, *other, *none;
  struct pa_err err;
  char line[PA_SEAL_LINE_MAX];

  pa_err_clear(&err);
  assert_int_equal(pa_seal_key_load_private(f->key, &k, &err), PA_OK);
  assert_int_equal(pa_seal_key_load_public(f->pub, &pub, &err), PA_OK);
  assert_int_equal(pa_seal_key_load_public(f->other, &other, &err), PA_OK);
  assert_string_equal(pa_seal_key_id(k), pa_seal_key_id(pub));
  assert_string_not_equal(pa_seal_key_id(k), pa_seal_key_id(other));
  assert_int_equal(pa_seal_key_load_public(f->key, &none, &err), PA_MALFORMED);
  assert_null(none);
  assert_non_null(strstr(err.msg, "not an Ed25519 public key"));
  memset(seal.head, 0xab, sizeof seal.head);
  assert_int_equal(pa_seal_sign(k, &seal, line, sizeof line), PA_OK);
  assert_int_equal(strncmp(line, "pacsaudit-seal 1 at=2025-12-01T01:00:00.123456Z rows=4 last_id=4"
                                 " head=abab", 70), 0);
  assert_int_equal(pa_seal_parse(line, strlen(line), &back, &err), PA_OK);
  assert_int_equal(back.at, seal.at);
  assert_int_equal(back.rows, 4);
  assert_int_equal(back.last_id, 4);
  assert_memory_equal(back.head, seal.head, sizeof seal.head);
  assert_string_equal(back.key_id, pa_seal_key_id(pub));
  assert_int_equal(pa_seal_check(pub, &back, line), PA_OK);
  assert_int_equal(pa_seal_sign(k, &seal, line, 100), PA_LIMIT);

  /* every byte of the signed part counts */
  assert_int_equal(pa_seal_sign(k, &seal, line, sizeof line), PA_OK);
  for (size_t i = 0; i < back.signed_len; i++) {
    char alt[PA_SEAL_LINE_MAX];
    struct pa_seal a;
    memcpy(alt, line, sizeof alt);
    alt[i] = alt[i] == '1' ? '2' : '1';
    if (pa_seal_parse(alt, strlen(alt), &a, &err) == PA_OK)
      assert_int_equal(pa_seal_check(pub, &a, alt), PA_MALFORMED);
  }
  /* one spelling only */
  {
    char alt[PA_SEAL_LINE_MAX];
    struct pa_seal a;
    const char *p = strstr(line, " rows=4");
    size_t at = (size_t)(p - line);
    snprintf(alt, sizeof alt, "%.*s rows=04%s", (int)at, line, p + 7);
    assert_int_equal(pa_seal_parse(alt, strlen(alt), &a, &err), PA_MALFORMED);
    assert_int_equal(pa_seal_parse(line, strlen(line) - 1, &a, &err), PA_MALFORMED);
    assert_non_null(strstr(err.msg, "sig="));
    assert_int_equal(pa_seal_parse("hello", 5, &a, &err), PA_MALFORMED);
  }
  pa_seal_key_free(k);
  pa_seal_key_free(pub);
  pa_seal_key_free(other);
}

/* The store's side: the head, a sealed row after the chain grows or
 * shrinks, and the copy in seals. */
static void test_store_seal(void **state)
{
  struct fx *f = *state;
  uint8_t head[PA_SHA256_LEN], at[PA_SHA256_LEN];
  int64_t last, rows, before, after;
  int found;

  assert_int_equal(pa_store_raw_head(f->s, &last, &rows, head), PA_OK);
  assert_int_equal(last, 0);
  assert_int_equal(rows, 0);
  put_four(f->s);
  assert_int_equal(pa_store_raw_head(f->s, &last, &rows, head), PA_OK);
  assert_int_equal(last, 4);
  assert_int_equal(rows, 4);
  assert_int_equal(pa_store_put_seal(f->s, 1, last, rows, head, "0123456789abcdef", "line",
                                     "seals"), PA_OK);
  put(f->s, "five", "x", 1, 5);
  assert_int_equal(pa_store_raw_at(f->s, 4, &found, at, &before, &after), PA_OK);
  assert_true(found);
  assert_memory_equal(at, head, sizeof at);
  assert_int_equal(before, 4);
  assert_int_equal(after, 1);
  exec(f->s, "DELETE FROM raw WHERE id >= 4");
  assert_int_equal(pa_store_raw_at(f->s, 4, &found, at, &before, &after), PA_OK);
  assert_false(found);
  assert_int_equal(before, 3);
  assert_int_equal(after, 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_chain_v2_covers_metadata, setup, teardown),
    cmocka_unit_test_setup_teardown(test_v1_rows_after_migration, setup, teardown),
    cmocka_unit_test_setup_teardown(test_seal_line, setup, teardown),
    cmocka_unit_test_setup_teardown(test_store_seal, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
