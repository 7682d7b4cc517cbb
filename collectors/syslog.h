/* syslog.h — syslog messages and streams: RFC 5424 and RFC 3164 headers,
 * RFC 6587 framing (octet counting and non-transparent LF/NUL/CRLF), the
 * file-mode line joiner for multi-line bodies, and body sniffing.
 *
 * Place in the pipeline: bytes from a file, a UDP datagram or a TCP/TLS
 * stream go through pa_syslog_framer (streams and files) into frames; each
 * frame goes through pa_syslog_parse into a pa_syslog_msg; the MSG body is
 * classified by pa_syslog_body_kind and handed to the ATNA XML, FHIR JSON or
 * plain-text (decoders) path. Everything here is a pure function over byte
 * buffers: no I/O, no SQLite. See docs/syslog.md for the decisions (year
 * inference, framing fallback, joiner rule). */
#ifndef PA_SYSLOG_H
#define PA_SYSLOG_H

#include "../analyzer/buf.h"
#include "../analyzer/err.h"

#include <stddef.h>
#include <stdint.h>

/* ---- messages --------------------------------------------------------- */

enum pa_syslog_format {
  PA_SYSLOG_RFC5424 = 1,
  PA_SYSLOG_RFC3164 = 2, /* also "no PRI" stored-log lines */
};

/* A field borrowed from the parsed input: p is NULL (len 0) when the field
 * is absent or NILVALUE "-". Valid as long as the input buffer is. */
struct pa_syslog_str {
  const uint8_t *p;
  size_t len;
};

/* Anomalies, as a bitmask in pa_syslog_msg.flags. Stable, countable. */
#define PA_SYSLOG_F_NO_PRI        (1u << 0)  /* no <PRI> at all (stored log files) */
#define PA_SYSLOG_F_BAD_PRI       (1u << 1)  /* '<' without a valid PRIVAL 0..191: read as content */
#define PA_SYSLOG_F_SP_AFTER_PRI  (1u << 2)  /* "<38> Mar  7 ..." */
#define PA_SYSLOG_F_NO_TS         (1u << 3)  /* 5424 "-" or no 3164 timestamp found */
#define PA_SYSLOG_F_BAD_TS        (1u << 4)  /* 5424 TIMESTAMP that is no valid RFC 3339 time */
#define PA_SYSLOG_F_TS_NO_ZONE    (1u << 5)  /* zone taken from opts->tz */
#define PA_SYSLOG_F_YEAR_INFERRED (1u << 6)  /* 3164: year from opts->ref_us */
#define PA_SYSLOG_F_TS_RFC3339    (1u << 7)  /* 3164 line with an RFC 3339 stamp, no VERSION */
#define PA_SYSLOG_F_TS_YEAR       (1u << 8)  /* 3164 stamp carried a year ("Mar 7 2008 ...") */
#define PA_SYSLOG_F_TS_ODD        (1u << 9)  /* unpadded day, upper-case month, "hh:mm:ss:", fraction */
#define PA_SYSLOG_F_ZONE_IGNORED  (1u << 10) /* zone name after the stamp ("CST", "TZ-6") skipped */
#define PA_SYSLOG_F_NO_HOSTNAME   (1u << 11) /* 3164: first token is the TAG */
#define PA_SYSLOG_F_NO_TAG        (1u << 12) /* 3164: no "TAG:" / "TAG[PID]:" */
#define PA_SYSLOG_F_LONG_TAG      (1u << 13) /* 3164 TAG longer than 32 */
#define PA_SYSLOG_F_TRAILER       (1u << 14) /* trailing LF / CRLF / NUL stripped */
#define PA_SYSLOG_F_LONG_FIELD    (1u << 15) /* 5424 field over its RFC length (accepted) */
#define PA_SYSLOG_F_LEAP_SECOND   (1u << 16) /* ss = 60, read as 59 */

struct pa_syslog_msg {
  enum pa_syslog_format format;
  int pri;                       /* PRIVAL 0..191, -1 absent */
  int facility;                  /* pri >> 3, -1 absent */
  int severity;                  /* pri & 7, -1 absent */
  int version;                   /* 5424 VERSION (1); 0 for 3164 */
  int has_ts;                    /* 1 when ts is valid */
  int64_t ts;                    /* header time, µs since epoch UTC */
  struct pa_syslog_str ts_raw;   /* the timestamp as sent */
  struct pa_syslog_str hostname;
  struct pa_syslog_str app_name; /* 5424 APP-NAME; 3164 TAG */
  struct pa_syslog_str procid;   /* 5424 PROCID; 3164 the PID inside [] */
  struct pa_syslog_str msgid;    /* 5424 only; never trust it (formats.md §0) */
  struct pa_syslog_str sd;       /* STRUCTURED-DATA as sent ("[..][..]"), NULL for "-" */
  unsigned sd_count;             /* SD-ELEMENTs parsed */
  struct pa_syslog_str msg;      /* MSG / CONTENT, BOM stripped; may be empty or multi-line */
  int bom;                       /* 1: MSG began with EF BB BF (UTF-8 declared) */
  unsigned flags;                /* PA_SYSLOG_F_* */
};

