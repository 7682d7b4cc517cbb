/* compile.c — a rule to SQL (see compile.h; the format is docs/rules.md).
 *
 * One walk over the rule's JSON both checks it and writes the SQL, so lint
 * and check can never disagree. Each kind writes statements that end in
 * INSERT INTO r_hits(part, subj, ts, eid, t0):
 *   ts   the time the engine cuts episodes by, t0 the row's own time (they
 *        differ only for a gap, whose two ends belong together);
 *   eid  the id of the evidence row in the rule's table (events, dimse or
 *        associations), NULL for a roster entry.
 * Kinds: match, threshold, sequence, absence, reconcile, gap, backwards;
 * "parts" make one rule of several, each its own findings.
 * Windows are window functions with RANGE frames or self-joins on temp
 * tables with an index on (key, ts): SQLite does the walking, not C. */
#include "rules/compile.h"
#include "rules/sqlfn.h"

#include "analyzer/limits.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define US_PER_S 1000000LL

/* ---- the tables a rule may read ------------------------------------- */

struct base {
  const char *name;
  const char *from_sql;       /* a table or a subquery with these columns */
  const char *const *cols;
  const char *evidence;       /* what its ids are */
};

const char *const pa_event_cols[] = {
  "id", "ts", "received_ts", "source", "origin", "event_code", "action", "outcome",
  "user_id", "user_name", "user_role", "src_ip", "src_ae", "dst_ip", "dst_ae", "host",
  "patient_id", "study_uid", "object_count", "secure", "assoc_id", "raw_id",
  "event_type", "auth_method", "op", "received_via", NULL};

static const char *const dimse_cols[] = {
  "id", "ts", "assoc_id", "message_id", "command", "sop_class_uid", "sop_instance_uid",
  "status", "patient_id", "study_uid", "query", "move_destination", "by_acceptor",
  "move_originator_ae", "move_originator_id", "rsp_ts", "calling_ae", "called_ae",
  "client_ip", "server_ip", "user_identity", "user_identity_type", "tls", NULL};

static const char *const assoc_cols[] = {
  "id", "ts", "ended_at", "client_ip", "client_port", "server_ip", "server_port",
  "calling_ae", "called_ae", "result", "reject_reason", "user_identity_type",
  "user_identity", "tls", "origin", NULL};

static const char *const roster_cols[] = {
  "id", "ts", "user_id", "name", "role", "department", "kind", "valid_from", "valid_to",
  "mfa", NULL};

static const struct base bases[] = {
  {"events", "events", pa_event_cols, "events"},
  {"dimse",
   "(SELECT d.id AS id, d.ts AS ts, d.assoc_id AS assoc_id, d.message_id AS message_id,"
   " d.command AS command, d.sop_class_uid AS sop_class_uid,"
   " d.sop_instance_uid AS sop_instance_uid, d.status AS status, d.patient_id AS patient_id,"
   " d.study_uid AS study_uid, d.query AS query, d.move_destination AS move_destination,"
   " d.by_acceptor AS by_acceptor, d.move_originator_ae AS move_originator_ae,"
   " d.move_originator_id AS move_originator_id, d.rsp_ts AS rsp_ts,"
   " a.calling_ae AS calling_ae, a.called_ae AS called_ae, a.client_ip AS client_ip,"
   " a.server_ip AS server_ip, a.user_identity AS user_identity,"
   " a.user_identity_type AS user_identity_type, a.tls AS tls"
   " FROM dimse d JOIN associations a ON a.id = d.assoc_id)",
   dimse_cols, "dimse"},
  {"associations",
   "(SELECT id, started_at AS ts, ended_at, client_ip, client_port, server_ip, server_port,"
   " calling_ae, called_ae, result, reject_reason, user_identity_type, user_identity, tls,"
   " origin FROM associations)",
   assoc_cols, "associations"},
  /* the events and the reviewers' sign-offs (schema 7's view): a sign-off
   * is a row of op 'review', source 'pacsaudit', user_name the reviewer,
   * no id (it is not an event: no evidence row) */
  {"events_and_reviews", "events_and_reviews", pa_event_cols, "events"},
  /* the roster: ts is bound to the anchor of an absence (see absence()) */
  {"roster",
   "(SELECT NULL AS id, CAST(? AS INTEGER) AS ts, id AS user_id, name, role, department,"
   " kind, valid_from, valid_to, mfa FROM pol_users)",
   roster_cols, "events"},
};
enum { BASE_EVENTS, BASE_DIMSE, BASE_ASSOC, BASE_EV_REVIEWS, BASE_ROSTER };

/* ---- the compiler's state -------------------------------------------- */

struct cc {
  const struct pa_rule *r;
  const struct pa_compile_opts *o;
  const struct pa_dialect *dl;
  struct pa_diag *d;
  struct pa_compiled *out;
  struct pa_buf q;        /* the statement being written */
  struct pa_bind *b;      /* its binds */
  size_t nb, cap_b;
  int bad, nomem;
  int part;
  int64_t data_end;       /* the period's end: until, else the newest row */
  /* the read of events being written (struct pa_read): rd.scan_at is 0
   * when the statement has none; reading while its filter is written;
   * read_done once it is whole, for stmt_end */
  struct pa_read rd;
  int reading, term_depth, terms_over;
  struct pa_read *read_done;
};

static void bad(struct cc *c, const char *path, const char *fmt, ...)
  __attribute__((format(printf, 3, 4)));
static void bad(struct cc *c, const char *path, const char *fmt, ...)
{
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  pa_diag_error(c->d, "%s: %s: %s", c->r->file, path, msg);
  c->bad = 1;
}

static void app(struct cc *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void app(struct cc *c, const char *fmt, ...)
{
  char tmp[2048];
  va_list ap;
  int n;
  va_start(ap, fmt);
  n = vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= sizeof tmp || pa_buf_append(&c->q, tmp, (size_t)n))
    c->nomem = 1;
}

static struct pa_bind *bind_new(struct cc *c)
{
  if (c->nb == c->cap_b) {
    size_t n = c->cap_b ? c->cap_b * 2 : 16;
    struct pa_bind *nb = realloc(c->b, n * sizeof *nb);
    if (!nb) {
      c->nomem = 1;
      return NULL;
    }
    c->b = nb;
    c->cap_b = n;
  }
  memset(&c->b[c->nb], 0, sizeof c->b[0]);
  return &c->b[c->nb++];
}

/* A number as the next '?'. */
static void bind_num(struct cc *c, enum pa_bind_type type, int64_t i, double d)
{
  struct pa_bind *b = bind_new(c);
  if (b) {
    b->type = type;
    b->i = i;
    b->d = d;
  }
  app(c, "?");
}

static void bind_int(struct cc *c, int64_t v) { bind_num(c, PA_BIND_INT, v, 0); }
static void bind_real(struct cc *c, double v) { bind_num(c, PA_BIND_REAL, 0, v); }

/* Adds a text bind for a '?' that the caller (or the dialect) wrote. */
static void bind_text_only(struct cc *c, const char *v)
{
  struct pa_bind *b = bind_new(c);
  if (b) {
    b->type = PA_BIND_TEXT;
    if (!(b->s = strdup(v)))
      c->nomem = 1;
  }
}

static void bind_text(struct cc *c, const char *v)
{
  bind_text_only(c, v);
  app(c, "?");
}

static void binds_free(struct pa_bind *b, size_t n)
{
  for (size_t i = 0; i < n; i++)
    free(b[i].s);
  free(b);
}

/* Ends the statement being written and appends it to the program. */
static void stmt_end(struct cc *c)
{
  struct pa_sqlstmt *ns;
  if (c->nomem)
    return;
  ns = realloc(c->out->stmts, (c->out->n_stmts + 1) * sizeof *ns);
  if (!ns || !(ns[c->out->n_stmts].sql = strdup(pa_buf_str(&c->q)))) {
    if (ns)
      c->out->stmts = ns;
    c->nomem = 1;
    return;
  }
  c->out->stmts = ns;
  ns[c->out->n_stmts].binds = c->b;
  ns[c->out->n_stmts].n_binds = c->nb;
  ns[c->out->n_stmts].read = c->read_done;
  c->out->n_stmts++;
  c->b = NULL;
  c->nb = c->cap_b = 0;
  c->read_done = NULL;
  c->rd.scan_at = 0;
  c->reading = 0;
  pa_buf_reset(&c->q);
}

static void stmt_free(struct pa_sqlstmt *st)
{
  free(st->sql);
  binds_free(st->binds, st->n_binds);
  free(st->read);
}

/* A statement with no binds, as is. */
static void stmt_plain(struct cc *c, const char *sql)
{
  app(c, "%s", sql);
  stmt_end(c);
}

/* ---- durations and parameters ----------------------------------------- */

pa_rc pa_rule_duration(const char *text, int64_t *us_out)
{
  char *end;
  double v, unit = 1;

  if (!text || !*text)
    return PA_MALFORMED;
  errno = 0;
  v = strtod(text, &end);
  if (errno || end == text || !isfinite(v) || v < 0)
    return PA_MALFORMED;
  if (*end) {
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: return PA_MALFORMED;
    }
    if (end[1])
      return PA_MALFORMED;
  }
  v *= unit * US_PER_S;
  if (v > 1e17)
    return PA_MALFORMED;
  *us_out = (int64_t)v;
  return PA_OK;
}

/* A parameter's value: a duration in µs (is_dur) or a plain number. */
struct pval {
  int is_dur;
  int64_t us;
  double num;
};

static void note_param(struct cc *c, const char *name, const char *text, int from_policy)
{
  struct pa_param_val *np;
  for (size_t i = 0; i < c->out->n_params; i++)
    if (!strcmp(c->out->params[i].name, name))
      return;
  np = realloc(c->out->params, (c->out->n_params + 1) * sizeof *np);
  if (!np) {
    c->nomem = 1;
    return;
  }
  c->out->params = np;
  np += c->out->n_params;
  np->name = strdup(name);
  np->text = strdup(text);
  np->from_policy = from_policy;
  if (!np->name || !np->text) {
    free(np->name);
    free(np->text);
    c->nomem = 1;
    return;
  }
  c->out->n_params++;
}

static double unit_s(const char *u)
{
  return !strcmp(u, "s") ? 1 : !strcmp(u, "m") ? 60 : !strcmp(u, "h") ? 3600
       : !strcmp(u, "d") ? 86400 : 0;
}

/* Resolves "$name" against the rule's params and the policy's overrides.
 * A param is declared as a number (a count), a duration string ("10m"), or
 * {"default": N, "unit": "h"} (a duration written as a number of units). */
static int param(struct cc *c, const char *name, const char *path, struct pval *v)
{
  json_t *decl = json_object_get(json_object_get(c->r->doc, "params"), name);
  const char *over = NULL, *dot;
  char shown[64];
  double u = 0;

  memset(v, 0, sizeof *v);
  if (!decl) {
    bad(c, path, "\"$%s\" is not declared in \"params\"", name);
    return -1;
  }
  if (c->o->param) {
    dot = strchr(name, '.');
    if (dot && !strncmp(name, "require.", 8))
      over = c->o->param(c->o->param_ctx, "require", dot + 1);
    else
      over = c->o->param(c->o->param_ctx, c->r->id, name);
  }
  if (json_is_object(decl)) {
    u = unit_s(json_string_value(json_object_get(decl, "unit")) ?: "");
    decl = json_object_get(decl, "default");
  }
  if (json_is_string(decl)) { /* a duration */
    const char *t = over ? over : json_string_value(decl);
    v->is_dur = 1;
    if (pa_rule_duration(t, &v->us)) {
      bad(c, path, "%s \"%s\" is not a duration (like 90s, 10m, 1h, 1d)",
          over ? "the policy's threshold" : "the default", t);
      return -1;
    }
    note_param(c, name, t, over != NULL);
    return 0;
  }
  if (!json_is_number(decl)) {
    bad(c, path, "params.%s: a number, a duration string or {\"default\", \"unit\"}", name);
    return -1;
  }
  v->num = json_number_value(decl);
  if (over) {
    char *end;
    errno = 0;
    v->num = strtod(over, &end);
    if (errno || end == over || (*end && !(u && pa_rule_duration(over, &v->us) == PA_OK)) ||
        v->num < 0) {
      bad(c, path, "the policy's threshold %s \"%s\" is not a %s", name, over,
          u ? "number or duration" : "number");
      return -1;
    }
    if (*end) { /* a duration string for a unit-typed param */
      v->is_dur = 1;
      note_param(c, name, over, 1);
      return 0;
    }
  }
  if (u) {
    v->is_dur = 1;
    v->us = (int64_t)(v->num * u * US_PER_S);
  }
  snprintf(shown, sizeof shown, "%g", v->num);
  note_param(c, name, shown, over != NULL);
  return 0;
}

