/* listen.c — `pacsaudit listen`: syslog over UDP, TCP and TLS, and live
 * DICOM capture, into the store as it arrives.
 *
 * Messages take the same path as ingested files (feed.c). They are
 * committed in batches bounded by count and time (--batch, --batch-ms), so
 * a crash loses at most one batch; their events go to events_pending and
 * move into events many batches at a time (pa_store_events_pending), so
 * that each commit does not write every index leaf it touched again.
 * SIGTERM and SIGINT flush and exit, and
 * SIGUSR1 writes the counters of each source to stderr. A live capture
 * runs in its own thread with its own connection to the database. */
#include "cli.h"
#include "ingest/feed.h"
#include "ingest/pipe.h"

#include "analyzer/buf.h"
#include "analyzer/log.h"
#include "analyzer/store.h"
#include "analyzer/tm.h"
#include "collectors/pcap_source.h"
#include "collectors/syslog_listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <librelp.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOURCES 16

static volatile sig_atomic_t stop_flag, usr1_flag;

static void on_stop(int sig)
{
  (void)sig;
  stop_flag = 1;
}

static void on_usr1(int sig)
{
  (void)sig;
  usr1_flag = 1;
}

/* What one endpoint received and what became of it. stored and
 * quarantined count what a commit made durable; pend what the open batch
 * holds. lost: received, but the store failed before it was committed. */
struct source {
  char url[160];
  uint64_t received, stored, duplicates, quarantined, dropped, lost;
  uint64_t pend_stored, pend_quarantined;
  int relp;   /* counted by its own thread, under listen.mu */
};

struct listen;

/* A relp:// endpoint: librelp's engine in its own thread, with its own
 * connection to the database. librelp sends "200 OK" for a message as soon
 * as the reception callback returns (whatever it returns), so the callback
 * commits the message before it returns: an acknowledged message is a
 * committed one. When the store fails the callback never returns (the
 * process exits without acknowledging it), and the sender keeps it. */
struct relp_ep {
  struct listen *L;
  int src;                    /* index in L->src */
  char host[128], port[16];
  relpEngine_t *engine;
  pthread_t thread;
  int running, wedged;
  volatile sig_atomic_t done; /* relpEngineRun returned */
  pa_store *store;
  struct pa_feed feed;
  struct pa_syslog_opts opts;
  int64_t opts_at;            /* when opts was last renewed, µs */
};

struct listen {
  pthread_mutex_t mu;         /* the counters of relp endpoints, read by the main thread */
  struct relp_ep relp[MAX_SOURCES];
  int n_relp;
  int ep_src[MAX_SOURCES];    /* pa_listen's endpoint index -> src index */
  int n_ep;
  const char *decoders, *tz;
  int64_t run_id;
  pa_store *store;
  struct pa_feed feed;
  pa_pipe *pipe;              /* workers in front of the writer (tcp, tls, udp); NULL: none */
  pa_listen *l;
  struct source src[MAX_SOURCES];
  int n_src;
  pa_rc fatal;                /* the store failed: stop */
  uint64_t commits;           /* pa_store_commits when pend was last settled */
  struct pa_syslog_opts opts; /* RFC 3164 reference time: now, renewed each tick */
  /* live capture */
  const char *iface, *bpf, *db;
  uint64_t batch_rows;
  int64_t batch_us;
  struct pa_pcap_stats cap;
  pa_rc cap_rc;
  struct pa_err cap_err;
};

