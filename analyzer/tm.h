/* tm.h — time parsing and zones. Times are int64 microseconds since the
 * epoch, UTC, everywhere in pacsaudit.
 *
 * Zone-less wall times are read in a named IANA zone (the site's, by default
 * "Asia/Tokyo"). The conversion uses the C library's zone database through
 * TZ; it is not thread-safe, and pacsaudit converts from one thread. */
#ifndef PA_TM_H
#define PA_TM_H

#include "err.h"

#include <stddef.h>
#include <stdint.h>

#define PA_DEFAULT_TZ "Asia/Tokyo"

/* Parses an ISO 8601 / RFC 3339 / xsd:dateTime time at p[0..len):
 *   YYYY-MM-DD[Thh:mm[:ss[.f+]]][Z|±hh:mm|±hhmm]   ('T' or ' ', any case)
 * Fraction digits past 6 are truncated; a leap second 60 is read as 59.
 * Without a zone the time is read in zone tz (NULL: PA_DEFAULT_TZ) and
 * *zoned_out (if not NULL) is 0, else 1. *used_out (if not NULL) is the
 * number of bytes consumed, and what follows is the caller's; with used_out
 * NULL, p is the whole value and anything after the time but blanks (a zone
 * after a space, "UTC", a word) is PA_MALFORMED. PA_OK or PA_MALFORMED. */
pa_rc pa_time_parse_iso(const char *p, size_t len, const char *tz, int64_t *us_out,
                        int *zoned_out, size_t *used_out);

/* Wall time in zone tz (NULL: PA_DEFAULT_TZ) to UTC µs. mon 1..12.
 * PA_MALFORMED for an impossible date. */
pa_rc pa_time_from_local(int year, int mon, int day, int hour, int min, int sec,
                         int64_t usec, const char *tz, int64_t *us_out);

/* UTC fields to µs (no zone lookup). PA_MALFORMED for an impossible date. */
pa_rc pa_time_from_utc(int year, int mon, int day, int hour, int min, int sec,
                       int64_t usec, int64_t *us_out);

/* Formats us as "YYYY-MM-DDThh:mm:ss.ffffff+hh:mm" in zone tz (NULL: UTC
 * with "Z"). out must hold 40 bytes. */
void pa_time_format(int64_t us, const char *tz, char out[40]);

/* Parses a duration: decimal digits and one unit, s m h or d ("90s",
 * "10m", "1h", "1d"), nothing else (no sign, blanks or fraction), into µs.
 * PA_MALFORMED for anything else, PA_LIMIT past 100 years. */
pa_rc pa_duration_parse(const char *s, int64_t *us_out);

/* Now, µs UTC. */
int64_t pa_time_now(void);

/* TZ is process-wide: whoever sets it (this file's conversions, pa_tz_load)
 * holds this lock meanwhile, so that threads (ingest's workers, check's
 * lanes) do not switch it under each other. */
void pa_time_tz_lock(void);
void pa_time_tz_unlock(void);

#endif
