/* test_atna_xml.c — the ATNA XML parser over fixtures/atna: every DICOM event
 * id of the guideline catalogue in both spellings, the corpus pitfalls, and
 * hostile input (not well-formed, entities, depth, size). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "analyzer/limits.h"
#include "analyzer/tm.h"
#include "collectors/atna_xml.h"
#include "tests/unit/pa_test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a sink that copies what it gets ---- */

static pa_rc rec_audit(void *ctx, const struct pa_audit *a)
{
  assert_string_equal(a->ev.source, "atna");
  pa_test_audit_copy(ctx, a);
  return PA_OK;
}

static pa_atna *X;
static const struct pa_msg_ctx CTX = {"test.xml", 77, 1795137335000000LL, NULL, "Asia/Tokyo", NULL};

static pa_rc parse_buf(const uint8_t *p, size_t n, struct pa_test_audit *r, struct pa_err *e)
{
  struct pa_sink s = {0};
  memset(r, 0, sizeof *r);
  s.ctx = r;
  s.audit = rec_audit;
  pa_err_clear(e);
  return pa_atna_parse(X, p, n, &CTX, &s, e);
}

static pa_rc parse_file(const char *rel, struct pa_test_audit *r, struct pa_err *e)
{
  size_t n;
  uint8_t *b = pa_test_fixture(rel, &n);
  assert_non_null(b);
  pa_rc rc = parse_buf(b, n, r, e);
  free(b);
  return rc;
}

static int setup(void **state)
{
  (void)state;
  return pa_atna_new(&X) == PA_OK ? 0 : -1;
}

static int teardown(void **state)
{
  (void)state;
  pa_atna_free(X);
  X = NULL;
  return 0;
}

/* ---- the guideline catalogue, both spellings ---- */

struct gl_case {
  const char *base;  /* fixtures/atna/<base>.<spelling>.xml */
  const char *code;
  const char *types;
  char action;
  int outcome;
  int access;        /* with patient, source and destination AEs */
  int study;         /* with the study object */
};

static const struct gl_case GL[] = {
  {"110100-110120", "DCM:110100", "110120", 'E', 0, 0, 0},
  {"110101", "DCM:110101", "(null)", 'R', 0, 0, 0},
  {"110103", "DCM:110103", "(null)", 'R', 0, 1, 1},
  {"110104", "DCM:110104", "(null)", 'C', 0, 1, 1},
  {"110106", "DCM:110106", "(null)", 'R', 0, 1, 1},
  {"110107", "DCM:110107", "(null)", 'C', 0, 1, 1},
  {"110110", "DCM:110110", "(null)", 'U', 0, 1, 0},
  {"110112", "DCM:110112", "(null)", 'E', 0, 1, 0},
  {"110113-110126-fail", "DCM:110113", "110126", 'E', 4, 0, 0},
  {"110113-110127", "DCM:110113", "110127", 'E', 0, 0, 0},
  {"110113-110138", "DCM:110113", "110138", 'E', 0, 0, 0},
  {"110113-110133", "DCM:110113", "110133", 'E', 0, 0, 0},
  {"110113-110136", "DCM:110113", "110136", 'E', 0, 0, 0},
  {"110113-110137", "DCM:110113", "110137", 'E', 0, 0, 0},
  {"110113-110139", "DCM:110113", "110139", 'E', 0, 0, 0},
  {"110113-110140", "DCM:110113", "110140", 'E', 0, 0, 0},
  {"110114-110122", "DCM:110114", "110122", 'E', 0, 0, 0},
  {"110114-110123", "DCM:110114", "110123", 'E', 0, 0, 0},
  {"110114-110122-fail", "DCM:110114", "110122", 'E', 4, 0, 0},
};