/* A duration key's value: "$param" or a literal duration. */
static int duration(struct cc *c, json_t *j, const char *path, int64_t *us)
{
  const char *t = json_string_value(j);
  struct pval v;
  if (!t) {
    bad(c, path, "a duration (like \"10m\") or \"$param\"");
    return -1;
  }
  if (t[0] == '$') {
    if (param(c, t + 1, path, &v))
      return -1;
    if (!v.is_dur) {
      bad(c, path, "\"%s\" is a number, not a duration", t);
      return -1;
    }
    *us = v.us;
    return 0;
  }
  if (pa_rule_duration(t, us)) {
    bad(c, path, "\"%s\" is not a duration (like 90s, 10m, 1h, 1d)", t);
    return -1;
  }
  return 0;
}

/* A count: a non-negative integer or "$param". */
static int number(struct cc *c, json_t *j, const char *path, double *out)
{
  struct pval v;
  if (json_is_number(j)) {
    *out = json_number_value(j);
    return 0;
  }
  if (json_is_string(j) && json_string_value(j)[0] == '$') {
    if (param(c, json_string_value(j) + 1, path, &v))
      return -1;
    if (v.is_dur) {
      bad(c, path, "\"%s\" is a duration, not a number", json_string_value(j));
      return -1;
    }
    *out = v.num;
    return 0;
  }
  bad(c, path, "a number or \"$param\"");
  return -1;
}

/* ---- fields ---------------------------------------------------------- */

static int has_col(const struct base *b, const char *name)
{
  for (const char *const *p = b->cols; *p; p++)
    if (!strcmp(*p, name))
      return 1;
  return 0;
}

/* Writes the SQL for field name of row alias into out. Computed fields:
 *   dimse_cmd     the DIMSE command without -RQ ("C-MOVE")
 *   skew_s        |ts - received_ts| in seconds (skew_us: in µs, to compare with a
 *                 duration parameter)
 *   local_minute, local_dow, local_day   ts in the site's zone */
static int field(struct cc *c, const struct base *b, const char *alias, const char *name,
                 const char *path, char *out, size_t size)
{
  struct pa_buf t;
  char ts[64];
  int n = -1;

  if (!name) {
    bad(c, path, "\"field\" must be a string");
    return -1;
  }
  snprintf(ts, sizeof ts, "%s.ts", alias);
  if (has_col(b, name))
    n = snprintf(out, size, "%s.%s", alias, name);
  else if (!strcmp(name, "dimse_cmd") && b->cols == pa_event_cols)
    n = snprintf(out, size,
                 "(CASE WHEN %1$s.event_code GLOB 'DIMSE:*-RQ' THEN"
                 " substr(%1$s.event_code, 7, length(%1$s.event_code) - 9) END)", alias);
  else if (!strcmp(name, "dimse_cmd") && b == &bases[BASE_DIMSE])
    n = snprintf(out, size, "substr(%1$s.command, 1, length(%1$s.command) - 3)", alias);
  else if (!strcmp(name, "skew_s") && b->cols == pa_event_cols)
    n = snprintf(out, size, "(abs(%1$s.ts - %1$s.received_ts) / 1000000.0)", alias);
  else if (!strcmp(name, "skew_us") && b->cols == pa_event_cols)
    n = snprintf(out, size, "abs(%1$s.ts - %1$s.received_ts)", alias);
  else if (!strcmp(name, "local_minute") || !strcmp(name, "local_dow") ||
           !strcmp(name, "local_day")) {
    enum pa_local_part part = name[6] == 'm' ? PA_LOCAL_MINUTE
                            : name[6] == 'd' && name[7] == 'o' ? PA_LOCAL_DOW : PA_LOCAL_DAY;
    pa_buf_init(&t, size - 1);
    if (c->dl->local(&t, part, ts) == PA_OK)
      n = snprintf(out, size, "%s", pa_buf_str(&t));
    pa_buf_cleanup(&t);
  } else {
    bad(c, path, "unknown field \"%s\" for rows of %s", name, b->name);
    return -1;
  }
  if (n < 0 || (size_t)n >= size) {
    c->nomem = 1;
    return -1;
  }
  return 0;
}

/* ---- predicates ------------------------------------------------------ */

static void pred(struct cc *c, const struct base *b, const char *alias, json_t *p,
                 const char *path);

/* A part of the filter of a read of events begins and ends: one of the
 * parts ANDed at its top (struct pa_read's terms); a part inside another
 * belongs to the outer one. */
static void term_begin(struct cc *c)
{
  if (!c->reading || c->term_depth++)
    return;
  if (c->rd.n_terms == PA_RULE_MAX_READ_TERMS)
    c->terms_over = 1;
  else
    c->rd.term[c->rd.n_terms].from = c->q.len;
}

static void term_end(struct cc *c)
{
  if (!c->reading || --c->term_depth || c->terms_over)
    return;
  c->rd.term[c->rd.n_terms++].to = c->q.len;
}

/* The keys of o must be among allowed (NULL-terminated). */
static int only_keys(struct cc *c, json_t *o, const char *path, const char *const *allowed)
{
  const char *k;
  json_t *v;
  int ok = 0;
  json_object_foreach(o, k, v) {
    const char *const *a;
    for (a = allowed; *a && strcmp(*a, k); a++)
      ;
    if (!*a) {
      bad(c, path, "unknown key \"%s\"", k);
      ok = -1;
    }
  }
  return ok;
}

/* A literal or "$param" as a bound value. */
static void value(struct cc *c, json_t *v, const char *path)
{
  struct pval pv;
  if (json_is_string(v) && json_string_value(v)[0] == '$') {
    if (param(c, json_string_value(v) + 1, path, &pv) == 0) {
      if (pv.is_dur)
        bind_int(c, pv.us);
      else
        bind_real(c, pv.num);
    }
  } else if (json_is_string(v))
    bind_text(c, json_string_value(v));
  else if (json_is_integer(v))
    bind_int(c, json_integer_value(v));
  else if (json_is_real(v))
    bind_real(c, json_real_value(v));
  else if (json_is_boolean(v))
    bind_int(c, json_is_true(v));
  else {
    bad(c, path, "a string, number, boolean or \"$param\"");
    app(c, "NULL");
  }
}

/* (v1, v2, ...) from an array of literals. */
static void value_list(struct cc *c, json_t *a, const char *path)
{
  size_t i;
  json_t *v;
  char sub[256];
  if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > PA_RULE_MAX_SET) {
    bad(c, path, "a list of 1 to %d values", PA_RULE_MAX_SET);
    app(c, "(NULL)");
    return;
  }
  app(c, "(");
  json_array_foreach(a, i, v) {
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    app(c, i ? ", " : "");
    value(c, v, sub);
  }
  app(c, ")");
}

static void field_pred(struct cc *c, const struct base *b, const char *alias, json_t *p,
                       const char *path)
{
  static const char *const keys[] = {"field", "eq", "ne", "gt", "gte", "lt", "lte", "in",
                                     "not_in", "regex", "not_regex", "cidr", "not_cidr",
                                     "null", "prefix", NULL};
  static const struct { const char *key, *op; } cmp[] = {
    {"eq", "="}, {"ne", "<>"}, {"gt", ">"}, {"gte", ">="}, {"lt", "<"}, {"lte", "<="}};
  char f[1024], sub[256];
  const char *k;
  json_t *v;
  int n_ops = 0;

  if (only_keys(c, p, path, keys) ||
      field(c, b, alias, json_string_value(json_object_get(p, "field")), path, f, sizeof f)) {
    app(c, "0");
    return;
  }
  json_object_foreach(p, k, v) {
    if (!strcmp(k, "field"))
      continue;
    snprintf(sub, sizeof sub, "%s.%s", path, k);
    if (n_ops++)
      app(c, " AND ");
    for (size_t i = 0; i < sizeof cmp / sizeof cmp[0]; i++)
      if (!strcmp(k, cmp[i].key)) {
        if (json_is_null(v))
          bad(c, sub, "null is not a value: use \"null\": true");
        app(c, "(%s %s ", f, cmp[i].op);
        if (json_is_object(v)) { /* another field of the same row: {"field": "ts"} */
          char g[1024];
          if (json_object_size(v) != 1 ||
              field(c, b, alias, json_string_value(json_object_get(v, "field")), sub, g,
                    sizeof g) == 0)
            app(c, "%s", json_object_size(v) == 1 ? g : "NULL");
          if (json_object_size(v) != 1)
            bad(c, sub, "a value, \"$param\" or {\"field\": name}");
        } else {
          value(c, v, sub);
        }
        app(c, ")");
        goto next;
      }
    if (!strcmp(k, "in") || !strcmp(k, "not_in")) {
      app(c, "(%s %s ", f, k[0] == 'n' ? "NOT IN" : "IN");
      value_list(c, v, sub);
      app(c, ")");
    } else if (!strcmp(k, "regex") || !strcmp(k, "not_regex")) {
      struct pa_err e;
      pa_err_clear(&e);
      if (!json_is_string(v))
        bad(c, sub, "a regular expression (PCRE2) as a string");
      else if (pa_sqlfn_regex_check(json_string_value(v), &e))
        bad(c, sub, "bad regular expression: %s", e.msg);
      app(c, "%s(", k[0] == 'n' ? "NOT " : "");
      if (c->dl->regexp(&c->q, f))
        c->nomem = 1;
      bind_text_only(c, json_string_value(v) ?: "");
      app(c, " AND %s IS NOT NULL)", f);
    } else if (!strcmp(k, "cidr") || !strcmp(k, "not_cidr")) {
      json_t *nets = json_is_string(v) ? json_pack("[O]", v) : json_incref(v);
      size_t i;
      json_t *net;
      if (!json_is_array(nets) || json_array_size(nets) == 0) {
        bad(c, sub, "an address or CIDR range, or a list of them");
      } else {
        app(c, "%s(%s IS NOT NULL AND (", k[0] == 'n' ? "NOT " : "", f);
        json_array_foreach(nets, i, net) {
          if (!json_is_string(net) || !pa_sqlfn_net_valid(json_string_value(net)))
            bad(c, sub, "\"%s\" is not an address or CIDR range",
                json_string_value(net) ?: "(not a string)");
          app(c, i ? " OR " : "");
          if (c->dl->cidr(&c->q, f, "?"))
            c->nomem = 1;
          bind_text_only(c, json_string_value(net) ?: "");
        }
        app(c, "))");
      }
      json_decref(nets);
    } else if (!strcmp(k, "prefix")) {
      /* starts with: a range, so an index on the field serves it */
      const char *pf = json_string_value(v);
      char *hi;
      size_t n;
      if (!pf || !*pf || (n = strlen(pf)) > 255 || (unsigned char)pf[n - 1] == 0xff) {
        bad(c, sub, "a non-empty string of up to 255 bytes");
        app(c, "0");
        continue;
      }
      if (!(hi = strdup(pf))) {
        c->nomem = 1;
        continue;
      }
      hi[n - 1]++; /* the first string past every one with this prefix */
      app(c, "(%s >= ", f);
      bind_text(c, pf);
      app(c, " AND %s < ", f);
      bind_text(c, hi);
      app(c, ")");
      free(hi);
    } else if (!strcmp(k, "null")) {
      if (!json_is_boolean(v))
        bad(c, sub, "true or false");
      app(c, "(%s IS %sNULL)", f, json_is_true(v) ? "" : "NOT ");
    }
  next:;
  }
  if (!n_ops) {
    bad(c, path, "a field test needs an operator (eq, ne, gt, gte, lt, lte, in, not_in,"
                 " regex, not_regex, cidr, not_cidr, null)");
    app(c, "0");
  }
}

