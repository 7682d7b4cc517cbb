#!/usr/bin/env bash
# test_ingest_behaviour.sh — what a user relies on beyond the rows: re-runs
# add nothing, the database is private, credentials never land, damaged
# captures are reported with file/packet/offset and do not lose what was read.
. "$(dirname "$0")/lib.sh"
fx="$PA_SRC/fixtures/dicom"
db="$WORK/a.db"
q() { sqlite3 "$db" "$1"; }

# --help, --version, bad usage
check "--help names ingest" bash -c '"$0" --help | grep -q "ingest"' "$PACSAUDIT"
check "--version" bash -c '"$0" --version | grep -Eq "^pacsaudit [0-9]+\.[0-9]+"' "$PACSAUDIT"
rc=0
"$PACSAUDIT" frobnicate 2>/dev/null || rc=$?
check "unknown command exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" ingest --db "$db" 2>/dev/null || rc=$?
check "ingest without input exits 2" test "$rc" -eq 2

# first ingest of every capture: a folder, so other files are passed over
rc=0
"$PACSAUDIT" ingest --quiet --db "$db" "$fx" || rc=$?
check "ingest exits 0 on good captures" test "$rc" -eq 0
n_assoc=$(q "select count(*) from associations")
n_dimse=$(q "select count(*) from dimse")
n_events=$(q "select count(*) from events")
check "associations stored" test "$n_assoc" -gt 10
check "database is mode 0600" test "$(stat -c %a "$db")" = 600

# the same captures again: nothing added, every input skipped
out=$("$PACSAUDIT" ingest --db "$db" "$fx")
check "re-ingest skips unchanged files" grep -q "12 unchanged" <<<"$out"
check "re-ingest adds no association" test "$(q "select count(*) from associations")" = "$n_assoc"
check "re-ingest adds no dimse" test "$(q "select count(*) from dimse")" = "$n_dimse"
check "re-ingest adds no event" test "$(q "select count(*) from events")" = "$n_events"

# the same capture under another name: read, but recognised as stored
cp "$fx/store.pcap" "$WORK/copy-of-store.pcap"
out=$("$PACSAUDIT" ingest --db "$db" "$WORK/copy-of-store.pcap")
check "a copy adds no association" test "$(q "select count(*) from associations")" = "$n_assoc"
check "a copy is reported as already stored" grep -q "already stored 1" <<<"$out"
check "each run is a row of runs" test "$(q "select count(*) from runs where command='ingest' and status='ok'")" = 3
check "runs carry counts" test "$(q "select associations from runs order by id limit 1")" = "$n_assoc"

# credentials: the user name is kept, the passcode nowhere
check "user identity kept" test "$(q "select count(*) from associations where user_identity='dr.tanaka' and user_identity_type=2")" -ge 1
"$PACSAUDIT" ingest --quiet --db "$WORK/uid.db" "$fx/userid.pcap"
sqlite3 "$WORK/uid.db" "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
check "passcode not in the database file" bash -c '! grep -a -q "s3cr3t-pw" "$0"* ' "$WORK/uid.db"
check "passcode is in the capture (the check is real)" grep -a -q "s3cr3t-pw" "$fx/userid.pcap"

# a capture cut in the middle of a packet
size=$(stat -c %s "$fx/store.pcap")
head -c $((size * 2 / 3)) "$fx/store.pcap" > "$WORK/cut.pcap"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/cut.db" "$WORK/cut.pcap" 2>"$WORK/cut.err" || rc=$?
check "truncated capture exits 2" test "$rc" -eq 2
check "truncated capture names file, packet and offset" \
  grep -Eq "cut\.pcap: packet [0-9]+ \(offset [0-9]+\)" "$WORK/cut.err"
check "what was read before the cut is kept" \
  test "$(sqlite3 "$WORK/cut.db" "select count(*) from associations where result='incomplete'")" = 1
check "requests before the cut are kept" \
  test "$(sqlite3 "$WORK/cut.db" "select count(*) from dimse")" -ge 1

# a PDU announcing 4 GiB: the length field of the C-ECHO-RQ's P-DATA-TF
# (type 04, length 0x4a) overwritten
cp "$fx/echo.pcap" "$WORK/huge-pdu.pcap"
off=$(LC_ALL=C grep -obUaP '\x04\x00\x00\x00\x00\x4a\x00\x00' "$WORK/huge-pdu.pcap" | head -n1 | cut -d: -f1)
printf '\xff\xff\xff\xff' | dd of="$WORK/huge-pdu.pcap" bs=1 seek=$((off + 2)) conv=notrunc 2>/dev/null
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/h.db" "$WORK/huge-pdu.pcap" 2>"$WORK/h.err" || rc=$?
check "a PDU past the length limit is reported with packet and offset" \
  grep -Eq "huge-pdu\.pcap: packet [0-9]+ \(offset [0-9]+\): dicom_ul\.pdu_too_large" "$WORK/h.err"
