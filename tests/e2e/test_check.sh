#!/usr/bin/env bash
# test_check.sh — `pacsaudit check` and `pacsaudit rules` end to end.
#  - The scenario of fixtures/scenario (a week at a small hospital, with a
#    violation of every rule the data can show and near misses beside them):
#    check reports exactly the findings of expected-findings.tsv, subject by
#    subject, and a second check adds nothing.
#  - Bad policies and bad rules: every error names the file, the JSON path
#    and the cause; a bad site rule is skipped and the pack still runs; a bad
#    policy stops check before anything runs.
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
DB="$WORK/audit.db"

"$PACSAUDIT" ingest --db "$DB" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
rc=0
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "check exits 1 (open findings)" test "$rc" -eq 1
check "check says nothing on stderr" test ! -s "$WORK/err"
check "one line per rule (31) plus header and summary" test "$(wc -l <"$WORK/out")" -eq 33
grep -q "^AC-03 .*undecidable: the data covers less time" "$WORK/out" ||
  fail "AC-03 is undecidable on five days of data"
pass

sqlite3 -separator '	' "$DB" "SELECT rule_id, subject, status FROM findings" | sort >"$WORK/got.tsv"
tail -n +2 "$S/expected-findings.tsv" | cut -f1-3 | sort >"$WORK/expected.tsv"
if ! diff -u "$WORK/expected.tsv" "$WORK/got.tsv"; then
  fail "scenario findings differ from expected-findings.tsv"
fi
pass
check "every finding cites its guideline sections" test \
  "$(sqlite3 "$DB" "SELECT count(*) FROM findings WHERE json_array_length(guideline_ref) = 0")" -eq 0
check "every finding has a stable fingerprint" test \
  "$(sqlite3 "$DB" "SELECT count(DISTINCT fingerprint) FROM findings")" -eq "$(wc -l <"$WORK/got.tsv")"
check "the excepted finding keeps its reason" test \
  "$(sqlite3 "$DB" "SELECT count(*) FROM findings WHERE status = 'excepted' AND reason <> ''")" -eq 1
check "a rule's evidence names events" test \
  "$(sqlite3 "$DB" "SELECT count(*) FROM findings f, json_each(f.evidence) j JOIN events e ON e.id = j.value WHERE f.rule_id = 'AC-08'")" -ge 10
check "network evidence names the dimse rows" bash -c \
  "sqlite3 '$DB' \"SELECT assoc_evidence FROM findings WHERE rule_id = 'RC-01'\" | grep -q dimse"
check "rule_runs records each rule's decision" test \
  "$(sqlite3 "$DB" "SELECT count(*) FROM rule_runs")" -eq 31

sqlite3 "$DB" "SELECT fingerprint, first_ts, last_ts, count FROM findings ORDER BY 1" >"$WORK/before"
rc=0
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" -q >"$WORK/out2" || rc=$?
check "a second check exits 1" test "$rc" -eq 1
n_expected=$(wc -l <"$WORK/expected.tsv")
check "a second check adds nothing" grep -q "findings: 0 new, $n_expected known" "$WORK/out2"
sqlite3 "$DB" "SELECT fingerprint, first_ts, last_ts, count FROM findings ORDER BY 1" >"$WORK/after"
check "a second check changes no finding" cmp -s "$WORK/before" "$WORK/after"

rc=0
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" --format json >"$WORK/json" || rc=$?
# JSON is read with SQLite's own JSON functions (no other tool needed)
jlen() { sqlite3 :memory: "SELECT json_array_length(readfile('$1'), '$2')"; }
check "check --format json is JSON with 31 rules" test "$(jlen "$WORK/json" '$.rules')" -eq 31

# --- a period: only what happened in it is judged
DB2="$WORK/period.db"
"$PACSAUDIT" ingest --db "$DB2" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
rc=0
"$PACSAUDIT" check --db "$DB2" --policy "$S/policy.json" --since 2026-11-20 --until 2026-11-21 -q \
  >"$WORK/out3" || rc=$?
check "a period check runs" test "$rc" -eq 1
check "no finding starts before the period" test \
  "$(sqlite3 "$DB2" "SELECT count(*) FROM findings WHERE last_ts < strftime('%s','2026-11-19T15:00:00Z') * 1000000")" -eq 0

