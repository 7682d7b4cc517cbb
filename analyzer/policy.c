/* policy.c — load, validate and install the site policy (see policy.h).
 *
 * One pass over the JSON collects every error; validators take `where`, the
 * prefix of the line ("policy.json: users[3].valid_to" or
 * "roster.csv: line 5: valid_to"), so the JSON and the roster CSV report
 * alike. Out of memory sets a flag that ends the load with PA_NOMEM. */
#include "policy.h"
#include "policy_int.h"

#include "limits.h"
#include "tm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* ---- vocabularies (policy.md) ---------------------------------------- */

static const char *const ops_vocab[] = {
  "login", "logout", "query", "retrieve", "store", "view", "report",
  "export", "import", "delete", "modify", "admin", "audit-read",
};
#define N_OPS (sizeof ops_vocab / sizeof ops_vocab[0])
#define OPS_LIST "login, logout, query, retrieve, store, view, report, export, import, " \
                 "delete, modify, admin, audit-read"

static const char *const dimse_vocab[] = {
  "C-ECHO", "C-FIND", "C-MOVE", "C-GET", "C-STORE", "N-ACTION",
  "N-CREATE", "N-DELETE", "N-EVENT-REPORT", "N-GET", "N-SET",
};
#define N_DIMSE (sizeof dimse_vocab / sizeof dimse_vocab[0])

static const char *const kinds[] = {"person", "shared", "emergency", "service"};
#define N_KINDS (sizeof kinds / sizeof kinds[0])

static const char *const dow_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

static int in_vocab(const char *const *v, size_t n, const char *s)
{
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i], s))
      return (int)i;
  return -1;
}

/* ---- the policy ------------------------------------------------------ */

struct strv {
  char **v; /* owned strings */
  size_t n, cap;
};

struct window {
  int64_t from, to; /* µs UTC, from < to */
};

struct user {
  char *id, *name, *role, *department; /* owned; NULL when absent */
  int has_from, has_to;
  int64_t valid_from; /* µs UTC, local midnight starting the day */
  int64_t valid_to;   /* µs UTC, exclusive: local midnight after the day */
  const char *kind;   /* static, one of kinds[] */
  int mfa;            /* -1 not given, 0, 1 */
  struct window *w;   /* owned */
  size_t n_w;
  int from_roster;
  size_t src;         /* users[] index or roster line */
  int drop;           /* merge: replaced by a users entry */
};

struct role {
  char *name;
  unsigned ops; /* bit i: ops_vocab[i] */
};

struct ae {
  char *title, *kind;
  struct strv ips, ops, dests;
  int restricted; /* `may` given */
  int has_dests;  /* `move_destinations` given */
};

struct param {
  char *rule, *name, *text;
};

struct req {
  const char *name; /* static */
  int is_real;
  int64_t i;
  double d;
};

struct exc {
  char *rule, *subject, *reason;
  int has_until;
  int64_t until; /* µs UTC, exclusive end of the until day */
};

struct pa_policy {
  char *path;
  char *site_name;
  char *tz_name;
  pa_tz *tz;
  struct user *users;
  size_t n_users, cap_users, n_roster;
  struct role *roles;
  size_t n_roles, cap_roles;
  int has_roles;
  struct ae *aes;
  size_t n_aes;
  struct strv vips;
  int has_hours;
  unsigned days; /* bit d: dow d (0 Sun) */
  int start_min, end_min;
  struct strv holidays;
  struct param *params; /* thresholds, file order */
  size_t n_params, cap_params;
  struct param reqp[4]; /* require.* as written (rule "require") */
  size_t n_reqp;
  struct req reqs[4];
  size_t n_reqs;
  struct strv disabled;
  struct exc *excs;
  size_t n_excs;
  struct strv warnings;
};

struct ctx {
  pa_policy *p;
  const char *label;
  const char *base_dir;
  struct strv errors;
  size_t dropped;
  int nomem;
  int64_t now;
  char roster_path[4096]; /* resolved roster_csv, names its lines */
};

/* ---- small helpers --------------------------------------------------- */

static char *xstrdup(struct ctx *c, const char *s)
{
  char *d;
  if (!s)
    return NULL;
  if (!(d = strdup(s)))
    c->nomem = 1;
  return d;
}

static int strv_take(struct strv *v, char *s)
{
  if (!s)
    return -1;
  if (v->n == v->cap) {
    size_t nc = v->cap ? v->cap * 2 : 8;
    char **t = realloc(v->v, nc * sizeof *t);
    if (!t) {
      free(s);
      return -1;
    }
    v->v = t;
    v->cap = nc;
  }
  v->v[v->n++] = s;
  return 0;
}

static void strv_push(struct ctx *c, struct strv *v, const char *s)
{
  if (strv_take(v, xstrdup(c, s)))
    c->nomem = 1;
}

static void strv_free(struct strv *v)
{
  for (size_t i = 0; i < v->n; i++)
    free(v->v[i]);
  free(v->v);
  v->v = NULL;
  v->n = v->cap = 0;
}

static char *vfmt(const char *fmt, va_list ap)
{
  char small[512];
  va_list ap2;
  int n;
  char *s;
  va_copy(ap2, ap);
  n = vsnprintf(small, sizeof small, fmt, ap2);
  va_end(ap2);
  if (n < 0)
    return NULL;
  if (!(s = malloc((size_t)n + 1)))
    return NULL;
  vsnprintf(s, (size_t)n + 1, fmt, ap);
  return s;
}

/* "where: cause" as one line, malloc'd (NULL when out of memory). A control
 * byte is written as \xNN wherever it comes from (a JSON key in where, a
 * parser's message), so no input can break the line or forge another. */
static char *join_line(const char *where, const char *cause)
{
  size_t nw = 4 * strlen(where) + 1, nc = 4 * strlen(cause) + 1, o;
  char *line = malloc(nw + 2 + nc); /* each byte at most \xNN */
  if (!line)
    return NULL;
  o = pa_escape_ctl(line, nw, where);
  line[o++] = ':';
  line[o++] = ' ';
  pa_escape_ctl(line + o, nc, cause);
  return line;
}

/* "where: cause" as one error line. */
static void errat(struct ctx *c, const char *where, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void errat(struct ctx *c, const char *where, const char *fmt, ...)
{
  va_list ap;
  char *cause, *line;
  if (c->errors.n >= PA_MAX_POLICY_ERRORS) {
    c->dropped++;
    return;
  }
  va_start(ap, fmt);
  cause = vfmt(fmt, ap);
  va_end(ap);
  if (!cause) {
    c->nomem = 1;
    return;
  }
  line = join_line(where, cause);
  free(cause);
  if (strv_take(&c->errors, line))
    c->nomem = 1;
}

static void warnat(struct ctx *c, const char *where, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void warnat(struct ctx *c, const char *where, const char *fmt, ...)
{
  va_list ap;
  char *cause, *line = NULL;
  va_start(ap, fmt);
  cause = vfmt(fmt, ap);
  va_end(ap);
  if (cause)
    line = join_line(where, cause);
  free(cause);
  if (strv_take(&c->p->warnings, line))
    c->nomem = 1;
}

/* A value quoted for a message: at most 60 bytes, control bytes, quotes and
 * backslashes escaped, so a hostile value cannot forge a line. Then at most
 * 3 more continuation bytes end a UTF-8 sequence: the roster CSV is not
 * checked for UTF-8, and a run of them must not run past s (at most
 * 1 + 60 * 4 + 3 + 3 + 2 bytes). */
struct q {
  char s[256];
};
static struct q quote(const char *v)
{
  struct q q;
  size_t o = 0, i;
  q.s[o++] = '"';
  /* 60 bytes, then to the end of a UTF-8 sequence */
  for (i = 0; v[i] && (i < 60 || (i < 63 && ((unsigned char)v[i] & 0xC0) == 0x80)); i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch < 0x20 || ch == 0x7f)
      o += (size_t)snprintf(q.s + o, sizeof q.s - o, "\\x%02x", ch);
    else if (ch == '"' || ch == '\\') {
      q.s[o++] = '\\';
      q.s[o++] = (char)ch;
    } else
      q.s[o++] = (char)ch;
  }
  if (v[i]) {
    memcpy(q.s + o, "...", 3);
    o += 3;
  }
  q.s[o++] = '"';
  q.s[o] = '\0';
  return q;
}
#define Q(v) (quote(v).s)

static int ignorable_key(const char *k)
{
  return !strncmp(k, "x-", 2) || !strncmp(k, "_comment", 8);
}

/* snprintf for where buffers: a where longer than the buffer is cut, which
 * only shortens a message. */
static void wfmt(char *buf, size_t size, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void wfmt(char *buf, size_t size, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, size, fmt, ap);
  va_end(ap);
}

/* Joins where and a key or index into buf. */
static const char *at_key(char *buf, size_t size, const char *where, const char *key)
{
  size_t n = strlen(where);
  /* "policy.json:" is the top level: its keys follow a blank, not a dot */
  wfmt(buf, size, "%s%s%s", where, n && where[n - 1] == ':' ? " " : ".", key);
  return buf;
}
static const char *at_idx(char *buf, size_t size, const char *where, size_t i)
{
  wfmt(buf, size, "%s[%zu]", where, i);
  return buf;
}
#define WB 512 /* size of a where buffer */

static void check_keys(struct ctx *c, json_t *obj, const char *where,
                       const char *const *allowed)
{
  const char *k;
  json_t *v;
  char w[WB];
  json_object_foreach(obj, k, v) {
    int ok = ignorable_key(k);
    for (size_t i = 0; !ok && allowed[i]; i++)
      ok = !strcmp(allowed[i], k);
    if (!ok)
      errat(c, at_key(w, sizeof w, where, k), "unknown key");
  }
}

static const char *type_name(json_t *v)
{
  switch (json_typeof(v)) {
  case JSON_OBJECT: return "an object";
  case JSON_ARRAY: return "an array";
  case JSON_STRING: return "a string";
  case JSON_INTEGER:
  case JSON_REAL: return "a number";
  case JSON_TRUE:
  case JSON_FALSE: return "a boolean";
  default: return "null";
  }
}

/* The string at v, or NULL with an error when v is not one. */
static const char *want_str(struct ctx *c, json_t *v, const char *where, int nonempty)
{
  if (!json_is_string(v)) {
    errat(c, where, "expected a string, not %s", type_name(v));
    return NULL;
  }
  if (strlen(json_string_value(v)) != json_string_length(v)) {
    errat(c, where, "contains a NUL character");
    return NULL;
  }
  if (nonempty && !json_string_value(v)[0]) {
    errat(c, where, "must not be empty");
    return NULL;
  }
  return json_string_value(v);
}

/* An optional string member: absent or null gives NULL quietly. */
static const char *opt_str(struct ctx *c, json_t *obj, const char *key, const char *where,
                           int nonempty)
{
  char w[WB];
  json_t *v = json_object_get(obj, key);
  if (!v || json_is_null(v))
    return NULL;
  return want_str(c, v, at_key(w, sizeof w, where, key), nonempty);
}

static int want_obj(struct ctx *c, json_t *v, const char *where)
{
  if (json_is_object(v))
    return 1;
  errat(c, where, "expected an object, not %s", type_name(v));
  return 0;
}

static int want_arr(struct ctx *c, json_t *v, const char *where)
{
  if (json_is_array(v))
    return 1;
  errat(c, where, "expected an array, not %s", type_name(v));
  return 0;
}

/* ---- dates and times ------------------------------------------------- */

/* Exactly n digits at s. */
static int digits(const char *s, int n, int *v)
{
  int x = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9')
      return 0;
    x = x * 10 + (s[i] - '0');
  }
  *v = x;
  return 1;
}

