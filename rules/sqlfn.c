/* sqlfn.c — the SQL functions of the rule engine: PCRE2 REGEXP with a
 * compiled-pattern cache, cidr_match, and site-local time (sqlfn.h).
 *
 * State: one struct sqlfn per registration, shared by every function through
 * sqlite3_user_data and reference-counted, so it is freed when the last of
 * them is dropped (the connection closes). Compiled patterns are
 * reference-counted too: the cache holds one reference, and a statement's
 * auxdata (a constant pattern argument) holds another, so an entry evicted
 * from the cache stays valid for the statement that still uses it. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "rules/sqlfn.h"

#include "analyzer/limits.h"

#include <arpa/inet.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RE_FLAGS (PCRE2_UTF | PCRE2_MATCH_INVALID_UTF)
#define TS_MAX   (INT64_C(1) << 62) /* |ts| past this is out of range (NULL) */
#define US_DAY   (INT64_C(86400) * 1000000)

#ifndef SQLITE_INNOCUOUS
#define SQLITE_INNOCUOUS 0
#endif
#define FN_FLAGS (SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS)

/* One compiled pattern. */
struct re_entry {
  pcre2_code *re;
  char *pat;     /* owned copy of the pattern bytes (the key) */
  size_t len;    /* bytes of pat */
  uint64_t hash; /* FNV-1a of pat */
  int refs;      /* cache slot + auxdata holders + a running call */
};

struct slot {
  struct re_entry *e; /* NULL: free */
  uint64_t used;      /* tick of the last hit, for LRU eviction */
};

struct sqlfn {
  int refs; /* one per registered function, plus the registering call */
  pa_sqlfn_tz_fn tz_fn; /* NULL: UTC */
  const void *tz;       /* borrowed */
  pcre2_match_context *mctx;
  pcre2_match_data *md; /* one per connection: calls on a connection never overlap */
  uint64_t tick;
  struct slot cache[PA_SQLFN_REGEX_CACHE];
};

/* ---- regexp ------------------------------------------------------------- */

static void entry_unref(void *p)
{
  struct re_entry *e = p;
  if (!e || --e->refs > 0)
    return;
  pcre2_code_free(e->re);
  free(e->pat);
  free(e);
}

static uint64_t fnv1a(const char *p, size_t n)
{
  uint64_t h = UINT64_C(14695981039346656037);
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)p[i];
    h *= UINT64_C(1099511628211);
  }
  return h;
}

/* Compiles pat[0..len). On failure *code_out is PCRE2's error code and
 * *off_out the offset. JIT where the platform has it (failure to JIT is not
 * an error: the interpreter runs it). */
static pcre2_code *compile(const char *pat, size_t len, int *code_out, size_t *off_out)
{
  PCRE2_SIZE off = 0;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, len, RE_FLAGS, code_out, &off, NULL);
  *off_out = (size_t)off;
  if (re)
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
  return re;
}

static int shown_len(size_t len) { return len > 200 ? 200 : (int)len; }

/* Finds or compiles pat. Returns the entry with one reference for the
 * caller (entry_unref), or NULL with the SQL error set on ctx. */
static struct re_entry *cache_get(struct sqlfn *f, sqlite3_context *ctx, const char *pat,
                                  size_t len)
{
  uint64_t h = fnv1a(pat, len);
  struct slot *victim = &f->cache[0];
  struct re_entry *e;
  int code;
  size_t off;

  f->tick++;
  for (size_t i = 0; i < PA_SQLFN_REGEX_CACHE; i++) {
    struct slot *s = &f->cache[i];
    if (s->e && s->e->hash == h && s->e->len == len && memcmp(s->e->pat, pat, len) == 0) {
      s->used = f->tick;
      s->e->refs++;
      return s->e;
    }
    if (victim->e && (!s->e || s->used < victim->used))
      victim = s;
  }
  if (len > PA_SQLFN_MAX_REGEX) {
    sqlite3_result_error(ctx, "REGEXP: pattern longer than PA_SQLFN_MAX_REGEX bytes", -1);
    return NULL;
  }
  e = calloc(1, sizeof *e);
  if (!e || !(e->pat = malloc(len + 1))) {
    free(e);
    sqlite3_result_error_nomem(ctx);
    return NULL;
  }
  memcpy(e->pat, pat, len);
  e->pat[len] = '\0';
  e->len = len;
  e->hash = h;
  e->re = compile(pat, len, &code, &off);
  if (!e->re) {
    PCRE2_UCHAR why[160];
    char msg[512];
    free(e->pat);
    free(e);
    if (code == PCRE2_ERROR_NOMEMORY) {
      sqlite3_result_error_nomem(ctx);
      return NULL;
    }
    pcre2_get_error_message(code, why, sizeof why);
    snprintf(msg, sizeof msg, "REGEXP: bad pattern \"%.*s\" at offset %zu: %s", shown_len(len),
             pat, off, (const char *)why);
    sqlite3_result_error(ctx, msg, -1);
    return NULL;
  }
  e->refs = 2; /* the cache slot and the caller */
  entry_unref(victim->e);
  victim->e = e;
  victim->used = f->tick;
  return e;
}