static void help(FILE *f)
{
  fprintf(f, "usage: pacsaudit listen [--db FILE] --syslog URL... [--cert C --key K [--ca CA]]\n"
             "                        [--iface IF [--bpf EXPR]] [options]\n"
             "\n"
             "Receives audit messages and DICOM traffic and stores them as they come,\n"
             "until SIGTERM or SIGINT (which flush and exit). SIGUSR1 prints counters.\n"
             "\n"
             "  --syslog URL     udp://HOST:PORT, tcp://HOST:PORT or tls://HOST:PORT;\n"
             "                   repeatable. HOST may be empty (all addresses) or [IPv6];\n"
             "                   PORT 0 takes a free port. TCP takes octet counting and LF\n"
             "                   framing from many clients at once; TLS is RFC 5425.\n"
             "                   relp://HOST:PORT: RELP (rsyslog's omrelp), each message\n"
             "                   acknowledged only once it is committed; nothing is lost\n"
             "                   when the listener dies, and a resent message is stored once.\n"
             "  --cert FILE      PEM certificate (chain) for tls:// endpoints\n"
             "  --key FILE       its PEM private key\n"
             "  --ca FILE        require client certificates signed by this CA (mutual TLS)\n"
             "  --iface IF       capture DICOM associations live on interface IF\n"
             "  --bpf EXPR       capture filter, e.g. 'tcp port 104'\n"
             "  --db FILE        database (default $PACSAUDIT_DB or ./pacsaudit.db)\n"
             "  --decoders PATH  site decoders for plain syslog lines (file or folder)\n"
             "  --tz ZONE        zone of times that carry none (default Asia/Tokyo)\n"
             "  --batch N        commit after N rows (default 1000)\n"
             "  --batch-ms MS    or after MS milliseconds (default 200)\n"
             "  --workers N      threads that hash, compress and parse what tcp, tls and\n"
             "                   udp endpoints receive, in front of the one writer\n"
             "                   (default: the CPUs less one; 0: none)\n"
             "  -q, --quiet      do not print the bound endpoints and the final counts\n"
             "  -h, --help       this text\n"
             "\n"
             "Each endpoint is printed once bound, as 'listening on URL', with the real\n"
             "port. Counters per endpoint: received, stored (committed), already stored,\n"
             "quarantined, dropped (clients cut off), lost (received but not stored\n"
             "because the database failed). A stored message's event waits in\n"
             "events_pending and reaches the events table (rules, reports, query) at\n"
             "most about 5 s later, and at stop. While another writer holds the database\n"
             "the listener waits, up to 10 minutes. A database failure stops it.\n"
             "exit status: 0 stopped cleanly, 2 usage error or an endpoint or database\n"
             "that cannot be used, 3 the database failed or internal error\n");
}

/* Connections dropped are counted by the I/O loop: read them from it, so
 * that every status line (SIGUSR1 as well as the last) tells the truth. */
static void refresh_dropped(struct listen *L)
{
  if (!L->l)
    return;
  for (int k = 0; k < L->n_ep; k++)
    L->src[L->ep_src[k]].dropped = pa_listen_endpoint_dropped(L->l, k);
}

static void print_counters(struct listen *L, FILE *f)
{
  refresh_dropped(L);
  pthread_mutex_lock(&L->mu);
  for (int i = 0; i < L->n_src; i++) {
    const struct source *s = &L->src[i];
    fprintf(f,
            "pacsaudit: %s: received %llu, stored %llu, already stored %llu, "
            "quarantined %llu, dropped %llu, lost %llu\n",
            s->url, (unsigned long long)s->received, (unsigned long long)s->stored,
            (unsigned long long)s->duplicates, (unsigned long long)s->quarantined,
            (unsigned long long)s->dropped, (unsigned long long)s->lost);
  }
  pthread_mutex_unlock(&L->mu);
  if (L->iface)
    fprintf(f,
            "pacsaudit: iface:%s: packets %llu, DICOM associations %llu, TLS %llu, "
            "anomalies %llu\n",
            L->iface, (unsigned long long)L->cap.packets, (unsigned long long)L->cap.dicom,
            (unsigned long long)L->cap.tls, (unsigned long long)L->cap.anomalies);
  fflush(f);
}

/* Moves what the open batch held to stored once the store committed it,
 * or to lost once the store failed (the batch rolled back). */
static void settle(struct listen *L)
{
  uint64_t c = pa_store_commits(L->store);
  int committed = c != L->commits;

  if (!committed && !L->fatal)
    return;
  L->commits = c;
  for (int i = 0; i < L->n_src; i++) {
    struct source *s = &L->src[i];
    if (s->relp)
      continue;
    if (committed) {
      s->stored += s->pend_stored;
      s->quarantined += s->pend_quarantined;
    } else {
      s->lost += s->pend_stored + s->pend_quarantined;
    }
    s->pend_stored = s->pend_quarantined = 0;
  }
}

/* Counts what one call to feed did, for the source it came from. A commit
 * inside the call took this message with it. */
