#!/usr/bin/env bash
# test_report.sh — `pacsaudit report` end to end over fixtures/scenario:
# each format, the checklist rows, the period, pseudonymization, -o, and
# the exit codes (a missing database is 2 and creates nothing).
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
DB="$WORK/audit.db"

"$PACSAUDIT" ingest --db "$DB" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" -q >/dev/null || true

# JSON is read with SQLite's own JSON functions (no other tool needed)
jq_() { sqlite3 :memory: "SELECT $2 FROM (SELECT readfile('$1') AS j)"; }

rc=0
"$PACSAUDIT" report --db "$DB" --format json -o "$WORK/r.json" || rc=$?
check "report --format json exits 0" test "$rc" -eq 0
check "the JSON is valid" test "$(jq_ "$WORK/r.json" "json_valid(j)")" -eq 1
if command -v python3 >/dev/null; then
  check "python reads the JSON" python3 -m json.tool "$WORK/r.json" /dev/null
fi
check "format and version" test "$(jq_ "$WORK/r.json" "json_extract(j, '\$.format') || json_extract(j, '\$.version')")" = "pacsaudit-report1"
check "13 checklist rows" test "$(jq_ "$WORK/r.json" "json_array_length(j, '\$.checklist')")" -eq 13
for ref in シス14① シス14② シス14④ シス14⑥ 企13③④ シス11① シス10④ シス13⑫ "シス13 (13.3)" \
           シス17① シス17② シス17③ 企5②③; do
  n=$(sqlite3 :memory: "SELECT count(*) FROM json_each(readfile('$WORK/r.json'), '\$.checklist') WHERE json_extract(value, '\$.ref') = '$ref' AND json_extract(value, '\$.answer') IN ('はい', 'いいえ', '判定不能')")
  check "checklist row $ref" test "$n" -eq 1
done
check "the scenario's AC-01 finding makes シス14① いいえ" test \
  "$(sqlite3 :memory: "SELECT json_extract(value, '\$.answer') FROM json_each(readfile('$WORK/r.json'), '\$.checklist') WHERE json_extract(value, '\$.ref') = 'シス14①'")" = "いいえ"
check "every finding of the store is in the report" test \
  "$(jq_ "$WORK/r.json" "json_array_length(j, '\$.findings')")" -eq "$(sqlite3 "$DB" "SELECT count(*) FROM findings")"
check "the policy the check used is found (its zone and hours)" test \
  "$(jq_ "$WORK/r.json" "json_extract(j, '\$.site.working_hours[0].from')")" = "08:00"
check "an advisory finding is never a violation" test \
  "$(sqlite3 :memory: "SELECT count(*) FROM json_each(readfile('$WORK/r.json'), '\$.findings') WHERE json_extract(value, '\$.strength') = 'advisory' AND json_extract(value, '\$.violation')")" -eq 0
check "no temporary file is left beside -o" test "$(ls "$WORK" | grep -c '\.tmp\.')" -eq 0

rc=0
"$PACSAUDIT" report --db "$DB" --format text >"$WORK/r.txt" || rc=$?
check "report --format text exits 0" test "$rc" -eq 0
check "text has the checklist (ja)" grep -q "ガイドライン チェックリスト" "$WORK/r.txt"
check "text names the not-decidable items" grep -q "監査ログからは判定できない事項" "$WORK/r.txt"
"$PACSAUDIT" report --db "$DB" --lang en >"$WORK/r-en.txt"
check "text in English" grep -q "Guideline checklist" "$WORK/r-en.txt"
check "no control byte in the text" bash -c "! LC_ALL=C grep -q \$'[\\x01-\\x08\\x0b-\\x1f\\x7f]' '$WORK/r.txt'"

rc=0
"$PACSAUDIT" report --db "$DB" --format csv -o "$WORK/r.csv" || rc=$?
check "report --format csv exits 0" test "$rc" -eq 0
check "CSV: a header and one row per finding" test "$(wc -l <"$WORK/r.csv")" -eq \
  "$(( $(sqlite3 "$DB" "SELECT count(*) FROM findings") + 1 ))"
check "CSV lines end in CRLF" bash -c "head -1 '$WORK/r.csv' | od -c | grep -q '\\\\r  \\\\n'"

