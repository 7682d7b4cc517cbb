/* atna_xml.c — DICOM PS3.15 A.5 / RFC 3881 audit messages (see atna_xml.h).
 *
 * libxml2 SAX2 push parser, one context per pa_atna, reset per message. The
 * callbacks keep a stack of element kinds (parse by name, in any order), read
 * the attributes they know into the arena, and collect lists (roles, event
 * types, SOP classes...) in reusable buffers. At the end the events row is
 * derived from participants and objects (audit_map.c).
 *
 * Mapping decisions (formats.md §1, §5):
 *  - coded values: csd-code else code; originalText else displayName;
 *    codeSystemName else codeSystem; csd-code/originalText count as DICOM
 *    spelling, code/displayName as RFC 3881; both seen -> "mixed-xml".
 *  - event_code "DCM:<code>" for the DICOM system (or an implied 110xxx /
 *    113xxx code), else "<system>:<code>", or "<code>" with no system.
 *    dcm4chee's EventID 110122/110123 becomes 110114 with event type
 *    110122/110123 (warning "atna.event_id_normalized").
 *  - UserIsRequestor absent means true (RFC 3881 default).
 *  - AE titles: "AETITLES=A;B" / "AETITLE=A" in AlternativeUserID (first
 *    title), else UserID when UserIDTypeCode is 110119.
 *  - ParticipantObjectID is XML-unescaped; a literal "&amp;" left over (a
 *    double-escaped sender) is unescaped once more with a warning.
 *  - host: ctx->host, else AuditSourceID.
 *  - the typos AlternateUserID and UserIsRequest are read as the real
 *    attributes, with a warning; other unknown attributes are warnings. */
#include "atna_xml.h"

#include "../analyzer/buf.h"
#include "../analyzer/limits.h"
#include "../analyzer/tm.h"
#include "audit_map.h"

#include <libxml/parser.h>
#include <libxml/dict.h>
#include <libxml/parserInternals.h>
#include <libxml/xmlerror.h>

#include <stdlib.h>
#include <string.h>

/* Recreate the libxml2 context when its name dictionary (element and
 * attribute names, kept across resets) grows past this: a stream of random
 * names must not grow memory without bound. */
#define DICT_MAX 4096

enum el {
  EL_OTHER, EL_ROOT, EL_EVENT, EL_EVENTID, EL_EVTYPE, EL_OUTDESC, EL_PURPOSE,
  EL_AP, EL_ROLE, EL_UIDTYPE, EL_MEDIA, EL_MEDIATYPE, EL_ASI, EL_ASTYPE,
  EL_POI, EL_POIDTYPE, EL_PONAME, EL_POQUERY, EL_PODETAIL, EL_PODESC,
  EL_SOPCLASS, EL_INSTANCE, EL_ACCESSION, EL_MPPS, EL_CONTAINS, EL_STUDYIDS,
  EL_ENCRYPTED, EL_ANONYMIZED, EL_COUNT
};

static const char *const el_names[EL_COUNT] = {
  [EL_OTHER] = "", [EL_ROOT] = "AuditMessage", [EL_EVENT] = "EventIdentification",
  [EL_EVENTID] = "EventID", [EL_EVTYPE] = "EventTypeCode",
  [EL_OUTDESC] = "EventOutcomeDescription", [EL_PURPOSE] = "PurposeOfUse",
  [EL_AP] = "ActiveParticipant", [EL_ROLE] = "RoleIDCode", [EL_UIDTYPE] = "UserIDTypeCode",
  [EL_MEDIA] = "MediaIdentifier", [EL_MEDIATYPE] = "MediaType",
  [EL_ASI] = "AuditSourceIdentification", [EL_ASTYPE] = "AuditSourceTypeCode",
  [EL_POI] = "ParticipantObjectIdentification", [EL_POIDTYPE] = "ParticipantObjectIDTypeCode",
  [EL_PONAME] = "ParticipantObjectName", [EL_POQUERY] = "ParticipantObjectQuery",
  [EL_PODETAIL] = "ParticipantObjectDetail", [EL_PODESC] = "ParticipantObjectDescription",
  [EL_SOPCLASS] = "SOPClass", [EL_INSTANCE] = "Instance", [EL_ACCESSION] = "Accession",
  [EL_MPPS] = "MPPS", [EL_CONTAINS] = "ParticipantObjectContainsStudy",
  [EL_STUDYIDS] = "StudyIDs", [EL_ENCRYPTED] = "Encrypted", [EL_ANONYMIZED] = "Anonymized",
};

/* A coded value as read. */
struct code {
  const char *code, *sys, *disp;
};

struct pa_atna {
  xmlParserCtxtPtr ctxt; /* owned */
  xmlSAXHandler sax;

  /* per message */
  int depth;
  uint8_t stack[PA_MAX_XML_DEPTH + 2];
  pa_rc fail;            /* our own stop reason, PA_OK none */
  char fail_msg[200];
  int xerr;              /* a libxml2 error was recorded */
  int xline, xcol;
  uint64_t xoff;
  char xmsg[160];

  struct pa_arena ar;
  struct pa_warn warn;
  struct pa_buf text;    /* character data of the capturing element */
  int capture;           /* depth of the element whose text is collected, 0 none */
  struct pa_buf ev_types, ev_type_names, purposes, src_types;
  struct pa_buf roles, role_names, sops, accs, studies;

  int n_dicom, n_rfc;    /* coded values seen in each spelling */
  int seen_event, seen_source;
  struct code evid;
  const char *time_raw, *action_raw, *outcome_raw, *outcome_desc;
  const char *source_id, *source_site;

