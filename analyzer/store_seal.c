/* store_seal.c — the store's side of seals (see store_seal.h): the chain's
 * head, a sealed row, and the seals table's copies. */
#include "store_int.h"
#include "store_seal.h"

#include <string.h>

pa_rc pa_store_raw_head(pa_store *s, int64_t *last_id_out, int64_t *rows_out,
                        uint8_t head_out[PA_SHA256_LEN])
{
  sqlite3_stmt *q = NULL;
  pa_rc rc = PA_DB;
  int r;

  *last_id_out = *rows_out = 0;
  memset(head_out, 0, PA_SHA256_LEN);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT id, chain_hash, (SELECT count(*) FROM raw) FROM raw"
                         " ORDER BY id DESC LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  r = sqlite3_step(q);
  if (r == SQLITE_ROW) {
    *last_id_out = sqlite3_column_int64(q, 0);
    *rows_out = sqlite3_column_int64(q, 2);
    if (sqlite3_column_bytes(q, 1) == PA_SHA256_LEN) {
      memcpy(head_out, sqlite3_column_blob(q, 1), PA_SHA256_LEN);
      rc = PA_OK;
    } else {
      rc = PA_MALFORMED; /* verify names the row */
    }
  } else if (r == SQLITE_DONE) {
    rc = PA_OK;
  }
  sqlite3_finalize(q);
  return rc;
}

pa_rc pa_store_raw_at(pa_store *s, int64_t id, int *found_out, uint8_t chain_out[PA_SHA256_LEN],
                      int64_t *rows_out, int64_t *after_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  *found_out = 0;
  *rows_out = *after_out = 0;
  memset(chain_out, 0, PA_SHA256_LEN);
  if (sqlite3_prepare_v2(s->db,
                         "SELECT (SELECT chain_hash FROM raw WHERE id = ?1),"
                         " (SELECT count(*) FROM raw WHERE id = ?1),"
                         " (SELECT count(*) FROM raw WHERE id <= ?1),"
                         " (SELECT count(*) FROM raw WHERE id > ?1)", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, id);
  if ((r = sqlite3_step(q)) == SQLITE_ROW) {
    *found_out = sqlite3_column_int(q, 1) > 0;
    if (sqlite3_column_bytes(q, 0) == PA_SHA256_LEN)
      memcpy(chain_out, sqlite3_column_blob(q, 0), PA_SHA256_LEN);
    *rows_out = sqlite3_column_int64(q, 2);
    *after_out = sqlite3_column_int64(q, 3);
  }
  sqlite3_finalize(q);
  return r == SQLITE_ROW ? PA_OK : PA_DB;
}

pa_rc pa_store_put_seal(pa_store *s, int64_t at, int64_t last_id, int64_t rows,
                        const uint8_t head[PA_SHA256_LEN], const char *key_id,
                        const char *line, const char *out)
{
  sqlite3_stmt *q = NULL;
  pa_rc rc = PA_DB;

  if (pa__store_exec(s, "BEGIN IMMEDIATE"))
    return PA_DB;
  if (sqlite3_prepare_v2(s->db,
                         "INSERT INTO seals (at, last_id, rows, head, key_id, line, out)"
                         " VALUES (?,?,?,?,?,?,?)", -1, &q, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_int64(q, 1, at);
  sqlite3_bind_int64(q, 2, last_id);
  sqlite3_bind_int64(q, 3, rows);
  if (last_id)
    sqlite3_bind_blob(q, 4, head, PA_SHA256_LEN, SQLITE_STATIC);
  sqlite3_bind_text(q, 5, key_id, -1, SQLITE_STATIC);
  sqlite3_bind_text(q, 6, line, -1, SQLITE_STATIC);
  if (pa__store_bind_text(q, 7, out))
    goto out;
  if (sqlite3_step(q) == SQLITE_DONE)
    rc = PA_OK;
out:
  sqlite3_finalize(q);
  if (rc == PA_OK && pa__store_exec(s, "COMMIT") == PA_OK)
    return PA_OK;
  pa__store_exec(s, "ROLLBACK");
  return PA_DB;
}
