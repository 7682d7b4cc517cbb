/* feed.c — one received message into the store (see feed.h). */
#include "ingest/feed.h"

#include "analyzer/log.h"
#include "analyzer/tm.h"
#include "collectors/fhir_audit.h"
#include "collectors/msg_ctx.h"
#include "analyzer/datadir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

pa_rc pa_feed_init(struct pa_feed *f, pa_store *s, const char *site_decoders, const char *tz,
                   int64_t run_id, struct pa_err *err)
{
  struct stat sb;
  pa_rc rc;

  memset(f, 0, sizeof *f);
  f->store = s;
  f->tz = tz;
  f->run_id = run_id;
  pa_store_sink(s, &f->sink);
  pa_store_msg_sink(s, &f->msg_sink);
  if ((rc = pa_atna_new(&f->atna)))
    return rc;
  f->decoders = pa_decoders_new();
  f->scratch = pa_decoders_scratch_new();
  if (!f->decoders || !f->scratch)
    return PA_NOMEM;
  if ((rc = pa_decoders_load_dir(f->decoders, pa_datadir(PA_DATA_DECODERS), err)))
    return rc;
  if (site_decoders) {
    if (stat(site_decoders, &sb) != 0)
      return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: no such decoder file or folder",
                        site_decoders);
    rc = S_ISDIR(sb.st_mode) ? pa_decoders_load_dir(f->decoders, site_decoders, err)
                             : pa_decoders_load_file(f->decoders, site_decoders, err);
  }
  return rc;
}

void pa_feed_cleanup(struct pa_feed *f)
{
  pa_atna_free(f->atna);
  pa_decoders_free(f->decoders);
  pa_decoders_scratch_free(f->scratch);
  free(f->tries);
  f->tries = NULL;
  f->atna = NULL;
  f->decoders = NULL;
  f->scratch = NULL;
}

/* The slot of a try's key: FNV-1a, direct-mapped, so memory is fixed and a
 * lookup is one comparison; a newer try may take an older one's slot (that
 * older try's second line then counts on its own, as before). */
static struct pa_feed_try *try_slot(struct pa_feed *f, const char *key)
{
  uint32_t h = 2166136261u;
  for (const unsigned char *p = (const unsigned char *)key; *p; p++)
    h = (h ^ *p) * 16777619u;
  return &f->tries[h % PA_FEED_TRY_SLOTS];
}

/* Remembers that event id (at ts) opened the try key, for a later line to
 * join. */
static pa_rc remember_try(struct pa_feed *f, const char *key, int64_t id, int64_t ts)
{
  struct pa_feed_try *t;

  if (!f->tries && !(f->tries = calloc(PA_FEED_TRY_SLOTS, sizeof *f->tries)))
    return PA_NOMEM;
  t = try_slot(f, key);
  snprintf(t->key, sizeof t->key, "%s", key);
  t->event_id = id;
  t->ts = ts;
  return PA_OK;
}

/* A decoded line's event: joined to the try it completes, or stored (and
 * remembered when a later line may join it). */
static pa_rc decoded_event(struct pa_feed *f, const struct pa_event *ev,
                           const struct pa_decoded *info)
{
  struct pa_feed_try *t;
  int64_t id;
  pa_rc rc;

  if (info->join_key && f->tries) {
    t = try_slot(f, info->join_key);
    if (!strcmp(t->key, info->join_key) && ev->ts >= t->ts &&
        ev->ts - t->ts <= PA_FEED_TRY_WINDOW_US) {
      t->key[0] = 0; /* one line joins; the connection's next failures are tries */
      if ((rc = pa_store_event_join(f->store, t->event_id, ev)) == PA_OK)
        f->n.joined++;
      return rc;
    }
  }
  if (!info->try_key)
    return f->msg_sink.event(f->msg_sink.ctx, ev);
  if ((rc = pa_store_put_event(f->store, ev, &id)))
    return rc;
  return remember_try(f, info->try_key, id, ev->ts);
}

/* A plain line read again (a grown file from where the last run stopped, a
 * file whose ingest was killed): stored before, so no event now, but a try
 * it opened or closed is remembered as in one run, so that the next line
 * joins the event stored for it then (sshd's `Invalid user` and `Failed
 * password` for one try are one failure, whichever runs read them). */
