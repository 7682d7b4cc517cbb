#!/usr/bin/env bash
# dicom-ingest.sh - benchmark `pacsaudit ingest` on large DICOM captures (issue 1/4).
#
# What it does:
#   1. Makes two captures of real dcmtk C-STORE traffic (storescu -> storescp
#      --ignore on 127.0.0.1), RUNS associations of FILES_PER_RUN instances of
#      ~INST_MB MB each (default 12 x 3 x 10 MB = ~380 MB of DICOM):
#        A  "loopback"  host lo, default MTU (65536): ~64 KB segments
#        B  "mtu1500"   the lo of a private network namespace made by this
#                       script, MTU 1500 and gso_max_segs 1, so the capture
#                       holds real 1514-byte frames (without gso_max_segs 1 the
#                       loopback hands tcpdump GSO super-packets of ~16 KB).
#                       The host lo is never changed: other people's tests use it.
#      tcpdump must report "0 packets dropped by kernel", else the capture is
#      remade (up to 3 tries, slower each time).
#   2. Times, on each capture, with the page cache warm:
#        cat FILE > /dev/null                                  (best of REPS)
#        pacsaudit ingest --db FRESH.db --quiet FILE           (best of REPS,
#                                        interleaved with the cat runs)
#        pacsaudit ingest on a capture with no packet          (fixed cost)
#        tshark -r FILE -d tcp.port==N,dicom -Y dicom -q       (once)
#      and the peak RSS of pacsaudit (/usr/bin/time %M). It checks the db:
#      associations == RUNS and C-STORE-RQ dimse rows == RUNS*FILES_PER_RUN.
#   3. Prints the table with PASS/MISS against the targets of the issue:
#        B: pacsaudit >= 10x tshark's speed;  A: >= 40% of cat's speed;
#        peak RSS < 64 MB on both.
#   4. Profiles a ~SLICE_MB MB slice of each capture with callgrind (top
#      functions by instructions) and the full run with perf stat, and writes
#      it all into docs/performance.md between the dicom-ingest markers
#      (DOC=0 to skip).
#
# A timing never fails this script; it exits non-zero only when it cannot
# measure (missing tool, capture that keeps dropping, pacsaudit error).
#
# Env: PACSAUDIT (default $REPO/build/pacsaudit; if missing, a Release build in
#      $REPO/build-bench), OUT (default bench/out), RUNS=12, FILES_PER_RUN=3,
#      INST_MB=10, REPS=5, SLICE_MB=30, REGEN=1 (remake the captures even if
#      bench/out has them for the same parameters), TSHARK=0 (skip tshark),
#      PROFILE=0 (skip callgrind/perf), DOC=0 (do not touch docs/performance.md),
#      PORT_A=42101, PORT_B=42102, IDLE_MIN=80 and WAIT_IDLE=120 (before timing,
#      wait up to WAIT_IDLE s for IDLE_MIN % idle CPU; the idle % is reported).
# Needs: dcmtk, tcpdump, tshark (+capinfos, editcap), iproute2, sqlite3,
#        /usr/bin/time, valgrind and perf (optional). Run as root.
#        apt-get install -y dcmtk tcpdump tshark time sqlite3 valgrind
# Takes ~5-10 minutes on 2 cores (tshark on the 1500-byte variant is most of it).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
OUT=${OUT:-$BENCH_DIR/out}
RUNS=${RUNS:-12}
FILES_PER_RUN=${FILES_PER_RUN:-3}
INST_MB=${INST_MB:-10}
REPS=${REPS:-5}
SLICE_MB=${SLICE_MB:-30}
REGEN=${REGEN:-0}
TSHARK=${TSHARK:-1}
PROFILE=${PROFILE:-1}
DOC=${DOC:-1}
PORT_A=${PORT_A:-42101}
PORT_B=${PORT_B:-42102}
HOST=127.0.0.1
DOC_FILE=$REPO/docs/performance.md
NS=pa-bench-$$            # private network namespace for variant B

