/* dicom_ds.c — DICOM dataset element reader and identifier-to-JSON.
 *
 * Part of collectors/: dicom_ul hands it command sets, identifiers and the
 * head of C-STORE datasets as byte buffers. Everything is read through the
 * bounded reader; nothing here trusts a length. */
#include "dicom_ds.h"
#include "analyzer/utf8.h"

#include <string.h>

/* ---- transfer syntaxes ------------------------------------------------ */

enum pa_dicom_ts pa_dicom_ts_of_uid(const char *uid)
{
  if (!uid || !uid[0])
    return PA_DICOM_TS_UNKNOWN;
  if (strcmp(uid, "1.2.840.10008.1.2") == 0)
    return PA_DICOM_TS_IMPLICIT_LE;
  if (strcmp(uid, "1.2.840.10008.1.2.2") == 0)
    return PA_DICOM_TS_EXPLICIT_BE;
  if (strcmp(uid, "1.2.840.10008.1.2.1.99") == 0)
    return PA_DICOM_TS_DEFLATED;
  /* explicit VR LE, and every encapsulated (compressed) transfer syntax,
   * whose dataset outside the pixel data is explicit VR LE (PS3.5 A.4) */
  return PA_DICOM_TS_EXPLICIT_LE;
}

/* VRs whose explicit encoding has 2 reserved bytes and a 32-bit length. */
static int vr_is_long(const char *vr)
{
  static const char *const l[] = { "OB", "OD", "OF", "OL", "OV", "OW", "SQ",
                                   "SV", "UC", "UN", "UR", "UT", "UV" };
  for (size_t i = 0; i < sizeof l / sizeof l[0]; i++)
    if (vr[0] == l[i][0] && vr[1] == l[i][1])
      return 1;
  return 0;
}

static int vr_is_known(const uint8_t *b)
{
  static const char *const all[] = {
    "AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT",
    "OB", "OD", "OF", "OL", "OV", "OW", "PN", "SH", "SL", "SQ", "SS", "ST",
    "SV", "TM", "UC", "UI", "UL", "UN", "UR", "US", "UT", "UV" };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    if (b[0] == (uint8_t)all[i][0] && b[1] == (uint8_t)all[i][1])
      return 1;
  return 0;
}

enum pa_dicom_ts pa_dicom_ts_sniff(const uint8_t *p, size_t len)
{
  if (len >= 6 && vr_is_known(p + 4))
    return PA_DICOM_TS_EXPLICIT_LE;
  return PA_DICOM_TS_IMPLICIT_LE;
}

/* ---- keyword table ---------------------------------------------------- */

struct kw {
  uint16_t group, element;
  const char *vr;
  const char *name;
};

/* The usual query/retrieve keys (PS3.4 C.6) and a few neighbours, sorted by tag. */
static const struct kw kws[] = {
  { 0x0008, 0x0005, "CS", "SpecificCharacterSet" },
  { 0x0008, 0x0016, "UI", "SOPClassUID" },
  { 0x0008, 0x0018, "UI", "SOPInstanceUID" },
  { 0x0008, 0x0020, "DA", "StudyDate" },
  { 0x0008, 0x0021, "DA", "SeriesDate" },
  { 0x0008, 0x0030, "TM", "StudyTime" },
  { 0x0008, 0x0031, "TM", "SeriesTime" },
  { 0x0008, 0x0050, "SH", "AccessionNumber" },
  { 0x0008, 0x0052, "CS", "QueryRetrieveLevel" },
  { 0x0008, 0x0054, "AE", "RetrieveAETitle" },
  { 0x0008, 0x0056, "CS", "InstanceAvailability" },
  { 0x0008, 0x0060, "CS", "Modality" },
  { 0x0008, 0x0061, "CS", "ModalitiesInStudy" },
  { 0x0008, 0x0062, "UI", "SOPClassesInStudy" },
  { 0x0008, 0x0080, "LO", "InstitutionName" },
  { 0x0008, 0x0090, "PN", "ReferringPhysicianName" },
  { 0x0008, 0x0201, "SH", "TimezoneOffsetFromUTC" },
  { 0x0008, 0x1030, "LO", "StudyDescription" },
  { 0x0008, 0x103E, "LO", "SeriesDescription" },
  { 0x0008, 0x1032, "SQ", "ProcedureCodeSequence" },
  { 0x0008, 0x1110, "SQ", "ReferencedStudySequence" },
  { 0x0008, 0x1111, "SQ", "ReferencedPerformedProcedureStepSequence" },
  { 0x0008, 0x1120, "SQ", "ReferencedPatientSequence" },
  { 0x0010, 0x0010, "PN", "PatientName" },
  { 0x0010, 0x0020, "LO", "PatientID" },
  { 0x0010, 0x0021, "LO", "IssuerOfPatientID" },
  { 0x0010, 0x0030, "DA", "PatientBirthDate" },
  { 0x0010, 0x0040, "CS", "PatientSex" },
  { 0x0010, 0x1000, "LO", "OtherPatientIDs" },
  { 0x0010, 0x1002, "SQ", "OtherPatientIDsSequence" },
  { 0x0010, 0x1010, "AS", "PatientAge" },
  { 0x0020, 0x000D, "UI", "StudyInstanceUID" },
  { 0x0020, 0x000E, "UI", "SeriesInstanceUID" },
  { 0x0020, 0x0010, "SH", "StudyID" },
  { 0x0020, 0x0011, "IS", "SeriesNumber" },
  { 0x0020, 0x0013, "IS", "InstanceNumber" },
  { 0x0020, 0x1200, "IS", "NumberOfPatientRelatedStudies" },
  { 0x0020, 0x1202, "IS", "NumberOfPatientRelatedSeries" },
  { 0x0020, 0x1204, "IS", "NumberOfPatientRelatedInstances" },
  { 0x0020, 0x1206, "IS", "NumberOfStudyRelatedSeries" },
  { 0x0020, 0x1208, "IS", "NumberOfStudyRelatedInstances" },
  { 0x0020, 0x1209, "IS", "NumberOfSeriesRelatedInstances" },
  { 0x0032, 0x1060, "LO", "RequestedProcedureDescription" },
  { 0x0040, 0x0100, "SQ", "ScheduledProcedureStepSequence" },
  { 0x0040, 0x0275, "SQ", "RequestAttributesSequence" },
  { 0x0040, 0xA730, "SQ", "ContentSequence" },
};