/* The two fields a lookup compares, named by keys k1 and k2 of p (or
 * their defaults), into f and g. -1 (and "0" written) when one is bad. */
static int two_fields(struct cc *c, const struct base *b, const char *alias, json_t *p,
                      const char *k1, const char *d1, const char *k2, const char *d2,
                      const char *path, char f[1024], char g[1024])
{
  const char *n1 = json_string_value(json_object_get(p, k1));
  const char *n2 = json_string_value(json_object_get(p, k2));
  if (field(c, b, alias, n1 ? n1 : d1, path, f, 1024) ||
      field(c, b, alias, n2 ? n2 : d2, path, g, 1024)) {
    app(c, "0");
    return -1;
  }
  return 0;
}

/* Lookups into the site policy (its pol_* temp tables). Each has a guard
 * (the policy knows enough to say) and a test; "is": false asks for the
 * guard and not the test, so an account the roster does not know is never
 * "outside its validity" (that is AC-01's finding, not AC-02's). */
static void policy_pred(struct cc *c, const struct base *b, const char *alias, json_t *p,
                        const char *path)
{
  static const char *const keys[] = {"policy", "field", "is", "in", "op", "ae", "ip",
                                     "command", "dest", "name", NULL};
  const char *name = json_string_value(json_object_get(p, "policy"));
  json_t *is = json_object_get(p, "is");
  int want = !is || json_is_true(is);
  char f[1024], g[1024], ts[64];
  const char *fn = json_string_value(json_object_get(p, "field"));
  char sub[256];

  snprintf(ts, sizeof ts, "%s.ts", alias);
  if (only_keys(c, p, path, keys) || !name) {
    if (!name)
      bad(c, path, "\"policy\" names the lookup");
    app(c, "0");
    return;
  }
  if (is && !json_is_boolean(is))
    bad(c, path, "\"is\" is true or false");
  snprintf(sub, sizeof sub, "%s.field", path);
#define FIELD(dflt, buf)                                                     \
  if (field(c, b, alias, fn ? fn : (dflt), sub, buf, sizeof buf)) {          \
    app(c, "0");                                                             \
    return;                                                                  \
  }
  /* a positive lookup is written as IN (SELECT ...), so that SQLite can
   * drive it from the policy's few rows through the events indexes; a
   * negative one must look at every row anyway */
  if (!strcmp(name, "roster")) {
    FIELD("user_id", f);
    if (want)
      app(c, "(%s IN (SELECT id FROM pol_users))", f);
    else if (b == &bases[BASE_EVENTS] && !strcmp(f + strlen(alias), ".user_id"))
      /* the ids the events know but the roster does not, found once from
       * the user index, then their events through it: the cost follows the
       * unknown ids, not every row */
      app(c, "(%s IN (SELECT d.u FROM (SELECT DISTINCT user_id AS u FROM events WHERE"
             " user_id IS NOT NULL) d WHERE NOT EXISTS (SELECT 1 FROM pol_users p WHERE"
             " p.id = d.u)))", f);
    else /* no id is no unknown id, in both forms */
      app(c, "(%s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pol_users u WHERE u.id = %s))", f,
          f);
  } else if (!strcmp(name, "user_kind")) {
    FIELD("user_id", f);
    if (want)
      app(c, "(%s IN (SELECT id FROM pol_users WHERE kind IN ", f);
    else
      app(c, "(NOT EXISTS (SELECT 1 FROM pol_users u WHERE u.id = %s AND u.kind IN ", f);
    value_list(c, json_object_get(p, "in"), path);
    app(c, "))");
  } else if (!strcmp(name, "user_valid")) {
    FIELD("user_id", f);
    if (!want) { /* only accounts with a limit can be outside it: reach them by index */
      term_begin(c);
      app(c, "%s IN (SELECT id FROM pol_users WHERE valid_from IS NOT NULL OR valid_to IS NOT"
             " NULL)", f);
      term_end(c);
      app(c, " AND ");
    }
    term_begin(c);
    app(c, "EXISTS (SELECT 1 FROM pol_users u WHERE u.id = %s AND %s((u.valid_from IS NULL"
           " OR %s >= u.valid_from) AND (u.valid_to IS NULL OR %s < u.valid_to)))",
        f, want ? "" : "NOT ", ts, ts);
    term_end(c);
  } else if (!strcmp(name, "role_may")) {
    json_t *op = json_object_get(p, "op");
    FIELD("user_id", f);
    if (op && !json_is_string(op))
      bad(c, path, "\"op\" is an operation (\"audit-read\") or omitted for the event's op");
    if (!want && !op && b == &bases[BASE_EVENTS] && !strcmp(f + strlen(alias), ".user_id")) {
      /* the (operation, user) pairs the policy forbids, few, probed
       * through the (op, user_id, ts) index instead of judging every row */
      term_begin(c);
      app(c, "(%s.op, %s) IN (SELECT v.column1, u.id FROM pol_users u JOIN pol_roles r ON"
             " r.role = u.role, (VALUES ('login'), ('logout'), ('query'), ('retrieve'),"
             " ('store'), ('view'), ('report'), ('export'), ('import'), ('delete'),"
             " ('modify'), ('admin'), ('audit-read')) v WHERE NOT EXISTS (SELECT 1 FROM"
             " pol_role_ops o WHERE o.role = u.role AND o.op = v.column1))", alias, f);
      term_end(c);
      app(c, " AND ");
    }
    term_begin(c);
    app(c, "EXISTS (SELECT 1 FROM pol_users u JOIN pol_roles r ON r.role = u.role"
           " WHERE u.id = %s AND %sEXISTS (SELECT 1 FROM pol_role_ops o WHERE o.role = u.role"
           " AND o.op = ", f, want ? "" : "NOT ");
    if (op)
      bind_text(c, json_string_value(op) ?: "");
    else
      app(c, "%s.op", alias);
    app(c, "))");
    if (!op) /* no operation is nothing the role may or may not do */
      app(c, " AND %s.op IS NOT NULL", alias);
    term_end(c);
  } else if (!strcmp(name, "ae_registered")) {
    FIELD("src_ae", f);
    if (!want && b == &bases[BASE_EVENTS] && !strcmp(f + strlen(alias), ".src_ae"))
      /* as the roster's unknown ids: the titles the events know and the
       * registry does not, from the src_ae index, then their rows */
      app(c, "(%s IN (SELECT d.t FROM (SELECT DISTINCT src_ae AS t FROM events WHERE"
             " src_ae IS NOT NULL) d WHERE NOT EXISTS (SELECT 1 FROM pol_aes a WHERE"
             " a.title = d.t)))", f);
    else
      app(c, "(%sEXISTS (SELECT 1 FROM pol_aes a WHERE a.title = %s))", want ? "" : "NOT ", f);
  } else if (!strcmp(name, "ae_ip")) {
    struct pa_buf t;
    if (two_fields(c, b, alias, p, "ae", "src_ae", "ip", "src_ip", path, f, g))
      return;
    pa_buf_init(&t, 4096);
    if (c->dl->cidr(&t, g, "n.net"))
      c->nomem = 1;
    /* the guard as IN: the registered titles' rows, through the index */
    app(c, "(");
    term_begin(c);
    app(c, "%s IS NOT NULL", g);
    term_end(c);
    app(c, " AND ");
    term_begin(c);
    app(c, "%s IN (SELECT title FROM pol_ae_nets)", f);
    term_end(c);
    app(c, " AND ");
    term_begin(c);
    app(c, "%sEXISTS (SELECT 1 FROM pol_ae_nets n WHERE n.title = %s AND %s)",
        want ? "" : "NOT ", f, pa_buf_str(&t));
    term_end(c);
    app(c, ")");
    pa_buf_cleanup(&t);
  } else if (!strcmp(name, "ae_may")) {
    if (two_fields(c, b, alias, p, "ae", "src_ae", "command", "dimse_cmd", path, f, g))
      return;
    app(c, "(");
    term_begin(c);
    app(c, "%s IN (SELECT title FROM pol_aes WHERE restricted = 1)", f);
    term_end(c);
    app(c, " AND ");
    term_begin(c);
    app(c, "%sEXISTS (SELECT 1 FROM pol_ae_ops o WHERE o.title = %s AND o.op = %s)",
        want ? "" : "NOT ", f, g);
    term_end(c);
    app(c, ")");
  } else if (!strcmp(name, "move_dest")) {
    if (two_fields(c, b, alias, p, "ae", "calling_ae", "dest", "move_destination", path, f, g))
      return;
    app(c, "(%s IS NOT NULL AND %s(EXISTS (SELECT 1 FROM pol_aes a WHERE a.title = %s) AND"
           " NOT EXISTS (SELECT 1 FROM pol_aes a WHERE a.title = %s AND a.has_dests = 1 AND"
           " NOT EXISTS (SELECT 1 FROM pol_ae_dests x WHERE x.title = %s AND x.dest = %s))))",
        g, want ? "" : "NOT ", g, f, f, g);
  } else if (!strcmp(name, "vip")) {
    FIELD("patient_id", f);
    if (want)
      app(c, "(%s IN (SELECT patient_id FROM pol_vip))", f);
    else
      app(c, "(NOT EXISTS (SELECT 1 FROM pol_vip v WHERE v.patient_id = %s))", f);
  } else if (!strcmp(name, "in_hours")) {
    /* pol_offhours: the site's off-hours over the data, as UTC intervals
     * (the engine makes them from hours, holidays and the zone) */
    app(c, "(EXISTS (SELECT 1 FROM pol_hours) AND %sEXISTS (SELECT 1 FROM pol_offhours h"
           " WHERE h.from_ts <= %s AND %s < h.to_ts))", want ? "NOT " : "", ts, ts);
  } else if (!strcmp(name, "in_window")) {
    FIELD("user_id", f);
    app(c, "(%sEXISTS (SELECT 1 FROM pol_user_windows w WHERE w.user_id = %s AND %s >="
           " w.from_ts AND %s < w.to_ts))", want ? "" : "NOT ", f, ts, ts);
  } else if (!strcmp(name, "require")) {
    const char *n = json_string_value(json_object_get(p, "name"));
    if (!n || (strcmp(n, "tls") && strcmp(n, "mfa_from")))
      bad(c, path, "\"name\" is \"tls\" or \"mfa_from\"");
    if (n && !strcmp(n, "mfa_from"))
      app(c, "(%s%s >= (SELECT value FROM pol_require WHERE name = 'mfa_from'))",
          want ? "" : "NOT ", ts);
    else
      app(c, "(%sEXISTS (SELECT 1 FROM pol_require WHERE name = 'tls' AND value = 1))",
          want ? "" : "NOT ");
  } else if (!strcmp(name, "capture_covers")) {
    /* the link of this row (either address) was seen in a capture, and a
     * capture was running around its time */
    if (two_fields(c, b, alias, p, "field", "src_ip", "ip", "dst_ip", path, f, g))
      return;
    app(c, "(%s(EXISTS (SELECT 1 FROM associations k WHERE k.client_ip IN (%s, %s) OR"
           " k.server_ip IN (%s, %s)) AND EXISTS (SELECT 1 FROM (SELECT min(started_at) AS s,"
           " max(coalesce(ended_at, started_at)) AS e FROM associations GROUP BY origin) sp"
           " WHERE %s BETWEEN sp.s AND sp.e)))", want ? "" : "NOT ", f, g, f, g, ts);
  } else {
    bad(c, path, "unknown policy lookup \"%s\"", name);
    app(c, "0");
  }
#undef FIELD
}

