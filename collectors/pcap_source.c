/* pcap_source.c — the capture driver (see pcap_source.h).
 *
 * libpcap frames -> pa_pcap_decode_frame (pure link/IP/TCP decoding) ->
 * tcp_reasm -> per flow: sniff the first bytes, then either a dicom_ul
 * decoder fed with both directions, or a TLS connection record, or nothing.
 *
 * Behaviours chosen:
 * - DICOM is recognised by an A-ASSOCIATE-RQ at the start of either
 *   direction; when it comes from direction 1 (the capture missed the SYN
 *   and the first packet seen was the server's), client and server are
 *   swapped for the decoder.
 * - TLS is recognised by a ClientHello (record 0x16 0x03 0x00..0x04,
 *   handshake type 1, parsed by tls_hello). Its association record has
 *   tls=1, empty AE titles (never guessed), the SNI, and a result taken from
 *   how the TCP connection ended: "released" (FIN from both sides),
 *   "aborted" (RST), "incomplete" otherwise (idle, evicted, end of capture,
 *   capture truncated: the reason goes to reject_reason).
 * - Offsets in messages are file offsets of the frame's record. For pcap
 *   they are counted: 24 + sum(16 + caplen) of the records before (exact
 *   unless a record's caplen exceeds the file's snap length, which libpcap
 *   cuts). For pcapng they come from ftell() on the capture's FILE before
 *   each pcap_next_ex: the start of the next block, which is the packet's
 *   block unless other blocks (interface, statistics) come between. ftell
 *   costs an lseek in glibc, so it is not used for pcap. Packet numbers are
 *   1-based over all frames in the file (a BPF filter is applied after
 *   reading, so it does not shift them). */
#include "pcap_source.h"

#include "../analyzer/buf.h"
#include "../analyzer/limits.h"
#include "../analyzer/log.h"
#include "../analyzer/rd.h"
#include "dicom_ul.h"
#include "tls_hello.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/stat.h>
#include <sys/time.h>

#define PROGRESS_STEP (4u * 1024 * 1024)
#define READ_BUF (131072) /* stdio buffer of the capture file */
#define LIVE_POLL_MS 100
#define MAX_VLAN_TAGS 4
#define MAX_IP6_EXT 8

#ifndef DLT_LINUX_SLL2
#define DLT_LINUX_SLL2 276
#endif
#ifndef DLT_IPV4
#define DLT_IPV4 228
#endif
#ifndef DLT_IPV6
#define DLT_IPV6 229
#endif
#define LINKTYPE_RAW 101

/* ---------------------------------------------------------------------- */
/* Frame decoding (pure)                                                   */

static enum pa_frame_kind decode_tcp(struct pa_rd *r, struct pa_tcp_seg *seg)
{
  uint16_t offfl;
  size_t doff;

  if (pa_rd_u16be(r, &seg->sport) || pa_rd_u16be(r, &seg->dport) ||
      pa_rd_u32be(r, &seg->seq) || pa_rd_u32be(r, &seg->ack) ||
      pa_rd_u16be(r, &offfl) || pa_rd_skip(r, 6))
    return PA_FRAME_MALFORMED;
  doff = (size_t)(offfl >> 12) * 4;
  if (doff < 20 || pa_rd_skip(r, doff - 20))
    return PA_FRAME_MALFORMED;
  seg->flags = (uint8_t)(offfl & 0x3f);
  seg->len = pa_rd_left(r);
  seg->payload = r->p + r->off;
  return PA_FRAME_TCP;
}

static enum pa_frame_kind decode_ip4(struct pa_rd *r, struct pa_tcp_seg *seg)
{
  uint8_t vihl, proto;
  uint16_t total, frag;
  const uint8_t *src, *dst;
  size_t ihl, start = r->off;
  struct pa_rd ip;

