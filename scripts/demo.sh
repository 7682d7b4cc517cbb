#!/usr/bin/env bash
# The quick start's first command: install the dependencies, build, and run
# pacsaudit on the bundled data: `ingest` of every fixture (DICOM captures,
# ATNA XML, FHIR JSON, syslog) into demo.db, `verify`, and a look at what
# was found.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
rm -f demo.db demo.db-wal demo.db-shm
# fixtures/*/bad hold malformed input on purpose: it lands in quarantine
build/pacsaudit ingest --db demo.db fixtures
build/pacsaudit verify --db demo.db
echo
echo "== associations seen on the wire"
sqlite3 -header -column demo.db \
  "SELECT calling_ae, called_ae, result, user_identity, tls, substr(reject_reason, 1, 60) AS reason
     FROM associations ORDER BY started_at"
echo
echo "== events by source and code"
sqlite3 -header -column demo.db \
  "SELECT source, event_code, count(*) AS n, sum(outcome <> 0) AS failed
     FROM events GROUP BY source, event_code ORDER BY source, n DESC"
echo
echo "== quarantined input"
sqlite3 -header -column demo.db \
  "SELECT origin, substr(error, 1, 70) AS error FROM quarantine ORDER BY origin"
