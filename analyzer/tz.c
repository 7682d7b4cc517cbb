/* tz.c — time zones as offset tables (see tz.h). */
#include "tz.h"

#include "tm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ZONEINFO "/usr/share/zoneinfo/"
#define SAMPLE_FROM 0LL           /* 1970-01-01T00:00Z */
#define SAMPLE_TO 4102444800LL    /* 2100-01-01T00:00Z */
#define SAMPLE_STEP 86400LL       /* one day */
#define MAX_NAME 128

struct transition {
  int64_t start_s; /* first second (UTC) of this offset; INT64_MIN for the first */
  int32_t off_s;   /* seconds east of UTC */
};

struct pa_tz {
  char name[MAX_NAME];
  struct transition *tr; /* owned, sorted by start_s, tr[0].start_s == INT64_MIN */
  size_t n_tr;
};

static int name_ok(const char *name)
{
  size_t n = strlen(name);
  if (n == 0 || n >= MAX_NAME || name[0] == '/' || strstr(name, ".."))
    return 0;
  for (size_t i = 0; i < n; i++) {
    char c = name[i];
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          c == '/' || c == '_' || c == '+' || c == '-'))
      return 0;
  }
  return 1;
}

/* The zone file exists and is TZif (a directory such as "Asia" is not). */
static int zone_file_ok(const char *path)
{
  FILE *f = fopen(path, "rb");
  char magic[4];
  int ok;
  if (!f)
    return 0;
  ok = fread(magic, 1, 4, f) == 4 && !memcmp(magic, "TZif", 4);
  fclose(f);
  return ok;
}

static int32_t sample(int64_t t)
{
  time_t tt = (time_t)t;
  struct tm lt;
  if (!localtime_r(&tt, &lt))
    return 0;
  return (int32_t)lt.tm_gmtoff;
}

static pa_rc push(pa_tz *z, size_t *cap, int64_t start, int32_t off)
{
  if (z->n_tr == *cap) {
    size_t nc = *cap ? *cap * 2 : 64;
    struct transition *t = realloc(z->tr, nc * sizeof *t);
    if (!t)
      return PA_NOMEM;
    z->tr = t;
    *cap = nc;
  }
  z->tr[z->n_tr].start_s = start;
  z->tr[z->n_tr].off_s = off;
  z->n_tr++;
  return PA_OK;
}

/* Samples the zone TZ currently names into z's table. */
static pa_rc build(pa_tz *z)
{
  size_t cap = 0;
  int32_t prev = sample(SAMPLE_FROM);
  pa_rc rc;

  if ((rc = push(z, &cap, INT64_MIN, prev)))
    return rc;
  for (int64_t t = SAMPLE_FROM + SAMPLE_STEP; t <= SAMPLE_TO; t += SAMPLE_STEP) {
    int32_t cur = sample(t);
    int64_t lo, hi;
    if (cur == prev)
      continue;
    /* the change lies in (t - step, t]: bisect to its first second */
    lo = t - SAMPLE_STEP;
    hi = t;
    while (hi - lo > 1) {
      int64_t mid = lo + (hi - lo) / 2;
      if (sample(mid) == prev)
        lo = mid;
      else
        hi = mid;
    }
    if ((rc = push(z, &cap, hi, cur)))
      return rc;
    prev = cur;
  }
  return PA_OK;
}

pa_rc pa_tz_load(const char *name, pa_tz **out, struct pa_err *err)
{
  char path[sizeof ZONEINFO + MAX_NAME], tzval[sizeof path + 1];
  char *old = NULL;
  const char *env;
  pa_tz *z = NULL;
  pa_rc rc;

  *out = NULL;
  if (!name || !name_ok(name))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "\"%.64s\" is not a time zone name",
                      name ? name : "");
  snprintf(path, sizeof path, "%s%s", ZONEINFO, name);
  if (!zone_file_ok(path))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0,
                      "\"%s\" is not a known time zone (no TZif file %s)", name, path);
  if (!(z = calloc(1, sizeof *z)))
    return PA_NOMEM;
  snprintf(z->name, sizeof z->name, "%s", name);
  pa_time_tz_lock();
  if ((env = getenv("TZ")) && !(old = strdup(env))) {
    pa_time_tz_unlock();
    free(z);
    return PA_NOMEM;
  }
  /* the very file checked above, whatever TZDIR says */
  snprintf(tzval, sizeof tzval, ":%s", path);
  if (setenv("TZ", tzval, 1) != 0) {
    rc = PA_NOMEM;
    goto out;
  }
  tzset();
  rc = build(z);
  /* restore exactly what was there, so tm.c's cached zone stays true */
  if (old)
    setenv("TZ", old, 1);
  else
    unsetenv("TZ");
  tzset();
out:
  pa_time_tz_unlock();
  free(old);
  if (rc) {
    pa_tz_free(z);
    return rc;
  }
  *out = z;
  return PA_OK;
}

void pa_tz_free(pa_tz *tz)
{
  if (!tz)
    return;
  free(tz->tr);
  free(tz);
}

const char *pa_tz_name(const pa_tz *tz) { return tz->name; }

static int32_t offset_at(const pa_tz *tz, int64_t t_s)
{
  size_t lo = 0, hi = tz->n_tr; /* tr[lo].start_s <= t_s always (tr[0] is INT64_MIN) */
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (tz->tr[mid].start_s <= t_s)
      lo = mid;
    else
      hi = mid;
  }
  return tz->tr[lo].off_s;
}

static int64_t floor_s(int64_t us) { return us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000); }

int32_t pa_tz_offset_s(const pa_tz *tz, int64_t utc_us) { return offset_at(tz, floor_s(utc_us)); }

int64_t pa_tz_to_local_us(const pa_tz *tz, int64_t utc_us)
{
  return utc_us + (int64_t)offset_at(tz, floor_s(utc_us)) * 1000000;
}

pa_rc pa_tz_from_local(const pa_tz *tz, int y, int mon, int d, int h, int mi, int s,
                       int64_t *utc_us_out)
{
  int64_t wall_us, wall_s;
  int32_t before, after;

  if (s > 59 || pa_time_from_utc(y, mon, d, h, mi, s, 0, &wall_us) != PA_OK)
    return PA_MALFORMED;
  wall_s = wall_us / 1000000;
  /* offsets are under a day, so the wall time read as UTC a day either side
   * lies before and after any change that could make it ambiguous */
  before = offset_at(tz, wall_s - 86400);
  after = offset_at(tz, wall_s + 86400);
  /* the earlier instant first: with before, then with after */
  if (offset_at(tz, wall_s - before) == before) {
    int64_t a = wall_s - before, b = wall_s - after;
    if (after != before && offset_at(tz, b) == after && b < a)
      a = b;
    *utc_us_out = a * 1000000;
    return PA_OK;
  }
  if (offset_at(tz, wall_s - after) == after) {
    *utc_us_out = (wall_s - after) * 1000000;
    return PA_OK;
  }
  /* in a gap: the offset in force before it */
  *utc_us_out = (wall_s - before) * 1000000;
  return PA_OK;
}