# --- lanes: rules on three connections find what one finds, to the byte
dump() {
  sqlite3 "$1" "SELECT rule_id, subject, first_ts, last_ts, count, evidence, fingerprint,
    status, reason, assoc_evidence, detail FROM findings ORDER BY id;
    SELECT rule_id, decided, why, new, known, excepted FROM rule_runs ORDER BY rule_id"
}
for t in 1 3; do
  "$PACSAUDIT" ingest --db "$WORK/lanes-$t.db" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
done
"$PACSAUDIT" check --db "$WORK/lanes-1.db" --policy "$S/policy.json" --threads 1 -q >/dev/null || true
"$PACSAUDIT" check --db "$WORK/lanes-3.db" --policy "$S/policy.json" --threads 3 -q -v \
  >/dev/null 2>"$WORK/lanes.err" || true
check "check --threads 3 runs three lanes" grep -q "rules: 3 lanes on one snapshot" "$WORK/lanes.err"
check "three lanes keep the findings of one" \
  cmp <(dump "$WORK/lanes-1.db") <(dump "$WORK/lanes-3.db")

# --- reads: a full scan where an index would lead to most rows, the same findings
check "check -v says where it reads by a full scan" \
  grep -q "leads to the table for .* of sampled events: a full scan instead" "$WORK/lanes.err"
check "check -v says where it keeps the index" \
  grep -q "leads to the table for .* of sampled events: kept" "$WORK/lanes.err"
check "...where it scans and stores the rows as a distinct threshold sorts them" \
  grep -q "PR-02: statement [0-9]*: .* of sampled events: a full scan instead, rows stored by subj, ts" \
  "$WORK/lanes.err"
check "...where it scans and stores a sequence's rows in the index's order" \
  grep -q "AC-05: statement [0-9]*: events_op .* a full scan instead, rows stored by x.op, x.user_id, x.ts, x.id" \
  "$WORK/lanes.err"
check "...and where it fetches the index's rows in table order (a threshold)" \
  grep -q "NW-03: statement [0-9]*: .* of sampled events: kept, rows fetched in table order" \
  "$WORK/lanes.err"
check "...also a side's, stored in the index's order" \
  grep -q "EM-01: statement [0-9]*: events_user .* kept, rows fetched in table order, stored by x.user_id, x.ts, x.id" \
  "$WORK/lanes.err"
check "a sequence's sides read only the columns named after them" \
  sh -c "'$PACSAUDIT' rules sql AC-05 | grep -q 'r_a AS SELECT x.id, x.ts, x.user_id, x.src_ip FROM events x'"
check "...and every column where a later statement names one that events lacks (AU-05)" \
  sh -c "'$PACSAUDIT' rules sql AU-05 | grep -q 'r_a AS SELECT x[.][*] FROM events x'"
"$PACSAUDIT" ingest --db "$WORK/index.db" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
"$PACSAUDIT" check --db "$WORK/index.db" --policy "$S/policy.json" --threads 1 --read index -q -v \
  >/dev/null 2>"$WORK/index.err" || true
check "--read index never reads by a full scan nor in table order" \
  sh -c "! grep -q 'a full scan instead\|in table order' '$WORK/index.err'"
check "--read index keeps the findings of a full scan and of table order" \
  cmp <(dump "$WORK/lanes-1.db") <(dump "$WORK/index.db")
rc=0
"$PACSAUDIT" check --db "$WORK/index.db" --read sometimes >/dev/null 2>"$WORK/read.err" || rc=$?
check "--read takes auto or index" test "$rc" -eq 2
check "--read names its values" grep -q "read is auto or index" "$WORK/read.err"

