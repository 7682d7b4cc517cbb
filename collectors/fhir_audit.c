/* fhir_audit.c — FHIR AuditEvent JSON (see fhir_audit.h).
 *
 * jansson loads the text (duplicate keys rejected); each field is read with
 * its type checked: a wrong type of a required field is PA_MALFORMED, of an
 * optional one a warning. Strings are borrowed from the JSON tree, which
 * lives until the sink call returns; joined lists go to an arena.
 *
 * Mapping decisions (formats.md §3, §5):
 *  - version by shape: DSTU2 (event{}) is refused; R5 when category, code,
 *    an outcome object, occurred[x], authorization, patient, severity, an
 *    agent network{String,Uri,Reference} or a CodeableConcept entity role
 *    is seen; STU3 when agent.userId/reference, entity.identifier/reference
 *    or source.identifier is; R4 otherwise.
 *  - event_code: type (R4/STU3) or category[] (R5; its DCM coding first,
 *    else code): "DCM:<code>" for the DICOM systems
 *    (http://dicom.nema.org/resources/ontology/DCM, http://nema.org/dicom/dicm),
 *    "FHIR:<code>" for audit-event-type (so RESTful events are "FHIR:rest"),
 *    else "<system>:<code>". subtype[] (R5: code) -> event_types.
 *  - outcome: "0"/"4"/"8"/"12"; a JSON number is taken with a warning; R5
 *    outcome.code by code, or success/minor/serious/major.
 *  - ts: period.start (R5 occurredPeriod.start / occurredDateTime) else
 *    recorded.
 *  - agent: user_id = who.identifier.value else who.reference else
 *    who.display (STU3 userId.value, reference.reference); user_name = name
 *    else who.display; roles = type + role[] codings; humanuser / IRCP or a
 *    Practitioner/Patient/RelatedPerson reference -> user_type 1, a Device
 *    reference or 110150 -> 2; network.address/type (R5 networkString,
 *    networkUri); AE title from "AETITLES=" in altId.
 *  - entity: object_id = what.identifier.value else what.reference; type,
 *    role, lifecycle codes (Coding or CodeableConcept); an identifier with
 *    system urn:dicom:uid, or type 110180, is a study (id_type 110180).
 *    Patient: type 1 role 1 (as ATNA), else the first entity referencing
 *    "Patient/<id>", else R5 patient; a "Patient/<id>[/_history/n]"
 *    reference gives <id>.
 *  - source_id = source.observer identifier.value else display else
 *    reference; host = ctx->host else source_id. */
#include "fhir_audit.h"

#include "../analyzer/buf.h"
#include "../analyzer/limits.h"
#include "../analyzer/tm.h"
#include "audit_map.h"

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FHIR_EVENT_TYPE_1 "http://terminology.hl7.org/CodeSystem/audit-event-type"
#define FHIR_EVENT_TYPE_2 "http://hl7.org/fhir/audit-event-type"

struct coding {
  const char *sys, *code, *disp;
};

struct fx {
  const struct pa_msg_ctx *ctx;
  struct pa_arena ar;
  struct pa_warn warn;
  struct pa_buf types, type_names, purposes, src_types, roles, role_names;
  struct pa_participant *parts;
  size_t n_parts, cap_parts;
  struct pa_object *objs;
  size_t n_objs, cap_objs;
  int r5, stu3;
  struct pa_audit out;
};

/* ---- typed reads ---- */

static json_t *get(json_t *o, const char *k) { return json_is_object(o) ? json_object_get(o, k) : NULL; }

static const char *get_str(struct fx *f, json_t *o, const char *k, const char *path)
{
  json_t *v = get(o, k);
  if (!v)
    return NULL;
  if (!json_is_string(v)) {
    pa_warn_add(&f->warn, "fhir.%s.%s: expected a string", path, k);
    return NULL;
  }
  return json_string_value(v);
}

/* o[k] if it is of type t (JSON_OBJECT or JSON_ARRAY); NULL, with a
 * warning, if it is there but of another type. */
