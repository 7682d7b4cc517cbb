/* limits.h — every cap on untrusted input, in one place.
 *
 * Announced lengths and counts are checked against these before anything is
 * read or allocated. Going past one is PA_LIMIT (or a recorded anomaly). */
#ifndef PA_LIMITS_H
#define PA_LIMITS_H

/* TCP reassembly */
#define PA_MAX_FLOWS          16384        /* live TCP flows tracked at once */
#define PA_REASM_OOO_MAX      (256 * 1024) /* out-of-order bytes held per direction */
#define PA_REASM_OOO_SEGS     256          /* out-of-order segments held per direction */
#define PA_FLOW_IDLE_US       (300LL * 1000000) /* evict a flow idle this long */
#define PA_TIME_WAIT_US       (120LL * 1000000) /* a closed flow's late segments are dropped this long */
#define PA_MAX_TIME_WAIT      4096         /* closed flows remembered at once (the newest) */
#define PA_SNIFF_MAX          4096         /* bytes looked at to recognise a protocol */

/* DICOM Upper Layer (PS3.8) */
#define PA_MAX_PDU_LEN        (16u * 1024 * 1024) /* announced PDU length cap */
#define PA_MAX_CTRL_PDU_LEN   (1024u * 1024)      /* A-ASSOCIATE etc., buffered whole */
#define PA_MAX_ITEMS_PER_PDU  1024
#define PA_MAX_PCTX           128          /* presentation contexts per association */
#define PA_MAX_TS_PER_PCTX    32           /* transfer syntaxes per presentation context */
#define PA_MAX_UID_LEN        64
#define PA_MAX_USER_ID_LEN    1024         /* user identity primary field kept (types 1, 2) */
#define PA_MAX_TOKEN_LEN      (64u * 1024) /* user identity token parsed (types 3..5) */
#define PA_MAX_CMD_LEN        (64u * 1024) /* DIMSE command set */
#define PA_MAX_IDENT_LEN      (1024u * 1024) /* C-FIND/MOVE/GET identifier */
#define PA_MAX_STORE_HEAD     (64u * 1024) /* leading C-STORE dataset bytes examined */
#define PA_MAX_PENDING_DIMSE  1024         /* requests awaiting a response per association */
#define PA_MAX_DS_DEPTH       8            /* nested sequences in an identifier */
#define PA_MAX_QUERY_JSON     (64u * 1024)
#define PA_MAX_FIND_RESULTS   10000        /* C-FIND results kept per request (dimse_results) */
/* C-FIND results held at once per association, all its pending requests together */
#define PA_MAX_FIND_RESULTS_HELD 20000

/* Store */
#define PA_STORE_BATCH_ROWS   100000       /* rows per bulk-ingest commit */
#define PA_STORE_BATCH_US     (1000000LL)  /* or this long, whichever first */
#define PA_STORE_BUSY_MAX_MS  (10 * 60 * 1000) /* wait this long for another writer's lock */
/* A writer checkpoints its WAL into the database when the WAL holds this
 * many pages (80 MB of 4 KB pages; SQLite's default is 1000). A random-key
 * index page dirtied by many small commits is then copied to the database
 * once a checkpoint, not once a commit: the listener's 1000-row batches
 * store 1.6x the messages a second (docs/performance.md). The WAL file
 * keeps its largest size between checkpoints. */
#define PA_STORE_WAL_PAGES    20000
/* The listener's events wait in events_pending (pa_store_events_pending)
 * until this many are there, or the oldest has waited this long: the
 * bound on how late a reader of events sees one. Larger moves write fewer
 * index pages an event: 5 s stored 17-22k msgs/s where 2 s (and 50,000)
 * stored 15.6-18.2k (docs/performance.md, "events_pending"). A move stops
 * the listener's loop for its time: 1.2 s for 50,000 events into a store
 * of 150,000. */
#define PA_STORE_PENDING_ROWS 200000
#define PA_STORE_PENDING_US   (5 * 1000000LL)
#define PA_STR_(x) #x
#define PA_STR(x) PA_STR_(x)              /* a number of this file, as a string */
#define PA_STORE_BUSY_STOP_MS (30 * 1000)      /* or this long once asked to stop */
#define PA_RAW_MAX_SIZE       (64u * 1024 * 1024) /* one raw message read back (verify) */