static void pred(struct cc *c, const struct base *b, const char *alias, json_t *p,
                 const char *path)
{
  char sub[256];
  json_t *v;
  size_t i;

  if (!json_is_object(p)) {
    bad(c, path, "a predicate is an object");
    app(c, "0");
    return;
  }
  if ((v = json_object_get(p, "any")) || (v = json_object_get(p, "all"))) {
    int any = json_object_get(p, "any") != NULL;
    if (json_object_size(p) != 1 || !json_is_array(v) || !json_array_size(v)) {
      bad(c, path, "\"%s\" takes a non-empty list of predicates, alone", any ? "any" : "all");
      app(c, "0");
      return;
    }
    app(c, "(");
    for (i = 0; i < json_array_size(v); i++) {
      snprintf(sub, sizeof sub, "%s.%s[%zu]", path, any ? "any" : "all", i);
      app(c, i ? (any ? " OR " : " AND ") : "");
      pred(c, b, alias, json_array_get(v, i), sub);
    }
    app(c, ")");
  } else if ((v = json_object_get(p, "not"))) {
    if (json_object_size(p) != 1) {
      bad(c, path, "\"not\" stands alone");
    }
    snprintf(sub, sizeof sub, "%s.not", path);
    app(c, "(NOT ");
    pred(c, b, alias, v, sub);
    app(c, ")");
  } else if (json_object_get(p, "policy")) {
    policy_pred(c, b, alias, p, path);
  } else if (json_object_get(p, "field")) {
    field_pred(c, b, alias, p, path);
  } else {
    bad(c, path, "a predicate has \"field\", \"policy\", \"any\", \"all\" or \"not\"");
    app(c, "0");
  }
}

/* Whether a where item marks its own parts: the policy lookups written
 * as a guard that an index can serve AND a judgement of each row. */
static int marks_parts(json_t *p)
{
  static const char *const split[] = {"user_valid", "role_may", "ae_ip", "ae_may", NULL};
  const char *pol = json_string_value(json_object_get(p, "policy"));
  const char *const *a;

  if (!pol)
    return 0;
  for (a = split; *a && strcmp(*a, pol); a++)
    ;
  return *a != NULL;
}

/* AND of a "where" list (may be absent: true), leaving out item skip
 * (SIZE_MAX: none), which the caller wrote as a join. */
static void where_but(struct cc *c, const struct base *b, const char *alias, json_t *w,
                      const char *path, size_t skip)
{
  char sub[256];
  if (!w) {
    app(c, "1");
    return;
  }
  if (!json_is_array(w)) {
    bad(c, path, "\"where\" is a list of predicates");
    app(c, "0");
    return;
  }
  app(c, "(1");
  for (size_t i = 0; i < json_array_size(w); i++) {
    int whole = !marks_parts(json_array_get(w, i));
    if (i == skip)
      continue;
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    app(c, " AND ");
    if (whole)
      term_begin(c);
    pred(c, b, alias, json_array_get(w, i), sub);
    if (whole)
      term_end(c);
  }
  app(c, ")");
}

static void where(struct cc *c, const struct base *b, const char *alias, json_t *w,
                  const char *path)
{
  where_but(c, b, alias, w, path, SIZE_MAX);
}

/* The period filter on alias.ts: [since - lookback, until). */
static void period(struct cc *c, const char *alias, int64_t lookback)
{
  if (c->o->since_us) {
    app(c, " AND ");
    term_begin(c);
    app(c, "%s.ts >= ", alias);
    bind_int(c, c->o->since_us - lookback);
    term_end(c);
  }
  if (c->o->until_us) {
    app(c, " AND ");
    term_begin(c);
    app(c, "%s.ts < ", alias);
    bind_int(c, c->o->until_us);
    term_end(c);
  }
}

static const struct base *base_of(struct cc *c, json_t *spec, const char *path)
{
  const char *name = json_string_value(json_object_get(spec, "from"));
  char sub[256];
  if (!json_object_get(spec, "from"))
    return &bases[BASE_EVENTS];
  for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
    if (name && !strcmp(name, bases[i].name))
      return &bases[i];
  snprintf(sub, sizeof sub, "%s.from", path);
  bad(c, sub, "\"from\" is events, dimse, associations, events_and_reviews or roster");
  return &bases[BASE_EVENTS];
}

/* FROM base AS alias; the roster binds its anchor time first. */
static void from(struct cc *c, const struct base *b, const char *alias, int64_t anchor)
{
  struct pa_bind *v;
  if (b == &bases[BASE_ROSTER] && (v = bind_new(c))) { /* its one '?': the anchor */
    v->type = PA_BIND_INT;
    v->i = anchor;
  }
  app(c, "%s %s", b->from_sql, alias);
  /* the rows of a rule (x) from events: a read that may be a scan */
  c->rd.scan_at = b == &bases[BASE_EVENTS] && !strcmp(alias, "x") ? c->q.len : 0;
}

/* The filter of a read of events begins (right after its WHERE). */
static void filter_begins(struct cc *c)
{
  if (!c->rd.scan_at)
    return;
  c->rd.filter_from = c->q.len;
  c->rd.filter_bind = c->nb;
  c->rd.n_terms = 0;
  c->reading = 1;
  c->term_depth = c->terms_over = 0;
}

/* The columns of events that SQL text names as alias.name: bit i for
 * pa_event_cols[i], PA_READ_OTHER_COL for a name that is none of them
 * (but alias.* and the compiler's own columns, pa_...). */
static uint32_t cols_named(const char *q, size_t from, size_t to, char alias)
{
  uint32_t m = 0;
  for (size_t i = from; i + 2 < to; i++) {
    size_t n = 0, k;
    if (q[i] != alias || q[i + 1] != '.' || (i > from && (isalnum((unsigned char)q[i - 1]) ||
                                                          q[i - 1] == '_')))
      continue;
    while (i + 2 + n < to && (isalnum((unsigned char)q[i + 2 + n]) || q[i + 2 + n] == '_'))
      n++;
    for (k = 0; pa_event_cols[k]; k++)
      if (strlen(pa_event_cols[k]) == n && !strncmp(pa_event_cols[k], q + i + 2, n))
        break;
    if (pa_event_cols[k])
      m |= 1u << k;
    else if (n && (n < 3 || strncmp(q + i + 2, "pa_", 3))) /* not alias.* */
      m |= 1u << PA_READ_OTHER_COL;
  }
  return m;
}

/* The columns of events that a read's filter text reads (as x). */
static uint32_t cols_read(const char *q, size_t from, size_t to)
{
  return cols_named(q, from, to, 'x');
}

/* The columns of events that statements from..the last name as alias.col. */
static uint32_t cols_after(const struct cc *c, size_t from, char alias)
{
  uint32_t m = 0;
  for (size_t i = from; i < c->out->n_stmts; i++)
    m |= cols_named(c->out->stmts[i].sql, 0, strlen(c->out->stmts[i].sql), alias);
  return m;
}

/* Statement at, a side's read of all of events' columns ("SELECT x.*"),
 * made to read only those of mask (with id and ts): the statements after
 * it name no other, and the copies, sorts and probes of its temp table
 * then move a few columns instead of 26 (AC-05 alone at 10M events: its
 * window pass 2.3 -> 1.3 s, the copy to r_b 0.45 -> 0.16 s). Left as it
 * is when mask has a name that is not a column of events. */
static void narrow_read(struct cc *c, size_t at, uint32_t mask)
{
  struct pa_sqlstmt *st;
  struct pa_read *rd;
  const char *p;
  struct pa_buf t;
  size_t pos, grow;

  if (c->nomem || at >= c->out->n_stmts || (mask & (1u << PA_READ_OTHER_COL)))
    return;
  st = &c->out->stmts[at];
  if (!(p = strstr(st->sql, " AS SELECT x.* FROM ")))
    return;
  pos = (size_t)(p - st->sql) + 11; /* at "x.*" */
  mask |= 3u;                       /* id, ts */
  pa_buf_init(&t, strlen(st->sql) + 512);
  if (pa_buf_append(&t, st->sql, pos)) {
    c->nomem = 1;
    goto out;
  }
  for (size_t k = 0; pa_event_cols[k]; k++)
    if ((mask & (1u << k)) && pa_buf_appendf(&t, "%sx.%s", t.len > pos ? ", " : "",
                                             pa_event_cols[k]))
      c->nomem = 1;
  grow = t.len - pos - 3;
  if (c->nomem || pa_buf_appendf(&t, "%s", st->sql + pos + 3)) {
    c->nomem = 1;
    goto out;
  }
  if ((rd = st->read)) { /* its offsets all lie after the list */
    rd->scan_at += grow;
    rd->filter_from += grow;
    rd->filter_to += grow;
    for (size_t j = 0; j < rd->n_terms; j++) {
      rd->term[j].from += grow;
      rd->term[j].to += grow;
    }
  }
  free(st->sql);
  st->sql = (char *)t.p;
  t.p = NULL; /* handed over */
out:
  pa_buf_cleanup(&t);
}

/* The filter ends: the read, whole, goes with the statement. */
static void filter_ends(struct cc *c)
{
  if (!c->reading || c->nomem)
    return;
  c->reading = 0;
  if (c->terms_over || c->term_depth)
    return;
  c->rd.filter_to = c->q.len;
  for (size_t i = 0; i < c->rd.n_terms; i++)
    c->rd.term[i].cols = cols_read(pa_buf_str(&c->q), c->rd.term[i].from, c->rd.term[i].to);
  free(c->read_done);
  if (!(c->read_done = malloc(sizeof *c->read_done)))
    c->nomem = 1;
  else
    *c->read_done = c->rd;
}

/* The subject: a field, a list of fields (the first not NULL), or
 * {"const": "text"}. */
static void subject(struct cc *c, const struct base *b, const char *alias, json_t *s,
                    const char *path)
{
  char f[1024];
  if (json_is_string(s)) {
    if (field(c, b, alias, json_string_value(s), path, f, sizeof f) == 0)
      app(c, "%s", f);
  } else if (json_is_array(s) && json_array_size(s)) {
    app(c, "coalesce(");
    for (size_t i = 0; i < json_array_size(s); i++) {
      if (field(c, b, alias, json_string_value(json_array_get(s, i)), path, f, sizeof f))
        return;
      app(c, "%s%s", i ? ", " : "", f);
    }
    app(c, ", NULL)");
  } else if (json_is_string(json_object_get(s, "const"))) {
    bind_text(c, json_string_value(json_object_get(s, "const")));
  } else {
    bad(c, path, "\"subject\" is a field, a list of fields, or {\"const\": \"...\"}");
    app(c, "NULL");
  }
}

/* ---- kinds ----------------------------------------------------------- */

/* The first statement of every rule: an empty r_hits. */
static void hits_reset(struct cc *c)
{
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_a");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_b");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_m");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_all");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_c");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_t");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_an");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_p");
  stmt_plain(c, "DROP TABLE IF EXISTS temp.r_unless");
}

static void hits_into(struct cc *c)
{
  app(c, "INSERT OR IGNORE INTO r_hits (part, subj, ts, eid, t0) ");
}

