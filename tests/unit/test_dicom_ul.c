/* test_dicom_ul.c — unit tests of collectors/dicom_ul and collectors/dicom_ds.
 *
 * PDUs are built byte by byte with small builders (each call commented with
 * the readable content); a transcript holds the bytes of both directions in
 * order, and is fed to a decoder in chunks of various sizes. A recording sink
 * keeps copies of every record and the order of the calls, and scans every
 * record for a secret (a passcode) that must never appear.
 *
 * With PA_WRITE_CORPUS=DIR set, each transcript is also written to DIR in
 * the input format of tests/fuzz/fuzz_dicom_ul.c (seed corpus). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "analyzer/buf.h"
#include "analyzer/limits.h"
#include "collectors/dicom_ds.h"
#include "collectors/dicom_ul.h"
#include "collectors/dicom_ul_int.h"
#include "tests/unit/pa_test.h"

/* ---- byte builder ----------------------------------------------------- */

struct bb {
  uint8_t *p;
  size_t n, size;
};

static void put(struct bb *b, const void *p, size_t n)
{
  if (b->n + n > b->size) {
    size_t sz = b->size ? b->size : 256;
    while (sz < b->n + n)
      sz *= 2;
    b->p = realloc(b->p, sz);
    assert_non_null(b->p);
    b->size = sz;
  }
  if (n)
    memcpy(b->p + b->n, p, n);
  b->n += n;
}
static void put8(struct bb *b, uint8_t v) { put(b, &v, 1); }
static void put16be(struct bb *b, uint16_t v) { put8(b, (uint8_t)(v >> 8)); put8(b, (uint8_t)v); }
static void put32be(struct bb *b, uint32_t v) { put16be(b, (uint16_t)(v >> 16)); put16be(b, (uint16_t)v); }
static void put16le(struct bb *b, uint16_t v) { put8(b, (uint8_t)v); put8(b, (uint8_t)(v >> 8)); }
static void put32le(struct bb *b, uint32_t v) { put16le(b, (uint16_t)v); put16le(b, (uint16_t)(v >> 16)); }
static void puts_(struct bb *b, const char *s) { put(b, s, strlen(s)); }
static void putz(struct bb *b, size_t n) { for (size_t i = 0; i < n; i++) put8(b, 0); }
static void bb_free(struct bb *b) { free(b->p); memset(b, 0, sizeof *b); }
static void ae16(struct bb *b, const char *ae)
{
  size_t l = strlen(ae);
  put(b, ae, l);
  for (; l < 16; l++)
    put8(b, ' ');
}

/* item: type, reserved, 16-bit BE length, value */
static void item(struct bb *b, uint8_t type, const void *v, size_t n)
{
  put8(b, type);
  put8(b, 0);
  put16be(b, (uint16_t)n);
  put(b, v, n);
}
static void item_s(struct bb *b, uint8_t type, const char *s) { item(b, type, s, strlen(s)); }

/* PDU: type, reserved, 32-bit BE length, body */
static void pdu(struct bb *b, uint8_t type, const struct bb *body)
{
  put8(b, type);
  put8(b, 0);
  put32be(b, (uint32_t)body->n);
  put(b, body->p, body->n);
}

/* ---- dataset element builder ----------------------------------------- */

enum { IMPL = 0, EXPL_LE = 1, EXPL_BE = 2 };

static int long_vr(const char *vr)
{
  return !strcmp(vr, "OB") || !strcmp(vr, "OW") || !strcmp(vr, "SQ") || !strcmp(vr, "UN") ||
         !strcmp(vr, "UT") || !strcmp(vr, "UC");
}

static void el_hdr(struct bb *b, int ts, uint16_t g, uint16_t e, const char *vr, uint32_t len)
{
  if (ts == EXPL_BE) {
    put16be(b, g);
    put16be(b, e);
  } else {
    put16le(b, g);
    put16le(b, e);
  }
  if (ts == IMPL) {
    put32le(b, len);
    return;
  }
  put(b, vr, 2);
  if (long_vr(vr)) {
    put16le(b, 0);
    if (ts == EXPL_BE)
      put32be(b, len);
    else
      put32le(b, len);
  } else if (ts == EXPL_BE) {
    put16be(b, (uint16_t)len);
  } else {
    put16le(b, (uint16_t)len);
  }
}

/* a string element, padded to even length (UI with NUL, others with space) */
static void el_str(struct bb *b, int ts, uint16_t g, uint16_t e, const char *vr, const char *s)
{
  size_t l = strlen(s);
  el_hdr(b, ts, g, e, vr, (uint32_t)(l + (l & 1)));
  put(b, s, l);
  if (l & 1)
    put8(b, strcmp(vr, "UI") ? ' ' : 0);
}

static void el_us(struct bb *b, int ts, uint16_t g, uint16_t e, uint16_t v)
{
  el_hdr(b, ts, g, e, "US", 2);
  if (ts == EXPL_BE)
    put16be(b, v);
  else
    put16le(b, v);
}

/* an item/delimitation tag (FFFE,xxxx) with a length */
static void el_item(struct bb *b, int ts, uint16_t e, uint32_t len)
{
  if (ts == EXPL_BE) {
    put16be(b, 0xFFFE);
    put16be(b, e);
    put32be(b, len);
  } else {
    put16le(b, 0xFFFE);
    put16le(b, e);
    put32le(b, len);
  }
}

/* ---- DIMSE command builder ------------------------------------------- */

struct cs {
  uint16_t field;
  int msgid, rsp_id, status, remaining, completed, failed, warning; /* -1 absent */
  const char *aff_class, *aff_inst, *move_dest;                      /* NULL absent */
  int has_ds;
  const char *move_orig; /* NULL absent */
  int move_orig_id;      /* -1 absent */
};

static struct cs cs_new(uint16_t field)
{
  struct cs c = { field, -1, -1, -1, -1, -1, -1, -1, NULL, NULL, NULL, 0, NULL, -1 };
  return c;
}

/* The command set, implicit VR LE, group 0000 in tag order with its group length. */
static void cmd_build(struct bb *out, const struct cs *c)
{
  struct bb t = { 0 };
  if (c->aff_class)
    el_str(&t, IMPL, 0, 0x0002, "UI", c->aff_class);       /* AffectedSOPClassUID */
  el_us(&t, IMPL, 0, 0x0100, c->field);                     /* CommandField */
  if (c->msgid >= 0)
    el_us(&t, IMPL, 0, 0x0110, (uint16_t)c->msgid);         /* MessageID */
  if (c->rsp_id >= 0)
    el_us(&t, IMPL, 0, 0x0120, (uint16_t)c->rsp_id);        /* MessageIDBeingRespondedTo */
  if (c->move_dest)
    el_str(&t, IMPL, 0, 0x0600, "AE", c->move_dest);        /* MoveDestination */
  el_us(&t, IMPL, 0, 0x0800, c->has_ds ? 0x0000 : 0x0101);  /* CommandDataSetType */
  if (c->status >= 0)
    el_us(&t, IMPL, 0, 0x0900, (uint16_t)c->status);        /* Status */
  if (c->aff_inst)
    el_str(&t, IMPL, 0, 0x1000, "UI", c->aff_inst);         /* AffectedSOPInstanceUID */
  if (c->remaining >= 0)
    el_us(&t, IMPL, 0, 0x1020, (uint16_t)c->remaining);
  if (c->completed >= 0)
    el_us(&t, IMPL, 0, 0x1021, (uint16_t)c->completed);
  if (c->failed >= 0)
    el_us(&t, IMPL, 0, 0x1022, (uint16_t)c->failed);
  if (c->warning >= 0)
    el_us(&t, IMPL, 0, 0x1023, (uint16_t)c->warning);
  if (c->move_orig)
    el_str(&t, IMPL, 0, 0x1030, "AE", c->move_orig);        /* MoveOriginatorAETitle */
  if (c->move_orig_id >= 0)
    el_us(&t, IMPL, 0, 0x1031, (uint16_t)c->move_orig_id);  /* MoveOriginatorMessageID */
  el_hdr(out, IMPL, 0, 0x0000, "UL", 4);                    /* CommandGroupLength */
  put32le(out, (uint32_t)t.n);
  put(out, t.p, t.n);
  bb_free(&t);
}

/* ---- transcripts ------------------------------------------------------ */

struct seg {
  int dir;
  size_t off, len;
};

struct tr {
  struct bb b;
  struct seg seg[256];
  size_t n;
};

static void tr_add(struct tr *t, int dir, const struct bb *x)
{
  assert_true(t->n < 256);
  t->seg[t->n].dir = dir;
  t->seg[t->n].off = t->b.n;
  t->seg[t->n].len = x->n;
  t->n++;
  put(&t->b, x->p, x->n);
}

static void tr_free(struct tr *t) { bb_free(&t->b); t->n = 0; }

/* One P-DATA message: the command in fragments of at most frag bytes (one
 * PDU each), then the dataset (if any) in fragments, two PDVs per PDU. */
static void send_msg(struct tr *t, int dir, uint8_t pc, const struct cs *c, const struct bb *ds,
                     size_t frag)
{
  struct bb cmd = { 0 }, out = { 0 };
  cmd_build(&cmd, c);
  for (size_t o = 0; o < cmd.n; o += frag) {
    size_t n = cmd.n - o < frag ? cmd.n - o : frag;
    struct bb body = { 0 };
    put32be(&body, (uint32_t)n + 2);                           /* PDV item length */
    put8(&body, pc);                                           /* presentation context id */
    put8(&body, (uint8_t)(0x01 | (o + n == cmd.n ? 0x02 : 0))); /* command, last? */
    put(&body, cmd.p + o, n);
    pdu(&out, 0x04, &body);                                    /* P-DATA-TF */
    bb_free(&body);
  }
  if (ds) {
    size_t o = 0;
    while (o < ds->n || (o == 0 && ds->n == 0)) {
      struct bb body = { 0 };
      for (int k = 0; k < 2 && (o < ds->n || (o == 0 && ds->n == 0)); k++) {
        size_t n = ds->n - o < frag ? ds->n - o : frag;
        put32be(&body, (uint32_t)n + 2);
        put8(&body, pc);
        put8(&body, (uint8_t)(o + n == ds->n ? 0x02 : 0x00)); /* data, last? */
        put(&body, ds->p + o, n);
        o += n;
        if (ds->n == 0)
          break;
      }
      pdu(&out, 0x04, &body);
      bb_free(&body);
      if (ds->n == 0)
        break;
    }
  }
  tr_add(t, dir, &out);
  bb_free(&cmd);
  bb_free(&out);
}

/* A-RELEASE-RQ (dir 0) and A-RELEASE-RP (dir 1): 4 reserved bytes each */
static void send_release(struct tr *t)
{
  static const uint8_t rq[] = { 0x05, 0x00, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0 };
  static const uint8_t rp[] = { 0x06, 0x00, 0x00, 0x00, 0x00, 0x04, 0, 0, 0, 0 };
  struct bb a = { 0 }, b = { 0 };
  put(&a, rq, sizeof rq);
  put(&b, rp, sizeof rp);
  tr_add(t, 0, &a);
  tr_add(t, 1, &b);
  bb_free(&a);
  bb_free(&b);
}

