/* syslog.c — RFC 5424 / RFC 3164 parsing, RFC 6587 framing, the file-mode
 * line joiner and body sniffing (see syslog.h and docs/syslog.md).
 *
 * Headers are read by a small grammar over a cursor index, never by fixed
 * offsets; every index is checked against len before the byte is read. */
#define _GNU_SOURCE /* memmem */
#include "syslog.h"

#include "../analyzer/limits.h"
#include "../analyzer/tm.h"

#include <string.h>

#define DAY_US (86400LL * 1000000)

static int is_digit(uint8_t c) { return c >= '0' && c <= '9'; }
static uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? (uint8_t)(c | 0x20) : c; }

static struct pa_syslog_str str(const uint8_t *p, size_t len)
{
  struct pa_syslog_str s = {p, len};
  return s;
}

size_t pa_syslog_str_copy(char *dst, size_t cap, struct pa_syslog_str s)
{
  size_t n = s.len < cap - 1 ? s.len : cap - 1;
  for (size_t i = 0; i < n; i++)
    dst[i] = s.p[i] ? (char)s.p[i] : '?';
  dst[n] = '\0';
  return n;
}

int pa_syslog_str_eq(struct pa_syslog_str s, const char *z)
{
  size_t n = strlen(z);
  return s.p && s.len == n && memcmp(s.p, z, n) == 0;
}

void pa_syslog_opts_init(struct pa_syslog_opts *o, int64_t ref_us, const char *tz)
{
  char buf[40];
  o->ref_us = ref_us ? ref_us : pa_time_now();
  o->tz = tz;
  pa_time_format(o->ref_us, tz ? tz : PA_DEFAULT_TZ, buf);
  o->ref_year = (buf[0] - '0') * 1000 + (buf[1] - '0') * 100 + (buf[2] - '0') * 10 + (buf[3] - '0');
}

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

pa_rc pa_syslog_3164_time(int year, int mon, int day, int hour, int min, int sec,
                          int64_t usec, const struct pa_syslog_opts *o, int64_t *us_out,
                          int *inferred_out)
{
  struct pa_syslog_opts def;
  int ref_year, y;

  if (inferred_out)
    *inferred_out = 0;
  if (!o || !o->ref_year) {
    pa_syslog_opts_init(&def, o ? o->ref_us : 0, o ? o->tz : NULL);
    o = &def;
  }
  if (year > 0)
    return pa_time_from_local(year, mon, day, hour, min, sec, usec, o->tz, us_out);
  ref_year = o->ref_year;
  y = ref_year;
  if (mon == 2 && day == 29)
    while (!leap(y) && y > ref_year - 8)
      y--;
  for (; y >= ref_year - 8; y--) {
    int64_t us;
    if (mon == 2 && day == 29 && !leap(y))
      continue;
    if (pa_time_from_local(y, mon, day, hour, min, sec, usec, o->tz, &us) != PA_OK)
      return PA_MALFORMED;
    if (y == ref_year && us > o->ref_us + 31 * DAY_US)
      continue; /* a December line read in January belongs to last year */
    *us_out = us;
    if (inferred_out)
      *inferred_out = 1;
    return PA_OK;
  }
  return PA_MALFORMED;
}

/* ---- PRI, common pieces ------------------------------------------------ */

/* "<" 1*3DIGIT ">" with PRIVAL <= 191 at p[*i]; moves *i past it. */
static int parse_pri(const uint8_t *p, size_t len, size_t *i, int *pri)
{
  size_t k = *i;
  int v = 0, n = 0;
  if (k >= len || p[k] != '<')
    return 0;
  for (k++; k < len && is_digit(p[k]) && n < 4; k++, n++)
    v = v * 10 + (p[k] - '0');
  if (n < 1 || n > 3 || k >= len || p[k] != '>' || v > 191)
    return 0;
  *pri = v;
  *i = k + 1;
  return 1;
}

static size_t tok_end(const uint8_t *p, size_t len, size_t i)
{
  while (i < len && p[i] != ' ')
    i++;
  return i;
}

static const char months[12][4] = {"jan", "feb", "mar", "apr", "may", "jun",
                                   "jul", "aug", "sep", "oct", "nov", "dec"};

/* Month name (any case) at p[i..i+3); 1..12, 0 none. *odd set when not "Mmm". */
static int month_at(const uint8_t *p, size_t len, size_t i, int *odd)
{
  if (len < 3 || i > len - 3)
    return 0;
  for (int m = 0; m < 12; m++)
    if (lower(p[i]) == (uint8_t)months[m][0] && lower(p[i + 1]) == (uint8_t)months[m][1] &&
        lower(p[i + 2]) == (uint8_t)months[m][2]) {
      if (odd && !(p[i] >= 'A' && p[i] <= 'Z' && p[i + 1] >= 'a' && p[i + 2] >= 'a'))
        *odd = 1;
      return m + 1;
    }
  return 0;
}

/* 1..max digits at p[*i]; value in *v. */
static int num_at(const uint8_t *p, size_t len, size_t *i, int min, int max, int *v)
{
  int n = 0, x = 0;
  size_t k = *i;
  while (k < len && is_digit(p[k]) && n < max) {
    x = x * 10 + (p[k] - '0');
    k++;
    n++;
  }
  if (n < min || (k < len && is_digit(p[k])))
    return 0;
  *v = x;
  *i = k;
  return 1;
}

static int sp_or_end(const uint8_t *p, size_t len, size_t i) { return i >= len || p[i] == ' '; }

/* ---- RFC 5424 ----------------------------------------------------------- */

