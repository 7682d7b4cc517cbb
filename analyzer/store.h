/* store.h — the SQLite store: schema, migrations, batched inserts, reads.
 *
 * The tables are a contract other tools read by name (docs/schema.md). The
 * store knows nothing of input formats: it takes the normalized records of
 * event.h. Inserts go through cached prepared statements inside batched
 * transactions (pa_store_batch_*); times are INTEGER microseconds UTC. */
#ifndef PA_STORE_H
#define PA_STORE_H

#include "err.h"
#include "event.h"

#include <signal.h>
#include <stdint.h>

typedef struct pa_store pa_store;

#define PA_SCHEMA_VERSION 16

/* Opens (creating with mode 0600 if absent) the database at path, sets WAL,
 * and migrates the schema to PA_SCHEMA_VERSION. A database of a newer
 * version than this program knows is refused (PA_DB). *out is owned by the
 * caller: pa_store_close. err names the file and the cause on failure.
 * The same as pa_store_open_mode(path, 0, out, err). */
pa_rc pa_store_open(const char *path, pa_store **out, struct pa_err *err);

/* How pa_store_open_mode opens, OR-ed together (0: pa_store_open). */
enum {
  /* SQLITE_OPEN_READONLY; implies NOCREATE and NOMIGRATE. Writes nothing,
   * not even the journal mode, so it reads a WAL database while a writer
   * runs; a write through the handle fails (PA_DB). For check, report,
   * query and verify. */
  PA_STORE_RDONLY = 1,
  /* A missing file is PA_IO, err "PATH: no such database"; nothing is
   * created. */
  PA_STORE_NOCREATE = 2,
  /* A schema older than PA_SCHEMA_VERSION is PA_DB, err naming the file,
   * both versions and how to migrate it, instead of migrating it. */
  PA_STORE_NOMIGRATE = 4,
};

/* pa_store_open with flags (PA_STORE_*); the rest as pa_store_open. */
pa_rc pa_store_open_mode(const char *path, int flags, pa_store **out, struct pa_err *err);

/* The SQLite handle, for the read side (rules, reports, query): borrowed,
 * valid until pa_store_close. Statements the caller prepares on it are the
 * caller's to finalize before closing. Writes belong in store calls. */
struct sqlite3 *pa_store_handle(pa_store *s);

/* One read transaction around several queries: they all see one snapshot
 * of the database, whatever another process commits meanwhile (WAL). Not
 * inside a batch with writes open (PA_DB). read_end ends it (PA_OK when
 * none is open). */
pa_rc pa_store_read_begin(pa_store *s);
pa_rc pa_store_read_end(pa_store *s);

/* One finding: an episode of one check of a rule (rules/engine.c). JSON
 * texts are borrowed for the call. */
struct pa_finding {
  const char *rule_id, *severity, *strength;
  const char *guideline_ref;  /* JSON array of the sections cited */
  const char *subject;        /* the one identifier it is about (may be NULL) */
  int64_t first_ts, last_ts;  /* µs UTC, the episode's first and last evidence */
  int64_t count;              /* facts in the episode */
  const char *evidence;       /* JSON array of events ids */
  const char *assoc_evidence; /* {"dimse": [...]} or {"associations": [...]}, or NULL */
  const char *detail;         /* {"part", "label_en", "label_ja"}, or NULL (part 0) */
  int part;                   /* which check of the rule: merged only with its own */
  int64_t gap_us;             /* the rule's episode gap: closer than this is the same */
  const char *excepted;       /* a policy exception's reason, or NULL when none applies */
};

/* Keeps f in `findings`, once: when a finding of the same rule, part and
 * subject overlaps it (or comes within gap_us), that is the same episode:
 * *known_out = 1, and it is extended if f reaches further; otherwise a new
 * row, status 'open' or 'excepted', with fingerprint SHA-256 of rule,
 * subject, first time (and part when not 0), stable across runs. A
 * reviewer's status ('acknowledged', 'closed') is never changed; 'open'
 * and 'excepted' follow the policy's exceptions. run_id (0 none) is
 * recorded as first_seen_run / updated_run. A write of the open batch:
 * the caller batches a run's findings (pa_store_batch_*). */
