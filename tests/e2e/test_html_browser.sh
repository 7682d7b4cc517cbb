#!/usr/bin/env bash
# test_html_browser.sh — the HTML report in a real browser (headless Chromium).
#
# Renders fixtures/report/model-sample.json (which carries hostile strings)
# and an empty model with pa_html_render, and has `pacsaudit demo` write the
# demo's report; loads each from a file:// URL over
# the DevTools pipe (html_browser.py) and checks: no console error, exception
# or CSP refusal; no request but the page itself; no script or image in the
# DOM; the six charts are SVG elements drawn with a size; the checklist is
# there with its answers; every in-page link has its target; a screenshot;
# a PDF (A4 from the print stylesheet) with a sane page count. Then the
# checker itself is checked on a page that does fetch and log errors.
# Also Chromium's own --print-to-pdf and --dump-dom on the sample.
#
# Needs chromium and python3; without them it exits 77, which ctest reports
# as skipped (SKIP_RETURN_CODE). PA_HTML_RENDER names the render tool.
source "$(dirname "$0")/lib.sh"
: "${PA_HTML_RENDER:?PA_HTML_RENDER must name the pa_html_render tool}"

# --- the render tool's own checks can fail (with or without a browser) -----
# A page that breaks each rule is refused, naming the rule; the rendered
# sample passes the same checks.
"$PA_HTML_RENDER" "$PA_SRC/fixtures/report/model-sample.json" "$WORK/page.html" ||
  fail "the sample does not render"
check "the rendered sample passes the page checks" "$PA_HTML_RENDER" --check "$WORK/page.html"
refused() { # refused NAME WHAT SED-EXPR: the page edited by SED-EXPR fails, saying WHAT
  sed "$3" "$WORK/page.html" >"$WORK/bad-$1.html"
  if "$PA_HTML_RENDER" --check "$WORK/bad-$1.html" 2>"$WORK/bad-$1.err"; then
    fail "a page with $1 passes the page checks"
  elif ! grep -q "$2" "$WORK/bad-$1.err"; then
    fail "a page with $1 is refused without saying \"$2\""
  else
    pass
  fi
}
refused script '"<script"' 's|</body>|<SCRIPT>alert(1)</SCRIPT></body>|'
refused image '"<img"' 's|</body>|<img src="x.png"></body>|'
refused js-link 'javascript:' 's|</body>|<a href="javascript:go()">x</a></body>|'
refused frame '"<iframe"' 's|</body>|<iframe src="x.html"></iframe></body>|'
refused object '"<object"' 's|</body>|<Object data="x.pdf"></Object></body>|'
refused embed '"<embed"' 's|</body>|<embed src="x.swf"></body>|'
refused no-csp 'no Content-Security-Policy' 's|Content-Security-Policy|X-Nothing|'
refused no-doctype 'DOCTYPE' '1s|<!DOCTYPE html>||'
refused cut 'does not end' '$d'

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$CHROMIUM" ] || ! command -v python3 >/dev/null; then
  [ "$failures" -eq 0 ] || { finish; exit 1; } # the page checks above still count
  echo "SKIP: chromium or python3 is not installed ($checks page checks passed)"
  exit 77
fi
PROBE="$PA_SRC/tests/e2e/html_browser.py"

# probe PAGE OUTDIR: the page's measures as JSON in OUTDIR/result.json
probe() {
  mkdir -p "$2"
  timeout 300 python3 "$PROBE" "$CHROMIUM" "$1" "$2" >"$2/result.json"
}

# verify RESULT.json MIN_PAGES MAX_PAGES CHECKLIST_ROWS: prints each failed
# expectation, returns 1 when there is one.
verify() {
  python3 - "$@" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
lo, hi, rows = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
bad = []
def want(ok, what):
    if not ok:
        bad.append(what)
want(not r["console_errors"], "console errors: %r" % r["console_errors"])
want(not r["exceptions"], "exceptions: %r" % r["exceptions"])
want(not r["log_errors"], "log errors (CSP refusals, failed loads): %r" % r["log_errors"])
want(r["requests"] == [r["page_url"]], "requests other than the page: %r" % r["requests"])
d = r["dom"]
want(d["scripts"] == 0 and d["images"] == 0 and d["iframes"] == 0,
     "script/img/iframe elements: %d/%d/%d" % (d["scripts"], d["images"], d["iframes"]))
want(len(d["svgs"]) == 6, "%d charts, want 6" % len(d["svgs"]))
for s in d["svgs"]:
    want(s["w"] > 100 and s["h"] > 50 and s["attr_w"] and s["attr_h"] and s["title"]
         and s["texts"] > 3, "chart not drawn with a size and labels: %r" % s)
want(len(d["checklist_rows"]) == rows, "checklist rows %d, want %d" % (len(d["checklist_rows"]), rows))
want(all(a.split(" ")[0] in ("はい", "いいえ", "判定不能") for a in d["checklist_rows"]),
     "checklist answers: %r" % d["checklist_rows"])
want(not d["broken_links"], "links without a target: %r" % d["broken_links"])
want(d["sections"] == ["summary", "charts", "findings", "excepted", "maintenance", "checklist",
                       "not-decidable", "rules", "review"], "sections: %r" % d["sections"])
want(lo <= r["pdf_pages"] <= hi, "PDF pages %d, want %d..%d" % (r["pdf_pages"], lo, hi))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
}

