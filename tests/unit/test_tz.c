/* test_tz.c — zone tables: a zone without DST, one with gaps and overlaps,
 * UTC, bad names, and the cost of one conversion (printed, never asserted). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/tm.h"
#include "analyzer/tz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S 1000000LL

static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
  int64_t us;
  assert_int_equal(pa_time_from_utc(y, mo, d, h, mi, s, 0, &us), PA_OK);
  return us;
}

static int64_t local(const pa_tz *z, int y, int mo, int d, int h, int mi, int s)
{
  int64_t us;
  assert_int_equal(pa_tz_from_local(z, y, mo, d, h, mi, s, &us), PA_OK);
  return us;
}

static void test_tokyo(void **state)
{
  (void)state;
  pa_tz *z;
  struct pa_err err;
  pa_err_clear(&err);
  assert_int_equal(pa_tz_load("Asia/Tokyo", &z, &err), PA_OK);
  assert_string_equal(pa_tz_name(z), "Asia/Tokyo");
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 1, 1, 0, 0, 0)), 32400);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 7, 1, 0, 0, 0)), 32400);
  assert_int_equal(pa_tz_offset_s(z, -5 * S), 32400); /* before 1970 */
  assert_int_equal(local(z, 2026, 4, 1, 0, 0, 0), utc(2026, 3, 31, 15, 0, 0));
  assert_int_equal(pa_tz_to_local_us(z, utc(2026, 3, 31, 15, 0, 0)), utc(2026, 4, 1, 0, 0, 0));
  int64_t us;
  assert_int_equal(pa_tz_from_local(z, 2026, 2, 30, 0, 0, 0, &us), PA_MALFORMED);
  assert_int_equal(pa_tz_from_local(z, 2026, 2, 1, 24, 0, 0, &us), PA_MALFORMED);
  pa_tz_free(z);
}

static void test_new_york(void **state)
{
  (void)state;
  pa_tz *z;
  struct pa_err err;
  pa_err_clear(&err);
  assert_int_equal(pa_tz_load("America/New_York", &z, &err), PA_OK);
  /* 2026: DST from 2026-03-08 07:00Z to 2026-11-01 06:00Z */
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 3, 8, 6, 59, 59)), -18000);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 3, 8, 7, 0, 0)), -14400);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 11, 1, 5, 59, 59)), -14400);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 11, 1, 6, 0, 0)), -18000);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 11, 1, 6, 0, 0) - 1), -14400); /* µs */
  /* plain times either side */
  assert_int_equal(local(z, 2026, 1, 15, 12, 0, 0), utc(2026, 1, 15, 17, 0, 0));
  assert_int_equal(local(z, 2026, 7, 15, 12, 0, 0), utc(2026, 7, 15, 16, 0, 0));
  /* the gap: 02:30 does not exist; read with EST, it is 03:30 EDT */
  assert_int_equal(local(z, 2026, 3, 8, 2, 30, 0), utc(2026, 3, 8, 7, 30, 0));
  assert_int_equal(local(z, 2026, 3, 8, 1, 59, 59), utc(2026, 3, 8, 6, 59, 59));
  assert_int_equal(local(z, 2026, 3, 8, 3, 0, 0), utc(2026, 3, 8, 7, 0, 0));
  /* the overlap: 01:30 happens twice; the first (EDT) is taken */
  assert_int_equal(local(z, 2026, 11, 1, 1, 30, 0), utc(2026, 11, 1, 5, 30, 0));
  assert_int_equal(local(z, 2026, 11, 1, 2, 0, 0), utc(2026, 11, 1, 7, 0, 0));
  /* round trip of every hour across both changes */
  for (int64_t t = utc(2026, 3, 7, 0, 0, 0); t < utc(2026, 3, 10, 0, 0, 0); t += 1800 * S) {
    int64_t w = pa_tz_to_local_us(z, t) / S;
    time_t tt = (time_t)w;
    struct tm f;
    gmtime_r(&tt, &f);
    assert_int_equal(local(z, f.tm_year + 1900, f.tm_mon + 1, f.tm_mday, f.tm_hour, f.tm_min,
                           f.tm_sec), t);
  }
  /* past the last sampled year the last offset holds */
  assert_int_equal(pa_tz_offset_s(z, utc(2150, 1, 1, 0, 0, 0)), -18000);
  pa_tz_free(z);
}

