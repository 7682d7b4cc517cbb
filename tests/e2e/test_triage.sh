#!/usr/bin/env bash
# test_triage.sh — `pacsaudit findings` and `pacsaudit review` end to end,
# over the scenario of fixtures/scenario:
#  - check, then ack one finding and close another: each change is kept
#    (finding_history, runs), the list filters by status, and a re-check
#    keeps the reviewers' statuses;
#  - what may not be done is an input error (exit 2) that changes nothing:
#    acking a closed finding, an unknown id, no --by or --note;
#  - the list in text, JSON and CSV, with hostile values escaped;
#  - a review sign-off is review evidence for AU-02: with it the rule is
#    decided and finds nothing for the period, without it the same data
#    fires;
#  - a missing database is exit 2 for every command, and nothing is created.
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
DB="$WORK/audit.db"
q() { sqlite3 "$DB" "$1"; }

"$PACSAUDIT" ingest --db "$DB" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
rc=0
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" -q >/dev/null || rc=$?
check "check exits 1 (open findings)" test "$rc" -eq 1
n_all=$(q "SELECT count(*) FROM findings")
n_open=$(q "SELECT count(*) FROM findings WHERE status = 'open'")
A=$(q "SELECT min(id) FROM findings WHERE status = 'open'")
B=$(q "SELECT max(id) FROM findings WHERE status = 'open'")

# --- the list: read-only, every finding, aligned
rc=0
"$PACSAUDIT" findings --db "$DB" >"$WORK/list" 2>"$WORK/err" || rc=$?
check "findings exits 0" test "$rc" -eq 0
check "findings lists every finding (header and summary)" \
  test "$(grep -c '^ *[0-9][0-9]* ' "$WORK/list")" -eq "$n_all"
check "findings ends with the counts" grep -q "^findings: $n_all ($n_open open" "$WORK/list"

# --- ack one, close another
rc=0
"$PACSAUDIT" findings --db "$DB" ack "$A" --by "山田 太郎" --note "checking with the ward" \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
check "ack exits 0" test "$rc" -eq 0
check "ack says what it did" grep -q "^finding $A: acknowledged by 山田 太郎" "$WORK/out"
rc=0
"$PACSAUDIT" findings --db "$DB" close "$B" --by "佐藤 花子" --note "approved leave" \
  >"$WORK/out" 2>"$WORK/err" || rc=$?
check "close exits 0" test "$rc" -eq 0
check "the statuses are in findings" test \
  "$(q "SELECT group_concat(status, ' ') FROM (SELECT status FROM findings WHERE id IN ($A, $B) ORDER BY id)")" \
  = "acknowledged closed"
check "each change is a history row with who, when, why and its run" test "$(q "SELECT count(*)
  FROM finding_history h JOIN runs r ON r.id = h.run_id WHERE r.command = 'findings' AND
  ((h.finding_id = $A AND h.status = 'acknowledged' AND h.prev_status = 'open' AND h.by = '山田 太郎'
    AND h.note = 'checking with the ward') OR
   (h.finding_id = $B AND h.status = 'closed' AND h.by = '佐藤 花子' AND h.note = 'approved leave'))
  AND h.at > 0")" -eq 2

"$PACSAUDIT" findings --db "$DB" --status acknowledged >"$WORK/ack"
check "--status acknowledged lists the one acked" test "$(grep -c '^ *[0-9][0-9]* ' "$WORK/ack")" -eq 1
check "--status acknowledged: the right one" grep -q "^ *$A .* acknowledged " "$WORK/ack"
check "the list says who acknowledged it and why" \
  grep -q "acknowledged by 山田 太郎 at .*: checking with the ward" "$WORK/ack"
"$PACSAUDIT" findings --db "$DB" --status closed >"$WORK/closed"
check "--status closed lists the one closed" grep -q "^ *$B .* closed " "$WORK/closed"
check "--status closed: only it" test "$(grep -c '^ *[0-9][0-9]* ' "$WORK/closed")" -eq 1
"$PACSAUDIT" findings --db "$DB" --status open >"$WORK/open"
check "--status open lists the rest" test "$(grep -c '^ *[0-9][0-9]* ' "$WORK/open")" -eq $((n_open - 2))
"$PACSAUDIT" findings --db "$DB" --rule AC-08 --format csv >"$WORK/ac08.csv"
check "--rule filters" test "$(tail -n +2 "$WORK/ac08.csv" | cut -d, -f2 | sort -u)" = "AC-08"

