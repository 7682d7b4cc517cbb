/* pipe.c — worker threads in front of the one store writer (see pipe.h).
 *
 * A ring of PA_PIPE_SLOTS slots, indexed by sequence number modulo its
 * size. Sequence numbers: head (the next to write) <= work (the next a
 * worker takes) <= tail (the next to fill). A slot goes FREE -> QUEUED
 * (the reader filled it) -> BUSY (a worker took it) -> DONE -> written and
 * FREE again by the writer, strictly at head. One mutex guards the states
 * and the counters; a slot's contents belong to whoever moved it last
 * (reader while FREE, worker while BUSY, writer while DONE), so the copies,
 * the work and the writes run outside the lock. */
#include "ingest/pipe.h"

#include "analyzer/limits.h"
#include "analyzer/tm.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum slot_state { SLOT_FREE, SLOT_QUEUED, SLOT_BUSY, SLOT_DONE };
enum slot_what { WHAT_SYSLOG, WHAT_BODY, WHAT_BAD };

struct slot {
  enum slot_state state;
  enum slot_what what;
  uint8_t *buf;                /* owned: the message's bytes */
  size_t len, cap;
  char *origin;                /* owned copy ("" kept as "") */
  size_t origin_cap;
  int has_origin;              /* 0: the driver gave NULL */
  int64_t offset, received_ts;
  struct pa_syslog_opts o;     /* o.tz borrowed from the feed's caller */
  enum pa_syslog_body kind;
  char why[256];               /* a bad frame's reason */
  long tag;                    /* the caller's, handed to the written hook */
  const pa_raw_zdict *dict;    /* a reference: what the worker compresses with */
  struct pa_feed_pre pre;      /* the worker's results */
};

struct worker {
  pa_pipe *p;
  pthread_t th;
  int started;
  struct pa_feed_prep prep;
};

struct pa_pipe {
  struct pa_feed *f;           /* borrowed */
  pthread_mutex_t mu;
  pthread_cond_t work;         /* a slot was queued, or stop */
  pthread_cond_t done;         /* a slot is done */
  struct slot *slots;          /* owned, PA_PIPE_SLOTS */
  uint64_t head, next, tail;   /* sequence numbers (see above) */
  size_t bytes;                /* bytes of the messages in slots not yet written */
  int stop;
  int idle;                    /* workers waiting for work: signalled only then */
  int writer_waits;            /* the writer waits for head: broadcast only then */
  pa_rc err;                   /* the first store error of a write */
  const pa_raw_zdict *dict;    /* a reference to the store's dictionary as last seen */
  struct worker *w;            /* owned, nw of them */
  int nw;
  struct pa_pipe_stats st;
  void (*written)(void *ctx, long tag, pa_rc rc, const struct pa_feed_counts *before);
  void *written_ctx;
};

