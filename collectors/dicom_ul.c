/* dicom_ul.c — DICOM Upper Layer (PS3.8) and DIMSE (PS3.7) decoder.
 *
 * Part of collectors/: pcap_source feeds it the two reassembled byte streams
 * of a DICOM connection; it hands associations, presentation contexts, DIMSE
 * requests and events to a pa_sink.
 *
 * Each direction runs its own streaming state machine:
 *   S_HDR    collecting the 6-byte PDU header (type, reserved, 32-bit BE length)
 *   S_CTRL   buffering a control PDU (A-ASSOCIATE-RQ/AC/RJ, A-RELEASE-RQ/RP,
 *            A-ABORT) whole, capped by PA_MAX_CTRL_PDU_LEN; when it arrives in
 *            one feed it is parsed in place without a copy
 *   S_PDATA  walking the PDV items of a P-DATA-TF as bytes stream past; PDV
 *            values are never buffered except command sets (PA_MAX_CMD_LEN),
 *            C-FIND/MOVE/GET identifiers (PA_MAX_IDENT_LEN) and the first
 *            PA_MAX_STORE_HEAD bytes of a C-STORE dataset. Everything else is
 *            skipped in O(1) per call.
 * Control PDUs are parsed with the bounded reader, each item in a sub-reader
 * of its announced length. Credentials (user identity passcodes and tokens)
 * are never copied out; buffered control PDUs are wiped after parsing. */
#include "dicom_ul.h"

#include "dicom_ds.h"
#include "dicom_ul_int.h"

#include "../analyzer/buf.h"
#include "../analyzer/limits.h"
#include "../analyzer/log.h"
#include "../analyzer/rd.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { S_HDR, S_CTRL, S_PDATA };

/* What the data PDVs of the current message in one direction are used for. */
enum { DS_NONE, DS_SKIP, DS_IDENT, DS_HEAD, DS_RESULT };

enum {
  PDU_ASSOC_RQ = 0x01, PDU_ASSOC_AC = 0x02, PDU_ASSOC_RJ = 0x03, PDU_PDATA = 0x04,
  PDU_RELEASE_RQ = 0x05, PDU_RELEASE_RP = 0x06, PDU_ABORT = 0x07
};

#define TAG_STUDY_UID 0x0020000Du
#define TAG_PATIENT_ID 0x00100020u

struct side {
  uint64_t off;          /* stream offset of the next byte fed in this direction */
  int stopped;           /* decode error or gap: later bytes are ignored */
  int state;             /* S_HDR, S_CTRL, S_PDATA */
  uint8_t hdr[6];        /* PDU header being collected */
  size_t hdr_have;
  uint64_t pdu_off;      /* stream offset of the current PDU's header */
  int64_t pdu_ts;        /* us: when the current PDU's first byte arrived */
  uint8_t pdu_type;
  uint32_t pdu_len;
  uint32_t pdu_left;     /* bytes of the PDU body still to come */
  uint8_t *ctrl;         /* owned: control PDU body being buffered; wiped when freed */
  size_t ctrl_len, ctrl_size;
  /* P-DATA-TF */
  uint8_t pdvh[6];       /* PDV item header being collected: length(4) pc(1) mch(1) */
  size_t pdvh_have;
  int in_pdv;            /* inside a PDV value */
  uint32_t pdv_left;     /* bytes of the PDV value still to come */
  uint8_t pdv_pc, pdv_mch;
  int pdv_route;         /* this data PDV belongs to the dataset in ds_mode */
  /* DIMSE command set being assembled (implicit VR LE) */
  struct pa_buf cmd;     /* cap PA_MAX_CMD_LEN */
  uint8_t cmd_pc;
  /* dataset following the last command that announced one */
  int ds_mode;           /* DS_* */
  uint8_t ds_pc;         /* presentation context of that command */
  uint64_t ds_seq;       /* its pending request (struct pend.seq), 0 none */
  enum pa_dicom_ts ds_ts;
  struct pa_buf ds;      /* identifier or C-STORE head; cap set per dataset */
  size_t head_off;       /* C-STORE head: next element to read in ds */
  unsigned head_depth;
};

/* A request awaiting its final response. */
struct pend {
  uint64_t seq;          /* order of arrival, 1-based */
  int dir;               /* direction that sent the request */
  uint16_t field;        /* CommandField */
  struct pa_dimse d;
  char *query;           /* owned: identifier JSON, or NULL */
  struct pa_dimse_result *res; /* owned: C-FIND results so far (pending responses) */
  size_t n_res, res_size;
  uint64_t res_dropped;  /* results past PA_MAX_FIND_RESULTS(_HELD), not kept */
};

struct pa_dicom {
  struct pa_conn conn;
  struct pa_sink sink;
  struct pa_assoc a;
  int64_t id;            /* assoc id from the sink */
  int begun;             /* assoc_begin called */
  int muted;             /* the sink already has this association */
  int negotiated;        /* pctx rows and ASSOC:start emitted */
  int ac_seen, rj_seen;
  int closed;            /* released, aborted or rejected: later PDUs ignored */
  int ended;
  int rel_rq_dir;        /* direction of A-RELEASE-RQ, -1 none */
  int have_first_ts;
  int64_t first_ts;
  struct side s[2];
  struct pa_pctx *pc;    /* owned: proposed presentation contexts */
  size_t n_pc, pc_size;
  uint8_t pc_ts[256];    /* enum pa_dicom_ts of each accepted pc id */
  struct pend *pend;     /* owned: pending requests, oldest first */
  size_t n_pend, pend_size;
  uint64_t next_seq;
  size_t n_res_held;     /* results held in all pending requests (PA_MAX_FIND_RESULTS_HELD) */
  char fail[256];        /* first decode error, "" none */
  char gap[64];          /* first capture gap, "" none */
};

/* ---- small helpers ------------------------------------------------------ */

/* Notes a non-fatal anomaly; the association record carries the names to
 * the store, where reports count them. */
static void anomaly(pa_dicom *d, const char *name)
{
  char *list = d->a.anomalies;
  size_t l = strlen(list), n = strlen(name);

  d->a.n_anomalies++;
  if (!strstr(list, name) && l + n + 2 <= sizeof d->a.anomalies) {
    if (l)
      list[l++] = ' ';
    memcpy(list + l, name, n + 1);
  }
  pa_log(PA_LOG_DEBUG, "%s", name);
}

unsigned pa__dicom_anomaly_count(const pa_dicom *d) { return d->a.n_anomalies; }
const char *pa__dicom_anomalies(const pa_dicom *d) { return d->a.anomalies; }

/* Records a decode error of direction dir, which stops that direction.
 * fmt must start with the anomaly name and carry no credential. */
