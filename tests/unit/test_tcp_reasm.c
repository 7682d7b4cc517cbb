/* test_tcp_reasm.c — unit tests of collectors/tcp_reasm.
 *
 * A recording consumer keeps, per flow, the bytes delivered in each
 * direction, the gaps and how the flow closed; each test feeds synthetic
 * segments and compares. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "analyzer/limits.h"
#include "collectors/tcp_reasm.h"

#define MAXREC 64
#define STREAM_CAP (1024 * 1024)

struct rec {
  struct pa_conn conn;
  uint8_t *bytes[2];     /* what was delivered, per direction */
  size_t len[2];
  int calls[2];          /* data() calls */
  int zero_copy[2];      /* data() calls that got the packet's own pointer */
  uint64_t gap[2];       /* missing bytes announced */
  int ngaps[2];
  int closed;
  enum pa_reasm_reason why;
  int stop_after;        /* data() returns 1 once this many calls were made */
};

struct ctx {
  struct rec rec[MAXREC];
  int n;
  int ignore_port;       /* open() returns NULL when server port is this */
  const uint8_t *last_payload; /* the payload of the segment being fed */
  size_t last_len;
};

static void *cb_open(void *c, const struct pa_conn *conn)
{
  struct ctx *x = c;
  struct rec *r;

  if (conn->server_port == x->ignore_port || conn->client_port == x->ignore_port)
    return NULL;
  assert_true(x->n < MAXREC);
  r = &x->rec[x->n++];
  memset(r, 0, sizeof *r);
  r->conn = *conn;
  r->bytes[0] = malloc(STREAM_CAP);
  r->bytes[1] = malloc(STREAM_CAP);
  assert_non_null(r->bytes[0]);
  assert_non_null(r->bytes[1]);
  return r;
}

static int cb_data(void *c, void *user, int dir, const uint8_t *p, size_t len, int64_t ts)
{
  struct ctx *x = c;
  struct rec *r = user;

  (void)ts;
  assert_true(dir == 0 || dir == 1);
  assert_false(r->closed);
  assert_true(r->len[dir] + len <= STREAM_CAP);
  memcpy(r->bytes[dir] + r->len[dir], p, len);
  r->len[dir] += len;
  r->calls[dir]++;
  if (x->last_payload && p >= x->last_payload && p < x->last_payload + x->last_len)
    r->zero_copy[dir]++;
  if (r->stop_after && r->calls[0] + r->calls[1] >= r->stop_after)
    return 1;
  return 0;
}

static void cb_gap(void *c, void *user, int dir, uint64_t n, int64_t ts)
{
  struct rec *r = user;

  (void)c;
  (void)ts;
  r->gap[dir] += n;
  r->ngaps[dir]++;
}

static void cb_close(void *c, void *user, enum pa_reasm_reason why, int64_t ts)
{
  struct rec *r = user;

  (void)c;
  (void)ts;
  assert_false(r->closed);
  r->closed = 1;
  r->why = why;
}

struct fx {
  struct ctx x;
  pa_reasm *r;
};

static int setup(void **state)
{
  struct fx *f = calloc(1, sizeof *f);
  struct pa_reasm_cb cb = {0};

  assert_non_null(f);
  cb.ctx = &f->x;
  cb.open = cb_open;
  cb.data = cb_data;
  cb.gap = cb_gap;
  cb.close = cb_close;
  assert_int_equal(pa_reasm_new(&cb, "test.pcap", &f->r), PA_OK);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fx *f = *state;

  pa_reasm_flush(f->r, PA_REASM_EOF, 0);
  pa_reasm_free(f->r);
  for (int i = 0; i < f->x.n; i++) {
    free(f->x.rec[i].bytes[0]);
    free(f->x.rec[i].bytes[1]);
  }
  free(f);
  return 0;
}

/* Client 10.0.0.1:40000 -> server 10.0.0.2:104 unless a/b given. */
static const uint8_t CLI[4] = {10, 0, 0, 1}, SRV[4] = {10, 0, 0, 2};