/* match: every row that meets "where" is a hit. */
static void k_match(struct cc *c, json_t *k, const char *path)
{
  const struct base *b = base_of(c, k, path);
  json_t *w = json_object_get(k, "where"), *p;
  size_t off = SIZE_MAX, i;
  char sub[256];

  /* "outside working hours" over events: read only the off-hours stretches
   * of the time index, not every row */
  json_array_foreach(w, i, p)
    if (b == &bases[BASE_EVENTS] && off == SIZE_MAX && json_object_size(p) == 2 &&
        !strcmp(json_string_value(json_object_get(p, "policy")) ?: "", "in_hours") &&
        json_is_false(json_object_get(p, "is")))
      off = i;
  hits_into(c);
  app(c, "SELECT %d, ", c->part);
  snprintf(sub, sizeof sub, "%s.subject", path);
  subject(c, b, "x", json_object_get(k, "subject"), sub);
  app(c, " AS subj, x.ts, x.id, x.ts FROM ");
  if (off != SIZE_MAX) {
    app(c, "pol_offhours h CROSS JOIN ");
    if (c->dl->events_by_time(&c->q, "x"))
      c->nomem = 1;
    app(c, " ON x.ts >= h.from_ts AND x.ts < h.to_ts");
  } else {
    from(c, b, "x", c->data_end);
  }
  app(c, " WHERE ");
  filter_begins(c);
  snprintf(sub, sizeof sub, "%s.where", path);
  where_but(c, b, "x", w, sub, off);
  period(c, "x", 0);
  filter_ends(c);
  /* not "subj IS NOT NULL": on a plain field SQLite 3.40 takes that for a
   * range on the field's index column (user_id > NULL) and drops an
   * equality the where has on it, e.g. AC-06's (op, user_id) IN (the
   * forbidden pairs), then reads every row of each op */
  app(c, " AND NOT (subj IS NULL)");
  stmt_end(c);
}

/* threshold: the rows of a subject that fall in some window of length
 * "window" holding at least N of them ("count": {"gte": N}) or N distinct
 * values of a field ("distinct": {"field": F, "gte": N}). A row is hot when
 * a window that reaches N ends within "window" after it. */
static void k_threshold(struct cc *c, json_t *k, const char *path)
{
  const struct base *b = base_of(c, k, path);
  json_t *cnt = json_object_get(k, "count"), *dis = json_object_get(k, "distinct");
  char sub[256], f[1024];
  int64_t w = 0;
  double n = 0;

  snprintf(sub, sizeof sub, "%s.window", path);
  duration(c, json_object_get(k, "window"), sub, &w); /* reported; the rest is still checked */
  if (!cnt == !dis) {
    bad(c, path, "a threshold has \"count\" or \"distinct\", one of them");
    return;
  }
  snprintf(sub, sizeof sub, "%s.%s.gte", path, cnt ? "count" : "distinct");
  if (number(c, json_object_get(cnt ? cnt : dis, "gte"), sub, &n) == 0 && n < 1)
    bad(c, sub, "at least 1");
  c->out->gap_us = w;
  /* the rows of interest, with their subject (and the distinct value);
   * for distinct, all of them in r_all first (below) */
  if (c->dl->temp_as(&c->q, dis ? "r_all" : "r_m"))
    c->nomem = 1;
  app(c, "SELECT ");
  snprintf(sub, sizeof sub, "%s.subject", path);
  subject(c, b, "x", json_object_get(k, "subject"), sub);
  app(c, " AS subj, x.ts AS ts, x.id AS id");
  if (dis) {
    snprintf(sub, sizeof sub, "%s.distinct.field", path);
    if (field(c, b, "x", json_string_value(json_object_get(dis, "field")), sub, f, sizeof f))
      return;
    app(c, ", %s AS val", f);
  }
  app(c, " FROM ");
  from(c, b, "x", c->data_end);
  app(c, " WHERE ");
  filter_begins(c);
  snprintf(sub, sizeof sub, "%s.where", path);
  where(c, b, "x", json_object_get(k, "where"), sub);
  period(c, "x", w);
  filter_ends(c);
  app(c, " AND subj IS NOT NULL%s", dis ? " AND val IS NOT NULL" : "");
  if (c->read_done) { /* the grouping, the key index and the window passes below */
    c->read_done->order = "subj, ts";
    c->read_done->sortable = 1;
  }
  stmt_end(c);
  if (dis) {
    /* only the subjects that can reach N go on. A window [t - window, t]
     * meets at most two of the aligned buckets [k x window, (k+1) x window),
     * so N distinct values in it put N/2 of them in one bucket. One
     * GROUP BY finds those subjects; the window passes, which cost a
     * sort of every row by (subject, time) and a window function per
     * row, then run over their rows only. */
    if (c->dl->temp_as(&c->q, "r_c"))
      c->nomem = 1;
    app(c, "SELECT DISTINCT subj FROM (SELECT subj, count(DISTINCT val) AS d FROM r_all"
           " GROUP BY subj, ts / %" PRId64 ") WHERE d >= ", w > 0 ? w : 1);
    bind_real(c, n / 2);
    stmt_end(c);
    if (c->dl->temp_as(&c->q, "r_m"))
      c->nomem = 1;
    app(c, "SELECT * FROM r_all WHERE subj IN (SELECT subj FROM r_c)");
    stmt_end(c);
    stmt_plain(c, "DROP TABLE temp.r_all");
  }
  stmt_plain(c, "CREATE INDEX temp.r_m_key ON r_m(subj, ts)");
  /* the times where a window ending there reaches N */
  if (c->dl->temp_as(&c->q, "r_t"))
    c->nomem = 1;
  if (cnt) { /* one window pass */
    app(c, "SELECT subj, ts FROM (SELECT subj, ts, count(*) OVER (PARTITION BY subj ORDER BY ts"
           " RANGE BETWEEN %" PRId64 " PRECEDING AND CURRENT ROW) AS n FROM r_m) WHERE n >= ", w);
    bind_real(c, n);
  } else {
    /* distinct values by a sweep, not a count per row: a value is in the
     * window ending at t while t lies in [first, last + window] of a run
     * of its rows closer than the window; the runs of one value do not
     * overlap, so the values in the window at t are the runs open at t,
     * a running sum of +1 at each run's start and -1 at its end. Its
     * maximum comes at a start, where the triggers are. The sorts are
     * O(n log n) whatever the window; a count per row was O(n x window).
     * The +1 and -1 need no pairing: a row starts a run when the value's
     * row before it is more than the window before it (lag), and ends one
     * when the row after it is more than the window after it (lead), both
     * in one window pass; one sort and one pass fewer than numbering the
     * runs and grouping them (PR-02 at 10M: 5.9 -> 3.9 s) */
    app(c, "WITH o AS (SELECT subj, ts, lag(ts) OVER win AS p, lead(ts) OVER win AS n FROM r_m"
           " WINDOW win AS (PARTITION BY subj, val ORDER BY ts)),"
           " ev AS (SELECT subj, CASE k.d WHEN 1 THEN o.ts ELSE o.ts + %" PRId64 " END AS t,"
           " k.d AS d FROM o CROSS JOIN (SELECT 1 AS d UNION ALL SELECT -1) k WHERE CASE k.d"
           " WHEN 1 THEN p IS NULL OR p < o.ts - %" PRId64 " ELSE n IS NULL OR n > o.ts + %"
           PRId64 " END),"
           " cum AS (SELECT subj, t, d, sum(d) OVER (PARTITION BY subj ORDER BY t, d DESC ROWS"
           " UNBOUNDED PRECEDING) AS open FROM ev)"
           " SELECT subj, t AS ts FROM cum WHERE d = 1 AND open >= ", w, w, w);
    bind_real(c, n);
  }
  stmt_end(c);
  /* the hits: every row inside such a window, found from the few ends
   * through the index, not by a second pass over every row. The windows
   * [t - window, t] are merged first (ends closer than the window overlap),
   * so that each row is read once: a join with every end was quadratic
   * where a subject stays over N for long (PR-02 at 10M: 13 s) */
  hits_into(c);
  app(c, "WITH o AS (SELECT subj, ts, CASE WHEN lag(ts) OVER (PARTITION BY subj ORDER BY ts)"
         " >= ts - %" PRId64 " THEN 0 ELSE 1 END AS st FROM r_t),"
         " r AS (SELECT subj, ts, sum(st) OVER (PARTITION BY subj ORDER BY ts ROWS UNBOUNDED"
         " PRECEDING) AS run FROM o),"
         " iv AS (SELECT subj, min(ts) - %" PRId64 " AS s, max(ts) AS e FROM r"
         " GROUP BY subj, run)", w, w);
  app(c, " SELECT %d, m.subj, m.ts, m.id, m.ts FROM iv JOIN r_m m ON m.subj = iv.subj"
         " AND m.ts BETWEEN iv.s AND iv.e", c->part);
  if (c->o->since_us) {
    app(c, " WHERE m.ts >= ");
    bind_int(c, c->o->since_us);
  }
  stmt_end(c);
}

/* Pairs of fields: "key": "user_id" (the same on both sides) or
 * [["a_field", "b_field"], ...]. Writes (b.g = a.f AND ...). */
static void key_pairs(struct cc *c, const struct base *ba, const struct base *bb, json_t *key,
                      const char *aa, const char *ab, const char *join, const char *path)
{
  char f[1024], g[1024], sub[256];
  if (json_is_string(key)) {
    if (field(c, ba, aa, json_string_value(key), path, f, sizeof f) ||
        field(c, bb, ab, json_string_value(key), path, g, sizeof g))
      return;
    app(c, "(%s = %s)", g, f);
    return;
  }
  if (!json_is_array(key) || !json_array_size(key)) {
    bad(c, path, "a field, or a list of [a_field, b_field] pairs");
    app(c, "0");
    return;
  }
  app(c, "(");
  for (size_t i = 0; i < json_array_size(key); i++) {
    json_t *pr = json_array_get(key, i);
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    if (!json_is_array(pr) || json_array_size(pr) != 2) {
      bad(c, sub, "a pair [a_field, b_field]");
      app(c, "0)");
      return;
    }
    if (field(c, ba, aa, json_string_value(json_array_get(pr, 0)), sub, f, sizeof f) ||
        field(c, bb, ab, json_string_value(json_array_get(pr, 1)), sub, g, sizeof g)) {
      app(c, "0)");
      return;
    }
    app(c, "%s%s = %s", i ? join : "", g, f);
  }
  app(c, ")");
}

/* "cross": tests between the two rows of a pair:
 *   {"a": F, "op": "eq"|"ne", "b": G}, or {"results": true}: b's patient or
 *   study is among what the C-FIND a returned (dimse_results). */
static void cross(struct cc *c, const struct base *ba, const struct base *bb, json_t *x,
                  const char *path)
{
  char f[1024], g[1024], sub[256];
  if (!x)
    return;
  if (!json_is_array(x)) {
    bad(c, path, "a list of cross tests");
    return;
  }
  for (size_t i = 0; i < json_array_size(x); i++) {
    json_t *t = json_array_get(x, i);
    const char *op = json_string_value(json_object_get(t, "op"));
    snprintf(sub, sizeof sub, "%s[%zu]", path, i);
    if (json_is_true(json_object_get(t, "results"))) {
      /* a retrieval by study names no patient: its study's patient is known
       * from the instances that moved (C-STORE rows of the same study) */
      app(c, " AND EXISTS (SELECT 1 FROM dimse_results dr WHERE dr.dimse_id = a.id AND"
             " (dr.patient_id = b.patient_id OR dr.study_uid = b.study_uid OR"
             " EXISTS (SELECT 1 FROM dimse s WHERE s.study_uid = b.study_uid AND"
             " s.patient_id = dr.patient_id)))");
      continue;
    }
    if (!op || (strcmp(op, "eq") && strcmp(op, "ne")) ||
        field(c, ba, "a", json_string_value(json_object_get(t, "a")), sub, f, sizeof f) ||
        field(c, bb, "b", json_string_value(json_object_get(t, "b")), sub, g, sizeof g)) {
      bad(c, sub, "{\"a\": field, \"op\": \"eq\" or \"ne\", \"b\": field} or {\"results\": true}");
      continue;
    }
    app(c, " AND %s %s %s", f, op[0] == 'e' ? "=" : "<>", g);
  }
}

