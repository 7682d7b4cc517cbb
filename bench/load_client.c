/* load_client.c — the listener load test's senders (bench/audit-ingest.sh).
 *
 *   pa_bench_load HOST PORT CLIENTS MSGS [--seed S] [--db PATH] [--timeout SECS]
 *
 * CLIENTS threads each open one TCP connection to HOST:PORT and send MSGS
 * messages of the synthetic ATNA workload (atna_gen.h), RFC 6587
 * octet-counted, as fast as the socket takes them. Client c sends messages
 * c*MSGS .. (c+1)*MSGS-1 of stream S, so no two are alike and dedup keeps
 * all. The frames are made before the clock starts.
 *
 * With --db, it then polls the listener's database until raw holds every
 * message sent over TCP (or nothing new arrived for SECS, default 60), and
 * prints how long storing took from the first byte sent.
 *
 * Output: "sent n=N secs=S rate=R" and, with --db,
 * "stored n=N expected=E secs=S rate=R". Exit 0 when all were stored. */
#include "atna_gen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
  pthread_t th;
  const char *host, *port;
  char *buf;      /* the frames, owned */
  size_t len;
  int ok;
  double done;    /* when its last byte was written */
};

static pthread_barrier_t start_line;

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int dial(const char *host, const char *port)
{
  struct addrinfo hints = {0}, *ai, *a;
  int fd = -1;

  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(host, port, &hints, &ai) != 0)
    return -1;
  for (a = ai; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0)
      break;
    if (fd >= 0)
      close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

static void *run(void *arg)
{
  struct client *c = arg;
  int fd = dial(c->host, c->port);
  size_t off = 0;

  pthread_barrier_wait(&start_line);
  if (fd < 0) {
    fprintf(stderr, "pa_bench_load: connect %s:%s: %s\n", c->host, c->port, strerror(errno));
    return NULL;
  }
  while (off < c->len) {
    ssize_t n = write(fd, c->buf + off, c->len - off > (1 << 20) ? (1 << 20) : c->len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      fprintf(stderr, "pa_bench_load: write: %s\n", strerror(errno));
      close(fd);
      return NULL;
    }
    off += (size_t)n;
  }
  c->done = now();
  shutdown(fd, SHUT_WR);
  close(fd);
  c->ok = 1;
  return NULL;
}

static long long count_tcp(sqlite3 *db)
{
  sqlite3_stmt *q;
  long long n = -1;
  if (sqlite3_prepare_v2(db, "SELECT count(*) FROM raw WHERE origin LIKE 'tcp://%'", -1, &q,
                         NULL) != SQLITE_OK)
    return -1;
  if (sqlite3_step(q) == SQLITE_ROW)
    n = sqlite3_column_int64(q, 0);
  sqlite3_finalize(q);
  return n;
}

int main(int argc, char **argv)
{
  unsigned long long seed = 7, clients, msgs;
  const char *db_path = NULL;
  double timeout = 60, t0, t_sent = 0;
  struct client *cs;
  long long expected, base = 0;
  sqlite3 *db = NULL;
  int all_ok = 1;

  if (argc < 5) {
    fprintf(stderr, "usage: pa_bench_load HOST PORT CLIENTS MSGS [--seed S] [--db PATH] "
                    "[--timeout SECS]\n");
    return 2;
  }
  clients = strtoull(argv[3], NULL, 10);
  msgs = strtoull(argv[4], NULL, 10);
  for (int i = 5; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--seed"))
      seed = strtoull(argv[i + 1], NULL, 10);
    else if (!strcmp(argv[i], "--db"))
      db_path = argv[i + 1];
    else if (!strcmp(argv[i], "--timeout"))
      timeout = strtod(argv[i + 1], NULL);
  }
  if (!clients || clients > 1024 || !msgs) {
    fprintf(stderr, "pa_bench_load: CLIENTS 1..1024 and MSGS > 0\n");
    return 2;
  }
  expected = (long long)(clients * msgs);
  if (db_path) {
    if (sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
      fprintf(stderr, "pa_bench_load: %s: cannot open\n", db_path);
      return 2;
    }
    sqlite3_busy_timeout(db, 5000);
    base = count_tcp(db);
    if (base < 0)
      base = 0;
  }
  cs = calloc(clients, sizeof *cs);
  if (!cs)
    return 3;
  for (unsigned long long c = 0; c < clients; c++) {
    size_t cap = (size_t)msgs * (PA_GEN_MAX_LINE / 2), len = 0;
    char *b = malloc(cap);
    if (!b)
      return 3;
    for (unsigned long long i = c * msgs; i < (c + 1) * msgs; i++) {
      char line[PA_GEN_MAX_LINE];
      size_t n = pa_gen_line(seed, i, line, sizeof line, 0);
      int h;
      if (cap - len < n + 16) {
        cap *= 2;
        if (!(b = realloc(b, cap)))
          return 3;
      }
      h = snprintf(b + len, cap - len, "%zu ", n);
      memcpy(b + len + (size_t)h, line, n);
      len += (size_t)h + n;
    }
    cs[c].host = argv[1];
    cs[c].port = argv[2];
    cs[c].buf = b;
    cs[c].len = len;
  }
  pthread_barrier_init(&start_line, NULL, (unsigned)clients + 1);
  for (unsigned long long c = 0; c < clients; c++)
    if (pthread_create(&cs[c].th, NULL, run, &cs[c]) != 0)
      return 3;
  pthread_barrier_wait(&start_line);
  t0 = now();
  for (unsigned long long c = 0; c < clients; c++) {
    pthread_join(cs[c].th, NULL);
    all_ok &= cs[c].ok;
    if (cs[c].done - t0 > t_sent)
      t_sent = cs[c].done - t0;
    free(cs[c].buf);
  }
  printf("sent n=%lld secs=%.3f rate=%.0f clients=%llu ok=%d\n", expected, t_sent,
         t_sent > 0 ? (double)expected / t_sent : 0.0, clients, all_ok);
  fflush(stdout);
  if (db) {
    long long got = 0, last = -1;
    double t_last = now(), t_done;
    for (;;) {
      got = count_tcp(db) - base;
      t_done = now();
      if (got >= expected)
        break;
      if (got != last) {
        last = got;
        t_last = t_done;
      } else if (t_done - t_last > timeout) {
        break;
      }
      usleep(20000);
    }
    printf("stored n=%lld expected=%lld secs=%.3f rate=%.0f\n", got, expected, t_done - t0,
           (double)got / (t_done - t0));
    sqlite3_close(db);
    free(cs);
    return got == expected && all_ok ? 0 : 1;
  }
  free(cs);
  return all_ok ? 0 : 1;
}
