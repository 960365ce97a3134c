"""Batch recompute at scale: simulated athletes × days on PostgreSQL.

Creates a fresh schema, bulk-loads a simulated cohort with COPY (athletes, one daily
observation row and at most one logged session per athlete-day), then measures in one run:

(a) the computation alone (load → PMC → baselines → stage, ``metric_arrays``) in one process,
(b) end to end (read one aggregated row per athlete, compute, DELETE + binary COPY into
    ``daily_metrics``) on a LocalCluster of 1 worker process,
(c) the same with 2 worker processes, and the speed-up (b) → (c),
(d) where one chunk's time and CPU go (read / compute / write, then a rewrite over its own
    rows) in one process, with the CPU of its PostgreSQL backend,
(e) the computation alone (the batch task's ``compute_chunk``, detail JSON included) on the
    same LocalClusters of 1 and 2 workers, on chunks read once and scattered to every worker
    before timing: how the work itself scales with workers when the database does not share
    the cores.

The process re-executes itself with the glibc malloc settings of the batch workers
(``lydiard.batch.cluster.MALLOC_ENV``; ``--no-malloc-tuning`` to compare without), so (a)
measures the kernels as the workers run them. The bulk load of the synthetic cohort runs
with ``session_replication_role = replica`` (no foreign-key triggers; needs a superuser,
skipped otherwise): the generated rows are consistent by construction.

After the bulk load the cohort's tables are vacuumed (hint bits and visibility map set, as
on a store whose rows are days old), and before each timed step the benchmark waits for
autovacuum on its schema and runs ``CHECKPOINT`` (superuser only), so that no step pays for
the previous step's dirty pages.

    .venv/bin/python benchmarks/recompute_scale.py                 # 10,000 athletes × 1,095 days
    .venv/bin/python benchmarks/recompute_scale.py --athletes 500  # a quick look

Figures are athlete-days per second; each timed step runs ``--repeat`` times and the
median is reported, with the load average (the machine may be shared) and CPU seconds
(this process; the workers; this benchmark's PostgreSQL backends, found by
``application_name`` and read from /proc; and every PostgreSQL process on the machine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd
import sqlalchemy as sa

from lydiard.batch.cluster import MALLOC_ENV, make_client
from lydiard.batch.recompute import recompute
from lydiard.domain.daily import CHECKIN_ITEMS
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS
from lydiard.domain.simulate import simulate_cohort
from lydiard.services.batch_io import compute_chunk, read_chunk, task_engine, write_chunk
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


def _superuser(engine: sa.Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar())


def load_cohort(engine: sa.Engine, *, n_athletes: int, n_days: int, today: date, seed: int,
                block: int) -> tuple[list[str], float]:
    """Simulate and COPY the cohort in blocks of athletes; returns the ids and the load time."""
    t0 = time.perf_counter()
    fast = _superuser(engine)
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
            "id": np.char.add(f"{b0:08d}", np.arange(int(has.sum())).astype("U24")),
            "athlete_id": aid[has], "day": day[has], "source": "srpe", "sport": "run",
            "duration_s": np.round(minutes[has] * 60.0, 1), "rpe": rpe[has],
            "external_id": [f"x{k}" for k in range(int(has.sum()))], "created_at": now,
        })
        with engine.begin() as conn:
            if fast:
                conn.execute(sa.text("SET LOCAL session_replication_role = replica"))
            conn.execute(sa.insert(athletes), [{"id": a, "name": a[:8], "tz": "UTC", "hrv_guided": False,
                                                "created_at": datetime.now(UTC)} for a in block_ids])
            _copy_csv(conn, "daily_observations", list(obs.columns), obs)
            _copy_csv(conn, "session_logs", list(logs.columns), logs)
    # this schema's tables only (a bare VACUUM waits on other schemas' locks). VACUUM, not just
    # ANALYZE: it sets the hint bits and the visibility map now, as on a store whose rows are
    # days old, instead of leaving the first timed reads to dirty every page they touch and an
    # insert-triggered autovacuum to run during a timed step
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text(f"VACUUM (ANALYZE) {athletes.name}, {daily_observations.name}, {session_logs.name}"))
    return ids, time.perf_counter() - t0


def quiesce(engine: sa.Engine, schema: str, *, timeout_s: float = 300.0) -> float:
    """Before a timed step: wait for autovacuum on this schema's tables to finish, then
    ``CHECKPOINT`` (superuser only), so that no step pays for the previous step's dirty pages
    or vacuum. Returns the seconds spent."""
    t0 = time.perf_counter()
    busy = sa.text(
        "SELECT count(*) FROM pg_stat_progress_vacuum v JOIN pg_class c ON c.oid = v.relid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = :schema"
    )
    superuser = _superuser(engine)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        while conn.execute(busy, {"schema": schema}).scalar_one() and time.perf_counter() - t0 < timeout_s:
            time.sleep(0.5)
        if superuser:
            conn.execute(sa.text("CHECKPOINT"))
    return time.perf_counter() - t0


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


def _postgres_cpu_s() -> float:
    """CPU seconds (user + system) of the PostgreSQL server processes on this machine so far.

    Includes exited backends (a batch task's connection ends with the task): the postmaster's
    ``cutime``/``cstime`` count its reaped children.
    """
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name.startswith("postgres"):
            total += sum(int(x) for x in rest[11:15]) / tick
    return total


def _proc_cpu_s(pid: int) -> tuple[int, float] | None:
    """(start time, CPU seconds) of process ``pid``, None if it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(rest[19]), (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving this benchmark only (its ``application_name``).

    The server is shared (other programs' backends count in the server-wide figure), so a
    thread polls ``pg_stat_activity`` every ``interval_s`` and reads each of our backends'
    CPU from /proc, while :meth:`polling` is on (the end-to-end runs only: polling costs CPU
    on the cores the workers use, ~8 % of a core at 20 ms, ~2 % at 100 ms). A backend's last
    ``interval_s`` before it exits is not seen: a small undercount (a task's connection
    lives for 5-15 s).
    """

    def __init__(self, engine: sa.Engine, application_name: str, *, interval_s: float = 0.1) -> None:
        self._engine, self._app, self._interval = engine, application_name, interval_s
        self._seen: dict[tuple[int, int], float] = {}
        self._stop = threading.Event()
        self._on = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with self._engine.connect() as conn:
            while not self._stop.is_set():
                if not self._on.wait(0.5):
                    continue
                pids = conn.execute(sa.text("SELECT pid FROM pg_stat_activity WHERE application_name = :a"),
                                    {"a": self._app}).scalars().all()
                conn.rollback()
                for pid in pids:
                    got = _proc_cpu_s(int(pid))
                    if got is not None:
                        self._seen[(int(pid), got[0])] = got[1]
                self._stop.wait(self._interval)

    @contextlib.contextmanager
    def polling(self) -> Iterator[None]:
        self._on.set()
        try:
            yield
        finally:
            self._on.clear()

    def total_s(self) -> float:
        return sum(self._seen.values())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _own_cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _warm_up() -> None:
    """Import what a batch task imports and load the compiled daily kernel (Numba: from its
    on-disk cache, or compiled), on each worker before the timed runs: one-off costs per
    process, not per athlete-day."""
    import lydiard.services.batch_io  # noqa: F401
    from lydiard.services.metrics import warm_up_kernels

    warm_up_kernels()


def _compute_only(chunk: object, detail_days: int) -> int:
    """Step (e)'s task: the batch's computation of one chunk (no database); its athlete-days."""
    from lydiard.services.batch_io import ChunkInputs

    assert isinstance(chunk, ChunkInputs)
    return compute_chunk(chunk, detail_days=detail_days).athlete_days


def _reexec_with_malloc_env() -> None:
    """Restart this process with the batch workers' malloc settings (they act only at start-up)."""
    if "--no-malloc-tuning" in sys.argv or os.environ.get("GLIBC_TUNABLES") == MALLOC_ENV["GLIBC_TUNABLES"]:
        return
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **MALLOC_ENV})


def main() -> None:
    _reexec_with_malloc_env()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--athletes", type=int, default=10_000)
    p.add_argument("--days", type=int, default=3 * 365)
    p.add_argument("--chunk", type=int, default=500, help="athletes per task")
    p.add_argument("--detail-days", type=int, default=7)
    p.add_argument("--repeat", type=int, default=1, help="timed runs per step (median reported)")
    p.add_argument("--compute-athletes", type=int, default=2000, help="athletes timed in step (a)")
    p.add_argument("--keep", action="store_true", help="keep the schema")
    p.add_argument("--no-malloc-tuning", action="store_true", help="default glibc malloc (process and workers)")
    args = p.parse_args()
    tuned = not args.no_malloc_tuning

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    url = f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}&application_name={schema}"
    engine = task_engine(url)
    ours = BackendCpu(admin, schema)
    metadata.create_all(engine)
    today = date(2025, 6, 30)
    now = datetime(2025, 6, 30, 12, tzinfo=UTC)
    ad = args.athletes * args.days
    print(f"schema {schema}: {args.athletes:,} athletes × {args.days:,} days = {ad:,} athlete-days; "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, malloc tuning {'on' if tuned else 'off'}")
    try:
        ids, load_s = load_cohort(engine, n_athletes=args.athletes, n_days=args.days, today=today, seed=7,
                                  block=args.chunk)
        print(f"bulk load (simulate + COPY): {load_s:.1f} s")

        print(f"quiesce before the timed steps (autovacuum of this schema, CHECKPOINT): {quiesce(engine, schema):.1f} s")
        # (a) computation only, one process, on chunks read once from the database
        _warm_up()
        n_c = min(args.compute_athletes, args.athletes)
        with engine.connect() as conn:
            chunk_inputs = [read_chunk(conn, ids[i:i + args.chunk], now=now) for i in range(0, n_c, args.chunk)]
        ad_c = sum(c.athlete_days for c in chunk_inputs)
        times, times_d, cpu = [], [], []
        for _ in range(args.repeat):
            t, c0 = time.perf_counter(), _own_cpu_s()
            pmc_out: dict[str, np.ndarray] = {}
            for c in chunk_inputs:
                metric_arrays(c.inputs, pmc_out=pmc_out)
            times.append(time.perf_counter() - t)
            cpu.append(_own_cpu_s() - c0)
            t = time.perf_counter()
            for c in chunk_inputs:
                compute_chunk(c, detail_days=args.detail_days)
            times_d.append(time.perf_counter() - t)
        a_rate = ad_c / statistics.median(times)
        a_rate_d = ad_c / statistics.median(times_d)
        print(f"(a) computation, 1 process ({n_c:,} athletes): {a_rate:,.0f} athlete-days/s "
              f"({ad_c / statistics.median(cpu):,.0f} per CPU-second; with detail JSON for the last "
              f"{args.detail_days} days: {a_rate_d:,.0f}); load average {os.getloadavg()[0]:.1f}")

        # (d) one chunk's phases in this process, on one connection whose backend CPU is read
        # from /proc (exact: the backend is alive); written, then written again over its own rows
        part = ids[:args.chunk]
        with engine.connect() as conn:
            backend = int(conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one())
            conn.rollback()

            def mark() -> tuple[float, float, float]:
                got = _proc_cpu_s(backend)
                return time.perf_counter(), _own_cpu_s(), got[1] if got else float("nan")

            m0 = mark()
            ci = read_chunk(conn, part, now=now)
            conn.rollback()
            m1 = mark()
            res = compute_chunk(ci, detail_days=args.detail_days)
            m2 = mark()
            with conn.begin():
                write_chunk(conn, res, since=None, computed_at=now)
            m3 = mark()
            with conn.begin():
                write_chunk(conn, res, since=None, computed_at=now)
            m4 = mark()
        n_ad = ci.athlete_days

        def phase(name: str, a: tuple[float, float, float], b: tuple[float, float, float]) -> str:
            client_cpu, server_cpu = b[1] - a[1], b[2] - a[2]
            return (f"{name} {b[0] - a[0]:.2f} s ({n_ad / (b[0] - a[0]):,.0f}/s; CPU {client_cpu:.2f} s here + "
                    f"{server_cpu:.2f} s PostgreSQL = {1e6 * (client_cpu + server_cpu) / n_ad:.2f} µs/athlete-day)")

        print(f"(d) one chunk ({len(part)} athletes, {n_ad:,} athlete-days): {phase('read', m0, m1)}; "
              f"{phase('compute', m1, m2)}; {phase('write', m2, m3)}; {phase('rewrite', m3, m4)}; "
              f"load average {os.getloadavg()[0]:.1f}")

        # (b), (c) end to end on LocalClusters
        rates: dict[int, float] = {}
        compute_rates: dict[int, float] = {}
        # step (e) computes each of step (a)'s chunks this many times per timed run: ≥ 48 tasks, so
        # that the last task's imbalance between the workers is a small part of the run
        rounds = max(4, -(-48 // len(chunk_inputs)))
        for workers in (1, 2):
            runs = []
            with make_client(n_workers=workers, processes=True, memory_limit="3GiB",
                             malloc_tuning=tuned) as client:
                client.run(_warm_up)  # imports: a one-off cost per worker process, not per athlete-day
                for _ in range(args.repeat):
                    with engine.begin() as conn:
                        conn.execute(sa.text("TRUNCATE daily_metrics, athlete_summaries"))
                    quiesce(engine, schema)  # the previous run's dirty pages are not this run's cost
                    w0 = sum(client.run(_own_cpu_s).values())
                    p0, o0 = _postgres_cpu_s(), ours.total_s()
                    with ours.polling():
                        report = recompute(client, url, athlete_ids=ids, now=now, chunk_athletes=args.chunk,
                                           detail_days=args.detail_days)
                    w_cpu = sum(client.run(_own_cpu_s).values()) - w0
                    time.sleep(0.1)  # the postmaster reaps the last backends (cutime/cstime)
                    p_cpu, o_cpu = _postgres_cpu_s() - p0, ours.total_s() - o0
                    assert report.rows_written == report.athlete_days
                    runs.append(report.athlete_days / report.seconds)
                    n_ad = report.athlete_days
                    print(f"    {workers} worker(s): {report.seconds:.1f} s, {runs[-1]:,.0f} athlete-days/s; "
                          f"CPU: workers {w_cpu:.1f} s, our PostgreSQL backends {o_cpu:.1f} s = "
                          f"{1e6 * (w_cpu + o_cpu) / n_ad:.2f} µs per athlete-day "
                          f"({n_ad / (w_cpu + o_cpu):,.0f} athlete-days per CPU-second; every PostgreSQL "
                          f"process on the machine: {p_cpu:.1f} s); load average {os.getloadavg()[0]:.1f}")
                # (e) the computation alone on the same workers: inputs scattered before timing
                scattered = client.scatter(chunk_inputs, broadcast=True)
                quiesce(engine, schema)
                client.gather([client.submit(_compute_only, c, args.detail_days, pure=False)
                               for c in scattered])  # untimed: each worker's first compute_chunk
                e_runs = []
                for _ in range(args.repeat):
                    t = time.perf_counter()
                    done = client.gather([client.submit(_compute_only, c, args.detail_days, pure=False)
                                          for _ in range(rounds) for c in scattered])
                    e_runs.append(sum(done) / (time.perf_counter() - t))
                compute_rates[workers] = statistics.median(e_runs)
                print(f"    {workers} worker(s), computation alone: {compute_rates[workers]:,.0f} athlete-days/s "
                      f"({rounds} × {len(chunk_inputs)} chunks); load average {os.getloadavg()[0]:.1f}")
            rates[workers] = statistics.median(runs)
        print(f"(b) end to end, 1 worker process: {rates[1]:,.0f} athlete-days/s")
        print(f"(c) end to end, 2 worker processes: {rates[2]:,.0f} athlete-days/s")
        print(f"speed-up 1 → 2 workers: {rates[2] / rates[1]:.2f}×")
        print(f"(e) computation alone on the cluster: {compute_rates[1]:,.0f} → {compute_rates[2]:,.0f} "
              f"athlete-days/s, speed-up 1 → 2 workers {compute_rates[2] / compute_rates[1]:.2f}×")
        for name, (rows, table_b, index_b) in sizes(engine).items():
            print(f"{name}: {rows:,} rows, table {table_b / 2**20:,.0f} MiB ({table_b / max(rows, 1):.0f} B/row), "
                  f"indexes {index_b / 2**20:,.0f} MiB ({index_b / max(rows, 1):.0f} B/row)")
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        ours.close()
        engine.dispose()
        if not args.keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