  if (pa_rd_u8(r, &vihl) || pa_rd_skip(r, 1) || pa_rd_u16be(r, &total) ||
      pa_rd_skip(r, 2) || pa_rd_u16be(r, &frag) || pa_rd_skip(r, 1) ||
      pa_rd_u8(r, &proto) || pa_rd_skip(r, 2) || pa_rd_bytes(r, 4, &src) ||
      pa_rd_bytes(r, 4, &dst))
    return PA_FRAME_TRUNCATED;
  ihl = (size_t)(vihl & 15) * 4;
  if ((vihl >> 4) != 4 || ihl < 20 || total < ihl)
    return PA_FRAME_MALFORMED;
  if (total > r->len - start)
    return PA_FRAME_TRUNCATED;
  /* the datagram, without link padding; then skip the options */
  pa_rd_init(&ip, r->p + start, total);
  if (pa_rd_skip(&ip, ihl))
    return PA_FRAME_MALFORMED;
  if (frag & 0x1fff)
    return PA_FRAME_FRAGMENT;
  if (proto != 6)
    return PA_FRAME_OTHER;
  seg->family = 4;
  memset(seg->src, 0, sizeof seg->src);
  memset(seg->dst, 0, sizeof seg->dst);
  memcpy(seg->src, src, 4);
  memcpy(seg->dst, dst, 4);
  return decode_tcp(&ip, seg);
}

static enum pa_frame_kind decode_ip6(struct pa_rd *r, struct pa_tcp_seg *seg)
{
  uint8_t v, nh;
  uint16_t plen;
  const uint8_t *src, *dst;
  struct pa_rd ip;

  if (pa_rd_u8(r, &v) || pa_rd_skip(r, 3) || pa_rd_u16be(r, &plen) ||
      pa_rd_u8(r, &nh) || pa_rd_skip(r, 1) || pa_rd_bytes(r, 16, &src) ||
      pa_rd_bytes(r, 16, &dst))
    return PA_FRAME_TRUNCATED;
  if ((v >> 4) != 6)
    return PA_FRAME_MALFORMED;
  if (plen == 0)
    return PA_FRAME_OTHER; /* jumbogram (or nothing) */
  if (pa_rd_sub(r, plen, &ip))
    return PA_FRAME_TRUNCATED;
  for (int i = 0; nh != 6; i++) {
    uint8_t next, hlen;
    uint16_t offfl;

    if (i >= MAX_IP6_EXT)
      return PA_FRAME_MALFORMED;
    switch (nh) {
    case 0:  /* hop-by-hop */
    case 43: /* routing */
    case 60: /* destination options */
      if (pa_rd_u8(&ip, &next) || pa_rd_u8(&ip, &hlen) ||
          pa_rd_skip(&ip, (size_t)hlen * 8 + 6))
        return PA_FRAME_MALFORMED;
      break;
    case 44: /* fragment */
      if (pa_rd_u8(&ip, &next) || pa_rd_skip(&ip, 1) || pa_rd_u16be(&ip, &offfl) ||
          pa_rd_skip(&ip, 4))
        return PA_FRAME_MALFORMED;
      if (offfl >> 3)
        return PA_FRAME_FRAGMENT;
      break;
    case 51: /* authentication header */
      if (pa_rd_u8(&ip, &next) || pa_rd_u8(&ip, &hlen) ||
          pa_rd_skip(&ip, ((size_t)hlen + 2) * 4 - 2))
        return PA_FRAME_MALFORMED;
      break;
    default:
      return PA_FRAME_OTHER;
    }
    nh = next;
  }
  seg->family = 6;
  memcpy(seg->src, src, 16);
  memcpy(seg->dst, dst, 16);
  return decode_tcp(&ip, seg);
}

static enum pa_frame_kind decode_ethertype(struct pa_rd *r, uint16_t type,
                                           struct pa_tcp_seg *seg)
{
  for (int tags = 0; type == 0x8100 || type == 0x88a8 || type == 0x9100; tags++) {
    if (tags >= MAX_VLAN_TAGS)
      return PA_FRAME_MALFORMED;
    if (pa_rd_skip(r, 2) || pa_rd_u16be(r, &type))
      return PA_FRAME_TRUNCATED;
  }
  if (type == 0x0800)
    return decode_ip4(r, seg);
  if (type == 0x86dd)
    return decode_ip6(r, seg);
  return PA_FRAME_OTHER;
}