struct pcspec {
  uint8_t id;
  const char *as;
  const char *ts[3];
  uint8_t result;     /* in the AC */
  const char *ac_ts;  /* in the AC */
};

/* A-ASSOCIATE-RQ with the given contexts; ui_extra is appended to the user
 * information item (e.g. a user identity sub-item). */
static void assoc_rq(struct bb *out, const char *called, const char *calling,
                     const struct pcspec *pcs, size_t n, const struct bb *ui_extra)
{
  struct bb b = { 0 }, ui = { 0 };
  put16be(&b, 1);                                  /* protocol version 1 */
  put16be(&b, 0);                                  /* reserved */
  ae16(&b, called);                                /* called AE */
  ae16(&b, calling);                               /* calling AE */
  putz(&b, 32);                                    /* reserved */
  item_s(&b, 0x10, "1.2.840.10008.3.1.1.1");       /* application context */
  for (size_t i = 0; i < n; i++) {
    struct bb pc = { 0 };
    put8(&pc, pcs[i].id);                          /* pc id */
    putz(&pc, 3);
    item_s(&pc, 0x30, pcs[i].as);                  /* abstract syntax */
    for (int k = 0; k < 3 && pcs[i].ts[k]; k++)
      item_s(&pc, 0x40, pcs[i].ts[k]);             /* transfer syntax */
    item(&b, 0x20, pc.p, pc.n);
    bb_free(&pc);
  }
  put8(&ui, 0x51); put8(&ui, 0); put16be(&ui, 4); put32be(&ui, 16384); /* max length 16384 */
  item(&ui, 0x52, "1.2.3.4\0", 8);                /* impl class UID, NUL padded */
  item_s(&ui, 0x55, "PACSAUDIT_TEST");             /* impl version name */
  if (ui_extra)
    put(&ui, ui_extra->p, ui_extra->n);
  item(&b, 0x50, ui.p, ui.n);
  pdu(out, 0x01, &b);
  bb_free(&b);
  bb_free(&ui);
}

static void assoc_ac(struct bb *out, const char *called, const char *calling,
                     const struct pcspec *pcs, size_t n, int uid_rsp)
{
  struct bb b = { 0 }, ui = { 0 };
  put16be(&b, 1);
  put16be(&b, 0);
  ae16(&b, called);
  ae16(&b, calling);
  putz(&b, 32);
  item_s(&b, 0x10, "1.2.840.10008.3.1.1.1");
  for (size_t i = 0; i < n; i++) {
    struct bb pc = { 0 };
    put8(&pc, pcs[i].id);                          /* pc id */
    put8(&pc, 0);
    put8(&pc, pcs[i].result);                      /* result/reason */
    put8(&pc, 0);
    item_s(&pc, 0x40, pcs[i].ac_ts ? pcs[i].ac_ts : "1.2.840.10008.1.2");
    item(&b, 0x21, pc.p, pc.n);
    bb_free(&pc);
  }
  put8(&ui, 0x51); put8(&ui, 0); put16be(&ui, 4); put32be(&ui, 32768); /* max length 32768 */
  item_s(&ui, 0x52, "1.2.3.5");                    /* impl class UID */
  item_s(&ui, 0x55, "ACCEPTOR");
  if (uid_rsp) {
    static const uint8_t r[] = { 0x59, 0, 0, 6, 0, 4, 'o', 'k', 'o', 'k' }; /* server response "okok" */
    put(&ui, r, sizeof r);
  }
  item(&b, 0x50, ui.p, ui.n);
  pdu(out, 0x02, &b);
  bb_free(&b);
  bb_free(&ui);
}

static void tr_assoc(struct tr *t, const struct pcspec *pcs, size_t n, const struct bb *ui_extra,
                     int ac)
{
  struct bb rq = { 0 }, acb = { 0 };
  assoc_rq(&rq, "ARCHIVE", "MODALITY1", pcs, n, ui_extra);
  tr_add(t, 0, &rq);
  if (ac) {
    assoc_ac(&acb, "ARCHIVE", "MODALITY1", pcs, n, ui_extra != NULL);
    tr_add(t, 1, &acb);
  }
  bb_free(&rq);
  bb_free(&acb);
}

/* ---- recording sink --------------------------------------------------- */

struct evc {
  int64_t ts, count, assoc_id;
  char code[64], src_ip[64], src_ae[32], dst_ip[64], dst_ae[32], user_id[300], pid[80], suid[80];
  char auth[32];
  char action;
  int outcome, secure;
};

struct rec {
  int64_t give_id;
  char order[8192];
  size_t order_len;
  int n_begin, n_update;
  struct pa_assoc begin, last;
  struct pa_pctx pc[300];
  int n_pc;
  struct pa_dimse dm[1100];
  char *query[1100];
  struct pa_dimse_result res[1100][4]; /* the first results of each dimse row */
  int n_dm;
  struct evc ev[2300];
  int n_ev;
  const char *secret;
  int secret_seen;
};

static void scan(struct rec *r, const void *p, size_t n)
{
  size_t sl;
  if (!r->secret || !p)
    return;
  sl = strlen(r->secret);
  for (size_t i = 0; i + sl <= n; i++)
    if (memcmp((const uint8_t *)p + i, r->secret, sl) == 0)
      r->secret_seen++;
}
static void scan_s(struct rec *r, const char *s) { if (s) scan(r, s, strlen(s)); }

static void logc(struct rec *r, char c)
{
  if (r->order_len + 1 < sizeof r->order) {
    r->order[r->order_len++] = c;
    r->order[r->order_len] = 0;
  }
}

static pa_rc s_begin(void *ctx, const struct pa_assoc *a, int64_t *id_out)
{
  struct rec *r = ctx;
  r->n_begin++;
  r->begin = *a;
  scan(r, a, sizeof *a);
  logc(r, 'B');
  *id_out = r->give_id;
  return PA_OK;
}

static pa_rc s_update(void *ctx, int64_t id, const struct pa_assoc *a)
{
  struct rec *r = ctx;
  assert_int_equal(id, r->give_id);
  r->n_update++;
  r->last = *a;
  scan(r, a, sizeof *a);
  logc(r, 'U');
  return PA_OK;
}

static pa_rc s_pctx(void *ctx, int64_t id, const struct pa_pctx *pc)
{
  struct rec *r = ctx;
  assert_int_equal(id, r->give_id);
  assert_true(r->n_pc < 300);
  r->pc[r->n_pc++] = *pc;
  scan(r, pc, sizeof *pc);
  logc(r, 'P');
  return PA_OK;
}

static pa_rc s_dimse(void *ctx, const struct pa_dimse *d)
{
  struct rec *r = ctx;
  assert_int_equal(d->assoc_id, r->give_id);
  assert_true(r->n_dm < 1100);
  r->dm[r->n_dm] = *d;
  r->query[r->n_dm] = d->query ? strdup(d->query) : NULL;
  r->dm[r->n_dm].query = NULL;
  for (size_t i = 0; i < d->n_results && i < 4; i++)
    r->res[r->n_dm][i] = d->results[i];
  r->dm[r->n_dm].results = NULL;
  r->n_dm++;
  scan(r, d, sizeof *d);
  scan_s(r, d->query);
  scan_s(r, d->command);
  logc(r, 'D');
  return PA_OK;
}

static pa_rc s_event(void *ctx, const struct pa_event *e)
{
  struct rec *r = ctx;
  struct evc *c;
  assert_true(r->n_ev < 2300);
  c = &r->ev[r->n_ev++];
  assert_string_equal(e->source, "dicom");
  assert_string_equal(e->origin, "test.pcap");
  assert_int_equal(e->assoc_id, r->give_id);
  c->ts = e->ts;
  c->count = e->object_count;
  c->assoc_id = e->assoc_id;
  c->action = e->action;
  c->outcome = e->outcome;
  c->secure = e->secure;
  PA_TEST_CP(c->code, e->event_code);
  PA_TEST_CP(c->src_ip, e->src_ip);
  PA_TEST_CP(c->src_ae, e->src_ae);
  PA_TEST_CP(c->dst_ip, e->dst_ip);
  PA_TEST_CP(c->dst_ae, e->dst_ae);
  PA_TEST_CP(c->user_id, e->user_id);
  PA_TEST_CP(c->pid, e->patient_id);
  PA_TEST_CP(c->suid, e->study_uid);
  PA_TEST_CP(c->auth, e->auth_method);
  const char *all[] = { e->event_code, e->user_id, e->user_name, e->user_role, e->src_ip,
                        e->src_ae, e->dst_ip, e->dst_ae, e->host, e->patient_id, e->study_uid };
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
    scan_s(r, all[i]);
  logc(r, 'E');
  return PA_OK;
}

/* The auth_method of the recorded ASSOC:start event ("(null)" none); fails
 * when there is no such event. */
static const char *start_auth(const struct rec *r)
{
  for (int i = 0; i < r->n_ev; i++)
    if (!strcmp(r->ev[i].code, "ASSOC:start"))
      return r->ev[i].auth;
  fail_msg("no ASSOC:start event");
  return NULL;
}

static struct rec *rec_new(void)
{
  struct rec *r = calloc(1, sizeof *r);
  assert_non_null(r);
  r->give_id = 42;
  return r;
}

static void rec_free(struct rec *r)
{
  for (int i = 0; i < r->n_dm; i++)
    free(r->query[i]);
  free(r);
}

static const struct pa_conn test_conn = { "10.0.0.1", "10.0.0.2", 40000, 104, 1000, "test.pcap" };

static pa_dicom *dec_new(struct rec *r)
{
  struct pa_sink sink = { .ctx = r, .assoc_begin = s_begin, .assoc_update = s_update,
                          .pctx = s_pctx, .dimse = s_dimse, .event = s_event };
  pa_dicom *d = NULL;
  assert_int_equal(pa_dicom_new(&test_conn, &sink, &d), PA_OK);
  return d;
}

/* Feeds a transcript (up to limit bytes in all) in chunks cycling through
 * sizes[] (0 = whole segments). Returns the first non-OK rc. */
static pa_rc feed_tr(pa_dicom *d, const struct tr *t, const size_t *sizes, size_t n_sizes,
                     size_t limit, struct pa_err *err)
{
  size_t k = 0, total = 0;
  pa_rc first = PA_OK;
  for (size_t s = 0; s < t->n && total < limit; s++) {
    size_t o = 0;
    while (o < t->seg[s].len && total < limit) {
      size_t n = sizes && sizes[k % n_sizes] ? sizes[k % n_sizes] : t->seg[s].len - o;
      k++;
      if (n > t->seg[s].len - o)
        n = t->seg[s].len - o;
      if (n > limit - total)
        n = limit - total;
      pa_rc rc = pa_dicom_feed(d, t->seg[s].dir, t->b.p + t->seg[s].off + o, n,
                               1000 + (int64_t)(s * 10), err);
      if (rc && !first)
        first = rc;
      o += n;
      total += n;
    }
  }
  return first;
}

