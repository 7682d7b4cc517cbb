#!/usr/bin/env bash
# test_seal.sh — tamper evidence (docs/evidence.md), one check per attack:
#  - deleting the last rows of raw: caught by the seal (the sealed row is gone);
#  - editing a row, recomputing its sha256 and every chain_hash after it:
#    verify alone passes, the seal catches it;
#  - changing raw.origin, offset or received_ts: caught by chain v2, row named;
#  - an altered seal line, a bad key, a line that is not a seal;
#  - rows stored as chain v1 (before schema 11) still verify, and v2 rows
#    follow them; a v2 row turned back to v1 is caught.
# Keys are real: `openssl genpkey -algorithm ed25519`.
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "no openssl"; exit 77; }
S="$PA_SRC/fixtures/scenario"
K="$WORK/keys"
mkdir -p "$K"
openssl genpkey -algorithm ed25519 -out "$K/seal.pem" 2>/dev/null
chmod 600 "$K/seal.pem"
openssl pkey -in "$K/seal.pem" -pubout -out "$K/seal.pub" 2>/dev/null
openssl genpkey -algorithm ed25519 -out "$K/other.pem" 2>/dev/null
openssl pkey -in "$K/other.pem" -pubout -out "$K/other.pub" 2>/dev/null
DB="$WORK/a.db"
SEALS="$K/seals"
run() { # run NAME CMD...: exit code in $rc, stdout in $WORK/NAME.out, stderr in $WORK/NAME.err
  local n=$1; shift
  rc=0
  "$@" >"$WORK/$n.out" 2>"$WORK/$n.err" || rc=$?
}
verify() { run "$1" "$PACSAUDIT" verify --db "$2" --seals "$SEALS" --pub "$K/seal.pub"; }

"$PACSAUDIT" ingest --db "$DB" "$S/gw01-auth.log" "$S/pacs01-atna.log" >/dev/null
run seal1 "$PACSAUDIT" seal --db "$DB" --key "$K/seal.pem" --out "$SEALS"
check "seal exits 0" test "$rc" -eq 0
n=$(sqlite3 "$DB" "SELECT count(*) FROM raw")
last=$(sqlite3 "$DB" "SELECT max(id) FROM raw")
check "seal says what it sealed" grep -q "sealed $n raw rows up to id $last" "$WORK/seal1.out"
check "the seal file holds one line" test "$(wc -l <"$SEALS")" -eq 1
check "the line is the documented format" grep -Eq \
  "^pacsaudit-seal 1 at=[0-9T:.-]+Z rows=$n last_id=$last head=[0-9a-f]{64} key=[0-9a-f]{16} sig=[0-9a-f]{128}$" "$SEALS"
check "a copy is in the database" test \
  "$(sqlite3 "$DB" "SELECT line FROM seals")" = "$(cat "$SEALS")"
check "new rows are chain v2" test "$(sqlite3 "$DB" "SELECT count(*) FROM raw WHERE chain_v = 2")" -eq "$n"
verify ok "$DB"
check "verify with seals exits 0" test "$rc" -eq 0
check "verify says no rows came after" grep -q "1 seals hold.* 0 raw rows came after the last seal" "$WORK/ok.out"

# more rows, a second seal, more rows: "how many after"
"$PACSAUDIT" ingest --db "$DB" "$S/emr01-audit.ndjson" >/dev/null
run seal2 "$PACSAUDIT" seal --db "$DB" --key "$K/seal.pem" --out "$SEALS" --syslog
check "a second seal (with --syslog) exits 0" test "$rc" -eq 0
cp "$DB" "$WORK/before-more.db"
printf '<13>Dec  1 09:00:00 gw01 sshd[1]: extra line %s\n' 1 2 3 >"$WORK/extra.log"
"$PACSAUDIT" ingest --db "$DB" "$WORK/extra.log" >/dev/null
verify after "$DB"
check "verify after new rows exits 0" test "$rc" -eq 0
check "verify counts the rows after the last seal" grep -q "2 seals hold.* 3 raw rows came after the last seal (.*seals line 2)" "$WORK/after.out"

# attack 1: delete the last rows of raw (the chain of what is left holds)
cp "$DB" "$WORK/short.db"
sealed=$(sqlite3 "$DB" "SELECT last_id FROM seals ORDER BY id DESC LIMIT 1")
sqlite3 "$WORK/short.db" "DELETE FROM raw WHERE id > $sealed - 2"
run short-plain "$PACSAUDIT" verify --db "$WORK/short.db"
check "without seals, verify cannot tell a shortened raw" test "$rc" -eq 0
verify short "$WORK/short.db"
check "shortened raw: verify exits 1" test "$rc" -eq 1
check "shortened raw: the sealed row is named gone" grep -q "BROKEN: raw row $sealed, the last one sealed, is gone" "$WORK/short.out"
check "shortened raw: the first seal still holds" test "$(grep -c BROKEN: "$WORK/short.out")" -eq 1