const char *pa_dicom_ds_keyword(uint16_t group, uint16_t element, const char **vr_out)
{
  for (size_t i = 0; i < sizeof kws / sizeof kws[0]; i++) {
    if (kws[i].group == group && kws[i].element == element) {
      if (vr_out)
        *vr_out = kws[i].vr;
      return kws[i].name;
    }
  }
  if (vr_out)
    *vr_out = "";
  return NULL;
}

/* ---- element walker --------------------------------------------------- */

void pa_dicom_ds_walk_init(struct pa_dicom_ds_walk *w, const uint8_t *p,
                           size_t len, enum pa_dicom_ts ts)
{
  pa_rd_init(&w->r, p, len);
  w->ts = ts;
  w->depth = 0;
}

static pa_rc rd16(struct pa_dicom_ds_walk *w, uint16_t *v)
{
  return w->ts == PA_DICOM_TS_EXPLICIT_BE ? pa_rd_u16be(&w->r, v) : pa_rd_u16le(&w->r, v);
}

static pa_rc rd32(struct pa_dicom_ds_walk *w, uint32_t *v)
{
  return w->ts == PA_DICOM_TS_EXPLICIT_BE ? pa_rd_u32be(&w->r, v) : pa_rd_u32le(&w->r, v);
}

#define UNDEF_LEN 0xFFFFFFFFu

pa_rc pa_dicom_ds_next(struct pa_dicom_ds_walk *w, struct pa_dicom_ds_elem *e)
{
  for (;;) {
    size_t start = w->r.off;
    uint16_t g, el;
    uint32_t len;
    const uint8_t *b;

    if (rd16(w, &g) || rd16(w, &el))
      goto need_more;

    if (g == 0xFFFE) {
      /* item (E000), item delimitation (E00D), sequence delimitation (E0DD):
       * no VR in any transfer syntax, 32-bit length */
      if (rd32(w, &len))
        goto need_more;
      if (el == 0xE000) {
        if (w->depth == 0)
          return PA_MALFORMED; /* an item outside any sequence */
        if (len == UNDEF_LEN) {
          if (w->depth >= PA_DICOM_DS_MAX_DEPTH)
            return PA_LIMIT;
          w->depth++;
        } else if (pa_rd_skip(&w->r, len)) {
          goto need_more;
        }
        continue;
      }
      if (el == 0xE00D || el == 0xE0DD) {
        if (w->depth == 0)
          return PA_MALFORMED;
        w->depth--;
        continue;
      }
      return PA_MALFORMED;
    }

    e->group = g;
    e->element = el;
    e->depth = w->depth;
    e->vr[0] = 0;
    if (w->ts == PA_DICOM_TS_IMPLICIT_LE) {
      const char *vr;
      if (rd32(w, &len))
        goto need_more;
      pa_dicom_ds_keyword(g, el, &vr);
      if (vr[0]) {
        e->vr[0] = vr[0];
        e->vr[1] = vr[1];
        e->vr[2] = 0;
      }
    } else {
      if (pa_rd_bytes(&w->r, 2, &b))
        goto need_more;
      if (b[0] < 'A' || b[0] > 'Z' || b[1] < 'A' || b[1] > 'Z')
        return PA_MALFORMED;
      e->vr[0] = (char)b[0];
      e->vr[1] = (char)b[1];
      e->vr[2] = 0;
      if (vr_is_long(e->vr)) {
        if (pa_rd_skip(&w->r, 2) || rd32(w, &len))
          goto need_more;
      } else {
        uint16_t l16;
        if (rd16(w, &l16))
          goto need_more;
        len = l16;
      }
    }
    e->len = len;
    e->is_seq = (e->vr[0] == 'S' && e->vr[1] == 'Q') || len == UNDEF_LEN;
    if (len == UNDEF_LEN) {
      /* a sequence (or encapsulated/UN value) of undefined length: enter it */
      if (w->depth >= PA_DICOM_DS_MAX_DEPTH)
        return PA_LIMIT;
      e->val = NULL;
      w->depth++;
      return PA_OK;
    }
    if (pa_rd_bytes(&w->r, len, &e->val))
      goto need_more;
    return PA_OK;

  need_more:
    w->r.off = start;
    return PA_NEED_MORE;
  }
}