/* Writes t to $PA_WRITE_CORPUS/name in the fuzz target's input format:
 * per chunk a 3-byte header (flags: bit0 direction; 16-bit LE length). */
static void save_corpus(const char *name, const struct tr *t)
{
  const char *dir = getenv("PA_WRITE_CORPUS");
  char path[1024];
  FILE *f;
  if (!dir)
    return;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  f = fopen(path, "wb");
  assert_non_null(f);
  for (size_t s = 0; s < t->n; s++) {
    for (size_t o = 0; o < t->seg[s].len; o += 65535) {
      size_t n = t->seg[s].len - o < 65535 ? t->seg[s].len - o : 65535;
      uint8_t h[3] = { (uint8_t)t->seg[s].dir, (uint8_t)n, (uint8_t)(n >> 8) };
      fwrite(h, 1, 3, f);
      fwrite(t->b.p + t->seg[s].off + o, 1, n, f);
    }
  }
  fclose(f);
}

/* ---- the C-FIND association, hand-built ------------------------------- */

/* A-ASSOCIATE-RQ FINDSCU -> FINDSCP, spelled out byte by byte. */
static void find_rq(struct bb *b)
{
  put8(b, 0x01); put8(b, 0x00); put32be(b, 218);   /* A-ASSOCIATE-RQ, length 218 */
  put16be(b, 0x0001); put16be(b, 0x0000);          /* version 1, reserved */
  puts_(b, "FINDSCP         ");                    /* called AE (16) */
  puts_(b, "FINDSCU         ");                    /* calling AE (16) */
  putz(b, 32);                                     /* reserved */
  put8(b, 0x10); put8(b, 0); put16be(b, 21);       /* application context, 21 */
  puts_(b, "1.2.840.10008.3.1.1.1");
  put8(b, 0x20); put8(b, 0); put16be(b, 79);       /* presentation context, 79 */
  put8(b, 0x01); putz(b, 3);                       /*   pc id 1 */
  put8(b, 0x30); put8(b, 0); put16be(b, 27);       /*   abstract syntax, 27 */
  puts_(b, "1.2.840.10008.5.1.4.1.2.2.1");         /*   Study Root Q/R FIND */
  put8(b, 0x40); put8(b, 0); put16be(b, 17);       /*   transfer syntax, 17 */
  puts_(b, "1.2.840.10008.1.2");                   /*   implicit VR LE */
  put8(b, 0x40); put8(b, 0); put16be(b, 19);       /*   transfer syntax, 19 */
  puts_(b, "1.2.840.10008.1.2.1");                 /*   explicit VR LE */
  put8(b, 0x50); put8(b, 0); put16be(b, 38);       /* user information, 38 */
  put8(b, 0x51); put8(b, 0); put16be(b, 4);        /*   max length */
  put32be(b, 16384);                               /*   16384 */
  put8(b, 0x52); put8(b, 0); put16be(b, 8);        /*   impl class UID, 8 */
  put(b, "1.2.3.4\0", 8);                          /*   "1.2.3.4" NUL padded */
  put8(b, 0x55); put8(b, 0); put16be(b, 14);       /*   impl version, 14 */
  puts_(b, "PACSAUDIT_TEST");
}

/* A-ASSOCIATE-AC accepting pc 1 with implicit VR LE. */
static void find_ac(struct bb *b)
{
  put8(b, 0x02); put8(b, 0x00); put32be(b, 163);   /* A-ASSOCIATE-AC, length 163 */
  put16be(b, 0x0001); put16be(b, 0x0000);          /* version 1, reserved */
  puts_(b, "FINDSCP         ");                    /* called AE */
  puts_(b, "FINDSCU         ");                    /* calling AE */
  putz(b, 32);
  put8(b, 0x10); put8(b, 0); put16be(b, 21);       /* application context */
  puts_(b, "1.2.840.10008.3.1.1.1");
  put8(b, 0x21); put8(b, 0); put16be(b, 25);       /* presentation context (AC), 25 */
  put8(b, 0x01); put8(b, 0); put8(b, 0x00); put8(b, 0); /* pc 1, acceptance */
  put8(b, 0x40); put8(b, 0); put16be(b, 17);       /*   transfer syntax */
  puts_(b, "1.2.840.10008.1.2");
  put8(b, 0x50); put8(b, 0); put16be(b, 37);       /* user information, 37 */
  put8(b, 0x51); put8(b, 0); put16be(b, 4);
  put32be(b, 65536);                               /*   max length 65536 */
  put8(b, 0x52); put8(b, 0); put16be(b, 7);
  puts_(b, "1.2.3.5");                             /*   impl class */
  put8(b, 0x55); put8(b, 0); put16be(b, 14);
  puts_(b, "SCP_VERSION_01");                      /*   impl version */
}

/* The C-FIND identifier (implicit VR LE). */
static void find_ident(struct bb *b)
{
  el_str(b, IMPL, 0x0008, 0x0052, "CS", "STUDY");               /* QueryRetrieveLevel */
  el_hdr(b, IMPL, 0x0008, 0x1110, "SQ", 0xFFFFFFFF);            /* ReferencedStudySequence, undefined */
  el_item(b, IMPL, 0xE000, 0xFFFFFFFF);                         /*   item, undefined */
  el_str(b, IMPL, 0x0010, 0x0020, "LO", "NOT-THIS-ONE");        /*   PatientID inside: ignored */
  el_item(b, IMPL, 0xE00D, 0);                                  /*   item delimitation */
  el_item(b, IMPL, 0xE0DD, 0);                                  /* sequence delimitation */
  el_str(b, IMPL, 0x0009, 0x0010, "LO", "ACME 1.0");            /* private creator */
  el_str(b, IMPL, 0x0010, 0x0010, "PN", "Doe^\"J\"\\x\x01");     /* PatientName with " \ and 0x01 */
  el_str(b, IMPL, 0x0010, 0x0020, "LO", "PID-0001");            /* PatientID */
  el_str(b, IMPL, 0x0020, 0x000D, "UI", "");                    /* StudyInstanceUID: return key */
}

static const char find_query_json[] =
  "{\"QueryRetrieveLevel\":\"STUDY\",\"ReferencedStudySequence\":\"[sequence]\","
  "\"(0009,0010)\":\"ACME 1.0\",\"PatientName\":\"Doe^\\\"J\\\"\\\\x\\u0001\","
  "\"PatientID\":\"PID-0001\",\"StudyInstanceUID\":\"\"}";

/* A second C-FIND match (implicit VR LE): a PatientID inside a sequence is
 * not the match's; the top-level one, space-padded, is. */
static void find_match(struct bb *b)
{
  el_str(b, IMPL, 0x0008, 0x0052, "CS", "STUDY");               /* QueryRetrieveLevel */
  el_hdr(b, IMPL, 0x0008, 0x1110, "SQ", 0xFFFFFFFF);            /* ReferencedStudySequence */
  el_item(b, IMPL, 0xE000, 0xFFFFFFFF);
  el_str(b, IMPL, 0x0010, 0x0020, "LO", "NOT-THIS-ONE");        /*   PatientID inside */
  el_item(b, IMPL, 0xE00D, 0);
  el_item(b, IMPL, 0xE0DD, 0);
  el_str(b, IMPL, 0x0010, 0x0020, "LO", "PID-0002 ");           /* PatientID, padded */
  el_str(b, IMPL, 0x0020, 0x000D, "UI", "1.2.3.4.5.7");         /* StudyInstanceUID */
  el_str(b, IMPL, 0x0020, 0x0010, "SH", "S1");                  /* StudyID: past both */
}

static void build_find(struct tr *t)
{
  struct bb rq = { 0 }, ac = { 0 }, id = { 0 }, match = { 0 };
  struct cs c;

  find_rq(&rq);
  find_ac(&ac);
  tr_add(t, 0, &rq);
  tr_add(t, 1, &ac);
  find_ident(&id);
  c = cs_new(0x0020);                               /* C-FIND-RQ */
  c.msgid = 7;
  c.aff_class = "1.2.840.10008.5.1.4.1.2.2.1";
  c.has_ds = 1;
  c.msgid = 7;
  send_msg(t, 0, 1, &c, &id, 40);
  el_str(&match, IMPL, 0x0020, 0x000D, "UI", "1.2.3.4.5.6");
  c = cs_new(0x8020);                               /* C-FIND-RSP pending with a match */
  c.rsp_id = 7;
  c.status = 0xFF00;
  c.has_ds = 1;
  send_msg(t, 1, 1, &c, &match, 1000);
  bb_free(&match);
  find_match(&match);
  c.status = 0xFF01;                                /* pending, optional keys unsupported */
  send_msg(t, 1, 1, &c, &match, 1000);
  c = cs_new(0x8020);                               /* C-FIND-RSP success */
  c.rsp_id = 7;
  c.status = 0x0000;
  send_msg(t, 1, 1, &c, NULL, 1000);
  send_release(t);
  bb_free(&rq);
  bb_free(&ac);
  bb_free(&id);
  bb_free(&match);
}

