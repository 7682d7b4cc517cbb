/* rd.c — bounded reader. */
#include "rd.h"

pa_rc pa_rd_bytes(struct pa_rd *r, size_t n, const uint8_t **v)
{
  if (n > pa_rd_left(r))
    return PA_NEED_MORE;
  *v = r->p + r->off;
  r->off += n;
  return PA_OK;
}

pa_rc pa_rd_skip(struct pa_rd *r, size_t n)
{
  const uint8_t *v;
  return pa_rd_bytes(r, n, &v);
}

pa_rc pa_rd_u8(struct pa_rd *r, uint8_t *v)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, 1, &b))
    return PA_NEED_MORE;
  *v = b[0];
  return PA_OK;
}

pa_rc pa_rd_u16be(struct pa_rd *r, uint16_t *v)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, 2, &b))
    return PA_NEED_MORE;
  *v = (uint16_t)(b[0] << 8 | b[1]);
  return PA_OK;
}

pa_rc pa_rd_u32be(struct pa_rd *r, uint32_t *v)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, 4, &b))
    return PA_NEED_MORE;
  *v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
  return PA_OK;
}

pa_rc pa_rd_u16le(struct pa_rd *r, uint16_t *v)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, 2, &b))
    return PA_NEED_MORE;
  *v = (uint16_t)(b[1] << 8 | b[0]);
  return PA_OK;
}

pa_rc pa_rd_u32le(struct pa_rd *r, uint32_t *v)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, 4, &b))
    return PA_NEED_MORE;
  *v = (uint32_t)b[3] << 24 | (uint32_t)b[2] << 16 | (uint32_t)b[1] << 8 | b[0];
  return PA_OK;
}

pa_rc pa_rd_sub(struct pa_rd *r, size_t n, struct pa_rd *sub)
{
  const uint8_t *b;
  if (pa_rd_bytes(r, n, &b))
    return PA_NEED_MORE;
  pa_rd_init(sub, b, n);
  return PA_OK;
}
