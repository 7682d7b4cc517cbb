#!/usr/bin/env bash
# test_listen.sh — `pacsaudit listen` with real senders on loopback: logger
# over UDP and TCP (octet counting and LF), openssl s_client over TLS with
# and without a client certificate, many clients at once, a garbage client,
# and SIGTERM flushing everything received. Ports are taken free (port 0)
# and read back from the listener; the listener is stopped by the test.
. "$(dirname "$0")/lib.sh"
command -v logger >/dev/null || { echo "SKIP: logger not installed"; exit 77; }
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
db="$WORK/l.db"
q() { sqlite3 "$db" "$1"; }
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

# certificates: a CA, a server and a client signed by it, and a stranger
cd "$WORK"
openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca 2>/dev/null
for n in srv cli; do
  openssl req -newkey rsa:2048 -nodes -keyout $n.key -out $n.csr -subj "/CN=$n-node" 2>/dev/null
  openssl x509 -req -in $n.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out $n.pem -days 2 2>/dev/null
done
openssl req -x509 -newkey rsa:2048 -nodes -keyout odd.key -out odd.pem -days 2 -subj /CN=stranger 2>/dev/null

start() { # start ARGS...: runs the listener, waits for its endpoints
  "$PACSAUDIT" listen --db "$db" --batch-ms 50 "$@" >"$WORK/out" 2>"$WORK/err" &
  pid=$!
  for _ in $(seq 150); do
    [ "$(grep -c '^listening on' "$WORK/out" 2>/dev/null)" -ge "$n_endpoints" ] && return 0
    sleep 0.1
  done
  echo "listener did not start:"; cat "$WORK/err"; return 1
}
port() { grep "^listening on $1://" "$WORK/out" | head -n1 | sed 's/.*://'; }
stop() { kill -TERM "$pid"; wait "$pid"; local rc=$?; pid=; return $rc; }

# --- UDP and TCP --------------------------------------------------------
n_endpoints=2
start --syslog udp://127.0.0.1:0 --syslog tcp://127.0.0.1:0
up=$(port udp); tp=$(port tcp)
logger --rfc5424 --udp -n 127.0.0.1 -P "$up" -t sshd "Failed password for root from 192.0.2.1 port 22 ssh2"
# the same bytes twice from one socket, as a relay forwards two identical lines
exec 3>"/dev/udp/127.0.0.1/$up"
for i in 1 2; do
  printf '<38>Nov 25 10:00:00 pacs01 sshd[42]: Failed password for frank from 192.0.2.9 port 50022 ssh2' >&3
done
exec 3>&-
logger --rfc5424 --tcp --octet-count -n 127.0.0.1 -P "$tp" -t sshd \
  "Accepted password for alice from 192.0.2.2 port 22 ssh2"
logger --rfc5424 --tcp -n 127.0.0.1 -P "$tp" -t sshd "Accepted publickey for bob from 192.0.2.3 port 22 ssh2"
# 8 clients at once, 25 messages each, over TCP with LF framing
for c in $(seq 8); do
  ( for i in $(seq 25); do
      printf '<38>1 2026-11-25T10:00:%02dZ host%d app %d - - client %d message %d\n' \
        $((i % 60)) "$c" "$c" "$c" "$i"
    done | timeout 10 bash -c "cat > /dev/tcp/127.0.0.1/$tp" ) &