static void test_guideline_events(void **state)
{
  (void)state;
  static const char *const sp[] = {"dicom", "rfc3881"};
  const int64_t when = 1795137330123000LL; /* 2026-11-20T01:15:30.123Z */

  for (size_t i = 0; i < sizeof GL / sizeof GL[0]; i++) {
    for (int s = 0; s < 2; s++) {
      char rel[128];
      struct pa_test_audit r;
      struct pa_err e;
      const struct gl_case *c = &GL[i];

      snprintf(rel, sizeof rel, "atna/%s.%s.xml", c->base, sp[s]);
      if (parse_file(rel, &r, &e) != PA_OK)
        fail_msg("%s: %s", rel, e.msg);
      assert_int_equal(r.calls, 1);
      assert_string_equal(r.code, c->code);
      assert_string_equal(r.system, "DCM");
      assert_string_equal(r.types, c->types);
      assert_string_equal(r.format, s ? "rfc3881-xml" : "dicom-xml");
      assert_int_equal(r.action, c->action);
      assert_int_equal(r.outcome, c->outcome);
      /* zoned in the DICOM files, zone-less (read in Asia/Tokyo) in RFC 3881 */
      assert_int_equal(r.ts, when);
      assert_int_equal(r.received_ts, CTX.received_ts);
      assert_int_equal(r.raw_id, 77);
      assert_string_equal(r.origin, "test.xml");
      assert_string_equal(r.user_id, "dr.tanaka");
      assert_string_equal(r.user_name, "Tanaka Ryoko");
      assert_string_equal(r.user_role, "Radiologist");
      assert_string_equal(r.host, "PACS01");
      assert_string_equal(r.source_id, "PACS01");
      assert_string_equal(r.source_site, "EXAMPLE-HOSP");
      assert_string_equal(r.source_types, "4");
      assert_string_equal(r.warnings, "(null)");
      assert_int_equal(r.p_req[0], 1);
      assert_int_equal(r.p_req[1], 0);
      if (c->access) {
        assert_string_equal(r.patient, "P000123");
        assert_string_equal(r.o_ns[0], "HOSP");
        assert_string_equal(r.o_uni[0], "1.2.392.200119.1");
        assert_string_equal(r.o_name[0], "YAMADA^TARO");
        assert_string_equal(r.src_ip, "192.0.2.34");
        assert_string_equal(r.src_ae, "WS_RAD1");
        assert_string_equal(r.dst_ip, "192.0.2.2");
        assert_string_equal(r.dst_ae, "PACS"); /* first of AETITLES=PACS;PACS_Q */
      } else {
        assert_string_equal(r.patient, "(null)");
        assert_string_equal(r.src_ip, "192.0.2.33"); /* the requestor's */
        assert_string_equal(r.src_ae, "(null)");
        assert_string_equal(r.dst_ip, "(null)");
      }
      if (c->study) {
        assert_string_equal(r.study, "1.2.392.200036.9116.2.5.1.37.2418725938.1");
        assert_int_equal(r.object_count, 122);
        assert_string_equal(r.o_acc[1], "A2026-0042");
        assert_int_equal(r.o_n[1], 122);
        assert_string_equal(r.o_sops[1], s ? "1.2.840.10008.5.1.4.1.1.2=120,1.2.840.10008.5.1.4.1.1.7=2"
                                           : "1.2.840.10008.5.1.4.1.1.2=120,1.2.840.10008.5.1.4.1.1.7=2");
        assert_string_equal(r.o_desc[1], s ? "CT chest" : "(null)");
      } else {
        assert_string_equal(r.study, "(null)");
        assert_int_equal(r.object_count, -1);
      }
      if (c->outcome)
        assert_string_equal(r.outcome_desc, "Invalid credentials");
    }
  }
}

/* ---- pitfalls ---- */

static void test_dcm4chee_login_bom(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  assert_int_equal(parse_file("atna/dcm4chee-login-in-eventid.xml", &r, &e), PA_OK);
  assert_string_equal(r.code, "DCM:110114");
  assert_string_equal(r.display, "User Authentication");
  assert_string_equal(r.types, "110122");
  assert_string_equal(r.type_names, "Login");
  assert_int_equal(r.outcome, 4);
  assert_string_equal(r.user_id, "admin"); /* UserIsRequestor="TRUE" */
  assert_int_equal(r.p_req[1], 0);          /* "False" */
  assert_string_equal(r.src_ip, "192.0.2.40");
  assert_string_equal(r.host, "dcm4chee-arc");
  assert_non_null(strstr(r.warnings, "atna.event_id_normalized"));
  assert_int_equal(r.ts, 1795137330000000LL);
}