static json_t *get_typed(struct fx *f, json_t *o, const char *k, const char *path, json_type t)
{
  json_t *v = get(o, k);
  if (v && json_typeof(v) != t) {
    pa_warn_add(&f->warn, "fhir.%s.%s: expected an %s", path, k,
                t == JSON_OBJECT ? "object" : "array");
    return NULL;
  }
  return v;
}

static json_t *get_obj(struct fx *f, json_t *o, const char *k, const char *path)
{
  return get_typed(f, o, k, path, JSON_OBJECT);
}

static json_t *get_arr(struct fx *f, json_t *o, const char *k, const char *path)
{
  return get_typed(f, o, k, path, JSON_ARRAY);
}

static void one_coding(struct fx *f, json_t *c, const char *path, struct coding *out)
{
  out->sys = get_str(f, c, "system", path);
  out->code = get_str(f, c, "code", path);
  out->disp = get_str(f, c, "display", path);
  if (out->code && !*out->code)
    out->code = NULL;
}

/* Reads a Coding or a CodeableConcept (its DCM coding when prefer_dcm, else
 * its first coding with a code). 1 when a code was found. */
static int read_code(struct fx *f, json_t *v, const char *path, int prefer_dcm, struct coding *out)
{
  json_t *arr, *c;
  size_t i;

  memset(out, 0, sizeof *out);
  if (!v)
    return 0;
  if (!json_is_object(v)) {
    pa_warn_add(&f->warn, "fhir.%s: expected a Coding or CodeableConcept", path);
    return 0;
  }
  arr = get(v, "coding");
  if (!arr) {
    one_coding(f, v, path, out);
    return out->code != NULL;
  }
  if (!json_is_array(arr)) {
    pa_warn_add(&f->warn, "fhir.%s.coding: expected an array", path);
    return 0;
  }
  json_array_foreach(arr, i, c) {
    struct coding t;
    if (!json_is_object(c))
      continue;
    one_coding(f, c, path, &t);
    if (!t.code)
      continue;
    if (!out->code)
      *out = t;
    if (!prefer_dcm)
      break;
    if (t.sys && !strcmp(pa_audit_system(t.sys), "DCM")) {
      *out = t;
      break;
    }
  }
  return out->code != NULL;
}

static int list_has(const struct pa_buf *b, const char *code)
{
  size_t n = strlen(code);
  for (const char *p = pa_buf_str(b); *p;) {
    const char *e = strchr(p, ',');
    size_t l = e ? (size_t)(e - p) : strlen(p);
    if (l == n && !memcmp(p, code, n))
      return 1;
    p = e ? e + 1 : p + l;
  }
  return 0;
}

/* Every coding of a Coding / CodeableConcept into code and name lists. */
static void add_codes(struct fx *f, json_t *v, const char *path, struct pa_buf *codes,
                      struct pa_buf *names)
{
  json_t *arr, *c;
  size_t i;

  if (!v)
    return;
  if (!json_is_object(v)) {
    pa_warn_add(&f->warn, "fhir.%s: expected a Coding or CodeableConcept", path);
    return;
  }
  arr = get(v, "coding");
  if (!arr) {
    struct coding t;
    one_coding(f, v, path, &t);
    if (t.code) {
      pa_audit_list_add(codes, ",", t.code);
      if (names)
        pa_audit_list_add(names, " | ", t.disp ? t.disp : t.code);
    }
    return;
  }
  if (!json_is_array(arr))
    return;
  json_array_foreach(arr, i, c) {
    struct coding t;
    if (!json_is_object(c))
      continue;
    one_coding(f, c, path, &t);
    if (!t.code)
      continue;
    if (!names && list_has(codes, t.code))
      continue; /* purposes: the same code from the event and an agent */
    pa_audit_list_add(codes, ",", t.code);
    if (names)
      pa_audit_list_add(names, " | ", t.disp ? t.disp : t.code);
  }
}

/* An array of Coding / CodeableConcept into lists. */
static void add_code_array(struct fx *f, json_t *o, const char *k, const char *path,
                           struct pa_buf *codes, struct pa_buf *names)
{
  json_t *arr = get_arr(f, o, k, path), *v;
  size_t i;
  char p[64];

  json_array_foreach(arr, i, v) {
    snprintf(p, sizeof p, "%s.%s[%zu]", path, k, i);
    add_codes(f, v, p, codes, names);
  }
}

