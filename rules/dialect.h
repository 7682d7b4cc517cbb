/* dialect.h — the one seam between the rule compiler and a SQL dialect.
 *
 * The compiler writes standard SQL (CTEs, window functions with RANGE
 * frames, EXISTS) and asks the dialect for the few pieces that differ
 * between engines: the regex operator, CIDR membership, local time of day
 * in the site's zone, JSON aggregation and its reverse, temp tables and
 * index hints. The compiler (compile.c) and the engine's own statements
 * (engine.c: episodes, evidence) write every such piece through it, so no
 * SQL text outside dialect_*.c names a dialect's function. dialect_sqlite.c
 * is the one in use; a PostgreSQL emitter is another file of this shape. */
#ifndef PA_DIALECT_H
#define PA_DIALECT_H

#include "analyzer/buf.h"

enum pa_local_part { PA_LOCAL_MINUTE, PA_LOCAL_DOW, PA_LOCAL_DAY };

struct pa_dialect {
  const char *name;
  /* (value matches the pattern bound as the next '?') */
  pa_rc (*regexp)(struct pa_buf *b, const char *value_sql);
  /* (ip is inside net): both SQL expressions */
  pa_rc (*cidr)(struct pa_buf *b, const char *ip_sql, const char *net_sql);
  /* minutes since local midnight, day of week 0=Sunday, or 'YYYY-MM-DD' */
  pa_rc (*local)(struct pa_buf *b, enum pa_local_part part, const char *ts_sql);
  /* an aggregate of expr into a JSON array text, over the group's rows
   * where filter_sql holds (every row when NULL); "[]" when there is none */
  pa_rc (*json_agg)(struct pa_buf *b, const char *expr_sql, const char *filter_sql);
  /* a FROM item named alias: one row per element of the JSON array text
   * json_sql (an integer array), the element in column alias.value */
  pa_rc (*json_rows)(struct pa_buf *b, const char *json_sql, const char *alias);
  /* the prefix that creates a temp table from a SELECT */
  pa_rc (*temp_as)(struct pa_buf *b, const char *table);
  /* events AS alias, read through its time index (the planner may prefer
   * another index for the row filters, and scan it once per interval) */
  pa_rc (*events_by_time)(struct pa_buf *b, const char *alias);
  /* written right after "events alias" to read the table by a full scan
   * instead of an index; NULL where the planner's statistics decide */
  const char *scan_hint;
  /* the condition "x.id is one of the rows that index idx leads to under
   * filter" (a filter of x's columns): on a read of x with scan_hint, the
   * rows come in the table's order instead of the index's. NULL: none */
  pa_rc (*ids_by_index)(struct pa_buf *b, const char *idx, const char *filter);
};

extern const struct pa_dialect pa_dialect_sqlite;

#endif
