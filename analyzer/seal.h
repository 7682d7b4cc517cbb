/* seal.h — signed checkpoints of the raw hash chain (docs/evidence.md).
 *
 * A seal says: at time `at`, raw held `rows` rows up to id `last_id`, whose
 * chain_hash was `head`. It is signed with an Ed25519 key that does not
 * live in the database, and written as one line of text:
 *
 *   pacsaudit-seal 1 at=2026-05-02T03:00:00.000000Z rows=1234 last_id=1234
 *     head=<64 hex> key=<16 hex> sig=<128 hex>
 *
 * (one line, single spaces). The signature covers the line's bytes before
 * " sig=". key is the key id: the first 8 bytes of the SHA-256 of the raw
 * 32-byte public key, in hex. An empty store seals as rows=0 last_id=0 and a
 * head of 64 zeros. */
#ifndef PA_SEAL_H
#define PA_SEAL_H

#include "err.h"
#include "hash.h"

#include <stddef.h>
#include <stdint.h>

#define PA_SEAL_SIG_LEN 64
#define PA_SEAL_KEYID_LEN 17 /* 16 hex digits + NUL */
#define PA_SEAL_LINE_MAX 400 /* a line is about 330 bytes */

struct pa_seal {
  int64_t at;                     /* µs UTC */
  int64_t rows;                   /* raw rows with id <= last_id */
  int64_t last_id;                /* 0: the store was empty */
  uint8_t head[PA_SHA256_LEN];    /* chain_hash of row last_id */
  char key_id[PA_SEAL_KEYID_LEN]; /* of the signing key */
  uint8_t sig[PA_SEAL_SIG_LEN];
  size_t signed_len;              /* bytes of the line the signature covers */
};

/* An Ed25519 key, private (to seal) or public (to verify). */
typedef struct pa_seal_key pa_seal_key;

/* Reads a PEM private key (`openssl genpkey -algorithm ed25519`) from
 * path into *out (pa_seal_key_free). PA_MALFORMED with err naming the file
 * when it cannot be read or is not an Ed25519 private key. */
pa_rc pa_seal_key_load_private(const char *path, pa_seal_key **out, struct pa_err *err);
/* The same for a PEM public key (`openssl pkey -pubout`). */
pa_rc pa_seal_key_load_public(const char *path, pa_seal_key **out, struct pa_err *err);
void pa_seal_key_free(pa_seal_key *k);
/* The key id; borrowed for the life of k. */
const char *pa_seal_key_id(const pa_seal_key *k);

/* Signs seal (at, rows, last_id, head; key_id and sig are set from k)
 * and writes its line, NUL-terminated and without a newline, into
 * line[cap]. PA_LIMIT when cap is too small, PA_IO when signing fails. */
pa_rc pa_seal_sign(const pa_seal_key *k, struct pa_seal *seal, char *line, size_t cap);

/* Parses one line (len bytes, no newline) into *out. The line must be in
 * the exact form pa_seal_sign writes; PA_MALFORMED with the reason in err
 * (offset: where in the line) otherwise. Checks nothing cryptographic. */
pa_rc pa_seal_parse(const char *line, size_t len, struct pa_seal *out, struct pa_err *err);

/* PA_OK when the signature of seal, parsed from line, verifies with k;
 * PA_MALFORMED when it does not. The caller compares key ids first. */
pa_rc pa_seal_check(const pa_seal_key *k, const struct pa_seal *seal, const char *line);

#endif
