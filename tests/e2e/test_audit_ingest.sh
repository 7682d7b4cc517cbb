#!/usr/bin/env bash
# test_audit_ingest.sh — syslog, ATNA XML and FHIR files through `pacsaudit
# ingest`: what lands in events and the detail tables, quarantine of the
# malformed fixtures, incremental reading of a growing log, rotation, gzip,
# re-runs adding nothing, and the raw store's hash chain.
. "$(dirname "$0")/lib.sh"
fx="$PA_SRC/fixtures"
db="$WORK/a.db"
q() { sqlite3 "$db" "$1"; }

# read from a copy with relative paths and a fixed mtime, so that every row
# is the same on every machine and the dump compares exactly
audit_inputs "$WORK/in"
rc=0
(cd "$WORK/in" && "$PACSAUDIT" ingest --quiet --db "$db" atna fhir syslog) 2>"$WORK/err" || rc=$?
check "ingest of the audit fixtures exits 0" test "$rc" -eq 0
dump_audit "$db" >"$WORK/audit.txt"
check "every row of the audit fixtures is the expected one (expected/audit/fixtures.txt)" \
  diff -u "$PA_SRC/tests/e2e/expected/audit/fixtures.txt" "$WORK/audit.txt"

# ATNA: both spellings of every guideline event id, with their details
check "ATNA events stored" test "$(q "select count(*) from events where source='atna'")" = 44
check "both XML spellings seen" \
  test "$(q "select count(distinct format) from audit_details where format in ('dicom-xml','rfc3881-xml')")" = 2
check "participants in their table" test "$(q "select count(*) from atna_participants")" = 116
check "objects in their table" test "$(q "select count(*) from atna_objects")" = 46
check "a login failure is outcome 4 with its event type" \
  test "$(q "select count(*) from events e join audit_details d on d.event_id=e.id
             where e.event_code='DCM:110114' and d.event_types like '%110122%' and e.outcome=4")" = 3
check "break-glass events keep their type" \
  test "$(q "select count(*) from audit_details where event_types like '%110127%'")" = 3
check "syslog-carried ATNA keeps the header time as received_ts and the host" \
  test "$(q "select count(*) from events where source='atna' and origin like '%atna-5424.log'
             and host='pacs01' and received_ts is not null and received_ts<>ts")" = 2

# FHIR
check "FHIR events stored (R4, R5, STU3, Bundle, NDJSON)" \
  test "$(q "select count(*) from events where source='fhir'")" = 10
check "FHIR versions told apart" \
  test "$(q "select count(distinct format) from audit_details where format like 'fhir-%'")" = 3

# plain syslog lines through the built-in decoders (plain and gzip)
check "sshd failures decoded with outcome 4" \
  test "$(q "select count(*) from events where source='syslog' and event_code='DCM:110114' and outcome=4")" = 5
check "sudo decoded" test "$(q "select count(*) from events where event_code='SYSLOG:sudo'")" = 2
check "rotated gzip log read" \
  test "$(q "select count(*) from events where origin like '%auth.log.1.gz'")" = 4

# malformed input: quarantined with a reason, never lost
bad=$(find "$fx/atna/bad" "$fx/fhir/bad" -type f | wc -l)
check "every malformed fixture kept (quarantine or raw)" \
  test "$(q "select count(*) from raw where origin like '%/bad/%'")" -eq "$bad"
check "the IHE Yr4 file is kept raw only, as over syslog (formats.md §0)" \
  test "$(q "select count(*) from raw where origin='atna/bad/wrong-root.xml'")/$(q "select count(*) from quarantine where origin like '%wrong-root%'")" = 1/0
check "malformed ATNA quarantined with a reason" \
  test "$(q "select count(*) from quarantine where origin like '%atna/bad/%' and error like 'atna.%'")" = 9
check "billion laughs refused as a DTD" \
  test "$(q "select count(*) from quarantine where origin like '%billion%' and error like 'atna.dtd%'")" = 1
