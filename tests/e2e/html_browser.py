#!/usr/bin/env python3
"""html_browser.py — loads an HTML report in headless Chromium over the
DevTools protocol (--remote-debugging-pipe) and checks it.

  html_browser.py CHROMIUM PAGE.html OUTDIR

Writes OUTDIR/shot.png, OUTDIR/dom.html, OUTDIR/page.pdf and prints one JSON
object: console errors and exceptions, log errors (CSP refusals land there),
every request the page made, what the DOM holds (the SVG charts and their
drawn size, the checklist rows, scripts, images), and the PDF's page count.
The shell test decides what passes. Exit 0 when the page could be loaded and
measured, 1 otherwise (a message on stderr)."""
import base64
import json
import os
import re
import subprocess
import sys
import tempfile
import time

TIMEOUT = 240  # seconds for the whole session (a loaded CI machine is slow)


class Pipe:
    """DevTools messages over fds 3 (to Chromium) and 4 (from it), each a JSON
    text ended by a NUL byte."""

    def __init__(self, chromium, user_dir):
        to_r, self.to_w = os.pipe()
        self.from_r, from_w = os.pipe()
        # The child must see them as fds 3 and 4 (copies first, in case one
        # of them already is 3 or 4); pass_fds keeps 3 and 4 open past the
        # closing of the others, which runs after preexec_fn.
        def child():
            a, b = os.dup(to_r), os.dup(from_w)
            os.dup2(a, 3)
            os.dup2(b, 4)
        args = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu",
                "--remote-debugging-pipe", "--user-data-dir=" + user_dir,
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-default-apps", "--mute-audio",
                "--window-size=1000,1400", "about:blank"]
        self.proc = subprocess.Popen(args, preexec_fn=child, pass_fds=(3, 4),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_r)
        os.close(from_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.deadline = time.monotonic() + TIMEOUT

    def _read_one(self):
        while b"\0" not in self.buf:
            if time.monotonic() > self.deadline:
                raise TimeoutError("no answer from chromium")
            chunk = os.read(self.from_r, 65536)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self.buf += chunk
        msg, self.buf = self.buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method, params=None, session=None):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self.to_w, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_one()
            if m.get("id") == mid:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m["error"]))
                return m.get("result", {})
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method, seconds):
        end = min(self.deadline, time.monotonic() + seconds)
        for e in self.events:
            if e["method"] == method:
                return e
        while time.monotonic() < end:
            m = self._read_one()
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m
        return None

    def close(self):
        try:
            self.call("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


DOM_PROBE = r"""
(() => {
  const svgs = [...document.querySelectorAll('figure.chart svg')].map(s => {
    const r = s.getBoundingClientRect();
    return {w: r.width, h: r.height, attr_w: s.getAttribute('width'),
            attr_h: s.getAttribute('height'), title: (s.querySelector('title') || {}).textContent,
            rects: s.querySelectorAll('rect').length, texts: s.querySelectorAll('text').length};
  });
  const ck = document.querySelector('#checklist table.checklist');
  const rows = ck ? [...ck.querySelectorAll('tbody tr')].map(r => r.cells[2].textContent) : [];
  const brokenLinks = [...document.querySelectorAll('a[href^="#"]')]
    .filter(a => !document.getElementById(decodeURIComponent(a.getAttribute('href').slice(1))))
    .map(a => a.getAttribute('href'));
  return {svgs, checklist_rows: rows, scripts: document.scripts.length,
          images: document.images.length, iframes: document.querySelectorAll('iframe').length,
          broken_links: brokenLinks, title: document.title,
          sections: [...document.querySelectorAll('section')].map(s => s.id)};
})()
"""


def main():
    chromium, page, outdir = sys.argv[1:4]
    url = "file://" + os.path.abspath(page)
    with tempfile.TemporaryDirectory() as ud:
        p = Pipe(chromium, ud)
        try:
            target = p.call("Target.createTarget", {"url": "about:blank"})["targetId"]
            sess = p.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for d in ("Page", "Runtime", "Log", "Network"):
                p.call(d + ".enable", session=sess)
            p.call("Page.navigate", {"url": url}, session=sess)
            if not p.wait_event("Page.loadEventFired", 30):
                raise TimeoutError("the page did not load")
            dom = p.call("Runtime.evaluate", {"expression": DOM_PROBE, "returnByValue": True},
                         session=sess)["result"]["value"]
            html = p.call("Runtime.evaluate",
                          {"expression": "document.documentElement.outerHTML",
                           "returnByValue": True}, session=sess)["result"]["value"]
            with open(os.path.join(outdir, "dom.html"), "w", encoding="utf-8") as f:
                f.write(html)
            shot = p.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True},
                          session=sess)["data"]
            with open(os.path.join(outdir, "shot.png"), "wb") as f:
                f.write(base64.b64decode(shot))
            pdf = base64.b64decode(p.call("Page.printToPDF", {"printBackground": True,
                                                              "preferCSSPageSize": True},
                                          session=sess)["data"])
            with open(os.path.join(outdir, "page.pdf"), "wb") as f:
                f.write(pdf)
            time.sleep(0.3)  # let late console or network events arrive
            p.call("Runtime.evaluate", {"expression": "1"}, session=sess)
        finally:
            p.close()
    ev = p.events
    out = {
        "console_errors": [e["params"].get("args", [{}])[0].get("value", "")
                           for e in ev if e["method"] == "Runtime.consoleAPICalled"
                           and e["params"].get("type") in ("error", "assert")],
        "exceptions": [e["params"]["exceptionDetails"].get("text", "")
                       for e in ev if e["method"] == "Runtime.exceptionThrown"],
        "log_errors": [e["params"]["entry"].get("text", "")
                       for e in ev if e["method"] == "Log.entryAdded"
                       and e["params"]["entry"].get("level") in ("error", "warning")],
        "requests": [e["params"]["request"]["url"]
                     for e in ev if e["method"] == "Network.requestWillBeSent"],
        "page_url": url,
        "dom": dom,
        "pdf_pages": len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf)),
        "pdf_bytes": len(pdf),
    }
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # one line for the shell test
        print("html_browser: %s" % e, file=sys.stderr)
        sys.exit(1)
