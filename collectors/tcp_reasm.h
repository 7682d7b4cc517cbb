/* tcp_reasm.h — TCP reassembly: decoded segments in, two in-order byte
 * streams per connection out.
 *
 * Sits between the capture driver (pcap_source, which decodes link/IP/TCP
 * into a struct pa_tcp_seg) and the protocol decoders (dicom_ul). It keeps a
 * bounded flow table keyed on the 5-tuple (IPv4 and IPv6) and, per
 * direction, delivers every payload byte once and in sequence order.
 *
 * Behaviour (the contract):
 * - Flows. A flow is created by a SYN or by a segment carrying payload; a
 *   bare ACK/FIN/RST of an unknown flow is ignored (so the last ACK after a
 *   close does not open a new flow). At most PA_MAX_FLOWS live flows: when
 *   the table is full the least recently active flow is closed with
 *   PA_REASM_EVICTED to make room.
 * - Client. The sender of a SYN without ACK; the receiver of a SYN+ACK;
 *   otherwise (pickup mid-stream) the sender of the flow's first segment.
 *   Direction 0 is client->server, 1 server->client.
 * - Order. Sequence numbers compare with serial arithmetic (RFC 1982), so
 *   wraparound is fine. Retransmitted bytes are dropped, overlaps trimmed:
 *   each byte is delivered once (the first copy seen wins). Without a SYN
 *   the first segment seen in a direction sets where that stream starts.
 * - Out of order. Segments ahead of the expected sequence number are copied
 *   and held, up to PA_REASM_OOO_MAX bytes and PA_REASM_OOO_SEGS segments
 *   per direction. GAP POLICY: when a new segment would exceed either cap,
 *   the hole before the lowest held (or new) segment is declared lost: gap()
 *   is called with the number of missing bytes and the stream continues from
 *   there (it does not stop; the consumer decides whether it can go on).
 * - Zero copy. A segment that is exactly in order is handed to data() with
 *   the packet's own payload pointer; only out-of-order segments are copied.
 * - Close. RST closes at once (PA_REASM_RST). A FIN is recorded at its
 *   sequence number; once both directions have delivered everything up to
 *   their FIN the flow closes (PA_REASM_FIN). Flows idle for PA_FLOW_IDLE_US
 *   of capture time close with PA_REASM_IDLE (checked at most once per second
 *   of capture time, from the least recently active end, so it is cheap).
 *   pa_reasm_flush closes everything (PA_REASM_EOF at end of input). Before
 *   close(), held out-of-order data is delivered, with gap() for each hole.
 * - Time-wait. A flow closed by FIN or RST is remembered (the last
 *   PA_MAX_TIME_WAIT of them) for PA_TIME_WAIT_US of capture time. Until
 *   then a segment of it other than a SYN (a late retransmission, data sent
 *   before the peer saw the RST) is dropped and counted in late_segs; a SYN
 *   on the same ports starts a new flow at once.
 * - Ignored flows. open() returning NULL keeps only the fixed-size flow
 *   record (no payload is held) so that later segments are not taken for a
 *   new flow; it goes away on FIN/RST/idle/eviction/flush, without close().
 * - Stop. data() returning nonzero stops delivery (and frees held data) for
 *   that flow; close() still comes, once, when the flow ends.
 *
 * Memory is bounded by the live flows (fixed record each, plus at most
 * PA_REASM_OOO_MAX held bytes per direction) and the fixed time-wait ring,
 * never by the capture size.
 * Callbacks must not call back into the same pa_reasm. */
#ifndef PA_TCP_REASM_H
#define PA_TCP_REASM_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pa_reasm pa_reasm;

/* TCP flag bits, as in the TCP header. */
#define PA_TCP_FIN 0x01
#define PA_TCP_SYN 0x02
#define PA_TCP_RST 0x04
#define PA_TCP_PSH 0x08
#define PA_TCP_ACK 0x10

/* One decoded TCP segment. Addresses are in network byte order; IPv4 uses
 * the first 4 bytes of src/dst (the rest must be zero). */
