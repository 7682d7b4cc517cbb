/* feed_prep.c — the part of the feed that needs no store, done on a worker
 * thread ahead of the writer (see feed.h, "work done ahead of the writer"):
 * SHA-256 and zstd frame of the bytes, and an audit body parsed into owned
 * records that the writer replays in order. */
#include "ingest/feed.h"

#include "analyzer/hash.h"
#include "collectors/fhir_audit.h"
#include "collectors/msg_ctx.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The records of one message may not take more than this (a FHIR Bundle
 * of PA_MAX_FHIR_MSG bytes fits many times over); past it the writer
 * parses the message itself. */
#define PREP_ARENA_CAP (64u * 1024 * 1024)

void pa_feed_pre_init(struct pa_feed_pre *pre)
{
  memset(pre, 0, sizeof *pre);
  pa_arena_init(&pre->arena, PREP_ARENA_CAP);
}

void pa_feed_pre_cleanup(struct pa_feed_pre *pre)
{
  free(pre->zbuf);
  free(pre->recs);
  free(pre->parts);
  free(pre->objs);
  pa_arena_cleanup(&pre->arena);
  memset(pre, 0, sizeof *pre);
}

/* Empties pre for the next message; its buffers are kept. */
static void pre_reset(struct pa_feed_pre *pre)
{
  pre->parsed = 0;
  pre->rc = PA_OK;
  pa_err_clear(&pre->e);
  pre->n_recs = pre->n_parts = pre->n_objs = 0;
  pre->ns_hash = pre->ns_zstd = pre->ns_parse = 0;
  pa_arena_reset(&pre->arena);
  memset(&pre->raw, 0, sizeof pre->raw);
}

pa_rc pa_feed_prep_init(struct pa_feed_prep *w, const char *tz, int live)
{
  memset(w, 0, sizeof *w);
  w->tz = tz;
  w->live = live;
  return pa_atna_new(&w->atna);
}

void pa_feed_prep_cleanup(struct pa_feed_prep *w)
{
  pa_atna_free(w->atna);
  pa_raw_zc_cleanup(&w->zc);
  w->atna = NULL;
}

/* Grows *v (of element size sz, *cap of them) to hold n more; 0 or -1. */
static int grow(void **v, size_t *cap, size_t used, size_t n, size_t sz)
{
  size_t want = used + n, c = *cap ? *cap : 8;
  void *nv;

  if (want <= *cap)
    return 0;
  while (c < want)
    c *= 2;
  if (c > SIZE_MAX / sz || !(nv = realloc(*v, c * sz)))
    return -1;
  *v = nv;
  *cap = c;
  return 0;
}

/* An arena copy of a string (NULL stays NULL); sets the arena's error on
 * failure, checked once per record. */
static const char *dup_s(struct pa_arena *a, const char *s)
{
  return s ? pa_arena_strndup(a, s, strlen(s)) : NULL;
}

static void copy_event(struct pa_arena *a, struct pa_event *ev)
{
  ev->source = dup_s(a, ev->source);
  ev->origin = dup_s(a, ev->origin);
  ev->event_code = dup_s(a, ev->event_code);
  ev->event_type = dup_s(a, ev->event_type);
  ev->received_via = dup_s(a, ev->received_via);
  ev->auth_method = dup_s(a, ev->auth_method);
  ev->user_id = dup_s(a, ev->user_id);
  ev->user_name = dup_s(a, ev->user_name);
  ev->user_role = dup_s(a, ev->user_role);
  ev->src_ip = dup_s(a, ev->src_ip);
  ev->src_ae = dup_s(a, ev->src_ae);
  ev->dst_ip = dup_s(a, ev->dst_ip);
  ev->dst_ae = dup_s(a, ev->dst_ae);
  ev->host = dup_s(a, ev->host);
  ev->patient_id = dup_s(a, ev->patient_id);
  ev->study_uid = dup_s(a, ev->study_uid);
}