# NDJSON: each line a message; the bad second line quarantined at its own
# offset (just past the first line's LF); a CRLF-ended line still parses
nd="$fx/fhir/events.ndjson"
line1=$(head -n1 "$nd" | wc -c)
check "NDJSON lines become events" \
  test "$(q "select count(*) from events where origin like '%events.ndjson'")" = 2
check "the bad NDJSON line is quarantined at its own offset" \
  test "$(q "select offset from quarantine where origin like '%events.ndjson'")" = "$line1"
check "the CRLF-ended NDJSON line parses" \
  test "$(q "select count(*) from events where origin like '%events.ndjson' and event_code='FHIR:rest'")" = 1
check "the raw store verifies" "$PACSAUDIT" verify --db "$db"

# NDJSON whose first line is longer than the 4 KB that sniffing looks at
mkdir -p "$WORK/sniff"
{ printf '{%5000s' ''; head -n 1 "$nd" | cut -c2-; sed -n 4p "$nd"; } > "$WORK/sniff/long.ndjson"
"$PACSAUDIT" ingest --quiet --db "$WORK/s.db" "$WORK/sniff/long.ndjson"
check "NDJSON with a first line past the sniffed head is read line by line" \
  test "$(sqlite3 "$WORK/s.db" "select count(*) from events")" = 2
# a log that starts with a line that is not a syslog header (a journal
# banner, the tail of a message cut at rotation) is still a log
{ echo "-- Journal begins at Thu 2026-11-19 00:00:01 JST. --"; head -n 3 "$fx/syslog/auth.log"; } \
  > "$WORK/sniff/journal.txt"
echo "just some notes" > "$WORK/sniff/README"
printf '#!/bin/sh\n%s\n' "echo 'Nov 20 10:00:00 pacs01 sshd[1]: Failed password for x from 192.0.2.1'" \
  > "$WORK/sniff/gen.sh"
out=$("$PACSAUDIT" ingest --db "$WORK/s.db" "$WORK/sniff" 2>&1)
check "a log beginning with a non-header line is read as syslog" grep -q "journal.txt: syslog" <<<"$out"
check "a script that quotes a syslog line is not" bash -c '! grep -q "gen.sh" <<<"$0"' "$out"
check "files of no known kind in a folder are counted in the summary" \
  grep -q "2 files in folders were of no supported kind and passed over" <<<"$out"

# re-running adds nothing
before=$(q "select count(*) from events"); raw_before=$(q "select count(*) from raw")
(cd "$WORK/in" && "$PACSAUDIT" ingest --quiet --db "$db" atna fhir syslog) 2>/dev/null || true
check "re-ingest adds no event" test "$(q "select count(*) from events")" = "$before"
check "re-ingest adds no raw message" test "$(q "select count(*) from raw")" = "$raw_before"

# a growing log: only what was appended is read
log="$WORK/grow.log"
head -n 5 "$fx/syslog/auth.log" > "$log"
"$PACSAUDIT" ingest --quiet --db "$WORK/g.db" "$log"
n1=$(sqlite3 "$WORK/g.db" "select count(*) from raw")
sed -n '6,10p' "$fx/syslog/auth.log" >> "$log"
out=$("$PACSAUDIT" ingest --db "$WORK/g.db" "$log")
check "an appended log is read from where it stopped" grep -q "from where it stopped" <<<"$out"
check "appended lines are added" test "$(sqlite3 "$WORK/g.db" "select count(*) from raw")" -eq $((n1 + 5))
check "the re-read last line is not stored twice" \
  test "$(sqlite3 "$WORK/g.db" "select count(*) from raw")" = "$(sqlite3 "$WORK/g.db" "select count(distinct sha256) from raw")"
# rotation: a new file under the same name is read from its start
mv "$log" "$log.1"
sed -n '11,13p' "$fx/syslog/auth.log" > "$log"
"$PACSAUDIT" ingest --quiet --db "$WORK/g.db" "$log"
check "a rotated log is read from its start" \
  test "$(sqlite3 "$WORK/g.db" "select count(*) from raw")" -eq $((n1 + 8))
