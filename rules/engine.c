/* engine.c — run rules, cut episodes, keep findings (see engine.h). */
#include "rules/engine.h"
#include "rules/compile.h"
#include "rules/sqlfn.h"

#include "analyzer/policy.h"

#include "analyzer/hash.h"
#include "analyzer/limits.h"
#include "analyzer/log.h"
#include "analyzer/tm.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int exec(sqlite3 *db, const char *sql)
{
  return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

pa_rc pa_engine_prepare(sqlite3 *db)
{
  if (exec(db, "CREATE TEMP TABLE IF NOT EXISTS r_hits (part INTEGER, subj TEXT, ts INTEGER,"
               " eid INTEGER, t0 INTEGER, UNIQUE (part, subj, ts, eid))") ||
      exec(db, "CREATE TEMP TABLE IF NOT EXISTS pol_offhours (from_ts INTEGER PRIMARY KEY,"
               " to_ts INTEGER)") ||
      exec(db, "CREATE TEMP TABLE IF NOT EXISTS r_eps (rule_id TEXT, part INTEGER,"
               " subj TEXT, first_ts INTEGER, last_ts INTEGER, n INTEGER, ids TEXT,"
               " gap INTEGER)"))
    return PA_DB;
  return PA_OK;
}

static int32_t tz_offset(const void *tz, int64_t utc_us)
{
  return pa_tz_offset_s(tz, utc_us);
}

pa_rc pa_engine_attach(pa_store *s, const struct pa_policy *p, struct pa_err *err)
{
  sqlite3 *db = pa_store_handle(s);
  pa_policy *empty = NULL;
  pa_rc rc;

  if (!p) {
    if ((rc = pa_policy_load_string("(no policy)", "{}", 2, NULL, &empty, err)))
      return rc;
    p = empty;
  }
  /* the engine's temp tables can hold most of a year's events: on disk,
   * behind a bounded cache, so memory stays flat in the store's size. The
   * store's own page cache is smaller than a writer's: SQLite also sizes
   * each sorter's runs by it, and a sort of millions of rows (PR-01 at
   * 10M events) fills it. The big reads go by full scans (read_of), which
   * a cache does not speed up (limits.h: PA_ENGINE_CACHE_KIB). */
  if (exec(db, "PRAGMA temp_store=FILE") ||
      exec(db, "PRAGMA temp.cache_size=-" PA_STR(PA_ENGINE_TEMP_CACHE_KIB)) ||
      exec(db, "PRAGMA main.cache_size=-" PA_STR(PA_ENGINE_CACHE_KIB))) {
    pa_policy_free(empty);
    return pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(db));
  }
  rc = pa_policy_install(p, db, err);
  if (rc == PA_OK)
    rc = pa_sqlfn_register(db, empty ? NULL : tz_offset, empty ? NULL : pa_policy_tz(p), err);
  pa_policy_free(empty);
  if (rc == PA_OK && pa_engine_prepare(db))
    rc = pa_err_set(err, PA_DB, UINT64_MAX, 0, "%s", sqlite3_errmsg(db));
  return rc;
}

/* Binds a compiled statement's values to q (prepared from it). */
static void bind_all(sqlite3_stmt *q, const struct pa_sqlstmt *st)
{
  for (size_t i = 0; i < st->n_binds; i++) {
    const struct pa_bind *b = &st->binds[i];
    int j = (int)i + 1;
    if (b->type == PA_BIND_INT)
      sqlite3_bind_int64(q, j, b->i);
    else if (b->type == PA_BIND_REAL)
      sqlite3_bind_double(q, j, b->d);
    else
      sqlite3_bind_text(q, j, b->s, -1, SQLITE_STATIC);
  }
}

/* Binds a compiled statement's values and steps it to the end. */
static int run_stmt(sqlite3 *db, const struct pa_sqlstmt *st, int64_t *one_out)
{
  sqlite3_stmt *q;
  int rc;

  if (sqlite3_prepare_v2(db, st->sql, -1, &q, NULL) != SQLITE_OK)
    return -1;
  bind_all(q, st);
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    if (one_out)
      *one_out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return rc == SQLITE_DONE ? 0 : -1;
}

/* Hands each step of st's query plan (EXPLAIN QUERY PLAN's detail) to
 * step, in order. */
static void plan_steps(sqlite3 *db, const struct pa_sqlstmt *st,
                       void (*step)(void *ctx, const char *detail), void *ctx)
{
  sqlite3_stmt *q;
  size_t n = strlen(st->sql) + 32;
  char *sql = malloc(n);

  if (!sql)
    return;
  snprintf(sql, n, "EXPLAIN QUERY PLAN %s", st->sql);
  if (sqlite3_prepare_v2(db, sql, -1, &q, NULL) == SQLITE_OK) {
    bind_all(q, st);
    while (sqlite3_step(q) == SQLITE_ROW)
      if (sqlite3_column_text(q, 3))
        step(ctx, (const char *)sqlite3_column_text(q, 3));
    sqlite3_finalize(q);
  }
  free(sql);
}

/* How a plan reads x: the steps that do, and the index of the last one
 * that goes through an index to the table. */
struct x_read {
  int reads, named;
  char name[128];
};

static void x_read_step(void *ctx, const char *d)
{
  struct x_read *x = ctx;
  const char *u;
  size_t len;

  if (strncmp(d, "SEARCH x ", 9) && strncmp(d, "SCAN x ", 7) && strcmp(d, "SCAN x"))
    return;
  x->reads++;
  if ((u = strstr(d, " USING INDEX ")) && (len = strcspn(u + 13, " ")) < sizeof x->name) {
    memcpy(x->name, u + 13, len);
    x->name[len] = 0;
    x->named = 1;
  }
}

/* The index through which the plan of st reads x and then the table, into
 * *x; 1 when there is one, 0 when x is read another way (a scan, a
 * covering index, by rowid, or through more than one index). */
static int plan_index(sqlite3 *db, const struct pa_sqlstmt *st, struct x_read *x)
{
  memset(x, 0, sizeof *x);
  plan_steps(db, st, x_read_step, x);
  return x->reads == 1 && x->named;
}

/* For explain: the rule and the options the steps go to. */
struct explain_ctx {
  const struct pa_engine_opts *o;
  const struct pa_rule *r;
};

static void explain_step(void *ctx, const char *d)
{
  const struct explain_ctx *e = ctx;
  if (e->o->plan)
    e->o->plan(e->o->plan_ctx, e->r, d);
  else /* check -v: each step of the plan in the log */
    pa_log(PA_LOG_DEBUG, "%s: plan: %s", e->r->id, d);
}

/* Hands each step of st's query plan to o->plan, or to the log. */
static void explain(sqlite3 *db, const struct pa_engine_opts *o, const struct pa_rule *r,
                    const struct pa_sqlstmt *st)
{
  struct explain_ctx e = {o, r};
  plan_steps(db, st, explain_step, &e);
}

/* The columns (struct pa_read's bits) that index idx holds, with id; and
 * into order (when not NULL) its order as x's columns, "x.a, x.b, x.id",
 * left empty when a column of it is not one of x's. */