/* An index on tbl's time, for probes by a time span alone. */
static void ts_index_of(struct cc *c, const char *tbl)
{
  app(c, "CREATE INDEX temp.%s_ts ON %s(ts)", tbl, tbl);
  stmt_end(c);
}

/* A side of a pair ("a" or "b") into its temp table, indexed on its keys
 * and time. */
static const struct base *side(struct cc *c, json_t *k, const char *name, int64_t lookback,
                               int64_t anchor, int ts_index, const char *path)
{
  json_t *s = json_object_get(k, name);
  char sub[256], tbl[16];
  const struct base *b;

  snprintf(sub, sizeof sub, "%s.%s", path, name);
  if (!json_is_object(s)) {
    bad(c, sub, "\"%s\" is an object with \"where\" (and \"from\")", name);
    return NULL;
  }
  snprintf(tbl, sizeof tbl, "r_%s", name);
  if (json_is_string(json_object_get(s, "from")) &&
      !strcmp(json_string_value(json_object_get(s, "from")), "hits")) {
    /* the events an earlier part found (a burst), to build on */
    json_t *pt = json_object_get(s, "part"), *earlier;
    const char *ef;
    b = &bases[BASE_EVENTS];
    if (!json_is_integer(pt) || json_integer_value(pt) < 0 ||
        json_integer_value(pt) >= c->part) {
      bad(c, sub, "\"from\": \"hits\" takes the \"part\" of an earlier part");
      return NULL;
    }
    earlier = json_array_get(json_object_get(c->r->doc, "parts"),
                             (size_t)json_integer_value(pt));
    ef = json_string_value(json_object_get(earlier, "from"));
    if (!ef && json_object_get(earlier, "a"))
      ef = json_string_value(json_object_get(json_object_get(earlier, "a"), "from"));
    if (ef && strcmp(ef, "events")) { /* its hits name rows of another table */
      bad(c, sub, "\"from\": \"hits\" builds on a part that reads events, not %s", ef);
      return NULL;
    }
    if (c->dl->temp_as(&c->q, tbl))
      c->nomem = 1;
    app(c, "SELECT x.* FROM events x WHERE x.id IN (SELECT eid FROM r_hits WHERE part = %d)"
           " AND ", (int)json_integer_value(pt));
  } else {
    b = base_of(c, s, sub);
    if (c->dl->temp_as(&c->q, tbl))
      c->nomem = 1;
    app(c, "SELECT x.* FROM ");
    from(c, b, "x", anchor);
    app(c, " WHERE ");
  }
  filter_begins(c);
  snprintf(sub, sizeof sub, "%s.%s.where", path, name);
  where(c, b, "x", json_object_get(s, "where"), sub);
  if (b != &bases[BASE_ROSTER])
    period(c, "x", lookback);
  filter_ends(c);
  if (c->read_done) /* the key index and the pairing probe these rows by key */
    c->read_done->sortable = 1;
  stmt_end(c);
  if (ts_index)
    ts_index_of(c, tbl);
  return b;
}

/* When B's rows are A's (the same SQL and values: no lookback, e.g. logins
 * then logins), r_b is a copy of r_a instead of a second read of events. */
static void same_sides(struct cc *c)
{
  struct pa_compiled *o = c->out;
  struct pa_sqlstmt *sa, *sb;
  const char *pa, *pb;
  struct pa_buf t;

  if (c->nomem || o->n_stmts < 2)
    return;
  sa = &o->stmts[o->n_stmts - 2];
  sb = &o->stmts[o->n_stmts - 1];
  if (!(pa = strstr(sa->sql, " AS SELECT x.* FROM ")) ||
      !(pb = strstr(sb->sql, " AS SELECT x.* FROM ")) || strcmp(pa, pb) ||
      sa->n_binds != sb->n_binds)
    return;
  for (size_t i = 0; i < sa->n_binds; i++) {
    const struct pa_bind *x = &sa->binds[i], *y = &sb->binds[i];
    if (x->type != y->type || x->i != y->i || x->d != y->d ||
        (x->type == PA_BIND_TEXT && strcmp(x->s ? x->s : "", y->s ? y->s : "")))
      return;
  }
  pa_buf_init(&t, 256);
  if (c->dl->temp_as(&t, "r_b") || pa_buf_appendf(&t, "SELECT * FROM r_a")) {
    pa_buf_cleanup(&t);
    return;
  }
  free(sb->sql);
  sb->sql = t.p ? (char *)t.p : NULL;
  t.p = NULL; /* handed over */
  binds_free(sb->binds, sb->n_binds);
  sb->binds = NULL;
  sb->n_binds = 0;
  free(sb->read); /* a copy reads no events */
  sb->read = NULL;
  if (!sb->sql)
    c->nomem = 1;
}

/* An index on tbl's columns of a key ("key": a field, or [a_field,
 * b_field] pairs; side 0 takes the a_fields, 1 the others), then time, so
 * that a probe on the key within a time span is a range of it, not every
 * row of the key: per user, the logins of a month against each login was
 * quadratic (AC-05: 23 s at 10M events). Only when every field of the key
 * is a plain column of the table: 1 when made, 0 when not (the caller then
 * indexes time alone). */
static int key_index(struct cc *c, const char *tbl, const struct base *b, json_t *key, int side)
{
  json_t *pr;
  const char *g;
  size_t i;

  if (json_is_string(key) && has_col(b, json_string_value(key))) {
    app(c, "CREATE INDEX temp.%s_key ON %s(%s, ts)", tbl, tbl, json_string_value(key));
    stmt_end(c);
    return 1;
  }
  if (!json_is_array(key) || !json_array_size(key))
    return 0; /* none, or a bad key: reported where the pairs are written */
  json_array_foreach(key, i, pr) {
    g = json_string_value(json_array_get(pr, (size_t)side));
    if (!g || !has_col(b, g))
      return 0;
  }
  app(c, "CREATE INDEX temp.%s_key ON %s(", tbl, tbl);
  json_array_foreach(key, i, pr)
    app(c, "%s%s", i ? ", " : "", json_string_value(json_array_get(pr, (size_t)side)));
  app(c, ", ts)");
  stmt_end(c);
  return 1;
}

/* A sequence's "unless" rows (a logout), read once into r_unless and
 * indexed on its key: the pairs probe it, which is an index lookup whatever
 * the store's size, where a probe into events went wherever SQLite's guess
 * took it. Rows within "window" before the period count, as for A. */
static const struct base *unless_rows(struct cc *c, json_t *k, int64_t w, const char *path)
{
  const struct base *bc = side(c, k, "unless", w, c->data_end, 0, path);
  if (bc && !key_index(c, "r_unless", bc, json_object_get(json_object_get(k, "unless"), "key"), 1))
    ts_index_of(c, "r_unless");
  return bc;
}

/* sequence: a row A, then a row B within "window" after it, on the same
 * key; both are hits. "unless": a row C between them on the same key (a
 * logout) voids the pair. */
static void k_sequence(struct cc *c, json_t *k, const char *path)
{
  const struct base *ba, *bb, *bc = NULL;
  json_t *unless = json_object_get(k, "unless"), *latest;
  const char *subj_side;
  char sub[256];
  int64_t w = 0;
  size_t at_a, at_b, at_u;
  uint32_t ab;

  snprintf(sub, sizeof sub, "%s.window", path);
  duration(c, json_object_get(k, "window"), sub, &w); /* reported; the rest is still checked */
  c->out->gap_us = w;
  /* the sides' indexes come once r_a is final (after latest_a_by) */
  at_a = c->out->n_stmts;
  if (!(ba = side(c, k, "a", w, c->data_end, 0, path)))
    return;
  at_b = c->out->n_stmts;
  if (!(bb = side(c, k, "b", 0, c->data_end, 0, path)))
    return;
  same_sides(c);
  if ((latest = json_object_get(k, "latest_a_by"))) {
    /* A need only be the latest row of its key and these fields before B:
     * an earlier one pairs with B only if the latest does too (the span
     * between it and B holds the latest's), so the pairs shrink to one per
     * group without changing which B are found */
    json_t *key = json_object_get(k, "key"), *v;
    size_t i;
    char f[1024];
    snprintf(sub, sizeof sub, "%s.latest_a_by", path);
    if (!json_is_array(latest) || !json_array_size(latest)) {
      bad(c, sub, "a list of fields of A");
    } else {
      if (c->dl->temp_as(&c->q, "r_an"))
        c->nomem = 1;
      app(c, "SELECT a.*, lead(a.ts) OVER (PARTITION BY ");
      if (json_is_string(key) && field(c, ba, "a", json_string_value(key), sub, f, sizeof f) == 0)
        app(c, "%s, ", f);
      json_array_foreach(key, i, v)
        if (field(c, ba, "a", json_string_value(json_array_get(v, 0)), sub, f, sizeof f) == 0)
          app(c, "%s, ", f);
      json_array_foreach(latest, i, v)
        if (field(c, ba, "a", json_string_value(v), sub, f, sizeof f) == 0)
          app(c, "%s%s", i ? ", " : "", f);
      app(c, " ORDER BY a.ts, a.id) AS pa_next FROM r_a a");
      stmt_end(c);
      stmt_plain(c, "DROP TABLE r_a");
      stmt_plain(c, "ALTER TABLE r_an RENAME TO r_a");
    }
  }
  /* A probed by its key and time; with no plain key, both sides by time */
  if (!key_index(c, "r_a", ba, json_object_get(k, "key"), 0)) {
    ts_index_of(c, "r_a");
    ts_index_of(c, "r_b");
  }
  at_u = c->out->n_stmts;
  if (unless && !(bc = unless_rows(c, k, w, path)))
    return;
  subj_side = json_string_value(json_object_get(json_object_get(k, "subject"), "side"));
  if (!subj_side || (strcmp(subj_side, "a") && strcmp(subj_side, "b"))) {
    bad(c, path, "\"subject\" is {\"side\": \"a\" or \"b\", \"field\": F}");
    return;
  }
  /* the pairs, once; then A's and B's rows of them are the hits */
  {
    if (c->dl->temp_as(&c->q, "r_p"))
      c->nomem = 1;
    app(c, "SELECT ");
    snprintf(sub, sizeof sub, "%s.subject.field", path);
    subject(c, subj_side[0] == 'a' ? ba : bb, subj_side,
            json_object_get(json_object_get(k, "subject"), "field"), sub);
    app(c, " AS subj, b.ts AS ts, a.id AS aid, a.ts AS ats, b.id AS bid"
           " FROM r_a a JOIN r_b b ON ");
    snprintf(sub, sizeof sub, "%s.key", path);
    if (json_object_get(k, "key"))
      key_pairs(c, ba, bb, json_object_get(k, "key"), "a", "b", " AND ", sub);
    else
      app(c, "1"); /* no key: any B after any A, by time alone */
    /* both bounds on a.ts too, so that a probe of A is a range of r_a_key */
    app(c, " AND b.ts >= a.ts AND b.ts <= a.ts + %" PRId64 " AND a.ts >= b.ts - %" PRId64, w, w);
    app(c, " AND (b.id IS NOT a.id OR b.ts <> a.ts)");
    if (latest)
      app(c, " AND (a.pa_next IS NULL OR a.pa_next > b.ts)");
    snprintf(sub, sizeof sub, "%s.cross", path);
    cross(c, ba, bb, json_object_get(k, "cross"), sub);
    if (unless) {
      app(c, " AND NOT EXISTS (SELECT 1 FROM r_unless u WHERE u.ts > a.ts AND u.ts <= b.ts");
      snprintf(sub, sizeof sub, "%s.unless.key", path);
      if (json_object_get(unless, "key")) {
        app(c, " AND ");
        key_pairs(c, ba, bc, json_object_get(unless, "key"), "a", "u", " AND ", sub);
      }
      app(c, ")");
    }
    app(c, " WHERE subj IS NOT NULL");
    if (c->o->since_us) {
      app(c, " AND b.ts >= ");
      bind_int(c, c->o->since_us);
    }
    stmt_end(c);
  }
  for (int pass = 0; pass < 2; pass++) {
    hits_into(c);
    app(c, "SELECT %d, subj, ts, %s FROM r_p", c->part, pass ? "bid, ts" : "aid, ats");
    stmt_end(c);
  }
  /* r_b may be a copy of r_a (same_sides): both take what either side names */
  ab = cols_after(c, at_b + 1, 'a') | cols_after(c, at_b + 1, 'b');
  if (ba == &bases[BASE_EVENTS])
    narrow_read(c, at_a, ab);
  if (bb == &bases[BASE_EVENTS])
    narrow_read(c, at_b, ab);
  if (bc == &bases[BASE_EVENTS])
    narrow_read(c, at_u, cols_after(c, at_u + 1, 'u'));
}

