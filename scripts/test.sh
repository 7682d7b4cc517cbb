#!/usr/bin/env bash
# The whole test suite, as CI runs it: install the dependencies, then
#  1. a plain build and every ctest (unit, e2e, fuzz corpus replay);
#  2. the .deb: built, installed, run from its installed paths, removed
#     (scripts/package-test.sh);
#  3. the same as 1 under AddressSanitizer + UBSan (clang);
#  4. each libFuzzer target for PA_FUZZ_SECONDS (default 60) on its corpus.
# Every build has -Werror (PA_WERROR=ON; a plain cmake build has it off).
# Run as root from anywhere inside the checkout.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PA_SKIP_DEPS:-0}" != 1 ]; then
  bash scripts/install-deps.sh
fi
jobs=$(nproc)
seconds=${PA_FUZZ_SECONDS:-60}

echo "== plain build"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DPA_WERROR=ON
cmake --build build -j"$jobs"
(cd build && ctest --output-on-failure -j"$jobs")

echo "== the package"
bash scripts/package-test.sh

echo "== AddressSanitizer + UBSan build"
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
  -DPA_SANITIZE=address,undefined -DPA_WERROR=ON
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$jobs")

echo "== fuzzing, ${seconds}s a target"
cmake -S . -B build-fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPA_FUZZ=ON -DPA_WERROR=ON
cmake --build build-fuzz -j"$jobs"
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  work=$(mktemp -d)
  cp -r "tests/fuzz/corpus/$name/." "$work/"
  echo "-- $name"
  # New inputs go to a scratch copy; the committed corpus stays as it is.
  build-fuzz/"$name" -max_total_time="$seconds" -print_final_stats=1 \
    -artifact_prefix="build-fuzz/$name-" "$work" 2>&1 | tail -n 12
  rm -rf "$work"
done
echo "all tests passed"
