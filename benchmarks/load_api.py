"""Load test of the JSON API on loopback: ``python benchmarks/load_api.py [--seconds 30] [--clients 50] [--postgres]``.

Starts the server (uvicorn, one process, or ``--workers N``) on a free 127.0.0.1 port over a temporary store
(SQLite by default; ``--postgres`` uses a fresh schema in ``$LYDIARD_TEST_POSTGRES_URL``,
dropped at the end), seeds ``--athletes`` users/athletes with API tokens, and runs
``--clients`` concurrent httpx clients for a bounded time. Each client acts for one
athlete (athletes are shared by several clients, so their writes and recomputes overlap)
and loops over a mix of:

* reads: today's assessment, the daily series (90 days), the activity list;
* check-ins: ``PUT /checkins/{day}`` with every item set, on days owned by that client
  (two clients never write the same athlete-day, so the last accepted write is known);
* small imports: ``POST /imports`` of a generated 2-minute TCX with a unique start.

Reports throughput, p50/p99 latency per route, and errors (any non-2xx or transport
error). Then every accepted check-in is read back and compared field by field, and the
number of activities imported is compared with the store. Target: zero errors, zero lost
check-ins, zero lost imports. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "resilience"))

from resilience_data import workout  # noqa: E402

CHECKIN_ITEMS = ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress")
#: Share of each kind of request in the mix.
MIX: tuple[tuple[str, float], ...] = (("today", 0.35), ("daily", 0.15), ("activities", 0.15),
                                      ("checkin", 0.28), ("import", 0.07))
#: How many past days one client cycles its check-ins over (days are owned per client).
CHECKIN_DAYS_PER_CLIENT = 6


@dataclass
class Stats:
    latencies_s: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter[str] = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    #: (athlete_id, day) -> the body of the last accepted check-in
    checkins: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    imported: Counter[str] = field(default_factory=Counter)  #: athlete_id -> activities imported


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def seed(settings: Any, n_athletes: int) -> list[tuple[str, str]]:
    """Users with athletes and write tokens: [(athlete_id, token)]."""
    from lydiard.services import users as user_svc
    from lydiard.services.access import Actor
    from lydiard.services.athletes import create_athlete
    from lydiard.services.context import open_context
    from lydiard.services.importing import import_upload
    from lydiard.services.tokens import create_token

    ctx = open_context(settings)
    out = []
    try:
        for i in range(n_athletes):
            password = f"load test password {i} {uuid.uuid4().hex}"
            u = user_svc.create_user(ctx, Actor.system(), email=f"load{i}@example.org",
                                     password=password, display_name=f"Load {i}")
            a = create_athlete(ctx, Actor.system(), name=f"Load {i}", tz="UTC", user_id=u.id)
            tok = create_token(ctx, user_svc.actor_for(u), name="load", scope="write", password=password).token
            import_upload(ctx, Actor.system(), a.id, name="seed.tcx", data=workout(900 + i, n_samples=120))
            out.append((a.id, tok))
    finally:
        ctx.close()
    return out


async def client_loop(k: int, athlete_id: str, token: str, base: str, deadline: float, stats: Stats,
                      import_counter: list[int]) -> None:
    rng = random.Random(k)
    kinds = [m[0] for m in MIX]
    weights = [m[1] for m in MIX]
    today = date.today()
    seq = 0
    async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"},
                                 timeout=60.0) as client:
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            seq += 1
            body: dict[str, Any] | None = None
            try:
                t0 = time.perf_counter()
                if kind == "today":
                    r = await client.get(f"/api/v1/athletes/{athlete_id}/today")
                elif kind == "daily":
                    r = await client.get(f"/api/v1/athletes/{athlete_id}/daily")
                elif kind == "activities":
                    r = await client.get(f"/api/v1/athletes/{athlete_id}/activities", params={"limit": 20})
                elif kind == "checkin":
                    # Days owned by this client: no other client writes this athlete-day.
                    day = today - timedelta(days=1 + k + 60 * rng.randrange(CHECKIN_DAYS_PER_CLIENT))
                    body = {item: float(rng.randint(1, 5)) for item in CHECKIN_ITEMS}
                    body.update(readiness=float(rng.randint(0, 10)), sleep_h=round(rng.uniform(4, 10), 1),
                                note=f"client {k} write {seq}")
                    r = await client.put(f"/api/v1/athletes/{athlete_id}/checkins/{day.isoformat()}", json=body)
                    if r.status_code == 200:
                        stats.checkins[(athlete_id, day.isoformat())] = body
                else:
                    import_counter[0] += 1
                    n = import_counter[0]
                    data = workout(n, n_samples=120)
                    r = await client.post(f"/api/v1/athletes/{athlete_id}/imports",
                                          files={"files": (f"load-{n}.tcx", data, "application/xml")})
                    if r.status_code == 201:
                        stats.imported[athlete_id] += int(r.json()["counts"].get("imported", 0))
                stats.latencies_s[kind].append(time.perf_counter() - t0)
                if r.status_code >= 300:
                    stats.errors[f"{kind} {r.status_code}"] += 1
                    if len(stats.error_samples) < 10:
                        stats.error_samples.append(f"{kind} {r.status_code}: {r.text[:300]}")
            except httpx.HTTPError as exc:
                stats.errors[f"{kind} {type(exc).__name__}"] += 1
                if len(stats.error_samples) < 10:
                    stats.error_samples.append(f"{kind}: {exc!r}")


async def verify(base: str, tokens: dict[str, str], stats: Stats) -> list[str]:
    """Read every accepted check-in back; the differences."""
    lost: list[str] = []
    async with httpx.AsyncClient(base_url=base, timeout=60.0) as client:
        for (athlete_id, day), body in sorted(stats.checkins.items()):
            r = await client.get(f"/api/v1/athletes/{athlete_id}/checkins/{day}",
                                 headers={"Authorization": f"Bearer {tokens[athlete_id]}"})
            if r.status_code != 200:
                lost.append(f"{athlete_id} {day}: read back {r.status_code}")
                continue
            got = r.json()
            diff = {k: (v, got.get(k)) for k, v in body.items() if got.get(k) != v}
            if diff:
                lost.append(f"{athlete_id} {day}: {diff}")
    return lost


def pct(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))] if s else float("nan")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=30.0, help="how long the clients run")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients")
    ap.add_argument("--athletes", type=int, default=10, help="athletes (shared by the clients)")
    ap.add_argument("--postgres", action="store_true", help="PostgreSQL ($LYDIARD_TEST_POSTGRES_URL) instead of SQLite")
    ap.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (lydiard serve --workers)")
    args = ap.parse_args(argv)
    args.seconds = min(args.seconds, 600.0)  # bounded, whatever is asked
    args.clients = min(args.clients, 200)

    import sqlalchemy as sa

    from lydiard.config import Settings

    tmp = tempfile.TemporaryDirectory(prefix="lydiard-load-")
    home = Path(tmp.name) / "home"
    db_url: str | None = None
    admin: sa.Engine | None = None
    schema = f"load_{uuid.uuid4().hex[:10]}"
    if args.postgres:
        pg = os.environ.get("LYDIARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
        admin = sa.create_engine(pg)
        with admin.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        db_url = f"{pg}{'&' if '?' in pg else '?'}options=-csearch_path%3D{schema}"
    settings = Settings(home=home, database_url=db_url)
    server: subprocess.Popen[bytes] | None = None
    try:
        print(f"seeding {args.athletes} athletes ({'PostgreSQL' if args.postgres else 'SQLite'})...", flush=True)
        athletes = seed(settings, args.athletes)
        port = free_port()
        env = dict(os.environ, LYDIARD_HOME=str(home))
        if db_url:
            env["LYDIARD_DATABASE_URL"] = db_url
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "lydiard.interfaces.app:create_app_from_env", "--factory",
             "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log",
             *(["--workers", str(args.workers)] if args.workers > 1 else [])],
            env=env)
        base = f"http://127.0.0.1:{port}"
        t_wait = time.monotonic()
        while True:
            try:
                httpx.get(f"{base}/api/v1/auth/me", timeout=2.0)
                break
            except httpx.HTTPError:
                if server.poll() is not None or time.monotonic() - t_wait > 60:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.2)
        print(f"server on {base} ({args.workers} worker process(es)); {args.clients} clients for {args.seconds:g} s",
              flush=True)
        stats = Stats()
        counter = [0]
        deadline = time.monotonic() + args.seconds

        async def run_all() -> float:
            t0 = time.perf_counter()
            await asyncio.gather(*[
                client_loop(k, *athletes[k % len(athletes)], base, deadline, stats, counter)
                for k in range(args.clients)])
            return time.perf_counter() - t0

        elapsed = asyncio.run(run_all())
        tokens = dict(athletes)
        lost = asyncio.run(verify(base, tokens, stats))
        # Every import the API accepted is in the store (seed imports included).
        from lydiard.services.context import open_context
        from lydiard.storage.tables import activities

        ctx = open_context(settings, migrate=False)
        try:
            with ctx.engine.connect() as conn:
                stored = dict(conn.execute(sa.select(activities.c.athlete_id, sa.func.count())
                                           .group_by(activities.c.athlete_id)).all())
        finally:
            ctx.close()
        lost_imports = [f"{a}: {stored.get(a, 0)} stored, {stats.imported[a] + 1} accepted"
                        for a, _ in athletes if stored.get(a, 0) != stats.imported[a] + 1]
    finally:
        if server is not None and server.poll() is None:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        if admin is not None:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()
        tmp.cleanup()

    total = sum(len(v) for v in stats.latencies_s.values())
    all_lat = [x for v in stats.latencies_s.values() for x in v]
    print(f"\n{total} requests in {elapsed:.1f} s: {total / elapsed:.1f} req/s; "
          f"p50 {pct(all_lat, 0.5) * 1000:.0f} ms, p99 {pct(all_lat, 0.99) * 1000:.0f} ms")
    print(f"{'route':12s} {'n':>6s} {'p50 ms':>8s} {'p99 ms':>8s}")
    for kind, _ in MIX:
        v = stats.latencies_s.get(kind, [])
        print(f"{kind:12s} {len(v):6d} {pct(v, 0.5) * 1000:8.0f} {pct(v, 0.99) * 1000:8.0f}")
    n_errors = sum(stats.errors.values())
    print(f"errors: {n_errors} {dict(stats.errors) if n_errors else ''}")
    for s in stats.error_samples:
        print(f"  {s}")
    print(f"check-ins accepted (distinct athlete-days): {len(stats.checkins)}; lost or different: {len(lost)}")
    for line in lost[:10]:
        print(f"  {line}")
    print(f"imports accepted: {sum(stats.imported.values())}; missing from the store: {len(lost_imports)}")
    for line in lost_imports[:10]:
        print(f"  {line}")
    return 1 if (n_errors or lost or lost_imports) else 0


if __name__ == "__main__":
    raise SystemExit(main())