/* absence: a row A with no row B on the same key within "window" after it
 * (or around it: "around": true, for reconcile's tolerance). An A whose
 * window runs past the end of the data is not judged yet. "key" pairs must
 * all match; "match_any" pairs, at least one; "same_any" pairs, at least
 * one where A has a value (the study or the patient). A from "roster" is
 * each roster entry, anchored "window" before the end of the data. */
/* EXISTS (a row B that answers A: "b.where", the keys, within lo..hi µs of
 * A's time, the cross tests). */
static void b_exists(struct cc *c, json_t *k, const struct base *ba, const struct base *bb,
                     int64_t lo, int64_t hi, int strict_after, const char *path)
{
  json_t *sb = json_object_get(k, "b"), *key = json_object_get(k, "key");
  json_t *many = json_object_get(k, "match_any"), *same = json_object_get(k, "same_any");
  char sub[256], f[1024];

  app(c, "EXISTS (SELECT 1 FROM ");
  from(c, bb, "b", c->data_end);
  app(c, " WHERE ");
  snprintf(sub, sizeof sub, "%s.b.where", path);
  where(c, bb, "b", json_object_get(sb, "where"), sub);
  if (strict_after)
    app(c, " AND b.ts > a.ts AND b.ts <= a.ts + %" PRId64, hi);
  else
    app(c, " AND b.ts >= a.ts - %" PRId64 " AND b.ts <= a.ts + %" PRId64, lo, hi);
  if (key) {
    app(c, " AND ");
    snprintf(sub, sizeof sub, "%s.key", path);
    key_pairs(c, ba, bb, key, "a", "b", " AND ", sub);
  }
  if (many) {
    app(c, " AND ");
    snprintf(sub, sizeof sub, "%s.match_any", path);
    key_pairs(c, ba, bb, many, "a", "b", " OR ", sub);
  }
  if (same) {
    snprintf(sub, sizeof sub, "%s.same_any", path);
    if (!json_is_array(same) || !json_array_size(same)) {
      bad(c, sub, "a list of [a_field, b_field] pairs");
    } else {
      app(c, " AND (coalesce(");
      for (size_t i = 0; i < json_array_size(same); i++) {
        json_t *pr = json_array_get(same, i);
        if (field(c, ba, "a", json_string_value(json_array_get(pr, 0)), sub, f, sizeof f))
          break;
        app(c, "%s, ", f);
      }
      app(c, "NULL) IS NULL OR ");
      key_pairs(c, ba, bb, same, "a", "b", " OR ", sub);
      app(c, ")");
    }
  }
  snprintf(sub, sizeof sub, "%s.cross", path);
  cross(c, ba, bb, json_object_get(k, "cross"), sub);
  app(c, ")");
}

/* absence: a row A with no row B on the same key within "window" after it
 * (or around it: reconcile's "tolerance"). An A whose window runs past the
 * end of the data is not judged yet. "key" pairs must all match;
 * "match_any" pairs, at least one; "same_any" pairs, at least one where A
 * has a value (the study or the patient). A from "roster" is each roster
 * entry, anchored "window" before the end of the data.
 * reconcile with "skew": the other way round, an A that has a B within the
 * tolerance but none within the skew: two sources that saw the same thing
 * disagree on its time. */
static void k_absence(struct cc *c, json_t *k, const char *path, int around)
{
  const struct base *ba, *bb;
  json_t *sb, *skew = around ? json_object_get(k, "skew") : NULL;
  char sub[256];
  int64_t w = 0, sk = 0;
  size_t at_a;

  snprintf(sub, sizeof sub, "%s.%s", path, around ? "tolerance" : "window");
  duration(c, json_object_get(k, around ? "tolerance" : "window"), sub, &w); /* reported; go on */
  if (skew) {
    snprintf(sub, sizeof sub, "%s.skew", path);
    duration(c, skew, sub, &sk);
  }
  c->out->gap_us = around ? w : (w > 0 ? w : 1);
  at_a = c->out->n_stmts;
  if (!(ba = side(c, k, "a", 0, c->data_end - w, 1, path)))
    return;
  sb = json_object_get(k, "b");
  snprintf(sub, sizeof sub, "%s.b", path);
  if (!json_is_object(sb)) {
    bad(c, sub, "\"b\" is an object with \"where\" (and \"from\")");
    return;
  }
  bb = base_of(c, sb, sub);
  hits_into(c);
  app(c, "SELECT %d, ", c->part);
  snprintf(sub, sizeof sub, "%s.subject", path);
  subject(c, ba, "a", json_object_get(k, "subject"), sub);
  app(c, " AS subj, a.ts, a.id, a.ts FROM r_a a WHERE subj IS NOT NULL AND a.ts + %" PRId64
         " <= ", w);
  bind_int(c, c->data_end);
  if (c->o->since_us && ba != &bases[BASE_ROSTER]) {
    app(c, " AND a.ts >= ");
    bind_int(c, c->o->since_us);
  }
  if (skew) {
    app(c, " AND ");
    b_exists(c, k, ba, bb, w, w, 0, path);
    app(c, " AND NOT ");
    b_exists(c, k, ba, bb, sk, sk, 0, path);
  } else {
    app(c, " AND NOT ");
    b_exists(c, k, ba, bb, w, w, !around, path);
  }
  stmt_end(c);
  if (ba == &bases[BASE_EVENTS])
    narrow_read(c, at_a, cols_after(c, at_a + 1, 'a'));
}

/* gap: a subject's rows further apart than "max_gap": both ends of the
 * gap are one hit. "edges": true also judges the time from a subject's
 * last row to the end of the data (a source that went silent). */
static void k_gap(struct cc *c, json_t *k, const char *path)
{
  const struct base *b = base_of(c, k, path);
  char sub[256];
  int64_t w = 0;

  snprintf(sub, sizeof sub, "%s.max_gap", path);
  duration(c, json_object_get(k, "max_gap"), sub, &w); /* reported; the rest is still checked */
  c->out->gap_us = 0;
  if (c->dl->temp_as(&c->q, "r_m"))
    c->nomem = 1;
  app(c, "SELECT subj, ts, id, lead(ts) OVER win AS nts, lead(id) OVER win AS nid FROM"
         " (SELECT ");
  snprintf(sub, sizeof sub, "%s.subject", path);
  subject(c, b, "x", json_object_get(k, "subject"), sub);
  app(c, " AS subj, x.ts AS ts, x.id AS id FROM ");
  from(c, b, "x", c->data_end);
  app(c, " WHERE ");
  filter_begins(c);
  snprintf(sub, sizeof sub, "%s.where", path);
  where(c, b, "x", json_object_get(k, "where"), sub);
  period(c, "x", w);
  filter_ends(c);
  app(c, ") WHERE subj IS NOT NULL WINDOW win AS (PARTITION BY subj ORDER BY ts, id)");
  stmt_end(c);
  /* an inner gap: the row before it and the row after it, both at the
   * time the gap ended, so they make one episode */
  for (int pass = 0; pass < 2; pass++) {
    hits_into(c);
    app(c, "SELECT %d, subj, nts, %s, %s FROM r_m WHERE nts - ts > %" PRId64, c->part,
        pass ? "nid" : "id", pass ? "nts" : "ts", w);
    if (c->o->since_us) {
      app(c, " AND nts >= ");
      bind_int(c, c->o->since_us);
    }
    stmt_end(c);
  }
  if (json_is_true(json_object_get(k, "edges")) &&
      json_object_get(json_object_get(k, "subject"), "const")) {
    /* one subject for the whole site (a review): no row at all over a
     * period longer than max_gap is a gap too */
    hits_into(c);
    app(c, "SELECT %d, ", c->part);
    subject(c, b, "x", json_object_get(k, "subject"), path);
    app(c, ", ");
    bind_int(c, c->data_end);
    app(c, ", NULL, ");
    bind_int(c, c->data_end);
    app(c, " WHERE NOT EXISTS (SELECT 1 FROM r_m) AND ");
    bind_int(c, c->data_end);
    app(c, " - ");
    if (c->o->since_us)
      bind_int(c, c->o->since_us);
    else
      app(c, "coalesce((SELECT min(ts) FROM events), 0)");
    app(c, " > %" PRId64, w);
    stmt_end(c);
  }
  if (json_is_true(json_object_get(k, "edges"))) {
    hits_into(c);
    app(c, "SELECT %d, subj, ", c->part);
    bind_int(c, c->data_end);
    app(c, ", id, ts FROM r_m WHERE nts IS NULL AND ");
    bind_int(c, c->data_end);
    app(c, " - ts > %" PRId64, w);
    stmt_end(c);
  }
}

/* backwards: a subject's rows taken in the order they were received
 * ("order_by", e.g. raw_id) whose time ("field", e.g. received_ts) goes
 * back by more than "tolerance": the sender's clock was set back. The row
 * before and the row after are one hit. */
static void k_backwards(struct cc *c, json_t *k, const char *path)
{
  const struct base *b = base_of(c, k, path);
  char sub[256], f[1024], o[1024];
  int64_t w = 0;

  snprintf(sub, sizeof sub, "%s.tolerance", path);
  duration(c, json_object_get(k, "tolerance"), sub, &w); /* reported; go on */
  snprintf(sub, sizeof sub, "%s.field", path);
  if (field(c, b, "x", json_string_value(json_object_get(k, "field")), sub, f, sizeof f))
    return;
  snprintf(sub, sizeof sub, "%s.order_by", path);
  if (field(c, b, "x", json_string_value(json_object_get(k, "order_by")), sub, o, sizeof o))
    return;
  c->out->gap_us = 0;
  if (c->dl->temp_as(&c->q, "r_m"))
    c->nomem = 1;
  app(c, "SELECT subj, ts, id, t, lag(t) OVER win AS pt, lag(id) OVER win AS pid, lag(ts)"
         " OVER win AS pts FROM (SELECT ");
  snprintf(sub, sizeof sub, "%s.subject", path);
  subject(c, b, "x", json_object_get(k, "subject"), sub);
  app(c, " AS subj, x.ts AS ts, x.id AS id, %s AS t, %s AS o FROM ", f, o);
  from(c, b, "x", c->data_end);
  app(c, " WHERE ");
  filter_begins(c);
  snprintf(sub, sizeof sub, "%s.where", path);
  where(c, b, "x", json_object_get(k, "where"), sub);
  period(c, "x", 0);
  filter_ends(c);
  app(c, " AND %s IS NOT NULL AND %s IS NOT NULL) WHERE subj IS NOT NULL"
         " WINDOW win AS (PARTITION BY subj ORDER BY o, id)", f, o);
  stmt_end(c);
  for (int pass = 0; pass < 2; pass++) {
    hits_into(c);
    app(c, "SELECT %d, subj, ts, %s, %s FROM r_m WHERE pt - t > %" PRId64, c->part,
        pass ? "pid" : "id", pass ? "pts" : "ts", w);
    stmt_end(c);
  }
}

