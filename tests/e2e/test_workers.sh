#!/usr/bin/env bash
# test_workers.sh — `ingest --workers N` (ingest/pipe.c) stores exactly what
# the single-threaded path (--workers 0) stores: every row dump_audit
# compares, and raw's stored form too (the zstd frames made on the workers,
# the dictionaries trained and which one each row names), on the audit
# fixtures (ATNA files, FHIR files and NDJSON, syslog with ATNA, sshd tries,
# gzip, bad input) and on a generated input long enough that the
# dictionary is trained mid-way, with repeats, quarantine and cut frames.
# Then a second run adds nothing, with workers as without.
. "$(dirname "$0")/lib.sh"

audit_inputs "$WORK/in"
gen="$WORK/in/gen/big.log"
mkdir -p "$(dirname "$gen")"
# 6000 messages: ATNA on one line (one in 500 cut: quarantined), FHIR in
# syslog, sshd tries (invalid user then failed password: joined), and
# identical lines three at a time (repeats)
awk 'BEGIN{
 for (i = 0; i < 6000; i++) {
  s = sprintf("%02d:%02d:%02d", int(i/3600)%24, int(i/60)%60, i%60);
  if (i % 3 == 0) {
   bad = (i % 500 == 0) ? "<Broken" : "";
   printf "<85>1 2026-11-20T%sZ pacs01 arc %d - - <AuditMessage><EventIdentification EventActionCode=\"R\" EventDateTime=\"2026-11-20T%s.%03d\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"110110\" codeSystemName=\"DCM\" originalText=\"Patient Record\"/></EventIdentification><ActiveParticipant UserID=\"user%d\" UserName=\"User %d\" UserIsRequestor=\"true\" NetworkAccessPointID=\"192.0.2.%d\" NetworkAccessPointTypeCode=\"2\"><RoleIDCode csd-code=\"110153\" codeSystemName=\"DCM\" originalText=\"Source\"/></ActiveParticipant><AuditSourceIdentification AuditSourceID=\"PACS01\"/><ParticipantObjectIdentification ParticipantObjectID=\"PID%05d^^^&amp;1.2.3&amp;ISO\" ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\"><ParticipantObjectIDTypeCode csd-code=\"2\"/></ParticipantObjectIdentification>%s</AuditMessage>\n", s, i, s, i % 1000, i % 97, i % 97, i % 250, i, bad
  } else if (i % 3 == 1 && i % 2 == 0) {
   printf "<85>1 2026-11-20T%sZ emr01 fhir %d - - {\"resourceType\":\"AuditEvent\",\"type\":{\"system\":\"http://dicom.nema.org/resources/ontology/DCM\",\"code\":\"110110\"},\"action\":\"R\",\"recorded\":\"2026-11-20T%s+09:00\",\"outcome\":\"0\",\"agent\":[{\"who\":{\"identifier\":{\"value\":\"doc%d\"}},\"requestor\":true,\"network\":{\"address\":\"198.51.100.%d\",\"type\":\"2\"}}],\"source\":{\"observer\":{\"display\":\"EMR01\"}},\"entity\":[{\"what\":{\"identifier\":{\"value\":\"P%04d\"}},\"type\":{\"code\":\"1\"},\"role\":{\"code\":\"1\"}}]}\n", s, i, s, i % 50, i % 200, i % 3000
  } else if (i % 7 == 0) {
   printf "<38>1 2026-11-20T%sZ gw01 sshd %d - - Invalid user x%d from 203.0.113.%d port %d\n", s, 1000 + i, i, i % 250, 40000 + i
   printf "<38>1 2026-11-20T%sZ gw01 sshd %d - - Failed password for invalid user x%d from 203.0.113.%d port %d ssh2\n", s, 1000 + i, i, i % 250, 40000 + i
  } else if (i % 11 == 0) {
   for (k = 0; k < 3; k++)
    printf "<38>1 2026-11-20T%sZ gw01 sshd %d - - Failed password for root from 203.0.113.%d port %d ssh2\n", s, 1000 + i, i % 250, 40000 + i % 20000
  } else {
   printf "<38>Nov 20 %s gw01 sshd[%d]: Accepted publickey for u%d from 192.0.2.%d port %d ssh2\n", s, 1000 + i, i % 300, i % 250, 30000 + i
  }
 }}' >"$gen"