# sshd writes the same line for each failed try of one connection: each is
# an event, while reading the file again, or a copy of it, adds none
rep="$WORK/rep.log"
for i in 1 2 3; do
  echo "Nov 20 10:00:00 pacs01 sshd[4242]: Failed password for root from 203.0.113.9 port 50022 ssh2"
done > "$rep"
"$PACSAUDIT" ingest --quiet --db "$WORK/r.db" "$rep"
rq() { sqlite3 "$WORK/r.db" "$1"; }
check "identical lines of one file are one event each" test "$(rq "select count(*) from events")" = 3
check "...with their bytes kept once and the repeats' places" \
  test "$(rq "select count(*) from raw")/$(rq "select group_concat(offset) from raw_repeats")" = "1/93,186"
echo "Nov 20 10:00:01 pacs01 sshd[4242]: Connection closed by 203.0.113.9 port 50022" >> "$rep"
"$PACSAUDIT" ingest --quiet --db "$WORK/r.db" "$rep"
check "a grown file re-reads its last line without a new event" \
  test "$(rq "select count(*) from events where user_id='root'")" = 3
cp "$rep" "$WORK/rep-copy.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/r.db" "$WORK/rep-copy.log"
check "a copy of the file adds no event" test "$(rq "select count(*) from events where user_id='root'")" = 3
# a new file under the same name, its repeats at the places the old one had
for i in 1 2 3; do
  echo "Nov 20 10:00:00 pacs01 sshd[4243]: Failed password for toor from 203.0.113.8 port 50022 ssh2"
done > "$rep"
"$PACSAUDIT" ingest --quiet --db "$WORK/r.db" "$rep"
check "a rotated file's repeats at the old places are events too" \
  test "$(rq "select count(*) from events where user_id='toor'")" = 3
# sshd writes one failed try of an unknown account as two lines ("Invalid
# user", then "Failed ... for invalid user" from the same process and port):
# one failure, with the method of the second line. Further Failed lines of
# that connection are further tries; an Invalid user line alone is one try;
# another process's line is another connection's.
cat > "$WORK/try.log" <<'EOF'
Jan 12 08:02:04 pacs01 sshd[2301]: Invalid user admin from 203.0.113.9 port 33012
Jan 12 08:02:06 pacs01 sshd[2301]: Failed password for invalid user admin from 203.0.113.9 port 33012 ssh2
Jan 12 08:02:09 pacs01 sshd[2301]: Failed password for invalid user admin from 203.0.113.9 port 33012 ssh2
Jan 12 08:03:00 pacs01 sshd[2400]: Invalid user oracle from 203.0.113.9 port 40000
Jan 12 08:03:10 pacs01 sshd[2500]: Invalid user bob from 203.0.113.9 port 40001
Jan 12 08:03:11 pacs01 sshd[2501]: Failed publickey for invalid user bob from 203.0.113.9 port 40001 ssh2
EOF
"$PACSAUDIT" ingest --quiet --db "$WORK/try.db" "$WORK/try.log"
tq() { sqlite3 "$WORK/try.db" "$1"; }
check "one failed try written as two lines is one failure" \
  test "$(tq "select count(*) from events where user_id='admin' and outcome=4")" = 2
check "...carrying the Failed line's method, the first line its raw" \
  test "$(tq "select group_concat(e.auth_method || '@' || r.offset, ' ') from (select * from
             events where user_id='admin' order by ts) e join raw r on r.id = e.raw_id")" \
       = "password@0 password@189"
check "...and both lines are kept in raw" test "$(tq "select count(*) from raw")" = 6
check "an Invalid user line alone is one failure" \
  test "$(tq "select count(*) from events where user_id='oracle' and outcome=4")" = 1
check "lines of two processes are two tries" \
  test "$(tq "select count(*) from events where user_id='bob'")" = 2