pa_rc pa_store_finding_put(pa_store *s, const struct pa_finding *f, int64_t run_id,
                           int *known_out);

/* A reviewer's change of a finding's status (`findings ack|close`,
 * store_review.c). status is "acknowledged" or "closed"; the transitions
 * allowed are open or excepted -> acknowledged -> closed, and open ->
 * closed. by (non-empty UTF-8, no control bytes) and note (UTF-8, may be
 * NULL) are borrowed for the call. In one transaction: a runs row
 * (command 'findings', args "<status> <id>", which *run_id_out gets when
 * not NULL), the findings row's status and updated_run, and a
 * finding_history row (status, prev_status, by, at now, note, run_id);
 * nothing is deleted. PA_USAGE, err naming the finding, for an unknown
 * id, a transition not allowed (a closed finding cannot be acknowledged)
 * or a bad by/note, with nothing written; PA_DB (err saying why) when the
 * database fails, rolled back; PA_DB also inside an open batch or read. */
pa_rc pa_store_finding_set_status(pa_store *s, int64_t finding_id, const char *status,
                                  const char *by, const char *note, int64_t *run_id_out,
                                  struct pa_err *err);

/* A reviewer's sign-off (`review`): the review evidence of AU-02. */
struct pa_review {
  const char *by;       /* who signed: non-empty UTF-8, no control bytes */
  const char *note;     /* UTF-8, or NULL */
  int64_t at;           /* when, µs UTC; 0: now */
  int has_period;       /* period_from/period_to are given */
  int64_t period_from;  /* µs UTC, inclusive */
  int64_t period_to;    /* µs UTC, exclusive; after period_from */
};
/* Records r in reviews, in one transaction with its runs row (command
 * 'review'); *id_out (may be NULL) the reviews id. Errors as
 * pa_store_finding_set_status (PA_USAGE for a bad by, note or period). */
pa_rc pa_store_review_put(pa_store *s, const struct pa_review *r, int64_t *id_out,
                          struct pa_err *err);

/* What one rule decided in one check run (rule_runs). */
struct pa_rule_run {
  const char *rule_id;
  int decided;               /* 1 when the data covered the rule over the period */
  const char *why;           /* when not: what was missing; else NULL */
  int64_t since_ts, until_ts; /* the period, 0 open */
  uint64_t n_new, n_known, n_excepted;
  double ms;
};
/* Records r for run_id (replacing a row of the same run and rule); a write
 * of the open batch. */
pa_rc pa_store_rule_run_put(pa_store *s, int64_t run_id, const struct pa_rule_run *r);

/* Commits any open batch and closes (NULL ok). */
pa_rc pa_store_close(pa_store *s);

/* The schema version found on disk when opened (0 for a new file). */
int pa_store_version_found(const pa_store *s);

/* Why the last batch failed (until one commits), else the last SQLite
 * error text; borrowed, valid until the next store call. */
const char *pa_store_errmsg(const pa_store *s);

/* Batches: begin opens a transaction; tick commits and reopens it once
 * PA_STORE_BATCH_ROWS rows or PA_STORE_BATCH_US have gone by (bulk ingest);
 * commit ends it. Writes outside a batch autocommit one by one.
 * A batch is all or nothing: once a write in it has failed, tick, commit
 * and close roll it back whole and return PA_DB, and the counts drop what
 * it had written. Waiting for another writer's lock is logged every 10 s
 * and given up after PA_STORE_BUSY_MAX_MS. */
pa_rc pa_store_batch_begin(pa_store *s);

/* A bulk load follows (ingest of files). When events holds no row, its
 * secondary indexes are dropped now, each recorded in deferred_indexes, and
 * made again, sorted once, by pa_store_bulk_end or pa_store_close: cheaper
 * than keeping nine B-trees in order row by row. When events has rows it
 * does nothing. If the process dies meanwhile, the next writable open makes
 * them (pa_store_open_mode); a read-only open reads without them. PA_DB on
 * a database error. */
