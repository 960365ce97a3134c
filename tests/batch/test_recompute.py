"""The Dask batch recompute: same rows as the per-athlete path; survives a killed worker."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import timedelta

import pytest
from batch_seed import DETAIL_DAYS, Seeded, assert_same_rows, per_athlete_rows, stored_rows
from distributed import Client, LocalCluster
from sqlalchemy import delete

from lydiard.batch.cluster import make_client
from lydiard.batch.recompute import Progress, recompute
from lydiard.services.context import Context
from lydiard.storage.tables import daily_metrics


@pytest.fixture(scope="module")
def threads_client() -> Iterator[Client]:
    with make_client(n_workers=2, processes=False) as client:
        yield client


def test_batch_equals_per_athlete(ctx: Context, seeded: Seeded, threads_client: Client) -> None:
    ref = per_athlete_rows(ctx, seeded.athlete_ids)
    with ctx.engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    seen: list[Progress] = []
    report = recompute(threads_client, ctx.settings, now=ctx.clock(), chunk_athletes=2, detail_days=DETAIL_DAYS,
                       on_progress=seen.append)
    assert report.athletes == len(seeded.athlete_ids) and report.chunks == 3
    assert report.rows_written == len(ref) == report.athlete_days
    assert [p.chunks_done for p in seen] == [1, 2, 3]
    assert_same_rows(stored_rows(ctx), ref, detail_days=DETAIL_DAYS)
    # one athlete, since a day: rewrites only that athlete's recent days, same values
    since = seeded.today - timedelta(days=10)
    busiest = max(seeded.athlete_ids, key=lambda aid: sum(1 for key in ref if key[0] == aid))  # not the empty one
    one = recompute(threads_client, ctx.settings.effective_database_url, athlete_ids=[busiest],
                    since=since, now=ctx.clock(), detail_days=DETAIL_DAYS)
    assert one.athletes == 1 and 0 < one.rows_written <= 12  # local today may be tomorrow in UTC
    assert_same_rows(stored_rows(ctx), ref, detail_days=DETAIL_DAYS)


def test_killed_worker_gives_the_clean_result(ctx: Context, seeded: Seeded) -> None:
    url = ctx.settings.effective_database_url
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",  # type: ignore[no-untyped-call]
                      memory_limit="1GiB") as cluster, Client(cluster) as client:  # type: ignore[no-untyped-call]
        recompute(client, url, now=ctx.clock(), chunk_athletes=1, detail_days=DETAIL_DAYS)
        clean = stored_rows(ctx)
        with ctx.engine.begin() as conn:
            conn.execute(delete(daily_metrics))
        pids: dict[str, int] = client.run(os.getpid)
        killed: list[int] = []

        def kill_one(p: Progress) -> None:
            if killed:
                return
            busy = [w for w, keys in client.processing().items() if keys] or list(pids)
            pid = pids[busy[0]]
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        report = recompute(client, url, now=ctx.clock(), chunk_athletes=1, detail_days=DETAIL_DAYS, retries=3,
                           on_progress=kill_one)
        assert killed and report.chunks == len(seeded.athlete_ids)
    assert_same_rows(stored_rows(ctx), clean, detail_days=DETAIL_DAYS)
    assert {k: v["detail"] for k, v in stored_rows(ctx).items()} == {k: v["detail"] for k, v in clean.items()}