die() { echo "dicom-ingest: $*" >&2; exit 1; }
log() { echo "== $*" >&2; }
. "$(dirname "$0")/lib.sh"
warn() { echo "WARNING: $*" | tee -a "$OUT/warnings.txt" >&2; }

for t in storescp storescu dump2dcm tcpdump tshark capinfos ip ss sqlite3 awk; do
  command -v "$t" >/dev/null || die "missing tool: $t (apt-get install -y dcmtk tcpdump tshark iproute2 sqlite3)"
done
[ -x /usr/bin/time ] || die "missing /usr/bin/time (apt-get install -y time)"
[ "$(id -u)" = 0 ] || die "run as root (tcpdump, ip netns)"

mkdir -p "$OUT"
: >"$OUT/warnings.txt"
WORK=$(mktemp -d "$OUT/work.XXXXXX")

# ---------------------------------------------------------------------------
# process and namespace bookkeeping: stop only what this script started
# ---------------------------------------------------------------------------
PIDS=()
NS_MADE=0
forget_pid() {
  local keep=() p
  for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}
stop_pid() {
  local pid=$1 sig=${2:-TERM}
  kill "-$sig" "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget_pid "$pid"
}
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ "$NS_MADE" = 0 ] || ip netns del "$NS" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# run_in VARIANT CMD...: run CMD where the variant's traffic lives
run_in() {
  local v=$1; shift
  if [ "$v" = B ]; then ip netns exec "$NS" "$@"; else "$@"; fi
}
# start_bg VARIANT NAME CMD...: start a server in the background, in the
# variant's namespace, log to $WORK/NAME.log; BG_PID is the server's own pid
# (setsid and `ip netns exec` both exec, no fork: the pid can be signalled,
# and a Ctrl-C on the terminal reaches only this script, whose cleanup then
# stops the servers by pid).
start_bg() {
  local v=$1 name=$2; shift 2
  if [ "$v" = B ]; then
    setsid ip netns exec "$NS" "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  else
    setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  fi
  BG_PID=$!
  PIDS+=("$BG_PID")
}
port_is_listening() { run_in "$1" ss -Hltn "( sport = :$2 )" | grep -q .; }
wait_listen() {
  local i
  for i in $(seq 100); do port_is_listening "$1" "$2" && return 0; sleep 0.1; done
  die "storescp does not listen on port $2"
}
now_ns() { date +%s%N; }

# ---------------------------------------------------------------------------
# the pacsaudit binary
# ---------------------------------------------------------------------------
if [ -z "${PACSAUDIT:-}" ]; then
  PACSAUDIT=$REPO/build/pacsaudit
  if [ ! -x "$PACSAUDIT" ]; then
    log "no $PACSAUDIT: building a Release pacsaudit in $REPO/build-bench"
    # -Wno-error=maybe-uninitialized: gcc 12 -O3 warns in analyzer/tm.c, which
    # -Werror would turn into a build failure of Release builds.
    cmake -S "$REPO" -B "$REPO/build-bench" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_C_FLAGS=-Wno-error=maybe-uninitialized >"$WORK/cmake.log" 2>&1 \
      && cmake --build "$REPO/build-bench" -j2 --target pacsaudit >>"$WORK/cmake.log" 2>&1 \
      || { tail -20 "$WORK/cmake.log" >&2; die "pacsaudit does not build"; }
    PACSAUDIT=$REPO/build-bench/pacsaudit
  fi
fi
[ -x "$PACSAUDIT" ] || die "PACSAUDIT=$PACSAUDIT is not executable"
PA_BUILD_TYPE=$(sed -n 's/^CMAKE_BUILD_TYPE:STRING=//p' "$(dirname "$PACSAUDIT")/CMakeCache.txt" 2>/dev/null || true)
PA_BUILD_TYPE=${PA_BUILD_TYPE:-unknown}
PA_COMMIT=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$REPO" status --porcelain -- analyzer collectors cli 2>/dev/null)" ]; then
  PA_COMMIT="$PA_COMMIT+uncommitted changes in analyzer/collectors/cli"
