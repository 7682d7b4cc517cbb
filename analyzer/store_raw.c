/* store_raw.c — the raw store (see store.h): every received message kept
 * verbatim once, zlib-compressed, on a SHA-256 hash chain; repeats of a
 * message, quarantined input, and the chain's verification. */
#include "store_int.h"
#include "tm.h"

#include <stdlib.h>
#include <string.h>

void pa__store_raw_free(pa_store *s)
{
  free(s->zbuf);
  s->zbuf = NULL;
  if (s->z_ready)
    deflateEnd(&s->z);
  s->z_ready = 0;
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
    pa__store_txn_fail(s);
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
    if ((rc = pa_store_batch_begin(s)) || (rc = pa__store_write_begin(s)))
      return rc;
    rc = pa_store_put_raw(s, p, len, origin, offset, received_ts, id_out, dup_out);
    if (rc)
      pa__store_txn_fail(s); /* the commit below rolls back */
    if (pa_store_batch_commit(s) && !rc)
      rc = PA_DB;
    return rc;
  }
  if ((rc = pa__store_write_begin(s)))
    return rc;
  if (!(q = pa__store_stmt(s, PA__ST_RAW_FIND)))
    return PA_DB;
  sqlite3_bind_blob(q, 1, sha, sizeof sha, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, pa__store_sha_key(sha));
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *id_out = sqlite3_column_int64(q, 0);
    *dup_out = 1;
  }
  sqlite3_reset(q);
  if (r != SQLITE_ROW && r != SQLITE_DONE) {
    pa__store_txn_fail(s);
    return PA_DB;
  }
  if (*dup_out)
    return PA_OK;
  if ((rc = load_chain_tip(s)))
    return rc;
  chain_next(s->chain_empty ? NULL : s->chain_tip, sha, chain);
  zlen = compress_raw(s, p, len);
  if (!(q = pa__store_stmt(s, PA__ST_RAW_INS)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, received_ts);
  pa__store_bind_text(q, 2, origin);
  pa__store_bind_opt(q, 3, offset);
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
  sqlite3_bind_int64(q, 10, pa__store_sha_key(sha));
  if ((rc = pa__store_step_done(s, q))) {
    /* the tip may be stale if another writer appended: reload next time */
    s->have_chain = 0;
    return rc;
  }
  memcpy(s->chain_tip, chain, sizeof chain);
  s->chain_empty = 0;
  *id_out = sqlite3_last_insert_rowid(s->db);
  PA__STORE_COUNT(s, raw);
  return PA_OK;
}

pa_rc pa_store_put_repeat(pa_store *s, int64_t raw_id, const char *origin, int64_t offset,
                          int64_t received_ts, int *new_out)
{
  sqlite3_stmt *q;
  int r, same = 0;

  *new_out = 0;
  if (!origin || pa__store_write_begin(s) || !(q = pa__store_stmt(s, PA__ST_RAW_WHERE)))
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
    pa__store_txn_fail(s);
    return PA_DB;
  }
  if (!same) /* another stream: a copy, a rotated file, a relay's resend */
    return PA_OK;
  if (!(q = pa__store_stmt(s, PA__ST_REPEAT)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, raw_id);
  sqlite3_bind_int64(q, 2, received_ts);
  sqlite3_bind_text(q, 3, origin, -1, SQLITE_STATIC);
  pa__store_bind_opt(q, 4, offset);
  if (pa__store_step_done(s, q))
    return PA_DB;
  *new_out = sqlite3_changes(s->db) > 0;
  return PA_OK;
}

