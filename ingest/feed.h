/* feed.h — one received message into the store: the path every syslog
 * line, datagram, ATNA file and FHIR text takes, from `ingest` and `listen`
 * alike.
 *
 * Where it lives: ingest/ is a library of its own (pa_ingest), one level
 * above collectors/ and analyzer/ in design.md's one-way graph:
 *
 *   cli ─► ingest ─┬─► collectors ─► analyzer
 *                  └─► analyzer (the store)
 *
 * The feed joins a collector's records to the store (raw, repeats,
 * quarantine, the all-or-nothing message), so it cannot sit in collectors/,
 * which knows nothing of the store's SQLite, nor in analyzer/, which knows
 * nothing of the formats. In cli/ only the executable reached it; here the
 * unit tests (tests/unit/test_feed.c) and the fuzzer (fuzz_feed) link it.
 *
 *   bytes ─► raw (once, hash-chained) ─► syslog header ─► body sniffing
 *            ├─ ATNA XML ─► atna_xml ─┐
 *            ├─ FHIR JSON ─► fhir_audit ├─► events (+ details) via the store sink
 *            ├─ text ─► decoders ───────┘
 *            └─ what fails ─► quarantine, with the error, origin and offset
 *
 * A message already in raw (same SHA-256) is not parsed again, so re-reading
 * a file, a copy of it or a client re-sending adds nothing; but a plain text
 * line again at another place of the same file or connection, or in another
 * datagram from the same peer, is a repeat (raw_repeats) and makes its event
 * again: sshd writes one identical line for each failed try. An ATNA or FHIR
 * message carries its own time and ids: the same bytes are the same event. */
#ifndef PA_FEED_H
#define PA_FEED_H

#include "analyzer/err.h"
#include "analyzer/limits.h"
#include "analyzer/store.h"
#include "collectors/atna_xml.h"
#include "collectors/audit_map.h"
#include "collectors/decoders.h"
#include "collectors/file_src.h"
#include "collectors/syslog.h"

#include <stdint.h>

struct pa_feed_counts {
  uint64_t messages;     /* messages offered */
  uint64_t duplicates;   /* already in raw: skipped */
  uint64_t repeats;      /* a text line in raw, again at another place of its stream: parsed */
  uint64_t atna, fhir;   /* audit messages stored as events */
  uint64_t decoded;      /* plain lines a decoder turned into an event */
  uint64_t joined;       /* of those, lines that joined an earlier line's event (one
                            try written as two lines: no event of their own) */
  uint64_t unmatched;    /* plain lines kept in raw only */
  uint64_t quarantined;  /* messages (or lines) that could not be parsed */
};

/* A try a later line may join (pa_decoded.try_key): its event's id. */
struct pa_feed_try {
  char key[PA_DECODER_TRY_KEY_LEN]; /* "" free */
  int64_t event_id;
  int64_t ts;                       /* the event's time, µs */
};

struct pa_feed {
  pa_store *store;            /* borrowed */
  struct pa_sink sink;         /* ticks after each record: for captures */
  struct pa_sink msg_sink;     /* no tick: the records of one message, then a tick */
  pa_atna *atna;              /* owned */
  pa_decoders *decoders;      /* owned */
  pa_decoders_scratch *scratch; /* owned */
  const char *tz;             /* borrowed: zone of zone-less times, NULL = site default */
  int64_t run_id;
  int live;                   /* 1 for the listener: a time of receipt is its clock's
                                 ("receipt"), else the ingest clock of a file ("file") */
  struct pa_feed_counts n;
  struct pa_feed_try *tries;  /* owned: PA_FEED_TRY_SLOTS, allocated at the first try */
};

/* Loads the built-in decoders, then those of site_decoders (a folder or a
 * file, may be NULL). err names the bad file. Clean up with
 * pa_feed_cleanup, also on failure. */
pa_rc pa_feed_init(struct pa_feed *f, pa_store *s, const char *site_decoders, const char *tz,
                   int64_t run_id, struct pa_err *err);
void pa_feed_cleanup(struct pa_feed *f);

/* One syslog message (a frame, a datagram, a joined group of lines) read
 * from origin at offset; received_ts is when it was read; o carries the
 * reference time for RFC 3164's missing year. PA_OK unless the store
 * failed (PA_DB, PA_NOMEM): bad input is quarantined, not returned. */
pa_rc pa_feed_syslog(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                     int64_t offset, int64_t received_ts, const struct pa_syslog_opts *o);

/* A whole document as read from a file: an ATNA XML message
 * (PA_SYSLOG_BODY_ATNA_XML), one FHIR JSON text (PA_SYSLOG_BODY_FHIR_JSON:
 * a resource or a Bundle; a line of NDJSON) or an IHE Yr4 message
 * (PA_SYSLOG_BODY_IHE_YR4). kind is what the one body sniffer
 * (pa_syslog_body_kind, through pa_file_sniff) said, and a body of a kind
 * is treated as the same body in a syslog message is: an IHE Yr4 message
 * is kept in raw only, on either path (formats.md §0). */