static void check_find(const struct rec *r)
{
  assert_string_equal(r->order, "BUPEDEU");
  assert_int_equal(r->n_begin, 1);
  assert_string_equal(r->begin.calling_ae, "FINDSCU");
  assert_string_equal(r->begin.called_ae, "FINDSCP");
  assert_string_equal(r->begin.result, "incomplete");
  assert_int_equal(r->begin.started_at, 1000);
  assert_string_equal(r->last.result, "released");
  assert_string_equal(r->last.reject_reason, "");
  assert_string_equal(r->last.app_context, "1.2.840.10008.3.1.1.1");
  assert_string_equal(r->last.impl_class_rq, "1.2.3.4");
  assert_string_equal(r->last.impl_version_rq, "PACSAUDIT_TEST");
  assert_string_equal(r->last.impl_class_ac, "1.2.3.5");
  assert_string_equal(r->last.impl_version_ac, "SCP_VERSION_01");
  assert_int_equal(r->last.max_pdu_rq, 16384);
  assert_int_equal(r->last.max_pdu_ac, 65536);
  assert_int_equal(r->last.user_identity_type, 0);
  assert_string_equal(start_auth(r), "(null)");
  assert_true(r->last.ended_at > 0);
  assert_int_equal(r->n_pc, 1);
  assert_int_equal(r->pc[0].pc_id, 1);
  assert_string_equal(r->pc[0].abstract_syntax, "1.2.840.10008.5.1.4.1.2.2.1");
  assert_string_equal(r->pc[0].transfer_syntaxes, "1.2.840.10008.1.2,1.2.840.10008.1.2.1");
  assert_string_equal(r->pc[0].accepted_ts, "1.2.840.10008.1.2");
  assert_int_equal(r->pc[0].result, 0);
  assert_int_equal(r->n_dm, 1);
  assert_string_equal(r->dm[0].command, "C-FIND-RQ");
  assert_int_equal(r->dm[0].message_id, 7);
  assert_int_equal(r->dm[0].status, 0);
  assert_int_equal(r->dm[0].by_acceptor, 0);
  assert_string_equal(r->dm[0].sop_class_uid, "1.2.840.10008.5.1.4.1.2.2.1");
  assert_string_equal(r->dm[0].patient_id, "PID-0001");
  assert_string_equal(r->dm[0].study_uid, "");
  assert_non_null(r->query[0]);
  assert_string_equal(r->query[0], find_query_json);
  assert_true(r->dm[0].rsp_ts >= r->dm[0].ts);
  /* what the two pending responses returned, in order */
  assert_int_equal(r->dm[0].n_results, 2);
  assert_int_equal(r->dm[0].results_dropped, 0);
  assert_string_equal(r->res[0][0].patient_id, "");
  assert_string_equal(r->res[0][0].study_uid, "1.2.3.4.5.6");
  assert_string_equal(r->res[0][1].patient_id, "PID-0002");
  assert_string_equal(r->res[0][1].study_uid, "1.2.3.4.5.7");
  assert_int_equal(r->n_ev, 2);
  assert_string_equal(r->ev[0].code, "ASSOC:start");
  assert_int_equal(r->ev[0].outcome, 0);
  assert_int_equal(r->ev[0].ts, 1000);
  assert_string_equal(r->ev[0].src_ip, "10.0.0.1");
  assert_string_equal(r->ev[0].src_ae, "FINDSCU");
  assert_string_equal(r->ev[0].dst_ae, "FINDSCP");
  assert_int_equal(r->ev[0].secure, 0);
  assert_string_equal(r->ev[1].code, "DIMSE:C-FIND-RQ");
  assert_int_equal(r->ev[1].action, 'E');
  assert_int_equal(r->ev[1].outcome, 0);
  assert_string_equal(r->ev[1].pid, "PID-0001");
  assert_string_equal(r->ev[1].suid, "(null)");
  assert_string_equal(r->ev[1].user_id, "(null)");
  assert_int_equal(r->ev[1].count, -1);
}

/* A C-FIND keeps at most PA_MAX_FIND_RESULTS results; the rest are counted
 * (results_dropped) and flagged as an anomaly of the association. */
static void test_find_results_cap(void **state)
{
  struct bb rq = { 0 }, ac = { 0 }, id = { 0 }, match = { 0 };
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct cs c;
  (void)state;

  find_rq(&rq);
  find_ac(&ac);
  tr_add(&t, 0, &rq);
  tr_add(&t, 1, &ac);
  find_ident(&id);
  c = cs_new(0x0020);
  c.msgid = 3;
  c.aff_class = "1.2.840.10008.5.1.4.1.2.2.1";
  c.has_ds = 1;
  send_msg(&t, 0, 1, &c, &id, 1000);
  find_match(&match);
  c = cs_new(0x8020);
  c.rsp_id = 3;
  c.status = 0xFF00;
  c.has_ds = 1;
  {
    /* one transcript segment for them all (a transcript holds 256) */
    struct bb all = { 0 };
    for (int i = 0; i < PA_MAX_FIND_RESULTS + 3; i++) {
      struct tr one = { 0 };
      send_msg(&one, 1, 1, &c, &match, 1000);
      put(&all, one.b.p, one.b.n);
      tr_free(&one);
    }
    tr_add(&t, 1, &all);
    bb_free(&all);
  }
  c.status = 0x0000;
  c.has_ds = 0;
  send_msg(&t, 1, 1, &c, NULL, 1000);
  send_release(&t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_int_equal(r->n_dm, 1);
  assert_int_equal(r->dm[0].n_results, PA_MAX_FIND_RESULTS);
  assert_int_equal(r->dm[0].results_dropped, 3);
  assert_string_equal(r->res[0][3].patient_id, "PID-0002");
  assert_non_null(strstr(r->last.anomalies, "dicom_ul.too_many_find_results"));
  assert_int_equal(r->last.n_anomalies, 3);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&rq);
  bb_free(&ac);
  bb_free(&id);
  bb_free(&match);
}

static void test_find_association(void **state)
{
  static const size_t pats[][7] = { { 0 }, { 1 }, { 1, 2, 3, 4, 5, 6, 7 }, { 7, 3, 1 }, { 64 } };
  struct tr t = { 0 };
  (void)state;
  build_find(&t);
  save_corpus("find_association", &t);
  for (size_t p = 0; p < sizeof pats / sizeof pats[0]; p++) {
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    struct pa_err err;
    size_t n = 0;
    while (n < 7 && pats[p][n])
      n++;
    pa_err_clear(&err);
    assert_int_equal(feed_tr(d, &t, n ? pats[p] : NULL, n ? n : 1, SIZE_MAX, &err), PA_OK);
    assert_int_equal(pa_dicom_end(d, "connection closed", 5000), PA_OK);
    assert_int_equal(pa_dicom_end(d, "again", 6000), PA_OK); /* idempotent */
    check_find(r);
    assert_int_equal(r->last.bytes, t.b.n);
    assert_string_equal(pa__dicom_anomalies(d), "");
    pa_dicom_free(d);
    rec_free(r);
  }
  tr_free(&t);
}

/* Every prefix of the transcript, then end: no crash, a complete record. */
static void test_truncated_everywhere(void **state)
{
  struct tr t = { 0 };
  (void)state;
  build_find(&t);
  for (size_t k = 0; k <= t.b.n; k++) {
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    struct pa_err err;
    pa_err_clear(&err);
    assert_int_equal(feed_tr(d, &t, NULL, 1, k, &err), PA_OK);
    assert_int_equal(pa_dicom_end(d, "connection closed", 9000), PA_OK);
    if (k == 0) {
      assert_int_equal(r->n_begin, 0);
    } else {
      assert_int_equal(r->n_begin, 1);
      assert_true(r->n_update >= 1);
      assert_int_equal(r->last.bytes, k);
      assert_true(r->last.ended_at > 0);
      if (k < t.b.n) {
        assert_string_equal(r->last.result, "incomplete");
        assert_true(r->last.reject_reason[0] != 0);
      } else {
        assert_string_equal(r->last.result, "released");
      }
    }
    assert_true(r->order_len == 0 || r->order[r->order_len - 1] == 'U');
    pa_dicom_free(d);
    rec_free(r);
  }
  tr_free(&t);
}

/* ---- C-STORE, explicit VR LE, fragments everywhere --------------------- */

static void store_dataset(struct bb *ds, int ts, size_t pixels)
{
  el_str(ds, ts, 0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7");   /* SOPClassUID */
  el_str(ds, ts, 0x0008, 0x0018, "UI", "1.2.3.4.5.6.7.8.9");           /* SOPInstanceUID */
  el_hdr(ds, ts, 0x0008, 0x1140, "SQ", 0xFFFFFFFF);                    /* ReferencedImageSequence */
  el_item(ds, ts, 0xE000, 0xFFFFFFFF);                                  /*   item */
  el_str(ds, ts, 0x0010, 0x0020, "LO", "WRONG");                        /*   nested: ignored */
  el_item(ds, ts, 0xE00D, 0);
  el_item(ds, ts, 0xE000, 12);                                          /*   item, defined length */
  el_str(ds, ts, 0x0008, 0x0000, "UL", "abcd");                         /*     12 bytes */
  el_item(ds, ts, 0xE0DD, 0);
  el_str(ds, ts, 0x0010, 0x0010, "PN", "Yamada^Taro");                  /* PatientName */
  el_str(ds, ts, 0x0010, 0x0020, "LO", "PID-4711 ");                    /* PatientID */
  el_str(ds, ts, 0x0020, 0x000D, "UI", "1.2.392.200036.9116.2.1");      /* StudyInstanceUID */
  el_str(ds, ts, 0x0020, 0x000E, "UI", "1.2.392.200036.9116.2.1.1");    /* SeriesInstanceUID */
  el_hdr(ds, ts, 0x7FE0, 0x0010, "OB", (uint32_t)pixels);               /* PixelData */
  for (size_t i = 0; i < pixels; i++)
    put8(ds, (uint8_t)i);
}

static void build_store(struct tr *t, size_t pixels, size_t frag)
{
  static const struct pcspec pcs[] = {
    { 1, "1.2.840.10008.5.1.4.1.1.7", { "1.2.840.10008.1.2.1", "1.2.840.10008.1.2", NULL }, 0,
      "1.2.840.10008.1.2.1" },
    { 3, "1.2.840.10008.1.1", { "1.2.840.10008.1.2", NULL, NULL }, 0, "1.2.840.10008.1.2" },
  };
  struct bb ds = { 0 };
  struct cs c;

  tr_assoc(t, pcs, 2, NULL, 1);
  store_dataset(&ds, EXPL_LE, pixels);
  c = cs_new(0x0001);                               /* C-STORE-RQ */
  c.msgid = 1;
  c.aff_class = "1.2.840.10008.5.1.4.1.1.7";
  c.aff_inst = "1.2.3.4.5.6.7.8.9";
  c.has_ds = 1;
  c.move_orig = "WS01";                             /* a sub-operation of WS01's C-MOVE 7 */
  c.move_orig_id = 7;
  send_msg(t, 0, 1, &c, &ds, frag);
  c = cs_new(0x8001);                               /* C-STORE-RSP */
  c.rsp_id = 1;
  c.status = 0x0000;
  c.aff_inst = "1.2.3.4.5.6.7.8.9";
  send_msg(t, 1, 1, &c, NULL, frag);
  c = cs_new(0x0030);                               /* C-ECHO-RQ */
  c.msgid = 2;
  c.aff_class = "1.2.840.10008.1.1";
  send_msg(t, 0, 3, &c, NULL, 1000);
  c = cs_new(0x8030);                               /* C-ECHO-RSP */
  c.rsp_id = 2;
  c.status = 0;
  send_msg(t, 1, 3, &c, NULL, 1000);
  send_release(t);
  bb_free(&ds);
}

static void check_store(const struct rec *r)
{
  assert_string_equal(r->order, "BUPPEDEDEU");
  assert_int_equal(r->n_dm, 2);
  assert_string_equal(r->dm[0].command, "C-STORE-RQ");
  assert_string_equal(r->dm[0].sop_instance_uid, "1.2.3.4.5.6.7.8.9");
  assert_string_equal(r->dm[0].sop_class_uid, "1.2.840.10008.5.1.4.1.1.7");
  assert_string_equal(r->dm[0].patient_id, "PID-4711");
  assert_string_equal(r->dm[0].study_uid, "1.2.392.200036.9116.2.1");
  assert_int_equal(r->dm[0].status, 0);
  assert_null(r->query[0]);
  assert_string_equal(r->dm[0].move_originator_ae, "WS01");
  assert_int_equal(r->dm[0].move_originator_id, 7);
  assert_string_equal(r->dm[1].command, "C-ECHO-RQ");
  assert_string_equal(r->dm[1].move_originator_ae, "");
  assert_int_equal(r->dm[1].move_originator_id, -1);
  assert_int_equal(r->dm[1].status, 0);
  assert_string_equal(r->ev[1].code, "DIMSE:C-STORE-RQ");
  assert_int_equal(r->ev[1].action, 'C');
  assert_int_equal(r->ev[1].count, 1);
  assert_string_equal(r->ev[1].pid, "PID-4711");
  assert_string_equal(r->ev[2].code, "DIMSE:C-ECHO-RQ");
  assert_string_equal(r->last.result, "released");
  assert_string_equal(r->pc[0].accepted_ts, "1.2.840.10008.1.2.1");
}

static void test_store_fragmented(void **state)
{
  static const size_t small[] = { 1, 2, 3, 4, 5, 6, 7 };
  static const size_t frags[] = { 1, 3, 7, 100, 16378 };
  (void)state;
  for (size_t f = 0; f < sizeof frags / sizeof frags[0]; f++) {
    struct tr t = { 0 };
    build_store(&t, f == 4 ? 300000 : 3000, frags[f]);
    if (f == 2)
      save_corpus("store_explicit_le", &t);
    for (int pass = 0; pass < 2; pass++) {
      struct rec *r = rec_new();
      pa_dicom *d = dec_new(r);
      struct pa_err err;
      pa_err_clear(&err);
      assert_int_equal(feed_tr(d, &t, pass ? small : NULL, pass ? 7 : 1, SIZE_MAX, &err), PA_OK);
      assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
      check_store(r);
      assert_string_equal(pa__dicom_anomalies(d), "");
      pa_dicom_free(d);
      rec_free(r);
    }
    tr_free(&t);
  }
}

/* The acceptor announced 32768 bytes. Two PDVs of 16378 bytes make a PDU of
 * exactly 32768 (test_store_fragmented: no anomaly); of 16379, one of 32770,
 * which is noted once per PDU while the decode goes on. */
static void test_pdu_exceeds_max(void **state)
{
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct pa_err err;

  (void)state;
  build_store(&t, 300000, 16379);
  pa_err_clear(&err);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, &err), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  check_store(r);
  assert_string_equal(pa__dicom_anomalies(d), "dicom_ul.pdu_exceeds_max");
  assert_int_equal(pa__dicom_anomaly_count(d), 9); /* 18 full PDVs, 2 a PDU */
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
}