static void fn_regexp(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  struct sqlfn *f = sqlite3_user_data(ctx);
  struct re_entry *e;
  const unsigned char *subj;
  size_t n;
  int rc;

  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  e = sqlite3_get_auxdata(ctx, 0);
  if (e) {
    e->refs++;
  } else {
    const char *pat = (const char *)sqlite3_value_text(argv[0]);
    if (!pat) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    e = cache_get(f, ctx, pat, (size_t)sqlite3_value_bytes(argv[0]));
    if (!e)
      return;
    /* auxdata's own reference: SQLite drops it (entry_unref) when the
     * statement ends, or at once if it cannot keep it. */
    e->refs++;
    sqlite3_set_auxdata(ctx, 0, e, entry_unref);
  }
  subj = sqlite3_value_text(argv[1]);
  if (!subj) {
    sqlite3_result_error_nomem(ctx);
    goto out;
  }
  n = (size_t)sqlite3_value_bytes(argv[1]);
  rc = pcre2_match(e->re, subj, n, 0, 0, f->md, f->mctx);
  if (rc >= 0) {
    sqlite3_result_int(ctx, 1);
  } else if (rc == PCRE2_ERROR_NOMATCH) {
    sqlite3_result_int(ctx, 0);
  } else if (rc == PCRE2_ERROR_NOMEMORY) {
    sqlite3_result_error_nomem(ctx);
  } else {
    PCRE2_UCHAR why[160];
    char msg[512];
    pcre2_get_error_message(rc, why, sizeof why);
    snprintf(msg, sizeof msg, "REGEXP: pattern \"%.*s\" failed on a value: %s", shown_len(e->len),
             e->pat, (const char *)why);
    sqlite3_result_error(ctx, msg, -1);
  }
out:
  entry_unref(e);
}

pa_rc pa_sqlfn_regex_check(const char *pattern, struct pa_err *err)
{
  size_t len = strlen(pattern), off;
  int code;
  pcre2_code *re;

  if (len > PA_SQLFN_MAX_REGEX)
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "regex of %zu bytes: the limit is %d", len,
                      PA_SQLFN_MAX_REGEX);
  re = compile(pattern, len, &code, &off);
  if (!re) {
    PCRE2_UCHAR why[160];
    if (code == PCRE2_ERROR_NOMEMORY)
      return PA_NOMEM;
    pcre2_get_error_message(code, why, sizeof why);
    return pa_err_set(err, PA_RULE, off, 0, "regex error at offset %zu: %s", off,
                      (const char *)why);
  }
  pcre2_code_free(re);
  return PA_OK;
}

/* ---- cidr_match --------------------------------------------------------- */

/* Addresses are held as 16 bytes: IPv4 as ::ffff:a.b.c.d, so an
 * IPv4-mapped IPv6 address and the IPv4 address it maps are the same. */
struct net {
  int ok;         /* 0: malformed (cached too, so a bad constant is parsed once) */
  uint8_t a[16];  /* address, host bits cleared */
  int bits;       /* prefix length over the 16 bytes, 0..128 */
};

