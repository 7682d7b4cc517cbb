/* audit_map.h — pieces shared by the audit-message parsers (atna_xml,
 * fhir_audit): a per-message string arena, a capped warnings list, code and
 * address helpers, and the derivation of the events row (user, addresses,
 * AE titles, patient, study) from the participants and objects.
 *
 * Pure functions over strings; no I/O. Collectors-internal: the CLI and the
 * store never include this. */
#ifndef PA_AUDIT_MAP_H
#define PA_AUDIT_MAP_H

#include "../analyzer/buf.h"
#include "../analyzer/err.h"
#include "../analyzer/event.h"

#include <stddef.h>
#include <stdint.h>

/* ---- arena: strings that live until the next message ---- */

struct pa_arena_blk;

/* Bump allocator in blocks. Pointers stay valid until pa_arena_reset or
 * pa_arena_cleanup. cap bounds the bytes handed out between resets; going
 * over (or malloc failing) makes every later call return NULL and sets err
 * (PA_LIMIT / PA_NOMEM), so callers check err once at the end. */
struct pa_arena {
  struct pa_arena_blk *head; /* owned list, newest first */
  size_t used;               /* bytes handed out since the last reset */
  size_t cap;
  pa_rc err;                 /* first failure since the last reset */
};

void pa_arena_init(struct pa_arena *a, size_t cap);
/* Frees every block but the first, which is kept for the next message. */
void pa_arena_reset(struct pa_arena *a);
void pa_arena_cleanup(struct pa_arena *a);
/* Copy of s[0..n) plus a NUL, owned by the arena; NULL on failure. */
char *pa_arena_strndup(struct pa_arena *a, const char *s, size_t n);
/* Same, with leading and trailing ASCII whitespace removed. */
const char *pa_arena_trimdup(struct pa_arena *a, const char *s, size_t n);
/* The contents of b as an arena string (NULL when b is empty). */
const char *pa_arena_buf(struct pa_arena *a, const struct pa_buf *b);

/* ---- warnings: a JSON array of strings, capped ---- */

struct pa_warn {
  struct pa_buf buf; /* owned: "[\"...\",\"...\"" without the closing ']' */
  size_t n;          /* warnings added, including those past the cap */
};

void pa_warn_init(struct pa_warn *w);
void pa_warn_reset(struct pa_warn *w);
void pa_warn_cleanup(struct pa_warn *w);
/* Adds one warning (printf style, JSON-escaped); past PA_MAX_AUDIT_WARNINGS
 * it is only counted. Never fails: a warning that does not fit is dropped. */
void pa_warn_add(struct pa_warn *w, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* The JSON array ("[...]", with a final "+N more" entry when capped), an
 * arena string; NULL when there are no warnings. */
const char *pa_warn_json(struct pa_warn *w, struct pa_arena *a);

/* ---- value helpers ---- */

/* xsd:boolean, case-insensitive: true/false/1/0 -> 1/0; -1 otherwise. */
int pa_audit_bool(const char *s);
/* Decimal integer in [lo, hi] (surrounding whitespace allowed); else -1. */
long pa_audit_int(const char *s, long lo, long hi);
/* Re-classifies a network access point by content: 2 IPv4/IPv6 address
 * (also with a port: "192.0.2.33:104", "[2001:db8::1]:104"; the events row
 * gets the address alone),
 * 5 URI ("scheme://"), 4 e-mail, 3 phone, 1 DNS name; -1 empty. sent is
 * the type as sent (-1 absent), used only for phone/e-mail hints. */
int pa_audit_net_class(const char *s, int sent);
/* "DCM" for the DICOM code system by any of its names (DCM, DICOM, its OID,
 * the FHIR URIs); otherwise s itself (may be NULL). */
const char *pa_audit_system(const char *s);
/* 1 when code looks like a DICOM controlled term (110xxx, 113xxx). */
int pa_audit_is_dcm_code(const char *code);
/* "SYS:code" (arena string): SYS from pa_audit_system(system), "DCM" implied
 * for 110xxx/113xxx when system is NULL/empty; just "code" when the system
 * is unknown. NULL when code is NULL/empty. */
const char *pa_audit_event_code(struct pa_arena *a, const char *system, const char *code);
/* The first AE title of "AETITLES=A;B" (or "AETITLE=A") anywhere in s, as an
 * arena string; NULL when there is none. */
const char *pa_audit_aetitle(struct pa_arena *a, const char *s);
/* Fills o->cx_id, cx_namespace, cx_universal_id from o->object_id when it
 * is an HL7 CX string (contains '^'). */
void pa_audit_cx_split(struct pa_arena *a, struct pa_object *o);
/* Appends item to a separated list in b (no separator before the first).
 * The separator inside item is written with ',' as ';' and '|' as '/', so
 * that the list splits back into the same items. Returns PA_OK or
 * PA_LIMIT/PA_NOMEM. */
pa_rc pa_audit_list_add(struct pa_buf *b, const char *sep, const char *item);
/* 1 when the comma-separated list (may be NULL) holds code as one item. */
int pa_audit_list_has(const char *list, const char *code);

/* ---- the events row ---- */

/* The events row's event_type of an EventTypeCode list (a->event_types):
 * its first item, written "DCM:<code>" when it is a DICOM 110xxx code
 * (what schema migration 6 computes for rows stored before it), else as
 * sent. An arena string; NULL when the list is NULL or empty. */
const char *pa_audit_event_type(struct pa_arena *a, const char *event_types);

/* Fills a->ev.event_type (pa_audit_event_type of a->event_types), and
 * a->ev.user_id/user_name/user_role, src_ip/src_ae, dst_ip/dst_ae,
 * patient_id, study_uid and object_count from a->participants and
 * a->objects (formats.md §1.5):
 *  - requestor: among participants with is_requestor, the first human one
 *    (user_type 1, user_id_type 113871, a user name, or an RBAC role, i.e.
 *    one that is not a participant kind: 110150..110155, humanuser, IRCP...;
 *    user_type 2 / user_id_type 110119, 113877, 110182 are never human), else the first requestor; none -> user unknown.
 *  - user_role: the requestor's first RBAC role (its name, else its code);
 *    participant kinds (110150..110155, humanuser, IRCP...) are not roles.
 *  - source: the first participant with role 110153, else the requestor;
 *    src_ip is its network access point when that is an IP or DNS name
 *    (never a URI: they may carry credentials), else the requestor's;
 *    src_ae its AE title, else the requestor's.
 *  - destination: the first participant with role 110152.
 *  - patient: the first object with type 1 and role 1 (its CX id, "<none>"
 *    and empty ids ignored); study: the first object with id type 110180,
 *    else the first contained study UID; object_count: the sum of
 *    n_instances (-1 when no object tells).
 * Strings point into the participants/objects or the arena. */
void pa_audit_derive(struct pa_audit *a, struct pa_arena *ar);

#endif
