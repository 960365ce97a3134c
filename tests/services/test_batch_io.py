"""Bulk reads/writes of the batch: identical to the per-athlete path, idempotent, on both backends."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete, func, select

from lydiard.domain.activity import empty_records
from lydiard.domain.load.session import Thresholds, session_metrics
from lydiard.services.batch_io import (
    chunks,
    compute_chunk,
    logged_session_loads,
    read_chunk,
    recompute_chunk,
)
from lydiard.services.context import Context
from lydiard.services.metrics import daily_inputs, frame_matrix_inputs
from lydiard.services.signals import SIGNAL_COLUMNS
from lydiard.storage.tables import daily_metrics

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "batch"))
from batch_seed import DETAIL_DAYS, assert_same_rows, per_athlete_rows, seed_store, stored_rows


def test_logged_session_loads_follow_session_metrics() -> None:
    rng = np.random.default_rng(3)
    sports = ["run", "ride", "strength", "kitesurf", "swim", "other", "walk"]
    n = 300
    sport = pd.Series(rng.choice(sports, n))
    duration = pd.Series(np.round(rng.uniform(60, 4 * 3600, n), 1))
    rpe = pd.Series(np.where(rng.random(n) < 0.5, np.nan, np.round(rng.uniform(0, 10, n), 1)))
    got = logged_session_loads(sport, duration, rpe)
    for k in range(n):
        m = session_metrics(empty_records(), sport=sport[k], thresholds=Thresholds(), duration_s=float(duration[k]),
                            rpe=None if np.isnan(rpe[k]) else float(rpe[k]))
        assert got[k] == m.load_au


def test_read_chunk_matches_daily_inputs(ctx: Context) -> None:
    seeded = seed_store(ctx)
    with ctx.engine.connect() as conn:
        chunk = read_chunk(conn, seeded.athlete_ids, now=ctx.clock())
        signals_seen: set[str] = set()
        rules_seen: set[int] = set()
        for i, aid in enumerate(chunk.athlete_ids):
            from lydiard.services.athletes import load_athlete
            from lydiard.services.metrics import local_today

            athlete = load_athlete(conn, aid)
            frame = daily_inputs(conn, aid, until=local_today(ctx, athlete.tz), sex=athlete.sex)
            n = int(chunk.n_days[i])
            assert n == len(frame)
            if not n:
                continue
            assert chunk.first_day[i] == (frame.index[0] - pd.Timestamp("1970-01-01")).days
            ref = frame_matrix_inputs(frame)
            for name, values in ref.items():
                np.testing.assert_array_equal(chunk.inputs[name][i, :n], values[0], err_msg=name)
            for name in SIGNAL_COLUMNS:  # the signals, also those the engine does not read (yet)
                np.testing.assert_array_equal(chunk.inputs[name][i, :n], frame[name].to_numpy(dtype=np.float64),
                                              err_msg=name)
            assert np.isnan(chunk.inputs["rhr_bpm"][i, n:]).all()
            signals_seen.update(name for name in SIGNAL_COLUMNS if np.nanmax(np.r_[frame[name].to_numpy(float), 0]) > 0)
            rules_seen.update(int(c) for c in frame["race_rule"].to_numpy())
    # the seed exercises every signal and both race rules it can store (planned race, load)
    assert signals_seen == set(SIGNAL_COLUMNS)
    assert rules_seen == {0, 1, 3}


def test_batch_rows_equal_per_athlete_rows(ctx: Context) -> None:
    seeded = seed_store(ctx)
    ref = per_athlete_rows(ctx, seeded.athlete_ids)
    with ctx.engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    url = ctx.settings.effective_database_url
    total = 0
    for part in chunks(seeded.athlete_ids, 2):
        out = recompute_chunk(url, part, now=ctx.clock(), detail_days=DETAIL_DAYS)
        total += out.rows_written
    assert total == len(ref)
    assert_same_rows(stored_rows(ctx), ref, detail_days=DETAIL_DAYS)
    # idempotent: a second run changes nothing
    for part in chunks(seeded.athlete_ids, 3):
        recompute_chunk(url, part, now=ctx.clock(), detail_days=DETAIL_DAYS)
    assert_same_rows(stored_rows(ctx), ref, detail_days=DETAIL_DAYS)


def test_since_keeps_older_days(ctx: Context) -> None:
    seeded = seed_store(ctx)
    url = ctx.settings.effective_database_url
    recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), detail_days=0)
    since = seeded.today - timedelta(days=20)
    with ctx.engine.begin() as conn:
        conn.execute(daily_metrics.update().where(daily_metrics.c.day < since).values(ctl=-1.0))
        conn.execute(daily_metrics.update().where(daily_metrics.c.day >= since).values(ctl=-2.0))
    out = recompute_chunk(url, seeded.athlete_ids, now=ctx.clock(), since=since, detail_days=0)
    with ctx.engine.connect() as conn:
        old = conn.execute(select(func.count()).where(daily_metrics.c.ctl == -1.0)).scalar_one()
        new = conn.execute(select(func.count()).where(daily_metrics.c.day >= since)).scalar_one()
        stale = conn.execute(select(func.count()).where(daily_metrics.c.ctl == -2.0)).scalar_one()
    assert old > 0 and stale == 0
    assert out.rows_written == new


def test_compute_chunk_without_data() -> None:
    from lydiard.services.batch_io import ChunkInputs

    chunk = ChunkInputs(("a",), np.array([0]), np.array([0]), {"load_au": np.zeros((1, 0))})
    assert compute_chunk(chunk).athlete_days == 0


@pytest.mark.parametrize("size", [1, 4])
def test_chunks(size: int) -> None:
    ids = [str(i) for i in range(10)]
    parts = list(chunks(ids, size))
    assert [i for p in parts for i in p] == ids and max(len(p) for p in parts) <= size
