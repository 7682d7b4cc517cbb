/* test_tm.c — time parsing: the variants real audit senders emit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/tm.h"

#include <string.h>

static int64_t parse(const char *s, const char *tz, int *zoned)
{
  int64_t us = 0;
  size_t used = 0;
  assert_int_equal(pa_time_parse_iso(s, strlen(s), tz, &us, zoned, &used), PA_OK);
  assert_int_equal(used, strlen(s));
  return us;
}

static void test_iso_variants(void **state)
{
  (void)state;
  int zoned;
  const int64_t base = 1008581447000000LL; /* 2001-12-17T09:30:47Z */
  assert_int_equal(parse("2001-12-17T09:30:47Z", NULL, &zoned), base);
  assert_int_equal(zoned, 1);
  assert_int_equal(parse("2001-12-17T18:30:47+09:00", NULL, &zoned), base);
  assert_int_equal(parse("2001-12-17T04:30:47-0500", NULL, &zoned), base);
  assert_int_equal(parse("2001-12-17T09:30:47.123Z", NULL, &zoned), base + 123000);
  assert_int_equal(parse("2001-12-17T09:30:47.1234567Z", NULL, &zoned), base + 123456);
  /* zone-less: read in the given zone */
  assert_int_equal(parse("2001-12-17T18:30:47", "Asia/Tokyo", &zoned), base);
  assert_int_equal(zoned, 0);
  assert_int_equal(parse("2001-12-17T09:30:47", "UTC", &zoned), base);
  assert_int_equal(parse("2001-12-17 09:30:47z", NULL, &zoned), base);
  /* leap second 60 is read as 59 */
  assert_int_equal(parse("2001-12-17T09:30:60Z", NULL, &zoned), base + 12000000);
}

static void test_iso_bad(void **state)
{
  (void)state;
  static const char *const bad[] = {
    "", "2001", "2001-13-01T00:00:00Z", "2001-02-29T00:00:00Z", "2001-12-17T25:00:00Z",
    "2001-12-17T09:3", "2001-12-17T09:30:47.Z", "2001-12-17T09:30:47+9", "abcd-ef-ghT",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int64_t us;
    assert_int_equal(pa_time_parse_iso(bad[i], strlen(bad[i]), NULL, &us, NULL, NULL),
                     PA_MALFORMED);
  }
}

/* A whole value (used_out NULL) must be a time and nothing else: a zone
 * that is not read would turn the time into local time, hours off. */
static void test_iso_whole_value(void **state)
{
  static const char *const bad[] = {
    "2026-11-20T10:15:30 -05:00", "2026-11-20T10:15:30 UTC", "2026-11-20T10:15:30Z junk",
    "2026-11-20T10:15:30+09:00x",
  };
  int64_t us;
  size_t used;
  (void)state;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    assert_int_equal(pa_time_parse_iso(bad[i], strlen(bad[i]), NULL, &us, NULL, NULL),
                     PA_MALFORMED);
    /* a caller that reads on (a syslog header) gets the time and where it ends */
    assert_int_equal(pa_time_parse_iso(bad[i], strlen(bad[i]), NULL, &us, NULL, &used), PA_OK);
    assert_true(used >= 19 && used < strlen(bad[i]));
  }
  assert_int_equal(pa_time_parse_iso("2001-12-17T09:30:47Z \n", 22, NULL, &us, NULL, NULL), PA_OK);
  assert_int_equal(us, 1008581447000000LL);
}

static void test_format(void **state)
{
  (void)state;
  char out[40];
  pa_time_format(1008581447000001LL, NULL, out);
  assert_string_equal(out, "2001-12-17T09:30:47.000001Z");
  pa_time_format(1008581447000001LL, "Asia/Tokyo", out);
  assert_string_equal(out, "2001-12-17T18:30:47.000001+09:00");
}

static void test_duration(void **state)
{
  (void)state;
  static const struct { const char *in; pa_rc rc; int64_t us; } cases[] = {
    {"90s", PA_OK, 90000000LL}, {"10m", PA_OK, 600000000LL}, {"1h", PA_OK, 3600000000LL},
    {"1d", PA_OK, 86400000000LL}, {"0s", PA_OK, 0}, {"", PA_MALFORMED, 0},
    {"10", PA_MALFORMED, 0}, {"m", PA_MALFORMED, 0}, {"-1h", PA_MALFORMED, 0},
    {"1.5h", PA_MALFORMED, 0}, {"10 m", PA_MALFORMED, 0}, {"10mm", PA_MALFORMED, 0},
    {"1w", PA_MALFORMED, 0}, {"99999999999999999999999d", PA_LIMIT, 0}, {"30000d", PA_OK,
    30000LL * 86400000000LL}, {"40000000d", PA_LIMIT, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t us = -1;
    assert_int_equal(pa_duration_parse(cases[i].in, &us), cases[i].rc);
    if (cases[i].rc == PA_OK)
      assert_int_equal(us, cases[i].us);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_iso_variants),
    cmocka_unit_test(test_iso_bad),
    cmocka_unit_test(test_iso_whole_value),
    cmocka_unit_test(test_format),
    cmocka_unit_test(test_duration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
