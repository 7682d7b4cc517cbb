/* rd.h — bounded reader over untrusted bytes.
 *
 * Every read checks what remains first; a short read returns PA_NEED_MORE and
 * leaves the cursor where it was. Sub-readers confine parsing of a
 * length-prefixed structure to its announced length. */
#ifndef PA_RD_H
#define PA_RD_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

struct pa_rd {
  const uint8_t *p; /* borrowed */
  size_t len;       /* bytes in p */
  size_t off;       /* next byte to read */
};

static inline void pa_rd_init(struct pa_rd *r, const void *p, size_t len)
{
  r->p = p;
  r->len = len;
  r->off = 0;
}

static inline size_t pa_rd_left(const struct pa_rd *r) { return r->len - r->off; }

pa_rc pa_rd_u8(struct pa_rd *r, uint8_t *v);
pa_rc pa_rd_u16be(struct pa_rd *r, uint16_t *v);
pa_rc pa_rd_u32be(struct pa_rd *r, uint32_t *v);
pa_rc pa_rd_u16le(struct pa_rd *r, uint16_t *v);
pa_rc pa_rd_u32le(struct pa_rd *r, uint32_t *v);
/* *v points into the reader's buffer (borrowed, valid as long as it is). */
pa_rc pa_rd_bytes(struct pa_rd *r, size_t n, const uint8_t **v);
pa_rc pa_rd_skip(struct pa_rd *r, size_t n);
/* sub covers the next n bytes; r moves past them. */
pa_rc pa_rd_sub(struct pa_rd *r, size_t n, struct pa_rd *sub);

#endif
