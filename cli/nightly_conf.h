/* nightly_conf.h — the config of `pacsaudit nightly` (docs/nightly.md).
 *
 * One JSON object; its keys are a contract that other tools write. Paths
 * that are not absolute are read from the config file's folder. Problems
 * are written to msgs, one line each, naming the file and the key. */
#ifndef PA_NIGHTLY_CONF_H
#define PA_NIGHTLY_CONF_H

#include "reports/report.h"

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#define PA_NIGHTLY_MAX_LIST 64 /* inputs, rule folders */

struct pa_nightly_conf {
  const char *path; /* the config file, for messages (borrowed) */
  FILE *msgs;       /* where problems are said (borrowed) */
  char *dir;        /* its folder: relative paths start there */
  char *db, *policy, *lock, *reports_dir;
  const char *lang; /* "ja" or "en" (borrowed from root) */
  char *inputs[PA_NIGHTLY_MAX_LIST];
  size_t n_inputs;
  char *rules[PA_NIGHTLY_MAX_LIST];
  size_t n_rules;
  enum pa_report_format formats[8];
  const char *format_names[8]; /* borrowed from root */
  size_t n_formats;
  long long raw_days; /* 0: keep raw forever */
  char *seal_key, *seal_out; /* seal: both set, or neither */
  int seal_syslog;
  json_t *root;
};

/* Reads the config file at path into *c: 0, or -1 with the reasons on
 * msgs. *c is the caller's, cleaned with pa_nightly_conf_free either way. */
int pa_nightly_conf_load(struct pa_nightly_conf *c, const char *path, FILE *msgs);
/* The same from len bytes of text, as if read from path. */
int pa_nightly_conf_parse(struct pa_nightly_conf *c, const char *path, const char *text,
                          size_t len, FILE *msgs);
void pa_nightly_conf_free(struct pa_nightly_conf *c);

#endif
