"""Web latency under concurrency: Today, Trends and the coach's roster.

Seeds a coach following ``--athletes`` simulated athletes with ``--days`` of history through
the bulk path (``lydiard.services.demo.seed_cohort``: COPY/executemany, daily metrics computed
by the batch kernels and written as ``lydiard recompute`` writes them, with evidence JSON for
each athlete's last ``--detail-days`` days), starts ``uvicorn`` in a separate process on the
loopback, then drives it with ``--clients`` concurrent httpx clients (bounded by a request
count and a time limit per endpoint) and prints p50/p95 per page.

Targets on the 2-core reference machine: Today and Trends p95 < 100 ms, roster p95 < 300 ms.

    python benchmarks/web_latency.py [--athletes 200] [--days 730] [--clients 20] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

TARGETS_MS = {"today": 100.0, "trends page": 100.0, "trends data": 100.0, "roster": 300.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(home: Path, database_url: str | None, athletes: int, days: int, detail_days: int) -> tuple[list[str], str]:
    from lydiard.config import Settings
    from lydiard.services import users as user_svc
    from lydiard.services.context import open_context
    from lydiard.services.demo import seed_cohort

    settings = Settings(home=home, database_url=database_url, secret_key="bench-" + "k" * 40)
    ctx = open_context(settings)
    t0 = time.perf_counter()
    info = seed_cohort(ctx, athletes_n=athletes, days=days, detail_days=detail_days)
    print(f"seeded {athletes} athletes × {days} days in {time.perf_counter() - t0:.1f} s (bulk path)")
    token = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="127.0.0.1").token
    ctx.close()
    return list(info.athlete_ids), token


async def drive(base: str, token: str, name: str, urls: list[str], *, clients: int, requests: int,
                limit_s: float) -> list[float]:
    """``clients`` concurrent loops until ``requests`` responses or ``limit_s`` seconds; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))
    deadline = time.perf_counter() + limit_s
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, cookies={"lydiard_session": token}, limits=limits,
                                 timeout=30.0, headers={"accept": "text/html"}) as client:

        async def worker(seed: int) -> None:
            rng = random.Random(seed)
            for _ in counter:
                if time.perf_counter() > deadline:
                    return
                url = rng.choice(urls)
                t = time.perf_counter()
                r = await client.get(url)
                latencies.append((time.perf_counter() - t) * 1000.0)
                if r.status_code != 200:
                    errors.append(f"{r.status_code} {url}")

        await asyncio.gather(*(worker(i) for i in range(clients)))
    if errors:
        print(f"  {name}: {len(errors)} non-200 responses, e.g. {errors[:3]}")
    return latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--athletes", type=int, default=200)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=400, help="responses per page kind")
    ap.add_argument("--limit-s", type=float, default=60.0, help="time limit per page kind")
    ap.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
    ap.add_argument("--detail-days", type=int, default=7, help="days with evidence JSON per athlete (seeding)")
    ap.add_argument("--database-url", default=None, help="default: SQLite in a temporary directory")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="lydiard-bench-") as tmp:
        home = Path(tmp)
        athlete_ids, token = seed(home, args.database_url, args.athletes, args.days, args.detail_days)
        port = free_port()
        env = dict(os.environ, LYDIARD_HOME=str(home), LYDIARD_SECRET_KEY="bench-" + "k" * 40)
        if args.database_url:
            env["LYDIARD_DATABASE_URL"] = args.database_url
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--factory", "lydiard.interfaces.http.app:create_app_from_env",
             "--host", "127.0.0.1", "--port", str(port), "--workers", str(args.workers), "--log-level", "warning",
             "--no-access-log"], env=env)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(base + "/login", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or server.poll() is not None:
                    print("the server did not start")
                    return 1
                time.sleep(0.2)
            pages = {
                "today": [f"/athletes/{a}/today" for a in athlete_ids],
                "trends page": [f"/athletes/{a}/trends" for a in athlete_ids],
                "trends data": [f"/athletes/{a}/trends/data.json" for a in athlete_ids],
                "roster": ["/roster"],
            }
            # One warm-up pass: first requests import templates and fill per-process caches.
            asyncio.run(drive(base, token, "warm-up", [u for v in pages.values() for u in v[:5]], clients=4,
                              requests=40, limit_s=30))
            print(f"{args.clients} concurrent clients, up to {args.requests} requests or {args.limit_s:.0f} s per page, "
                  f"{args.workers} worker process(es), {'PostgreSQL' if args.database_url else 'SQLite'}")
            print(f"{'page':<12} {'n':>5} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'req/s':>7}  target p95")
            failed = False
            for name, urls in pages.items():
                t0 = time.perf_counter()
                lat = asyncio.run(drive(base, token, name, urls, clients=args.clients, requests=args.requests,
                                        limit_s=args.limit_s))
                wall = time.perf_counter() - t0
                p95 = pct(lat, 0.95)
                ok = p95 < TARGETS_MS[name]
                failed |= not ok
                print(f"{name:<12} {len(lat):>5} {statistics.median(lat):>8.1f} {p95:>8.1f} {max(lat):>8.1f} "
                      f"{len(lat) / wall:>7.1f}  < {TARGETS_MS[name]:.0f} {'ok' if ok else 'MISSED'}")
            return 1 if failed else 0
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    raise SystemExit(main())
