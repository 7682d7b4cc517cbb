/* tcp_reasm.c — TCP reassembly (see tcp_reasm.h for the contract).
 *
 * Flow table: chained hash on the direction-independent 5-tuple, plus an LRU
 * list (head = most recently active) used both for eviction when the table
 * is full and for idle expiry, which only ever looks at the tail. A one-entry
 * cache of the last flow makes bulk transfers skip hashing.
 *
 * A flow closed by FIN or RST leaves its key in a ring of closed flows for
 * PA_TIME_WAIT_US (TCP's TIME-WAIT, seen from the wire): a late
 * retransmission, or data the peer sent before it saw the RST, is dropped
 * instead of opening a new flow in the middle of a stream. A SYN on the same
 * addresses and ports starts a new connection. */
#include "tcp_reasm.h"

#include "../analyzer/limits.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#define NBUCKETS (2 * PA_MAX_FLOWS) /* power of two */
#define TW_NBUCKETS (2 * PA_MAX_TIME_WAIT) /* power of two */
#define IDLE_CHECK_US 1000000LL     /* idle scan at most once a second */

/* Serial-number comparisons (RFC 1982) on 32-bit sequence numbers. */
static inline int seq_lt(uint32_t a, uint32_t b) { return (int32_t)(a - b) < 0; }
static inline int seq_leq(uint32_t a, uint32_t b) { return (int32_t)(a - b) <= 0; }

struct ooo {
  struct ooo *next; /* sorted by seq */
  uint32_t seq;
  uint32_t len;
  uint8_t data[];
};

struct half {
  uint32_t next;       /* next sequence number to deliver */
  uint32_t fin_seq;    /* sequence number of the FIN */
  uint8_t have_next;   /* next is known */
  uint8_t fin;         /* a FIN was seen */
  uint8_t fin_done;    /* everything up to the FIN was delivered */
  uint16_t ooo_segs;
  uint32_t ooo_bytes;
  struct ooo *ooo;
};

/* Endpoint a is the smaller (address, port); zero-filled so memcmp works. */
struct fkey {
  uint8_t a[16], b[16];
  uint16_t pa, pb;
  uint8_t family;
  uint8_t pad[3];
};

struct flow {
  struct flow *hnext;
  struct flow *prev, *next; /* LRU */
  struct fkey key;
  uint32_t hash;
  uint8_t client_is_a;      /* packets from endpoint a are direction 0 */
  uint8_t ignored;          /* open() said NULL: tombstone */
  uint8_t stopped;          /* data() said stop */
  uint8_t fin_flags;        /* tombstones: which directions sent FIN */
  int64_t last_ts;
  void *user;
  struct half h[2];
};

/* A closed flow's key, in the ring r->tw. */
struct tw {
  struct fkey key;
  uint32_t hash;
  uint32_t hnext;  /* index + 1 of the next entry in the bucket, 0 ends */
  int64_t until;   /* late segments are dropped up to this time; 0 free */
};

struct pa_reasm {
  struct pa_reasm_cb cb;
  const char *origin;
  struct flow *buckets[NBUCKETS];
  struct flow *lru_head, *lru_tail;
  struct flow *last;        /* cache */
  size_t nflows;
  int64_t now;              /* latest packet time */
  int64_t next_idle_check;
  struct pa_reasm_stats st;
  struct tw *tw;            /* owned, at the first close: PA_MAX_TIME_WAIT entries, oldest reused */
  uint32_t *tw_buckets;     /* owned, with tw: index + 1 of a chain's first entry */
  uint32_t tw_next;         /* the ring's next slot */
};

const char *pa_reasm_reason_name(enum pa_reasm_reason why)
{
  switch (why) {
  case PA_REASM_FIN: return "fin";
  case PA_REASM_RST: return "rst";
  case PA_REASM_IDLE: return "idle";
  case PA_REASM_EVICTED: return "evicted";
  case PA_REASM_EOF: return "eof";
  }
  return "unknown";
}

/* Ownership: *out is the caller's, freed with pa_reasm_free. */
pa_rc pa_reasm_new(const struct pa_reasm_cb *cb, const char *origin, pa_reasm **out)
{
  pa_reasm *r = calloc(1, sizeof *r);

  *out = NULL;
  if (!r)
    return PA_NOMEM;
  r->cb = *cb;
  r->origin = origin;
  r->now = INT64_MIN;
  r->next_idle_check = INT64_MIN;
  *out = r;
  return PA_OK;
}

