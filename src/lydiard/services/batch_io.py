"""Bulk reads and writes of the batch recompute: many athletes per query, matrices per chunk.

One chunk of athletes is read with a few bulk queries (sessions, logged sessions, daily
observations), turned into athletes × days input matrices, run through the same kernels
as the per-athlete path (:func:`lydiard.services.metrics.metric_arrays`) and written as
one transaction per chunk.

Matrix layout: row *i* is athlete *i*, column *j* is that athlete's *j*-th day from its
own first day (**left-aligned**; rows are padded on the right). The kernels are causal and
element-wise across athletes, so every stored value equals what
:func:`lydiard.services.metrics.recompute_athlete` stores for the same athlete, bit for bit.

Detail (evidence + recommendation JSON) costs about 1 ms per day to build, so the batch
builds it only for each athlete's last ``detail_days`` days (from the same kernel run,
identical to the per-athlete path); older days get ``detail = NULL``.

Reads: on PostgreSQL one row per athlete and query, a binary ``float8`` matrix of the
athlete's rows (:func:`_read_frame`). Writes: PostgreSQL gets ``DELETE`` (days on or after
``since``) then one binary ``COPY`` straight into ``daily_metrics``, in one transaction;
SQLite gets ``DELETE`` + ``executemany`` in one transaction (from the single writer, the
driver). Both are idempotent. The athletes' ``athlete_summaries`` are rewritten in the same
transaction from the arrays just written (not re-read from ``daily_metrics``).
"""

from __future__ import annotations

import json
import logging
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    and_,
    cast,
    create_engine,
    delete,
    insert,
    select,
    text,
)
from sqlalchemy.pool import NullPool
from sqlalchemy.sql import Select

from lydiard.domain.daily import SOURCE_PRIORITY, merge_by_source
from lydiard.domain.load.session import DEFAULT_TSS_PER_HOUR
from lydiard.domain.recovery import REC_CODES, STAGE_NAMES, stage_matrix
from lydiard.domain.recovery.assess import day_details
from lydiard.domain.recovery.baselines import BaselineConfig
from lydiard.domain.recovery.stage import mask_implausible
from lydiard.errors import NotFoundError
from lydiard.services.metrics import (
    OBS_FIELDS,
    PMC_COLUMNS,
    STAGE_COLUMNS,
    logged_session_loads,
    metric_arrays,
)
from lydiard.services.summaries import (
    SPARK_DAYS,
    SPARK_SERIES,
    refresh_summaries,
    store_summaries,
    summary_row,
)
from lydiard.storage.engine import make_engine, translate_db_errors
from lydiard.storage.tables import (
    activities,
    athletes,
    daily_metrics,
    daily_observations,
    session_logs,
)
from lydiard.storage.tables import session_metrics as sm

FloatMatrix = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

#: Numeric observation columns fed to the stage kernel (``hrv_kind`` is not a kernel input).
OBS_INPUTS: tuple[str, ...] = tuple(c for c in OBS_FIELDS if c != "hrv_kind")
_FLAGS: frozenset[str] = frozenset(("illness", "injury", "travel"))
#: Float columns written to ``daily_metrics`` (order of the COPY rows).
FLOAT_COLUMNS: tuple[str, ...] = ("load_au", *PMC_COLUMNS, *STAGE_COLUMNS)
#: Columns that are NOT NULL in ``daily_metrics``: NaN is stored as 0.0 (as the per-athlete path does).
NOT_NULL_FLOATS: frozenset[str] = frozenset(("load_au", "ctl", "atl", "tsb", "confidence"))
_EPOCH = np.datetime64("1970-01-01", "D")
_PG_EPOCH_DAYS = int((np.datetime64("2000-01-01", "D") - _EPOCH).astype(np.int64))
_BLOCK_ATHLETES = 128  # athletes per kernel call: bounds the detail arrays (~60 × 128 × days × 8 B)


