/* msg_ctx.h — what a driver knows about one message before it is parsed.
 *
 * Shared by the audit-message parsers (atna_xml, fhir_audit) and the syslog
 * collector: the driver (file reader, syslog listener) fills it and the pure
 * parser copies its fields into the events row. Every pointer is borrowed for
 * the duration of the parse call. */
#ifndef PA_MSG_CTX_H
#define PA_MSG_CTX_H

#include <stdint.h>

struct pa_msg_ctx {
  const char *origin;  /* file name, "udp://host:514", ...; may be NULL */
  int64_t raw_id;      /* the raw row holding the bytes, 0 none */
  int64_t received_ts; /* us UTC: syslog header time or receipt time, 0 unknown */
  const char *host;    /* syslog HOSTNAME or peer; NULL unknown */
  const char *tz;      /* IANA zone for zone-less times; NULL = site default */
  const char *received_via; /* static: "header", "receipt" or "file" (event.h) */
};

#endif