# --- disable: the rule is shown as disabled by the site, never as compliant
sed 's/"thresholds"/"disable": ["NW-04"], "thresholds"/' "$S/policy.json" >"$WORK/policy-disable.json"
cp "$S/roster.csv" "$WORK/"
DB3="$WORK/disable.db"
"$PACSAUDIT" ingest --db "$DB3" "$S"/*.pcap >/dev/null 2>&1
"$PACSAUDIT" check --db "$DB3" --policy "$WORK/policy-disable.json" >"$WORK/out4" || true
check "a disabled rule says so" grep -q "^NW-04 .*disabled: disabled by the site" "$WORK/out4"
check "a disabled rule records no finding" test \
  "$(sqlite3 "$DB3" "SELECT count(*) FROM findings WHERE rule_id = 'NW-04'")" -eq 0

# --- a bad policy stops check before anything runs (exit 2)
printf '{"users": [{"id": "x", "valid_to": "2026-13-01"}]}\n' >"$WORK/bad-policy.json"
rc=0
"$PACSAUDIT" check --db "$DB3" --policy "$WORK/bad-policy.json" >/dev/null 2>"$WORK/err" || rc=$?
check "a bad policy exits 2" test "$rc" -eq 2
check "a bad policy names file, path and cause" grep -q 'bad-policy.json: users\[0\].valid_to: "2026-13-01" is not a date' "$WORK/err"

# --- a threshold name the rule does not have
sed 's/"thresholds": {/"thresholds": { "AC-08": { "cnt": 3 },/' "$S/policy.json" >"$WORK/policy-typo.json"
rc=0
"$PACSAUDIT" check --db "$DB3" --policy "$WORK/policy-typo.json" >/dev/null 2>"$WORK/err" || rc=$?
check "an unknown threshold exits 2" test "$rc" -eq 2
check "an unknown threshold is named with the rule's own" grep -q 'thresholds.AC-08.cnt: AC-08 has no threshold of this name (count, window)' "$WORK/err"

# --- a bad site rule: every problem named, the rule skipped, the pack still runs
cat >"$WORK/bad-rule.json" <<'JSON'
{ "id": "SITE-01", "kind": "threshold", "severity": "medium", "strength": "advisory",
  "guideline": ["シス14"],
  "title": {"en": "t", "ja": "t"}, "message": {"en": "m", "ja": "m"},
  "where": [{"field": "user_idd", "eq": "x"}, {"field": "user_id", "regex": "a(b"},
            {"field": "src_ip", "cidr": "10.0.0.0/33"}],
  "subject": "user_id", "window": "10 minutes", "count": {"gte": 5}, "colour": "red" }
JSON
rc=0
"$PACSAUDIT" rules lint "$WORK/bad-rule.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "rules lint of a bad rule exits 1" test "$rc" -eq 1
check "lint: unknown field" grep -q 'bad-rule.json: (rule).where\[0\]: unknown field "user_idd"' "$WORK/err"
check "lint: bad regex with its offset" grep -q 'bad-rule.json: (rule).where\[1\].regex: bad regular expression: regex error at offset 3' "$WORK/err"
check "lint: bad CIDR" grep -q 'where\[2\].cidr: "10.0.0.0/33" is not an address or CIDR range' "$WORK/err"
check "lint: a window that does not parse" grep -q '(rule).window: "10 minutes" is not a duration' "$WORK/err"
check "lint: an unknown key" grep -q 'unknown key "colour"' "$WORK/err"
rc=0
"$PACSAUDIT" check --db "$DB3" --policy "$S/policy.json" --rules "$WORK/bad-rule.json" -q \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
check "check with a bad site rule exits 2" test "$rc" -eq 2
check "check with a bad site rule still runs the pack" grep -q "^check: 31 rules" "$WORK/out"
check "check names the skipped rule" grep -q "bad-rule.json: rule skipped" "$WORK/err"

"$PACSAUDIT" rules list --format json >"$WORK/list.json"
# --- a missing database is an input error, and nothing is created
rc=0
"$PACSAUDIT" check --db "$WORK/typo.db" --policy "$S/policy.json" >/dev/null 2>"$WORK/err" || rc=$?
check "check of a missing database exits 2" test "$rc" -eq 2
check "check of a missing database names it" grep -q "typo.db" "$WORK/err"
check "check of a missing database creates nothing" test ! -e "$WORK/typo.db"
# --- a store with nothing in the period decides nothing: never compliant by default
rc=0
"$PACSAUDIT" check --db "$DB3" --policy "$S/policy.json" --since 2020-01-01 --until 2020-02-01 \
  >"$WORK/out" 2>&1 || rc=$?
check "an empty period exits 0" test "$rc" -eq 0
check "an empty period leaves every rule undecidable" grep -q "0 decided, 31 undecidable" "$WORK/out"

check "rules list shows 31 rules" test "$(jlen "$WORK/list.json" '$')" -eq 31
check "rules list --policy shows the site's thresholds" bash -c \
  "'$PACSAUDIT' rules list --policy '$S/policy.json' | grep -q 'distinct_patients=5 (policy)'"
check "rules --help" bash -c "'$PACSAUDIT' rules --help | grep -q 'rules test'"
check "check --help" bash -c "'$PACSAUDIT' check --help | grep -q 'exit status'"
finish