@dataclass(frozen=True, slots=True)
class ChunkInputs:
    """Input matrices of a chunk of athletes (left-aligned: column 0 = each athlete's first day)."""

    athlete_ids: tuple[str, ...]
    first_day: npt.NDArray[np.int64]  #: days since 1970-01-01 of each row's column 0
    n_days: npt.NDArray[np.int64]  #: valid columns per row (0 = athlete without data)
    inputs: dict[str, FloatMatrix]  #: ``stage_matrix`` inputs, athletes × max(n_days)

    @property
    def athlete_days(self) -> int:
        return int(self.n_days.sum())


@dataclass(slots=True)
class ChunkResult:
    """Computed ``daily_metrics`` values of a chunk, plus the detail JSON of recent days."""

    athlete_ids: tuple[str, ...]
    first_day: npt.NDArray[np.int64]
    n_days: npt.NDArray[np.int64]
    arrays: dict[str, npt.NDArray[Any]]
    #: (row, column) → detail JSON, for each athlete's last ``detail_days`` days
    details: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)

    @property
    def athlete_days(self) -> int:
        return int(self.n_days.sum())


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    """What one batch task did (the result itself only when the driver must write it)."""

    athletes: int
    athlete_days: int
    rows_written: int
    result: ChunkResult | None = None


# --------------------------------------------------------------------------- reading
def _day_numbers(values: pd.Series) -> npt.NDArray[np.int64]:
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


