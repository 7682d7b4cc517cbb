#!/usr/bin/env bash
# test_policy_lint.sh — `pacsaudit policy lint`: a valid policy gets its
# summary and exit 0; each bad one prints every error, one line each, as in
# expected/policy/<name>.txt (update-expected.sh regenerates them), and exits 2.
. "$(dirname "$0")/lib.sh"
cd "$PA_SRC/fixtures/policy"

check "policy --help" bash -c '"$0" policy --help | grep -q "policy lint FILE"' "$PACSAUDIT"
check "policy lint --help" bash -c '"$0" policy lint --help | grep -q "exit status"' "$PACSAUDIT"
check "main --help names policy" bash -c '"$0" --help | grep -q "^  policy"' "$PACSAUDIT"
rc=0
"$PACSAUDIT" policy 2>/dev/null || rc=$?
check "policy without lint exits 2" test "$rc" -eq 2
rc=0
"$PACSAUDIT" policy lint 2>/dev/null || rc=$?
check "lint without a file exits 2" test "$rc" -eq 2

rc=0
out=$("$PACSAUDIT" policy lint valid.json 2>"$WORK/err") || rc=$?
check "valid policy exits 0" test "$rc" -eq 0
check "valid policy: summary" test "$out" = "valid.json: valid: 7 users (3 from the roster), 6 roles, 3 AEs, 2 VIPs, 2 holidays, 1 exceptions, 0 warnings"
check "valid policy: nothing on stderr" test ! -s "$WORK/err"

for f in bad-users.json bad-network.json bad-roster/policy.json; do
  name=$(echo "${f%.json}" | tr / -)
  rc=0
  "$PACSAUDIT" policy lint "$f" >"$WORK/out" 2>"$WORK/err" || rc=$?
  check "$f exits 2" test "$rc" -eq 2
  check "$f: nothing on stdout" test ! -s "$WORK/out"
  if ! diff -u "$PA_SRC/tests/e2e/expected/policy/$name.txt" "$WORK/err"; then
    fail "$f: errors differ from expected/policy/$name.txt"
  else
    pass
  fi
done

# unreadable, not JSON, too large
rc=0
"$PACSAUDIT" policy lint "$WORK/none.json" 2>"$WORK/err" || rc=$?
check "missing file exits 2" test "$rc" -eq 2
check "missing file named" grep -q "none.json: cannot read: No such file or directory" "$WORK/err"
printf '{"users": [' >"$WORK/trunc.json"
rc=0
"$PACSAUDIT" policy lint "$WORK/trunc.json" 2>"$WORK/err" || rc=$?
check "truncated JSON exits 2" test "$rc" -eq 2
check "truncated JSON: line and column" grep -q "trunc.json: line 1 column 11: " "$WORK/err"
head -c 5000000 /dev/zero | tr '\0' ' ' >"$WORK/big.json"
rc=0
"$PACSAUDIT" policy lint "$WORK/big.json" 2>"$WORK/err" || rc=$?
check "oversized file exits 2" test "$rc" -eq 2
check "oversized file said" grep -q "larger than" "$WORK/err"

finish