pa_rc pa_feed_body(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                   const char *origin, int64_t offset, int64_t received_ts);

/* A file driver's sink (collectors/file_src.h) that feeds f: frames to
 * pa_feed_syslog, documents to pa_feed_body, bad bytes to pa_feed_bad, each
 * received now. progress is left NULL. */
void pa_feed_file_sink(struct pa_feed *f, struct pa_file_sink *out);

/* Input that could not even be framed (garbage, a cut frame): quarantine. */
pa_rc pa_feed_bad(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                  int64_t offset, const char *why);

/* ---- work done ahead of the writer (ingest/pipe.c) -------------------------
 *
 * What a message needs before the store sees it is pure CPU: the SHA-256 and
 * the zstd frame of its bytes (pa_raw_precompute), and the parse of an audit
 * body (ATNA XML, FHIR JSON) into records. A worker thread does it into a
 * pa_feed_pre with its own pa_feed_prep; the writer then feeds the message
 * with pa_feed_syslog_pre / pa_feed_body_pre, which do exactly what
 * pa_feed_syslog / pa_feed_body do (raw row, dedup, repeats, quarantine,
 * tries, the all-or-nothing message, the counts) with the records replayed
 * into the store's sink in their order instead of parsed again. A message
 * found already in raw drops its records unused. Plain text lines are
 * decoded on the writer, as sshd tries join there. */

/* One audit record made ahead: the pa_audit as the parser gave it, its
 * participants and objects at p0 / o0 of the pre's arrays. */
struct pa_feed_rec {
  struct pa_audit a; /* strings in the pre's arena; participants/objects NULL */
  size_t p0, o0;
};

struct pa_feed_pre {
  struct pa_raw_pre raw;      /* sha and frame (raw.z borrowed from the worker's zc
                                 until it moves on: the pipe copies it into zbuf) */
  uint8_t *zbuf;              /* owned copy of the frame */
  size_t zcap;
  int parsed;                 /* 1: the body was parsed: rc, e and recs stand for it */
  pa_rc rc;                   /* the parser's return */
  struct pa_err e;
  struct pa_feed_rec *recs;   /* owned, n_recs of them */
  size_t n_recs, cap_recs;
  struct pa_participant *parts; /* owned */
  size_t n_parts, cap_parts;
  struct pa_object *objs;     /* owned */
  size_t n_objs, cap_objs;
  struct pa_arena arena;      /* the records' strings */
  uint64_t ns_hash, ns_zstd, ns_parse; /* what each stage took for this message */
};
/* Both leave pre empty (reused message after message). */
void pa_feed_pre_init(struct pa_feed_pre *pre);
void pa_feed_pre_cleanup(struct pa_feed_pre *pre);

/* A worker's parsers, one per thread. tz and live as the feed's
 * (pa_feed.tz, .live). Clean up with pa_feed_prep_cleanup, also on
 * failure. */
struct pa_feed_prep {
  pa_atna *atna;              /* owned */
  struct pa_raw_zc zc;        /* owned */
  const char *tz;             /* borrowed */
  int live;
};
pa_rc pa_feed_prep_init(struct pa_feed_prep *w, const char *tz, int live);
void pa_feed_prep_cleanup(struct pa_feed_prep *w);

/* The work of pa_feed_syslog / pa_feed_body on p[0..len) that needs no
 * store, into pre (reset first), compressing with dict (a reference the
 * caller holds while pre is used). origin and o are what the writer will
 * be given. */
void pa_feed_prep_syslog(struct pa_feed_prep *w, const pa_raw_zdict *dict, const uint8_t *p,
                         size_t len, const char *origin, int64_t received_ts,
                         const struct pa_syslog_opts *o, struct pa_feed_pre *pre);
void pa_feed_prep_body(struct pa_feed_prep *w, const pa_raw_zdict *dict,
                       enum pa_syslog_body kind, const uint8_t *p, size_t len,
                       const char *origin, int64_t received_ts, struct pa_feed_pre *pre);

/* pa_feed_syslog and pa_feed_body with pre (NULL: none) made for the same
 * message by pa_feed_prep_*. */
pa_rc pa_feed_syslog_pre(struct pa_feed *f, const uint8_t *p, size_t len, const char *origin,
                         int64_t offset, int64_t received_ts, const struct pa_syslog_opts *o,
                         const struct pa_feed_pre *pre);
pa_rc pa_feed_body_pre(struct pa_feed *f, enum pa_syslog_body kind, const uint8_t *p,
                       size_t len, const char *origin, int64_t offset, int64_t received_ts,
                       const struct pa_feed_pre *pre);

#endif
