/* store_seal.h — what seal and verify read from the store and write to
 * it (analyzer/store_seal.c; docs/evidence.md). Part of the store module. */
#ifndef PA_STORE_SEAL_H
#define PA_STORE_SEAL_H

#include "hash.h"
#include "store.h"

#include <stdint.h>

/* The chain's head: the last raw row's id (0 when raw is empty), its
 * chain_hash (zeros when empty) and the number of rows. Call it inside
 * pa_store_read_begin/_end to see the same snapshot as a verify. */
pa_rc pa_store_raw_head(pa_store *s, int64_t *last_id_out, int64_t *rows_out,
                        uint8_t head_out[PA_SHA256_LEN]);

/* Raw row id: *found_out 1 and its chain_hash in chain_out, or 0 when there
 * is no such row; *rows_out the number of rows with an id up to it, and
 * *after_out the number past it. */
pa_rc pa_store_raw_at(pa_store *s, int64_t id, int *found_out, uint8_t chain_out[PA_SHA256_LEN],
                      int64_t *rows_out, int64_t *after_out);

/* Adds a copy of a seal to the seals table (schema 10): at, last_id, rows,
 * head (NULL when raw was empty), key_id, the line as written, and the seal
 * file it went to (may be NULL). One transaction. */
pa_rc pa_store_put_seal(pa_store *s, int64_t at, int64_t last_id, int64_t rows,
                        const uint8_t head[PA_SHA256_LEN], const char *key_id,
                        const char *line, const char *out);

#endif