pa_rc pa_store_bulk_begin(pa_store *s);
/* Makes the indexes pa_store_bulk_begin dropped (and any that a dead load
 * left in deferred_indexes); PA_OK when there are none. Commits an open
 * batch first. */
pa_rc pa_store_bulk_end(pa_store *s);
/* Sets when tick commits: after max_rows rows or max_us µs (defaults
 * PA_STORE_BATCH_ROWS / PA_STORE_BATCH_US, for bulk ingest; a listener
 * wants smaller batches for durability). */
void pa_store_batch_limits(pa_store *s, uint64_t max_rows, int64_t max_us);
pa_rc pa_store_batch_tick(pa_store *s);
pa_rc pa_store_batch_commit(pa_store *s);

/* For a writer of many small batches (the listener): from now on, events
 * are written to events_pending, a table with no secondary index, and
 * moved into events, ids unchanged, by a tick once PA_STORE_PENDING_ROWS
 * of them wait or the oldest has waited PA_STORE_PENDING_US, and by commit
 * and close. A move dirties each leaf of events' indexes once for all the
 * rows it moves, where batch by batch every commit wrote it again. A
 * writable open moves what a dead writer left (pa_store_open_mode); a
 * read-only reader sees an event in events once it has moved. */
void pa_store_events_pending(pa_store *s, int on);
/* Batches committed so far: a caller that counts what it handed over can
 * tell when that became durable. */
uint64_t pa_store_commits(const pa_store *s);

/* Inserts an association unless one with the same addresses, ports and
 * started_at exists: then *id_out = 0 (a re-ingest). */
pa_rc pa_store_assoc_begin(pa_store *s, const struct pa_assoc *a, int64_t *id_out);
pa_rc pa_store_assoc_update(pa_store *s, int64_t id, const struct pa_assoc *a);
pa_rc pa_store_put_pctx(pa_store *s, int64_t assoc_id, const struct pa_pctx *pc);
/* A dimse row and, for a C-FIND, one dimse_results row per d->results
 * (seq 0, 1, ... in the order the responses came). */
pa_rc pa_store_put_dimse(pa_store *s, const struct pa_dimse *d, int64_t *id_out);
pa_rc pa_store_put_event(pa_store *s, const struct pa_event *e, int64_t *id_out);

/* The first event stored from raw row raw_id with time ts (*id_out 0 when
 * none): a line read again finds the event it made then. Through the time
 * index. */
pa_rc pa_store_event_of_raw(pa_store *s, int64_t raw_id, int64_t ts, int64_t *id_out);

/* A later line of the fact that event id already records (one sshd try
 * written as two lines): fills in what the row lacks from e (auth_method,
 * user_id); writes no new row. */
pa_rc pa_store_event_join(pa_store *s, int64_t id, const struct pa_event *e);

/* An audit message: its events row (a->ev), audit_details, and one row a
 * participant and an object. *id_out (may be NULL) is the events id. */
pa_rc pa_store_put_audit(pa_store *s, const struct pa_audit *a, int64_t *id_out);

/* A message whose bytes are in raw already (raw_id), met again at offset of
 * origin. When it comes from the stream that raw_id came from but at
 * another place (offset < 0: a datagram, every one a new place), it is a
 * repeat: recorded once in raw_repeats, and *new_out is 1, so the caller
 * makes its event again. From another origin (a copy, a rotated file) or
 * at a place already recorded (a file read again), *new_out is 0. */
pa_rc pa_store_put_repeat(pa_store *s, int64_t raw_id, const char *origin, int64_t offset,
                          int64_t received_ts, int *new_out);

/* Keeps a received message verbatim in raw, once: if a message with the same
 * SHA-256 is stored already, *id_out is its id and *dup_out 1. Otherwise the
 * row joins the hash chain (chain_hash = SHA-256(prev chain_hash || sha256))
 * and is zstd-compressed when that saves space, with the store's current
 * dictionary (raw_dicts). The first messages of a store, and again those
 * after the traffic changes, also train the next dictionary, which is stored
 * in the same transaction (docs/schema.md, "raw_dicts"). */
