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
  char anomalies[256];      /* distinct anomaly names seen, space-separated, e.g.
                               "dicom_ul.unmatched_response" (stable, countable) */
  unsigned n_anomalies;     /* anomalies seen in all, repeats included */
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

/* What one pending C-FIND response returned (its identifier): a
 * dimse_results row. "" when the identifier did not hold the element. */
struct pa_dimse_result {
  char patient_id[65];           /* (0010,0020) */
  char study_uid[PA_UID_STRLEN]; /* (0020,000D) */
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
  char move_originator_ae[PA_AE_STRLEN]; /* a C-STORE made for a C-MOVE: who asked */
  int move_originator_id;   /* that C-MOVE's Message ID, -1 none */
  int by_acceptor;          /* 1 when the association acceptor (SCP) sent the request */
  int64_t completed, failed, warning; /* sub-operations of C-MOVE/C-GET, -1 unknown */
  const struct pa_dimse_result *results; /* C-FIND: each pending response's identifier,
                                            in order; borrowed for the sink call */
  size_t n_results;                      /* at most PA_MAX_FIND_RESULTS */
  uint64_t results_dropped;              /* pending responses not in results (over a cap) */
};

/* An events row. Strings may be NULL (stored as NULL). */
struct pa_event {
  int64_t ts;               /* us: the event's own time */
  int64_t received_ts;      /* us: syslog header time or collector receipt */
  const char *source;       /* "dicom" "atna" "fhir" "syslog" */
  const char *origin;
  const char *event_code;   /* "DCM:110114", "DIMSE:C-MOVE-RQ", "ASSOC:reject" */
  const char *event_type;   /* the subtype: "DCM:110122" login, "DCM:110123" logout; for
                               audit messages the first EventTypeCode ("DCM:<code>" for
                               a 110xxx code, else the code as sent); NULL none */
  const char *received_via; /* static: where received_ts came from: "header" (a syslog
                               header), "receipt" (the listener's clock), "file" (the
                               ingest clock, for a file); NULL unknown */
  const char *auth_method;  /* how a login was made where the data says it: sshd's
                               "password", "publickey"...; DICOM user identity
                               "username" "password" "kerberos" "saml" "jwt"; NULL */
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

/* One ActiveParticipant (ATNA) or agent (FHIR). Strings may be NULL. */
struct pa_participant {
  const char *user_id;
  const char *alt_user_id;
  const char *user_name;
  int is_requestor;          /* 1, 0; as sent (RFC 3881 absent => 1) */
  int user_type;             /* UserTypeCode 1 person, 2 application; -1 absent */
  const char *user_id_type;  /* UserIDTypeCode code, e.g. "110119" */
  const char *net_id;        /* NetworkAccessPointID / network.address */
  int net_type;              /* as sent, 1..5; -1 absent */
  int net_type_effective;    /* re-classified by content: 1 DNS name, 2 IP, 5 URI; -1 */
  const char *ae_title;      /* from AETITLES=, or a UserID typed 110119 */
  const char *roles;         /* role codes, comma-separated, e.g. "110153" */
  const char *role_names;    /* their display names, " | "-separated */
};

/* One ParticipantObjectIdentification (ATNA) or entity (FHIR). */
struct pa_object {
  const char *object_id;     /* as sent (CX string unescaped) */
  int type_code;             /* 1..4, -1 absent */
  int role_code;             /* 1..26, -1 absent */
  int lifecycle;             /* 1..15, -1 absent */
  const char *id_type_code;  /* e.g. "2", "110180" */
  const char *id_type_system;
  const char *name;
  const char *description;   /* text description, if any */
  const char *query_b64;     /* ParticipantObjectQuery, base64 as sent */
  const char *cx_id, *cx_namespace, *cx_universal_id; /* HL7 CX parts */
  int64_t n_instances;       /* sum of SOPClass@NumberOfInstances, -1 unknown */
  const char *sop_classes;   /* "uid=n,uid=n" */
  const char *accession;     /* Accession@Number(s), comma-separated */
  const char *study_uids;    /* ParticipantObjectContainsStudy/StudyIDs@UID */
};

/* One audit message (ATNA XML or FHIR AuditEvent) mapped to an events row,
 * with its participants and objects for the detail tables. Everything is
 * borrowed from the parser until its next call. */
struct pa_audit {
  struct pa_event ev;        /* the events row (source "atna" or "fhir") */
  const char *format;        /* "dicom-xml", "rfc3881-xml", "mixed-xml",
                                "fhir-r4", "fhir-r5", "fhir-stu3" */
  const char *event_id_system;   /* codeSystemName of EventID, e.g. "DCM" */
  const char *event_display;     /* its meaning, e.g. "Query" */
  const char *event_types;       /* EventTypeCode codes, comma-separated */
  const char *event_type_names;  /* their meanings, " | "-separated */
  const char *outcome_desc;
  const char *purpose;           /* PurposeOfUse codes, comma-separated */
  const char *source_id, *source_site, *source_types;
  const char *warnings;          /* JSON array of strings, or NULL */
  const struct pa_participant *participants;
  size_t n_participants;
  const struct pa_object *objects;
  size_t n_objects;
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
  /* An audit message with its details; a->ev.raw_id is already set. */
  pa_rc (*audit)(void *ctx, const struct pa_audit *a);
};

/* An event with every field unknown/NULL. */
void pa_event_init(struct pa_event *e);

/* Outcome (0, 4, 8) of a DIMSE status word (PS3.7 Annex C). */
int pa_dimse_outcome(int status);

#endif