static void account(struct listen *L, int ep, const struct pa_feed_counts *before)
{
  const struct pa_feed_counts *n = &L->feed.n;
  struct source *s;
  uint64_t q, d;

  if (ep < 0 || ep >= L->n_ep)
    return;
  pthread_mutex_lock(&L->mu);
  s = &L->src[L->ep_src[ep]];
  q = n->quarantined - before->quarantined;
  d = n->duplicates - before->duplicates;
  s->received++;
  s->duplicates += d;
  if (L->fatal)
    s->lost += !d;
  else if (q)
    s->pend_quarantined += q;
  else if (!d)
    s->pend_stored++;
  settle(L);
  pthread_mutex_unlock(&L->mu);
}

static void peer_origin(const struct pa_listen_msg *m, char *out, size_t len)
{
  static const char *const scheme[] = {"udp", "tcp", "tls"};
  /* a client certificate names the node (ATNA secure node authentication) */
  snprintf(out, len, "%s://%s%s%s%s", scheme[m->transport], m->peer ? m->peer : "?",
           m->tls_peer ? " (CN=" : "", m->tls_peer ? m->tls_peer : "", m->tls_peer ? ")" : "");
}

static void on_message(void *ctx, const struct pa_listen_msg *m)
{
  struct listen *L = ctx;
  struct pa_feed_counts before = L->feed.n;
  char origin[256];
  pa_rc rc;

  if (L->fatal) {
    account(L, m->endpoint_index, &before); /* received, and lost */
    return;
  }
  peer_origin(m, origin, sizeof origin);
  /* a datagram has no place in a stream (offset NULL): each is received once */
  if (L->pipe) { /* accounted once written (on_written) */
    if ((rc = pa_pipe_syslog(L->pipe, m->p, m->len, origin,
                             m->transport == PA_LISTEN_UDP ? -1 : (int64_t)m->offset,
                             m->received_ts, &L->opts, m->endpoint_index))) {
      L->fatal = rc;
      stop_flag = 1;
    }
    return;
  }
  rc = pa_feed_syslog(&L->feed, m->p, m->len, origin,
                      m->transport == PA_LISTEN_UDP ? -1 : (int64_t)m->offset, m->received_ts,
                      &L->opts);
  if (rc) {
    L->fatal = rc;
    stop_flag = 1;
  }
  account(L, m->endpoint_index, &before);
}

static void on_bad(void *ctx, const struct pa_listen_msg *m, const char *why)
{
  struct listen *L = ctx;
  struct pa_feed_counts before = L->feed.n;
  char origin[256];
  pa_rc rc;

  if (L->fatal) {
    account(L, m->endpoint_index, &before);
    return;
  }
  peer_origin(m, origin, sizeof origin);
  if (L->pipe) {
    if ((rc = pa_pipe_bad(L->pipe, m->p, m->len, origin, (int64_t)m->offset, why,
                          m->endpoint_index))) {
      L->fatal = rc;
      stop_flag = 1;
    }
    return;
  }
  rc = pa_feed_bad(&L->feed, m->p, m->len, origin, (int64_t)m->offset, why);
  if (rc) {
    L->fatal = rc;
    stop_flag = 1;
  }
  account(L, m->endpoint_index, &before);
}

/* A message the workers prepared went through the feed (or was dropped
 * after a store error): its place in the ledger, as on_message says it
 * without workers. */
static void on_written(void *ctx, long tag, pa_rc rc, const struct pa_feed_counts *before)
{
  struct listen *L = ctx;
  if (rc && !L->fatal) {
    L->fatal = rc;
    stop_flag = 1;
  }
  account(L, (int)tag, before);
}

static void on_tick(void *ctx)
{
  struct listen *L = ctx;
  pa_rc rc;
  /* the reference year of RFC 3164 lines: formatting it per message would
   * cost a zone lookup each; a tick late is nothing against 31 days */
  pa_syslog_opts_init(&L->opts, 0, L->feed.tz);
  /* what the workers hold is written before the counters and the
   * time-bound commit, so a message waits no longer than without them */
  if (L->pipe && !L->fatal && (rc = pa_pipe_flush(L->pipe)) && !L->fatal)
    L->fatal = rc;
  if (usr1_flag) {
    usr1_flag = 0;
    print_counters(L, stderr);
  }
  if (!L->fatal && pa_store_batch_tick(L->store))
    L->fatal = PA_DB;
  pthread_mutex_lock(&L->mu);
  settle(L);
  pthread_mutex_unlock(&L->mu);
  if (L->fatal)
    stop_flag = 1;
}