static void seg4(struct fx *f, int from_client, uint16_t cport, uint32_t seq,
                 uint8_t flags, const void *p, size_t len, int64_t ts)
{
  struct pa_tcp_seg s;

  memset(&s, 0, sizeof s);
  s.family = 4;
  memcpy(s.src, from_client ? CLI : SRV, 4);
  memcpy(s.dst, from_client ? SRV : CLI, 4);
  s.sport = from_client ? cport : 104;
  s.dport = from_client ? 104 : cport;
  s.seq = seq;
  s.flags = flags;
  s.payload = p;
  s.len = len;
  f->x.last_payload = p;
  f->x.last_len = len;
  assert_int_equal(pa_reasm_packet(f->r, &s, ts), PA_OK);
  f->x.last_payload = NULL;
}

#define C 1
#define S 0

static void handshake(struct fx *f, uint16_t cport, uint32_t cisn, uint32_t sisn, int64_t ts)
{
  seg4(f, C, cport, cisn, PA_TCP_SYN, NULL, 0, ts);
  seg4(f, S, cport, sisn, PA_TCP_SYN | PA_TCP_ACK, NULL, 0, ts);
  seg4(f, C, cport, cisn + 1, PA_TCP_ACK, NULL, 0, ts);
}

static void assert_stream(const struct rec *r, int dir, const char *want)
{
  assert_int_equal(r->len[dir], strlen(want));
  assert_memory_equal(r->bytes[dir], want, strlen(want));
}

static void test_in_order(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40000, 1000, 5000, 1);
  seg4(f, C, 40000, 1001, PA_TCP_ACK, "hello ", 6, 2);
  seg4(f, C, 40000, 1007, PA_TCP_ACK, "world", 5, 3);
  seg4(f, S, 40000, 5001, PA_TCP_ACK, "ok", 2, 4);
  assert_int_equal(f->x.n, 1);
  r = &f->x.rec[0];
  assert_string_equal(r->conn.client_ip, "10.0.0.1");
  assert_string_equal(r->conn.server_ip, "10.0.0.2");
  assert_int_equal(r->conn.client_port, 40000);
  assert_int_equal(r->conn.server_port, 104);
  assert_string_equal(r->conn.origin, "test.pcap");
  assert_int_equal(r->conn.start_ts, 1);
  assert_stream(r, 0, "hello world");
  assert_stream(r, 1, "ok");
  /* every in-order segment went through without a copy */
  assert_int_equal(r->zero_copy[0], 2);
  assert_int_equal(r->zero_copy[1], 1);
  /* FIN from both sides closes */
  seg4(f, C, 40000, 1012, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 5);
  assert_false(r->closed);
  seg4(f, S, 40000, 5003, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 6);
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_FIN);
  /* the last ACK opens nothing */
  seg4(f, C, 40000, 1013, PA_TCP_ACK, NULL, 0, 7);
  assert_int_equal(f->x.n, 1);
}

static void test_reordered(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40001, 0, 0, 1);
  seg4(f, C, 40001, 1 + 6, PA_TCP_ACK, "world", 5, 2);
  seg4(f, C, 40001, 1 + 11, PA_TCP_ACK, "!", 1, 3);
  r = &f->x.rec[0];
  assert_int_equal(r->len[0], 0);
  seg4(f, C, 40001, 1, PA_TCP_ACK, "hello ", 6, 4);
  assert_stream(r, 0, "hello world!");
  assert_int_equal(r->ngaps[0], 0);
}

static void test_retransmitted(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40002, 100, 200, 1);
  seg4(f, C, 40002, 101, PA_TCP_ACK, "abc", 3, 2);
  seg4(f, C, 40002, 101, PA_TCP_ACK, "abc", 3, 3);
  seg4(f, C, 40002, 104, PA_TCP_ACK, "def", 3, 4);
  seg4(f, C, 40002, 104, PA_TCP_ACK, "def", 3, 5);
  /* a held segment retransmitted while still out of order */
  seg4(f, C, 40002, 110, PA_TCP_ACK, "jkl", 3, 6);
  seg4(f, C, 40002, 110, PA_TCP_ACK, "jkl", 3, 7);
  seg4(f, C, 40002, 107, PA_TCP_ACK, "ghi", 3, 8);
  r = &f->x.rec[0];
  assert_stream(r, 0, "abcdefghijkl");
}

