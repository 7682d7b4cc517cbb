/* fuzz_dicom_ul.c — libFuzzer target for collectors/dicom_ul.
 *
 * The input is a sequence of chunks, each a 3-byte header then bytes:
 *   byte 0   flags: bit 0 direction (0 client, 1 server), bit 1 gap
 *   byte 1-2 length, 16-bit little endian (cut to what remains)
 * A chunk is fed to pa_dicom_feed in that direction (or, with the gap bit,
 * reported as a gap of that many bytes); then pa_dicom_end runs and the
 * decoder is freed. The sink only touches the records it is given, so the
 * sanitizers see every byte the decoder hands out.
 * Seeds: tests/fuzz/corpus/fuzz_dicom_ul/ (the unit tests' transcripts,
 * written with PA_WRITE_CORPUS=DIR test_dicom_ul, and real captures). */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "collectors/dicom_ul.h"

static volatile size_t sink_hole;

static void touch(const char *s)
{
  if (s)
    sink_hole += strlen(s);
}

static void touch_assoc(const struct pa_assoc *a)
{
  touch(a->calling_ae);
  touch(a->called_ae);
  touch(a->result);
  touch(a->reject_reason);
  touch(a->user_identity);
  touch(a->user_identity_sha256);
  touch(a->app_context);
  touch(a->impl_class_rq);
  touch(a->impl_version_rq);
  touch(a->impl_class_ac);
  touch(a->impl_version_ac);
  touch(a->conn.origin);
  sink_hole += (size_t)a->bytes + (size_t)a->started_at + (size_t)a->ended_at;
}

static pa_rc f_begin(void *ctx, const struct pa_assoc *a, int64_t *id_out)
{
  (void)ctx;
  touch_assoc(a);
  *id_out = 1;
  return PA_OK;
}

static pa_rc f_update(void *ctx, int64_t id, const struct pa_assoc *a)
{
  (void)ctx;
  (void)id;
  touch_assoc(a);
  return PA_OK;
}

static pa_rc f_pctx(void *ctx, int64_t id, const struct pa_pctx *pc)
{
  (void)ctx;
  (void)id;
  touch(pc->abstract_syntax);
  touch(pc->transfer_syntaxes);
  touch(pc->accepted_ts);
  sink_hole += (size_t)pc->result + pc->pc_id;
  return PA_OK;
}

static pa_rc f_dimse(void *ctx, const struct pa_dimse *d)
{
  (void)ctx;
  touch(d->command);
  touch(d->sop_class_uid);
  touch(d->sop_instance_uid);
  touch(d->patient_id);
  touch(d->study_uid);
  touch(d->query);
  touch(d->move_destination);
  sink_hole += (size_t)d->status + d->message_id + (size_t)d->completed;
  return PA_OK;
}

static pa_rc f_event(void *ctx, const struct pa_event *e)
{
  (void)ctx;
  touch(e->source);
  touch(e->origin);
  touch(e->event_code);
  touch(e->user_id);
  touch(e->src_ip);
  touch(e->src_ae);
  touch(e->dst_ip);
  touch(e->dst_ae);
  touch(e->patient_id);
  touch(e->study_uid);
  sink_hole += (size_t)e->outcome + (size_t)e->action + (size_t)e->object_count;
  return PA_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static const struct pa_conn conn = { "192.0.2.1", "192.0.2.2", 50000, 104, 1, "fuzz" };
  struct pa_sink sink = { .ctx = NULL, .assoc_begin = f_begin, .assoc_update = f_update,
                          .pctx = f_pctx, .dimse = f_dimse, .event = f_event };
  pa_dicom *d = NULL;
  struct pa_err err;
  int64_t ts = 1;
  size_t i = 0;

  if (pa_dicom_new(&conn, &sink, &d) != PA_OK)
    return 0;
  pa_err_clear(&err);
  while (i + 3 <= size) {
    uint8_t flags = data[i];
    size_t n = (size_t)(data[i + 1] | data[i + 2] << 8);
    i += 3;
    if (n > size - i)
      n = size - i;
    if (flags & 2)
      pa_dicom_gap(d, flags & 1, n, ts);
    else if (pa_dicom_feed(d, flags & 1, data + i, n, ts, &err) != PA_OK)
      touch(err.msg);
    i += flags & 2 ? 0 : n;
    ts += 10;
  }
  pa_dicom_end(d, "end of fuzz input", ts);
  pa_dicom_free(d);
  return 0;
}