static void cap_tick(void *ctx) { pa_store_batch_tick(ctx); }

static int quiet_flag;
static const char *cap_label_iface, *cap_label_bpf;

/* Said once packets can be seen, so whoever waits for it can start sending. */
static void cap_ready(void *ctx)
{
  (void)ctx;
  if (quiet_flag)
    return;
  pa_cli_line(stdout, "capturing on iface:%s%s%s", cap_label_iface, cap_label_bpf ? " filter " : "",
              cap_label_bpf ? cap_label_bpf : "");
  fflush(stdout);
}

/* The live capture thread: its own connection, its own batches. */
static void *capture_main(void *arg)
{
  struct listen *L = arg;
  struct pa_pcap_opts o = {0};
  struct pa_sink sink;
  pa_store *s = NULL;

  pa_err_clear(&L->cap_err);
  L->cap_rc = pa_store_open(L->db, &s, &L->cap_err);
  if (L->cap_rc == PA_OK) {
    pa_store_interrupt(s, &stop_flag);
    pa_store_batch_limits(s, L->batch_rows, L->batch_us);
    pa_store_sink(s, &sink);
    o.tick = cap_tick;
    o.tick_ctx = s;
    o.ready = cap_ready;
    if ((L->cap_rc = pa_store_batch_begin(s)) == PA_OK)
      L->cap_rc = pa_pcap_live(L->iface, L->bpf, &sink, &o, &stop_flag, &L->cap, &L->cap_err);
    if (pa_store_close(s) && L->cap_rc == PA_OK)
      L->cap_rc = PA_DB;
  }
  if (L->cap_rc)
    stop_flag = 1; /* a capture that cannot run stops the listener: say so, don't limp */
  return NULL;
}

/* --- RELP ------------------------------------------------------------------ */

static relpRetVal relp_message(void *usr, unsigned char *hostname, unsigned char *ip,
                               unsigned char *msg, size_t len)
{
  struct relp_ep *R = usr;
  struct listen *L = R->L;
  struct source *s = &L->src[R->src];
  struct pa_store_counts c0, c1;
  struct pa_feed_counts f0 = R->feed.n;
  char origin[200];
  int64_t now = pa_time_now();
  pa_rc rc;

  (void)hostname;
  if (now - R->opts_at > 1000000) {
    pa_syslog_opts_init(&R->opts, 0, R->feed.tz);
    R->opts_at = now;
  }
  /* a sender resends what it has no answer for, on a new session: the same
   * bytes from the same sender at the same place (offset 0) are a message
   * read again, and stored once */
  snprintf(origin, sizeof origin, "relp://%s", ip ? (const char *)ip : "?");
  pa_store_counts(R->store, &c0);
  rc = pa_store_batch_begin(R->store);
  if (!rc)
    rc = pa_feed_syslog(&R->feed, msg, len, origin, 0, now, &R->opts);
  if (pa_store_batch_commit(R->store) && !rc)
    rc = PA_DB;
  pa_store_counts(R->store, &c1);
  pthread_mutex_lock(&L->mu);
  s->received++;
  if (!rc) {
    if (R->feed.n.duplicates != f0.duplicates)
      s->duplicates++;
    else if (c1.quarantined != c0.quarantined || R->feed.n.quarantined != f0.quarantined)
      s->quarantined++;
    else
      s->stored++;
  }
  pthread_mutex_unlock(&L->mu);
  if (rc) {
    /* not stored: never answer it. The main thread stops the process;
     * this thread waits for the end without returning to librelp. */
    pa_log(PA_LOG_ERROR, "%s: %s; the message is not acknowledged", s->url,
           pa_store_errmsg(R->store));
    R->wedged = 1;
    L->fatal = rc;
    stop_flag = 1;
    for (;;)
      pause();
  }
  return RELP_RET_OK;
}

static void relp_wake(int sig) { (void)sig; }

static void *relp_main(void *arg)
{
  struct relp_ep *R = arg;
  relpEngineRun(R->engine);
  R->done = 1;
  return NULL;
}