fi

# ---------------------------------------------------------------------------
# 1. the DICOM instances and the captures
# ---------------------------------------------------------------------------
ROOT=1.2.3.4.5.6.7.99            # fake test UID root
CT=1.2.840.10008.5.1.4.1.1.2
PARAMS="runs=$RUNS files=$FILES_PER_RUN inst_mb=$INST_MB dcmtk=$(dpkg-query -W -f '${Version}' dcmtk 2>/dev/null || echo ?)"

make_instances() {
  local k rows cols=2048 raw=$WORK/pixel.raw
  rows=$(( INST_MB * 1024 * 1024 / (cols * 2) ))
  mkdir -p "$WORK/dcm"
  # deterministic, non-zero "pixel" bytes
  yes 'PACSAUDIT-BENCH-PIXELS-' | tr -d '\n' | head -c $((rows * cols * 2)) >"$raw" || true
  for k in $(seq "$FILES_PER_RUN"); do
    cat >"$WORK/dcm/i$k.dump" <<EOF
(0008,0005) CS [ISO_IR 100]
(0008,0008) CS [ORIGINAL\\PRIMARY\\AXIAL]
(0008,0016) UI [$CT]
(0008,0018) UI [$ROOT.3.1.1.$k]
(0008,0020) DA [20240601]
(0008,0030) TM [093000]
(0008,0050) SH [BENCH-ACC-1]
(0008,0060) CS [CT]
(0008,0070) LO [FAKEVENDOR]
(0008,1030) LO [BENCH LARGE CT]
(0010,0010) PN [BENCH^ONE]
(0010,0020) LO [BENCH-0001]
(0010,0030) DA [19700101]
(0010,0040) CS [O]
(0020,000d) UI [$ROOT.1.1]
(0020,000e) UI [$ROOT.2.1.1]
(0020,0011) IS [1]
(0020,0013) IS [$k]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US $rows
(0028,0011) US $cols
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW =$raw
EOF
    dump2dcm -q +te "$WORK/dcm/i$k.dump" "$WORK/dcm/i$k.dcm"
  done
  rm -f "$raw"
  INST_BYTES=$(stat -c %s "$WORK/dcm/i1.dcm")
  echo "$INST_BYTES" >"$OUT/instance-bytes"
}

setup_ns() {
  [ "$NS_MADE" = 1 ] && return 0
  ip netns add "$NS" || die "cannot create network namespace $NS"
  NS_MADE=1
  ip -n "$NS" link set lo up
  # MTU 1500 and one segment per GSO packet: real Ethernet-size frames on lo
  ip -n "$NS" link set lo mtu 1500
  ip -n "$NS" link set lo gso_max_segs 1 2>/dev/null \
    || warn "variant B: cannot set gso_max_segs 1 on the namespace lo; frames may be GSO-sized"
}

# capture VARIANT PORT FILE PACE: one capture; sets DROPPED
capture() {
  local v=$1 port=$2 file=$3 pace=$4 r scp td n
  [ "$v" = B ] && setup_ns
  port_is_listening "$v" "$port" && die "port $port is in use (set PORT_$v)"
  start_bg "$v" "storescp-$v" storescp --ignore -aet STORESCP "$port"
  scp=$BG_PID
  wait_listen "$v" "$port"
  rm -f "$file.part"
  start_bg "$v" "tcpdump-$v" tcpdump -i lo -n -s 0 -B 262144 -w "$file.part" "tcp port $port"
  td=$BG_PID
  for n in $(seq 100); do grep -q 'listening on' "$WORK/tcpdump-$v.log" && break; sleep 0.1; done
  grep -q 'listening on' "$WORK/tcpdump-$v.log" || die "tcpdump did not start: $(cat "$WORK/tcpdump-$v.log")"
  sleep 0.5
  for r in $(seq "$RUNS"); do
    local files=() k
    for k in $(seq "$FILES_PER_RUN"); do files+=("$WORK/dcm/i$k.dcm"); done
    run_in "$v" storescu -aet "BENCH$v$(printf %02d "$r")" -aec STORESCP "$HOST" "$port" "${files[@]}" \
      >>"$WORK/storescu-$v.log" 2>&1 || die "storescu failed (variant $v, run $r): $(tail -5 "$WORK/storescu-$v.log")"
    sleep "$pace"
  done
  # without --immediate-mode libpcap hands packets over per TPACKET_V3 block,
  # at the latest after its 1 s timeout: wait for the last block, then stop
  sleep 2
  kill -0 "$td" 2>/dev/null || die "tcpdump died: $(cat "$WORK/tcpdump-$v.log")"
  stop_pid "$td" INT
  stop_pid "$scp"
  cat "$WORK/tcpdump-$v.log" >&2
  DROPPED=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel.*/\1/p' "$WORK/tcpdump-$v.log")
  DROPPED=${DROPPED:-unknown}
}