/* YYYY-MM-DD and nothing else, a real date. */
static int parse_date(const char *s, int *y, int *m, int *d)
{
  int64_t us;
  if (strlen(s) != 10 || !digits(s, 4, y) || s[4] != '-' || !digits(s + 5, 2, m) ||
      s[7] != '-' || !digits(s + 8, 2, d))
    return 0;
  return pa_time_from_utc(*y, *m, *d, 0, 0, 0, 0, &us) == PA_OK && *y >= 1970;
}

/* Local midnight starting the day plus_days after y-m-d, µs UTC. */
static int day_start(const pa_tz *tz, int y, int m, int d, int plus_days, int64_t *us_out)
{
  int64_t us;
  time_t t;
  struct tm f;
  if (pa_time_from_utc(y, m, d, 0, 0, 0, 0, &us) != PA_OK)
    return 0;
  t = (time_t)(us / 1000000 + (int64_t)plus_days * 86400);
  if (!gmtime_r(&t, &f))
    return 0;
  return pa_tz_from_local(tz, f.tm_year + 1900, f.tm_mon + 1, f.tm_mday, 0, 0, 0, us_out) ==
         PA_OK;
}

/* A date string: *us_out is the local midnight starting it (end = 0) or
 * the one after it (end = 1). Errors name the value. */
static int date_value(struct ctx *c, const char *s, const char *where, int end, int64_t *us_out)
{
  int y, m, d;
  if (!parse_date(s, &y, &m, &d) || !day_start(c->p->tz, y, m, d, end, us_out)) {
    errat(c, where, "%s is not a date (YYYY-MM-DD)", Q(s));
    return 0;
  }
  return 1;
}

/* "HH:MM"; 24:00 only when end_ok. Minutes since midnight or -1. */
static int parse_hhmm(const char *s, int end_ok)
{
  int h, m;
  if (strlen(s) != 5 || !digits(s, 2, &h) || s[2] != ':' || !digits(s + 3, 2, &m) || m > 59)
    return -1;
  if (h < 24 || (end_ok && h == 24 && m == 0))
    return h * 60 + m;
  return -1;
}

/* YYYY-MM-DDThh:mm[:ss] (T or a space), read in the site zone, or with a
 * zone Z / ±hh:mm. */
static int parse_local_time(const pa_tz *tz, const char *s, int64_t *us_out)
{
  int y, mo, d, h, mi, sec = 0, zh, zm;
  size_t i = 16, n = strlen(s);
  if (n < 16 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &mo) || s[7] != '-' ||
      !digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != ' ') || !digits(s + 11, 2, &h) ||
      s[13] != ':' || !digits(s + 14, 2, &mi))
    return 0;
  if (s[i] == ':') {
    if (!digits(s + i + 1, 2, &sec))
      return 0;
    i += 3;
  }
  if (s[i] == '\0')
    return pa_tz_from_local(tz, y, mo, d, h, mi, sec, us_out) == PA_OK;
  if (s[i] == 'Z' && s[i + 1] == '\0')
    return sec < 60 && pa_time_from_utc(y, mo, d, h, mi, sec, 0, us_out) == PA_OK;
  if ((s[i] == '+' || s[i] == '-') && n == i + 6 && digits(s + i + 1, 2, &zh) &&
      s[i + 3] == ':' && digits(s + i + 4, 2, &zm) && zh < 24 && zm < 60 && sec < 60 &&
      pa_time_from_utc(y, mo, d, h, mi, sec, 0, us_out) == PA_OK) {
    *us_out -= (s[i] == '+' ? 1 : -1) * (int64_t)(zh * 3600 + zm * 60) * 1000000;
    return 1;
  }
  return 0;
}

/* ---- values shared by users and the roster --------------------------- */

static const char *kind_value(struct ctx *c, const char *s, const char *where)
{
  int k = in_vocab(kinds, N_KINDS, s);
  if (k < 0) {
    errat(c, where, "%s is not one of person, shared, emergency, service", Q(s));
    return NULL;
  }
  return kinds[k];
}

static int role_known(const pa_policy *p, const char *r)
{
  for (size_t i = 0; i < p->n_roles; i++)
    if (p->roles[i].name && !strcmp(p->roles[i].name, r))
      return 1;
  return 0;
}

static void role_value(struct ctx *c, const char *r, const char *where)
{
  if (c->p->has_roles && !role_known(c->p, r))
    errat(c, where, "%s is not in roles", Q(r));
}

static struct user *new_user(struct ctx *c)
{
  pa_policy *p = c->p;
  struct user *u;
  if (p->n_users == p->cap_users) {
    size_t nc = p->cap_users ? p->cap_users * 2 : 16;
    struct user *t = realloc(p->users, nc * sizeof *t);
    if (!t) {
      c->nomem = 1;
      return NULL;
    }
    p->users = t;
    p->cap_users = nc;
  }
  u = &p->users[p->n_users++];
  memset(u, 0, sizeof *u);
  u->kind = "person";
  u->mfa = -1;
  return u;
}

static void user_free(struct user *u)
{
  free(u->id);
  free(u->name);
  free(u->role);
  free(u->department);
  free(u->w);
}

/* valid_from <= valid_to, as dates: the stored bounds are a day apart. */
static void check_validity(struct ctx *c, const struct user *u, const char *where,
                           const char *from_s, const char *to_s)
{
  if (u->has_from && u->has_to && u->valid_from >= u->valid_to)
    errat(c, where, "valid_from %s is after valid_to %s", from_s, to_s);
}

/* ---- sections -------------------------------------------------------- */

static void load_site(struct ctx *c, json_t *root)
{
  static const char *const keys[] = {"name", "timezone", NULL};
  json_t *site = json_object_get(root, "site");
  const char *tzname = PA_DEFAULT_TZ, *s;
  char w[WB];
  struct pa_err e;

  if (site && want_obj(c, site, "site")) {
    wfmt(w, sizeof w, "%s: site", c->label);
    check_keys(c, site, w, keys);
    if ((s = opt_str(c, site, "name", w, 0)))
      c->p->site_name = xstrdup(c, s);
    if ((s = opt_str(c, site, "timezone", w, 1))) {
      pa_tz *tz;
      pa_err_clear(&e);
      pa_rc rc = pa_tz_load(s, &tz, &e);
      if (rc == PA_OK) {
        tzname = s;
        c->p->tz = tz;
      } else if (rc == PA_NOMEM) {
        c->nomem = 1;
      } else {
        char w2[WB];
        errat(c, at_key(w2, sizeof w2, w, "timezone"), "%s is not a known time zone", Q(s));
      }
    }
  }
  c->p->tz_name = xstrdup(c, tzname);
  if (!c->p->tz) {
    /* the default, also when the named zone was bad, so dates still check */
    pa_err_clear(&e);
    pa_rc rc = pa_tz_load(PA_DEFAULT_TZ, &c->p->tz, &e);
    if (rc == PA_NOMEM)
      c->nomem = 1;
    else if (rc)
      errat(c, c->label, "the default time zone %s: %s", PA_DEFAULT_TZ, e.msg);
  }
}