static void test_cmove_mixed(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  assert_int_equal(parse_file("atna/cmove-mixed.xml", &r, &e), PA_OK);
  assert_string_equal(r.format, "mixed-xml");
  assert_string_equal(r.code, "DCM:110104");
  assert_int_equal(r.action, 'R');
  assert_int_equal(r.n_parts, 3);
  assert_int_equal(r.n_objs, 2);
  /* the mover is the requestor (typo UserIsRequest="1"); no human, so the first requestor */
  assert_string_equal(r.user_id, "MOVESCU");
  assert_string_equal(r.user_role, "(null)");
  /* source = role 110153, destination = 110152; AE titles from UserID typed 110119 */
  assert_string_equal(r.src_ae, "DCM4CHEE");
  assert_string_equal(r.src_ip, "192.0.2.2");
  assert_string_equal(r.dst_ae, "STORESCP");
  assert_string_equal(r.dst_ip, "192.0.2.50");
  assert_string_equal(r.p_ae[1], "MOVESCU");
  /* "<none>" is no patient */
  assert_string_equal(r.o_id[0], "<none>");
  assert_string_equal(r.patient, "(null)");
  assert_string_equal(r.study, "1.2.3.999");
  assert_string_equal(r.o_studies[1], "1.2.3.999");
  assert_int_equal(r.object_count, 9);
  /* 7 fraction digits truncated to 6 */
  assert_int_equal(r.ts, 1737453939384226LL);
  assert_non_null(strstr(r.warnings, "atna.typo: ActiveParticipant@UserIsRequest"));
  assert_non_null(strstr(r.warnings, "atna.typo: ActiveParticipant@AlternateUserID"));
  assert_non_null(strstr(r.warnings, "atna.unknown_attribute: ActiveParticipant@Colour"));
  assert_non_null(strstr(r.warnings, "atna.unknown_element: Extra"));
  assert_string_equal(r.host, "dcm4chee-arc");
}

static void test_two_requestors(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  assert_int_equal(parse_file("atna/two-requestors-rfc3881.xml", &r, &e), PA_OK);
  /* both are requestors: the human one wins */
  assert_string_equal(r.user_id, "k.sato");
  assert_string_equal(r.user_name, "Sato Kenji");
  assert_string_equal(r.user_role, "Physician");
  /* the source's NAP is a URI with credentials: never an address */
  assert_int_equal(r.p_net_eff[0], 5);
  assert_int_equal(r.p_net_eff[1], 2); /* an IP sent as type 1 */
  assert_string_equal(r.src_ip, "192.0.2.61");
  assert_string_equal(r.types, "ITI-8");
  assert_string_equal(r.purpose, "TREAT");
  assert_string_equal(r.source_id, "EHR"); /* the first of two */
  /* double-escaped CX: unescaped once more, with a warning */
  assert_string_equal(r.o_id[0], "SELF-5^^^&1.3.6.1.4.1.21367.2005.3.7&ISO");
  assert_string_equal(r.patient, "SELF-5");
  assert_string_equal(r.o_uni[0], "1.3.6.1.4.1.21367.2005.3.7");
  assert_non_null(strstr(r.warnings, "atna.double_escaped"));
}