check "six lines, five failures" test "$(tq "select count(*) from events where op='login'")" = 5

# an audit message sent twice is one event: it carries its own time and ids
atna='<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - <AuditMessage><EventIdentification EventDateTime="2024-01-12T08:30:00Z" EventOutcomeIndicator="0"><EventID csd-code="110112" codeSystemName="DCM"/></EventIdentification><ActiveParticipant UserID="ivy" UserIsRequestor="true"/></AuditMessage>'
printf '%s\n%s\n' "$atna" "$atna" > "$WORK/atna-twice.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/r.db" "$WORK/atna-twice.log"
check "an ATNA message sent twice is one event" test "$(rq "select count(*) from events where user_id='ivy'")" = 1

# a write that fails takes its whole batch back: no message is kept half
# (its raw row without its event), so the next run parses it again
echo "Jan 12 08:00:00 pacs01 foo: nothing" > "$WORK/wf-a.log"
echo "Jan 12 08:01:02 pacs01 sshd[2211]: Accepted password for alice from 192.0.2.10 port 52144 ssh2" \
  > "$WORK/wf-b.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/wf.db" "$WORK/wf-a.log"
sqlite3 "$WORK/wf.db" "CREATE TRIGGER fail_ev BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/wf.db" "$WORK/wf-b.log" 2>"$WORK/wf.err" || rc=$?
check "a failed write exits 3 with SQLite's reason" \
  bash -c '[ "$0" -eq 3 ] && grep -q "simulated write failure" "$1"' "$rc" "$WORK/wf.err"
check "...keeps nothing of the failed batch" test "$(sqlite3 "$WORK/wf.db" "select count(*) from raw")" = 1
check "...and its run says error" test "$(sqlite3 "$WORK/wf.db" "select status from runs order by id desc limit 1")" = error
sqlite3 "$WORK/wf.db" "DROP TRIGGER fail_ev"
"$PACSAUDIT" ingest --quiet --db "$WORK/wf.db" "$WORK/wf-b.log"
check "the next run stores the message and its event" \
  test "$(sqlite3 "$WORK/wf.db" "select count(*) from events where user_id='alice'")" = 1

# a multi-line ATNA message still being written when ingest ran
printf '<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - <AuditMessage>\n<EventIdentification EventDateTime="2024-01-12T08:30:00Z" EventOutcomeIndicator="0">\n' > "$WORK/part.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/p.db" "$WORK/part.log" 2>/dev/null || true
printf '<EventID csd-code="110112" codeSystemName="DCM" originalText="Query"/></EventIdentification>\n<ActiveParticipant UserID="u1" UserIsRequestor="true"/></AuditMessage>\n' >> "$WORK/part.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/p.db" "$WORK/part.log" 2>/dev/null || true
check "a message completed after a run is stored whole" \
  test "$(sqlite3 "$WORK/p.db" "select count(*) from events where event_code='DCM:110112' and user_id='u1'")" = 1

# site decoders: a bad file is refused with its name and JSON path
echo '{"decoders":[{"name":"x","pattern":"(","event":{"event_code":"X"}}]}' > "$WORK/bad-decoder.json"
rc=0
"$PACSAUDIT" ingest --quiet --db "$WORK/d.db" --decoders "$WORK/bad-decoder.json" "$fx/syslog/auth.log" 2>"$WORK/derr" || rc=$?
check "a bad site decoder file exits 2" test "$rc" -eq 2
check "the error names the decoder file" grep -q "bad-decoder.json" "$WORK/derr"
# a gzip file cut short (still being written, or a copy cut off): an input
# error naming the file and the offset; what came before is stored, and the
# file is read again, whole, once it is complete
gzdb="$WORK/gz.db"
gzip -c "$PA_SRC/fixtures/scenario/gw01-auth.log" >"$WORK/whole.gz"
head -c $(($(stat -c %s "$WORK/whole.gz") / 2)) "$WORK/whole.gz" >"$WORK/auth.log.2.gz"
rc=0
"$PACSAUDIT" ingest --quiet --db "$gzdb" "$WORK/auth.log.2.gz" 2>"$WORK/gz.err" || rc=$?
check "a truncated gzip file exits 2" test "$rc" -eq 2
check "...naming the file, the offset and the cause" \
  grep -q "auth.log.2.gz: offset [0-9]* ([0-9]* uncompressed): the gzip data ends early" "$WORK/gz.err"
