/* store_put.c — the store's inserts (see store.h): associations,
 * presentation contexts, DIMSE requests, events and audit details, and the
 * sinks that collectors write through. */
#include "store_int.h"
#include "utf8.h"

#include <string.h>

pa_rc pa_store_assoc_begin(pa_store *s, const struct pa_assoc *a, int64_t *id_out)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_ASSOC_INS);
  pa_rc rc;

  *id_out = 0;
  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, a->started_at);
  sqlite3_bind_text(q, 2, a->conn.client_ip, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(q, 3, a->conn.client_port);
  sqlite3_bind_text(q, 4, a->conn.server_ip, -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(q, 5, a->conn.server_port);
  sqlite3_bind_text(q, 6, a->result ? a->result : "incomplete", -1, SQLITE_STATIC);
  sqlite3_bind_int(q, 7, a->tls);
  pa__store_bind_text(q, 8, a->conn.origin);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  if (sqlite3_changes(s->db) == 0) {
    PA__STORE_COUNT(s, duplicates);
    return PA_OK;
  }
  *id_out = sqlite3_last_insert_rowid(s->db);
  PA__STORE_COUNT(s, associations);
  return pa_store_assoc_update(s, *id_out, a);
}

pa_rc pa_store_assoc_update(pa_store *s, int64_t id, const struct pa_assoc *a)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_ASSOC_UPD);

  if (!q)
    return PA_DB;
  pa__store_bind_opt(q, 1, a->ended_at ? a->ended_at : -1);
  pa__store_bind_text(q, 2, a->calling_ae);
  pa__store_bind_text(q, 3, a->called_ae);
  sqlite3_bind_text(q, 4, a->result ? a->result : "incomplete", -1, SQLITE_STATIC);
  pa__store_bind_text(q, 5, a->reject_reason);
  pa__store_bind_opt(q, 6, a->user_identity_type ? a->user_identity_type : -1);
  pa__store_bind_text(q, 7, a->user_identity);
  sqlite3_bind_int(q, 8, a->tls);
  sqlite3_bind_int64(q, 9, (int64_t)a->bytes);
  pa__store_bind_text(q, 10, a->user_identity_sha256);
  pa__store_bind_opt(q, 11, a->user_identity_type ? a->user_identity_rsp : -1);
  pa__store_bind_text(q, 12, a->tls_server_name);
  pa__store_bind_text(q, 13, a->app_context);
  pa__store_bind_opt(q, 14, a->max_pdu_rq);
  pa__store_bind_opt(q, 15, a->max_pdu_ac);
  pa__store_bind_text(q, 16, a->impl_class_rq);
  pa__store_bind_text(q, 17, a->impl_version_rq);
  pa__store_bind_text(q, 18, a->impl_class_ac);
  pa__store_bind_text(q, 19, a->impl_version_ac);
  pa__store_bind_text(q, 20, a->anomalies);
  sqlite3_bind_int(q, 21, (int)a->n_anomalies);
  sqlite3_bind_int64(q, 22, id);
  return pa__store_step_done(s, q);
}

pa_rc pa_store_put_pctx(pa_store *s, int64_t assoc_id, const struct pa_pctx *pc)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_PCTX);
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, assoc_id);
  sqlite3_bind_int(q, 2, pc->pc_id);
  pa__store_bind_text(q, 3, pc->abstract_syntax);
  pa__store_bind_text(q, 4, pc->transfer_syntaxes);
  pa__store_bind_opt(q, 5, pc->result);
  pa__store_bind_text(q, 6, pc->accepted_ts);
  if ((rc = pa__store_step_done(s, q)) == PA_OK)
    PA__STORE_COUNT(s, pctx);
  return rc;
}