static void load_roles(struct ctx *c, json_t *root, const char *where0)
{
  json_t *roles = json_object_get(root, "roles"), *r, *may, *op;
  const char *name;
  char w[WB], w2[WB], w3[WB];
  size_t i;
  static const char *const keys[] = {"may", NULL};

  if (!roles || json_is_null(roles) || !want_obj(c, roles, "roles"))
    return;
  c->p->has_roles = 1;
  c->p->roles = calloc(json_object_size(roles) + 1, sizeof *c->p->roles);
  if (!c->p->roles) {
    c->nomem = 1;
    return;
  }
  json_object_foreach(roles, name, r) {
    struct role *ro;
    if (ignorable_key(name))
      continue;
    at_key(w, sizeof w, where0, name);
    ro = &c->p->roles[c->p->n_roles++];
    ro->name = xstrdup(c, name);
    if (!name[0])
      errat(c, w, "a role name must not be empty");
    if (!want_obj(c, r, w))
      continue;
    check_keys(c, r, w, keys);
    may = json_object_get(r, "may");
    at_key(w2, sizeof w2, w, "may");
    if (!may) {
      errat(c, w2, "required");
      continue;
    }
    if (!want_arr(c, may, w2))
      continue;
    json_array_foreach(may, i, op) {
      const char *s = want_str(c, op, at_idx(w3, sizeof w3, w2, i), 1);
      int k;
      if (!s)
        continue;
      if ((k = in_vocab(ops_vocab, N_OPS, s)) < 0)
        errat(c, w3, "%s is not an operation (" OPS_LIST ")", Q(s));
      else
        ro->ops |= 1u << k;
    }
  }
}

static void load_windows(struct ctx *c, struct user *u, json_t *arr, const char *where)
{
  static const char *const keys[] = {"from", "to", NULL};
  json_t *win;
  size_t i;
  char w[WB], w2[WB];

  if (!want_arr(c, arr, where))
    return;
  if (!(u->w = calloc(json_array_size(arr) + 1, sizeof *u->w))) {
    c->nomem = 1;
    return;
  }
  json_array_foreach(arr, i, win) {
    int64_t t[2];
    int ok = 1;
    at_idx(w, sizeof w, where, i);
    if (!want_obj(c, win, w))
      continue;
    check_keys(c, win, w, keys);
    for (int k = 0; k < 2; k++) {
      const char *key = keys[k];
      json_t *v = json_object_get(win, key);
      const char *s;
      at_key(w2, sizeof w2, w, key);
      if (!v) {
        errat(c, w2, "required");
        ok = 0;
      } else if (!(s = want_str(c, v, w2, 1))) {
        ok = 0;
      } else if (!parse_local_time(c->p->tz, s, &t[k])) {
        errat(c, w2, "%s is not a time (YYYY-MM-DDThh:mm)", Q(s));
        ok = 0;
      }
    }
    if (!ok)
      continue;
    if (t[0] >= t[1])
      errat(c, w, "from is not before to");
    else {
      u->w[u->n_w].from = t[0];
      u->w[u->n_w].to = t[1];
      u->n_w++;
    }
  }
}

static void load_users(struct ctx *c, json_t *root, const char *where0)
{
  static const char *const keys[] = {"id", "name", "role", "department", "valid_from",
                                     "valid_to", "kind", "mfa", "windows", NULL};
  json_t *users = json_object_get(root, "users"), *e, *v;
  size_t i;
  char w[WB], w2[WB];

  if (!users || json_is_null(users) || !want_arr(c, users, where0))
    return;
  json_array_foreach(users, i, e) {
    struct user *u;
    const char *s, *from_s = NULL, *to_s = NULL;
    at_idx(w, sizeof w, where0, i);
    if (!want_obj(c, e, w))
      continue;
    if (!(u = new_user(c)))
      return;
    u->src = i;
    check_keys(c, e, w, keys);
    v = json_object_get(e, "id");
    if (!v || json_is_null(v))
      errat(c, at_key(w2, sizeof w2, w, "id"), "required");
    else if ((s = want_str(c, v, at_key(w2, sizeof w2, w, "id"), 1)))
      u->id = xstrdup(c, s);
    if ((s = opt_str(c, e, "name", w, 0)))
      u->name = xstrdup(c, s);
    if ((s = opt_str(c, e, "department", w, 0)))
      u->department = xstrdup(c, s);
    if ((s = opt_str(c, e, "role", w, 1))) {
      u->role = xstrdup(c, s);
      role_value(c, s, at_key(w2, sizeof w2, w, "role"));
    }
    if ((s = opt_str(c, e, "kind", w, 1)) &&
        !(u->kind = kind_value(c, s, at_key(w2, sizeof w2, w, "kind"))))
      u->kind = "person";
    if ((s = opt_str(c, e, "valid_from", w, 1)) &&
        (u->has_from = date_value(c, s, at_key(w2, sizeof w2, w, "valid_from"), 0,
                                  &u->valid_from)))
      from_s = s;
    if ((s = opt_str(c, e, "valid_to", w, 1)) &&
        (u->has_to = date_value(c, s, at_key(w2, sizeof w2, w, "valid_to"), 1, &u->valid_to)))
      to_s = s;
    check_validity(c, u, w, from_s, to_s);
    v = json_object_get(e, "mfa");
    if (v && !json_is_null(v)) {
      if (json_is_boolean(v))
        u->mfa = json_is_true(v);
      else
        errat(c, at_key(w2, sizeof w2, w, "mfa"), "expected true or false, not %s",
              type_name(v));
    }
    v = json_object_get(e, "windows");
    if (v && !json_is_null(v))
      load_windows(c, u, v, at_key(w2, sizeof w2, w, "windows"));
  }
}

/* ---- the roster CSV (RFC 4180) -------------------------------------- */

struct csv {
  const char *p;
  size_t len, off;
  size_t line; /* physical line at off, 1-based */
};

static void fields_free(char **f, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(f[i]);
}

/* One record into f[0..*nf) (malloc'd strings), fld a scratch buffer of
 * PA_MAX_CSV_FIELD + 1 bytes. 1 a record, 0 the end,
 * -1 an error (msg), -2 out of memory. *start_line is the line it began. */
static int csv_record(struct csv *r, char *fld, char **f, size_t *nf, size_t *start_line,
                      char *msg, size_t msz)
{
  size_t n = 0;

  *nf = 0;
  *start_line = r->line;
  if (r->off >= r->len)
    return 0;
  for (;;) {
    size_t fl = 0;
    if (n == PA_MAX_CSV_FIELDS) {
      snprintf(msg, msz, "more than %d fields", PA_MAX_CSV_FIELDS);
      goto bad;
    }
    if (r->off < r->len && r->p[r->off] == '"') {
      r->off++;
      for (;;) {
        char ch;
        if (r->off >= r->len) {
          snprintf(msg, msz, "a quoted field is not closed");
          goto bad;
        }
        ch = r->p[r->off];
        if (ch == '"') {
          if (r->off + 1 < r->len && r->p[r->off + 1] == '"') {
            r->off++;
          } else {
            r->off++;
            break;
          }
        } else if (ch == '\n') {
          r->line++;
        }
        if (fl == PA_MAX_CSV_FIELD) {
          snprintf(msg, msz, "a field is longer than %d bytes", PA_MAX_CSV_FIELD);
          goto bad;
        }
        fld[fl++] = ch;
        r->off++;
      }
      if (r->off < r->len && r->p[r->off] != ',' && r->p[r->off] != '\r' &&
          r->p[r->off] != '\n') {
        snprintf(msg, msz, "text after the closing quote of a field");
        goto bad;
      }
    } else {
      while (r->off < r->len && r->p[r->off] != ',' && r->p[r->off] != '\r' &&
             r->p[r->off] != '\n') {
        if (r->p[r->off] == '"') {
          snprintf(msg, msz, "a quote inside an unquoted field");
          goto bad;
        }
        if (fl == PA_MAX_CSV_FIELD) {
          snprintf(msg, msz, "a field is longer than %d bytes", PA_MAX_CSV_FIELD);
          goto bad;
        }
        fld[fl++] = r->p[r->off++];
      }
    }
    if (memchr(fld, '\0', fl)) {
      snprintf(msg, msz, "a NUL byte in a field");
      goto bad;
    }
    fld[fl] = '\0';
    if (!(f[n] = strdup(fld))) {
      fields_free(f, n);
      return -2;
    }
    n++;
    if (r->off >= r->len)
      break;
    if (r->p[r->off] == ',') {
      r->off++;
      continue;
    }
    if (r->p[r->off] == '\r')
      r->off++;
    if (r->off < r->len && r->p[r->off] == '\n')
      r->off++;
    r->line++;
    break;
  }
  *nf = n;
  return 1;
bad:
  fields_free(f, n);
  return -1;
}

static const char *const roster_cols[] = {"id", "name", "role", "department",
                                          "valid_from", "valid_to", "kind", "mfa"};
#define N_RCOLS (sizeof roster_cols / sizeof roster_cols[0])

