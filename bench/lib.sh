# lib.sh — shared by the bench scripts (sourced, not run). The caller
# defines log MESSAGE (progress on stderr) and may define warn MESSAGE.

# cpu_idle: percentage of all CPUs idle over one second (other people's jobs
# on this machine make timings drift: the figure goes into the report)
cpu_idle() {
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat)
  awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
    printf "%.0f", 100 * (y[2] - x[2]) / ((y[1] - x[1]) ? (y[1] - x[1]) : 1) }'
}

# wait_idle: wait up to WAIT_IDLE seconds for IDLE_MIN % idle CPU; sets IDLE
# (and says so when the CPU never got that idle).
wait_idle() {
  local waited=0
  IDLE=$(cpu_idle)
  while [ "$IDLE" -lt "${IDLE_MIN:-80}" ] && [ "$waited" -lt "${WAIT_IDLE:-120}" ]; do
    [ "$waited" = 0 ] && log "CPU only $IDLE% idle (other jobs); waiting up to ${WAIT_IDLE:-120}s for ${IDLE_MIN:-80}%"
    sleep 4; waited=$((waited + 5))
    IDLE=$(cpu_idle)
  done
  [ "$IDLE" -ge "${IDLE_MIN:-80}" ] && return 0
  local msg="measuring with the CPU only $IDLE% idle: other jobs run on this machine, timings are pessimistic"
  if declare -F warn >/dev/null; then warn "$msg"; else log "$msg"; fi
}

# write_section NAME SECTION DOC: puts the file SECTION, which starts with
# "<!-- NAME:begin" and ends with "<!-- NAME:end", into DOC in place of the
# block between the same markers, or at DOC's end when it has none yet
# (creating DOC with a title). The rest of DOC is kept as it is.
write_section() {
  local name=$1 sec=$2 doc=$3 tmp
  if [ ! -f "$doc" ]; then
    printf '# Performance\n\nMeasured figures of the benchmarks in `bench/`. Each section is written by its script;\nre-run the script to refresh it.\n' >"$doc"
  fi
  if grep -q "^<!-- $name:begin" "$doc"; then
    tmp=$(mktemp)
    awk -v sec="$sec" -v b="^<!-- $name:begin" -v e="^<!-- $name:end" '
      $0 ~ b { while ((getline l < sec) > 0) print l; skip = 1; next }
      $0 ~ e { skip = 0; next }
      !skip { print }' "$doc" >"$tmp"
    cat "$tmp" >"$doc"
    rm -f "$tmp"
  else
    { echo; cat "$sec"; } >>"$doc"
  fi
}
