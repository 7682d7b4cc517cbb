/* test_pcap_source.c — unit tests of collectors/pcap_source.
 *
 * Each test writes a small capture into a temp folder (pcap_open_dead +
 * pcap_dump, or a hand-written pcapng), reads it with pa_pcap_read_file and
 * checks what a recording sink received: a DICOM association (A-ASSOCIATE-RQ,
 * -AC, release) over every supported link type, a TLS ClientHello with SNI,
 * a truncated file, and frames with bogus headers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <pcap/pcap.h>

#include "analyzer/log.h"
#include "collectors/pcap_source.h"

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif

/* ---------------------------------------------------------------------- */
/* Recording sink                                                          */

#define MAXA 8
#define MAXE 16

struct rsink {
  int nbegin, nupdate, npctx, ndimse, nevent;
  struct pa_assoc a[MAXA];    /* latest record of association id i+1 */
  char ev_code[MAXE][32];
  int ev_secure[MAXE];
  int64_t ev_assoc[MAXE];
};

static pa_rc r_begin(void *ctx, const struct pa_assoc *a, int64_t *id_out)
{
  struct rsink *s = ctx;

  assert_true(s->nbegin < MAXA);
  s->a[s->nbegin] = *a;
  *id_out = ++s->nbegin;
  return PA_OK;
}

static pa_rc r_update(void *ctx, int64_t id, const struct pa_assoc *a)
{
  struct rsink *s = ctx;

  assert_true(id >= 1 && id <= s->nbegin);
  s->a[id - 1] = *a;
  s->nupdate++;
  return PA_OK;
}

static pa_rc r_pctx(void *ctx, int64_t id, const struct pa_pctx *pc)
{
  struct rsink *s = ctx;

  (void)id;
  (void)pc;
  s->npctx++;
  return PA_OK;
}

static pa_rc r_dimse(void *ctx, const struct pa_dimse *d)
{
  struct rsink *s = ctx;

  (void)d;
  s->ndimse++;
  return PA_OK;
}

static pa_rc r_event(void *ctx, const struct pa_event *e)
{
  struct rsink *s = ctx;

  if (s->nevent < MAXE) {
    snprintf(s->ev_code[s->nevent], sizeof s->ev_code[0], "%s", e->event_code);
    s->ev_secure[s->nevent] = e->secure;
    s->ev_assoc[s->nevent] = e->assoc_id;
  }
  s->nevent++;
  return PA_OK;
}

static void sink_init(struct pa_sink *k, struct rsink *s)
{
  memset(s, 0, sizeof *s);
  memset(k, 0, sizeof *k); /* callbacks added to pa_sink later stay NULL */
  k->ctx = s;
  k->assoc_begin = r_begin;
  k->assoc_update = r_update;
  k->pctx = r_pctx;
  k->dimse = r_dimse;
  k->event = r_event;
}

/* ---------------------------------------------------------------------- */
/* Byte builders                                                           */

struct wb {
  uint8_t b[4096];
  size_t n;
};

static void put(struct wb *w, const void *p, size_t n)
{
  assert_true(w->n + n <= sizeof w->b);
  if (n)
    memcpy(w->b + w->n, p, n);
  w->n += n;
}
static void put8(struct wb *w, unsigned v) { uint8_t x = (uint8_t)v; put(w, &x, 1); }
static void put16(struct wb *w, unsigned v) { put8(w, v >> 8); put8(w, v); }
static void put32(struct wb *w, uint32_t v) { put16(w, v >> 16); put16(w, v); }
static void put_ae(struct wb *w, const char *ae)
{
  char pad[16];
  memset(pad, ' ', 16);
  memcpy(pad, ae, strlen(ae));
  put(w, pad, 16);
}
static void item(struct wb *w, unsigned type, const char *s)
{
  put8(w, type);
  put8(w, 0);
  put16(w, (unsigned)strlen(s));
  put(w, s, strlen(s));
}
static void patch32(struct wb *w, size_t at, uint32_t v)
{
  w->b[at] = (uint8_t)(v >> 24);
  w->b[at + 1] = (uint8_t)(v >> 16);
  w->b[at + 2] = (uint8_t)(v >> 8);
  w->b[at + 3] = (uint8_t)v;
}
static void patch16(struct wb *w, size_t at, unsigned v)
{
  w->b[at] = (uint8_t)(v >> 8);
  w->b[at + 1] = (uint8_t)v;
}