/* relp://HOST:PORT, HOST empty, a name, IPv4 or [IPv6]; PORT 0 takes a
 * free port (chosen here: librelp cannot tell which it bound). */
static int relp_parse(const char *url, struct relp_ep *R)
{
  const char *h = url + strlen("relp://"), *colon;
  size_t hl;

  if (*h == '[') {
    const char *e = strchr(h, ']');
    if (!e || e[1] != ':')
      return -1;
    hl = (size_t)(e - h - 1);
    h++;
    colon = e + 1;
  } else {
    if (!(colon = strrchr(h, ':')))
      return -1;
    hl = (size_t)(colon - h);
  }
  if (hl >= sizeof R->host || strlen(colon + 1) >= sizeof R->port || !colon[1] ||
      strspn(colon + 1, "0123456789") != strlen(colon + 1))
    return -1;
  memcpy(R->host, h, hl);
  R->host[hl] = 0;
  snprintf(R->port, sizeof R->port, "%s", colon + 1);
  return 0;
}

static int relp_free_port(struct relp_ep *R)
{
  struct addrinfo hints = {0}, *ai = NULL;
  struct sockaddr_storage sa;
  socklen_t sl = sizeof sa;
  int fd = -1, ok = 0;

  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(R->host[0] ? R->host : NULL, "0", &hints, &ai) != 0)
    return -1;
  if ((fd = socket(ai->ai_family, SOCK_STREAM, 0)) >= 0 &&
      bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &sl) == 0) {
    unsigned port = sa.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&sa)->sin6_port)
                                              : ntohs(((struct sockaddr_in *)&sa)->sin_port);
    snprintf(R->port, sizeof R->port, "%u", port);
    ok = 1;
  }
  if (fd >= 0)
    close(fd);
  freeaddrinfo(ai);
  return ok ? 0 : -1;
}

static void relp_dbg(char *fmt, ...) { (void)fmt; }

static void relp_on_generic_err(char *obj, char *msg, relpRetVal code)
{
  pa_log(PA_LOG_WARN, "relp: %s: %s (%d)", obj ? obj : "-", msg ? msg : "-", (int)code);
}

static void relp_on_err(void *usr, char *obj, char *msg, relpRetVal code)
{
  (void)usr;
  pa_log(PA_LOG_WARN, "relp: %s: %s (%d)", obj ? obj : "-", msg ? msg : "-", (int)code);
}

/* Binds the endpoint and starts its thread; the bound URL goes to
 * L->src[R->src].url. 0, or -1 with the reason logged. */
static int relp_start(struct listen *L, struct relp_ep *R, const char *url)
{
  relpSrv_t *srv = NULL;
  struct pa_err err;
  char *bound = L->src[R->src].url;
  size_t blen = sizeof L->src[R->src].url;

  R->L = L;
  pa_err_clear(&err);
  if (relp_parse(url, R)) {
    pa_log(PA_LOG_ERROR, "%s: not relp://HOST:PORT", url);
    return -1;
  }
  if (!strcmp(R->port, "0") && relp_free_port(R)) {
    pa_log(PA_LOG_ERROR, "%s: no free port", url);
    return -1;
  }
  if (pa_store_open(L->db, &R->store, &err) ||
      pa_feed_init(&R->feed, R->store, L->decoders, L->tz, L->run_id, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg[0] ? err.msg : "cannot open the database");
    return -1;
  }
  R->feed.live = 1;
  pa_store_interrupt(R->store, &stop_flag);
  if (relpEngineConstruct(&R->engine) != RELP_RET_OK ||
      relpEngineSetDbgprint(R->engine, relp_dbg) != RELP_RET_OK ||
      relpEngineSetOnGenericErr(R->engine, relp_on_generic_err) != RELP_RET_OK ||
      relpEngineSetDnsLookupMode(R->engine, 0) != RELP_RET_OK ||
      relpEngineSetOnErr(R->engine, relp_on_err) != RELP_RET_OK ||
      relpEngineSetEnableCmd(R->engine, (unsigned char *)"syslog", eRelpCmdState_Required) !=
          RELP_RET_OK ||
      relpEngineSetSyslogRcv2(R->engine, relp_message) != RELP_RET_OK ||
      relpEngineListnerConstruct(R->engine, &srv) != RELP_RET_OK ||
      relpSrvSetUsrPtr(srv, R) != RELP_RET_OK ||
      relpSrvSetLstnPort(srv, (unsigned char *)R->port) != RELP_RET_OK ||
      (R->host[0] && relpSrvSetLstnAddr(srv, (unsigned char *)R->host) != RELP_RET_OK) ||
      relpEngineListnerConstructFinalize(R->engine, srv) != RELP_RET_OK) {
    pa_log(PA_LOG_ERROR, "%s: cannot listen", url);
    return -1;
  }
  if (strchr(R->host, ':'))
    snprintf(bound, blen, "relp://[%s]:%s", R->host, R->port);
  else
    snprintf(bound, blen, "relp://%s:%s", R->host, R->port);
  if (pthread_create(&R->thread, NULL, relp_main, R) != 0) {
    pa_log(PA_LOG_ERROR, "cannot start the RELP thread");
    return -1;
  }
  R->running = 1;
  return 0;
}

