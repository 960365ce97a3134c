"""Browser-side speed of the chart pages: Trends, an activity and the plan, against a named peer.

Seeds one store (the demo athlete: a simulated year, plus the shared corpus's workout files when
``LYDIARD_SHARED`` points at it), copies it for each implementation, serves each with ``uvicorn``
on its own loopback port, and drives Debian's Chromium through Playwright (the project's browser
flags). Per page and implementation, the median of ``--runs`` warm loads (one unmeasured load
first, same browser context, so the HTTP cache is warm as for a returning user):

* time from DOMContentLoaded to the first chart drawn and to every chart drawn, on Trends, the
  plan (forecast; 6 planned weeks are seeded) and the first activity: the moment a chart
  container is marked drawn (``data-rendered``, a canvas, or for the peer plotly's
  ``.js-plotly-plot`` class), taken in the page by a MutationObserver (not by polling from
  Playwright, whose round trips would add their own latency); 0 when drawn before
  DOMContentLoaded;
* JavaScript bytes per page as transferred (compressed when the server compresses; a cached
  file counts its full transfer size, measured on a cold load);
* the longest main-thread task (PerformanceObserver ``longtask``), from navigation to all charts.

The peer is the implementation at ``--base`` (default ``50e894b``, Plotly served from the
``plotly`` package), checked out into a temporary git worktree with its own virtualenv
(created once under ``--work``; ``pip install -e``). Targets: first chart ≤ 300 ms and all
charts ≤ 1 s after DOMContentLoaded, ≤ 200 KB of JavaScript per page compressed, no task
over 200 ms.

    python benchmarks/web_pages.py [--runs 5] [--days 365] [--base 50e894b] [--work /tmp/lydiard-web-bench]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]
SECRET = "bench-" + "k" * 40
TARGETS = {"first_ms": 300.0, "all_ms": 1000.0, "js_kb": 200.0, "longtask_ms": 200.0}

#: Runs in the page before any script: collects long tasks, and the moment each chart container
#: is drawn (a MutationObserver: its callback runs right after the task that drew the chart).
INIT_SCRIPT = """
window.__lt = [];
window.__drawn = new Map();
try {
  new PerformanceObserver(function (l) { l.getEntries().forEach(function (e) { window.__lt.push(e.duration); }); })
    .observe({ type: "longtask", buffered: true });
} catch (e) {}
function __isDrawn(el) {
  return el.getAttribute('data-rendered') || el.classList.contains('js-plotly-plot') || el.querySelector('canvas, svg.main-svg');
}
new MutationObserver(function (records) {
  var now = performance.now();
  records.forEach(function (r) {
    var t = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    var el = t && t.closest ? t.closest('[data-chart], [data-figure]') : null;
    if (el && !window.__drawn.has(el) && __isDrawn(el)) { window.__drawn.set(el, now); }
  });
}).observe(document, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-rendered', 'class'] });
"""
#: Resolves with timings once every chart container is drawn (or after 30 s).
WAIT_CHARTS = """
(sel) => new Promise((resolve) => {
  const t0 = performance.now();
  function tick() {
    const els = Array.from(document.querySelectorAll(sel));
    const times = els.map((el) => window.__drawn.get(el)).filter((t) => t !== undefined);
    if ((els.length && times.length === els.length) || performance.now() - t0 > 30000) {
      const nav = performance.getEntriesByType('navigation')[0];
      resolve({ dcl: nav.domContentLoadedEventEnd, first: times.length ? Math.min(...times) : null,
                all: times.length ? Math.max(...times) : null, n: els.length, drawn: times.length,
                longest: Math.max(0, ...(window.__lt || [])) });
      return;
    }
    requestAnimationFrame(tick);
  }
  tick();
})
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(home: Path, days: int, python: str = sys.executable, src: Path | None = None) -> dict[str, Any]:
    """The demo store (no roster scenarios, no PMData), seeded by the implementation that will
    serve it (each knows its own schema); returns the logins and athlete id."""
    code = (
        "import json,sys\n"
        "from pathlib import Path\n"
        "from lydiard.config import Settings\n"
        "from lydiard.services.context import open_context\n"
        "from datetime import timedelta\n"
        "from lydiard.services import planning\n"
        "from lydiard.services.access import Actor\n"
        "from lydiard.services.demo import load_demo\n"
        "from lydiard.services.metrics import local_today\n"
        f"ctx = open_context(Settings(home=Path({str(home)!r}), secret_key={SECRET!r}))\n"
        f"info = load_demo(ctx, days={days}, roster_scenarios=False, pmdata=False)\n"
        "today = local_today(ctx, 'Europe/Oslo')\n"
        "kinds = [('easy', 45), ('intervals', 75), ('rest', 0), ('tempo', 60), ('easy', 40), ('long', 120), ('rest', 0)]\n"
        "for i in range(1, 43):\n"
        "    kind, minutes = kinds[i % 7]\n"
        "    if minutes:\n"
        "        planning.create_session(ctx, Actor.system(), info.athlete_id, day=today + timedelta(days=i),\n"
        "                                sport='run', session_type=kind, duration_s=minutes * 60.0)\n"
        "print(json.dumps({'aid': info.athlete_id, 'logins': [[x.email, x.password] for x in info.logins],"
        " 'activities': info.corpus_activities}))\n"
        "ctx.close()\n"
    )
    env = dict(os.environ, PYTHONPATH=str(src)) if src is not None else None
    out = subprocess.run([python, "-c", code], check=True, capture_output=True, text=True, env=env).stdout
    return dict(json.loads(out.strip().splitlines()[-1]))


def peer_env(base: str, work: Path) -> tuple[str, Path]:
    """The peer's python (a virtualenv over a worktree of ``base``), created once under ``work``."""
    tree, venv = work / f"tree-{base}", work / f"venv-{base}"
    if not tree.is_dir():
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), base], check=True,
                       capture_output=True)
    python = venv / "bin" / "python"
    if not python.is_file():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(tree)], check=True)
    return str(python), tree / "src"