static uint32_t index_cols(sqlite3 *db, const char *idx, struct pa_buf *order)
{
  sqlite3_stmt *q;
  uint32_t m = 1; /* pa_event_cols[0]: id, the rowid every entry holds */
  int whole = 1;

  if (sqlite3_prepare_v2(db, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", -1, &q,
                         NULL) != SQLITE_OK)
    return m;
  sqlite3_bind_text(q, 1, idx, -1, SQLITE_STATIC);
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *c = (const char *)sqlite3_column_text(q, 0);
    size_t k;
    for (k = 0; c && pa_event_cols[k]; k++)
      if (!strcmp(c, pa_event_cols[k]))
        break;
    if (c && pa_event_cols[k]) {
      m |= 1u << k;
      if (order && pa_buf_appendf(order, "x.%s, ", c))
        whole = 0;
    } else {
      whole = 0; /* an expression: its order is not x's columns' */
    }
  }
  sqlite3_finalize(q);
  if (order && (!whole || pa_buf_appendf(order, "x.id")))
    pa_buf_reset(order);
  return m;
}

/* The filter of st's read with each part that the index of columns cols
 * cannot judge made true ("1"): the rows the index leads to the table.
 * Appended to q; its binds, in order, to binds[*nb...] (pointing into
 * st's; there is room for all of st's). */
static pa_rc index_filter(const struct pa_sqlstmt *st, uint32_t cols, struct pa_buf *q,
                          struct pa_bind *binds, size_t *nb)
{
  const struct pa_read *rd = st->read;
  const char *t = st->sql;
  size_t m = rd->filter_bind, at = rd->filter_from;

  for (size_t j = 0; j <= rd->n_terms; j++) {
    size_t to = j < rd->n_terms ? rd->term[j].from : rd->filter_to;
    int keep = j == rd->n_terms || !(rd->term[j].cols & ~cols);
    for (size_t k = at; k < to; k++) /* between the parts: kept */
      if (t[k] == '?' && m < st->n_binds)
        binds[(*nb)++] = st->binds[m++];
    if (pa_buf_append(q, t + at, to - at))
      return PA_NOMEM;
    if (j == rd->n_terms)
      break;
    at = rd->term[j].to;
    for (size_t k = to; k < at; k++)
      if (t[k] == '?' && m < st->n_binds) {
        if (keep)
          binds[(*nb)++] = st->binds[m];
        m++;
      }
    if (keep ? pa_buf_append(q, t + to, at - to) : pa_buf_appendf(q, "1"))
      return PA_NOMEM;
  }
  return PA_OK;
}

/* The probe of a read: over a sample of events rows spread by a
 * multiplicative hash of 0, 1, 2, ... (data written in cycles does not
 * line up with it), the permille that pass the parts of the filter the
 * index cols can judge: the rows the index leads to the table. Its binds
 * point into st's. */
static pa_rc probe_of(const struct pa_sqlstmt *st, uint32_t cols, struct pa_buf *q,
                      struct pa_sqlstmt *probe)
{
  if (!(probe->binds = calloc(st->n_binds + 1, sizeof *probe->binds)) ||
      pa_buf_appendf(q, "SELECT coalesce(CAST(avg(CASE WHEN ") ||
      index_filter(st, cols, q, probe->binds, &probe->n_binds))
    return PA_NOMEM;
  if (pa_buf_appendf(q, " THEN 1000 ELSE 0 END) AS INTEGER), 0) FROM (WITH RECURSIVE k(i)"
                        " AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < %d)"
                        " SELECT m.lo + (k.i * 2654435761) %% (m.hi - m.lo + 1) AS id FROM k,"
                        " (SELECT (SELECT min(id) FROM events) AS lo,"
                        " (SELECT max(id) FROM events) AS hi) m) s, events x WHERE x.id = s.id",
                     PA_ENGINE_SCAN_SAMPLE - 1))
    return PA_NOMEM;
  probe->sql = (char *)pa_buf_str(q);
  return PA_OK;
}

/* st read with the dialect's scan hint after "events x": a full scan;
 * its rows stored in order when order is not NULL. */
static pa_rc scan_of(const struct pa_dialect *dl, const struct pa_sqlstmt *st, const char *order,
                     struct pa_buf *q)
{
  const struct pa_read *rd = st->read;

  if (pa_buf_append(q, st->sql, rd->scan_at) || pa_buf_appendf(q, "%s", dl->scan_hint) ||
      pa_buf_appendf(q, "%s", st->sql + rd->scan_at) ||
      (order && pa_buf_appendf(q, " ORDER BY %s", order)))
    return PA_NOMEM;
  return PA_OK;
}

/* st reading the rows index idx (of columns cols) leads to, fetched in the
 * table's order: its filter, then "x.id is one of the index's rows" (the
 * dialect's), on a read with the scan hint, and the rows stored in order.
 * The index's filter repeats binds of st's; out->binds is the whole list,
 * pointing into st's. The table's order reads each page once, where the
 * index's goes back and forth over the whole table. */
static pa_rc by_index_of(const struct pa_dialect *dl, const struct pa_sqlstmt *st,
                         const char *idx, uint32_t cols, const char *order,
                         struct pa_buf *q, struct pa_sqlstmt *out)
{
  const struct pa_read *rd = st->read;
  struct pa_buf f;
  size_t m = rd->filter_bind;
  pa_rc rc = PA_NOMEM;

  for (size_t k = rd->filter_from; k < rd->filter_to; k++)
    m += st->sql[k] == '?';
  if (m > st->n_binds || !(out->binds = calloc(2 * st->n_binds + 1, sizeof *out->binds)))
    return PA_NOMEM;
  memcpy(out->binds, st->binds, m * sizeof *out->binds);
  out->n_binds = m;
  pa_buf_init(&f, PA_RULE_MAX_SQL + 1024);
  if (pa_buf_append(q, st->sql, rd->scan_at) || pa_buf_appendf(q, "%s", dl->scan_hint) ||
      pa_buf_append(q, st->sql + rd->scan_at, rd->filter_from - rd->scan_at) ||
      pa_buf_appendf(q, "(") ||
      pa_buf_append(q, st->sql + rd->filter_from, rd->filter_to - rd->filter_from) ||
      pa_buf_appendf(q, ") AND ") ||
      index_filter(st, cols, &f, out->binds, &out->n_binds) ||
      dl->ids_by_index(q, idx, pa_buf_str(&f)) ||
      pa_buf_appendf(q, "%s ORDER BY %s", st->sql + rd->filter_to, order))
    goto out;
  memcpy(out->binds + out->n_binds, st->binds + m, (st->n_binds - m) * sizeof *out->binds);
  out->n_binds += st->n_binds - m;
  rc = PA_OK;
out:
  pa_buf_cleanup(&f);
  return rc;
}

/* How st reads a rule's rows of events, by the share of sampled rows
 * that the index the planner picked leads to the table for:
 * - PA_ENGINE_SCAN_PERMILLE or more: a full scan;
 * - less, where an ORDER BY may end st (rd->sortable): its rows stored in
 *   rd->order, or in the index's order, so that the statements after it
 *   find them as an index read would give them; read by a full scan from
 *   PA_ENGINE_SORT_PERMILLE on, else the index's rows fetched in the
 *   table's order;
 * - else the planner's plan.
 * 1 when *out is st with its SQL (and binds) replaced, both the caller's
 * to free (out_free); else 0, *out is st. */