/* A-ASSOCIATE-RQ (type 1) or -AC (type 2), PS3.8 §9.3.2/9.3.3: calling
 * STORESCU, called STORESCP, Verification SOP class, implicit VR LE. */
static void assoc_pdu(struct wb *w, int type)
{
  size_t len_at, pc_at, ui_at;

  put8(w, (unsigned)type);
  put8(w, 0);
  len_at = w->n;
  put32(w, 0);
  put16(w, 1);                       /* protocol version */
  put16(w, 0);
  put_ae(w, "STORESCP");             /* called */
  put_ae(w, "STORESCU");             /* calling */
  for (int i = 0; i < 32; i++)
    put8(w, 0);
  item(w, 0x10, "1.2.840.10008.3.1.1.1");
  put8(w, type == 1 ? 0x20 : 0x21);  /* presentation context */
  put8(w, 0);
  pc_at = w->n;
  put16(w, 0);
  put8(w, 1);                        /* id */
  put8(w, 0);
  put8(w, 0);                        /* result (AC: acceptance) */
  put8(w, 0);
  if (type == 1)
    item(w, 0x30, "1.2.840.10008.1.1");
  item(w, 0x40, "1.2.840.10008.1.2");
  patch16(w, pc_at, (unsigned)(w->n - pc_at - 2));
  put8(w, 0x50);                     /* user information */
  put8(w, 0);
  ui_at = w->n;
  put16(w, 0);
  put8(w, 0x51);
  put8(w, 0);
  put16(w, 4);
  put32(w, 16384);                   /* max PDU length */
  item(w, 0x52, "1.2.826.0.1.3680043.2.1143");
  patch16(w, ui_at, (unsigned)(w->n - ui_at - 2));
  patch32(w, len_at, (uint32_t)(w->n - len_at - 4));
}

static void release_pdu(struct wb *w, int type)
{
  put8(w, (unsigned)type);
  put8(w, 0);
  put32(w, 4);
  put32(w, 0);
}

/* A ClientHello with SNI "pacs.example.org" in one record. */
static void client_hello(struct wb *w)
{
  static const char sni[] = "pacs.example.org";
  size_t rec_at, hs_at, ext_at;
  size_t l = sizeof sni - 1;

  put8(w, 0x16);
  put16(w, 0x0301);
  rec_at = w->n;
  put16(w, 0);
  put8(w, 1);
  hs_at = w->n;
  put8(w, 0);
  put16(w, 0);
  put16(w, 0x0303);
  for (int i = 0; i < 32; i++)
    put8(w, (unsigned)i);
  put8(w, 0);                        /* session id */
  put16(w, 2);
  put16(w, 0x1301);
  put8(w, 1);
  put8(w, 0);
  ext_at = w->n;
  put16(w, 0);
  put16(w, 0);                       /* server_name */
  put16(w, (unsigned)(l + 5));
  put16(w, (unsigned)(l + 3));
  put8(w, 0);
  put16(w, (unsigned)l);
  put(w, sni, l);
  patch16(w, ext_at, (unsigned)(w->n - ext_at - 2));
  patch16(w, hs_at + 1, (unsigned)(w->n - hs_at - 3));
  patch16(w, rec_at, (unsigned)(w->n - rec_at - 2));
}

/* ---------------------------------------------------------------------- */
/* Frames                                                                  */

enum link { L_ETH, L_ETH_VLAN, L_ETH_QINQ, L_SLL, L_SLL2, L_NULL, L_LOOP, L_RAW };

struct conv {
  enum link link;
  int v6;
  uint16_t cport, sport;
  uint32_t seq[2];   /* next sequence number of client (0) and server (1) */
  int64_t ts;        /* us */
  pcap_dumper_t *d;
  int nanos;         /* the file has nanosecond timestamps */
  uint64_t off;      /* bytes written so far (pcap) */
  int frames;
};

