/* pipe.h — worker threads in front of the one store writer (issue 5/6).
 *
 *   reader (the file driver) ─► bounded queue ─► worker threads ─► in order ─► writer
 *   pa_file_read's sink         PA_PIPE_SLOTS     SHA-256, zstd,    sequence    pa_feed_*_pre:
 *   copies each message in      PA_PIPE_BYTES     ATNA / FHIR       numbers     raw, chain, rows,
 *                                                 parse (feed_prep.c)           batches, counts
 *
 * The reader and the writer are the calling thread: a message is enqueued
 * (blocking while the queue is full: back-pressure, memory bounded by
 * limits.h), and every message whose work is done is written, in the order
 * read. So the store sees exactly the calls of the single-threaded path,
 * in the same order: the hash chain, the all-or-nothing batches and every
 * row are the same (tests/e2e/test_workers.sh compares them). */
#ifndef PA_PIPE_H
#define PA_PIPE_H

#include "ingest/feed.h"

typedef struct pa_pipe pa_pipe;

/* Where the time went, summed over the messages written (ns of each
 * thread's clock while it did that stage). */
struct pa_pipe_stats {
  uint64_t messages;
  uint64_t ns_hash, ns_zstd, ns_parse; /* on the workers */
  uint64_t ns_write;                   /* on the writer: pa_feed_*_pre, commits included */
  uint64_t waits;                      /* times the reader found the queue full */
};

/* Starts workers threads (1..PA_PIPE_MAX_WORKERS) in front of feed f
 * (borrowed; its store is written only from the calling thread). *out is
 * the caller's: pa_pipe_free. PA_NOMEM, or PA_IO when a thread cannot be
 * started. */
pa_rc pa_pipe_new(struct pa_feed *f, int workers, pa_pipe **out);

/* A file driver's sink that queues each message for p (as
 * pa_feed_file_sink feeds it directly). A callback returns the first store
 * error met by a write so far (the driver then stops). */
void pa_pipe_file_sink(pa_pipe *p, struct pa_file_sink *out);

/* A listener's message, queued as pa_feed_syslog takes it (received_ts
 * is the time of receipt; offset -1 for a datagram); tag is the caller's,
 * handed back by the written hook. The first store error so far. */
pa_rc pa_pipe_syslog(pa_pipe *p, const uint8_t *b, size_t len, const char *origin, int64_t offset,
                     int64_t received_ts, const struct pa_syslog_opts *o, long tag);

/* Bytes that are no good frame, queued as pa_feed_bad takes them. */
pa_rc pa_pipe_bad(pa_pipe *p, const uint8_t *b, size_t len, const char *origin, int64_t offset,
                  const char *why, long tag);

/* fn is called on the writer once each queued message went through the
 * feed (or was dropped: rc is then the store error that stopped writes),
 * with its tag and the feed's counts before it, so that a caller can say
 * what became of each message (the listener's ledger). */
void pa_pipe_on_written(pa_pipe *p,
                        void (*fn)(void *ctx, long tag, pa_rc rc,
                                   const struct pa_feed_counts *before),
                        void *ctx);

/* The default number of workers: the CPUs less one (the writer's), at
 * most PA_PIPE_MAX_WORKERS; 0 on one CPU. */
int pa_pipe_default_workers(void);

/* Writes every message queued, in order; PA_OK or the first store error
 * (PA_DB, PA_NOMEM, PA_IO), after which queued messages are dropped
 * unwritten (their batch rolls back). */
pa_rc pa_pipe_flush(pa_pipe *p);

void pa_pipe_stats(const pa_pipe *p, struct pa_pipe_stats *out);

/* Stops the workers and frees p (NULL ok). What is still queued is
 * dropped: flush first. */
void pa_pipe_free(pa_pipe *p);

#endif
