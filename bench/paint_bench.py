"""Painting benchmark (issue #11 "Paint at the frame rate"): drives Debian's Chromium on this machine
through the playground and the optimizer lab while they train, and prints, for the code at a base
git revision ("before") and the working tree ("after") measured in the same run:

- drawn/s: frames the page drew per second. `window.nnPaint.drawn` when the page exposes it (its
  painting code counts what it drew); otherwise the animation frames in which the on-screen step
  counter (#iteration on the playground, #step-count in the lab) changed, seen by a
  MutationObserver: an update painted on screen, whatever the code (old and new alike);
- rAF/s: animation frames per second (a requestAnimationFrame loop; 60 on an idle page);
- long %: share of the wall time spent in main-thread long tasks (> 50 ms, PerformanceObserver
  'longtask', clipped to the measured window);
- recv/s: frames received per second on the websocket (binary frames, or JSON texts of type
  "frame" in the lab): drawn/recv near 1 means every frame received is drawn.

Scenarios (each a fresh 1280x800 page; play is started with the space key as a user would, then
~1 s of warm-up, then `--seconds` of measurement):
  playground      /#epochs=10000, the server's default frame rate (30 frames/s)
  playground-60   /#epochs=10000, 60 frames/s asked for
  deep-6x8        /#hidden=8,8,8,8,8,8&epochs=10000 (six hidden layers of 8 neurons), default frame rate
                  (10000 epochs, not the default 1000: a default run ends within ~8 s at 60 frames/s)
  lab-60          /lab#surface=rosenbrock, its 4 default optimizers racing at 60 frames/s (on the
                  default quadratic surface the race is over within ~5 s; on Rosenbrock's valley
                  it lasts thousands of steps)
"60 frames/s asked for" is done the same way for both revisions, through the page's own socket:
a wrapper around WebSocket sets `fps: 60` on every `speed` message the page sends and, if the page
sent none before its first `play`, sends {"type": "speed", "fps": 60} just before it.

"before" runs from a detached git worktree of --base (default e7471e3, the commit before the
painting work), created at /tmp/paint-base (reused when it exists; `git worktree remove
/tmp/paint-base` deletes it); its server runs with that directory as cwd and first on PYTHONPATH
(nothing is installed). Both servers run side by side; scenarios alternate before/after.
Figures only, never pass/fail: the machine is shared, so the load average is printed before and
after; compare ratios measured in one run.

    python3 bench/paint_bench.py [--base REV] [--seconds 8] [--only SCENARIO[,SCENARIO]]
                                 [--after-only] [--json FILE]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.live_server import free_port, start_server, stop_process  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
BASE_DIR = Path("/tmp/paint-base")
DEFAULT_BASE = "e7471e3"
VIEWPORT = {"width": 1280, "height": 800}
WARMUP_S = 1.0

# name -> (path with hash, counter selector, frame rate asked for or None = the server's default).
# The playground's runs get 10000 epochs: a default run (1000 epochs of 5 iterations) at 10 steps a
# frame ends after 500 frames, ~8 s at 60 frames/s, inside the measurement (frames stop, and the
# rate measured is the run's length, not the page's painting).
SCENARIOS = {
    "playground": ("/#epochs=10000", "#iteration", None),
    "playground-60": ("/#epochs=10000", "#iteration", 60),
    "deep-6x8": ("/#hidden=8,8,8,8,8,8&epochs=10000", "#iteration", None),
    "lab-60": ("/lab#surface=rosenbrock", "#step-count", 60),
}

# Installed before any page script: counters read back by `window.__bench.read()`.
INIT_SCRIPT = r"""
(() => {
  const B = window.__bench = { fps: %(fps)s, counter: %(counter)s, raf: 0, changedFrames: 0,
    mutations: 0, received: 0, messages: 0, long: [], t0: performance.now(), dirty: false, spoke: false };
  // websocket: count frames received; ask for the bench's frame rate
  const Orig = window.WebSocket;
  const FRAME = /^\s*\{\s*"type"\s*:\s*"frame"/;
  class BenchSocket extends Orig {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        B.messages++;
        if (typeof e.data !== 'string' || FRAME.test(e.data.slice(0, 40))) B.received++;
      });
    }
    send(data) {
      if (B.fps && typeof data === 'string') {
        try {
          const m = JSON.parse(data);
          if (m.type === 'speed') { m.fps = B.fps; data = JSON.stringify(m); B.spoke = true; }
          else if (m.type === 'play' && !B.spoke) { super.send(JSON.stringify({ type: 'speed', fps: B.fps })); B.spoke = true; }
        } catch (err) { /* not JSON: pass it on */ }
      }
      return super.send(data);
    }
  }
  window.WebSocket = BenchSocket;
  // long tasks
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) B.long.push([e.startTime, e.duration]);
    }).observe({ type: 'longtask', buffered: true });
  } catch (err) { B.noLongTasks = true; }
  // the counter: any change marks the next animation frame as drawn
  const watch = () => {
    const el = document.querySelector(B.counter);
    if (!el) { setTimeout(watch, 50); return; }
    B.el = el;
    new MutationObserver(() => { B.mutations++; B.dirty = true; })
      .observe(el, { childList: true, characterData: true, subtree: true });
  };
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', watch); else watch();
  let last = null;
  const tick = () => {
    B.raf++;
    const text = B.el ? B.el.textContent : null;
    if (B.dirty && text !== last) B.changedFrames++;
    B.dirty = false;
    last = text;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  const painted = () => (window.nnPaint && typeof window.nnPaint.drawn === 'number') ? window.nnPaint.drawn : null;
  B.reset = () => {
    Object.assign(B, { raf: 0, changedFrames: 0, mutations: 0, received: 0, t0: performance.now(),
                       paint0: painted() });
  };
  B.read = () => {
    const t1 = performance.now(), wall = t1 - B.t0;
    let longMs = 0;
    for (const [s, d] of B.long) longMs += Math.max(0, Math.min(s + d, t1) - Math.max(s, B.t0));
    const p = painted();
    const nnPaint = p !== null && B.paint0 !== null && B.paint0 !== undefined;
    return { wall_ms: wall, raf: B.raf, changed_frames: B.changedFrames, mutations: B.mutations,
             received: B.received, long_ms: longMs, no_long_tasks: !!B.noLongTasks,
             nnpaint: nnPaint, drawn: nnPaint ? p - B.paint0 : B.changedFrames,
             counter: B.el ? B.el.textContent : null };
  };
})();
"""


def git(*args: str, cwd: Path = ROOT) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def base_checkout(rev: str) -> Path:
    """A detached worktree of `rev`: BASE_DIR, or /tmp/paint-base-SHA when BASE_DIR holds another
    revision (an existing worktree is reused, never moved)."""
    want = git("rev-parse", f"{rev}^{{commit}}")
    for where in (BASE_DIR, Path(f"{BASE_DIR}-{want[:10]}")):
        if (where / ".git").exists():
            if git("rev-parse", "HEAD", cwd=where) == want and not git("status", "--porcelain", cwd=where):
                return where
            continue
        git("worktree", "prune")
        git("worktree", "add", "--detach", str(where), want)
        return where
    sys.exit(f"{BASE_DIR} and {BASE_DIR}-{want[:10]} hold other revisions or changes; remove one with `git worktree remove`")


def measure(browser, url: str, counter: str, fps, seconds: float) -> dict:
    context = browser.new_context(viewport=VIEWPORT)
    try:
        context.add_init_script(INIT_SCRIPT % {"fps": json.dumps(fps), "counter": json.dumps(counter)})
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(url, wait_until="load")
        page.wait_for_selector(counter, timeout=15000)
        page.wait_for_function("() => window.Plotly !== undefined", timeout=15000)
        # ready: the server answered on the socket (the first configuration's state)
        page.wait_for_function("() => window.__bench.messages > 0", timeout=15000)
        page.wait_for_timeout(800)
        start = page.evaluate(f"() => document.querySelector({json.dumps(counter)}).textContent")
        page.locator("body").focus()
        page.keyboard.press("Space")
        try:
            page.wait_for_function(f"() => document.querySelector({json.dumps(counter)}).textContent !== {json.dumps(start)}",
                                   timeout=10000)
        except Exception:
            return {"error": "the counter did not move after pressing space", "page_errors": errors}
        page.wait_for_timeout(WARMUP_S * 1000)
        page.evaluate("() => window.__bench.reset()")
        page.wait_for_timeout(seconds * 1000)
        r = page.evaluate("() => window.__bench.read()")
        r["page_errors"] = errors
        return r
    finally:
        context.close()


def rates(r: dict) -> dict:
    s = r["wall_ms"] / 1000
    return {"drawn": r["drawn"] / s, "counter": r["changed_frames"] / s, "raf": r["raf"] / s, "recv": r["received"] / s,
            "long": 100 * r["long_ms"] / r["wall_ms"], "via": "nnPaint" if r["nnpaint"] else "counter"}


def fmt(v, spec=".1f") -> str:
    return "-" if v is None else format(v, spec)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--base", default=DEFAULT_BASE, help=f"git revision measured as 'before' (default {DEFAULT_BASE})")
    ap.add_argument("--seconds", type=float, default=8.0, help="measured seconds per scenario (default 8)")
    ap.add_argument("--only", default="", help="comma-separated scenarios: " + ", ".join(SCENARIOS))
    ap.add_argument("--after-only", action="store_true", help="measure the working tree only")
    ap.add_argument("--json", help="also write the raw figures to this file")
    args = ap.parse_args()
    names = [n.strip() for n in args.only.split(",") if n.strip()] or list(SCENARIOS)
    unknown = [n for n in names if n not in SCENARIOS]
    if unknown:
        ap.error(f"unknown scenario(s) {unknown}; allowed: {', '.join(SCENARIOS)}")
    if not os.path.exists(CHROMIUM):
        sys.exit(f"this benchmark drives Debian's Chromium at {CHROMIUM} (apt-get install chromium)")

    revs = {"after": ROOT}
    head = git("rev-parse", "--short", "HEAD")
    dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    labels = {"after": f"working tree (HEAD {head}{' + uncommitted changes' if dirty else ''})"}
    if not args.after_only:
        revs = {"before": base_checkout(args.base), **revs}
        labels["before"] = f"{args.base} ({git('rev-parse', '--short', 'HEAD', cwd=revs['before'])}) in {revs['before']}"

    print(f"load average before: {os.getloadavg()}  ({os.cpu_count()} cores; figures are noisy on a shared machine)")
    for side, label in labels.items():
        print(f"  {side:6}: {label}")
    tmp = Path(tempfile.mkdtemp(prefix="paint-bench-"))
    servers, urls = {}, {}
    results: dict = {n: {} for n in names}
    try:
        for side, root in revs.items():
            port = free_port()
            servers[side] = start_server(port, tmp / f"{side}.log", "--db", str(tmp / f"{side}.sqlite3"), root=root)
            urls[side] = f"http://127.0.0.1:{port}"
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            try:
                for name in names:
                    path, counter, fps = SCENARIOS[name]
                    for side in revs:
                        r = measure(browser, urls[side] + path, counter, fps, args.seconds)
                        results[name][side] = r
                        if "error" in r:
                            print(f"  {name} {side}: {r['error']} {r.get('page_errors') or ''}", flush=True)
                        else:
                            x = rates(r)
                            via = x["via"] if x["via"] == "counter" else f"nnPaint; counter {x['counter']:.1f}/s"
                            print(f"  {name:14} {side:6} drawn {x['drawn']:5.1f}/s ({via})  rAF {x['raf']:5.1f}/s  "
                                  f"long tasks {x['long']:4.1f} %  received {x['recv']:5.1f}/s"
                                  f"{'  page errors: ' + '; '.join(r['page_errors']) if r['page_errors'] else ''}",
                                  flush=True)
            finally:
                browser.close()
    finally:
        for proc in servers.values():
            stop_process(proc)

    print(f"\nload average after: {os.getloadavg()}")
    print(f"{args.seconds:g} s per scenario at {VIEWPORT['width']}x{VIEWPORT['height']}; "
          "drawn/s via window.nnPaint.drawn where the page has it, else counter changes per animation frame\n")
    sides = list(revs)
    head_cells = ["scenario"]
    for metric in ("drawn/s", "rAF/s", "long %", "recv/s", "drawn/recv"):
        head_cells += [f"{metric} {s[:3]}" for s in sides]
    if "before" in sides:
        head_cells += ["drawn a/b", "rAF a/b", "long a/b"]
    rows = [head_cells]
    for name in names:
        x = {s: (rates(results[name][s]) if "error" not in results[name].get(s, {"error": 1}) else None) for s in sides}
        row = [name]
        for key in ("drawn", "raf", "long", "recv"):
            row += [fmt(x[s][key]) if x[s] else "err" for s in sides]
        row += [fmt(x[s]["drawn"] / x[s]["recv"], ".2f") if x[s] and x[s]["recv"] else "-" for s in sides]
        if "before" in sides:
            for key in ("drawn", "raf", "long"):
                a, b = x.get("after"), x.get("before")
                row.append(fmt(a[key] / b[key], ".2f") if a and b and b[key] else "-")
        rows.append(row)
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths))))
    print("\ngoals (issue #11): playground drawn = received (30/s) with long tasks < 25 %; "
          "playground-60 drawn >= 55/s; lab-60 >= 50/s; deep-6x8 >= 30/s")
    if args.json:
        Path(args.json).write_text(json.dumps({"labels": labels, "seconds": args.seconds, "results": results}, indent=1))


if __name__ == "__main__":
    main()