static int code_int(const struct coding *c, long lo, long hi)
{
  return c->code ? (int)pa_audit_int(c->code, lo, hi) : -1;
}

/* ---- state ---- */

static void fx_init(struct fx *f, const struct pa_msg_ctx *ctx)
{
  memset(f, 0, sizeof *f);
  f->ctx = ctx;
  pa_arena_init(&f->ar, 4u * PA_MAX_FHIR_MSG);
  pa_warn_init(&f->warn);
  pa_buf_init(&f->types, PA_MAX_FHIR_MSG);
  pa_buf_init(&f->type_names, PA_MAX_FHIR_MSG);
  pa_buf_init(&f->purposes, PA_MAX_FHIR_MSG);
  pa_buf_init(&f->src_types, PA_MAX_FHIR_MSG);
  pa_buf_init(&f->roles, PA_MAX_FHIR_MSG);
  pa_buf_init(&f->role_names, PA_MAX_FHIR_MSG);
}

static void fx_reset(struct fx *f)
{
  pa_arena_reset(&f->ar);
  pa_warn_reset(&f->warn);
  pa_buf_reset(&f->types);
  pa_buf_reset(&f->type_names);
  pa_buf_reset(&f->purposes);
  pa_buf_reset(&f->src_types);
  f->n_parts = f->n_objs = 0;
  f->r5 = f->stu3 = 0;
  memset(&f->out, 0, sizeof f->out);
}

static void fx_cleanup(struct fx *f)
{
  pa_arena_cleanup(&f->ar);
  pa_warn_cleanup(&f->warn);
  pa_buf_cleanup(&f->types);
  pa_buf_cleanup(&f->type_names);
  pa_buf_cleanup(&f->purposes);
  pa_buf_cleanup(&f->src_types);
  pa_buf_cleanup(&f->roles);
  pa_buf_cleanup(&f->role_names);
  free(f->parts);
  free(f->objs);
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem)
{
  size_t nc;
  void *np;
  if (n < *cap)
    return 1;
  nc = *cap ? *cap * 2 : 8;
  np = realloc(*arr, nc * elem);
  if (!np)
    return 0;
  *arr = np;
  *cap = nc;
  return 1;
}

/* The next slot, zeroed, of one of f's growable arrays (agents, entities:
 * *arr holding *n of *cap elements) for the JSON value v at path. NULL when v
 * is not an object or the array already holds max (each a warning, the
 * element skipped), or when it cannot grow (f->ar.err = PA_NOMEM). The slot
 * belongs to f, valid until the array next grows or f is reset. */
static void *next_slot(struct fx *f, const json_t *v, const char *path, void **arr, size_t *n,
                       size_t *cap, size_t elem, size_t max, const char *noun)
{
  uint8_t *slot;
  if (!json_is_object(v)) {
    pa_warn_add(&f->warn, "fhir.%s: expected an object", path);
    return NULL;
  }
  if (*n >= max) {
    pa_warn_add(&f->warn, "fhir.limit: more than %zu %s", max, noun);
    return NULL;
  }
  if (!grow(arr, cap, *n, elem)) {
    f->ar.err = PA_NOMEM;
    return NULL;
  }
  slot = (uint8_t *)*arr + *n * elem;
  (*n)++;
  memset(slot, 0, elem);
  return slot;
}

/* ---- version ---- */

static void detect(struct fx *f, json_t *r)
{
  json_t *v;
  size_t i;

  if (get(r, "category") || get(r, "code") || json_is_object(get(r, "outcome")) ||
      get(r, "occurredDateTime") || get(r, "occurredPeriod") || get(r, "authorization") ||
      get(r, "patient") || get(r, "severity"))
    f->r5 = 1;
  json_array_foreach(get(r, "agent"), i, v) {
    if (get(v, "networkString") || get(v, "networkUri") || get(v, "networkReference"))
      f->r5 = 1;
    if (get(v, "userId") || get(v, "reference"))
      f->stu3 = 1;
  }
  json_array_foreach(get(r, "entity"), i, v) {
    if (get(get(v, "role"), "coding"))
      f->r5 = 1;
    if (get(v, "identifier") || get(v, "reference"))
      f->stu3 = 1;
  }
  if (get(get(r, "source"), "identifier"))
    f->stu3 = 1;
  if (f->r5)
    f->stu3 = 0;
}

