#!/usr/bin/env bash
# The .deb, installed and used as a site would: builds it (a release build in
# build-pkg, prefix /usr), installs it with dpkg -i, runs the installed
# pacsaudit from / with the source tree out of reach (no PA_SRC, no build
# folder beside the binary), checks it reads /usr/share/pacsaudit, then
# removes and purges it and checks its files are gone.
# Run as root on a machine where pacsaudit is not installed (CI's is fresh).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
jobs=$(nproc)
[ "$(id -u)" -eq 0 ] || { echo "package-test: must run as root (dpkg -i)"; exit 2; }
if dpkg-query -W -f='${Status}' pacsaudit 2>/dev/null | grep -q installed; then
  echo "package-test: a pacsaudit package is already installed; remove it first"; exit 2
fi

failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then echo "ok: $what"; else fail "$what"; fi
}
work=$(mktemp -d)
installed=0
cleanup() {
  [ -d /usr/share/pacsaudit/rules.moved ] && mv /usr/share/pacsaudit/rules.moved /usr/share/pacsaudit/rules
  [ "$installed" = 1 ] && dpkg --purge pacsaudit >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

echo "-- build the .deb"
cmake -S . -B build-pkg -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=/usr \
  -DBUILD_TESTING=OFF -DPA_WERROR=ON >/dev/null
cmake --build build-pkg -j"$jobs"
rm -f build-pkg/pacsaudit_*.deb
(cd build-pkg && cpack -G DEB)
deb=$(ls build-pkg/pacsaudit_*.deb)
version=$(sed -n 's/^project(pacsaudit VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)

echo "-- dpkg -i $deb"
dpkg -i "$deb"
installed=1

# The installed program as a user would run it: from /, a bare environment.
pa() { (cd / && env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 /usr/bin/pacsaudit "$@"); }

check "--version is $version" test "$(pa --version)" = "pacsaudit $version"
n_pack=$(ls /usr/share/pacsaudit/rules/*.json | wc -l)
check "the pack is installed" test "$n_pack" -gt 0
check "rules list: every installed rule" test "$(pa rules list --format json | grep -c '"id"')" -eq "$n_pack"
check "rules test passes" pa rules test
check "decoders installed" test -f /usr/share/pacsaudit/decoders/10-sshd.json
check "no build-tree path in the binary" bash -c '! grep -qF "$0" /usr/bin/pacsaudit' "$src"
check "no build marker installed" test ! -e /usr/bin/pacsaudit-srcdir

# It reads /usr/share/pacsaudit/rules: without it, it names it and falls back
# to nothing else (no source tree).
mv /usr/share/pacsaudit/rules /usr/share/pacsaudit/rules.moved
rc=0
pa rules list >/dev/null 2>"$work/err" || rc=$?
mv /usr/share/pacsaudit/rules.moved /usr/share/pacsaudit/rules
check "without the installed pack: an error" test "$rc" -ne 0
check "the error names /usr/share/pacsaudit/rules" grep -q "/usr/share/pacsaudit/rules" "$work/err"

# the decoders from /usr/share/pacsaudit/decoders decode an auth.log
cp fixtures/scenario/gw01-auth.log "$work/auth.log"
pa ingest -q --db "$work/a.db" "$work/auth.log"
check "installed decoders decode auth.log" \
  test "$(sqlite3 "$work/a.db" "SELECT count(*) FROM events WHERE source='syslog'")" -gt 0

ex=/usr/share/doc/pacsaudit/examples
check "example policy is valid" pa policy lint $ex/policy.json
keys() { # keys FILE [JSON-PATH]: the object's keys, sorted, comma-separated
  sqlite3 :memory: "SELECT group_concat(key, ',') FROM (SELECT key FROM
    json_each(readfile('$1'), '${2:-\$}') ORDER BY key)"
}
check "example nightly.json has the documented keys" \
  test "$(keys $ex/nightly.json)|$(keys $ex/nightly.json '$.reports')|$(keys $ex/nightly.json '$.retention')" \
    = "db,inputs,lock,policy,reports,retention,rules|dir,formats,lang|raw_days"
check "/etc/pacsaudit/nightly.json is the example" cmp -s $ex/nightly.json /etc/pacsaudit/nightly.json
check "/etc/pacsaudit/nightly.json is a conffile" \
  bash -c "dpkg-query -W -f='\${Conffiles}' pacsaudit | grep -q /etc/pacsaudit/nightly.json"
check "man page installed" test -f /usr/share/man/man1/pacsaudit.1
if command -v man >/dev/null; then
  check "man pacsaudit renders" bash -c 'man -l /usr/share/man/man1/pacsaudit.1 2>/dev/null | grep -q "pacsaudit listen"'
fi
check "LICENSE installed" test -f /usr/share/doc/pacsaudit/LICENSE
check "the system user exists" getent passwd pacsaudit
for u in pacsaudit-listen.service pacsaudit-nightly.service pacsaudit-nightly.timer; do
  check "$u installed" test -f "/usr/lib/systemd/system/$u"
done
if command -v systemd-analyze >/dev/null; then
  # Documentation=man:… is looked up with man, which may be absent: only that is forgiven.
  systemd-analyze verify /usr/lib/systemd/system/pacsaudit-{listen.service,nightly.service,nightly.timer} \
    >"$work/verify" 2>&1 || true
  check "systemd-analyze verify: no problems" \
    bash -c '! grep -v "Command .man pacsaudit(1). failed" "$0" | grep -q .' "$work/verify"
  cat "$work/verify"
fi

# the demo, from the installed paths only: its data from /usr/share/pacsaudit/demo
check "demo data installed" test -f /usr/share/pacsaudit/demo/scenario.pcap
rc=0
(cd "$work" && pa demo --out "$work/demo") >"$work/demo.out" 2>&1 || rc=$?
check "pacsaudit demo from the installed paths exits 0" test "$rc" -eq 0
check "...reading the installed demo data" grep -q "from /usr/share/pacsaudit/demo" "$work/demo.out"
check "...and writes its HTML report" test -s "$work/demo/report.html"
check "...finding the scenario's 41 findings" grep -q ": 41 findings$" "$work/demo.out"

echo "-- dpkg -r, dpkg --purge"
dpkg -r pacsaudit
check "binary gone" test ! -e /usr/bin/pacsaudit
check "pack and demo data gone" test ! -e /usr/share/pacsaudit
check "man page gone" test ! -e /usr/share/man/man1/pacsaudit.1
check "units gone" bash -c '! ls /usr/lib/systemd/system/pacsaudit-* 2>/dev/null'
check "conffile kept by remove" test -f /etc/pacsaudit/nightly.json
dpkg --purge pacsaudit
installed=0
check "conffile gone on purge" test ! -e /etc/pacsaudit
check "user gone on purge" bash -c '! getent passwd pacsaudit'
check "dpkg knows it no more" bash -c '! dpkg-query -W pacsaudit 2>/dev/null | grep -q .'

[ "$failures" -eq 0 ] || { echo "package-test: $failures failed"; exit 1; }
echo "package-test: all passed"