# a period: findings outside it are left out
"$PACSAUDIT" report --db "$DB" --format json --since 2026-11-19 --until 2026-11-20 >"$WORK/p.json"
n_p=$(jq_ "$WORK/p.json" "json_array_length(j, '\$.findings')")
check "a period keeps fewer findings" test "$n_p" -lt "$(sqlite3 "$DB" "SELECT count(*) FROM findings")"
check "the period is in the report" test "$(jq_ "$WORK/p.json" "json_extract(j, '\$.period.since')")" = "2026-11-19T00:00:00+09:00"

# pseudonymized: no patient id of the data anywhere
head -c 32 /dev/urandom >"$WORK/key"
for fmt in json text csv html; do
  "$PACSAUDIT" report --db "$DB" --format $fmt --pseudonymize "$WORK/key" -o "$WORK/ps.$fmt"
done
sqlite3 "$DB" "SELECT DISTINCT CASE WHEN instr(patient_id, '^') THEN substr(patient_id, 1, instr(patient_id, '^') - 1) ELSE patient_id END FROM events WHERE patient_id <> '' UNION SELECT subject FROM findings WHERE rule_id = 'PR-03'" >"$WORK/pids"
check "the scenario has patient ids" test -s "$WORK/pids"
leaked=0
while read -r p; do
  for fmt in json text csv html; do
    if grep -qF -- "$p" "$WORK/ps.$fmt"; then leaked=1; echo "leak: $p in $fmt"; fi
  done
done <"$WORK/pids"
check "no patient id in a pseudonymized report" test "$leaked" -eq 0
check "the report says it is pseudonymized" test "$(jq_ "$WORK/ps.json" "json_extract(j, '\$.pseudonymized')")" -eq 1
check "the HTML report says so too" grep -q "class=\"pseudo\"" "$WORK/ps.html"

# a store that no check has run over: every row 判定不能, naming why
"$PACSAUDIT" ingest --db "$WORK/nocheck.db" "$S"/*.log >/dev/null 2>&1
rc=0
"$PACSAUDIT" report --db "$WORK/nocheck.db" --format json --lang en >"$WORK/nc.json" || rc=$?
check "a store without a check run reports (exit 0)" test "$rc" -eq 0
check "without a check run every row is 判定不能" test \
  "$(sqlite3 :memory: "SELECT count(*) FROM json_each(readfile('$WORK/nc.json'), '\$.checklist') WHERE json_extract(value, '\$.answer') = '判定不能' AND json_extract(value, '\$.missing[0]') LIKE '%no check run recorded%'")" -eq 13
check "without a check run, run is null" test "$(jq_ "$WORK/nc.json" "json_type(j, '\$.run')")" = "null"

# exit codes
rc=0
"$PACSAUDIT" report --db "$WORK/typo.db" -o "$WORK/never.txt" 2>"$WORK/err" || rc=$?
check "a missing database is exit 2" test "$rc" -eq 2
check "the error names the path" grep -q "typo.db" "$WORK/err"
check "no database is created" test ! -e "$WORK/typo.db"
check "no report file is created" test ! -e "$WORK/never.txt"
rc=0
"$PACSAUDIT" report --db "$DB" --format pdf >/dev/null 2>&1 || rc=$?
check "an unknown format is exit 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" report --db "$DB" --lang fr >/dev/null 2>&1 || rc=$?
check "an unknown language is exit 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" report --db "$DB" --since yesterday >/dev/null 2>&1 || rc=$?
check "a bad time is exit 2" test "$rc" -eq 2
printf 'short' >"$WORK/shortkey"
rc=0
"$PACSAUDIT" report --db "$DB" --pseudonymize "$WORK/shortkey" >/dev/null 2>"$WORK/err" || rc=$?
check "a short key is exit 2 naming the file" bash -c "test $rc -eq 2 && grep -q shortkey '$WORK/err'"
rc=0
"$PACSAUDIT" report --db "$DB" --policy "$WORK/nope.json" >/dev/null 2>"$WORK/err" || rc=$?
check "a missing policy is exit 2 naming it" bash -c "test $rc -eq 2 && grep -q nope.json '$WORK/err'"
check "report --help exits 0" bash -c "\"$PACSAUDIT\" report --help >/dev/null"
finish
