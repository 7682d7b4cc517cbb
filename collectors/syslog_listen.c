/* syslog_listen.c — the syslog listener (see syslog_listen.h). */
#define _GNU_SOURCE /* accept4 */
#include "syslog_listen.h"
#include "syslog.h"

#include "../analyzer/log.h"
#include "../analyzer/tm.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ENDPOINTS 16
#define MAX_FDS 8
#define MAX_CONNS 1024          /* TCP/TLS clients at once; more are refused */
#define HANDSHAKE_US (10LL * 1000000) /* a TLS handshake must finish within this */
#define TICK_US (100LL * 1000)
#define READ_CHUNK (64 * 1024)
#define READS_PER_ROUND 16      /* reads from one client before the others get a turn */
#define IDLE_US (600LL * 1000000) /* a connected client silent this long is closed */
#define EVICT_IDLE_US (60LL * 1000000) /* when full, a client silent this long makes room */
#define ACCEPT_PAUSE_US (1000LL * 1000) /* out of descriptors: stop accepting this long */

struct endpoint {
  int fd;
  enum pa_listen_transport transport;
  char url[160];
  uint64_t dropped;   /* connections dropped */
  int64_t paused_until; /* µs: accept() ran out of descriptors; retry then */
};

struct conn {
  int fd;
  int ep;                        /* endpoint index */
  SSL *ssl;                      /* TLS only, owned */
  int handshaking;               /* TLS handshake not finished */
  int want_write;                /* TLS wants POLLOUT to go on */
  int tls_ok;                    /* handshake done, no fatal TLS error: shutdown may be sent */
  int more;                      /* stopped reading at READS_PER_ROUND: data may be waiting */
  int64_t since;                 /* accept time, µs */
  int64_t last;                  /* last bytes received, µs */
  int64_t last_msg;              /* last whole message (or bad frame) handed out, µs */
  char peer[64];
  char tls_peer[128];
  struct pa_syslog_framer framer;/* owned */
  int drop;                      /* close after this round */
};

struct extra_fd {
  int fd;
  void (*ready)(void *ctx);
  void *ctx;
};

struct pa_listen {
  struct pa_listen_ops ops;
  struct endpoint ep[MAX_ENDPOINTS];
  int n_ep;
  struct conn *conns[MAX_CONNS]; /* owned; NULL slots are free */
  int n_conns;
  struct extra_fd extra[MAX_FDS];
  int n_extra;
  SSL_CTX *tls;                  /* owned */
  struct pa_listen_stats st;
  uint8_t buf[READ_CHUNK + 1];
};

pa_rc pa_listen_new(const struct pa_listen_ops *ops, pa_listen **out)
{
  pa_listen *l = calloc(1, sizeof *l);
  *out = NULL;
  if (!l)
    return PA_NOMEM;
  l->ops = *ops;
  *out = l;
  return PA_OK;
}

static void set_nonblock(int fd)
{
  int fl = fcntl(fd, F_GETFL);
  if (fl >= 0)
    fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void peer_name(const struct sockaddr_storage *sa, char *out, size_t len)
{
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (sa->ss_family == AF_INET) {
    const struct sockaddr_in *s4 = (const void *)sa;
    inet_ntop(AF_INET, &s4->sin_addr, host, sizeof host);
    port = ntohs(s4->sin_port);
    snprintf(out, len, "%s:%u", host, port);
  } else if (sa->ss_family == AF_INET6) {
    const struct sockaddr_in6 *s6 = (const void *)sa;
    inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof host);
    port = ntohs(s6->sin6_port);
    snprintf(out, len, "[%s]:%u", host, port);
  } else {
    snprintf(out, len, "?");
  }
}

static const char *ssl_error_text(void)
{
  static char text[200];
  unsigned long e = ERR_get_error();
  if (!e)
    return "unknown TLS error";
  ERR_error_string_n(e, text, sizeof text);
  ERR_clear_error();
  return text;
}

pa_rc pa_listen_tls(pa_listen *l, const char *cert, const char *key, const char *ca,
                    struct pa_err *err)
{
  SSL_CTX *c = SSL_CTX_new(TLS_server_method());