/* After PRI: VERSION SP (TIMESTAMP | "-") — the 5424 test of formats.md §2.2. */
static int looks_5424(const uint8_t *p, size_t len, size_t i)
{
  int v;
  if (i >= len || p[i] < '1' || p[i] > '9' || !num_at(p, len, &i, 1, 3, &v))
    return 0;
  if (i >= len || p[i] != ' ')
    return 0;
  i++;
  if (i < len && p[i] == '-' && sp_or_end(p, len, i + 1))
    return 1;
  return len - i >= 11 && is_digit(p[i]) && is_digit(p[i + 1]) && is_digit(p[i + 2]) &&
         is_digit(p[i + 3]) && p[i + 4] == '-';
}

static pa_rc field(const uint8_t *p, size_t len, size_t *i, size_t max, const char *name,
                   struct pa_syslog_str *out, struct pa_syslog_msg *m, struct pa_err *err)
{
  size_t k = *i, s;
  if (k >= len)
    return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: header ends before %s", name);
  if (p[k] != ' ')
    return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: no SP before %s", name);
  s = ++k;
  while (k < len && p[k] > ' ' && p[k] != 127)
    k++;
  if (k < len && p[k] != ' ')
    return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: control byte 0x%02x in %s", p[k], name);
  if (k == s)
    return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: empty %s", name);
  if (k - s > PA_SYSLOG_MAX_HOSTNAME)
    return pa_err_set(err, PA_LIMIT, s, 0, "syslog: %s longer than %d", name,
                      PA_SYSLOG_MAX_HOSTNAME);
  if (k - s > max)
    m->flags |= PA_SYSLOG_F_LONG_FIELD;
  *out = (k - s == 1 && p[s] == '-') ? str(NULL, 0) : str(p + s, k - s);
  *i = k;
  return PA_OK;
}

/* SD-NAME: 1*32 PRINTUSASCII except '=' SP ']' '"' (longer accepted, flagged). */
static int sd_name(const uint8_t *p, size_t len, size_t *i, struct pa_syslog_msg *m)
{
  size_t k = *i;
  while (k < len && p[k] > ' ' && p[k] < 127 && p[k] != '=' && p[k] != ']' && p[k] != '"')
    k++;
  if (k == *i || k - *i > PA_SYSLOG_MAX_HOSTNAME)
    return 0;
  if (k - *i > 32)
    m->flags |= PA_SYSLOG_F_LONG_FIELD;
  *i = k;
  return 1;
}

static pa_rc parse_sd(const uint8_t *p, size_t len, size_t *i, struct pa_syslog_msg *m,
                      struct pa_err *err)
{
  size_t k = *i, start = *i;
  unsigned params = 0;

  while (k < len && p[k] == '[') {
    if (m->sd_count >= PA_SYSLOG_MAX_SD_ELEMS)
      return pa_err_set(err, PA_LIMIT, k, 0, "syslog: more than %d SD-ELEMENTs",
                        PA_SYSLOG_MAX_SD_ELEMS);
    k++;
    if (!sd_name(p, len, &k, m))
      return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: bad SD-ID");
    for (;;) {
      if (k >= len)
        return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: unterminated SD-ELEMENT");
      if (p[k] == ']') {
        k++;
        break;
      }
      if (p[k] != ' ')
        return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: unexpected byte in SD-ELEMENT");
      k++;
      if (++params > PA_SYSLOG_MAX_SD_PARAMS)
        return pa_err_set(err, PA_LIMIT, k, 0, "syslog: more than %d SD-PARAMs",
                          PA_SYSLOG_MAX_SD_PARAMS);
      if (!sd_name(p, len, &k, m))
        return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: bad PARAM-NAME");
      if (k >= len || p[k] != '=')
        return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: no '=' after PARAM-NAME");
      k++;
      if (k >= len || p[k] != '"')
        return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: PARAM-VALUE not quoted");
      for (k++;; k++) {
        if (k >= len)
          return pa_err_set(err, PA_MALFORMED, k, 0, "syslog: unterminated PARAM-VALUE");
        if (p[k] == '\\' && k + 1 < len) {
          k++; /* \" \\ \] escape; any other "\x" is kept literally, also skipped */
          continue;
        }
        if (p[k] == '"')
          break;
      }
      k++;
    }
    m->sd_count++;
  }
  m->sd = str(p + start, k - start);
  *i = k;
  return PA_OK;
}

static pa_rc parse_5424(const uint8_t *p, size_t len, size_t i, const struct pa_syslog_opts *o,
                        struct pa_syslog_msg *m, struct pa_err *err)
{
  size_t e;
  pa_rc rc;

