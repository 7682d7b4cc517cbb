/* dicom_ul_int.h — dicom_ul internals shared with its unit tests.
 *
 * Not part of the collector's contract: nothing outside collectors/dicom_ul.c
 * and tests/unit/test_dicom_ul.c should include it. */
#ifndef PA_DICOM_UL_INT_H
#define PA_DICOM_UL_INT_H

#include "dicom_ul.h"

#include <stddef.h>
#include <stdint.h>

/* Anomalies noted by the decoder that did not stop it (an unmatched response,
 * a pending table overflow, ...): their count, and the distinct names seen,
 * space-separated (borrowed, valid until the next feed/end/free). The public
 * contract has no channel for them yet; they are logged at debug level. */
unsigned pa__dicom_anomaly_count(const pa_dicom *d);
const char *pa__dicom_anomalies(const pa_dicom *d);

/* The "sub" claim of a JWT (compact serialization: header.payload.signature)
 * copied into sub (size >= 1, control bytes replaced by '?'), by base64url
 * decoding at most PA_MAX_TOKEN_LEN bytes of the payload and scanning the top
 * level of its JSON object. The decoded payload is wiped before return.
 * Returns 1 found, 0 not found or not a JWT, -1 out of memory. */
int pa__dicom_jwt_subject(const uint8_t *tok, size_t n, char *sub, size_t size);

/* The text of the first <NameID> element (any namespace prefix) of a SAML
 * assertion, whitespace-trimmed, into out. Returns 1 found, 0 not found. */
int pa__dicom_saml_nameid(const uint8_t *tok, size_t n, char *out, size_t size);

#endif