  if (!c)
    return pa_err_set(err, PA_NOMEM, UINT64_MAX, 0, "TLS: %s", ssl_error_text());
  SSL_CTX_set_min_proto_version(c, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(c, cert) != 1) {
    SSL_CTX_free(c);
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot load certificate: %s", cert,
                      ssl_error_text());
  }
  if (SSL_CTX_use_PrivateKey_file(c, key, SSL_FILETYPE_PEM) != 1 ||
      SSL_CTX_check_private_key(c) != 1) {
    SSL_CTX_free(c);
    return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot load key: %s", key,
                      ssl_error_text());
  }
  if (ca) {
    if (SSL_CTX_load_verify_locations(c, ca, NULL) != 1) {
      SSL_CTX_free(c);
      return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: cannot load CA: %s", ca,
                        ssl_error_text());
    }
    SSL_CTX_set_verify(c, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
  }
  SSL_CTX_free(l->tls);
  l->tls = c;
  return PA_OK;
}

/* Splits "scheme://host:port" (host may be [v6] or empty). */
static pa_rc parse_url(const char *url, enum pa_listen_transport *t, char *host,
                       size_t host_len, char *port, size_t port_len)
{
  const char *rest, *colon;
  size_t hl;

  if (!strncmp(url, "udp://", 6))
    *t = PA_LISTEN_UDP;
  else if (!strncmp(url, "tcp://", 6))
    *t = PA_LISTEN_TCP;
  else if (!strncmp(url, "tls://", 6))
    *t = PA_LISTEN_TLS;
  else
    return PA_USAGE;
  rest = url + 6;
  if (*rest == '[') {
    const char *end = strchr(rest, ']');
    if (!end || end[1] != ':')
      return PA_USAGE;
    hl = (size_t)(end - rest - 1);
    rest++;
    colon = end + 1;
  } else {
    colon = strrchr(rest, ':');
    if (!colon)
      return PA_USAGE;
    hl = (size_t)(colon - rest);
  }
  if (hl >= host_len || strlen(colon + 1) >= port_len || !colon[1])
    return PA_USAGE;
  memcpy(host, rest, hl);
  host[hl] = 0;
  snprintf(port, port_len, "%s", colon + 1);
  for (const char *c = port; *c; c++)
    if (*c < '0' || *c > '9')
      return PA_USAGE;
  return PA_OK;
}

pa_rc pa_listen_add(pa_listen *l, const char *url, char *bound_out, size_t bound_len,
                    struct pa_err *err)
{
  struct addrinfo hints, *ai = NULL;
  struct endpoint *e;
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  char host[128], port[16], name[80];
  int fd = -1, one = 1, r;

  if (l->n_ep >= MAX_ENDPOINTS)
    return pa_err_set(err, PA_LIMIT, UINT64_MAX, 0, "%s: too many endpoints (max %d)", url,
                      MAX_ENDPOINTS);
  e = &l->ep[l->n_ep];
  if (parse_url(url, &e->transport, host, sizeof host, port, sizeof port))
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0,
                      "%s: expected udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT", url);
  if (e->transport == PA_LISTEN_TLS && !l->tls)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s: TLS needs --cert and --key", url);
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = e->transport == PA_LISTEN_UDP ? SOCK_DGRAM : SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  if ((r = getaddrinfo(host[0] ? host : NULL, port, &hints, &ai)) != 0)
    return pa_err_set(err, PA_USAGE, UINT64_MAX, 0, "%s: %s", url, gai_strerror(r));
  fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0)
    goto fail;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (e->transport == PA_LISTEN_UDP) {
    int rcv = 4 * 1024 * 1024; /* bursts of ATNA datagrams */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof rcv);
  }
  if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0)
    goto fail;
  if (e->transport != PA_LISTEN_UDP && listen(fd, 128) != 0)
    goto fail;
  set_nonblock(fd);
  freeaddrinfo(ai);
  if (getsockname(fd, (struct sockaddr *)&sa, &sl) != 0)
    memset(&sa, 0, sizeof sa);
  peer_name(&sa, name, sizeof name);
  snprintf(e->url, sizeof e->url, "%s://%s",
           e->transport == PA_LISTEN_UDP ? "udp" : e->transport == PA_LISTEN_TCP ? "tcp" : "tls",
           name);
  e->fd = fd;
  l->n_ep++;
  if (bound_out)
    snprintf(bound_out, bound_len, "%s", e->url);
  return PA_OK;