  m->format = PA_SYSLOG_RFC5424;
  num_at(p, len, &i, 1, 3, &m->version);
  i++; /* SP, checked by looks_5424 */
  e = tok_end(p, len, i);
  m->ts_raw = str(p + i, e - i);
  if (e - i == 1 && p[i] == '-') {
    m->ts_raw = str(NULL, 0);
    m->flags |= PA_SYSLOG_F_NO_TS;
  } else {
    int64_t us;
    int zoned = 0;
    size_t used = 0;
    if (e - i >= 19 && (p[i + 10] == 'T' || p[i + 10] == 't') &&
        pa_time_parse_iso((const char *)p + i, e - i, o ? o->tz : NULL, &us, &zoned, &used) ==
          PA_OK &&
        used == e - i) {
      m->ts = us;
      m->has_ts = 1;
      if (!zoned)
        m->flags |= PA_SYSLOG_F_TS_NO_ZONE;
      if (p[i + 17] == '6' && p[i + 18] == '0')
        m->flags |= PA_SYSLOG_F_LEAP_SECOND;
    } else {
      m->flags |= PA_SYSLOG_F_BAD_TS;
    }
  }
  i = e;
  if ((rc = field(p, len, &i, 255, "HOSTNAME", &m->hostname, m, err)) ||
      (rc = field(p, len, &i, 48, "APP-NAME", &m->app_name, m, err)) ||
      (rc = field(p, len, &i, 128, "PROCID", &m->procid, m, err)) ||
      (rc = field(p, len, &i, 32, "MSGID", &m->msgid, m, err)))
    goto out;
  if (i >= len) {
    rc = pa_err_set(err, PA_MALFORMED, i, 0, "syslog: no STRUCTURED-DATA");
    goto out;
  }
  if (p[i] != ' ') {
    rc = pa_err_set(err, PA_MALFORMED, i, 0, "syslog: no SP before STRUCTURED-DATA");
    goto out;
  }
  i++;
  if (i < len && p[i] == '-') {
    i++;
  } else if (i < len && p[i] == '[') {
    if ((rc = parse_sd(p, len, &i, m, err)))
      goto out;
  } else {
    rc = pa_err_set(err, PA_MALFORMED, i, 0, "syslog: bad STRUCTURED-DATA");
    goto out;
  }
  if (i < len && p[i] != ' ') {
    rc = pa_err_set(err, PA_MALFORMED, i, 0, "syslog: no SP after STRUCTURED-DATA");
    goto out;
  }
  if (i < len)
    i++;
  if (len - i >= 3 && p[i] == 0xEF && p[i + 1] == 0xBB && p[i + 2] == 0xBF) {
    m->bom = 1;
    i += 3;
  }
  rc = PA_OK;
out:
  m->msg = str(p + i, len - i);
  return rc;
}

/* ---- RFC 3164 ----------------------------------------------------------- */

/* hh:mm:ss[.frac] at p[*i]. */
static int clock_at(const uint8_t *p, size_t len, size_t *i, int *h, int *mi, int *s,
                    int64_t *usec, int *odd)
{
  size_t k = *i;
  if (!num_at(p, len, &k, 2, 2, h) || k >= len || p[k] != ':' || (k++, 0) ||
      !num_at(p, len, &k, 2, 2, mi) || k >= len || p[k] != ':' || (k++, 0) ||
      !num_at(p, len, &k, 2, 2, s))
    return 0;
  *usec = 0;
  if (k + 1 < len && p[k] == '.' && is_digit(p[k + 1])) {
    int n = 0;
    for (k++; k < len && is_digit(p[k]); k++, n++)
      if (n < 6)
        *usec = *usec * 10 + (p[k] - '0');
    for (; n < 6; n++)
      *usec *= 10;
    *odd = 1;
  }
  *i = k;
  return 1;
}

/* 4-digit year 1970..2999 at p[*i] followed by SP or end. */
static int year_at(const uint8_t *p, size_t len, size_t *i, int *y)
{
  size_t k = *i;
  int v;
  if (!num_at(p, len, &k, 4, 4, &v) || v < 1970 || v > 2999 || !sp_or_end(p, len, k))
    return 0;
  *y = v;
  *i = k;
  return 1;
}

/* A zone name after a 3164 stamp: "UTC"/"GMT" (used), a few common
 * abbreviations or "TZ[+-]N" (skipped, flagged). 1 UTC, 2 skipped, 0 none. */
static int zone_at(const uint8_t *p, size_t len, size_t *i)
{
  static const char *const names[] = {"UTC", "GMT", "JST", "KST", "CST", "CDT", "EST", "EDT",
                                      "MST", "MDT", "PST", "PDT", "CET", "CEST", "BST", "IST"};
  size_t k = *i, e = tok_end(p, len, k);
  if (e == k || e >= len)
    return 0; /* a zone must be followed by something */
  for (size_t n = 0; n < sizeof names / sizeof names[0]; n++)
    if (strlen(names[n]) == e - k && memcmp(p + k, names[n], e - k) == 0) {
      *i = e;
      return n < 2 ? 1 : 2;
    }
  if (e - k >= 4 && e - k <= 7 && p[k] == 'T' && p[k + 1] == 'Z' &&
      (p[k + 2] == '+' || p[k + 2] == '-')) {
    for (size_t j = k + 3; j < e; j++)
      if (!is_digit(p[j]) && p[j] != ':')
        return 0;
    *i = e;
    return 2;
  }
  return 0;
}

/* The 3164 timestamp variants at p[*i]; fills m->ts. 1 found, 0 none. */
static int stamp_3164(const uint8_t *p, size_t len, size_t *i, const struct pa_syslog_opts *o,
                      struct pa_syslog_msg *m)
{
  size_t k = *i, start = *i;
  int year = 0, mon, day, h, mi, s, odd = 0, inferred = 0, z;
  int64_t usec = 0, us;
  int utc = 0;
  struct pa_syslog_opts o2;