static void test_overlapping(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40003, 0, 0, 1);
  seg4(f, C, 40003, 1, PA_TCP_ACK, "abcd", 4, 2);
  /* overlaps the end of what was delivered: only "ef" is new */
  seg4(f, C, 40003, 3, PA_TCP_ACK, "CDef", 4, 3);
  /* two held segments overlapping each other */
  seg4(f, C, 40003, 9, PA_TCP_ACK, "ijkl", 4, 4);
  seg4(f, C, 40003, 11, PA_TCP_ACK, "KLmn", 4, 5);
  seg4(f, C, 40003, 7, PA_TCP_ACK, "ghIJ", 4, 6);
  r = &f->x.rec[0];
  /* the first copy of each byte wins */
  assert_stream(r, 0, "abcdefghijklmn");
}

static void test_wraparound(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  /* ISN just below 2^32: the stream crosses zero */
  handshake(f, 40004, 0xfffffffau, 0xffffffffu, 1);
  seg4(f, C, 40004, 0xfffffffbu, PA_TCP_ACK, "0123", 4, 2);
  /* out of order across the wrap */
  seg4(f, C, 40004, 0xfffffffbu + 8, PA_TCP_ACK, "89", 2, 3);
  seg4(f, C, 40004, 0xfffffffbu + 4, PA_TCP_ACK, "4567", 4, 4);
  /* server ISN 0xffffffff: its data starts at 0 */
  seg4(f, S, 40004, 0, PA_TCP_ACK, "xy", 2, 5);
  r = &f->x.rec[0];
  assert_stream(r, 0, "0123456789");
  assert_stream(r, 1, "xy");
  seg4(f, C, 40004, 0xfffffffbu + 10, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 6);
  seg4(f, S, 40004, 2, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 7);
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_FIN);
}

static void test_synack_first_and_midstream(void **state)
{
  struct fx *f = *state;

  /* the capture starts at the SYN+ACK: its receiver is the client */
  seg4(f, S, 40005, 9, PA_TCP_SYN | PA_TCP_ACK, NULL, 0, 1);
  seg4(f, C, 40005, 21, PA_TCP_ACK, "rq", 2, 2);
  assert_int_equal(f->x.n, 1);
  assert_int_equal(f->x.rec[0].conn.client_port, 40005);
  assert_stream(&f->x.rec[0], 0, "rq");
  /* no SYN at all: the sender of the first payload is the client */
  seg4(f, S, 40006, 77, PA_TCP_ACK, "srv", 3, 3);
  assert_int_equal(f->x.n, 2);
  assert_int_equal(f->x.rec[1].conn.client_port, 104);
  assert_int_equal(f->x.rec[1].conn.server_port, 40006);
  assert_stream(&f->x.rec[1], 0, "srv");
}

static void test_rst_flushes(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40007, 0, 0, 1);
  seg4(f, C, 40007, 1, PA_TCP_ACK, "ab", 2, 2);
  seg4(f, C, 40007, 5, PA_TCP_ACK, "ef", 2, 3); /* "cd" never comes */
  seg4(f, S, 40007, 1, PA_TCP_RST, NULL, 0, 4);
  r = &f->x.rec[0];
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_RST);
  /* what was held was delivered after a gap of 2 */
  assert_stream(r, 0, "abef");
  assert_int_equal(r->gap[0], 2);
  assert_int_equal(r->ngaps[0], 1);
}

static void test_fin_waits_for_data(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40008, 0, 0, 1);
  /* client FIN arrives before its last data segment */
  seg4(f, C, 40008, 4, PA_TCP_FIN | PA_TCP_ACK, "def", 3, 2);
  seg4(f, S, 40008, 1, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 3);
  r = &f->x.rec[0];
  assert_false(r->closed);
  seg4(f, C, 40008, 1, PA_TCP_ACK, "abc", 3, 4);
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_FIN);
  assert_stream(r, 0, "abcdef");
}

/* After a close by FIN, a retransmitted data segment is dropped, not taken
 * for a new flow starting mid-stream; a SYN on the same ports is a new
 * connection. */
