/* test_fhir_audit.c — the FHIR AuditEvent parser over fixtures/fhir: R4
 * login/query/read/consent-deny, R5 break-glass, STU3, Bundle, NDJSON, and
 * rejected input (wrong types, missing fields, duplicates, depth, size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "collectors/fhir_audit.h"
#include "tests/unit/pa_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NR 4
struct rec {
  int calls;
  struct pa_test_audit r[NR];
};

static pa_rc rec_audit(void *ctx, const struct pa_audit *a)
{
  struct rec *rr = ctx;
  if (rr->calls >= NR)
    return PA_OK;
  assert_string_equal(a->ev.source, "fhir");
  pa_test_audit_copy(&rr->r[rr->calls++], a);
  return PA_OK;
}

static const struct pa_msg_ctx CTX = {"test.json", 5, 0, NULL, "Asia/Tokyo", NULL};

static pa_rc parse_buf(const uint8_t *p, size_t n, struct rec *r, size_t *n_out, struct pa_err *e)
{
  struct pa_sink s = {0};
  memset(r, 0, sizeof *r);
  s.ctx = r;
  s.audit = rec_audit;
  pa_err_clear(e);
  return pa_fhir_parse(p, n, &CTX, &s, n_out, e);
}

static pa_rc parse_file(const char *rel, struct rec *r, size_t *n_out, struct pa_err *e)
{
  size_t n;
  uint8_t *b = pa_test_fixture(rel, &n);
  assert_non_null(b);
  pa_rc rc = parse_buf(b, n, r, n_out, e);
  free(b);
  return rc;
}

static void test_r4_login(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/r4-login.json", &rr, &n, &e), PA_OK);
  assert_int_equal(n, 1);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->format, "fhir-r4");
  assert_string_equal(r->code, "DCM:110114");
  assert_string_equal(r->types, "110122");
  assert_string_equal(r->event_type, "DCM:110122");
  assert_int_equal(r->action, 'E');
  assert_int_equal(r->outcome, 0);
  assert_int_equal(r->ts, 1795137330000000LL);
  assert_string_equal(r->user_id, "dr.tanaka");
  assert_string_equal(r->user_name, "Tanaka Ryoko");
  assert_string_equal(r->user_role, "Radiologist");
  assert_string_equal(r->src_ip, "192.0.2.33");
  assert_string_equal(r->source_id, "PACS01");
  assert_string_equal(r->host, "PACS01");
  assert_string_equal(r->source_site, "EXAMPLE-HOSP");
  assert_string_equal(r->source_types, "4");
  assert_int_equal(r->p_type[0], 1);
  assert_int_equal(r->p_type[1], 2);
  assert_string_equal(r->warnings, "(null)");
}

static void test_r4_query(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/r4-query.json", &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->code, "FHIR:rest");
  assert_string_equal(r->types, "search-type,ITI-67");
  assert_string_equal(r->event_type, "search-type"); /* the first, as sent */
  /* period.start (zone-less: site zone) wins over recorded */
  assert_int_equal(r->ts, 1795137330000000LL);
  assert_string_equal(r->user_id, "dr.tanaka");
  assert_string_equal(r->src_ip, "192.0.2.34");
  assert_string_equal(r->src_ae, "WS_RAD1");
  assert_string_equal(r->dst_ip, "(null)"); /* a URI is not an address */
  assert_string_equal(r->patient, "p123");
  assert_string_equal(r->host, "Device/pacs");
  assert_int_equal(r->n_objs, 2);
}

static void test_r4_read(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/r4-read.json", &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->code, "FHIR:rest");
  assert_string_equal(r->types, "read");
  assert_int_equal(r->action, 'R');
  assert_string_equal(r->patient, "P000123");
  assert_string_equal(r->study, "1.2.392.200036.9116.2.5.1.37.2418725938.1");
  assert_string_equal(r->source_id, "PACS01");
}

static void test_r4_consent_deny(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/r4-consent-deny.json", &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->code, "DCM:110113");
  assert_string_equal(r->types, "AuthZ-Consent");
  assert_int_equal(r->outcome, 8);
  assert_string_equal(r->outcome_desc, "Consent denied");
  assert_string_equal(r->user_id, "Practitioner/pr1");
  assert_string_equal(r->purpose, "TREAT");
  assert_string_equal(r->patient, "p123"); /* Patient/p123/_history/2 */
}