/* ---- strings and JSON ------------------------------------------------- */

void pa_dicom_copy_str(char *dst, size_t size, const uint8_t *v, size_t n, int trim_lead)
{
  size_t i = 0, o = 0;

  while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == 0))
    n--;
  if (trim_lead)
    while (i < n && v[i] == ' ')
      i++;
  for (; i < n && o + 1 < size; i++, o++) {
    uint8_t c = v[i];
    dst[o] = (c < 0x20 || c == 0x7F) ? '?' : (char)c;
  }
  dst[o] = 0;
}

pa_rc pa_dicom_json_str(struct pa_buf *b, const uint8_t *v, size_t n)
{
  static const char hex[] = "0123456789abcdef";
  pa_rc rc;
  size_t i = 0, run;

  if ((rc = pa_buf_append(b, "\"", 1)))
    return rc;
  while (i < n) {
    /* copy the longest run of bytes that need no escaping in one append */
    run = 0;
    while (i + run < n) {
      uint8_t c = v[i + run];
      if (c < 0x20 || c == '"' || c == '\\' || c == 0x7F)
        break;
      if (c >= 0x80) {
        size_t u = pa_utf8_seq_len(v + i + run, n - i - run);
        if (!u)
          break;
        run += u;
        continue;
      }
      run++;
    }
    if (run) {
      if ((rc = pa_buf_append(b, v + i, run)))
        return rc;
      i += run;
      continue;
    }
    uint8_t c = v[i++];
    char esc[6];
    if (c == '"' || c == '\\') {
      esc[0] = '\\';
      esc[1] = (char)c;
      rc = pa_buf_append(b, esc, 2);
    } else {
      esc[0] = '\\';
      esc[1] = 'u';
      esc[2] = '0';
      esc[3] = '0';
      esc[4] = hex[c >> 4];
      esc[5] = hex[c & 15];
      rc = pa_buf_append(b, esc, 6);
    }
    if (rc)
      return rc;
  }
  return pa_buf_append(b, "\"", 1);
}

/* ---- identifier to JSON ----------------------------------------------- */

static int vr_is(const char *vr, const char *x) { return vr[0] == x[0] && vr[1] == x[1]; }

static int vr_is_text(const char *vr)
{
  static const char *const t[] = { "AE", "AS", "CS", "DA", "DS", "DT", "IS", "LO",
                                   "LT", "PN", "SH", "ST", "TM", "UC", "UI", "UR", "UT" };
  for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
    if (vr_is(vr, t[i]))
      return 1;
  return 0;
}

/* Does an untyped (implicit VR, not in the table) value look like text? */
static int looks_text(const uint8_t *v, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    uint8_t c = v[i];
    if (c < 0x20 && c != 0x1B && c != '\r' && c != '\n' && c != '\t' && c != '\f' &&
        !(c == 0 && i + 1 == n))
      return 0;
  }
  return 1;
}

