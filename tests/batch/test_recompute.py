"""The Dask batch recompute: same rows as the per-athlete path; survives a killed worker."""

from __future__ import annotations

import math
import os
import signal
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from batch_seed import DETAIL_DAYS, Seeded, assert_same_rows, per_athlete_rows, stored_rows
from distributed import Client, LocalCluster
from sqlalchemy import delete

from lydiard.batch.cluster import make_client
from lydiard.batch.recompute import Progress, recompute
from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, list_athletes, update_profile
from lydiard.services.context import Context
from lydiard.services.importing import store_daily_import
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


def _mixed_kinds_athlete(ctx: Context, today: date) -> str:
    """Overnight readings (a watch) on most days, morning readings (an app) on others, both on some."""
    system = Actor.system()
    a = create_athlete(ctx, system, name="Kinds", tz="Europe/Oslo")
    first = today - timedelta(days=80)
    watch = tuple(DailyObservation(day=first + timedelta(days=d), source="fitbit", rmssd_ms=48.0 + d % 7,
                                   hrv_kind="overnight", rhr_bpm=50.0 + d % 4, sleep_h=7.0 + 0.1 * (d % 5))
                  for d in range(0, 81) if d % 4)
    app = tuple(DailyObservation(day=first + timedelta(days=d), source="hrv4training", rmssd_ms=70.0 - d % 9,
                                 hrv_kind="morning") for d in range(0, 81, 3))
    store_daily_import(ctx, system, a.id, DailyImport(observations=watch), source="fitbit", item="watch")
    store_daily_import(ctx, system, a.id, DailyImport(observations=app), source="hrv4training", item="app")
    return a.id


def test_batch_equals_per_athlete_with_athletes_own_baselines(ctx: Context, seeded: Seeded,
                                                              threads_client: Client) -> None:
    """Issue 14: athletes with their own baseline settings are computed with them by both paths
    (one chunk mixing the default group and sub-groups, then chunks of two)."""
    kinds = _mixed_kinds_athlete(ctx, seeded.today)
    ids = tuple(sorted((*seeded.athlete_ids, kinds)))
    default_rows = per_athlete_rows(ctx, ids)
    by_name = {a.name: a.id for a in list_athletes(ctx, Actor.system())}
    explicit_defaults = by_name["Athlete 2"]
    own = {
        by_name["Athlete 0"]: {"hrv_baseline_days": 21, "rhr_baseline_days": 30},
        by_name["Athlete 1"]: {"window_days": 5, "wellness_baseline_days": 14, "sleep_baseline_days": 14},
        explicit_defaults: {"window_days": 7, "hrv_baseline_days": 60, "rhr_baseline_days": 60,
                                "sleep_baseline_days": 28, "wellness_baseline_days": 28},  # the defaults, as the web sends them
        kinds: {"hrv_kind": "overnight", "hrv_baseline_days": 30},
    }
    for aid, config in own.items():
        update_profile(ctx, Actor.system(), aid, baseline_config=config)
    ref = per_athlete_rows(ctx, ids)
    differs = {aid for (aid, day), row in ref.items()
               if any(row[c] != default_rows[(aid, day)][c] for c in ("ln_rmssd_low", "rhr_base", "wellness_z", "stage")
                      if not (isinstance(row[c], float) and math.isnan(row[c])))}
    assert differs == set(own) - {explicit_defaults}, "the settings change the per-athlete results"
    assert explicit_defaults not in differs, "settings equal to the defaults change nothing"
    for chunk in (len(ids), 2):
        with ctx.engine.begin() as conn:
            conn.execute(delete(daily_metrics))
        report = recompute(threads_client, ctx.settings, now=ctx.clock(), chunk_athletes=chunk,
                           detail_days=DETAIL_DAYS)
        assert report.rows_written == len(ref)
        assert_same_rows(stored_rows(ctx), ref, detail_days=DETAIL_DAYS)