  /* RFC 3339 stamp without VERSION: "<14>2010-08-30T23:00:05Z host" */
  if (len - k >= 19 && is_digit(p[k]) && p[k + 4] == '-' && (p[k + 10] == 'T' || p[k + 10] == 't')) {
    size_t e = tok_end(p, len, k), used = 0;
    int zoned = 0;
    if (pa_time_parse_iso((const char *)p + k, e - k, o ? o->tz : NULL, &us, &zoned, &used) !=
          PA_OK ||
        used != e - k)
      return 0;
    m->ts = us;
    m->has_ts = 1;
    m->flags |= PA_SYSLOG_F_TS_RFC3339 | (zoned ? 0 : PA_SYSLOG_F_TS_NO_ZONE);
    m->ts_raw = str(p + k, e - k);
    *i = e;
    return 1;
  }
  /* year first: "1990 Oct 22 10:52:01" */
  if (year_at(p, len, &k, &year)) {
    k++;
    if (!month_at(p, len, k, &odd))
      return 0;
  } else if (!month_at(p, len, k, &odd)) {
    return 0;
  }
  mon = month_at(p, len, k, NULL);
  k += 3;
  {
    size_t ns = 0, d0;
    while (k < len && p[k] == ' ' && ns < 3) {
      k++;
      ns++;
    }
    d0 = k;
    if (ns == 0 || !num_at(p, len, &k, 1, 2, &day) || k >= len || p[k] != ' ')
      return 0;
    if (!((ns == 1 && k - d0 == 2) || (ns == 2 && k - d0 == 1)))
      odd = 1; /* "Mar 7": unpadded day */
  }
  k++;
  if (!year) {
    size_t y = k;
    if (year_at(p, len, &y, &year)) /* "Mar 7 2008 19:06:53" */
      k = y + 1;
  }
  if (!clock_at(p, len, &k, &h, &mi, &s, &usec, &odd))
    return 0;
  if (k < len && p[k] == ':') { /* "19:06:53:" */
    k++;
    odd = 1;
  }
  if (!sp_or_end(p, len, k))
    return 0;
  m->ts_raw = str(p + start, k - start);
  if (year)
    m->flags |= PA_SYSLOG_F_TS_YEAR;
  /* trailing year ("AUG 10 22:18:24 2009  host") or zone (+ year) */
  if (k < len) {
    size_t t = k;
    while (t < len && p[t] == ' ')
      t++;
    if (!year && year_at(p, len, &t, &year)) {
      k = t;
      m->flags |= PA_SYSLOG_F_TS_YEAR;
    } else if ((z = zone_at(p, len, &t)) != 0) {
      size_t t2 = t;
      k = t;
      if (z == 1)
        utc = 1;
      else
        m->flags |= PA_SYSLOG_F_ZONE_IGNORED;
      while (t2 < len && p[t2] == ' ')
        t2++;
      if (!year && year_at(p, len, &t2, &year)) { /* "CST 1987" */
        k = t2;
        m->flags |= PA_SYSLOG_F_TS_YEAR;
      }
    }
  }
  if (utc) {
    if (o)
      o2 = *o;
    else
      memset(&o2, 0, sizeof o2);
    o2.tz = "UTC";
    o2.ref_year = 0;
    o = &o2;
  }
  if (pa_syslog_3164_time(year, mon, day, h, mi, s, usec, o, &us, &inferred) != PA_OK) {
    m->flags |= PA_SYSLOG_F_BAD_TS;
    *i = k;
    return 1;
  }
  m->ts = us;
  m->has_ts = 1;
  if (!utc)
    m->flags |= PA_SYSLOG_F_TS_NO_ZONE;
  if (inferred)
    m->flags |= PA_SYSLOG_F_YEAR_INFERRED;
  if (odd)
    m->flags |= PA_SYSLOG_F_TS_ODD;
  if (s == 60)
    m->flags |= PA_SYSLOG_F_LEAP_SECOND;
  *i = k;
  return 1;
}

/* "TAG:" or "TAG[PID]:" (colon optional after "]") at p[*i]. */
static int tag_at(const uint8_t *p, size_t len, size_t *i, struct pa_syslog_msg *m, int commit)
{
  size_t k = *i, s = k, te;
  while (k < len && k - s <= PA_SYSLOG_MAX_TAG && p[k] > ' ' && p[k] != ':' && p[k] != '[' &&
         p[k] != ']')
    k++;
  te = k;
  if (te == s || te - s > PA_SYSLOG_MAX_TAG || k >= len)
    return 0;
  if (p[k] == ':') {
    k++;
    if (commit)
      m->procid = str(NULL, 0);
  } else if (p[k] == '[') {
    size_t ps = ++k;
    while (k < len && k - ps <= 32 && p[k] > ' ' && p[k] != ']')
      k++;
    if (k >= len || p[k] != ']' || k == ps)
      return 0;
    if (commit)
      m->procid = str(p + ps, k - ps);
    k++;
    if (k < len && p[k] == ':')
      k++;
    else if (!sp_or_end(p, len, k))
      return 0;
  } else {
    return 0;
  }
  if (!sp_or_end(p, len, k))
    return 0;
  if (commit) {
    m->app_name = str(p + s, te - s);
    if (te - s > 32)
      m->flags |= PA_SYSLOG_F_LONG_TAG;
    if (k < len)
      k++; /* one SP before CONTENT */
    *i = k;
  }
  return 1;
}

static void parse_3164(const uint8_t *p, size_t len, size_t i, const struct pa_syslog_opts *o,
                       struct pa_syslog_msg *m)
{
  m->format = PA_SYSLOG_RFC3164;
  if (m->pri >= 0 && i < len && p[i] == ' ') {
    m->flags |= PA_SYSLOG_F_SP_AFTER_PRI;
    while (i < len && p[i] == ' ')
      i++;
  }
  if (!stamp_3164(p, len, &i, o, m)) {
    /* RFC 3164 §4.3.3: no valid TIMESTAMP => all of it is CONTENT; a
     * leading "TAG[PID]:" is still taken */
    m->flags |= PA_SYSLOG_F_NO_TS | PA_SYSLOG_F_NO_HOSTNAME;
    if (!tag_at(p, len, &i, m, 1))
      m->flags |= PA_SYSLOG_F_NO_TAG;
    m->msg = str(p + i, len - i);
    return;
  }
  while (i < len && p[i] == ' ')
    i++;
  if (i < len && !tag_at(p, len, &i, m, 0)) {
    size_t e = tok_end(p, len, i);
    if (e - i <= PA_SYSLOG_MAX_HOSTNAME) {
      m->hostname = str(p + i, e - i);
      i = e < len ? e + 1 : e;
    } else {
      m->flags |= PA_SYSLOG_F_NO_HOSTNAME;
    }
  } else {
    m->flags |= PA_SYSLOG_F_NO_HOSTNAME;
  }
  if (!tag_at(p, len, &i, m, 1))
    m->flags |= PA_SYSLOG_F_NO_TAG;
  m->msg = str(p + i, len - i);
}