  struct pa_participant *parts; /* owned, cap_parts slots, reused */
  size_t n_parts, cap_parts;
  long cur_ap;           /* index of the open ActiveParticipant, -1 none/skipped */
  struct pa_object *objs;
  size_t n_objs, cap_objs;
  long cur_poi;
  int sop_has_n;         /* the open SOPClass had NumberOfInstances */
  int64_t sop_n;         /* its count (attribute, else Instance children) */
  const char *sop_uid;

  struct pa_audit out;

  /* Element names are interned in the context's dictionary, so a name's
   * pointer identifies it until the context is recreated: a direct-mapped
   * cache of pointer -> kind saves the string compares. */
  const xmlChar *name_key[128];
  uint8_t name_kind[128];
  const void *name_dict;     /* the dictionary the cache belongs to */
};

/* ---- small helpers ---- */

static void stop(pa_atna *x, pa_rc rc, const char *msg)
{
  if (!x->fail) {
    x->fail = rc;
    snprintf(x->fail_msg, sizeof x->fail_msg, "%s", msg);
  }
  xmlStopParser(x->ctxt);
}

static void check_arena(pa_atna *x)
{
  if (x->ar.err && !x->fail)
    stop(x, x->ar.err, x->ar.err == PA_LIMIT ? "atna.size: message expands past the arena cap"
                                             : "atna: out of memory");
}

static void list_add(pa_atna *x, struct pa_buf *b, const char *sep, const char *item)
{
  pa_rc rc = pa_audit_list_add(b, sep, item);
  if (rc != PA_OK)
    stop(x, rc, rc == PA_LIMIT ? "atna.size: list too long" : "atna: out of memory");
}

/* Interns an attribute value. libxml2 (no XML_PARSE_NOENT) hands values
 * with '&' still escaped as "&#38;"; other predefined entities and character
 * references arrive decoded. */
