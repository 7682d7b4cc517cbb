/* fuzz_rule.c — libFuzzer target for the rule loader and compiler: the input
 * as one rule file. pa_ruleset_load_string validates it and compiles it once
 * with the defaults; a rule that loads is compiled again with the defaults
 * and over a closed period with threshold overrides, as `check --policy`
 * does, so the override and threshold paths run too.
 *
 * A rule that loads must give SQL the engine can run: each statement is
 * prepared on an empty store (a temporary file) readied by
 * pa_engine_attach, must have as many '?' as binds, and runs to the end.
 * Seeds: every rule file of rules/pack. */
#include "analyzer/store.h"
#include "rules/compile.h"
#include "rules/engine.h"
#include "rules/rule.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static pa_store *store;
static sqlite3 *db;
static char db_path[64];

/* The store is a file (pa_store_open takes a path): a fresh one under /tmp,
 * removed at exit. */
static void rm_db(void)
{
  static const char *const sfx[] = {"", "-wal", "-shm"};
  char p[80];
  pa_store_close(store);
  for (size_t i = 0; i < sizeof sfx / sizeof sfx[0]; i++) {
    snprintf(p, sizeof p, "%s%s", db_path, sfx[i]);
    unlink(p);
  }
}

static void init(void)
{
  struct pa_err err;
  int fd;

  pa_err_clear(&err);
  snprintf(db_path, sizeof db_path, "/tmp/pa_fuzz_rule_XXXXXX");
  if ((fd = mkstemp(db_path)) < 0) {
    perror("fuzz_rule: mkstemp");
    abort();
  }
  close(fd);
  unlink(db_path);
  if (pa_store_open(db_path, &store, &err) != PA_OK ||
      pa_engine_attach(store, NULL, &err) != PA_OK) {
    fprintf(stderr, "fuzz_rule: %s\n", err.msg);
    abort();
  }
  db = pa_store_handle(store);
  atexit(rm_db);
}

static void must_run(const struct pa_sqlstmt *st)
{
  sqlite3_stmt *q = NULL;
  int rc;

  if (sqlite3_prepare_v2(db, st->sql, -1, &q, NULL) != SQLITE_OK) {
    fprintf(stderr, "fuzz_rule: %s\n  in: %s\n", sqlite3_errmsg(db), st->sql);
    abort();
  }
  if ((size_t)sqlite3_bind_parameter_count(q) != st->n_binds) {
    fprintf(stderr, "fuzz_rule: %d '?' for %zu binds in: %s\n", sqlite3_bind_parameter_count(q),
            st->n_binds, st->sql);
    abort();
  }
  for (size_t i = 0; i < st->n_binds; i++) {
    const struct pa_bind *b = &st->binds[i];
    int k = (int)i + 1;
    rc = b->type == PA_BIND_INT    ? sqlite3_bind_int64(q, k, b->i)
         : b->type == PA_BIND_REAL ? sqlite3_bind_double(q, k, b->d)
                                   : sqlite3_bind_text(q, k, b->s, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK)
      abort();
  }
  while ((rc = sqlite3_step(q)) == SQLITE_ROW)
    ;
  if (rc != SQLITE_DONE) {
    fprintf(stderr, "fuzz_rule: %s\n  in: %s\n", sqlite3_errmsg(db), st->sql);
    abort();
  }
  sqlite3_finalize(q);
}

static void compile_and_run(const struct pa_rule *r, const struct pa_compile_opts *o,
                            struct pa_diag *d)
{
  struct pa_compiled c;
  if (pa_rule_compile(r, o, &c, d) == PA_OK) {
    for (size_t i = 0; i < c.n_stmts; i++)
      must_run(&c.stmts[i]);
    for (size_t i = 0; i < c.n_decide; i++)
      must_run(&c.decide[i]);
  }
  pa_compiled_cleanup(&c);
}

/* A policy's thresholds, fixed per name: none for some, a count ("3") for
 * some, a duration ("10m") for the rest, so a name meets each kind of
 * override whatever its declared type. */
static const char *threshold_override(void *ctx, const char *rule_id, const char *name)
{
  static const char *const texts[] = {NULL, "3", "10m"};
  unsigned h = 0;
  (void)ctx;
  (void)rule_id;
  for (const char *s = name; *s; s++)
    h = h * 31 + (unsigned char)*s;
  return texts[h % 3];
}

/* Every problem is one line (rule.h), whatever the input. */
static void count_line(void *ctx, const char *line)
{
  if (strchr(line, '\n') || strchr(line, '\r'))
    abort();
  *(size_t *)ctx += strlen(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  size_t chars = 0;
  struct pa_diag d = {count_line, &chars, 0, 0};
  pa_ruleset *rs;

  if (!db)
    init();
  if (!(rs = pa_ruleset_new()))
    return 0;
  if (pa_ruleset_load_string(rs, "fuzz.json", (const char *)data, size, 0, &d) == PA_OK &&
      pa_ruleset_count(rs) == 1) {
    struct pa_compile_opts dflt = {0}, o = {0};
    o.param = threshold_override;
    o.since_us = INT64_C(1767193200000000); /* 2026-01-01T00:00+09:00 */
    o.until_us = INT64_C(1769871600000000); /* a month later */
    o.data_end_us = INT64_C(1769785200000000);
    compile_and_run(pa_ruleset_get(rs, 0), &dflt, &d);
    compile_and_run(pa_ruleset_get(rs, 0), &o, &d);
  }
  pa_ruleset_free(rs);
  return 0;
}
