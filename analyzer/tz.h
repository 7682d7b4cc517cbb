/* tz.h — an IANA time zone as a table of offsets, for fast, thread-safe
 * UTC <-> local conversion.
 *
 * pa_tz_load reads the zone once through the C library (TZ set for the
 * duration of the load only, then restored) and samples it from 1970 to
 * 2100, refining every change of offset to the second by bisection. Lookups
 * afterwards are a binary search over that table: no setenv, no locks, safe
 * from any thread once loaded. Before 1970 the 1970 offset applies, after
 * 2100 the last one. A change of offset that lasts less than one day is not
 * seen (none exists in tzdata after 1970). */
#ifndef PA_TZ_H
#define PA_TZ_H

#include "err.h"

#include <stdint.h>

typedef struct pa_tz pa_tz;

/* Loads zone name (e.g. "Asia/Tokyo", "UTC"). The zone must be a TZif file
 * under /usr/share/zoneinfo (package tzdata); a name with "..", a leading
 * '/', or characters outside [A-Za-z0-9/_+-] is rejected. On PA_OK *out is
 * the caller's, freed with pa_tz_free. PA_MALFORMED naming the zone when it
 * is unknown, PA_NOMEM. It sets TZ briefly, under pa_time_tz_lock
 * (analyzer/tm.h), so threads may load zones; other code of the process
 * that reads TZ (localtime) must not run meanwhile. */
pa_rc pa_tz_load(const char *name, pa_tz **out, struct pa_err *err);

/* Accepts NULL. */
void pa_tz_free(pa_tz *tz);

/* The zone's name as given to pa_tz_load; borrowed while tz lives. */
const char *pa_tz_name(const pa_tz *tz);

/* Offset from UTC at instant utc_us (µs since the epoch), in seconds east
 * of UTC (Tokyo +32400, New York -18000 or -14400). */
int32_t pa_tz_offset_s(const pa_tz *tz, int64_t utc_us);

/* utc_us shifted to local wall time: utc_us + offset, still in µs. */
int64_t pa_tz_to_local_us(const pa_tz *tz, int64_t utc_us);

/* Local wall time y-mon-d h:mi:s (mon 1..12, s 0..59) in zone tz to µs UTC.
 * A time that occurs twice (clocks set back) is read as the first of the
 * two; a time that does not exist (clocks set forward) is read with the
 * offset in force before the change, so it lands after the gap by the same
 * distance (America/New_York 2026-03-08 02:30 -> 07:30Z, shown as 03:30).
 * PA_MALFORMED for an impossible date or time (2026-02-30, 24:00). */
pa_rc pa_tz_from_local(const pa_tz *tz, int y, int mon, int d, int h, int mi, int s,
                       int64_t *utc_us_out);

#endif