/* Raw compression: zstd with a dictionary trained on the store's own
 * messages (store_raw.c, docs/schema.md "raw_dicts") */
#define PA_RAW_MIN_COMPRESS   64           /* shorter messages are kept verbatim */
#define PA_RAW_DICT_SAMPLES   1000         /* messages a dictionary is trained on */
#define PA_RAW_DICT_SAMPLE_BYTES (4u * 1024 * 1024) /* or this many bytes of them */
#define PA_RAW_DICT_SAMPLE_MAX (16u * 1024) /* bytes of one message taken as a sample */
#define PA_RAW_DICT_SIZE      (32u * 1024) /* a trained dictionary's size, at most */
#define PA_RAW_DICT_WINDOW    1000         /* messages per window of the compression ratio */
/* retrain when a window's ratio (stored / original bytes) is this many
 * percent of the first window's with the same dictionary, or more */
#define PA_RAW_DICT_RETRAIN_PCT 150
#define PA_RAW_DICT_BACKOFF_MAX 64         /* after failed trainings: wait at most this many
                                              times PA_RAW_DICT_SAMPLES messages */
#define PA_RAW_DICT_CACHE     8            /* dictionaries kept loaded for reading */

/* Ingest's worker threads (ingest/pipe.c): messages read but not yet
 * written wait in one bounded queue, at most this many and this many bytes
 * of them (a message longer than the byte bound waits alone); the reader
 * blocks while it is full. */
#define PA_PIPE_SLOTS         256
#define PA_PIPE_BYTES         (32u * 1024 * 1024)
#define PA_PIPE_MAX_WORKERS   16           /* --workers N, at most */

/* ATNA / FHIR */
#define PA_MAX_ATNA_MSG       (1024u * 1024)     /* one ATNA XML message */
#define PA_MAX_XML_DEPTH      32                 /* element nesting in an ATNA message */
#define PA_MAX_FHIR_MSG       (4u * 1024 * 1024) /* one FHIR JSON text (resource or Bundle) */
#define PA_MAX_AUDIT_PARTICIPANTS 256            /* ActiveParticipant / agent kept per message */
#define PA_MAX_AUDIT_OBJECTS  4096               /* ParticipantObjectIdentification / entity kept */
#define PA_MAX_AUDIT_WARNINGS 16                 /* entries in pa_audit.warnings */

/* syslog */
#define PA_MAX_SYSLOG_MSG       (256u * 1024) /* one syslog message (frame payload) */
#define PA_SYSLOG_MAX_LEN_DIGITS 7            /* RFC 6587 MSG-LEN digits read before giving up */
#define PA_SYSLOG_KEEP_BUF      (64u * 1024)  /* a framer frees a larger buffer once it is empty */
#define PA_SYSLOG_MAX_HOSTNAME  255           /* RFC 5424 HOSTNAME; longer fields are malformed */
#define PA_SYSLOG_MAX_SD_ELEMS  64            /* SD-ELEMENTs in one message */
#define PA_SYSLOG_MAX_SD_PARAMS 256           /* SD-PARAMs in one message, all elements */
#define PA_SYSLOG_MAX_TAG       64            /* RFC 3164 TAG bytes looked at (spec: 32) */
#define PA_MAX_DECODER_FILE     (1024u * 1024) /* one decoder JSON file */
#define PA_MAX_DECODERS         4096          /* decoders loaded in all */
#define PA_DECODER_MAX_FIELD    1024          /* bytes kept of one captured field */
#define PA_DECODER_MATCH_LIMIT  100000        /* PCRE2 match limit per line and decoder */
#define PA_DECODER_DEPTH_LIMIT  1000          /* PCRE2 depth (backtracking) limit */
#define PA_DECODER_TRY_KEYS     4             /* groups in a decoder's same_try.key */
/* bytes of one try's key (decoder, host, pid, groups); a longer one is not joined */
#define PA_DECODER_TRY_KEY_LEN  256
/* open tries a feed remembers (direct-mapped: a newer try may push an older one out) */
#define PA_FEED_TRY_SLOTS       4096
#define PA_FEED_TRY_WINDOW_US   (120LL * 1000000) /* a joining line comes this soon after */