static const char *attr_dup(pa_atna *x, const xmlChar *v, const xmlChar *end, int trim)
{
  size_t n = (size_t)(end - v);
  char *s, *w;
  const char *r;

  if (trim) {
    while (n && (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r')) {
      v++;
      n--;
    }
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\n' || v[n - 1] == '\r'))
      n--;
  }
  s = pa_arena_strndup(&x->ar, (const char *)v, n);
  if (!s) {
    check_arena(x);
    return NULL;
  }
  if (!memchr(s, '&', n))
    return s;
  w = s;
  for (r = s; *r;) {
    if (!strncmp(r, "&#38;", 5)) {
      *w++ = '&';
      r += 5;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
  return s;
}

/* Literal "&amp;" (and "&lt;"/"&gt;") left in a value: double-escaped. */
static void unescape_again(pa_atna *x, const char **vp)
{
  const char *v = *vp;
  char *s, *w;

  if (!v || !strchr(v, '&') || (!strstr(v, "&amp;") && !strstr(v, "&lt;") && !strstr(v, "&gt;")))
    return;
  s = pa_arena_strndup(&x->ar, v, strlen(v));
  if (!s) {
    check_arena(x);
    return;
  }
  w = s;
  for (const char *r = v; *r;) {
    if (!strncmp(r, "&amp;", 5)) {
      *w++ = '&';
      r += 5;
    } else if (!strncmp(r, "&lt;", 4)) {
      *w++ = '<';
      r += 4;
    } else if (!strncmp(r, "&gt;", 4)) {
      *w++ = '>';
      r += 4;
    } else {
      *w++ = *r++;
    }
  }
  *w = '\0';
  *vp = s;
  pa_warn_add(&x->warn, "atna.double_escaped: ParticipantObjectID");
}

static enum el classify(pa_atna *x, const xmlChar *name)
{
  size_t slot = ((uintptr_t)name >> 3) & 127;
  const char *n = (const char *)name;
  enum el e = EL_OTHER;

  if (x->name_key[slot] == name)
    return (enum el)x->name_kind[slot];
  for (int i = 1; i < EL_COUNT; i++)
    if (!strcmp(n, el_names[i])) {
      e = (enum el)i;
      break;
    }
  x->name_key[slot] = name;
  x->name_kind[slot] = (uint8_t)e;
  return e;
}

static int parent_ok(enum el e, enum el parent, int depth)
{
  switch (e) {
  case EL_ROOT: return depth == 1;
  case EL_EVENT: case EL_AP: case EL_ASI: case EL_POI: return parent == EL_ROOT;
  case EL_EVENTID: case EL_EVTYPE: case EL_OUTDESC: case EL_PURPOSE: return parent == EL_EVENT;
  case EL_ROLE: case EL_UIDTYPE: case EL_MEDIA: return parent == EL_AP;
  case EL_MEDIATYPE: return parent == EL_AP || parent == EL_MEDIA;
  case EL_ASTYPE: return parent == EL_ASI;
  case EL_POIDTYPE: case EL_PONAME: case EL_POQUERY: case EL_PODETAIL: case EL_PODESC:
    return parent == EL_POI;
  case EL_SOPCLASS: case EL_ACCESSION: case EL_MPPS: case EL_CONTAINS: case EL_ENCRYPTED:
  case EL_ANONYMIZED:
    return parent == EL_PODESC || parent == EL_POI;
  case EL_INSTANCE: return parent == EL_SOPCLASS;
  case EL_STUDYIDS: return parent == EL_CONTAINS;
  default: return 1;
  }
}

#define ATTR_NAME(at, i) ((const char *)(at)[(i) * 5])
#define ATTR_PREFIX(at, i) ((at)[(i) * 5 + 1])
#define ATTR_VAL(at, i) ((at)[(i) * 5 + 3])
#define ATTR_END(at, i) ((at)[(i) * 5 + 4])

static void unknown_attr(pa_atna *x, const char *el, const char *name)
{
  pa_warn_add(&x->warn, "atna.unknown_attribute: %s@%s", el, name);
}

/* Reads a coded value's attributes; others are reported as unknown. */
static void read_code(pa_atna *x, const char *el, int na, const xmlChar **at, struct code *c)
{
  const char *csd = NULL, *code = NULL, *csn = NULL, *cs = NULL, *ot = NULL, *dn = NULL;

  for (int i = 0; i < na; i++) {
    const char *n = ATTR_NAME(at, i);
    const char **slot = NULL;
    int *spell = NULL;
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(n, "csd-code")) {
      slot = &csd;
      spell = &x->n_dicom;
    } else if (!strcmp(n, "code")) {
      slot = &code;
      spell = &x->n_rfc;
    } else if (!strcmp(n, "codeSystemName")) {
      slot = &csn;
    } else if (!strcmp(n, "codeSystem")) {
      slot = &cs;
    } else if (!strcmp(n, "originalText")) {
      slot = &ot;
      spell = &x->n_dicom;
    } else if (!strcmp(n, "displayName")) {
      slot = &dn;
      spell = &x->n_rfc;
    } else {
      unknown_attr(x, el, n);
      continue;
    }
    *slot = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
    if (spell)
      (*spell)++;
  }
  c->code = csd && *csd ? csd : code;
  c->sys = csn && *csn ? csn : cs;
  c->disp = ot && *ot ? ot : dn;
  if (c->code && !*c->code)
    c->code = NULL;
  if (c->sys && !*c->sys)
    c->sys = NULL;
  if (c->disp && !*c->disp)
    c->disp = NULL;
}

static int int_attr(pa_atna *x, const char *el, const char *name, const char *v, long lo, long hi)
{
  long n = pa_audit_int(v, lo, hi);
  if (n < 0 && v && *v)
    pa_warn_add(&x->warn, "atna.bad_value: %s@%s", el, name);
  return (int)n;
}

/* ---- elements ---- */

static void start_event(pa_atna *x, int na, const xmlChar **at)
{
  x->seen_event = 1;
  for (int i = 0; i < na; i++) {
    const char *n = ATTR_NAME(at, i);
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(n, "EventActionCode"))
      x->action_raw = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
    else if (!strcmp(n, "EventDateTime"))
      x->time_raw = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
    else if (!strcmp(n, "EventOutcomeIndicator"))
      x->outcome_raw = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
    else
      unknown_attr(x, "EventIdentification", n);
  }
}

static void start_ap(pa_atna *x, int na, const xmlChar **at)
{
  struct pa_participant *p;
  int req_seen = 0;

  x->cur_ap = -1;
  if (x->n_parts >= PA_MAX_AUDIT_PARTICIPANTS) {
    pa_warn_add(&x->warn, "atna.limit: more than %d ActiveParticipant", PA_MAX_AUDIT_PARTICIPANTS);
    return;
  }
  if (x->n_parts == x->cap_parts) {
    size_t nc = x->cap_parts ? x->cap_parts * 2 : 8;
    void *np = realloc(x->parts, nc * sizeof *x->parts);
    if (!np) {
      stop(x, PA_NOMEM, "atna: out of memory");
      return;
    }
    x->parts = np;
    x->cap_parts = nc;
  }
  x->cur_ap = (long)x->n_parts++;
  p = &x->parts[x->cur_ap];
  memset(p, 0, sizeof *p);
  p->is_requestor = 1; /* RFC 3881: absent means true */
  p->user_type = -1;
  p->net_type = -1;
  p->net_type_effective = -1;
  pa_buf_reset(&x->roles);
  pa_buf_reset(&x->role_names);
  for (int i = 0; i < na; i++) {
    const char *n = ATTR_NAME(at, i);
    const xmlChar *v = ATTR_VAL(at, i), *e = ATTR_END(at, i);
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(n, "UserID")) {
      /* trimmed: "dr.a&#10;" is dr.a, or the roster would not know it */
      p->user_id = attr_dup(x, v, e, 1);
    } else if (!strcmp(n, "AlternativeUserID") || !strcmp(n, "AlternateUserID")) {
      p->alt_user_id = attr_dup(x, v, e, 1);
      if (!strcmp(n, "AlternateUserID"))
        pa_warn_add(&x->warn, "atna.typo: ActiveParticipant@AlternateUserID");
    } else if (!strcmp(n, "UserName")) {
      p->user_name = attr_dup(x, v, e, 0);
    } else if (!strcmp(n, "UserIsRequestor") || !strcmp(n, "UserIsRequest")) {
      const char *s = attr_dup(x, v, e, 1);
      int b = pa_audit_bool(s);
      if (n[13] == '\0')
        pa_warn_add(&x->warn, "atna.typo: ActiveParticipant@UserIsRequest");
      if (b < 0)
        pa_warn_add(&x->warn, "atna.bad_value: ActiveParticipant@UserIsRequestor");
      else if (!req_seen || n[13] != '\0')
        p->is_requestor = b;
      req_seen = 1;
    } else if (!strcmp(n, "NetworkAccessPointID")) {
      p->net_id = attr_dup(x, v, e, 1);
    } else if (!strcmp(n, "NetworkAccessPointTypeCode")) {
      p->net_type = int_attr(x, "ActiveParticipant", n, attr_dup(x, v, e, 1), 1, 5);
    } else if (!strcmp(n, "UserTypeCode")) {
      p->user_type = int_attr(x, "ActiveParticipant", n, attr_dup(x, v, e, 1), 1, 2);
    } else {
      unknown_attr(x, "ActiveParticipant", n);
    }
  }
}

