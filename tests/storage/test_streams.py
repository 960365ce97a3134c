"""Sample blocks: lossless round trip, and blobs written by the earlier zlib format stay readable."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from lydiard.domain.columns import SAMPLE_COLUMNS
from lydiard.errors import CorruptFileError
from lydiard.storage import streams
from lydiard.storage.engine import make_engine
from lydiard.storage.tables import activities, athletes, metadata, sample_blocks


def _engine(tmp_path: Path) -> sa.Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/s.db")
    metadata.create_all(engine)
    return engine


def _activity(conn: sa.Connection, activity_id: str) -> None:
    now = pd.Timestamp("2024-01-01", tz="UTC").to_pydatetime()
    conn.execute(sa.insert(athletes).values(id="a", name="A", tz="UTC", created_at=now))
    conn.execute(sa.insert(activities).values(
        id=activity_id, athlete_id="a", file_sha256=None, source_format="fit", sport="ride", started_at=now,
        day=now.date(), duration_s=10.0, moving_time_s=10.0, n_samples=5, created_at=now))


def test_samples_round_trip_exactly(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = streams.SAMPLES_PER_BLOCK + 17  # two blocks
    elapsed = np.cumsum(rng.uniform(0.5, 1.5, n))
    channels = {c: rng.normal(100.0, 30.0, n) for c in SAMPLE_COLUMNS}
    channels["hr_bpm"][::7] = np.nan
    channels["temperature_c"][:] = np.nan  # all missing: stored as NULL
    engine = _engine(tmp_path)
    with engine.begin() as conn:
        _activity(conn, "x")
        streams.write_streams(conn, "x", elapsed_s=elapsed, channels=channels)
        frame = streams.read_streams(conn, "x", started_at=pd.Timestamp("2024-01-01", tz="UTC"))
        assert conn.execute(sa.select(sa.func.count()).select_from(sample_blocks)).scalar_one() == 2
        assert conn.execute(sa.select(sample_blocks.c.temperature_c)).scalars().all() == [None, None]
    for c in SAMPLE_COLUMNS:
        np.testing.assert_array_equal(frame[c].to_numpy(), channels[c])
    engine.dispose()


def test_blobs_of_the_zlib_format_are_still_read() -> None:
    values = np.array([1.5, np.nan, 3.25], dtype="<f8")
    legacy = zlib.compress(values.tobytes(), 1)
    np.testing.assert_array_equal(streams._unpack(legacy, 3, what="t"), values)
    np.testing.assert_array_equal(streams._unpack(streams._pack(values), 3, what="t"), values)
    with pytest.raises(CorruptFileError):
        streams._unpack(streams._pack(values), 4, what="t")
    with pytest.raises(CorruptFileError):
        streams._unpack(b"\x01garbage", 3, what="t")
