/* test_tls_hello.c — unit tests of collectors/tls_hello: a real ClientHello
 * (OpenSSL 3 s_client), hellos built field by field, split records, and
 * malformed ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer/limits.h"
#include "collectors/tls_hello.h"

/* `openssl s_client -connect 127.0.0.1:24443 -servername pacs.example.org`:
 * record 16 03 01 len 0x013d, ClientHello (01) len 0x000139, legacy_version
 * 0303, random, 32-byte session id, 31 cipher suites, extensions incl.
 * server_name "pacs.example.org" and supported_versions {0304, 0303}. */
static const uint8_t openssl_hello[] = {
  0x16, 0x03, 0x01, 0x01, 0x3d, 0x01, 0x00, 0x01, 0x39, 0x03, 0x03, 0xd0,
  0x95, 0x3f, 0x0a, 0x81, 0x83, 0xeb, 0xfc, 0x55, 0x97, 0x87, 0x9d, 0x83,
  0x5e, 0x29, 0x31, 0xcb, 0xc5, 0x79, 0x45, 0x65, 0xcd, 0x65, 0x72, 0xaa,
  0x3b, 0x00, 0xc4, 0x1d, 0x8d, 0x2c, 0x1e, 0x20, 0xdb, 0xfd, 0xfe, 0x01,
  0x4a, 0x6d, 0x45, 0x62, 0xcb, 0x33, 0x8c, 0x24, 0x69, 0x95, 0xce, 0x51,
  0x7a, 0x6c, 0xf4, 0x69, 0xfb, 0xc0, 0x89, 0x53, 0x10, 0x1f, 0x59, 0xbc,
  0x0b, 0xde, 0xb0, 0x7c, 0x00, 0x3e, 0x13, 0x02, 0x13, 0x03, 0x13, 0x01,
  0xc0, 0x2c, 0xc0, 0x30, 0x00, 0x9f, 0xcc, 0xa9, 0xcc, 0xa8, 0xcc, 0xaa,
  0xc0, 0x2b, 0xc0, 0x2f, 0x00, 0x9e, 0xc0, 0x24, 0xc0, 0x28, 0x00, 0x6b,
  0xc0, 0x23, 0xc0, 0x27, 0x00, 0x67, 0xc0, 0x0a, 0xc0, 0x14, 0x00, 0x39,
  0xc0, 0x09, 0xc0, 0x13, 0x00, 0x33, 0x00, 0x9d, 0x00, 0x9c, 0x00, 0x3d,
  0x00, 0x3c, 0x00, 0x35, 0x00, 0x2f, 0x00, 0xff, 0x01, 0x00, 0x00, 0xb2,
  0x00, 0x00, 0x00, 0x15, 0x00, 0x13, 0x00, 0x00, 0x10, 0x70, 0x61, 0x63,
  0x73, 0x2e, 0x65, 0x78, 0x61, 0x6d, 0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72,
  0x67, 0x00, 0x0b, 0x00, 0x04, 0x03, 0x00, 0x01, 0x02, 0x00, 0x0a, 0x00,
  0x16, 0x00, 0x14, 0x00, 0x1d, 0x00, 0x17, 0x00, 0x1e, 0x00, 0x19, 0x00,
  0x18, 0x01, 0x00, 0x01, 0x01, 0x01, 0x02, 0x01, 0x03, 0x01, 0x04, 0x00,
  0x23, 0x00, 0x00, 0x00, 0x16, 0x00, 0x00, 0x00, 0x17, 0x00, 0x00, 0x00,
  0x0d, 0x00, 0x2a, 0x00, 0x28, 0x04, 0x03, 0x05, 0x03, 0x06, 0x03, 0x08,
  0x07, 0x08, 0x08, 0x08, 0x09, 0x08, 0x0a, 0x08, 0x0b, 0x08, 0x04, 0x08,
  0x05, 0x08, 0x06, 0x04, 0x01, 0x05, 0x01, 0x06, 0x01, 0x03, 0x03, 0x03,
  0x01, 0x03, 0x02, 0x04, 0x02, 0x05, 0x02, 0x06, 0x02, 0x00, 0x2b, 0x00,
  0x09, 0x08, 0x03, 0x04, 0x03, 0x03, 0x03, 0x02, 0x03, 0x01, 0x00, 0x2d,
  0x00, 0x02, 0x01, 0x01, 0x00, 0x33, 0x00, 0x26, 0x00, 0x24, 0x00, 0x1d,
  0x00, 0x20, 0xbf, 0x75, 0x84, 0xf2, 0x40, 0x10, 0xd2, 0xae, 0x3f, 0xc2,
  0x5c, 0x96, 0x1e, 0xcd, 0xc9, 0xec, 0x2f, 0x89, 0xc8, 0x5d, 0x26, 0xff,
  0x1f, 0xe0, 0xd2, 0x4b, 0x1e, 0x26, 0xd6, 0x47, 0xc0, 0x5c,
};