# --- what may not be done changes nothing
n_hist=$(q "SELECT count(*) FROM finding_history")
n_runs=$(q "SELECT count(*) FROM runs")
rc=0
"$PACSAUDIT" findings --db "$DB" ack "$B" --by "山田 太郎" --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "acking a closed finding exits 2" test "$rc" -eq 2
check "acking a closed finding says why" grep -q "finding $B is closed: it cannot be acknowledged" "$WORK/err"
rc=0
"$PACSAUDIT" findings --db "$DB" close 99999 --by "山田 太郎" --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "an unknown id exits 2" test "$rc" -eq 2
check "an unknown id is named" grep -q "finding 99999: no such finding" "$WORK/err"
rc=0
"$PACSAUDIT" findings --db "$DB" ack "$A" --by "山田 太郎" >/dev/null 2>"$WORK/err" || rc=$?
check "ack without --note exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" findings --db "$DB" close "$A" --by "" --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "an empty --by exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" findings --db "$DB" close "$A" --by $'\xff' --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "a --by that is not UTF-8 exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" findings --db "$DB" ack abc --by "山田 太郎" --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "an id that is not a number exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" findings --db "$DB" --status new >/dev/null 2>&1 || rc=$?
check "an unknown --status exits 2" test "$rc" -eq 2
check "refused changes write nothing" test \
  "$(q "SELECT count(*) FROM finding_history") $(q "SELECT count(*) FROM runs")" = "$n_hist $n_runs"

# --- a re-check keeps the reviewers' statuses and adds nothing
rc=0
"$PACSAUDIT" check --db "$DB" --policy "$S/policy.json" -q >"$WORK/out2" || rc=$?
check "a re-check exits 1" test "$rc" -eq 1
check "a re-check adds nothing" grep -q "findings: 0 new, $n_all known" "$WORK/out2"
check "a re-check keeps acknowledged and closed" test \
  "$(q "SELECT group_concat(status, ' ') FROM (SELECT status FROM findings WHERE id IN ($A, $B) ORDER BY id)")" \
  = "acknowledged closed"
check "a re-check keeps the other statuses" test \
  "$(q "SELECT count(*) FROM findings WHERE status = 'open'")" -eq $((n_open - 2))
rc=0
"$PACSAUDIT" findings --db "$DB" close "$A" --by "山田 太郎" --note "done" >/dev/null || rc=$?
check "acknowledged -> closed" test "$rc" -eq 0
check "the history keeps both changes of a finding" test \
  "$(q "SELECT group_concat(status, ' ') FROM (SELECT status FROM finding_history WHERE finding_id = $A ORDER BY id)")" \
  = "acknowledged closed"

# --- JSON and CSV; hostile values from the logs are escaped
jq_() { sqlite3 :memory: "SELECT $2 FROM json_each(readfile('$1'), '\$.findings')"; }
"$PACSAUDIT" findings --db "$DB" --format json >"$WORK/all.json"
check "json lists every finding" test "$(jq_ "$WORK/all.json" 'count(*)')" -eq "$n_all"
check "json carries the history" test \
  "$(jq_ "$WORK/all.json" "sum(json_array_length(value, '\$.history'))")" -eq 3
cp "$DB" "$WORK/hostile.db"
sqlite3 "$WORK/hostile.db" "INSERT INTO findings (rule_id, severity, guideline_ref, subject, first_ts,
  last_ts, count, evidence, fingerprint, status, strength) VALUES
  ('AC-01', 'high', '[\"シス14①\"]', '=HYPERLINK(\"http://x\")', 0, 0, 1, '[]', 'h1', 'open', 'direct'),
  ('AC-01', 'high', '[\"シス14①\"]', 'a' || char(27) || '[2J' || char(10) || 'b', 0, 0, 1, '[]', 'h2', 'open', 'direct'),
  ('AC-01', 'high', '[\"シス14①\"]', 'bad' || CAST(x'ff' AS TEXT), 0, 0, 1, '[]', 'h3', 'open', 'direct')"