static pa_rc seen_again(struct pa_feed *f, const struct pa_syslog_msg *m, int64_t raw_id,
                        int64_t received_ts)
{
  struct pa_decoded info;
  struct pa_event ev;
  struct pa_err e;
  int64_t id;

  if (pa_syslog_body_kind(m->msg.p, m->msg.len) != PA_SYSLOG_BODY_TEXT)
    return PA_OK;
  pa_err_clear(&e);
  if (pa_decoders_match(f->decoders, m, f->scratch, &ev, &info, &e) != PA_OK || !info.matched)
    return PA_OK;
  if (!ev.ts)
    ev.ts = received_ts;
  if (info.join_key && f->tries) {
    struct pa_feed_try *t = try_slot(f, info.join_key);
    if (!strcmp(t->key, info.join_key))
      t->key[0] = 0; /* it joined its try then */
  }
  if (!info.try_key || pa_store_event_of_raw(f->store, raw_id, ev.ts, &id) != PA_OK || !id)
    return PA_OK;
  return remember_try(f, info.try_key, id, ev.ts);
}

/* The store failing is fatal; everything else about a message is its own. */
static int fatal(pa_rc rc) { return rc == PA_DB || rc == PA_NOMEM || rc == PA_IO; }

static pa_rc quarantine(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                        int64_t offset, const struct pa_err *e, pa_rc why)
{
  struct pa_store_counts c0, c1;
  char msg[320];
  pa_rc rc;

  snprintf(msg, sizeof msg, "%s", e->msg[0] ? e->msg : pa_strerror(why));
  if (e->offset != UINT64_MAX && e->msg[0])
    snprintf(msg, sizeof msg, "%s (at byte %llu of the message)", e->msg,
             (unsigned long long)e->offset);
  pa_log(PA_LOG_INFO, "%s: offset %lld: quarantined: %s", origin ? origin : "-",
         (long long)offset, msg);
  pa_store_counts(f->store, &c0);
  rc = pa_store_quarantine(f->store, p, len, origin, offset, msg, f->run_id);
  pa_store_counts(f->store, &c1);
  f->n.quarantined += c1.quarantined - c0.quarantined; /* the same bytes are kept once */
  return rc;
}

/* Ends one message: a batch may commit now, never inside a message. After
 * a fatal error the open batch is marked failed, so that the part of the
 * message already written (its raw row) rolls back with it. */
static pa_rc message_done(struct pa_feed *f, pa_rc rc)
{
  if (fatal(rc)) {
    pa_store_batch_fail(f->store);
    return rc;
  }
  return rc ? rc : pa_store_batch_tick(f->store);
}

pa_rc pa_feed_bad(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                  int64_t offset, const char *why)
{
  struct pa_err e;
  pa_err_clear(&e);
  snprintf(e.msg, sizeof e.msg, "%s", why);
  f->n.messages++;
  return message_done(f, quarantine(f, p, len, origin, offset, &e, PA_MALFORMED));
}

/* Keeps the bytes once; *dup_out when they were kept before. pre: the sha
 * and frame made ahead (NULL none). */
static pa_rc keep_raw(struct pa_feed *f, const uint8_t *p, size_t len, const struct pa_feed_pre *pre,
                      const char *origin, int64_t offset, int64_t received_ts, int64_t *raw_id,
                      int *dup_out)
{
  f->n.messages++;
  return pa_store_put_raw_pre(f->store, p, len, pre ? &pre->raw : NULL, origin, offset,
                              received_ts, raw_id, dup_out);
}

/* A syslog message whose bytes are stored already: is it a repeat, a new
 * fact to parse again? Only a plain text line can be: sshd writes the same
 * line for each failed try within a second. An audit message (ATNA, FHIR)
 * carries its own event time and ids, so the same bytes again are the same
 * event sent twice. */
static pa_rc is_repeat(struct pa_feed *f, const struct pa_syslog_msg *m, pa_rc parsed,
                       int64_t raw_id, const char *origin, int64_t offset, int64_t received_ts,
                       int *repeat)
{
  enum pa_syslog_body k;
  pa_rc rc = PA_OK;

  *repeat = 0;
  if (parsed == PA_OK && ((k = pa_syslog_body_kind(m->msg.p, m->msg.len)) == PA_SYSLOG_BODY_TEXT ||
                          k == PA_SYSLOG_BODY_XML_OTHER))
    rc = pa_store_put_repeat(f->store, raw_id, origin, offset, received_ts, repeat);
  if (rc == PA_OK)
    *repeat ? f->n.repeats++ : f->n.duplicates++;
  return rc;
}