/* Implicit VR LE and explicit VR BE C-STORE heads. */
static void test_store_other_ts(void **state)
{
  static const char *tss[] = { "1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.4.50" };
  static const int enc[] = { IMPL, EXPL_BE, EXPL_LE };
  (void)state;
  for (int i = 0; i < 3; i++) {
    struct pcspec pcs[] = { { 5, "1.2.840.10008.5.1.4.1.1.7", { tss[i], NULL, NULL }, 0, tss[i] } };
    struct tr t = { 0 };
    struct bb ds = { 0 };
    struct cs c = cs_new(0x0001);
    tr_assoc(&t, pcs, 1, NULL, 1);
    store_dataset(&ds, enc[i], 100);
    c.msgid = 9;
    c.aff_inst = "1.2.3";
    c.has_ds = 1;
    send_msg(&t, 0, 5, &c, &ds, 50);
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
    assert_int_equal(pa_dicom_end(d, "connection closed during P-DATA", 9000), PA_OK);
    assert_int_equal(r->n_dm, 1);
    assert_int_equal(r->dm[0].status, -1); /* unanswered */
    assert_string_equal(r->dm[0].patient_id, "PID-4711");
    assert_string_equal(r->dm[0].study_uid, "1.2.392.200036.9116.2.1");
    assert_int_equal(r->ev[1].outcome, -1);
    assert_string_equal(r->last.result, "incomplete");
    assert_string_equal(r->last.reject_reason, "connection closed during P-DATA");
    pa_dicom_free(d);
    rec_free(r);
    tr_free(&t);
    bb_free(&ds);
  }
}

/* ---- reject, abort ------------------------------------------------------ */

static const struct pcspec echo_pc[] = {
  { 1, "1.2.840.10008.1.1", { "1.2.840.10008.1.2", NULL, NULL }, 0, "1.2.840.10008.1.2" },
};

static void test_reject(void **state)
{
  /* A-ASSOCIATE-RJ: reserved, result 1 permanent, source 1 service-user, reason 7 */
  static const uint8_t rj[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01, 0x01, 0x07 };
  struct tr t = { 0 };
  struct bb b = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 0);
  put(&b, rj, sizeof rj);
  tr_add(&t, 1, &b);
  save_corpus("reject", &t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_string_equal(r->order, "BUPEEU");
  assert_string_equal(r->last.result, "rejected");
  assert_string_equal(r->last.reject_reason,
                      "rejected-permanent; service-user; called-AE-title-not-recognized "
                      "(result 1, source 1, reason 7)");
  assert_int_equal(r->last.ended_at, 1010);
  assert_int_equal(r->pc[0].result, -1);
  assert_string_equal(r->ev[0].code, "ASSOC:start");
  assert_int_equal(r->ev[0].outcome, 8);
  assert_string_equal(r->ev[1].code, "ASSOC:reject");
  assert_int_equal(r->ev[1].outcome, 8);
  assert_int_equal(r->ev[1].ts, 1010);
  assert_string_equal(r->ev[1].src_ae, "MODALITY1");
  assert_string_equal(r->ev[1].dst_ae, "ARCHIVE");
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&b);
}

static void test_reject_transient_provider(void **state)
{
  /* result 2 transient, source 3 presentation, reason 1 temporary-congestion */
  static const uint8_t rj[] = { 0x03, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x02, 0x03, 0x01 };
  struct tr t = { 0 };
  struct bb b = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 0);
  put(&b, rj, sizeof rj);
  tr_add(&t, 1, &b);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_string_equal(r->last.reject_reason,
                      "rejected-transient; service-provider (presentation); temporary-congestion "
                      "(result 2, source 3, reason 1)");
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&b);
}

static void test_abort(void **state)
{
  /* A-ABORT: reserved, reserved, source 0 service-user, reason 0 */
  static const uint8_t ab[] = { 0x07, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00 };
  struct tr t = { 0 };
  struct bb b = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct cs c = cs_new(0x0030);
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  c.msgid = 3;
  send_msg(&t, 0, 1, &c, NULL, 100);           /* C-ECHO-RQ, never answered */
  put(&b, ab, sizeof ab);
  tr_add(&t, 0, &b);
  save_corpus("abort", &t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  /* bytes after the abort are counted, not decoded */
  assert_int_equal(pa_dicom_feed(d, 1, (const uint8_t *)"\xff\xff", 2, 2000, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_string_equal(r->order, "BUPEEDEU");
  assert_string_equal(r->last.result, "aborted");
  assert_string_equal(r->last.reject_reason,
                      "aborted by service-user (reason 0 not-specified), sent by the requestor");
  assert_int_equal(r->last.bytes, t.b.n + 2);
  assert_string_equal(r->ev[1].code, "ASSOC:abort");
  assert_int_equal(r->ev[1].outcome, 8);
  assert_int_equal(r->ev[1].ts, 1030);
  assert_string_equal(r->dm[0].command, "C-ECHO-RQ");
  assert_int_equal(r->dm[0].status, -1);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&b);
}

/* ---- user identity -------------------------------------------------------- */

/* 0x58: type, positive-response-requested, primary (len+value), secondary (len+value) */
static void uid_item(struct bb *b, uint8_t type, const char *prim, const char *sec)
{
  size_t pl = strlen(prim), sl = sec ? strlen(sec) : 0;
  put8(b, 0x58); put8(b, 0); put16be(b, (uint16_t)(6 + pl + sl));
  put8(b, type);
  put8(b, 1);                                      /* positive response requested */
  put16be(b, (uint16_t)pl);
  put(b, prim, pl);
  put16be(b, (uint16_t)sl);
  put(b, sec, sl);
}

static void test_user_identity_passcode(void **state)
{
  static const char secret[] = "s3cr3t-PASS";
  static const size_t pats[][3] = { { 0 }, { 1, 1, 1 }, { 5, 2, 3 } };
  struct tr t = { 0 };
  struct bb u = { 0 };
  (void)state;
  uid_item(&u, 2, "alice", secret);                /* type 2: "alice" / "s3cr3t-PASS" */
  tr_assoc(&t, echo_pc, 1, &u, 1);
  struct cs c = cs_new(0x0030);
  c.msgid = 1;
  send_msg(&t, 0, 1, &c, NULL, 100);
  c = cs_new(0x8030);
  c.rsp_id = 1;
  c.status = 0;
  send_msg(&t, 1, 1, &c, NULL, 100);
  send_release(&t);
  save_corpus("user_identity_type2", &t);
  for (size_t p = 0; p < 3; p++) {
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    struct pa_err err;
    pa_err_clear(&err);
    r->secret = secret;
    assert_int_equal(feed_tr(d, &t, pats[p][0] ? pats[p] : NULL, 3, SIZE_MAX, &err), PA_OK);
    assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
    assert_int_equal(r->last.user_identity_type, 2);
    assert_int_equal(r->last.user_identity_rsp, 1);
    assert_string_equal(r->last.user_identity, "alice");
    assert_string_equal(r->last.user_identity_sha256, "");
    assert_string_equal(r->ev[1].user_id, "alice");
    assert_string_equal(start_auth(r), "password"); /* type 2: user name and passcode */
    assert_int_equal(r->secret_seen, 0);
    assert_null(strstr(err.msg, secret));
    assert_null(strstr(pa__dicom_anomalies(d), secret));
    pa_dicom_free(d);
    rec_free(r);
  }
  tr_free(&t);
  bb_free(&u);
}

static void b64url(struct bb *out, const char *s)
{
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  size_t n = strlen(s);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < n; i++) {
    acc = acc << 8 | (uint8_t)s[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      put8(out, (uint8_t)a[(acc >> bits) & 63]);
    }
  }
  if (bits)
    put8(out, (uint8_t)a[(acc << (6 - bits)) & 63]);
}

static void sha_hex(const uint8_t *p, size_t n, char out[65])
{
  unsigned char md[32];
  unsigned int l = 0;
  assert_int_equal(EVP_Digest(p, n, md, &l, EVP_sha256(), NULL), 1);
  for (int i = 0; i < 32; i++)
    snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static void test_user_identity_jwt(void **state)
{
  struct bb tok = { 0 }, u = { 0 };
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  char want[65];
  (void)state;
  b64url(&tok, "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
  put8(&tok, '.');
  /* the "sub" inside a nested object must not be taken; the top-level one is */
  b64url(&tok, "{\"iss\":\"idp\",\"x\":{\"sub\":\"nested\"},\"arr\":[1,\"a\",{}],"
               "\"n\":-1.5e3,\"ok\":true,\"sub\":\"dr.tanaka\\u0040h\",\"aud\":\"pacs\"}");
  put8(&tok, '.');
  puts_(&tok, "c2lnbmF0dXJl");
  put8(&tok, 0);
  r->secret = "c2lnbmF0dXJl"; /* the signature part of the token: never stored */
  uid_item(&u, 5, (const char *)tok.p, NULL);
  tr_assoc(&t, echo_pc, 1, &u, 1);
  send_release(&t);
  save_corpus("user_identity_jwt", &t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  sha_hex(tok.p, strlen((const char *)tok.p), want);
  assert_int_equal(r->last.user_identity_type, 5);
  assert_string_equal(r->last.user_identity, "dr.tanaka@h");
  assert_string_equal(start_auth(r), "jwt");
  assert_string_equal(r->last.user_identity_sha256, want);
  assert_int_equal(r->secret_seen, 0);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&tok);
  bb_free(&u);
}

static void test_user_identity_saml_kerberos(void **state)
{
  static const char saml[] =
    "<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\">"
    "<saml:Subject><saml:NameIDPolicy/><saml:NameID Format=\"a>b\">  nurse01 </saml:NameID>"
    "</saml:Subject></saml:Assertion>";
  char out[64];
  (void)state;
  assert_int_equal(pa__dicom_saml_nameid((const uint8_t *)saml, strlen(saml), out, sizeof out), 1);
  assert_string_equal(out, "nurse01");
  assert_int_equal(pa__dicom_saml_nameid((const uint8_t *)"<NameID/>x", 10, out, sizeof out), 0);
  assert_int_equal(pa__dicom_saml_nameid((const uint8_t *)"<NameID a='1'", 13, out, sizeof out), 0);
  assert_int_equal(pa__dicom_jwt_subject((const uint8_t *)"abc", 3, out, sizeof out), 0);
  assert_int_equal(pa__dicom_jwt_subject((const uint8_t *)"a.!!!.c", 7, out, sizeof out), 0);
  assert_int_equal(pa__dicom_jwt_subject((const uint8_t *)"a.e30", 5, out, sizeof out), 0); /* {} */

  for (int type = 3; type <= 4; type++) {
    struct bb u = { 0 };
    struct tr t = { 0 };
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    char want[65];
    const char *tok = type == 3 ? "KRB5-TICKET-BYTES" : saml;
    uid_item(&u, (uint8_t)type, tok, NULL);
    tr_assoc(&t, echo_pc, 1, &u, 1);
    assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
    assert_int_equal(pa_dicom_end(d, NULL, 9000), PA_OK);
    sha_hex((const uint8_t *)tok, strlen(tok), want);
    assert_int_equal(r->last.user_identity_type, type);
    assert_string_equal(r->last.user_identity, type == 3 ? "" : "nurse01");
    assert_string_equal(r->last.user_identity_sha256, want);
    assert_string_equal(r->last.result, "incomplete");
    assert_string_equal(r->last.reject_reason, "connection ended");
    pa_dicom_free(d);
    rec_free(r);
    tr_free(&t);
    bb_free(&u);
  }
}

/* ---- errors ---------------------------------------------------------------- */

static void test_pdu_too_large(void **state)
{
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct pa_err err;
  /* P-DATA-TF announcing 0x01000001 bytes (> PA_MAX_PDU_LEN) */
  static const uint8_t big[] = { 0x04, 0x00, 0x01, 0x00, 0x00, 0x01, 0x00 };
  (void)state;
  pa_err_clear(&err);
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, &err), PA_OK);
  assert_int_equal(pa_dicom_feed(d, 0, big, sizeof big, 3000, &err), PA_LIMIT);
  assert_true(strncmp(err.msg, "dicom_ul.pdu_too_large", 22) == 0);
  assert_int_equal(err.offset, t.seg[0].len + 2);
  /* the direction is dead now; the other still works */
  assert_int_equal(pa_dicom_feed(d, 0, big, sizeof big, 3000, &err), PA_OK);
  assert_int_equal(pa_dicom_end(d, err.msg, 9000), PA_OK);
  assert_string_equal(r->last.result, "incomplete");
  assert_true(strncmp(r->last.reject_reason, "dicom_ul.pdu_too_large", 22) == 0);
  assert_int_equal(r->last.bytes, t.b.n + 2 * sizeof big);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
}

static void test_unknown_pdu_type(void **state)
{
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct pa_err err;
  static const uint8_t bad[] = { 0x09, 0x00, 0x00, 0x00, 0x00, 0x00 };
  (void)state;
  pa_err_clear(&err);
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, &err), PA_OK);
  assert_int_equal(pa_dicom_feed(d, 1, bad, sizeof bad, 3000, &err), PA_MALFORMED);
  assert_true(strncmp(err.msg, "dicom_ul.unknown_pdu_type", 25) == 0);
  assert_int_equal(err.offset, t.seg[1].len);
  assert_int_equal(pa_dicom_end(d, err.msg, 9000), PA_OK);
  assert_string_equal(r->last.result, "incomplete");
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
}