png_ok() { # a PNG of some size
  [ "$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] &&
    [ "$(stat -c %s "$1")" -gt 10000 ]
}

# --- the sample report -------------------------------------------------------
check "render the sample" "$PA_HTML_RENDER" "$PA_SRC/fixtures/report/model-sample.json" "$WORK/sample.html"
check "load the sample in chromium" probe "$WORK/sample.html" "$WORK/sample"
check "sample: clean, charts drawn, checklist, PDF pages" verify "$WORK/sample/result.json" 2 50 5
check "sample: screenshot" png_ok "$WORK/sample/shot.png"
check "sample: the DOM holds the escaped hostile text, not markup" \
  grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' "$WORK/sample/dom.html"

# --- the demo's report: what `pacsaudit demo` writes from the bundled week -----
check "pacsaudit demo writes its report" "$PACSAUDIT" demo --out "$WORK/demo" --lang ja
check "load the demo's report in chromium" probe "$WORK/demo/report.html" "$WORK/demo-probe"
check "demo: clean, charts drawn, 13 checklist rows, PDF pages" \
  verify "$WORK/demo-probe/result.json" 2 80 13
check "demo: screenshot" png_ok "$WORK/demo-probe/shot.png"

# --- an empty model: the whole page, empty charts ------------------------------
echo '{"lang": "en"}' >"$WORK/empty.json"
check "render the empty model" "$PA_HTML_RENDER" "$WORK/empty.json" "$WORK/empty.html"
check "load the empty report in chromium" probe "$WORK/empty.html" "$WORK/empty"
check "empty: clean, six empty charts, PDF pages" verify "$WORK/empty/result.json" 1 20 0
check "empty: each chart says no data" \
  test "$(grep -o '>no data</text>' "$WORK/empty/dom.html" | wc -l)" -eq 6

# --- the checker sees what it must refuse --------------------------------------
cat >"$WORK/bad.html" <<'EOF'
<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>
<img src="file:///nonexistent/pacsaudit.png"><script>console.error("boom")</script></body></html>
EOF
check "load a misbehaving page" probe "$WORK/bad.html" "$WORK/bad"
refused() { ! verify "$@" >/dev/null; }
check "the checker refuses the misbehaving page" refused "$WORK/bad/result.json" 1 50 0
check "the checker saw its console error" grep -q '"boom"' "$WORK/bad/result.json"
check "the checker saw its request" grep -q 'file:///nonexistent/pacsaudit.png' "$WORK/bad/result.json"

# --- Chromium's own command-line PDF and DOM dump -------------------------------
chrome() {
  timeout 180 "$CHROMIUM" --headless=new --no-sandbox --disable-gpu --no-first-run \
    --disable-background-networking --user-data-dir="$WORK/ud-cli" "$@" 2>/dev/null
}
check "--print-to-pdf" chrome --no-pdf-header-footer --print-to-pdf="$WORK/cli.pdf" \
  "file://$WORK/sample.html"
pages=$(python3 -c 'import re,sys; print(len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", open(sys.argv[1],"rb").read())))' "$WORK/cli.pdf" 2>/dev/null || echo 0)
check "--print-to-pdf page count $pages in 2..50" test "$pages" -ge 2 -a "$pages" -le 50
chrome --dump-dom "file://$WORK/sample.html" >"$WORK/cli-dom.html" || true
check "--dump-dom: six charts with width and height" \
  test "$(grep -o '<svg xmlns="http://www.w3.org/2000/svg" width="680" height="[0-9]*"' "$WORK/cli-dom.html" | wc -l)" -eq 6
check "--dump-dom: the checklist" grep -q '<table class="checklist">' "$WORK/cli-dom.html"

finish
