/* tls_hello.c — ClientHello recognition and SNI (see tls_hello.h).
 *
 * RFC 8446 §4.1.2 / RFC 5246 §7.4.1.2 layout, RFC 6066 §3 server_name. Every
 * read goes through the bounded reader; each variable-length vector is
 * parsed inside a sub-reader of its announced length. */
#include "tls_hello.h"

#include "../analyzer/limits.h"
#include "../analyzer/rd.h"

#include <string.h>

#define TLS_HANDSHAKE 22
#define TLS_CLIENT_HELLO 1
#define TLS_MAX_RECORD (16384 + 2048) /* TLSCiphertext bound, RFC 8446 §5.2 */
#define EXT_SERVER_NAME 0x0000
#define EXT_SUPPORTED_VERSIONS 0x002b

int pa_tls_sniff(const uint8_t *p, size_t len)
{
  if (len >= 1 && p[0] != TLS_HANDSHAKE)
    return 0;
  if (len >= 2 && p[1] != 3)
    return 0;
  if (len >= 3 && p[2] > 4)
    return 0;
  if (len >= 6 && p[5] != TLS_CLIENT_HELLO)
    return 0;
  return len >= 6 ? 1 : -1;
}

static void copy_name(char *dst, size_t cap, const uint8_t *p, size_t n)
{
  size_t i;

  if (n > cap - 1)
    n = cap - 1;
  for (i = 0; i < n; i++)
    dst[i] = (p[i] >= 0x21 && p[i] <= 0x7e) ? (char)p[i] : '?';
  dst[i] = 0;
}

static pa_rc parse_sni(struct pa_rd *r, struct pa_tls_hello *out)
{
  uint16_t list_len, name_len;
  uint8_t type;
  struct pa_rd list;
  const uint8_t *name;

  if (pa_rd_u16be(r, &list_len) || pa_rd_sub(r, list_len, &list))
    return PA_MALFORMED;
  while (pa_rd_left(&list) > 0) {
    if (pa_rd_u8(&list, &type) || pa_rd_u16be(&list, &name_len) ||
        pa_rd_bytes(&list, name_len, &name))
      return PA_MALFORMED;
    if (type == 0 && !out->has_sni && name_len > 0) {
      out->has_sni = 1;
      copy_name(out->server_name, sizeof out->server_name, name, name_len);
    }
  }
  return PA_OK;
}

static pa_rc parse_versions(struct pa_rd *r, struct pa_tls_hello *out)
{
  uint8_t n;
  uint16_t v;
  struct pa_rd list;

  if (pa_rd_u8(r, &n) || (n & 1) || pa_rd_sub(r, n, &list))
    return PA_MALFORMED;
  while (pa_rd_u16be(&list, &v) == PA_OK)
    if (v == 0x0304)
      out->supported_versions_13 = 1;
  return PA_OK;
}

static pa_rc parse_body(struct pa_rd *b, struct pa_tls_hello *out)
{
  uint8_t sid_len, comp_len;
  uint16_t cs_len, ext_len;
  struct pa_rd exts;

  if (pa_rd_u16be(b, &out->hello_version) || (out->hello_version >> 8) != 3 ||
      pa_rd_skip(b, 32) /* random */ ||
      pa_rd_u8(b, &sid_len) || sid_len > 32 || pa_rd_skip(b, sid_len) ||
      pa_rd_u16be(b, &cs_len) || cs_len < 2 || (cs_len & 1) || pa_rd_skip(b, cs_len) ||
      pa_rd_u8(b, &comp_len) || comp_len < 1 || pa_rd_skip(b, comp_len))
    return PA_MALFORMED;
  out->session_id_len = sid_len;
  out->n_cipher_suites = cs_len / 2;
  if (pa_rd_left(b) == 0)
    return PA_OK; /* no extensions (SSLv3-style hello) */
  if (pa_rd_u16be(b, &ext_len) || pa_rd_sub(b, ext_len, &exts) || pa_rd_left(b) != 0)
    return PA_MALFORMED;
  while (pa_rd_left(&exts) > 0) {
    uint16_t type, len;
    struct pa_rd e;

    if (pa_rd_u16be(&exts, &type) || pa_rd_u16be(&exts, &len) || pa_rd_sub(&exts, len, &e))
      return PA_MALFORMED;
    out->n_extensions++;
    if (type == EXT_SERVER_NAME && parse_sni(&e, out))
      return PA_MALFORMED;
    if (type == EXT_SUPPORTED_VERSIONS && parse_versions(&e, out))
      return PA_MALFORMED;
  }
  return PA_OK;
}

pa_rc pa_tls_hello_parse(const uint8_t *p, size_t len, struct pa_tls_hello *out)
{
  uint8_t hs[PA_SNIFF_MAX]; /* the handshake message, joined from records */
  size_t hs_have = 0, hs_need = 0;
  struct pa_rd r, body;
  int first = 1;

  memset(out, 0, sizeof *out);
  pa_rd_init(&r, p, len);
  /* Join handshake fragments until the whole ClientHello is there. */
  while (hs_need == 0 || hs_have < hs_need) {
    uint8_t type, major, minor;
    uint16_t rlen;
    const uint8_t *frag;

    if (pa_rd_left(&r) < 5)
      return PA_NEED_MORE;
    (void)pa_rd_u8(&r, &type);
    (void)pa_rd_u8(&r, &major);
    (void)pa_rd_u8(&r, &minor);
    (void)pa_rd_u16be(&r, &rlen);
    if (type != TLS_HANDSHAKE || major != 3 || minor > 4 || rlen == 0 || rlen > TLS_MAX_RECORD)
      return PA_MALFORMED;
    if (first) {
      out->record_version = (uint16_t)(major << 8 | minor);
      first = 0;
    }
    if (pa_rd_bytes(&r, rlen, &frag))
      return PA_NEED_MORE;
    if (rlen > sizeof hs - hs_have)
      rlen = (uint16_t)(sizeof hs - hs_have); /* the rest cannot be needed */
    memcpy(hs + hs_have, frag, rlen);
    hs_have += rlen;
    if (hs_need == 0 && hs_have >= 4) {
      size_t n = (size_t)hs[1] << 16 | (size_t)hs[2] << 8 | hs[3];
      if (hs[0] != TLS_CLIENT_HELLO || n < 38)
        return PA_MALFORMED;
      if (n > sizeof hs - 4)
        return PA_LIMIT;
      hs_need = 4 + n;
    }
  }
  /* Bytes of a following handshake message in the same record are ignored. */
  pa_rd_init(&body, hs + 4, hs_need - 4);
  return parse_body(&body, out);
}
