"""Batch recompute at scale: simulated athletes × days on PostgreSQL.

Creates a fresh schema, bulk-loads a simulated cohort with COPY (athletes, one daily
observation row and at most one logged session per athlete-day), then measures in one run:

(a) the computation alone (load → PMC → baselines → stage, ``metric_arrays``) in one process,
(b) end to end (read with COPY, compute, write with binary COPY + upsert) on a LocalCluster
    of 1 worker process,
(c) the same with 2 worker processes, and the speed-up (b) → (c).

    .venv/bin/python benchmarks/recompute_scale.py                 # 10,000 athletes × 1,095 days
    .venv/bin/python benchmarks/recompute_scale.py --athletes 500  # a quick look

Figures are athlete-days per second; each timed step runs ``--repeat`` times and the
median is reported, with the load average (the machine may be shared).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lydiard.batch.cluster import make_client
from lydiard.batch.recompute import recompute
from lydiard.domain.daily import CHECKIN_ITEMS
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS
from lydiard.domain.simulate import simulate_cohort
from lydiard.services.batch_io import compute_chunk, read_chunk, task_engine
from lydiard.services.metrics import metric_arrays
from lydiard.storage.tables import (
    athletes,
    daily_metrics,
    daily_observations,
    metadata,
    session_logs,
)

POSTGRES_URL = os.environ.get("LYDIARD_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
OBS = ["rmssd_ms", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS, "readiness", "illness", "injury", "travel"]


def _copy_csv(conn: sa.Connection, table: str, columns: list[str], frame: pd.DataFrame) -> None:
    buf = io.StringIO()
    frame.to_csv(buf, header=False, index=False, na_rep="")
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
        f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv)"
    ) as cp:
        cp.write(buf.getvalue())


def load_cohort(engine: sa.Engine, *, n_athletes: int, n_days: int, today: date, seed: int,
                block: int) -> tuple[list[str], float]:
    """Simulate and COPY the cohort in blocks of athletes; returns the ids and the load time."""
    t0 = time.perf_counter()
    start = today - timedelta(days=n_days - 1)
    day_str = np.array([(start + timedelta(days=d)).isoformat() for d in range(n_days)])
    now = datetime.now(UTC).isoformat()
    ids: list[str] = []
    for b0 in range(0, n_athletes, block):
        nb = min(block, n_athletes - b0)
        sim = simulate_cohort(seed + b0, nb, n_days)
        block_ids = [f"{b0 + i:08d}" + uuid.uuid4().hex[:24] for i in range(nb)]
        ids += block_ids
        aid = np.repeat(np.array(block_ids), n_days)
        day = np.tile(day_str, nb)
        obs = pd.DataFrame({"athlete_id": aid, "day": day, "source": "hrv4training"})
        for c in OBS:
            v = sim[c].reshape(-1)
            if c in ("illness", "injury", "travel"):
                obs[c] = pd.Series(np.where(v > 0.5, "t", ""), dtype=object)
            else:
                obs[c] = np.round(v, 3)
        obs["hrv_kind"] = np.where(np.isfinite(obs["rmssd_ms"]), "morning", "")
        obs["updated_at"] = now
        load = sim["load_au"].reshape(-1)
        has = np.isfinite(load) & (load > 0.5)
        rpe = np.clip(np.round(2.0 + load / 30.0), 2.0, 8.0)
        minutes = load * SRPE_AU_PER_TSS / rpe
        logs = pd.DataFrame({
            "id": [uuid.uuid4().hex for _ in range(int(has.sum()))],
            "athlete_id": aid[has], "day": day[has], "source": "srpe", "sport": "run",
            "duration_s": np.round(minutes[has] * 60.0, 1), "rpe": rpe[has],
            "external_id": [f"x{k}" for k in range(int(has.sum()))], "created_at": now,
        })
        with engine.begin() as conn:
            conn.execute(sa.insert(athletes), [{"id": a, "name": a[:8], "tz": "UTC", "hrv_guided": False,
                                                "created_at": datetime.now(UTC)} for a in block_ids])
            _copy_csv(conn, "daily_observations", list(obs.columns), obs)
            _copy_csv(conn, "session_logs", list(logs.columns), logs)
    with engine.begin() as conn:
        conn.execute(sa.text("ANALYZE"))
    return ids, time.perf_counter() - t0


def sizes(engine: sa.Engine) -> dict[str, tuple[int, int, int]]:
    """Rows, table bytes and index bytes of the big tables."""
    out = {}
    with engine.connect() as conn:
        for t in (daily_metrics, daily_observations, session_logs):
            rows = conn.execute(sa.select(sa.func.count()).select_from(t)).scalar_one()
            table_b = conn.execute(sa.text(f"SELECT pg_table_size('{t.name}')")).scalar_one()
            index_b = conn.execute(sa.text(f"SELECT pg_indexes_size('{t.name}')")).scalar_one()
            out[t.name] = (int(rows), int(table_b), int(index_b))
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--athletes", type=int, default=10_000)
    p.add_argument("--days", type=int, default=3 * 365)
    p.add_argument("--chunk", type=int, default=500, help="athletes per task")
    p.add_argument("--detail-days", type=int, default=7)
    p.add_argument("--repeat", type=int, default=1, help="timed runs per step (median reported)")
    p.add_argument("--compute-athletes", type=int, default=2000, help="athletes timed in step (a)")
    p.add_argument("--keep", action="store_true", help="keep the schema")
    args = p.parse_args()

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    engine = task_engine(url)
    metadata.create_all(engine)
    today = date(2025, 6, 30)
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    ad = args.athletes * args.days
    print(f"schema {schema}: {args.athletes:,} athletes × {args.days:,} days = {ad:,} athlete-days; "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")
    try:
        ids, load_s = load_cohort(engine, n_athletes=args.athletes, n_days=args.days, today=today, seed=7,
                                  block=args.chunk)
        print(f"bulk load (simulate + COPY): {load_s:.1f} s")

        # (a) computation only, one process, on chunks read once from the database
        n_c = min(args.compute_athletes, args.athletes)
        with engine.connect() as conn:
            chunk_inputs = [read_chunk(conn, ids[i:i + args.chunk], now=now) for i in range(0, n_c, args.chunk)]
        ad_c = sum(c.athlete_days for c in chunk_inputs)
        times, times_d = [], []
        for _ in range(args.repeat):
            t = time.perf_counter()
            pmc_out: dict[str, np.ndarray] = {}
            for c in chunk_inputs:
                metric_arrays(c.inputs, pmc_out=pmc_out)
            times.append(time.perf_counter() - t)
            t = time.perf_counter()
            for c in chunk_inputs:
                compute_chunk(c, detail_days=args.detail_days)
            times_d.append(time.perf_counter() - t)
        a_rate = ad_c / statistics.median(times)
        a_rate_d = ad_c / statistics.median(times_d)
        print(f"(a) computation, 1 process ({n_c:,} athletes): {a_rate:,.0f} athlete-days/s "
              f"(with detail JSON for the last {args.detail_days} days: {a_rate_d:,.0f})")

        # (b), (c) end to end on LocalClusters
        rates: dict[int, float] = {}
        for workers in (1, 2):
            runs = []
            with make_client(n_workers=workers, processes=True, memory_limit="3GiB") as client:
                for _ in range(args.repeat):
                    with engine.begin() as conn:
                        conn.execute(sa.text("TRUNCATE daily_metrics"))
                    report = recompute(client, url, athlete_ids=ids, now=now, chunk_athletes=args.chunk,
                                       detail_days=args.detail_days)
                    assert report.rows_written == report.athlete_days
                    runs.append(report.athlete_days / report.seconds)
                    print(f"    {workers} worker(s): {report.seconds:.1f} s, {runs[-1]:,.0f} athlete-days/s, "
                          f"load average {os.getloadavg()[0]:.1f}")
            rates[workers] = statistics.median(runs)
        print(f"(b) end to end, 1 worker process: {rates[1]:,.0f} athlete-days/s")
        print(f"(c) end to end, 2 worker processes: {rates[2]:,.0f} athlete-days/s")
        print(f"speed-up 1 → 2 workers: {rates[2] / rates[1]:.2f}×")
        for name, (rows, table_b, index_b) in sizes(engine).items():
            print(f"{name}: {rows:,} rows, table {table_b / 2**20:,.0f} MiB ({table_b / max(rows, 1):.0f} B/row), "
                  f"indexes {index_b / 2**20:,.0f} MiB ({index_b / max(rows, 1):.0f} B/row)")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        engine.dispose()
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