pa_rc pa_store_put_raw(pa_store *s, const void *p, size_t len, const char *origin,
                       int64_t offset, int64_t received_ts, int64_t *id_out,
                       int *dup_out);

/* A dictionary of the store digested for compression (zstd CDict), shared
 * read-only with threads that compress ahead of the writer (ingest/pipe.c).
 * Reference-counted: the store holds one reference while it writes with it;
 * pa_raw_zdict_ref takes another (any thread), pa_raw_zdict_unref drops
 * one and frees it with the last. */
typedef struct pa_raw_zdict pa_raw_zdict;

/* The dictionary the store compresses with now, borrowed (NULL: none, or
 * not loaded yet: the first raw row of a batch loads it). Only the
 * writer's thread calls it; take a reference to keep it past the next
 * store call. */
const pa_raw_zdict *pa_store_raw_zdict(pa_store *s);
void pa_raw_zdict_ref(const pa_raw_zdict *d);
void pa_raw_zdict_unref(const pa_raw_zdict *d); /* accepts NULL */

/* What pa_store_put_raw computes from the message's bytes alone, made
 * ahead of the writer on any thread (pa_raw_precompute): the SHA-256 and
 * the zstd frame with dictionary dict (NULL none). */
struct pa_raw_pre {
  uint8_t sha[32];           /* SHA-256 of the bytes */
  const pa_raw_zdict *dict;  /* the dictionary z was made with (a reference held by
                                the caller), NULL none */
  const uint8_t *z;          /* the frame, borrowed; NULL when zlen is 0 */
  size_t zlen;               /* 0: compression does not pay, kept verbatim */
  int framed;                /* 0: z could not be made (no memory): the writer makes it */
};

/* A compressor for pa_raw_precompute, one per thread: NULL-initialised,
 * freed by pa_raw_zc_cleanup. */
struct pa_raw_zc {
  void *cctx;                /* ZSTD_CCtx, owned */
  const pa_raw_zdict *dict;  /* the dictionary cctx refers to, borrowed */
  uint8_t *buf;              /* the last frame, owned */
  size_t cap;
};
void pa_raw_zc_cleanup(struct pa_raw_zc *zc);

/* Fills out's frame for p[0..len) with dictionary dict (NULL none): the
 * very frame the store's writer would make with that dictionary (out->z
 * points into zc->buf until zc's next use). out->sha is the caller's to
 * fill (pa_sha256), so that each stage can be timed on its own. Pure CPU, thread-safe
 * with one zc per thread; the caller keeps a reference on dict while out
 * is used. */
void pa_raw_precompute(struct pa_raw_zc *zc, const pa_raw_zdict *dict, const void *p,
                       size_t len, struct pa_raw_pre *out);

/* pa_store_put_raw with the work of pa_raw_precompute done: the dedup
 * lookup, the dictionary sample and the chain as pa_store_put_raw, in the
 * writer's order. When the store's dictionary is no longer pre->dict (it
 * was retrained meanwhile) the bytes are compressed again here, so the row
 * is the one pa_store_put_raw writes. pre NULL: pa_store_put_raw. */
pa_rc pa_store_put_raw_pre(pa_store *s, const void *p, size_t len, const struct pa_raw_pre *pre,
                           const char *origin, int64_t offset, int64_t received_ts,
                           int64_t *id_out, int *dup_out);

/* The message of raw row id, as received, whatever its compression (none,
 * zlib, zstd with or without a dictionary): *out (owned by the caller,
 * free()) holds *len_out bytes. PA_USAGE when there is no such row or
 * retention dropped its bytes; PA_MALFORMED (err says why) when its bytes do
 * not restore to its size. The sha256 is not checked: pa_store_verify_raw. */
pa_rc pa_store_raw_get(pa_store *s, int64_t id, uint8_t **out, size_t *len_out,
                       struct pa_err *err);

/* Keeps input that could not be parsed, verbatim, with the error (once per
 * SHA-256). */
pa_rc pa_store_quarantine(pa_store *s, const void *p, size_t len, const char *origin,
                          int64_t offset, const char *error, int64_t run_id);

