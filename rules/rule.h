/* rule.h — rules as data: load and validate the JSON rule files.
 *
 * A rule file holds one rule (docs/rules.md): its id, bilingual title and
 * message, guideline citations, strength, severity, kind, the kind's
 * parameters and its own test cases. Loading checks the shape of every key;
 * compile.c checks the predicates while it turns them into SQL, so `rules
 * lint` runs both. Every problem is reported as one line naming the file,
 * the JSON path and the cause. Rules sit between the store's tables and
 * the engine: they know nothing of input formats. */
#ifndef PA_RULE_H
#define PA_RULE_H

#include "analyzer/err.h"

#include <jansson.h>
#include <stddef.h>

/* Where problems go: one line each ("file: path: cause"). */
struct pa_diag {
  void (*emit)(void *ctx, const char *line);
  void *ctx;
  size_t n_errors, n_warnings;
};
/* Formats one line and hands it to d->emit (counted as an error or warning). */
void pa_diag_error(struct pa_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pa_diag_warn(struct pa_diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One loaded rule. Strings are borrowed from doc and live as long as the rule. */
struct pa_rule {
  char *file;            /* owned: where it was loaded from */
  json_t *doc;           /* owned: the whole document */
  const char *id, *kind, *strength, *severity;
  const char *title_en, *title_ja, *message_en, *message_ja;
  char *guideline;       /* owned: the citations as a JSON array text */
  int builtin;           /* 1 when it comes from the built-in pack */
};

typedef struct pa_ruleset pa_ruleset;

/* An empty set; NULL when out of memory. Free with pa_ruleset_free. */
pa_ruleset *pa_ruleset_new(void);
void pa_ruleset_free(pa_ruleset *rs);

/* Loads one rule file (or every *.json of a folder, in name order) into rs.
 * A file that does not validate is reported through d and skipped; the
 * others still load. A rule whose id is already in rs replaces it (a site
 * rule overrides the pack's), with a warning. Returns PA_OK (check
 * d->n_errors), PA_IO when path cannot be read, PA_NOMEM. */
pa_rc pa_ruleset_load(pa_ruleset *rs, const char *path, int builtin, struct pa_diag *d);

/* The same for one rule document json[0..len) (need not be NUL-terminated,
 * at most PA_RULE_MAX_FILE bytes), named label in messages and in the
 * rule's file (e.g. a path or "<stdin>"). Returns PA_OK (check d->n_errors),
 * PA_NOMEM. */
pa_rc pa_ruleset_load_string(pa_ruleset *rs, const char *label, const char *json, size_t len,
                             int builtin, struct pa_diag *d);

/* Rules in id order; borrowed, valid while rs lives. */
size_t pa_ruleset_count(const pa_ruleset *rs);
const struct pa_rule *pa_ruleset_get(const pa_ruleset *rs, size_t i);
const struct pa_rule *pa_ruleset_find(const pa_ruleset *rs, const char *id);

/* Validates the rule document doc (from file) and fills r's borrowed fields.
 * Problems go to d; PA_RULE when any was found. */
pa_rc pa_rule_check(struct pa_rule *r, struct pa_diag *d);

#endif