/* Builds a ClientHello record: one handshake message, optionally split into
 * two records after split bytes of the handshake (0: one record). */
struct hb {
  uint8_t b[8192];
  size_t n;
};

static void put(struct hb *h, const void *p, size_t n)
{
  assert_true(h->n + n <= sizeof h->b);
  memcpy(h->b + h->n, p, n);
  h->n += n;
}
static void put8(struct hb *h, unsigned v) { uint8_t x = (uint8_t)v; put(h, &x, 1); }
static void put16(struct hb *h, unsigned v) { put8(h, v >> 8); put8(h, v); }

/* body of a ClientHello; sni NULL: no server_name; ext 0: no extensions */
static void hello_body(struct hb *h, const char *sni, int ext, size_t sid_len)
{
  uint8_t z[64] = {0};

  put16(h, 0x0303);          /* legacy_version */
  put(h, z, 32);             /* random */
  put8(h, (unsigned)sid_len);
  put(h, z, sid_len);        /* session id */
  put16(h, 4);               /* cipher suites */
  put16(h, 0x1301);
  put16(h, 0xc02f);
  put8(h, 1);                /* compression: null */
  put8(h, 0);
  if (!ext)
    return;
  size_t at = h->n;
  put16(h, 0);               /* extensions length, patched below */
  put16(h, 0x000a);          /* supported_groups */
  put16(h, 4);
  put16(h, 2);
  put16(h, 0x001d);
  if (sni) {
    size_t l = strlen(sni);
    put16(h, 0x0000);        /* server_name */
    put16(h, (unsigned)(l + 5));
    put16(h, (unsigned)(l + 3)); /* list */
    put8(h, 0);              /* host_name */
    put16(h, (unsigned)l);
    put(h, sni, l);
  }
  put16(h, 0x002b);          /* supported_versions */
  put16(h, 3);
  put8(h, 2);
  put16(h, 0x0304);
  size_t el = h->n - at - 2;
  h->b[at] = (uint8_t)(el >> 8);
  h->b[at + 1] = (uint8_t)el;
}

static size_t build(uint8_t *out, size_t cap, const char *sni, int ext, size_t split)
{
  struct hb body = {.n = 0}, hs = {.n = 0}, rec = {.n = 0};

  hello_body(&body, sni, ext, 32);
  put8(&hs, 1);
  put8(&hs, (unsigned)(body.n >> 16));
  put16(&hs, (unsigned)body.n);
  put(&hs, body.b, body.n);
  if (split == 0 || split >= hs.n) {
    put8(&rec, 0x16); put16(&rec, 0x0301); put16(&rec, (unsigned)hs.n);
    put(&rec, hs.b, hs.n);
  } else {
    put8(&rec, 0x16); put16(&rec, 0x0301); put16(&rec, (unsigned)split);
    put(&rec, hs.b, split);
    put8(&rec, 0x16); put16(&rec, 0x0303); put16(&rec, (unsigned)(hs.n - split));
    put(&rec, hs.b + split, hs.n - split);
  }
  assert_true(rec.n <= cap);
  memcpy(out, rec.b, rec.n);
  return rec.n;
}

static void test_openssl_hello(void **state)
{
  struct pa_tls_hello th;

  (void)state;
  assert_int_equal(pa_tls_sniff(openssl_hello, sizeof openssl_hello), 1);
  assert_int_equal(pa_tls_hello_parse(openssl_hello, sizeof openssl_hello, &th), PA_OK);
  assert_string_equal(th.server_name, "pacs.example.org");
  assert_int_equal(th.has_sni, 1);
  assert_int_equal(th.record_version, 0x0301);
  assert_int_equal(th.hello_version, 0x0303);
  assert_int_equal(th.session_id_len, 32);
  assert_true(th.n_cipher_suites > 0);
  assert_int_equal(th.supported_versions_13, 1);
}

static void test_every_prefix_needs_more(void **state)
{
  struct pa_tls_hello th;

  (void)state;
  for (size_t n = 0; n < sizeof openssl_hello; n++)
    assert_int_equal(pa_tls_hello_parse(openssl_hello, n, &th), PA_NEED_MORE);
  /* trailing bytes (the next record) do not matter */
  uint8_t more[sizeof openssl_hello + 7];
  memcpy(more, openssl_hello, sizeof openssl_hello);
  memset(more + sizeof openssl_hello, 0x17, 7);
  assert_int_equal(pa_tls_hello_parse(more, sizeof more, &th), PA_OK);
}