/* Stops the engine (a signal wakes its wait) and frees what the thread
 * used; a thread wedged on a failed store is left to the process's end. */
static void relp_stop(struct relp_ep *R)
{
  if (R->running && !R->wedged) {
    relpEngineSetStop(R->engine);
    while (!R->done && !R->wedged) {
      struct timespec ts = {0, 20 * 1000 * 1000};
      pthread_kill(R->thread, SIGUSR2);
      nanosleep(&ts, NULL);
    }
    pthread_join(R->thread, NULL);
    R->running = 0;
  }
  if (R->wedged)
    return;
  if (R->engine)
    relpEngineDestruct(&R->engine);
  pa_feed_cleanup(&R->feed);
  if (R->store && pa_store_close(R->store))
    R->L->fatal = PA_DB;
  R->store = NULL;
}

static void detail_json(const struct listen *L, struct pa_buf *b)
{
  pa_buf_init(b, 16 * 1024);
  pa_buf_appendf(b, "{\"sources\":[");
  for (int i = 0; i < L->n_src; i++)
    pa_buf_appendf(b,
                   "%s{\"url\":\"%s\",\"received\":%llu,\"stored\":%llu,"
                   "\"already_stored\":%llu,\"quarantined\":%llu,\"dropped\":%llu,"
                   "\"lost\":%llu}",
                   i ? "," : "", L->src[i].url, (unsigned long long)L->src[i].received,
                   (unsigned long long)L->src[i].stored, (unsigned long long)L->src[i].duplicates,
                   (unsigned long long)L->src[i].quarantined, (unsigned long long)L->src[i].dropped,
                   (unsigned long long)L->src[i].lost);
  pa_buf_appendf(b, "]");
  if (L->iface)
    pa_buf_appendf(b,
                   ",\"capture\":{\"iface\":\"%s\",\"packets\":%llu,\"dicom\":%llu,"
                   "\"tls\":%llu,\"anomalies\":%llu}",
                   L->iface, (unsigned long long)L->cap.packets, (unsigned long long)L->cap.dicom,
                   (unsigned long long)L->cap.tls, (unsigned long long)L->cap.anomalies);
  pa_buf_appendf(b, "}");
}