done
# a garbage client: a line longer than any syslog message and no end
( head -c 300000 /dev/zero | tr '\0' 'x' | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" ) 2>/dev/null &
# the senders' own exit status is not what is tested (the rows are): the
# garbage client's write fails when the listener drops it before the kernel
# took all of it (1 run in 10 here), which under set -e ended the script
wait_clients() {
  for j in $(jobs -p); do [ "$j" = "$pid" ] || wait "$j" 2>/dev/null || true; done
}
wait_clients
# one more good message after the garbage: the others are unharmed
logger --rfc5424 --tcp --octet-count -n 127.0.0.1 -P "$tp" -t sshd \
  "Accepted password for carol from 192.0.2.4 port 22 ssh2"
sleep 0.5
kill -USR1 "$pid"; sleep 0.3
check "SIGUSR1 logs counters" grep -q "received" "$WORK/err"
check "SIGUSR1 counts the dropped client at once" grep -q "tcp://.*dropped 1," "$WORK/err"
stop
check "listen exits 0 on SIGTERM" test $? -eq 0
check "UDP message decoded" test "$(q "select count(*) from events where user_id='root' and outcome=4 and origin like 'udp://%'")" = 1
check "two identical datagrams are two events" test "$(q "select count(*) from events where user_id='frank'")" = 2
check "...with their bytes kept once" \
  test "$(q "select count(*) from raw r join raw_repeats p on p.raw_id=r.id where p.offset is null")" = 1
check "TCP octet-counted message decoded" test "$(q "select count(*) from events where user_id='alice' and outcome=0")" = 1
check "TCP LF message decoded" test "$(q "select count(*) from events where user_id='bob'")" = 1
check "every message of 8 concurrent clients stored" \
  test "$(q "select count(*) from raw where origin like 'tcp://%'")" = 203
# the garbage: its first frame's worth (the 256 KiB cap) quarantined, then
# the client dropped; what it had sent past that may or may not be read
check "garbage is quarantined, a cap's worth first" \
  test "$(q "select count(*) from quarantine where size = 262144")/$(q "select sum(size) <= 300000 from quarantine")" = 1/1
check "the client after the garbage is served" test "$(q "select count(*) from events where user_id='carol'")" = 1
check "run counters are recorded" \
  bash -c 'sqlite3 "$0" "select detail from runs where command=\"listen\"" | grep -q "\"received\":"' "$db"
check "dropped client is counted" \
  bash -c 'sqlite3 "$0" "select detail from runs where command=\"listen\"" | grep -q "\"dropped\":1"' "$db"

# --- every row, exactly: fixed messages of every kind -------------------
# The senders above stamp their own time and host (logger), so their rows
# are checked one by one; here every byte sent is fixed, and the rows the
# listener stores are compared whole with expected/audit/listen.txt (made
# by update-expected.sh): a lost row fails.
# The same with no worker thread, one, and two in front of the writer.
main_db=$db
n_endpoints=2
for w in 0 1 2; do
  db="$WORK/exact-$w.db"
  start --syslog udp://127.0.0.1:0 --syslog tcp://127.0.0.1:0 --workers "$w"
  up=$(port udp); tp=$(port tcp)
  exact_send "$up" "$tp"
  sleep 0.5
  stop
  check "with --workers $w the listener stores every row of the fixed messages (expected/audit/listen.txt)" \
    diff -u "$PA_SRC/tests/e2e/expected/audit/listen.txt" <(dump_audit "$db")
done
db=$main_db

# --- TLS, mutual --------------------------------------------------------
n_endpoints=1
start --syslog tls://127.0.0.1:0 --cert srv.pem --key srv.key --ca ca.pem
lp=$(port tls)
msg='<85>1 2026-11-25T10:01:00Z pacs01 sshd 7 - - Accepted password for dave from 192.0.2.5 port 22 ssh2'
printf '%d %s' ${#msg} "$msg" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$lp" \
  -cert cli.pem -key cli.key -CAfile ca.pem >/dev/null 2>&1 || true
msg2='<85>1 2026-11-25T10:02:00Z pacs01 sshd 7 - - Accepted password for eve from 192.0.2.6 port 22 ssh2'
printf '%d %s' ${#msg2} "$msg2" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$lp" \
  -CAfile ca.pem >/dev/null 2>&1 || true
printf '%d %s' ${#msg2} "$msg2" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$lp" \
  -cert odd.pem -key odd.key -CAfile ca.pem >/dev/null 2>&1 || true
sleep 0.3
stop
check "TLS with a client certificate is stored" test "$(q "select count(*) from events where user_id='dave'")" = 1
check "the client certificate names the origin" \
  test "$(q "select count(*) from events where user_id='dave' and origin like 'tls://%(CN=cli-node)'")" = 1
check "TLS without a client certificate is refused" test "$(q "select count(*) from events where user_id='eve'")" = 0
check "refused handshakes are logged" grep -q "TLS handshake" "$WORK/err"

# --- TLS, server certificate only ----------------------------------------
start --syslog tls://127.0.0.1:0 --cert srv.pem --key srv.key
lp=$(port tls)
printf '%d %s' ${#msg2} "$msg2" | timeout 5 openssl s_client -quiet -connect "127.0.0.1:$lp" \
  -CAfile ca.pem >/dev/null 2>&1 || true
sleep 0.3
stop
check "TLS without --ca takes any client" test "$(q "select count(*) from events where user_id='eve'")" = 1

# --- another writer holds the lock longer than a busy timeout -------------
n_endpoints=1
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
printf 'BEGIN IMMEDIATE;\n.shell sleep 12\nCOMMIT;\n' | sqlite3 "$db" &
locker=$!
sleep 0.5
exec 3>"/dev/tcp/127.0.0.1/$tp"
for i in 1 2 3; do
  printf '<38>Nov 25 10:00:0%d pacs01 sshd[43]: Accepted password for gina from 192.0.2.7 port 5000%d ssh2\n' \
    "$i" "$i" >&3
  sleep 1
done
wait "$locker"
exec 3>&-
sleep 0.5
stop
check "a listener waits out another writer's long lock" \
  test "$(q "select count(*) from events where user_id='gina'")" = 3
check "...and says that it waits" grep -q "locked by another writer; waiting" "$WORK/err"

# --- the store fails: what was received and not stored is counted ---------
# (the listener writes events to events_pending; they move into events later)
sqlite3 "$db" "CREATE TRIGGER fail_ev BEFORE INSERT ON events_pending BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
printf '<38>Nov 25 10:00:00 pacs01 sshd[44]: Accepted password for hal from 192.0.2.8 port 50001 ssh2\n' \
  | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
rc=0; wait "$pid" || rc=$?; pid=
check "a store failure stops the listener with exit 3" test "$rc" -eq 3
check "...says how many received messages were not stored" \
  grep -q "simulated write failure; 1 received messages were not stored" "$WORK/err"
check "...and counts them as lost, not stored" grep -q "stored 0, .*lost 1" "$WORK/out"
check "...and the run row says so" \
  bash -c 'sqlite3 "$0" "select detail from runs where command=\"listen\" order by id desc limit 1" | grep -q "\"lost\":1"' "$db"
sqlite3 "$db" "DROP TRIGGER fail_ev"

# --- a message is all or nothing, even with a batch of one row -------------
# a FHIR Bundle of two events whose second cannot be written: neither the
# first event nor the message's raw row may stay, or the message would be
# skipped as "already stored" when it comes again
sqlite3 "$db" "CREATE TRIGGER fail_r BEFORE INSERT ON events_pending WHEN NEW.action='R' BEGIN SELECT RAISE(ABORT, 'simulated write failure'); END"
raw_before=$(q "select count(*) from raw"); ev_before=$(q "select count(*) from events")
bundle="<14>1 2026-11-20T01:20:00Z host pacs - - - $(tr -d '\n' < "$PA_SRC/fixtures/fhir/bundle.json")"
start --syslog tcp://127.0.0.1:0 --batch 1
tp=$(port tcp)
printf '%s\n' "$bundle" | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
rc=0; wait "$pid" || rc=$?; pid=
check "a message that fails half way stops the listener" test "$rc" -eq 3
check "...and leaves nothing of itself" \
  test "$(q "select count(*) from raw")/$(q "select count(*) from events")" = "$raw_before/$ev_before"
sqlite3 "$db" "DROP TRIGGER fail_r"
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
printf '%s\n' "$bundle" | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
sleep 0.5
stop
check "...so that when it comes again both its events are stored" \
  test "$(q "select count(*) from events")" = "$((ev_before + 2))"

# --- the move of pending events into events fails --------------------------
# The message is committed (raw and events_pending) within --batch-ms; the
# move at stop fails: the listener says so, and nothing stored is lost.
sqlite3 "$db" "CREATE TRIGGER fail_mv BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'simulated move failure'); END"
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
printf '<38>Nov 25 10:00:00 pacs01 sshd[45]: Accepted password for ivy from 192.0.2.10 port 50001 ssh2\n' \
  | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
sleep 0.5
rc=0; stop || rc=$?
check "a failed move of pending events stops the listener with exit 3" test "$rc" -eq 3
check "...names the cause" grep -q "simulated move failure" "$WORK/err"
check "...with the message stored, not lost" grep -q "stored 1, .*lost 0" "$WORK/out"
check "...its event kept in events_pending" \
  test "$(q "select count(*) from events_pending where user_id='ivy'")" = 1
sqlite3 "$db" "DROP TRIGGER fail_mv"
start --syslog tcp://127.0.0.1:0
stop
check "...until the next writable open moves it into events" \
  test "$(q "select count(*) from events where user_id='ivy'")/$(q "select count(*) from events_pending")" = 1/0

# --- kill -9 with events pending -------------------------------------------
# Committed messages whose events wait in events_pending when the listener
# dies: a reader's verify --deep counts them as stored (and moves nothing),
# and the next writable open moves them into events, none lost or doubled.
db="$WORK/k9.db"
n_endpoints=1
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
for i in $(seq 400); do
  printf '<38>Nov 25 10:%02d:%02d pacs01 sshd[%d]: Accepted password for k%d from 192.0.2.%d port %d ssh2\n' \
    $((i / 60)) $((i % 60)) "$i" "$i" $((i % 250)) $((40000 + i))
done | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
for _ in $(seq 100); do [ "$(q "select count(*) from raw")" = 400 ] && break; sleep 0.1; done
kill -KILL "$pid"; wait "$pid" 2>/dev/null || true; pid=
pending=$(q "select count(*) from events_pending")
echo "killed with $pending of 400 events pending"
check "killed with all 400 messages committed ($pending events pending)" \
  test "$(q "select count(*) from raw")/$(q "select count(*) from events_all")" = 400/400
rc=0; "$PACSAUDIT" verify --deep --db "$db" >"$WORK/k9.out" 2>&1 || rc=$?
check "verify --deep on the killed store finds every event" \
  bash -c '[ "$0" -eq 0 ] && grep -q "deep: every derived row matches its raw message" "$1"' "$rc" "$WORK/k9.out"
check "...and moves nothing" test "$(q "select count(*) from events_pending")" = "$pending"
start --syslog tcp://127.0.0.1:0
stop
check "the next writable open moves them: 400 events, none pending, ids unique" \
  test "$(q "select count(*) || '/' || count(distinct id) from events")/$(q "select count(*) from events_pending")" = 400/400/0

# --- a running listener's events reach events within seconds --------------
start --syslog tcp://127.0.0.1:0
tp=$(port tcp)
printf '<38>Nov 25 11:00:00 pacs01 sshd[46]: Accepted password for late from 192.0.2.11 port 50002 ssh2\n' \
  | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp" || true
for _ in $(seq 100); do [ "$(q "select count(*) from events where user_id='late'")" = 1 ] && break; sleep 0.1; done
check "a running listener moves its pending events into events within 10 s" \
  test "$(q "select count(*) from events where user_id='late'")/$(q "select count(*) from events_pending")" = 1/0
stop

# --- SIGTERM while another writer holds the lock --------------------------
# The listener blocks on the lock with the first message of client A;
# meanwhile client B's messages and a burst of datagrams sit in the
# kernel's queues (TCP acknowledged them). SIGTERM, then the lock is freed:
# every one of them is stored, or counted lost.
db="$WORK/held.db"
n_endpoints=2
start --syslog tcp://127.0.0.1:0 --syslog udp://127.0.0.1:0
tp=$(port tcp); up=$(port udp)
( printf 'BEGIN IMMEDIATE;\n'; sleep 4; printf 'COMMIT;\n' ) | sqlite3 "$db" &
holder=$!
sleep 0.5
printf '<38>1 2026-11-25T10:00:00Z hostA app 1 - - first, before the lock\n' |
  timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
sleep 0.3
for i in $(seq 300); do
  printf '<38>1 2026-11-25T10:01:%02d.%06dZ hostB app 2 - - held %d\n' $((i % 60)) "$i" "$i"
done | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$tp"
acked=$?
exec 3>"/dev/udp/127.0.0.1/$up"
for i in $(seq 50); do printf '<38>1 2026-11-25T10:02:00.%06dZ hostC app 3 - - datagram %d' "$i" "$i" >&3; done
exec 3>&-
sleep 0.3
kill -TERM "$pid"
wait "$holder"
rc=0; wait "$pid" || rc=$?; pid=
check "the stream was written whole (acknowledged by TCP)" test "$acked" -eq 0
check "the listener stops cleanly once the lock is free" test "$rc" -eq 0
stored=$(q "select count(*) from raw where origin like 'tcp://%'")
lost=$(sed -n 's/.*tcp:.*lost \([0-9]*\)$/\1/p' "$WORK/out")
check "every acknowledged message is stored or counted lost ($stored stored, $lost lost)" \
  test "$((stored + lost))" -eq 301
check "...and here, with the lock freed in time, all are stored" test "$stored" -eq 301
check "the queued datagrams are stored too" \
  test "$(q "select count(*) from raw where origin like 'udp://%'")" -eq 50

# --- usage errors ---------------------------------------------------------
rc=0; "$PACSAUDIT" listen --db "$db" 2>/dev/null || rc=$?
check "listen without endpoints exits 2" test "$rc" -eq 2
rc=0; "$PACSAUDIT" listen --db "$db" --syslog tls://127.0.0.1:0 2>/dev/null || rc=$?
check "tls without a certificate exits 2" test "$rc" -eq 2
rc=0; "$PACSAUDIT" listen --db "$db" --syslog http://x:1 2>"$WORK/e2" || rc=$?
check "a bad URL exits 2 and says why" bash -c '[ "$0" -eq 2 ] && grep -q "udp://HOST:PORT" "$1"' "$rc" "$WORK/e2"
finish
