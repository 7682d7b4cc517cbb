/* fuzz_fhir_audit.c — libFuzzer target for the FHIR AuditEvent parser: the
 * input as one JSON text (NDJSON lines are split by the driver, each one such
 * a text). Seeds: fixtures/fhir. */
#include "collectors/fhir_audit.h"
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
  struct pa_sink sink = {0};
  struct pa_err err;
  struct pa_msg_ctx ctx = {"fuzz", 1, 0, NULL, "UTC", NULL};
  size_t n = 0;

  sink.audit = check;
  pa_err_clear(&err);
  (void)pa_fhir_parse(data, size, &ctx, &sink, &n, &err);
  return 0;
}
