/* buf.c — growable byte buffer with a hard cap. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void pa_buf_init(struct pa_buf *b, size_t cap)
{
  b->p = NULL;
  b->len = b->size = 0;
  b->cap = cap;
}

void pa_buf_cleanup(struct pa_buf *b)
{
  free(b->p);
  b->p = NULL;
  b->len = b->size = 0;
}

static pa_rc reserve(struct pa_buf *b, size_t n)
{
  size_t need, sz;
  uint8_t *np;

  if (n > b->cap - b->len)
    return PA_LIMIT;
  need = b->len + n + 1;
  if (need <= b->size)
    return PA_OK;
  sz = b->size ? b->size : 64;
  while (sz < need)
    sz = sz > SIZE_MAX / 2 ? need : sz * 2;
  np = realloc(b->p, sz);
  if (!np)
    return PA_NOMEM;
  b->p = np;
  b->size = sz;
  return PA_OK;
}

pa_rc pa_buf_append(struct pa_buf *b, const void *p, size_t n)
{
  pa_rc rc = reserve(b, n);
  if (rc)
    return rc;
  if (n)
    memcpy(b->p + b->len, p, n);
  b->len += n;
  b->p[b->len] = 0;
  return PA_OK;
}

pa_rc pa_buf_appendf(struct pa_buf *b, const char *fmt, ...)
{
  va_list ap;
  int n;
  pa_rc rc;

  va_start(ap, fmt);
  n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0)
    return PA_MALFORMED;
  rc = reserve(b, (size_t)n);
  if (rc)
    return rc;
  va_start(ap, fmt);
  vsnprintf((char *)b->p + b->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  b->len += (size_t)n;
  return PA_OK;
}

void pa_buf_consume(struct pa_buf *b, size_t n)
{
  if (n >= b->len) {
    pa_buf_reset(b);
    return;
  }
  memmove(b->p, b->p + n, b->len - n);
  b->len -= n;
  b->p[b->len] = 0;
}
