/* hash.c — SHA-256 helpers. */
#include "hash.h"

#include <openssl/sha.h>

void pa_sha256(const void *p, size_t len, uint8_t out[PA_SHA256_LEN])
{
  SHA256(p, len, out);
}

void pa_hex(const uint8_t *p, size_t len, char *out)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < len; i++) {
    out[2 * i] = digits[p[i] >> 4];
    out[2 * i + 1] = digits[p[i] & 15];
  }
  out[2 * len] = '\0';
}

void pa_sha256_hex(const void *p, size_t len, char out[PA_SHA256_HEXLEN])
{
  uint8_t md[PA_SHA256_LEN];
  pa_sha256(p, len, md);
  pa_hex(md, sizeof md, out);
}