static int read_of(sqlite3 *db, const struct pa_dialect *dl, const struct pa_rule *r, size_t s,
                   const struct pa_sqlstmt *st, struct pa_sqlstmt *out)
{
  const struct pa_read *rd = st->read;
  struct pa_sqlstmt probe = {.sql = NULL};
  struct pa_buf q, w, io;
  struct x_read x;
  int64_t permille = 0;
  uint32_t cols;
  int done = 0, scan, sort;
  size_t n = strlen(st->sql);
  const char *order = NULL;

  *out = *st;
  if (!dl)
    dl = &pa_dialect_sqlite;
  if (!dl->scan_hint || rd->scan_at > n || rd->filter_to > n || !plan_index(db, st, &x))
    return 0;
  pa_buf_init(&q, PA_RULE_MAX_SQL + 1024);
  pa_buf_init(&w, 2 * PA_RULE_MAX_SQL + 1024);
  pa_buf_init(&io, 256);
  cols = index_cols(db, x.name, &io);
  if (probe_of(st, cols, &q, &probe) || run_stmt(db, &probe, &permille))
    goto out;
  scan = permille >= PA_ENGINE_SCAN_PERMILLE;
  if (!scan && rd->sortable)
    order = rd->order ? rd->order : io.len ? pa_buf_str(&io) : NULL;
  sort = order && permille >= PA_ENGINE_SORT_PERMILLE;
  if (order && !sort && !dl->ids_by_index)
    order = NULL;
  pa_log(PA_LOG_DEBUG, "%s: statement %zu: %s leads to the table for %.1f%% of sampled events:"
         " %s%s", r->id, s + 1, x.name, (double)permille / 10,
         scan ? "a full scan instead" : sort ? "a full scan instead, rows stored by "
         : order ? "kept, rows fetched in table order, stored by " : "kept",
         order ? order : "");
  if (!scan && !order)
    goto out;
  if (scan || sort ? scan_of(dl, st, order, &w) != PA_OK
                   : by_index_of(dl, st, x.name, cols, order, &w, out) != PA_OK)
    goto out;
  if (!(out->sql = strdup(pa_buf_str(&w)))) /* a scan keeps st's binds */
    goto out;
  done = 1;
out:
  if (!done) {
    if (out->binds != st->binds)
      free(out->binds);
    *out = *st;
  }
  free(probe.binds);
  pa_buf_cleanup(&q);
  pa_buf_cleanup(&w);
  pa_buf_cleanup(&io);
  return done;
}

/* Frees what read_of gave out (st: the statement it read). */
static void out_free(const struct pa_sqlstmt *st, struct pa_sqlstmt *out)
{
  free(out->sql);
  if (out->binds != st->binds)
    free(out->binds);
}

/* ---- thresholds from the policy ------------------------------------- */

struct params {
  sqlite3_stmt *get, *req;
  char text[64];
};

static const char *param_fn(void *ctx, const char *rule_id, const char *name)
{
  struct params *p = ctx;
  sqlite3_stmt *q = strcmp(rule_id, "require") ? p->get : p->req;
  const char *v = NULL;

  if (!q)
    return NULL;
  sqlite3_reset(q);
  if (q == p->get) {
    sqlite3_bind_text(q, 1, rule_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
  } else {
    sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
  }
  if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_type(q, 0) != SQLITE_NULL) {
    snprintf(p->text, sizeof p->text, "%s", (const char *)sqlite3_column_text(q, 0));
    v = p->text;
  }
  sqlite3_reset(q);
  return v;
}

/* Every threshold the policy sets must name a rule and a parameter that
 * exist: a typo would otherwise leave the default in force unnoticed. */
static int check_policy_params(sqlite3 *db, const pa_ruleset *rs, struct pa_diag *d)
{
  sqlite3_stmt *q;
  int bad = 0;

  if (sqlite3_prepare_v2(db, "SELECT rule_id, name FROM pol_params ORDER BY 1, 2", -1, &q,
                         NULL) != SQLITE_OK)
    return 0; /* no policy tables: nothing set */
  while (sqlite3_step(q) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(q, 0);
    const char *name = (const char *)sqlite3_column_text(q, 1);
    const struct pa_rule *r = pa_ruleset_find(rs, id ? id : "");
    json_t *params = r ? json_object_get(r->doc, "params") : NULL;
    if (!r) {
      pa_diag_error(d, "policy: thresholds.%s: no rule has this id", id ? id : "");
      bad = 1;
    } else if (!json_object_get(params, name ? name : "")) {
      char names[256] = "";
      const char *k;
      json_t *v;
      size_t n = 0;
      json_object_foreach(params, k, v) {
        if (!strncmp(k, "require.", 8))
          continue;
        n += (size_t)snprintf(names + n, n < sizeof names ? sizeof names - n : 0, "%s%s",
                              n ? ", " : "", k);
      }
      pa_diag_error(d, "policy: thresholds.%s.%s: %s has no threshold of this name (%s)", id,
                    name ? name : "", id, n ? names : "it has none");
      bad = 1;
    }
  }
  sqlite3_finalize(q);
  return bad;
}

/* ---- decidability --------------------------------------------------- */

static const struct {
  const char *need, *sql, *en, *ja;
} needs[] = {
  {"roster", "SELECT EXISTS (SELECT 1 FROM pol_users)", "the policy has no user roster",
   "ポリシーに利用者名簿がない"},
  {"roles", "SELECT EXISTS (SELECT 1 FROM pol_roles)", "the policy defines no roles",
   "ポリシーに役割の定義がない"},
  {"aes", "SELECT EXISTS (SELECT 1 FROM pol_aes)", "the policy has no AE title registry",
   "ポリシーに AE タイトル台帳がない"},
  {"hours", "SELECT EXISTS (SELECT 1 FROM pol_hours)", "the policy sets no working hours",
   "ポリシーに業務時間の定めがない"},
  {"vip", "SELECT EXISTS (SELECT 1 FROM pol_vip)", "the policy lists no VIP patients",
   "ポリシーに VIP 患者の指定がない"},
  {"windows", "SELECT EXISTS (SELECT 1 FROM pol_users WHERE kind = 'service')",
   "the policy has no service account", "ポリシーに保守用アカウントがない"},
  {"require.tls", "SELECT EXISTS (SELECT 1 FROM pol_require WHERE name = 'tls' AND value = 1)",
   "the site does not require TLS (require.tls)", "サイトが TLS を必須としていない (require.tls)"},
  {"require.mfa_from", "SELECT EXISTS (SELECT 1 FROM pol_require WHERE name = 'mfa_from')",
   "the policy sets no date from which two factors are required (require.mfa_from)",
   "二要素認証の開始日がポリシーにない (require.mfa_from)"},
};

const char *pa_engine_why_ja(const struct pa_rule *r, const char *why_en)
{
  static const char *const fixed[][2] = {
    {"disabled by the site", "サイトにより無効化"},
    {"the rule does not compile", "ルールを SQL にできない"},
    {"no data at all in the period", "期間内にデータがまったくない"},
    {"the data covers less time than the rule looks back", "データの期間がルールの対象期間より短い"},
  };
  json_t *v;
  size_t i;

  if (!why_en)
    return NULL;
  for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++)
    if (!strcmp(needs[k].en, why_en))
      return needs[k].ja;
  for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
    if (!strcmp(fixed[k][0], why_en))
      return fixed[k][1];
  json_array_foreach(json_object_get(json_object_get(r ? r->doc : NULL, "decide"), "data"), i, v) {
    json_t *why = json_object_get(v, "why");
    if (!strcmp(json_string_value(json_object_get(why, "en")) ?: "", why_en))
      return json_string_value(json_object_get(why, "ja"));
  }
  return NULL;
}