pa_rc pa_store_quarantine(pa_store *s, const void *p, size_t len, const char *origin,
                          int64_t offset, const char *error, int64_t run_id)
{
  uint8_t sha[PA_SHA256_LEN];
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_QUAR);
  pa_rc rc;

  if (!q)
    return PA_DB;
  pa_sha256(p, len, sha);
  sqlite3_bind_int64(q, 1, pa_time_now());
  pa__store_bind_text(q, 2, origin);
  pa__store_bind_opt(q, 3, offset);
  pa__store_bind_text(q, 4, error && *error ? error : "unparsed");
  sqlite3_bind_int64(q, 5, (int64_t)len);
  sqlite3_bind_blob(q, 6, len ? p : "", (int)len, SQLITE_TRANSIENT);
  sqlite3_bind_blob(q, 7, sha, sizeof sha, SQLITE_TRANSIENT);
  pa__store_bind_opt(q, 8, run_id > 0 ? run_id : -1);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  if (sqlite3_changes(s->db))
    PA__STORE_COUNT(s, quarantined);
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
  int64_t pruned_to, pruned_at;
  pa_rc rc = PA_OK;

  *n_out = 0;
  *bad_id_out = 0;
  if ((rc = pa_store_raw_retention(s, &pruned_to, &pruned_at)))
    return rc;
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
    int pruned = nbytes == 0 && size > 0 && !sqlite3_column_int(q, 2);

    if (pruned) {
      /* retention dropped the bytes: the stored sha256 stands for them */
      if (id > pruned_to)
        why = "message bytes missing (not dropped by retention)";
      else if (sqlite3_column_bytes(q, 4) != PA_SHA256_LEN)
        why = "sha256 missing";
      else
        memcpy(sha, sqlite3_column_blob(q, 4), PA_SHA256_LEN);
    } else if (sqlite3_column_int(q, 2)) {
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
    if (!why && !pruned) {
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


pa_rc pa_store_raw_retention(pa_store *s, int64_t *up_to_out, int64_t *at_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  *up_to_out = *at_out = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT up_to_id, at FROM raw_retention"
                                " ORDER BY up_to_id DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  if ((r = sqlite3_step(q)) == SQLITE_ROW) {
    *up_to_out = sqlite3_column_int64(q, 0);
    *at_out = sqlite3_column_int64(q, 1);
  }
  sqlite3_finalize(q);
  return r == SQLITE_ROW || r == SQLITE_DONE ? PA_OK : PA_DB;
}

/* The last id of the prefix of raw received before before_us. */
static pa_rc prune_bound(pa_store *s, int64_t before_us, int64_t *up_to_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  if (sqlite3_prepare_v2(s->db,
                         "SELECT coalesce((SELECT min(id) FROM raw WHERE received_ts >= ?1) - 1,"
                         " (SELECT max(id) FROM raw), 0)", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, before_us);
  if ((r = sqlite3_step(q)) == SQLITE_ROW)
    *up_to_out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return r == SQLITE_ROW ? PA_OK : PA_DB;
}

pa_rc pa_store_raw_prune(pa_store *s, int64_t before_us, int64_t run_id, uint64_t *n_out,
                         int64_t *up_to_out)
{
  sqlite3_stmt *q = NULL;
  int64_t up_to = 0, done_to, done_at;
  pa_rc rc;

  *n_out = 0;
  *up_to_out = 0;
  if ((rc = pa_store_batch_begin(s)) || (rc = pa__store_write_begin(s)))
    return rc;
  if ((rc = pa_store_raw_retention(s, &done_to, &done_at)) ||
      (rc = prune_bound(s, before_us, &up_to)))
    goto fail;
  *up_to_out = up_to > done_to ? up_to : done_to;
  if (up_to <= done_to)
    return pa_store_batch_commit(s);
  rc = PA_DB;
  if (sqlite3_prepare_v2(s->db,
                         "UPDATE raw SET bytes = x'', compressed = 0"
                         " WHERE id > ?1 AND id <= ?2 AND length(bytes) > 0", -1, &q,
                         NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(q, 1, done_to);
  sqlite3_bind_int64(q, 2, up_to);
  if (sqlite3_step(q) != SQLITE_DONE)
    goto fail;
  *n_out = (uint64_t)sqlite3_changes(s->db);
  sqlite3_finalize(q);
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO raw_retention (at, before_ts, up_to_id, rows, run_id)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)", -1, &q, NULL) != SQLITE_OK)
    goto fail;
  sqlite3_bind_int64(q, 1, pa_time_now());
  sqlite3_bind_int64(q, 2, before_us);
  sqlite3_bind_int64(q, 3, up_to);
  sqlite3_bind_int64(q, 4, (sqlite3_int64)*n_out);
  if (run_id > 0)
    sqlite3_bind_int64(q, 5, run_id);
  if (sqlite3_step(q) != SQLITE_DONE)
    goto fail;
  sqlite3_finalize(q);
  return pa_store_batch_commit(s);
fail:
  sqlite3_finalize(q);
  pa__store_txn_fail(s);
  pa_store_batch_commit(s);
  *n_out = 0;
  return rc ? rc : PA_DB;
}
