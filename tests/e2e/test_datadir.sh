#!/usr/bin/env bash
# test_datadir.sh — where the binary finds its rule pack and decoders
# (analyzer/datadir.h): the install layout beside the binary first, then the
# build tree's pacsaudit-srcdir marker, and $PACSAUDIT_PACK /
# $PACSAUDIT_DECODERS over both. A copy of the binary is run from laid-out
# folders under $WORK, from /, with the source tree named nowhere else.
. "$(dirname "$0")/lib.sh"
unset PACSAUDIT_PACK PACSAUDIT_DECODERS
src_ids=$(ls "$PA_SRC/rules/pack" | grep -c '\.json$')
ids() { "$@" rules list --format json | grep -c '"id"'; }

# the build tree: the marker beside the binary names the source tree
check "build tree has its marker" test -f "$(dirname "$PACSAUDIT")/pacsaudit-srcdir"
check "marker names the source tree" \
  test "$(cat "$(dirname "$PACSAUDIT")/pacsaudit-srcdir")" = "$(cd "$PA_SRC" && pwd)"
check "build-tree binary lists the source pack" test "$(cd / && ids "$PACSAUDIT")" -eq "$src_ids"

# installed: <prefix>/bin/pacsaudit reads <prefix>/share/pacsaudit/rules
p="$WORK/prefix"
mkdir -p "$p/bin" "$p/share/pacsaudit/rules" "$p/share/pacsaudit/decoders"
cp "$PACSAUDIT" "$p/bin/pacsaudit"
cp "$PA_SRC/rules/pack/AC-01.json" "$PA_SRC/rules/pack/AU-04.json" "$p/share/pacsaudit/rules/"
cp "$PA_SRC/collectors/decoders/"*.json "$p/share/pacsaudit/decoders/"
check "installed layout: its own pack" test "$(cd / && ids "$p/bin/pacsaudit")" -eq 2
# the install layout wins over a marker (a build tree installed into itself)
cp "$(dirname "$PACSAUDIT")/pacsaudit-srcdir" "$p/bin/"
check "install layout before the marker" test "$(cd / && ids "$p/bin/pacsaudit")" -eq 2
rm "$p/bin/pacsaudit-srcdir"

# the environment over both
mkdir -p "$WORK/pack"
cp "$PA_SRC/rules/pack/AC-02.json" "$WORK/pack/"
check "PACSAUDIT_PACK overrides" \
  test "$(cd / && PACSAUDIT_PACK="$WORK/pack" ids "$p/bin/pacsaudit")" -eq 1

# decoders: an auth.log line is decoded with the installed decoders, and not
# without them (the error names the folder it looked in)
printf '<38>Nov  3 09:00:01 gw01 sshd[1]: Accepted password for k.sato from 192.0.2.40 port 5000 ssh2\n' \
  >"$WORK/auth.log"
rc=0
(cd / && "$p/bin/pacsaudit" ingest -q --db "$WORK/a.db" "$WORK/auth.log") || rc=$?
check "installed decoders load" test "$rc" -eq 0
check "installed decoders decode sshd" \
  test "$(sqlite3 "$WORK/a.db" "SELECT count(*) FROM events WHERE user_id='k.sato'")" -eq 1
rc=0
(cd / && PACSAUDIT_DECODERS="$WORK/none" "$p/bin/pacsaudit" ingest -q --db "$WORK/b.db" \
  "$WORK/auth.log") 2>"$WORK/err" || rc=$?
check "missing decoders: an error" test "$rc" -ne 0
check "missing decoders: the folder named" grep -q "$WORK/none" "$WORK/err"

# neither beside the binary nor a marker: the configured install folder,
# named in the error (no source path is compiled in)
mkdir -p "$WORK/lone"
cp "$PACSAUDIT" "$WORK/lone/pacsaudit"
rc=0
(cd / && "$WORK/lone/pacsaudit" rules list) >/dev/null 2>"$WORK/err" || rc=$?
if [ -d "$(sed -n 's/^#define PA_DATADIR "\(.*\)"$/\1/p' "$(dirname "$PACSAUDIT")/gen/pa_version.h")/rules" ]; then
  echo "note: a pack is installed in the configured folder; lone-binary check skipped"
else
  check "lone binary: an error" test "$rc" -ne 0
  check "lone binary: names the install folder" grep -q "share/pacsaudit/rules" "$WORK/err"
  check "lone binary: no source path" bash -c '! grep -qF "$0" "$1"' "$PA_SRC" "$WORK/err"
fi
finish