/* ---- agents and entities ---- */

static int ref_is(const char *ref, const char *type)
{
  size_t n = strlen(type);
  return ref && !strncmp(ref, type, n) && ref[n] == '/';
}

static void read_agent(struct fx *f, json_t *a, size_t idx)
{
  char path[32];
  struct pa_participant *p;
  json_t *who, *net, *ident, *v;
  const char *wref = NULL, *wdisp = NULL, *wid = NULL, *s;

  snprintf(path, sizeof path, "agent[%zu]", idx);
  p = next_slot(f, a, path, (void **)&f->parts, &f->n_parts, &f->cap_parts, sizeof *f->parts,
                PA_MAX_AUDIT_PARTICIPANTS, "agents");
  if (!p)
    return;
  p->user_type = p->net_type = p->net_type_effective = -1;

  who = get_obj(f, a, "who", path);
  if (who) {
    ident = get_obj(f, who, "identifier", path);
    wid = get_str(f, ident, "value", path);
    wref = get_str(f, who, "reference", path);
    wdisp = get_str(f, who, "display", path);
  } else { /* STU3 */
    ident = get_obj(f, a, "userId", path);
    wid = get_str(f, ident, "value", path);
    wref = get_str(f, get_obj(f, a, "reference", path), "reference", path);
  }
  p->user_id = wid && *wid ? wid : wref && *wref ? wref : wdisp && *wdisp ? wdisp : NULL;
  p->alt_user_id = get_str(f, a, "altId", path);
  s = get_str(f, a, "name", path);
  p->user_name = s && *s ? s : wdisp;

  v = get(a, "requestor");
  if (v && json_is_boolean(v))
    p->is_requestor = json_is_true(v);
  else if (v)
    pa_warn_add(&f->warn, "fhir.%s.requestor: expected a boolean", path);

  pa_buf_reset(&f->roles);
  pa_buf_reset(&f->role_names);
  add_codes(f, get(a, "type"), path, &f->roles, &f->role_names);
  add_code_array(f, a, "role", path, &f->roles, &f->role_names);
  p->roles = pa_arena_buf(&f->ar, &f->roles);
  p->role_names = pa_arena_buf(&f->ar, &f->role_names);
  if (p->roles) {
    char *dup = pa_arena_strndup(&f->ar, p->roles, strlen(p->roles));
    for (char *t = dup; t && *t;) {
      char *e = strchr(t, ',');
      if (e)
        *e = '\0';
      if (!strcmp(t, "humanuser") || !strcmp(t, "IRCP"))
        p->user_type = 1;
      else if (!strcmp(t, "110150") && p->user_type < 0)
        p->user_type = 2;
      t = e ? e + 1 : NULL;
    }
  }
  if (p->user_type < 0) {
    if (ref_is(wref, "Practitioner") || ref_is(wref, "Patient") || ref_is(wref, "RelatedPerson") ||
        ref_is(wref, "PractitionerRole"))
      p->user_type = 1;
    else if (ref_is(wref, "Device"))
      p->user_type = 2;
  }

  net = get_obj(f, a, "network", path);
  if (net) {
    p->net_id = get_str(f, net, "address", path);
    s = get_str(f, net, "type", path);
    if (s)
      p->net_type = (int)pa_audit_int(s, 1, 5);
  }
  if (!p->net_id)
    p->net_id = get_str(f, a, "networkString", path);
  if (!p->net_id)
    p->net_id = get_str(f, a, "networkUri", path);
  if (p->net_id && !*p->net_id)
    p->net_id = NULL;
  p->net_type_effective = pa_audit_net_class(p->net_id, p->net_type);
  p->ae_title = pa_audit_aetitle(&f->ar, p->alt_user_id);
  add_code_array(f, a, "purposeOfUse", path, &f->purposes, NULL);
}

/* Where the patient's id starts in a Patient reference, NULL if ref is none:
 * relative ("Patient/p1"), absolute ("https://ehr/fhir/Patient/p1/_history/2")
 * or conditional ("Patient?identifier=sys|p1", the identifier's value). */