static enum pa_frame_kind decode_raw(struct pa_rd *r, struct pa_tcp_seg *seg)
{
  if (pa_rd_left(r) < 1)
    return PA_FRAME_TRUNCATED;
  switch (r->p[r->off] >> 4) {
  case 4: return decode_ip4(r, seg);
  case 6: return decode_ip6(r, seg);
  }
  return PA_FRAME_OTHER;
}

enum pa_frame_kind pa_pcap_decode_frame(int dlt, const uint8_t *p, size_t len,
                                        struct pa_tcp_seg *seg)
{
  struct pa_rd r;
  uint16_t type;
  uint32_t fam;

  pa_rd_init(&r, p, len);
  switch (dlt) {
  case DLT_EN10MB:
    if (pa_rd_skip(&r, 12) || pa_rd_u16be(&r, &type))
      return PA_FRAME_TRUNCATED;
    return decode_ethertype(&r, type, seg);
  case DLT_LINUX_SLL: /* type, ARPHRD, addr len, addr[8], protocol */
    if (pa_rd_skip(&r, 14) || pa_rd_u16be(&r, &type))
      return PA_FRAME_TRUNCATED;
    return decode_ethertype(&r, type, seg);
  case DLT_LINUX_SLL2: /* protocol, reserved, ifindex, ARPHRD, type, addr len, addr[8] */
    if (pa_rd_u16be(&r, &type) || pa_rd_skip(&r, 18))
      return PA_FRAME_TRUNCATED;
    return decode_ethertype(&r, type, seg);
  case DLT_NULL:
  case DLT_LOOP:
    /* address family in host order (NULL) or network order (LOOP); the
     * writer's host order is unknown, so accept either */
    if (pa_rd_u32le(&r, &fam))
      return PA_FRAME_TRUNCATED;
    if (fam > 0xffff)
      fam = __builtin_bswap32(fam);
    if (fam == 2)
      return decode_ip4(&r, seg);
    if (fam == 24 || fam == 28 || fam == 30)
      return decode_ip6(&r, seg);
    return PA_FRAME_OTHER;
  case DLT_RAW:
  case LINKTYPE_RAW:
  case DLT_IPV4:
  case DLT_IPV6:
    return decode_raw(&r, seg);
  }
  return PA_FRAME_OTHER;
}

/* ---------------------------------------------------------------------- */
/* Per-flow protocol handling                                              */

enum kind { K_SNIFF, K_DICOM, K_TLS, K_DONE };

struct src {
  const struct pa_sink *sink;
  const char *input;       /* file name or "iface:NAME", for messages */
  struct pa_pcap_stats *st;
  uint64_t pkt_no;         /* 1-based number of the frame being handled */
  uint64_t pkt_off;        /* its offset */
  const char *eof_why;     /* why flows still open at the end are closed */
  pa_rc fatal;             /* first sink error: stops everything */
};

struct pflow {
  struct pa_conn conn;     /* as tcp_reasm saw it (origin borrowed) */
  enum kind kind;
  uint8_t swap;            /* 1: the decoder's client is reasm's direction 1 */
  uint8_t no;              /* bit d: direction d is neither DICOM nor TLS */
  uint64_t bytes;          /* payload bytes delivered, both directions */
  pa_dicom *d;             /* K_DICOM: owned */
  struct pa_assoc *a;      /* K_TLS: owned */
  int64_t assoc_id;
  struct pa_buf sn[2];     /* K_SNIFF: first bytes of each direction, only
                              when one packet was not enough to decide */
};

static void set_fatal(struct src *s, pa_rc rc)
{
  if (rc && !s->fatal)
    s->fatal = rc;
}

static void swap_conn(struct pa_conn *c)
{
  char ip[PA_IP_STRLEN];
  uint16_t port;

  memcpy(ip, c->client_ip, sizeof ip);
  memcpy(c->client_ip, c->server_ip, sizeof ip);
  memcpy(c->server_ip, ip, sizeof ip);
  port = c->client_port;
  c->client_port = c->server_port;
  c->server_port = port;
}