static uint32_t key_hash(const struct fkey *k)
{
  uint32_t w[10], h = 2166136261u;

  memcpy(w, k, sizeof w);
  for (size_t i = 0; i < 10; i++)
    h = (h ^ w[i]) * 0x9E3779B1u;
  return h ^ (h >> 15);
}

/* Builds the normalized key; *from_a = 1 when the sender is endpoint a. */
static void make_key(const struct pa_tcp_seg *s, struct fkey *k, int *from_a)
{
  size_t alen = s->family == 6 ? 16 : 4;
  int c = memcmp(s->src, s->dst, alen);

  if (c == 0)
    c = (s->sport > s->dport) - (s->sport < s->dport);
  memset(k, 0, sizeof *k);
  k->family = s->family;
  if (c <= 0) {
    memcpy(k->a, s->src, alen);
    memcpy(k->b, s->dst, alen);
    k->pa = s->sport;
    k->pb = s->dport;
    *from_a = 1;
  } else {
    memcpy(k->a, s->dst, alen);
    memcpy(k->b, s->src, alen);
    k->pa = s->dport;
    k->pb = s->sport;
    *from_a = 0;
  }
}

static void lru_unlink(pa_reasm *r, struct flow *f)
{
  if (f->prev)
    f->prev->next = f->next;
  else
    r->lru_head = f->next;
  if (f->next)
    f->next->prev = f->prev;
  else
    r->lru_tail = f->prev;
  f->prev = f->next = NULL;
}

static void lru_push_head(pa_reasm *r, struct flow *f)
{
  f->prev = NULL;
  f->next = r->lru_head;
  if (r->lru_head)
    r->lru_head->prev = f;
  else
    r->lru_tail = f;
  r->lru_head = f;
}

static void free_ooo(struct half *h)
{
  struct ooo *o = h->ooo, *n;

  for (; o; o = n) {
    n = o->next;
    free(o);
  }
  h->ooo = NULL;
  h->ooo_segs = 0;
  h->ooo_bytes = 0;
}

static void stop_flow(struct flow *f)
{
  f->stopped = 1;
  free_ooo(&f->h[0]);
  free_ooo(&f->h[1]);
}

static void deliver(pa_reasm *r, struct flow *f, int dir, const uint8_t *p,
                    size_t len, int64_t ts)
{
  if (f->stopped || len == 0)
    return;
  if (r->cb.data(r->cb.ctx, f->user, dir, p, len, ts))
    stop_flow(f);
}

static void gap(pa_reasm *r, struct flow *f, int dir, uint64_t n, int64_t ts)
{
  r->st.gaps++;
  r->st.gap_bytes += n;
  if (!f->stopped && r->cb.gap)
    r->cb.gap(r->cb.ctx, f->user, dir, n, ts);
}

/* Delivers held segments that have become in order. */
static void drain(pa_reasm *r, struct flow *f, int dir, int64_t ts)
{
  struct half *h = &f->h[dir];

  while (h->ooo && seq_leq(h->ooo->seq, h->next)) {
    struct ooo *o = h->ooo;
    uint32_t end = o->seq + o->len;

    h->ooo = o->next;
    h->ooo_segs--;
    h->ooo_bytes -= o->len;
    if (seq_lt(h->next, end)) {
      uint32_t skip = h->next - o->seq;
      r->st.dup_bytes += skip;
      h->next = end;
      deliver(r, f, dir, o->data + skip, o->len - skip, ts);
    } else {
      r->st.dup_bytes += o->len;
    }
    free(o);
    if (f->stopped)
      return; /* deliver() freed the rest */
  }
}

/* Declares the hole before the lowest held segment lost and goes on. */
static void skip_to_held(pa_reasm *r, struct flow *f, int dir, int64_t ts)
{
  struct half *h = &f->h[dir];

  if (!h->ooo)
    return;
  if (seq_lt(h->next, h->ooo->seq)) {
    gap(r, f, dir, (uint32_t)(h->ooo->seq - h->next), ts);
    h->next = h->ooo->seq;
  }
  drain(r, f, dir, ts);
}

/* Copies a segment into the sorted hold list (dropped, and counted, when
 * memory runs out: it becomes a gap later). */
