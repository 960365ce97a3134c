"""Bulk reads and writes of many athletes' daily data (the batch recompute's SQL and dialect code).

Reads: on PostgreSQL one row per athlete and query, a binary ``float8`` matrix of the
athlete's rows (:func:`read_frame`); elsewhere plain rows. Writes of computed
``daily_metrics`` cells: PostgreSQL gets ``DELETE`` (days on or after each athlete's first
written day) then one binary ``COPY`` straight into ``daily_metrics``
(:func:`copy_metric_cells`, a vectorised encoder of PostgreSQL's binary COPY format);
other databases get ``DELETE`` + ``executemany`` (:func:`insert_metric_cells`). The caller
holds the transaction.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import Connection, Engine, and_, create_engine, delete, insert, text
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Select

from lydiard.domain.recovery import REC_CODES, STAGE_NAMES
from lydiard.storage.engine import make_engine
from lydiard.storage.tables import daily_metrics

__all__ = [
    "NOT_NULL_FLOATS",
    "MetricCells",
    "bulk_engine",
    "copy_metric_cells",
    "day_numbers",
    "delete_metrics_since",
    "insert_metric_cells",
    "lock_present_athletes",
    "read_frame",
]

#: Float columns that are NOT NULL in ``daily_metrics``: NaN is stored as 0.0 (as the per-athlete path does).
NOT_NULL_FLOATS: frozenset[str] = frozenset(("load_au", "ctl", "atl", "tsb", "confidence"))
_EPOCH = np.datetime64("1970-01-01", "D")
_PG_EPOCH_DAYS = int((np.datetime64("2000-01-01", "D") - _EPOCH).astype(np.int64))


@dataclass(frozen=True, slots=True)
class MetricCells:
    """Computed ``daily_metrics`` values of athletes × days matrices (left-aligned: column 0 is
    each athlete's ``first_day``), and the recent days' detail JSON keyed by (row, column)."""

    athlete_ids: tuple[str, ...]
    first_day: npt.NDArray[np.int64]  #: days since 1970-01-01 of each row's column 0
    arrays: Mapping[str, npt.NDArray[Any]]  #: float columns, ``stage``, ``rec_code``, ``data_feel_agree``
    float_columns: tuple[str, ...]  #: the float columns to write (order of the COPY rows)
    details: Mapping[tuple[int, int], dict[str, Any]]


def bulk_engine(database_url: str) -> Engine:
    """An engine without a pool (one connection per use), for a batch task."""
    if database_url.startswith("postgresql"):
        # make_engine(pool=False) still passes pool_size/max_overflow, which NullPool rejects
        return create_engine(database_url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    return make_engine(database_url, pool=False)


# --------------------------------------------------------------------------- reading
def day_numbers(values: pd.Series) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of ISO strings or ``date`` objects (converting each distinct day once)."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    if pd.api.types.is_integer_dtype(values.dtype):  # already day numbers (the PostgreSQL reader)
        return values.to_numpy(dtype=np.int64)
    codes, uniques = pd.factorize(values)
    as_days = np.array([str(u)[:10] for u in uniques], dtype="datetime64[D]")
    days: npt.NDArray[np.int64] = (as_days - _EPOCH).astype(np.int64)[codes]
    return days


_ARRAY_HEADER = struct.Struct(">iiiiiii")  # ndim, has nulls, element type, (rows, lower bound), (columns, lower bound)
_ARRAY_ITEM = np.dtype([("length", ">i4"), ("value", ">f8")])


def read_frame(conn: Connection, stmt: Select[Any], columns: Sequence[str], index: pd.Index, *,
                codes: dict[str, tuple[str, ...]] | None = None) -> pd.DataFrame:
    """Rows of ``stmt`` as a frame: ``a`` (the row of the athlete of column 0 in ``index``), then columns 1...

    Column 1 is the day (days since 1970-01-01 on PostgreSQL, as stored otherwise), the
    others are numbers, except the text columns of ``codes``, which PostgreSQL returns as
    categoricals over ``("", *codes[column])`` (``""`` for any value not listed).

    On PostgreSQL each athlete's rows come back as one binary ``float8`` matrix
    (``array_agg`` of one array per row, ``array_send``): the client handles a few hundred
    values per chunk instead of one message per athlete-day, nothing goes through text
    (each float is the stored float), NULL is sent as NaN, and the matrix is read with
    ``np.frombuffer``. Each athlete's id is looked up once.
    """
    codes = codes or {}
    names_out = ["a", *columns[1:]]
    if conn.dialect.name != "postgresql":
        frame = pd.DataFrame(conn.execute(stmt).all(), columns=list(columns))
        frame[columns[0]] = index.get_indexer(pd.Index(frame[columns[0]])).astype(np.int64)
        return frame.set_axis(names_out, axis=1)
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    names = [f"c{k}" for k in range(len(columns))]
    parts = ["(q.c1 - DATE '1970-01-01')::float8"]
    for c, name in zip(columns[2:], names[2:], strict=True):
        if c in codes:
            values = ", ".join("'" + v.replace("'", "''") + "'" for v in codes[c])
            parts.append(f"COALESCE(array_position(ARRAY[{values}]::text[], q.{name}::text), 0)::float8")
        else:
            parts.append(f"COALESCE(q.{name}::float8, 'NaN')")
    agg = (f"SELECT q.c0, array_send(array_agg(ARRAY[{', '.join(parts)}])) FROM ({sql}) AS q({', '.join(names)}) "
           "GROUP BY q.c0")
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor(binary=True)
    try:
        cur.execute(agg)
        per_athlete = cur.fetchall()
    finally:
        cur.close()
    if not per_athlete:
        return pd.DataFrame({c: pd.Series(dtype=np.int64 if c in ("a", columns[1]) else np.float64)
                             for c in names_out})
    n_cols = len(columns) - 1
    blocks, counts = [], []
    for _, raw in per_athlete:
        ndim, _nulls, _oid, n_rows, _, width, _ = _ARRAY_HEADER.unpack_from(raw)
        items = np.frombuffer(raw, dtype=_ARRAY_ITEM, offset=_ARRAY_HEADER.size)
        if ndim != 2 or width != n_cols or len(items) != n_rows * n_cols or (items["length"] != 8).any():
            raise RuntimeError("unexpected array layout from PostgreSQL")  # a bug, not a user error
        blocks.append(items["value"])
        counts.append(n_rows)
    matrix = np.concatenate(blocks).astype(np.float64).reshape(-1, n_cols)
    rows = index.get_indexer(pd.Index([r[0] for r in per_athlete])).astype(np.int64)
    out: dict[str, Any] = {"a": np.repeat(rows, counts), columns[1]: matrix[:, 0].astype(np.int64)}
    for k, c in enumerate(columns[2:], start=1):
        if c in codes:
            out[c] = pd.Categorical.from_codes(matrix[:, k].astype(np.int64), dtype=pd.CategoricalDtype(["", *codes[c]]))
        else:
            out[c] = matrix[:, k]
    return pd.DataFrame(out)



# --------------------------------------------------------------------------- writing
def lock_present_athletes(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Of ``ids``, the athletes that still exist, their rows locked ``FOR SHARE`` (PostgreSQL).

    ``daily_metrics`` has no foreign key to ``athletes`` (a per-row check doubled the cost of
    the bulk write): the athlete rows are locked once per athlete instead. Deleting an
    athlete (``services.privacy``) locks the athlete row before deleting its rows, so it
    either waits for this transaction and then deletes what it wrote, or commits first and
    this transaction finds the athlete gone.
    """
    return {str(r[0]) for r in conn.execute(
        text("SELECT id FROM athletes WHERE id = ANY(CAST(:ids AS text[])) ORDER BY id FOR SHARE"),
        {"ids": list(ids)})}


def delete_metrics_since(conn: Connection, since_days: Sequence[tuple[str, date]]) -> None:
    """Delete each athlete's ``daily_metrics`` rows on or after its day (one statement on PostgreSQL)."""
    if not since_days:
        return
    if conn.dialect.name == "postgresql":
        conn.execute(
            text("DELETE FROM daily_metrics d USING (SELECT unnest(CAST(:ids AS text[])) AS id, "
                 "unnest(CAST(:days AS date[])) AS day) s WHERE d.athlete_id = s.id AND d.day >= s.day"),
            {"ids": [a for a, _ in since_days], "days": [d for _, d in since_days]},
        )
        return
    for aid, day in since_days:
        conn.execute(delete(daily_metrics).where(and_(daily_metrics.c.athlete_id == aid,
                                                      daily_metrics.c.day >= day)))


def insert_metric_cells(conn: Connection, cells: MetricCells, rows: npt.NDArray[np.intp],
                        cols: npt.NDArray[np.intp], *, computed_at: datetime) -> int:
    """Insert the cells (``rows``, ``cols``) with ``executemany``; returns the rows written."""
    a = cells.arrays
    days = (_EPOCH + (cells.first_day[rows] + cols).astype("timedelta64[D]")).astype(date)
    values: dict[str, list[Any]] = {}
    for name in cells.float_columns:
        v = a[name][rows, cols]
        if name in NOT_NULL_FLOATS:
            v = np.nan_to_num(v, nan=0.0)
        obj = v.astype(object)
        obj[np.isnan(v)] = None
        values[name] = obj.tolist()
    stage = [STAGE_NAMES[int(c)] for c in a["stage"][rows, cols]]
    rec = [REC_CODES[int(c)] for c in a["rec_code"][rows, cols]]
    agree = [None if c < 0 else bool(c) for c in a["data_feel_agree"][rows, cols]]
    records = []
    for k in range(len(rows)):
        rec_k: dict[str, Any] = {name: values[name][k] for name in cells.float_columns}
        rec_k.update(athlete_id=cells.athlete_ids[rows[k]], day=days[k], stage=stage[k],
                     recommendation_code=rec[k], data_feel_agree=agree[k],
                     detail=cells.details.get((int(rows[k]), int(cols[k]))), computed_at=computed_at)
        records.append(rec_k)
    for i in range(0, len(records), 20_000):
        conn.execute(insert(daily_metrics), records[i : i + 20_000])
    return len(records)


def copy_metric_cells(conn: Connection, cells: MetricCells, rows: npt.NDArray[np.intp],
                      cols: npt.NDArray[np.intp], *, computed_at: datetime) -> int:
    """Write the cells (``rows``, ``cols``; each athlete's cells consecutive) with one binary
    ``COPY`` into ``daily_metrics`` (PostgreSQL); returns the rows written."""
    details: dict[int, bytes] = {}
    if cells.details:
        counts = np.bincount(rows, minlength=len(cells.athlete_ids))
        starts = np.cumsum(counts) - counts  # each athlete's cells are consecutive in ``rows``
        for (i, d), value in cells.details.items():
            if counts[i] and d >= cols[starts[i]]:
                k = int(starts[i] + d - cols[starts[i]])
                assert rows[k] == i and cols[k] == d
                details[k] = json.dumps(value).encode()
    columns, payload = _pg_copy_rows(cells, rows, cols, details, computed_at)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
        f"COPY daily_metrics ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
    ) as cp:
        cp.write(payload)
    return len(rows)