"$PACSAUDIT" findings --db "$WORK/hostile.db" --format csv >"$WORK/h.csv"
want_cell="\"'=HYPERLINK(\"\"http://x\"\")\""
check "csv: a formula becomes text (a leading ', quoted)" grep -qF ",$want_cell," "$WORK/h.csv"
check "csv: no cell starts a formula" bash -c "! grep -q ',=' '$WORK/h.csv'"
"$PACSAUDIT" findings --db "$WORK/hostile.db" >"$WORK/h.txt"
check "text: no control byte reaches the terminal" bash -c "! grep -q \$'\\x1b' '$WORK/h.txt'"
check "text: control bytes are shown escaped" grep -q 'a\\x1b\[2J\\x0ab' "$WORK/h.txt"
rc=0
"$PACSAUDIT" findings --db "$WORK/hostile.db" --format json >"$WORK/h.json" || rc=$?
check "json with bytes that are not UTF-8 is still JSON" test \
  "$(sqlite3 :memory: "SELECT json_valid(readfile('$WORK/h.json'))")" -eq 1
check "json: such bytes are written as \\xNN" grep -q 'bad\\\\xff' "$WORK/h.json"

# --- a review sign-off is review evidence for AU-02. With a review period of
# 2 days, the scenario's auditor (s.mori, 110101 on the 17th at 18:40 and the
# 20th at 16:00) leaves 18th-19th without review: AU-02 fires there. A
# sign-off for the 18th closes the gap.
cp "$S/roster.csv" "$WORK/"
sed 's/"thresholds": {/"thresholds": { "AU-02": { "period": "2d" },/' "$S/policy.json" >"$WORK/policy-au02.json"
DBN="$WORK/noreview.db"
DBR="$WORK/review.db"
"$PACSAUDIT" ingest --db "$DBN" "$S"/*.log "$S"/*.ndjson "$S"/*.pcap >/dev/null 2>&1
cp "$DBN" "$DBR"
au02() { # au02 DB: AU-02's decision and findings over the period
  "$PACSAUDIT" check --db "$1" --policy "$WORK/policy-au02.json" --since 2026-11-18 \
    --until 2026-11-20 -q >/dev/null 2>&1 || true
  sqlite3 "$1" "SELECT decided FROM rule_runs WHERE rule_id = 'AU-02' ORDER BY run_id DESC LIMIT 1;
                SELECT count(*) FROM findings WHERE rule_id = 'AU-02'" | paste -sd' '
}
check "without a sign-off AU-02 is decided and fires" test "$(au02 "$DBN")" = "1 1"
rc=0
"$PACSAUDIT" review --db "$DBR" --by "山田 太郎" --note "monthly review" \
  --period 2026-11-18..2026-11-18 >"$WORK/out" 2>"$WORK/err" || rc=$?
check "review exits 0" test "$rc" -eq 0
check "review says who signed for which period" \
  grep -q "signed by 山田 太郎 for 2026-11-18T00:00:00.000000+09:00 .. 2026-11-19T00:00:00.000000+09:00" "$WORK/out"
check "review records the sign-off and its run" test "$(sqlite3 "$DBR" "SELECT count(*) FROM reviews v
  JOIN runs r ON r.id = v.run_id WHERE r.command = 'review' AND v.by = '山田 太郎' AND
  v.note = 'monthly review' AND v.period_to - v.period_from = 86400000000")" -eq 1
check "with the sign-off AU-02 is decided and finds nothing" test "$(au02 "$DBR")" = "1 0"
rc=0
"$PACSAUDIT" review --db "$DBR" --note "x" >/dev/null 2>"$WORK/err" || rc=$?
check "review without --by exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" review --db "$DBR" --by x --period 2026-11-30 >/dev/null 2>"$WORK/err" || rc=$?
check "a period that is not FROM..TO exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" review --db "$DBR" --by x --period 2026-11-30..2026-11-01 >/dev/null 2>"$WORK/err" || rc=$?
check "a period that ends before it begins exits 2" test "$rc" -eq 2
check "refused sign-offs write nothing" test "$(sqlite3 "$DBR" "SELECT count(*) FROM reviews")" -eq 1

# --- a missing database: exit 2, its path named, nothing created
for cmd in "findings" "findings ack 1 --by x --note y" "findings close 1 --by x --note y" \
           "review --by x"; do
  rc=0
  # shellcheck disable=SC2086
  "$PACSAUDIT" $cmd --db "$WORK/typo.db" >/dev/null 2>"$WORK/err" || rc=$?
  check "$cmd on a missing database exits 2" test "$rc" -eq 2
  check "$cmd names the missing database" grep -q "typo.db: no such database" "$WORK/err"
  check "$cmd creates nothing" test ! -e "$WORK/typo.db"
done

check "findings --help" bash -c "'$PACSAUDIT' findings --help | grep -q 'exit status'"
check "review --help" bash -c "'$PACSAUDIT' review --help | grep -q 'AU-02'"
finish