static const char *patient_ref_at(const char *ref, size_t *len)
{
  const char *id = NULL, *p;

  if (!ref)
    return NULL;
  if (ref_is(ref, "Patient")) {
    id = ref + 8;
  } else if (!strncmp(ref, "Patient?identifier=", 19)) {
    id = ref + 19;
    if ((p = strchr(id, '|')) && (!strchr(id, '&') || p < strchr(id, '&')))
      id = p + 1;
    *len = strcspn(id, "&");
    return *len ? id : NULL;
  } else if (strstr(ref, "://")) {
    for (p = ref; (p = strstr(p, "/Patient/")); p++)
      id = p + 9;
  }
  if (!id)
    return NULL;
  *len = strcspn(id, "/?#");
  return *len ? id : NULL;
}

static int is_patient_ref(const char *ref)
{
  size_t n;
  return patient_ref_at(ref, &n) != NULL;
}

static const char *patient_ref_id(struct fx *f, const char *ref)
{
  size_t n;
  const char *id = patient_ref_at(ref, &n);
  return id ? pa_arena_strndup(&f->ar, id, n) : NULL;
}

static void read_entity(struct fx *f, json_t *en, size_t idx)
{
  char path[32];
  struct pa_object *o;
  json_t *what, *ident;
  const char *wid = NULL, *wref = NULL, *isys = NULL;
  struct coding c;

  snprintf(path, sizeof path, "entity[%zu]", idx);
  o = next_slot(f, en, path, (void **)&f->objs, &f->n_objs, &f->cap_objs, sizeof *f->objs,
                PA_MAX_AUDIT_OBJECTS, "entities");
  if (!o)
    return;
  o->type_code = o->role_code = o->lifecycle = -1;
  o->n_instances = -1;

  what = get_obj(f, en, "what", path);
  if (what) {
    ident = get_obj(f, what, "identifier", path);
    wref = get_str(f, what, "reference", path);
  } else { /* STU3 */
    ident = get_obj(f, en, "identifier", path);
    wref = get_str(f, get_obj(f, en, "reference", path), "reference", path);
  }
  wid = get_str(f, ident, "value", path);
  isys = get_str(f, ident, "system", path);
  o->object_id = wid && *wid ? wid : wref && *wref ? wref : NULL;

  if (read_code(f, get(en, "type"), path, 0, &c)) {
    o->type_code = code_int(&c, 1, 4);
    o->id_type_code = c.code;
    o->id_type_system = c.sys ? pa_audit_system(c.sys) : NULL;
  }
  if (read_code(f, get(en, "role"), path, 0, &c))
    o->role_code = code_int(&c, 1, 26);
  if (read_code(f, get(en, "lifecycle"), path, 0, &c))
    o->lifecycle = code_int(&c, 1, 15);
  if (read_code(f, get(ident, "type"), path, 1, &c) && !strcmp(c.code, "110180")) {
    o->id_type_code = "110180";
    o->id_type_system = "DCM";
  }
  if (isys && !strcmp(isys, "urn:dicom:uid") && wid) {
    o->id_type_code = "110180";
    o->id_type_system = "DCM";
  }
  if (o->id_type_code && !strcmp(o->id_type_code, "110180") && o->object_id &&
      !strncmp(o->object_id, "urn:oid:", 8))
    o->object_id += 8;
  o->name = get_str(f, en, "name", path);
  o->description = get_str(f, en, "description", path);
  o->query_b64 = get_str(f, en, "query", path);
  pa_audit_cx_split(&f->ar, o);
}

/* ---- one AuditEvent ---- */