static pa_rc fail(pa_dicom *d, int dir, struct pa_err *err, pa_rc rc, uint64_t off,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static pa_rc fail(pa_dicom *d, int dir, struct pa_err *err, pa_rc rc, uint64_t off,
                  const char *fmt, ...)
{
  char msg[256];
  va_list ap;

  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  d->s[dir].stopped = 1;
  if (!d->fail[0])
    snprintf(d->fail, sizeof d->fail, "%s", msg);
  {
    /* the anomaly name is msg up to its ':' */
    char name[64];
    size_t n = strcspn(msg, ":");
    if (n < sizeof name) {
      memcpy(name, msg, n);
      name[n] = 0;
      anomaly(d, name);
    }
  }
  return pa_err_set(err, rc, off, 0, "%s", msg);
}

static uint32_t be32(const uint8_t *b)
{
  return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void hex_encode(const uint8_t *in, size_t n, char *out)
{
  static const char hx[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = hx[in[i] >> 4];
    out[2 * i + 1] = hx[in[i] & 15];
  }
  out[2 * n] = 0;
}

static void side_free_ctrl(struct side *s)
{
  if (s->ctrl) {
    OPENSSL_cleanse(s->ctrl, s->ctrl_size);
    free(s->ctrl);
  }
  s->ctrl = NULL;
  s->ctrl_len = s->ctrl_size = 0;
}

/* Grows s->ctrl to hold need bytes (need <= PA_MAX_CTRL_PDU_LEN). Grows by
 * copy-and-wipe rather than realloc so no stale copy of a credential is left
 * in freed memory. */
static pa_rc ctrl_reserve(struct side *s, size_t need)
{
  size_t sz;
  uint8_t *np;

  if (need <= s->ctrl_size)
    return PA_OK;
  sz = s->ctrl_size ? s->ctrl_size : 256;
  while (sz < need)
    sz *= 2;
  if (sz > s->pdu_len)
    sz = s->pdu_len;
  np = malloc(sz);
  if (!np)
    return PA_NOMEM;
  if (s->ctrl_len)
    memcpy(np, s->ctrl, s->ctrl_len);
  if (s->ctrl) {
    OPENSSL_cleanse(s->ctrl, s->ctrl_size);
    free(s->ctrl);
  }
  s->ctrl = np;
  s->ctrl_size = sz;
  return PA_OK;
}

/* ---- sink wrappers ------------------------------------------------------ */

/* events.auth_method of an A-ASSOCIATE-RQ's user identity type (PS3.7
 * D.3.3.7); NULL when it carried none (or a type not defined). */
static const char *auth_method(int user_identity_type)
{
  static const char *const names[] = {NULL, "username", "password", "kerberos", "saml", "jwt"};
  if (user_identity_type < 1 || user_identity_type > 5)
    return NULL;
  return names[user_identity_type];
}

static pa_rc emit_event(pa_dicom *d, const char *code, char action, int outcome,
                        int64_t ts, int src_dir, const char *patient_id,
                        const char *study_uid, int64_t count)
{
  struct pa_event e;

  if (!d->sink.event)
    return PA_OK;
  pa_event_init(&e);
  e.ts = ts;
  e.received_ts = ts;
  e.source = "dicom";
  e.origin = d->conn.origin;
  e.event_code = code;
  e.action = action;
  e.outcome = outcome;
  e.user_id = d->a.user_identity[0] ? d->a.user_identity : NULL;
  /* the association's start is its login: how it authenticated */
  if (!strcmp(code, "ASSOC:start"))
    e.auth_method = auth_method(d->a.user_identity_type);
  if (src_dir == 0) {
    e.src_ip = d->conn.client_ip;
    e.src_ae = d->a.calling_ae;
    e.dst_ip = d->conn.server_ip;
    e.dst_ae = d->a.called_ae;
  } else {
    e.src_ip = d->conn.server_ip;
    e.src_ae = d->a.called_ae;
    e.dst_ip = d->conn.client_ip;
    e.dst_ae = d->a.calling_ae;
  }
  if (!e.src_ae[0])
    e.src_ae = NULL;
  if (!e.dst_ae[0])
    e.dst_ae = NULL;
  e.patient_id = patient_id && patient_id[0] ? patient_id : NULL;
  e.study_uid = study_uid && study_uid[0] ? study_uid : NULL;
  e.object_count = count;
  e.secure = 0;
  e.assoc_id = d->id;
  return d->sink.event(d->sink.ctx, &e);
}

static pa_rc assoc_update(pa_dicom *d)
{
  if (!d->sink.assoc_update)
    return PA_OK;
  return d->sink.assoc_update(d->sink.ctx, d->id, &d->a);
}

/* The outcome of negotiation is known (AC, RJ, abort or end): the pctx rows
 * and the ASSOC:start event, once. */
static pa_rc negotiated(pa_dicom *d, int outcome)
{
  pa_rc rc;

  if (d->negotiated)
    return PA_OK;
  d->negotiated = 1;
  for (size_t i = 0; i < d->n_pc; i++) {
    if (d->sink.pctx && (rc = d->sink.pctx(d->sink.ctx, d->id, &d->pc[i])))
      return rc;
  }
  return emit_event(d, "ASSOC:start", 'E', outcome, d->a.started_at, 0, NULL, NULL, -1);
}

/* ---- DIMSE commands ----------------------------------------------------- */

struct cmdname {
  uint16_t field;
  const char *name, *code;
  char action;
};

static const struct cmdname cmdnames[] = {
  { 0x0001, "C-STORE-RQ", "DIMSE:C-STORE-RQ", 'C' },
  { 0x0010, "C-GET-RQ", "DIMSE:C-GET-RQ", 'R' },
  { 0x0020, "C-FIND-RQ", "DIMSE:C-FIND-RQ", 'E' },
  { 0x0021, "C-MOVE-RQ", "DIMSE:C-MOVE-RQ", 'R' },
  { 0x0030, "C-ECHO-RQ", "DIMSE:C-ECHO-RQ", 'E' },
  { 0x0100, "N-EVENT-REPORT-RQ", "DIMSE:N-EVENT-REPORT-RQ", 'E' },
  { 0x0110, "N-GET-RQ", "DIMSE:N-GET-RQ", 'R' },
  { 0x0120, "N-SET-RQ", "DIMSE:N-SET-RQ", 'U' },
  { 0x0130, "N-ACTION-RQ", "DIMSE:N-ACTION-RQ", 'E' },
  { 0x0140, "N-CREATE-RQ", "DIMSE:N-CREATE-RQ", 'C' },
  { 0x0150, "N-DELETE-RQ", "DIMSE:N-DELETE-RQ", 'D' },
  { 0x0FFF, "C-CANCEL-RQ", "DIMSE:C-CANCEL-RQ", 0 },
};
static const struct cmdname cmd_unknown = { 0, "UNKNOWN-RQ", "DIMSE:UNKNOWN-RQ", 0 };

static const struct cmdname *cmd_lookup(uint16_t field)
{
  for (size_t i = 0; i < sizeof cmdnames / sizeof cmdnames[0]; i++)
    if (cmdnames[i].field == field)
      return &cmdnames[i];
  return &cmd_unknown;
}

/* The elements of a command set that are kept. */
struct cmdset {
  int has_field, has_msgid, has_rsp_id, has_ds_type, status;
  uint16_t field, msgid, rsp_id, ds_type;
  char sop_class[PA_UID_STRLEN], sop_inst[PA_UID_STRLEN];
  char req_class[PA_UID_STRLEN], req_inst[PA_UID_STRLEN];
  char move_dest[PA_AE_STRLEN], move_orig[PA_AE_STRLEN];
  int move_orig_id;
  int64_t completed, failed, warning;
};

static int us_val(const struct pa_dicom_ds_elem *e, uint16_t *v)
{
  if (e->len != 2 || !e->val)
    return 0;
  *v = (uint16_t)(e->val[1] << 8 | e->val[0]);
  return 1;
}

/* Parses a command set (implicit VR LE); PA_OK or PA_MALFORMED. */
static pa_rc parse_cmd(const uint8_t *p, size_t n, struct cmdset *c)
{
  struct pa_dicom_ds_walk w;
  struct pa_dicom_ds_elem e;
  uint16_t v;

  memset(c, 0, sizeof *c);
  c->status = c->move_orig_id = -1;
  c->completed = c->failed = c->warning = -1;
  pa_dicom_ds_walk_init(&w, p, n, PA_DICOM_TS_IMPLICIT_LE);
  for (;;) {
    pa_rc rc = pa_dicom_ds_next(&w, &e);
    if (rc == PA_NEED_MORE)
      return pa_rd_left(&w.r) ? PA_MALFORMED : PA_OK;
    if (rc)
      return PA_MALFORMED;
    if (e.group != 0x0000 || e.depth > 0 || !e.val)
      continue;
    switch (e.element) {
    case 0x0100: c->has_field = us_val(&e, &c->field); break;
    case 0x0110: c->has_msgid = us_val(&e, &c->msgid); break;
    case 0x0120: c->has_rsp_id = us_val(&e, &c->rsp_id); break;
    case 0x0800: c->has_ds_type = us_val(&e, &c->ds_type); break;
    case 0x0900: if (us_val(&e, &v)) c->status = v; break;
    case 0x0002: pa_dicom_copy_str(c->sop_class, sizeof c->sop_class, e.val, e.len, 1); break;
    case 0x0003: pa_dicom_copy_str(c->req_class, sizeof c->req_class, e.val, e.len, 1); break;
    case 0x1000: pa_dicom_copy_str(c->sop_inst, sizeof c->sop_inst, e.val, e.len, 1); break;
    case 0x1001: pa_dicom_copy_str(c->req_inst, sizeof c->req_inst, e.val, e.len, 1); break;
    case 0x0600: pa_dicom_copy_str(c->move_dest, sizeof c->move_dest, e.val, e.len, 1); break;
    case 0x1021: if (us_val(&e, &v)) c->completed = v; break;
    case 0x1022: if (us_val(&e, &v)) c->failed = v; break;
    case 0x1023: if (us_val(&e, &v)) c->warning = v; break;
    case 0x1030: pa_dicom_copy_str(c->move_orig, sizeof c->move_orig, e.val, e.len, 1); break;
    case 0x1031: if (us_val(&e, &v)) c->move_orig_id = v; break;
    default: break; /* 1020 remaining: not kept */
    }
  }
}

static struct pend *pend_find_seq(pa_dicom *d, uint64_t seq)
{
  if (!seq)
    return NULL;
  for (size_t i = 0; i < d->n_pend; i++)
    if (d->pend[i].seq == seq)
      return &d->pend[i];
  return NULL;
}

/* dimse row then its event. */
static pa_rc dimse_emit(pa_dicom *d, struct pend *pe)
{
  const struct cmdname *cn = cmd_lookup(pe->field);
  int64_t count = -1;
  pa_rc rc;

  pe->d.assoc_id = d->id;
  pe->d.query = pe->query;
  pe->d.results = pe->res;
  pe->d.n_results = pe->n_res;
  pe->d.results_dropped = pe->res_dropped;
  if (d->sink.dimse && (rc = d->sink.dimse(d->sink.ctx, &pe->d)))
    return rc;
  if (pe->field == 0x0001)
    count = 1;
  else if ((pe->field == 0x0010 || pe->field == 0x0021) && pe->d.completed >= 0)
    count = pe->d.completed;
  return emit_event(d, cn->code, cn->action, pa_dimse_outcome(pe->d.status), pe->d.ts,
                    pe->dir, pe->d.patient_id, pe->d.study_uid, count);
}

static void pend_remove(pa_dicom *d, size_t i)
{
  free(d->pend[i].query);
  free(d->pend[i].res);
  d->n_res_held -= d->pend[i].n_res;
  memmove(&d->pend[i], &d->pend[i + 1], (d->n_pend - i - 1) * sizeof d->pend[0]);
  d->n_pend--;
}

static void pend_fill(struct pend *pe, int dir, const struct cmdset *c, int by_acceptor, int64_t ts)
{
  const struct cmdname *cn = cmd_lookup(c->field);

  memset(pe, 0, sizeof *pe);
  pe->dir = dir;
  pe->field = c->field;
  pe->d.ts = ts;
  pe->d.message_id = c->field == 0x0FFF ? c->rsp_id : c->msgid;
  pe->d.command = cn->name;
  snprintf(pe->d.sop_class_uid, sizeof pe->d.sop_class_uid, "%s",
           c->sop_class[0] ? c->sop_class : c->req_class);
  snprintf(pe->d.sop_instance_uid, sizeof pe->d.sop_instance_uid, "%s",
           c->sop_inst[0] ? c->sop_inst : c->req_inst);
  snprintf(pe->d.move_destination, sizeof pe->d.move_destination, "%s", c->move_dest);
  snprintf(pe->d.move_originator_ae, sizeof pe->d.move_originator_ae, "%s", c->move_orig);
  pe->d.move_originator_id = c->move_orig_id;
  pe->d.status = -1;
  pe->d.by_acceptor = by_acceptor;
  pe->d.completed = pe->d.failed = pe->d.warning = -1;
}

static pa_rc on_request(pa_dicom *d, int dir, const struct cmdset *c, int64_t ts,
                        struct pend **out)
{
  struct pend *pe;
  pa_rc rc;

  *out = NULL;
  if (c->field == 0x0FFF) {
    /* C-CANCEL-RQ has no response: its row goes out at once */
    struct pend tmp;
    pend_fill(&tmp, dir, c, dir == 1, ts);
    return dimse_emit(d, &tmp);
  }
  if (d->n_pend == PA_MAX_PENDING_DIMSE) {
    anomaly(d, "dicom_ul.too_many_pending");
    rc = dimse_emit(d, &d->pend[0]);
    pend_remove(d, 0);
    if (rc)
      return rc;
  }
  if (d->n_pend == d->pend_size) {
    size_t sz = d->pend_size ? d->pend_size * 2 : 8;
    struct pend *np;
    if (sz > PA_MAX_PENDING_DIMSE)
      sz = PA_MAX_PENDING_DIMSE;
    np = realloc(d->pend, sz * sizeof *np);
    if (!np)
      return PA_NOMEM;
    d->pend = np;
    d->pend_size = sz;
  }
  pe = &d->pend[d->n_pend++];
  pend_fill(pe, dir, c, dir == 1, ts);
  pe->seq = ++d->next_seq;
  *out = pe;
  return PA_OK;
}

/* *result_seq_out: the request a pending C-FIND response belongs to (its
 * identifier is one result), else 0. */
static pa_rc on_response(pa_dicom *d, int dir, const struct cmdset *c, int64_t ts,
                         uint64_t *result_seq_out)
{
  size_t i;

  *result_seq_out = 0;
  for (i = 0; i < d->n_pend; i++) {
    struct pend *pe = &d->pend[i];
    if (pe->dir != dir && pe->d.message_id == c->rsp_id && (pe->field | 0x8000) == c->field)
      break;
  }
  if (!c->has_rsp_id || i == d->n_pend) {
    anomaly(d, "dicom_ul.unmatched_response");
    return PA_OK;
  }
  struct pend *pe = &d->pend[i];
  if (c->completed >= 0)
    pe->d.completed = c->completed;
  if (c->failed >= 0)
    pe->d.failed = c->failed;
  if (c->warning >= 0)
    pe->d.warning = c->warning;
  if (c->status < 0) {
    anomaly(d, "dicom_ul.response_without_status");
    return PA_OK;
  }
  if (c->status == 0xFF00 || c->status == 0xFF01) {
    if (c->field == 0x8020)
      *result_seq_out = pe->seq;
    return PA_OK; /* pending: more responses follow */
  }
  pe->d.status = c->status;
  pe->d.rsp_ts = ts;
  pa_rc rc = dimse_emit(d, pe);
  pend_remove(d, i);
  return rc;
}

/* A complete command set arrived in direction dir on presentation context pc. */
static pa_rc on_command(pa_dicom *d, int dir, uint8_t pc, int64_t ts)
{
  struct side *s = &d->s[dir];
  struct cmdset c;
  struct pend *pe = NULL;
  uint64_t result_seq = 0;
  int has_ds;
  pa_rc rc;

  if (parse_cmd(s->cmd.p, s->cmd.len, &c) || !c.has_field) {
    anomaly(d, "dicom_ul.bad_command");
    return PA_OK;
  }
  has_ds = c.has_ds_type && c.ds_type != 0x0101;
  s->ds_mode = DS_NONE;
  s->ds_seq = 0;
  if (c.field & 0x8000) {
    rc = on_response(d, dir, &c, ts, &result_seq);
  } else {
    if (!c.has_msgid && c.field != 0x0FFF)
      anomaly(d, "dicom_ul.request_without_message_id");
    if (cmd_lookup(c.field) == &cmd_unknown)
      anomaly(d, "dicom_ul.unknown_command");
    rc = on_request(d, dir, &c, ts, &pe);
  }
  if (rc || !has_ds)
    return rc;
  s->ds_pc = pc;
  s->ds_mode = DS_SKIP;
  if (result_seq) {
    /* a pending C-FIND response's identifier: one match returned */
    s->ds_seq = result_seq;
    s->ds_ts = (enum pa_dicom_ts)d->pc_ts[pc];
    pa_buf_reset(&s->ds);
    s->ds_mode = DS_RESULT;
    s->ds.cap = PA_MAX_IDENT_LEN;
  } else if (pe) {
    s->ds_seq = pe->seq;
    s->ds_ts = (enum pa_dicom_ts)d->pc_ts[pc];
    s->head_off = 0;
    s->head_depth = 0;
    pa_buf_reset(&s->ds);
    if (c.field == 0x0020 || c.field == 0x0021 || c.field == 0x0010) {
      s->ds_mode = DS_IDENT;
      s->ds.cap = PA_MAX_IDENT_LEN;
    } else if (c.field == 0x0001) {
      s->ds_mode = DS_HEAD;
      s->ds.cap = PA_MAX_STORE_HEAD;
    }
  }
  return PA_OK;
}

/* ---- datasets ------------------------------------------------------------ */

static void ds_release(struct side *s)
{
  /* keep a small buffer for the next dataset, give big ones back */
  if (s->ds.size > 256 * 1024)
    pa_buf_cleanup(&s->ds);
  pa_buf_reset(&s->ds);
}

/* Reads PatientID and StudyInstanceUID from the C-STORE head buffered so
 * far, resuming where the last call stopped. Leaves DS_HEAD for DS_SKIP once
 * they are read, the elements are past (0020,000D), or the head is full. */
static void head_parse(pa_dicom *d, struct side *s, int final)
{
  struct pa_dicom_ds_walk w;
  struct pa_dicom_ds_elem e;
  struct pend *pe;

  if (s->ds_ts == PA_DICOM_TS_UNKNOWN) {
    if (s->ds.len < 6 && !final)
      return;
    s->ds_ts = pa_dicom_ts_sniff(s->ds.p, s->ds.len);
  }
  pe = pend_find_seq(d, s->ds_seq);
  if (!pe)
    goto done;
  if (s->ds_ts == PA_DICOM_TS_DEFLATED) {
    anomaly(d, "dicom_ul.deflated_dataset");
    goto done;
  }
  pa_dicom_ds_walk_init(&w, s->ds.p, s->ds.len, s->ds_ts);
  w.r.off = s->head_off;
  w.depth = s->head_depth;
  for (;;) {
    pa_rc rc = pa_dicom_ds_next(&w, &e);
    if (rc == PA_NEED_MORE) {
      if (final || s->ds.len >= PA_MAX_STORE_HEAD)
        goto done;
      s->head_off = w.r.off;
      s->head_depth = w.depth;
      return;
    }
    if (rc) {
      anomaly(d, "dicom_ul.bad_store_dataset");
      goto done;
    }
    if (e.depth > 0 || e.is_seq)
      continue;
    uint32_t tag = (uint32_t)e.group << 16 | e.element;
    if (tag == TAG_PATIENT_ID)
      pa_dicom_copy_str(pe->d.patient_id, sizeof pe->d.patient_id, e.val, e.len, 1);
    if (tag == TAG_STUDY_UID)
      pa_dicom_copy_str(pe->d.study_uid, sizeof pe->d.study_uid, e.val, e.len, 1);
    if (tag >= TAG_STUDY_UID)
      goto done;
  }
done:
  s->ds_mode = DS_SKIP;
  ds_release(s);
}

static pa_rc ident_done(pa_dicom *d, struct side *s)
{
  struct pend *pe = pend_find_seq(d, s->ds_seq);
  struct pa_dicom_ident id;
  struct pa_buf json;
  enum pa_dicom_ts ts = s->ds_ts;
  pa_rc rc;

  if (!pe)
    return PA_OK;
  if (ts == PA_DICOM_TS_UNKNOWN)
    ts = pa_dicom_ts_sniff(s->ds.p, s->ds.len);
  pa_buf_init(&json, PA_MAX_QUERY_JSON);
  rc = pa_dicom_ident_decode(s->ds.p, s->ds.len, ts, &json, &id);
  if (rc) {
    pa_buf_cleanup(&json);
    return rc;
  }
  if (id.anomaly)
    anomaly(d, id.anomaly);
  free(pe->query);
  pe->query = (char *)json.p; /* the pa_buf's memory moves to the request */
  memcpy(pe->d.patient_id, id.patient_id, sizeof pe->d.patient_id);
  memcpy(pe->d.study_uid, id.study_uid, sizeof pe->d.study_uid);
  return PA_OK;
}

/* Keeps one C-FIND result on its request, within PA_MAX_FIND_RESULTS per
 * request and PA_MAX_FIND_RESULTS_HELD per association; past either it is
 * counted (res_dropped, and an anomaly each, so anomaly_count tells how
 * many) and not kept. */
static pa_rc result_add(pa_dicom *d, struct pend *pe, const struct pa_dimse_result *r)
{
  if (pe->n_res >= PA_MAX_FIND_RESULTS || d->n_res_held >= PA_MAX_FIND_RESULTS_HELD) {
    pe->res_dropped++;
    anomaly(d, "dicom_ul.too_many_find_results");
    return PA_OK;
  }
  if (pe->n_res == pe->res_size) {
    size_t sz = pe->res_size ? pe->res_size * 2 : 8;
    struct pa_dimse_result *nr;
    if (sz > PA_MAX_FIND_RESULTS)
      sz = PA_MAX_FIND_RESULTS;
    nr = realloc(pe->res, sz * sizeof *nr);
    if (!nr)
      return PA_NOMEM;
    pe->res = nr;
    pe->res_size = sz;
  }
  pe->res[pe->n_res++] = *r;
  d->n_res_held++;
  return PA_OK;
}

/* A pending C-FIND response's identifier is complete (or as much of it as
 * fits PA_MAX_IDENT_LEN): its PatientID and StudyInstanceUID, top level
 * only, become one result of the request. */
static pa_rc result_done(pa_dicom *d, struct side *s)
{
  struct pend *pe = pend_find_seq(d, s->ds_seq);
  struct pa_dicom_ds_walk w;
  struct pa_dicom_ds_elem e;
  struct pa_dimse_result r;
  enum pa_dicom_ts ts = s->ds_ts;

  if (!pe)
    return PA_OK;
  memset(&r, 0, sizeof r);
  if (ts == PA_DICOM_TS_UNKNOWN)
    ts = pa_dicom_ts_sniff(s->ds.p, s->ds.len);
  if (ts == PA_DICOM_TS_DEFLATED) {
    anomaly(d, "dicom_ul.deflated_dataset");
    return result_add(d, pe, &r);
  }
  pa_dicom_ds_walk_init(&w, s->ds.p, s->ds.len, ts);
  for (;;) {
    pa_rc rc = pa_dicom_ds_next(&w, &e);
    if (rc == PA_NEED_MORE)
      break; /* the end, or what fitted */
    if (rc) {
      anomaly(d, "dicom_ul.bad_find_result");
      break;
    }
    if (e.depth > 0 || e.is_seq)
      continue;
    uint32_t tag = (uint32_t)e.group << 16 | e.element;
    if (tag == TAG_PATIENT_ID)
      pa_dicom_copy_str(r.patient_id, sizeof r.patient_id, e.val, e.len, 1);
    if (tag == TAG_STUDY_UID)
      pa_dicom_copy_str(r.study_uid, sizeof r.study_uid, e.val, e.len, 1);
    if (tag >= TAG_STUDY_UID)
      break;
  }
  return result_add(d, pe, &r);
}

/* ---- P-DATA-TF ---------------------------------------------------------- */

static pa_rc pdv_begin(pa_dicom *d, int dir)
{
  struct side *s = &d->s[dir];

  if (s->pdv_mch & 1) {
    if (s->cmd.len && s->cmd_pc != s->pdv_pc) {
      anomaly(d, "dicom_ul.interleaved_command");
      pa_buf_reset(&s->cmd);
    }
    if (s->ds_mode == DS_IDENT || s->ds_mode == DS_HEAD || s->ds_mode == DS_RESULT) {
      /* a new command while a dataset is unfinished: that dataset is lost */
      anomaly(d, "dicom_ul.unfinished_dataset");
      s->ds_mode = DS_NONE;
      ds_release(s);
    }
    s->cmd_pc = s->pdv_pc;
    s->pdv_route = 0;
    return PA_OK;
  }
  s->pdv_route = s->ds_mode != DS_NONE && s->pdv_pc == s->ds_pc;
  if (!s->pdv_route)
    anomaly(d, "dicom_ul.unexpected_data_pdv");
  return PA_OK;
}

/* n bytes of the current PDV's value. The hot path: data PDVs of pixel data
 * are DS_SKIP and cost nothing here. */
static pa_rc pdv_data(pa_dicom *d, int dir, const uint8_t *p, size_t n,
                      uint64_t off, struct pa_err *err)
{
  struct side *s = &d->s[dir];
  pa_rc rc;

  if (s->pdv_mch & 1) {
    rc = pa_buf_append(&s->cmd, p, n);
    if (rc == PA_LIMIT)
      return fail(d, dir, err, PA_LIMIT, off,
                  "dicom_ul.cmd_too_large: DIMSE command set longer than %u bytes",
                  PA_MAX_CMD_LEN);
    return rc;
  }
  if (!s->pdv_route)
    return PA_OK;
  switch (s->ds_mode) {
  case DS_IDENT:
    rc = pa_buf_append(&s->ds, p, n);
    if (rc == PA_LIMIT) {
      /* decode what fits, skip the rest */
      anomaly(d, "dicom_ul.ident_too_large");
      if ((rc = ident_done(d, s)))
        return rc;
      s->ds_mode = DS_SKIP;
      ds_release(s);
      return PA_OK;
    }
    return rc;
  case DS_RESULT:
    rc = pa_buf_append(&s->ds, p, n);
    if (rc == PA_LIMIT) {
      anomaly(d, "dicom_ul.ident_too_large");
      if ((rc = result_done(d, s)))
        return rc;
      s->ds_mode = DS_SKIP;
      ds_release(s);
      return PA_OK;
    }
    return rc;
  case DS_HEAD: {
    size_t room = PA_MAX_STORE_HEAD - s->ds.len;
    if ((rc = pa_buf_append(&s->ds, p, n < room ? n : room)))
      return rc;
    head_parse(d, s, 0);
    return PA_OK;
  }
  default:
    return PA_OK;
  }
}

static pa_rc pdv_end(pa_dicom *d, int dir, int64_t ts)
{
  struct side *s = &d->s[dir];
  pa_rc rc = PA_OK;

  if (!(s->pdv_mch & 2))
    return PA_OK; /* more fragments follow */
  if (s->pdv_mch & 1) {
    rc = on_command(d, dir, s->cmd_pc, ts);
    pa_buf_reset(&s->cmd);
    if (s->cmd.size > 4096)
      pa_buf_cleanup(&s->cmd);
    return rc;
  }
  if (!s->pdv_route)
    return PA_OK;
  if (s->ds_mode == DS_IDENT)
    rc = ident_done(d, s);
  else if (s->ds_mode == DS_RESULT)
    rc = result_done(d, s);
  else if (s->ds_mode == DS_HEAD)
    head_parse(d, s, 1);
  s->ds_mode = DS_NONE;
  s->ds_seq = 0;
  ds_release(s);
  return rc;
}

static pa_rc step_pdata(pa_dicom *d, int dir, const uint8_t *p, size_t len,
                        int64_t ts, struct pa_err *err, size_t *used)
{
  struct side *s = &d->s[dir];
  size_t i = 0;
  pa_rc rc = PA_OK;

  while (i < len && s->pdu_left > 0) {
    if (!s->in_pdv) {
      if (s->pdvh_have == 0 && s->pdu_left < 6) {
        rc = fail(d, dir, err, PA_MALFORMED, s->off + i,
                  "dicom_ul.bad_pdv_length: %u bytes left in P-DATA-TF, too few for a PDV item",
                  s->pdu_left);
        break;
      }
      size_t take = 6 - s->pdvh_have;
      if (take > len - i)
        take = len - i;
      memcpy(s->pdvh + s->pdvh_have, p + i, take);
      s->pdvh_have += take;
      s->pdu_left -= (uint32_t)take;
      i += take;
      if (s->pdvh_have < 6)
        break;
      s->pdvh_have = 0;
      uint32_t l = be32(s->pdvh);
      if (l < 2 || l - 2 > s->pdu_left) {
        rc = fail(d, dir, err, PA_MALFORMED, s->off + i - 6,
                  "dicom_ul.bad_pdv_length: PDV length %u does not fit in the %u bytes left of the PDU",
                  l, s->pdu_left + 4);
        break;
      }
      s->pdv_pc = s->pdvh[4];
      s->pdv_mch = s->pdvh[5];
      s->pdv_left = l - 2;
      s->in_pdv = 1;
      if ((rc = pdv_begin(d, dir)))
        break;
    } else {
      size_t take = s->pdv_left;
      if (take > len - i)
        take = len - i;
      rc = pdv_data(d, dir, p + i, take, s->off + i, err);
      i += take;
      s->pdv_left -= (uint32_t)take;
      s->pdu_left -= (uint32_t)take;
      if (rc)
        break;
    }
    if (s->pdv_left == 0) {
      s->in_pdv = 0;
      if ((rc = pdv_end(d, dir, ts)))
        break;
    }
  }
  if (!rc && s->pdu_left == 0 && !s->in_pdv && s->pdvh_have == 0)
    s->state = S_HDR;
  *used = i;
  return rc;
}

/* ---- A-ASSOCIATE items --------------------------------------------------- */

/* UID of an item value: NUL/space padding trimmed, truncated to fit. */
static void copy_uid(char *dst, size_t size, const struct pa_rd *it)
{
  pa_dicom_copy_str(dst, size, it->p + it->off, pa_rd_left(it), 1);
}

struct actx {
  pa_dicom *d;
  int dir;
  int is_rq;
  uint64_t base;     /* stream offset of the PDU body */
  const uint8_t *body;
  unsigned items;
  struct pa_err *err;
};

/* offset in the stream of reader r's cursor (r points into the PDU body) */
static uint64_t at(const struct actx *x, const struct pa_rd *r)
{
  return x->base + (uint64_t)((r->p + r->off) - x->body);
}

/* Next item header (type, reserved, 16-bit length) and its value as a sub-reader. */
static pa_rc next_item(struct actx *x, struct pa_rd *r, uint8_t *type, struct pa_rd *it)
{
  uint16_t ilen;
  uint64_t o = at(x, r);

  if (++x->items > PA_MAX_ITEMS_PER_PDU)
    return fail(x->d, x->dir, x->err, PA_LIMIT, o,
                "dicom_ul.too_many_items: more than %u items in one PDU", PA_MAX_ITEMS_PER_PDU);
  if (pa_rd_u8(r, type) || pa_rd_skip(r, 1) || pa_rd_u16be(r, &ilen)) {
    return fail(x->d, x->dir, x->err, PA_MALFORMED, o,
                "dicom_ul.bad_item_length: item header cut by its parent's end (%zu bytes left)",
                pa_rd_left(r));
  }
  if (pa_rd_sub(r, ilen, it))
    return fail(x->d, x->dir, x->err, PA_MALFORMED, o,
                "dicom_ul.bad_item_length: item 0x%02x announces %u bytes, %zu left",
                *type, ilen, pa_rd_left(r));
  return PA_OK;
}

static pa_rc pc_rq(struct actx *x, struct pa_rd *it)
{
  pa_dicom *d = x->d;
  struct pa_pctx *pc;
  uint8_t id, type;
  unsigned n_ts = 0;
  size_t tsl = 0;
  struct pa_rd sub;
  pa_rc rc;

  if (d->n_pc >= PA_MAX_PCTX)
    return fail(d, x->dir, x->err, PA_LIMIT, at(x, it),
                "dicom_ul.too_many_pctx: more than %u presentation contexts", PA_MAX_PCTX);
  if (pa_rd_u8(it, &id) || pa_rd_skip(it, 3))
    return fail(d, x->dir, x->err, PA_MALFORMED, at(x, it),
                "dicom_ul.bad_item_length: presentation context item shorter than 4 bytes");
  if (d->n_pc == d->pc_size) {
    size_t sz = d->pc_size ? d->pc_size * 2 : 8;
    struct pa_pctx *np;
    if (sz > PA_MAX_PCTX)
      sz = PA_MAX_PCTX;
    np = realloc(d->pc, sz * sizeof *np);
    if (!np)
      return PA_NOMEM;
    d->pc = np;
    d->pc_size = sz;
  }
  for (size_t i = 0; i < d->n_pc; i++)
    if (d->pc[i].pc_id == id)
      anomaly(d, "dicom_ul.duplicate_pctx");
  pc = &d->pc[d->n_pc++];
  memset(pc, 0, sizeof *pc);
  pc->pc_id = id;
  pc->result = -1;
  while (pa_rd_left(it)) {
    if ((rc = next_item(x, it, &type, &sub)))
      return rc;
    if (type == 0x30) {
      copy_uid(pc->abstract_syntax, sizeof pc->abstract_syntax, &sub);
    } else if (type == 0x40) {
      char uid[PA_UID_STRLEN];
      size_t ul;
      if (++n_ts > PA_MAX_TS_PER_PCTX)
        return fail(d, x->dir, x->err, PA_LIMIT, at(x, &sub),
                    "dicom_ul.too_many_ts: more than %u transfer syntaxes in presentation context %u",
                    PA_MAX_TS_PER_PCTX, id);
      copy_uid(uid, sizeof uid, &sub);
      ul = strlen(uid);
      if (tsl + ul + 2 > sizeof pc->transfer_syntaxes) {
        anomaly(d, "dicom_ul.ts_list_truncated");
        continue;
      }
      if (tsl)
        pc->transfer_syntaxes[tsl++] = ',';
      memcpy(pc->transfer_syntaxes + tsl, uid, ul + 1);
      tsl += ul;
    } else {
      anomaly(d, "dicom_ul.unknown_item");
    }
  }
  return PA_OK;
}

static pa_rc pc_ac(struct actx *x, struct pa_rd *it)
{
  pa_dicom *d = x->d;
  uint8_t id, result, type;
  struct pa_rd sub;
  struct pa_pctx *pc = NULL;
  char uid[PA_UID_STRLEN] = "";
  pa_rc rc;

  if (pa_rd_u8(it, &id) || pa_rd_skip(it, 1) || pa_rd_u8(it, &result) || pa_rd_skip(it, 1))
    return fail(d, x->dir, x->err, PA_MALFORMED, at(x, it),
                "dicom_ul.bad_item_length: presentation context item shorter than 4 bytes");
  while (pa_rd_left(it)) {
    if ((rc = next_item(x, it, &type, &sub)))
      return rc;
    if (type == 0x40)
      copy_uid(uid, sizeof uid, &sub);
    else
      anomaly(d, "dicom_ul.unknown_item");
  }
  for (size_t i = 0; i < d->n_pc; i++)
    if (d->pc[i].pc_id == id) {
      pc = &d->pc[i];
      break;
    }
  if (!pc) {
    anomaly(d, "dicom_ul.unknown_pctx");
    return PA_OK;
  }
  pc->result = result;
  if (result == 0) {
    snprintf(pc->accepted_ts, sizeof pc->accepted_ts, "%s", uid);
    d->pc_ts[id] = (uint8_t)pa_dicom_ts_of_uid(uid);
  }
  return PA_OK;
}

static void sha256_hex(const uint8_t *p, size_t n, char out[65])
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int mdlen = 0;

  if (EVP_Digest(p, n, md, &mdlen, EVP_sha256(), NULL) != 1 || mdlen != 32) {
    out[0] = 0;
    return;
  }
  hex_encode(md, 32, out);
}

/* User identity negotiation sub-item 0x58 (PS3.7 D.3.3.7.1). The secondary
 * field (a passcode) is skipped unseen; tokens are only hashed and scanned
 * for their subject. */
static pa_rc user_identity(struct actx *x, struct pa_rd *it)
{
  pa_dicom *d = x->d;
  struct pa_assoc *a = &d->a;
  uint8_t type, posrsp;
  uint16_t plen, slen;
  const uint8_t *prim;

  if (pa_rd_u8(it, &type) || pa_rd_u8(it, &posrsp) || pa_rd_u16be(it, &plen))
    return fail(d, x->dir, x->err, PA_MALFORMED, at(x, it),
                "dicom_ul.bad_user_identity: sub-item shorter than its header");
  if (pa_rd_bytes(it, plen, &prim))
    return fail(d, x->dir, x->err, PA_MALFORMED, at(x, it),
                "dicom_ul.bad_user_identity: primary field of %u bytes, %zu left",
                plen, pa_rd_left(it));
  if (pa_rd_u16be(it, &slen) || pa_rd_skip(it, slen)) {
    /* the secondary length is always present (PS3.7 D.3.3.7.1); only type 2
     * needs it, so the others get away with an anomaly */
    if (type == 2)
      return fail(d, x->dir, x->err, PA_MALFORMED, at(x, it),
                  "dicom_ul.bad_user_identity: secondary field length exceeds the sub-item");
    anomaly(d, "dicom_ul.bad_user_identity");
  }
  a->user_identity_type = type;
  a->user_identity[0] = 0;
  a->user_identity_sha256[0] = 0;
  switch (type) {
  case 1:
  case 2:
    pa_dicom_copy_str(a->user_identity, sizeof a->user_identity, prim,
                      plen < PA_MAX_USER_ID_LEN ? plen : PA_MAX_USER_ID_LEN, 1);
    break;
  case 3:
  case 4:
  case 5:
    sha256_hex(prim, plen, a->user_identity_sha256);
    if (type == 5) {
      if (pa__dicom_jwt_subject(prim, plen, a->user_identity, sizeof a->user_identity) < 0)
        return PA_NOMEM;
    } else if (type == 4) {
      pa__dicom_saml_nameid(prim, plen, a->user_identity, sizeof a->user_identity);
    }
    break;
  default:
    anomaly(d, "dicom_ul.unknown_user_identity_type");
    break;
  }
  return PA_OK;
}

static pa_rc user_info(struct actx *x, struct pa_rd *it)
{
  pa_dicom *d = x->d;
  struct pa_assoc *a = &d->a;
  struct pa_rd sub;
  uint8_t type;
  pa_rc rc;

  while (pa_rd_left(it)) {
    if ((rc = next_item(x, it, &type, &sub)))
      return rc;
    switch (type) {
    case 0x51: {
      uint32_t v;
      if (pa_rd_u32be(&sub, &v))
        return fail(d, x->dir, x->err, PA_MALFORMED, at(x, &sub),
                    "dicom_ul.bad_item_length: maximum length sub-item shorter than 4 bytes");
      if (x->is_rq)
        a->max_pdu_rq = v;
      else
        a->max_pdu_ac = v;
      break;
    }
    case 0x52:
      if (x->is_rq)
        copy_uid(a->impl_class_rq, sizeof a->impl_class_rq, &sub);
      else
        copy_uid(a->impl_class_ac, sizeof a->impl_class_ac, &sub);
      break;
    case 0x55:
      if (x->is_rq)
        copy_uid(a->impl_version_rq, sizeof a->impl_version_rq, &sub);
      else
        copy_uid(a->impl_version_ac, sizeof a->impl_version_ac, &sub);
      break;
    case 0x58:
      if (!x->is_rq) {
        anomaly(d, "dicom_ul.unexpected_item");
        break;
      }
      if ((rc = user_identity(x, &sub)))
        return rc;
      break;
    case 0x59: {
      uint16_t l;
      if (x->is_rq) {
        anomaly(d, "dicom_ul.unexpected_item");
        break;
      }
      /* the server response (a ticket or assertion) is not kept */
      if (pa_rd_u16be(&sub, &l) || pa_rd_skip(&sub, l))
        anomaly(d, "dicom_ul.bad_user_identity");
      a->user_identity_rsp = 1;
      break;
    }
    default:
      break; /* 0x53 async ops, 0x54 role selection, 0x56 extended negotiation... */
    }
  }
  return PA_OK;
}

/* A-ASSOCIATE-RQ or -AC body (PS3.8 9.3.2, 9.3.3). */
static pa_rc parse_assoc(pa_dicom *d, int dir, int is_rq, const uint8_t *p, size_t n,
                         struct pa_err *err)
{
  struct actx x = { d, dir, is_rq, d->s[dir].pdu_off + 6, p, 0, err };
  struct pa_rd r, it;
  uint16_t ver;
  const uint8_t *called, *calling;
  uint8_t type;
  pa_rc rc;

  pa_rd_init(&r, p, n);
  if (pa_rd_u16be(&r, &ver) || pa_rd_skip(&r, 2) || pa_rd_bytes(&r, 16, &called) ||
      pa_rd_bytes(&r, 16, &calling) || pa_rd_skip(&r, 32))
    return fail(d, dir, err, PA_MALFORMED, x.base,
                "dicom_ul.bad_assoc_pdu: A-ASSOCIATE-%s of %zu bytes, shorter than 68",
                is_rq ? "RQ" : "AC", n);
  if (!(ver & 1))
    anomaly(d, "dicom_ul.protocol_version");
  if (is_rq) {
    pa_dicom_copy_str(d->a.called_ae, sizeof d->a.called_ae, called, 16, 1);
    pa_dicom_copy_str(d->a.calling_ae, sizeof d->a.calling_ae, calling, 16, 1);
  }
  while (pa_rd_left(&r)) {
    if ((rc = next_item(&x, &r, &type, &it)))
      return rc;
    switch (type) {
    case 0x10:
      if (is_rq)
        copy_uid(d->a.app_context, sizeof d->a.app_context, &it);
      break;
    case 0x20:
      if (!is_rq) {
        anomaly(d, "dicom_ul.unexpected_item");
        break;
      }
      if ((rc = pc_rq(&x, &it)))
        return rc;
      break;
    case 0x21:
      if (is_rq) {
        anomaly(d, "dicom_ul.unexpected_item");
        break;
      }
      if ((rc = pc_ac(&x, &it)))
        return rc;
      break;
    case 0x50:
      if ((rc = user_info(&x, &it)))
        return rc;
      break;
    default:
      anomaly(d, "dicom_ul.unknown_item");
      break;
    }
  }
  return PA_OK;
}

/* ---- reject and abort texts (PS3.8 Table 9-21, 9-26) --------------------- */

static const char *rj_reason_name(unsigned source, unsigned reason)
{
  if (source == 1) {
    switch (reason) {
    case 1: return "no-reason-given";
    case 2: return "application-context-name-not-supported";
    case 3: return "calling-AE-title-not-recognized";
    case 7: return "called-AE-title-not-recognized";
    default: return "reserved";
    }
  }
  if (source == 2) {
    switch (reason) {
    case 1: return "no-reason-given";
    case 2: return "protocol-version-not-supported";
    default: return "reserved";
    }
  }
  if (source == 3) {
    switch (reason) {
    case 1: return "temporary-congestion";
    case 2: return "local-limit-exceeded";
    default: return "reserved";
    }
  }
  return "unknown";
}

static const char *rj_source_name(unsigned source)
{
  switch (source) {
  case 1: return "service-user";
  case 2: return "service-provider (ACSE)";
  case 3: return "service-provider (presentation)";
  default: return "unknown-source";
  }
}

static const char *abort_reason_name(unsigned reason)
{
  switch (reason) {
  case 0: return "not-specified";
  case 1: return "unrecognized-PDU";
  case 2: return "unexpected-PDU";
  case 4: return "unrecognized-PDU-parameter";
  case 5: return "unexpected-PDU-parameter";
  case 6: return "invalid-PDU-parameter-value";
  default: return "reserved";
  }
}

/* ---- control PDUs ------------------------------------------------------- */

static const char *pdu_name(uint8_t t)
{
  switch (t) {
  case PDU_ASSOC_RQ: return "A-ASSOCIATE-RQ";
  case PDU_ASSOC_AC: return "A-ASSOCIATE-AC";
  case PDU_ASSOC_RJ: return "A-ASSOCIATE-RJ";
  case PDU_PDATA: return "P-DATA-TF";
  case PDU_RELEASE_RQ: return "A-RELEASE-RQ";
  case PDU_RELEASE_RP: return "A-RELEASE-RP";
  case PDU_ABORT: return "A-ABORT";
  default: return "unknown PDU";
  }
}

/* Is a PDU of type t from dir acceptable now? (checked at its header) */
static pa_rc check_order(pa_dicom *d, int dir, uint8_t t, struct pa_err *err)
{
  struct side *s = &d->s[dir];
  const char *why = NULL;

  if (!d->begun) {
    if (t != PDU_ASSOC_RQ || dir != 0)
      why = "before A-ASSOCIATE-RQ";
  } else if (t == PDU_ASSOC_RQ) {
    why = "after A-ASSOCIATE-RQ";
  } else if ((t == PDU_ASSOC_AC || t == PDU_ASSOC_RJ) && (dir != 1 || d->ac_seen)) {
    why = dir != 1 ? "from the requestor" : "after A-ASSOCIATE-AC";
  }
  if (!why)
    return PA_OK;
  return fail(d, dir, err, PA_MALFORMED, s->pdu_off, "dicom_ul.unexpected_pdu: %s %s",
              pdu_name(t), why);
}

static pa_rc on_assoc_rq(pa_dicom *d, int dir, const uint8_t *p, size_t n, struct pa_err *err)
{
  pa_rc rc;

  memset(d->pc_ts, 0, sizeof d->pc_ts);
  if ((rc = parse_assoc(d, dir, 1, p, n, err)))
    return rc;
  d->begun = 1;
  d->a.started_at = d->s[dir].pdu_ts;
  d->a.result = "incomplete";
  if (d->sink.assoc_begin && (rc = d->sink.assoc_begin(d->sink.ctx, &d->a, &d->id)))
    return rc;
  if (d->id == 0)
    d->muted = 1;
  return PA_OK;
}

static pa_rc on_assoc_ac(pa_dicom *d, int dir, const uint8_t *p, size_t n, struct pa_err *err)
{
  pa_rc rc;

  if ((rc = parse_assoc(d, dir, 0, p, n, err)))
    return rc;
  d->ac_seen = 1;
  if ((rc = assoc_update(d)))
    return rc;
  return negotiated(d, 0);
}

static pa_rc on_assoc_rj(pa_dicom *d, int dir, const uint8_t *p, size_t n, int64_t ts,
                         struct pa_err *err)
{
  struct pa_rd r;
  uint8_t result, source, reason;
  pa_rc rc;

  pa_rd_init(&r, p, n);
  if (pa_rd_skip(&r, 1) || pa_rd_u8(&r, &result) || pa_rd_u8(&r, &source) ||
      pa_rd_u8(&r, &reason))
    return fail(d, dir, err, PA_MALFORMED, d->s[dir].pdu_off,
                "dicom_ul.bad_pdu_length: A-ASSOCIATE-RJ of %zu bytes, shorter than 4", n);
  d->ac_seen = 1;
  d->rj_seen = 1;
  d->closed = 1;
  d->a.result = "rejected";
  d->a.ended_at = ts;
  snprintf(d->a.reject_reason, sizeof d->a.reject_reason,
           "%s; %s; %s (result %u, source %u, reason %u)",
           result == 1 ? "rejected-permanent" : result == 2 ? "rejected-transient" : "rejected",
           rj_source_name(source), rj_reason_name(source, reason), result, source, reason);
  if ((rc = assoc_update(d)))
    return rc;
  if ((rc = negotiated(d, 8)))
    return rc;
  return emit_event(d, "ASSOC:reject", 'E', 8, ts, 0, NULL, NULL, -1);
}

static pa_rc on_abort(pa_dicom *d, int dir, const uint8_t *p, size_t n, int64_t ts)
{
  struct pa_rd r;
  uint8_t source = 0, reason = 0;
  pa_rc rc;

  pa_rd_init(&r, p, n);
  if (pa_rd_skip(&r, 2) || pa_rd_u8(&r, &source) || pa_rd_u8(&r, &reason))
    anomaly(d, "dicom_ul.bad_pdu_length");
  d->closed = 1;
  d->a.result = "aborted";
  d->a.ended_at = ts;
  /* The PDU's source field says user or provider, not which side: the
   * direction does (dcmtk's SCP and SCU both abort as service-user). */
  snprintf(d->a.reject_reason, sizeof d->a.reject_reason,
           "aborted by %s (reason %u %s), sent by the %s",
           source == 0 ? "service-user" : source == 2 ? "service-provider" : "unknown-source",
           reason, abort_reason_name(reason), dir == 0 ? "requestor" : "acceptor");
  if ((rc = negotiated(d, 8)))
    return rc;
  return emit_event(d, "ASSOC:abort", 'E', 8, ts, dir, NULL, NULL, -1);
}

/* A whole control PDU body of type s->pdu_type from direction dir. */
static pa_rc ctrl_pdu(pa_dicom *d, int dir, const uint8_t *p, size_t n, int64_t ts,
                      struct pa_err *err)
{
  struct side *s = &d->s[dir];

  switch (s->pdu_type) {
  case PDU_ASSOC_RQ: return on_assoc_rq(d, dir, p, n, err);
  case PDU_ASSOC_AC: return on_assoc_ac(d, dir, p, n, err);
  case PDU_ASSOC_RJ: return on_assoc_rj(d, dir, p, n, ts, err);
  case PDU_RELEASE_RQ:
    if (d->rel_rq_dir < 0)
      d->rel_rq_dir = dir;
    return PA_OK;
  case PDU_RELEASE_RP:
    if (d->rel_rq_dir < 0) {
      anomaly(d, "dicom_ul.unexpected_release_rp");
      return PA_OK;
    }
    if (d->rel_rq_dir == dir) {
      /* a release collision: both sides sent RQ; wait for the other RP */
      return PA_OK;
    }
    d->a.result = "released";
    d->a.ended_at = ts;
    d->closed = 1;
    return PA_OK;
  case PDU_ABORT: return on_abort(d, dir, p, n, ts);
  default: return PA_OK;
  }
}

/* ---- the per-direction state machine ------------------------------------ */

static pa_rc step_hdr(pa_dicom *d, int dir, const uint8_t *p, size_t len, int64_t ts,
                      struct pa_err *err, size_t *used)
{
  struct side *s = &d->s[dir];
  size_t take = 6 - s->hdr_have;
  uint32_t plen;
  uint8_t t;
  pa_rc rc;

  if (s->hdr_have == 0) {
    s->pdu_off = s->off;
    s->pdu_ts = ts;
  }
  if (take > len)
    take = len;
  memcpy(s->hdr + s->hdr_have, p, take);
  s->hdr_have += take;
  *used = take;
  if (s->hdr_have < 6)
    return PA_OK;
  s->hdr_have = 0;
  t = s->hdr[0];
  plen = be32(s->hdr + 2);
  if (t < PDU_ASSOC_RQ || t > PDU_ABORT)
    return fail(d, dir, err, PA_MALFORMED, s->pdu_off,
                "dicom_ul.unknown_pdu_type: PDU type 0x%02x", t);
  if (plen > PA_MAX_PDU_LEN)
    return fail(d, dir, err, PA_LIMIT, s->pdu_off + 2,
                "dicom_ul.pdu_too_large: %s announces %u bytes, more than %u",
                pdu_name(t), plen, PA_MAX_PDU_LEN);
  if ((rc = check_order(d, dir, t, err)))
    return rc;
  s->pdu_type = t;
  s->pdu_len = plen;
  s->pdu_left = plen;
  if (t == PDU_PDATA) {
    /* each side announced the longest P-DATA-TF it receives (PS3.8 D.1);
     * direction 0 sends to the acceptor. 0 means no limit. */
    uint32_t max = dir == 0 ? d->a.max_pdu_ac : d->a.max_pdu_rq;
    if (max && plen > max)
      anomaly(d, "dicom_ul.pdu_exceeds_max");
    s->state = plen ? S_PDATA : S_HDR;
    s->pdvh_have = 0;
    s->in_pdv = 0;
    return PA_OK;
  }
  if (plen > PA_MAX_CTRL_PDU_LEN)
    return fail(d, dir, err, PA_LIMIT, s->pdu_off + 2,
                "dicom_ul.ctrl_pdu_too_large: %s announces %u bytes, more than %u",
                pdu_name(t), plen, PA_MAX_CTRL_PDU_LEN);
  if (len - take >= plen) {
    /* the whole PDU is in this feed: parse it in place, no copy */
    *used = take + plen;
    s->pdu_left = 0;
    return ctrl_pdu(d, dir, p + take, plen, ts, err);
  }
  s->state = S_CTRL;
  s->ctrl_len = 0;
  return PA_OK;
}

static pa_rc step_ctrl(pa_dicom *d, int dir, const uint8_t *p, size_t len, int64_t ts,
                       struct pa_err *err, size_t *used)
{
  struct side *s = &d->s[dir];
  size_t take = s->pdu_left < len ? s->pdu_left : len;
  pa_rc rc;

  *used = 0;
  if ((rc = ctrl_reserve(s, s->ctrl_len + take)))
    return rc;
  memcpy(s->ctrl + s->ctrl_len, p, take);
  s->ctrl_len += take;
  s->pdu_left -= (uint32_t)take;
  *used = take;
  if (s->pdu_left)
    return PA_OK;
  s->state = S_HDR;
  rc = ctrl_pdu(d, dir, s->ctrl, s->ctrl_len, ts, err);
  side_free_ctrl(s); /* wipes: an A-ASSOCIATE-RQ may hold a passcode */
  return rc;
}

/* ---- public API ---------------------------------------------------------- */

int pa_dicom_sniff(const uint8_t *p, size_t len)
{
  /* 01 00 LLLLLLLL VVVV: A-ASSOCIATE-RQ, plausible length, version bit 0 */
  if (len >= 1 && p[0] != PDU_ASSOC_RQ)
    return 0;
  if (len >= 2 && p[1] != 0)
    return 0;
  if (len < 6)
    return -1;
  uint32_t l = be32(p + 2);
  if (l < 68 || l > PA_MAX_CTRL_PDU_LEN)
    return 0;
  if (len < 10)
    return -1;
  if (!((p[6] << 8 | p[7]) & 1))
    return 0;
  return 1;
}

pa_rc pa_dicom_new(const struct pa_conn *conn, const struct pa_sink *sink, pa_dicom **out)
{
  pa_dicom *d = calloc(1, sizeof *d);

  *out = NULL;
  if (!d)
    return PA_NOMEM;
  d->conn = *conn;
  d->sink = *sink;
  d->a.conn = *conn;
  d->a.result = "incomplete";
  d->rel_rq_dir = -1;
  for (int i = 0; i < 2; i++) {
    pa_buf_init(&d->s[i].cmd, PA_MAX_CMD_LEN);
    pa_buf_init(&d->s[i].ds, PA_MAX_IDENT_LEN);
  }
  *out = d;
  return PA_OK;
}

pa_rc pa_dicom_feed(pa_dicom *d, int dir, const uint8_t *p, size_t len, int64_t ts,
                    struct pa_err *err)
{
  struct side *s;
  pa_rc rc = PA_OK;

  if (dir != 0 && dir != 1)
    return PA_USAGE;
  s = &d->s[dir];
  d->a.bytes += len;
  if (!d->have_first_ts) {
    d->have_first_ts = 1;
    d->first_ts = ts;
  }
  while (len > 0 && !d->muted && !d->ended && !d->closed && !s->stopped) {
    size_t used = 0;
    switch (s->state) {
    case S_HDR: rc = step_hdr(d, dir, p, len, ts, err, &used); break;
    case S_CTRL: rc = step_ctrl(d, dir, p, len, ts, err, &used); break;
    default: rc = step_pdata(d, dir, p, len, ts, err, &used); break;
    }
    s->off += used;
    p += used;
    len -= used;
    if (rc) {
      s->stopped = 1;
      break;
    }
  }
  s->off += len; /* bytes ignored after an error, the end or a close */
  return rc;
}

void pa_dicom_gap(pa_dicom *d, int dir, uint64_t n, int64_t ts)
{
  (void)ts;
  if (dir != 0 && dir != 1)
    return;
  if (!d->s[dir].stopped && !d->closed && !d->gap[0])
    snprintf(d->gap, sizeof d->gap, "capture gap of %llu bytes", (unsigned long long)n);
  d->s[dir].stopped = 1;
  d->s[dir].off += n;
}

pa_rc pa_dicom_end(pa_dicom *d, const char *why, int64_t ts)
{
  pa_rc rc;

  if (d->ended)
    return PA_OK;
  d->ended = 1;
  if (!d->begun) {
    /* the A-ASSOCIATE-RQ never completed: record the attempt if any byte came */
    if (d->a.bytes == 0)
      return PA_OK;
    d->begun = 1;
    d->a.started_at = d->have_first_ts ? d->first_ts : d->conn.start_ts;
    d->a.result = "incomplete";
    if (d->sink.assoc_begin && (rc = d->sink.assoc_begin(d->sink.ctx, &d->a, &d->id)))
      return rc;
    if (d->id == 0)
      d->muted = 1;
    d->negotiated = 1; /* nothing was proposed: no pctx rows, no events */
  }
  if (d->muted)
    return PA_OK;
  if ((rc = negotiated(d, 8)))
    return rc;
  while (d->n_pend > 0) {
    rc = dimse_emit(d, &d->pend[0]);
    pend_remove(d, 0);
    if (rc)
      return rc;
  }
  if (!d->a.ended_at)
    d->a.ended_at = ts;
  if (strcmp(d->a.result, "incomplete") == 0) {
    const char *r = d->fail[0] ? d->fail : d->gap[0] ? d->gap : why && why[0] ? why
                                                                 : "connection ended";
    if (d->rel_rq_dir >= 0 && !d->fail[0] && !d->gap[0] && !(why && why[0]))
      r = "A-RELEASE-RQ not answered";
    snprintf(d->a.reject_reason, sizeof d->a.reject_reason, "%s", r);
  }
  return assoc_update(d);
}

void pa_dicom_free(pa_dicom *d)
{
  if (!d)
    return;
  for (int i = 0; i < 2; i++) {
    side_free_ctrl(&d->s[i]);
    pa_buf_cleanup(&d->s[i].cmd);
    pa_buf_cleanup(&d->s[i].ds);
  }
  for (size_t i = 0; i < d->n_pend; i++) {
    free(d->pend[i].query);
    free(d->pend[i].res);
  }
  free(d->pend);
  free(d->pc);
  free(d);
}

/* ---- user identity tokens ------------------------------------------------ */

static int b64url_val(uint8_t c)
{
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-' || c == '+') return 62;
  if (c == '_' || c == '/') return 63;
  return -1;
}

/* A tiny bounded JSON scanner: enough to find a top-level string member. */
struct js {
  const uint8_t *p;
  size_t n, i;
};

static void js_ws(struct js *j)
{
  while (j->i < j->n && (j->p[j->i] == ' ' || j->p[j->i] == '\t' || j->p[j->i] == '\n' ||
                         j->p[j->i] == '\r'))
    j->i++;
}

static int hexv(uint8_t c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A string at j->i. Writes up to size-1 decoded bytes to out (if out) and
 * the decoded length to *len_out. 0 ok, -1 malformed. */
static int js_string(struct js *j, char *out, size_t size, size_t *len_out)
{
  size_t o = 0, total = 0;

  if (j->i >= j->n || j->p[j->i] != '"')
    return -1;
  j->i++;
  while (j->i < j->n) {
    uint8_t c = j->p[j->i++];
    if (c == '"') {
      if (out)
        out[o] = 0;
      if (len_out)
        *len_out = total;
      return 0;
    }
    if (c == '\\') {
      if (j->i >= j->n)
        return -1;
      uint8_t e = j->p[j->i++];
      switch (e) {
      case 'n': case 't': case 'r': case 'b': case 'f': c = '?'; break;
      case 'u': {
        unsigned v = 0;
        if (j->n - j->i < 4)
          return -1;
        for (int k = 0; k < 4; k++) {
          int h = hexv(j->p[j->i++]);
          if (h < 0)
            return -1;
          v = v << 4 | (unsigned)h;
        }
        c = (v >= 0x20 && v < 0x7F) ? (uint8_t)v : '?';
        break;
      }
      default: c = e; break; /* \" \\ \/ */
      }
    } else if (c < 0x20 || c == 0x7F) {
      c = '?';
    }
    total++;
    if (out && o + 1 < size)
      out[o++] = (char)c;
  }
  return -1;
}

static int js_skip(struct js *j, int depth)
{
  if (depth > 32)
    return -1;
  js_ws(j);
  if (j->i >= j->n)
    return -1;
  uint8_t c = j->p[j->i];
  if (c == '"')
    return js_string(j, NULL, 0, NULL);
  if (c == '{' || c == '[') {
    uint8_t close = c == '{' ? '}' : ']';
    j->i++;
    js_ws(j);
    if (j->i < j->n && j->p[j->i] == close) {
      j->i++;
      return 0;
    }
    for (;;) {
      if (c == '{') {
        js_ws(j);
        if (js_string(j, NULL, 0, NULL))
          return -1;
        js_ws(j);
        if (j->i >= j->n || j->p[j->i] != ':')
          return -1;
        j->i++;
      }
      if (js_skip(j, depth + 1))
        return -1;
      js_ws(j);
      if (j->i >= j->n)
        return -1;
      if (j->p[j->i] == ',') {
        j->i++;
        continue;
      }
      if (j->p[j->i] == close) {
        j->i++;
        return 0;
      }
      return -1;
    }
  }
  /* number, true, false, null */
  size_t st = j->i;
  while (j->i < j->n) {
    c = j->p[j->i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '-' || c == '+' ||
          c == '.' || c == 'E'))
      break;
    j->i++;
  }
  return j->i > st ? 0 : -1;
}

static int json_sub(const uint8_t *p, size_t n, char *sub, size_t size)
{
  struct js j = { p, n, 0 };

  js_ws(&j);
  if (j.i >= j.n || p[j.i] != '{')
    return 0;
  j.i++;
  js_ws(&j);
  if (j.i < j.n && p[j.i] == '}')
    return 0;
  for (;;) {
    char key[8];
    size_t kl = 0;
    js_ws(&j);
    if (js_string(&j, key, sizeof key, &kl))
      return 0;
    js_ws(&j);
    if (j.i >= j.n || p[j.i] != ':')
      return 0;
    j.i++;
    js_ws(&j);
    if (kl == 3 && memcmp(key, "sub", 3) == 0 && j.i < j.n && p[j.i] == '"')
      return js_string(&j, sub, size, NULL) == 0 ? 1 : 0;
    if (js_skip(&j, 1))
      return 0;
    js_ws(&j);
    if (j.i < j.n && p[j.i] == ',') {
      j.i++;
      continue;
    }
    return 0;
  }
}

int pa__dicom_jwt_subject(const uint8_t *tok, size_t n, char *sub, size_t size)
{
  size_t a, b, plen, o = 0;
  uint8_t *dec;
  uint32_t acc = 0;
  int bits = 0, found;

  sub[0] = 0;
  if (n > PA_MAX_TOKEN_LEN)
    n = PA_MAX_TOKEN_LEN;
  for (a = 0; a < n && tok[a] != '.'; a++)
    ;
  if (a == n)
    return 0;
  for (b = a + 1; b < n && tok[b] != '.'; b++)
    ;
  plen = b - a - 1;
  dec = malloc(plen / 4 * 3 + 3);
  if (!dec)
    return -1;
  for (size_t i = a + 1; i < b; i++) {
    int v = b64url_val(tok[i]);
    if (tok[i] == '=')
      break;
    if (v < 0) {
      o = 0;
      break;
    }
    acc = acc << 6 | (uint32_t)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      dec[o++] = (uint8_t)(acc >> bits);
    }
  }
  found = o ? json_sub(dec, o, sub, size) : 0;
  OPENSSL_cleanse(dec, plen / 4 * 3 + 3);
  OPENSSL_cleanse(&acc, sizeof acc);
  free(dec);
  if (!found)
    sub[0] = 0;
  return found;
}