fail:
  r = errno;
  if (fd >= 0)
    close(fd);
  freeaddrinfo(ai);
  return pa_err_set(err, PA_IO, UINT64_MAX, 0, "%s: %s", url, strerror(r));
}

pa_rc pa_listen_add_fd(pa_listen *l, int fd, void (*ready)(void *ctx), void *ctx)
{
  if (l->n_extra >= MAX_FDS)
    return PA_LIMIT;
  l->extra[l->n_extra++] = (struct extra_fd){fd, ready, ctx};
  return PA_OK;
}

static void msg_init(const pa_listen *l, const struct conn *c, int ep, struct pa_listen_msg *m)
{
  memset(m, 0, sizeof *m);
  m->endpoint = l->ep[ep].url;
  m->transport = l->ep[ep].transport;
  m->endpoint_index = ep;
  m->received_ts = pa_time_now();
  if (c) {
    m->peer = c->peer;
    m->tls_peer = c->tls_peer[0] ? c->tls_peer : NULL;
  }
}

/* Hands out every frame the framer has; garbage drops the client. */
static void drain(pa_listen *l, struct conn *c)
{
  struct pa_syslog_frame fr;
  struct pa_listen_msg m;
  struct pa_err err;
  pa_rc rc;

  for (;;) {
    pa_err_clear(&err);
    rc = pa_syslog_framer_next(&c->framer, &fr, &err);
    if (rc == PA_NEED_MORE)
      return;
    c->last_msg = pa_time_now();
    msg_init(l, c, c->ep, &m);
    if (rc == PA_NOMEM) {
      c->drop = 1;
      return;
    }
    m.p = fr.p;
    m.len = fr.len;
    m.offset = fr.offset;
    if (rc == PA_OK) {
      l->st.messages++;
      l->ops.message(l->ops.ctx, &m);
    } else {
      l->st.bad++;
      if (l->ops.bad)
        l->ops.bad(l->ops.ctx, &m, err.msg[0] ? err.msg : pa_strerror(rc));
      /* A client that sends what cannot be framed is not trusted further;
       * the others are not affected. */
      if (!c->drop) {
        l->st.dropped++;
        l->ep[c->ep].dropped++;
        pa_log(PA_LOG_WARN, "%s: client %s dropped: %s", l->ep[c->ep].url, c->peer,
               err.msg[0] ? err.msg : pa_strerror(rc));
        c->drop = 1;
      }
    }
  }
}

static void conn_close(pa_listen *l, int slot)
{
  struct conn *c = l->conns[slot];

  if (!c->handshaking) {
    c->drop = 1; /* no more frames to trust after the end */
    pa_syslog_framer_end(&c->framer);
    drain(l, c);
  }
  if (c->ssl) {
    /* close_notify only on a healthy session (OpenSSL: never after a fatal
     * error); the caller ignores SIGPIPE (syslog_listen.h) */
    if (c->tls_ok)
      SSL_shutdown(c->ssl);
    SSL_free(c->ssl);
  }
  close(c->fd);
  pa_syslog_framer_cleanup(&c->framer);
  free(c);
  l->conns[slot] = NULL;
  l->n_conns--;
}

static void conn_close(pa_listen *l, int slot);

/* At MAX_CONNS: closes the client that has sent no whole message for the
 * longest, if that is EVICT_IDLE_US, so that idle connections cannot lock
 * senders out; nor can clients that trickle a byte now and then. */
static void evict_idle(pa_listen *l)
{
  int64_t now = pa_time_now(), oldest = now;
  int victim = -1;

  for (int i = 0; i < MAX_CONNS; i++)
    if (l->conns[i] && l->conns[i]->last_msg < oldest) {
      oldest = l->conns[i]->last_msg;
      victim = i;
    }
  if (victim >= 0 && now - oldest >= EVICT_IDLE_US) {
    l->st.dropped++;
    l->ep[l->conns[victim]->ep].dropped++;
    pa_log(PA_LOG_WARN, "%s: client %s closed to make room (idle)", l->ep[l->conns[victim]->ep].url,
           l->conns[victim]->peer);
    conn_close(l, victim);
  }
}