static int parse_bool(const char *s, int *v)
{
  static const char *const t[] = {"true", "1", "yes", "TRUE", "True", "YES", "Yes"};
  static const char *const f[] = {"false", "0", "no", "FALSE", "False", "NO", "No"};
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
    if (!strcmp(s, t[i])) {
      *v = 1;
      return 1;
    }
    if (!strcmp(s, f[i])) {
      *v = 0;
      return 1;
    }
  }
  return 0;
}

static void roster_row(struct ctx *c, const char *file, size_t line, char **f,
                       const int *col_of)
{
  struct user *u = new_user(c);
  char w[WB], w2[WB];
  const char *from_s = NULL, *to_s = NULL;

  if (!u)
    return;
  u->from_roster = 1;
  u->src = line;
  wfmt(w, sizeof w, "%s: line %zu", file, line);
  for (size_t k = 0; k < N_RCOLS; k++) {
    const char *s = col_of[k] >= 0 ? f[col_of[k]] : "";
    wfmt(w2, sizeof w2, "%s: %s", w, roster_cols[k]);
    if (!s[0]) {
      if (k == 0)
        errat(c, w2, "required");
      continue;
    }
    switch (k) {
    case 0: u->id = xstrdup(c, s); break;
    case 1: u->name = xstrdup(c, s); break;
    case 2:
      u->role = xstrdup(c, s);
      role_value(c, s, w2);
      break;
    case 3: u->department = xstrdup(c, s); break;
    case 4:
      if ((u->has_from = date_value(c, s, w2, 0, &u->valid_from)))
        from_s = s;
      break;
    case 5:
      if ((u->has_to = date_value(c, s, w2, 1, &u->valid_to)))
        to_s = s;
      break;
    case 6:
      if (!(u->kind = kind_value(c, s, w2)))
        u->kind = "person";
      break;
    case 7:
      if (!parse_bool(s, &u->mfa)) {
        errat(c, w2, "%s is not true or false", Q(s));
        u->mfa = -1;
      }
      break;
    }
  }
  check_validity(c, u, w, from_s, to_s);
}

static void parse_rows(struct ctx *c, const char *file, const char *data, size_t len, char *fld)
{
  struct csv r = {data, len, 0, 1};
  char *f[PA_MAX_CSV_FIELDS];
  int col_of[N_RCOLS];
  size_t nf, line, n_head = 0, rows = 0;
  char msg[128], w[WB];
  int rc;

  if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) /* a spreadsheet's UTF-8 BOM */
    r.off = 3;
  for (size_t k = 0; k < N_RCOLS; k++)
    col_of[k] = -1;
  rc = csv_record(&r, fld, f, &nf, &line, msg, sizeof msg);
  wfmt(w, sizeof w, "%s: line 1", file);
  if (rc == -2) {
    c->nomem = 1;
    return;
  }
  if (rc <= 0) {
    errat(c, w, "%s", rc == 0 ? "no header row" : msg);
    return;
  }
  n_head = nf;
  {
    int bad = 0;
    for (size_t i = 0; i < nf; i++) {
      int k = in_vocab(roster_cols, N_RCOLS, f[i]);
      if (k < 0) {
        if (!ignorable_key(f[i])) {
          errat(c, w, "unknown column %s", Q(f[i]));
          bad = 1;
        }
      } else if (col_of[k] >= 0) {
        errat(c, w, "column %s appears twice", Q(f[i]));
        bad = 1;
      } else {
        col_of[k] = (int)i;
      }
    }
    fields_free(f, nf);
    if (col_of[0] < 0) {
      errat(c, w, "no \"id\" column");
      bad = 1;
    }
    if (bad)
      return;
  }
  while ((rc = csv_record(&r, fld, f, &nf, &line, msg, sizeof msg)) != 0) {
    wfmt(w, sizeof w, "%s: line %zu", file, line);
    if (rc == -2) {
      c->nomem = 1;
      return;
    }
    if (rc == -1) {
      errat(c, w, "%s", msg);
      return; /* the rest cannot be framed reliably */
    }
    if (nf == 1 && !f[0][0]) { /* a blank line */
      fields_free(f, nf);
      continue;
    }
    if (++rows > PA_MAX_ROSTER_ROWS) {
      fields_free(f, nf);
      errat(c, w, "more than %d rows", PA_MAX_ROSTER_ROWS);
      return;
    }
    if (nf != n_head)
      errat(c, w, "%zu fields, the header has %zu", nf, n_head);
    else
      roster_row(c, file, line, f, col_of);
    fields_free(f, nf);
    if (c->nomem)
      return;
  }
}

static void parse_roster(struct ctx *c, const char *file, const char *data, size_t len)
{
  char *fld = malloc(PA_MAX_CSV_FIELD + 1);
  if (!fld) {
    c->nomem = 1;
    return;
  }
  parse_rows(c, file, data, len, fld);
  free(fld);
}

static void load_roster(struct ctx *c, json_t *root)
{
  char w[WB], *path = c->roster_path;
  const char *rel;
  FILE *fp = NULL;
  char *data = NULL;
  struct stat st;
  size_t n;

  wfmt(w, sizeof w, "%s:", c->label);
  if (!(rel = opt_str(c, root, "roster_csv", w, 1)))
    return;
  wfmt(w, sizeof w, "%s: roster_csv", c->label);
  if (rel[0] == '/' || !c->base_dir || !c->base_dir[0])
    n = (size_t)snprintf(path, sizeof c->roster_path, "%s", rel);
  else
    n = (size_t)snprintf(path, sizeof c->roster_path, "%s/%s", c->base_dir, rel);
  if (n >= sizeof c->roster_path) {
    errat(c, w, "the path is too long");
    return;
  }
  if (!(fp = fopen(path, "rb")) || fstat(fileno(fp), &st) != 0) {
    errat(c, w, "cannot read %s: %s", path, strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    errat(c, w, "%s is not a regular file", path);
    goto out;
  }
  if ((uint64_t)st.st_size > PA_MAX_ROSTER_CSV) {
    errat(c, w, "%s is larger than %u bytes", path, PA_MAX_ROSTER_CSV);
    goto out;
  }
  if (!(data = malloc((size_t)st.st_size + 1))) {
    c->nomem = 1;
    goto out;
  }
  n = fread(data, 1, (size_t)st.st_size, fp);
  if (n != (size_t)st.st_size) {
    errat(c, w, "cannot read %s", path);
    goto out;
  }
  parse_roster(c, path, data, n);
out:
  free(data);
  if (fp)
    fclose(fp);
}

/* ---- merge: ids unique, users win over the roster -------------------- */

struct id_ref {
  const char *id;
  size_t i; /* index in p->users: JSON users come first */
};

static int cmp_ref(const void *a, const void *b)
{
  const struct id_ref *x = a, *y = b;
  int r = strcmp(x->id, y->id);
  if (r)
    return r;
  return x->i < y->i ? -1 : x->i > y->i;
}

static void merge_users(struct ctx *c)
{
  const char *roster_file = c->roster_path;
  pa_policy *p = c->p;
  struct id_ref *idx;
  size_t n = 0, o = 0;
  char w[WB];

  if (!(idx = malloc((p->n_users + 1) * sizeof *idx))) {
    c->nomem = 1;
    return;
  }
  for (size_t i = 0; i < p->n_users; i++)
    if (p->users[i].id) {
      idx[n].id = p->users[i].id;
      idx[n++].i = i;
    }
  /* JSON users come first in the array, so each group starts with them */
  qsort(idx, n, sizeof *idx, cmp_ref);
  for (size_t g = 0; g < n;) {
    size_t e = g + 1;
    struct user *first = &p->users[idx[g].i];
    while (e < n && !strcmp(idx[e].id, first->id))
      e++;
    for (size_t k = g + 1; k < e; k++) {
      struct user *u = &p->users[idx[k].i];
      if (!first->from_roster && u->from_roster) {
        u->drop = 1;
      } else if (!u->from_roster) {
        wfmt(w, sizeof w, "%s: users[%zu].id", c->label, u->src);
        errat(c, w, "%s is also users[%zu]", Q(u->id), first->src);
      } else {
        wfmt(w, sizeof w, "%s: line %zu: id", roster_file, u->src);
        errat(c, w, "%s is also on line %zu", Q(u->id), first->src);
      }
    }
    g = e;
  }
  free(idx);
  for (size_t i = 0; i < p->n_users; i++) {
    if (p->users[i].drop) {
      user_free(&p->users[i]);
      continue;
    }
    if (p->users[i].from_roster)
      p->n_roster++;
    p->users[o++] = p->users[i];
  }
  p->n_users = o;
}

/* ---- AEs ------------------------------------------------------------- */

static int ae_title_ok(const char *s)
{
  size_t n = strlen(s);
  int nonblank = 0;
  if (n < 1 || n > 16)
    return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)s[i];
    if (ch < 0x20 || ch >= 0x7f || ch == '\\')
      return 0;
    nonblank |= ch != ' ';
  }
  return nonblank;
}