/* Parses an audit body (ATNA XML or FHIR JSON) with what the driver
 * knows; an IHE Yr4 body, the pre-2004 format, is kept in raw and not
 * interpreted (formats.md §0: "store raw only"). The one place a sniffed
 * body kind becomes an action, for the syslog and the file path alike. */
static pa_rc parse_body(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                        const struct pa_msg_ctx *ctx, struct pa_err *e)
{
  size_t n = 0;
  pa_rc rc;

  if (kind == PA_SYSLOG_BODY_IHE_YR4) {
    f->n.unmatched++;
    return PA_OK;
  }
  if (kind == PA_SYSLOG_BODY_ATNA_XML || kind == PA_SYSLOG_BODY_XML_OTHER) {
    rc = pa_atna_parse(f->atna, p, len, ctx, &f->msg_sink, e);
    if (rc == PA_OK)
      f->n.atna++;
    return rc;
  }
  rc = pa_fhir_parse(p, len, ctx, &f->msg_sink, &n, e);
  f->n.fhir += n;
  return rc;
}

/* parse_body with the records a worker parsed (pre->parsed): each into the
 * store's sink in order, with the raw row now known; then what the parser
 * returned. The counts as parse_body keeps them. */
static pa_rc replay_body(struct pa_feed *f, enum pa_syslog_body kind, const struct pa_feed_pre *pre,
                         int64_t raw_id, struct pa_err *e)
{
  pa_rc rc = PA_OK;
  size_t n = 0;

  for (size_t i = 0; i < pre->n_recs && rc == PA_OK; i++) {
    struct pa_audit a = pre->recs[i].a;
    a.ev.raw_id = raw_id;
    a.participants = a.n_participants ? pre->parts + pre->recs[i].p0 : NULL;
    a.objects = a.n_objects ? pre->objs + pre->recs[i].o0 : NULL;
    if ((rc = f->msg_sink.audit(f->msg_sink.ctx, &a)) == PA_OK)
      n++;
  }
  if (kind == PA_SYSLOG_BODY_FHIR_JSON)
    f->n.fhir += n;
  if (rc)
    return rc;
  *e = pre->e;
  if (pre->rc == PA_OK && kind != PA_SYSLOG_BODY_FHIR_JSON)
    f->n.atna++;
  return pre->rc;
}

static pa_rc feed_syslog(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                         int64_t offset, int64_t received_ts, const struct pa_syslog_opts *o,
                         const struct pa_feed_pre *pre)
{
  struct pa_syslog_msg m;
  struct pa_msg_ctx ctx;
  enum pa_syslog_body kind;
  struct pa_err e;
  char host[256];
  int64_t raw_id;
  int dup;
  pa_rc rc;

  if ((rc = keep_raw(f, p, len, pre, origin, offset, received_ts, &raw_id, &dup)))
    return rc;
  pa_err_clear(&e);
  rc = pa_syslog_parse(p, len, o, &m, &e);
  if (dup) {
    int repeat;
    pa_rc r2 = is_repeat(f, &m, rc, raw_id, origin, offset, received_ts, &repeat);
    if (r2)
      return r2;
    if (!repeat)
      return rc == PA_OK ? seen_again(f, &m, raw_id, received_ts) : PA_OK;
  }
  if (rc != PA_OK)
    return fatal(rc) ? rc : quarantine(f, p, len, origin, offset, &e, rc);
  pa_syslog_str_copy(host, sizeof host, m.hostname);
  memset(&ctx, 0, sizeof ctx);
  ctx.origin = origin;
  ctx.raw_id = raw_id;
  ctx.received_ts = m.has_ts ? m.ts : received_ts;
  ctx.received_via = m.has_ts ? "header" : f->live ? "receipt" : "file";
  ctx.host = host[0] ? host : NULL;
  ctx.tz = f->tz;

  switch (kind = pa_syslog_body_kind(m.msg.p, m.msg.len)) {
  case PA_SYSLOG_BODY_ATNA_XML:
  case PA_SYSLOG_BODY_FHIR_JSON:
  case PA_SYSLOG_BODY_IHE_YR4:
    rc = pre && pre->parsed ? replay_body(f, kind, pre, raw_id, &e)
                            : parse_body(f, kind, m.msg.p, m.msg.len, &ctx, &e);
    break;
  default: {
    struct pa_event ev;
    struct pa_decoded info;
    rc = pa_decoders_match(f->decoders, &m, f->scratch, &ev, &info, &e);
    if (rc == PA_LIMIT) {
      pa_log(PA_LOG_INFO, "%s: offset %lld: %s", origin, (long long)offset, e.msg);
      rc = PA_OK;
      info.matched = 0;
    }
    if (rc == PA_MALFORMED)
      return quarantine(f, p, len, origin, offset, &e, rc);
    if (rc)
      return rc;
    if (!info.matched) {
      f->n.unmatched++;
      return PA_OK;
    }
    ev.origin = origin;
    ev.raw_id = raw_id;
    if (!ev.ts)
      ev.ts = received_ts;
    ev.received_via = ev.received_ts ? "header" : f->live ? "receipt" : "file";
    if (!ev.received_ts)
      ev.received_ts = received_ts;
    if ((rc = decoded_event(f, &ev, &info)) == PA_OK)
      f->n.decoded++;
    return rc;
  }
  }
  if (rc == PA_OK || fatal(rc))
    return rc;
  return quarantine(f, p, len, origin, offset, &e, rc);
}

