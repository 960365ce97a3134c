"""Columnar storage of activity samples (see ``tables.sample_blocks``)."""

from __future__ import annotations

import zlib
from collections.abc import Mapping

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, func, insert, select

from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.errors import CorruptFileError
from lydiard.storage.tables import sample_blocks

#: Samples per stored block (one row).
SAMPLES_PER_BLOCK = 65_536
_DTYPE = np.dtype("<f8")


def _pack(values: NDArray[np.float64]) -> bytes:
    return zlib.compress(np.ascontiguousarray(values, dtype=_DTYPE).tobytes(), 1)


def _unpack(blob: bytes, n: int, *, what: str) -> NDArray[np.float64]:
    try:
        arr = np.frombuffer(zlib.decompress(blob), dtype=_DTYPE)
    except zlib.error as exc:
        raise CorruptFileError(what, f"stored samples are damaged ({exc})") from exc
    if arr.size != n:
        raise CorruptFileError(what, f"stored block holds {arr.size} samples, expected {n}")
    return arr.astype(np.float64)


def write_streams(
    conn: Connection, activity_id: str, *, elapsed_s: NDArray[np.float64],
    channels: Mapping[str, NDArray[np.float64]],
) -> int:
    """Store the samples of one activity; returns the number of samples."""
    n = int(elapsed_s.size)
    rows = []
    for b, lo in enumerate(range(0, n, SAMPLES_PER_BLOCK)):
        hi = min(n, lo + SAMPLES_PER_BLOCK)
        row: dict[str, object] = {"activity_id": activity_id, "block": b, "n_samples": hi - lo,
                                  "elapsed_s": _pack(elapsed_s[lo:hi])}
        for name in SAMPLE_COLUMNS:
            col = channels.get(name)
            if col is None:
                row[name] = None
                continue
            part = col[lo:hi]
            row[name] = None if np.isnan(part).all() else _pack(part)
        rows.append(row)
    if rows:
        conn.execute(insert(sample_blocks), rows)
    return n


def read_streams(conn: Connection, activity_id: str, *, started_at: pd.Timestamp) -> pd.DataFrame:
    """The stored samples as a records frame: UTC ``time`` + the unit-named columns."""
    rows = conn.execute(
        select(sample_blocks).where(sample_blocks.c.activity_id == activity_id).order_by(sample_blocks.c.block)
    ).all()
    parts_t: list[NDArray[np.float64]] = []
    parts: dict[str, list[NDArray[np.float64]]] = {c: [] for c in SAMPLE_COLUMNS}
    for r in rows:
        n = int(r.n_samples)
        parts_t.append(_unpack(r.elapsed_s, n, what=f"activity {activity_id}"))
        for c in SAMPLE_COLUMNS:
            blob = getattr(r, c)
            parts[c].append(np.full(n, np.nan) if blob is None else _unpack(blob, n, what=f"activity {activity_id}"))
    elapsed = np.concatenate(parts_t) if parts_t else np.empty(0)
    frame = pd.DataFrame({c: (np.concatenate(v) if v else np.empty(0)) for c, v in parts.items()})
    frame.insert(0, Col.TIME.value, started_at + pd.to_timedelta(elapsed, unit="s"))
    return frame


def count_samples(conn: Connection, activity_id: str) -> int:
    total = conn.execute(
        select(func.coalesce(func.sum(sample_blocks.c.n_samples), 0)).where(sample_blocks.c.activity_id == activity_id)
    ).scalar_one()
    return int(total)