static void hold(pa_reasm *r, struct half *h, uint32_t seq, const uint8_t *p, uint32_t len)
{
  struct ooo **pp = &h->ooo, *o;

  while (*pp && seq_lt((*pp)->seq, seq))
    pp = &(*pp)->next;
  /* a retransmission of a held segment */
  if (*pp && (*pp)->seq == seq && (*pp)->len >= len) {
    r->st.dup_bytes += len;
    return;
  }
  o = malloc(sizeof *o + len);
  if (!o) {
    r->st.nomem++;
    return;
  }
  o->seq = seq;
  o->len = len;
  memcpy(o->data, p, len);
  o->next = *pp;
  *pp = o;
  h->ooo_segs++;
  h->ooo_bytes += len;
  r->st.ooo_segs++;
}

static void on_data(pa_reasm *r, struct flow *f, int dir, uint32_t seq,
                    const uint8_t *p, size_t len, int64_t ts)
{
  struct half *h = &f->h[dir];

  for (;;) {
    uint32_t end = seq + (uint32_t)len;

    if (f->stopped)
      return;
    if (seq_leq(end, h->next)) { /* all seen before */
      r->st.dup_bytes += len;
      return;
    }
    if (seq_lt(seq, h->next)) { /* overlap: trim the front */
      uint32_t trim = h->next - seq;
      r->st.dup_bytes += trim;
      p += trim;
      len -= trim;
      seq = h->next;
    }
    if (seq == h->next) { /* in order: zero copy */
      /* bytes already held win (the first copy seen of a byte wins) */
      if (h->ooo && seq_lt(h->ooo->seq, end)) {
        r->st.dup_bytes += (uint32_t)(end - h->ooo->seq);
        len = h->ooo->seq - seq;
        end = h->ooo->seq;
      }
      h->next = end;
      deliver(r, f, dir, p, len, ts);
      drain(r, f, dir, ts);
      return;
    }
    if (h->ooo_bytes + len <= PA_REASM_OOO_MAX && h->ooo_segs < PA_REASM_OOO_SEGS) {
      hold(r, h, seq, p, (uint32_t)len);
      return;
    }
    /* Over the caps: the hole before the lowest segment (held or this one)
     * is lost; resume there. */
    if (h->ooo && seq_lt(h->ooo->seq, seq)) {
      skip_to_held(r, f, dir, ts);
    } else {
      gap(r, f, dir, (uint32_t)(seq - h->next), ts);
      h->next = seq;
    }
  }
}

/* Hands held data over (with gaps for the holes) before a close. */
static void flush_half(pa_reasm *r, struct flow *f, int dir, int64_t ts)
{
  while (f->h[dir].ooo && !f->stopped)
    skip_to_held(r, f, dir, ts);
  free_ooo(&f->h[dir]);
}

/* Unlinks entry i (in use) from its bucket and frees it. */
static void tw_remove(pa_reasm *r, uint32_t i)
{
  uint32_t *pp = &r->tw_buckets[r->tw[i].hash & (TW_NBUCKETS - 1)];

  while (*pp && *pp != i + 1)
    pp = &r->tw[*pp - 1].hnext;
  if (*pp)
    *pp = r->tw[i].hnext;
  r->tw[i].until = 0;
  r->tw[i].hnext = 0;
}

static void tw_add(pa_reasm *r, const struct flow *f, int64_t ts)
{
  uint32_t i = r->tw_next, *head;

  if (!r->tw) {
    r->tw = calloc(PA_MAX_TIME_WAIT, sizeof *r->tw);
    r->tw_buckets = calloc(TW_NBUCKETS, sizeof *r->tw_buckets);
    if (!r->tw || !r->tw_buckets) {
      free(r->tw);
      free(r->tw_buckets);
      r->tw = NULL;
      r->tw_buckets = NULL;
      r->st.nomem++; /* no time-wait: a late segment may open a flow */
      return;
    }
  }
  head = &r->tw_buckets[f->hash & (TW_NBUCKETS - 1)];
  r->tw_next = (r->tw_next + 1) % PA_MAX_TIME_WAIT;
  if (r->tw[i].until)
    tw_remove(r, i); /* the oldest goes first */
  r->tw[i].key = f->key;
  r->tw[i].hash = f->hash;
  r->tw[i].until = ts < INT64_MAX - PA_TIME_WAIT_US ? ts + PA_TIME_WAIT_US : INT64_MAX;
  r->tw[i].hnext = *head;
  *head = i + 1;
}