pa_rc pa_feed_syslog(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                     int64_t offset, int64_t received_ts, const struct pa_syslog_opts *o)
{
  return message_done(f, feed_syslog(f, p, len, origin, offset, received_ts, o, NULL));
}

pa_rc pa_feed_syslog_pre(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                         int64_t offset, int64_t received_ts, const struct pa_syslog_opts *o,
                         const struct pa_feed_pre *pre)
{
  return message_done(f, feed_syslog(f, p, len, origin, offset, received_ts, o, pre));
}

static pa_rc feed_body(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                       const char *origin, int64_t offset, int64_t received_ts,
                       const struct pa_feed_pre *pre)
{
  struct pa_msg_ctx ctx;
  struct pa_err e;
  int64_t raw_id;
  int dup;
  pa_rc rc;

  if ((rc = keep_raw(f, p, len, pre, origin, offset, received_ts, &raw_id, &dup)))
    return rc;
  if (dup) { /* an audit message again: the same event (is_repeat) */
    f->n.duplicates++;
    return PA_OK;
  }
  memset(&ctx, 0, sizeof ctx);
  ctx.origin = origin;
  ctx.raw_id = raw_id;
  ctx.received_ts = received_ts;
  ctx.received_via = f->live ? "receipt" : "file";
  ctx.tz = f->tz;
  pa_err_clear(&e);
  rc = pre && pre->parsed ? replay_body(f, kind, pre, raw_id, &e)
                          : parse_body(f, kind, p, len, &ctx, &e);
  if (rc == PA_OK || fatal(rc))
    return rc;
  return quarantine(f, p, len, origin, offset, &e, rc);
}

pa_rc pa_feed_body(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                   const char *origin, int64_t offset, int64_t received_ts)
{
  return message_done(f, feed_body(f, kind, p, len, origin, offset, received_ts, NULL));
}

pa_rc pa_feed_body_pre(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p,
                       size_t len, const char *origin, int64_t offset, int64_t received_ts,
                       const struct pa_feed_pre *pre)
{
  return message_done(f, feed_body(f, kind, p, len, origin, offset, received_ts, pre));
}

/* ---- the file driver's sink ---------------------------------------------- */

static pa_rc file_syslog(void *ctx, const uint8_t *p, size_t len, const char *origin,
                         int64_t offset, const struct pa_syslog_opts *o)
{
  return pa_feed_syslog(ctx, p, len, origin, offset, pa_time_now(), o);
}

static pa_rc file_body(void *ctx, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                       const char *origin, int64_t offset)
{
  return pa_feed_body(ctx, kind, p, len, origin, offset, pa_time_now());
}

static pa_rc file_bad(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
                      const char *why)
{
  return pa_feed_bad(ctx, p, len, origin, offset, why);
}

void pa_feed_file_sink(struct pa_feed *f, struct pa_file_sink *out)
{
  memset(out, 0, sizeof *out);
  out->ctx = f;
  out->syslog = file_syslog;
  out->body = file_body;
  out->bad = file_bad;
}