/* 1 decided, 0 not (why filled), -1 error. */
static int decide(sqlite3 *db, const struct pa_compiled *c, struct pa_rule_result *res)
{
  json_t *nd = json_object_get(json_object_get(c->rule->doc, "decide"), "needs");
  size_t i;
  json_t *v;
  int64_t yes;

  json_array_foreach(nd, i, v) {
    for (size_t k = 0; k < sizeof needs / sizeof needs[0]; k++) {
      struct pa_sqlstmt st = {.sql = (char *)needs[k].sql};
      if (strcmp(needs[k].need, json_string_value(v) ?: ""))
        continue;
      yes = 0;
      if (run_stmt(db, &st, &yes))
        return -1;
      if (!yes) {
        snprintf(res->why_en, sizeof res->why_en, "%s", needs[k].en);
        snprintf(res->why_ja, sizeof res->why_ja, "%s", needs[k].ja);
        return 0;
      }
    }
  }
  for (size_t k = 0; k < c->n_decide; k++) {
    yes = 0;
    if (run_stmt(db, &c->decide[k], &yes))
      return -1;
    if (!yes) {
      snprintf(res->why_en, sizeof res->why_en, "%s", c->why_en[k]);
      snprintf(res->why_ja, sizeof res->why_ja, "%s", c->why_ja[k]);
      return 0;
    }
  }
  return 1;
}

/* ---- episodes ------------------------------------------------------- */

/* Cuts r_hits into episodes (a quiet time over gap starts a new one) and
 * appends them to r_eps. The evidence list is written by the dialect. */
static int episodes(sqlite3 *db, const struct pa_dialect *dl, const struct pa_rule *r, int part,
                    int64_t gap)
{
  sqlite3_stmt *q = NULL;
  struct pa_buf b, filt;
  int rc = -1;

  pa_buf_init(&b, 4096);
  pa_buf_init(&filt, 128);
  if (pa_buf_appendf(&filt, "rn <= %d AND eid IS NOT NULL", PA_RULE_MAX_EVIDENCE) ||
      pa_buf_appendf(&b,
           "INSERT INTO r_eps (rule_id, part, subj, first_ts, last_ts, n, ids, gap)"
           " WITH h AS (SELECT part, subj, ts, eid, t0, CASE WHEN ts - lag(ts) OVER w > ?2"
           "   THEN 1 ELSE 0 END AS brk FROM r_hits WHERE part = ?3 WINDOW w AS (PARTITION BY part, subj"
           "   ORDER BY ts, eid)),"
           " e AS (SELECT *, sum(brk) OVER (PARTITION BY part, subj ORDER BY ts, eid ROWS"
           "   UNBOUNDED PRECEDING) AS ep FROM h),"
           " d AS (SELECT part, subj, ep, min(ts) AS ts, min(t0) AS t0, eid FROM e"
           "   GROUP BY part, subj, ep, eid),"
           " r AS (SELECT *, row_number() OVER (PARTITION BY part, subj, ep ORDER BY t0, eid)"
           "   AS rn FROM d)"
           " SELECT ?1, part, subj, min(t0), max(t0),"
           "   CASE WHEN count(eid) > 0 THEN count(eid) ELSE 1 END, ") ||
      dl->json_agg(&b, "eid", pa_buf_str(&filt)) ||
      pa_buf_appendf(&b, ", ?2 FROM r GROUP BY part, subj, ep"))
    goto out;
  if (sqlite3_prepare_v2(db, pa_buf_str(&b), -1, &q, NULL) != SQLITE_OK)
    goto out;
  sqlite3_bind_text(q, 1, r->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, gap);
  sqlite3_bind_int(q, 3, part);
  rc = sqlite3_step(q) == SQLITE_DONE ? 0 : -1;
out:
  sqlite3_finalize(q);
  pa_buf_cleanup(&b);
  pa_buf_cleanup(&filt);
  return rc;
}

/* ---- findings ------------------------------------------------------- */

/* What merging needs besides the store: the policy's exceptions and the
 * events behind network evidence. */
struct merge {
  pa_store *s;
  sqlite3_stmt *exc, *map_dimse, *map_assoc;
  int64_t run_id;
};

static void merge_close(struct merge *m)
{
  sqlite3_finalize(m->exc);
  sqlite3_finalize(m->map_dimse);
  sqlite3_finalize(m->map_assoc);
}

static int merge_open(struct merge *m, const struct pa_dialect *dl)
{
  sqlite3_stmt **st[] = {&m->exc, &m->map_dimse, &m->map_assoc};
  struct pa_buf b[3];
  int rc = 0;

  for (size_t i = 0; i < 3; i++)
    pa_buf_init(&b[i], 1024);
  /* the exception in force; the events behind dimse ids; the association
   * starts behind association ids (?1: a JSON array of the ids) */
  if (pa_buf_appendf(&b[0], "SELECT reason FROM pol_exceptions WHERE rule_id = ?1 AND"
                     " subject = ?2 AND ?3 < until_ts LIMIT 1") ||
      pa_buf_appendf(&b[1], "SELECT ") || dl->json_agg(&b[1], "e.id", NULL) ||
      pa_buf_appendf(&b[1], " FROM ") || dl->json_rows(&b[1], "?1", "j") ||
      pa_buf_appendf(&b[1], " JOIN dimse d ON d.id = j.value JOIN events e ON e.assoc_id ="
                     " d.assoc_id AND e.ts = d.ts AND e.event_code = 'DIMSE:' || d.command") ||
      pa_buf_appendf(&b[2], "SELECT ") || dl->json_agg(&b[2], "e.id", NULL) ||
      pa_buf_appendf(&b[2], " FROM ") || dl->json_rows(&b[2], "?1", "j") ||
      pa_buf_appendf(&b[2], " JOIN events e ON e.assoc_id = j.value AND"
                     " e.event_code = 'ASSOC:start'"))
    rc = -1;
  for (size_t i = 0; rc == 0 && i < sizeof st / sizeof st[0]; i++)
    if (sqlite3_prepare_v2(pa_store_handle(m->s), pa_buf_str(&b[i]), -1, st[i], NULL) !=
        SQLITE_OK)
      rc = -1;
  for (size_t i = 0; i < 3; i++)
    pa_buf_cleanup(&b[i]);
  return rc;
}

/* The event ids behind a finding's evidence: ids of dimse or associations
 * rows are mapped to their events (and kept in assoc_evidence too). */
static char *evidence_events(struct merge *m, const char *table, const char *ids)
{
  sqlite3_stmt *q = !strcmp(table, "dimse") ? m->map_dimse
                  : !strcmp(table, "associations") ? m->map_assoc : NULL;
  char *out;
  if (!q)
    return strdup(ids);
  sqlite3_reset(q);
  sqlite3_bind_text(q, 1, ids, -1, SQLITE_STATIC);
  out = sqlite3_step(q) == SQLITE_ROW ? strdup((const char *)sqlite3_column_text(q, 0) ?: "[]")
                                      : NULL;
  sqlite3_reset(q);
  return out;
}