static int ip_or_cidr(const char *s)
{
  char addr[INET6_ADDRSTRLEN + 1];
  unsigned char bin[16];
  const char *slash = strchr(s, '/');
  size_t n = slash ? (size_t)(slash - s) : strlen(s);
  int v6, bits = 0;

  if (n == 0 || n >= sizeof addr)
    return 0;
  memcpy(addr, s, n);
  addr[n] = '\0';
  if (inet_pton(AF_INET, addr, bin) == 1)
    v6 = 0;
  else if (inet_pton(AF_INET6, addr, bin) == 1)
    v6 = 1;
  else
    return 0;
  if (!slash)
    return 1;
  slash++;
  if (!slash[0] || strlen(slash) > 3)
    return 0;
  for (const char *q = slash; *q; q++) {
    if (*q < '0' || *q > '9')
      return 0;
    bits = bits * 10 + (*q - '0');
  }
  return bits <= (v6 ? 128 : 32);
}

static void str_list(struct ctx *c, json_t *arr, const char *where, struct strv *out,
                     int (*ok)(struct ctx *, const char *, const char *))
{
  json_t *v;
  size_t i;
  char w[WB];
  if (!want_arr(c, arr, where))
    return;
  json_array_foreach(arr, i, v) {
    const char *s = want_str(c, v, at_idx(w, sizeof w, where, i), 1);
    if (s && (!ok || ok(c, s, w)))
      strv_push(c, out, s);
  }
}

static int ok_ip(struct ctx *c, const char *s, const char *where)
{
  if (ip_or_cidr(s))
    return 1;
  errat(c, where, "%s is not an IP address or CIDR range", Q(s));
  return 0;
}

static int ok_dimse(struct ctx *c, const char *s, const char *where)
{
  if (in_vocab(dimse_vocab, N_DIMSE, s) >= 0)
    return 1;
  errat(c, where,
        "%s is not a DICOM command (C-ECHO, C-FIND, C-MOVE, C-GET, C-STORE, N-ACTION, "
        "N-CREATE, N-DELETE, N-EVENT-REPORT, N-GET, N-SET)", Q(s));
  return 0;
}

static int ok_title(struct ctx *c, const char *s, const char *where)
{
  if (ae_title_ok(s))
    return 1;
  errat(c, where, "%s is not an AE title (1 to 16 printable characters, no backslash)",
        Q(s));
  return 0;
}

static void load_aes(struct ctx *c, json_t *root, const char *where0)
{
  static const char *const keys[] = {"title", "ips", "kind", "may", "move_destinations", NULL};
  json_t *aes = json_object_get(root, "aes"), *e, *v;
  size_t i;
  char w[WB], w2[WB];
  pa_policy *p = c->p;

  if (!aes || json_is_null(aes) || !want_arr(c, aes, where0))
    return;
  if (!(p->aes = calloc(json_array_size(aes) + 1, sizeof *p->aes))) {
    c->nomem = 1;
    return;
  }
  json_array_foreach(aes, i, e) {
    struct ae *a;
    const char *s;
    at_idx(w, sizeof w, where0, i);
    if (!want_obj(c, e, w))
      continue;
    a = &p->aes[p->n_aes++];
    check_keys(c, e, w, keys);
    at_key(w2, sizeof w2, w, "title");
    v = json_object_get(e, "title");
    if (!v || json_is_null(v))
      errat(c, w2, "required");
    else if ((s = want_str(c, v, w2, 1)) && ok_title(c, s, w2)) {
      for (size_t k = 0; k + 1 < p->n_aes; k++)
        if (p->aes[k].title && !strcmp(p->aes[k].title, s)) {
          errat(c, w2, "%s is also aes[%zu]", Q(s), k);
          break;
        }
      a->title = xstrdup(c, s);
    }
    if ((s = opt_str(c, e, "kind", w, 1)))
      a->kind = xstrdup(c, s);
    if ((v = json_object_get(e, "ips")) && !json_is_null(v))
      str_list(c, v, at_key(w2, sizeof w2, w, "ips"), &a->ips, ok_ip);
    if ((v = json_object_get(e, "may")) && !json_is_null(v)) {
      a->restricted = 1;
      str_list(c, v, at_key(w2, sizeof w2, w, "may"), &a->ops, ok_dimse);
    }
    if ((v = json_object_get(e, "move_destinations")) && !json_is_null(v)) {
      a->has_dests = 1;
      str_list(c, v, at_key(w2, sizeof w2, w, "move_destinations"), &a->dests, ok_title);
    }
  }
}

/* ---- the rest -------------------------------------------------------- */

static void load_hours(struct ctx *c, json_t *root, const char *where0)
{
  static const char *const keys[] = {"days", "start", "end", "holidays", NULL};
  json_t *h = json_object_get(root, "hours"), *v;
  const char *s;
  size_t i;
  char w[WB];
  pa_policy *p = c->p;

  if (!h || json_is_null(h) || !want_obj(c, h, where0))
    return;
  p->has_hours = 1;
  check_keys(c, h, where0, keys);
  if (!(v = json_object_get(h, "days")))
    errat(c, at_key(w, sizeof w, where0, "days"), "required");
  else if (want_arr(c, v, at_key(w, sizeof w, where0, "days"))) {
    json_t *d;
    char w2[WB];
    json_array_foreach(v, i, d) {
      int k;
      if (!(s = want_str(c, d, at_idx(w2, sizeof w2, w, i), 1)))
        continue;
      if ((k = in_vocab(dow_names, 7, s)) < 0)
        errat(c, w2, "%s is not a day (Mon Tue Wed Thu Fri Sat Sun)", Q(s));
      else if (p->days & (1u << k))
        errat(c, w2, "%s is listed twice", Q(s));
      else
        p->days |= 1u << k;
    }
  }
  p->start_min = p->end_min = -1;
  for (int k = 0; k < 2; k++) {
    const char *key = k ? "end" : "start";
    at_key(w, sizeof w, where0, key);
    if (!(v = json_object_get(h, key))) {
      errat(c, w, "required");
      continue;
    }
    if (!(s = want_str(c, v, w, 1)))
      continue;
    int m = parse_hhmm(s, k == 1);
    if (m < 0)
      errat(c, w, "%s is not a time of day (HH:MM)", Q(s));
    else if (k)
      p->end_min = m;
    else
      p->start_min = m;
  }
  if (p->start_min >= 0 && p->end_min >= 0 && p->start_min >= p->end_min)
    errat(c, where0, "start %s is not before end %s",
          json_string_value(json_object_get(h, "start")),
          json_string_value(json_object_get(h, "end")));
  if ((v = json_object_get(h, "holidays")) && !json_is_null(v) &&
      want_arr(c, v, at_key(w, sizeof w, where0, "holidays"))) {
    json_t *d;
    char w2[WB];
    int y, m, dd;
    json_array_foreach(v, i, d) {
      if (!(s = want_str(c, d, at_idx(w2, sizeof w2, w, i), 1)))
        continue;
      if (!parse_date(s, &y, &m, &dd))
        errat(c, w2, "%s is not a date (YYYY-MM-DD)", Q(s));
      else {
        int dup = 0;
        for (size_t k = 0; k < p->holidays.n && !dup; k++)
          dup = !strcmp(p->holidays.v[k], s);
        if (!dup)
          strv_push(c, &p->holidays, s);
      }
    }
  }
}

/* A number's text: the shortest %g that reads back the same. */
static void number_text(json_t *v, char *buf, size_t size)
{
  if (json_is_integer(v)) {
    snprintf(buf, size, "%lld", (long long)json_integer_value(v));
    return;
  }
  double d = json_real_value(v);
  for (int prec = 15; prec <= 17; prec++) {
    snprintf(buf, size, "%.*g", prec, d);
    if (strtod(buf, NULL) == d)
      return;
  }
}

static void add_param(struct ctx *c, struct param *pr, const char *rule, const char *name,
                      const char *text)
{
  pr->rule = xstrdup(c, rule);
  pr->name = xstrdup(c, name);
  pr->text = xstrdup(c, text);
}

static void load_require(struct ctx *c, json_t *root, const char *where0)
{
  static const char *const keys[] = {"tls", "mfa_from", "max_clock_skew_s", "log_silence_h",
                                     NULL};
  json_t *r = json_object_get(root, "require"), *v;
  char w[WB], num[64];
  pa_policy *p = c->p;

  if (!r || json_is_null(r) || !want_obj(c, r, where0))
    return;
  check_keys(c, r, where0, keys);
  for (int k = 0; keys[k]; k++) {
    struct req *q = &p->reqs[p->n_reqs];
    v = json_object_get(r, keys[k]);
    if (!v || json_is_null(v))
      continue;
    at_key(w, sizeof w, where0, keys[k]);
    q->name = keys[k];
    if (k == 0) {
      if (!json_is_boolean(v)) {
        errat(c, w, "expected true or false, not %s", type_name(v));
        continue;
      }
      q->i = json_is_true(v);
      add_param(c, &p->reqp[p->n_reqp++], "require", keys[k], q->i ? "true" : "false");
    } else if (k == 1) {
      const char *s = want_str(c, v, w, 1);
      if (!s || !date_value(c, s, w, 0, &q->i))
        continue;
      add_param(c, &p->reqp[p->n_reqp++], "require", keys[k], s);
    } else {
      if (!json_is_number(v)) {
        errat(c, w, "expected a number, not %s", type_name(v));
        continue;
      }
      double d = json_number_value(v);
      if (k == 2 ? d < 0 : d <= 0) {
        number_text(v, num, sizeof num);
        errat(c, w, "%s must be %s", num, k == 2 ? "0 or more" : "more than 0");
        continue;
      }
      q->is_real = json_is_real(v);
      q->i = json_is_integer(v) ? json_integer_value(v) : 0;
      q->d = d;
      number_text(v, num, sizeof num);
      add_param(c, &p->reqp[p->n_reqp++], "require", keys[k], num);
    }
    p->n_reqs++;
  }
}

