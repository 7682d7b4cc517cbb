/* pcap_source.h — the capture driver: libpcap in, DICOM records out.
 *
 * Reads pcap/pcapng files (or, later, a live interface), decodes the link,
 * IP and TCP layers, reassembles TCP (tcp_reasm), recognises DICOM by its
 * A-ASSOCIATE-RQ on any port and TLS by its ClientHello, and drives one
 * dicom_ul decoder per DICOM connection. Records go to a pa_sink. */
#ifndef PA_PCAP_SOURCE_H
#define PA_PCAP_SOURCE_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"
#include "tcp_reasm.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

struct pa_pcap_stats {
  uint64_t packets;      /* frames read */
  uint64_t bytes;        /* bytes of the file consumed */
  uint64_t tcp_packets;  /* frames that carried TCP */
  uint64_t skipped;      /* frames not IP/TCP, or truncated by the snap length */
  uint64_t flows;        /* TCP flows seen */
  uint64_t dicom;        /* connections recognised as DICOM */
  uint64_t tls;          /* connections recognised as TLS */
  uint64_t anomalies;    /* decode errors reported (one stderr line each) */
  /* Added fields (breakdown of skipped, and reassembly). */
  uint64_t fragments;    /* non-first IP fragments skipped */
  uint64_t truncated;    /* frames cut short by the snap length */
  uint64_t malformed;    /* frames with a bogus link/IP/TCP header */
  uint64_t gaps;         /* TCP stream gaps (bytes lost in the capture) */
  uint64_t gap_bytes;
};

struct pa_pcap_opts {
  const char *bpf;       /* optional BPF filter, NULL for none */
  /* called now and then with bytes done / total (total 0 if unknown) */
  void (*progress)(void *ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
  /* live capture: called at least every 100 ms, packets or not (lets the
   * caller commit by time); NULL for none */
  void (*tick)(void *ctx);
  void *tick_ctx;
  /* live capture: called once the interface is capturing (filter set) */
  void (*ready)(void *ctx);
};

/* Reads one capture file to its end. Per-packet problems (truncated frame,
 * malformed PDU, ...) are reported on stderr as one line naming the file,
 * packet number, file offset and cause, counted in st->anomalies, and ingest
 * goes on. Returns PA_OK, PA_IO (cannot open / not a capture: err says why),
 * PA_MALFORMED (capture truncated or corrupt: what was read before is kept
 * and emitted, err says where), or a sink error. */
pa_rc pa_pcap_read_file(const char *path, const struct pa_sink *sink,
                        const struct pa_pcap_opts *o, struct pa_pcap_stats *st,
                        struct pa_err *err);

/* What one link-layer frame is, for pa_pcap_decode_frame. */
enum pa_frame_kind {
  PA_FRAME_TCP,       /* a TCP segment: *seg filled */
  PA_FRAME_OTHER,     /* not IPv4/IPv6 TCP (ARP, UDP, ICMP, jumbogram, ...) */
  PA_FRAME_FRAGMENT,  /* a non-first IP fragment */
  PA_FRAME_TRUNCATED, /* headers or the IP datagram go past the captured bytes */
  PA_FRAME_MALFORMED  /* a header field is impossible (IHL < 5, ...) */
};

/* Decodes one frame of link type dlt (a DLT_ value: EN10MB with stacked
 * 802.1Q/802.1ad tags, LINUX_SLL, LINUX_SLL2, NULL, LOOP, RAW, IPV4, IPV6)
 * down to TCP. Pure: no I/O, no allocation. seg->payload points into p and
 * is trimmed to the IP length (Ethernet padding dropped). A first fragment
 * is decoded with the payload it carries. Returns the frame's kind; *seg is
 * meaningful only for PA_FRAME_TCP. */
enum pa_frame_kind pa_pcap_decode_frame(int dlt, const uint8_t *p, size_t len,
                                        struct pa_tcp_seg *seg);

/* Live capture on iface (NULL: the default device) with an optional BPF
 * filter, until *stop becomes nonzero or a sink error. Like
 * pa_pcap_read_file otherwise; the packet "offset" in messages is the byte
 * count received. Returns PA_OK when stopped, PA_IO when the interface
 * cannot be opened (err says why), or a sink error. */
pa_rc pa_pcap_live(const char *iface, const char *bpf, const struct pa_sink *sink,
                   const struct pa_pcap_opts *o, volatile sig_atomic_t *stop,
                   struct pa_pcap_stats *st,
                   struct pa_err *err);

#endif
