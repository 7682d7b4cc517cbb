/* test_core.c — the small shared pieces: rd, buf, err, hash, event. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/buf.h"
#include "analyzer/event.h"
#include "analyzer/hash.h"
#include "analyzer/rd.h"
#include "analyzer/utf8.h"

#include <stdlib.h>
#include <string.h>

/* A short read fails and leaves the cursor where it was. */
static void test_rd_bounds(void **state)
{
  (void)state;
  static const uint8_t b[] = {0x01, 0x02, 0x03, 0x04, 0x05};
  struct pa_rd r, sub;
  uint32_t v32;
  uint16_t v16;
  uint8_t v8;

  pa_rd_init(&r, b, sizeof b);
  assert_int_equal(pa_rd_u32be(&r, &v32), PA_OK);
  assert_int_equal(v32, 0x01020304);
  assert_int_equal(pa_rd_u16be(&r, &v16), PA_NEED_MORE);
  assert_int_equal(r.off, 4);
  assert_int_equal(pa_rd_u8(&r, &v8), PA_OK);
  assert_int_equal(v8, 5);
  assert_int_equal(pa_rd_u8(&r, &v8), PA_NEED_MORE);

  pa_rd_init(&r, b, sizeof b);
  assert_int_equal(pa_rd_u16le(&r, &v16), PA_OK);
  assert_int_equal(v16, 0x0201);
  assert_int_equal(pa_rd_sub(&r, 4, &sub), PA_NEED_MORE);
  assert_int_equal(pa_rd_sub(&r, 2, &sub), PA_OK);
  assert_int_equal(pa_rd_left(&sub), 2);
  assert_int_equal(pa_rd_u32le(&sub, &v32), PA_NEED_MORE);
  assert_int_equal(pa_rd_skip(&r, SIZE_MAX), PA_NEED_MORE);
  assert_int_equal(pa_rd_left(&r), 1);
}

static void test_buf_cap(void **state)
{
  (void)state;
  struct pa_buf b;
  pa_buf_init(&b, 8);
  assert_string_equal(pa_buf_str(&b), "");
  assert_int_equal(pa_buf_append(&b, "abcd", 4), PA_OK);
  assert_int_equal(pa_buf_appendf(&b, "%d", 1234), PA_OK);
  assert_string_equal(pa_buf_str(&b), "abcd1234");
  assert_int_equal(pa_buf_append(&b, "x", 1), PA_LIMIT);
  assert_int_equal(pa_buf_appendf(&b, "y"), PA_LIMIT);
  assert_int_equal(b.len, 8);
  pa_buf_consume(&b, 3);
  assert_string_equal(pa_buf_str(&b), "d1234");
  pa_buf_cleanup(&b);
  assert_null(b.p);
}

static void test_err_and_hash(void **state)
{
  (void)state;
  struct pa_err e;
  char hex[PA_SHA256_HEXLEN];
  pa_err_clear(&e);
  assert_int_equal(pa_err_set(&e, PA_LIMIT, 42, 3, "dicom_ul.pdu_too_large: %u", 7u), PA_LIMIT);
  assert_int_equal(e.offset, 42);
  assert_string_equal(e.msg, "dicom_ul.pdu_too_large: 7");
  assert_string_equal(pa_strerror(PA_NEED_MORE), "incomplete input");
  assert_string_equal(pa_strerror((pa_rc)999), "unknown error");
  pa_sha256_hex("abc", 3, hex);
  assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Control bytes become \xNN; the output is cut whole at its size. */
static void test_escape_ctl(void **state)
{
  char out[32];
  (void)state;
  assert_int_equal(pa_escape_ctl(out, sizeof out, "a\nb\x1b[2J\x7f"), 17);
  assert_string_equal(out, "a\\x0ab\\x1b[2J\\x7f");
  assert_int_equal(pa_escape_ctl(out, 6, "ab\ncd"), 2); /* "\x0a" does not fit after ab */
  assert_string_equal(out, "ab");
  assert_int_equal(pa_escape_ctl(out, 1, "x"), 0);
  assert_string_equal(out, "");
  /* UTF-8 text passes; a C1 control (U+009B, CSI) and a byte that is not
   * UTF-8 are escaped */
  assert_int_equal(pa_escape_ctl(out, sizeof out, "\xe5\xb1\xb1\xc2\x9b" "2J\xff\xc2\xa0"), 19);
  assert_string_equal(out, "\xe5\xb1\xb1\\xc2\\x9b" "2J\\xff\xc2\xa0");
}

static void test_dimse_outcome(void **state)
{
  (void)state;
  assert_int_equal(pa_dimse_outcome(-1), -1);
  assert_int_equal(pa_dimse_outcome(0x0000), 0);
  assert_int_equal(pa_dimse_outcome(0xB000), 4);
  assert_int_equal(pa_dimse_outcome(0xFE00), 4);
  assert_int_equal(pa_dimse_outcome(0xA801), 8);
  assert_int_equal(pa_dimse_outcome(0xC000), 8);
}

/* Valid UTF-8 passes; overlongs, surrogates, stray continuation bytes, code
 * points past U+10FFFF and cut-off sequences do not, and repair turns each
 * bad byte into U+FFFD and keeps the rest. */
static void test_utf8(void **state)
{
  static const char *const good[] = {"", "abc", "\xe5\xb1\xb1\xe7\x94\xb0", "\xc2\x80",
                                     "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
  static const char *const bad[] = {"\xff", "\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80",
                                    "\xf4\x90\x80\x80", "\x80", "a\xe5\xb1", "\xf8\x88\x80\x80\x80"};
  size_t n;
  char *r;

  (void)state;
  for (size_t i = 0; i < sizeof good / sizeof *good; i++)
    assert_true(pa_utf8_valid(good[i], strlen(good[i])));
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
    assert_false(pa_utf8_valid(bad[i], strlen(bad[i])));
  r = pa_utf8_repair("\xff\xfe" "admin \xe5\xb1\xb1", 11, &n);
  assert_non_null(r);
  assert_string_equal(r, "\xef\xbf\xbd\xef\xbf\xbd" "admin \xe5\xb1\xb1");
  assert_int_equal(n, strlen(r));
  assert_true(pa_utf8_valid(r, n));
  free(r);
  /* a sequence cut short at the end */
  r = pa_utf8_repair("a\xe5\xb1", 3, &n);
  assert_string_equal(r, "a\xef\xbf\xbd\xef\xbf\xbd");
  free(r);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_rd_bounds),
    cmocka_unit_test(test_buf_cap),
    cmocka_unit_test(test_err_and_hash),
    cmocka_unit_test(test_dimse_outcome),
    cmocka_unit_test(test_escape_ctl),
    cmocka_unit_test(test_utf8),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