static int dlt_of(enum link l)
{
  switch (l) {
  case L_ETH: case L_ETH_VLAN: case L_ETH_QINQ: return DLT_EN10MB;
  case L_SLL: return DLT_LINUX_SLL;
  case L_SLL2: return DLT_LINUX_SLL2;
  case L_NULL: return DLT_NULL;
  case L_LOOP: return DLT_LOOP;
  case L_RAW: return DLT_RAW;
  }
  return DLT_EN10MB;
}

static void link_hdr(struct wb *w, enum link l, int v6)
{
  static const uint8_t mac[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};
  unsigned et = v6 ? 0x86dd : 0x0800;

  switch (l) {
  case L_ETH:
    put(w, mac, 12);
    put16(w, et);
    break;
  case L_ETH_VLAN:
    put(w, mac, 12);
    put16(w, 0x8100);
    put16(w, 100);
    put16(w, et);
    break;
  case L_ETH_QINQ:
    put(w, mac, 12);
    put16(w, 0x88a8);
    put16(w, 7);
    put16(w, 0x8100);
    put16(w, 100);
    put16(w, et);
    break;
  case L_SLL:
    put16(w, 0);                     /* to us */
    put16(w, 1);                     /* ARPHRD_ETHER */
    put16(w, 6);
    put(w, mac, 8);
    put16(w, et);
    break;
  case L_SLL2:
    put16(w, et);
    put16(w, 0);
    put32(w, 2);                     /* ifindex */
    put16(w, 1);
    put8(w, 0);
    put8(w, 6);
    put(w, mac, 8);
    break;
  case L_NULL: {                     /* host byte order */
    uint32_t fam = v6 ? 30 : 2;
    put(w, &fam, 4);
    break;
  }
  case L_LOOP:                       /* network byte order */
    put32(w, v6 ? 30 : 2);
    break;
  case L_RAW:
    break;
  }
}

static void ip_tcp(struct wb *w, int v6, int from_client, uint16_t cport, uint16_t sport,
                   uint32_t seq, uint8_t flags, const void *p, size_t len)
{
  static const uint8_t c4[4] = {192, 168, 1, 10}, s4[4] = {192, 168, 1, 20};
  static const uint8_t c6[16] = {0xfd, 0, [15] = 0x10}, s6[16] = {0xfd, 0, [15] = 0x20};

  if (v6) {
    put32(w, 0x60000000);
    put16(w, (unsigned)(20 + len));
    put8(w, 6);
    put8(w, 64);
    put(w, from_client ? c6 : s6, 16);
    put(w, from_client ? s6 : c6, 16);
  } else {
    put8(w, 0x45);
    put8(w, 0);
    put16(w, (unsigned)(20 + 20 + len));
    put16(w, 1);
    put16(w, 0x4000);                /* DF */
    put8(w, 64);
    put8(w, 6);
    put16(w, 0);
    put(w, from_client ? c4 : s4, 4);
    put(w, from_client ? s4 : c4, 4);
  }
  put16(w, from_client ? cport : sport);
  put16(w, from_client ? sport : cport);
  put32(w, seq);
  put32(w, 0);
  put16(w, 0x5000 | flags);
  put16(w, 65535);
  put32(w, 0);
  put(w, p, len);
}

static void dump(struct conv *c, const uint8_t *b, size_t n)
{
  struct pcap_pkthdr h;

  memset(&h, 0, sizeof h);
  h.ts.tv_sec = c->ts / 1000000;
  /* pcap_dump writes tv_usec as is: in a nanosecond file it holds ns */
  h.ts.tv_usec = c->nanos ? (c->ts % 1000000) * 1000 + 123 : c->ts % 1000000;
  h.caplen = h.len = (bpf_u_int32)n;
  pcap_dump((u_char *)c->d, &h, b);
  c->off += 16 + n;
  c->frames++;
  c->ts += 1000;
}

/* One TCP segment from client (dir 0) or server (dir 1). */
static void seg(struct conv *c, int dir, uint8_t flags, const void *p, size_t len)
{
  struct wb w = {.n = 0};

  link_hdr(&w, c->link, c->v6);
  ip_tcp(&w, c->v6, dir == 0, c->cport, c->sport, c->seq[dir], flags, p, len);
  if (c->link == L_ETH && w.n < 60)
    while (w.n < 60)
      put8(&w, 0xee);                /* Ethernet padding, must be trimmed */
  dump(c, w.b, w.n);
  c->seq[dir] += (uint32_t)len + ((flags & (PA_TCP_SYN | PA_TCP_FIN)) ? 1 : 0);
}