/* 1 when s belongs to a flow closed by FIN or RST less than PA_TIME_WAIT_US
 * ago and is to be dropped; a SYN ends the wait and opens a new flow. */
static int tw_late(pa_reasm *r, const struct fkey *k, uint32_t hash,
                   const struct pa_tcp_seg *s, int64_t ts)
{
  uint32_t i = r->tw ? r->tw_buckets[hash & (TW_NBUCKETS - 1)] : 0;

  for (; i; i = r->tw[i - 1].hnext) {
    struct tw *t = &r->tw[i - 1];
    if (t->hash != hash || memcmp(&t->key, k, sizeof *k) != 0)
      continue;
    if (ts > t->until || (s->flags & (PA_TCP_SYN | PA_TCP_ACK)) == PA_TCP_SYN) {
      tw_remove(r, i - 1);
      return 0;
    }
    r->st.late_segs++;
    r->st.late_bytes += s->len;
    return 1;
  }
  return 0;
}

static void close_flow(pa_reasm *r, struct flow *f, enum pa_reasm_reason why, int64_t ts)
{
  struct flow **pp;

  if (!f->ignored) {
    flush_half(r, f, 0, ts);
    flush_half(r, f, 1, ts);
  }
  switch (why) {
  case PA_REASM_FIN: r->st.closed_fin++; break;
  case PA_REASM_RST: r->st.closed_rst++; break;
  case PA_REASM_IDLE: r->st.closed_idle++; break;
  case PA_REASM_EVICTED: r->st.evicted++; break;
  case PA_REASM_EOF: r->st.closed_eof++; break;
  }
  if (!f->ignored && r->cb.close)
    r->cb.close(r->cb.ctx, f->user, why, ts);
  if (why == PA_REASM_FIN || why == PA_REASM_RST)
    tw_add(r, f, ts);
  for (pp = &r->buckets[f->hash & (NBUCKETS - 1)]; *pp; pp = &(*pp)->hnext)
    if (*pp == f) {
      *pp = f->hnext;
      break;
    }
  lru_unlink(r, f);
  if (r->last == f)
    r->last = NULL;
  free_ooo(&f->h[0]);
  free_ooo(&f->h[1]);
  free(f);
  r->nflows--;
}

void pa_reasm_expire(pa_reasm *r, int64_t now)
{
  if (now < INT64_MIN + PA_FLOW_IDLE_US)
    return;
  while (r->lru_tail && r->lru_tail->last_ts <= now - PA_FLOW_IDLE_US)
    close_flow(r, r->lru_tail, PA_REASM_IDLE, now);
}

static void fill_conn(const pa_reasm *r, const struct flow *f, int64_t ts, struct pa_conn *c)
{
  const struct fkey *k = &f->key;
  const uint8_t *ca = f->client_is_a ? k->a : k->b, *sa = f->client_is_a ? k->b : k->a;
  int af = k->family == 6 ? AF_INET6 : AF_INET;

  memset(c, 0, sizeof *c);
  if (!inet_ntop(af, ca, c->client_ip, sizeof c->client_ip))
    c->client_ip[0] = 0;
  if (!inet_ntop(af, sa, c->server_ip, sizeof c->server_ip))
    c->server_ip[0] = 0;
  c->client_port = f->client_is_a ? k->pa : k->pb;
  c->server_port = f->client_is_a ? k->pb : k->pa;
  c->start_ts = ts;
  c->origin = r->origin;
}

static struct flow *new_flow(pa_reasm *r, const struct fkey *k, uint32_t hash,
                             const struct pa_tcp_seg *s, int from_a, int64_t ts)
{
  struct flow *f;
  struct pa_conn conn;
  int sender_is_client;

  if (r->nflows >= PA_MAX_FLOWS && r->lru_tail)
    close_flow(r, r->lru_tail, PA_REASM_EVICTED, ts);
  f = calloc(1, sizeof *f);
  if (!f)
    return NULL;
  f->key = *k;
  f->hash = hash;
  f->last_ts = ts;
  if ((s->flags & (PA_TCP_SYN | PA_TCP_ACK)) == (PA_TCP_SYN | PA_TCP_ACK))
    sender_is_client = 0;
  else
    sender_is_client = 1;
  f->client_is_a = (uint8_t)(sender_is_client ? from_a : !from_a);
  f->hnext = r->buckets[hash & (NBUCKETS - 1)];
  r->buckets[hash & (NBUCKETS - 1)] = f;
  lru_push_head(r, f);
  r->nflows++;
  r->st.flows++;
  fill_conn(r, f, ts, &conn);
  f->user = r->cb.open ? r->cb.open(r->cb.ctx, &conn) : NULL;
  if (!f->user)
    f->ignored = 1;
  return f;
}

