#!/usr/bin/env bash
# test_listen_relp.sh — `pacsaudit listen --syslog relp://` with a real
# sender: rsyslogd (imfile -> omrelp, its own config and work folder, no
# system config) on loopback. The listener is killed with -9 mid-stream
# and started again on the same port: every message arrives exactly once,
# because a message is acknowledged only once it is committed.
. "$(dirname "$0")/lib.sh"
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$RSYSLOGD" ] || { echo "SKIP: rsyslogd not installed"; exit 77; }
[ -e /usr/lib/x86_64-linux-gnu/rsyslog/omrelp.so ] || ls /usr/lib/*/rsyslog/omrelp.so >/dev/null 2>&1 ||
  { echo "SKIP: rsyslog-relp not installed"; exit 77; }
db="$WORK/relp.db"
q() { sqlite3 "$db" "$1"; }
pid= rs=
trap '[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null; [ -n "$rs" ] && kill -9 "$rs" 2>/dev/null; rm -rf "$WORK"' EXIT
N=800

start() { # start URL
  : >"$WORK/out"
  "$PACSAUDIT" listen --db "$db" --syslog "$1" >"$WORK/out" 2>>"$WORK/err" &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on' "$WORK/out" && return 0; sleep 0.1; done
  echo "listener did not start:"; cat "$WORK/err"; return 1
}
start relp://127.0.0.1:0
port=$(sed -n 's/^listening on relp:.*://p' "$WORK/out")

mkdir -p "$WORK/rs"
: >"$WORK/in.log"
cat >"$WORK/rs.conf" <<CONF
global(workDirectory="$WORK/rs")
module(load="imfile")
module(load="omrelp")
input(type="imfile" File="$WORK/in.log" Tag="app" ruleset="fwd")
ruleset(name="fwd") {
  action(type="omrelp" target="127.0.0.1" port="$port" template="RSYSLOG_SyslogProtocol23Format"
         queue.type="LinkedList" action.resumeRetryCount="-1" action.resumeInterval="1")
}
CONF
"$RSYSLOGD" -n -f "$WORK/rs.conf" -i "$WORK/rs.pid" >"$WORK/rs.log" 2>&1 &
rs=$!
# a stream of distinct messages, written while the listener is killed
( for i in $(seq "$N"); do
    printf 'Nov 25 10:00:00 pacs01 sshd[7]: Failed password for u%d from 192.0.2.1 port %d ssh2\n' "$i" "$i"
    [ $((i % 100)) -eq 0 ] && sleep 0.1
  done >>"$WORK/in.log" ) &
writer=$!
for _ in $(seq 200); do [ "$(q "select count(*) from raw" 2>/dev/null || echo 0)" -gt 200 ] && break; sleep 0.05; done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true; pid=
mid=$(q "select count(*) from raw")
sleep 1.5
start "relp://127.0.0.1:$port"
wait "$writer"
for _ in $(seq 900); do [ "$(q "select count(*) from raw")" -ge "$N" ] && break; sleep 0.1; done
sleep 1
kill -TERM "$rs"; wait "$rs" 2>/dev/null || true; rs=
kill -TERM "$pid"; rc=0; wait "$pid" || rc=$?; pid=
check "the listener was killed mid-stream ($mid of $N stored then)" test "$mid" -lt "$N"
check "every message is stored" test "$(q "select count(*) from raw")" = "$N"
check "...exactly once (no repeat receptions)" test "$(q "select count(*) from raw_repeats")" = 0
check "...nothing quarantined" test "$(q "select count(*) from quarantine")" = 0
check "the origin says RELP" test "$(q "select count(*) from raw where origin='relp://127.0.0.1'")" = "$N"
check "the restarted listener stops cleanly" test "$rc" -eq 0
check "its counters add up" grep -q "received [0-9]*, stored [0-9]*, already stored [0-9]*, .*lost 0" "$WORK/out"
finish