static char tmpdir[256];

static int group_setup(void **state)
{
  (void)state;
  snprintf(tmpdir, sizeof tmpdir, "/tmp/test_pcap_source.XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
  pa_log_threshold = PA_LOG_ERROR; /* keep expected warnings quiet */
  return 0;
}

static int group_teardown(void **state)
{
  char cmd[300];
  (void)state;
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  return system(cmd) == 0 ? 0 : -1;
}

static void conv_open(struct conv *c, enum link l, int v6, int nanos, const char *name,
                      char *path, size_t cap)
{
  pcap_t *p;

  memset(c, 0, sizeof *c);
  c->link = l;
  c->v6 = v6;
  c->cport = 50123;
  c->sport = 11112;
  c->seq[0] = 1000;
  c->seq[1] = 0xfffffff0u; /* the server's stream wraps */
  c->ts = 1700000000LL * 1000000 + 5;
  c->nanos = nanos;
  snprintf(path, cap, "%s/%s", tmpdir, name);
  p = pcap_open_dead_with_tstamp_precision(dlt_of(l), 262144,
                                           nanos ? PCAP_TSTAMP_PRECISION_NANO
                                                 : PCAP_TSTAMP_PRECISION_MICRO);
  assert_non_null(p);
  c->d = pcap_dump_open(p, path);
  assert_non_null(c->d);
  pcap_close(p);
  c->off = 24;
}

static void conv_close(struct conv *c)
{
  pcap_dump_close(c->d);
  c->d = NULL;
}

static void handshake(struct conv *c)
{
  seg(c, 0, PA_TCP_SYN, NULL, 0);
  seg(c, 1, PA_TCP_SYN | PA_TCP_ACK, NULL, 0);
  seg(c, 0, PA_TCP_ACK, NULL, 0);
}

static void dicom_conv(struct conv *c, int release)
{
  struct wb w;

  handshake(c);
  w.n = 0;
  assoc_pdu(&w, 1);
  seg(c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  w.n = 0;
  assoc_pdu(&w, 2);
  seg(c, 1, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  if (!release)
    return;
  w.n = 0;
  release_pdu(&w, 5);
  seg(c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  w.n = 0;
  release_pdu(&w, 6);
  seg(c, 1, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  seg(c, 0, PA_TCP_FIN | PA_TCP_ACK, NULL, 0);
  seg(c, 1, PA_TCP_FIN | PA_TCP_ACK, NULL, 0);
  seg(c, 0, PA_TCP_ACK, NULL, 0);
}

static uint64_t prog_done, prog_total;
static int prog_calls;

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
  (void)ctx;
  prog_done = done;
  prog_total = total;
  prog_calls++;
}

static pa_rc read_it(const char *path, struct rsink *rs, struct pa_pcap_stats *st,
                     struct pa_err *err, const char *bpf)
{
  struct pa_sink k;
  struct pa_pcap_opts o;

  sink_init(&k, rs);
  memset(&o, 0, sizeof o);
  o.bpf = bpf;
  o.progress = on_progress;
  prog_done = prog_total = 0;
  prog_calls = 0;
  return pa_pcap_read_file(path, &k, &o, st, err);
}

static void check_dicom_assoc(const struct rsink *rs, int v6, const char *result)
{
  const struct pa_assoc *a = &rs->a[0];

  assert_int_equal(rs->nbegin, 1);
  assert_string_equal(a->calling_ae, "STORESCU");
  assert_string_equal(a->called_ae, "STORESCP");
  assert_string_equal(a->conn.client_ip, v6 ? "fd00::10" : "192.168.1.10");
  assert_string_equal(a->conn.server_ip, v6 ? "fd00::20" : "192.168.1.20");
  assert_int_equal(a->conn.client_port, 50123);
  assert_int_equal(a->conn.server_port, 11112);
  assert_int_equal(a->tls, 0);
  assert_non_null(a->result);
  assert_string_equal(a->result, result);
  assert_true(a->ended_at >= a->started_at);
}

/* ---------------------------------------------------------------------- */
/* Tests                                                                   */

static void test_link_types(void **state)
{
  static const struct { enum link l; int v6; const char *name; } cases[] = {
    {L_ETH, 0, "eth.pcap"},      {L_ETH, 1, "eth6.pcap"},
    {L_ETH_VLAN, 0, "vlan.pcap"}, {L_ETH_QINQ, 1, "qinq6.pcap"},
    {L_SLL, 0, "sll.pcap"},      {L_SLL2, 1, "sll2.pcap"},
    {L_NULL, 0, "null.pcap"},    {L_NULL, 1, "null6.pcap"},
    {L_LOOP, 0, "loop.pcap"},    {L_RAW, 0, "raw.pcap"},
    {L_RAW, 1, "raw6.pcap"},
  };
  (void)state;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    struct conv c;
    char path[512];
    struct rsink rs;
    struct pa_pcap_stats st;
    struct pa_err err;

    conv_open(&c, cases[i].l, cases[i].v6, 0, cases[i].name, path, sizeof path);
    dicom_conv(&c, 1);
    conv_close(&c);
    assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
    assert_int_equal(st.packets, (uint64_t)c.frames);
    assert_int_equal(st.tcp_packets, (uint64_t)c.frames);
    assert_int_equal(st.skipped, 0);
    assert_int_equal(st.flows, 1);
    assert_int_equal(st.dicom, 1);
    assert_int_equal(st.anomalies, 0);
    assert_int_equal(st.bytes, c.off);
    /* a small file: one progress call, at the end */
    assert_int_equal(prog_calls, 1);
    assert_int_equal(prog_done, c.off);
    assert_int_equal(prog_total, c.off);
    check_dicom_assoc(&rs, cases[i].v6, "released");
    assert_int_equal(rs.a[0].started_at, 1700000000LL * 1000000 + 5 + 3 * 1000);
  }
}

static void test_nanosecond_file(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;

  (void)state;
  conv_open(&c, L_ETH, 0, 1, "nano.pcap", path, sizeof path);
  dicom_conv(&c, 1);
  conv_close(&c);
  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  check_dicom_assoc(&rs, 0, "released");
  /* nanoseconds come out as microseconds */
  assert_int_equal(rs.a[0].started_at, 1700000000LL * 1000000 + 5 + 3 * 1000);
}

static void test_tls(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  struct wb w = {.n = 0};
  static const uint8_t server_hello_ish[] = {0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0, 0, 0};

  (void)state;
  conv_open(&c, L_ETH_VLAN, 0, 0, "tls.pcap", path, sizeof path);
  c.sport = 2762; /* DICOM TLS port; detection does not look at it */
  handshake(&c);
  client_hello(&w);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  seg(&c, 1, PA_TCP_ACK | PA_TCP_PSH, server_hello_ish, sizeof server_hello_ish);
  seg(&c, 0, PA_TCP_FIN | PA_TCP_ACK, NULL, 0);
  seg(&c, 1, PA_TCP_FIN | PA_TCP_ACK, NULL, 0);
  conv_close(&c);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  assert_int_equal(st.tls, 1);
  assert_int_equal(st.dicom, 0);
  assert_int_equal(rs.nbegin, 1);
  assert_int_equal(rs.a[0].tls, 1);
  assert_string_equal(rs.a[0].tls_server_name, "pacs.example.org");
  assert_string_equal(rs.a[0].calling_ae, "");
  assert_string_equal(rs.a[0].called_ae, "");
  assert_string_equal(rs.a[0].result, "released");
  assert_int_equal(rs.a[0].bytes, w.n + sizeof server_hello_ish);
  assert_int_equal(rs.a[0].conn.server_port, 2762);
  assert_true(rs.a[0].ended_at > rs.a[0].started_at);
  assert_int_equal(rs.nevent, 1);
  assert_string_equal(rs.ev_code[0], "ASSOC:start");
  assert_int_equal(rs.ev_secure[0], 1);
  assert_int_equal(rs.ev_assoc[0], 1);
}

static void test_tls_reset_and_eof(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  struct wb w = {.n = 0};

  (void)state;
  conv_open(&c, L_SLL2, 0, 0, "tls2.pcap", path, sizeof path);
  handshake(&c);
  client_hello(&w);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  seg(&c, 1, PA_TCP_RST, NULL, 0);
  c.cport++;
  c.seq[0] = 5;
  c.seq[1] = 9;
  handshake(&c);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  conv_close(&c);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  assert_int_equal(rs.nbegin, 2);
  assert_string_equal(rs.a[0].result, "aborted");
  assert_string_equal(rs.a[1].result, "incomplete");
  assert_string_equal(rs.a[1].reject_reason, "end of capture");
}

static void test_truncated_file(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  uint64_t last_off;
  int frames;

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "trunc.pcap", path, sizeof path);
  dicom_conv(&c, 0);
  last_off = c.off; /* where the record cut short starts */
  frames = c.frames;
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, "\x04\x00\x00\x00\x00\x10", 6);
  conv_close(&c);
  assert_int_equal(truncate(path, (off_t)(c.off - 10)), 0);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_MALFORMED);
  assert_int_equal(err.item, (uint64_t)frames + 1);
  assert_int_equal(err.offset, last_off);
  assert_non_null(strstr(err.msg, "truncated"));
  assert_string_equal(err.input, path);
  assert_int_equal(st.packets, (uint64_t)frames);
  /* what was read is still there, ended as incomplete */
  assert_int_equal(rs.nbegin, 1);
  assert_string_equal(rs.a[0].result, "incomplete");
  assert_non_null(strstr(rs.a[0].reject_reason, "capture truncated"));
  assert_true(rs.a[0].ended_at > 0);
}