static void test_r5_breakglass(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/r5-breakglass.json", &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->format, "fhir-r5");
  assert_string_equal(r->code, "DCM:110113");
  assert_string_equal(r->types, "110127");
  assert_int_equal(r->outcome, 0);
  assert_string_equal(r->outcome_desc, "Break-glass declared");
  assert_int_equal(r->ts, 1795137719000000LL); /* occurredDateTime 10:21:59+09:00 */
  assert_string_equal(r->user_id, "er-emergency");
  assert_string_equal(r->src_ip, "192.0.2.70");
  assert_string_equal(r->purpose, "ETREAT");
  assert_string_equal(r->patient, "p999");
  assert_string_equal(r->source_site, "ER");
  assert_string_equal(r->source_types, "4");
}

static void test_stu3(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  assert_int_equal(parse_file("fhir/stu3-login.json", &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_string_equal(r->format, "fhir-stu3");
  assert_string_equal(r->code, "DCM:110114"); /* old nema.org/dicom/dicm system */
  assert_string_equal(r->types, "110123");
  assert_string_equal(r->event_type, "DCM:110123"); /* a logout */
  assert_string_equal(r->user_id, "k.sato");
  assert_string_equal(r->user_name, "Sato Kenji");
  assert_string_equal(r->source_id, "EHR");
}

static void test_bundle(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n, skipped, len;
  uint8_t *b = pa_test_fixture("fhir/bundle.json", &len);
  assert_non_null(b);
  struct pa_sink s = {0};
  memset(&rr, 0, sizeof rr);
  s.ctx = &rr;
  s.audit = rec_audit;
  assert_int_equal(pa_fhir_parse_ex(b, len, &CTX, &s, &n, &skipped, &e), PA_OK);
  assert_int_equal(n, 2);
  assert_int_equal(skipped, 1);
  assert_string_equal(rr.r[0].code, "DCM:110114");
  assert_string_equal(rr.r[1].code, "FHIR:rest");
  free(b);

  /* a bad entry: the good ones are still delivered, the bad one named */
  static const char bad[] =
    "{\"resourceType\":\"Bundle\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"AuditEvent\",\"type\":{\"code\":\"110112\"},"
    "\"recorded\":\"2026-11-20T01:15:30Z\",\"agent\":[]}},"
    "{\"resource\":{\"resourceType\":\"AuditEvent\",\"type\":{\"code\":\"110112\"},\"agent\":[]}},"
    "{\"resource\":{\"resourceType\":\"AuditEvent\",\"type\":{\"code\":\"110106\"},"
    "\"recorded\":\"2026-11-20T01:15:30Z\",\"agent\":[{\"who\":{\"display\":\"x\"},\"requestor\":true}]}}]}";
  assert_int_equal(parse_buf((const uint8_t *)bad, sizeof bad - 1, &rr, &n, &e), PA_MALFORMED);
  assert_int_equal(n, 2);
  assert_int_equal(e.item, 2);
  assert_string_equal(e.msg, "fhir.recorded: missing");
  assert_string_equal(rr.r[0].code, "DCM:110112");
  assert_string_equal(rr.r[1].code, "DCM:110106");
  assert_non_null(strstr(rr.r[0].warnings, "fhir.agent: empty"));
}

struct bad_case {
  const char *file;
  pa_rc rc;
  const char *prefix;
};

static void test_bad_files(void **state)
{
  (void)state;
  static const struct bad_case B[] = {
    {"fhir/bad/agent-not-array.json", PA_MALFORMED, "fhir.agent: expected an array"},
    {"fhir/bad/no-agent.json", PA_MALFORMED, "fhir.agent: missing"},
    {"fhir/bad/no-recorded.json", PA_MALFORMED, "fhir.recorded: missing"},
    {"fhir/bad/bad-recorded.json", PA_MALFORMED, "fhir.recorded: not a time"},
    {"fhir/bad/recorded-number.json", PA_MALFORMED, "fhir.recorded: expected a string"},
    {"fhir/bad/type-string.json", PA_MALFORMED, "fhir.type: expected a Coding"},
    {"fhir/bad/no-type.json", PA_MALFORMED, "fhir.type: missing"},
    {"fhir/bad/wrong-resource.json", PA_MALFORMED, "fhir.resourceType: 'Patient'"},
    {"fhir/bad/not-object.json", PA_MALFORMED, "fhir.resourceType: not a JSON object"},
    {"fhir/bad/truncated.json", PA_MALFORMED, "fhir.json: "},
    {"fhir/bad/duplicate-keys.json", PA_MALFORMED, "fhir.json: "},
    {"fhir/bad/dstu2.json", PA_MALFORMED, "fhir.version: DSTU2"},
    {"fhir/bad/too-deep.json", PA_MALFORMED, "fhir.json: "},
  };
  for (size_t i = 0; i < sizeof B / sizeof B[0]; i++) {
    struct rec rr;
    struct pa_err e;
    size_t n = 99;
    clock_t t0 = clock();
    pa_rc rc = parse_file(B[i].file, &rr, &n, &e);
    if (rc != B[i].rc || strncmp(e.msg, B[i].prefix, strlen(B[i].prefix)) != 0)
      fail_msg("%s: rc %d '%s'", B[i].file, rc, e.msg);
    assert_int_equal(n, 0);
    assert_int_equal(rr.calls, 0);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
  }
}

static void test_wrong_optional_types(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n;
  /* outcome as a number: taken, with a warning; other wrong types: warnings */
  static const char m[] =
    "{\"resourceType\":\"AuditEvent\",\"type\":{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\","
    "\"code\":\"110112\"},\"recorded\":\"2026-11-20T01:15:30Z\",\"outcome\":4,\"action\":7,"
    "\"subtype\":{\"code\":\"x\"},\"agent\":[1,{\"who\":\"bob\",\"requestor\":\"yes\","
    "\"network\":[],\"altId\":false}],\"entity\":{\"what\":1},\"source\":[]}";
  assert_int_equal(parse_buf((const uint8_t *)m, sizeof m - 1, &rr, &n, &e), PA_OK);
  struct pa_test_audit *r = &rr.r[0];
  assert_int_equal(r->outcome, 4);
  assert_int_equal(r->action, 0);
  assert_int_equal(r->n_parts, 1);
  assert_int_equal(r->n_objs, 0);
  assert_string_equal(r->user_id, "(null)");
  assert_non_null(strstr(r->warnings, "fhir.outcome: a number"));
  assert_non_null(strstr(r->warnings, "fhir.agent[0]: expected an object"));
  assert_non_null(strstr(r->warnings, "requestor: expected a boolean"));
}

/* One patient, however the reference is written: relative, absolute with a
 * version, or conditional on an identifier. */
static void test_patient_references(void **state)
{
  static const char *const refs[] = {
    "Patient/p1", "https://ehr.example/fhir/Patient/p1", "https://ehr.example/fhir/Patient/p1/_history/3",
    "Patient?identifier=urn:oid:1.2.3|p1", "Patient?identifier=p1&active=true",
  };
  (void)state;
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    char m[512];
    struct rec rr;
    struct pa_err e;
    size_t n;
    int len = snprintf(m, sizeof m,
                       "{\"resourceType\":\"AuditEvent\",\"type\":{\"code\":\"110110\"},"
                       "\"recorded\":\"2026-11-20T01:15:30Z\",\"agent\":[{\"who\":{\"display\":\"u\"},"
                       "\"requestor\":true}],\"entity\":[{\"what\":"
                       "{\"reference\":\"%s\"},\"role\":{\"code\":\"1\"}}]}",
                       refs[i]);
    assert_int_equal(parse_buf((const uint8_t *)m, (size_t)len, &rr, &n, &e), PA_OK);
    assert_string_equal(rr.r[0].patient, "p1");
  }
}

static void test_deep_and_big(void **state)
{
  (void)state;
  struct rec rr;
  struct pa_err e;
  size_t n, len;
  uint8_t *b = pa_test_fixture("fhir/bad/deep-nesting.json", &len);
  assert_non_null(b);
  /* 1000 levels are within jansson's depth; the resource still lacks fields */
  assert_int_equal(parse_buf(b, len, &rr, &n, &e), PA_MALFORMED);
  assert_string_equal(e.msg, "fhir.type: missing");
  free(b);

  len = PA_MAX_FHIR_MSG + 1;
  b = malloc(len);
  assert_non_null(b);
  memset(b, ' ', len);
  b[0] = '{';
  b[len - 1] = '}';
  assert_int_equal(parse_buf(b, len, &rr, &n, &e), PA_LIMIT);
  assert_non_null(strstr(e.msg, "fhir.size"));
  free(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_r4_login),
    cmocka_unit_test(test_r4_query),
    cmocka_unit_test(test_r4_read),
    cmocka_unit_test(test_r4_consent_deny),
    cmocka_unit_test(test_r5_breakglass),
    cmocka_unit_test(test_stu3),
    cmocka_unit_test(test_bundle),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_wrong_optional_types),
    cmocka_unit_test(test_patient_references),
    cmocka_unit_test(test_deep_and_big),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
