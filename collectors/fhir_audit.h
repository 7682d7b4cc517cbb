/* fhir_audit.h — FHIR AuditEvent (STU3, R4/R4B with IHE BALP, R5) in JSON.
 *
 * A pure parser: one JSON text (an AuditEvent resource or a Bundle of them)
 * in, one pa_audit per AuditEvent out through sink->audit. NDJSON (one
 * resource per line) is split by the driver (cli/ingest), which reads files
 * as a stream and quarantines each bad line with its own offset.
 *
 * Hostile input: at most PA_MAX_FHIR_MSG bytes per JSON text, duplicate keys
 * rejected, nesting bounded by jansson (2048), every field type-checked.
 * Mapping rules: docs formats.md §3 and §5; see fhir_audit.c. */
#ifndef PA_FHIR_AUDIT_H
#define PA_FHIR_AUDIT_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"
#include "msg_ctx.h"

#include <stddef.h>
#include <stdint.h>

/* Parses one JSON text at p[0..len): an AuditEvent, or a Bundle whose
 * entry[].resource are AuditEvents (other resources are skipped and
 * counted; *skipped_out, if not NULL, gets the count). ctx (borrowed, may be
 * NULL) gives origin, raw_id, received_ts, host and the zone for zone-less
 * times. *n_out (if not NULL) is the number of sink->audit calls made, also
 * on error. Each pa_audit and what it points to is valid only during its
 * sink call.
 *
 * Returns PA_OK, or the first sink error as it is, or (err filled, msg
 * starting with a stable name, offset = byte offset, item = line of a JSON
 * syntax error or the 1-based Bundle entry):
 *   PA_LIMIT      "fhir.size: ..." len > PA_MAX_FHIR_MSG;
 *   PA_MALFORMED  "fhir.json: ..." not JSON (or duplicate keys, too deep);
 *                 "fhir.resourceType: ..." not an AuditEvent or Bundle;
 *                 "fhir.<field>: ..." a required field (type/category,
 *                 recorded, agent) missing or of the wrong type.
 * In a Bundle, a bad AuditEvent entry does not stop the others: the good
 * ones are delivered, and PA_MALFORMED names the first bad entry (item). */
pa_rc pa_fhir_parse(const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                    const struct pa_sink *sink, size_t *n_out, struct pa_err *err);

/* Same, with the count of skipped non-AuditEvent Bundle entries. */
pa_rc pa_fhir_parse_ex(const uint8_t *p, size_t len, const struct pa_msg_ctx *ctx,
                       const struct pa_sink *sink, size_t *n_out, size_t *skipped_out,
                       struct pa_err *err);

#endif