/* Items whose lengths do not fit their parent. */
static void test_bad_item_lengths(void **state)
{
  (void)state;
  for (int v = 0; v < 4; v++) {
    struct bb b = { 0 }, out = { 0 };
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    struct pa_err err;
    pa_err_clear(&err);
    put16be(&b, 1); put16be(&b, 0);
    ae16(&b, "A"); ae16(&b, "B");
    putz(&b, 32);
    if (v == 0) {
      put8(&b, 0x10); put8(&b, 0); put16be(&b, 200);   /* app context claims 200, has 3 */
      puts_(&b, "1.2");
    } else if (v == 1) {
      put8(&b, 0x20); put8(&b, 0); put16be(&b, 8);     /* pc item of 8 ... */
      put8(&b, 1); putz(&b, 3);
      put8(&b, 0x30); put8(&b, 0); put16be(&b, 10);    /* ... whose sub-item claims 10 */
    } else if (v == 2) {
      put8(&b, 0x50); put8(&b, 0); put16be(&b, 9);     /* user info of 9 ... */
      put8(&b, 0x58); put8(&b, 0); put16be(&b, 5);     /* user identity of 5 */
      put8(&b, 2); put8(&b, 0); put16be(&b, 40);       /* primary claims 40 */
      put8(&b, 'x');
    } else {
      put8(&b, 0x10);                                  /* item header cut short */
    }
    pdu(&out, 0x01, &b);
    assert_int_equal(pa_dicom_feed(d, 0, out.p, out.n, 1000, &err), PA_MALFORMED);
    assert_true(strncmp(err.msg, v == 2 ? "dicom_ul.bad_user_identity" : "dicom_ul.bad_item_length",
                        v == 2 ? 26 : 24) == 0);
    assert_true(err.offset >= 74 && err.offset < out.n);
    assert_int_equal(pa_dicom_end(d, err.msg, 2000), PA_OK);
    /* the attempt is still recorded, with what was read */
    assert_int_equal(r->n_begin, 1);
    assert_string_equal(r->last.result, "incomplete");
    assert_string_equal(r->last.calling_ae, "B");
    assert_string_equal(r->order, "BU");
    pa_dicom_free(d);
    rec_free(r);
    bb_free(&b);
    bb_free(&out);
  }
}

static void test_bad_pdv_length(void **state)
{
  struct tr t = { 0 };
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  for (int v = 0; v < 3; v++) {
    struct bb p = { 0 };
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    struct pa_err err;
    pa_err_clear(&err);
    assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, &err), PA_OK);
    put8(&p, 0x04); put8(&p, 0);
    if (v == 0) {
      put32be(&p, 10);                 /* P-DATA-TF of 10 */
      put32be(&p, 20);                 /*   PDV claims 20 */
      put8(&p, 1); put8(&p, 3); putz(&p, 4);
    } else if (v == 1) {
      put32be(&p, 6);
      put32be(&p, 1);                  /*   PDV of 1: no room for pc id + header */
      put8(&p, 1); put8(&p, 3);
    } else {
      put32be(&p, 3);                  /* P-DATA-TF of 3: too short for a PDV */
      putz(&p, 3);
    }
    assert_int_equal(pa_dicom_feed(d, 0, p.p, p.n, 3000, &err), PA_MALFORMED);
    assert_true(strncmp(err.msg, "dicom_ul.bad_pdv_length", 23) == 0);
    assert_int_equal(pa_dicom_end(d, err.msg, 9000), PA_OK);
    assert_string_equal(r->last.result, "incomplete");
    pa_dicom_free(d);
    rec_free(r);
    bb_free(&p);
  }
  tr_free(&t);
}

static void test_too_many_pcs(void **state)
{
  struct pcspec pcs[PA_MAX_PCTX + 1];
  struct bb rq = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct pa_err err;
  (void)state;
  pa_err_clear(&err);
  for (int i = 0; i <= PA_MAX_PCTX; i++) {
    memset(&pcs[i], 0, sizeof pcs[i]);
    pcs[i].id = (uint8_t)(2 * i + 1);
    pcs[i].as = "1.2.840.10008.1.1";
    pcs[i].ts[0] = "1.2.840.10008.1.2";
  }
  assoc_rq(&rq, "A", "B", pcs, PA_MAX_PCTX + 1, NULL);
  assert_int_equal(pa_dicom_feed(d, 0, rq.p, rq.n, 1000, &err), PA_LIMIT);
  assert_true(strncmp(err.msg, "dicom_ul.too_many_pctx", 22) == 0);
  assert_int_equal(pa_dicom_end(d, err.msg, 2000), PA_OK);
  assert_string_equal(r->last.result, "incomplete");
  pa_dicom_free(d);
  rec_free(r);

  /* exactly PA_MAX_PCTX is fine */
  bb_free(&rq);
  r = rec_new();
  d = dec_new(r);
  assoc_rq(&rq, "A", "B", pcs, PA_MAX_PCTX, NULL);
  assert_int_equal(pa_dicom_feed(d, 0, rq.p, rq.n, 1000, &err), PA_OK);
  assert_int_equal(pa_dicom_end(d, NULL, 2000), PA_OK);
  assert_int_equal(r->n_pc, PA_MAX_PCTX);
  assert_int_equal(r->pc[PA_MAX_PCTX - 1].result, -1);
  pa_dicom_free(d);
  rec_free(r);
  bb_free(&rq);
}

static void test_unexpected_pdu(void **state)
{
  /* an A-ASSOCIATE-AC from the client before any RQ */
  struct bb ac = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  struct pa_err err;
  (void)state;
  pa_err_clear(&err);
  assoc_ac(&ac, "A", "B", echo_pc, 1, 0);
  assert_int_equal(pa_dicom_feed(d, 0, ac.p, ac.n, 1000, &err), PA_MALFORMED);
  assert_true(strncmp(err.msg, "dicom_ul.unexpected_pdu", 23) == 0);
  assert_int_equal(pa_dicom_end(d, err.msg, 2000), PA_OK);
  assert_string_equal(r->order, "BU");
  pa_dicom_free(d);
  rec_free(r);
  bb_free(&ac);
}

/* ---- C-GET with C-STOREs from the SCP, C-MOVE ------------------------------ */

