/* err.c — error names and located error records. */
#include "err.h"
#include "utf8.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
  const unsigned char *p = (const unsigned char *)s;
  size_t o = 0, n = strlen(s), i = 0, u;

  if (!size)
    return 0;
  while (i < n) {
    /* C0 controls and DEL; a C1 control (U+0080..U+009F, which a UTF-8
     * terminal obeys as ESC [ and the like); a byte that is not UTF-8 */
    u = p[i] < 0x80 ? 1 : pa_utf8_seq_len(p + i, n - i);
    if (u == 0 || p[i] < 0x20 || p[i] == 0x7f || (u == 2 && p[i] == 0xc2 && p[i + 1] < 0xa0)) {
      size_t k = u ? u : 1;
      if (o + 4 * k >= size)
        break;
      for (size_t j = 0; j < k; j++, o += 4)
        snprintf(out + o, 5, "\\x%02x", p[i + j]);
      i += k;
      continue;
    }
    if (o + u >= size)
      break;
    memcpy(out + o, p + i, u);
    o += u;
    i += u;
  }
  out[o] = '\0';
  return o;
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
