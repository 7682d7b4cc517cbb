/* utf8.c — UTF-8 validity and repair (see utf8.h). */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

size_t pa_utf8_seq_len(const uint8_t *p, size_t n)
{
  uint8_t c = p[0], lo = 0x80, hi = 0xBF;
  size_t need;

  if (c >= 0xC2 && c <= 0xDF) {
    need = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 3;
    if (c == 0xE0)
      lo = 0xA0; /* no overlongs */
    if (c == 0xED)
      hi = 0x9F; /* no surrogates */
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 4;
    if (c == 0xF0)
      lo = 0x90;
    if (c == 0xF4)
      hi = 0x8F; /* nothing past U+10FFFF */
  } else {
    return 0;
  }
  if (n < need || p[1] < lo || p[1] > hi)
    return 0;
  for (size_t i = 2; i < need; i++)
    if (p[i] < 0x80 || p[i] > 0xBF)
      return 0;
  return need;
}

size_t pa_utf8_char(const char *p, size_t len)
{
  const uint8_t *u = (const uint8_t *)p;

  if (!len)
    return 0;
  return u[0] < 0x80 ? 1 : pa_utf8_seq_len(u, len);
}

int pa_utf8_valid(const char *s, size_t len)
{
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0, u;

  while (i < len) {
    if (p[i] < 0x80) {
      i++;
      continue;
    }
    if (!(u = pa_utf8_seq_len(p + i, len - i)))
      return 0;
    i += u;
  }
  return 1;
}

char *pa_utf8_repair(const char *s, size_t len, size_t *out_len)
{
  const uint8_t *p = (const uint8_t *)s;
  size_t i = 0, o = 0, u;
  char *out;

  /* each bad byte becomes 3 bytes at most */
  if (len > (SIZE_MAX - 1) / 3 || !(out = malloc(len * 3 + 1)))
    return NULL;
  while (i < len) {
    if (p[i] < 0x80) {
      out[o++] = (char)p[i++];
    } else if ((u = pa_utf8_seq_len(p + i, len - i))) {
      memcpy(out + o, p + i, u);
      o += u;
      i += u;
    } else {
      memcpy(out + o, "\xEF\xBF\xBD", 3);
      o += 3;
      i++;
    }
  }
  out[o] = 0;
  *out_len = o;
  return out;
}