static void drop_sniff(struct pflow *pf)
{
  pa_buf_cleanup(&pf->sn[0]);
  pa_buf_cleanup(&pf->sn[1]);
}

/* A decode error ends the association (one stderr line); a sink error ends
 * the run. Returns nonzero: stop the flow. */
static int feed_failed(struct src *s, struct pflow *pf, pa_rc rc,
                       const struct pa_err *e, int64_t ts)
{
  if (rc == PA_MALFORMED || rc == PA_LIMIT || rc == PA_NEED_MORE) {
    pa_log(PA_LOG_WARN, "%s: packet %llu (offset %llu): %s", s->input,
           (unsigned long long)s->pkt_no, (unsigned long long)s->pkt_off,
           e->msg[0] ? e->msg : pa_strerror(rc));
    s->st->anomalies++;
    set_fatal(s, pa_dicom_end(pf->d, e->msg[0] ? e->msg : pa_strerror(rc), ts));
  } else {
    set_fatal(s, rc);
  }
  pf->kind = K_DONE;
  return 1;
}

static int feed(struct src *s, struct pflow *pf, int dir, const uint8_t *p,
                size_t len, int64_t ts)
{
  struct pa_err e;
  pa_rc rc;

  pa_err_clear(&e);
  e.input = s->input;
  rc = pa_dicom_feed(pf->d, dir ^ pf->swap, p, len, ts, &e);
  return rc ? feed_failed(s, pf, rc, &e, ts) : 0;
}

static int start_dicom(struct src *s, struct pflow *pf, int dir,
                       const uint8_t *p, size_t len, int64_t ts)
{
  struct pa_conn conn = pf->conn;
  struct pa_buf other = pf->sn[dir ^ 1];
  int other_ok = !(pf->no & (1u << (dir ^ 1)));
  int stop;

  pf->swap = (uint8_t)dir;
  if (pf->swap)
    swap_conn(&conn);
  if (pa_dicom_new(&conn, s->sink, &pf->d)) {
    set_fatal(s, PA_NOMEM);
    pf->kind = K_DONE;
    drop_sniff(pf);
    return 1;
  }
  s->st->dicom++;
  pf->kind = K_DICOM;
  /* p may point into sn[dir]: free the buffers only after feeding */
  stop = feed(s, pf, dir, p, len, ts);
  if (!stop && other_ok && other.len)
    stop = feed(s, pf, dir ^ 1, other.p, other.len, ts);
  drop_sniff(pf);
  return stop;
}

static int start_tls(struct src *s, struct pflow *pf, int dir,
                     const struct pa_tls_hello *th, int64_t ts)
{
  struct pa_assoc *a = calloc(1, sizeof *a);
  struct pa_event ev;
  pa_rc rc;

  drop_sniff(pf);
  pf->kind = K_DONE;
  if (!a) {
    set_fatal(s, PA_NOMEM);
    return 1;
  }
  pf->a = a;
  pf->swap = (uint8_t)dir;
  a->conn = pf->conn;
  if (pf->swap)
    swap_conn(&a->conn);
  a->started_at = ts;
  a->result = "incomplete";
  a->tls = 1;
  a->bytes = pf->bytes;
  if (th)
    memcpy(a->tls_server_name, th->server_name, sizeof a->tls_server_name);
  s->st->tls++;
  rc = s->sink->assoc_begin ? s->sink->assoc_begin(s->sink->ctx, a, &pf->assoc_id) : PA_OK;
  if (rc) {
    set_fatal(s, rc);
    return 1;
  }
  if (pf->assoc_id == 0)
    return 1; /* already stored: nothing more for it */
  pa_event_init(&ev);
  ev.ts = ts;
  ev.received_ts = ts;
  ev.source = "dicom";
  ev.origin = a->conn.origin;
  ev.event_code = "ASSOC:start";
  ev.src_ip = a->conn.client_ip;
  ev.dst_ip = a->conn.server_ip;
  ev.secure = 1;
  ev.assoc_id = pf->assoc_id;
  rc = s->sink->event ? s->sink->event(s->sink->ctx, &ev) : PA_OK;
  if (rc) {
    set_fatal(s, rc);
    return 1;
  }
  pf->kind = K_TLS;
  return 0;
}

