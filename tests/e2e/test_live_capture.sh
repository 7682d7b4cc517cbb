#!/usr/bin/env bash
# test_live_capture.sh — `pacsaudit listen --iface lo`: a DICOM
# A-ASSOCIATE-RQ sent over loopback is seen by the live capture and stored
# as an association, on a port no one would guess (the listener's own TCP
# endpoint serves as the peer). Skipped where capturing is not permitted.
. "$(dirname "$0")/lib.sh"
db="$WORK/live.db"
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

"$PACSAUDIT" listen --db "$db" --syslog tcp://127.0.0.1:0 --iface lo \
  --bpf 'tcp and host 127.0.0.1' >"$WORK/out" 2>"$WORK/err" &
pid=$!
for _ in $(seq 150); do
  grep -q '^capturing on' "$WORK/out" 2>/dev/null && grep -q '^listening on' "$WORK/out" && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if ! kill -0 "$pid" 2>/dev/null; then
  if grep -qiE "permission|not permitted|socket: Operation" "$WORK/err"; then
    echo "SKIP: live capture not permitted here: $(head -n1 "$WORK/err")"; pid=; exit 77
  fi
  echo "listener died:"; cat "$WORK/err"; pid=; exit 1
fi
# "capturing on" is printed once the interface captures
port=$(grep '^listening on tcp://' "$WORK/out" | sed 's/.*://')

# echoscu's A-ASSOCIATE-RQ, CT01 -> STORESCP, from fixtures/dicom/echo.pcap frame 4
rq='0100000000cd0001000053544f5245534350202020202020202043543031202020202020202020202020'
rq+='0000000000000000000000000000000000000000000000000000000000000000'
rq+='10000015312e322e3834302e31303030382e332e312e312e31'
rq+='2000002e0100ff0030000011312e322e3834302e31303030382e312e3140000011312e322e3834302e31303030382e312e32'
rq+='5000003a51000004000040005200001b312e322e3237362e302e373233303031302e332e302e332e362e37'
rq+='5500000f4f464649535f44434d544b5f333637'
bytes=$(sed 's/../\\x&/g' <<<"$rq")
printf "$bytes" | timeout 5 bash -c "cat > /dev/tcp/127.0.0.1/$port"
sleep 1
kill -TERM "$pid"; wait "$pid"; rc=$?; pid=
check "listen with a live capture exits 0" test "$rc" -eq 0
q() { sqlite3 "$db" "$1"; }
check "the association is captured live" \
  test "$(q "select count(*) from associations where calling_ae='CT01' and called_ae='STORESCP'
             and server_port=$port and origin='iface:lo'")" = 1
check "it is incomplete: no one answered" \
  test "$(q "select result from associations where server_port=$port")" = incomplete
check "its presentation context is recorded" \
  test "$(q "select abstract_syntax from presentation_contexts p join associations a on a.id=p.assoc_id
             where a.server_port=$port")" = 1.2.840.10008.1.1
check "the bytes that reached the syslog port are kept, not lost" \
  test "$(q "select count(*) from raw where origin like 'tcp://127.0.0.1:%'")" -ge 1
finish