_COPY_BLOCK_ROWS = 2048
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def _pg_copy_rows(result: MetricCells, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp],
                  details: dict[int, bytes], computed_at: datetime) -> tuple[list[str], memoryview]:
    """The binary COPY of the cells (``rows``, ``cols``): every ``daily_metrics`` column.

    NaN → NULL (0.0 in the NOT NULL columns, as the per-athlete path), unknown codes → NULL.
    ``details``: index in ``rows`` → detail JSON (UTF-8), for the few recent days that keep it.

    A binary COPY row is variable-width (a NULL is a length of −1 without data, strings have
    their own length), but row order is free: rows are sorted by layout (which floats are
    NULL, the stage and recommendation codes, agreement, id length) and each group is a
    fixed-width byte matrix filled column block by column block. ``detail`` comes last, so
    a row that keeps it is its group's bytes followed by the JSON.
    """
    n = len(rows)
    columns = ["athlete_id", "day", *result.float_columns, "stage", "recommendation_code", "data_feel_agree",
               "computed_at", "detail"]
    floats: dict[str, npt.NDArray[np.float64]] = {}
    null_bits = np.zeros(n, dtype=np.int64)
    for name in result.float_columns:
        v = result.arrays[name][rows, cols]
        floats[name] = np.nan_to_num(v, nan=0.0) if name in NOT_NULL_FLOATS else v
    nullable = [c for c in result.float_columns if c not in NOT_NULL_FLOATS]
    for bit, name in enumerate(nullable):
        null_bits |= np.isnan(floats[name]).astype(np.int64) << bit
    ids = [a.encode() for a in result.athlete_ids]
    id_len = np.array([len(x) for x in ids], dtype=np.int64)[rows]
    stage = result.arrays["stage"][rows, cols].astype(np.int64)
    rec = result.arrays["rec_code"][rows, cols].astype(np.int64)
    agree = result.arrays["data_feel_agree"][rows, cols].astype(np.int64)
    has_detail = np.zeros(n, dtype=np.int64)
    has_detail[list(details)] = 1
    key = (null_bits | (stage & 0xFF) << 20 | (rec & 0xFF) << 28 | (np.sign(agree) + 1) << 36
           | id_len << 40 | has_detail << 50)
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    bounds = np.r_[starts, n]
    # every per-row value as raw big-endian bytes, in layout order (a group = consecutive rows)
    id_bytes = np.array(ids, dtype=f"S{max(1, max(len(x) for x in ids))}")
    srt_rows = rows[order]
    src: dict[str, npt.NDArray[Any]] = {  # raw big-endian bits in native unsigned ints: copied, not converted
        "id": id_bytes[srt_rows],
        "day": np.ascontiguousarray(result.first_day[srt_rows] + cols[order] - _PG_EPOCH_DAYS, dtype=">i4").view("u4"),
    }
    for c in result.float_columns:
        src[c] = np.ascontiguousarray(floats[c][order], dtype=">f8").view("u8")
    at_us = (computed_at - datetime(2000, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)

    def i4(value: int) -> bytes:
        return struct.pack(">i", value)

    plans: list[tuple[int, int, int, list[bytes | tuple[str, int]]]] = []
    size = len(_PG_COPY_HEADER) + 2
    for g in range(len(starts)):
        b0, b1 = int(bounds[g]), int(bounds[g + 1])
        r0 = int(order[b0])
        width = int(id_len[r0])
        # the row layout of this group: bytes (the same in every row) or (source, width)
        layout: list[bytes | tuple[str, int]] = [struct.pack(">h", len(columns)) + i4(width), ("id", width),
                                                 i4(4), ("day", 4)]
        for c in result.float_columns:
            if c in NOT_NULL_FLOATS or not np.isnan(floats[c][r0]):
                layout += [i4(8), (c, 8)]
            else:
                layout.append(i4(-1))
        tail = b""
        for code, names in ((stage, STAGE_NAMES), (rec, REC_CODES)):
            text_value = names.get(int(code[r0]))
            tail += i4(-1) if text_value is None else i4(len(text_value.encode())) + text_value.encode()
        tail += i4(-1) if agree[r0] < 0 else i4(1) + bytes([int(agree[r0] > 0)])
        tail += i4(8) + struct.pack(">q", at_us)
        if not has_detail[r0]:
            tail += i4(-1)
        layout.append(tail)
        row_w = sum(len(x) if isinstance(x, bytes) else x[1] for x in layout)
        plans.append((b0, b1, row_w, layout))
        size += row_w * (b1 - b0)
        if has_detail[r0]:
            size += sum(4 + len(details[int(k)]) for k in order[b0:b1])

    buf = np.empty(size, dtype=np.uint8)
    buf[: len(_PG_COPY_HEADER)] = np.frombuffer(_PG_COPY_HEADER, dtype=np.uint8)
    pos = len(_PG_COPY_HEADER)
    for b0, b1, row_w, layout in plans:
        detail_rows = bool(has_detail[order[b0]])  # sorted last: after every row without detail
        out = buf[pos : pos + row_w * (b1 - b0)].reshape(b1 - b0, row_w) if not detail_rows else \
            np.empty((b1 - b0, row_w), dtype=np.uint8)
        template = np.zeros(row_w, dtype=np.uint8)
        fields: list[str] = []
        spec: dict[str, Any] = {"names": fields, "formats": [], "offsets": [], "itemsize": row_w}
        at = 0
        for item in layout:
            if isinstance(item, bytes):
                template[at : at + len(item)] = np.frombuffer(item, dtype=np.uint8)
                at += len(item)
            else:
                fields.append(item[0])
                spec["formats"].append(f"S{item[1]}" if item[0] == "id" else f"u{item[1]}")
                spec["offsets"].append(at)
                at += item[1]
        records: npt.NDArray[Any] = out.view(np.dtype(spec))[:, 0]  # type: ignore[call-overload]
        for k0 in range(0, b1 - b0, _COPY_BLOCK_ROWS):  # blocks that stay in cache while every field is written
            k1 = min(b1 - b0, k0 + _COPY_BLOCK_ROWS)
            out[k0:k1] = template
            for field_name in fields:
                records[field_name][k0:k1] = src[field_name][b0 + k0 : b0 + k1]
        if not detail_rows:
            pos += row_w * (b1 - b0)
            continue
        for j in range(b1 - b0):
            raw = details[int(order[b0 + j])]
            buf[pos : pos + row_w] = out[j]
            buf[pos + row_w : pos + row_w + 4] = np.frombuffer(i4(len(raw)), dtype=np.uint8)
            buf[pos + row_w + 4 : pos + row_w + 4 + len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            pos += row_w + 4 + len(raw)
    buf[pos:] = 255  # trailer: int16 −1
    assert pos + 2 == size
    return columns, buf.data