/* Direction dir can be neither DICOM nor TLS; stop when both are. */
static int judged_no(struct pflow *pf, int dir)
{
  pf->no |= (uint8_t)(1u << dir);
  pa_buf_cleanup(&pf->sn[dir]);
  if (pf->no == 3) {
    pf->kind = K_DONE;
    drop_sniff(pf);
    return 1;
  }
  return 0;
}

static int sniff(struct src *s, struct pflow *pf, int dir, const uint8_t *p,
                 size_t len, int64_t ts)
{
  struct pa_buf *b = &pf->sn[dir];
  struct pa_tls_hello th;
  int dv, tv;

  if (pf->no & (1u << dir))
    return 0;
  if (b->len) {
    size_t room = PA_SNIFF_MAX - b->len;
    if (pa_buf_append(b, p, len < room ? len : room))
      return judged_no(pf, dir);
    p = b->p;
    len = b->len;
  }
  dv = pa_dicom_sniff(p, len);
  if (dv == 1)
    return start_dicom(s, pf, dir, p, len, ts);
  tv = pa_tls_sniff(p, len);
  if (tv == 1) {
    switch (pa_tls_hello_parse(p, len, &th)) {
    case PA_OK: return start_tls(s, pf, dir, &th, ts);
    case PA_LIMIT: return start_tls(s, pf, dir, NULL, ts); /* TLS, SNI unknown */
    case PA_NEED_MORE: tv = -1; break;
    default: tv = 0; break;
    }
  }
  if (dv == 0 && tv == 0)
    return judged_no(pf, dir);
  /* undecided: keep the bytes (copied only in this rare case) */
  if (b->len == 0 && pa_buf_append(b, p, len < PA_SNIFF_MAX ? len : PA_SNIFF_MAX))
    return judged_no(pf, dir);
  if (b->len >= PA_SNIFF_MAX)
    return judged_no(pf, dir);
  return 0;
}

/* tcp_reasm callbacks */

/* Ownership: the pflow returned is freed by on_close. */
static void *on_open(void *ctx, const struct pa_conn *conn)
{
  struct src *s = ctx;
  struct pflow *pf = calloc(1, sizeof *pf);

  if (!pf) {
    set_fatal(s, PA_NOMEM);
    return NULL;
  }
  pf->conn = *conn;
  pf->kind = K_SNIFF;
  pa_buf_init(&pf->sn[0], PA_SNIFF_MAX);
  pa_buf_init(&pf->sn[1], PA_SNIFF_MAX);
  s->st->flows++;
  return pf;
}

static int on_data(void *ctx, void *user, int dir, const uint8_t *p, size_t len, int64_t ts)
{
  struct src *s = ctx;
  struct pflow *pf = user;

  pf->bytes += len;
  if (s->fatal)
    return 1;
  switch (pf->kind) {
  case K_DICOM: return feed(s, pf, dir, p, len, ts);
  case K_TLS: return 0; /* only counting bytes */
  case K_SNIFF: return sniff(s, pf, dir, p, len, ts);
  case K_DONE: break;
  }
  return 1;
}

static void on_gap(void *ctx, void *user, int dir, uint64_t n, int64_t ts)
{
  struct src *s = ctx;
  struct pflow *pf = user;

  s->st->gaps++;
  s->st->gap_bytes += n;
  if (pf->kind == K_DICOM)
    pa_dicom_gap(pf->d, dir ^ pf->swap, n, ts);
  else if (pf->kind == K_SNIFF)
    judged_no(pf, dir); /* cannot recognise a stream with a hole in it */
}

static const char *close_why(const struct src *s, enum pa_reasm_reason why)
{
  switch (why) {
  case PA_REASM_FIN: return "connection closed";
  case PA_REASM_RST: return "connection reset";
  case PA_REASM_IDLE: return "idle timeout";
  case PA_REASM_EVICTED: return "flow table full";
  case PA_REASM_EOF: break;
  }
  return s->eof_why;
}

