/* utf8.h — UTF-8 validity, for text that came from the wire.
 *
 * The store's text columns are valid UTF-8 whatever the input was (other
 * tools read them); the bytes as received stay in raw. */
#ifndef PA_UTF8_H
#define PA_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the valid UTF-8 sequence of two or more bytes at p (n bytes
 * left, n >= 1): 2 to 4; 0 when p[0] does not start one (ASCII included),
 * or it is overlong, a surrogate, past U+10FFFF or cut short. */
size_t pa_utf8_seq_len(const uint8_t *p, size_t n);

/* Length of the character at p (len bytes left): 1 for ASCII, 2 to 4 for a
 * valid sequence, 0 when len is 0 or p does not start a valid one. */
size_t pa_utf8_char(const char *p, size_t len);

/* 1 when s[0..len) is valid UTF-8. */
int pa_utf8_valid(const char *s, size_t len);

/* s[0..len) with each byte that is not part of a valid sequence replaced
 * by U+FFFD, NUL-terminated, in *out_len bytes; malloc'd, the caller's to
 * free. NULL when out of memory. */
char *pa_utf8_repair(const char *s, size_t len, size_t *out_len);

#endif