/* 1 when a connection was taken from the queue (kept or dropped), 0 when
 * none was waiting or accept failed. */
static int accept_conn(pa_listen *l, int ep)
{
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  int fd = accept4(l->ep[ep].fd, (struct sockaddr *)&sa, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
  struct conn *c;
  int slot;

  if (fd < 0) {
    if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
      /* the pending connection stays queued: without a pause poll() would spin */
      pa_log(PA_LOG_WARN, "%s: cannot accept: %s; pausing for a second", l->ep[ep].url,
             strerror(errno));
      l->ep[ep].paused_until = pa_time_now() + ACCEPT_PAUSE_US;
    }
    return 0;
  }
  if (l->n_conns >= MAX_CONNS)
    evict_idle(l);
  if (l->n_conns >= MAX_CONNS || !(c = calloc(1, sizeof *c))) {
    l->st.dropped++;
    l->ep[ep].dropped++;
    close(fd);
    return 1;
  }
  for (slot = 0; l->conns[slot]; slot++)
    ;
  c->fd = fd;
  c->ep = ep;
  c->since = c->last = c->last_msg = pa_time_now();
  peer_name(&sa, c->peer, sizeof c->peer);
  pa_syslog_framer_init(&c->framer, 0,
                        l->ep[ep].transport == PA_LISTEN_TLS ? PA_SYSLOG_FRAMING_OCTET
                                                             : PA_SYSLOG_FRAMING_AUTO);
  if (l->ep[ep].transport == PA_LISTEN_TLS) {
    c->ssl = SSL_new(l->tls);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
      SSL_free(c->ssl);
      close(fd);
      free(c);
      l->st.dropped++;
      l->ep[ep].dropped++;
      return 1;
    }
    SSL_set_accept_state(c->ssl);
    c->handshaking = 1;
  }
  l->conns[slot] = c;
  l->n_conns++;
  l->st.connections++;
  return 1;
}

static void feed(pa_listen *l, struct conn *c, const uint8_t *p, size_t n)
{
  l->st.bytes += n;
  if (pa_syslog_framer_feed(&c->framer, p, n) != PA_OK) {
    c->drop = 1;
    return;
  }
  drain(l, c);
}

static void tls_peer_cn(struct conn *c)
{
  X509 *cert = SSL_get_peer_certificate(c->ssl);
  if (!cert)
    return;
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, c->tls_peer,
                                sizeof c->tls_peer) < 0)
    c->tls_peer[0] = 0;
  X509_free(cert);
}

/* One read from the client: the bytes read, 0 when nothing is there now
 * (c->want_write says whether TLS waits to write), -1 when it closed or
 * failed. */
static ssize_t conn_recv(struct conn *c, uint8_t *buf, size_t n)
{
  if (!c->ssl) {
    ssize_t r = read(c->fd, buf, n);
    if (r > 0)
      return r;
    return r < 0 && (errno == EAGAIN || errno == EINTR) ? 0 : -1;
  }
  int r = SSL_read(c->ssl, buf, (int)n);
  if (r > 0)
    return r;
  switch (SSL_get_error(c->ssl, r)) {
  case SSL_ERROR_WANT_READ:
    return 0;
  case SSL_ERROR_WANT_WRITE:
    c->want_write = 1;
    return 0;
  case SSL_ERROR_ZERO_RETURN:
    return -1; /* close_notify: a clean end, shutdown may answer it */
  default:
    c->tls_ok = 0;
    ERR_clear_error();
    return -1;
  }
}