static void on_close(void *ctx, void *user, enum pa_reasm_reason why, int64_t ts)
{
  struct src *s = ctx;
  struct pflow *pf = user;

  if (pf->d) {
    if (!s->fatal)
      set_fatal(s, pa_dicom_end(pf->d, close_why(s, why), ts));
    pa_dicom_free(pf->d);
  }
  if (pf->a) {
    struct pa_assoc *a = pf->a;
    if (!s->fatal && pf->assoc_id) {
      a->ended_at = ts;
      a->bytes = pf->bytes;
      if (why == PA_REASM_FIN) {
        a->result = "released";
      } else if (why == PA_REASM_RST) {
        a->result = "aborted";
        snprintf(a->reject_reason, sizeof a->reject_reason, "%s", close_why(s, why));
      } else {
        a->result = "incomplete";
        snprintf(a->reject_reason, sizeof a->reject_reason, "%s", close_why(s, why));
      }
      if (s->sink->assoc_update)
        set_fatal(s, s->sink->assoc_update(s->sink->ctx, pf->assoc_id, a));
    }
    free(a);
  }
  drop_sniff(pf);
  free(pf);
}

/* ---------------------------------------------------------------------- */
/* The read loop                                                           */

struct run {
  pcap_t *p;
  FILE *fp;                /* offline: the capture file (owned by p) */
  int dlt;
  struct bpf_program prog;
  int have_prog;
  pa_reasm *r;
  struct src s;
  const struct pa_pcap_opts *o;
  uint64_t total;          /* file size, 0 unknown */
  int classic;             /* fp is a classic pcap file (not pcapng) */
  char *iobuf;             /* fp's stdio buffer: freed after fp is closed */
  volatile sig_atomic_t *stop;
  int live_fd;             /* live: pcap's selectable fd, -1 none */
};

static int64_t ts_us(const struct timeval *tv)
{
  return (int64_t)tv->tv_sec * 1000000 + tv->tv_usec;
}

static void handle_frame(struct run *u, const struct pcap_pkthdr *h, const uint8_t *data)
{
  struct pa_tcp_seg seg;
  struct pa_pcap_stats *st = u->s.st;

  if (u->have_prog && !pcap_offline_filter(&u->prog, h, data))
    return;
  switch (pa_pcap_decode_frame(u->dlt, data, h->caplen, &seg)) {
  case PA_FRAME_TCP:
    st->tcp_packets++;
    if (pa_reasm_packet(u->r, &seg, ts_us(&h->ts)))
      set_fatal(&u->s, PA_NOMEM);
    return;
  case PA_FRAME_TRUNCATED:
    st->truncated++;
    break;
  case PA_FRAME_FRAGMENT:
    st->fragments++;
    break;
  case PA_FRAME_MALFORMED:
    st->malformed++;
    break;
  case PA_FRAME_OTHER:
    break;
  }
  st->skipped++;
}