static void load_thresholds(struct ctx *c, json_t *root, const char *where0)
{
  json_t *t = json_object_get(root, "thresholds"), *r, *v;
  const char *rule, *name;
  char w[WB], w2[WB], num[64];
  pa_policy *p = c->p;

  if (!t || json_is_null(t) || !want_obj(c, t, where0))
    return;
  json_object_foreach(t, rule, r) {
    if (ignorable_key(rule))
      continue;
    at_key(w, sizeof w, where0, rule);
    if (!rule[0])
      errat(c, w, "a rule id must not be empty");
    if (!want_obj(c, r, w))
      continue;
    json_object_foreach(r, name, v) {
      const char *text;
      int64_t us;
      if (ignorable_key(name))
        continue;
      at_key(w2, sizeof w2, w, name);
      if (json_is_number(v)) {
        number_text(v, num, sizeof num);
        text = num;
      } else if (json_is_string(v) && pa_duration_parse(json_string_value(v), &us) == PA_OK) {
        text = json_string_value(v);
      } else {
        if (json_is_string(v))
          errat(c, w2, "%s is not a number or a duration (90s, 10m, 1h, 1d)",
                Q(json_string_value(v)));
        else
          errat(c, w2, "expected a number or a duration, not %s", type_name(v));
        continue;
      }
      if (p->n_params == p->cap_params) {
        size_t nc = p->cap_params ? p->cap_params * 2 : 16;
        struct param *np = realloc(p->params, nc * sizeof *np);
        if (!np) {
          c->nomem = 1;
          return;
        }
        p->params = np;
        p->cap_params = nc;
      }
      add_param(c, &p->params[p->n_params++], rule, name, text);
    }
  }
}

static void load_exceptions(struct ctx *c, json_t *root, const char *where0)
{
  static const char *const keys[] = {"rule", "subject", "until", "reason", NULL};
  json_t *arr = json_object_get(root, "exceptions"), *e, *v;
  size_t i;
  char w[WB], w2[WB];
  pa_policy *p = c->p;

  if (!arr || json_is_null(arr) || !want_arr(c, arr, where0))
    return;
  if (!(p->excs = calloc(json_array_size(arr) + 1, sizeof *p->excs))) {
    c->nomem = 1;
    return;
  }
  json_array_foreach(arr, i, e) {
    struct exc *x;
    const char *s;
    at_idx(w, sizeof w, where0, i);
    if (!want_obj(c, e, w))
      continue;
    x = &p->excs[p->n_excs++];
    check_keys(c, e, w, keys);
    for (int k = 0; k < 4; k++) {
      if (k == 2)
        continue;
      at_key(w2, sizeof w2, w, keys[k]);
      v = json_object_get(e, keys[k]);
      if (!v || json_is_null(v)) {
        errat(c, w2, "required");
        continue;
      }
      if (!(s = want_str(c, v, w2, 1)))
        continue;
      *(k == 0 ? &x->rule : k == 1 ? &x->subject : &x->reason) = xstrdup(c, s);
    }
    if ((s = opt_str(c, e, "until", w, 1)) &&
        (x->has_until = date_value(c, s, at_key(w2, sizeof w2, w, "until"), 1, &x->until)) &&
        x->until <= c->now)
      warnat(c, w2, "%s has passed; the exception no longer applies", s);
  }
}

static int ok_vip(struct ctx *c, const char *s, const char *where)
{
  if (s[0] != '^')
    return 1;
  errat(c, where, "%s has no patient id before the first ^", Q(s));
  return 0;
}

/* ---- load ------------------------------------------------------------ */

static void policy_free(pa_policy *p);

static void validate(struct ctx *c, json_t *root)
{
  static const char *const keys[] = {"site", "hours", "users", "roster_csv", "roles", "aes",
                                     "vip_patients", "require", "thresholds", "disable",
                                     "exceptions", NULL};
  char w[WB];
  json_t *v;

#define SEC(name) (wfmt(w, sizeof w, "%s:%s%s", c->label, name[0] ? " " : "", name), w)
  check_keys(c, root, SEC(""), keys);
  load_site(c, root);
  if (c->nomem)
    return;
  load_roles(c, root, SEC("roles"));
  load_users(c, root, SEC("users"));
  load_roster(c, root);
  if (c->nomem)
    return;
  merge_users(c);
  load_aes(c, root, SEC("aes"));
  if ((v = json_object_get(root, "vip_patients")) && !json_is_null(v)) {
    struct strv raw = {0};
    str_list(c, v, SEC("vip_patients"), &raw, ok_vip);
    for (size_t i = 0; i < raw.n; i++) {
      char *caret = strchr(raw.v[i], '^');
      if (caret)
        *caret = '\0';
      int dup = 0;
      for (size_t k = 0; k < c->p->vips.n && !dup; k++)
        dup = !strcmp(c->p->vips.v[k], raw.v[i]);
      if (!dup)
        strv_push(c, &c->p->vips, raw.v[i]);
    }
    strv_free(&raw);
  }
  load_hours(c, root, SEC("hours"));
  load_require(c, root, SEC("require"));
  load_thresholds(c, root, SEC("thresholds"));
  if ((v = json_object_get(root, "disable")) && !json_is_null(v)) {
    struct strv raw = {0};
    str_list(c, v, SEC("disable"), &raw, NULL);
    for (size_t i = 0; i < raw.n; i++)
      if (!pa_policy_disabled(c->p, raw.v[i]))
        strv_push(c, &c->p->disabled, raw.v[i]);
    strv_free(&raw);
  }
  load_exceptions(c, root, SEC("exceptions"));
#undef SEC
}

static void msgs_move(struct strv *from, char ***to, size_t *n_to, int *nomem)
{
  for (size_t i = 0; i < from->n; i++) {
    char **t = realloc(*to, (*n_to + 1) * sizeof *t);
    char *s = strdup(from->v[i]);
    if (!t || !s) {
      if (t)
        *to = t;
      free(s);
      *nomem = 1;
      return;
    }
    *to = t;
    (*to)[(*n_to)++] = s;
  }
}

/* The roster CSV csv[0..len) alone, as load_roster and merge_users take it
 * under a policy that says nothing else (the default time zone, no roles);
 * its lines are named after c->label. */
static void validate_roster(struct ctx *c, const char *csv, size_t len)
{
  load_site(c, NULL); /* no "site": the defaults */
  if (c->nomem)
    return;
  wfmt(c->roster_path, sizeof c->roster_path, "%s", c->label);
  parse_roster(c, c->roster_path, csv, len);
  if (c->nomem)
    return;
  merge_users(c);
}

/* data[0..len) is the policy JSON, or with is_roster a roster CSV alone. */
static pa_rc load_common(const char *label, const char *data, size_t len, int is_roster,
                         const char *base_dir, pa_policy **out, struct pa_policy_msgs *msgs,
                         struct pa_err *err)
{
  struct ctx c;
  json_error_t je;
  json_t *root = NULL;
  pa_rc rc = PA_OK;

  *out = NULL;
  memset(&c, 0, sizeof c);
  c.label = label;
  c.base_dir = base_dir;
  c.now = pa_time_now();
  if (len > (is_roster ? PA_MAX_ROSTER_CSV : PA_MAX_POLICY_FILE))
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "%s: larger than %u bytes", label,
                      is_roster ? PA_MAX_ROSTER_CSV : PA_MAX_POLICY_FILE);
  if (!(c.p = calloc(1, sizeof *c.p)) || !(c.p->path = strdup(label))) {
    rc = PA_NOMEM;
    goto out;
  }
  if (is_roster)
    validate_roster(&c, data, len);
  else if (!(root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je))) {
    char w[WB];
    wfmt(w, sizeof w, "%s: line %d column %d", label, je.line, je.column);
    errat(&c, w, "%s", je.text);
  } else if (!json_is_object(root)) {
    errat(&c, label, "expected a JSON object, not %s", type_name(root));
  } else {
    validate(&c, root);
  }
  if (c.dropped) {
    c.dropped++; /* this line takes the last slot's place */
    free(c.errors.v[c.errors.n - 1]);
    c.errors.n--;
    char w[64];
    wfmt(w, sizeof w, "%zu more errors", c.dropped);
    errat(&c, label, "%s", w);
  }
  if (msgs && !c.nomem) {
    msgs_move(&c.errors, &msgs->errors, &msgs->n_errors, &c.nomem);
    msgs_move(&c.p->warnings, &msgs->warnings, &msgs->n_warnings, &c.nomem);
  }
  if (c.nomem)
    rc = PA_NOMEM;
  else if (c.errors.n) {
    rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "%s", c.errors.v[0]);
  }
out:
  if (root)
    json_decref(root);
  strv_free(&c.errors);
  if (rc) {
    policy_free(c.p);
    if (rc == PA_NOMEM)
      pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "%s: out of memory", label);
    return rc;
  }
  *out = c.p;
  return PA_OK;
}

pa_rc pa_policy_load_string_msgs(const char *label, const char *json, size_t len,
                                 const char *base_dir, pa_policy **out,
                                 struct pa_policy_msgs *msgs, struct pa_err *err)
{
  return load_common(label ? label : "policy", json, len, 0, base_dir, out, msgs, err);
}