# attack 2: edit a row, recompute its sha256 and every chain_hash after it
cp "$DB" "$WORK/rewrite.db"
victim=$(sqlite3 "$DB" "SELECT min(id) FROM raw WHERE compressed = 0 AND id > 5")
sqlite3 "$WORK/rewrite.db" "UPDATE raw SET bytes = CAST('<13>Dec  1 09:00:00 gw01 sshd[1]: nothing happened' AS BLOB) WHERE id = $victim"
python3 "$PA_SRC/tests/e2e/rechain.py" "$WORK/rewrite.db" --resha "$victim"
run rewrite-plain "$PACSAUDIT" verify --db "$WORK/rewrite.db"
check "without seals, verify cannot tell a rewritten chain" test "$rc" -eq 0
verify rewrite "$WORK/rewrite.db"
check "rewritten chain: verify exits 1" test "$rc" -eq 1
check "rewritten chain: the seal names its row and the cause" \
  grep -q "BROKEN: raw row [0-9]*: chain_hash differs from the sealed head" "$WORK/rewrite.out"
check "rewritten chain: the rows are narrowed to the first seal's prefix" \
  grep -q "the change lies in raw rows 1 to " "$WORK/rewrite.out"
run reseal "$PACSAUDIT" seal --db "$WORK/rewrite.db" --key "$K/seal.pem" --out "$SEALS"
check "seal refuses to bless a rewritten chain" test "$rc" -eq 1
check "... and says why" grep -q "no longer matches the seal of .* line 2" "$WORK/reseal.err"
check "... and appends nothing" test "$(wc -l <"$SEALS")" -eq 2

# attack 3: change origin, offset or received_ts (chain v2)
for col in "origin = 'elsewhere.log'" "offset = offset + 1" "received_ts = received_ts - 86400000000" "offset = NULL"; do
  cp "$DB" "$WORK/meta.db"
  sqlite3 "$WORK/meta.db" "UPDATE raw SET $col WHERE id = $victim"
  verify meta "$WORK/meta.db"
  check "raw.$col: verify exits 1" test "$rc" -eq 1
  check "raw.$col: the row and the cause are named" \
    grep -q "raw row $victim: chain_hash does not match: origin, offset or received_ts was changed" "$WORK/meta.out"
done
run broken-seal "$PACSAUDIT" seal --db "$WORK/meta.db" --key "$K/seal.pem" --out "$SEALS"
check "seal refuses a broken chain" test "$rc" -eq 1

# the seal file: altered, wrong key, not a seal
sed '1s/ at=20/ at=19/' "$SEALS" >"$K/altered"
run altered "$PACSAUDIT" verify --db "$DB" --seals "$K/altered" --pub "$K/seal.pub"
check "an altered seal line: exit 1" test "$rc" -eq 1
check "an altered seal line: its line is named" grep -q "altered: line 1: seal signature does NOT verify" "$WORK/altered.out"
run otherkey "$PACSAUDIT" verify --db "$DB" --seals "$SEALS" --pub "$K/other.pub"
check "another key: exit 2" test "$rc" -eq 2
check "another key: said" grep -q "no seal made with key" "$WORK/otherkey.err"
run privkey "$PACSAUDIT" verify --db "$DB" --seals "$SEALS" --pub "$K/seal.pem"
check "a private key for --pub: exit 2, the file named" test "$rc" -eq 2
grep -q "seal.pem: not an Ed25519 public key" "$WORK/privkey.err" || fail "bad key message"
cp "$SEALS" "$K/junk"; echo "pacsaudit-seal 1 at=yesterday" >>"$K/junk"
run junk "$PACSAUDIT" verify --db "$DB" --seals "$K/junk" --pub "$K/seal.pub"
check "a bad seal line: exit 2" test "$rc" -eq 2
check "a bad seal line: file and line named" grep -q "junk: line 3: at= is not a UTC time" "$WORK/junk.err"
run badkey "$PACSAUDIT" seal --db "$DB" --key "$K/seal.pub" --out "$SEALS"
check "seal with a public key: exit 2" test "$rc" -eq 2

# chain v1: rows stored before schema 11 still verify; v2 rows follow them
cp "$WORK/before-more.db" "$WORK/v1.db"
sqlite3 "$WORK/v1.db" "UPDATE raw SET chain_v = 1"
python3 "$PA_SRC/tests/e2e/rechain.py" "$WORK/v1.db"
"$PACSAUDIT" ingest --db "$WORK/v1.db" "$WORK/extra.log" >/dev/null
run v1 "$PACSAUDIT" verify --db "$WORK/v1.db"
check "v1 rows then v2 rows verify" test "$rc" -eq 0
check "the new rows are v2" test "$(sqlite3 "$WORK/v1.db" "SELECT count(*) FROM raw WHERE chain_v = 2")" -eq 3
v2=$(sqlite3 "$WORK/v1.db" "SELECT max(id) FROM raw")
sqlite3 "$WORK/v1.db" "UPDATE raw SET chain_v = 1, origin = 'x' WHERE id = $v2"
python3 "$PA_SRC/tests/e2e/rechain.py" "$WORK/v1.db"
run down "$PACSAUDIT" verify --db "$WORK/v1.db"
check "a v2 row turned back to v1 is caught" grep -q "raw row $v2: chain_v 1 after a version 2 row" "$WORK/down.out"
finish