int pa_cmd_listen(int argc, char **argv)
{
  static const struct option opts[] = {
    {"db", required_argument, NULL, 'd'},       {"syslog", required_argument, NULL, 's'},
    {"cert", required_argument, NULL, 'c'},     {"key", required_argument, NULL, 'k'},
    {"ca", required_argument, NULL, 'a'},       {"iface", required_argument, NULL, 'i'},
    {"bpf", required_argument, NULL, 'b'},      {"decoders", required_argument, NULL, 'D'},
    {"tz", required_argument, NULL, 'z'},       {"batch", required_argument, NULL, 'n'},
    {"batch-ms", required_argument, NULL, 'm'}, {"quiet", no_argument, NULL, 'q'},
    {"workers", required_argument, NULL, 'w'},
    {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
  };
  static struct listen L;
  const char *urls[MAX_SOURCES], *cert = NULL, *key = NULL, *ca = NULL, *decoders = NULL,
                                 *tz = NULL;
  struct pa_listen_ops ops = {&L, on_message, on_bad, on_tick};
  struct pa_run_counts rc_counts = {0};
  struct pa_store_counts sc;
  struct pa_err err;
  struct pa_buf detail;
  struct sigaction sa;
  pthread_t cap_thread;
  int n_urls = 0, c, r, quiet = 0, have_thread = 0, code = PA_EXIT_OK;
  long long v;
  int workers = pa_pipe_default_workers();
  pa_rc prc;
  int64_t run_id = 0;

  memset(&L, 0, sizeof L);
  pthread_mutex_init(&L.mu, NULL);
  L.db = pa_cli_default_db();
  L.batch_rows = 1000;
  L.batch_us = 200 * 1000;
  while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
    switch (c) {
    case 'd': L.db = optarg; break;
    case 's':
      if (n_urls == MAX_SOURCES) {
        pa_cli_line(stderr, "pacsaudit listen: at most %d --syslog endpoints", MAX_SOURCES);
        return PA_EXIT_INPUT;
      }
      urls[n_urls++] = optarg;
      break;
    case 'c': cert = optarg; break;
    case 'k': key = optarg; break;
    case 'a': ca = optarg; break;
    case 'i': L.iface = optarg; break;
    case 'b': L.bpf = optarg; break;
    case 'D': decoders = optarg; break;
    case 'z': tz = optarg; break;
    case 'n':
      if (pa_cli_parse_count(optarg, 1, 10000000, &v)) {
        pa_cli_line(stderr, "pacsaudit listen: --batch takes a count from 1 to 10000000");
        return PA_EXIT_INPUT;
      }
      L.batch_rows = (uint64_t)v;
      break;
    case 'm':
      if (pa_cli_parse_count(optarg, 1, 60000, &v)) {
        pa_cli_line(stderr, "pacsaudit listen: --batch-ms takes 1 to 60000");
        return PA_EXIT_INPUT;
      }
      L.batch_us = v * 1000;
      break;
    case 'w':
      if (pa_cli_parse_count(optarg, 0, PA_PIPE_MAX_WORKERS, &v)) {
        pa_cli_line(stderr, "pacsaudit listen: --workers: a number from 0 to %d",
                    PA_PIPE_MAX_WORKERS);
        return PA_EXIT_INPUT;
      }
      workers = (int)v;
      break;
    case 'q': quiet = 1; break;
    case 'h': help(stdout); return PA_EXIT_OK;
    default: help(stderr); return PA_EXIT_INPUT;
    }
  }
  if (optind != argc || (!n_urls && !L.iface)) {
    pa_cli_line(stderr, "pacsaudit listen: give at least one --syslog URL or --iface");
    help(stderr);
    return PA_EXIT_INPUT;
  }
  if ((cert || key) && !(cert && key)) {
    pa_cli_line(stderr, "pacsaudit listen: --cert and --key go together");
    return PA_EXIT_INPUT;
  }

  pa_err_clear(&err);
  if ((r = pa_cli_open_store(L.db, &L.store)))
    return r;
  pa_store_interrupt(L.store, &stop_flag);
  pa_store_batch_limits(L.store, L.batch_rows, L.batch_us);
  /* the small batches' events reach events' indexes many batches at a time */
  pa_store_events_pending(L.store, 1);
  if (pa_store_run_begin(L.store, "listen", NULL, &run_id) ||
      pa_feed_init(&L.feed, L.store, decoders, tz, run_id, &err) || pa_listen_new(&ops, &L.l)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg[0] ? err.msg : pa_store_errmsg(L.store));
    code = PA_EXIT_INPUT;
    goto out;
  }
  pa_store_run_track(L.store, run_id);
  L.feed.live = 1;
  if (workers > 0 && pa_pipe_new(&L.feed, workers, &L.pipe)) {
    pa_log(PA_LOG_ERROR, "cannot start %d worker threads", workers);
    code = PA_EXIT_INTERNAL;
    goto out;
  }
  if (L.pipe)
    pa_pipe_on_written(L.pipe, on_written, &L);
  pa_syslog_opts_init(&L.opts, 0, L.feed.tz);
  if (cert && pa_listen_tls(L.l, cert, key, ca, &err)) {
    pa_log(PA_LOG_ERROR, "%s", err.msg);
    code = PA_EXIT_INPUT;
    goto out;
  }
  L.decoders = decoders;
  L.tz = tz;
  L.run_id = run_id;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = relp_wake; /* no SA_RESTART: it ends librelp's wait */
  sigaction(SIGUSR2, &sa, NULL);
  for (int i = 0; i < n_urls; i++) {
    if (!strncmp(urls[i], "relp://", 7)) {
      struct relp_ep *R = &L.relp[L.n_relp++];
      R->src = i;
      L.src[i].relp = 1;
      L.n_src++;
      if (relp_start(&L, R, urls[i])) {
        code = PA_EXIT_INPUT;
        goto out;
      }
      if (!quiet)
        pa_cli_line(stdout, "listening on %s", L.src[i].url);
      continue;
    }
    if (pa_listen_add(L.l, urls[i], L.src[i].url, sizeof L.src[i].url, &err)) {
      pa_log(PA_LOG_ERROR, "%s", err.msg);
      code = PA_EXIT_INPUT;
      goto out;
    }
    L.ep_src[L.n_ep++] = i;
    L.n_src++;
    if (!quiet)
      pa_cli_line(stdout, "listening on %s", L.src[i].url);
  }
  fflush(stdout);

  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_stop;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sa.sa_handler = on_usr1;
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);

  if (L.iface) {
    quiet_flag = quiet;
    cap_label_iface = L.iface;
    cap_label_bpf = L.bpf;
    if (pthread_create(&cap_thread, NULL, capture_main, &L) != 0) {
      pa_log(PA_LOG_ERROR, "cannot start the capture thread");
      code = PA_EXIT_INTERNAL;
      goto out;
    }
    have_thread = 1;
  }
  if (pa_store_batch_begin(L.store)) {
    code = PA_EXIT_INTERNAL;
    goto out;
  }
  if (n_urls) {
    if (pa_listen_run(L.l, &stop_flag))
      code = PA_EXIT_INTERNAL;
  } else {
    while (!stop_flag) {
      struct timespec ts = {0, 100 * 1000 * 1000};
      nanosleep(&ts, NULL);
      on_tick(&L);
    }
  }
  stop_flag = 1;