/* Walks raw in id order: re-hashes each message and re-computes the chain.
 * A row whose bytes retention dropped (id within pa_store_raw_retention) is
 * checked by its chain link alone; a row without bytes past it is broken.
 * *n_out rows checked; *bad_id_out the first row that fails (0 none), with
 * why in err. PA_OK when the whole chain holds. */
pa_rc pa_store_verify_raw(pa_store *s, uint64_t *n_out, int64_t *bad_id_out,
                          struct pa_err *err);

/* Retention: drops the bytes of the raw messages received before
 * before_us, oldest first, stopping at the first one received later (the
 * cut is a prefix of the chain). Their rows, sha256 and chain links stay,
 * so verify still checks the whole chain and a message received again is
 * still known; events and findings are never touched. The cut is recorded
 * in raw_retention with run_id (0 none), all in one transaction. *n_out:
 * messages whose bytes were dropped now; *up_to_out: the last row id the
 * retention now covers (0 none). */
pa_rc pa_store_raw_prune(pa_store *s, int64_t before_us, int64_t run_id, uint64_t *n_out,
                         int64_t *up_to_out);

/* The retention so far: the last raw row id without its bytes by design
 * (0 none) and when that cut was made (µs, 0 none). */
pa_rc pa_store_raw_retention(pa_store *s, int64_t *up_to_out, int64_t *at_out);

/* Counters of rows written through this handle since it was opened. */
struct pa_store_counts {
  uint64_t associations, duplicates, pctx, dimse, events, raw, quarantined;
};
void pa_store_counts(const pa_store *s, struct pa_store_counts *out);

/* A sink (event.h) that writes every record into s, each followed by a
 * batch tick, except audit records (one message may make several). s must
 * outlive it. For a capture's associations, DIMSE rows and their events. */
void pa_store_sink(pa_store *s, struct pa_sink *out);
/* A sink for the events and audit records of one message: no tick, so a
 * batch never ends inside a message; the caller ticks after it. */
void pa_store_msg_sink(pa_store *s, struct pa_sink *out);
/* Marks the open batch failed: it rolls back whole when it ends. For a
 * caller whose own step failed after it had written part of a message. */
void pa_store_batch_fail(pa_store *s);
/* While *stop is set, a wait for another writer's lock lasts at most
 * PA_STORE_BUSY_STOP_MS more (a listener told to stop). stop is borrowed. */
void pa_store_interrupt(pa_store *s, volatile sig_atomic_t *stop);

/* runs: one row per command run, status 'running' until run_end, with
 * the pid and start marker of this process. A writable open marks a
 * 'running' row 'interrupted' (ended_at: the time it was found) when its
 * process is gone or its pid now belongs to another process. */
pa_rc pa_store_run_begin(pa_store *s, const char *command, const char *args,
                         int64_t *run_id_out);
/* From now on, every batch that commits writes the rows this handle has
 * committed (events, raw, quarantined, associations, dimse) into run
 * run_id, in the same transaction: a run that dies keeps true counts. */
void pa_store_run_track(pa_store *s, int64_t run_id);
struct pa_run_counts {
  uint64_t inputs, inputs_skipped, associations, dimse, events, raw,
           quarantined, errors;
};
/* status: "ok", "input-error", "error"; detail: JSON text or NULL. */
pa_rc pa_store_run_end(pa_store *s, int64_t run_id, const char *status,
                       const struct pa_run_counts *c, const char *detail);

/* ingest_state: how far into each input ingest has read. */
struct pa_input_state {
  char kind[16];          /* "pcap", ... */
  int64_t inode, size, mtime_us;
  char head_sha256[65];   /* hex SHA-256 of the first PA_STATE_HEAD bytes */
  int64_t offset;         /* bytes consumed */
};
#define PA_STATE_HEAD 4096
/* PA_OK and *found_out = 1/0. */
pa_rc pa_store_state_get(pa_store *s, const char *path, struct pa_input_state *st,
                         int *found_out);
pa_rc pa_store_state_put(pa_store *s, const char *path, const struct pa_input_state *st,
                         int64_t run_id);

#endif