/* ---- the rule -------------------------------------------------------- */

static const struct {
  const char *name;
  const char *const keys[16]; /* the kind's own keys */
} kinds[] = {
  {"match", {"from", "where", "subject", "episode"}},
  {"threshold", {"from", "where", "subject", "window", "count", "distinct", "episode"}},
  {"sequence", {"a", "b", "key", "window", "subject", "cross", "unless", "latest_a_by",
                "episode"}},
  {"absence", {"a", "b", "key", "match_any", "same_any", "window", "subject", "cross",
               "episode"}},
  {"reconcile", {"a", "b", "key", "match_any", "same_any", "tolerance", "skew", "subject",
                 "cross", "episode"}},
  {"gap", {"from", "where", "subject", "max_gap", "edges", "episode"}},
  {"backwards", {"from", "where", "subject", "field", "order_by", "tolerance", "episode"}},
};

/* Keys every rule file may have besides its kind's. */
static const char *const rule_keys[] = {
  "id", "kind", "title", "message", "guideline", "strength", "severity", "description",
  "params", "parts", "decide", "tests", "plan", "x-note", NULL};

int pa__rule_kind_known(const char *kind);
int pa__rule_kind_known(const char *kind)
{
  for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
    if (kind && !strcmp(kind, kinds[i].name))
      return 1;
  return 0;
}

/* One kind's statements, for the whole rule or for one of its "parts". */
static void compile_kind(struct cc *c, json_t *k, const char *kind, const char *path,
                         int top)
{
  size_t ki;
  const char *key;
  json_t *v;
  int64_t ep;
  char sub[256];

  for (ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++)
    if (kind && !strcmp(kind, kinds[ki].name))
      break;
  if (ki == sizeof kinds / sizeof kinds[0]) {
    bad(c, path, "unknown kind \"%s\" (match, threshold, sequence, absence, reconcile, gap,"
        " backwards)",
        kind ? kind : "(none)");
    return;
  }
  json_object_foreach(k, key, v) {
    const char *const *a;
    for (a = kinds[ki].keys; *a && strcmp(*a, key); a++)
      ;
    if (*a)
      continue;
    if (top) {
      for (a = rule_keys; *a && strcmp(*a, key); a++)
        ;
      if (*a)
        continue;
    } else if (!strcmp(key, "kind") || !strcmp(key, "label")) {
      continue;
    }
    bad(c, path, "unknown key \"%s\" for a %s rule", key, kind);
  }
  c->out->gap_us = 24 * 3600 * US_PER_S;
  switch (ki) {
  case 0: k_match(c, k, path); break;
  case 1: k_threshold(c, k, path); break;
  case 2: k_sequence(c, k, path); break;
  case 3: k_absence(c, k, path, 0); break;
  case 4: k_absence(c, k, path, 1); break;
  case 5: k_gap(c, k, path); break;
  case 6: k_backwards(c, k, path); break;
  }
  if ((v = json_object_get(k, "episode"))) {
    snprintf(sub, sizeof sub, "%s.episode", path);
    if (duration(c, v, sub, &ep) == 0)
      c->out->gap_us = ep;
  }
}

/* "decide": {"needs": [policy parts], "data": [{"from", "where", "why"}]}:
 * what the rule needs to say anything over the period. Each data check is
 * one EXISTS statement. */
static void compile_decide(struct cc *c)
{
  static const char *const keys[] = {"needs", "data", "span", NULL};
  static const char *const dkeys[] = {"from", "where", "why", NULL};
  static const char *const known[] = {"roster", "roles", "aes", "hours", "vip", "windows",
                                      "require.tls", "require.mfa_from", NULL};
  json_t *dc = json_object_get(c->r->doc, "decide"), *needs, *data, *v;
  char sub[256];
  size_t i;

  if (!dc)
    return;
  if (!json_is_object(dc)) {
    bad(c, "decide", "an object: {\"needs\": [...], \"data\": [...]}");
    return;
  }
  only_keys(c, dc, "decide", keys);
  if ((needs = json_object_get(dc, "needs")) && !json_is_array(needs))
    bad(c, "decide.needs", "a list of policy parts");
  json_array_foreach(needs, i, v) {
    const char *const *a;
    for (a = known; *a && (!json_is_string(v) || strcmp(*a, json_string_value(v))); a++)
      ;
    snprintf(sub, sizeof sub, "decide.needs[%zu]", i);
    if (!*a)
      bad(c, sub, "unknown policy part \"%s\" (roster, roles, aes, hours, vip, windows,"
          " require.tls, require.mfa_from)", json_string_value(v) ?: "?");
  }
  if ((v = json_object_get(dc, "span"))) {
    /* the data must reach back this long before its end (an inventory of
     * 90 days needs 90 days of data) */
    int64_t span;
    if (duration(c, v, "decide.span", &span) == 0) {
      app(c, "SELECT coalesce((SELECT min(ts) FROM events) <= ");
      bind_int(c, c->data_end - span);
      app(c, ", 0)");
      if (c->nomem || !(c->out->decide[0].sql = strdup(pa_buf_str(&c->q)))) {
        c->nomem = 1;
        return;
      }
      c->out->decide[0].binds = c->b;
      c->out->decide[0].n_binds = c->nb;
      c->out->why_en[0] = "the data covers less time than the rule looks back";
      c->out->why_ja[0] = "データの期間がルールの対象期間より短い";
      c->out->n_decide = 1;
      c->b = NULL;
      c->nb = c->cap_b = 0;
      pa_buf_reset(&c->q);
    }
  }
  data = json_object_get(dc, "data");
  if (data && (!json_is_array(data) ||
               json_array_size(data) + c->out->n_decide > PA_RULE_MAX_DECIDE))
    bad(c, "decide.data", "a list of up to %zu checks (with span)",
        PA_RULE_MAX_DECIDE - c->out->n_decide);
  size_t first = c->out->n_decide;
  json_array_foreach(data, i, v) {
    const struct base *b;
    json_t *why = json_object_get(v, "why");
    size_t k = first + i;
    if (k >= PA_RULE_MAX_DECIDE)
      break;
    snprintf(sub, sizeof sub, "decide.data[%zu]", i);
    if (!json_is_object(v)) {
      bad(c, sub, "{\"from\", \"where\", \"why\": {\"en\", \"ja\"}}");
      continue;
    }
    only_keys(c, v, sub, dkeys);
    c->out->why_en[k] = json_string_value(json_object_get(why, "en"));
    c->out->why_ja[k] = json_string_value(json_object_get(why, "ja"));
    if (!c->out->why_en[k] || !c->out->why_ja[k])
      bad(c, sub, "\"why\" says what data is missing, {\"en\": ..., \"ja\": ...}");
    b = base_of(c, v, sub);
    app(c, "SELECT EXISTS (SELECT 1 FROM ");
    from(c, b, "x", c->data_end);
    c->rd.scan_at = 0; /* it stops at the first row: an index serves it */
    app(c, " WHERE ");
    snprintf(sub, sizeof sub, "decide.data[%zu].where", i);
    where(c, b, "x", json_object_get(v, "where"), sub);
    if (b != &bases[BASE_ROSTER])
      period(c, "x", 0);
    app(c, ")");
    if (c->nomem)
      return;
    if (!(c->out->decide[k].sql = strdup(pa_buf_str(&c->q)))) {
      c->nomem = 1;
      return;
    }
    c->out->decide[k].binds = c->b;
    c->out->decide[k].n_binds = c->nb;
    c->out->n_decide = k + 1;
    c->b = NULL;
    c->nb = c->cap_b = 0;
    pa_buf_reset(&c->q);
  }
}

pa_rc pa_rule_compile(const struct pa_rule *r, const struct pa_compile_opts *o,
                      struct pa_compiled *out, struct pa_diag *d)
{
  struct cc c;
  json_t *parts = json_object_get(r->doc, "parts");
  char path[64];

  memset(out, 0, sizeof *out);
  memset(&c, 0, sizeof c);
  out->rule = r;
  c.r = r;
  c.o = o;
  c.dl = o->dialect ? o->dialect : &pa_dialect_sqlite;
  c.d = d;
  c.out = out;
  c.data_end = o->until_us ? o->until_us : INT64_MAX / 4;
  if (o->data_end_us)
    c.data_end = o->data_end_us;
  pa_buf_init(&c.q, PA_RULE_MAX_SQL);
  hits_reset(&c);
  if (parts) {
    size_t i;
    json_t *p, *lbl;
    const char *k;
    json_object_foreach(r->doc, k, p) { /* the kind's keys belong in the parts */
      const char *const *a;
      for (a = rule_keys; *a && strcmp(*a, k); a++)
        ;
      if (!*a)
        bad(&c, "(rule)", "unknown key \"%s\" beside \"parts\" (a kind's keys go in each part)",
            k);
    }
    int64_t gap = 0;
    if (!json_is_array(parts) || !json_array_size(parts) ||
        json_array_size(parts) > PA_RULE_MAX_PARTS)
      bad(&c, "parts", "a list of 1 to %d kinds", PA_RULE_MAX_PARTS);
    json_array_foreach(parts, i, p) {
      if (i >= PA_RULE_MAX_PARTS)
        break;
      snprintf(path, sizeof path, "parts[%zu]", i);
      c.part = (int)i;
      if (!json_is_object(p)) {
        bad(&c, path, "an object with its own \"kind\"");
        continue;
      }
      compile_kind(&c, p, json_string_value(json_object_get(p, "kind")), path, 0);
      out->part_gap_us[i] = out->gap_us;
      out->n_parts = i + 1;
      if ((lbl = json_object_get(p, "label"))) {
        out->part_label_en[i] = json_string_value(json_object_get(lbl, "en"));
        out->part_label_ja[i] = json_string_value(json_object_get(lbl, "ja"));
        if (!out->part_label_en[i] || !out->part_label_ja[i]) {
          snprintf(path, sizeof path, "parts[%zu].label", i);
          bad(&c, path, "{\"en\": \"...\", \"ja\": \"...\"}");
        }
      }
      if (out->gap_us > gap)
        gap = out->gap_us;
      if (i + 1 < json_array_size(parts))
        hits_reset(&c);
    }
    out->gap_us = gap;
  } else {
    compile_kind(&c, r->doc, r->kind, "(rule)", 1);
    out->part_gap_us[0] = out->gap_us;
    out->n_parts = 1;
  }
  compile_decide(&c);
  for (size_t i = 0; i < PA_RULE_MAX_PARTS; i++) {
    json_t *k = parts ? json_array_get(parts, i) : i ? NULL : r->doc;
    const char *fr = json_string_value(json_object_get(k, "from"));
    if (!fr && json_object_get(k, "a"))
      fr = json_string_value(json_object_get(json_object_get(k, "a"), "from"));
    out->evidence[i] = fr && !strcmp(fr, "dimse") ? "dimse"
                     : fr && !strcmp(fr, "associations") ? "associations" : "events";
  }
  binds_free(c.b, c.nb);
  free(c.read_done); /* of a statement a compile error left unfinished */
  pa_buf_cleanup(&c.q);
  if (c.nomem) {
    pa_diag_error(d, "%s: out of memory, or a statement over %d bytes", r->file,
                  PA_RULE_MAX_SQL);
    return PA_NOMEM;
  }
  return c.bad ? PA_RULE : PA_OK;
}

void pa_compiled_cleanup(struct pa_compiled *c)
{
  if (!c)
    return;
  for (size_t i = 0; i < c->n_stmts; i++)
    stmt_free(&c->stmts[i]);
  free(c->stmts);
  for (size_t i = 0; i < c->n_decide; i++)
    stmt_free(&c->decide[i]);
  for (size_t i = 0; i < c->n_params; i++) {
    free(c->params[i].name);
    free(c->params[i].text);
  }
  free(c->params);
  memset(c, 0, sizeof *c);
}
