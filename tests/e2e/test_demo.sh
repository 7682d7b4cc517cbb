#!/usr/bin/env bash
# test_demo.sh — `pacsaudit demo`: builds the demo database from the bundled
# week, checks it, writes the HTML report and says where it is; run again, it
# builds the same from scratch. (The browser test loads its report.)
. "$(dirname "$0")/lib.sh"
D="$WORK/demo"

rc=0
"$PACSAUDIT" demo --out "$D" >"$WORK/out" 2>"$WORK/err" || rc=$?
check "demo exits 0" test "$rc" -eq 0
check "it says nothing on stderr" test ! -s "$WORK/err"
check "it writes the HTML report" test -s "$D/report.html"
check "the report is one self-contained page" grep -q "Content-Security-Policy" "$D/report.html"
check "the report holds the checklist in Japanese by default" grep -q '判定不能\|いいえ' "$D/report.html"
check "it prints where the report is" grep -q "^demo: the report is $D/report.html$" "$WORK/out"
check "...and how to open it" grep -q "xdg-open $D/report.html" "$WORK/out"
check "it finds the scenario's 41 findings" grep -q ": 41 findings$" "$WORK/out"
check "the database holds them" test "$(sqlite3 "$D/demo.db" "select count(*) from findings")" -eq 41
check "the report file is private (0600)" test "$(stat -c %a "$D/report.html")" = 600

rc=0
"$PACSAUDIT" demo --out "$D" --lang en >"$WORK/out2" 2>&1 || rc=$?
check "a second demo exits 0" test "$rc" -eq 0
check "...building the database again from scratch" \
  test "$(sqlite3 "$D/demo.db" "select count(*) from runs where command = 'ingest'")" -eq 1
check "...in English when asked" grep -q 'Guideline checklist' "$D/report.html"

rc=0
"$PACSAUDIT" demo --out "$D" --lang fr >/dev/null 2>&1 || rc=$?
check "an unknown language is exit 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" demo --out /proc/pacsaudit-demo >/dev/null 2>"$WORK/err" || rc=$?
check "a folder that cannot be made is exit 2" test "$rc" -eq 2
check "...naming it" grep -q "/proc/pacsaudit-demo: cannot create" "$WORK/err"
rc=0
PACSAUDIT_DEMO="$WORK/nowhere" "$PACSAUDIT" demo --out "$WORK/d2" >/dev/null 2>"$WORK/err" || rc=$?
check "no demo data is exit 2" test "$rc" -eq 2
check "...naming where it looked" grep -q "nowhere: no demo data there" "$WORK/err"
finish
