#!/usr/bin/env bash
# test_kill9.sh — `pacsaudit ingest` killed with SIGKILL at a few random
# moments of a multi-MB input, then run again to the end, stores exactly the
# rows that one uninterrupted run stores: no message lost, none twice, no
# repeat or quarantine row twice, and the raw store's hash chain whole.
# Bounded: the input takes a few seconds to read, and every run is capped.
. "$(dirname "$0")/lib.sh"
in="$WORK/big.log"
# ~5 MB of syslog: ATNA messages on one line (some cut, for quarantine),
# sshd lines, and identical lines three at a time (repeats)
awk 'BEGIN{
 for (i = 0; i < 25000; i++) {
  s = sprintf("%02d:%02d:%02d", int(i/3600)%24, int(i/60)%60, i%60);
  if (i % 10 == 0) {
   bad = (i % 5000 == 0) ? "<Broken" : "";
   printf "<85>1 2026-11-20T%sZ pacs01 arc %d - - <AuditMessage><EventIdentification EventActionCode=\"R\" EventDateTime=\"2026-11-20T%s.%03dZ\" EventOutcomeIndicator=\"0\"><EventID csd-code=\"110110\" codeSystemName=\"DCM\" originalText=\"Patient Record\"/></EventIdentification><ActiveParticipant UserID=\"user%d\" UserName=\"User %d\" UserIsRequestor=\"true\" NetworkAccessPointID=\"192.0.2.%d\" NetworkAccessPointTypeCode=\"2\"><RoleIDCode csd-code=\"110153\" codeSystemName=\"DCM\" originalText=\"Source\"/></ActiveParticipant><AuditSourceIdentification AuditSourceID=\"PACS01\"/><ParticipantObjectIdentification ParticipantObjectID=\"PID%05d\" ParticipantObjectTypeCode=\"1\" ParticipantObjectTypeCodeRole=\"1\"><ParticipantObjectIDTypeCode csd-code=\"2\"/></ParticipantObjectIdentification>%s</AuditMessage>\n", s, i, s, i % 1000, i % 97, i % 97, i % 250, i, bad
  } else if (i % 7 == 0) {
   for (k = 0; k < 3; k++)
    printf "<38>1 2026-11-20T%sZ gw01 sshd %d - - Failed password for root from 203.0.113.%d port %d ssh2\n", s, 1000 + i, i % 250, 40000 + i % 20000
  } else {
   printf "<38>1 2026-11-20T%sZ gw01 sshd %d - - Accepted publickey for u%d from 192.0.2.%d port %d ssh2\n", s, 1000 + i, i % 300, i % 250, 30000 + i
  }
 }}' >"$in"
check "the input is multi-MB" test "$(stat -c %s "$in")" -gt 4000000

ms() { echo $(($(date +%s%N) / 1000000)); }
t0=$(ms)
timeout 40 "$PACSAUDIT" ingest --quiet --db "$WORK/whole.db" "$in"
took=$(($(ms) - t0))
[ "$took" -gt 0 ] || took=1

# runs killed at random moments of a run's length (up to four kills, at
# most eight tries), each going on from what the one before it committed;
# then one run to the end. Run times vary on a loaded machine or under a
# sanitizer, so until one is killed the moment is early in the run. Once
# single-threaded (--workers 0), once with worker threads in front of the
# writer (--workers 2): messages queued or parsed ahead but not written die
# with the process, and are read again.
for workers in 0 2; do
db="$WORK/killed-w$workers.db"
killed=0
k=0
while [ "$k" -lt 8 ] && [ "$killed" -lt 4 ]; do
  k=$((k + 1))
  if [ "$killed" -eq 0 ]; then pct=$((5 + RANDOM % 20)); else pct=$((5 + RANDOM % 90)); fi
  at=$((took * pct / 100))
  "$PACSAUDIT" ingest --quiet --workers "$workers" --db "$db" "$in" >/dev/null 2>&1 &
  p=$!
  sleep "$(printf '%d.%03d' $((at / 1000)) $((at % 1000)))"
  if kill -0 "$p" 2>/dev/null; then
    kill -KILL "$p" 2>/dev/null && killed=$((killed + 1))
  fi
  wait "$p" 2>/dev/null || true
  echo "--workers $workers, run $k: killed after ${at} ms of a ${took} ms run (kills so far: $killed)"