def _read_frame(conn: Connection, stmt: Select[Any], columns: Sequence[str], index: pd.Index, *,
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


def athlete_ids(engine: Engine, *, athlete_id: str | None = None) -> list[str]:
    """All athlete ids (sorted), or just ``athlete_id`` after checking it exists."""
    with translate_db_errors(), engine.connect() as conn:
        q = select(athletes.c.id).order_by(athletes.c.id)
        if athlete_id is not None:
            q = q.where(athletes.c.id == athlete_id)
        ids = [str(r[0]) for r in conn.execute(q).all()]
    if athlete_id is not None and not ids:
        raise NotFoundError(f"no athlete with id {athlete_id!r}", athlete_id=athlete_id)
    return ids


def read_chunk(conn: Connection, ids: Sequence[str], *, now: datetime) -> ChunkInputs:
    """Read a chunk's sessions and observations with a few bulk queries; build its input matrices.

    Mirrors :func:`lydiard.services.metrics.daily_inputs` for every athlete: the first day
    is the earliest session or observation, the last is the athlete's local today at
    ``now`` (or the first day, if later); daily load is the sum of the sessions' load
    (files + logged sessions without a file); observations are merged field by field by
    :func:`~lydiard.domain.daily.merge_by_source`.
    """
    ids = tuple(ids)
    index = pd.Index(ids)
    n_ath = len(ids)
    tz_rows = conn.execute(select(athletes.c.id, athletes.c.tz).where(athletes.c.id.in_(ids))).all()
    tz_of = {str(r.id): str(r.tz or "UTC") for r in tz_rows}
    today_by_tz: dict[str, int] = {}
    until = np.zeros(n_ath, dtype=np.int64)
    for i, aid in enumerate(ids):
        tz = tz_of.get(aid, "UTC")
        if tz not in today_by_tz:
            local = now.astimezone(ZoneInfo(tz)).date()
            today_by_tz[tz] = int((np.datetime64(local, "D") - _EPOCH).astype(np.int64))
        until[i] = today_by_tz[tz]

    files = _read_frame(
        conn,
        select(activities.c.athlete_id, activities.c.day, sm.c.load_au)
        .join(sm, sm.c.activity_id == activities.c.id)
        .where(activities.c.athlete_id.in_(ids)),
        ["athlete_id", "day", "load_au"], index,
    )
    logs = _read_frame(
        conn,
        select(session_logs.c.athlete_id, session_logs.c.day, session_logs.c.sport, session_logs.c.duration_s,
               session_logs.c.rpe)
        .where(session_logs.c.athlete_id.in_(ids), session_logs.c.activity_id.is_(None)),
        ["athlete_id", "day", "sport", "duration_s", "rpe"], index, codes={"sport": tuple(DEFAULT_TSS_PER_HOUR)},
    )
    obs_cols = [cast(daily_observations.c[c], Integer) if c in _FLAGS else daily_observations.c[c]
                for c in OBS_INPUTS]
    obs = _read_frame(
        conn,
        select(daily_observations.c.athlete_id, daily_observations.c.day, daily_observations.c.source, *obs_cols)
        .where(daily_observations.c.athlete_id.in_(ids)),
        ["athlete_id", "day", "source", *OBS_INPUTS], index, codes={"source": SOURCE_PRIORITY},
    )

    load_rows = pd.DataFrame({
        "a": np.concatenate([files["a"].to_numpy(dtype=np.int64), logs["a"].to_numpy(dtype=np.int64)]),
        "d": np.concatenate([_day_numbers(files["day"]), _day_numbers(logs["day"])]),
        "load": np.concatenate([
            files["load_au"].to_numpy(dtype=np.float64),
            logged_session_loads(logs["sport"], logs["duration_s"], logs["rpe"]) if len(logs) else np.zeros(0),
        ]),
    })
    obs_a = obs["a"].to_numpy(dtype=np.int64)
    obs_d = _day_numbers(obs["day"])

    big = np.iinfo(np.int64).max
    first = np.full(n_ath, big, dtype=np.int64)
    np.minimum.at(first, load_rows["a"].to_numpy(), load_rows["d"].to_numpy())
    np.minimum.at(first, obs_a, obs_d)
    has_data = first < big
    first = np.where(has_data, first, until)
    last = np.maximum(until, first)
    n_days = np.where(has_data, last - first + 1, 0).astype(np.int64)
    width = int(n_days.max()) if n_ath else 0

    load = np.zeros((n_ath, width))
    if len(load_rows):
        col = load_rows["d"].to_numpy() - first[load_rows["a"].to_numpy()]
        keep = col < n_days[load_rows["a"].to_numpy()]
        rows = load_rows[keep].assign(c=col[keep])
        if rows.duplicated(["a", "c"]).any():  # several sessions a day: pandas sum, as daily_inputs
            rows = rows.groupby(["a", "c"], sort=False)["load"].sum().reset_index()
        load[rows["a"].to_numpy(), rows["c"].to_numpy()] = rows["load"].to_numpy(dtype=np.float64)
    inputs: dict[str, FloatMatrix] = {"load_au": load}

    if len(obs):
        col = obs_d - first[obs_a]
        keep = col < n_days[obs_a]
        frame = obs[list(OBS_INPUTS)].astype(np.float64)[keep]
        frame["a"], frame["c"] = obs_a[keep], col[keep]
        # several sources a day: the domain's merge by source priority, per athlete × day
        cell = frame["a"].to_numpy(dtype=np.int64) * max(width, 1) + frame["c"].to_numpy(dtype=np.int64)
        cells, merged = merge_by_source(cell, obs["source"][keep],
                                        {name: frame[name].to_numpy(dtype=np.float64) for name in OBS_INPUTS})
        a_idx, c_idx = np.divmod(cells, max(width, 1))
        for name in OBS_INPUTS:
            matrix = np.full((n_ath, width), np.nan)
            values = merged[name]
            if name in _FLAGS:
                values = np.where(np.isnan(values), np.nan, (values != 0).astype(np.float64))
            matrix[a_idx, c_idx] = values
            inputs[name] = matrix
    else:
        for name in OBS_INPUTS:
            inputs[name] = np.full((n_ath, width), np.nan)
    masked = mask_implausible(inputs)  # as daily_inputs does: missing, not a failed chunk
    if masked:
        log.warning("implausible stored values treated as missing in a chunk of %d athletes: %s", n_ath, masked)
    return ChunkInputs(athlete_ids=ids, first_day=first, n_days=n_days, inputs=inputs)


# --------------------------------------------------------------------------- computing
def compute_chunk(chunk: ChunkInputs, *, detail_days: int = 7) -> ChunkResult:
    """Run the daily kernels over the chunk (blocks of athletes) and build recent days' detail."""
    n_ath = len(chunk.athlete_ids)
    width = int(chunk.n_days.max()) if n_ath else 0
    arrays: dict[str, npt.NDArray[Any]] = {}
    details: dict[tuple[int, int], dict[str, Any]] = {}
    cfg = BaselineConfig()
    if width == 0:
        return ChunkResult(chunk.athlete_ids, chunk.first_day, chunk.n_days, arrays, details)
    pmc_out: dict[str, FloatMatrix] = {}  # PMC buffers reused from block to block (values are copied out)
    for b0 in range(0, n_ath, _BLOCK_ATHLETES):
        b1 = min(n_ath, b0 + _BLOCK_ATHLETES)
        block = {k: v[b0:b1] for k, v in chunk.inputs.items()}
        stage = stage_matrix(block, detail=True) if detail_days > 0 else None
        part = metric_arrays(block, stage_result=stage, pmc_out=pmc_out)
        for k, v in part.items():
            if k not in arrays:
                arrays[k] = np.empty((n_ath, width), dtype=v.dtype)
            arrays[k][b0:b1] = v
        if stage is not None:
            for i in range(b1 - b0):
                n = int(chunk.n_days[b0 + i])
                recent = range(max(0, n - detail_days), n)
                for d, (ev, rec) in zip(recent, day_details(stage, i, recent, cfg), strict=True):
                    details[(b0 + i, d)] = {"evidence": ev, "recommendation": rec}  # JSON-ready (day_details)
    return ChunkResult(chunk.athlete_ids, chunk.first_day, chunk.n_days, arrays, details)


# --------------------------------------------------------------------------- writing
def _since_columns(result: ChunkResult, since: date | None) -> npt.NDArray[np.int64]:
    """First column written per athlete: ``max(since, first day)`` as the per-athlete path."""
    if since is None:
        return np.zeros(len(result.athlete_ids), dtype=np.int64)
    s = int((np.datetime64(since, "D") - _EPOCH).astype(np.int64))
    return np.maximum(s - result.first_day, 0).astype(np.int64)


def _selection(result: ChunkResult, since: date | None) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
    """(rows, columns) of the cells to write, athlete by athlete, day by day."""
    start = _since_columns(result, since)
    counts = np.maximum(result.n_days - start, 0)
    rows = np.repeat(np.arange(len(counts)), counts)
    offsets = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
    cols = (np.repeat(start, counts) + offsets).astype(np.intp)
    return rows.astype(np.intp), cols


def _written_athletes(result: ChunkResult) -> list[int]:
    return [i for i, n in enumerate(result.n_days) if n > 0]


def write_chunk(conn: Connection, result: ChunkResult, *, since: date | None, computed_at: datetime) -> int:
    """Replace the chunk's stored days on or after ``since`` (per athlete, never before its first day).

    Call inside a transaction (``engine.begin()``): the delete, the insert and the athletes'
    summaries commit together. Returns the number of rows written.
    """
    if conn.dialect.name == "postgresql":
        written, replaced = _write_postgresql(conn, result, since=since, computed_at=computed_at)
    else:
        written, replaced = _write_generic(conn, result, since=since, computed_at=computed_at)
    _store_summaries(conn, result, replaced, since=since, now=computed_at)
    return written


def _store_summaries(conn: Connection, result: ChunkResult, replaced: Sequence[int], *, since: date | None,
                     now: datetime) -> None:
    """Rewrite the summaries of the athletes (rows of ``result``) whose days were just replaced.

    Built from the arrays in memory, which hold what was just stored: the last day is the
    last computed day (later stored days were deleted), and the stage run and the sparkline
    window are the stored values when they lie within the days written now. When either
    reaches an older stored day (``since`` cuts the run or the window, or stored rows may
    precede the first day), the athlete's summary is computed from the stored rows instead
    (:func:`~lydiard.services.summaries.refresh_summaries`), as the per-athlete path does.
    """
    start = _since_columns(result, since)
    stage_codes = result.arrays.get("stage")
    rows: list[dict[str, Any]] = []
    fallback: list[str] = []
    for i in replaced:
        aid, n, s = result.athlete_ids[i], int(result.n_days[i]), int(start[i])
        w0 = n - SPARK_DAYS
        if stage_codes is None or n <= s or w0 < s:
            fallback.append(aid)
            continue
        stage = stage_codes[i, s:n]
        other = np.flatnonzero(stage != stage[-1])
        if len(other) == 0:  # the run may go on before the written days
            fallback.append(aid)
            continue
        series: dict[str, Sequence[float | None]] = {}
        for c in SPARK_SERIES:
            v = result.arrays[c][i, w0:n]
            series[c] = (np.nan_to_num(v, nan=0.0) if c in NOT_NULL_FLOATS else v).tolist()  # as stored
        last_day = (_EPOCH + np.timedelta64(int(result.first_day[i]) + n - 1, "D")).astype(date)
        rows.append(summary_row(aid, last_day=last_day, stage=STAGE_NAMES[int(stage[-1])],
                                stage_days=int(len(stage) - 1 - other[-1]), series=series))
    if rows:
        store_summaries(conn, [r["athlete_id"] for r in rows], rows, now=now)
    if fallback:
        refresh_summaries(conn, fallback, now=now)


def _since_days(result: ChunkResult, since: date | None) -> list[tuple[str, date]]:
    start = _since_columns(result, since)
    out = []
    for i in _written_athletes(result):
        day = (_EPOCH + np.timedelta64(int(result.first_day[i] + start[i]), "D")).astype(date)
        out.append((result.athlete_ids[i], day))
    return out


def _write_generic(conn: Connection, result: ChunkResult, *, since: date | None,
                   computed_at: datetime) -> tuple[int, list[int]]:
    """Rows written, and the athletes (rows of ``result``) whose days on or after ``since`` were replaced."""
    for aid, day in _since_days(result, since):
        conn.execute(delete(daily_metrics).where(and_(daily_metrics.c.athlete_id == aid,
                                                      daily_metrics.c.day >= day)))
    replaced = _written_athletes(result)
    rows, cols = _selection(result, since)
    if len(rows) == 0:
        return 0, replaced
    a = result.arrays
    days = (_EPOCH + (result.first_day[rows] + cols).astype("timedelta64[D]")).astype(date)
    values: dict[str, list[Any]] = {}
    for name in FLOAT_COLUMNS:
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
        rec_k: dict[str, Any] = {name: values[name][k] for name in FLOAT_COLUMNS}
        rec_k.update(athlete_id=result.athlete_ids[rows[k]], day=days[k], stage=stage[k],
                     recommendation_code=rec[k], data_feel_agree=agree[k],
                     detail=result.details.get((int(rows[k]), int(cols[k]))), computed_at=computed_at)
        records.append(rec_k)
    for i in range(0, len(records), 20_000):
        conn.execute(insert(daily_metrics), records[i : i + 20_000])
    return len(records), replaced


_COPY_BLOCK_ROWS = 2048
_PG_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)