pa_rc pa_syslog_parse(const uint8_t *p, size_t len, const struct pa_syslog_opts *o,
                      struct pa_syslog_msg *out, struct pa_err *err)
{
  size_t i = 0;
  int pri;

  memset(out, 0, sizeof *out);
  out->pri = out->facility = out->severity = -1;
  out->format = PA_SYSLOG_RFC3164;
  while (len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r' || p[len - 1] == '\0')) {
    len--;
    out->flags |= PA_SYSLOG_F_TRAILER;
  }
  if (len == 0) {
    out->msg = str(p, 0);
    return pa_err_set(err, PA_MALFORMED, 0, 0, "syslog: empty message");
  }
  if (parse_pri(p, len, &i, &pri)) {
    out->pri = pri;
    out->facility = pri >> 3;
    out->severity = pri & 7;
    if (looks_5424(p, len, i))
      return parse_5424(p, len, i, o, out, err);
  } else {
    out->flags |= p[0] == '<' ? PA_SYSLOG_F_BAD_PRI : PA_SYSLOG_F_NO_PRI;
  }
  parse_3164(p, len, i, o, out);
  return PA_OK;
}

/* ---- body sniffing ------------------------------------------------------ */

const char *pa_syslog_body_name(enum pa_syslog_body k)
{
  switch (k) {
  case PA_SYSLOG_BODY_ATNA_XML: return "atna-xml";
  case PA_SYSLOG_BODY_IHE_YR4: return "ihe-yr4";
  case PA_SYSLOG_BODY_FHIR_JSON: return "fhir-json";
  case PA_SYSLOG_BODY_XML_OTHER: return "xml";
  case PA_SYSLOG_BODY_TEXT: break;
  }
  return "text";
}

static int is_ws(uint8_t c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

static int has_prefix(const uint8_t *p, size_t len, size_t i, const char *z)
{
  size_t n = strlen(z);
  return len - i >= n && memcmp(p + i, z, n) == 0;
}

/* Past "<?...?>", "<!--...-->", "<!DOCTYPE ...>" and whitespace. */
static size_t skip_prolog(const uint8_t *p, size_t len, size_t i)
{
  for (;;) {
    while (i < len && is_ws(p[i]))
      i++;
    if (has_prefix(p, len, i, "<?")) {
      const uint8_t *e = memmem(p + i, len - i, "?>", 2);
      if (!e)
        return len;
      i = (size_t)(e - p) + 2;
    } else if (has_prefix(p, len, i, "<!--")) {
      const uint8_t *e = memmem(p + i, len - i, "-->", 3);
      if (!e)
        return len;
      i = (size_t)(e - p) + 3;
    } else if (has_prefix(p, len, i, "<!")) {
      const uint8_t *e = memchr(p + i, '>', len - i);
      if (!e)
        return len;
      i = (size_t)(e - p) + 1;
    } else {
      return i;
    }
  }
}

static int root_is(const uint8_t *p, size_t len, size_t i, const char *name)
{
  size_t n = strlen(name), k = i + 1, s;
  /* skip an optional "prefix:" */
  s = k;
  while (k < len && p[k] != ':' && p[k] != '>' && p[k] != '/' && !is_ws(p[k]))
    k++;
  if (k < len && p[k] == ':')
    s = k + 1;
  return len - s >= n && memcmp(p + s, name, n) == 0 &&
         (len - s == n || p[s + n] == '>' || p[s + n] == '/' || is_ws(p[s + n]));
}

enum pa_syslog_body pa_syslog_body_kind(const uint8_t *p, size_t len)
{
  size_t i = 0;

  if (len > PA_SNIFF_MAX)
    len = PA_SNIFF_MAX;
  if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
    i = 3;
  else if (len >= 2 && p[0] == '?' && p[1] == '<')
    i = 1; /* a BOM mangled to '?' by a charset conversion */
  while (i < len && is_ws(p[i]))
    i++;
  if (i >= len)
    return PA_SYSLOG_BODY_TEXT;
  if (p[i] == '<') {
    int decl = has_prefix(p, len, i, "<?xml");
    i = skip_prolog(p, len, i);
    if (i < len && p[i] == '<') {
      if (root_is(p, len, i, "AuditMessage"))
        return PA_SYSLOG_BODY_ATNA_XML;
      if (root_is(p, len, i, "IHEYr4"))
        return PA_SYSLOG_BODY_IHE_YR4;
    }
    return decl ? PA_SYSLOG_BODY_XML_OTHER : PA_SYSLOG_BODY_TEXT;
  }
  if (p[i] == '{') {
    const uint8_t *k = memmem(p + i, len - i, "\"resourceType\"", 14);
    if (k) {
      size_t j = (size_t)(k - p) + 14;
      while (j < len && is_ws(p[j]))
        j++;
      if (j < len && p[j] == ':') {
        j++;
        while (j < len && is_ws(p[j]))
          j++;
        if (has_prefix(p, len, j, "\"AuditEvent\"") || has_prefix(p, len, j, "\"Bundle\""))
          return PA_SYSLOG_BODY_FHIR_JSON;
      }
    }
  }
  return PA_SYSLOG_BODY_TEXT;
}

/* ---- framing ------------------------------------------------------------ */

int pa_syslog_line_is_header(const uint8_t *p, size_t len, int eof)
{
  size_t i = 0;
  int v;

  if (len < 20 && !eof)
    return -1;
  if (len == 0)
    return 0;
  if (p[0] == '<') {
    i = 1;
    return num_at(p, len, &i, 1, 3, &v) && i < len && p[i] == '>';
  }
  if (month_at(p, len, 0, NULL)) {
    i = 3;
    if (i >= len || p[i] != ' ')
      return 0;
    while (i < len && p[i] == ' ' && i < 5)
      i++;
    if (!num_at(p, len, &i, 1, 2, &v) || i >= len || p[i] != ' ')
      return 0;
    i++;
    if (year_at(p, len, &i, &v))
      i++;
    return num_at(p, len, &i, 1, 2, &v) && i < len && p[i] == ':';
  }
  if (len >= 14 && is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3])) {
    if (p[4] == '-' && is_digit(p[5]) && is_digit(p[6]) && p[7] == '-' && is_digit(p[8]) &&
        is_digit(p[9]) && (p[10] == 'T' || p[10] == ' ') && is_digit(p[11]) && is_digit(p[12]) &&
        p[13] == ':')
      return 1;
    if (p[4] == ' ' && month_at(p, len, 5, NULL) && len > 8 && p[8] == ' ')
      return 1;
  }
  return 0;
}