pa_rc pa_store_put_dimse(pa_store *s, const struct pa_dimse *d, int64_t *id_out)
{
  sqlite3_stmt *q = pa__store_stmt(s, PA__ST_DIMSE);
  int64_t id;
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, d->assoc_id);
  sqlite3_bind_int64(q, 2, d->ts);
  sqlite3_bind_int(q, 3, d->message_id);
  sqlite3_bind_text(q, 4, d->command, -1, SQLITE_STATIC);
  pa__store_bind_text(q, 5, d->sop_class_uid);
  pa__store_bind_text(q, 6, d->sop_instance_uid);
  pa__store_bind_opt(q, 7, d->status);
  pa__store_bind_text(q, 8, d->patient_id);
  pa__store_bind_text(q, 9, d->study_uid);
  pa__store_bind_text(q, 10, d->query);
  pa__store_bind_text(q, 11, d->move_destination);
  pa__store_bind_opt(q, 12, d->rsp_ts ? d->rsp_ts : -1);
  sqlite3_bind_int(q, 13, d->by_acceptor);
  pa__store_bind_opt(q, 14, d->completed);
  pa__store_bind_opt(q, 15, d->failed);
  pa__store_bind_opt(q, 16, d->warning);
  pa__store_bind_text(q, 17, d->move_originator_ae);
  pa__store_bind_opt(q, 18, d->move_originator_id);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  PA__STORE_COUNT(s, dimse);
  id = sqlite3_last_insert_rowid(s->db);
  if (id_out)
    *id_out = id;
  for (size_t i = 0; i < d->n_results; i++) {
    const struct pa_dimse_result *r = &d->results[i];
    if (!(q = pa__store_stmt(s, PA__ST_DRES)))
      return PA_DB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)i);
    pa__store_bind_text(q, 3, r->patient_id);
    pa__store_bind_text(q, 4, r->study_uid);
    if ((rc = pa__store_step_done(s, q)))
      return rc;
  }
  return PA_OK;
}

pa_rc pa_store_put_event(pa_store *s, const struct pa_event *e, int64_t *id_out)
{
  sqlite3_stmt *q = pa__store_stmt(s, s->ev_pending ? PA__ST_EVENT_PENDING : PA__ST_EVENT);
  char action[2] = {e->action, 0};
  pa_rc rc;

  if (!q)
    return PA_DB;
  sqlite3_bind_int64(q, 1, e->ts);
  pa__store_bind_opt(q, 2, e->received_ts ? e->received_ts : -1);
  sqlite3_bind_text(q, 3, e->source, -1, SQLITE_STATIC);
  pa__store_bind_text(q, 4, e->origin);
  pa__store_bind_text(q, 5, e->event_code);
  pa__store_bind_text(q, 6, action);
  pa__store_bind_opt(q, 7, e->outcome);
  pa__store_bind_text(q, 8, e->user_id);
  pa__store_bind_text(q, 9, e->user_name);
  pa__store_bind_text(q, 10, e->user_role);
  pa__store_bind_text(q, 11, e->src_ip);
  pa__store_bind_text(q, 12, e->src_ae);
  pa__store_bind_text(q, 13, e->dst_ip);
  pa__store_bind_text(q, 14, e->dst_ae);
  pa__store_bind_text(q, 15, e->host);
  pa__store_bind_text(q, 16, e->patient_id);
  pa__store_bind_text(q, 17, e->study_uid);
  pa__store_bind_opt(q, 18, e->object_count);
  pa__store_bind_opt(q, 19, e->secure);
  pa__store_bind_opt(q, 20, e->assoc_id ? e->assoc_id : -1);
  pa__store_bind_opt(q, 21, e->raw_id ? e->raw_id : -1);
  pa__store_bind_text(q, 22, e->event_type);
  pa__store_bind_text(q, 23, e->auth_method);
  pa__store_bind_text(q, 24, e->received_via);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  PA__STORE_COUNT(s, events);
  if (s->ev_pending && !s->ev_pending_rows++)
    s->ev_pending_since = pa__store_mono_us();
  if (id_out)
    *id_out = sqlite3_last_insert_rowid(s->db);
  return PA_OK;
}


/* The event is in events or still in events_pending (moved by any writer
 * since): both are updated, one of them has the row. */
pa_rc pa_store_event_join(pa_store *s, int64_t id, const struct pa_event *e)
{
  static const int which[] = {PA__ST_EVENT_JOIN_PENDING, PA__ST_EVENT_JOIN};
  sqlite3_stmt *q;
  pa_rc rc;

  for (size_t i = 0; i < sizeof which / sizeof which[0]; i++) {
    if (!(q = pa__store_stmt(s, which[i])))
      return PA_DB;
    pa__store_bind_text(q, 1, e->auth_method);
    pa__store_bind_text(q, 2, e->user_id);
    sqlite3_bind_int64(q, 3, id);
    if ((rc = pa__store_step_done(s, q)))
      return rc;
  }
  return PA_OK;
}

