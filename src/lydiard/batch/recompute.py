"""Recompute daily metrics, baselines and stages for many athletes on Dask.

Work is partitioned by athlete: each task takes a chunk of athletes, opens its own
database connection (an engine without a pool, created inside the task), reads the
chunk with a few bulk queries, runs the vectorised kernels over the chunk's athletes ×
days matrices and writes idempotent upserts keyed by ``(athlete_id, day)``
(:mod:`lydiard.services.batch_io`).

* PostgreSQL: every worker writes its own chunk (one transaction per chunk).
* SQLite (one writer): workers return the computed arrays and the driver writes them, one
  transaction per chunk, as results arrive.

Then, as after a per-athlete recompute (:mod:`lydiard.services.pipeline`), the driver
proposes each athlete's plan adaptation for today and refreshes the Trends documents.

Tasks are retried (``retries``) when a worker dies; a chunk's transaction either commits
whole or not at all, and rewriting a chunk gives the same rows, so a retry or a rerun
ends with the same table as a clean run.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from distributed import Client, as_completed

from lydiard.config import Settings
from lydiard.services import batch_io, pipeline
from lydiard.services.context import open_context

log = logging.getLogger(__name__)

#: Athletes per task: big enough for the kernels to run at matrix speed, small enough to retry cheaply.
DEFAULT_CHUNK_ATHLETES = 500
#: Days per athlete (the most recent) whose evidence/recommendation JSON the batch writes.
DEFAULT_DETAIL_DAYS = 7


@dataclass(frozen=True, slots=True)
class Progress:
    """Sent to the progress callback after each chunk."""

    chunks_done: int
    chunks_total: int
    athletes_done: int
    athlete_days_done: int


@dataclass(frozen=True, slots=True)
class BatchReport:
    athletes: int
    chunks: int
    athlete_days: int
    rows_written: int
    seconds: float
    plan_changes_proposed: int = 0

    @property
    def athlete_days_per_s(self) -> float:
        return self.athlete_days / self.seconds if self.seconds > 0 else 0.0


def recompute(
    client: Client,
    database: Settings | str,
    *,
    athlete_ids: Sequence[str] | None = None,
    since: date | None = None,
    now: datetime | None = None,
    chunk_athletes: int = DEFAULT_CHUNK_ATHLETES,
    detail_days: int = DEFAULT_DETAIL_DAYS,
    retries: int = 3,
    on_progress: Callable[[Progress], None] | None = None,
) -> BatchReport:
    """Recompute ``athlete_ids`` (default: every athlete) on ``client``'s cluster.

    ``database``: the settings or the database URL (tasks receive the URL string, never an
    engine). ``since``: rewrite only days on or after it (the whole history is still read,
    the kernels being causal). ``now``: the instant that decides each athlete's local
    today (default: the current time).
    """
    url = database if isinstance(database, str) else database.effective_database_url
    now = now or datetime.now(UTC)
    started = time.perf_counter()
    if athlete_ids is None:
        engine = batch_io.task_engine(url)
        try:
            athlete_ids = batch_io.athlete_ids(engine)
        finally:
            engine.dispose()
    parts = list(batch_io.chunks(list(athlete_ids), chunk_athletes))
    workers_write = not url.startswith("sqlite")
    futures = [
        client.submit(batch_io.recompute_chunk, url, part, now=now, since=since, detail_days=detail_days,
                      write=workers_write, retries=retries, pure=False, key=f"recompute-chunk-{k}-{now.timestamp()}")
        for k, part in enumerate(parts)
    ]
    driver = None if workers_write else batch_io.task_engine(url)
    athletes = athlete_days = rows = done = 0
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            outcome: batch_io.ChunkOutcome = future.result()
            future.release()
            if outcome.result is not None:
                assert driver is not None
                with driver.begin() as conn:  # the single SQLite writer: one transaction per chunk
                    rows += batch_io.write_chunk(conn, outcome.result, since=since, computed_at=now)
            rows += outcome.rows_written
            athletes += outcome.athletes
            athlete_days += outcome.athlete_days
            done += 1
            if on_progress is not None:
                on_progress(Progress(done, len(parts), athletes, athlete_days))
    finally:
        if driver is not None:
            driver.dispose()
    # then, as after a per-athlete recompute: today's plan adaptations and the Trends documents
    settings = database if isinstance(database, Settings) else Settings(database_url=url)
    with contextlib.closing(open_context(settings, migrate=False, clock=lambda: now, pool=False)) as ctx:
        proposed = pipeline.after_batch(ctx, athlete_ids)
    report = BatchReport(athletes, len(parts), athlete_days, rows, time.perf_counter() - started, proposed)
    log.info("recomputed %d athletes (%d athlete-days) in %.1f s", athletes, athlete_days, report.seconds)
    return report