out:
  if (have_thread) {
    pthread_join(cap_thread, NULL);
    if (L.cap_rc) {
      pa_log(PA_LOG_ERROR, "%s", L.cap_err.msg[0] ? L.cap_err.msg : pa_strerror(L.cap_rc));
      code = L.cap_rc == PA_USAGE || L.cap_rc == PA_IO ? PA_EXIT_INPUT : PA_EXIT_INTERNAL;
    }
  }
  for (int i = 0; i < L.n_relp; i++)
    relp_stop(&L.relp[i]);
  refresh_dropped(&L);
  pa_listen_free(L.l);
  L.l = NULL;
  if (L.pipe && !L.fatal && (prc = pa_pipe_flush(L.pipe)))
    L.fatal = prc; /* what the workers still held is written, or counted lost */
  pa_pipe_free(L.pipe);
  L.pipe = NULL;
  pa_feed_cleanup(&L.feed);
  if (pa_store_batch_commit(L.store) && !L.fatal)
    L.fatal = PA_DB;
  settle(&L);
  if (L.fatal) {
    uint64_t lost = 0;
    for (int i = 0; i < L.n_src; i++)
      lost += L.src[i].lost;
    pa_log(PA_LOG_ERROR, "%s: %s; %llu received messages were not stored", L.db,
           pa_store_errmsg(L.store), (unsigned long long)lost);
    code = PA_EXIT_INTERNAL;
  }
  pa_store_counts(L.store, &sc);
  rc_counts.inputs = (uint64_t)L.n_src + (L.iface ? 1 : 0);
  rc_counts.events = sc.events;
  rc_counts.raw = sc.raw;
  rc_counts.quarantined = sc.quarantined;
  rc_counts.associations = L.cap.dicom + L.cap.tls;
  rc_counts.errors = L.cap.anomalies;
  detail_json(&L, &detail);
  if (run_id && pa_store_run_end(L.store, run_id, code == PA_EXIT_OK ? "ok" : "error", &rc_counts,
                                 pa_buf_str(&detail)))
    code = PA_EXIT_INTERNAL;
  pa_buf_cleanup(&detail);
  if (!quiet)
    print_counters(&L, stdout);
  if (pa_store_close(L.store))
    code = PA_EXIT_INTERNAL;
  return code;
}
