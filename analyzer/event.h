/* event.h — the normalized records every collector yields and the store keeps.
 *
 * Collectors fill these structs and hand them to a pa_sink; they know nothing
 * of SQLite. The field names follow the store's tables (docs/schema.md).
 * Strings in the structs are borrowed for the duration of the sink call. */
#ifndef PA_EVENT_H
#define PA_EVENT_H

#include "err.h"

#include <stdint.h>

#define PA_IP_STRLEN 46 /* INET6_ADDRSTRLEN */
#define PA_AE_STRLEN 17 /* 16 + NUL */
#define PA_UID_STRLEN 65

/* One TCP connection as the collector saw it; client = the initiator. */
struct pa_conn {
  char client_ip[PA_IP_STRLEN];
  char server_ip[PA_IP_STRLEN];
  uint16_t client_port;
  uint16_t server_port;
  int64_t start_ts;   /* us since epoch, UTC: first packet of the flow */
  const char *origin; /* borrowed: capture file or "iface:NAME" */
};

/* An associations row. Filled progressively; the sink sees it at begin and
 * again (complete) at end. */
struct pa_assoc {
  int64_t started_at;  /* us: the A-ASSOCIATE-RQ, or the TLS ClientHello */
  int64_t ended_at;    /* us: release/abort/reject/last packet; 0 while open */
  struct pa_conn conn;
  char calling_ae[PA_AE_STRLEN];  /* trailing spaces trimmed; "" unknown */
  char called_ae[PA_AE_STRLEN];
  const char *result;  /* static: "released" "aborted" "rejected" "incomplete" */
  char reject_reason[256]; /* reject result/source/reason, abort source/reason,
                              or why the association is incomplete */
  int user_identity_type;   /* 0 none, 1 user, 2 user+passcode, 3 Kerberos, 4 SAML, 5 JWT */
  int user_identity_rsp;    /* 1 when the acceptor answered with sub-item 0x59 */
  char user_identity[256];  /* user name or token subject; never a credential */
  char user_identity_sha256[65]; /* hex SHA-256 of a type 3..5 token, "" otherwise */
  int tls;                  /* 1 TLS, 0 cleartext */
  char tls_server_name[256];/* SNI of a TLS ClientHello, "" if none */
  uint64_t bytes;           /* TCP payload bytes, both directions */
  char app_context[PA_UID_STRLEN];
  uint32_t max_pdu_rq;      /* max PDU length the requestor accepts, 0 unlimited/unknown */
  uint32_t max_pdu_ac;
  char impl_class_rq[PA_UID_STRLEN];
  char impl_version_rq[PA_AE_STRLEN];
  char impl_class_ac[PA_UID_STRLEN];
  char impl_version_ac[PA_AE_STRLEN];
};

/* A presentation_contexts row. */
struct pa_pctx {
  uint8_t pc_id;
  char abstract_syntax[PA_UID_STRLEN];
  char transfer_syntaxes[2048];   /* proposed, comma-separated */
  char accepted_ts[PA_UID_STRLEN];/* from the A-ASSOCIATE-AC, "" if none */
  int result; /* -1 no answer, 0 acceptance, 1 user-rejection, 2 no-reason,
                 3 abstract-syntax-not-supported, 4 transfer-syntaxes-not-supported */
};

/* A dimse row: one request, with the final status of its response. */
struct pa_dimse {
  int64_t assoc_id;
  int64_t ts;               /* us: when the request's command set completed */
  int64_t rsp_ts;           /* us: final response, 0 if none */
  uint16_t message_id;
  const char *command;      /* static: "C-FIND-RQ", "N-ACTION-RQ", ... */
  char sop_class_uid[PA_UID_STRLEN];
  char sop_instance_uid[PA_UID_STRLEN];
  int status;               /* final response status, -1 no response */
  char patient_id[65];
  char study_uid[PA_UID_STRLEN];
  const char *query;        /* JSON object of the identifier's keys, or NULL */
  char move_destination[PA_AE_STRLEN];
  int by_acceptor;          /* 1 when the association acceptor (SCP) sent the request */
  int64_t completed, failed, warning; /* sub-operations of C-MOVE/C-GET, -1 unknown */
};

/* An events row. Strings may be NULL (stored as NULL). */
struct pa_event {
  int64_t ts;               /* us: the event's own time */
  int64_t received_ts;      /* us: syslog header time or collector receipt */
  const char *source;       /* "dicom" "atna" "fhir" "syslog" */
  const char *origin;
  const char *event_code;   /* "DCM:110114", "DIMSE:C-MOVE-RQ", "ASSOC:reject" */
  char action;              /* 'C' 'R' 'U' 'D' 'E', 0 unknown */
  int outcome;              /* 0, 4, 8, 12; -1 unknown */
  const char *user_id, *user_name, *user_role;
  const char *src_ip, *src_ae, *dst_ip, *dst_ae, *host;
  const char *patient_id, *study_uid;
  int64_t object_count;     /* -1 unknown */
  int secure;               /* 1 TLS, 0 cleartext, -1 unknown */
  int64_t assoc_id;         /* 0 none */
  int64_t raw_id;           /* 0 none */
};

/* Where collectors put what they find. Every callback returns PA_OK or an
 * error that stops the collector. ctx is the sink's own. */
struct pa_sink {
  void *ctx;
  /* A new association. *id_out is its store id, or 0 when the same
   * association is already stored (a re-ingest): the collector then emits
   * nothing more for it. */
  pa_rc (*assoc_begin)(void *ctx, const struct pa_assoc *a, int64_t *id_out);
  /* The association's record changed (AC/RJ seen, or it ended). */
  pa_rc (*assoc_update)(void *ctx, int64_t id, const struct pa_assoc *a);
  pa_rc (*pctx)(void *ctx, int64_t assoc_id, const struct pa_pctx *pc);
  pa_rc (*dimse)(void *ctx, const struct pa_dimse *d);
  pa_rc (*event)(void *ctx, const struct pa_event *e);
};

/* An event with every field unknown/NULL. */
void pa_event_init(struct pa_event *e);

/* Outcome (0, 4, 8) of a DIMSE status word (PS3.7 Annex C). */
int pa_dimse_outcome(int status);

#endif
