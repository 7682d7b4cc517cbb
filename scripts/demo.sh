#!/usr/bin/env bash
# The quick start's first command: install the dependencies, build, and run
# pacsaudit's main job on the bundled demo data, a week at a small hospital
# (fixtures/scenario: a DICOM capture, ATNA from an archive and a viewer,
# FHIR from an EMR, sshd syslog, and the site's policy and roster):
# `pacsaudit demo` ingests it into a fresh database, checks it against the
# guideline 6.0 pack and writes the HTML report; then the findings are
# listed and the report's path is the last line printed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)"
out=${PA_DEMO_OUT:-pacsaudit-demo}
build/pacsaudit demo --out "$out"
build/pacsaudit verify --db "$out/demo.db"
echo
echo "== findings (one per episode; times in Asia/Tokyo)"
build/pacsaudit findings --db "$out/demo.db"
echo
echo "The HTML report: $(realpath "$out/report.html")"
