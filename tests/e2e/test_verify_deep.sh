#!/usr/bin/env bash
# test_verify_deep.sh — `verify --deep` (docs/evidence.md, "Deep verify"):
# the derived rows (events, audit_details, atna_participants, atna_objects)
# are re-parsed from raw and compared. An untouched store matches (exit 0);
# each edit of a derived row is named with its row, raw message and column:
# a changed column, a deleted row (removed), an inserted row (added). Events
# of the capture (no raw) and quarantined messages are counted apart.
. "$(dirname "$0")/lib.sh"
S="$PA_SRC/fixtures/scenario"
DB="$WORK/a.db"
run() { # run NAME CMD...: exit code in $rc, stdout in $WORK/NAME.out
  local n=$1; shift
  rc=0
  "$@" >"$WORK/$n.out" 2>"$WORK/$n.err" || rc=$?
}
# a try written as two lines, a line repeated (three failed tries), and a
# FHIR line that is quarantined
cat >"$WORK/auth.log" <<'LOG'
Dec  3 02:14:05 gw01 sshd[10]: Invalid user bob from 192.0.2.7 port 4001
Dec  3 02:14:05 gw01 sshd[10]: Failed password for invalid user bob from 192.0.2.7 port 4001 ssh2
Dec  3 02:14:07 gw01 sshd[11]: Failed password for alice from 192.0.2.8 port 4002 ssh2
Dec  3 02:14:07 gw01 sshd[11]: Failed password for alice from 192.0.2.8 port 4002 ssh2
Dec  3 02:14:07 gw01 sshd[11]: Failed password for alice from 192.0.2.8 port 4002 ssh2
LOG
printf '{"resourceType":"AuditEvent","recorded":"bad"}\n' >"$WORK/bad.ndjson"
"$PACSAUDIT" ingest --db "$DB" "$S/gw01-auth.log" "$S/pacs01-atna.log" "$S/viewer01-atna.log" \
  "$S/emr01-audit.ndjson" "$S/scenario.pcap" "$WORK/auth.log" "$WORK/bad.ndjson" \
  "$PA_SRC/fixtures/atna/110100-110120.dicom.xml" >/dev/null 2>&1
check "the fixture has repeats" test "$(sqlite3 "$DB" "SELECT count(*) FROM raw_repeats")" -ge 2
check "the fixture has a quarantined message" test "$(sqlite3 "$DB" "SELECT count(*) FROM quarantine")" -ge 1

run ok "$PACSAUDIT" verify --deep --db "$DB"
check "an untouched store: exit 0" test "$rc" -eq 0
check "it says every row matches" grep -q "deep: every derived row matches its raw message" "$WORK/ok.out"
n_ev=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE raw_id IS NOT NULL")
check "it says how many events it compared" grep -q " $n_ev events," "$WORK/ok.out"
n_cap=$(sqlite3 "$DB" "SELECT count(*) FROM events WHERE raw_id IS NULL")
check "the capture has events" test "$n_cap" -gt 0
check "capture events are counted apart" grep -q "$n_cap events without a raw message (captures)" "$WORK/ok.out"
n_q=$(sqlite3 "$DB" "SELECT count(*) FROM quarantine")
check "quarantined messages are counted apart" grep -q "quarantined messages: $n_q stored, $n_q in the re-parse" "$WORK/ok.out"
mkdir "$WORK/tmp"
TMPDIR="$WORK/tmp" run tmp "$PACSAUDIT" verify --deep --db "$DB"
check "the scratch store is made in TMPDIR and removed" test -z "$(ls -A "$WORK/tmp")"
check "--deep leaves the store as it was" test "$(sqlite3 "$DB" "SELECT count(*) FROM runs WHERE command='verify'")" -eq 0

tamper() { cp "$DB" "$WORK/t.db"; sqlite3 "$WORK/t.db" "$1"; }

# a changed column
ev=$(sqlite3 "$DB" "SELECT min(id) FROM events WHERE raw_id IS NOT NULL AND user_id IS NOT NULL")
raw=$(sqlite3 "$DB" "SELECT raw_id FROM events WHERE id=$ev")
was=$(sqlite3 "$DB" "SELECT user_id FROM events WHERE id=$ev")
tamper "UPDATE events SET user_id='x' WHERE id=$ev"
run upd "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "a changed events row: exit 1" test "$rc" -eq 1
check "the row, its raw and the column are named" \
  grep -qF "events row $ev (raw $raw): column user_id stored 'x', re-parsed '$was'" "$WORK/upd.out"
check "one difference" grep -q "deep: 1 differences" "$WORK/upd.out"
check "the chain alone still holds" grep -q "raw store intact" "$WORK/upd.out"
run plain "$PACSAUDIT" verify --db "$WORK/t.db"
check "without --deep the edit passes (what --deep adds)" test "$rc" -eq 0

# a deleted row: removed
ev=$(sqlite3 "$DB" "SELECT max(id) FROM events WHERE raw_id IS NOT NULL AND source='syslog'")
raw=$(sqlite3 "$DB" "SELECT raw_id FROM events WHERE id=$ev")
tamper "DELETE FROM events WHERE id=$ev"
run del "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "a deleted events row: exit 1" test "$rc" -eq 1
check "it is reported removed, with its raw" grep -q "events row of raw $raw: removed" "$WORK/del.out"
check "nothing else differs" grep -q "deep: 1 differences" "$WORK/del.out"

# a repeated line's event deleted: one of three equal rows of one raw
raw=$(sqlite3 "$DB" "SELECT raw_id FROM raw_repeats LIMIT 1")
tamper "DELETE FROM events WHERE id=(SELECT max(id) FROM events WHERE raw_id=$raw)"
run delrep "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "a repeat's event deleted: exit 1" test "$rc" -eq 1
check "it is reported removed" grep -q "events row of raw $raw: removed" "$WORK/delrep.out"

