/* test_rule.c — loading rule files (rules/rule): a rule from a buffer is the
 * rule from its file, the size cap, and problems as one line each. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "rules/rule.h"
#include "tests/unit/pa_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The lines a load emits, joined by '\n' in one buffer. */
struct lines {
  char buf[8192];
  size_t len, n;
};

static void keep(void *ctx, const char *line)
{
  struct lines *l = ctx;
  int w = snprintf(l->buf + l->len, sizeof l->buf - l->len, "%s\n", line);
  assert_true(w > 0 && (size_t)w < sizeof l->buf - l->len);
  l->len += (size_t)w;
  l->n++;
}

static char *slurp(const char *path, size_t *len_out)
{
  FILE *f = fopen(path, "rb");
  char *buf;
  long n;
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  assert_true((n = ftell(f)) > 0);
  rewind(f);
  assert_non_null(buf = malloc((size_t)n));
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len_out = (size_t)n;
  return buf;
}

/* A pack rule loaded from its bytes has what the file gives. */
static void test_string_is_file(void **state)
{
  char path[4096];
  size_t len;
  char *json;
  struct lines l = {{0}, 0, 0};
  struct pa_diag d = {keep, &l, 0, 0};
  pa_ruleset *from_file = pa_ruleset_new(), *from_str = pa_ruleset_new();
  const struct pa_rule *a, *b;

  (void)state;
  pa_test_src_path(path, sizeof path, "rules/pack/AC-08.json");
  json = slurp(path, &len);
  assert_int_equal(pa_ruleset_load(from_file, path, 1, &d), PA_OK);
  /* not NUL-terminated: only len bytes are read */
  assert_int_equal(pa_ruleset_load_string(from_str, "<AC-08>", json, len, 1, &d), PA_OK);
  assert_int_equal(d.n_errors, 0);
  assert_int_equal(pa_ruleset_count(from_file), 1);
  assert_int_equal(pa_ruleset_count(from_str), 1);
  a = pa_ruleset_get(from_file, 0);
  b = pa_ruleset_get(from_str, 0);
  assert_string_equal(b->id, "AC-08");
  assert_string_equal(a->id, b->id);
  assert_string_equal(a->kind, b->kind);
  assert_string_equal(a->guideline, b->guideline);
  assert_string_equal(a->file, path);
  assert_string_equal(b->file, "<AC-08>");
  assert_int_equal(b->builtin, 1);
  free(json);
  pa_ruleset_free(from_file);
  pa_ruleset_free(from_str);
}

/* Over the cap is one error, and nothing is parsed. */
static void test_string_cap(void **state)
{
  size_t n = PA_RULE_MAX_FILE + 1;
  char *big = malloc(n);
  struct lines l = {{0}, 0, 0};
  struct pa_diag d = {keep, &l, 0, 0};
  pa_ruleset *rs = pa_ruleset_new();
  char want[128];

  (void)state;
  assert_non_null(big);
  memset(big, ' ', n);
  assert_int_equal(pa_ruleset_load_string(rs, "big.json", big, n, 0, &d), PA_OK);
  assert_int_equal(d.n_errors, 1);
  snprintf(want, sizeof want, "big.json: over %u bytes\n", PA_RULE_MAX_FILE);
  assert_string_equal(l.buf, want);
  assert_int_equal(pa_ruleset_count(rs), 0);
  free(big);
  pa_ruleset_free(rs);
}

/* jansson quotes the bytes near a bad token, a newline included: the
 * problem is still one line, its control bytes written as \xNN. */
static void test_one_line_each(void **state)
{
  static const char json[] = "{\"guidelin[{ }\\\n { }";
  struct lines l = {{0}, 0, 0};
  struct pa_diag d = {keep, &l, 0, 0};
  pa_ruleset *rs = pa_ruleset_new();

  (void)state;
  assert_int_equal(pa_ruleset_load_string(rs, "bad.json", json, sizeof json - 1, 0, &d), PA_OK);
  assert_int_equal(d.n_errors, 1);
  assert_int_equal(l.n, 1);
  assert_string_equal(l.buf, "bad.json: line 2, column 0: invalid escape near "
                             "'\"guidelin[{ }\\\\x0a'\n");
  assert_int_equal(pa_ruleset_count(rs), 0);
  pa_ruleset_free(rs);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_string_is_file),
    cmocka_unit_test(test_string_cap),
    cmocka_unit_test(test_one_line_each),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
