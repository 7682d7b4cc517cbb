/* pseudo.c — pseudonymized reports: patient ids become keyed tokens.
 *
 * token = "P-" + the first 16 hex digits of HMAC-SHA256(key, id), where id
 * is the patient id without its CX suffix (from the first '^'), so that
 * "0020481739" and "0020481739^^^HOSPA" get one token. The key is the
 * bytes of the key file (16 to 64 bytes are used; a longer file's first
 * 64 bytes). */
#include "model_int.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>

#define KEY_MIN 16

pa_rc pa__rep_key_load(struct pa_mctx *c, const char *path)
{
  FILE *f = fopen(path, "rb");
  size_t n;
  if (!f)
    return pa_err_set(c->err, PA_IO, UINT64_MAX, 0, "%s: cannot read the key file", path);
  n = fread(c->key, 1, sizeof c->key, f);
  if (ferror(f)) {
    fclose(f);
    return pa_err_set(c->err, PA_IO, UINT64_MAX, 0, "%s: cannot read the key file", path);
  }
  fclose(f);
  if (n < KEY_MIN) {
    memset(c->key, 0, sizeof c->key);
    return pa_err_set(c->err, PA_MALFORMED, UINT64_MAX, 0,
                      "%s: a pseudonymization key needs at least %d bytes (it has %zu)", path,
                      KEY_MIN, n);
  }
  c->key_len = n;
  return PA_OK;
}

json_t *pa__rep_token(const struct pa_mctx *c, const char *patient_id)
{
  static const char hex[] = "0123456789abcdef";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  const char *caret = strchr(patient_id, '^');
  size_t len = caret ? (size_t)(caret - patient_id) : strlen(patient_id);
  char tok[2 + 16 + 1] = "P-";

  if (!HMAC(EVP_sha256(), c->key, (int)c->key_len, (const unsigned char *)patient_id, len,
            mac, &mac_len) || mac_len < 8)
    return NULL;
  for (int i = 0; i < 8; i++) {
    tok[2 + 2 * i] = hex[mac[i] >> 4];
    tok[3 + 2 * i] = hex[mac[i] & 15];
  }
  tok[18] = '\0';
  return json_string(tok);
}