static void raw_frame(struct conv *c, const uint8_t *p, size_t n)
{
  dump(c, p, n);
}

static void test_bogus_frames(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  struct wb w;
  static const uint8_t mac[12] = {0};

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "bogus.pcap", path, sizeof path);
  /* IPv4 with IHL 2 */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_SYN, NULL, 0);
  w.b[14] = 0x42;
  raw_frame(&c, w.b, w.n);
  /* IPv4 total length shorter than its header */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_SYN, NULL, 0);
  w.b[16] = 0; w.b[17] = 8;
  raw_frame(&c, w.b, w.n);
  /* TCP data offset 2 */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_SYN, NULL, 0);
  w.b[14 + 20 + 12] = 0x20;
  raw_frame(&c, w.b, w.n);
  /* IPv4 total length past the captured bytes (snap length) */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_ACK, "abcdef", 6);
  w.b[16] = 0x05; w.b[17] = 0xdc;
  raw_frame(&c, w.b, w.n);
  /* non-first fragment */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_ACK, "abcdef", 6);
  w.b[20] = 0x00; w.b[21] = 0x10;
  raw_frame(&c, w.b, w.n);
  /* ARP */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0806);
  for (int i = 0; i < 28; i++) put8(&w, 0);
  raw_frame(&c, w.b, w.n);
  /* UDP */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, 0, NULL, 0);
  w.b[14 + 9] = 17;
  raw_frame(&c, w.b, w.n);
  /* runt */
  raw_frame(&c, mac, 9);
  /* five stacked VLAN tags */
  w.n = 0; put(&w, mac, 12);
  for (int i = 0; i < 5; i++) { put16(&w, 0x8100); put16(&w, 1); }
  put16(&w, 0x0800);
  ip_tcp(&w, 0, 1, 1, 2, 0, PA_TCP_SYN, NULL, 0);
  raw_frame(&c, w.b, w.n);
  /* IPv6: hop-by-hop then a first fragment header then TCP: decoded */
  w.n = 0; put(&w, mac, 12); put16(&w, 0x86dd);
  {
    struct wb t = {.n = 0};
    ip_tcp(&t, 1, 1, 7, 8, 0, PA_TCP_SYN, NULL, 0);
    put(&w, t.b, 4); put16(&w, 20 + 8 + 8); put8(&w, 0); put8(&w, 64);
    put(&w, t.b + 8, 32);
    put8(&w, 44); put8(&w, 0); put16(&w, 0); put32(&w, 0);      /* hop-by-hop */
    put8(&w, 6); put8(&w, 0); put16(&w, 0x0001); put32(&w, 9); /* fragment, M=1, off 0 */
    put(&w, t.b + 40, 20);
  }
  raw_frame(&c, w.b, w.n);
  /* IPv6 non-first fragment */
  w.b[14 + 40 + 8 + 2] = 0x01;
  raw_frame(&c, w.b, w.n);
  /* then a good association */
  dicom_conv(&c, 1);
  conv_close(&c);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  assert_int_equal(st.malformed, 4); /* IHL, total length, data offset, VLANs */
  assert_int_equal(st.truncated, 2); /* snap length, runt */
  assert_int_equal(st.fragments, 2);
  assert_int_equal(st.skipped, 10);
  assert_int_equal(st.packets, (uint64_t)c.frames);
  check_dicom_assoc(&rs, 0, "released");
}

