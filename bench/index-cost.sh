#!/usr/bin/env bash
# index-cost.sh — what the rules' indexes cost ingest: the events rows of a
# synthetic store (bench/gen_events.c) inserted in time order, in commits of
# 100,000 rows as a bulk ingest commits, into a store with every index of
# schema 6 and into one without the two the rules added (events_code on
# (event_code, ts) and events_op on (op, user_id, ts)), twice each,
# alternating. Prints rows/s and the ratio, and writes the section
# index-cost of docs/performance.md. A benchmark never fails on a timing.
#
#   bash bench/index-cost.sh [ROWS]     (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
N=${1:-1000000}
B=${BUILD:-build-bench}
W=$(mktemp -d "${TMPDIR:-/tmp}/pa-index-cost.XXXXXX")
trap 'rm -rf "$W"' EXIT
log() { echo "index-cost: $*" >&2; }
. bench/lib.sh

cmake -S . -B "$B" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$B" -j"$(nproc)" --target pacsaudit pa_bench_gen_events >/dev/null
log "generating $N events"
"$B/pa_bench_gen_events" --db "$W/src.db" --events "$N" --policy-out "$W/p.json" \
  --manifest-out "$W/m.tsv" >&2
cols="ts, received_ts, source, origin, event_code, action, outcome, user_id, user_name,
  user_role, src_ip, src_ae, dst_ip, dst_ae, host, patient_id, study_uid, object_count, secure,
  assoc_id, raw_id, event_type, auth_method"
# an empty store of the current schema and its indexes, to copy for each run
cp "$W/src.db" "$W/empty.db"
sqlite3 "$W/empty.db" "DELETE FROM events; VACUUM;"
max=$(sqlite3 "$W/src.db" "SELECT max(id) FROM events")

load() { # load VARIANT -> seconds
  rm -f "$W/t.db"*
  cp "$W/empty.db" "$W/t.db"
  [ "$1" = without ] && sqlite3 "$W/t.db" "DROP INDEX events_code; DROP INDEX events_op;"
  local s e k
  s=$(date +%s.%N)
  for ((k = 0; k * 100000 < max; k++)); do
    sqlite3 "$W/t.db" "PRAGMA cache_size=-131072; PRAGMA synchronous=NORMAL;
      ATTACH '$W/src.db' AS s; BEGIN;
      INSERT INTO events ($cols) SELECT $cols FROM s.events
        WHERE id > $((k * 100000)) AND id <= $(((k + 1) * 100000)) ORDER BY id;
      COMMIT;"
  done
  e=$(date +%s.%N)
  awk -v a="$s" -v b="$e" 'BEGIN { printf "%.2f", b - a }'
}

wait_idle
declare -A t=([with]=0 [without]=0)
for round in 1 2; do
  for v in without with; do
    s=$(load "$v")
    log "round $round, $v the rules' indexes: $s s"
    t[$v]=$(awk -v a="${t[$v]}" -v b="$s" 'BEGIN { print a + b }')
  done
done
rows=$(sqlite3 "$W/src.db" "SELECT count(*) FROM events")
sec="$W/section.md"
{
  echo "<!-- index-cost:begin (written by bench/index-cost.sh) -->"
  echo "## What the rules' indexes cost ingest"
  echo
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores, CPU ${IDLE}% idle before the run:"
  echo "$rows events rows inserted in time order, 100,000 rows a commit, WAL, twice each."
  echo
  echo "| events indexes | rows/s |"
  echo "|---|---:|"
  awk -v n="$rows" -v a="${t[without]}" -v b="${t[with]}" 'BEGIN {
    printf "| schema 6 without events_code, events_op | %.0f |\n", 2 * n / a
    printf "| schema 6 (all 7) | %.0f |\n", 2 * n / b
    printf "\nThe two indexes the rules need cost %.0f%% of the events insert rate.\n", 100 * (1 - a / b) }'
  echo "<!-- index-cost:end -->"
} >"$sec"
cat "$sec"
write_section index-cost "$sec" docs/performance.md