static void test_inline_variants(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  /* no declaration, zone-less time, an unknown outcome and action, no participants,
   * an implied DCM system, CDATA text, an event type with a vendor system */
  static const char m1[] =
    "  \n<AuditMessage><EventIdentification EventDateTime='2026-11-20 10:15:30' "
    "EventOutcomeIndicator='3' EventActionCode='X'>"
    "<EventID code='110112'/><EventTypeCode csd-code='A777' codeSystemName='99DCM4CHEE'/>"
    "<EventOutcomeDescription><![CDATA[a < b]]></EventOutcomeDescription>"
    "</EventIdentification></AuditMessage>";
  assert_int_equal(parse_buf((const uint8_t *)m1, sizeof m1 - 1, &r, &e), PA_OK);
  assert_string_equal(r.code, "DCM:110112");
  assert_int_equal(r.outcome, -1);
  assert_int_equal(r.action, 0);
  assert_string_equal(r.types, "A777");
  assert_string_equal(r.event_type, "A777"); /* not a DICOM code: as sent */
  assert_string_equal(r.outcome_desc, "a < b");
  assert_string_equal(r.format, "mixed-xml");
  assert_string_equal(r.user_id, "(null)");
  assert_int_equal(r.ts, 1795137330000000LL);
  assert_non_null(strstr(r.warnings, "EventOutcomeIndicator"));
  assert_non_null(strstr(r.warnings, "EventActionCode"));
  assert_non_null(strstr(r.warnings, "atna.ActiveParticipant: none"));

  /* a vendor event id keeps its system; AETITLE= (singular) */
  static const char m2[] =
    "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='12'><EventID csd-code='DELETE' codeSystemName='99DCM4CHEE'/>"
    "</EventIdentification><ActiveParticipant UserID='x' AlternativeUserID='AETITLE=AEFOO' "
    "UserIsRequestor='1'/></AuditMessage>";
  assert_int_equal(parse_buf((const uint8_t *)m2, sizeof m2 - 1, &r, &e), PA_OK);
  assert_string_equal(r.code, "99DCM4CHEE:DELETE");
  assert_int_equal(r.outcome, 12);
  assert_string_equal(r.src_ae, "AEFOO");
  assert_string_equal(r.format, "dicom-xml");

  /* a BOM that a relay turned into '?' before the root; a lone '?' elsewhere is still bad */
  static const char m3[] =
    "?<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='0'><EventID code='110100'/></EventIdentification></AuditMessage>";
  assert_int_equal(parse_buf((const uint8_t *)m3, sizeof m3 - 1, &r, &e), PA_OK);
  assert_string_equal(r.code, "DCM:110100");
  static const char m4[] = "?x<AuditMessage/>";
  assert_int_equal(parse_buf((const uint8_t *)m4, sizeof m4 - 1, &r, &e), PA_MALFORMED);

  /* an xsi: attribute whose prefix nobody declared: kept, with a warning */
  static const char m5[] =
    "<AuditMessage xsi:noNamespaceSchemaLocation='audit.xsd'><EventIdentification "
    "EventDateTime='2026-11-20T01:15:30Z' EventOutcomeIndicator='0'><EventID code='110100'/>"
    "</EventIdentification></AuditMessage>";
  assert_int_equal(parse_buf((const uint8_t *)m5, sizeof m5 - 1, &r, &e), PA_OK);
  assert_string_equal(r.code, "DCM:110100");
  assert_non_null(strstr(r.warnings, "atna.namespace: Namespace prefix xsi"));

  /* a second EventIdentification is skipped whole, its children too */
  static const char m6[] =
    "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='0'><EventID code='110114'/><EventTypeCode code='110122'/>"
    "</EventIdentification><EventIdentification EventDateTime='2026-11-21T01:15:30Z' "
    "EventOutcomeIndicator='8'><EventID code='110113'/><EventTypeCode code='110127'/>"
    "</EventIdentification></AuditMessage>";
  assert_int_equal(parse_buf((const uint8_t *)m6, sizeof m6 - 1, &r, &e), PA_OK);
  assert_string_equal(r.code, "DCM:110114");
  assert_string_equal(r.types, "110122");
  assert_string_equal(r.event_type, "DCM:110122"); /* a login */
  assert_int_equal(r.outcome, 0);
  assert_non_null(strstr(r.warnings, "atna.duplicate: EventIdentification"));
}

/* The source is never taken from the destination: a requestor that is the
 * 110152 destination does not stand in for a source without an address or
 * AE title. A display name holding the list separator ' | ' does not shift
 * which name goes with the RBAC role. An address sent with a port is an
 * address. */