static void end_ap(pa_atna *x)
{
  struct pa_participant *p;

  if (x->cur_ap < 0)
    return;
  p = &x->parts[x->cur_ap];
  p->roles = pa_arena_buf(&x->ar, &x->roles);
  p->role_names = pa_arena_buf(&x->ar, &x->role_names);
  if (p->user_id && !*p->user_id)
    p->user_id = NULL;
  p->net_type_effective = pa_audit_net_class(p->net_id, p->net_type);
  p->ae_title = pa_audit_aetitle(&x->ar, p->alt_user_id);
  if (!p->ae_title && p->user_id_type && !strcmp(p->user_id_type, "110119"))
    p->ae_title = p->user_id;
  x->cur_ap = -1;
  check_arena(x);
}

static void start_asi(pa_atna *x, int na, const xmlChar **at)
{
  int first = !x->seen_source++;

  for (int i = 0; i < na; i++) {
    const char *n = ATTR_NAME(at, i);
    const xmlChar *v = ATTR_VAL(at, i), *e = ATTR_END(at, i);
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(n, "AuditSourceID")) {
      if (first)
        x->source_id = attr_dup(x, v, e, 1);
    } else if (!strcmp(n, "AuditEnterpriseSiteID")) {
      if (first)
        x->source_site = attr_dup(x, v, e, 1);
    } else if (!strcmp(n, "code") || !strcmp(n, "csd-code")) {
      /* seen: the type code put on AuditSourceIdentification itself */
      if (first)
        list_add(x, &x->src_types, ",", attr_dup(x, v, e, 1));
    } else if (strcmp(n, "codeSystemName") && strcmp(n, "displayName") &&
               strcmp(n, "originalText")) {
      unknown_attr(x, "AuditSourceIdentification", n);
    }
  }
}

static void start_poi(pa_atna *x, int na, const xmlChar **at)
{
  struct pa_object *o;

  x->cur_poi = -1;
  if (x->n_objs >= PA_MAX_AUDIT_OBJECTS) {
    pa_warn_add(&x->warn, "atna.limit: more than %d ParticipantObjectIdentification",
                PA_MAX_AUDIT_OBJECTS);
    return;
  }
  if (x->n_objs == x->cap_objs) {
    size_t nc = x->cap_objs ? x->cap_objs * 2 : 8;
    void *np = realloc(x->objs, nc * sizeof *x->objs);
    if (!np) {
      stop(x, PA_NOMEM, "atna: out of memory");
      return;
    }
    x->objs = np;
    x->cap_objs = nc;
  }
  x->cur_poi = (long)x->n_objs++;
  o = &x->objs[x->cur_poi];
  memset(o, 0, sizeof *o);
  o->type_code = o->role_code = o->lifecycle = -1;
  o->n_instances = -1;
  pa_buf_reset(&x->sops);
  pa_buf_reset(&x->accs);
  pa_buf_reset(&x->studies);
  for (int i = 0; i < na; i++) {
    const char *n = ATTR_NAME(at, i);
    const xmlChar *v = ATTR_VAL(at, i), *e = ATTR_END(at, i);
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(n, "ParticipantObjectID"))
      o->object_id = attr_dup(x, v, e, 0);
    else if (!strcmp(n, "ParticipantObjectTypeCode"))
      o->type_code = int_attr(x, "ParticipantObjectIdentification", n, attr_dup(x, v, e, 1), 1, 4);
    else if (!strcmp(n, "ParticipantObjectTypeCodeRole"))
      o->role_code = int_attr(x, "ParticipantObjectIdentification", n, attr_dup(x, v, e, 1), 1, 26);
    else if (!strcmp(n, "ParticipantObjectDataLifeCycle"))
      o->lifecycle = int_attr(x, "ParticipantObjectIdentification", n, attr_dup(x, v, e, 1), 1, 15);
    else if (!strcmp(n, "ParticipantObjectName")) {
      o->name = attr_dup(x, v, e, 0);
      pa_warn_add(&x->warn, "atna.misplaced: ParticipantObjectName as an attribute");
    } else if (strcmp(n, "ParticipantObjectSensitivity"))
      unknown_attr(x, "ParticipantObjectIdentification", n);
  }
}

static void end_poi(pa_atna *x)
{
  struct pa_object *o;

  if (x->cur_poi < 0)
    return;
  o = &x->objs[x->cur_poi];
  unescape_again(x, &o->object_id);
  o->sop_classes = pa_arena_buf(&x->ar, &x->sops);
  o->accession = pa_arena_buf(&x->ar, &x->accs);
  o->study_uids = pa_arena_buf(&x->ar, &x->studies);
  pa_audit_cx_split(&x->ar, o);
  x->cur_poi = -1;
  check_arena(x);
}

/* A single attribute's value, interned (trimmed), or NULL. */
static const char *one_attr(pa_atna *x, const char *el, int na, const xmlChar **at,
                            const char *name)
{
  const char *r = NULL;
  for (int i = 0; i < na; i++) {
    if (ATTR_PREFIX(at, i))
      continue;
    if (!strcmp(ATTR_NAME(at, i), name))
      r = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
    else
      unknown_attr(x, el, ATTR_NAME(at, i));
  }
  return r && *r ? r : NULL;
}