void pa_syslog_framer_init(struct pa_syslog_framer *f, size_t cap, unsigned mode)
{
  memset(f, 0, sizeof *f);
  f->cap = (cap == 0 || cap > PA_MAX_SYSLOG_MSG) ? PA_MAX_SYSLOG_MSG : cap;
  f->mode = mode;
  /* room for the MSG-LEN, its SP and the trailer / join look-ahead */
  pa_buf_init(&f->acc, f->cap + PA_SYSLOG_MAX_LEN_DIGITS + 2 + 32);
}

void pa_syslog_framer_cleanup(struct pa_syslog_framer *f)
{
  pa_buf_cleanup(&f->acc);
}

pa_rc pa_syslog_framer_feed(struct pa_syslog_framer *f, const uint8_t *p, size_t len)
{
  if (f->in_pos < f->in_len || f->eof)
    return PA_USAGE;
  f->in_off += f->in_len;
  f->in = p;
  f->in_len = len;
  f->in_pos = 0;
  f->acc_from_chunk = 0; /* the old chunk's bytes cannot be read again */
  return PA_OK;
}

void pa_syslog_framer_end(struct pa_syslog_framer *f)
{
  f->eof = 1;
}

/* What scan() found at a frame start. */
struct scan {
  int need_more;           /* 1: no decision with these bytes */
  size_t need;             /* octet frame: total bytes needed */
  size_t hint;             /* LF: resume trailer search here */
  size_t hdr;              /* bytes before the payload (MSG-LEN SP) */
  size_t plen;             /* payload bytes */
  size_t consumed;         /* bytes of the frame incl. header and trailer */
  enum pa_syslog_framing framing;
  unsigned flags;
  unsigned lines;
  pa_rc rc;
  const char *why;         /* for err when rc != PA_OK */
};

/* MSG-LEN SP '<' at b[q..]: 1 valid (*v, *hdr set), 0 not, -1 need more. */
static int octet_hdr(const uint8_t *b, size_t n, size_t q, size_t cap, int eof, size_t *v,
                     size_t *hdr, int *absurd)
{
  size_t k = q, x = 0;
  if (absurd)
    *absurd = 0;
  if (k >= n)
    return eof ? 0 : -1;
  if (b[k] < '1' || b[k] > '9')
    return 0;
  while (k < n && is_digit(b[k]) && k - q <= PA_SYSLOG_MAX_LEN_DIGITS) {
    x = x * 10 + (size_t)(b[k] - '0');
    k++;
  }
  if (k - q > PA_SYSLOG_MAX_LEN_DIGITS) {
    if (absurd)
      *absurd = 1;
    return 0;
  }
  if (k >= n)
    return eof ? 0 : -1;
  if (b[k] != ' ')
    return 0;
  if (k + 1 >= n)
    return eof ? 0 : -1;
  if (b[k + 1] != '<')
    return 0;
  if (x > cap) {
    if (absurd)
      *absurd = 1;
    return 0;
  }
  *v = x;
  *hdr = k + 1 - q;
  return 1;
}

