#!/usr/bin/env bash
# listen-relp.sh — the listener's rate over RELP against plain TCP, with a
# real sender: rsyslogd (imfile -> omrelp, or omfwd over TCP with octet
# counting), its own config and work folder, on a free loopback port.
# N distinct sshd lines are appended to the file rsyslog follows; the clock
# runs until the listener has stored all N (raw rows). Prints each rate and
# the ratio. RELP acknowledges a message only after its commit (one commit a
# message); TCP commits in the listener's batches (1000 rows / 200 ms), so
# a kill -9 loses what TCP acknowledged in the last batch.
#   bench/listen-relp.sh [BUILD_DIR] [N]     (default build, 20000)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build}
N=${2:-20000}
P=$B/pacsaudit
RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
[ -x "$P" ] && [ -x "$RSYSLOGD" ] || { echo "needs $P and rsyslogd (rsyslog, rsyslog-relp)"; exit 2; }

# run SCHEME ACTION: prints the seconds to store N messages
run() {
  local w pid rs port t0 t1
  w=$(mktemp -d)
  "$P" listen --db "$w/r.db" --syslog "$1://127.0.0.1:0" >"$w/out" 2>"$w/err" &
  pid=$!
  for _ in $(seq 100); do grep -q '^listening on' "$w/out" && break; sleep 0.1; done
  port=$(sed -n "s/^listening on $1:.*://p" "$w/out")
  mkdir -p "$w/rs"
  awk -v n="$N" 'BEGIN{for (i = 1; i <= n; i++)
    printf "Nov 25 10:00:00 pacs01 sshd[7]: Failed password for u%d from 192.0.2.1 port %d ssh2\n", i, i}' >"$w/lines"
  : >"$w/in.log"
  cat >"$w/rs.conf" <<CONF
global(workDirectory="$w/rs")
module(load="imfile")
module(load="omrelp")
input(type="imfile" File="$w/in.log" Tag="app" ruleset="fwd")
ruleset(name="fwd") { action(type="$2" target="127.0.0.1" port="$port" $3
  template="RSYSLOG_SyslogProtocol23Format" queue.type="LinkedList" action.resumeRetryCount="-1") }
CONF
  "$RSYSLOGD" -n -f "$w/rs.conf" -i "$w/rs.pid" >"$w/rs.log" 2>&1 &
  rs=$!
  sleep 1
  t0=$(date +%s.%N)
  cat "$w/lines" >>"$w/in.log"
  until [ "$(sqlite3 "$w/r.db" 'select count(*) from raw' 2>/dev/null || echo 0)" -ge "$N" ]; do
    sleep 0.1
  done
  t1=$(date +%s.%N)
  kill "$rs" "$pid" 2>/dev/null
  wait "$rs" "$pid" 2>/dev/null || true
  rm -rf "$w"
  echo "$t1 - $t0" | bc -l
}

echo "CPU idle before: $(vmstat 1 2 | tail -1 | awk '{print $15}')%"
tcp=$(run tcp omfwd 'protocol="tcp" TCP_Framing="octet-counted"')
relp=$(run relp omrelp '')
printf 'tcp://  %d messages stored in %.2f s: %.0f msgs/s\n' "$N" "$tcp" "$(echo "$N / $tcp" | bc -l)"
printf 'relp:// %d messages stored in %.2f s: %.0f msgs/s\n' "$N" "$relp" "$(echo "$N / $relp" | bc -l)"
printf 'relp / tcp: %.3f\n' "$(echo "$tcp / $relp" | bc -l)"
