/* buf.h — growable byte buffer with a hard cap.
 *
 * pa_buf_init(&b, cap) sets the cap; growing past it is PA_LIMIT. The data is
 * always followed by a NUL byte (not counted in len) so text can be used as a
 * C string. The buffer owns its memory; pa_buf_cleanup frees it. */
#ifndef PA_BUF_H
#define PA_BUF_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct pa_buf {
  uint8_t *p;  /* owned; NULL until the first append */
  size_t len;  /* bytes used */
  size_t size; /* bytes allocated */
  size_t cap;  /* max len */
};

void pa_buf_init(struct pa_buf *b, size_t cap);
void pa_buf_cleanup(struct pa_buf *b);
static inline void pa_buf_reset(struct pa_buf *b) { b->len = 0; if (b->p) b->p[0] = 0; }
pa_rc pa_buf_append(struct pa_buf *b, const void *p, size_t n);
pa_rc pa_buf_appendf(struct pa_buf *b, const char *fmt, ...)
  __attribute__((format(printf, 2, 3)));
/* Drops the first n bytes (n <= len). */
void pa_buf_consume(struct pa_buf *b, size_t n);
/* The text so far as a C string ("" when empty); borrowed until next change. */
static inline const char *pa_buf_str(const struct pa_buf *b) { return b->p ? (const char *)b->p : ""; }

#endif
