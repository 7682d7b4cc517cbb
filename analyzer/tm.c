/* tm.c — time parsing and zones (see tm.h). */
#include "tm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t pa_time_now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int valid(int year, int mon, int day, int hour, int min, int sec)
{
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || year > 9999 || mon < 1 || mon > 12 || day < 1 || hour < 0 ||
      hour > 23 || min < 0 || min > 59 || sec < 0 || sec > 60)
    return 0;
  return day <= mdays[mon - 1] + (mon == 2 && leap(year));
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, int m, int d)
{
  int64_t era, yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = y - era * 400;
  doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

pa_rc pa_time_from_utc(int year, int mon, int day, int hour, int min, int sec,
                       int64_t usec, int64_t *us_out)
{
  if (!valid(year, mon, day, hour, min, sec) || usec < 0 || usec > 999999)
    return PA_MALFORMED;
  if (sec == 60)
    sec = 59;
  *us_out = ((days_from_civil(year, mon, day) * 86400) + hour * 3600 + min * 60 + sec) *
              1000000 + usec;
  return PA_OK;
}

/* The zone TZ is set to, so switching back and forth costs nothing. TZ is
 * process-wide: the lock keeps threads that parse at once (ingest's
 * workers) from switching it under each other's mktime. */
static char cur_tz[128];
static pthread_mutex_t tz_lock = PTHREAD_MUTEX_INITIALIZER;

void pa_time_tz_lock(void) { pthread_mutex_lock(&tz_lock); }
void pa_time_tz_unlock(void) { pthread_mutex_unlock(&tz_lock); }

static void use_tz(const char *tz)
{
  if (!strcmp(cur_tz, tz))
    return;
  snprintf(cur_tz, sizeof cur_tz, "%s", tz);
  setenv("TZ", tz, 1);
  tzset();
}

pa_rc pa_time_from_local(int year, int mon, int day, int hour, int min, int sec,
                         int64_t usec, const char *tz, int64_t *us_out)
{
  struct tm t;
  time_t tt;

  if (!valid(year, mon, day, hour, min, sec) || usec < 0 || usec > 999999)
    return PA_MALFORMED;
  if (sec == 60)
    sec = 59;
  memset(&t, 0, sizeof t);
  t.tm_year = year - 1900;
  t.tm_mon = mon - 1;
  t.tm_mday = day;
  t.tm_hour = hour;
  t.tm_min = min;
  t.tm_sec = sec;
  t.tm_isdst = -1;
  pthread_mutex_lock(&tz_lock);
  use_tz(tz ? tz : PA_DEFAULT_TZ);
  tt = mktime(&t);
  pthread_mutex_unlock(&tz_lock);
  if (tt == (time_t)-1 && !(year == 1969 || year == 1970))
    return PA_MALFORMED;
  *us_out = (int64_t)tt * 1000000 + usec;
  return PA_OK;
}

/* Reads exactly n digits. */
static int digits(const char *p, size_t len, size_t *i, int n, int *v)
{
  int x = 0;
  if (len - *i < (size_t)n)
    return 0;
  for (int k = 0; k < n; k++) {
    char c = p[*i + k];
    if (c < '0' || c > '9')
      return 0;
    x = x * 10 + (c - '0');
  }
  *i += n;
  *v = x;
  return 1;
}

static int at(const char *p, size_t len, size_t i, char c) { return i < len && p[i] == c; }

pa_rc pa_time_parse_iso(const char *p, size_t len, const char *tz, int64_t *us_out,
                        int *zoned_out, size_t *used_out)
{
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, zh = 0, zm = 0, sign = 0;
  int64_t frac = 0;
  size_t i = 0;
  pa_rc rc;

  if (!digits(p, len, &i, 4, &y) || !at(p, len, i++, '-') || !digits(p, len, &i, 2, &mo) ||
      !at(p, len, i++, '-') || !digits(p, len, &i, 2, &d))
    return PA_MALFORMED;
  if (i < len && (p[i] == 'T' || p[i] == 't' || p[i] == ' ') && i + 1 < len &&
      p[i + 1] >= '0' && p[i + 1] <= '9') {
    i++;
    if (!digits(p, len, &i, 2, &h) || !at(p, len, i++, ':') || !digits(p, len, &i, 2, &mi))
      return PA_MALFORMED;
    if (at(p, len, i, ':')) {
      i++;
      if (!digits(p, len, &i, 2, &s))
        return PA_MALFORMED;
      if (at(p, len, i, '.') || at(p, len, i, ',')) {
        int n = 0;
        i++;
        if (i >= len || p[i] < '0' || p[i] > '9')
          return PA_MALFORMED;
        for (; i < len && p[i] >= '0' && p[i] <= '9'; i++, n++)
          if (n < 6)
            frac = frac * 10 + (p[i] - '0');
        for (; n < 6; n++)
          frac *= 10;
      }
    }
  }
  if (at(p, len, i, 'Z') || at(p, len, i, 'z')) {
    sign = 1;
    i++;
  } else if (at(p, len, i, '+') || at(p, len, i, '-')) {
    sign = p[i] == '+' ? 1 : -1;
    i++;
    if (!digits(p, len, &i, 2, &zh))
      return PA_MALFORMED;
    if (at(p, len, i, ':'))
      i++;
    if (!digits(p, len, &i, 2, &zm) || zh > 23 || zm > 59)
      return PA_MALFORMED;
  }
  if (!used_out) {
    /* a whole value: anything after the time but blanks is a zone or a word
     * that was not understood, and reading it as local time would shift it */
    size_t k = i;
    while (k < len && (p[k] == ' ' || p[k] == '\t' || p[k] == '\r' || p[k] == '\n'))
      k++;
    if (k < len)
      return PA_MALFORMED;
  }
  if (sign) {
    rc = pa_time_from_utc(y, mo, d, h, mi, s, frac, us_out);
    if (rc == PA_OK)
      *us_out -= (int64_t)sign * (zh * 3600 + zm * 60) * 1000000;
  } else {
    rc = pa_time_from_local(y, mo, d, h, mi, s, frac, tz, us_out);
  }
  if (rc)
    return rc;
  if (zoned_out)
    *zoned_out = sign != 0;
  if (used_out)
    *used_out = i;
  return PA_OK;
}

void pa_time_format(int64_t us, const char *tz, char out[40])
{
  time_t secs = (time_t)(us >= 0 ? us / 1000000 : (us - 999999) / 1000000);
  int64_t frac = us - (int64_t)secs * 1000000;
  struct tm t;
  char date[24], zone[8];

  if (tz) {
    pthread_mutex_lock(&tz_lock);
    use_tz(tz);
    localtime_r(&secs, &t);
    pthread_mutex_unlock(&tz_lock);
    int off = (int)(t.tm_gmtoff % 86400);
    int a = off < 0 ? -off : off;
    snprintf(zone, sizeof zone, "%c%02d:%02d", off < 0 ? '-' : '+', a / 3600 % 24,
             a % 3600 / 60);
  } else {
    gmtime_r(&secs, &t);
    snprintf(zone, sizeof zone, "Z");
  }
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &t);
  snprintf(out, 40, "%s.%06lld%s", date, (long long)frac, zone);
}

pa_rc pa_duration_parse(const char *s, int64_t *us_out)
{
  const int64_t max_s = 100LL * 366 * 86400;
  int64_t n = 0, unit;
  size_t i = 0;

  if (!s || s[0] < '0' || s[0] > '9')
    return PA_MALFORMED;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    if (n > max_s)
      return PA_LIMIT;
    n = n * 10 + (s[i] - '0');
  }
  switch (s[i]) {
  case 's': unit = 1; break;
  case 'm': unit = 60; break;
  case 'h': unit = 3600; break;
  case 'd': unit = 86400; break;
  default: return PA_MALFORMED;
  }
  if (s[i + 1] != '\0')
    return PA_MALFORMED;
  if (n > max_s / unit)
    return PA_LIMIT;
  *us_out = n * unit * 1000000;
  return PA_OK;
}