/* Reads what the client has; returns 0 to keep the connection, -1 to close. */
static int conn_read(pa_listen *l, struct conn *c)
{
  c->more = 0;
  c->want_write = 0;
  if (c->handshaking) {
    int r = SSL_accept(c->ssl);
    if (r != 1) {
      int e = SSL_get_error(c->ssl, r);
      if (e == SSL_ERROR_WANT_READ)
        return 0;
      if (e == SSL_ERROR_WANT_WRITE) {
        c->want_write = 1;
        return 0;
      }
      c->tls_ok = 0;
      pa_log(PA_LOG_WARN, "%s: TLS handshake with %s failed: %s", l->ep[c->ep].url, c->peer,
             ssl_error_text());
      l->st.dropped++;
      l->ep[c->ep].dropped++;
      return -1;
    }
    c->handshaking = 0;
    c->tls_ok = 1;
    tls_peer_cn(c);
  }
  /* a bounded number of reads, so one fast sender cannot starve the others;
   * more bytes (in the socket, or decrypted inside OpenSSL where poll cannot
   * see them) are read next round */
  for (int k = 0; k < READS_PER_ROUND; k++) {
    ssize_t n = conn_recv(c, l->buf, READ_CHUNK);
    if (n <= 0)
      return (int)n;
    c->last = pa_time_now();
    feed(l, c, l->buf, (size_t)n);
    if (c->drop)
      return -1;
  }
  c->more = 1;
  return 0;
}

/* Datagrams read (a bounded batch); 0 when the socket had none. */
static int udp_read(pa_listen *l, int ep)
{
  int got = 0;

  /* a bounded batch: a flood on one endpoint must not starve the others */
  for (int k = 0; k < READS_PER_ROUND * 4; k++) {
    struct sockaddr_storage sa;
    socklen_t sl = sizeof sa;
    struct pa_listen_msg m;
    char peer[64];
    ssize_t n = recvfrom(l->ep[ep].fd, l->buf, READ_CHUNK + 1, MSG_TRUNC,
                         (struct sockaddr *)&sa, &sl);
    if (n < 0)
      return got;
    got++;
    peer_name(&sa, peer, sizeof peer);
    msg_init(l, NULL, ep, &m);
    m.peer = peer;
    m.p = l->buf;
    m.len = (size_t)n > READ_CHUNK ? READ_CHUNK : (size_t)n;
    l->st.bytes += m.len;
    if ((size_t)n > READ_CHUNK) {
      l->st.bad++;
      if (l->ops.bad)
        l->ops.bad(l->ops.ctx, &m, "syslog.datagram_truncated: datagram over 64 KiB");
      continue;
    }
    /* one message per datagram (RFC 5426); a trailing LF is the sender's */
    while (m.len && (m.p[m.len - 1] == '\n' || m.p[m.len - 1] == '\r' || m.p[m.len - 1] == 0))
      m.len--;
    if (!m.len)
      continue;
    l->st.messages++;
    l->ops.message(l->ops.ctx, &m);
  }
  return got;
}

/* Asked to stop: what the kernel holds was acknowledged to TCP senders
 * already (and UDP datagrams were delivered). Read all of it and hand it
 * out before anything is closed: the connections waiting in the accept
 * queue, every byte in each connection's receive queue (no per-round
 * bound), every datagram. Bytes that arrive after the last read are
 * refused by the close (a reset), which the sender sees. */
static void drain_all(pa_listen *l)
{
  int again = 1;

  for (int round = 0; again && round < 64; round++) {
    again = 0;
    for (int i = 0; i < l->n_ep; i++) {
      if (l->ep[i].transport == PA_LISTEN_UDP) {
        while (udp_read(l, i) > 0)
          again = 1;
      } else {
        for (int k = 0; k < MAX_CONNS && accept_conn(l, i); k++)
          again = 1;
      }
    }
    for (int i = 0; i < MAX_CONNS; i++) {
      struct conn *c = l->conns[i];
      ssize_t n;
      if (!c)
        continue;
      if (c->handshaking) {
        /* a handshake that the client finished: its data follows */
        if (conn_read(l, c) != 0) {
          conn_close(l, i);
          continue;
        }
        if (c->handshaking)
          continue;
      }
      while ((n = conn_recv(c, l->buf, READ_CHUNK)) > 0) {
        c->last = pa_time_now();
        feed(l, c, l->buf, (size_t)n);
        again = 1;
        if (c->drop)
          break;
      }
      if (n < 0 || c->drop)
        conn_close(l, i);
    }
  }
}