/* Merges one episode into the store's findings; counts it in res. */
static int merge_one(struct merge *m, const struct pa_rule *r, const struct pa_compiled *cp,
                     int part, const char *subj, int64_t first, int64_t last, int64_t n,
                     const char *ids, int64_t gap, struct pa_rule_result *res)
{
  const char *table = cp->evidence[part];
  struct pa_finding f = {0};
  char *assoc_ev = NULL, *ev = NULL, *detail = NULL, *reason = NULL;
  int rc = -1, known;

  if (!(ev = evidence_events(m, table, ids)))
    return -1;
  if (strcmp(table, "events")) {
    size_t len = strlen(ids) + 32;
    if (!(assoc_ev = malloc(len)))
      goto out;
    snprintf(assoc_ev, len, "{\"%s\":%s}", table, ids);
  }
  if (cp->n_parts > 1) { /* which of the rule's checks found it */
    json_t *o = json_pack("{s:i, s:s?, s:s?}", "part", part, "label_en",
                          cp->part_label_en[part], "label_ja", cp->part_label_ja[part]);
    detail = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!detail)
      goto out;
  }
  /* an approved exception? */
  sqlite3_reset(m->exc);
  sqlite3_bind_text(m->exc, 1, r->id, -1, SQLITE_STATIC);
  sqlite3_bind_text(m->exc, 2, subj, -1, SQLITE_STATIC);
  sqlite3_bind_int64(m->exc, 3, first);
  if (sqlite3_step(m->exc) == SQLITE_ROW &&
      !(reason = strdup((const char *)sqlite3_column_text(m->exc, 0) ?: "")))
    goto out;
  sqlite3_reset(m->exc);
  f.rule_id = r->id;
  f.severity = r->severity;
  f.strength = r->strength;
  f.guideline_ref = r->guideline;
  f.subject = subj;
  f.first_ts = first;
  f.last_ts = last;
  f.count = n;
  f.evidence = ev;
  f.assoc_evidence = assoc_ev;
  f.detail = detail;
  f.part = part;
  f.gap_us = gap;
  f.excepted = reason;
  if (pa_store_finding_put(m->s, &f, m->run_id, &known))
    goto out;
  if (known)
    res->n_known++;
  else
    res->n_new++;
  res->n_excepted += reason != NULL;
  rc = 0;
out:
  free(ev);
  free(assoc_ev);
  free(detail);
  free(reason);
  return rc;
}

static int merge_all(struct merge *m, const pa_ruleset *rs, struct pa_rule_result *res,
                     const struct pa_compiled *tables_of, size_t n_rules)
{
  sqlite3_stmt *q;
  int rc = 0;

  if (sqlite3_prepare_v2(pa_store_handle(m->s),
                         "SELECT rule_id, part, subj, first_ts, last_ts, n, ids, gap FROM r_eps"
                         " ORDER BY rule_id, subj, first_ts", -1, &q, NULL) != SQLITE_OK)
    return -1;
  while (rc == 0 && sqlite3_step(q) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(q, 0);
    size_t i;
    for (i = 0; i < n_rules && strcmp(pa_ruleset_get(rs, i)->id, id); i++)
      ;
    if (i == n_rules)
      continue;
    int part = sqlite3_column_int(q, 1);
    if (part < 0 || (size_t)part >= tables_of[i].n_parts)
      continue;
    rc = merge_one(m, pa_ruleset_get(rs, i), &tables_of[i], part,
                   (const char *)sqlite3_column_text(q, 2),
                   sqlite3_column_int64(q, 3), sqlite3_column_int64(q, 4),
                   sqlite3_column_int64(q, 5), (const char *)sqlite3_column_text(q, 6) ?: "[]",
                   sqlite3_column_int64(q, 7), &res[i]);
  }
  sqlite3_finalize(q);
  return rc;
}

/* ---- the run -------------------------------------------------------- */

static int64_t data_end(sqlite3 *db)
{
  struct pa_sqlstmt st = {
    .sql = (char *)"SELECT max(coalesce((SELECT max(ts) FROM events), 0),"
                   " coalesce((SELECT max(ts) FROM dimse), 0),"
                   " coalesce((SELECT max(started_at) FROM associations), 0))"};
  int64_t v = 0;
  run_stmt(db, &st, &v);
  return v;
}

/* 1 when the store holds anything at all in the period: with nothing,
 * no rule can say the site complies. */
static int has_data(sqlite3 *db, const struct pa_engine_opts *o)
{
  static const char *const tables[] = {"events", "dimse", "associations"};
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[256];
    struct pa_bind b[2] = {{PA_BIND_INT, o->since_us ? o->since_us : INT64_MIN, 0, NULL},
                           {PA_BIND_INT, o->until_us ? o->until_us : INT64_MAX, 0, NULL}};
    struct pa_sqlstmt st = {.sql = sql, .binds = b, .n_binds = 2};
    int64_t yes = 0;
    snprintf(sql, sizeof sql, "SELECT EXISTS (SELECT 1 FROM %s WHERE %s >= ? AND %s < ?)",
             tables[i], i == 2 ? "started_at" : "ts", i == 2 ? "started_at" : "ts");
    if (run_stmt(db, &st, &yes) == 0 && yes)
      return 1;
  }
  return 0;
}

/* pol_offhours: the site's off-hours as UTC intervals [from_ts, to_ts),
 * day by local day over the data (a day either side), from pol_hours,
 * pol_holidays and the site's zone: a rule then asks the time index for
 * those stretches instead of working out local time row by row. */
static int offhours(sqlite3 *db)
{
  sqlite3_stmt *q = NULL, *ins = NULL;
  struct { int on, start, end; } day[7] = {{0, 0, 0}};
  char zone[128] = "Asia/Tokyo";
  int64_t lo = 0, hi = 0, open_from = INT64_MIN;
  pa_tz *tz = NULL;
  struct pa_err err;
  int rc = -1, any = 0;

  if (pa_engine_prepare(db) || exec(db, "DELETE FROM pol_offhours"))
    return -1;
  if (sqlite3_prepare_v2(db, "SELECT dow, start_min, end_min FROM pol_hours", -1, &q, NULL))
    return -1;
  while (sqlite3_step(q) == SQLITE_ROW) {
    int d = sqlite3_column_int(q, 0);
    if (d >= 0 && d < 7) {
      day[d].on = 1;
      day[d].start = sqlite3_column_int(q, 1);
      day[d].end = sqlite3_column_int(q, 2);
      any = 1;
    }
  }
  sqlite3_finalize(q);
  q = NULL;
  if (!any)
    return 0; /* no hours: the rules that need them are undecidable */
  if (sqlite3_prepare_v2(db, "SELECT timezone FROM pol_site", -1, &q, NULL) == SQLITE_OK &&
      sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0))
    snprintf(zone, sizeof zone, "%s", (const char *)sqlite3_column_text(q, 0));
  sqlite3_finalize(q);
  q = NULL;
  pa_err_clear(&err);
  if (pa_tz_load(zone, &tz, &err))
    return -1;
  if (sqlite3_prepare_v2(db, "SELECT min(t), max(t) FROM (SELECT min(ts) AS t FROM events"
                         " UNION ALL SELECT max(ts) FROM events UNION ALL SELECT min(ts) FROM"
                         " dimse UNION ALL SELECT max(ts) FROM dimse UNION ALL SELECT"
                         " min(started_at) FROM associations UNION ALL SELECT max(started_at)"
                         " FROM associations)", -1, &q, NULL) ||
      sqlite3_step(q) != SQLITE_ROW || sqlite3_column_type(q, 0) == SQLITE_NULL) {
    rc = 0; /* no data */
    goto out;
  }
  lo = sqlite3_column_int64(q, 0);
  hi = sqlite3_column_int64(q, 1);
  sqlite3_finalize(q);
  q = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO pol_offhours VALUES (?, ?)", -1, &ins, NULL) ||
      sqlite3_prepare_v2(db, "SELECT 1 FROM pol_holidays WHERE day = ?", -1, &q, NULL))
    goto out;
  rc = 0;
  /* local dates from the day before the data to the day after, stepped as
   * dates (a day with a DST change is not 24 hours long) */
  time_t day0 = (time_t)(pa_tz_to_local_us(tz, lo) / 1000000) - 86400;
  time_t last = (time_t)(pa_tz_to_local_us(tz, hi) / 1000000) + 86400;
  for (time_t secs = day0; rc == 0 && secs <= last; secs += 86400) {
    int64_t mid, s, e;
    int y, m, d, dow;
    struct tm tm;
    char ymd[40];
    if (!gmtime_r(&secs, &tm)) /* the local wall time, read as if UTC: no zone here */
      continue;
    y = tm.tm_year + 1900;
    m = tm.tm_mon + 1;
    d = tm.tm_mday;
    dow = tm.tm_wday;
    snprintf(ymd, sizeof ymd, "%04d-%02d-%02d", y, m, d);
    sqlite3_reset(q);
    sqlite3_bind_text(q, 1, ymd, -1, SQLITE_STATIC);
    if (pa_tz_from_local(tz, y, m, d, 0, 0, 0, &mid))
      continue;
    if (!day[dow].on || sqlite3_step(q) == SQLITE_ROW) {
      s = e = INT64_MAX; /* the whole day is off */
    } else if (pa_tz_from_local(tz, y, m, d, day[dow].start / 60, day[dow].start % 60, 0, &s) ||
               pa_tz_from_local(tz, y, m, d, day[dow].end / 60, day[dow].end % 60, 0, &e)) {
      continue;
    }
    /* off from midnight (or earlier) to the start, and from the end on */
    if (open_from == INT64_MIN)
      open_from = mid;
    if (s != INT64_MAX) {
      sqlite3_reset(ins);
      sqlite3_bind_int64(ins, 1, open_from);
      sqlite3_bind_int64(ins, 2, s);
      if (s > open_from && sqlite3_step(ins) != SQLITE_DONE)
        rc = -1;
      open_from = e;
    }
  }
  if (rc == 0 && open_from != INT64_MIN) { /* up to the end of the last day */
    sqlite3_reset(ins);
    sqlite3_bind_int64(ins, 1, open_from);
    sqlite3_bind_int64(ins, 2, INT64_MAX);
    if (sqlite3_step(ins) != SQLITE_DONE)
      rc = -1;
  }