static pa_rc set_filter(struct run *u, const char *bpf, struct pa_err *err)
{
  if (!bpf || !*bpf)
    return PA_OK;
  if (pcap_compile(u->p, &u->prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "bad BPF filter \"%s\": %s", bpf,
                      pcap_geterr(u->p));
  u->have_prog = 1;
  return PA_OK;
}

static pa_rc run_init(struct run *u, const struct pa_sink *sink, const char *input,
                      struct pa_pcap_stats *st)
{
  struct pa_reasm_cb cb = {0};

  memset(st, 0, sizeof *st);
  u->s.sink = sink;
  u->s.input = input;
  u->s.st = st;
  u->s.eof_why = "end of capture";
  cb.ctx = &u->s;
  cb.open = on_open;
  cb.data = on_data;
  cb.gap = on_gap;
  cb.close = on_close;
  return pa_reasm_new(&cb, input, &u->r);
}

static void run_cleanup(struct run *u)
{
  if (u->r) {
    pa_reasm_flush(u->r, PA_REASM_EOF, 0);
    pa_reasm_free(u->r);
    u->r = NULL;
  }
  if (u->have_prog)
    pcap_freecode(&u->prog);
  if (u->p)
    pcap_close(u->p); /* closes fp too */
  else if (u->fp)
    fclose(u->fp);
  u->p = NULL;
  u->fp = NULL;
  free(u->iobuf);
  u->iobuf = NULL;
}

/* Reads until the end, an error, *stop or a sink error. */
static pa_rc run_loop(struct run *u, struct pa_err *err)
{
  struct pa_pcap_stats *st = u->s.st;
  uint64_t next_progress = PROGRESS_STEP, off = 0;
  struct pcap_pkthdr *h;
  const u_char *data;

  if (u->classic)
    off = 24; /* the file header */
  for (;;) {
    int rc;

    if (u->fp && !u->classic) {
      long pos = ftell(u->fp);
      off = pos >= 0 ? (uint64_t)pos : off;
    }
    rc = pcap_next_ex(u->p, &h, &data);
    if (rc == 1) {
      st->packets++;
      u->s.pkt_no = st->packets;
      u->s.pkt_off = off;
      if (u->classic)
        off += 16 + (uint64_t)h->caplen;
      else if (!u->fp)
        off += h->caplen;
      handle_frame(u, h, data);
      if (u->s.fatal)
        return u->s.fatal;
      if (u->fp && u->o && u->o->progress && off >= next_progress) {
        next_progress = off + PROGRESS_STEP;
        u->o->progress(u->o->progress_ctx, off, u->total);
      }
    } else if (rc == 0) { /* live, non-blocking: nothing yet */
      struct timeval now;
      struct pollfd pfd = {.fd = u->live_fd, .events = POLLIN};
      /* wait here, not in libpcap, so that *stop is seen even when no
       * packet comes (TPACKET_V3 may block until a packet arrives) */
      if (u->live_fd >= 0)
        (void)poll(&pfd, 1, LIVE_POLL_MS);
      gettimeofday(&now, NULL);
      pa_reasm_expire(u->r, ts_us(&now));
      if (u->o && u->o->tick)
        u->o->tick(u->o->tick_ctx);
    } else if (rc == PCAP_ERROR_BREAK) {
      break; /* end of file */
    } else {
      pa_log(PA_LOG_ERROR, "%s: packet %llu (offset %llu): %s", u->s.input,
             (unsigned long long)st->packets + 1, (unsigned long long)off,
             pcap_geterr(u->p));
      pa_err_set(err, u->fp ? PA_MALFORMED : PA_IO, off, st->packets + 1, "%s",
                 pcap_geterr(u->p));
      err->input = u->s.input;
      st->anomalies++;
      u->s.eof_why = "capture truncated";
      return u->fp ? PA_MALFORMED : PA_IO;
    }
    if (u->stop && *u->stop)
      break;
  }
  if (u->fp) {
    long pos = ftell(u->fp);
    if (pos >= 0)
      off = (uint64_t)pos;
  }
  st->bytes = off;
  if (u->fp && u->o && u->o->progress)
    u->o->progress(u->o->progress_ctx, off, u->total);
  return PA_OK;
}

pa_rc pa_pcap_read_file(const char *path, const struct pa_sink *sink,
                        const struct pa_pcap_opts *o, struct pa_pcap_stats *st,
                        struct pa_err *err)
{
  struct run u;
  char ebuf[PCAP_ERRBUF_SIZE];
  uint8_t magic[4];
  struct stat sb;
  pa_rc rc;

  memset(&u, 0, sizeof u);
  u.o = o;
  pa_err_clear(err);
  err->input = path;
  rc = run_init(&u, sink, path, st);
  if (rc)
    return pa_err_set(err, rc, UINT64_MAX, 0, "%s", pa_strerror(rc));
  u.fp = fopen(path, "rb");
  if (!u.fp) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "cannot open: %s", strerror(errno));
    goto out;
  }
  /* stdio's default 4 KB buffer means one read() per few frames (glibc
   * ignores the size unless it is given the buffer) */
  u.iobuf = malloc(READ_BUF);
  if (u.iobuf)
    setvbuf(u.fp, u.iobuf, _IOFBF, READ_BUF);
  if (fstat(fileno(u.fp), &sb) == 0 && S_ISREG(sb.st_mode))
    u.total = (uint64_t)sb.st_size;
  /* classic pcap: record offsets by arithmetic; pcapng: ftell per frame
   * (which costs an lseek in glibc) */
  if (fread(magic, 1, 4, u.fp) == 4 && !(magic[0] == 0x0a && magic[1] == 0x0d &&
                                          magic[2] == 0x0d && magic[3] == 0x0a))
    u.classic = 1;
  rewind(u.fp);
  ebuf[0] = 0;
  u.p = pcap_fopen_offline_with_tstamp_precision(u.fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
  if (!u.p) {
    rc = pa_err_set(err, PA_IO, 0, 0, "not a capture file: %s", ebuf);
    goto out;
  }
  u.dlt = pcap_datalink(u.p);
  rc = set_filter(&u, o ? o->bpf : NULL, err);
  if (rc)
    goto out;
  rc = run_loop(&u, err);
out:
  if (rc && u.s.fatal == PA_OK && rc != PA_MALFORMED)
    u.s.fatal = rc; /* flows are only freed, not ended, on hard errors */
  run_cleanup(&u);
  if (rc == PA_OK && u.s.fatal)
    rc = u.s.fatal; /* a sink error while flushing */
  return rc;
}