static void start_element(void *ud, const xmlChar *localname, const xmlChar *prefix,
                          const xmlChar *URI, int nb_namespaces, const xmlChar **namespaces,
                          int nb_attributes, int nb_defaulted, const xmlChar **at)
{
  pa_atna *x = ud;
  const char *name = (const char *)localname;
  enum el parent, e;
  struct code c;
  int na = nb_attributes;

  (void)prefix;
  (void)URI;
  (void)nb_namespaces;
  (void)namespaces;
  (void)nb_defaulted;
  if (x->fail)
    return;
  if (x->depth >= PA_MAX_XML_DEPTH) {
    stop(x, PA_LIMIT, "atna.depth: elements nested deeper than the cap");
    return;
  }
  parent = x->depth ? (enum el)x->stack[x->depth] : EL_OTHER;
  x->depth++;
  e = classify(x, localname);
  if (x->depth == 1 && e != EL_ROOT) {
    char m[160];
    snprintf(m, sizeof m, "atna.AuditMessage: root element is <%.100s>", name);
    stop(x, PA_MALFORMED, m);
    return;
  }
  if (e != EL_OTHER && !parent_ok(e, parent, x->depth)) {
    if (parent != EL_OTHER)
      pa_warn_add(&x->warn, "atna.misplaced: %s in %s", name, el_names[parent]);
    e = EL_OTHER;
  } else if (e == EL_OTHER && parent != EL_OTHER && parent != EL_MEDIA && parent != EL_PODETAIL) {
    pa_warn_add(&x->warn, "atna.unknown_element: %.80s", name);
  }
  if (e == EL_EVENT && x->seen_event) {
    pa_warn_add(&x->warn, "atna.duplicate: EventIdentification");
    e = EL_OTHER; /* its children describe another event: none of them is read */
  }
  x->stack[x->depth] = (uint8_t)e;

  switch (e) {
  case EL_ROOT:
    break;
  case EL_EVENT:
    start_event(x, na, at);
    break;
  case EL_EVENTID:
    read_code(x, name, na, at, &c);
    if (x->evid.code)
      pa_warn_add(&x->warn, "atna.duplicate: EventID");
    else
      x->evid = c;
    break;
  case EL_EVTYPE:
    read_code(x, name, na, at, &c);
    if (c.code) {
      list_add(x, &x->ev_types, ",", c.code);
      list_add(x, &x->ev_type_names, " | ", c.disp ? c.disp : c.code);
    }
    break;
  case EL_PURPOSE:
    read_code(x, name, na, at, &c);
    if (c.code)
      list_add(x, &x->purposes, ",", c.code);
    break;
  case EL_OUTDESC:
  case EL_PONAME:
  case EL_POQUERY:
  case EL_PODESC:
    pa_buf_reset(&x->text);
    x->capture = x->depth;
    break;
  case EL_AP:
    start_ap(x, na, at);
    break;
  case EL_ROLE:
    read_code(x, name, na, at, &c);
    if (x->cur_ap >= 0 && c.code) {
      list_add(x, &x->roles, ",", c.code);
      list_add(x, &x->role_names, " | ", c.disp ? c.disp : c.code);
    }
    break;
  case EL_UIDTYPE:
    read_code(x, name, na, at, &c);
    if (x->cur_ap >= 0)
      x->parts[x->cur_ap].user_id_type = c.code;
    break;
  case EL_MEDIATYPE:
    read_code(x, name, na, at, &c);
    break;
  case EL_ASI:
    start_asi(x, na, at);
    break;
  case EL_ASTYPE:
    read_code(x, name, na, at, &c);
    if (x->seen_source == 1 && c.code)
      list_add(x, &x->src_types, ",", c.code);
    break;
  case EL_POI:
    start_poi(x, na, at);
    break;
  case EL_POIDTYPE:
    read_code(x, name, na, at, &c);
    if (x->cur_poi >= 0) {
      struct pa_object *o = &x->objs[x->cur_poi];
      o->id_type_code = c.code;
      o->id_type_system = c.sys;
      if (!o->id_type_system && c.code) {
        long v = pa_audit_int(c.code, 1, 12);
        o->id_type_system = v > 0 ? "RFC-3881" : pa_audit_is_dcm_code(c.code) ? "DCM" : NULL;
      }
    }
    break;
  case EL_SOPCLASS: {
    const char *uid = NULL, *num = NULL;
    for (int i = 0; i < na; i++) {
      const char *n = ATTR_NAME(at, i);
      if (ATTR_PREFIX(at, i))
        continue;
      if (!strcmp(n, "UID"))
        uid = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
      else if (!strcmp(n, "NumberOfInstances"))
        num = attr_dup(x, ATTR_VAL(at, i), ATTR_END(at, i), 1);
      else
        unknown_attr(x, name, n);
    }
    x->sop_uid = uid;
    x->sop_has_n = 0;
    x->sop_n = 0;
    if (num) {
      long v = pa_audit_int(num, 0, 1000000000L);
      if (v >= 0) {
        x->sop_has_n = 1;
        x->sop_n = v;
      } else {
        pa_warn_add(&x->warn, "atna.bad_value: SOPClass@NumberOfInstances");
      }
    }
    break;
  }
  case EL_INSTANCE:
    if (!x->sop_has_n)
      x->sop_n++;
    break;
  case EL_ACCESSION:
    if (x->cur_poi >= 0) {
      const char *v = one_attr(x, name, na, at, "Number");
      if (v)
        list_add(x, &x->accs, ",", v);
    }
    break;
  case EL_MPPS:
    (void)one_attr(x, name, na, at, "UID");
    break;
  case EL_STUDYIDS:
    if (x->cur_poi >= 0) {
      const char *v = one_attr(x, name, na, at, "UID");
      if (v)
        list_add(x, &x->studies, ",", v);
    }
    break;
  default:
    break;
  }
}

