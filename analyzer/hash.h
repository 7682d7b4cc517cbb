/* hash.h — SHA-256 helpers (OpenSSL libcrypto). */
#ifndef PA_HASH_H
#define PA_HASH_H

#include <stddef.h>
#include <stdint.h>

#define PA_SHA256_LEN 32
#define PA_SHA256_HEXLEN 65 /* 64 hex digits + NUL */

void pa_sha256(const void *p, size_t len, uint8_t out[PA_SHA256_LEN]);
/* Lower-case hex of the SHA-256 of p, NUL-terminated. */
void pa_sha256_hex(const void *p, size_t len, char out[PA_SHA256_HEXLEN]);
void pa_hex(const uint8_t *p, size_t len, char *out /* 2*len+1 */);

#endif