static void test_source_and_roles(void **state)
{
  struct pa_test_audit r;
  struct pa_err e;
  static const char m[] =
    "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='0'><EventID csd-code='110112' codeSystemName='DCM'/>"
    "</EventIdentification>"
    "<ActiveParticipant UserID='WS1' AlternativeUserID='AETITLES=WS1' UserIsRequestor='true' "
    "NetworkAccessPointID='192.0.2.50' NetworkAccessPointTypeCode='2'>"
    "<RoleIDCode csd-code='110152' codeSystemName='DCM' originalText='Destination | Role'/>"
    "</ActiveParticipant>"
    "<ActiveParticipant UserID='PACS' UserIsRequestor='false'>"
    "<RoleIDCode csd-code='110153' codeSystemName='DCM' originalText='Source'/>"
    "</ActiveParticipant></AuditMessage>";
  static const char m2[] =
    "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='0'><EventID csd-code='110112' codeSystemName='DCM'/>"
    "</EventIdentification>"
    "<ActiveParticipant UserID=' dr.b&#10;' UserIsRequestor='true' "
    "NetworkAccessPointID='[2001:db8::5]:104' NetworkAccessPointTypeCode='1'>"
    "<RoleIDCode csd-code='110150' codeSystemName='DCM' originalText='Application | Launcher'/>"
    "<RoleIDCode csd-code='DOC' codeSystemName='99LOCAL' originalText='Doctor'/>"
    "</ActiveParticipant></AuditMessage>";
  (void)state;
  assert_int_equal(parse_buf((const uint8_t *)m, sizeof m - 1, &r, &e), PA_OK);
  assert_string_equal(r.user_id, "WS1");
  assert_string_equal(r.dst_ip, "192.0.2.50");
  assert_string_equal(r.dst_ae, "WS1");
  assert_string_equal(r.src_ip, "(null)");
  assert_string_equal(r.src_ae, "(null)");
  assert_int_equal(parse_buf((const uint8_t *)m2, sizeof m2 - 1, &r, &e), PA_OK);
  assert_string_equal(r.user_id, "dr.b");
  assert_string_equal(r.user_role, "Doctor");
  assert_string_equal(r.src_ip, "2001:db8::5"); /* an address with a port: the address */
  assert_int_equal(r.p_net_eff[0], 2);
}

/* Latin-1 by declaration and UTF-16 with a BOM both come out as UTF-8. */
static void test_encodings(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  static const char l1[] =
    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>\n<AuditMessage><EventIdentification "
    "EventDateTime=\"2026-11-20T01:15:30Z\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"110112\"/>"
    "</EventIdentification><ActiveParticipant UserID=\"M\xfcller\"/></AuditMessage>";
  static const char ascii[] =
    "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
    "EventOutcomeIndicator='0'><EventID csd-code='110112'/></EventIdentification>"
    "<ActiveParticipant UserID='u16'/></AuditMessage>";
  uint8_t u16[2 + 2 * sizeof ascii];
  size_t n = 0;

  assert_int_equal(parse_buf((const uint8_t *)l1, sizeof l1 - 1, &r, &e), PA_OK);
  assert_string_equal(r.p_uid[0], "M\xc3\xbcller");
  u16[n++] = 0xFF; /* UTF-16LE BOM */
  u16[n++] = 0xFE;
  for (size_t i = 0; i + 1 < sizeof ascii; i++) {
    u16[n++] = (uint8_t)ascii[i];
    u16[n++] = 0;
  }
  assert_int_equal(parse_buf(u16, n, &r, &e), PA_OK);
  assert_string_equal(r.p_uid[0], "u16");
  assert_string_equal(r.code, "DCM:110112");
}

