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

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- a sink that copies what it gets ---- */

#define NP 8
struct rec {
  int calls;
  char code[64], display[64], types[128], type_names[256], format[16], user_id[64],
    user_name[64], user_role[64], src_ip[64], src_ae[20], dst_ip[64], dst_ae[20], host[64],
    patient[64], study[80], source_id[64], source_site[64], source_types[32], purpose[64],
    outcome_desc[128], warnings[1024], origin[64], system[32];
  char action;
  int outcome;
  int64_t ts, received_ts, raw_id, object_count;
  size_t n_parts, n_objs;
  char p_uid[NP][64], p_ae[NP][20], p_roles[NP][64];
  int p_req[NP], p_net_eff[NP];
  char o_id[NP][96], o_cx[NP][64], o_ns[NP][64], o_uni[NP][64], o_sops[NP][128], o_acc[NP][64],
    o_name[NP][64], o_desc[NP][64], o_query[NP][64], o_studies[NP][64];
  int64_t o_n[NP];
};

#define CP(dst, src) snprintf((dst), sizeof(dst), "%s", (src) ? (src) : "(null)")

static pa_rc rec_audit(void *ctx, const struct pa_audit *a)
{
  struct rec *r = ctx;
  const struct pa_event *e = &a->ev;
  r->calls++;
  CP(r->code, e->event_code);
  CP(r->display, a->event_display);
  CP(r->system, a->event_id_system);
  CP(r->types, a->event_types);
  CP(r->type_names, a->event_type_names);
  CP(r->format, a->format);
  CP(r->user_id, e->user_id);
  CP(r->user_name, e->user_name);
  CP(r->user_role, e->user_role);
  CP(r->src_ip, e->src_ip);
  CP(r->src_ae, e->src_ae);
  CP(r->dst_ip, e->dst_ip);
  CP(r->dst_ae, e->dst_ae);
  CP(r->host, e->host);
  CP(r->patient, e->patient_id);
  CP(r->study, e->study_uid);
  CP(r->source_id, a->source_id);
  CP(r->source_site, a->source_site);
  CP(r->source_types, a->source_types);
  CP(r->purpose, a->purpose);
  CP(r->outcome_desc, a->outcome_desc);
  CP(r->warnings, a->warnings);
  CP(r->origin, e->origin);
  assert_string_equal(e->source, "atna");
  r->action = e->action;
  r->outcome = e->outcome;
  r->ts = e->ts;
  r->received_ts = e->received_ts;
  r->raw_id = e->raw_id;
  r->object_count = e->object_count;
  r->n_parts = a->n_participants;
  r->n_objs = a->n_objects;
  for (size_t i = 0; i < a->n_participants && i < NP; i++) {
    CP(r->p_uid[i], a->participants[i].user_id);
    CP(r->p_ae[i], a->participants[i].ae_title);
    CP(r->p_roles[i], a->participants[i].roles);
    r->p_req[i] = a->participants[i].is_requestor;
    r->p_net_eff[i] = a->participants[i].net_type_effective;
  }
  for (size_t i = 0; i < a->n_objects && i < NP; i++) {
    const struct pa_object *o = &a->objects[i];
    CP(r->o_id[i], o->object_id);
    CP(r->o_cx[i], o->cx_id);
    CP(r->o_ns[i], o->cx_namespace);
    CP(r->o_uni[i], o->cx_universal_id);
    CP(r->o_sops[i], o->sop_classes);
    CP(r->o_acc[i], o->accession);
    CP(r->o_name[i], o->name);
    CP(r->o_desc[i], o->description);
    CP(r->o_query[i], o->query_b64);
    CP(r->o_studies[i], o->study_uids);
    r->o_n[i] = o->n_instances;
  }
  return PA_OK;
}

/* ---- helpers ---- */

static uint8_t *read_fixture(const char *rel, size_t *len)
{
  const char *dir = getenv("PA_FIXTURES");
  char path[1024];
  FILE *f;
  long n;
  uint8_t *b;

  snprintf(path, sizeof path, "%s/%s", dir ? dir : "fixtures", rel);
  f = fopen(path, "rb");
  if (!f)
    fail_msg("cannot open %s", path);
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  b = malloc((size_t)n + 1);
  assert_non_null(b);
  assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return b;
}

static pa_atna *X;
static const struct pa_msg_ctx CTX = {"test.xml", 77, 1795137335000000LL, NULL, "Asia/Tokyo"};

static pa_rc parse_buf(const uint8_t *p, size_t n, struct rec *r, struct pa_err *e)
{
  struct pa_sink s = {0};
  memset(r, 0, sizeof *r);
  s.ctx = r;
  s.audit = rec_audit;
  pa_err_clear(e);
  return pa_atna_parse(X, p, n, &CTX, &s, e);
}

static pa_rc parse_file(const char *rel, struct rec *r, struct pa_err *e)
{
  size_t n;
  uint8_t *b = read_fixture(rel, &n);
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
      struct rec r;
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
  struct rec r;
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
  struct rec r;
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
  struct rec r;
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
  struct rec r;
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
}

/* Latin-1 by declaration and UTF-16 with a BOM both come out as UTF-8. */
static void test_encodings(void **state)
{
  (void)state;
  struct rec r;
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
  struct rec r;
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
    struct rec r;
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
    struct rec r;
    struct pa_err e;
    size_t n;
    uint8_t *b = read_fixture("atna/bad/unescaped-amp.xml", &n);
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
  struct rec r;
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
      struct rec r;
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
    struct rec r;
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
  uint8_t *b = read_fixture("atna/110112.dicom.xml", &n);
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
