#!/usr/bin/env bash
# dicom_fixtures.sh — `pacsaudit ingest` on each real dcmtk capture, compared
# row by row with tests/e2e/expected/dicom/<capture>.txt. How each expectation
# was checked against Wireshark's dissector: docs/dicom-crosscheck.md.
# Regenerate the expectations (then review the diff!) with
#   tests/e2e/update-expected.sh
. "$(dirname "$0")/lib.sh"
cd "$PA_SRC/fixtures/dicom"
for cap in *.pcap; do
  name=${cap%.pcap}
  db="$WORK/$name.db"
  "$PACSAUDIT" ingest --quiet --db "$db" "$cap" 2>"$WORK/$name.err" || true
  dump_dicom "$db" > "$WORK/$name.txt"
  if diff -u "$PA_SRC/tests/e2e/expected/dicom/$name.txt" "$WORK/$name.txt" > "$WORK/$name.diff"; then
    pass
  else
    fail "$cap: rows differ from expected/dicom/$name.txt"
    head -n 40 "$WORK/$name.diff"
  fi
done
finish
