/* dicom_ds.h — DICOM dataset element reader (PS3.5 section 7) over a byte buffer.
 *
 * Used by dicom_ul for the DIMSE command set (implicit VR little endian,
 * group 0000), the identifiers of C-FIND/C-MOVE/C-GET and the leading
 * elements of C-STORE datasets. It only walks elements; it never allocates
 * except to append JSON text to a caller's pa_buf.
 *
 * Sequences are walked flat: a sequence or item of defined length is skipped
 * whole; one of undefined length is entered (depth + 1) and left at its
 * delimitation item (FFFE,E00D / FFFE,E0DD). Elements inside sequences are
 * returned with depth > 0 so callers can ignore them. */
#ifndef PA_DICOM_DS_H
#define PA_DICOM_DS_H

#include "../analyzer/buf.h"
#include "../analyzer/err.h"
#include "../analyzer/limits.h"
#include "../analyzer/rd.h"

#include <stddef.h>
#include <stdint.h>

enum pa_dicom_ts {
  PA_DICOM_TS_UNKNOWN = 0,
  PA_DICOM_TS_IMPLICIT_LE, /* 1.2.840.10008.1.2 */
  PA_DICOM_TS_EXPLICIT_LE, /* 1.2.840.10008.1.2.1 and encapsulated TSs */
  PA_DICOM_TS_EXPLICIT_BE, /* 1.2.840.10008.1.2.2 (retired) */
  PA_DICOM_TS_DEFLATED     /* 1.2.840.10008.1.2.1.99: not decoded */
};

/* The encoding of datasets sent in transfer syntax uid (NUL-terminated,
 * trimmed). "" gives PA_DICOM_TS_UNKNOWN. */
enum pa_dicom_ts pa_dicom_ts_of_uid(const char *uid);

/* A guess from the first bytes of a little-endian dataset: explicit when
 * bytes 4..5 are a known VR, implicit otherwise. */
enum pa_dicom_ts pa_dicom_ts_sniff(const uint8_t *p, size_t len);

/* Elements nest at most this deep in depth units: one for a sequence of
 * undefined length and one for each of its items of undefined length. */
#define PA_DICOM_DS_MAX_DEPTH (2u * PA_MAX_DS_DEPTH)

struct pa_dicom_ds_walk {
  struct pa_rd r;       /* borrowed bytes; r.off = next element */
  enum pa_dicom_ts ts;  /* IMPLICIT_LE, EXPLICIT_LE or EXPLICIT_BE */
  unsigned depth;       /* sequence/item nesting at r.off */
};

struct pa_dicom_ds_elem {
  uint16_t group, element;
  char vr[3];          /* explicit VR, or the dictionary VR for implicit, "" unknown */
  uint32_t len;        /* value length in bytes, 0xFFFFFFFF undefined */
  const uint8_t *val;  /* borrowed value (len bytes), NULL when undefined */
  unsigned depth;      /* 0 = top level of the dataset */
  int is_seq;          /* SQ (or any element of undefined length) */
};

void pa_dicom_ds_walk_init(struct pa_dicom_ds_walk *w, const uint8_t *p,
                           size_t len, enum pa_dicom_ts ts);

/* The next data element (item and delimitation tags are consumed inside).
 * Returns PA_OK; PA_NEED_MORE when the buffer ends inside an element (the
 * walker stays at that element's start, so it can be resumed over a longer
 * copy of the same bytes by updating w->r.p/w->r.len); PA_MALFORMED (bad VR,
 * stray delimiter) or PA_LIMIT (nesting deeper than PA_DICOM_DS_MAX_DEPTH). */
pa_rc pa_dicom_ds_next(struct pa_dicom_ds_walk *w, struct pa_dicom_ds_elem *e);

/* Keyword of a tag from the small table of query keys, or NULL. vr_out (may
 * be NULL) receives its VR ("" if not in the table). */
const char *pa_dicom_ds_keyword(uint16_t group, uint16_t element, const char **vr_out);

/* Copies a DICOM string value into dst (size >= 1) NUL-terminated:
 * trailing spaces and NULs trimmed (and leading spaces when trim_lead),
 * control bytes replaced by '?', truncated to fit. */
void pa_dicom_copy_str(char *dst, size_t size, const uint8_t *v, size_t n, int trim_lead);

/* Appends v (n bytes) as a JSON string literal, quotes included: '"', '\\'
 * and control bytes escaped, valid UTF-8 kept, other bytes >= 0x80 written
 * as \u00XX of the byte. Returns PA_OK, PA_LIMIT (b's cap) or PA_NOMEM. */
pa_rc pa_dicom_json_str(struct pa_buf *b, const uint8_t *v, size_t n);

/* What was read from an identifier. */
struct pa_dicom_ident {
  char patient_id[65];
  char study_uid[65];
  const char *anomaly; /* static anomaly name when the identifier could not be
                          read to its end (the JSON then holds what was read), or NULL */
};

/* Decodes identifier p (len bytes, encoding ts) into a JSON object appended to
 * json (keys: keyword or "(GGGG,EEEE)"; values: trimmed strings, numbers for
 * US/SS/UL/SL, "[sequence]", "[binary]"), stopping before json's cap is hit.
 * json always ends up holding a complete object. Returns PA_OK or PA_NOMEM;
 * decode problems are reported in id->anomaly. */
pa_rc pa_dicom_ident_decode(const uint8_t *p, size_t len, enum pa_dicom_ts ts,
                            struct pa_buf *json, struct pa_dicom_ident *id);

#endif
