#!/usr/bin/env bash
# test_corpus_ingest.sh — `pacsaudit ingest` over the public samples in
# ../shared/corpus (not part of this repository; skipped when absent): every
# file yields messages, every message is stored (as events, or kept raw) or
# quarantined with a reason, and the known-broken sample is quarantined.
. "$(dirname "$0")/lib.sh"
corpus=${PA_CORPUS:-$PA_SRC/../shared/corpus}
if [ ! -d "$corpus" ]; then
  echo "SKIP: $corpus absent"
  exit 77 # ctest: skipped
fi
db="$WORK/c.db"
q() { sqlite3 "$db" "$1"; }
"$PACSAUDIT" ingest --db "$db" "$corpus" >"$WORK/out" 2>"$WORK/err" || true
files=$(find "$corpus" -type f \( -name '*.xml' -o -name '*.json' -o -name '*.log' -o -name '*.bin' \) | wc -l)
seen=$(grep -c ' messages, ' "$WORK/out")
check "every sample file is read ($seen of $files)" test "$seen" -eq "$files"
check "no file reads as empty" bash -c '! grep -q " 0 messages," "$0"' "$WORK/out"
check "quarantine rows all carry a reason" test "$(q "select count(*) from quarantine where error is null or error=''")" = 0
check "the MALFORMED sample is quarantined" \
  test "$(q "select count(*) from quarantine where origin like '%MALFORMED%'")" -ge 1
# every kept message is an event's, quarantined, or a plain line kept raw only
orphans=$(q "select count(*) from raw r where not exists (select 1 from events e where e.raw_id=r.id)
             and not exists (select 1 from quarantine x where x.sha256=r.sha256)
             and r.origin not like '%.log' and r.origin not like '%.bin'")
check "every ATNA/FHIR file message became an event or was quarantined" test "$orphans" = 0
check "the raw store verifies" "$PACSAUDIT" verify --db "$db"
atna=$(q "select count(*) from events where source='atna'")
fhir=$(q "select count(*) from events where source='fhir'")
quar=$(q "select count(*) from quarantine")
echo "corpus: $files files, $(q 'select count(*) from raw') messages kept, $atna ATNA and $fhir FHIR events, $quar quarantined"
finish