static void test_time_wait_fin(void **state)
{
  struct fx *f = *state;
  struct pa_reasm_stats st;

  handshake(f, 40030, 0, 0, 1);
  seg4(f, C, 40030, 1, PA_TCP_ACK, "abc", 3, 2);
  seg4(f, C, 40030, 4, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 3);
  seg4(f, S, 40030, 1, PA_TCP_FIN | PA_TCP_ACK, NULL, 0, 4);
  assert_true(f->x.rec[0].closed);
  seg4(f, C, 40030, 1, PA_TCP_ACK, "abc", 3, 5);              /* late copy */
  seg4(f, S, 40030, 0, PA_TCP_SYN | PA_TCP_ACK, NULL, 0, 6);  /* late SYN-ACK */
  assert_int_equal(f->x.n, 1);
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.late_segs, 2);
  assert_int_equal(st.late_bytes, 3);
  handshake(f, 40030, 1000, 2000, 7);                         /* port reused */
  seg4(f, C, 40030, 1001, PA_TCP_ACK, "new", 3, 8);
  assert_int_equal(f->x.n, 2);
  assert_stream(&f->x.rec[1], 0, "new");
}

/* After a RST, what the peer had in flight is dropped; once the wait is
 * over, a stream seen without its SYN is picked up again. */
static void test_time_wait_rst(void **state)
{
  struct fx *f = *state;
  struct pa_reasm_stats st;
  int64_t later = 100 + PA_TIME_WAIT_US + 1;

  handshake(f, 40031, 0, 0, 1);
  seg4(f, C, 40031, 1, PA_TCP_ACK, "ab", 2, 2);
  seg4(f, S, 40031, 1, PA_TCP_RST, NULL, 0, 100);
  seg4(f, C, 40031, 3, PA_TCP_ACK, "cd", 2, 101);
  assert_int_equal(f->x.n, 1);
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.late_segs, 1);
  seg4(f, C, 40031, 5000, PA_TCP_ACK, "xy", 2, later);
  assert_int_equal(f->x.n, 2);
  assert_stream(&f->x.rec[1], 0, "xy");
}

static void test_ooo_overflow_gap(void **state)
{
  struct fx *f = *state;
  struct rec *r;
  static uint8_t big[1000];
  uint32_t seq = 1;

  memset(big, 'x', sizeof big);
  handshake(f, 40009, 0, 0, 1);
  seg4(f, C, 40009, seq, PA_TCP_ACK, "a", 1, 2);
  /* 100 bytes lost, then more segments than may be held */
  seq = 2 + 100;
  for (int i = 0; i < PA_REASM_OOO_SEGS; i++) {
    seg4(f, C, 40009, seq, PA_TCP_ACK, big, 10, 3);
    seq += 10;
  }
  r = &f->x.rec[0];
  assert_int_equal(r->ngaps[0], 0);
  assert_int_equal(r->len[0], 1);
  /* one more: the hole is declared and delivery resumes */
  seg4(f, C, 40009, seq, PA_TCP_ACK, big, 10, 4);
  assert_int_equal(r->ngaps[0], 1);
  assert_int_equal(r->gap[0], 100);
  assert_int_equal(r->len[0], 1 + (PA_REASM_OOO_SEGS + 1) * 10);
  /* the stream goes on in order */
  seq += 10;
  seg4(f, C, 40009, seq, PA_TCP_ACK, "z", 1, 5);
  assert_int_equal(r->len[0], 2 + (PA_REASM_OOO_SEGS + 1) * 10);
  assert_int_equal(r->bytes[0][r->len[0] - 1], 'z');
}

static void test_ooo_byte_cap(void **state)
{
  struct fx *f = *state;
  struct rec *r;
  static uint8_t big[60000];
  uint32_t seq;
  int n = PA_REASM_OOO_MAX / (int)sizeof big;

  memset(big, 'y', sizeof big);
  handshake(f, 40010, 0, 0, 1);
  seq = 1 + 5;
  for (int i = 0; i < n; i++, seq += sizeof big)
    seg4(f, C, 40010, seq, PA_TCP_ACK, big, sizeof big, 2);
  r = &f->x.rec[0];
  assert_int_equal(r->ngaps[0], 0);
  seg4(f, C, 40010, seq, PA_TCP_ACK, big, sizeof big, 3);
  assert_int_equal(r->ngaps[0], 1);
  assert_int_equal(r->gap[0], 5);
  assert_int_equal(r->len[0], (size_t)(n + 1) * sizeof big);
}

