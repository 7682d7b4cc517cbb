#!/usr/bin/env bash
# Regenerates tests/e2e/expected/ from the current build. Review the diff
# before committing: an expectation is only as good as its cross-check
# (docs/dicom-crosscheck.md).
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
PACSAUDIT=$(realpath "${PACSAUDIT:-$src/build/pacsaudit}")
export PA_SRC=$src PACSAUDIT
. "$src/tests/e2e/lib.sh"
cd "$src/fixtures/dicom"
for cap in *.pcap; do
  name=${cap%.pcap}
  "$PACSAUDIT" ingest --quiet --db "$WORK/$name.db" "$cap" 2>/dev/null || true
  dump_dicom "$WORK/$name.db" > "$src/tests/e2e/expected/dicom/$name.txt"
done
echo "updated $(ls "$src/tests/e2e/expected/dicom" | wc -l) expectations"

# audit: the rows of the audit fixtures (test_audit_ingest.sh)
mkdir -p "$src/tests/e2e/expected/audit"
audit_inputs "$WORK/in"
(cd "$WORK/in" && "$PACSAUDIT" ingest --quiet --db "$WORK/audit.db" atna fhir syslog) 2>/dev/null || true
dump_audit "$WORK/audit.db" > "$src/tests/e2e/expected/audit/fixtures.txt"
echo "updated the audit expectation"
# listen: the rows of exact_send's messages (test_listen.sh)
"$PACSAUDIT" listen --db "$WORK/listen.db" --batch-ms 50 --syslog udp://127.0.0.1:0 \
  --syslog tcp://127.0.0.1:0 >"$WORK/listen.out" 2>/dev/null &
lpid=$!
for _ in $(seq 150); do [ "$(grep -c '^listening on' "$WORK/listen.out")" -ge 2 ] && break; sleep 0.1; done
exact_send "$(grep '^listening on udp://' "$WORK/listen.out" | sed 's/.*://')" \
           "$(grep '^listening on tcp://' "$WORK/listen.out" | sed 's/.*://')"
sleep 0.5
kill -TERM "$lpid"; wait "$lpid" || true
dump_audit "$WORK/listen.db" > "$src/tests/e2e/expected/audit/listen.txt"
echo "updated the listen expectation"

# policy lint: the error lines of each bad policy (run from fixtures/policy)
cd "$src/fixtures/policy"
for f in bad-users.json bad-network.json bad-roster/policy.json; do
  name=$(echo "${f%.json}" | tr / -)
  "$PACSAUDIT" policy lint "$f" 2> "$src/tests/e2e/expected/policy/$name.txt" >/dev/null || true
done
echo "updated $(ls "$src/tests/e2e/expected/policy" | wc -l) policy expectations"

# query: the timelines of tests/e2e/expected/query/cases over the scenario
# (ingested from its folder, so origins are bare file names)
cd "$src/fixtures/scenario"
"$PACSAUDIT" ingest --db "$WORK/query.db" ./*.log ./*.ndjson ./*.pcap >/dev/null 2>&1
while read -r name args; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  "$PACSAUDIT" query --db "$WORK/query.db" $args > "$src/tests/e2e/expected/query/$name.out"
done < "$src/tests/e2e/expected/query/cases"
echo "updated $(grep -c . "$src/tests/e2e/expected/query/cases") query expectations"
