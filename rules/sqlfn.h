/* sqlfn.h — the SQL functions the rule engine registers on its SQLite
 * connection: a PCRE2 REGEXP, CIDR matching and site-local time.
 *
 * Compiled rules (rules/compile) call these from the SQL they generate over
 * the store's tables; rule lint checks patterns with pa_sqlfn_regex_check
 * before any SQL runs. docs/internals/sqlfn.md has the details. */
#ifndef PA_SQLFN_H
#define PA_SQLFN_H

#include "analyzer/err.h"

#include <sqlite3.h>
#include <stdint.h>

/* The site zone's offset, seconds east of UTC, at the UTC time utc_us (µs).
 * tz is the opaque zone handle given to pa_sqlfn_register. */
typedef int32_t (*pa_sqlfn_tz_fn)(const void *tz, int64_t utc_us);

/* Registers on db (all SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS):
 *   regexp(pattern, value)  1 when the PCRE2 pattern (UTF, invalid UTF-8 in
 *                           value never an error) matches value, else 0, so
 *                           `value REGEXP pattern` works. NULL either → NULL.
 *                           A bad pattern, or a match that hits
 *                           PA_SQLFN_MATCH_LIMIT / PA_SQLFN_DEPTH_LIMIT, is
 *                           an SQL error (the statement fails), never 0.
 *   cidr_match(ip, net)     1 when the IPv4/IPv6 address ip lies in net (an
 *                           address or address/prefix), else 0; an
 *                           IPv4-mapped IPv6 ip matches an IPv4 net. A
 *                           malformed ip or net is 0. NULL either → NULL.
 *   local_us(ts)            ts (UTC µs) shifted by the site offset: local
 *                           wall time as µs.
 *   local_day(ts)           'YYYY-MM-DD', the local date.
 *   local_minute(ts)        minutes since local midnight, 0..1439.
 *   local_dow(ts)           local day of week, 0 Sunday .. 6 Saturday.
 *                           NULL, or |ts| past 2^62 µs, → NULL.
 * tz_fn gives the offset (NULL: UTC); tz is borrowed and must outlive db.
 * Compiled patterns are cached per connection (PA_SQLFN_REGEX_CACHE) and
 * freed when db closes. PA_OK, PA_NOMEM, or PA_DB with err naming the
 * SQLite error. */
pa_rc pa_sqlfn_register(sqlite3 *db, pa_sqlfn_tz_fn tz_fn, const void *tz, struct pa_err *err);

/* Compiles pattern once, with the flags regexp uses, to check it (rule
 * lint). PA_OK; PA_RULE with err->offset = PCRE2's error offset (bytes into
 * pattern) and the message; PA_LIMIT past PA_SQLFN_MAX_REGEX bytes;
 * PA_NOMEM. */
pa_rc pa_sqlfn_regex_check(const char *pattern, struct pa_err *err);

/* 1 when net is an IPv4/IPv6 address or address/prefix that cidr_match
 * accepts as its net (rule lint), else 0. */
int pa_sqlfn_net_valid(const char *net);

#endif