/* Warnings are a JSON array, capped with a "+N more" entry. */
static void test_warning_cap(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  char msg[2048];
  int n = snprintf(msg, sizeof msg, "%s",
                   "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
                   "EventOutcomeIndicator='0'><EventID csd-code='110112'/></EventIdentification>"
                   "<ActiveParticipant UserID='u'");
  for (int i = 0; i < PA_MAX_AUDIT_WARNINGS + 4; i++)
    n += snprintf(msg + n, sizeof msg - (size_t)n, " q%d=\"\\&quot;\"", i);
  n += snprintf(msg + n, sizeof msg - (size_t)n, "/></AuditMessage>");
  assert_int_equal(parse_buf((const uint8_t *)msg, (size_t)n, &r, &e), PA_OK);
  assert_int_equal(r.warnings[0], '[');
  assert_int_equal(r.warnings[strlen(r.warnings) - 1], ']');
  assert_non_null(strstr(r.warnings, "\"atna.unknown_attribute: ActiveParticipant@q0\""));
  assert_non_null(strstr(r.warnings, "\"+5 more\"]")); /* 20 + AuditSourceIdentification missing */
}

/* ---- rejected input ---- */

struct bad_case {
  const char *file;
  pa_rc rc;
  const char *prefix;
};

static void test_bad_files(void **state)
{
  (void)state;
  static const struct bad_case B[] = {
    {"atna/bad/unescaped-amp.xml", PA_MALFORMED, "atna.xml: line 19 col "},
    {"atna/bad/truncated.xml", PA_MALFORMED, "atna.xml: "},
    {"atna/bad/no-event-identification.xml", PA_MALFORMED, "atna.EventIdentification: missing"},
    {"atna/bad/no-eventdatetime.xml", PA_MALFORMED, "atna.EventDateTime: missing"},
    {"atna/bad/bad-eventdatetime.xml", PA_MALFORMED, "atna.EventDateTime: not a time"},
    {"atna/bad/no-eventid.xml", PA_MALFORMED, "atna.EventID: missing"},
    {"atna/bad/wrong-root.xml", PA_MALFORMED, "atna.AuditMessage: root element is <IHEYr4>"},
    {"atna/bad/billion-laughs.xml", PA_MALFORMED, "atna.dtd: "},
    {"atna/bad/external-entity.xml", PA_MALFORMED, "atna.dtd: "},
    {"atna/bad/deep-nesting.xml", PA_LIMIT, "atna.depth: "},
    {"atna/bad/not-xml.txt", PA_MALFORMED, "atna.xml: "},
  };
  for (size_t i = 0; i < sizeof B / sizeof B[0]; i++) {
    struct pa_test_audit r;
    struct pa_err e;
    clock_t t0 = clock();
    pa_rc rc = parse_file(B[i].file, &r, &e);
    if (rc != B[i].rc || strncmp(e.msg, B[i].prefix, strlen(B[i].prefix)) != 0)
      fail_msg("%s: rc %d '%s'", B[i].file, rc, e.msg);
    assert_int_equal(r.calls, 0);
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 0.5);
  }
  /* the libxml2 error carries line and byte offset */
  {
    struct pa_test_audit r;
    struct pa_err e;
    size_t n;
    uint8_t *b = pa_test_fixture("atna/bad/unescaped-amp.xml", &n);
    assert_non_null(b);
    assert_int_equal(parse_buf(b, n, &r, &e), PA_MALFORMED);
    assert_int_equal(e.item, 19);
    assert_true(e.offset != UINT64_MAX && e.offset < n);
    assert_true(memchr(b + e.offset - 8, '&', 16) != NULL);
    free(b);
  }
}