static void end_element(void *ud, const xmlChar *localname, const xmlChar *prefix,
                        const xmlChar *URI)
{
  pa_atna *x = ud;
  enum el e;

  (void)localname;
  (void)prefix;
  (void)URI;
  if (x->fail || x->depth <= 0)
    return;
  e = (enum el)x->stack[x->depth];
  if (x->capture == x->depth) {
    const char *t = pa_arena_trimdup(&x->ar, (const char *)x->text.p, x->text.len);
    x->capture = 0;
    if (t && !*t)
      t = NULL;
    switch (e) {
    case EL_OUTDESC:
      if (!x->outcome_desc)
        x->outcome_desc = t;
      break;
    case EL_PONAME:
      if (x->cur_poi >= 0)
        x->objs[x->cur_poi].name = t;
      break;
    case EL_POQUERY:
      if (x->cur_poi >= 0)
        x->objs[x->cur_poi].query_b64 = t;
      break;
    case EL_PODESC:
      if (x->cur_poi >= 0 && t)
        x->objs[x->cur_poi].description = t;
      break;
    default:
      break;
    }
    check_arena(x);
  }
  switch (e) {
  case EL_AP:
    end_ap(x);
    break;
  case EL_POI:
    end_poi(x);
    break;
  case EL_SOPCLASS:
    if (x->cur_poi >= 0) {
      struct pa_object *o = &x->objs[x->cur_poi];
      char item[128];
      o->n_instances = (o->n_instances < 0 ? 0 : o->n_instances) + x->sop_n;
      snprintf(item, sizeof item, "%.90s=%lld", x->sop_uid ? x->sop_uid : "",
               (long long)x->sop_n);
      list_add(x, &x->sops, ",", item);
    }
    break;
  default:
    break;
  }
  x->depth--;
}

static void characters(void *ud, const xmlChar *ch, int len)
{
  pa_atna *x = ud;
  if (x->fail || !x->capture || x->capture != x->depth || len <= 0)
    return;
  if (pa_buf_append(&x->text, ch, (size_t)len) != PA_OK)
    stop(x, PA_LIMIT, "atna.size: element text too long");
}

static void internal_subset(void *ud, const xmlChar *name, const xmlChar *eid, const xmlChar *sid)
{
  (void)name;
  (void)eid;
  (void)sid;
  stop(ud, PA_MALFORMED, "atna.dtd: DOCTYPE is not accepted (entities and DTDs are refused)");
}

static void entity_decl(void *ud, const xmlChar *name, int type, const xmlChar *pid,
                        const xmlChar *sid, xmlChar *content)
{
  (void)name;
  (void)type;
  (void)pid;
  (void)sid;
  (void)content;
  stop(ud, PA_MALFORMED, "atna.dtd: entity declaration refused");
}

static xmlEntityPtr get_entity(void *ud, const xmlChar *name)
{
  (void)ud;
  (void)name;
  return NULL; /* only the predefined entities exist */
}

static void on_error(void *ud, xmlErrorPtr e)
{
  pa_atna *x = ud;
  xmlParserCtxtPtr c = x->ctxt;

  if (!e || e->level < XML_ERR_ERROR || x->xerr)
    return;
  if (e->domain == XML_FROM_NAMESPACE) {
    /* well-formed XML that breaks only the namespace rules, such as an
     * undeclared xsi: prefix (formats.md: accept xsi: attributes) */
    const char *m = e->message ? e->message : "namespace error";
    pa_warn_add(&x->warn, "atna.namespace: %.*s", (int)strcspn(m, "\n"), m);
    return;
  }
  x->xerr = 1;
  x->xline = e->line;
  x->xcol = e->int2;
  x->xoff = UINT64_MAX;
  if (c && c->input && c->input->base && c->input->cur >= c->input->base)
    x->xoff = (uint64_t)c->input->consumed + (uint64_t)(c->input->cur - c->input->base);
  snprintf(x->xmsg, sizeof x->xmsg, "%s", e->message ? e->message : "not well-formed");
  /* libxml2 messages end with a newline */
  size_t n = strlen(x->xmsg);
  while (n && (x->xmsg[n - 1] == '\n' || x->xmsg[n - 1] == ' '))
    x->xmsg[--n] = '\0';
}

/* ---- lifecycle ---- */

static int new_ctxt(pa_atna *x)
{
  memset(x->name_key, 0, sizeof x->name_key); /* a new dictionary */
  x->ctxt = xmlCreatePushParserCtxt(&x->sax, x, NULL, 0, NULL);
  return x->ctxt != NULL;
}

