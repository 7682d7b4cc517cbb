#!/usr/bin/env bash
# test_runs.sh — the runs table tells the truth about runs that did not end
# well: a kill -9 of ingest mid-file leaves counts of what was committed,
# and the next open marks the row 'interrupted'; a 'running' row whose pid
# now belongs to another process (a start marker that differs) is
# interrupted too, and one whose process lives is left alone.
. "$(dirname "$0")/lib.sh"
db="$WORK/r.db"
q() { sqlite3 "$db" "$1"; }
pid=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; rm -rf "$WORK"' EXIT

# enough lines that the ingest is still going after its first batches
awk 'BEGIN { for (i = 0; i < 150000; i++)
  printf "Nov 25 10:%02d:%02d pacs01 sshd[%d]: Failed password for u%d from 192.0.2.%d port %d ssh2\n",
         (i / 60) % 60, i % 60, i % 30000, i, i % 250 + 1, 1024 + i % 60000 }' >"$WORK/auth.log"
"$PACSAUDIT" ingest -q --db "$db" "$WORK/auth.log" &
pid=$!
for _ in $(seq 300); do # up to 30 s for a committed batch
  [ "$(q "select coalesce(sum(events),0) from runs where status='running'" 2>/dev/null)" -gt 0 ] \
    2>/dev/null && break
  sleep 0.1
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
check "the killed run was still going" test "$(q "select status from runs order by id limit 1")" = running
check "its counts are what was committed" \
  test "$(q "select events from runs order by id limit 1")" = "$(q "select count(*) from events")"
check "...which is more than nothing" test "$(q "select count(*) from events")" -gt 0
check "...and raw too" test "$(q "select raw from runs order by id limit 1")" = "$(q "select count(*) from raw")"
check "it records the process" test "$(q "select pid is not null and proc_start like '%:%' from runs order by id limit 1")" = 1

# the next writer's open marks it interrupted; its own run ends ok
"$PACSAUDIT" ingest -q --db "$db" "$WORK/auth.log" 2>"$WORK/err"
check "the killed run is marked interrupted" \
  test "$(q "select status from runs order by id limit 1")" = interrupted
check "...with the time it was found" test "$(q "select ended_at > started_at from runs order by id limit 1")" = 1
check "the next run ends ok" test "$(q "select status from runs order by id desc limit 1")" = ok
check "every line is stored once in the end" test "$(q "select count(*) from raw")" = 150000

# a live process: the marker of this shell as the store writes it
sleep 30 &
live=$!
marker=$(q "select proc_start from runs order by id desc limit 1" | cut -d: -f1):$(awk '{ sub(/.*\) /, ""); split($0, f, " "); print f[20] }' "/proc/$live/stat")
q "insert into runs (started_at, command, status, pid, proc_start) values
   (1, 'listen', 'running', $live, '$marker'),
   (2, 'listen', 'running', $live, 'another-boot:1'),
   (3, 'listen', 'running', $live, null),
   (4, 'listen', 'running', 2147483000, null),
   (5, 'listen', 'running', null, null)"
"$PACSAUDIT" ingest -q --db "$db" "$WORK/auth.log"
check "a running process's run stays running" test "$(q "select status from runs where started_at=1")" = running
check "a reused pid (another start) is interrupted" test "$(q "select status from runs where started_at=2")" = interrupted
check "a live pid without a marker stays running" test "$(q "select status from runs where started_at=3")" = running
check "a pid that is gone is interrupted" test "$(q "select status from runs where started_at=4")" = interrupted
check "a row that names no process is left alone" test "$(q "select status from runs where started_at=5")" = running
kill "$live" 2>/dev/null || true
finish