static void test_idle_eviction(void **state)
{
  struct fx *f = *state;
  struct rec *a, *b;
  int64_t t0 = 1000000000LL * 1000000;

  handshake(f, 40011, 0, 0, t0);
  handshake(f, 40012, 0, 0, t0);
  a = &f->x.rec[0];
  b = &f->x.rec[1];
  /* b stays active, a goes quiet */
  seg4(f, C, 40012, 1, PA_TCP_ACK, "x", 1, t0 + PA_FLOW_IDLE_US / 2);
  seg4(f, C, 40012, 2, PA_TCP_ACK, "y", 1, t0 + PA_FLOW_IDLE_US + 2000000);
  assert_true(a->closed);
  assert_int_equal(a->why, PA_REASM_IDLE);
  assert_false(b->closed);
  pa_reasm_flush(f->r, PA_REASM_EOF, 0);
  assert_true(b->closed);
  assert_int_equal(b->why, PA_REASM_EOF);
}

static void test_table_full(void **state)
{
  struct fx *f = *state;
  struct pa_reasm_stats st;
  int64_t t = 1;

  /* ignored flows use the table too: fill it with them (cheap) */
  f->x.ignore_port = 104;
  for (int i = 0; i < PA_MAX_FLOWS; i++) {
    struct pa_tcp_seg s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    s.src[0] = 10;
    s.src[1] = 1;
    s.src[2] = (uint8_t)(i >> 8);
    s.src[3] = (uint8_t)i;
    memcpy(s.dst, SRV, 4);
    s.sport = 5000;
    s.dport = 104;
    s.flags = PA_TCP_SYN;
    assert_int_equal(pa_reasm_packet(f->r, &s, t++), PA_OK);
  }
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.live, PA_MAX_FLOWS);
  assert_int_equal(f->x.n, 0);
  /* one more flow evicts the least recently active one */
  f->x.ignore_port = 0;
  seg4(f, C, 40013, 0, PA_TCP_SYN, NULL, 0, t++);
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.live, PA_MAX_FLOWS);
  assert_int_equal(st.evicted, 1);
  assert_int_equal(f->x.n, 1);
  /* fill again: now our flow is the oldest and goes, reason evicted */
  f->x.ignore_port = 104;
  seg4(f, C, 40014, 0, PA_TCP_SYN, NULL, 0, t++);
  for (int i = 0; i < PA_MAX_FLOWS; i++) {
    struct pa_tcp_seg s;
    memset(&s, 0, sizeof s);
    s.family = 4;
    s.src[0] = 10;
    s.src[1] = 2;
    s.src[2] = (uint8_t)(i >> 8);
    s.src[3] = (uint8_t)i;
    memcpy(s.dst, SRV, 4);
    s.sport = 5000;
    s.dport = 104;
    s.flags = PA_TCP_SYN;
    assert_int_equal(pa_reasm_packet(f->r, &s, t++), PA_OK);
  }
  assert_true(f->x.rec[0].closed);
  assert_int_equal(f->x.rec[0].why, PA_REASM_EVICTED);
}

static void test_ipv6_keys(void **state)
{
  struct fx *f = *state;
  struct pa_tcp_seg s;
  struct rec *r;
  static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
  static const uint8_t b6[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 2};

  memset(&s, 0, sizeof s);
  s.family = 6;
  memcpy(s.src, a6, 16);
  memcpy(s.dst, b6, 16);
  s.sport = 50000;
  s.dport = 11112;
  s.flags = PA_TCP_SYN;
  s.seq = 7;
  assert_int_equal(pa_reasm_packet(f->r, &s, 1), PA_OK);
  /* the reply maps to the same flow */
  memcpy(s.src, b6, 16);
  memcpy(s.dst, a6, 16);
  s.sport = 11112;
  s.dport = 50000;
  s.flags = PA_TCP_ACK;
  s.seq = 100;
  s.payload = (const uint8_t *)"v6";
  s.len = 2;
  assert_int_equal(pa_reasm_packet(f->r, &s, 2), PA_OK);
  assert_int_equal(f->x.n, 1);
  r = &f->x.rec[0];
  assert_string_equal(r->conn.client_ip, "2001:db8::1");
  assert_string_equal(r->conn.server_ip, "2001:db8::2");
  assert_int_equal(r->conn.server_port, 11112);
  assert_stream(r, 1, "v6");
  /* an IPv4 flow with the same leading bytes and ports is another flow */
  memset(&s, 0, sizeof s);
  s.family = 4;
  memcpy(s.src, a6, 4);
  memcpy(s.dst, b6, 4);
  s.sport = 50000;
  s.dport = 11112;
  s.payload = (const uint8_t *)"v4";
  s.len = 2;
  assert_int_equal(pa_reasm_packet(f->r, &s, 3), PA_OK);
  assert_int_equal(f->x.n, 2);
}