out:
  sqlite3_finalize(q);
  sqlite3_finalize(ins);
  pa_tz_free(tz);
  return rc;
}

static void params_shown(const struct pa_compiled *c, struct pa_rule_result *res)
{
  size_t n = 0;
  for (size_t i = 0; i < c->n_params && n < sizeof res->params; i++)
    n += (size_t)snprintf(res->params + n, sizeof res->params - n, "%s%s=%s%s", i ? " " : "",
                          c->params[i].name, c->params[i].text,
                          c->params[i].from_policy ? " (policy)" : "");
}

static int record_run(pa_store *s, const struct pa_engine_opts *o,
                      const struct pa_rule_result *r)
{
  struct pa_rule_run rr = {0};
  if (!o->run_id)
    return 0;
  rr.rule_id = r->rule->id;
  rr.decided = r->decided && !r->failed;
  rr.why = rr.decided ? NULL : r->why_en;
  rr.since_ts = o->since_us;
  rr.until_ts = o->until_us;
  rr.n_new = r->n_new;
  rr.n_known = r->n_known;
  rr.n_excepted = r->n_excepted;
  rr.ms = r->ms;
  return pa_store_rule_run_put(s, o->run_id, &rr) ? -1 : 0;
}

static void count_open(sqlite3 *db, const struct pa_engine_opts *o, struct pa_rule_result *r)
{
  sqlite3_stmt *q;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM findings WHERE rule_id = ?1 AND status ="
                         " 'open' AND last_ts >= ?2 AND first_ts < ?3", -1, &q,
                         NULL) != SQLITE_OK)
    return;
  sqlite3_bind_text(q, 1, r->rule->id, -1, SQLITE_STATIC);
  sqlite3_bind_int64(q, 2, o->since_us ? o->since_us : INT64_MIN);
  sqlite3_bind_int64(q, 3, o->until_us ? o->until_us : INT64_MAX);
  if (sqlite3_step(q) == SQLITE_ROW)
    r->n_open = (uint64_t)sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
}

/* ---- lanes: the rules of one run on more than one connection --------- */

/* What every lane of a run shares. The rules are independent: each reads
 * the store and writes only its own temp tables, so a rule runs whole on
 * one lane, and the episodes of a second lane are copied to the caller's
 * r_eps before the findings are kept, in one batch as with one lane. */
struct run {
  const pa_ruleset *rs;
  const struct pa_engine_opts *o;
  struct pa_rule_result *res;
  struct pa_compiled *comp;
  size_t n;
  size_t *order;           /* the order rules are handed out in: longest first */
  const char *path;        /* the store's file, for the second lanes */
  struct pa_compile_opts co; /* each lane's copy differs in param_ctx only */
  int any_data;
  struct pa_diag *d;
  pthread_mutex_t mu;      /* all below, d and o->progress */
  pthread_cond_t cv;
  size_t next;
  int ready, failed, begun, go; /* the second lanes' start (start_lanes) */
};

/* One connection's share: its own temp tables, SQL functions and
 * statements. */
struct lane {
  struct run *u;
  sqlite3 *db;
  pa_store *own;           /* a second lane's store (NULL: the caller's) */
  struct params pr;
  struct pa_compile_opts co;
  pthread_t th;
  int reading;             /* in the run's snapshot */
};

/* The lane's own statements for the policy's thresholds. */
static int lane_prepare(struct lane *L)
{
  return sqlite3_prepare_v2(L->db, "SELECT value FROM pol_params WHERE rule_id = ?1 AND"
                            " name = ?2", -1, &L->pr.get, NULL) != SQLITE_OK ||
         sqlite3_prepare_v2(L->db, "SELECT value FROM pol_require WHERE name = ?1", -1,
                            &L->pr.req, NULL) != SQLITE_OK;
}

static void lane_cleanup(struct lane *L)
{
  sqlite3_finalize(L->pr.get);
  sqlite3_finalize(L->pr.req);
  L->pr.get = L->pr.req = NULL;
}

/* The next rule to run, in u->order; 0 when none is left. */
static int take(struct run *u, size_t *i)
{
  int got = 0;
  pthread_mutex_lock(&u->mu);
  if (u->next < u->n) {
    *i = u->order[u->next];
    if (u->o->progress)
      u->o->progress(u->o->progress_ctx, u->next, u->n, pa_ruleset_get(u->rs, *i));
    u->next++;
    got = 1;
  }
  pthread_mutex_unlock(&u->mu);
  return got;
}

/* Rule i, whole, on lane L: decidability, its statements into r_hits,
 * then its episodes into r_eps. What fails is in its result. */
