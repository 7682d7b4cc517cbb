/* store_int.h — what the store's files share (private to analyzer/store*.c).
 *
 * The store is one module over these files: store.c (open, close, migrate,
 * batches and locks, runs, ingest_state), store_put.c (the inserts of
 * associations, presentation contexts, DIMSE, events and audit details),
 * store_raw.c (raw, its hash chain, repeats, quarantine, verify),
 * store_findings.c (the rules' findings) and store_review.c (reviewers'
 * status changes and sign-offs). They share
 * the handle's body and the statement cache declared here. */
#ifndef PA_STORE_INT_H
#define PA_STORE_INT_H

#include "store.h"
#include "hash.h"

#include <signal.h>
#include <sqlite3.h>
#include <stdint.h>
#include <zlib.h>

/* The cached prepared statements, by index into pa__store_stmt_sql. */
enum {
  PA__ST_ASSOC_INS,
  PA__ST_ASSOC_UPD,
  PA__ST_PCTX,
  PA__ST_DIMSE,
  PA__ST_DRES,
  PA__ST_EVENT,
  PA__ST_EVENT_PENDING,
  PA__ST_EVENT_JOIN,
  PA__ST_EVENT_JOIN_PENDING,
  PA__ST_STATE_GET,
  PA__ST_STATE_PUT,
  PA__ST_DETAIL,
  PA__ST_PART,
  PA__ST_OBJ,
  PA__ST_RAW_FIND,
  PA__ST_RAW_INS,
  PA__ST_RAW_WHERE,
  PA__ST_REPEAT,
  PA__ST_QUAR,
  PA__ST_FIND_FIND,
  PA__ST_FIND_INS,
  PA__ST_FIND_UPD,
  PA__ST_FIND_STATUS,
  PA__ST_RULE_RUN,
  PA__ST_COUNT
};

extern const char *const pa__store_stmt_sql[PA__ST_COUNT];

struct pa_store {
  sqlite3 *db;
  sqlite3_stmt *st[PA__ST_COUNT]; /* prepared lazily, finalized at close */
  int version_found;
  int flags;                        /* PA_STORE_* it was opened with */
  int in_read;                      /* a pa_store_read_begin transaction is open */
  int in_batch;                     /* batch mode: writes gather in transactions */
  int in_txn;                       /* a batch transaction is open (we hold the write lock) */
  int txn_failed;                   /* a write of the open batch failed: it will roll back */
  uint64_t commits;                 /* batch transactions committed */
  char err[256];                    /* why the last batch failed, "" if it did not */
  int64_t busy_since, busy_said;    /* on_busy: when the wait began, when last logged */
  int64_t stop_seen;                /* on_busy: when *stop was first seen set (for all
                                       later waits too: the process is stopping), 0 not yet */
  volatile sig_atomic_t *stop;      /* borrowed: set when the process is to stop */
  uint64_t batch_rows;
  uint64_t batch_max_rows;          /* tick commits after this many rows */
  int64_t batch_max_us;             /* or this long */
  int64_t batch_started;
  struct pa_store_counts counts;    /* rows written, the open batch's included */
  struct pa_store_counts pending;   /* of those, the open batch's: undone if it rolls back */
  int64_t run_id;                   /* pa_store_run_track: counts go there at commit, 0 none */
  int have_chain;                   /* chain_tip loaded from the last raw row */
  uint8_t chain_tip[PA_SHA256_LEN]; /* chain_hash of the last raw row */
  int chain_empty;                  /* raw holds no row yet */
  uint8_t *zbuf;                    /* compression scratch, owned */
  size_t zbuf_size;
  struct pa__raw_z *rz;             /* zstd state and dictionaries (store_raw.c), owned */
  int bulk;                         /* pa_store_bulk_begin deferred indexes: close makes them */
  int ev_pending;                   /* pa_store_events_pending: events go to events_pending */
  uint64_t ev_pending_rows;         /* written there since the last move (some may have
                                       rolled back: a move of none is harmless) */
  int64_t ev_pending_since;         /* when the first of them was written (monotonic µs) */
};

/* Counts a row written; a row of the open batch is also pending. */
#define PA__STORE_COUNT(s, f) ((s)->counts.f++, (s)->in_txn ? (void)(s)->pending.f++ : (void)0)

/* Runs sql (no rows wanted); PA_DB on failure, the reason in sqlite3_errmsg. */
pa_rc pa__store_exec(pa_store *s, const char *sql);

/* The cached statement which, reset and with its bindings cleared; NULL
 * (and the open batch marked failed) when it cannot be prepared. Borrowed:
 * the store finalizes it at close. */
sqlite3_stmt *pa__store_stmt(pa_store *s, int which);

/* A write of the open batch failed: it will roll back whole. */
void pa__store_txn_fail(pa_store *s);

/* Opens the batch's transaction (BEGIN IMMEDIATE) on its first write; a
 * no-op outside batch mode or when it is open already. */
pa_rc pa__store_write_begin(pa_store *s);

/* The monotonic clock, µs. */
int64_t pa__store_mono_us(void);

/* Steps a write statement to SQLITE_DONE and resets it; counts the row
 * towards the batch. PA_DB (batch marked failed) otherwise. */
pa_rc pa__store_step_done(pa_store *s, sqlite3_stmt *q);

/* Frees the raw side's compression state and dictionaries (store_raw.c);
 * for close. */
void pa__store_raw_free(pa_store *s);

/* Binds a string; "" and NULL both become NULL so absent reads as absent.
 * SQLITE_STATIC: every caller steps (and resets) the statement before it
 * returns, while v is still valid, and pa__store_stmt() clears the bindings before
 * the next use, so SQLite never reads v after that. Copying each value
 * (SQLITE_TRANSIENT) was a malloc, a memcpy and a free per column. */
/* Binds v as text, NULL when empty. Text columns are valid UTF-8 whatever
 * came in (docs/schema.md): a byte that is not is stored as U+FFFD, and the
 * bytes as received stay in raw. Returns 0, or -1 when out of memory. */
int pa__store_bind_text(sqlite3_stmt *q, int i, const char *v);

/* raw.sha_key: the first 8 bytes of a SHA-256, big-endian, as a signed
 * 64-bit integer (two's complement). */
static inline int64_t pa__store_sha_key(const void *sha)
{
  const uint8_t *b = sha;
  uint64_t k = 0;
  for (int i = 0; i < 8; i++)
    k = k << 8 | b[i];
  return (int64_t)k;
}

/* Binds v, or NULL when v is below zero (the records' "unknown"). */
static inline void pa__store_bind_opt(sqlite3_stmt *q, int i, int64_t v)
{
  if (v < 0)
    sqlite3_bind_null(q, i);
  else
    sqlite3_bind_int64(q, i, v);
}

#endif