pa_rc pa__policy_load_roster_string(const char *label, const char *csv, size_t len,
                                    pa_policy **out, struct pa_policy_msgs *msgs,
                                    struct pa_err *err)
{
  return load_common(label ? label : "roster.csv", csv, len, 1, NULL, out, msgs, err);
}

pa_rc pa_policy_load_string(const char *label, const char *json, size_t len,
                            const char *base_dir, pa_policy **out, struct pa_err *err)
{
  return pa_policy_load_string_msgs(label, json, len, base_dir, out, NULL, err);
}

pa_rc pa_policy_load_msgs(const char *path, pa_policy **out, struct pa_policy_msgs *msgs,
                          struct pa_err *err)
{
  FILE *f;
  struct stat st;
  char *data = NULL, *dir = NULL, *slash;
  size_t n;
  pa_rc rc;

  *out = NULL;
  if (!(f = fopen(path, "rb")) || fstat(fileno(f), &st) != 0) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot read: %s", path, strerror(errno));
    goto out;
  }
  if (!S_ISREG(st.st_mode)) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: not a regular file", path);
    goto out;
  }
  if ((uint64_t)st.st_size > PA_MAX_POLICY_FILE) {
    rc = pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "%s: larger than %u bytes", path,
                    PA_MAX_POLICY_FILE);
    goto out;
  }
  if (!(data = malloc((size_t)st.st_size + 1)) || !(dir = strdup(path))) {
    rc = PA_NOMEM;
    goto out;
  }
  if ((n = fread(data, 1, (size_t)st.st_size, f)) != (size_t)st.st_size) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot read", path);
    goto out;
  }
  if ((slash = strrchr(dir, '/')))
    slash[slash == dir ? 1 : 0] = '\0';
  rc = load_common(path, data, n, 0, slash ? dir : NULL, out, msgs, err);
out:
  if (f)
    fclose(f);
  free(data);
  free(dir);
  return rc;
}

pa_rc pa_policy_load(const char *path, pa_policy **out, struct pa_err *err)
{
  return pa_policy_load_msgs(path, out, NULL, err);
}

void pa_policy_msgs_init(struct pa_policy_msgs *m) { memset(m, 0, sizeof *m); }

void pa_policy_msgs_cleanup(struct pa_policy_msgs *m)
{
  for (size_t i = 0; i < m->n_errors; i++)
    free(m->errors[i]);
  for (size_t i = 0; i < m->n_warnings; i++)
    free(m->warnings[i]);
  free(m->errors);
  free(m->warnings);
  memset(m, 0, sizeof *m);
}

static void param_free(struct param *q)
{
  free(q->rule);
  free(q->name);
  free(q->text);
}

static void policy_free(pa_policy *p)
{
  if (!p)
    return;
  free(p->path);
  free(p->site_name);
  free(p->tz_name);
  pa_tz_free(p->tz);
  for (size_t i = 0; i < p->n_users; i++)
    user_free(&p->users[i]);
  free(p->users);
  for (size_t i = 0; i < p->n_roles; i++)
    free(p->roles[i].name);
  free(p->roles);
  for (size_t i = 0; i < p->n_aes; i++) {
    free(p->aes[i].title);
    free(p->aes[i].kind);
    strv_free(&p->aes[i].ips);
    strv_free(&p->aes[i].ops);
    strv_free(&p->aes[i].dests);
  }
  free(p->aes);
  strv_free(&p->vips);
  strv_free(&p->holidays);
  for (size_t i = 0; i < p->n_params; i++)
    param_free(&p->params[i]);
  free(p->params);
  for (size_t i = 0; i < p->n_reqp; i++)
    param_free(&p->reqp[i]);
  strv_free(&p->disabled);
  for (size_t i = 0; i < p->n_excs; i++) {
    free(p->excs[i].rule);
    free(p->excs[i].subject);
    free(p->excs[i].reason);
  }
  free(p->excs);
  strv_free(&p->warnings);
  free(p);
}

void pa_policy_free(pa_policy *p) { policy_free(p); }

/* ---- accessors ------------------------------------------------------- */

const char *pa_policy_path(const pa_policy *p) { return p->path; }
const char *pa_policy_tz_name(const pa_policy *p) { return p->tz_name; }
const pa_tz *pa_policy_tz(const pa_policy *p) { return p->tz; }
const char *pa_policy_site_name(const pa_policy *p) { return p->site_name; }
size_t pa_policy_n_users(const pa_policy *p) { return p->n_users; }
size_t pa_policy_n_params(const pa_policy *p) { return p->n_params; }
size_t pa_policy_n_warnings(const pa_policy *p) { return p->warnings.n; }
const char *pa_policy_warning(const pa_policy *p, size_t i) { return p->warnings.v[i]; }

int pa_policy_disabled(const pa_policy *p, const char *rule_id)
{
  for (size_t i = 0; i < p->disabled.n; i++)
    if (!strcmp(p->disabled.v[i], rule_id))
      return 1;
  return 0;
}

pa_rc pa_policy_param(const pa_policy *p, const char *rule_id, const char *name,
                      const char **text_out)
{
  const struct param *v = strcmp(rule_id, "require") ? p->params : p->reqp;
  size_t n = strcmp(rule_id, "require") ? p->n_params : p->n_reqp;
  *text_out = NULL;
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].rule, rule_id) && !strcmp(v[i].name, name)) {
      *text_out = v[i].text;
      break;
    }
  return PA_OK;
}

void pa_policy_param_at(const pa_policy *p, size_t i, const char **rule_id_out,
                        const char **name_out, const char **text_out)
{
  *rule_id_out = p->params[i].rule;
  *name_out = p->params[i].name;
  *text_out = p->params[i].text;
}

void pa_policy_counts(const pa_policy *p, struct pa_policy_counts *out)
{
  out->users = p->n_users;
  out->roster_users = p->n_roster;
  out->roles = p->n_roles;
  out->aes = p->n_aes;
  out->vips = p->vips.n;
  out->holidays = p->holidays.n;
  out->exceptions = p->n_excs;
  out->disabled = p->disabled.n;
  out->params = p->n_params;
}

/* ---- install: the TEMP tables the rule engine joins on --------------- */

static const char *const ddl[] = {
  "DROP TABLE IF EXISTS temp.pol_site",
  "DROP TABLE IF EXISTS temp.pol_users",
  "DROP TABLE IF EXISTS temp.pol_user_windows",
  "DROP TABLE IF EXISTS temp.pol_roles",
  "DROP TABLE IF EXISTS temp.pol_role_ops",
  "DROP TABLE IF EXISTS temp.pol_aes",
  "DROP TABLE IF EXISTS temp.pol_ae_nets",
  "DROP TABLE IF EXISTS temp.pol_ae_ops",
  "DROP TABLE IF EXISTS temp.pol_ae_dests",
  "DROP TABLE IF EXISTS temp.pol_vip",
  "DROP TABLE IF EXISTS temp.pol_hours",
  "DROP TABLE IF EXISTS temp.pol_holidays",
  "DROP TABLE IF EXISTS temp.pol_require",
  "DROP TABLE IF EXISTS temp.pol_params",
  "DROP TABLE IF EXISTS temp.pol_disabled",
  "DROP TABLE IF EXISTS temp.pol_exceptions",
  "CREATE TEMP TABLE pol_site(name TEXT, timezone TEXT)",
  "CREATE TEMP TABLE pol_users(id TEXT PRIMARY KEY, name TEXT, role TEXT, department TEXT, "
  "valid_from INTEGER, valid_to INTEGER, kind TEXT NOT NULL, mfa INTEGER)",
  "CREATE TEMP TABLE pol_user_windows(user_id TEXT, from_ts INTEGER, to_ts INTEGER)",
  "CREATE TEMP TABLE pol_roles(role TEXT PRIMARY KEY)",
  "CREATE TEMP TABLE pol_role_ops(role TEXT, op TEXT, PRIMARY KEY(role, op))",
  "CREATE TEMP TABLE pol_aes(title TEXT PRIMARY KEY, kind TEXT, restricted INTEGER NOT NULL, "
  "has_dests INTEGER NOT NULL)",
  "CREATE TEMP TABLE pol_ae_nets(title TEXT, net TEXT)",
  "CREATE TEMP TABLE pol_ae_ops(title TEXT, op TEXT)",
  "CREATE TEMP TABLE pol_ae_dests(title TEXT, dest TEXT)",
  "CREATE TEMP TABLE pol_vip(patient_id TEXT PRIMARY KEY)",
  "CREATE TEMP TABLE pol_hours(dow INTEGER PRIMARY KEY, start_min INTEGER, end_min INTEGER)",
  "CREATE TEMP TABLE pol_holidays(day TEXT PRIMARY KEY)",
  "CREATE TEMP TABLE pol_require(name TEXT PRIMARY KEY, value)",
  "CREATE TEMP TABLE pol_params(rule_id TEXT, name TEXT, value TEXT, "
  "PRIMARY KEY(rule_id, name))",
  "CREATE TEMP TABLE pol_disabled(rule_id TEXT PRIMARY KEY)",
  "CREATE TEMP TABLE pol_exceptions(rule_id TEXT, subject TEXT, until_ts INTEGER, "
  "reason TEXT)",
  "CREATE INDEX temp.pol_user_windows_user ON pol_user_windows(user_id)",
  "CREATE INDEX temp.pol_ae_nets_title ON pol_ae_nets(title)",
  "CREATE INDEX temp.pol_ae_ops_title ON pol_ae_ops(title, op)",
  "CREATE INDEX temp.pol_ae_dests_title ON pol_ae_dests(title, dest)",
  "CREATE INDEX temp.pol_exceptions_rule ON pol_exceptions(rule_id, subject)",
};