struct pa_syslog_opts {
  /* Reference time for RFC 3164 year inference, µs UTC: the file's mtime
   * for files, the receipt time for sockets; 0 = now. */
  int64_t ref_us;
  /* IANA zone for zone-less stamps (3164, zone-less 5424); NULL =
   * PA_DEFAULT_TZ ("Asia/Tokyo"). Borrowed. */
  const char *tz;
  /* Year of ref_us in tz, cached by pa_syslog_opts_init; 0 = compute per
   * message (slower). */
  int ref_year;
};

/* Fills o (ref_us 0 = now; tz may be NULL) and caches the reference year. */
void pa_syslog_opts_init(struct pa_syslog_opts *o, int64_t ref_us, const char *tz);

/* Parses one syslog message p[0..len) (one frame or datagram; a trailing
 * LF/CRLF/NUL is stripped). RFC 5424 is recognised by PRI, a VERSION of 1..3
 * digits, SP and an RFC 3339 date or "-"; anything else is read as RFC 3164
 * with its variants (formats.md §2.2). o may be NULL (defaults).
 * out's fields borrow from p (valid as long as p is).
 * Returns:
 *   PA_OK        out filled (anomalies in out->flags);
 *   PA_MALFORMED empty input, or an RFC 5424 header that breaks the grammar
 *                (missing field, double SP, bad STRUCTURED-DATA): out holds
 *                what was parsed and out->msg the unparsed rest, err says
 *                where (offset into p);
 *   PA_LIMIT     a field or the STRUCTURED-DATA over a limits.h cap (same). */
pa_rc pa_syslog_parse(const uint8_t *p, size_t len, const struct pa_syslog_opts *o,
                      struct pa_syslog_msg *out, struct pa_err *err);

/* A 3164 wall time (no year, no zone) to µs UTC: year = the year of the
 * reference time in o->tz, minus one when that puts the time more than
 * 31 days after the reference (so a December line read in January lands in
 * the past year); Feb 29 walks back to the last leap year. year > 0 skips
 * the inference. PA_MALFORMED for an impossible date. */
pa_rc pa_syslog_3164_time(int year, int mon, int day, int hour, int min, int sec,
                          int64_t usec, const struct pa_syslog_opts *o, int64_t *us_out,
                          int *inferred_out);

/* Copies s into dst[cap] as a NUL-terminated string, cut to cap-1 bytes;
 * NUL bytes inside become '?'. Returns the bytes copied. cap must be > 0. */
size_t pa_syslog_str_copy(char *dst, size_t cap, struct pa_syslog_str s);

/* 1 when s equals the C string z. */
int pa_syslog_str_eq(struct pa_syslog_str s, const char *z);

/* ---- body sniffing (formats.md §0) ------------------------------------ */

enum pa_syslog_body {
  PA_SYSLOG_BODY_TEXT = 0,  /* plain text: decoders */
  PA_SYSLOG_BODY_ATNA_XML,  /* <?xml ... <AuditMessage> or <AuditMessage> */
  PA_SYSLOG_BODY_IHE_YR4,   /* pre-2004 <IHEYr4>: stored raw only */
  PA_SYSLOG_BODY_FHIR_JSON, /* {"resourceType":"AuditEvent"|"Bundle", ...} */
  PA_SYSLOG_BODY_XML_OTHER, /* XML with another root: treat as text */
};

/* Classifies a MSG body after an optional BOM (or a BOM mangled to '?'
 * right before '<') and ASCII whitespace; looks at no more than
 * PA_SNIFF_MAX bytes. */
enum pa_syslog_body pa_syslog_body_kind(const uint8_t *p, size_t len);

/* Stable name of a body kind ("text", "atna-xml", ...). */
const char *pa_syslog_body_name(enum pa_syslog_body k);

/* ---- framing (RFC 6587) ----------------------------------------------- */

/* Framing modes for pa_syslog_framer_init. */
#define PA_SYSLOG_FRAMING_AUTO  0u        /* per frame: "[1-9]digits SP <" => octet counting, else LF */
#define PA_SYSLOG_FRAMING_OCTET 1u        /* RFC 5425 TLS: octet counting only, garbage resyncs */
#define PA_SYSLOG_FRAMING_LF    2u        /* non-transparent only (LF, CRLF, NUL trailers) */
#define PA_SYSLOG_FRAMING_JOIN  0x10u     /* files: join continuation lines into the previous message */

