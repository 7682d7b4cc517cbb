#!/usr/bin/env bash
# test_query.sh — `pacsaudit query` end to end over fixtures/scenario.
#  - The timelines of a patient (with and without its CX suffix), a user, an
#    AE title and an address, in text, JSON and CSV, equal expected/query/*
#    (tests/e2e/update-expected.sh writes them; review the diff).
#  - The site's zone comes from --policy; --since/--until/--limit cut.
#  - A missing database is exit 2 naming it, and no file is created; no
#    events is exit 0 with "no events" on stderr; usage errors are exit 2.
#  - Hostile values (a terminal escape, a formula, a newline) never reach
#    the terminal raw, never become a spreadsheet formula, and stay JSON.
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
E="$PA_SRC/tests/e2e/expected/query"
DB="$WORK/audit.db"

# ingest from the scenario's folder: origins are the bare file names
(cd "$S" && "$PACSAUDIT" ingest --db "$DB" ./*.log ./*.ndjson ./*.pcap >/dev/null 2>&1)

# query_cases: NAME ARGS... per line; update-expected.sh reads the same list
while read -r name args; do
  [ -n "$name" ] || continue
  rc=0
  # shellcheck disable=SC2086
  "$PACSAUDIT" query --db "$DB" $args >"$WORK/$name.out" 2>"$WORK/$name.err" || rc=$?
  check "query $args exits 0" test "$rc" -eq 0
  if ! diff -u "$E/$name.out" "$WORK/$name.out"; then
    fail "query $args differs from expected/query/$name.out"
  fi
done <"$E/cases"
pass

# the CX suffix both ways: the same timeline
check "a patient id with its CX suffix finds the bare one" \
  cmp -s "$WORK/patient-vip.out" "$WORK/patient-vip-cx.out"
check "the VIP patient's view by r.tanaka is there" grep -q "r.tanaka" "$WORK/patient-vip.out"
# every row of the AE's timeline names it on one side (the CSV's src_ae, dst_ae)
check "every row of ae WS_RAD1 names it" test \
  "$(tail -n +2 "$WORK/ae-ws_rad1.out" | awk -F, '$13 != "WS_RAD1" && $15 != "WS_RAD1"' | wc -l)" -eq 0
check "ae WS_RAD1 has rows as the called node" test \
  "$(tail -n +2 "$WORK/ae-ws_rad1.out" | awk -F, '$15 == "WS_RAD1"' | wc -l)" -gt 0
# the JSON is an array of objects (read with SQLite's JSON functions)
jq_() { sqlite3 :memory: "SELECT $2 FROM json_each(readfile('$1'))"; }
check "json is an array with one object a row" test \
  "$(sqlite3 :memory: "SELECT json_array_length(readfile('$WORK/patient-101.out'))")" -eq \
  "$("$PACSAUDIT" query --db "$DB" --format csv patient 0031000101 | tail -n +2 | wc -l)"
check "json rows are in time order" test \
  "$(jq_ "$WORK/patient-101.out" "json_extract(value, '\$.ts_us')" | sort -n -c && echo ok)" = ok
# the site's zone: the same event at 11:05 in Tokyo is 21:05 the day before in New York
printf '{"site": {"timezone": "America/New_York"}}\n' >"$WORK/ny.json"
check "the policy's zone is used" bash -c \
  "'$PACSAUDIT' query --db '$DB' --policy '$WORK/ny.json' patient 0020481739 |
   grep -q '^2026-11-18 21:05:00 '"
check "the zone is named in the header" bash -c \
  "'$PACSAUDIT' query --db '$DB' --policy '$WORK/ny.json' patient 0020481739 |
   head -n 1 | grep -q 'America/New_York'"

# --- no events, bad arguments
rc=0
"$PACSAUDIT" query --db "$DB" user nobody >"$WORK/none.out" 2>"$WORK/none.err" || rc=$?
check "no events: exit 0" test "$rc" -eq 0
check "no events: nothing on stdout" test ! -s "$WORK/none.out"
check "no events: said on stderr" grep -qx "no events" "$WORK/none.err"
check "no events in json is []" test "$("$PACSAUDIT" query --db "$DB" --format json user nobody 2>/dev/null)" = "[]"
for bad in "host x" "user" "user a b" "--format xml user x" "--limit x user x" \
  "--limit -3 user x" "--since yesterday user x" "patient ^^^HOSPA" \
  "--since 2026-11-20 --until 2026-11-19 user x"; do
  rc=0
  # shellcheck disable=SC2086
  "$PACSAUDIT" query --db "$DB" $bad >/dev/null 2>&1 || rc=$?
  check "query $bad: exit 2" test "$rc" -eq 2
done
# text shows a screenful by default and says when more follow; --limit 0 is all
cp "$DB" "$WORK/busy.db"
( echo "BEGIN;"
  for i in $(seq 1 1005); do
    echo "INSERT INTO events (ts, received_ts, source, event_code, user_id) VALUES ($((1763600000000000 + i * 1000000)), $((1763600000000000 + i * 1000000)), 'syslog', 'SYSLOG:sshd', 'busy.user');"
  done
  echo "COMMIT;" ) | sqlite3 "$WORK/busy.db"
"$PACSAUDIT" query --db "$WORK/busy.db" user busy.user >"$WORK/busy.out" 2>"$WORK/busy.err"
check "text: the first 1000 events by default (and the header)" test "$(wc -l <"$WORK/busy.out")" -eq 1001
check "text: says more follow" grep -q "the first 1000 events are shown and more follow" "$WORK/busy.err"
check "--limit 0: all of them" test \
  "$("$PACSAUDIT" query --db "$WORK/busy.db" --limit 0 user busy.user 2>/dev/null | wc -l)" -eq 1006
check "csv: all of them by default" test \
  "$("$PACSAUDIT" query --db "$WORK/busy.db" --format csv user busy.user 2>/dev/null | wc -l)" -eq 1006
"$PACSAUDIT" query --db "$WORK/busy.db" --limit 1005 user busy.user >/dev/null 2>"$WORK/busy.err"
check "no note when all are shown" test ! -s "$WORK/busy.err"

check "--help exits 0 and shows the kinds" bash -c "'$PACSAUDIT' query --help | grep -q 'ip ADDRESS'"
check "query is listed in pacsaudit --help" bash -c "'$PACSAUDIT' --help | grep -q '^  query '"

# --- a missing database: exit 2 naming it, nothing created
rc=0
"$PACSAUDIT" query --db "$WORK/typo.db" user k.sato >/dev/null 2>"$WORK/typo.err" || rc=$?
check "missing db: exit 2" test "$rc" -eq 2
check "missing db: the path is named" grep -q "$WORK/typo.db" "$WORK/typo.err"
check "missing db: no file is created" test ! -e "$WORK/typo.db" -a ! -e "$WORK/typo.db-wal"

# --- read-only: the database is not written
sum() { sha256sum "$DB" | cut -d' ' -f1; }
before=$(sum)
"$PACSAUDIT" query --db "$DB" user k.sato >/dev/null
check "query writes nothing to the database" test "$(sum)" = "$before"

# --- hostile values through every format
sqlite3 "$DB" "INSERT INTO events (ts, source, origin, event_code, outcome, user_id, user_name,
  src_ip, src_ae, dst_ae, patient_id, host) VALUES (1795053900000000, 'syslog',
  'evil' || char(27) || '[2J.log', 'X' || char(13) || 'Y', 0, '=HYPERLINK(\"http://x\")',
  '@SUM(1)' || char(27) || ']0;title' || char(7), char(9) || '10.0.0.9', '+AE', '-AE',
  'P9' || char(10) || '2026-01-01 00:00:00  forged', 'h,\"q\"')"
"$PACSAUDIT" query --db "$DB" user '=HYPERLINK("http://x")' >"$WORK/h.txt"
check "text: one header and one line" test "$(wc -l <"$WORK/h.txt")" -eq 2
check "text: no control byte reaches the terminal" test \
  "$(tr -d '\n' <"$WORK/h.txt" | LC_ALL=C grep -c '[[:cntrl:]]')" -eq 0
check "text: control bytes shown escaped" grep -qF '\x1b]0;title\x07' "$WORK/h.txt"
"$PACSAUDIT" query --db "$DB" --format csv user '=HYPERLINK("http://x")' >"$WORK/h.csv"
python3 - "$WORK/h.csv" <<'PY' || fail "csv: hostile cells"
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
assert len(rows) == 2, rows
h, r = rows
c = dict(zip(h, r))
assert c["user_id"] == "'=HYPERLINK(\"http://x\")", c["user_id"]
assert c["user_name"].startswith("'@SUM(1)"), c["user_name"]
assert c["src_ip"] == "'\t10.0.0.9", repr(c["src_ip"])
assert c["src_ae"] == "'+AE" and c["dst_ae"] == "'-AE", c
assert c["patient_id"] == "P9\n2026-01-01 00:00:00  forged", c["patient_id"]
assert c["host"] == 'h,"q"', c["host"]
assert c["event_code"] == "X\rY", repr(c["event_code"])
assert c["outcome"] == "0" and c["dst_ip"] == "", c
for cell in r:
    assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), cell
PY
pass
check "csv lines end in CRLF" bash -c "head -n 1 '$WORK/h.csv' | grep -q $'\r\$'"
"$PACSAUDIT" query --db "$DB" --format json user '=HYPERLINK("http://x")' >"$WORK/h.json"
check "json: the values come back whole" test \
  "$(sqlite3 :memory: "SELECT json_extract(readfile('$WORK/h.json'), '\$[0].patient_id') = 'P9' || char(10) || '2026-01-01 00:00:00  forged'")" -eq 1
check "json: no raw control byte" test \
  "$(tr -d '\n' <"$WORK/h.json" | LC_ALL=C grep -c '[[:cntrl:]]')" -eq 0

finish