static void test_cget(void **state)
{
  static const struct pcspec pcs[] = {
    { 1, "1.2.840.10008.5.1.4.1.2.2.3", { "1.2.840.10008.1.2", NULL, NULL }, 0, "1.2.840.10008.1.2" },
    { 3, "1.2.840.10008.5.1.4.1.1.7", { "1.2.840.10008.1.2.1", NULL, NULL }, 0, "1.2.840.10008.1.2.1" },
  };
  struct tr t = { 0 };
  struct bb id = { 0 }, ds = { 0 };
  struct cs c;
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  (void)state;
  tr_assoc(&t, pcs, 2, NULL, 1);
  el_str(&id, IMPL, 0x0008, 0x0052, "CS", "STUDY");
  el_str(&id, IMPL, 0x0020, 0x000D, "UI", "1.2.392.200036.9116.2.1");
  c = cs_new(0x0010);                              /* C-GET-RQ, id 1, SCU -> SCP */
  c.msgid = 1;
  c.aff_class = "1.2.840.10008.5.1.4.1.2.2.3";
  c.has_ds = 1;
  send_msg(&t, 0, 1, &c, &id, 100);
  store_dataset(&ds, EXPL_LE, 5000);
  c = cs_new(0x0001);                              /* C-STORE-RQ, id 1 too, SCP -> SCU */
  c.msgid = 1;
  c.aff_inst = "1.2.3.4.5.6.7.8.9";
  c.has_ds = 1;
  send_msg(&t, 1, 3, &c, &ds, 1000);
  c = cs_new(0x8010);                              /* C-GET-RSP pending */
  c.rsp_id = 1;
  c.status = 0xFF00;
  c.remaining = 0;
  c.completed = 1;
  c.failed = 0;
  c.warning = 0;
  send_msg(&t, 1, 1, &c, NULL, 100);
  c = cs_new(0x8001);                              /* C-STORE-RSP, SCU -> SCP */
  c.rsp_id = 1;
  c.status = 0;
  send_msg(&t, 0, 3, &c, NULL, 100);
  c = cs_new(0x8010);                              /* C-GET-RSP final */
  c.rsp_id = 1;
  c.status = 0;
  c.completed = 1;
  c.failed = 0;
  c.warning = 0;
  send_msg(&t, 1, 1, &c, NULL, 100);
  send_release(&t);
  save_corpus("cget", &t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_string_equal(r->order, "BUPPEDEDEU");
  assert_int_equal(r->n_dm, 2);
  assert_string_equal(r->dm[0].command, "C-STORE-RQ");
  assert_int_equal(r->dm[0].by_acceptor, 1);
  assert_int_equal(r->dm[0].status, 0);
  assert_string_equal(r->dm[0].patient_id, "PID-4711");
  assert_string_equal(r->dm[1].command, "C-GET-RQ");
  assert_int_equal(r->dm[1].by_acceptor, 0);
  assert_int_equal(r->dm[1].completed, 1);
  assert_int_equal(r->dm[1].failed, 0);
  assert_string_equal(r->dm[1].study_uid, "1.2.392.200036.9116.2.1");
  assert_string_equal(r->query[1],
                      "{\"QueryRetrieveLevel\":\"STUDY\",\"StudyInstanceUID\":\"1.2.392.200036.9116.2.1\"}");
  assert_string_equal(r->ev[1].code, "DIMSE:C-STORE-RQ");
  assert_string_equal(r->ev[1].src_ip, "10.0.0.2");
  assert_string_equal(r->ev[1].src_ae, "ARCHIVE");
  assert_string_equal(r->ev[1].dst_ae, "MODALITY1");
  assert_string_equal(r->ev[2].code, "DIMSE:C-GET-RQ");
  assert_int_equal(r->ev[2].action, 'R');
  assert_int_equal(r->ev[2].count, 1);
  assert_string_equal(r->ev[2].src_ae, "MODALITY1");
  assert_string_equal(pa__dicom_anomalies(d), "");
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&id);
  bb_free(&ds);
}

static void test_cmove(void **state)
{
  static const struct pcspec pcs[] = {
    { 1, "1.2.840.10008.5.1.4.1.2.2.2", { "1.2.840.10008.1.2.2", NULL, NULL }, 0, "1.2.840.10008.1.2.2" },
  };
  struct tr t = { 0 };
  struct bb id = { 0 };
  struct cs c;
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  (void)state;
  tr_assoc(&t, pcs, 1, NULL, 1);
  /* the identifier in explicit VR big endian */
  el_str(&id, EXPL_BE, 0x0008, 0x0052, "CS", "PATIENT");
  el_str(&id, EXPL_BE, 0x0010, 0x0020, "LO", "PID-9");
  el_us(&id, EXPL_BE, 0x0028, 0x0010, 512);       /* Rows: a number */
  c = cs_new(0x0021);                              /* C-MOVE-RQ */
  c.msgid = 5;
  c.aff_class = "1.2.840.10008.5.1.4.1.2.2.2";
  c.move_dest = "WORKSTATION1";
  c.has_ds = 1;
  send_msg(&t, 0, 1, &c, &id, 100);
  for (int i = 0; i < 2; i++) {
    c = cs_new(0x8021);                            /* C-MOVE-RSP pending */
    c.rsp_id = 5;
    c.status = 0xFF00;
    c.remaining = 2 - i;
    c.completed = i + 1;
    c.failed = 0;
    c.warning = 0;
    send_msg(&t, 1, 1, &c, NULL, 100);
  }
  c = cs_new(0x8021);                              /* C-MOVE-RSP warning */
  c.rsp_id = 5;
  c.status = 0xB000;
  c.completed = 2;
  c.failed = 1;
  c.warning = 0;
  send_msg(&t, 1, 1, &c, NULL, 100);
  send_release(&t);
  save_corpus("cmove_be", &t);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_int_equal(r->n_dm, 1);
  assert_string_equal(r->dm[0].command, "C-MOVE-RQ");
  assert_string_equal(r->dm[0].move_destination, "WORKSTATION1");
  assert_int_equal(r->dm[0].status, 0xB000);
  assert_int_equal(r->dm[0].completed, 2);
  assert_int_equal(r->dm[0].failed, 1);
  assert_int_equal(r->dm[0].warning, 0);
  assert_string_equal(r->dm[0].patient_id, "PID-9");
  assert_string_equal(r->query[0],
                      "{\"QueryRetrieveLevel\":\"PATIENT\",\"PatientID\":\"PID-9\",\"(0028,0010)\":512}");
  assert_string_equal(r->ev[1].code, "DIMSE:C-MOVE-RQ");
  assert_int_equal(r->ev[1].action, 'R');
  assert_int_equal(r->ev[1].outcome, 4);
  assert_int_equal(r->ev[1].count, 2);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
  bb_free(&id);
}

/* More than PA_MAX_PENDING_DIMSE unanswered requests. */
static void test_too_many_pending(void **state)
{
  struct tr t = { 0 };
  struct rec *r = rec_new();
  pa_dicom *d = dec_new(r);
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  struct pa_err err;
  pa_err_clear(&err);
  assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, &err), PA_OK);
  for (int i = 0; i < PA_MAX_PENDING_DIMSE + 3; i++) {
    struct tr m = { 0 };
    struct cs c = cs_new(0x0030);
    c.msgid = i + 1;
    send_msg(&m, 0, 1, &c, NULL, 100);
    assert_int_equal(feed_tr(d, &m, NULL, 1, SIZE_MAX, &err), PA_OK);
    tr_free(&m);
  }
  assert_int_equal(r->n_dm, 3); /* the oldest three went out early, without status */
  assert_int_equal(r->dm[0].message_id, 1);
  assert_int_equal(r->dm[0].status, -1);
  assert_non_null(strstr(pa__dicom_anomalies(d), "dicom_ul.too_many_pending"));
  assert_int_equal(pa_dicom_end(d, "fin", 9000), PA_OK);
  assert_int_equal(r->n_dm, PA_MAX_PENDING_DIMSE + 3);
  assert_int_equal(r->dm[PA_MAX_PENDING_DIMSE + 2].message_id, PA_MAX_PENDING_DIMSE + 3);
  pa_dicom_free(d);
  rec_free(r);
  tr_free(&t);
}

static void test_gap_and_mute(void **state)
{
  struct tr t = { 0 };
  (void)state;
  tr_assoc(&t, echo_pc, 1, NULL, 1);
  {
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
    pa_dicom_gap(d, 0, 1460, 2000);
    assert_int_equal(pa_dicom_feed(d, 0, (const uint8_t *)"\x04", 1, 2001, NULL), PA_OK);
    assert_int_equal(pa_dicom_end(d, "connection closed", 9000), PA_OK);
    assert_string_equal(r->last.result, "incomplete");
    assert_string_equal(r->last.reject_reason, "capture gap of 1460 bytes");
    pa_dicom_free(d);
    rec_free(r);
  }
  {
    struct rec *r = rec_new();
    pa_dicom *d = dec_new(r);
    r->give_id = 0; /* already stored: nothing more */
    assert_int_equal(feed_tr(d, &t, NULL, 1, SIZE_MAX, NULL), PA_OK);
    assert_int_equal(pa_dicom_end(d, "connection closed", 9000), PA_OK);
    assert_string_equal(r->order, "B");
    pa_dicom_free(d);
    rec_free(r);
  }
  pa_dicom_free(NULL);
  tr_free(&t);
}

static void test_sniff(void **state)
{
  struct bb rq = { 0 };
  (void)state;
  find_rq(&rq);
  assert_int_equal(pa_dicom_sniff(rq.p, rq.n), 1);
  assert_int_equal(pa_dicom_sniff(rq.p, 10), 1);
  assert_int_equal(pa_dicom_sniff(rq.p, 5), -1);
  assert_int_equal(pa_dicom_sniff(rq.p, 0), -1);
  assert_int_equal(pa_dicom_sniff((const uint8_t *)"GET / HTTP/1.1", 14), 0);
  assert_int_equal(pa_dicom_sniff((const uint8_t *)"\x01\x00\x00\x00\x00\x02\x00\x01\x00\x00", 10), 0);
  bb_free(&rq);
}

/* ---- dicom_ds ------------------------------------------------------------- */

static void test_json_escape(void **state)
{
  struct pa_buf b;
  (void)state;
  pa_buf_init(&b, 1024);
  /* "a\"b\\c", 0x1f, valid UTF-8 "é" (C3 A9), invalid 0xE9, truncated E3 81 */
  assert_int_equal(pa_dicom_json_str(&b, (const uint8_t *)"a\"b\\c\x1f\xc3\xa9\xe9\xe3\x81", 11), PA_OK);
  assert_string_equal(pa_buf_str(&b), "\"a\\\"b\\\\c\\u001f\xc3\xa9\\u00e9\\u00e3\\u0081\"");
  pa_buf_reset(&b);
  /* 4-byte UTF-8 kept, surrogate encoding (ED A0 80) not */
  assert_int_equal(pa_dicom_json_str(&b, (const uint8_t *)"\xf0\x9f\x98\x80\xed\xa0\x80", 7), PA_OK);
  assert_string_equal(pa_buf_str(&b), "\"\xf0\x9f\x98\x80\\u00ed\\u00a0\\u0080\"");
  pa_buf_cleanup(&b);
  pa_buf_init(&b, 4);
  assert_int_equal(pa_dicom_json_str(&b, (const uint8_t *)"abcdef", 6), PA_LIMIT);
  pa_buf_cleanup(&b);
}