/* The recording sink: an owned copy of the audit record, in order. */
static pa_rc rec_audit(void *ctx, const struct pa_audit *in)
{
  struct pa_feed_pre *pre = ctx;
  struct pa_arena *ar = &pre->arena;
  struct pa_feed_rec *r;

  if (grow((void **)&pre->recs, &pre->cap_recs, pre->n_recs, 1, sizeof *pre->recs) ||
      grow((void **)&pre->parts, &pre->cap_parts, pre->n_parts, in->n_participants,
           sizeof *pre->parts) ||
      grow((void **)&pre->objs, &pre->cap_objs, pre->n_objs, in->n_objects, sizeof *pre->objs))
    return PA_NOMEM;
  r = &pre->recs[pre->n_recs];
  r->a = *in;
  r->p0 = pre->n_parts;
  r->o0 = pre->n_objs;
  copy_event(ar, &r->a.ev);
  r->a.format = dup_s(ar, in->format);
  r->a.event_id_system = dup_s(ar, in->event_id_system);
  r->a.event_display = dup_s(ar, in->event_display);
  r->a.event_types = dup_s(ar, in->event_types);
  r->a.event_type_names = dup_s(ar, in->event_type_names);
  r->a.outcome_desc = dup_s(ar, in->outcome_desc);
  r->a.purpose = dup_s(ar, in->purpose);
  r->a.source_id = dup_s(ar, in->source_id);
  r->a.source_site = dup_s(ar, in->source_site);
  r->a.source_types = dup_s(ar, in->source_types);
  r->a.warnings = dup_s(ar, in->warnings);
  r->a.participants = NULL;
  r->a.objects = NULL;
  for (size_t i = 0; i < in->n_participants; i++) {
    struct pa_participant *p = &pre->parts[pre->n_parts + i];
    *p = in->participants[i];
    p->user_id = dup_s(ar, p->user_id);
    p->alt_user_id = dup_s(ar, p->alt_user_id);
    p->user_name = dup_s(ar, p->user_name);
    p->user_id_type = dup_s(ar, p->user_id_type);
    p->net_id = dup_s(ar, p->net_id);
    p->ae_title = dup_s(ar, p->ae_title);
    p->roles = dup_s(ar, p->roles);
    p->role_names = dup_s(ar, p->role_names);
  }
  for (size_t i = 0; i < in->n_objects; i++) {
    struct pa_object *o = &pre->objs[pre->n_objs + i];
    *o = in->objects[i];
    o->object_id = dup_s(ar, o->object_id);
    o->id_type_code = dup_s(ar, o->id_type_code);
    o->id_type_system = dup_s(ar, o->id_type_system);
    o->name = dup_s(ar, o->name);
    o->description = dup_s(ar, o->description);
    o->query_b64 = dup_s(ar, o->query_b64);
    o->cx_id = dup_s(ar, o->cx_id);
    o->cx_namespace = dup_s(ar, o->cx_namespace);
    o->cx_universal_id = dup_s(ar, o->cx_universal_id);
    o->sop_classes = dup_s(ar, o->sop_classes);
    o->accession = dup_s(ar, o->accession);
    o->study_uids = dup_s(ar, o->study_uids);
  }
  if (ar->err)
    return PA_NOMEM; /* the writer parses it itself */
  pre->n_parts += in->n_participants;
  pre->n_objs += in->n_objects;
  pre->n_recs++;
  return PA_OK;
}

/* Parses an audit body as feed.c's parse_body would, into pre's records;
 * pre->parsed stays 0 when the writer must parse it itself (an IHE Yr4
 * body, which is not parsed; memory). */