/* Parses an address of n bytes (not NUL-terminated). 1 ok, 0 malformed. */
static int parse_addr(const char *s, size_t n, uint8_t out[16], int *is4_out)
{
  char buf[INET6_ADDRSTRLEN + 1];
  uint8_t v4[4];

  if (n == 0 || n >= sizeof buf || memchr(s, '\0', n))
    return 0;
  memcpy(buf, s, n);
  buf[n] = '\0';
  if (inet_pton(AF_INET, buf, v4) == 1) {
    memset(out, 0, 10);
    out[10] = out[11] = 0xff;
    memcpy(out + 12, v4, 4);
    *is4_out = 1;
    return 1;
  }
  *is4_out = 0;
  return inet_pton(AF_INET6, buf, out) == 1;
}

static void parse_net(const char *s, size_t n, struct net *nt)
{
  const char *slash = memchr(s, '/', n);
  size_t alen = slash ? (size_t)(slash - s) : n;
  int is4, p = 0;

  memset(nt, 0, sizeof *nt);
  if (!parse_addr(s, alen, nt->a, &is4))
    return;
  if (slash) {
    const char *d = slash + 1, *end = s + n;
    if (d == end || end - d > 3)
      return;
    for (; d < end; d++) {
      if (*d < '0' || *d > '9')
        return;
      p = p * 10 + (*d - '0');
    }
    if (p > (is4 ? 32 : 128))
      return;
    nt->bits = is4 ? 96 + p : p;
  } else {
    nt->bits = 128;
  }
  /* a net written with host bits set (192.0.2.33/28) means its network */
  for (int i = 0; i < 16; i++) {
    int keep = nt->bits - 8 * i;
    if (keep <= 0)
      nt->a[i] = 0;
    else if (keep < 8)
      nt->a[i] &= (uint8_t)(0xff << (8 - keep));
  }
  nt->ok = 1;
}

int pa_sqlfn_net_valid(const char *net)
{
  struct net nt;
  parse_net(net, strlen(net), &nt);
  return nt.ok;
}

static int in_net(const uint8_t a[16], const struct net *nt)
{
  int full = nt->bits / 8, rest = nt->bits % 8;
  if (memcmp(a, nt->a, (size_t)full) != 0)
    return 0;
  if (rest == 0)
    return 1;
  return (a[full] & (uint8_t)(0xff << (8 - rest))) == nt->a[full];
}

static void fn_cidr_match(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  const struct net *nt;
  struct net local;
  const char *ip;
  uint8_t a[16];
  int is4;

  (void)argc;
  if (sqlite3_value_type(argv[0]) == SQLITE_NULL || sqlite3_value_type(argv[1]) == SQLITE_NULL) {
    sqlite3_result_null(ctx);
    return;
  }
  nt = sqlite3_get_auxdata(ctx, 1);
  if (!nt) {
    const char *s = (const char *)sqlite3_value_text(argv[1]);
    struct net *keep;
    if (!s) {
      sqlite3_result_error_nomem(ctx);
      return;
    }
    parse_net(s, (size_t)sqlite3_value_bytes(argv[1]), &local);
    nt = &local;
    /* a cache only: without memory for it, the next row parses again */
    keep = malloc(sizeof *keep);
    if (keep) {
      *keep = local;
      sqlite3_set_auxdata(ctx, 1, keep, free);
    }
  }
  ip = (const char *)sqlite3_value_text(argv[0]);
  if (!ip) {
    sqlite3_result_error_nomem(ctx);
    return;
  }
  sqlite3_result_int(ctx, nt->ok && parse_addr(ip, (size_t)sqlite3_value_bytes(argv[0]), a, &is4) &&
                            in_net(a, nt));
}

/* ---- local time --------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

/* Days since 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * civil_from_days). */
static void civil_from_days(int64_t z, int64_t *y_out, int *m_out, int *d_out)
{
  z += 719468;
  int64_t era = floor_div(z, 146097);
  int64_t doe = z - era * 146097;                                      /* [0, 146096] */
  int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; /* [0, 399] */
  int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);               /* [0, 365] */
  int64_t mp = (5 * doy + 2) / 153;                                    /* [0, 11] */
  int d = (int)(doy - (153 * mp + 2) / 5 + 1);
  int m = (int)(mp < 10 ? mp + 3 : mp - 9);
  *y_out = yoe + era * 400 + (m <= 2);
  *m_out = m;
  *d_out = d;
}

/* The local wall time of argv[0] as µs; 0 with NULL set on ctx when the
 * argument is NULL or out of range. */