static void run_rule(struct lane *L, size_t i)
{
  struct run *u = L->u;
  const struct pa_engine_opts *o = u->o;
  const struct pa_rule *r = pa_ruleset_get(u->rs, i);
  struct pa_rule_result *res_i = &u->res[i];
  struct pa_compiled *comp = &u->comp[i];
  sqlite3 *db = L->db;
  struct pa_sqlstmt dis = {.sql = (char *)"SELECT EXISTS (SELECT 1 FROM pol_disabled WHERE"
                                          " rule_id = ?)"};
  struct pa_bind b = {PA_BIND_TEXT, 0, 0, (char *)r->id};
  double t0 = now_ms();
  int64_t off = 0;
  pa_rc crc;
  int dc;

  res_i->rule = r;
  dis.binds = &b;
  dis.n_binds = 1;
  if (run_stmt(db, &dis, &off) == 0 && off) {
    res_i->disabled = 1;
    snprintf(res_i->why_en, sizeof res_i->why_en, "disabled by the site");
    snprintf(res_i->why_ja, sizeof res_i->why_ja, "サイトにより無効化");
    return;
  }
  pthread_mutex_lock(&u->mu); /* the compiler reports into d */
  crc = pa_rule_compile(r, &L->co, comp, u->d);
  pthread_mutex_unlock(&u->mu);
  if (crc != PA_OK) {
    res_i->failed = 1;
    snprintf(res_i->why_en, sizeof res_i->why_en, "the rule does not compile");
    snprintf(res_i->why_ja, sizeof res_i->why_ja, "ルールを SQL にできない");
    return;
  }
  params_shown(comp, res_i);
  if (!u->any_data) {
    snprintf(res_i->why_en, sizeof res_i->why_en, "no data at all in the period");
    snprintf(res_i->why_ja, sizeof res_i->why_ja, "期間内にデータがまったくない");
    return;
  }
  if ((dc = decide(db, comp, res_i)) < 0) {
    res_i->failed = 1;
    snprintf(res_i->why_en, sizeof res_i->why_en, "%s", sqlite3_errmsg(db));
    return;
  }
  res_i->decided = dc;
  if (!dc)
    return;
  if (exec(db, "DELETE FROM r_hits")) {
    res_i->failed = 1;
    return;
  }
  for (size_t s = 0; s < comp->n_stmts; s++) {
    struct pa_sqlstmt st = comp->stmts[s];
    int read = st.read && !o->index_only && read_of(db, L->co.dialect, r, s, &comp->stmts[s], &st);
    double ts0;
    int bad;
    if ((o->plan || pa_log_threshold >= PA_LOG_DEBUG) && strncmp(st.sql, "DROP", 4) &&
        strncmp(st.sql, "CREATE INDEX", 12))
      explain(db, o, r, &st);
    ts0 = now_ms();
    bad = run_stmt(db, &st, NULL);
    if (read)
      out_free(&comp->stmts[s], &st);
    pa_log(PA_LOG_DEBUG, "%s: statement %zu: %.1f ms", r->id, s + 1, now_ms() - ts0);
    if (bad) {
      res_i->failed = 1;
      res_i->decided = 0;
      snprintf(res_i->why_en, sizeof res_i->why_en, "SQL failed: %s", sqlite3_errmsg(db));
      snprintf(res_i->why_ja, sizeof res_i->why_ja, "SQL の実行に失敗: %s", sqlite3_errmsg(db));
      pthread_mutex_lock(&u->mu);
      pa_diag_error(u->d, "%s: %s: statement %zu: %s", r->file, r->id, s + 1,
                    sqlite3_errmsg(db));
      pthread_mutex_unlock(&u->mu);
      break;
    }
  }
  double te = now_ms();
  for (size_t p = 0; p < comp->n_parts && !res_i->failed; p++)
    if (episodes(db, L->co.dialect, r, (int)p, comp->part_gap_us[p])) {
      res_i->failed = 1;
      snprintf(res_i->why_en, sizeof res_i->why_en, "SQL failed: %s", sqlite3_errmsg(db));
    }
  pa_log(PA_LOG_DEBUG, "%s: episodes: %.1f ms", r->id, now_ms() - te);
  res_i->ms = now_ms() - t0;
}

/* Takes rules until none is left, with the run's compile options (set
 * once the snapshot began: the end of the data) and this lane's
 * thresholds. */
static void lanes_run(struct lane *L)
{
  size_t i;
  L->co = L->u->co;
  L->co.param_ctx = &L->pr;
  while (take(L->u, &i))
    run_rule(L, i);
}

/* A second lane: its own read-only connection to the store, attached to
 * the same policy; it joins the run's snapshot (start_lanes), then takes
 * rules until none is left. */
static void *lane_main(void *arg)
{
  struct lane *L = arg;
  struct run *u = L->u;
  struct pa_err err;
  int ok, go;

  pa_err_clear(&err);
  ok = pa_store_open_mode(u->path, PA_STORE_RDONLY | PA_STORE_NOCREATE | PA_STORE_NOMIGRATE,
                          &L->own, &err) == PA_OK &&
       pa_engine_attach(L->own, u->o->policy, &err) == PA_OK;
  if (ok) {
    L->db = pa_store_handle(L->own);
    ok = offhours(L->db) == 0 && lane_prepare(L) == 0;
  }
  if (!ok)
    pa_log(PA_LOG_DEBUG, "rules: a second lane did not start: %s",
           err.msg[0] ? err.msg : L->db ? sqlite3_errmsg(L->db) : "no connection");
  pthread_mutex_lock(&u->mu);
  ok ? u->ready++ : u->failed++;
  pthread_cond_broadcast(&u->cv);
  while (!u->go)
    pthread_cond_wait(&u->cv, &u->mu);
  go = u->go;
  pthread_mutex_unlock(&u->mu);
  if (ok && go > 0)
    L->reading = pa_store_read_begin(L->own) == PA_OK && exec(L->db, "DELETE FROM r_eps") == 0;
  pthread_mutex_lock(&u->mu);
  u->begun++;
  pthread_cond_broadcast(&u->cv);
  pthread_mutex_unlock(&u->mu);
  if (L->reading)
    lanes_run(L);
  return NULL;
}

/* Waits (under u->mu) until *what reaches n. */
static void wait_for(struct run *u, const int *what, int n)
{
  while (*what < n)
    pthread_cond_wait(&u->cv, &u->mu);
}

/* Starts the caller's read snapshot and the second lanes' (k of them,
 * already running lane_main) on the same data: while one more connection
 * holds the store's write lock, no ingest can commit, so every lane that
 * begins its read then sees the same commits. The lock is held only for
 * those begins. A lane that cannot start, or a lock not had (a busy
 * writer for PA_ENGINE_LANE_LOCK_MS), leaves its rules to the others;
 * the caller's lane always runs. -1 when the caller's read cannot begin. */