n_part=$(sqlite3 "$gzdb" "select count(*) from events")
check "...keeping what came before it" test "$n_part" -gt 0
check "...and no half line in quarantine" test "$(sqlite3 "$gzdb" "select count(*) from quarantine")" -eq 0
check "...and the run counts what it stored" test \
  "$(sqlite3 "$gzdb" "select events from runs where command = 'ingest'")" -eq "$n_part"
cp "$WORK/whole.gz" "$WORK/auth.log.2.gz"
rc=0
"$PACSAUDIT" ingest --quiet --db "$gzdb" "$WORK/auth.log.2.gz" || rc=$?
check "the whole file then reads (exit 0)" test "$rc" -eq 0
"$PACSAUDIT" ingest --quiet --db "$WORK/gz-whole.db" "$WORK/whole.gz"
check "...to the messages of the whole file, each once" test \
  "$(sqlite3 "$gzdb" "select count(*) from raw")" -eq "$(sqlite3 "$WORK/gz-whole.db" "select count(*) from raw")"
check "...and the events of the whole file, each once (a try cut between runs is one)" test \
  "$(sqlite3 "$gzdb" "select count(*) from events")" -eq "$(sqlite3 "$WORK/gz-whole.db" "select count(*) from events")"
# one sshd try written as two lines that two runs read (a log that grew
# between them) is one failure, as in one run
printf '<38>Dec  3 02:14:05 gw01 sshd[4242]: Invalid user bob from 192.0.2.99 port 50022\n' >"$WORK/try2.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/try2.db" "$WORK/try2.log"
printf '<38>Dec  3 02:14:05 gw01 sshd[4242]: Failed password for invalid user bob from 192.0.2.99 port 50022 ssh2\n' >>"$WORK/try2.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/try2.db" "$WORK/try2.log"
check "a try's two lines read by two runs are one event" test \
  "$(sqlite3 "$WORK/try2.db" "select count(*) from events")" -eq 1
# bytes that are not UTF-8 in a syslog line (an sshd user name FF FE): the
# event is stored, its text columns valid UTF-8 (U+FFFD for each bad byte),
# and raw keeps the bytes as received
printf '<38>Dec  3 02:14:05 gw01 sshd[4242]: Invalid user \xff\xfeadmin from 192.0.2.99 port 50022\n' >"$WORK/bad8.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/u8.db" "$WORK/bad8.log"
check "a user name that is not UTF-8 is stored with U+FFFD" test \
  "$(sqlite3 "$WORK/u8.db" "select hex(user_id) from events")" = EFBFBDEFBFBD61646D696E
check "...and raw keeps the bytes as received" test \
  "$(sqlite3 "$WORK/u8.db" "select count(*) from raw where instr(bytes, x'fffe61646d696e')")" -eq 1
# a NUL byte inside a file's line is a byte of that line: one message, and
# the failed login is an event
printf '<38>Dec  3 02:14:05 gw01 sshd[4242]: Failed password for k.sato from 192.0.2.99 port 50022 ssh2 \000x\n' >"$WORK/nul.log"
"$PACSAUDIT" ingest --quiet --db "$WORK/nul.db" "$WORK/nul.log"
check "a line with a NUL inside is one message" test "$(sqlite3 "$WORK/nul.db" "select count(*) from raw")" -eq 1
check "...and its failed login an event" test \
  "$(sqlite3 "$WORK/nul.db" "select count(*) from events where user_id = 'k.sato' and outcome > 0")" -eq 1
finish