enum {
  I_SITE, I_USER, I_WIN, I_ROLE, I_ROLE_OP, I_AE, I_AE_NET, I_AE_OP, I_AE_DEST, I_VIP,
  I_HOURS, I_HOLIDAY, I_REQ, I_PARAM, I_DISABLED, I_EXC, N_INS
};
static const char *const ins_sql[N_INS] = {
  "INSERT INTO temp.pol_site VALUES (?1, ?2)",
  "INSERT INTO temp.pol_users VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
  "INSERT INTO temp.pol_user_windows VALUES (?1, ?2, ?3)",
  "INSERT INTO temp.pol_roles VALUES (?1)",
  "INSERT OR IGNORE INTO temp.pol_role_ops VALUES (?1, ?2)",
  "INSERT INTO temp.pol_aes VALUES (?1, ?2, ?3, ?4)",
  "INSERT INTO temp.pol_ae_nets VALUES (?1, ?2)",
  "INSERT INTO temp.pol_ae_ops VALUES (?1, ?2)",
  "INSERT INTO temp.pol_ae_dests VALUES (?1, ?2)",
  "INSERT OR IGNORE INTO temp.pol_vip VALUES (?1)",
  "INSERT INTO temp.pol_hours VALUES (?1, ?2, ?3)",
  "INSERT OR IGNORE INTO temp.pol_holidays VALUES (?1)",
  "INSERT INTO temp.pol_require VALUES (?1, ?2)",
  "INSERT INTO temp.pol_params VALUES (?1, ?2, ?3)",
  "INSERT OR IGNORE INTO temp.pol_disabled VALUES (?1)",
  "INSERT INTO temp.pol_exceptions VALUES (?1, ?2, ?3, ?4)",
};

static int bind_text(sqlite3_stmt *st, int i, const char *s)
{
  return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int bind_opt_i64(sqlite3_stmt *st, int i, int has, int64_t v)
{
  return has ? sqlite3_bind_int64(st, i, v) : sqlite3_bind_null(st, i);
}

/* Steps and resets st; the bindings are redone by the caller each row. */
static int run(sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Two-text-column rows (a, b[i]) for each string of v. */
static int rows2(sqlite3_stmt *st, const char *a, const struct strv *v)
{
  int rc = SQLITE_OK;
  for (size_t i = 0; i < v->n && rc == SQLITE_OK; i++) {
    bind_text(st, 1, a);
    bind_text(st, 2, v->v[i]);
    rc = run(st);
  }
  return rc;
}

static int fill(const pa_policy *p, sqlite3_stmt **ins)
{
  sqlite3_stmt *st;
  int rc;

  st = ins[I_SITE];
  bind_text(st, 1, p->site_name);
  bind_text(st, 2, p->tz_name);
  if ((rc = run(st)))
    return rc;
  for (size_t i = 0; i < p->n_users; i++) {
    const struct user *u = &p->users[i];
    st = ins[I_USER];
    bind_text(st, 1, u->id);
    bind_text(st, 2, u->name);
    bind_text(st, 3, u->role);
    bind_text(st, 4, u->department);
    bind_opt_i64(st, 5, u->has_from, u->valid_from);
    bind_opt_i64(st, 6, u->has_to, u->valid_to);
    bind_text(st, 7, u->kind);
    bind_opt_i64(st, 8, u->mfa >= 0, u->mfa);
    if ((rc = run(st)))
      return rc;
    for (size_t k = 0; k < u->n_w; k++) {
      st = ins[I_WIN];
      bind_text(st, 1, u->id);
      sqlite3_bind_int64(st, 2, u->w[k].from);
      sqlite3_bind_int64(st, 3, u->w[k].to);
      if ((rc = run(st)))
        return rc;
    }
  }
  for (size_t i = 0; i < p->n_roles; i++) {
    st = ins[I_ROLE];
    bind_text(st, 1, p->roles[i].name);
    if ((rc = run(st)))
      return rc;
    for (size_t k = 0; k < N_OPS; k++) {
      if (!(p->roles[i].ops & (1u << k)))
        continue;
      st = ins[I_ROLE_OP];
      bind_text(st, 1, p->roles[i].name);
      bind_text(st, 2, ops_vocab[k]);
      if ((rc = run(st)))
        return rc;
    }
  }
  for (size_t i = 0; i < p->n_aes; i++) {
    const struct ae *a = &p->aes[i];
    st = ins[I_AE];
    bind_text(st, 1, a->title);
    bind_text(st, 2, a->kind);
    sqlite3_bind_int(st, 3, a->restricted);
    sqlite3_bind_int(st, 4, a->has_dests);
    if ((rc = run(st)) || (rc = rows2(ins[I_AE_NET], a->title, &a->ips)) ||
        (rc = rows2(ins[I_AE_OP], a->title, &a->ops)) ||
        (rc = rows2(ins[I_AE_DEST], a->title, &a->dests)))
      return rc;
  }
  for (size_t i = 0; i < p->vips.n; i++) {
    bind_text(ins[I_VIP], 1, p->vips.v[i]);
    if ((rc = run(ins[I_VIP])))
      return rc;
  }
  if (p->has_hours && p->start_min >= 0 && p->end_min >= 0)
    for (int d = 0; d < 7; d++) {
      if (!(p->days & (1u << d)))
        continue;
      st = ins[I_HOURS];
      sqlite3_bind_int(st, 1, d);
      sqlite3_bind_int(st, 2, p->start_min);
      sqlite3_bind_int(st, 3, p->end_min);
      if ((rc = run(st)))
        return rc;
    }
  for (size_t i = 0; i < p->holidays.n; i++) {
    bind_text(ins[I_HOLIDAY], 1, p->holidays.v[i]);
    if ((rc = run(ins[I_HOLIDAY])))
      return rc;
  }
  for (size_t i = 0; i < p->n_reqs; i++) {
    st = ins[I_REQ];
    bind_text(st, 1, p->reqs[i].name);
    if (p->reqs[i].is_real)
      sqlite3_bind_double(st, 2, p->reqs[i].d);
    else
      sqlite3_bind_int64(st, 2, p->reqs[i].i);
    if ((rc = run(st)))
      return rc;
  }
  for (size_t i = 0; i < p->n_params; i++) {
    st = ins[I_PARAM];
    bind_text(st, 1, p->params[i].rule);
    bind_text(st, 2, p->params[i].name);
    bind_text(st, 3, p->params[i].text);
    if ((rc = run(st)))
      return rc;
  }
  for (size_t i = 0; i < p->disabled.n; i++) {
    bind_text(ins[I_DISABLED], 1, p->disabled.v[i]);
    if ((rc = run(ins[I_DISABLED])))
      return rc;
  }
  for (size_t i = 0; i < p->n_excs; i++) {
    const struct exc *x = &p->excs[i];
    st = ins[I_EXC];
    bind_text(st, 1, x->rule);
    bind_text(st, 2, x->subject);
    bind_opt_i64(st, 3, x->has_until, x->until);
    bind_text(st, 4, x->reason);
    if ((rc = run(st)))
      return rc;
  }
  return SQLITE_OK;
}

pa_rc pa_policy_install(const pa_policy *p, sqlite3 *db, struct pa_err *err)
{
  sqlite3_stmt *ins[N_INS] = {0};
  int rc, began = 0;
  pa_rc r = PA_OK;

  if ((rc = sqlite3_exec(db, "SAVEPOINT pa_policy_install", NULL, NULL, NULL)))
    goto out;
  began = 1;
  for (size_t i = 0; i < sizeof ddl / sizeof ddl[0]; i++)
    if ((rc = sqlite3_exec(db, ddl[i], NULL, NULL, NULL)))
      goto out;
  for (int i = 0; i < N_INS; i++)
    if ((rc = sqlite3_prepare_v2(db, ins_sql[i], -1, &ins[i], NULL)))
      goto out;
  rc = fill(p, ins);
out:
  if (rc) {
    r = pa_err_set(err, rc == SQLITE_NOMEM ? PA_NOMEM : PA_DB, UINT64_MAX, 0,
                   "installing policy %s: %s", p->path, sqlite3_errmsg(db));
  }
  for (int i = 0; i < N_INS; i++)
    sqlite3_finalize(ins[i]);
  if (began) {
    if (r) {
      sqlite3_exec(db, "ROLLBACK TO pa_policy_install", NULL, NULL, NULL);
      sqlite3_exec(db, "RELEASE pa_policy_install", NULL, NULL, NULL);
    } else if ((rc = sqlite3_exec(db, "RELEASE pa_policy_install", NULL, NULL, NULL))) {
      r = pa_err_set(err, PA_DB, UINT64_MAX, 0, "installing policy %s: %s", p->path,
                     sqlite3_errmsg(db));
    }
  }
  return r;
}
