/* file_src.h — the file driver: what kind of input a file is, who it is
 * (so a re-run knows it), and its messages read out of it, plain or through
 * gzip, into a pa_file_sink.
 *
 * Place in the pipeline: `ingest` opens each file here. The pure part
 * (pa_file_sniff, pa_file_same) looks at bytes only; the driver part
 * (pa_file_open, pa_file_read) does the I/O and hands every message, with
 * its origin and offset, to the sink, which is the feed (ingest/feed.h)
 * in the program and anything at all in a test. Knows nothing of SQLite.
 *
 * Bodies are classified by the one sniffer that syslog messages go
 * through, pa_syslog_body_kind (formats.md §0): an ATNA AuditMessage, an
 * IHE Yr4 message (kept raw only, on either path), FHIR JSON. A file whose
 * XML has another root is read as one document too, and the ATNA parser
 * says why it is not one (quarantine); JSON that is no AuditEvent likewise
 * goes to the FHIR parser, which says why. */
#ifndef PA_FILE_SRC_H
#define PA_FILE_SRC_H

#include "../analyzer/err.h"
#include "../analyzer/limits.h"
#include "syslog.h"

#include <stddef.h>
#include <stdint.h>

/* Bytes at the head of a file that sniffing looks at and identity hashes
 * (the store's PA_STATE_HEAD). */
#define PA_FILE_HEAD PA_SNIFF_MAX

enum pa_file_kind {
  PA_FILE_UNKNOWN = 0,
  PA_FILE_PCAP,    /* pcap or pcapng: read by pcap_source, by name */
  PA_FILE_SYSLOG,  /* RFC 5424 / 3164 lines, LF or octet-counted */
  PA_FILE_ATNA,    /* one XML document (an AuditMessage, or XML the ATNA parser refuses) */
  PA_FILE_FHIR,    /* one JSON text */
  PA_FILE_NDJSON,  /* one JSON text a line */
  PA_FILE_IHE_YR4, /* one pre-2004 IHE Yr4 XML message: kept raw only */
};

/* Stable name of a kind ("pcap", "syslog", "atna-xml", ...). */
const char *pa_file_kind_name(enum pa_file_kind k);

/* The kind of a file from its first n bytes; head_full is 1 when the file
 * goes on past p[n]. Pure. */
enum pa_file_kind pa_file_sniff(const uint8_t *p, size_t n, int head_full);

/* Who a file is: inode, size, mtime and the hex SHA-256 of its head. */
struct pa_file_id {
  int64_t inode;
  int64_t size;
  int64_t mtime_us;
  char head_sha256[65];
};

/* 1 when now is the file old described, unchanged or only longer: same
 * inode, not shorter, and its head (head[0..head_len), the first
 * PA_FILE_HEAD bytes of now) hashes as old's did over old's size. Pure. */
int pa_file_same(const struct pa_file_id *old, const struct pa_file_id *now, const uint8_t *head,
                 size_t head_len);

/* Where the messages of a file go. origin is the path given to
 * pa_file_open (borrowed for the call); offset is where the message begins
 * in the (uncompressed) file. A callback's error other than PA_OK stops the
 * read and is returned by pa_file_read. */
struct pa_file_sink {
  void *ctx;
  /* one syslog frame; o carries the file's mtime as RFC 3164's reference */
  pa_rc (*syslog)(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
                  const struct pa_syslog_opts *o);
  /* one document or NDJSON line: kind is PA_SYSLOG_BODY_ATNA_XML,
   * _FHIR_JSON or _IHE_YR4 (the file's kind, as pa_file_body_kind maps it) */
  pa_rc (*body)(void *ctx, enum pa_syslog_body kind, const uint8_t *p, size_t len,
                const char *origin, int64_t offset);
  /* bytes that are no message (a frame cut, a line or file over its cap) */
  pa_rc (*bad)(void *ctx, const uint8_t *p, size_t len, const char *origin, int64_t offset,
               const char *why);
  /* may be NULL: how far into the file (on disk) the read is */
  void (*progress)(void *progress_ctx, uint64_t done, uint64_t total);
  void *progress_ctx;
};

/* The body kind a document file's content is fed as. */
enum pa_syslog_body pa_file_body_kind(enum pa_file_kind k);

/* An open file. Fill with pa_file_open, release with pa_file_close. */
struct pa_file {
  const char *path;       /* borrowed from pa_file_open's caller */
  int fd;                 /* -1 closed */
  void *gz;               /* gzFile when reading through zlib; owns fd */
  int is_gz;              /* the file is gzip-compressed */
  enum pa_file_kind kind; /* of the content (inside the gzip) */
  struct pa_file_id id;
  uint8_t head[PA_FILE_HEAD]; /* the first head_len bytes on disk */
  size_t head_len;
  char why[160]; /* a read error, with where it happened */
};

/* Opens path, identifies it and sniffs its kind (through gzip when it is
 * compressed). PA_OK with f->kind PA_FILE_UNKNOWN for a file of no known
 * kind; PA_IO when it cannot be read (err says why, errno kept);
 * PA_MALFORMED for a gzip-compressed capture (libpcap reads captures
 * uncompressed). f is closed again on failure. */
pa_rc pa_file_open(struct pa_file *f, const char *path, struct pa_err *err);

/* Reads the messages of a text file (not PA_FILE_PCAP) from start (a
 * syslog file that grew; 0 otherwise, and always 0 through gzip) into sink;
 * tz is the zone of zone-less syslog times (NULL default). *resume_out is
 * where the last syslog frame began, so a file that grows is read again
 * from there. PA_IO on a read error (f->why says where, for gzip; errno
 * otherwise), PA_NOMEM, or the sink's error. */
pa_rc pa_file_read(struct pa_file *f, int64_t start, const char *tz,
                   const struct pa_file_sink *sink, int64_t *resume_out);

/* Closes f (also a closed or failed one). */
void pa_file_close(struct pa_file *f);

#endif