static void test_built_variants(void **state)
{
  uint8_t b[8192];
  size_t n;
  struct pa_tls_hello th;

  (void)state;
  n = build(b, sizeof b, "ris.hospital.example", 1, 0);
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
  assert_string_equal(th.server_name, "ris.hospital.example");
  assert_int_equal(th.n_cipher_suites, 2);
  assert_int_equal(th.n_extensions, 3);
  /* without server_name */
  n = build(b, sizeof b, NULL, 1, 0);
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
  assert_int_equal(th.has_sni, 0);
  assert_string_equal(th.server_name, "");
  /* without any extensions (old clients) */
  n = build(b, sizeof b, NULL, 0, 0);
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
  assert_int_equal(th.n_extensions, 0);
  /* the handshake split over two records, even inside its header */
  for (size_t split = 1; split < 60; split += 7) {
    n = build(b, sizeof b, "pacs", 1, split);
    assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
    assert_string_equal(th.server_name, "pacs");
    assert_int_equal(pa_tls_hello_parse(b, n - 1, &th), PA_NEED_MORE);
  }
  /* control bytes in the name are not passed on */
  n = build(b, sizeof b, "a\x1b[2Jb", 1, 0);
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
  assert_string_equal(th.server_name, "a?[2Jb");
}

static void test_malformed(void **state)
{
  uint8_t b[8192];
  size_t n;
  struct pa_tls_hello th;

  (void)state;
  n = build(b, sizeof b, "pacs", 1, 0);
  /* content type application_data */
  b[0] = 0x17;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  assert_int_equal(pa_tls_sniff(b, n), 0);
  b[0] = 0x16;
  /* record version 3.5 */
  b[2] = 5;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  assert_int_equal(pa_tls_sniff(b, n), 0);
  b[2] = 1;
  /* a ServerHello */
  b[5] = 2;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  assert_int_equal(pa_tls_sniff(b, n), 0);
  b[5] = 1;
  /* session id longer than 32 */
  b[5 + 4 + 2 + 32] = 33;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  b[5 + 4 + 2 + 32] = 32;
  /* odd cipher suite length */
  b[5 + 4 + 2 + 32 + 1 + 32 + 1] = 3;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  b[5 + 4 + 2 + 32 + 1 + 32 + 1] = 4;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_OK);
  /* extensions length past the message */
  size_t ext = 5 + 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
  b[ext + 1] = (uint8_t)(b[ext + 1] + 1);
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  b[ext + 1] = (uint8_t)(b[ext + 1] - 1);
  /* server_name list length past its extension */
  size_t sni = ext + 2 + 8 + 4;
  b[sni + 1] = 0xff;
  assert_int_equal(pa_tls_hello_parse(b, n, &th), PA_MALFORMED);
  /* a zero-length record */
  static const uint8_t empty[] = {0x16, 0x03, 0x01, 0x00, 0x00, 0x01};
  assert_int_equal(pa_tls_hello_parse(empty, sizeof empty, &th), PA_MALFORMED);
  /* DICOM A-ASSOCIATE-RQ is not TLS */
  static const uint8_t rq[] = {0x01, 0x00, 0x00, 0x00, 0x00, 0xcd, 0x00, 0x01};
  assert_int_equal(pa_tls_sniff(rq, sizeof rq), 0);
  assert_int_equal(pa_tls_hello_parse(rq, sizeof rq, &th), PA_MALFORMED);
}

static void test_sniff_short(void **state)
{
  (void)state;
  assert_int_equal(pa_tls_sniff(openssl_hello, 0), -1);
  assert_int_equal(pa_tls_sniff(openssl_hello, 3), -1);
  assert_int_equal(pa_tls_sniff(openssl_hello, 6), 1);
}

static void test_too_long(void **state)
{
  /* a ClientHello announcing more than PA_SNIFF_MAX bytes */
  static const uint8_t big[] = {0x16, 0x03, 0x01, 0x40, 0x00, 0x01, 0x00, 0x3f, 0xfc};
  struct pa_tls_hello th;

  (void)state;
  uint8_t b[5 + 0x4000];
  memset(b, 0, sizeof b);
  memcpy(b, big, sizeof big);
  assert_int_equal(pa_tls_hello_parse(b, sizeof b, &th), PA_LIMIT);
  assert_true(PA_SNIFF_MAX < 0x3ffc);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_openssl_hello),
    cmocka_unit_test(test_every_prefix_needs_more),
    cmocka_unit_test(test_built_variants),
    cmocka_unit_test(test_malformed),
    cmocka_unit_test(test_sniff_short),
    cmocka_unit_test(test_too_long),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
