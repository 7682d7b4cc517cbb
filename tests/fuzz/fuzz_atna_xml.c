/* fuzz_atna_xml.c — libFuzzer target for the ATNA XML parser.
 *
 * One parser for the whole run, as a stream driver would use it, so context
 * reuse after errors is fuzzed too. Seeds: fixtures/atna. */
#include "collectors/atna_xml.h"
#include "tests/unit/pa_test.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pa_rc check(void *ctx, const struct pa_audit *a)
{
  (void)ctx;
  /* touch every string the sink may read */
  return pa_test_audit_strlen(a) == (size_t)-1 ? PA_DB : PA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static pa_atna *x;
  struct pa_sink sink = {0};
  struct pa_err err;
  struct pa_msg_ctx ctx = {"fuzz", 1, 0, NULL, "UTC", NULL};

  if (!x && pa_atna_new(&x) != PA_OK)
    abort();
  sink.audit = check;
  pa_err_clear(&err);
  (void)pa_atna_parse(x, data, size, &ctx, &sink, &err);
  if (memchr(err.msg, '\0', sizeof err.msg) == NULL)
    abort();
  return 0;
}