static void scan_lf(const struct pa_syslog_framer *f, const uint8_t *b, size_t n, int eof,
                    size_t hint, struct scan *r)
{
  int join = (f->mode & PA_SYSLOG_FRAMING_JOIN) && !f->overlong;
  size_t k = hint;
  unsigned lines = 1;

  r->framing = PA_SYSLOG_LF;
  if (f->overlong) {
    r->flags |= PA_SYSLOG_FRAME_F_CONT;
    r->rc = PA_LIMIT;
    r->why = "syslog: rest of a line cut at the cap";
  }
  for (;;) {
    const uint8_t *lf = memchr(b + k, '\n', n - k);
    size_t e = lf ? (size_t)(lf - b) : n;
    /* NUL ends a frame on the wire (RFC 6587 allows it as a trailer); in a
     * file it is a byte of the line, and only a line's leading NULs (the
     * padding a crash leaves in a log file) are passed over */
    const uint8_t *z = join ? NULL : memchr(b + k, '\0', e - k);
    if (z)
      e = (size_t)(z - b);
    if (e >= n || e > f->cap) {
      /* no trailer within the cap (or in what we have) */
      if (n > f->cap) {
        r->plen = f->cap;
        r->consumed = f->cap;
        r->flags |= PA_SYSLOG_FRAME_F_TRUNCATED;
        r->rc = PA_LIMIT;
        r->why = "syslog: line longer than the cap, cut";
        r->lines = lines;
        return;
      }
      if (!eof) {
        r->need_more = 1;
        r->hint = k;
        return;
      }
      r->plen = n;
      r->consumed = n;
      r->flags |= PA_SYSLOG_FRAME_F_NO_TRAILER;
      break;
    }
    if (join && b[e] == '\n') {
      size_t s = e + 1;
      int h;
      while (s < n && b[s] == '\0')
        s++;
      h = s < n ? pa_syslog_line_is_header(b + s, n - s, eof) : eof ? 0 : -1;
      /* a run of NULs can fill the buffer before the next line shows:
       * never wait past the cap, take it as a continuation then */
      if (h < 0 && n >= f->cap)
        h = 0;
      if (h < 0) {
        r->need_more = 1;
        r->hint = k;
        return;
      }
      if (h == 0 && e + 1 < n) {
        k = e + 1;
        lines++;
        continue;
      }
    }
    r->plen = e;
    r->consumed = e + 1;
    break;
  }
  r->lines = lines;
  /* strip the CR of CRLF; joined frames lose trailing blank lines too */
  while (r->plen > 0 && (b[r->plen - 1] == '\r' || (join && b[r->plen - 1] == '\n')))
    r->plen--;
}

/* Resync in an octet-counted stream: the garbage ends at a trailer or where
 * a plausible MSG-LEN SP '<' begins. hint: where the last call, short of
 * bytes, stopped; resuming there keeps a peer that sends garbage a byte at a
 * time from costing a rescan of everything it sent. */
static void scan_garbage(const struct pa_syslog_framer *f, const uint8_t *b, size_t n, int eof,
                         size_t hint, struct scan *r)
{
  size_t q, v, hdr, lim = n < f->cap ? n : f->cap;
  r->framing = PA_SYSLOG_LF;
  r->flags |= PA_SYSLOG_FRAME_F_RESYNC;
  if (!r->rc)
    r->rc = PA_MALFORMED;
  if (!r->why)
    r->why = "syslog: no octet count at frame start, resynchronised";
  for (q = hint > 1 ? hint : 1; q < lim; q++) {
    if (b[q] == '\n' || b[q] == '\0') {
      r->plen = q;
      r->consumed = q + 1;
      return;
    }
    if (!is_digit(b[q - 1])) {
      int h = octet_hdr(b, n, q, f->cap, eof, &v, &hdr, NULL);
      if (h < 0) {
        r->need_more = 1;
        r->hint = q;
        return;
      }
      if (h > 0) {
        r->plen = q;
        r->consumed = q;
        return;
      }
    }
  }
  if (n > f->cap || eof) {
    r->plen = lim;
    r->consumed = lim;
    if (n > f->cap)
      r->flags |= PA_SYSLOG_FRAME_F_TRUNCATED;
    return;
  }
  r->need_more = 1;
  r->hint = lim;
}

static void scan(struct pa_syslog_framer *f, const uint8_t *b, size_t n, int eof, size_t hint,
                 struct scan *r)
{
  unsigned base = f->mode & 3u;
  size_t v = 0, hdr = 0;
  int absurd = 0, h;

  memset(r, 0, sizeof *r);
  r->lines = 1;
  if (f->overlong || base == PA_SYSLOG_FRAMING_LF ||
      (base == PA_SYSLOG_FRAMING_AUTO && b[0] == '<')) {
    scan_lf(f, b, n, eof, hint, r);
    return;
  }
  h = octet_hdr(b, n, 0, f->cap, eof, &v, &hdr, &absurd);
  if (h < 0) {
    r->need_more = 1;
    return;
  }
  if (h > 0) {
    r->framing = PA_SYSLOG_OCTET;
    r->hdr = hdr;
    r->need = hdr + v;
    if (n < hdr + v) {
      if (!eof) {
        r->need_more = 1;
        return;
      }
      r->plen = n - hdr;
      r->consumed = n;
      r->flags |= PA_SYSLOG_FRAME_F_TRUNCATED;
      r->rc = PA_MALFORMED;
      r->why = "syslog: stream ends inside an octet-counted frame";
      return;
    }
    r->plen = v;
    r->consumed = hdr + v;
    f->octet_seen = 1;
    return;
  }
  if (base == PA_SYSLOG_FRAMING_OCTET || f->octet_seen) {
    if (absurd) {
      r->rc = PA_LIMIT;
      r->why = "syslog: MSG-LEN over the cap, resynchronised";
    }
    scan_garbage(f, b, n, eof, hint, r);
    return;
  }
  scan_lf(f, b, n, eof, hint, r);
  if (is_digit(b[0])) {
    size_t k = 0;
    while (k < n && is_digit(b[k]))
      k++;
    if (k < n && b[k] == ' ')
      r->flags |= PA_SYSLOG_FRAME_F_FALLBACK; /* looked like a MSG-LEN */
  }
}

static int skip_byte(uint8_t c) { return c == '\n' || c == '\r' || c == '\0'; }

