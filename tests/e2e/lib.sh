# lib.sh — shared by the end-to-end tests (sourced, not run).
# PACSAUDIT: the binary; PA_SRC: the source tree. ctest sets both.
set -euo pipefail
: "${PACSAUDIT:?PACSAUDIT must name the pacsaudit binary}"
: "${PA_SRC:?PA_SRC must name the source tree}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
failures=0
checks=0

fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
pass() { checks=$((checks + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then pass; else fail "$what"; fi
}
finish() {
  echo "$checks passed, $failures failed"
  [ "$failures" -eq 0 ]
}

# dump_dicom DB: the rows of the DICOM tables, in a stable order, volatile
# columns (ids, origins) left out; what expected/dicom/*.txt holds.
dump_dicom() {
  sqlite3 -header -separator ' | ' "$1" <<'SQL'
SELECT started_at, ended_at, client_ip, client_port, server_ip, server_port,
       calling_ae, called_ae, result, reject_reason, user_identity_type,
       user_identity, user_identity_sha256, user_identity_response, tls,
       tls_server_name, bytes, application_context, max_pdu_rq, max_pdu_ac,
       impl_class_rq, impl_version_rq, impl_class_ac, impl_version_ac, anomalies, anomaly_count
  FROM associations ORDER BY started_at, client_port;
SELECT a.started_at AS assoc_started, p.pc_id, p.abstract_syntax,
       p.transfer_syntaxes, p.result, p.accepted_transfer_syntax
  FROM presentation_contexts p JOIN associations a ON a.id = p.assoc_id
 ORDER BY a.started_at, a.client_port, p.pc_id;
SELECT a.started_at AS assoc_started, d.ts, d.rsp_ts, d.message_id, d.command,
       d.sop_class_uid, d.sop_instance_uid, d.status, d.patient_id, d.study_uid,
       d.query, d.move_destination, d.by_acceptor, d.completed, d.failed, d.warning,
       d.move_originator_ae, d.move_originator_id
  FROM dimse d JOIN associations a ON a.id = d.assoc_id
 ORDER BY d.ts, d.message_id, d.command;
SELECT d.ts AS dimse_ts, d.message_id, d.command, r.seq, r.patient_id, r.study_uid
  FROM dimse_results r JOIN dimse d ON d.id = r.dimse_id
 ORDER BY d.ts, d.message_id, d.command, r.seq;
SELECT ts, source, event_code, action, outcome, user_id, src_ip, src_ae, dst_ip,
       dst_ae, patient_id, study_uid, object_count, secure, event_type, auth_method, op
  FROM events ORDER BY ts, event_code, src_ae;
SQL
}

# audit_inputs DIR: copies the audit fixtures (atna, fhir, syslog) into DIR
# with one fixed mtime, since an RFC 3164 line's year is inferred from its
# file's mtime, and a checkout's mtimes are when it was made.
audit_inputs() {
  mkdir -p "$1"
  cp -r "$PA_SRC/fixtures/atna" "$PA_SRC/fixtures/fhir" "$PA_SRC/fixtures/syslog" "$1/"
  find "$1" -exec touch -h -d '2026-12-01 00:00:00 UTC' {} +
}

# dump_audit DB: the rows that audit input (syslog, ATNA, FHIR) leaves, in a
# stable order (every column sorts), volatile columns (ids, received_ts,
# raw's stored form) left out; events and their details are told apart by
# their message (origin, offset) and code. Origins are as given on the
# command line, so callers ingest with relative paths, and a listener's
# client port is cut off (tcp://127.0.0.1:PORT -> tcp://127.0.0.1).
# What expected/audit/*.txt holds.
dump_audit() {
  sqlite3 -header -separator ' | ' "$1" <<'SQL'
CREATE TEMP VIEW o AS SELECT id, offset, size,
  CASE WHEN origin GLOB '*://*:[0-9]*' THEN rtrim(origin, '0123456789') ELSE origin END AS origin
  FROM raw;
SELECT o.origin, o.offset, o.size FROM o ORDER BY 1, 2, 3;
SELECT e.ts, e.source, o.origin, o.offset AS raw_offset, e.event_code, e.action, e.outcome,
       e.user_id, e.user_name, e.user_role, e.src_ip, e.src_ae, e.dst_ip, e.dst_ae, e.host,
       e.patient_id, e.study_uid, e.object_count, e.secure, e.event_type, e.auth_method,
       e.received_via
  FROM events e LEFT JOIN o ON o.id = e.raw_id
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22;
SELECT o.origin, o.offset AS raw_offset, e.ts, e.event_code, d.format, d.event_id_system,
       d.event_display, d.event_types, d.event_type_names, d.outcome_desc, d.purpose,
       d.source_id, d.source_site, d.source_types, d.warnings
  FROM audit_details d JOIN events e ON e.id = d.event_id LEFT JOIN o ON o.id = e.raw_id
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15;
SELECT o.origin, o.offset AS raw_offset, e.ts, e.event_code, p.seq, p.user_id, p.alt_user_id,
       p.user_name, p.is_requestor, p.user_type, p.user_id_type, p.net_id, p.net_type,
       p.net_type_effective, p.ae_title, p.roles, p.role_names
  FROM atna_participants p JOIN events e ON e.id = p.event_id LEFT JOIN o ON o.id = e.raw_id
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17;
SELECT o.origin, o.offset AS raw_offset, e.ts, e.event_code, b.seq, b.object_id, b.type_code,
       b.role_code, b.lifecycle, b.id_type_code, b.id_type_system, b.name, b.description,
       b.query_b64, b.cx_id, b.cx_namespace, b.cx_universal_id, b.n_instances, b.sop_classes,
       b.accession, b.study_uids
  FROM atna_objects b JOIN events e ON e.id = b.event_id LEFT JOIN o ON o.id = e.raw_id
 ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21;
SELECT o.origin AS raw_origin, o.offset AS raw_offset,
       CASE WHEN r.origin GLOB '*://*:[0-9]*' THEN rtrim(r.origin, '0123456789') ELSE r.origin END
         AS origin, r.offset
  FROM raw_repeats r JOIN o ON o.id = r.raw_id ORDER BY 1, 2, 3, 4;
SELECT CASE WHEN origin GLOB '*://*:[0-9]*' THEN rtrim(origin, '0123456789') ELSE origin END
         AS origin, offset, size, error
  FROM quarantine ORDER BY 1, 2, 3, 4;
SQL
}

# exact_send UDP_PORT TCP_PORT: fixed messages of every kind to a listener
# on 127.0.0.1 (test_listen.sh, update-expected.sh): plain lines over TCP
# with LF framing (two of them one sshd try), an ATNA message and a FHIR
# one octet-counted, the same datagram twice (a repeat), an IHE Yr4 body
# (kept raw only) and a cut ATNA body (quarantined). Every byte is fixed.
exact_send() {
  local up=$1 tp=$2 h='<85>1 2026-11-25T10:05:00Z pacs01 arc 9 - -' atna fhir yr4 cut i
  for i in 1 2 3 4 5; do
    printf '<38>1 2026-11-25T10:00:%02dZ ws%d app %d - - plain line %d\n' "$i" "$i" "$i" "$i"
  done | timeout 10 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
  printf '%s\n' \
    '<38>1 2026-11-25T10:01:00Z pacs01 sshd 2301 - - Invalid user admin from 203.0.113.9 port 33012' \
    '<38>1 2026-11-25T10:01:02Z pacs01 sshd 2301 - - Failed password for invalid user admin from 203.0.113.9 port 33012 ssh2' \
    | timeout 10 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
  atna="$h $(cat "$PA_SRC/fixtures/atna/110114-110122-fail.dicom.xml")"
  fhir="$h $(cat "$PA_SRC/fixtures/fhir/r4-login.json")"
  { printf '%d %s' "$(printf '%s' "$atna" | wc -c)" "$atna"
    printf '%d %s' "$(printf '%s' "$fhir" | wc -c)" "$fhir"; } \
    | timeout 10 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
  yr4="$h $(cat "$PA_SRC/fixtures/atna/bad/wrong-root.xml")"
  cut="$h $(head -c 400 "$PA_SRC/fixtures/atna/110112.dicom.xml")"
  exec 3>"/dev/udp/127.0.0.1/$up"
  for i in 1 2; do
    printf '<38>1 2026-11-25T10:02:00Z pacs01 sshd 42 - - Failed password for frank from 192.0.2.9 port 50022 ssh2' >&3
  done
  # one write a datagram: bash's printf would write a multi-line body line by line
  printf '%s' "$yr4" >"$WORK/dgram"; cat "$WORK/dgram" >&3
  printf '%s' "$cut" >"$WORK/dgram"; cat "$WORK/dgram" >&3
  exec 3>&-
}
