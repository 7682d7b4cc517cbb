/* tls_hello.h — recognise a TLS ClientHello and take its server name (SNI).
 *
 * A pure parser over the first bytes a TLS client sends. pcap_source uses it
 * to mark a connection as TLS (DICOM over TLS cannot be decoded, but its
 * existence, endpoints and SNI are audit facts). Nothing is allocated; the
 * handshake message may span several handshake records, which are joined in
 * a bounded stack buffer of PA_SNIFF_MAX bytes. */
#ifndef PA_TLS_HELLO_H
#define PA_TLS_HELLO_H

#include "../analyzer/err.h"

#include <stddef.h>
#include <stdint.h>

struct pa_tls_hello {
  uint16_t record_version;   /* from the first record header, e.g. 0x0301 */
  uint16_t hello_version;    /* legacy_version of the ClientHello, e.g. 0x0303 */
  uint8_t session_id_len;
  uint16_t n_cipher_suites;
  uint16_t n_extensions;
  int has_sni;               /* a server_name extension with a host_name */
  int supported_versions_13; /* supported_versions lists 0x0304 */
  /* host_name of the first server_name entry; bytes outside printable ASCII
   * are replaced by '?', cut at 255; "" if none. */
  char server_name[256];
};

/* Does p start like a TLS handshake record carrying a ClientHello?
 * Returns 1 yes, 0 no, -1 need more bytes (checks the first 6 bytes only:
 * content type 0x16, version 0x03 0x00..0x04, handshake type 1). */
int pa_tls_sniff(const uint8_t *p, size_t len);

/* Parses the ClientHello at the start of p (TLS records as sent on the wire).
 * Returns PA_OK (out filled), PA_NEED_MORE (the hello is not complete in p
 * yet), PA_MALFORMED (not a well-formed ClientHello), or PA_LIMIT (the
 * hello is longer than PA_SNIFF_MAX). */
pa_rc pa_tls_hello_parse(const uint8_t *p, size_t len, struct pa_tls_hello *out);

#endif