static pa_rc emit(struct pa_syslog_framer *f, const uint8_t *b, uint64_t off, const struct scan *r,
                  struct pa_syslog_frame *out, struct pa_err *err)
{
  out->p = b + r->hdr;
  out->len = r->plen;
  out->frame_offset = off;
  out->offset = off + r->hdr;
  out->framing = r->framing;
  out->flags = r->flags;
  out->lines = r->lines;
  if (f->mode & PA_SYSLOG_FRAMING_JOIN) {
    if (r->framing == PA_SYSLOG_LF && !(r->flags & (PA_SYSLOG_FRAME_F_CONT | PA_SYSLOG_FRAME_F_RESYNC))) {
      if (!f->started && pa_syslog_line_is_header(out->p, out->len, 1) != 1)
        out->flags |= PA_SYSLOG_FRAME_F_ORPHAN;
      else
        f->started = 1;
    }
  }
  /* a line cut at the cap continues in the next frame(s) */
  f->overlong = (r->flags & PA_SYSLOG_FRAME_F_TRUNCATED) && r->framing == PA_SYSLOG_LF &&
                !(r->flags & PA_SYSLOG_FRAME_F_RESYNC) && r->consumed == r->plen;
  if (r->rc != PA_OK)
    pa_err_set(err, r->rc, off, 0, "%s", r->why ? r->why : "syslog: bad frame");
  return r->rc;
}

static pa_rc next_inner(struct pa_syslog_framer *f, struct pa_syslog_frame *out,
                        struct pa_err *err)
{
  struct scan r;
  pa_rc rc;

  if (f->hold) {
    size_t left = f->acc.len - f->hold;
    if (left <= f->acc_from_chunk) {
      /* what is left came from the chunk: read it from there again */
      f->in_pos -= left;
      pa_buf_reset(&f->acc);
      f->acc_from_chunk = 0;
    } else {
      pa_buf_consume(&f->acc, f->hold);
      f->acc_off += f->hold;
    }
    f->hold = 0;
    f->need = 0;
    f->hint = 0;
  }
  for (;;) {
    if (f->acc.len == 0) {
      int eof;
      while (f->in_pos < f->in_len && skip_byte(f->in[f->in_pos])) {
        if (f->overlong && f->in[f->in_pos] != '\r')
          f->overlong = 0;
        f->in_pos++;
      }
      if (f->in_pos == f->in_len)
        return PA_NEED_MORE;
      eof = f->eof;
      scan(f, f->in + f->in_pos, f->in_len - f->in_pos, eof, 0, &r);
      if (r.need_more) {
        size_t n = f->in_len - f->in_pos;
        if ((rc = pa_buf_append(&f->acc, f->in + f->in_pos, n)) != PA_OK)
          return rc;
        f->acc_off = f->in_off + f->in_pos;
        f->acc_from_chunk = n;
        f->in_pos = f->in_len;
        f->need = r.need;
        f->hint = r.hint;
        return PA_NEED_MORE;
      }
      rc = emit(f, f->in + f->in_pos, f->in_off + f->in_pos, &r, out, err);
      f->in_pos += r.consumed;
      return rc;
    }
    /* a partial frame is buffered: extend it from the chunk */
    while (f->acc.len > 0 && skip_byte(f->acc.p[0]) && f->need == 0 && f->hint == 0) {
      if (f->overlong && f->acc.p[0] != '\r')
        f->overlong = 0;
      pa_buf_consume(&f->acc, 1);
      f->acc_off++;
      if (f->acc_from_chunk > f->acc.len)
        f->acc_from_chunk = f->acc.len;
    }
    if (f->acc.len == 0)
      continue;
    if (f->in_pos < f->in_len) {
      size_t left = f->in_len - f->in_pos, room = f->acc.cap - f->acc.len, n;
      if (f->need > f->acc.len) {
        n = f->need - f->acc.len;
      } else {
        const uint8_t *lf = memchr(f->in + f->in_pos, '\n', left);
        n = lf ? (size_t)(lf - (f->in + f->in_pos)) + 1 + 24 : left;
      }
      if (n > left)
        n = left;
      if (n > room)
        n = room;
      if (n == 0 && !f->eof)
        return PA_NEED_MORE; /* cannot happen: scan decides at the cap */
      if ((rc = pa_buf_append(&f->acc, f->in + f->in_pos, n)) != PA_OK)
        return rc;
      f->in_pos += n;
      f->acc_from_chunk += n;
    } else if (!f->eof) {
      return PA_NEED_MORE;
    }
    scan(f, f->acc.p, f->acc.len, f->eof && f->in_pos == f->in_len, f->hint, &r);
    if (r.need_more) {
      f->need = r.need;
      f->hint = r.hint;
      if (f->in_pos < f->in_len)
        continue;
      return PA_NEED_MORE;
    }
    f->hold = r.consumed;
    return emit(f, f->acc.p, f->acc_off, &r, out, err);
  }
}

pa_rc pa_syslog_framer_next(struct pa_syslog_framer *f, struct pa_syslog_frame *out,
                            struct pa_err *err)
{
  pa_rc rc = next_inner(f, out, err);
  if (rc == PA_NEED_MORE) {
    f->acc_from_chunk = 0; /* the chunk goes back to the caller: never read it again */
    /* a long message leaves no large buffer behind: a listener holds one
     * framer per client, and a peer must not pin 512 KiB until it leaves */
    if (f->acc.len == 0 && f->acc.size > PA_SYSLOG_KEEP_BUF) {
      size_t cap = f->acc.cap;
      pa_buf_cleanup(&f->acc);
      pa_buf_init(&f->acc, cap);
    }
  }
  return rc;
}
