"""Web latency under concurrency: Today, Trends and the coach's roster.

Seeds a coach following ``--athletes`` simulated athletes with ``--days`` of history through
the bulk path (``lydiard.services.demo.seed_cohort``: COPY/executemany, daily metrics computed
by the batch kernels and written as ``lydiard recompute`` writes them, with evidence JSON for
each athlete's last ``--detail-days`` days), starts ``uvicorn`` in a separate process on the
loopback, then drives it with ``--clients`` concurrent clients (bounded by a request count and
a time limit per endpoint) and prints p50/p95 per page.

The clients are a minimal asyncio HTTP/1.1 client (:class:`Connection`), not httpx: the client
runs on the same two cores as the server, and httpx cost about as much CPU per request as the
pages themselves. Each client behaves like one browser tab: one keep-alive connection, the
session cookie, ``Accept-Encoding: gzip``; a latency is measured from writing the request to
having read (and, when gzip-encoded, decompressed) the whole body, and any status other than
200 is reported.

Targets on the 2-core reference machine: Today and Trends p95 < 100 ms, roster p95 < 300 ms.

    python benchmarks/web_latency.py [--athletes 200] [--days 730] [--clients 20] [--requests 400]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
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

    settings = Settings(home=home, database_url=database_url)
    ctx = open_context(settings)
    t0 = time.perf_counter()
    info = seed_cohort(ctx, athletes_n=athletes, days=days, detail_days=detail_days)
    print(f"seeded {athletes} athletes × {days} days in {time.perf_counter() - t0:.1f} s (bulk path)")
    token = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="127.0.0.1").token
    ctx.close()
    return list(info.athlete_ids), token


class Connection:
    """One keep-alive HTTP/1.1 connection (like a browser tab): GET, full body read, gzip decoded."""

    def __init__(self, host: str, port: int, cookie: str) -> None:
        self.host, self.port, self.cookie = host, port, cookie
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> tuple[int, bytes]:
        if self.writer is None or self.reader is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        self.writer.write((f"GET {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nAccept: text/html\r\n"
                           f"Accept-Encoding: gzip\r\nCookie: lydiard_session={self.cookie}\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await self.reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        else:
            body = await self.reader.readexactly(int(headers.get("content-length", "0")))
        if headers.get("content-encoding") == "gzip":
            body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
        if headers.get("connection", "").lower() == "close":
            await self.close()
        return status, body

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


async def drive(base: str, token: str, name: str, urls: list[str], *, clients: int, requests: int,
                limit_s: float) -> list[float]:
    """``clients`` concurrent loops until ``requests`` responses or ``limit_s`` seconds; latencies in ms."""
    latencies: list[float] = []
    errors: list[str] = []
    counter = iter(range(requests))
    deadline = time.perf_counter() + limit_s
    host, port = base.removeprefix("http://").split(":")

    async def worker(seed: int) -> None:
        rng = random.Random(seed)
        conn = Connection(host, int(port), token)
        try:
            for _ in counter:
                if time.perf_counter() > deadline:
                    return
                url = rng.choice(urls)
                t = time.perf_counter()
                status, body = await conn.get(url)
                latencies.append((time.perf_counter() - t) * 1000.0)
                if status != 200 or not body:
                    errors.append(f"{status} {url}")
        finally:
            await conn.close()

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
            [sys.executable, "-m", "uvicorn", "--factory", "lydiard.interfaces.app:create_app_from_env",
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
            print(f"load average {os.getloadavg()[0]:.2f} before measuring")
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
                      f"{len(lat) / wall:>7.1f}  < {TARGETS_MS[name]:.0f} {'ok' if ok else 'MISSED'}"
                      f"  (load {os.getloadavg()[0]:.2f})")
            return 1 if failed else 0
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    raise SystemExit(main())
