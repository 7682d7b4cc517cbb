#!/usr/bin/env bash
# The quick start's first command: install the dependencies, build, and run
# pacsaudit on the bundled data. Today that is `ingest` of the DICOM captures
# in fixtures/dicom into demo.db, then a look at what was found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
rm -f demo.db demo.db-wal demo.db-shm
build/pacsaudit ingest --db demo.db fixtures/dicom || true  # killed/aborted captures are expected to warn
echo
echo "== associations"
sqlite3 -header -column demo.db \
  "SELECT id, calling_ae, called_ae, result, user_identity, tls, reject_reason
     FROM associations ORDER BY started_at"
echo
echo "== DIMSE requests"
sqlite3 -header -column demo.db \
  "SELECT a.calling_ae, d.command, d.status, d.patient_id, d.move_destination
     FROM dimse d JOIN associations a ON a.id = d.assoc_id ORDER BY d.ts"