pa_rc pa_listen_run(pa_listen *l, volatile sig_atomic_t *stop)
{
  struct pollfd pf[MAX_ENDPOINTS + MAX_FDS + MAX_CONNS];
  int who[MAX_ENDPOINTS + MAX_FDS + MAX_CONNS]; /* what each pollfd is */
  int64_t last_tick = pa_time_now();

  while (!*stop) {
    int n = 0, r, more = 0;
    int64_t now = pa_time_now();

    for (int i = 0; i < l->n_ep; i++) {
      if (l->ep[i].paused_until > now)
        continue;
      pf[n] = (struct pollfd){l->ep[i].fd, POLLIN, 0};
      who[n++] = i;
    }
    for (int i = 0; i < l->n_extra; i++) {
      pf[n] = (struct pollfd){l->extra[i].fd, POLLIN, 0};
      who[n++] = MAX_ENDPOINTS + i;
    }
    for (int i = 0; i < MAX_CONNS; i++)
      if (l->conns[i]) {
        pf[n] = (struct pollfd){l->conns[i]->fd,
                                (short)(l->conns[i]->want_write ? POLLOUT : POLLIN), 0};
        who[n++] = MAX_ENDPOINTS + MAX_FDS + i;
        more |= l->conns[i]->more;
      }
    r = poll(pf, (nfds_t)n, more ? 0 : (int)(TICK_US / 1000));
    if (r < 0 && errno != EINTR)
      return PA_IO;
    for (int k = 0; r > 0 && k < n; k++) {
      if (!pf[k].revents)
        continue;
      if (who[k] < MAX_ENDPOINTS) {
        if (l->ep[who[k]].transport == PA_LISTEN_UDP)
          udp_read(l, who[k]);
        else
          accept_conn(l, who[k]);
      } else if (who[k] < MAX_ENDPOINTS + MAX_FDS) {
        struct extra_fd *x = &l->extra[who[k] - MAX_ENDPOINTS];
        x->ready(x->ctx);
      } else {
        int slot = who[k] - MAX_ENDPOINTS - MAX_FDS;
        if (l->conns[slot] && conn_read(l, l->conns[slot]) != 0)
          conn_close(l, slot);
      }
    }
    /* clients cut short last round whose socket showed nothing new */
    for (int k = 0; more && k < n; k++) {
      int slot = who[k] - MAX_ENDPOINTS - MAX_FDS;
      if (slot >= 0 && !pf[k].revents && l->conns[slot] && l->conns[slot]->more &&
          conn_read(l, l->conns[slot]) != 0)
        conn_close(l, slot);
    }
    now = pa_time_now();
    for (int i = 0; i < MAX_CONNS; i++)
      if (l->conns[i] && !l->conns[i]->handshaking && now - l->conns[i]->last > IDLE_US)
        conn_close(l, i); /* a sender that went silent reconnects when it has more */
      else if (l->conns[i] && l->conns[i]->handshaking && now - l->conns[i]->since > HANDSHAKE_US) {
        l->st.dropped++;
        l->ep[l->conns[i]->ep].dropped++;
        conn_close(l, i);
      }
    if (now - last_tick >= TICK_US) {
      last_tick = now;
      if (l->ops.tick)
        l->ops.tick(l->ops.ctx);
    }
  }
  drain_all(l);
  for (int i = 0; i < MAX_CONNS; i++)
    if (l->conns[i])
      conn_close(l, i);
  return PA_OK;
}

void pa_listen_get_stats(const pa_listen *l, struct pa_listen_stats *out) { *out = l->st; }

uint64_t pa_listen_endpoint_dropped(const pa_listen *l, int ep)
{
  return ep >= 0 && ep < l->n_ep ? l->ep[ep].dropped : 0;
}

void pa_listen_free(pa_listen *l)
{
  if (!l)
    return;
  for (int i = 0; i < MAX_CONNS; i++)
    if (l->conns[i])
      conn_close(l, i);
  for (int i = 0; i < l->n_ep; i++)
    close(l->ep[i].fd);
  SSL_CTX_free(l->tls);
  free(l);
}