static void test_utc_and_bad(void **state)
{
  (void)state;
  pa_tz *z;
  struct pa_err err;
  pa_err_clear(&err);
  assert_int_equal(pa_tz_load("UTC", &z, &err), PA_OK);
  assert_int_equal(pa_tz_offset_s(z, utc(2026, 7, 1, 0, 0, 0)), 0);
  assert_int_equal(local(z, 2026, 7, 1, 1, 2, 3), utc(2026, 7, 1, 1, 2, 3));
  pa_tz_free(z);
  static const char *const bad[] = {"Mars/Olympus", "Asia", "../../etc/passwd", "/etc/localtime",
                                    "", "Asia/Tokyo ", "zone.tab"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    z = (pa_tz *)1;
    pa_err_clear(&err);
    assert_int_equal(pa_tz_load(bad[i], &z, &err), PA_MALFORMED);
    assert_null(z);
    assert_non_null(strstr(err.msg, "time zone"));
  }
  pa_err_clear(&err);
  pa_tz_load("Mars/Olympus", &z, &err);
  assert_string_equal(err.msg, "\"Mars/Olympus\" is not a known time zone "
                               "(no TZif file /usr/share/zoneinfo/Mars/Olympus)");
}

/* Loading must leave TZ as it was, set or not. */
static void test_tz_env_restored(void **state)
{
  (void)state;
  pa_tz *z;
  struct pa_err err;
  pa_err_clear(&err);
  setenv("TZ", "Europe/Paris", 1);
  assert_int_equal(pa_tz_load("Asia/Tokyo", &z, &err), PA_OK);
  assert_string_equal(getenv("TZ"), "Europe/Paris");
  pa_tz_free(z);
  unsetenv("TZ");
  assert_int_equal(pa_tz_load("Asia/Tokyo", &z, &err), PA_OK);
  assert_null(getenv("TZ"));
  pa_tz_free(z);
}

static double ns_per(struct timespec a, struct timespec b, long n)
{
  return ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / (double)n;
}

static void test_speed(void **state)
{
  (void)state;
  pa_tz *z;
  struct pa_err err;
  struct timespec a, b;
  const long n = 200000;
  uint64_t sum = 0; /* wraps: only keeps the loops from being optimised away */
  int64_t us;
  pa_err_clear(&err);
  clock_gettime(CLOCK_MONOTONIC, &a);
  assert_int_equal(pa_tz_load("America/New_York", &z, &err), PA_OK);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("# tz: load America/New_York %.2f ms\n", ns_per(a, b, 1) / 1e6);
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++)
    sum += (uint64_t)pa_tz_to_local_us(z, utc(2020, 1, 1, 0, 0, 0) + i * 997 * S);
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("# tz: utc->local %.1f ns per conversion\n", ns_per(a, b, n));
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    pa_tz_from_local(z, 2026, 1 + (int)(i % 12), 1 + (int)(i % 28), (int)(i % 24), 30, 0, &us);
    sum += (uint64_t)us;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("# tz: local->utc %.1f ns per conversion\n", ns_per(a, b, n));
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n / 10; i++) {
    pa_time_from_local(2026, 1 + (int)(i % 12), 1 + (int)(i % 28), (int)(i % 24), 30, 0, 0,
                       (i & 1) ? "America/New_York" : "Asia/Tokyo", &us);
    sum += (uint64_t)us;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("# tz: for comparison, mktime switching TZ each call %.1f ns\n", ns_per(a, b, n / 10));
  assert_true(sum != 0);
  pa_tz_free(z);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_tokyo),
    cmocka_unit_test(test_new_york),
    cmocka_unit_test(test_utc_and_bad),
    cmocka_unit_test(test_tz_env_restored),
    cmocka_unit_test(test_speed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