@contextlib.contextmanager
def serve(python: str, src: Path | None, home: Path) -> Iterator[str]:
    port = free_port()
    env = dict(os.environ, LYDIARD_HOME=str(home), LYDIARD_SECRET_KEY=SECRET)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    # the composition root moved from interfaces/http/app.py to interfaces/app.py after 50e894b
    root = (src or ROOT / "src") / "lydiard" / "interfaces"
    factory = ("lydiard.interfaces.app:create_app_from_env" if (root / "app.py").is_file()
               else "lydiard.interfaces.http.app:create_app_from_env")
    proc = subprocess.Popen([python, "-m", "uvicorn", "--factory", factory,
                             "--host", "127.0.0.1", "--port", str(port), "--no-access-log", "--log-level", "warning"],
                            env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/login", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        else:
            raise RuntimeError(f"server on {url} did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def measure(url: str, login: tuple[str, str], aid: str, runs: int, label: str) -> dict[str, dict[str, float]]:
    from playwright.sync_api import sync_playwright

    pages = {"trends": (f"/athletes/{aid}/trends", "[data-chart], [data-figure]"),
             "plan": (f"/athletes/{aid}/plan", "[data-chart], [data-figure]")}
    results: dict[str, dict[str, float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        ctx = browser.new_context(viewport={"width": 1366, "height": 900})
        ctx.add_init_script(INIT_SCRIPT)
        page = ctx.new_page()
        page.goto(url + "/login")
        page.fill("input[name=email]", login[0])
        page.fill("input[name=password]", login[1])
        page.click("button[type=submit]")
        page.wait_for_load_state("load")
        links = page.evaluate(f"""() => Array.from(document.querySelectorAll('a[href^="/athletes/{aid}/activities/"]'))
                                   .map(a => a.getAttribute('href'))""")
        if not links:
            page.goto(url + f"/athletes/{aid}/activities")
            links = page.evaluate("""() => Array.from(document.querySelectorAll('table a[href*="/activities/"]'))
                                      .map(a => a.getAttribute('href'))""")
        if links:
            pages["activity"] = (links[0], "[data-chart], [data-figure]")
        for name, (path, sel) in pages.items():
            # JS bytes, cold: a fresh context, transfer sizes of every script.
            cold = browser.new_context(viewport={"width": 1366, "height": 900}, storage_state=ctx.storage_state())
            cp = cold.new_page()
            js_bytes = 0

            def on_response(resp: Any) -> None:
                nonlocal js_bytes
                if resp.request.resource_type == "script":
                    sizes = resp.request.sizes()
                    js_bytes += int(sizes.get("responseBodySize", 0)) + int(sizes.get("responseHeadersSize", 0))

            cp.on("response", on_response)
            cp.goto(url + path, wait_until="load")
            cp.wait_for_timeout(300)
            cold.close()
            page.goto(url + path, wait_until="domcontentloaded")  # warm-up (server document, HTTP cache)
            page.evaluate(WAIT_CHARTS, sel)
            firsts, alls, longs = [], [], []
            for _ in range(runs):
                page.goto(url + path, wait_until="domcontentloaded")
                r = page.evaluate(WAIT_CHARTS, sel)
                if r["first"] is None or r["n"] == 0 or r["drawn"] < r["n"]:
                    continue
                firsts.append(max(0.0, r["first"] - r["dcl"]))
                alls.append(max(0.0, r["all"] - r["dcl"]))
                longs.append(r["longest"])
            results[name] = {
                "first_ms": statistics.median(firsts) if firsts else float("nan"),
                "all_ms": statistics.median(alls) if alls else float("nan"),
                "js_kb": js_bytes / 1024.0,
                "longtask_ms": statistics.median(longs) if longs else float("nan"),
                "charts": float(r["n"]),
            }
            never = " (never drawn)" if not firsts and r["n"] else ""
            print(f"  {label:8s} {name:9s} first {results[name]['first_ms']:7.0f} ms  all {results[name]['all_ms']:7.0f} ms"
                  f"  JS {results[name]['js_kb']:7.1f} KB  longest task {results[name]['longtask_ms']:5.0f} ms"
                  f"  ({int(r['n'])} charts){never}", flush=True)
        browser.close()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--base", default="50e894b", help="the peer: a commit of this repository")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "lydiard-web-bench",
                    help="where the peer's worktree and virtualenv are kept between runs")
    ap.add_argument("--no-peer", action="store_true", help="measure this implementation only")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} not found (Debian's chromium package)")
    args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "current"
        t0 = time.perf_counter()
        info = seed(home, args.days)
        print(f"seeded the demo athlete ({args.days} days, {info['activities']} corpus activities) "
              f"in {time.perf_counter() - t0:.1f} s")
        impls: list[tuple[str, str, Path | None, Path, dict[str, Any]]] = [("current", sys.executable, None, home, info)]
        if not args.no_peer:
            python, src = peer_env(args.base, args.work)
            peer_home = Path(tmp) / "peer"
            peer_info = seed(peer_home, args.days, python, src)  # the same simulated year (seeded)
            impls.append((args.base, python, src, peer_home, peer_info))
        table: dict[str, dict[str, dict[str, float]]] = {}
        for label, python, src, h, i in impls:
            login = (i["logins"][1][0], i["logins"][1][1])  # the athlete
            with serve(python, src, h) as url:
                table[label] = measure(url, login, i["aid"], args.runs, label)
    print(f"\nmedian of {args.runs} warm loads, 1366×900; targets: first chart ≤ {TARGETS['first_ms']:.0f} ms, "
          f"all ≤ {TARGETS['all_ms']:.0f} ms, JS ≤ {TARGETS['js_kb']:.0f} KB, longest task ≤ "
          f"{TARGETS['longtask_ms']:.0f} ms")
    cur = table["current"]
    for page_name, r in cur.items():
        line = (f"{page_name:9s} first {r['first_ms']:6.0f} ms  all {r['all_ms']:6.0f} ms  JS {r['js_kb']:6.1f} KB  "
                f"longest task {r['longtask_ms']:4.0f} ms")
        peer = table.get(args.base, {}).get(page_name)
        if peer:
            def ratio(k: str, r: dict[str, float] = r, peer: dict[str, float] = peer) -> str:
                return f"{peer[k] / r[k]:.1f}×" if r[k] and r[k] == r[k] and peer[k] == peer[k] else "n/a"

            line += (f"   | {args.base}: first {peer['first_ms']:6.0f} ms ({ratio('first_ms')})  all "
                     f"{peer['all_ms']:6.0f} ms ({ratio('all_ms')})  JS {peer['js_kb']:7.1f} KB ({ratio('js_kb')})  "
                     f"longest task {peer['longtask_ms']:4.0f} ms")
        ok = all(r[k] <= TARGETS[k] for k in TARGETS if r[k] == r[k])
        print(line + ("   [targets met]" if ok else "   [TARGET MISSED]"))


if __name__ == "__main__":
    main()