static pa_rc outcome_of(struct fx *f, json_t *r, struct pa_audit *a)
{
  json_t *v = get(r, "outcome");
  long n = -1;

  if (!v)
    return PA_OK;
  if (json_is_string(v)) {
    n = pa_audit_int(json_string_value(v), 0, 12);
  } else if (json_is_integer(v)) {
    pa_warn_add(&f->warn, "fhir.outcome: a number, expected a string");
    n = json_integer_value(v) >= 0 && json_integer_value(v) <= 12 ? (long)json_integer_value(v) : -1;
  } else if (json_is_object(v)) { /* R5 */
    struct coding c;
    json_t *d, *det;
    size_t i;
    if (read_code(f, get(v, "code"), "outcome.code", 0, &c)) {
      n = pa_audit_int(c.code, 0, 12);
      if (n < 0)
        n = !strcmp(c.code, "success") ? 0 : !strcmp(c.code, "minor") ? 4
          : !strcmp(c.code, "serious") ? 8 : !strcmp(c.code, "major") ? 12 : -1;
    }
    det = get_arr(f, v, "detail", "outcome");
    json_array_foreach(det, i, d) {
      const char *t = get_str(f, d, "text", "outcome.detail");
      if (t && *t) {
        a->outcome_desc = t;
        break;
      }
    }
  } else {
    pa_warn_add(&f->warn, "fhir.outcome: expected a string");
    return PA_OK;
  }
  if (n == 0 || n == 4 || n == 8 || n == 12)
    a->ev.outcome = (int)n;
  else
    pa_warn_add(&f->warn, "fhir.outcome: not 0/4/8/12");
  return PA_OK;
}

static pa_rc parse_time(struct fx *f, const char *s, const char *what, int64_t *us,
                        struct pa_err *err)
{
  if (pa_time_parse_iso(s, strlen(s), f->ctx ? f->ctx->tz : NULL, us, NULL, NULL) != PA_OK)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.%s: not a time: '%.60s'", what, s);
  return PA_OK;
}