pa_rc pa_atna_new(pa_atna **out)
{
  pa_atna *x;

  /* libxml2's globals (its mutexes, per-thread state) are made on first
   * use; made here, in the thread that makes the parsers, two threads that
   * parse at once (ingest's workers) never race to make them. Idempotent. */
  xmlInitParser();
  x = calloc(1, sizeof *x);
  *out = NULL;
  if (!x)
    return PA_NOMEM;
  x->sax.initialized = XML_SAX2_MAGIC;
  x->sax.startElementNs = start_element;
  x->sax.endElementNs = end_element;
  x->sax.characters = characters;
  x->sax.cdataBlock = characters;
  x->sax.ignorableWhitespace = characters;
  x->sax.internalSubset = internal_subset;
  x->sax.entityDecl = entity_decl;
  x->sax.getEntity = get_entity;
  x->sax.getParameterEntity = get_entity;
  x->sax.serror = on_error;
  pa_arena_init(&x->ar, 4u * PA_MAX_ATNA_MSG);
  pa_warn_init(&x->warn);
  pa_buf_init(&x->text, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->ev_types, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->ev_type_names, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->purposes, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->src_types, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->roles, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->role_names, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->sops, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->accs, PA_MAX_ATNA_MSG);
  pa_buf_init(&x->studies, PA_MAX_ATNA_MSG);
  if (!new_ctxt(x)) {
    pa_atna_free(x);
    return PA_NOMEM;
  }
  *out = x;
  return PA_OK;
}

void pa_atna_free(pa_atna *x)
{
  if (!x)
    return;
  if (x->ctxt)
    xmlFreeParserCtxt(x->ctxt);
  pa_arena_cleanup(&x->ar);
  pa_warn_cleanup(&x->warn);
  pa_buf_cleanup(&x->text);
  pa_buf_cleanup(&x->ev_types);
  pa_buf_cleanup(&x->ev_type_names);
  pa_buf_cleanup(&x->purposes);
  pa_buf_cleanup(&x->src_types);
  pa_buf_cleanup(&x->roles);
  pa_buf_cleanup(&x->role_names);
  pa_buf_cleanup(&x->sops);
  pa_buf_cleanup(&x->accs);
  pa_buf_cleanup(&x->studies);
  free(x->parts);
  free(x->objs);
  free(x);
}

static void reset_msg(pa_atna *x)
{
  x->depth = 0;
  x->fail = PA_OK;
  x->fail_msg[0] = '\0';
  x->xerr = 0;
  x->capture = 0;
  pa_arena_reset(&x->ar);
  pa_warn_reset(&x->warn);
  pa_buf_reset(&x->text);
  pa_buf_reset(&x->ev_types);
  pa_buf_reset(&x->ev_type_names);
  pa_buf_reset(&x->purposes);
  pa_buf_reset(&x->src_types);
  x->n_dicom = x->n_rfc = 0;
  x->seen_event = x->seen_source = 0;
  memset(&x->evid, 0, sizeof x->evid);
  x->time_raw = x->action_raw = x->outcome_raw = x->outcome_desc = NULL;
  x->source_id = x->source_site = NULL;
  x->n_parts = x->n_objs = 0;
  x->cur_ap = x->cur_poi = -1;
  memset(&x->out, 0, sizeof x->out);
}

/* dcm4chee puts Login/Logout in EventID: make it 110114 + the event type. */
static void normalize_login(pa_atna *x, const char *sys)
{
  const char *c = x->evid.code;
  const char *disp;

  if (!c || strcmp(sys ? sys : "", "DCM") != 0 || (strcmp(c, "110122") && strcmp(c, "110123")))
    return;
  disp = !strcmp(c, "110122") ? "Login" : "Logout";
  if (!pa_audit_list_has(pa_buf_str(&x->ev_types), c)) {
    struct pa_buf t = x->ev_types, tn = x->ev_type_names;
    const char *old = pa_arena_buf(&x->ar, &t), *oldn = pa_arena_buf(&x->ar, &tn);
    pa_buf_reset(&x->ev_types);
    pa_buf_reset(&x->ev_type_names);
    list_add(x, &x->ev_types, ",", c);
    list_add(x, &x->ev_type_names, " | ", x->evid.disp ? x->evid.disp : disp);
    if (old)
      list_add(x, &x->ev_types, ",", old);
    if (oldn)
      list_add(x, &x->ev_type_names, " | ", oldn);
  }
  x->evid.code = "110114";
  x->evid.disp = "User Authentication";
  pa_warn_add(&x->warn, "atna.event_id_normalized: %s -> 110114", c);
}

static pa_rc finish(pa_atna *x, const struct pa_msg_ctx *ctx, const struct pa_sink *sink,
                    struct pa_err *err)
{
  struct pa_audit *a = &x->out;
  struct pa_event *ev = &a->ev;
  const char *sys;
  long oc;

  if (!x->seen_event)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.EventIdentification: missing");
  if (!x->evid.code)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.EventID: missing or without a code");
  if (!x->time_raw || !*x->time_raw)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.EventDateTime: missing");

