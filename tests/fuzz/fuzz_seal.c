/* fuzz_seal.c — libFuzzer target for the seal line parser (analyzer/seal.c),
 * which `pacsaudit verify --seals FILE` runs over each line of a seal file
 * that may have been edited by anyone. The input is one line. On success
 * the seal must be the one canonical line: the signed part ends where
 * " sig=" begins and the signature's hex ends the line; on failure the
 * error points inside the line and is one line of text. Seeds: seals of
 * the form pacsaudit writes, an empty store's seal, and near misses. */
#include "analyzer/hash.h"
#include "analyzer/seal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  const char *line = (const char *)data;
  struct pa_seal seal;
  struct pa_err err;
  char hex[2 * PA_SEAL_SIG_LEN + 1];

  pa_err_clear(&err);
  if (pa_seal_parse(line, size, &seal, &err) == PA_OK) {
    pa_hex(seal.sig, sizeof seal.sig, hex);
    if (seal.signed_len + 5 + 2 * PA_SEAL_SIG_LEN != size ||
        memcmp(line + seal.signed_len, " sig=", 5) ||
        memcmp(line + seal.signed_len + 5, hex, 2 * PA_SEAL_SIG_LEN) ||
        strlen(seal.key_id) != PA_SEAL_KEYID_LEN - 1 || seal.rows > seal.last_id ||
        seal.rows < 0)
      abort();
  } else if (err.offset > size || strchr(err.msg, '\n')) {
    abort();
  }
  return 0;
}