static void test_midstream_swap(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  struct wb w = {.n = 0};
  static const uint8_t pdata_tail[] = {0x04, 0x00, 0x00, 0x00, 0x00, 0x06, 0, 0, 0, 2, 1, 3};

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "mid.pcap", path, sizeof path);
  /* no SYN; the server speaks first (the tail of an earlier P-DATA) */
  seg(&c, 1, PA_TCP_ACK | PA_TCP_PSH, pdata_tail, sizeof pdata_tail);
  assoc_pdu(&w, 1);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  w.n = 0;
  assoc_pdu(&w, 2);
  seg(&c, 1, PA_TCP_ACK | PA_TCP_PSH, w.b, w.n);
  conv_close(&c);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  assert_int_equal(st.dicom, 1);
  /* the A-ASSOCIATE-RQ's sender is the decoder's client */
  check_dicom_assoc(&rs, 0, "incomplete");
  assert_string_equal(rs.a[0].reject_reason, "end of capture");
}

static void test_decode_error(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  static const uint8_t junk[] = {0x5a, 0x00, 0x00, 0x00, 0x00, 0x02, 0xde, 0xad};

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "err.pcap", path, sizeof path);
  dicom_conv(&c, 0);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, junk, sizeof junk);
  seg(&c, 0, PA_TCP_ACK | PA_TCP_PSH, junk, sizeof junk);
  conv_close(&c);

  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_OK);
  assert_int_equal(st.anomalies, 1);
  assert_int_equal(rs.nbegin, 1);
  assert_string_equal(rs.a[0].result, "incomplete");
  assert_true(rs.a[0].reject_reason[0] != 0);
}