static void test_ident_edge_cases(void **state)
{
  struct bb id = { 0 };
  struct pa_buf j;
  struct pa_dicom_ident out;
  (void)state;

  /* nesting deeper than the cap */
  for (unsigned i = 0; i <= PA_MAX_DS_DEPTH; i++) {
    el_hdr(&id, IMPL, 0x0040, 0x0100, "SQ", 0xFFFFFFFF);
    el_item(&id, IMPL, 0xE000, 0xFFFFFFFF);
  }
  pa_buf_init(&j, PA_MAX_QUERY_JSON);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_IMPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.ds_too_deep");
  assert_string_equal(pa_buf_str(&j), "{\"ScheduledProcedureStepSequence\":\"[sequence]\"}");
  pa_buf_cleanup(&j);
  bb_free(&id);

  /* tags out of order: stop there */
  el_str(&id, IMPL, 0x0010, 0x0020, "LO", "B");
  el_str(&id, IMPL, 0x0008, 0x0052, "CS", "A");
  pa_buf_init(&j, PA_MAX_QUERY_JSON);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_IMPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.bad_identifier");
  assert_string_equal(pa_buf_str(&j), "{\"PatientID\":\"B\"}");
  pa_buf_cleanup(&j);

  /* a JSON cap too small for the second key: a complete object still */
  pa_buf_init(&j, 20);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_IMPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(pa_buf_str(&j), "{\"PatientID\":\"B\"}");
  pa_buf_cleanup(&j);
  pa_buf_init(&j, 5);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_IMPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.query_too_large");
  assert_string_equal(pa_buf_str(&j), "{}");
  pa_buf_cleanup(&j);

  /* deflated: not decoded */
  pa_buf_init(&j, 100);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_DEFLATED, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.deflated_dataset");
  assert_string_equal(pa_buf_str(&j), "{}");
  pa_buf_cleanup(&j);
  bb_free(&id);

  /* explicit VR with a bad VR, and a truncated element */
  put16le(&id, 0x0010); put16le(&id, 0x0020); puts_(&id, "l0"); put16le(&id, 2); puts_(&id, "AB");
  pa_buf_init(&j, 100);
  assert_int_equal(pa_dicom_ident_decode(id.p, id.n, PA_DICOM_TS_EXPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.bad_identifier");
  pa_buf_reset(&j);
  assert_int_equal(pa_dicom_ident_decode(id.p, 5, PA_DICOM_TS_IMPLICIT_LE, &j, &out), PA_OK);
  assert_string_equal(out.anomaly, "dicom_ul.bad_identifier");
  pa_buf_cleanup(&j);
  bb_free(&id);

  assert_int_equal(pa_dicom_ts_of_uid("1.2.840.10008.1.2"), PA_DICOM_TS_IMPLICIT_LE);
  assert_int_equal(pa_dicom_ts_of_uid("1.2.840.10008.1.2.1"), PA_DICOM_TS_EXPLICIT_LE);
  assert_int_equal(pa_dicom_ts_of_uid("1.2.840.10008.1.2.2"), PA_DICOM_TS_EXPLICIT_BE);
  assert_int_equal(pa_dicom_ts_of_uid("1.2.840.10008.1.2.1.99"), PA_DICOM_TS_DEFLATED);
  assert_int_equal(pa_dicom_ts_of_uid("1.2.840.10008.1.2.4.70"), PA_DICOM_TS_EXPLICIT_LE);
  assert_int_equal(pa_dicom_ts_of_uid(""), PA_DICOM_TS_UNKNOWN);
}

/* ---- real captures ------------------------------------------------------ */

/* tests/fuzz/corpus/fuzz_dicom_ul/real_<capture>_<stream>: the TCP streams of
 * the dcmtk captures in fixtures/dicom (see EXPECTED.md there), extracted with
 * tshark "follow,tcp,raw" into the fuzz input format. Each is decoded whole
 * and in chunks of 1..7 bytes, and checked against EXPECTED.md. */
struct real_case {
  const char *file, *result, *cmd, *pid, *study;
  int n_dm, status, by_acceptor;
  const char *user, *move_dest;
};

static const struct real_case real_cases[] = {
  { "real_echo_0", "released", "C-ECHO-RQ", "", "", 1, 0, 0, "", "" },
  { "real_echo6_0", "released", "C-ECHO-RQ", "", "", 1, 0, 0, "", "" },
  { "real_store_0", "released", "C-STORE-RQ", "PA-0001", "1.2.3.4.5.6.7.1.1", 3, 0, 0, "", "" },
  { "real_find_0", "released", "C-FIND-RQ", "", "", 1, 0, 0, "", "" },
  { "real_find_1", "released", "C-FIND-RQ", "PA-0001", "", 1, 0, 0, "", "" },
  { "real_get_0", "released", "C-STORE-RQ", "PA-0003", "1.2.3.4.5.6.7.1.3", 2, 0, 1, "", "" },
  { "real_move_0", "released", "C-MOVE-RQ", "", "1.2.3.4.5.6.7.1.2", 1, 0, 0, "", "MOVEDEST" },
  { "real_move_1", "released", "C-STORE-RQ", "PA-0002", "1.2.3.4.5.6.7.1.2", 1, 0, 0, "", "" },
  { "real_move_2", "released", "C-MOVE-RQ", "", "1.2.3.4.5.6.7.1.1", 1, 0xA801, 0, "", "NOSUCHAE" },
  { "real_reject_0", "rejected", NULL, NULL, NULL, 0, 0, 0, "", "" },
  { "real_reject_1", "rejected", NULL, NULL, NULL, 0, 0, 0, "", "" },
  { "real_abort_0", "aborted", "C-STORE-RQ", "PA-0007", "1.2.3.4.5.6.7.1.7", 1, 0, 0, "", "" },
  { "real_abort_1", "aborted", "C-STORE-RQ", "PA-0007", "1.2.3.4.5.6.7.1.7", 1, -1, 0, "", "" },
  { "real_killed_0", "incomplete", "C-STORE-RQ", "PA-0005", "1.2.3.4.5.6.7.1.5", 1, -1, 0, "", "" },
  { "real_smallpdu_0", "released", "C-STORE-RQ", "PA-0004", "1.2.3.4.5.6.7.1.4", 1, 0, 0, "", "" },
  { "real_userid_0", "incomplete", NULL, NULL, NULL, 0, 0, 0, "dr.tanaka", "" },
  { "real_userid_1", "released", "C-STORE-RQ", "PA-0006", "1.2.3.4.5.6.7.1.6", 1, 0, 0, "dr.tanaka", "" },
};

static int load_real(const char *name, struct tr *t)
{
  char path[1024], rel[256];
  uint8_t h[3];
  FILE *f;

  snprintf(rel, sizeof rel, "../tests/fuzz/corpus/fuzz_dicom_ul/%s", name);
  pa_test_fixture_path(path, sizeof path, rel);
  f = fopen(path, "rb");
  if (!f)
    return 0;
  while (fread(h, 1, 3, f) == 3) {
    struct bb b = { 0 };
    size_t n = (size_t)(h[1] | h[2] << 8);
    b.p = malloc(n ? n : 1);
    assert_non_null(b.p);
    assert_int_equal(fread(b.p, 1, n, f), n);
    b.n = n;
    tr_add(t, h[0] & 1, &b);
    bb_free(&b);
  }
  fclose(f);
  return 1;
}

static void test_real_streams(void **state)
{
  static const size_t small[] = { 1, 2, 3, 4, 5, 6, 7 };
  int found = 0;
  (void)state;
  if (!getenv("PA_FIXTURES"))
    skip();
  for (size_t i = 0; i < sizeof real_cases / sizeof real_cases[0]; i++) {
    const struct real_case *c = &real_cases[i];
    struct tr t = { 0 };
    if (!load_real(c->file, &t))
      continue;
    found++;
    for (int pass = 0; pass < 2; pass++) {
      struct rec *r = rec_new();
      pa_dicom *d = dec_new(r);
      struct pa_err err;
      pa_err_clear(&err);
      r->secret = "s3cr3t-pw"; /* the passcode in userid.pcap */
      assert_int_equal(feed_tr(d, &t, pass ? small : NULL, pass ? 7 : 1, SIZE_MAX, &err), PA_OK);
      assert_int_equal(pa_dicom_end(d, "end of capture", 9000), PA_OK);
      assert_string_equal(r->last.result, c->result);
      assert_int_equal(r->last.bytes, t.b.n);
      assert_string_equal(r->last.user_identity, c->user);
      assert_int_equal(r->n_dm, c->n_dm);
      if (c->cmd) {
        assert_string_equal(r->dm[0].command, c->cmd);
        assert_string_equal(r->dm[0].patient_id, c->pid);
        assert_string_equal(r->dm[0].study_uid, c->study);
        assert_int_equal(r->dm[0].status, c->status);
        assert_int_equal(r->dm[0].by_acceptor, c->by_acceptor);
        assert_string_equal(r->dm[0].move_destination, c->move_dest);
      }
      assert_int_equal(r->secret_seen, 0);
      assert_string_equal(pa__dicom_anomalies(d), "");
      pa_dicom_free(d);
      rec_free(r);
    }
    tr_free(&t);
  }
  assert_true(found > 0);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_sniff),
    cmocka_unit_test(test_find_association),
    cmocka_unit_test(test_find_results_cap),
    cmocka_unit_test(test_truncated_everywhere),
    cmocka_unit_test(test_store_fragmented),
    cmocka_unit_test(test_store_other_ts),
    cmocka_unit_test(test_pdu_exceeds_max),
    cmocka_unit_test(test_reject),
    cmocka_unit_test(test_reject_transient_provider),
    cmocka_unit_test(test_abort),
    cmocka_unit_test(test_user_identity_passcode),
    cmocka_unit_test(test_user_identity_jwt),
    cmocka_unit_test(test_user_identity_saml_kerberos),
    cmocka_unit_test(test_pdu_too_large),
    cmocka_unit_test(test_unknown_pdu_type),
    cmocka_unit_test(test_bad_item_lengths),
    cmocka_unit_test(test_bad_pdv_length),
    cmocka_unit_test(test_too_many_pcs),
    cmocka_unit_test(test_unexpected_pdu),
    cmocka_unit_test(test_cget),
    cmocka_unit_test(test_cmove),
    cmocka_unit_test(test_too_many_pending),
    cmocka_unit_test(test_gap_and_mute),
    cmocka_unit_test(test_json_escape),
    cmocka_unit_test(test_ident_edge_cases),
    cmocka_unit_test(test_real_streams),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
