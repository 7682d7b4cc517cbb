/* atna_xml.h — DICOM PS3.15 A.5 audit messages and their RFC 3881 spelling.
 *
 * A pure parser: one XML AuditMessage in, one pa_audit (the events row, its
 * participants and objects) out through sink->audit. It uses libxml2's SAX2
 * push parser with one context reused for every message of a stream (no DOM),
 * and interns the strings it keeps into an arena reset per message.
 *
 * Hostile input: no entity substitution, no DTD (a DOCTYPE or an entity
 * declaration is rejected, so billion-laughs fails at once), no network, no
 * XML_PARSE_HUGE, at most PA_MAX_ATNA_MSG bytes and PA_MAX_XML_DEPTH levels
 * per message. Mapping rules: docs formats.md §1 and §5; see atna_xml.c. */
#ifndef PA_ATNA_XML_H
#define PA_ATNA_XML_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"
#include "msg_ctx.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pa_atna pa_atna;

/* A parser for one stream (one thread). Free with pa_atna_free.
 * PA_OK or PA_NOMEM. */
pa_rc pa_atna_new(pa_atna **out);
/* Accepts NULL. */
void pa_atna_free(pa_atna *x);

/* Parses one AuditMessage at p[0..len) (a leading UTF-8 BOM and whitespace
 * are skipped). ctx (borrowed; may be NULL) gives origin, raw_id,
 * received_ts, host and the zone for zone-less EventDateTime.
 *
 * On success calls sink->audit exactly once (when sink and sink->audit are
 * not NULL) and returns what it returned. Everything the pa_audit points to
 * is owned by x and valid only during that call.
 *
 * Errors (sink not called), with err (may be NULL) filled: msg starts with a
 * stable name, offset is the byte offset in p (UINT64_MAX unknown) and item
 * the line (0 unknown):
 *   PA_LIMIT      "atna.size: ..." len > PA_MAX_ATNA_MSG;
 *                 "atna.depth: ..." nesting > PA_MAX_XML_DEPTH;
 *   PA_MALFORMED  "atna.xml: <libxml2 message>" not well-formed;
 *                 "atna.dtd: ..." DOCTYPE / entity declarations;
 *                 "atna.AuditMessage: ..." wrong root;
 *                 "atna.EventIdentification|EventID|EventDateTime: ..."
 *                 a required element or attribute missing or unreadable;
 *   PA_NOMEM. */
pa_rc pa_atna_parse(pa_atna *x, const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                    const struct pa_sink *sink, struct pa_err *err);

#endif