/* The sink: each callback writes one record, then lets the batch roll. */
static pa_rc sink_assoc_begin(void *ctx, const struct pa_assoc *a, int64_t *id_out)
{
  pa_rc rc = pa_store_assoc_begin(ctx, a, id_out);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_assoc_update(void *ctx, int64_t id, const struct pa_assoc *a)
{
  pa_rc rc = pa_store_assoc_update(ctx, id, a);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_pctx(void *ctx, int64_t assoc_id, const struct pa_pctx *pc)
{
  return pa_store_put_pctx(ctx, assoc_id, pc);
}

static pa_rc sink_dimse(void *ctx, const struct pa_dimse *d)
{
  pa_rc rc = pa_store_put_dimse(ctx, d, NULL);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc sink_event(void *ctx, const struct pa_event *e)
{
  pa_rc rc = pa_store_put_event(ctx, e, NULL);
  return rc ? rc : pa_store_batch_tick(ctx);
}

static pa_rc put_event(void *ctx, const struct pa_event *e)
{
  return pa_store_put_event(ctx, e, NULL);
}

static pa_rc put_audit(void *ctx, const struct pa_audit *a)
{
  return pa_store_put_audit(ctx, a, NULL);
}

void pa_store_msg_sink(pa_store *s, struct pa_sink *out)
{
  memset(out, 0, sizeof *out);
  out->ctx = s;
  out->audit = put_audit;
  out->event = put_event;
}

void pa_store_sink(pa_store *s, struct pa_sink *out)
{
  out->audit = put_audit; /* one message may make several: the caller ticks */
  out->ctx = s;
  out->assoc_begin = sink_assoc_begin;
  out->assoc_update = sink_assoc_update;
  out->pctx = sink_pctx;
  out->dimse = sink_dimse;
  out->event = sink_event;
}


/* 1 when a and b are the same non-empty text: the store binds both the same
 * way (pa__store_bind_text), so the rows hold the same value. An empty or
 * absent one is stored NULL and never read from the event (whose NULL
 * user_id a later message may fill: pa_store_event_join). */
static int same_text(const char *a, const char *b)
{
  return a && b && *a && !strcmp(a, b);
}

/* 1 when v, as the store binds it (NULL for NULL or ""), is p[0..n) as
 * PA__CX_SPLIT gives it (NULL for no part or an empty one). */
static int cx_part_is(const char *v, const char *p, size_t n)
{
  int vnull = !v || !*v, pnull = !p || !n;

  if (vnull || pnull)
    return vnull && pnull;
  return strlen(v) == n && !memcmp(v, p, n);
}

/* 1 when the view atna_objects gives back o's cx_* parts from its object_id
 * alone (PA__CX_SPLIT in store_schema.h, done here the same way on the same
 * bytes): then they are not stored. An object_id that is not valid UTF-8 is
 * stored repaired, so its parts are kept as given. */
static int cx_derived(const struct pa_object *o)
{
  const char *s = o->object_id, *id = NULL, *aa = NULL, *ns = NULL, *uni = NULL;
  size_t idl = 0, aal = 0, nsl = 0, unil = 0;
  const char *c1, *c2, *c3, *amp;

  if (s && *s) {
    if (!pa_utf8_valid(s, strlen(s)))
      return 0;
    if ((c1 = strchr(s, '^'))) {
      id = s;
      idl = (size_t)(c1 - s);
      if ((c2 = strchr(c1 + 1, '^')) && (c3 = strchr(c2 + 1, '^'))) {
        aa = c3 + 1;
        aal = strcspn(aa, "^");
      }
    }
  }
  if (aa) {
    ns = aa;
    amp = memchr(aa, '&', aal);
    nsl = amp ? (size_t)(amp - aa) : aal;
    if (amp) {
      const char *end = aa + aal, *amp2;
      uni = amp + 1;
      amp2 = memchr(uni, '&', (size_t)(end - uni));
      unil = (size_t)((amp2 ? amp2 : end) - uni);
    }
  }
  return cx_part_is(o->cx_id, id, idl) && cx_part_is(o->cx_namespace, ns, nsl) &&
         cx_part_is(o->cx_universal_id, uni, unil);
}

pa_rc pa_store_put_audit(pa_store *s, const struct pa_audit *a, int64_t *id_out)
{
  sqlite3_stmt *q;
  int64_t id;
  pa_rc rc;

  if ((rc = pa_store_put_event(s, &a->ev, &id)))
    return rc;
  if (id_out)
    *id_out = id;
  if (!(q = pa__store_stmt(s, PA__ST_DETAIL)))
    return PA_DB;
  sqlite3_bind_int64(q, 1, id);
  pa__store_bind_text(q, 2, a->format);
  pa__store_bind_text(q, 3, a->event_id_system);
  pa__store_bind_text(q, 4, a->event_display);
  pa__store_bind_text(q, 5, a->event_types);
  pa__store_bind_text(q, 6, a->event_type_names);
  pa__store_bind_text(q, 7, a->outcome_desc);
  pa__store_bind_text(q, 8, a->purpose);
  pa__store_bind_text(q, 9, a->source_id);
  pa__store_bind_text(q, 10, a->source_site);
  pa__store_bind_text(q, 11, a->source_types);
  pa__store_bind_text(q, 12, a->warnings);
  if ((rc = pa__store_step_done(s, q)))
    return rc;
  for (size_t i = 0; i < a->n_participants; i++) {
    const struct pa_participant *p = &a->participants[i];
    /* a field equal to its event's is read from the event (the view
     * atna_participants, migration 14): from_event's bits say which */
    int fe = (same_text(p->user_id, a->ev.user_id) ? 1 : 0) |
             (same_text(p->user_name, a->ev.user_name) ? 2 : 0) |
             (same_text(p->net_id, a->ev.src_ip) ? 4 : 0) |
             (same_text(p->roles, a->ev.user_role) ? 8 : 0) |
             (same_text(p->role_names, a->ev.user_role) ? 16 : 0);
    if (!(q = pa__store_stmt(s, PA__ST_PART)))
      return PA_DB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)i);
    pa__store_bind_text(q, 3, fe & 1 ? NULL : p->user_id);
    pa__store_bind_text(q, 4, p->alt_user_id);
    pa__store_bind_text(q, 5, fe & 2 ? NULL : p->user_name);
    pa__store_bind_opt(q, 6, p->is_requestor);
    pa__store_bind_opt(q, 7, p->user_type);
    pa__store_bind_text(q, 8, p->user_id_type);
    pa__store_bind_text(q, 9, fe & 4 ? NULL : p->net_id);
    pa__store_bind_opt(q, 10, p->net_type);
    pa__store_bind_opt(q, 11, p->net_type_effective);
    pa__store_bind_text(q, 12, p->ae_title);
    pa__store_bind_text(q, 13, fe & 8 ? NULL : p->roles);
    pa__store_bind_text(q, 14, fe & 16 ? NULL : p->role_names);
    pa__store_bind_opt(q, 15, fe ? fe : -1);
    if ((rc = pa__store_step_done(s, q)))
      return rc;
  }
  for (size_t i = 0; i < a->n_objects; i++) {
    const struct pa_object *o = &a->objects[i];
    int derived = cx_derived(o);
    if (!(q = pa__store_stmt(s, PA__ST_OBJ)))
      return PA_DB;
    sqlite3_bind_int64(q, 1, id);
    sqlite3_bind_int64(q, 2, (int64_t)i);
    pa__store_bind_text(q, 3, o->object_id);
    pa__store_bind_opt(q, 4, o->type_code);
    pa__store_bind_opt(q, 5, o->role_code);
    pa__store_bind_opt(q, 6, o->lifecycle);
    pa__store_bind_text(q, 7, o->id_type_code);
    pa__store_bind_text(q, 8, o->id_type_system);
    pa__store_bind_text(q, 9, o->name);
    pa__store_bind_text(q, 10, o->description);
    pa__store_bind_text(q, 11, o->query_b64);
    pa__store_bind_opt(q, 12, derived ? -1 : 1);
    pa__store_bind_text(q, 13, derived ? NULL : o->cx_id);
    pa__store_bind_text(q, 14, derived ? NULL : o->cx_namespace);
    pa__store_bind_text(q, 15, derived ? NULL : o->cx_universal_id);
    pa__store_bind_opt(q, 16, o->n_instances);
    pa__store_bind_text(q, 17, o->sop_classes);
    pa__store_bind_text(q, 18, o->accession);
    pa__store_bind_text(q, 19, o->study_uids);
    if ((rc = pa__store_step_done(s, q)))
      return rc;
  }
  return PA_OK;
}


pa_rc pa_store_event_of_raw(pa_store *s, int64_t raw_id, int64_t ts, int64_t *id_out)
{
  sqlite3_stmt *q = NULL;
  int r;

  *id_out = 0;
  if (sqlite3_prepare_v2(s->db, "SELECT id FROM events WHERE ts = ?1 AND raw_id = ?2"
                                " UNION ALL SELECT id FROM events_pending WHERE ts = ?1"
                                " AND raw_id = ?2 ORDER BY id LIMIT 1", -1, &q, NULL) != SQLITE_OK)
    return PA_DB;
  sqlite3_bind_int64(q, 1, ts);
  sqlite3_bind_int64(q, 2, raw_id);
  if ((r = sqlite3_step(q)) == SQLITE_ROW)
    *id_out = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return r == SQLITE_ROW || r == SQLITE_DONE ? PA_OK : PA_DB;
}