struct pa_tcp_seg {
  uint8_t family;          /* 4 or 6 */
  uint8_t flags;           /* PA_TCP_* */
  uint16_t sport, dport;   /* host byte order */
  uint8_t src[16], dst[16];
  uint32_t seq, ack;       /* host byte order */
  const uint8_t *payload;  /* borrowed: valid for the pa_reasm_packet call */
  size_t len;              /* payload bytes */
};

enum pa_reasm_reason {
  PA_REASM_FIN,     /* FIN from both sides, everything before them delivered */
  PA_REASM_RST,     /* reset */
  PA_REASM_IDLE,    /* no packet for PA_FLOW_IDLE_US of capture time */
  PA_REASM_EVICTED, /* flow table full: least recently active flow */
  PA_REASM_EOF      /* pa_reasm_flush: end of input */
};

/* Static name of a reason: "fin" "rst" "idle" "evicted" "eof". */
const char *pa_reasm_reason_name(enum pa_reasm_reason why);

struct pa_reasm_cb {
  void *ctx; /* passed to every callback */
  /* A new flow. conn is borrowed for the call (conn->origin is the origin
   * given to pa_reasm_new). Returns the flow's user pointer, or NULL to
   * ignore the flow. */
  void *(*open)(void *ctx, const struct pa_conn *conn);
  /* In-order bytes of direction dir (0 client->server, 1 server->client).
   * p is borrowed for the call (the packet itself on the fast path). ts is
   * the time (us) of the packet that completed them. Return 0 to go on,
   * nonzero to stop delivery for this flow. */
  int (*data)(void *ctx, void *user, int dir, const uint8_t *p, size_t len,
              int64_t ts);
  /* missing bytes of direction dir were lost; delivery resumes after them.
   * May be NULL. */
  void (*gap)(void *ctx, void *user, int dir, uint64_t missing, int64_t ts);
  /* The flow is over; called once for every non-NULL user pointer. The
   * callee frees what user owns. */
  void (*close)(void *ctx, void *user, enum pa_reasm_reason why, int64_t ts);
};

struct pa_reasm_stats {
  uint64_t flows;        /* flows opened */
  uint64_t live;         /* flows in the table now */
  uint64_t closed_fin, closed_rst, closed_idle, evicted, closed_eof;
  uint64_t gaps;         /* gap() calls */
  uint64_t gap_bytes;    /* bytes declared missing */
  uint64_t dup_bytes;    /* retransmitted / overlapping bytes dropped */
  uint64_t ooo_segs;     /* segments held out of order */
  uint64_t nomem;        /* segments dropped for lack of memory */
  uint64_t late_segs;    /* segments of a flow closed by FIN or RST, dropped */
  uint64_t late_bytes;   /* their payload bytes */
};

/* A reassembler. cb is copied; origin is borrowed (it must outlive r) and is
 * put in every pa_conn. Free with pa_reasm_free. Returns PA_OK or
 * PA_NOMEM. */
pa_rc pa_reasm_new(const struct pa_reasm_cb *cb, const char *origin,
                   pa_reasm **out);

/* Feeds one segment captured at ts (us since epoch). Returns PA_OK, or
 * PA_NOMEM when a new flow could not be allocated (the segment is dropped).
 * Held out-of-order data that cannot be allocated is dropped and counted in
 * stats.nomem (it shows up later as a gap). */
pa_rc pa_reasm_packet(pa_reasm *r, const struct pa_tcp_seg *s, int64_t ts);

/* Closes flows idle for PA_FLOW_IDLE_US as of now (for a live capture with
 * no traffic; pa_reasm_packet does this by itself). */
void pa_reasm_expire(pa_reasm *r, int64_t now);

/* Closes every flow with reason why (PA_REASM_EOF at the end of input),
 * delivering held data first. ts is passed to close(); 0 means the time of
 * the latest packet seen. The reassembler stays usable. */
void pa_reasm_flush(pa_reasm *r, enum pa_reasm_reason why, int64_t ts);

void pa_reasm_get_stats(const pa_reasm *r, struct pa_reasm_stats *out);

/* Frees r and every flow it holds WITHOUT calling close(): call
 * pa_reasm_flush first to hand the user pointers back. NULL ok. */
void pa_reasm_free(pa_reasm *r);

#endif