# make_capture VARIANT PORT FILE: capture, retried while tcpdump drops packets
make_capture() {
  local v=$1 port=$2 file=$3 try pace fins
  if [ "$REGEN" = 0 ] && [ -s "$file" ] && [ "$(cat "$file.meta" 2>/dev/null)" = "$PARAMS port=$port" ]; then
    log "variant $v: reusing $file ($PARAMS; REGEN=1 remakes it)"
    return 0
  fi
  [ -n "$INST_BYTES" ] || make_instances
  for try in 1 2 3; do
    pace=$(awk -v t="$try" 'BEGIN { print (t - 1) * 0.5 }')
    log "variant $v: capture try $try on port $port (pause ${pace}s between associations)"
    capture "$v" "$port" "$file" "$pace"
    [ "$DROPPED" = 0 ] && break
    warn "variant $v: tcpdump dropped $DROPPED packets (try $try)"
  done
  [ "$DROPPED" = 0 ] || die "variant $v: tcpdump keeps dropping packets"
  # every association must be complete in the capture (FIN from both sides)
  fins=$(tcpdump -n -r "$file.part" 'tcp[tcpflags] & tcp-fin != 0' 2>/dev/null | wc -l)
  [ "$fins" -ge $((2 * RUNS)) ] || die "variant $v: capture holds $fins FINs, expected $((2 * RUNS))"
  mv -f "$file.part" "$file"
  echo "$PARAMS port=$port" >"$file.meta"
}

INST_BYTES=
CAP_A=$OUT/dicom-loopback.pcap
CAP_B=$OUT/dicom-mtu1500.pcap
make_capture A "$PORT_A" "$CAP_A"
make_capture B "$PORT_B" "$CAP_B"
[ -n "$INST_BYTES" ] || INST_BYTES=$(cat "$OUT/instance-bytes" 2>/dev/null || echo 0)

# ---------------------------------------------------------------------------
# 2. timings
# ---------------------------------------------------------------------------
EXPECT_ASSOC=$RUNS
EXPECT_STORE=$((RUNS * FILES_PER_RUN))
CORRECT_NOTE=()

# best_of N CMD...: best wall time in seconds (ns clock) of N runs of CMD
best_of() {
  local n=$1 i t0 t1 best=
  shift
  for i in $(seq "$n"); do
    t0=$(now_ns); "$@"; t1=$(now_ns)
    best=$(awk -v b="$best" -v d=$((t1 - t0)) 'BEGIN { s = d / 1e9; if (b == "" || s < b) print s; else print b }')
  done
  echo "$best"
}
cat_file() { cat "$1" >/dev/null; }

# pa_run FILE: one timed ingest into a fresh db; sets PA_S, PA_RSS_KB, PA_DB
pa_run() {
  local f=$1 t0 t1
  PA_DB=$WORK/ingest.db
  rm -f "$PA_DB" "$PA_DB-wal" "$PA_DB-shm"
  sync
  t0=$(now_ns)
  /usr/bin/time -f '%M %U %S' -o "$WORK/time.txt" \
    "$PACSAUDIT" ingest --db "$PA_DB" --quiet "$f" >"$WORK/ingest.log" 2>&1 \
    || die "pacsaudit ingest failed on $f: $(tail -5 "$WORK/ingest.log")"
  t1=$(now_ns)
  PA_S=$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1e9 }')
  read -r PA_RSS_KB PA_USER PA_SYS <"$WORK/time.txt"
}


