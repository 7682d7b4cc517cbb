/* dialect_sqlite.c — the SQLite emitter (see dialect.h). The functions it
 * names (regexp, cidr_match, local_*) are registered by sqlfn.c. */
#include "rules/dialect.h"

static pa_rc regexp(struct pa_buf *b, const char *value_sql)
{
  return pa_buf_appendf(b, "(%s REGEXP ?)", value_sql);
}

static pa_rc cidr(struct pa_buf *b, const char *ip_sql, const char *net_sql)
{
  return pa_buf_appendf(b, "cidr_match(%s, %s)", ip_sql, net_sql);
}

static pa_rc local(struct pa_buf *b, enum pa_local_part part, const char *ts_sql)
{
  static const char *const fn[] = {"local_minute", "local_dow", "local_day"};
  return pa_buf_appendf(b, "%s(%s)", fn[part], ts_sql);
}

static pa_rc json_agg(struct pa_buf *b, const char *expr_sql, const char *filter_sql)
{
  if (!filter_sql)
    return pa_buf_appendf(b, "json_group_array(%s)", expr_sql);
  return pa_buf_appendf(b, "json_group_array(%s) FILTER (WHERE %s)", expr_sql, filter_sql);
}

static pa_rc json_rows(struct pa_buf *b, const char *json_sql, const char *alias)
{
  return pa_buf_appendf(b, "json_each(%s) %s", json_sql, alias);
}

static pa_rc temp_as(struct pa_buf *b, const char *table)
{
  return pa_buf_appendf(b, "CREATE TEMP TABLE %s AS ", table);
}

static pa_rc events_by_time(struct pa_buf *b, const char *alias)
{
  return pa_buf_appendf(b, "events %s INDEXED BY events_ts", alias);
}

static pa_rc ids_by_index(struct pa_buf *b, const char *idx, const char *filter)
{
  return pa_buf_appendf(b, "x.id IN (SELECT x.id FROM events x INDEXED BY \"%s\" WHERE %s)",
                        idx, filter);
}

const struct pa_dialect pa_dialect_sqlite = {
  .name = "sqlite",
  .regexp = regexp,
  .cidr = cidr,
  .local = local,
  .json_agg = json_agg,
  .json_rows = json_rows,
  .temp_as = temp_as,
  .events_by_time = events_by_time,
  .scan_hint = " NOT INDEXED",
  .ids_by_index = ids_by_index,
};
