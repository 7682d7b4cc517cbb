/* test_corpus.c — conformance of the audit-message parsers over the shared
 * sample corpus (real published ATNA XML and FHIR AuditEvents).
 *
 * The corpus is not part of the repository: it is read from $PA_CORPUS, else
 * $PA_FIXTURES/../../shared/corpus (in CI the repository is cloned with
 * shared/ beside it). Without it the test is skipped. Every .xml and
 * .json file under atna/ must be parsed or rejected with a reason; files named
 * MALFORMED must be rejected. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "collectors/atna_xml.h"
#include "collectors/fhir_audit.h"
#include "tests/unit/pa_test.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int n_calls;

static pa_rc count_audit(void *ctx, const struct pa_audit *a)
{
  (void)ctx;
  assert_non_null(a->ev.event_code);
  assert_true(a->ev.ts > 0);
  n_calls++;
  return PA_OK;
}

static int ends_with(const char *s, const char *suf)
{
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && !strcmp(s + n - m, suf);
}

static void test_corpus(void **state)
{
  (void)state;
  char dir[1024];
  DIR *d;
  struct dirent *de;
  pa_atna *x;
  struct pa_sink sink = {0};
  int files = 0, parsed = 0, rejected = 0;

  pa_test_corpus_path(dir, sizeof dir, "atna");
  d = opendir(dir);
  if (!d) {
    printf("corpus %s absent: skipped\n", dir);
    skip();
  }
  sink.audit = count_audit;
  assert_int_equal(pa_atna_new(&x), PA_OK);
  while ((de = readdir(d))) {
    int xml = ends_with(de->d_name, ".xml"), json = ends_with(de->d_name, ".json");
    char path[2048];
    size_t n;
    uint8_t *b;
    struct pa_err e;
    struct pa_msg_ctx ctx = {de->d_name, 0, 0, NULL, "UTC", NULL};
    pa_rc rc;
    size_t got = 0;

    if (!xml && !json)
      continue;
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    b = pa_test_slurp(path, &n);
    assert_non_null(b);
    pa_err_clear(&e);
    n_calls = 0;
    if (xml) {
      rc = pa_atna_parse(x, b, n, &ctx, &sink, &e);
      got = rc == PA_OK;
    } else {
      rc = pa_fhir_parse(b, n, &ctx, &sink, &got, &e);
    }
    free(b);
    files++;
    if (rc == PA_OK) {
      parsed++;
      assert_true(got >= 1);
      assert_int_equal(n_calls, (int)got);
      if (strstr(de->d_name, "MALFORMED"))
        fail_msg("%s: parsed, but it is not well-formed", de->d_name);
    } else {
      rejected++;
      assert_int_equal(n_calls, 0);
      assert_true(e.msg[0] != '\0');
      printf("rejected %s: %s: %s\n", de->d_name, pa_strerror(rc), e.msg);
    }
  }
  closedir(d);
  pa_atna_free(x);
  printf("corpus %s: %d files, %d parsed, %d rejected\n", dir, files, parsed, rejected);
  assert_true(files > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_corpus),
  };
  char dir[1024];
  struct stat sb;

  /* Without the corpus there is nothing to test: ctest counts 77 as skipped. */
  pa_test_corpus_path(dir, sizeof dir, "atna");
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
    printf("corpus %s absent: skipped\n", dir);
    return 77;
  }
  return cmocka_run_group_tests(tests, NULL, NULL);
}