printf '\000\000\000garbage that is no frame\n' >>"$gen"
touch -d '2026-12-01 00:00:00 UTC' "$gen"

# raw's stored form and the dictionaries, in id order: what the workers
# made ahead must be the very bytes the writer makes
dump_raw() {
  sqlite3 "$1" "SELECT id, origin, offset, size, compressed, coalesce(dict_id, 0), hex(bytes),
                       hex(sha256), chain_v FROM raw ORDER BY id;
                SELECT id, samples, size, hex(bytes), hex(sha256) FROM raw_dicts ORDER BY id;
                SELECT origin, offset, size, error, hex(sha256) FROM quarantine ORDER BY id;"
}

cd "$WORK/in"
for n in 0 1 2 3; do
  out=$("$PACSAUDIT" ingest --db "$WORK/w$n.db" --workers "$n" atna fhir syslog gen 2>"$WORK/err$n.txt") || {
    rc=$?
    [ "$rc" -eq 2 ] || fail "--workers $n: exit $rc"
  }
  echo "$out" | grep -v '^ingest: ' >"$WORK/out$n.txt" || true
  dump_audit "$WORK/w$n.db" >"$WORK/dump$n.txt"
  dump_raw "$WORK/w$n.db" >"$WORK/raw$n.txt"
done
check "the generated input trained a dictionary mid-way" \
  test "$(sqlite3 "$WORK/w0.db" "select count(*) from raw where dict_id is not null")" -gt 1000
check "some of it was quarantined and repeated" \
  test "$(sqlite3 "$WORK/w0.db" "select (select count(*) from quarantine) > 5 and (select count(*) from raw_repeats) > 100")" = 1
check "sshd tries were joined" grep -q 'decoded' "$WORK/out0.txt"
for n in 1 2 3; do
  check "--workers $n: the rows are those of --workers 0" cmp -s "$WORK/dump0.txt" "$WORK/dump$n.txt"
  cmp -s "$WORK/dump0.txt" "$WORK/dump$n.txt" || diff "$WORK/dump0.txt" "$WORK/dump$n.txt" | head -10
  check "--workers $n: raw's stored bytes, dictionaries and quarantine are those of --workers 0" \
    cmp -s "$WORK/raw0.txt" "$WORK/raw$n.txt"
  cmp -s "$WORK/raw0.txt" "$WORK/raw$n.txt" || diff "$WORK/raw0.txt" "$WORK/raw$n.txt" | cut -c1-200 | head -6
  check "--workers $n: the per-file lines are those of --workers 0" \
    cmp -s "$WORK/out0.txt" "$WORK/out$n.txt"
  check "--workers $n: the chain verifies" "$PACSAUDIT" verify --db "$WORK/w$n.db"
done

# the same files touched (read again): nothing added, with and without workers
touch gen/big.log
"$PACSAUDIT" ingest --quiet --db "$WORK/w2.db" --workers 2 gen || true
"$PACSAUDIT" ingest --quiet --db "$WORK/w0.db" --workers 0 gen || true
dump_audit "$WORK/w2.db" >"$WORK/again2.txt"
dump_audit "$WORK/w0.db" >"$WORK/again0.txt"
check "read again with workers: nothing added" cmp -s "$WORK/dump2.txt" "$WORK/again2.txt"
check "read again: the same with and without workers" cmp -s "$WORK/again0.txt" "$WORK/again2.txt"

# --stages, and bad values of --workers
check "--stages names each stage" \
  sh -c "'$PACSAUDIT' ingest --db '$WORK/st.db' --workers 1 --stages atna | grep -q 'hash .* compress .* parse .* write'"
check "--workers -1 is refused" sh -c "! '$PACSAUDIT' ingest --db '$WORK/x.db' --workers -1 atna 2>/dev/null"
check "--workers x is refused" sh -c "! '$PACSAUDIT' ingest --db '$WORK/x.db' --workers x atna 2>/dev/null"
check "--help names --workers" sh -c "'$PACSAUDIT' ingest --help | grep -q -- '--workers N'"
finish