static void parse_ahead(struct pa_feed_prep *w, enum pa_syslog_body kind, const uint8_t *p,
                        size_t len, const struct pa_msg_ctx *ctx, struct pa_feed_pre *pre)
{
  struct pa_sink sink = {.ctx = pre, .audit = rec_audit};
  uint64_t t0 = now_ns();
  size_t n = 0;

  if (kind == PA_SYSLOG_BODY_ATNA_XML || kind == PA_SYSLOG_BODY_XML_OTHER)
    pre->rc = pa_atna_parse(w->atna, p, len, ctx, &sink, &pre->e);
  else if (kind == PA_SYSLOG_BODY_FHIR_JSON)
    pre->rc = pa_fhir_parse(p, len, ctx, &sink, &n, &pre->e);
  else
    return;
  pre->ns_parse = now_ns() - t0;
  pre->parsed = pre->rc != PA_NOMEM && pre->rc != PA_DB && pre->rc != PA_IO;
}

/* The frame made ahead, copied out of the worker's compressor into pre. */
static void keep_frame(struct pa_feed_prep *w, const pa_raw_zdict *dict, const uint8_t *p,
                       size_t len, struct pa_feed_pre *pre)
{
  uint64_t t0 = now_ns(), t1;

  pa_sha256(p, len, pre->raw.sha);
  t1 = now_ns();
  pa_raw_precompute(&w->zc, dict, p, len, &pre->raw);
  pre->ns_hash = t1 - t0;
  pre->ns_zstd = now_ns() - t1;
  if (!pre->raw.zlen)
    return;
  if (pre->raw.zlen > pre->zcap) {
    uint8_t *nb = realloc(pre->zbuf, pre->raw.zlen);
    if (!nb) {
      pre->raw.framed = 0; /* the writer compresses it */
      pre->raw.zlen = 0;
      pre->raw.z = NULL;
      return;
    }
    pre->zbuf = nb;
    pre->zcap = pre->raw.zlen;
  }
  memcpy(pre->zbuf, pre->raw.z, pre->raw.zlen);
  pre->raw.z = pre->zbuf;
}

void pa_feed_prep_syslog(struct pa_feed_prep *w, const pa_raw_zdict *dict, const uint8_t *p,
                         size_t len, const char *origin, int64_t received_ts,
                         const struct pa_syslog_opts *o, struct pa_feed_pre *pre)
{
  struct pa_syslog_msg m;
  struct pa_msg_ctx ctx;
  enum pa_syslog_body kind;
  struct pa_err e;
  char host[256];

  pre_reset(pre);
  keep_frame(w, dict, p, len, pre);
  pa_err_clear(&e);
  if (pa_syslog_parse(p, len, o, &m, &e) != PA_OK)
    return; /* quarantined by the writer */
  kind = pa_syslog_body_kind(m.msg.p, m.msg.len);
  if (kind != PA_SYSLOG_BODY_ATNA_XML && kind != PA_SYSLOG_BODY_FHIR_JSON)
    return; /* decoded (or kept raw only) by the writer */
  /* the context feed_syslog gives the parser, raw_id aside (the writer
   * sets it in each record) */
  pa_syslog_str_copy(host, sizeof host, m.hostname);
  memset(&ctx, 0, sizeof ctx);
  ctx.origin = origin;
  ctx.received_ts = m.has_ts ? m.ts : received_ts;
  ctx.received_via = m.has_ts ? "header" : w->live ? "receipt" : "file";
  ctx.host = host[0] ? host : NULL;
  ctx.tz = w->tz;
  parse_ahead(w, kind, m.msg.p, m.msg.len, &ctx, pre);
}

void pa_feed_prep_body(struct pa_feed_prep *w, const pa_raw_zdict *dict,
                       enum pa_syslog_body kind, const uint8_t *p, size_t len,
                       const char *origin, int64_t received_ts, struct pa_feed_pre *pre)
{
  struct pa_msg_ctx ctx;

  pre_reset(pre);
  keep_frame(w, dict, p, len, pre);
  memset(&ctx, 0, sizeof ctx);
  ctx.origin = origin;
  ctx.received_ts = received_ts;
  ctx.received_via = w->live ? "receipt" : "file";
  ctx.tz = w->tz;
  parse_ahead(w, kind, p, len, &ctx, pre);
}