def _be(values: npt.NDArray[Any], dtype: str) -> npt.NDArray[np.uint8]:
    """``values`` as big-endian ``dtype``, one row of raw bytes per value."""
    be = np.ascontiguousarray(values, dtype=dtype)
    return be.view(np.uint8).reshape(len(be), -1)


def _pg_copy_rows(result: ChunkResult, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp],
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
    columns = ["athlete_id", "day", *FLOAT_COLUMNS, "stage", "recommendation_code", "data_feel_agree",
               "computed_at", "detail"]
    floats: dict[str, npt.NDArray[np.float64]] = {}
    null_bits = np.zeros(n, dtype=np.int64)
    for name in FLOAT_COLUMNS:
        v = result.arrays[name][rows, cols]
        floats[name] = np.nan_to_num(v, nan=0.0) if name in NOT_NULL_FLOATS else v
    nullable = [c for c in FLOAT_COLUMNS if c not in NOT_NULL_FLOATS]
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
    for c in FLOAT_COLUMNS:
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
        for c in FLOAT_COLUMNS:
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


def _write_postgresql(conn: Connection, result: ChunkResult, *, since: date | None,
                      computed_at: datetime) -> tuple[int, list[int]]:
    """``DELETE`` the chunk's days on or after ``since``, then one binary ``COPY`` into ``daily_metrics``.

    ``daily_metrics`` has no foreign key to ``athletes`` (a per-row check doubled the cost of
    the bulk write): the chunk's athlete rows are locked ``FOR SHARE`` instead, once per
    athlete, and athletes deleted meanwhile are skipped. Deleting an athlete
    (``services.privacy``) locks the athlete row before deleting its rows, so it either
    waits for this transaction and then deletes what it wrote, or commits first and this
    transaction finds the athlete gone. Returns the rows written and the athletes (rows of
    ``result``) whose days on or after ``since`` were replaced.
    """
    since_days = _since_days(result, since)
    if not since_days:
        return 0, []
    present = {str(r[0]) for r in conn.execute(
        text("SELECT id FROM athletes WHERE id = ANY(CAST(:ids AS text[])) ORDER BY id FOR SHARE"),
        {"ids": [a for a, _ in since_days]})}
    since_days = [(a, d) for a, d in since_days if a in present]
    if not since_days:
        return 0, []
    replaced = [i for i in _written_athletes(result) if result.athlete_ids[i] in present]
    conn.execute(
        text("DELETE FROM daily_metrics d USING (SELECT unnest(CAST(:ids AS text[])) AS id, "
             "unnest(CAST(:days AS date[])) AS day) s WHERE d.athlete_id = s.id AND d.day >= s.day"),
        {"ids": [a for a, _ in since_days], "days": [d for _, d in since_days]},
    )
    rows, cols = _selection(result, since)
    keep = np.array([aid in present for aid in result.athlete_ids], dtype=bool)[rows]
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
    if len(rows) == 0:
        return 0, replaced
    details: dict[int, bytes] = {}
    if result.details:
        counts = np.bincount(rows, minlength=len(result.athlete_ids))
        starts = np.cumsum(counts) - counts  # each athlete's cells are consecutive in ``rows``
        for (i, d), value in result.details.items():
            if counts[i] and d >= cols[starts[i]]:
                k = int(starts[i] + d - cols[starts[i]])
                assert rows[k] == i and cols[k] == d
                details[k] = json.dumps(value).encode()
    columns, payload = _pg_copy_rows(result, rows, cols, details, computed_at)
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    with dbapi.cursor() as cur, cur.copy(  # type: ignore[attr-defined]
        f"COPY daily_metrics ({', '.join(columns)}) FROM STDIN WITH (FORMAT binary)"
    ) as cp:
        cp.write(payload)
    return len(rows), replaced


