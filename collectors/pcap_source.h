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
};

struct pa_pcap_opts {
  const char *bpf;       /* optional BPF filter, NULL for none */
  /* called now and then with bytes done / total (total 0 if unknown) */
  void (*progress)(void *ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
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

#endif