RESULTS=$OUT/results.tsv
printf 'variant\tfile_mb\tpackets\tavg_frame\tcat_mbs\ttshark_s\ttshark_rss_mb\tpa_s\tpa_mbs\tassoc_s\tx_tshark\tpct_cat\tpa_rss_mb\tpa_user_s\tpa_sys_s\tassoc\tstores\tdimse\tfixed_s\tsteady_mbs\tcpu_mbs\tidle_pct\n' >"$RESULTS"

measure() {
  local v=$1 port=$2 file=$3 bytes mb packets avg cat_s= c cat_mbs ts_s=NA ts_rss=NA best= rss=0 i
  local assoc stores dimse usr sys pa_mbs assoc_s x_ts pct fixed= steady cpu_mbs idle0 idle1
  bytes=$(stat -c %s "$file")
  mb=$(awk -v b="$bytes" 'BEGIN { printf "%.1f", b / 1e6 }')
  packets=$(capinfos -M -c -T "$file" | awk -F'\t' 'NR == 2 { print $2 }')
  avg=$(capinfos -M -z -T "$file" | awk -F'\t' 'NR == 2 { printf "%.0f", $2 }')
  log "variant $v: $file, $mb MB, $packets packets, average frame $avg bytes"
  cat "$file" >/dev/null           # warm the page cache
  wait_idle; idle0=$IDLE
  # the fixed cost of one run: the same ingest of a capture with no packet
  # (this file's 24-byte pcap header): process start, schema, commits, fsyncs
  head -c 24 "$file" >"$WORK/empty.pcap"
  for i in $(seq "$REPS"); do
    pa_run "$WORK/empty.pcap"
    if [ -z "$fixed" ] || awk -v a="$PA_S" -v b="$fixed" 'BEGIN { exit !(a < b) }'; then fixed=$PA_S; fi
  done
  log "variant $v: fixed cost (empty capture) best ${fixed}s"
  # cat and pacsaudit interleaved, so that both see the same machine load
  for i in $(seq "$REPS"); do
    c=$(best_of 2 cat_file "$file")
    if [ -z "$cat_s" ] || awk -v a="$c" -v b="$cat_s" 'BEGIN { exit !(a < b) }'; then cat_s=$c; fi
    pa_run "$file"
    log "variant $v: run $i: cat ${c}s; pacsaudit ${PA_S}s, peak RSS $PA_RSS_KB KB (user ${PA_USER}s sys ${PA_SYS}s)"
    if [ -z "$best" ] || awk -v a="$PA_S" -v b="$best" 'BEGIN { exit !(a < b) }'; then
      best=$PA_S; usr=$PA_USER; sys=$PA_SYS
    fi
    if [ "$PA_RSS_KB" -gt "$rss" ]; then rss=$PA_RSS_KB; fi
  done
  cat_mbs=$(awk -v b="$bytes" -v s="$cat_s" 'BEGIN { printf "%.0f", b / 1e6 / s }')
  log "variant $v: cat best ${cat_s}s = $cat_mbs MB/s; pacsaudit best ${best}s"
  if [ "$TSHARK" = 1 ]; then
    log "variant $v: tshark (one run; may take minutes)"
    local t0 t1
    t0=$(now_ns)
    /usr/bin/time -f '%M' -o "$WORK/tshark-time.txt" \
      tshark -r "$file" -d "tcp.port==$port,dicom" -Y dicom -q >"$WORK/tshark.log" 2>&1 \
      || die "tshark failed: $(tail -5 "$WORK/tshark.log")"
    t1=$(now_ns)
    ts_s=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.2f", d / 1e9 }')
    ts_rss=$(awk '{ printf "%.0f", $1 / 1024 }' "$WORK/tshark-time.txt")
    log "variant $v: tshark ${ts_s}s, peak RSS $ts_rss MB"
  fi
  idle1=$(cpu_idle)
  # correctness: what storescu made, as stored (db of the last run)
  assoc=$(sqlite3 "$PA_DB" 'select count(*) from associations')
  stores=$(sqlite3 "$PA_DB" "select count(*) from dimse where command = 'C-STORE-RQ'")
  dimse=$(sqlite3 "$PA_DB" 'select count(*) from dimse')
  cp -f "$PA_DB" "$OUT/ingest-$v.db"
  if [ "$assoc" != "$EXPECT_ASSOC" ]; then
    warn "variant $v: $assoc associations in the db, storescu made $EXPECT_ASSOC"
    CORRECT_NOTE+=("variant $v: $assoc associations stored, $EXPECT_ASSOC made")
  fi
  if [ "$stores" != "$EXPECT_STORE" ] || [ "$dimse" != "$EXPECT_STORE" ]; then
    warn "variant $v: $dimse dimse rows ($stores C-STORE-RQ) in the db, storescu sent $EXPECT_STORE instances"
    CORRECT_NOTE+=("variant $v: $dimse dimse rows ($stores C-STORE-RQ) stored, $EXPECT_STORE instances sent")
  fi
  local bad
  bad=$(sqlite3 "$PA_DB" "select count(*) from associations where result <> 'released'")
  [ "$bad" = 0 ] || { warn "variant $v: $bad associations not 'released'"; CORRECT_NOTE+=("variant $v: $bad associations not released"); }
  pa_mbs=$(awk -v b="$bytes" -v s="$best" 'BEGIN { printf "%.0f", b / 1e6 / s }')
  assoc_s=$(awk -v a="$assoc" -v s="$best" 'BEGIN { printf "%.0f", a / s }')
  x_ts=$(awk -v t="$ts_s" -v s="$best" 'BEGIN { if (t == "NA") print "NA"; else printf "%.1f", t / s }')
  pct=$(awk -v c="$cat_mbs" -v p="$pa_mbs" 'BEGIN { printf "%.0f", 100 * p / c }')
  steady=$(awk -v b="$bytes" -v s="$best" -v f="$fixed" 'BEGIN { if (s - f > 0.001) printf "%.0f", b / 1e6 / (s - f); else print "NA" }')
  cpu_mbs=$(awk -v b="$bytes" -v u="$usr" -v y="$sys" 'BEGIN { if (u + y > 0) printf "%.0f", b / 1e6 / (u + y); else print "NA" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\t%s\t%.1f\t%s\t%s\t%s\t%s\t%s\t%.3f\t%s\t%s\t%s\n' \
    "$v" "$mb" "$packets" "$avg" "$cat_mbs" "$ts_s" "$ts_rss" "$best" "$pa_mbs" "$assoc_s" \
    "$x_ts" "$pct" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$usr" "$sys" \
    "$assoc" "$stores" "$dimse" "$fixed" "$steady" "$cpu_mbs" "$idle0/$idle1" >>"$RESULTS"
}

measure A "$PORT_A" "$CAP_A"
measure B "$PORT_B" "$CAP_B"

# ---------------------------------------------------------------------------
# 3. the table
# ---------------------------------------------------------------------------
TABLE=$OUT/table.md
awk -F'\t' '
  function pf(ok) { return ok ? "PASS" : "MISS" }
  NR == 1 { next }
  {
    name = ($1 == "A") ? "A loopback (" $4 " B avg frame)" : "B 1500-byte (" $4 " B avg frame)"
    tgt_speed = ($1 == "B") ? (($11 == "NA") ? "n/a (no tshark)" : pf($11 >= 10) " (>= 10x tshark: " $11 "x)") \
                            : pf($12 >= 40) " (>= 40% of cat: " $12 "%)"
    tgt_rss = pf($13 < 64) " (< 64 MB: " $13 ")"
    rows[NR] = sprintf("| %s | %s | %s | %s | %s | %s | %s | %s | %sx | %s%% | %s | %s | %s |",
      name, $2, $3, $5, $6, $8, $9, $10, $11, $12, $13, tgt_speed, tgt_rss)
  }
  END {
    print "| variant | file MB | packets | cat MB/s | tshark s | pacsaudit s | pacsaudit MB/s | assoc/s | pacsaudit/tshark speed | pacsaudit/cat speed | peak RSS MB | speed target | RSS target |"
    print "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    for (i = 2; i <= NR; i++) if (i in rows) print rows[i]
  }' "$RESULTS" >"$TABLE"
TABLE2=$OUT/table2.md
awk -F'\t' '
  NR == 1 { print "| variant | pacsaudit s | of which fixed s (empty capture) | MB/s without the fixed cost | pacsaudit CPU s (user + sys) | MB per CPU-second | tshark peak RSS MB | CPU idle % before/after |"
            print "|---|---:|---:|---:|---:|---:|---:|---:|"; next }
  { printf "| %s | %s | %s | %s | %s + %s | %s | %s | %s |\n", $1, $8, $19, $20, $14, $15, $21, $7, $22 }' "$RESULTS" >"$TABLE2"
echo
cat "$TABLE"
echo
cat "$TABLE2"
echo
if [ "${#CORRECT_NOTE[@]}" = 0 ]; then
  CORRECT="associations and dimse rows match what storescu made ($EXPECT_ASSOC associations, $EXPECT_STORE C-STORE-RQ, all 'released', on both variants)"
else
  CORRECT="MISMATCH: $(IFS='; '; echo "${CORRECT_NOTE[*]}")"
fi
echo "correctness: $CORRECT"

# ---------------------------------------------------------------------------
# 4. where the time goes
# ---------------------------------------------------------------------------
PROF=$OUT/profile.md
: >"$PROF"
if [ "$PROFILE" = 1 ]; then
  for v in A B; do
    f=$CAP_A; [ "$v" = B ] && f=$CAP_B
    bytes=$(stat -c %s "$f")
    packets=$(awk -F'\t' -v v="$v" '$1 == v { print $3 }' "$RESULTS")
    n=$(awk -v p="$packets" -v b="$bytes" -v m="$SLICE_MB" 'BEGIN { n = int(p * m * 1e6 / b); print (n < 1 ? 1 : n) }')
    slice=$WORK/slice-$v.pcap
    tcpdump -r "$f" -c "$n" -w "$slice" 2>/dev/null
    smb=$(awk -v b="$(stat -c %s "$slice")" 'BEGIN { printf "%.1f", b / 1e6 }')
    if command -v perf >/dev/null; then
      rm -f "$WORK/p.db"*
      perf stat -e task-clock,context-switches,page-faults -o "$WORK/perf-$v.txt" \
        "$PACSAUDIT" ingest --db "$WORK/p.db" --quiet "$f" >/dev/null 2>&1 || true
      {
        echo "perf stat, variant $v, whole capture (this VM exposes no hardware counters):"
        echo '```'
        grep -E 'task-clock|context-switches|page-faults|elapsed|user|sys' "$WORK/perf-$v.txt" | sed 's/^ *//'
        echo '```'
        echo
      } >>"$PROF"
    fi
    if command -v valgrind >/dev/null && command -v callgrind_annotate >/dev/null; then
      log "variant $v: callgrind on a $smb MB slice ($n packets)"
      rm -f "$WORK/cg.db"*
      valgrind --tool=callgrind --callgrind-out-file="$OUT/callgrind-$v.out" \
        "$PACSAUDIT" ingest --db "$WORK/cg.db" --quiet "$slice" >/dev/null 2>"$WORK/cg-$v.log" || true
      callgrind_annotate --inclusive=no "$OUT/callgrind-$v.out" >"$OUT/callgrind-$v.txt" 2>/dev/null || true
      {
        echo "callgrind, variant $v, first $n packets ($smb MB), self instructions (Ir), top 12:"
        echo '```'
        grep -E '^ *[0-9,]+ .*PROGRAM TOTALS' "$OUT/callgrind-$v.txt" | head -1 | sed 's/^ *//'
        grep -E '^ *[0-9,]+ \([ 0-9.]+%\) ' "$OUT/callgrind-$v.txt" | grep -v 'PROGRAM TOTALS' | head -12 | sed 's/^ *//'
        echo '```'
        echo
      } >>"$PROF"
    fi
  done
  cat "$PROF"
fi

# ---------------------------------------------------------------------------
# 5. docs/performance.md
# ---------------------------------------------------------------------------
if [ "$DOC" = 1 ]; then
  SECTION=$WORK/section.md
  CPU=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
  {
    echo '<!-- dicom-ingest:begin (written by bench/dicom-ingest.sh; edit the script, not this block) -->'
    echo '## DICOM capture ingest (issue 1/4)'
    echo
    echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') by \`bench/dicom-ingest.sh\` on $(nproc) cores ($CPU), $(awk '/MemTotal/ { printf "%.0f GB RAM", $2 / 1048576 }' /proc/meminfo), $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)."
    echo "pacsaudit: \`$PACSAUDIT\`, build type $PA_BUILD_TYPE, tree $PA_COMMIT."
    echo "References: $(tshark -v 2>/dev/null | head -1), $(cat --version | head -1)."
    echo
    echo "**Captures.** Real dcmtk traffic ($PARAMS): $RUNS associations of storescu"
    echo "→ \`storescp --ignore\` on 127.0.0.1, each sending $FILES_PER_RUN CT instances of $(awk -v b="$INST_BYTES" 'BEGIN { printf "%.1f MB", b / 1e6 }')"
    echo "(dump2dcm, explicit VR LE, OW pixel data, fake patient BENCH^ONE), default PDU size 16384,"
    echo "captured with \`tcpdump -i lo -s 0 -B 262144\` (0 packets dropped by kernel)."
    echo "- A: the host lo at its default MTU 65536: loopback-sized (~64 KB) frames."
    echo "- B: the lo of a private network namespace with MTU 1500 and \`gso_max_segs 1\`"
    echo "  (without it, the loopback hands tcpdump GSO super-packets of ~16 KB); the host lo is"
    echo "  not touched, since other tests use it. Frames are 1514 bytes, plus the ACKs."
    echo
    echo "**Method.** Page cache warmed by one \`cat\`; then $REPS interleaved rounds of \`cat FILE > /dev/null\` (twice)"
    echo "and \`pacsaudit ingest --db FRESH --quiet FILE\` (a new database on the same ext4 disk each time, after \`sync\`),"
    echo "best of each; \`tshark -r FILE -d tcp.port==N,dicom -Y dicom -q\` once. Peak RSS from \`/usr/bin/time -f %M\`"
    echo "(max over the runs). Before timing, the script waits (up to 2 min) for the CPUs to be ≥ 80% idle."
    echo "MB = 10^6 bytes of capture file. Targets: B ≥ 10× tshark's speed; A ≥ 40% of cat's speed; peak RSS < 64 MB."
    echo
    cat "$TABLE"
    echo
    echo "The same runs, split: the fixed cost of one \`pacsaudit ingest\` (same command on a capture"
    echo "with no packet), the rate on the rest, and CPU time (\`/usr/bin/time\`, 10 ms resolution)."
    echo
    cat "$TABLE2"
    echo
    echo "**Correctness.** $CORRECT."
    echo
    if [ -s "$OUT/warnings.txt" ]; then
      echo "Warnings of this run:"
      sed 's/^/- /' "$OUT/warnings.txt"
      echo
    fi
    if [ -s "$PROF" ]; then
      echo "### Where the time goes"
      echo
      cat "$PROF"
    fi
    echo '<!-- dicom-ingest:end -->'
  } >"$SECTION"
  write_section dicom-ingest "$SECTION" "$DOC_FILE"
  log "wrote the section into $DOC_FILE"
fi
log "results: $RESULTS, $TABLE, captures in $OUT"