# an inserted row: added
raw=$(sqlite3 "$DB" "SELECT min(id) FROM raw")
tamper "INSERT INTO events (ts, source, origin, action, user_id, raw_id) VALUES (1764724445000000, 'syslog', 'x', 'login', 'mallory', $raw)"
ev=$(sqlite3 "$WORK/t.db" "SELECT max(id) FROM events")
run ins "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "an inserted events row: exit 1" test "$rc" -eq 1
check "it is reported added" grep -q "events row $ev (raw $raw): added" "$WORK/ins.out"

# participants and objects of an audit message
ev=$(sqlite3 "$DB" "SELECT min(event_id) FROM atna_participants WHERE user_name IS NOT NULL")
# atna_participants is a view (schema 14): the edit goes to its table, and
# the name is then its own, not the event's
tamper "UPDATE atna_participants_data SET user_name='eve', from_event = coalesce(from_event, 0) & ~2 WHERE event_id=$ev AND seq=(SELECT min(seq) FROM atna_participants WHERE event_id=$ev AND user_name IS NOT NULL)"
run part "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "a changed participant: exit 1" test "$rc" -eq 1
check "the participant row and column are named" \
  grep -q "atna_participants row of event $ev (raw [0-9]*): column user_name stored 'eve'" "$WORK/part.out"
ev=$(sqlite3 "$DB" "SELECT min(event_id) FROM atna_objects")
tamper "DELETE FROM atna_objects_data WHERE event_id=$ev"
run obj "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "a deleted object: exit 1" test "$rc" -eq 1
check "it is reported removed" grep -q "atna_objects row of raw [0-9]*: removed" "$WORK/obj.out"

# a raw row whose bytes are gone (not by retention): said, exit 1
tamper "UPDATE raw SET bytes=x'' WHERE id=(SELECT max(id) FROM raw)"
run nob "$PACSAUDIT" verify --deep --db "$WORK/t.db"
check "raw bytes gone: exit 1" test "$rc" -eq 1

# a store a listener filled: datagrams (no offset) repeated, a message
# without a time of its own (stamped at receipt), ATNA and sshd over TCP
if command -v timeout >/dev/null; then
  ldb="$WORK/l.db"
  "$PACSAUDIT" listen --db "$ldb" --batch-ms 50 --syslog udp://127.0.0.1:0 \
    --syslog tcp://127.0.0.1:0 >"$WORK/l.out" 2>"$WORK/l.err" &
  lpid=$!
  for _ in $(seq 100); do
    [ "$(grep -c '^listening on' "$WORK/l.out" 2>/dev/null)" -ge 2 ] && break
    sleep 0.1
  done
  up=$(grep '^listening on udp://' "$WORK/l.out" | sed 's/.*://')
  tp=$(grep '^listening on tcp://' "$WORK/l.out" | sed 's/.*://')
  exec 3>"/dev/udp/127.0.0.1/$up"
  for i in 1 2 3; do
    printf '<38>Nov 25 10:00:00 pacs01 sshd[42]: Failed password for frank from 192.0.2.9 port 50022 ssh2' >&3
  done
  printf '<38>sshd[43]: Failed password for gina from 192.0.2.10 port 50023 ssh2' >&3
  exec 3>&-
  cat "$S/pacs01-atna.log" "$S/gw01-auth.log" | timeout 10 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
  sleep 0.5
  kill -TERM "$lpid"
  wait "$lpid" || true
  check "the listener stored events" test "$(sqlite3 "$ldb" "SELECT count(*) FROM events")" -gt 40
  check "one stamped at receipt" test "$(sqlite3 "$ldb" "SELECT count(*) FROM events WHERE received_via='receipt'")" -ge 1
  run live "$PACSAUDIT" verify --deep --db "$ldb"
  check "a listener's store: exit 0" test "$rc" -eq 0
  check "its repeats are re-parsed" grep -q "(and [1-9][0-9]* repeats)" "$WORK/live.out"
fi

# with the seals: both checks, one exit status
if command -v openssl >/dev/null; then
  openssl genpkey -algorithm ed25519 -out "$WORK/k.pem" 2>/dev/null
  openssl pkey -in "$WORK/k.pem" -pubout -out "$WORK/k.pub" 2>/dev/null
  "$PACSAUDIT" seal --db "$DB" --key "$WORK/k.pem" --out "$WORK/seals" >/dev/null
  run sealok "$PACSAUDIT" verify --deep --db "$DB" --seals "$WORK/seals" --pub "$WORK/k.pub"
  check "seals and --deep hold: exit 0" test "$rc" -eq 0
  check "both are said" grep -q "seals hold" "$WORK/sealok.out"
  tamper "UPDATE events SET outcome=8 WHERE id=(SELECT min(id) FROM events WHERE raw_id IS NOT NULL)"
  run sealbad "$PACSAUDIT" verify --deep --db "$WORK/t.db" --seals "$WORK/seals" --pub "$WORK/k.pub"
  check "seals hold, an events row changed: exit 1" test "$rc" -eq 1
  check "the changed column is named beside the seals" grep -q "column outcome stored '8'" "$WORK/sealbad.out"
fi

# bad input
run bad "$PACSAUDIT" verify --tz Asia/Tokyo --db "$DB"
check "--tz without --deep is a usage error" test "$rc" -eq 2
run badd "$PACSAUDIT" verify --deep --decoders "$WORK/none" --db "$DB"
check "missing decoders: exit 2" test "$rc" -eq 2
finish