pa_rc pa_pcap_live(const char *iface, const char *bpf, const struct pa_sink *sink,
                   const struct pa_pcap_opts *o, volatile sig_atomic_t *stop,
                   struct pa_pcap_stats *st, struct pa_err *err)
{
  struct run u;
  char ebuf[PCAP_ERRBUF_SIZE], label[128];
  pa_rc rc;
  int prc;

  memset(&u, 0, sizeof u);
  u.stop = stop;
  u.o = o;
  snprintf(label, sizeof label, "iface:%s", iface ? iface : "any");
  pa_err_clear(err);
  rc = run_init(&u, sink, label, st);
  if (rc)
    return pa_err_set(err, rc, UINT64_MAX, 0, "%s", pa_strerror(rc));
  ebuf[0] = 0;
  u.p = pcap_create(iface ? iface : "any", ebuf);
  if (!u.p) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "cannot capture on %s: %s", label, ebuf);
    goto out;
  }
  pcap_set_snaplen(u.p, 262144);
  pcap_set_timeout(u.p, LIVE_POLL_MS); /* ms: lets *stop and idle expiry be seen */
  pcap_set_buffer_size(u.p, 16 * 1024 * 1024);
  prc = pcap_activate(u.p);
  if (prc < 0) {
    rc = pa_err_set(err, PA_IO, UINT64_MAX, 0, "cannot capture on %s: %s", label,
                    pcap_geterr(u.p));
    goto out;
  }
  u.dlt = pcap_datalink(u.p);
  u.live_fd = pcap_get_selectable_fd(u.p);
  if (u.live_fd < 0 || pcap_setnonblock(u.p, 1, ebuf) != 0)
    u.live_fd = -1; /* falls back to libpcap's own timeout */
  /* in the kernel, so that unwanted traffic is never copied */
  if (bpf && *bpf) {
    rc = set_filter(&u, bpf, err);
    if (rc)
      goto out;
    if (pcap_setfilter(u.p, &u.prog) != 0) {
      rc = pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "cannot set filter: %s",
                      pcap_geterr(u.p));
      goto out;
    }
    pcap_freecode(&u.prog);
    u.have_prog = 0;
  }
  if (o && o->ready)
    o->ready(o->tick_ctx);
  rc = run_loop(&u, err);
out:
  if (rc && u.s.fatal == PA_OK)
    u.s.fatal = rc;
  u.s.eof_why = "capture stopped";
  run_cleanup(&u);
  if (rc == PA_OK && u.s.fatal)
    rc = u.s.fatal;
  return rc;
}