# --------------------------------------------------------------------------- one task
def task_engine(database_url: str) -> Engine:
    """An engine without a pool (one connection per use), for a batch task."""
    if database_url.startswith("postgresql"):
        # make_engine(pool=False) still passes pool_size/max_overflow, which NullPool rejects
        return create_engine(database_url, poolclass=NullPool, connect_args={"connect_timeout": 5})
    return make_engine(database_url, pool=False)


def recompute_chunk(database_url: str, ids: Sequence[str], *, now: datetime, since: date | None = None,
                    detail_days: int = 7, write: bool = True) -> ChunkOutcome:
    """Read, compute and (when ``write``) store one chunk, on a connection of its own.

    The engine has no pool and lives only inside this call: a batch task never shares or
    pickles a connection. With ``write=False`` (SQLite: one writer) the computed result is
    returned for the caller to store with :func:`write_chunk`.
    """
    engine = task_engine(database_url)
    try:
        with translate_db_errors(), engine.connect() as conn:
            chunk = read_chunk(conn, ids, now=now)
        result = compute_chunk(chunk, detail_days=detail_days)
        if not write:
            return ChunkOutcome(len(ids), result.athlete_days, 0, result)
        with translate_db_errors(), engine.begin() as conn:
            written = write_chunk(conn, result, since=since, computed_at=now)
        return ChunkOutcome(len(ids), result.athlete_days, written)
    finally:
        engine.dispose()


def chunks(ids: Sequence[str], size: int) -> Iterator[list[str]]:
    """``ids`` in consecutive chunks of ``size``."""
    for i in range(0, len(ids), max(1, size)):
        yield list(ids[i : i + size])