static void test_not_a_capture(void **state)
{
  char path[512];
  FILE *f;
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;

  (void)state;
  snprintf(path, sizeof path, "%s/text.pcap", tmpdir);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs("<14>1 2024-01-01T00:00:00Z host app - - - hello\n", f);
  fclose(f);
  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_IO);
  assert_true(err.msg[0] != 0);
  snprintf(path, sizeof path, "%s/missing.pcap", tmpdir);
  assert_int_equal(read_it(path, &rs, &st, &err, NULL), PA_IO);
}

static void test_bpf(void **state)
{
  struct conv c;
  char path[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "bpf.pcap", path, sizeof path);
  dicom_conv(&c, 1);
  conv_close(&c);
  assert_int_equal(read_it(path, &rs, &st, &err, "tcp port 9999"), PA_OK);
  assert_int_equal(rs.nbegin, 0);
  assert_int_equal(st.packets, (uint64_t)c.frames);
  assert_int_equal(read_it(path, &rs, &st, &err, "tcp port 11112"), PA_OK);
  assert_int_equal(rs.nbegin, 1);
  assert_int_equal(read_it(path, &rs, &st, &err, "tcp port nonsense ((("), PA_USAGE);
}

/* pcapng written by hand: SHB, IDB, one EPB per frame of a pcap file. */
static void test_pcapng(void **state)
{
  struct conv c;
  char path[512], ng[512];
  struct rsink rs;
  struct pa_pcap_stats st;
  struct pa_err err;
  char ebuf[PCAP_ERRBUF_SIZE];
  pcap_t *p;
  struct pcap_pkthdr *h;
  const u_char *data;
  FILE *f;
  uint64_t off, last_off = 0;
  int n = 0;

  (void)state;
  conv_open(&c, L_ETH, 0, 0, "ng-src.pcap", path, sizeof path);
  dicom_conv(&c, 0);
  conv_close(&c);
  snprintf(ng, sizeof ng, "%s/ng.pcapng", tmpdir);
  f = fopen(ng, "wb");
  assert_non_null(f);
  {
    uint32_t shb[7] = {0x0a0d0d0a, 28, 0x1a2b3c4d, 0x00000001, 0xffffffff, 0xffffffff, 28};
    uint32_t idb[5] = {1, 20, 1 /* ethernet */, 262144, 20};
    memcpy(&shb[3], "\x01\x00\x00\x00", 4); /* major 1, minor 0 */
    fwrite(shb, 4, 7, f);
    fwrite(idb, 4, 5, f);
  }
  off = 28 + 20;
  p = pcap_open_offline(path, ebuf);
  assert_non_null(p);
  while (pcap_next_ex(p, &h, &data) == 1) {
    uint64_t t = (uint64_t)h->ts.tv_sec * 1000000 + (uint64_t)h->ts.tv_usec;
    uint32_t pad = (4 - h->caplen % 4) % 4, blen = 32 + h->caplen + pad;
    uint32_t epb[7] = {6, blen, 0, (uint32_t)(t >> 32), (uint32_t)t, h->caplen, h->len};
    static const uint8_t zero[4];
    fwrite(epb, 4, 7, f);
    fwrite(data, 1, h->caplen, f);
    fwrite(zero, 1, pad, f);
    fwrite(&blen, 4, 1, f);
    last_off = off;
    off += blen;
    n++;
  }
  pcap_close(p);
  /* a last record cut in the middle */
  {
    uint32_t epb[3] = {6, 200, 0};
    last_off = off;
    fwrite(epb, 4, 3, f);
  }
  fclose(f);
  (void)last_off;

  assert_int_equal(read_it(ng, &rs, &st, &err, NULL), PA_MALFORMED);
  assert_int_equal(st.packets, (uint64_t)n);
  assert_int_equal(err.item, (uint64_t)n + 1);
  assert_int_equal(err.offset, off); /* the cut block's start */
  check_dicom_assoc(&rs, 0, "incomplete");
  assert_int_equal(rs.a[0].started_at, 1700000000LL * 1000000 + 5 + 3 * 1000);
}

