"""The batch writer builds ``athlete_summaries`` from the arrays it has just written: the rows
equal what ``refresh_summaries`` computes from the stored ``daily_metrics``, whatever ``since``
cuts and whatever older rows are stored. Both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from batch_seed import DETAIL_DAYS, Seeded
from sqlalchemy import select, update

from lydiard.services import batch_io
from lydiard.services.batch_io import chunks, recompute_chunk
from lydiard.services.context import Context
from lydiard.services.summaries import SPARK_DAYS, refresh_summaries
from lydiard.storage.tables import athlete_summaries, daily_metrics


def summaries(ctx: Context) -> dict[str, tuple[Any, ...]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(athlete_summaries)).all()
    return {r.athlete_id: (r.last_day, r.stage, r.stage_days, r.recent, r.updated_at) for r in rows}


def from_stored_rows(ctx: Context, ids: tuple[str, ...]) -> dict[str, tuple[Any, ...]]:
    """The summaries ``refresh_summaries`` writes from the stored daily metrics (then rolled back)."""
    with ctx.engine.connect() as conn, conn.begin() as tx:
        refresh_summaries(conn, ids, now=ctx.clock())
        rows = conn.execute(select(athlete_summaries)).all()
        tx.rollback()
    return {r.athlete_id: (r.last_day, r.stage, r.stage_days, r.recent, r.updated_at) for r in rows}


@pytest.fixture
def spied(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Athletes whose summary the batch writer computed from the stored rows (the fallback)."""
    fallback: list[str] = []
    original = batch_io.refresh_summaries

    def spy(conn: Any, athlete_ids: Any, *, now: Any) -> int:
        fallback.extend(athlete_ids)
        return original(conn, athlete_ids, now=now)

    monkeypatch.setattr(batch_io, "refresh_summaries", spy)
    return fallback


def test_in_memory_summaries_equal_the_stored_rows_summaries(ctx: Context, seeded: Seeded,
                                                             spied: list[str]) -> None:
    url = ctx.settings.effective_database_url
    for part in chunks(seeded.athlete_ids, 2):
        recompute_chunk(url, part, now=ctx.clock(), detail_days=DETAIL_DAYS)
    got = summaries(ctx)
    with_metrics = {aid for aid in seeded.athlete_ids if aid != min(got, default="")} | set(got)
    assert len(got) == len(seeded.athlete_ids) - 1  # every athlete but the empty one
    assert got == from_stored_rows(ctx, seeded.athlete_ids)
    # the long histories were summarised from memory, the 12-day one (shorter than the
    # sparkline window) from the stored rows
    in_memory = with_metrics - set(spied)
    assert len(in_memory) >= 3 and len(spied) <= 2


def test_since_and_older_stored_rows(ctx: Context, seeded: Seeded, spied: list[str]) -> None:
    url = ctx.settings.effective_database_url
    recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), detail_days=DETAIL_DAYS)
    for back in (SPARK_DAYS + 18, SPARK_DAYS, 12, 1):
        since = seeded.today - timedelta(days=back)
        # older stored rows that differ from what the kernels give: a summary whose run or window
        # reaches them must count them as stored
        with ctx.engine.begin() as conn:
            conn.execute(update(daily_metrics).where(daily_metrics.c.day < since)
                         .values(stage="deep_fatigue", tsb=-7.0 - back, ln_rmssd_7d=None))
        spied.clear()
        recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), since=since, detail_days=DETAIL_DAYS)
        got = summaries(ctx)
        assert got == from_stored_rows(ctx, seeded.athlete_ids), back
        if back >= SPARK_DAYS:  # window and run within the written days for the long histories
            assert len(set(got) - set(spied)) >= 2, back
        else:  # the sparkline window reaches the older stored days: every summary from the stored rows
            assert set(got) <= set(spied), back


def test_a_run_that_spans_every_written_day(ctx: Context, seeded: Seeded, spied: list[str]) -> None:
    url = ctx.settings.effective_database_url
    recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), detail_days=0)
    # one stage over all the stored days but the last, which the recompute rewrites
    since = seeded.today - timedelta(days=1)
    with ctx.engine.begin() as conn:
        conn.execute(update(daily_metrics).values(stage="surface_fatigue"))
    recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), since=since, detail_days=0)
    assert summaries(ctx) == from_stored_rows(ctx, seeded.athlete_ids)
