/* syslog_listen.h — the syslog listener: UDP (RFC 5426), TCP (RFC 6587,
 * octet counting and LF framing) and TLS (RFC 5425, optional client
 * certificates) on any number of endpoints, in one poll loop.
 *
 * A thin I/O driver: it frames the streams (pa_syslog_framer) and hands each
 * complete message to its consumer; parsing and storing are the consumer's.
 * Other file descriptors (a live capture) can join the same loop. */
#ifndef PA_SYSLOG_LISTEN_H
#define PA_SYSLOG_LISTEN_H

#include "../analyzer/err.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef struct pa_listen pa_listen;

enum pa_listen_transport { PA_LISTEN_UDP, PA_LISTEN_TCP, PA_LISTEN_TLS };

/* One message as received. Everything is borrowed for the callback. */
struct pa_listen_msg {
  const uint8_t *p;
  size_t len;
  const char *endpoint;   /* the listening URL, e.g. "tcp://127.0.0.1:5514" */
  const char *peer;       /* "ADDR:PORT" ("[ADDR]:PORT" for IPv6) */
  const char *tls_peer;   /* client certificate subject CN, or NULL */
  uint64_t offset;        /* stream offset in the connection, 0 for UDP */
  int64_t received_ts;    /* µs UTC */
  enum pa_listen_transport transport;
  int endpoint_index;     /* order of pa_listen_add, from 0 */
};

struct pa_listen_ops {
  void *ctx;
  /* A complete message. */
  void (*message)(void *ctx, const struct pa_listen_msg *m);
  /* Bytes that are no good frame (garbage, a partial frame at close, a
   * frame over the cap), with why; for quarantine. */
  void (*bad)(void *ctx, const struct pa_listen_msg *m, const char *why);
  /* Called at least every 100 ms while running (time-bounded commits). */
  void (*tick)(void *ctx);
};

struct pa_listen_stats {
  uint64_t messages;      /* frames handed to message() */
  uint64_t bad;           /* frames handed to bad() */
  uint64_t bytes;         /* payload bytes received */
  uint64_t connections;   /* TCP/TLS connections accepted */
  uint64_t dropped;       /* connections dropped: garbage, handshake failure, over limit */
};

/* ops is copied. Free with pa_listen_free. PA_OK or PA_NOMEM. */
pa_rc pa_listen_new(const struct pa_listen_ops *ops, pa_listen **out);
void pa_listen_free(pa_listen *l);

/* TLS material for tls:// endpoints (before adding them): a PEM certificate
 * (chain) and key; with ca, clients must present a certificate signed by it
 * (mutual TLS, as ATNA secure nodes use). TLS 1.2 and 1.3 only. */
pa_rc pa_listen_tls(pa_listen *l, const char *cert, const char *key, const char *ca,
                    struct pa_err *err);

/* Binds udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT. HOST may be
 * empty (all addresses), a name, an IPv4 address or [IPv6]; PORT 0 takes a
 * free port. The bound URL (with the real port) is written to bound_out
 * (size bound_len) when not NULL. */
pa_rc pa_listen_add(pa_listen *l, const char *url, char *bound_out, size_t bound_len,
                    struct pa_err *err);

/* Adds a descriptor to the loop: ready(ctx) is called when it is readable. */
pa_rc pa_listen_add_fd(pa_listen *l, int fd, void (*ready)(void *ctx), void *ctx);

/* Runs until *stop becomes nonzero (set it from a signal handler). Then
 * what the kernel holds is read and handed out first (queued connections,
 * each connection's receive queue, waiting datagrams: TCP acknowledged
 * those bytes already), and open connections are closed and their partial
 * frames handed to bad().
 * The caller must ignore SIGPIPE: a TLS close_notify to a vanished client
 * is written with no MSG_NOSIGNAL. Clients are served in turns (a bounded
 * number of reads each per round), silent ones are closed after 10 minutes,
 * and at 1024 clients the one silent longest (a minute or more) makes room.
 * Returns PA_OK, or PA_IO if the loop itself failed. */
pa_rc pa_listen_run(pa_listen *l, volatile sig_atomic_t *stop);

void pa_listen_get_stats(const pa_listen *l, struct pa_listen_stats *out);
/* Connections dropped on endpoint ep (garbage, handshake failure, too many
 * clients). */
uint64_t pa_listen_endpoint_dropped(const pa_listen *l, int ep);

#endif