static pa_rc map_event(struct fx *f, json_t *r, struct pa_err *err)
{
  struct pa_audit *a = &f->out;
  struct pa_event *ev = &a->ev;
  json_t *v, *src, *obs;
  struct coding evc = {0};
  const char *s, *tstr = NULL, *twhat = NULL, *sys;
  size_t i;
  pa_rc rc;

  if (get(r, "event") || get(r, "participant"))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0,
                      "fhir.version: DSTU2 AuditEvent (event, participant) is not supported");
  detect(f, r);
  a->format = f->r5 ? "fhir-r5" : f->stu3 ? "fhir-stu3" : "fhir-r4";
  pa_event_init(ev);
  ev->source = "fhir";

  /* event type */
  if (f->r5) {
    json_t *cat = get(r, "category"), *code = get(r, "code");
    if (cat && !json_is_array(cat))
      return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.category: expected an array");
    json_array_foreach(cat, i, v) {
      if (read_code(f, v, "category", 1, &evc))
        break;
    }
    if (evc.code) {
      add_codes(f, code, "code", &f->types, &f->type_names);
    } else if (!read_code(f, code, "code", 1, &evc)) {
      return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.category: missing (and no code)");
    }
  } else {
    v = get(r, "type");
    if (!v)
      return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.type: missing");
    if (!json_is_object(v))
      return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.type: expected a Coding");
    if (!read_code(f, v, "type", 1, &evc))
      return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.type: no code");
    add_code_array(f, r, "subtype", "AuditEvent", &f->types, &f->type_names);
  }
  sys = evc.sys ? pa_audit_system(evc.sys) : NULL;
  if (sys && (!strcmp(sys, FHIR_EVENT_TYPE_1) || !strcmp(sys, FHIR_EVENT_TYPE_2)))
    sys = "FHIR";
  if (!sys && pa_audit_is_dcm_code(evc.code))
    sys = "DCM";
  ev->event_code = pa_audit_event_code(&f->ar, sys, evc.code);
  a->event_id_system = sys;
  a->event_display = evc.disp;

  s = get_str(f, r, "action", "AuditEvent");
  if (s && *s) {
    if (strlen(s) == 1 && strchr("CRUDE", s[0]))
      ev->action = s[0];
    else
      pa_warn_add(&f->warn, "fhir.action: not C/R/U/D/E");
  }
  if ((rc = outcome_of(f, r, a)) != PA_OK)
    return rc;
  if (!a->outcome_desc)
    a->outcome_desc = get_str(f, r, "outcomeDesc", "AuditEvent");

  /* times */
  s = get_str(f, get_obj(f, r, "period", "AuditEvent"), "start", "period");
  if (s) {
    tstr = s;
    twhat = "period.start";
  }
  if (!tstr && (s = get_str(f, get_obj(f, r, "occurredPeriod", "AuditEvent"), "start",
                            "occurredPeriod"))) {
    tstr = s;
    twhat = "occurredPeriod.start";
  }
  if (!tstr && (s = get_str(f, r, "occurredDateTime", "AuditEvent"))) {
    tstr = s;
    twhat = "occurredDateTime";
  }
  v = get(r, "recorded");
  if (v && !json_is_string(v))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.recorded: expected a string");
  if (!tstr && v) {
    tstr = json_string_value(v);
    twhat = "recorded";
  }
  if (!tstr)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.recorded: missing");
  if ((rc = parse_time(f, tstr, twhat, &ev->ts, err)) != PA_OK)
    return rc;

  add_code_array(f, r, "purposeOfEvent", "AuditEvent", &f->purposes, NULL);
  add_code_array(f, r, "authorization", "AuditEvent", &f->purposes, NULL);

  /* agents: required */
  v = get(r, "agent");
  if (!v)
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.agent: missing");
  if (!json_is_array(v))
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.agent: expected an array");
  if (!json_array_size(v))
    pa_warn_add(&f->warn, "fhir.agent: empty");
  {
    json_t *ag;
    json_array_foreach(v, i, ag) read_agent(f, ag, i);
  }
  {
    json_t *arr = get_arr(f, r, "entity", "AuditEvent"), *en;
    json_array_foreach(arr, i, en) read_entity(f, en, i);
  }

  /* source */
  src = get_obj(f, r, "source", "AuditEvent");
  if (src) {
    obs = get_obj(f, src, "observer", "source");
    if (obs) {
      s = get_str(f, get_obj(f, obs, "identifier", "source.observer"), "value", "source.observer");
      if (!s || !*s)
        s = get_str(f, obs, "display", "source.observer");
      if (!s || !*s)
        s = get_str(f, obs, "reference", "source.observer");
      a->source_id = s;
    } else {
      a->source_id = get_str(f, get_obj(f, src, "identifier", "source"), "value", "source");
    }
    v = get(src, "site");
    if (json_is_string(v))
      a->source_site = json_string_value(v);
    else if (json_is_object(v)) { /* R5 Reference */
      a->source_site = get_str(f, v, "display", "source.site");
      if (!a->source_site)
        a->source_site = get_str(f, v, "reference", "source.site");
    } else if (v) {
      pa_warn_add(&f->warn, "fhir.source.site: expected a string");
    }
    add_code_array(f, src, "type", "source", &f->src_types, NULL);
  } else {
    pa_warn_add(&f->warn, "fhir.source: missing");
  }

  if (f->ctx) {
    ev->origin = f->ctx->origin;
    ev->raw_id = f->ctx->raw_id;
    ev->received_ts = f->ctx->received_ts;
    ev->received_via = f->ctx->received_via;
    ev->host = f->ctx->host;
  }
  if (!ev->host)
    ev->host = a->source_id;

  a->event_types = pa_arena_buf(&f->ar, &f->types);
  a->event_type_names = pa_arena_buf(&f->ar, &f->type_names);
  a->purpose = pa_arena_buf(&f->ar, &f->purposes);
  a->source_types = pa_arena_buf(&f->ar, &f->src_types);
  a->participants = f->parts;
  a->n_participants = f->n_parts;
  a->objects = f->objs;
  a->n_objects = f->n_objs;
  pa_audit_derive(a, &f->ar);

  /* patient by reference */
  if (ev->patient_id && is_patient_ref(ev->patient_id))
    ev->patient_id = patient_ref_id(f, ev->patient_id);
  for (i = 0; !ev->patient_id && i < f->n_objs; i++) {
    const struct pa_object *o = &f->objs[i];
    if (o->role_code == 1 || o->role_code < 0)
      ev->patient_id = patient_ref_id(f, o->object_id);
  }
  if (!ev->patient_id) {
    json_t *pt = get_obj(f, r, "patient", "AuditEvent");
    const char *id = get_str(f, get_obj(f, pt, "identifier", "patient"), "value", "patient");
    ev->patient_id = id && *id ? id : patient_ref_id(f, get_str(f, pt, "reference", "patient"));
  }
  a->warnings = pa_warn_json(&f->warn, &f->ar);
  if (f->ar.err)
    return pa_err_set(err, f->ar.err, UINT64_MAX, 0, "fhir: %s", pa_strerror(f->ar.err));
  return PA_OK;
}

