#!/usr/bin/env bash
# test_nightly.sh — `pacsaudit nightly` end to end over fixtures/scenario:
#  - the first run ingests, checks, writes the reports named by date and
#    exits 1 (new findings); a second run over the same data finds nothing
#    new, exits 0 and still writes its reports;
#  - relative paths are read from the config's folder;
#  - a bad config names the key; a held lock stops a second run with a
#    clear message; retention drops old raw bytes and verify still holds.
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
J="$WORK/job"
mkdir -p "$J/in" "$J/reports"
cp "$S"/*.log "$S"/*.ndjson "$S"/*.pcap "$J/in/"
cp "$S/policy.json" "$S/roster.csv" "$J/"
cat >"$J/nightly.json" <<'EOF'
{
  "db": "audit.db",
  "inputs": ["in/*.log", "in/*.ndjson", "in/*.pcap", "in/rotated-*.log.gz"],
  "policy": "policy.json",
  "rules": [],
  "reports": { "dir": "reports", "formats": ["html", "json"], "lang": "en" },
  "retention": { "raw_days": 1825 },
  "lock": "nightly.lock"
}
EOF
today() { TZ=Asia/Tokyo date +%F; }

rc=0
(cd / && "$PACSAUDIT" nightly --config "$J/nightly.json") >"$WORK/out" 2>"$WORK/err" || rc=$?
check "the first run exits 1 (new findings)" test "$rc" -eq 1
check "it prints one summary line" test "$(wc -l <"$WORK/out")" -eq 1
check "it says nothing on stderr" test ! -s "$WORK/err"
check "the summary counts the new findings" grep -q "; 41 new findings, " "$WORK/out"
check "the database is where the config's folder says" test -s "$J/audit.db"
check "the HTML report is named by date" test -s "$J/reports/pacsaudit-$(today).html"
check "the JSON report is named by date" test -s "$J/reports/pacsaudit-$(today).json"
check "the JSON report holds the findings" test \
  "$(sqlite3 :memory: "SELECT json_array_length(readfile('$J/reports/pacsaudit-$(today).json'), '\$.findings')")" -eq 41
check "no temporary file is left" test "$(ls "$J/reports" | wc -l)" -eq 2

rm "$J/reports"/*
rc=0
"$PACSAUDIT" nightly --config "$J/nightly.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "a second run over the same data exits 0" test "$rc" -eq 0
check "it finds nothing new" grep -q "; 0 new findings, " "$WORK/out"
check "it still writes its reports" test -s "$J/reports/pacsaudit-$(today).html"

# a held lock: the second run does not start
exec 9>"$J/nightly.lock"
flock 9
rc=0
"$PACSAUDIT" nightly --config "$J/nightly.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "a run while another holds the lock exits 2" test "$rc" -eq 2
check "it names the lock" grep -q "another run holds the lock .*nightly.lock" "$WORK/err"
exec 9>&-

# bad configs name the key
bad() { # bad JSON EXPECTED-TEXT
  printf '%s\n' "$1" >"$J/bad.json"
  rc=0
  "$PACSAUDIT" nightly --config "$J/bad.json" >/dev/null 2>"$WORK/err" || rc=$?
  check "bad config exits 2: $1" test "$rc" -eq 2
  check "bad config names the key: $2" grep -q "$2" "$WORK/err"
}
bad '{"inputs": []}' 'bad.json: db: missing'
bad '{"db": "a.db"}' 'bad.json: inputs: missing'
bad '{"db": "a.db", "inputs": [1]}' 'inputs\[0\]: must be'
bad '{"db": "a.db", "inputs": [], "reports": {"dir": "r", "formats": ["pdf"]}}' 'reports.formats\[0\]'
bad '{"db": "a.db", "inputs": [], "reports": {"dir": "r", "lang": "fr"}}' 'reports.lang'
bad '{"db": "a.db", "inputs": [], "retention": {"raw_days": -1}}' 'retention.raw_days'
bad '{"db": "a.db", "inputs": ["in/missing.log"]}' 'inputs\[0\]: .*no such file'
check "a bad config creates no database" test ! -e "$J/a.db"

# retention: a day's retention with every message received a week ago
# (backdating received_ts is a change that chain v2 catches: the test
# rewrites the chain after it, as only a test may; docs/evidence.md)
sqlite3 "$J/audit.db" "UPDATE raw SET received_ts = received_ts - 7 * 86400000000"
python3 "$PA_SRC/tests/e2e/rechain.py" "$J/audit.db"
sed -i 's/"raw_days": 1825/"raw_days": 1/' "$J/nightly.json"
rc=0
"$PACSAUDIT" nightly --config "$J/nightly.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "retention run exits 0" test "$rc" -eq 0
n_raw=$(sqlite3 "$J/audit.db" "SELECT count(*) FROM raw")
check "it says how many raw messages it dropped" grep -q "; $n_raw raw messages past retention" "$WORK/out"
check "raw rows stay, without their bytes" test \
  "$(sqlite3 "$J/audit.db" "SELECT count(*) FROM raw WHERE length(bytes) = 0")" -eq "$n_raw"
check "events are never deleted" test "$(sqlite3 "$J/audit.db" "SELECT count(*) FROM events")" -gt 0
check "the findings stay" test "$(sqlite3 "$J/audit.db" "SELECT count(*) FROM findings")" -eq 41
rc=0
"$PACSAUDIT" verify --db "$J/audit.db" >"$WORK/out" || rc=$?
check "verify holds after retention" test "$rc" -eq 0
check "verify says where retention cut" grep -q "kept by their hash only (retention" "$WORK/out"
rc=0
"$PACSAUDIT" verify --deep --db "$J/audit.db" >"$WORK/out" || rc=$?
check "verify --deep holds after retention" test "$rc" -eq 0
check "verify --deep counts the retained rows apart" \
  grep -q "$n_raw raw rows kept by their hash only (retention)" "$WORK/out"

# seal: the optional last step, {"key": PATH, "out": PATH} (docs/evidence.md)
if command -v openssl >/dev/null; then
  mkdir -p "$J/keys"
  openssl genpkey -algorithm ed25519 -out "$J/keys/seal.pem" 2>/dev/null
  chmod 600 "$J/keys/seal.pem"
  openssl pkey -in "$J/keys/seal.pem" -pubout -out "$J/keys/seal.pub" 2>/dev/null
  sed -i 's|"lock": "nightly.lock"|"lock": "nightly.lock", "seal": {"key": "keys/seal.pem", "out": "keys/seals"}|' \
    "$J/nightly.json"
  rc=0
  (cd / && "$PACSAUDIT" nightly --config "$J/nightly.json") >"$WORK/out" 2>"$WORK/err" || rc=$?
  check "a nightly run with seal exits 0" test "$rc" -eq 0
  n_raw=$(sqlite3 "$J/audit.db" "SELECT count(*) FROM raw")
  check "the summary line says what it sealed" grep -q "past retention; sealed $n_raw raw rows up to id" "$WORK/out"
  check "still one summary line" test "$(wc -l <"$WORK/out")" -eq 1
  check "the seal file is beside the config" test "$(wc -l <"$J/keys/seals")" -eq 1
  check "its copy is in the database" test "$(sqlite3 "$J/audit.db" "SELECT count(*) FROM seals")" -eq 1
  rc=0
  "$PACSAUDIT" verify --db "$J/audit.db" --seals "$J/keys/seals" --pub "$J/keys/seal.pub" >"$WORK/out" || rc=$?
  check "the nightly seal verifies (after retention)" test "$rc" -eq 0
  sqlite3 "$J/audit.db" "DELETE FROM raw WHERE id = (SELECT max(id) FROM raw)"
  rc=0
  "$PACSAUDIT" nightly --config "$J/nightly.json" >"$WORK/out" 2>"$WORK/err" || rc=$?
  check "a shortened raw: nightly does not seal, exits 2" test "$rc" -eq 2
  check "... and says so" grep -q "NOT sealed" "$WORK/out"
  check "... naming the seal it no longer matches" grep -q "no longer matches the seal of" "$WORK/err"
  bad '{"db": "a.db", "inputs": [], "seal": {"key": "k.pem"}}' 'seal.out: missing'
  bad '{"db": "a.db", "inputs": [], "seal": {"key": "k.pem", "out": "s", "x": 1}}' 'seal.x'
fi
finish
