/* dicom_ul.h — DICOM Upper Layer (PS3.8) and DIMSE (PS3.7) decoder.
 *
 * A pure parser: fed the two in-order byte streams of one TCP connection, it
 * yields associations, presentation_contexts, dimse and events records through
 * a pa_sink. It keeps a bounded amount of state per association (see
 * limits.h) and never buffers C-STORE pixel data: data PDVs are walked and
 * skipped once the leading elements have been read.
 *
 * Credentials are never kept: the passcode of user identity type 2 and the
 * tokens of types 3..5 are dropped after (for tokens) the subject and a
 * SHA-256 fingerprint have been taken. */
#ifndef PA_DICOM_UL_H
#define PA_DICOM_UL_H

#include "../analyzer/err.h"
#include "../analyzer/event.h"

#include <stddef.h>
#include <stdint.h>

typedef struct pa_dicom pa_dicom;

/* Does p (the first bytes a client sent) start like an A-ASSOCIATE-RQ?
 * Returns 1 yes, 0 no, -1 not enough bytes yet to tell (needs 10). */
int pa_dicom_sniff(const uint8_t *p, size_t len);

/* A decoder for one connection. conn and sink are copied / borrowed: sink
 * (and its ctx) must outlive the decoder; conn->origin is borrowed too.
 * Free with pa_dicom_free. Returns PA_OK or PA_NOMEM. */
pa_rc pa_dicom_new(const struct pa_conn *conn, const struct pa_sink *sink,
                   pa_dicom **out);

/* Feeds in-order bytes of direction dir (0 = from the client, the TCP
 * initiator; 1 = from the server). ts is the packet time in us.
 * Returns PA_OK; PA_MALFORMED or PA_LIMIT when the stream cannot be decoded
 * further (err says why, with the stream offset and an anomaly name such as
 * "dicom_ul.pdu_too_large" at the start of msg): the caller then calls
 * pa_dicom_end, which records the association as 'incomplete' with that
 * reason. Sink errors are returned as they are. */
pa_rc pa_dicom_feed(pa_dicom *d, int dir, const uint8_t *p, size_t len,
                    int64_t ts, struct pa_err *err);

/* n bytes of direction dir were lost (capture gap). The decoder cannot go
 * on in that direction; the association will end 'incomplete'. */
void pa_dicom_gap(pa_dicom *d, int dir, uint64_t n, int64_t ts);

/* The connection is over (FIN, RST, idle, end of capture, decode error).
 * why is a short reason used when the association did not end by release,
 * abort or reject (e.g. "connection closed during P-DATA", or err->msg).
 * Emits all pending requests and the final association record. Idempotent. */
pa_rc pa_dicom_end(pa_dicom *d, const char *why, int64_t ts);

/* Frees d (NULL ok). Does not call pa_dicom_end. */
void pa_dicom_free(pa_dicom *d);

#endif
