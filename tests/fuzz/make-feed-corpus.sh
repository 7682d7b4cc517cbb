#!/usr/bin/env bash
# Regenerates tests/fuzz/corpus/fuzz_feed from the fixtures: byte 0 picks
# the feed's path (see fuzz_feed.c), the rest is a fixture or a line of one.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
fx=$src/fixtures
out=$src/tests/fuzz/corpus/fuzz_feed
rm -rf "$out"; mkdir -p "$out"
seed() { # seed MODE NAME < bytes
  { printf "\\$(printf %03o "$1")"; cat; } > "$out/$2"
}
# 0: one syslog message: each line of the plain logs, and audit bodies in a header
i=0
while IFS= read -r l; do seed 0 "syslog-auth-$((i++))" <<<"$l"; done < "$fx/syslog/auth.log"
i=0
while IFS= read -r l; do seed 0 "syslog-gw01-$((i++))" <<<"$l"; done < <(head -n 40 "$fx/scenario/gw01-auth.log")
for f in "$fx/atna/110114-110122-fail.dicom.xml" "$fx/atna/110112.rfc3881.xml" \
         "$fx/atna/bad/wrong-root.xml" "$fx/atna/bad/truncated.xml" "$fx/fhir/r4-login.json"; do
  { printf '<85>1 2024-01-12T08:30:00Z pacs01 arc 1 - - \xef\xbb\xbf'; cat "$f"; } | seed 0 "syslog-body-$(basename "$f")"
done
# 1: ATNA documents, good and bad
for f in "$fx"/atna/*.xml "$fx"/atna/bad/*; do seed 1 "atna-$(basename "$f")" < "$f"; done
# 2: FHIR texts, good and bad, and NDJSON lines
for f in "$fx"/fhir/*.json "$fx"/fhir/bad/*; do seed 2 "fhir-$(basename "$f")" < "$f"; done
i=0
while IFS= read -r l; do seed 2 "fhir-ndjson-$((i++))" <<<"$l"; done < "$fx/fhir/events.ndjson"
# 3: IHE Yr4
seed 3 ihe-yr4 < "$fx/atna/bad/wrong-root.xml"
# 4: bytes that were no frame
printf '\x01\x02 garbage' | seed 4 bad-frame
# 5: whole files through the file driver
for f in "$fx"/syslog/atna-5424.log "$fx"/syslog/atna-octet.bin "$fx"/syslog/auth.log \
         "$fx"/syslog/auth.log.1.gz "$fx"/fhir/events.ndjson "$fx"/fhir/bundle.json \
         "$fx"/atna/110104.dicom.xml "$fx"/atna/bad/wrong-root.xml; do
  seed 5 "file-$(basename "$f")" < "$f"
done
echo "$(ls "$out" | wc -l) seeds in $out"