static void test_ignored_flow(void **state)
{
  struct fx *f = *state;
  struct pa_reasm_stats st;

  f->x.ignore_port = 104;
  handshake(f, 40015, 0, 0, 1);
  seg4(f, C, 40015, 5, PA_TCP_ACK, "held?", 5, 2); /* would be held if tracked */
  seg4(f, C, 40015, 1, PA_TCP_ACK, "abcd", 4, 3);
  assert_int_equal(f->x.n, 0);
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.live, 1);
  assert_int_equal(st.ooo_segs, 0);
  seg4(f, C, 40015, 10, PA_TCP_FIN, NULL, 0, 4);
  seg4(f, S, 40015, 1, PA_TCP_FIN, NULL, 0, 5);
  pa_reasm_get_stats(f->r, &st);
  assert_int_equal(st.live, 0);
}

static void test_stop(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40016, 0, 0, 1);
  r = &f->x.rec[0];
  r->stop_after = 1;
  seg4(f, C, 40016, 1, PA_TCP_ACK, "a", 1, 2);
  seg4(f, C, 40016, 2, PA_TCP_ACK, "b", 1, 3);
  seg4(f, S, 40016, 1, PA_TCP_ACK, "c", 1, 4);
  assert_stream(r, 0, "a");
  assert_int_equal(r->len[1], 0);
  assert_false(r->closed);
  seg4(f, C, 40016, 3, PA_TCP_FIN, NULL, 0, 5);
  seg4(f, S, 40016, 2, PA_TCP_FIN, NULL, 0, 6);
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_FIN);
}

static void test_eof_flush_with_hole(void **state)
{
  struct fx *f = *state;
  struct rec *r;

  handshake(f, 40017, 0, 0, 1);
  seg4(f, S, 40017, 1 + 3, PA_TCP_ACK, "late", 4, 2);
  r = &f->x.rec[0];
  pa_reasm_flush(f->r, PA_REASM_EOF, 0);
  assert_true(r->closed);
  assert_int_equal(r->why, PA_REASM_EOF);
  assert_int_equal(r->gap[1], 3);
  assert_stream(r, 1, "late");
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test_setup_teardown(test_in_order, setup, teardown),
    cmocka_unit_test_setup_teardown(test_reordered, setup, teardown),
    cmocka_unit_test_setup_teardown(test_retransmitted, setup, teardown),
    cmocka_unit_test_setup_teardown(test_overlapping, setup, teardown),
    cmocka_unit_test_setup_teardown(test_wraparound, setup, teardown),
    cmocka_unit_test_setup_teardown(test_synack_first_and_midstream, setup, teardown),
    cmocka_unit_test_setup_teardown(test_rst_flushes, setup, teardown),
    cmocka_unit_test_setup_teardown(test_fin_waits_for_data, setup, teardown),
    cmocka_unit_test_setup_teardown(test_time_wait_fin, setup, teardown),
    cmocka_unit_test_setup_teardown(test_time_wait_rst, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ooo_overflow_gap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ooo_byte_cap, setup, teardown),
    cmocka_unit_test_setup_teardown(test_idle_eviction, setup, teardown),
    cmocka_unit_test_setup_teardown(test_table_full, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ipv6_keys, setup, teardown),
    cmocka_unit_test_setup_teardown(test_ignored_flow, setup, teardown),
    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
    cmocka_unit_test_setup_teardown(test_eof_flush_with_hole, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