static uint64_t now_ns(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct slot *at(pa_pipe *p, uint64_t seq) { return &p->slots[seq % PA_PIPE_SLOTS]; }

static void *worker_main(void *arg)
{
  struct worker *w = arg;
  pa_pipe *p = w->p;

  pthread_mutex_lock(&p->mu);
  for (;;) {
    struct slot *s;
    while (!p->stop && p->next == p->tail) {
      p->idle++;
      pthread_cond_wait(&p->work, &p->mu);
      p->idle--;
    }
    if (p->stop)
      break;
    s = at(p, p->next++);
    s->state = SLOT_BUSY;
    pthread_mutex_unlock(&p->mu);
    if (s->what == WHAT_SYSLOG)
      pa_feed_prep_syslog(&w->prep, s->dict, s->buf, s->len, s->has_origin ? s->origin : NULL,
                          s->received_ts, &s->o, &s->pre);
    else if (s->what == WHAT_BODY)
      pa_feed_prep_body(&w->prep, s->dict, s->kind, s->buf, s->len,
                        s->has_origin ? s->origin : NULL, s->received_ts, &s->pre);
    pthread_mutex_lock(&p->mu);
    s->state = SLOT_DONE;
    if (p->writer_waits)
      pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

/* Writes the slot at head (DONE, so the writer's) through the feed, unless
 * a write failed before; frees it. */
static void write_head(pa_pipe *p)
{
  struct slot *s = at(p, p->head);
  const char *origin = s->has_origin ? s->origin : NULL;
  const pa_raw_zdict *d;
  struct pa_feed_counts before = p->f->n;
  uint64_t t0 = now_ns();
  pa_rc rc = PA_OK;

  if (!p->err) {
    if (s->what == WHAT_SYSLOG)
      rc = pa_feed_syslog_pre(p->f, s->buf, s->len, origin, s->offset, s->received_ts, &s->o,
                              &s->pre);
    else if (s->what == WHAT_BODY)
      rc = pa_feed_body_pre(p->f, s->kind, s->buf, s->len, origin, s->offset, s->received_ts,
                            &s->pre);
    else
      rc = pa_feed_bad(p->f, s->buf, s->len, origin, s->offset, s->why);
    if (rc)
      p->err = rc;
    p->st.messages++;
    p->st.ns_write += now_ns() - t0;
    if (s->what != WHAT_BAD) {
      p->st.ns_hash += s->pre.ns_hash;
      p->st.ns_zstd += s->pre.ns_zstd;
      p->st.ns_parse += s->pre.ns_parse;
    }
  }
  if (p->written) /* after a store error too: the message is then lost */
    p->written(p->written_ctx, s->tag, p->err, &before);
  /* the dictionary the next messages are compressed with: the store's now */
  if ((d = pa_store_raw_zdict(p->f->store)) != p->dict) {
    if (d)
      pa_raw_zdict_ref(d);
    pa_raw_zdict_unref(p->dict);
    p->dict = d;
  }
  pa_raw_zdict_unref(s->dict);
  s->dict = NULL;
  pthread_mutex_lock(&p->mu);
  s->state = SLOT_FREE;
  p->bytes -= s->len;
  p->head++;
  pthread_mutex_unlock(&p->mu);
}

/* Writes what is done at head, without waiting. */
static void write_ready(pa_pipe *p)
{
  for (;;) {
    int ready;
    pthread_mutex_lock(&p->mu);
    ready = p->head < p->tail && at(p, p->head)->state == SLOT_DONE;
    pthread_mutex_unlock(&p->mu);
    if (!ready)
      return;
    write_head(p);
  }
}

/* Waits for the slot at head to be done and writes it. */
static void write_one(pa_pipe *p)
{
  pthread_mutex_lock(&p->mu);
  while (at(p, p->head)->state != SLOT_DONE) {
    p->writer_waits = 1;
    pthread_cond_wait(&p->done, &p->mu);
    p->writer_waits = 0;
  }
  pthread_mutex_unlock(&p->mu);
  write_head(p);
}

/* A free slot at tail for a message of len bytes, once the queue has room
 * (writing what is done meanwhile). */
static struct slot *reserve(pa_pipe *p, size_t len)
{
  pthread_mutex_lock(&p->mu);
  while (p->tail - p->head == PA_PIPE_SLOTS ||
         (p->tail > p->head && p->bytes + len > PA_PIPE_BYTES)) {
    p->st.waits++;
    pthread_mutex_unlock(&p->mu);
    write_one(p);
    pthread_mutex_lock(&p->mu);
  }
  pthread_mutex_unlock(&p->mu);
  return at(p, p->tail);
}

/* Copies n bytes of src into *dst (of *cap, grown). 0 or -1. */
static int copy_in(uint8_t **dst, size_t *cap, const void *src, size_t n)
{
  if (n > *cap) {
    size_t c = n < 4096 ? 4096 : n;
    uint8_t *nb = realloc(*dst, c);
    if (!nb)
      return -1;
    *dst = nb;
    *cap = c;
  }
  if (n)
    memcpy(*dst, src, n);
  return 0;
}

/* Queues one message; the first store error so far. */
static pa_rc enqueue(pa_pipe *p, enum slot_what what, enum pa_syslog_body kind, const uint8_t *b,
                     size_t len, const char *origin, int64_t offset, int64_t received_ts,
                     const struct pa_syslog_opts *o, const char *why, long tag)
{
  struct slot *s;

  if (p->err)
    return p->err;
  s = reserve(p, len);
  if (p->err)
    return p->err;
  if (copy_in(&s->buf, &s->cap, b, len) ||
      copy_in((uint8_t **)&s->origin, &s->origin_cap, origin ? origin : "",
              (origin ? strlen(origin) : 0) + 1))
    return PA_NOMEM;
  s->what = what;
  s->len = len;
  s->has_origin = origin != NULL;
  s->kind = kind;
  s->offset = offset;
  s->received_ts = received_ts;
  s->tag = tag;
  if (o)
    s->o = *o;
  else
    memset(&s->o, 0, sizeof s->o);
  snprintf(s->why, sizeof s->why, "%s", why ? why : "");
  s->dict = p->dict;
  if (s->dict)
    pa_raw_zdict_ref(s->dict);
  pthread_mutex_lock(&p->mu);
  /* a bad frame has no work, but passes a worker like the rest: workers
   * take slots in sequence */
  s->state = SLOT_QUEUED;
  p->bytes += len;
  p->tail++;
  if (p->idle)
    pthread_cond_signal(&p->work);
  pthread_mutex_unlock(&p->mu);
  write_ready(p);
  return p->err;
}

static pa_rc sink_syslog(void *ctx, const uint8_t *b, size_t len, const char *origin,
                         int64_t offset, const struct pa_syslog_opts *o)
{
  return enqueue(ctx, WHAT_SYSLOG, PA_SYSLOG_BODY_TEXT, b, len, origin, offset, pa_time_now(), o,
                 NULL, 0);
}

static pa_rc sink_body(void *ctx, enum pa_syslog_body kind, const uint8_t *b, size_t len,
                       const char *origin, int64_t offset)
{
  return enqueue(ctx, WHAT_BODY, kind, b, len, origin, offset, pa_time_now(), NULL, NULL, 0);
}

static pa_rc sink_bad(void *ctx, const uint8_t *b, size_t len, const char *origin, int64_t offset,
                      const char *why)
{
  return enqueue(ctx, WHAT_BAD, PA_SYSLOG_BODY_TEXT, b, len, origin, offset, pa_time_now(), NULL,
                 why, 0);
}

pa_rc pa_pipe_syslog(pa_pipe *p, const uint8_t *b, size_t len, const char *origin, int64_t offset,
                     int64_t received_ts, const struct pa_syslog_opts *o, long tag)
{
  return enqueue(p, WHAT_SYSLOG, PA_SYSLOG_BODY_TEXT, b, len, origin, offset, received_ts, o,
                 NULL, tag);
}

pa_rc pa_pipe_bad(pa_pipe *p, const uint8_t *b, size_t len, const char *origin, int64_t offset,
                  const char *why, long tag)
{
  return enqueue(p, WHAT_BAD, PA_SYSLOG_BODY_TEXT, b, len, origin, offset, pa_time_now(), NULL,
                 why, tag);
}

void pa_pipe_on_written(pa_pipe *p,
                        void (*fn)(void *ctx, long tag, pa_rc rc,
                                   const struct pa_feed_counts *before),
                        void *ctx)
{
  p->written = fn;
  p->written_ctx = ctx;
}

void pa_pipe_file_sink(pa_pipe *p, struct pa_file_sink *out)
{
  memset(out, 0, sizeof *out);
  out->ctx = p;
  out->syslog = sink_syslog;
  out->body = sink_body;
  out->bad = sink_bad;
}

pa_rc pa_pipe_flush(pa_pipe *p)
{
  for (;;) {
    int empty;
    pthread_mutex_lock(&p->mu);
    empty = p->head == p->tail;
    pthread_mutex_unlock(&p->mu);
    if (empty)
      break;
    write_one(p);
  }
  return p->err;
}

void pa_pipe_stats(const pa_pipe *p, struct pa_pipe_stats *out) { *out = p->st; }

int pa_pipe_default_workers(void)
{
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu <= 1)
    return 0;
  return ncpu - 1 < PA_PIPE_MAX_WORKERS ? (int)(ncpu - 1) : PA_PIPE_MAX_WORKERS;
}

pa_rc pa_pipe_new(struct pa_feed *f, int workers, pa_pipe **out)
{
  pa_pipe *p;
  pa_rc rc = PA_NOMEM;

  *out = NULL;
  if (workers < 1 || workers > PA_PIPE_MAX_WORKERS)
    return PA_USAGE;
  if (!(p = calloc(1, sizeof *p)))
    return PA_NOMEM;
  p->f = f;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->work, NULL);
  pthread_cond_init(&p->done, NULL);
  if (!(p->slots = calloc(PA_PIPE_SLOTS, sizeof *p->slots)) ||
      !(p->w = calloc((size_t)workers, sizeof *p->w)))
    goto fail;
  for (int i = 0; i < PA_PIPE_SLOTS; i++)
    pa_feed_pre_init(&p->slots[i].pre);
  /* the parsers are made here, in one thread (libxml2's set-up) */
  for (int i = 0; i < workers; i++) {
    p->w[i].p = p;
    p->nw++;
    if ((rc = pa_feed_prep_init(&p->w[i].prep, f->tz, f->live)))
      goto fail;
  }
  rc = PA_IO;
  for (int i = 0; i < workers; i++) {
    if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i]))
      goto fail;
    p->w[i].started = 1;
  }
  *out = p;
  return PA_OK;
fail:
  pa_pipe_free(p);
  return rc;
}

void pa_pipe_free(pa_pipe *p)
{
  if (!p)
    return;
  pthread_mutex_lock(&p->mu);
  p->stop = 1;
  pthread_cond_broadcast(&p->work);
  pthread_mutex_unlock(&p->mu);
  for (int i = 0; i < p->nw; i++) {
    if (p->w[i].started)
      pthread_join(p->w[i].th, NULL);
    pa_feed_prep_cleanup(&p->w[i].prep);
  }
  if (p->slots) {
    for (int i = 0; i < PA_PIPE_SLOTS; i++) {
      struct slot *s = &p->slots[i];
      pa_raw_zdict_unref(s->dict);
      free(s->buf);
      free(s->origin);
      pa_feed_pre_cleanup(&s->pre);
    }
  }
  pa_raw_zdict_unref(p->dict);
  free(p->slots);
  free(p->w);
  pthread_cond_destroy(&p->work);
  pthread_cond_destroy(&p->done);
  pthread_mutex_destroy(&p->mu);
  free(p);
}
