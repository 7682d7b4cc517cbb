/* err.c — error names and located error records. */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>

static const char *const names[] = {
#define X(n, s) s,
  PA_ERR_MAP(X)
#undef X
};

const char *pa_strerror(pa_rc rc)
{
  if ((unsigned)rc >= PA_RC_COUNT)
    return "unknown error";
  return names[rc];
}

size_t pa_escape_ctl(char *out, size_t size, const char *s)
{
  size_t o = 0;
  if (!size)
    return 0;
  for (; *s; s++) {
    unsigned char ch = (unsigned char)*s;
    if (ch < 0x20 || ch == 0x7f) {
      if (o + 4 >= size)
        break;
      snprintf(out + o, 5, "\\x%02x", ch);
      o += 4;
    } else {
      if (o + 1 >= size)
        break;
      out[o++] = (char)ch;
    }
  }
  out[o] = '\0';
  return o;
}

size_t pa_utf8_char(const char *p, size_t len)
{
  const unsigned char *u = (const unsigned char *)p;
  size_t n;
  unsigned cp;

  if (!len)
    return 0;
  if (u[0] < 0x80)
    return 1;
  if (u[0] >= 0xc2 && u[0] <= 0xdf)
    n = 2, cp = u[0] & 0x1f;
  else if (u[0] >= 0xe0 && u[0] <= 0xef)
    n = 3, cp = u[0] & 0x0f;
  else if (u[0] >= 0xf0 && u[0] <= 0xf4)
    n = 4, cp = u[0] & 0x07;
  else
    return 0;
  if (n > len)
    return 0;
  for (size_t i = 1; i < n; i++) {
    if ((u[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (u[i] & 0x3f);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
      (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return n;
}

void pa_err_clear(struct pa_err *e)
{
  e->input = NULL;
  e->offset = UINT64_MAX;
  e->item = 0;
  e->msg[0] = '\0';
}

pa_rc pa_err_set(struct pa_err *e, pa_rc rc, uint64_t offset, uint64_t item,
                 const char *fmt, ...)
{
  va_list ap;

  if (!e)
    return rc;
  e->offset = offset;
  e->item = item;
  va_start(ap, fmt);
  vsnprintf(e->msg, sizeof e->msg, fmt, ap);
  va_end(ap);
  return rc;
}