/* Rules: the SQL functions of rules/sqlfn */
#define PA_SQLFN_MATCH_LIMIT  1000000      /* PCRE2 match limit per REGEXP row */
#define PA_SQLFN_DEPTH_LIMIT  10000        /* PCRE2 depth (backtracking) limit per row */
#define PA_SQLFN_REGEX_CACHE  64           /* compiled patterns kept per connection */
#define PA_SQLFN_MAX_REGEX    4096         /* bytes of one rule pattern */

/* Site policy */
#define PA_MAX_POLICY_FILE    (4u * 1024 * 1024) /* the policy JSON */
#define PA_MAX_ROSTER_CSV     (16u * 1024 * 1024) /* the roster CSV */
#define PA_MAX_ROSTER_ROWS    200000       /* data rows in the roster CSV */
#define PA_MAX_CSV_FIELD      4096         /* bytes in one CSV field */
#define PA_MAX_CSV_FIELDS     64           /* fields in one CSV row */
#define PA_MAX_POLICY_ERRORS  1000         /* error lines kept; later ones are counted */

/* Rules (rules/) */
#define PA_RULE_MAX_FILE      (1024u * 1024) /* bytes of one rule file */
#define PA_RULE_MAX_SET       1024         /* values in one "in" list */
#define PA_RULE_MAX_SQL       (1024u * 1024) /* bytes of one compiled statement */
#define PA_RULE_MAX_PARTS     8            /* "parts" of one rule */
#define PA_RULE_MAX_EVIDENCE  1000         /* evidence ids kept per finding (count is whole) */
#define PA_RULE_MAX_RULES     1024         /* rules in one set */
#define PA_RULE_MAX_DECIDE    4            /* "decide.data" checks of one rule */
/* Lanes of check (rules/engine.h): each is a connection with its own page
 * cache (PA_ENGINE_CACHE_KIB, which also sizes each sort's runs) and temp
 * cache (rules/engine.c), so memory is bounded by their number, not by
 * the store's size. With 8 MiB each the pack ran as fast as with 32 + 64
 * MiB (peak RSS at 10M: 350 -> 92 MiB). A smaller page cache then sorted
 * faster: PR-01's grouping of 6M rows at 10M events took 9.2 s with 64
 * MiB, 5.7-6.4 s with 8, 4.5 with 4, 4.4 with 2 and 4.6 with 1 (runs that
 * fit the CPU's caches, merged), and the pack's PR-01 went from 11.4-11.6
 * to 9.7-10.2 s with 2 MiB, its peak RSS from 88 to 46 MiB. */
#define PA_ENGINE_LANES_MAX   4
#define PA_ENGINE_CACHE_KIB   2048
#define PA_ENGINE_TEMP_CACHE_KIB 8192
#define PA_ENGINE_LANE_LOCK_MS 2000        /* wait for a writer so that lanes share a snapshot */
/* A rule's read of events reads the table by a full scan, not through the
 * index the planner picked, when that index leads to the table for at
 * least PA_ENGINE_SCAN_PERMILLE of a sample of PA_ENGINE_SCAN_SAMPLE rows:
 * once the table outgrows the page cache, each of those costs a random
 * page read (10M events: 3.7 µs a row read through an index against 0.7 µs
 * a row of a scan; at 7-9% of the rows the scan lost, at 24-62% it won).
 * With op stored (schema 15) a scan costs 0.2-0.3 µs a row and reads the
 * 8-9% of AC-05, AC-08 and PR-02 in half the time, but the rows then come
 * in time order, not the index's (op, user, time), and the sorts and
 * window passes after the read took 2-4x as long for AC-05 and PR-02. So
 * from PA_ENGINE_SORT_PERMILLE on, a read that may end in ORDER BY scans
 * and stores its rows sorted as the statements after it want them, or in
 * the index's order (10M, PR-02's 9.2%: 3.6-4.1 s against 5.5-6.0 s
 * through the index; the sort is 1.5 µs a row: at 4.6% the two were even,
 * and below 5% such a read fetches the index's rows in table order).
 * PA_RULE_MAX_READ_TERMS: the parts of one read's filter that are told
 * apart (more, and the read keeps the planner's index). */
#define PA_ENGINE_SCAN_SAMPLE 1000
#define PA_ENGINE_SCAN_PERMILLE 200
#define PA_ENGINE_SORT_PERMILLE 50
#define PA_RULE_MAX_READ_TERMS 32

#endif