static void test_empty_and_size(void **state)
{
  (void)state;
  struct pa_test_audit r;
  struct pa_err e;
  uint8_t *big;
  size_t n = PA_MAX_ATNA_MSG + 16, off;
  static const char head[] = "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
                             "EventOutcomeIndicator='0'><EventID csd-code='110112'/>"
                             "</EventIdentification><ActiveParticipant UserID='";
  static const char tail[] = "'/></AuditMessage>";

  assert_int_equal(parse_buf((const uint8_t *)"", 0, &r, &e), PA_MALFORMED);
  assert_int_equal(parse_buf((const uint8_t *)"\xEF\xBB\xBF \n", 5, &r, &e), PA_MALFORMED);

  /* an attribute that takes the message over the cap */
  big = malloc(n);
  assert_non_null(big);
  memcpy(big, head, sizeof head - 1);
  memset(big + sizeof head - 1, 'A', n - (sizeof head - 1) - (sizeof tail - 1));
  memcpy(big + n - (sizeof tail - 1), tail, sizeof tail - 1);
  assert_int_equal(parse_buf(big, n, &r, &e), PA_LIMIT);
  assert_string_equal(strstr(e.msg, "atna.size") ? "ok" : e.msg, "ok");
  assert_int_equal(r.calls, 0);

  /* just under the cap it parses (no XML_PARSE_HUGE needed) */
  n = PA_MAX_ATNA_MSG - 64;
  off = n - (sizeof tail - 1);
  memset(big + sizeof head - 1, 'A', off - (sizeof head - 1));
  memcpy(big + off, tail, sizeof tail - 1);
  assert_int_equal(parse_buf(big, n, &r, &e), PA_OK);
  assert_int_equal(strlen(r.p_uid[0]), 63); /* the recorder truncates */
  free(big);
}

static void test_reuse_after_errors(void **state)
{
  (void)state;
  static const char *const seq[] = {
    "atna/110112.dicom.xml", "atna/bad/billion-laughs.xml", "atna/110104.rfc3881.xml",
    "atna/bad/deep-nesting.xml", "atna/bad/truncated.xml", "atna/110114-110122.dicom.xml",
  };
  for (int round = 0; round < 3; round++) {
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
      struct pa_test_audit r;
      struct pa_err e;
      pa_rc rc = parse_file(seq[i], &r, &e);
      assert_int_equal(rc == PA_OK, strstr(seq[i], "/bad/") == NULL);
      assert_int_equal(r.calls, rc == PA_OK);
    }
  }
}

/* Many distinct element names: the name dictionary is bounded by
 * recreating the context; parsing goes on working. */
static void test_name_churn(void **state)
{
  (void)state;
  char msg[512];
  for (int i = 0; i < 3000; i++) {
    struct pa_test_audit r;
    struct pa_err e;
    int n = snprintf(msg, sizeof msg,
                     "<AuditMessage><EventIdentification EventDateTime='2026-11-20T01:15:30Z' "
                     "EventOutcomeIndicator='0'><EventID csd-code='110112'/></EventIdentification>"
                     "<X%da X%db='1'/><Y%d/></AuditMessage>", i, i, i);
    assert_int_equal(parse_buf((const uint8_t *)msg, (size_t)n, &r, &e), PA_OK);
    assert_int_equal(r.calls, 1);
  }
}

static pa_rc fail_sink(void *ctx, const struct pa_audit *a)
{
  (void)ctx;
  (void)a;
  return PA_DB;
}

static void test_sink_error_and_no_sink(void **state)
{
  (void)state;
  size_t n;
  uint8_t *b = pa_test_fixture("atna/110112.dicom.xml", &n);
  assert_non_null(b);
  struct pa_sink s = {0};
  struct pa_err e;
  s.audit = fail_sink;
  assert_int_equal(pa_atna_parse(X, b, n, NULL, &s, &e), PA_DB);
  assert_int_equal(pa_atna_parse(X, b, n, NULL, NULL, &e), PA_OK);
  assert_int_equal(pa_atna_parse(X, b, n, NULL, NULL, NULL), PA_OK);
  free(b);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_guideline_events),
    cmocka_unit_test(test_dcm4chee_login_bom),
    cmocka_unit_test(test_cmove_mixed),
    cmocka_unit_test(test_two_requestors),
    cmocka_unit_test(test_inline_variants),
    cmocka_unit_test(test_source_and_roles),
    cmocka_unit_test(test_encodings),
    cmocka_unit_test(test_warning_cap),
    cmocka_unit_test(test_bad_files),
    cmocka_unit_test(test_empty_and_size),
    cmocka_unit_test(test_reuse_after_errors),
    cmocka_unit_test(test_name_churn),
    cmocka_unit_test(test_sink_error_and_no_sink),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
