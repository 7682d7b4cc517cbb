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