  pa_event_init(ev);
  if (pa_time_parse_iso(x->time_raw, strlen(x->time_raw), ctx ? ctx->tz : NULL, &ev->ts, NULL,
                        NULL) != PA_OK)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.EventDateTime: not a time: '%.60s'",
                      x->time_raw);
  ev->source = "atna";
  if (ctx) {
    ev->origin = ctx->origin;
    ev->raw_id = ctx->raw_id;
    ev->received_ts = ctx->received_ts;
    ev->received_via = ctx->received_via;
    ev->host = ctx->host;
  }
  if (!ev->host)
    ev->host = x->source_id;

  sys = pa_audit_system(x->evid.sys);
  if (!sys && pa_audit_is_dcm_code(x->evid.code))
    sys = "DCM";
  normalize_login(x, sys);
  ev->event_code = pa_audit_event_code(&x->ar, sys, x->evid.code);
  if (!sys)
    pa_warn_add(&x->warn, "atna.EventID: no code system");

  if (x->action_raw && *x->action_raw) {
    if (strlen(x->action_raw) == 1 && strchr("CRUDE", x->action_raw[0]))
      ev->action = x->action_raw[0];
    else
      pa_warn_add(&x->warn, "atna.bad_value: EventActionCode '%.20s'", x->action_raw);
  }
  oc = pa_audit_int(x->outcome_raw, 0, 12);
  if (oc == 0 || oc == 4 || oc == 8 || oc == 12)
    ev->outcome = (int)oc;
  else
    pa_warn_add(&x->warn, "atna.bad_value: EventOutcomeIndicator '%.20s'",
                x->outcome_raw ? x->outcome_raw : "(missing)");

  a->format = x->n_dicom && x->n_rfc ? "mixed-xml" : x->n_rfc ? "rfc3881-xml" : "dicom-xml";
  a->event_id_system = sys;
  a->event_display = x->evid.disp;
  a->event_types = pa_arena_buf(&x->ar, &x->ev_types);
  a->event_type_names = pa_arena_buf(&x->ar, &x->ev_type_names);
  a->outcome_desc = x->outcome_desc;
  a->purpose = pa_arena_buf(&x->ar, &x->purposes);
  a->source_id = x->source_id;
  a->source_site = x->source_site;
  a->source_types = pa_arena_buf(&x->ar, &x->src_types);
  a->participants = x->parts;
  a->n_participants = x->n_parts;
  a->objects = x->objs;
  a->n_objects = x->n_objs;
  if (!x->n_parts)
    pa_warn_add(&x->warn, "atna.ActiveParticipant: none");
  if (!x->seen_source)
    pa_warn_add(&x->warn, "atna.AuditSourceIdentification: missing");
  pa_audit_derive(a, &x->ar);
  a->warnings = pa_warn_json(&x->warn, &x->ar);
  if (x->fail)
    return pa_err_set(err, x->fail, UINT64_MAX, 0, "%s", x->fail_msg);
  if (x->ar.err)
    return pa_err_set(err, x->ar.err, UINT64_MAX, 0, "atna: %s", pa_strerror(x->ar.err));
  if (!sink || !sink->audit)
    return PA_OK;
  return sink->audit(sink->ctx, a);
}

pa_rc pa_atna_parse(pa_atna *x, const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                    const struct pa_sink *sink, struct pa_err *err)
{
  size_t skip = 0, first;
  int xrc;

  if (len > PA_MAX_ATNA_MSG)
    return pa_err_set(err, PA_LIMIT, 0, 0, "atna.size: %zu bytes, more than the %u cap", len,
                      (unsigned)PA_MAX_ATNA_MSG);
  if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
    skip = 3;
  /* a BOM mis-converted by a relay arrives as one to three '?' (formats.md
   * §2.4): only right before the document's '<' */
  for (size_t q = skip; q < len && q - skip < 3 && p[q] == '?'; q++)
    if (q + 1 < len && p[q + 1] == '<') {
      skip = q + 1;
      break;
    }
  while (skip < len && (p[skip] == ' ' || p[skip] == '\t' || p[skip] == '\r' || p[skip] == '\n'))
    skip++;
  if (skip == len)
    return pa_err_set(err, PA_MALFORMED, 0, 0, "atna.xml: empty message");

  reset_msg(x);
  if (!x->ctxt || (x->ctxt->dict && xmlDictSize(x->ctxt->dict) > DICT_MAX)) {
    if (x->ctxt)
      xmlFreeParserCtxt(x->ctxt);
    x->ctxt = NULL;
    if (!new_ctxt(x))
      return pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "atna: out of memory");
  }
  /* ASCII-compatible input ('<' first) needs no detection: the declaration
   * names the encoding. Anything else (UTF-16, UCS-4, EBCDIC) gets its first
   * bytes passed to the reset so libxml2 detects it; that path converts the
   * whole input and is about a third slower. */
  first = p[skip] == '<' ? 0 : len - skip < 4 ? len - skip : 4;
  if (xmlCtxtResetPush(x->ctxt, first ? (const char *)p + skip : NULL, (int)first, NULL, NULL) != 0)
    return pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "atna: parser reset failed");
  xmlCtxtUseOptions(x->ctxt, XML_PARSE_NONET | XML_PARSE_NOWARNING);
  if (x->name_dict != (const void *)x->ctxt->dict) {
    memset(x->name_key, 0, sizeof x->name_key);
    x->name_dict = x->ctxt->dict;
  }
  xrc = xmlParseChunk(x->ctxt, (const char *)p + skip + first, (int)(len - skip - first), 1);

  if (x->fail)
    return pa_err_set(err, x->fail, UINT64_MAX, 0, "%s", x->fail_msg);
  if (xrc != 0 || !x->ctxt->wellFormed || x->xerr) {
    if (x->xerr)
      return pa_err_set(err, PA_MALFORMED, x->xoff == UINT64_MAX ? UINT64_MAX : x->xoff + skip,
                        (uint64_t)(x->xline > 0 ? x->xline : 0), "atna.xml: line %d col %d: %s",
                        x->xline, x->xcol, x->xmsg);
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.xml: not well-formed (code %d)", xrc);
  }
  if (x->depth != 0)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "atna.xml: document ended early");
  return finish(x, ctx, sink, err);
}