static int local_of(sqlite3_context *ctx, sqlite3_value *v, int64_t *out)
{
  const struct sqlfn *f = sqlite3_user_data(ctx);
  int64_t ts;

  if (sqlite3_value_type(v) == SQLITE_NULL)
    goto null;
  ts = sqlite3_value_int64(v);
  if (ts > TS_MAX || ts < -TS_MAX)
    goto null;
  *out = ts + (f->tz_fn ? (int64_t)f->tz_fn(f->tz, ts) * 1000000 : 0);
  return 1;
null:
  sqlite3_result_null(ctx);
  return 0;
}

static void fn_local_us(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  int64_t l;
  (void)argc;
  if (local_of(ctx, argv[0], &l))
    sqlite3_result_int64(ctx, l);
}

static void fn_local_day(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  int64_t l, y;
  int m, d;
  char buf[32];
  (void)argc;
  if (!local_of(ctx, argv[0], &l))
    return;
  civil_from_days(floor_div(l, US_DAY), &y, &m, &d);
  snprintf(buf, sizeof buf, "%04lld-%02d-%02d", (long long)y, m, d);
  sqlite3_result_text(ctx, buf, -1, SQLITE_TRANSIENT);
}

static void fn_local_minute(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  int64_t l;
  (void)argc;
  if (local_of(ctx, argv[0], &l))
    sqlite3_result_int(ctx, (int)((l - floor_div(l, US_DAY) * US_DAY) / 60000000));
}

static void fn_local_dow(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
  int64_t l, days;
  (void)argc;
  if (!local_of(ctx, argv[0], &l))
    return;
  days = floor_div(l, US_DAY);
  /* 1970-01-01 was a Thursday (4) */
  sqlite3_result_int(ctx, (int)(days + 4 - floor_div(days + 4, 7) * 7));
}

/* ---- registration ------------------------------------------------------- */

static void sqlfn_unref(void *p)
{
  struct sqlfn *f = p;
  if (!f || --f->refs > 0)
    return;
  for (size_t i = 0; i < PA_SQLFN_REGEX_CACHE; i++)
    entry_unref(f->cache[i].e);
  pcre2_match_data_free(f->md);
  pcre2_match_context_free(f->mctx);
  free(f);
}

static const struct {
  const char *name;
  int n_args;
  void (*fn)(sqlite3_context *, int, sqlite3_value **);
} fns[] = {
  {"regexp", 2, fn_regexp},         {"cidr_match", 2, fn_cidr_match},
  {"local_us", 1, fn_local_us},     {"local_day", 1, fn_local_day},
  {"local_minute", 1, fn_local_minute}, {"local_dow", 1, fn_local_dow},
};

pa_rc pa_sqlfn_register(sqlite3 *db, pa_sqlfn_tz_fn tz_fn, const void *tz, struct pa_err *err)
{
  struct sqlfn *f = calloc(1, sizeof *f);
  pa_rc rc = PA_OK;

  if (!f)
    return PA_NOMEM;
  f->refs = 1;
  f->tz_fn = tz_fn;
  f->tz = tz;
  f->mctx = pcre2_match_context_create(NULL);
  f->md = pcre2_match_data_create(1, NULL);
  if (!f->mctx || !f->md) {
    rc = PA_NOMEM;
    goto out;
  }
  pcre2_set_match_limit(f->mctx, PA_SQLFN_MATCH_LIMIT);
  pcre2_set_depth_limit(f->mctx, PA_SQLFN_DEPTH_LIMIT);
  for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
    int src;
    /* SQLite calls sqlfn_unref when the function goes away, and also when
     * this call fails, so the reference is taken first either way. */
    f->refs++;
    src = sqlite3_create_function_v2(db, fns[i].name, fns[i].n_args, FN_FLAGS, f, fns[i].fn, NULL,
                                     NULL, sqlfn_unref);
    if (src != SQLITE_OK) {
      rc = src == SQLITE_NOMEM ? PA_NOMEM
                               : pa_err_set(err, PA_DB, UINT64_MAX, 0, "registering %s(): %s",
                                            fns[i].name, sqlite3_errmsg(db));
      goto out;
    }
  }
out:
  sqlfn_unref(f);
  return rc;
}
