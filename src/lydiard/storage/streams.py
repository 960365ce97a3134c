"""Columnar storage of activity samples (see ``tables.sample_blocks``).

Each channel of a block is one blob of little-endian float64 values (lossless: the
stored samples are exactly the cleaned samples, so metrics recomputed from storage
equal those computed at import). Codec, chosen for import speed (measured on the
shared FIT corpus, 45.5 MB of float64 channels: zlib level 1 took 364 ms and gave
8.5 MB; zstd level 1 took 140 ms and gave 7.4 MB; float32 was not used because it
is lossy for speed, distance, altitude and positions, and checking per channel
whether float32 is exact cost more than it saved):

* ``0x01`` + zstd (level 1) frame, written when pyarrow's zstd codec is available;
* otherwise a bare zlib stream (the original format; its first byte is a zlib CMF
  byte whose low nibble is 8, so it can never start with ``0x01``).

Both are read back.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, Final

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
_ZSTD_TAG: Final = b"\x01"
_ZSTD_LEVEL: Final = 1


def _zstd_codec() -> Any:
    try:
        import pyarrow as pa
    except ImportError:  # pragma: no cover - pyarrow is a dependency
        return None
    if not pa.Codec.is_available("zstd"):  # pragma: no cover - standard wheels have it
        return None
    return pa.Codec("zstd", compression_level=_ZSTD_LEVEL)


_ZSTD: Final = _zstd_codec()


def _pack(values: NDArray[np.float64]) -> bytes:
    raw = np.ascontiguousarray(values, dtype=_DTYPE)
    if _ZSTD is not None:
        packed: bytes = _ZSTD.compress(raw, asbytes=True)
        return _ZSTD_TAG + packed
    return zlib.compress(raw.tobytes(), 1)


def _unpack(blob: bytes, n: int, *, what: str) -> NDArray[np.float64]:
    blob = bytes(blob)
    try:
        if blob[:1] == _ZSTD_TAG:
            if _ZSTD is None:
                raise CorruptFileError(what, "stored samples use zstd, which this pyarrow lacks")
            raw: bytes = _ZSTD.decompress(
                memoryview(blob)[1:], decompressed_size=n * _DTYPE.itemsize, asbytes=True
            )
        else:
            raw = zlib.decompress(blob)
        arr = np.frombuffer(raw, dtype=_DTYPE)
    except (zlib.error, OSError, ValueError) as exc:
        raise CorruptFileError(what, f"stored samples are damaged ({exc})") from exc
    if arr.size != n:
        raise CorruptFileError(what, f"stored block holds {arr.size} samples, expected {n}")
    return arr.astype(np.float64)


def sample_block_rows(
    activity_id: str, *, elapsed_s: NDArray[np.float64], channels: Mapping[str, NDArray[np.float64]],
) -> list[dict[str, object]]:
    """The ``sample_blocks`` rows of one activity, packed (no database access)."""
    n = int(elapsed_s.size)
    rows: list[dict[str, object]] = []
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
    return rows


_INSERT_BLOCKS: Final = insert(sample_blocks)


def insert_sample_blocks(conn: Connection, rows: list[dict[str, object]]) -> None:
    """Insert rows made by :func:`sample_block_rows` (one executemany)."""
    if rows:
        conn.execute(_INSERT_BLOCKS, rows)


def write_streams(
    conn: Connection, activity_id: str, *, elapsed_s: NDArray[np.float64],
    channels: Mapping[str, NDArray[np.float64]],
) -> int:
    """Store the samples of one activity; returns the number of samples."""
    insert_sample_blocks(conn, sample_block_rows(activity_id, elapsed_s=elapsed_s, channels=channels))
    return int(elapsed_s.size)


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
