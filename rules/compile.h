/* compile.h — a rule to SQL.
 *
 * A rule compiles once, for one run, into a few SQL statements that the
 * engine runs in order. Together they fill the temp table r_hits(part,
 * subj, ts, eid): the rows that break the rule, with the subject each is
 * about. The engine then cuts the hits of a subject into episodes and
 * keeps them as findings. Column names come only from the tables' known
 * columns; every value (a literal of the rule, a threshold, the period) is
 * a bound parameter. What is particular to one SQL dialect is behind
 * struct pa_dialect (dialect.h). */
#ifndef PA_COMPILE_H
#define PA_COMPILE_H

#include "rules/dialect.h"
#include "rules/rule.h"

#include "analyzer/limits.h"

#include <stdint.h>

enum pa_bind_type { PA_BIND_INT, PA_BIND_REAL, PA_BIND_TEXT };

struct pa_bind {
  enum pa_bind_type type;
  int64_t i;
  double d;
  char *s; /* owned */
};

struct pa_sqlstmt {
  char *sql;             /* owned */
  struct pa_bind *binds; /* owned, n_binds of them, in the order of the '?' */
  size_t n_binds;
  struct pa_read *read;  /* owned; NULL: the statement reads no rule rows of events */
};

/* A statement's read of a rule's rows from events (as x), for the engine's
 * choice between the index the planner picks and a full scan of the table
 * (engine.c). Offsets are into the statement's sql. */
#define PA_READ_OTHER_COL 31
struct pa_read {
  size_t scan_at;                /* right after "events x": where a scan hint goes */
  size_t filter_from, filter_to; /* the filter's text */
  size_t filter_bind;            /* the bind of the filter's first '?' */
  size_t n_terms;
  struct {
    size_t from, to;
    uint32_t cols; /* bit i: it reads pa_event_cols[i]; bit PA_READ_OTHER_COL: some other name */
  } term[PA_RULE_MAX_READ_TERMS]; /* the parts ANDed at the filter's top */
  int sortable;                  /* an ORDER BY may end the statement: the engine may
                                    then read by a scan, or fetch the rows an index
                                    leads to in the table's order, and store them in
                                    order (engine.c, read_of) */
  const char *order;             /* that order: what the statements after it sort the
                                    rows by (static text), NULL the index's own */
};

/* The columns of events a rule may name, NULL-ended. */
extern const char *const pa_event_cols[];

/* A threshold in force: its name, its value as the rule's unit reads it,
 * and whether the site's policy set it. */
struct pa_param_val {
  char *name;   /* owned */
  char *text;   /* owned: as shown, e.g. "10m", "5" */
  int from_policy;
};

struct pa_compiled {
  const struct pa_rule *rule;   /* borrowed */
  struct pa_sqlstmt *stmts;     /* owned: run in order; they fill r_hits */
  size_t n_stmts;
  struct pa_sqlstmt decide[PA_RULE_MAX_DECIDE]; /* owned: each one row, one column: 1
                                   when the data holds what the rule needs over the period */
  const char *why_en[PA_RULE_MAX_DECIDE], *why_ja[PA_RULE_MAX_DECIDE]; /* borrowed: what
                                   is missing when decide[i] says 0 */
  size_t n_decide;
  int64_t gap_us;               /* a quiet time longer than this starts a new episode */
  size_t n_parts;               /* 1, or the rule's "parts": each its own findings */
  int64_t part_gap_us[PA_RULE_MAX_PARTS];    /* gap_us of each part */
  const char *part_label_en[PA_RULE_MAX_PARTS], *part_label_ja[PA_RULE_MAX_PARTS];
                                /* borrowed: what a part checks, shown with its findings */
  const char *evidence[PA_RULE_MAX_PARTS]; /* static, per part: what r_hits.eid names,
                                              "events", "dimse" or "associations" */
  struct pa_param_val *params;  /* owned */
  size_t n_params;
};

/* Threshold overrides: the text written in the policy for (rule, name), or
 * NULL. For names "require.X" the rule id is "require". */
typedef const char *(*pa_param_fn)(void *ctx, const char *rule_id, const char *name);

struct pa_compile_opts {
  const struct pa_dialect *dialect; /* NULL: SQLite */
  pa_param_fn param;                /* may be NULL: the rule's defaults */
  void *param_ctx;
  int64_t since_us, until_us;       /* the period; 0 = open */
  int64_t data_end_us;              /* the newest time the data covers (absence and gap
                                       judge up to it); 0: until_us */
};

/* Compiles r. Problems go to d, naming the file and JSON path; PA_RULE if
 * any. out is the caller's, cleaned with pa_compiled_cleanup (also on
 * failure). */
pa_rc pa_rule_compile(const struct pa_rule *r, const struct pa_compile_opts *o,
                      struct pa_compiled *out, struct pa_diag *d);
void pa_compiled_cleanup(struct pa_compiled *c);

/* Reads a duration "90s", "10m", "1h", "1d" (or a plain number of seconds)
 * into µs. PA_MALFORMED when it does not parse or is negative. */
pa_rc pa_rule_duration(const char *text, int64_t *us_out);

#endif
