/* seal.c — signed checkpoints of the raw hash chain (see seal.h): Ed25519
 * keys through OpenSSL's EVP_PKEY API, and the seal line's one format. */
#include "seal.h"
#include "tm.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pa_seal_key {
  EVP_PKEY *pkey;
  char id[PA_SEAL_KEYID_LEN];
};

#define MAGIC "pacsaudit-seal 1 "

void pa_seal_key_free(pa_seal_key *k)
{
  if (!k)
    return;
  EVP_PKEY_free(k->pkey);
  free(k);
}

const char *pa_seal_key_id(const pa_seal_key *k) { return k->id; }

static pa_rc key_load(const char *path, int private, pa_seal_key **out, struct pa_err *err)
{
  const char *what = private ? "an Ed25519 private key" : "an Ed25519 public key";
  uint8_t raw[32], digest[PA_SHA256_LEN];
  size_t raw_len = sizeof raw;
  pa_seal_key *k = NULL;
  FILE *f;

  *out = NULL;
  if (!(f = fopen(path, "r")))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "%s: %s", path, strerror(errno));
  if (!(k = calloc(1, sizeof *k))) {
    fclose(f);
    return pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "%s: out of memory", path);
  }
  k->pkey = private ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
  fclose(f);
  if (!k->pkey || EVP_PKEY_get_id(k->pkey) != EVP_PKEY_ED25519 ||
      EVP_PKEY_get_raw_public_key(k->pkey, raw, &raw_len) != 1 || raw_len != sizeof raw) {
    pa_seal_key_free(k);
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0,
                      "%s: not %s in PEM (make one with `openssl genpkey -algorithm ed25519`%s)",
                      path, what, private ? "" : ", then `openssl pkey -pubout`");
  }
  pa_sha256(raw, sizeof raw, digest);
  pa_hex(digest, 8, k->id);
  *out = k;
  return PA_OK;
}

pa_rc pa_seal_key_load_private(const char *path, pa_seal_key **out, struct pa_err *err)
{
  return key_load(path, 1, out, err);
}

pa_rc pa_seal_key_load_public(const char *path, pa_seal_key **out, struct pa_err *err)
{
  return key_load(path, 0, out, err);
}

/* The signed part of a seal's line: everything before " sig=". Returns its
 * length, or 0 when it does not fit in cap. */
static size_t format_body(const struct pa_seal *seal, const char *key_id, char *out, size_t cap)
{
  char at[40], head[2 * PA_SHA256_LEN + 1];
  int n;

  pa_time_format(seal->at, NULL, at);
  pa_hex(seal->head, sizeof seal->head, head);
  n = snprintf(out, cap, MAGIC "at=%s rows=%lld last_id=%lld head=%s key=%s", at,
               (long long)seal->rows, (long long)seal->last_id, head, key_id);
  return n < 0 || (size_t)n >= cap ? 0 : (size_t)n;
}

static int sig_op(const pa_seal_key *k, int sign, uint8_t sig[PA_SEAL_SIG_LEN], const char *msg,
                  size_t len)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  size_t sig_len = PA_SEAL_SIG_LEN;
  int ok = 0;

  if (!ctx)
    return 0;
  if (sign)
    ok = EVP_DigestSignInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)msg, len) == 1 &&
         sig_len == PA_SEAL_SIG_LEN;
  else
    ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) == 1 &&
         EVP_DigestVerify(ctx, sig, PA_SEAL_SIG_LEN, (const unsigned char *)msg, len) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

pa_rc pa_seal_sign(const pa_seal_key *k, struct pa_seal *seal, char *line, size_t cap)
{
  size_t n = format_body(seal, k->id, line, cap);

  if (!n || cap - n < sizeof " sig=" + 2 * PA_SEAL_SIG_LEN)
    return PA_LIMIT;
  if (!sig_op(k, 1, seal->sig, line, n))
    return PA_IO;
  memcpy(seal->key_id, k->id, sizeof seal->key_id);
  seal->signed_len = n;
  memcpy(line + n, " sig=", 5);
  pa_hex(seal->sig, sizeof seal->sig, line + n + 5);
  return PA_OK;
}

pa_rc pa_seal_check(const pa_seal_key *k, const struct pa_seal *seal, const char *line)
{
  return sig_op(k, 0, (uint8_t *)seal->sig, line, seal->signed_len) ? PA_OK : PA_MALFORMED;
}