static int start_lanes(struct run *u, pa_store *s, int k)
{
  sqlite3 *db = pa_store_handle(s), *gate = NULL;
  int locked = 0, rc = 0;

  pthread_mutex_lock(&u->mu);
  while (u->ready + u->failed < k) /* every lane ready or failed */
    pthread_cond_wait(&u->cv, &u->mu);
  pthread_mutex_unlock(&u->mu);
  if (u->ready && sqlite3_open_v2(u->path, &gate, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(gate, PA_ENGINE_LANE_LOCK_MS);
    locked = exec(gate, "BEGIN IMMEDIATE") == 0;
  }
  if (pa_store_read_begin(s) != PA_OK)
    rc = -1;
  else if (exec(db, "DELETE FROM r_eps"))
    rc = -1;
  if (rc == 0) {
    u->co.data_end_us = u->o->until_us ? u->o->until_us : data_end(db);
    u->any_data = has_data(db, u->o);
  }
  pthread_mutex_lock(&u->mu);
  u->go = locked && rc == 0 ? 1 : -1;
  pthread_cond_broadcast(&u->cv);
  wait_for(u, &u->begun, k);
  pthread_mutex_unlock(&u->mu);
  if (locked)
    exec(gate, "ROLLBACK");
  sqlite3_close(gate);
  if (k && !locked)
    pa_log(PA_LOG_DEBUG, "rules: one lane: %s", gate ? sqlite3_errmsg(gate) : "no lock");
  return rc;
}

/* The rules, longest of the last recorded run first, so that two lanes end
 * together rather than one waiting on PR-01 at the end; the pack's order
 * when nothing is recorded. */
static void order_rules(sqlite3 *db, struct run *u)
{
  sqlite3_stmt *q;
  double *ms = calloc(u->n ? u->n : 1, sizeof *ms);

  for (size_t i = 0; i < u->n; i++)
    u->order[i] = i;
  if (!ms)
    return;
  if (sqlite3_prepare_v2(db, "SELECT rule_id, ms FROM rule_runs WHERE run_id = (SELECT"
                         " max(run_id) FROM rule_runs)", -1, &q, NULL) == SQLITE_OK) {
    while (sqlite3_step(q) == SQLITE_ROW) {
      const struct pa_rule *r = pa_ruleset_find(u->rs, (const char *)sqlite3_column_text(q, 0)
                                                           ?: "");
      for (size_t i = 0; r && i < u->n; i++)
        if (pa_ruleset_get(u->rs, i) == r)
          ms[i] = sqlite3_column_double(q, 1);
    }
    sqlite3_finalize(q);
  }
  for (size_t i = 1; i < u->n; i++) /* insertion sort, stable: a few dozen rules */
    for (size_t j = i; j > 0 && ms[u->order[j]] > ms[u->order[j - 1]]; j--) {
      size_t t = u->order[j];
      u->order[j] = u->order[j - 1];
      u->order[j - 1] = t;
    }
  free(ms);
}

/* A second lane's episodes into the caller's r_eps. */
static int copy_eps(sqlite3 *from, sqlite3 *to)
{
  sqlite3_stmt *q = NULL, *ins = NULL;
  int rc = -1, st;

  if (sqlite3_prepare_v2(from, "SELECT rule_id, part, subj, first_ts, last_ts, n, ids, gap"
                         " FROM r_eps", -1, &q, NULL) != SQLITE_OK ||
      sqlite3_prepare_v2(to, "INSERT INTO r_eps (rule_id, part, subj, first_ts, last_ts, n,"
                         " ids, gap) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", -1, &ins,
                         NULL) != SQLITE_OK)
    goto out;
  while ((st = sqlite3_step(q)) == SQLITE_ROW) {
    for (int k = 0; k < 8; k++)
      sqlite3_bind_value(ins, k + 1, sqlite3_column_value(q, k));
    if (sqlite3_step(ins) != SQLITE_DONE)
      goto out;
    sqlite3_reset(ins);
  }
  rc = st == SQLITE_DONE ? 0 : -1;
out:
  sqlite3_finalize(q);
  sqlite3_finalize(ins);
  return rc;
}

pa_rc pa_engine_run(pa_store *s, const pa_ruleset *rs, const struct pa_engine_opts *o,
                    struct pa_rule_result **res_out, struct pa_diag *d)
{
  sqlite3 *db = pa_store_handle(s);
  size_t n = pa_ruleset_count(rs);
  struct pa_rule_result *res = calloc(n ? n : 1, sizeof *res);
  struct pa_compiled *comp = calloc(n ? n : 1, sizeof *comp);
  size_t *order = calloc(n ? n : 1, sizeof *order);
  struct lane me = {0}, *lanes = NULL;
  struct run u = {0};
  struct merge m = {0};
  const char *path = sqlite3_db_filename(db, "main");
  pa_rc rc = PA_DB;
  int in_read = 0, in_write = 0, k = 0, started = 0;

  *res_out = NULL;
  if (!res || !comp || !order) {
    free(res);
    free(comp);
    free(order);
    return PA_NOMEM;
  }
  pthread_mutex_init(&u.mu, NULL);
  pthread_cond_init(&u.cv, NULL);
  u.rs = rs;
  u.o = o;
  u.res = res;
  u.comp = comp;
  u.n = n;
  u.order = order;
  u.d = d;
  u.path = path;
  me.u = &u;
  me.db = db;
  if (pa_engine_prepare(db))
    goto out;
  if (check_policy_params(db, rs, d)) {
    rc = PA_RULE;
    goto out;
  }
  u.co.dialect = &pa_dialect_sqlite; /* the store is SQLite: its engine's dialect */
  u.co.param = param_fn;
  u.co.since_us = o->since_us;
  u.co.until_us = o->until_us;
  if (lane_prepare(&me))
    goto out;
  if (offhours(db))
    goto out;
  /* the second lanes: not for a store without a file, nor when the plans
   * are asked for (the callback is not made for threads) */
  if (o->threads > 1 && n > 1 && path && path[0] && !o->plan)
    k = o->threads - 1 < PA_ENGINE_LANES_MAX - 1 ? o->threads - 1 : PA_ENGINE_LANES_MAX - 1;
  if (k && !(lanes = calloc((size_t)k, sizeof *lanes)))
    k = 0;
  order_rules(db, &u);
  for (started = 0; started < k; started++) {
    lanes[started].u = &u;
    if (pthread_create(&lanes[started].th, NULL, lane_main, &lanes[started]))
      break;
  }
  k = started;
  /* one snapshot for every rule and every lane: they judge the same data */
  in_read = 1; /* pa_store_read_end is nothing when the read did not begin */
  if (start_lanes(&u, s, k))
    goto out;
  if (k) {
    int reading = 1;
    for (int i = 0; i < k; i++)
      reading += lanes[i].reading;
    pa_log(PA_LOG_DEBUG, "rules: %d lanes on one snapshot", reading);
  }
  lanes_run(&me);
  for (; started > 0; started--)
    pthread_join(lanes[started - 1].th, NULL);
  for (int i = 0; i < k; i++)
    if (lanes[i].reading && copy_eps(lanes[i].db, db))
      goto out;
  lane_cleanup(&me);
  if (pa_store_read_end(s))
    goto out;
  in_read = 0;
  /* the findings: one batch, all or nothing, for the whole run */
  m.s = s;
  m.run_id = o->run_id;
  if (!o->dry_run) {
    pa_store_batch_begin(s);
    in_write = 1;
    if (merge_open(&m, u.co.dialect) || merge_all(&m, rs, res, comp, n))
      goto out;
    for (size_t i = 0; i < n; i++)
      if (record_run(s, o, &res[i]))
        goto out;
    merge_close(&m);
    memset(&m, 0, sizeof m);
    in_write = 0;
    if (pa_store_batch_commit(s))
      goto out;
    for (size_t i = 0; i < n; i++)
      count_open(db, o, &res[i]);
  } else {
    /* a dry run counts episodes as new */
    sqlite3_stmt *q;
    if (sqlite3_prepare_v2(db, "SELECT rule_id, count(*) FROM r_eps GROUP BY rule_id", -1, &q,
                           NULL) != SQLITE_OK)
      goto out;
    while (sqlite3_step(q) == SQLITE_ROW)
      for (size_t i = 0; i < n; i++)
        if (!strcmp(pa_ruleset_get(rs, i)->id, (const char *)sqlite3_column_text(q, 0)))
          res[i].n_new = res[i].n_open = (uint64_t)sqlite3_column_int64(q, 1);
    sqlite3_finalize(q);
  }
  rc = PA_OK;
out:
  if (rc == PA_DB)
    pa_diag_error(d, "database: %s", sqlite3_errmsg(db));
  for (; started > 0; started--) /* start_lanes ended them when it failed */
    pthread_join(lanes[started - 1].th, NULL);
  for (int i = 0; i < k; i++) {
    if (lanes[i].reading)
      pa_store_read_end(lanes[i].own);
    lane_cleanup(&lanes[i]);
    pa_store_close(lanes[i].own);
  }
  free(lanes);
  free(order);
  pthread_mutex_destroy(&u.mu);
  pthread_cond_destroy(&u.cv);
  lane_cleanup(&me);
  merge_close(&m);
  if (in_read)
    pa_store_read_end(s);
  if (in_write) { /* roll the run's findings back whole */
    pa_store_batch_fail(s);
    pa_store_batch_commit(s);
  }
  for (size_t i = 0; i < n; i++)
    pa_compiled_cleanup(&comp[i]);
  free(comp);
  if (rc != PA_OK) {
    free(res);
    return rc;
  }
  *res_out = res;
  return PA_OK;
}