int pa__dicom_saml_nameid(const uint8_t *tok, size_t n, char *out, size_t size)
{
  size_t i = 0;

  out[0] = 0;
  if (n > PA_MAX_TOKEN_LEN)
    n = PA_MAX_TOKEN_LEN;
  while (i < n) {
    const uint8_t *lt = memchr(tok + i, '<', n - i);
    size_t s, e, name_s;
    if (!lt)
      return 0;
    s = (size_t)(lt - tok) + 1;
    /* the tag name: up to whitespace, '>' or '/' */
    e = s;
    while (e < n && tok[e] != ' ' && tok[e] != '\t' && tok[e] != '\r' && tok[e] != '\n' &&
           tok[e] != '>' && tok[e] != '/')
      e++;
    name_s = s;
    for (size_t k = s; k < e; k++)
      if (tok[k] == ':')
        name_s = k + 1;
    i = s;
    if (e - name_s != 6 || memcmp(tok + name_s, "NameID", 6) != 0 || s == e)
      continue;
    /* end of the start tag, quotes respected */
    uint8_t q = 0;
    size_t k = e;
    for (; k < n; k++) {
      if (q) {
        if (tok[k] == q)
          q = 0;
      } else if (tok[k] == '"' || tok[k] == '\'') {
        q = tok[k];
      } else if (tok[k] == '>') {
        break;
      }
    }
    if (k >= n)
      return 0;
    if (tok[k - 1] == '/') {
      i = k + 1;
      continue; /* <NameID/> is empty */
    }
    size_t vs = k + 1, ve = vs;
    while (ve < n && tok[ve] != '<')
      ve++;
    while (vs < ve && (tok[vs] == ' ' || tok[vs] == '\t' || tok[vs] == '\r' || tok[vs] == '\n'))
      vs++;
    while (ve > vs && (tok[ve - 1] == ' ' || tok[ve - 1] == '\t' || tok[ve - 1] == '\r' ||
                       tok[ve - 1] == '\n'))
      ve--;
    pa_dicom_copy_str(out, size, tok + vs, ve - vs, 0);
    return out[0] != 0;
  }
  return 0;
}