/* Lower-case hex of exactly n bytes at p into out. */
static int unhex(const char *p, size_t n, uint8_t *out)
{
  for (size_t i = 0; i < n; i++) {
    int v = 0;
    for (int j = 0; j < 2; j++) {
      char c = p[2 * i + j];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (d < 0)
        return -1;
      v = v * 16 + d;
    }
    out[i] = (uint8_t)v;
  }
  return 0;
}

/* The value of field name at *pos: up to the next space (or the end);
 * moves *pos past the space. */
static int field(const char *line, size_t len, size_t *pos, const char *name, const char **v,
                 size_t *vlen)
{
  size_t nl = strlen(name), i;

  if (len - *pos < nl + 1 || memcmp(line + *pos, name, nl) || line[*pos + nl] != '=')
    return -1;
  *v = line + *pos + nl + 1;
  for (i = *pos + nl + 1; i < len && line[i] != ' '; i++)
    ;
  *vlen = (size_t)(line + i - *v);
  *pos = i < len ? i + 1 : i;
  return 0;
}

static int whole_number(const char *v, size_t n, int64_t *out)
{
  char buf[24], *end;
  long long x;

  if (!n || n >= sizeof buf || (n > 1 && v[0] == '0'))
    return -1;
  for (size_t i = 0; i < n; i++)
    if (v[i] < '0' || v[i] > '9')
      return -1;
  memcpy(buf, v, n);
  buf[n] = '\0';
  errno = 0;
  x = strtoll(buf, &end, 10);
  if (errno || *end)
    return -1;
  *out = x;
  return 0;
}

pa_rc pa_seal_parse(const char *line, size_t len, struct pa_seal *out, struct pa_err *err)
{
  char body[PA_SEAL_LINE_MAX];
  size_t pos = sizeof MAGIC - 1, vl, at_pos;
  const char *v;
  int zoned = 0;

  memset(out, 0, sizeof *out);
  if (len < pos || memcmp(line, MAGIC, pos))
    return pa_err_set(err, PA_MALFORMED, 0, 0, "not a seal (a seal line starts \"%s\")",
                      "pacsaudit-seal 1");
  at_pos = pos;
  if (field(line, len, &pos, "at", &v, &vl) ||
      pa_time_parse_iso(v, vl, NULL, &out->at, &zoned, NULL) || !zoned)
    return pa_err_set(err, PA_MALFORMED, at_pos, 0, "at= is not a UTC time");
  at_pos = pos;
  if (field(line, len, &pos, "rows", &v, &vl) || whole_number(v, vl, &out->rows))
    return pa_err_set(err, PA_MALFORMED, at_pos, 0, "rows= is not a whole number");
  at_pos = pos;
  if (field(line, len, &pos, "last_id", &v, &vl) || whole_number(v, vl, &out->last_id))
    return pa_err_set(err, PA_MALFORMED, at_pos, 0, "last_id= is not a whole number");
  at_pos = pos;
  if (field(line, len, &pos, "head", &v, &vl) || vl != 2 * PA_SHA256_LEN ||
      unhex(v, PA_SHA256_LEN, out->head))
    return pa_err_set(err, PA_MALFORMED, at_pos, 0, "head= is not 64 lower-case hex digits");
  at_pos = pos;
  if (field(line, len, &pos, "key", &v, &vl) || vl != PA_SEAL_KEYID_LEN - 1 ||
      unhex(v, 8, (uint8_t[8]){0}))
    return pa_err_set(err, PA_MALFORMED, at_pos, 0, "key= is not 16 lower-case hex digits");
  memcpy(out->key_id, v, vl);
  out->key_id[vl] = '\0';
  out->signed_len = pos - 1;
  at_pos = pos;
  if (field(line, len, &pos, "sig", &v, &vl) || vl != 2 * PA_SEAL_SIG_LEN ||
      unhex(v, PA_SEAL_SIG_LEN, out->sig) || v + vl != line + len)
    return pa_err_set(err, PA_MALFORMED, at_pos, 0,
                      "sig= is not 128 lower-case hex digits ending the line");
  if ((out->rows == 0) != (out->last_id == 0) || out->rows > out->last_id)
    return pa_err_set(err, PA_MALFORMED, 0, 0, "rows= and last_id= do not agree");
  /* one spelling per seal: what was signed is what pa_seal_sign writes */
  if (format_body(out, out->key_id, body, sizeof body) != out->signed_len ||
      memcmp(body, line, out->signed_len))
    return pa_err_set(err, PA_MALFORMED, 0, 0, "not in the form pacsaudit writes (at= is"
                                               " written with 6 decimals and Z)");
  return PA_OK;
}