static pa_rc put_value(struct pa_buf *t, const struct pa_dicom_ds_elem *e, enum pa_dicom_ts ts)
{
  const char *vr = e->vr;
  size_t n = e->len;
  const uint8_t *v = e->val;

  if (e->is_seq)
    return pa_buf_append(t, "\"[sequence]\"", 12);
  if (vr[0] == 0 ? looks_text(v, n) : vr_is_text(vr)) {
    while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == 0))
      n--;
    return pa_dicom_json_str(t, v, n);
  }
  if (n == 0)
    return pa_buf_append(t, "\"\"", 2);
  int be = ts == PA_DICOM_TS_EXPLICIT_BE;
  if ((vr_is(vr, "US") || vr_is(vr, "SS")) && n == 2) {
    unsigned u = be ? (unsigned)(v[0] << 8 | v[1]) : (unsigned)(v[1] << 8 | v[0]);
    long x = vr_is(vr, "SS") ? (long)(int16_t)u : (long)u;
    return pa_buf_appendf(t, "%ld", x);
  }
  if ((vr_is(vr, "UL") || vr_is(vr, "SL")) && n == 4) {
    uint32_t u = be ? (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 | (uint32_t)v[2] << 8 | v[3]
                    : (uint32_t)v[3] << 24 | (uint32_t)v[2] << 16 | (uint32_t)v[1] << 8 | v[0];
    long long x = vr_is(vr, "SL") ? (long long)(int32_t)u : (long long)u;
    return pa_buf_appendf(t, "%lld", x);
  }
  return pa_buf_append(t, "\"[binary]\"", 10);
}

pa_rc pa_dicom_ident_decode(const uint8_t *p, size_t len, enum pa_dicom_ts ts,
                            struct pa_buf *json, struct pa_dicom_ident *id)
{
  struct pa_dicom_ds_walk w;
  struct pa_dicom_ds_elem e;
  struct pa_buf t;
  uint32_t last = 0;
  int first = 1, any = 0;
  pa_rc rc = PA_OK;

  id->patient_id[0] = 0;
  id->study_uid[0] = 0;
  id->anomaly = NULL;
  pa_buf_init(&t, json->cap);
  /* "{" + "}" must always fit: keep 2 bytes back for them */
  if (json->cap < 2 || json->len > json->cap - 2) {
    id->anomaly = "dicom_ul.query_too_large";
    return PA_OK;
  }
  if ((rc = pa_buf_append(json, "{", 1)))
    goto out;
  if (ts == PA_DICOM_TS_DEFLATED || ts == PA_DICOM_TS_UNKNOWN) {
    id->anomaly = "dicom_ul.deflated_dataset";
    goto close;
  }
  pa_dicom_ds_walk_init(&w, p, len, ts);
  for (;;) {
    pa_rc r = pa_dicom_ds_next(&w, &e);
    if (r == PA_NEED_MORE) {
      if (pa_rd_left(&w.r) > 0)
        id->anomaly = "dicom_ul.bad_identifier";
      break;
    }
    if (r != PA_OK) {
      id->anomaly = r == PA_LIMIT ? "dicom_ul.ds_too_deep" : "dicom_ul.bad_identifier";
      break;
    }
    if (e.depth > 0 || e.element == 0x0000)
      continue; /* inside a sequence, or a group length */
    uint32_t tag = (uint32_t)e.group << 16 | e.element;
    if (any && tag <= last) {
      /* tags must ascend (PS3.5 7.1); this also keeps JSON keys unique */
      id->anomaly = "dicom_ul.bad_identifier";
      break;
    }
    last = tag;
    any = 1;
    if (!e.is_seq) {
      if (tag == 0x00100020)
        pa_dicom_copy_str(id->patient_id, sizeof id->patient_id, e.val, e.len, 1);
      else if (tag == 0x0020000D)
        pa_dicom_copy_str(id->study_uid, sizeof id->study_uid, e.val, e.len, 1);
    }

    /* one "key":value pair into t, then into json if it fits */
    const char *kw = pa_dicom_ds_keyword(e.group, e.element, NULL);
    pa_buf_reset(&t);
    rc = pa_buf_appendf(&t, "%s\"", first ? "" : ",");
    if (!rc) {
      if (kw)
        rc = pa_buf_appendf(&t, "%s\":", kw);
      else
        rc = pa_buf_appendf(&t, "(%04X,%04X)\":", e.group, e.element);
    }
    if (!rc)
      rc = put_value(&t, &e, ts);
    if (rc == PA_LIMIT || (!rc && t.len > json->cap - 1 - json->len)) {
      id->anomaly = "dicom_ul.query_too_large";
      rc = PA_OK;
      break;
    }
    if (rc)
      goto out;
    if ((rc = pa_buf_append(json, t.p, t.len)))
      goto out;
    first = 0;
  }
close:
  rc = pa_buf_append(json, "}", 1);
out:
  pa_buf_cleanup(&t);
  return rc;
}