done
check "--workers $workers: at least one run was killed mid-way" test "$killed" -ge 1
rc=0
timeout 40 "$PACSAUDIT" ingest --quiet --workers "$workers" --db "$db" "$in" || rc=$?
check "--workers $workers: the run after the kills ends ok" test "$rc" -eq 0

dump_audit "$WORK/whole.db" >"$WORK/whole.txt"
dump_audit "$db" >"$WORK/killed.txt"
check "--workers $workers: the killed and re-run store holds exactly the uninterrupted run's rows" \
  cmp -s "$WORK/whole.txt" "$WORK/killed.txt"
cmp -s "$WORK/whole.txt" "$WORK/killed.txt" || diff "$WORK/whole.txt" "$WORK/killed.txt" | head -20
check "--workers $workers: ...which are all the input's (31423 events)" \
  test "$(sqlite3 "$db" "select count(*) from events")" = 31423
check "--workers $workers: the raw store's hash chain verifies after the kills" \
  "$PACSAUDIT" verify --db "$db"
done

# SIGTERM (as SIGINT) with workers: the run stops at the next message, stores
# what it read, ends its run row 'interrupted' with status 2; the next run
# reads the file again and the store is the uninterrupted run's
db="$WORK/term.db"
stopped=0
# (a signal before the file is opened or after it is read ends the process
# as by default: exit 143, tried again). The signal goes once the process
# has read into the input (its offset, /proc/PID/fdinfo), so that it comes
# while the file is read whatever the machine's load: a moment guessed from
# the first run's length missed the read on a loaded machine, where the
# index rebuild after it takes most of the run
in_pos() { # in_pos PID: the offset PID has read the input to, or 0
  local f
  for f in /proc/"$1"/fd/*; do
    if [ "$(readlink "$f" 2>/dev/null)" = "$in" ]; then
      awk '/^pos:/ { print $2; exit }' /proc/"$1"/fdinfo/"${f##*/}" 2>/dev/null && return
    fi
  done
  echo 0
}
for k in 1 2 3 4 5 6 7 8; do
  [ "$stopped" -eq 0 ] || break
  rm -f "$db" "$db-wal" "$db-shm"
  t0=$(ms)
  "$PACSAUDIT" ingest --quiet --workers 1 --db "$db" "$in" >/dev/null 2>"$WORK/term.err" &
  p=$!
  pos=0
  for _ in $(seq 1 2000); do
    pos=$(in_pos "$p")
    [ "${pos:-0}" -gt 0 ] || ! kill -0 "$p" 2>/dev/null && break
    sleep 0.005
  done
  kill -TERM "$p" 2>/dev/null || true
  at=$(($(ms) - t0))
  rc=0
  wait "$p" || rc=$?
  echo "SIGTERM after ${at} ms, the input read to byte ${pos:-0}, of a ${took} ms run: exit $rc"
  if [ "$rc" -eq 2 ] && grep -q 'interrupted (signal 15)' "$WORK/term.err"; then
    stopped=1
    check "SIGTERM: the run row says interrupted" \
      test "$(sqlite3 "$db" "select status from runs order by id desc limit 1")" = interrupted
    check "SIGTERM: what was read is stored (some, not all)" \
      test "$(sqlite3 "$db" "select count(*) > 0 and count(*) < 25000 from raw")" = 1
  fi
done
check "SIGTERM stopped one run mid-way" test "$stopped" -eq 1
timeout 40 "$PACSAUDIT" ingest --quiet --workers 1 --db "$db" "$in"
dump_audit "$db" >"$WORK/term.txt"
check "SIGTERM, then a run to the end: the uninterrupted run's rows" cmp -s "$WORK/whole.txt" "$WORK/term.txt"
check "SIGTERM: the chain verifies" "$PACSAUDIT" verify --db "$db"
finish