/* ---- entry points ---- */

pa_rc pa_fhir_parse_ex(const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                       const struct pa_sink *sink, size_t *n_out, size_t *skipped_out,
                       struct pa_err *err)
{
  json_error_t je;
  json_t *root = NULL, *v;
  const char *rt;
  struct fx f;
  size_t n = 0, skipped = 0, skip = 0;
  pa_rc rc = PA_OK, first_bad = PA_OK;
  struct pa_err bad_err;

  if (n_out)
    *n_out = 0;
  if (skipped_out)
    *skipped_out = 0;
  if (len > PA_MAX_FHIR_MSG)
    return pa_err_set(err, PA_LIMIT, 0, 0, "fhir.size: %zu bytes, more than the %u cap", len,
                      (unsigned)PA_MAX_FHIR_MSG);
  if (len >= 3 && p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF)
    skip = 3;
  root = json_loadb((const char *)p + skip, len - skip, JSON_REJECT_DUPLICATES, &je);
  if (!root)
    return pa_err_set(err, PA_MALFORMED, je.position >= 0 ? (uint64_t)je.position + skip : UINT64_MAX,
                      je.line > 0 ? (uint64_t)je.line : 0, "fhir.json: line %d col %d: %s", je.line,
                      je.column, je.text);
  if (!json_is_object(root)) {
    json_decref(root);
    return pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.resourceType: not a JSON object");
  }
  v = json_object_get(root, "resourceType");
  rt = json_is_string(v) ? json_string_value(v) : NULL;
  if (!rt || (strcmp(rt, "AuditEvent") && strcmp(rt, "Bundle"))) {
    rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0,
                    "fhir.resourceType: '%.40s', expected AuditEvent or Bundle",
                    rt ? rt : "(missing)"); /* before the decref: rt lives in root */
    json_decref(root);
    return rc;
  }

  fx_init(&f, ctx);
  if (!strcmp(rt, "AuditEvent")) {
    rc = map_event(&f, root, err);
    if (rc == PA_OK && sink && sink->audit) {
      rc = sink->audit(sink->ctx, &f.out);
      if (rc == PA_OK)
        n++;
    }
  } else {
    json_t *entries = json_object_get(root, "entry"), *e;
    size_t i;
    pa_err_clear(&bad_err);
    if (entries && !json_is_array(entries)) {
      rc = pa_err_set(err, PA_MALFORMED, UINT64_MAX, 0, "fhir.Bundle.entry: expected an array");
    } else {
      json_array_foreach(entries, i, e) {
        json_t *res = get(e, "resource");
        json_t *et = get(res, "resourceType");
        pa_rc r;
        if (!json_is_string(et) || strcmp(json_string_value(et), "AuditEvent")) {
          skipped++;
          continue;
        }
        fx_reset(&f);
        r = map_event(&f, res, &bad_err);
        if (r == PA_MALFORMED || r == PA_LIMIT) {
          if (first_bad == PA_OK) {
            first_bad = r;
            if (err) {
              *err = bad_err;
              err->item = i + 1;
            }
          }
          continue;
        }
        if (r == PA_OK && sink && sink->audit)
          r = sink->audit(sink->ctx, &f.out);
        if (r != PA_OK) {
          rc = r;
          if (r == PA_NOMEM)
            pa_err_set(err, r, UINT64_MAX, i + 1, "fhir: out of memory");
          break;
        }
        n++;
      }
      if (rc == PA_OK)
        rc = first_bad;
    }
  }
  fx_cleanup(&f);
  json_decref(root);
  if (n_out)
    *n_out = n;
  if (skipped_out)
    *skipped_out = skipped;
  return rc;
}

pa_rc pa_fhir_parse(const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                    const struct pa_sink *sink, size_t *n_out, struct pa_err *err)
{
  return pa_fhir_parse_ex(p, len, ctx, sink, n_out, NULL, err);
}