/* The pure frame decoder, directly. */
static void test_decode_frame(void **state)
{
  struct wb w = {.n = 0};
  struct pa_tcp_seg s;

  (void)state;
  link_hdr(&w, L_ETH, 0);
  ip_tcp(&w, 0, 1, 40000, 104, 77, PA_TCP_ACK, "xyz", 3);
  while (w.n < 60)
    put8(&w, 0xee);
  assert_int_equal(pa_pcap_decode_frame(DLT_EN10MB, w.b, w.n, &s), PA_FRAME_TCP);
  assert_int_equal(s.family, 4);
  assert_int_equal(s.sport, 40000);
  assert_int_equal(s.dport, 104);
  assert_int_equal(s.seq, 77);
  assert_int_equal(s.len, 3); /* Ethernet padding trimmed */
  assert_memory_equal(s.payload, "xyz", 3);
  for (size_t n = 0; n < 14 + 20 + 20; n++)
    assert_int_not_equal(pa_pcap_decode_frame(DLT_EN10MB, w.b, n, &s), PA_FRAME_TCP);
  assert_int_equal(pa_pcap_decode_frame(DLT_NULL, w.b, 0, &s), PA_FRAME_TRUNCATED);
  assert_int_equal(pa_pcap_decode_frame(147 /* USER0 */, w.b, w.n, &s), PA_FRAME_OTHER);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test(test_link_types),
    cmocka_unit_test(test_nanosecond_file),
    cmocka_unit_test(test_tls),
    cmocka_unit_test(test_tls_reset_and_eof),
    cmocka_unit_test(test_truncated_file),
    cmocka_unit_test(test_bogus_frames),
    cmocka_unit_test(test_midstream_swap),
    cmocka_unit_test(test_decode_error),
    cmocka_unit_test(test_not_a_capture),
    cmocka_unit_test(test_bpf),
    cmocka_unit_test(test_pcapng),
    cmocka_unit_test(test_decode_frame),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