pa_rc pa_reasm_packet(pa_reasm *r, const struct pa_tcp_seg *s, int64_t ts)
{
  struct fkey k;
  struct flow *f = r->last;
  int from_a, dir;
  uint32_t hash;
  struct half *h;
  uint32_t seq;

  if (ts > r->now) {
    r->now = ts;
    if (ts >= r->next_idle_check) {
      r->next_idle_check = ts < INT64_MAX - IDLE_CHECK_US ? ts + IDLE_CHECK_US : INT64_MAX;
      pa_reasm_expire(r, ts);
      f = r->last;
    }
  }
  make_key(s, &k, &from_a);
  if (!f || memcmp(&f->key, &k, sizeof k) != 0) {
    hash = key_hash(&k);
    for (f = r->buckets[hash & (NBUCKETS - 1)]; f; f = f->hnext)
      if (f->hash == hash && memcmp(&f->key, &k, sizeof k) == 0)
        break;
    if (!f) {
      if (!(s->flags & PA_TCP_SYN) && s->len == 0)
        return PA_OK; /* a bare ACK/FIN/RST opens nothing */
      if (s->flags & PA_TCP_RST)
        return PA_OK;
      if (tw_late(r, &k, hash, s, ts))
        return PA_OK;
      f = new_flow(r, &k, hash, s, from_a, ts);
      if (!f)
        return PA_NOMEM;
    }
    r->last = f;
  }
  dir = (from_a == f->client_is_a) ? 0 : 1;
  f->last_ts = ts;
  if (r->lru_head != f) {
    lru_unlink(r, f);
    lru_push_head(r, f);
  }

  if (s->flags & PA_TCP_RST) {
    close_flow(r, f, PA_REASM_RST, ts);
    return PA_OK;
  }
  if (f->ignored || f->stopped) {
    /* tombstone: track only the closing handshake */
    if (s->flags & PA_TCP_FIN)
      f->fin_flags |= (uint8_t)(1u << dir);
    if (f->fin_flags == 3)
      close_flow(r, f, PA_REASM_FIN, ts);
    return PA_OK;
  }

  h = &f->h[dir];
  seq = s->seq;
  if (s->flags & PA_TCP_SYN)
    seq++; /* payload (TFO) starts after the SYN */
  /* The first segment seen (SYN or not) fixes where the stream starts; a
   * retransmitted SYN changes nothing. */
  if (!h->have_next) {
    h->next = seq;
    h->have_next = 1;
  }
  if (s->len)
    on_data(r, f, dir, seq, s->payload, s->len, ts);
  if (f->stopped) {
    if (s->flags & PA_TCP_FIN)
      f->fin_flags |= (uint8_t)(1u << dir);
    return PA_OK;
  }
  if (s->flags & PA_TCP_FIN) {
    h->fin = 1;
    h->fin_seq = seq + (uint32_t)s->len;
    f->fin_flags |= (uint8_t)(1u << dir);
  }
  for (int d = 0; d < 2; d++)
    if (f->h[d].fin && !f->h[d].fin_done && seq_leq(f->h[d].fin_seq, f->h[d].next))
      f->h[d].fin_done = 1;
  if (f->h[0].fin_done && f->h[1].fin_done)
    close_flow(r, f, PA_REASM_FIN, ts);
  return PA_OK;
}

void pa_reasm_flush(pa_reasm *r, enum pa_reasm_reason why, int64_t ts)
{
  if (ts == 0)
    ts = r->now == INT64_MIN ? 0 : r->now;
  while (r->lru_tail)
    close_flow(r, r->lru_tail, why, ts);
}

void pa_reasm_get_stats(const pa_reasm *r, struct pa_reasm_stats *out)
{
  *out = r->st;
  out->live = r->nflows;
}

void pa_reasm_free(pa_reasm *r)
{
  struct flow *f, *n;

  if (!r)
    return;
  for (f = r->lru_head; f; f = n) {
    n = f->next;
    free_ooo(&f->h[0]);
    free_ooo(&f->h[1]);
    free(f);
  }
  free(r->tw);
  free(r->tw_buckets);
  free(r);
}
