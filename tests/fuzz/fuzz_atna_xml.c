/* fuzz_atna_xml.c — libFuzzer target for the ATNA XML parser.
 *
 * One parser for the whole run, as a stream driver would use it, so context
 * reuse after errors is fuzzed too. Seeds: fixtures/atna. */
#include "collectors/atna_xml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static pa_rc check(void *ctx, const struct pa_audit *a)
{
  (void)ctx;
  /* touch every string the sink may read */
  size_t n = 0;
  const char *s[] = {a->ev.event_code, a->ev.user_id, a->ev.user_name, a->ev.user_role,
                     a->ev.src_ip, a->ev.src_ae, a->ev.dst_ip, a->ev.dst_ae, a->ev.host,
                     a->ev.patient_id, a->ev.study_uid, a->format, a->event_types,
                     a->event_type_names, a->outcome_desc, a->purpose, a->source_id,
                     a->source_types, a->warnings};
  for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
    n += s[i] ? strlen(s[i]) : 0;
  for (size_t i = 0; i < a->n_participants; i++)
    n += a->participants[i].roles ? strlen(a->participants[i].roles) : 0;
  for (size_t i = 0; i < a->n_objects; i++)
    n += a->objects[i].sop_classes ? strlen(a->objects[i].sop_classes) : 0;
  return n == (size_t)-1 ? PA_DB : PA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static pa_atna *x;
  struct pa_sink sink = {0};
  struct pa_err err;
  struct pa_msg_ctx ctx = {"fuzz", 1, 0, NULL, "UTC"};

  if (!x && pa_atna_new(&x) != PA_OK)
    abort();
  sink.audit = check;
  pa_err_clear(&err);
  (void)pa_atna_parse(x, data, size, &ctx, &sink, &err);
  if (memchr(err.msg, '\0', sizeof err.msg) == NULL)
    abort();
  return 0;
}