check "...as one line" test "$(grep -c pdu_too_large "$WORK/h.err")" = 1
check "...and the association is incomplete with that reason" \
  test "$(sqlite3 "$WORK/h.db" "select count(*) from associations where result='incomplete' and reject_reason like '%pdu_too_large%'")" = 1
check "...and its anomaly is countable by name" \
  test "$(sqlite3 "$WORK/h.db" "select anomalies || ' ' || anomaly_count from associations")" = "dicom_ul.pdu_too_large 1"

# a pcap header followed by garbage, and a file of no known kind
{ head -c 24 "$fx/store.pcap"; head -c 5000 /dev/urandom; } > "$WORK/garbage.pcap"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/g.db" "$WORK/garbage.pcap" 2>"$WORK/g.err" || rc=$?
check "garbage capture: clean exit code" test "$rc" -eq 0 -o "$rc" -eq 2
echo "hello" > "$WORK/notes.txt"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/g.db" "$WORK/notes.txt" 2>"$WORK/n.err" || rc=$?
check "unknown file named on the command line exits 2" test "$rc" -eq 2
check "unknown file error names file and offset" grep -q "notes.txt: offset 0:" "$WORK/n.err"

# A database that cannot be used is the user's input, not an internal error.
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/notes.txt" "$fx/echo.pcap" 2>"$WORK/d.err" || rc=$?
check "ingest into a file that is not a database exits 2" test "$rc" -eq 2
check "...and says so" grep -q "notes.txt: file is not a database" "$WORK/d.err"
rc=0
"$PACSAUDIT" verify --db "$WORK/notes.txt" 2>"$WORK/d.err" || rc=$?
check "verify of a file that is not a database exits 2" test "$rc" -eq 2
# verify only reads: a mistyped --db is named, and no empty database is left
rc=0
"$PACSAUDIT" verify --db "$WORK/typo.db" 2>"$WORK/d.err" || rc=$?
check "verify of a database that does not exist exits 2" test "$rc" -eq 2
check "...naming the missing file" grep -q "typo.db: no such database" "$WORK/d.err"
check "...and creates nothing" test ! -e "$WORK/typo.db" -a ! -e "$WORK/typo.db-wal"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/no/such/dir/x.db" "$fx/echo.pcap" 2>"$WORK/d.err" || rc=$?
check "ingest into a folder that does not exist exits 2" test "$rc" -eq 2
check "...naming the path and the cause" grep -q "x.db: cannot create: No such file" "$WORK/d.err"
# a database someone made readable by others gets a warning, and still works
cp "$db" "$WORK/open.db"
chmod 644 "$WORK/open.db"
rc=0
"$PACSAUDIT" verify --db "$WORK/open.db" >/dev/null 2>"$WORK/d.err" || rc=$?
check "verify of a mode 0644 database still works" test "$rc" -eq 0
check "...and warns that others can read it" grep -q "open.db: readable or writable by others (mode 644).*chmod 600" "$WORK/d.err"
# a file name with control bytes never reaches the terminal raw: no escape
# sequence, and no forged line (the newline in the name is written \x0a)
evil="$WORK/$(printf 'evil\033]0;pwned\007\nname.log')"
printf '<38>Dec  3 02:14:05 gw01 sshd[1]: Failed password for a from 192.0.2.1 port 1 ssh2\n' >"$evil"
"$PACSAUDIT" ingest --db "$WORK/evil.db" "$evil" >"$WORK/evil.out" 2>&1
"$PACSAUDIT" ingest --db "$WORK/evil.db" "$WORK/$(printf 'gone\033[2J')" >>"$WORK/evil.out" 2>&1 || true
check "no control byte of a file name is printed" bash -c "! LC_ALL=C grep -q \$'[\\x01-\\x09\\x0b-\\x1f]' '$WORK/evil.out'"
check "...the name is shown escaped" grep -q 'evil\\x1b\]0;pwned\\x07\\x0aname.log: syslog' "$WORK/evil.out"
check "...in errors too" grep -q 'gone\\x1b\[2J: No such file' "$WORK/evil.out"
finish
