/* err.h — the one error enum of pacsaudit and the located error record.
 *
 * Every stage returns pa_rc; where an error comes from input, a struct pa_err
 * says where (input name, byte offset, line) so the CLI can print one line and
 * ingest can quarantine the bytes. */
#ifndef PA_ERR_H
#define PA_ERR_H

#include <stddef.h>
#include <stdint.h>

#define PA_ERR_MAP(X)                   \
  X(OK,        "success")               \
  X(NOMEM,     "out of memory")         \
  X(IO,        "I/O error")             \
  X(NEED_MORE, "incomplete input")      \
  X(MALFORMED, "malformed input")       \
  X(LIMIT,     "input exceeds a limit") \
  X(RULE,      "invalid rule")          \
  X(DB,        "database error")        \
  X(USAGE,     "usage error")

typedef enum {
#define X(n, s) PA_##n,
  PA_ERR_MAP(X)
#undef X
  PA_RC_COUNT
} pa_rc;

/* Static string for rc; never NULL. */
const char *pa_strerror(pa_rc rc);

/* Where an error happened. msg is a fixed buffer, always NUL-terminated. */
struct pa_err {
  const char *input; /* borrowed: file name or source label, may be NULL */
  uint64_t offset;   /* byte offset in input, UINT64_MAX when unknown */
  uint64_t item;     /* packet / line / message number (1-based), 0 when unknown */
  char msg[256];
};

void pa_err_clear(struct pa_err *e);
/* Copies s to out (size bytes, NUL-terminated, cut at a whole character of
 * the output) writing each control byte as \xNN, so that no input put in
 * a message line can break it or forge another. Returns the length written.
 * out needs 4 * strlen(s) + 1 bytes to hold s whole. */
size_t pa_escape_ctl(char *out, size_t size, const char *s);

/* The length (1..4) of the well-formed UTF-8 character at p[0..len), or 0
 * when it is not one (a stray or missing continuation byte, an overlong
 * form, a surrogate, past U+10FFFF). */
size_t pa_utf8_char(const char *p, size_t len);

/* Formats msg (printf style) and records offset and item; returns rc. */
pa_rc pa_err_set(struct pa_err *e, pa_rc rc, uint64_t offset, uint64_t item,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#endif