/* Frame flags. */
#define PA_SYSLOG_FRAME_F_FALLBACK   (1u << 0) /* began with digits that were no valid MSG-LEN (leading
                                                  zero, > PA_SYSLOG_MAX_LEN_DIGITS, over the cap, no '<'
                                                  after SP): read as an LF frame, as OpenBSD syslogd does */
#define PA_SYSLOG_FRAME_F_RESYNC     (1u << 1) /* garbage skipped in an octet-counted stream */
#define PA_SYSLOG_FRAME_F_TRUNCATED  (1u << 2) /* cut at the cap, or stream ended inside the frame */
#define PA_SYSLOG_FRAME_F_CONT       (1u << 3) /* the rest of a line cut at the cap */
#define PA_SYSLOG_FRAME_F_NO_TRAILER (1u << 4) /* last LF frame of a stream without its LF */
#define PA_SYSLOG_FRAME_F_ORPHAN     (1u << 5) /* JOIN: first lines of a file that start no header */

enum pa_syslog_framing { PA_SYSLOG_OCTET = 1, PA_SYSLOG_LF = 2 };

struct pa_syslog_frame {
  const uint8_t *p;        /* borrowed: the message, without MSG-LEN SP or trailer; valid until
                              the next call on the framer (points into the fed chunk when the
                              frame was whole in it, else into the framer's buffer) */
  size_t len;
  uint64_t offset;         /* stream offset of p[0] */
  uint64_t frame_offset;   /* stream offset of the frame's first byte (its MSG-LEN) */
  enum pa_syslog_framing framing;
  unsigned flags;          /* PA_SYSLOG_FRAME_F_* */
  unsigned lines;          /* LF frames: lines in the frame (> 1 when joined) */
};

/* Streaming framer. Caller storage: pa_syslog_framer_init /
 * pa_syslog_framer_cleanup. Fields are private. */
struct pa_syslog_framer {
  size_t cap;              /* max frame payload */
  unsigned mode;
  struct pa_buf acc;       /* a partial frame carried across feeds (owned) */
  uint64_t acc_off;        /* stream offset of acc.p[0] */
  size_t acc_from_chunk;   /* trailing acc bytes copied from the current chunk */
  size_t hold;             /* acc bytes handed out as the last frame, consumed on the next call */
  size_t need;             /* octet frame in acc: total bytes it needs, 0 unknown */
  size_t hint;             /* LF frame in acc: trailer search resumes here */
  const uint8_t *in;       /* current chunk (borrowed until next returns PA_NEED_MORE) */
  size_t in_len, in_pos;
  uint64_t in_off;         /* stream offset of in[0] */
  int octet_seen;          /* an octet-counted frame was accepted: garbage resyncs */
  int overlong;            /* inside an LF frame cut at the cap */
  int started;             /* JOIN: a header line was seen */
  int eof;
};

/* cap: max message bytes (0 = PA_MAX_SYSLOG_MSG; larger values are cut to
 * it). mode: PA_SYSLOG_FRAMING_* (one of AUTO/OCTET/LF, optionally | JOIN).
 * Allocates nothing until a frame spans two chunks. */
void pa_syslog_framer_init(struct pa_syslog_framer *f, size_t cap, unsigned mode);
void pa_syslog_framer_cleanup(struct pa_syslog_framer *f);

/* Hands the framer the next chunk of the stream; p is borrowed until
 * pa_syslog_framer_next returns PA_NEED_MORE. PA_USAGE when the previous
 * chunk was not drained. */
pa_rc pa_syslog_framer_feed(struct pa_syslog_framer *f, const uint8_t *p, size_t len);

/* The stream ended: a last frame without trailer is delivered, a partial
 * octet frame is reported as truncated. */
void pa_syslog_framer_end(struct pa_syslog_framer *f);

/* Next frame. Returns
 *   PA_OK        *out is a frame;
 *   PA_NEED_MORE no complete frame left: feed more (or, after _end, done);
 *   PA_MALFORMED / PA_LIMIT  *out holds bytes that are no good frame
 *                (resync garbage, a line cut at the cap, a truncated octet
 *                frame): keep them for quarantine and call again;
 *   PA_NOMEM.
 * err (may be NULL) says where, as a stream offset. */
pa_rc pa_syslog_framer_next(struct pa_syslog_framer *f, struct pa_syslog_frame *out,
                            struct pa_err *err);

/* Does a line starting at p look like the start of a syslog message:
 * "<PRI>", "Mmm dd hh:mm", "YYYY-MM-DDThh:", "YYYY Mmm"? 1 yes, 0 no,
 * -1 need more bytes (only when !eof and len < 20). The JOIN rule. */
int pa_syslog_line_is_header(const uint8_t *p, size_t len, int eof);

#endif
