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

Writes: PostgreSQL gets a binary COPY of fixed-width rows into a temporary table, then
``DELETE`` (days on or after ``since``) + ``INSERT … ON CONFLICT (athlete_id, day) DO
UPDATE`` in one transaction; SQLite gets ``DELETE`` + ``executemany`` in one transaction
(from the single writer, the driver). Both are idempotent.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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

from lydiard.domain.recovery import REC_CODES, STAGE_NAMES, stage_matrix
from lydiard.domain.recovery.assess import _calibration_text, _evidence
from lydiard.domain.recovery.baselines import BaselineConfig
from lydiard.domain.recovery.recommend import recommendation_for
from lydiard.domain.recovery.stage import Stage
from lydiard.errors import NotFoundError
from lydiard.services.metrics import (
    OBS_FIELDS,
    PMC_COLUMNS,
    SOURCE_PRIORITY,
    STAGE_COLUMNS,
    _jsonable,
    logged_session_loads,
    metric_arrays,
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
    codes, uniques = pd.factorize(values)
    as_days = np.array([str(u)[:10] for u in uniques], dtype="datetime64[D]")
    days: npt.NDArray[np.int64] = (as_days - _EPOCH).astype(np.int64)[codes]
    return days


def _read_frame(conn: Connection, stmt: Select[Any], columns: Sequence[str]) -> pd.DataFrame:
    """Rows of ``stmt`` as a frame; on PostgreSQL through ``COPY … TO STDOUT`` (CSV, C parser)."""
    if conn.dialect.name != "postgresql":
        return pd.DataFrame(conn.execute(stmt).all(), columns=list(columns))
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    buf = io.BytesIO()
    cur = dbapi.cursor()
    with cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as cp:  # type: ignore[attr-defined]
        for data in cp:
            buf.write(data)
    cur.close()
    buf.seek(0)
    if buf.getbuffer().nbytes == 0:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    return pd.read_csv(buf, header=None, names=list(columns), keep_default_na=False,
                       na_values=[""], dtype={columns[0]: str, columns[1]: str})


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
    :data:`~lydiard.services.metrics.SOURCE_PRIORITY`.
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
        ["athlete_id", "day", "load_au"],
    )
    logs = _read_frame(
        conn,
        select(session_logs.c.athlete_id, session_logs.c.day, session_logs.c.sport, session_logs.c.duration_s,
               session_logs.c.rpe)
        .where(session_logs.c.athlete_id.in_(ids), session_logs.c.activity_id.is_(None)),
        ["athlete_id", "day", "sport", "duration_s", "rpe"],
    )
    obs_cols = [cast(daily_observations.c[c], Integer) if c in _FLAGS else daily_observations.c[c]
                for c in OBS_INPUTS]
    obs = _read_frame(
        conn,
        select(daily_observations.c.athlete_id, daily_observations.c.day, daily_observations.c.source, *obs_cols)
        .where(daily_observations.c.athlete_id.in_(ids)),
        ["athlete_id", "day", "source", *OBS_INPUTS],
    )

    load_rows = pd.DataFrame({
        "a": np.concatenate([index.get_indexer(pd.Index(files["athlete_id"])), index.get_indexer(pd.Index(logs["athlete_id"]))]),
        "d": np.concatenate([_day_numbers(files["day"]), _day_numbers(logs["day"])]),
        "load": np.concatenate([
            files["load_au"].to_numpy(dtype=np.float64),
            logged_session_loads(logs["sport"], logs["duration_s"], logs["rpe"]) if len(logs) else np.zeros(0),
        ]),
    })
    obs_a = index.get_indexer(pd.Index(obs["athlete_id"]))
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
        if frame.duplicated(["a", "c"]).any():  # several sources a day: first non-null by priority
            rank = {s: k for k, s in enumerate(SOURCE_PRIORITY)}
            frame["r"] = obs["source"][keep].map(lambda s: rank.get(s, len(rank))).to_numpy()
            frame = frame.sort_values(["a", "c", "r"], kind="stable")
            frame = frame.groupby(["a", "c"], sort=False)[list(OBS_INPUTS)].first().reset_index()
        a_idx, c_idx = frame["a"].to_numpy(), frame["c"].to_numpy()
        for name in OBS_INPUTS:
            matrix = np.full((n_ath, width), np.nan)
            values = frame[name].to_numpy(dtype=np.float64)
            if name in _FLAGS:
                values = np.where(np.isnan(values), np.nan, (values != 0).astype(np.float64))
            matrix[a_idx, c_idx] = values
            inputs[name] = matrix
    else:
        for name in OBS_INPUTS:
            inputs[name] = np.full((n_ath, width), np.nan)
    return ChunkInputs(athlete_ids=ids, first_day=first, n_days=n_days, inputs=inputs)


# --------------------------------------------------------------------------- computing
def _detail(r: dict[str, npt.NDArray[Any]], i: int, d: int, cfg: BaselineConfig) -> dict[str, Any]:
    """Evidence + recommendation of row ``i``, column ``d``: exactly what ``assess_days`` builds."""
    row = {k: (v[i : i + 1] if getattr(v, "ndim", 0) == 2 else v) for k, v in r.items()}
    ev = _evidence(row, d, cfg)
    rec = recommendation_for(
        int(r["rec_code"][i, d]), days=int(r["rec_days"][i, d]), volume_pct=int(r["rec_volume_pct"][i, d]),
        reason=int(r["rec_reason"][i, d]), config=cfg,
    )
    if int(r["stage"][i, d]) == Stage.CALIBRATING and rec["code"] == "train_as_planned":
        rec["text"] = _calibration_text(ev) + " Train as planned and go by feel."
    detail: dict[str, Any] = _jsonable({"evidence": ev, "recommendation": rec})
    return detail


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
                for d in range(max(0, n - detail_days), n):
                    details[(b0 + i, d)] = _detail(stage, i, d, cfg)
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

    Call inside a transaction (``engine.begin()``): the delete and insert commit together.
    Returns the number of rows written.
    """
    if conn.dialect.name == "postgresql":
        return _write_postgresql(conn, result, since=since, computed_at=computed_at)
    return _write_generic(conn, result, since=since, computed_at=computed_at)


def _since_days(result: ChunkResult, since: date | None) -> list[tuple[str, date]]:
    start = _since_columns(result, since)
    out = []
    for i in _written_athletes(result):
        day = (_EPOCH + np.timedelta64(int(result.first_day[i] + start[i]), "D")).astype(date)
        out.append((result.athlete_ids[i], day))
    return out


def _write_generic(conn: Connection, result: ChunkResult, *, since: date | None, computed_at: datetime) -> int:
    for aid, day in _since_days(result, since):
        conn.execute(delete(daily_metrics).where(and_(daily_metrics.c.athlete_id == aid,
                                                      daily_metrics.c.day >= day)))
    rows, cols = _selection(result, since)
    if len(rows) == 0:
        return 0
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
    return len(records)


def _pg_binary_rows(result: ChunkResult, rows: npt.NDArray[np.intp], cols: npt.NDArray[np.intp]) -> bytes:
    """PostgreSQL binary COPY of fixed-width rows: (athlete row int4, day date, floats…, codes int2)."""
    fields: list[tuple[str, str]] = [("n", ">i2"), ("la", ">i4"), ("a", ">i4"), ("ld", ">i4"), ("d", ">i4")]
    for k, _name in enumerate(FLOAT_COLUMNS):
        fields += [(f"l{k}", ">i4"), (f"f{k}", ">f8")]
    for code in ("stage", "rec_code", "data_feel_agree"):
        fields += [(f"l_{code}", ">i4"), (code, ">i2")]
    rec = np.empty(len(rows), dtype=np.dtype(fields))
    rec["n"] = 2 + len(FLOAT_COLUMNS) + 3
    rec["la"], rec["ld"] = 4, 4
    rec["a"] = rows
    rec["d"] = result.first_day[rows] + cols - _PG_EPOCH_DAYS
    for k, name in enumerate(FLOAT_COLUMNS):
        rec[f"l{k}"] = 8
        rec[f"f{k}"] = result.arrays[name][rows, cols]
    for code in ("stage", "rec_code", "data_feel_agree"):
        rec[f"l_{code}"] = 2
        rec[code] = result.arrays[code][rows, cols]
    header = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
    return header + rec.tobytes() + struct.pack(">h", -1)


def _code_array(names: dict[int, str]) -> tuple[str, int]:
    """An SQL ``ARRAY[...]`` literal of code names and the offset making the codes 1-based."""
    lo, hi = min(names), max(names)
    items = ", ".join("'" + names[c] + "'" if c in names else "NULL" for c in range(lo, hi + 1))
    return f"(ARRAY[{items}]::text[])", 1 - lo


def _write_postgresql(conn: Connection, result: ChunkResult, *, since: date | None, computed_at: datetime) -> int:
    since_days = _since_days(result, since)
    if not since_days:
        return 0
    conn.execute(
        text("DELETE FROM daily_metrics d USING (SELECT unnest(CAST(:ids AS text[])) AS id, "
             "unnest(CAST(:days AS date[])) AS day) s WHERE d.athlete_id = s.id AND d.day >= s.day"),
        {"ids": [a for a, _ in since_days], "days": [d for _, d in since_days]},
    )
    rows, cols = _selection(result, since)
    if len(rows) == 0:
        return 0
    float_defs = ", ".join(f"{c} float8" for c in FLOAT_COLUMNS)
    conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS _batch_dm (a int4, day date, "
                      f"{float_defs}, stage int2, rec int2, agree int2) ON COMMIT DELETE ROWS"))
    dbapi = conn.connection.dbapi_connection
    assert dbapi is not None
    cur = dbapi.cursor()
    with cur.copy("COPY _batch_dm FROM STDIN WITH (FORMAT binary)") as cp:  # type: ignore[attr-defined]
        cp.write(_pg_binary_rows(result, rows, cols))
    stages, stage_off = _code_array(STAGE_NAMES)
    recs, rec_off = _code_array(REC_CODES)
    floats = ", ".join(
        f"COALESCE(NULLIF(t.{c}, 'NaN'), 0.0)" if c in NOT_NULL_FLOATS else f"NULLIF(t.{c}, 'NaN')"
        for c in FLOAT_COLUMNS
    )
    columns = ("athlete_id", "day", *FLOAT_COLUMNS, "stage", "recommendation_code", "data_feel_agree",
               "detail", "computed_at")
    updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in columns[2:])
    conn.execute(
        text(f"INSERT INTO daily_metrics ({', '.join(columns)}) "
             f"SELECT (CAST(:ids AS text[]))[t.a + 1], t.day, {floats}, {stages}[t.stage + {stage_off}], {recs}[t.rec + {rec_off}], "
             "CASE t.agree WHEN 1 THEN true WHEN 0 THEN false END, NULL, :at "
             "FROM _batch_dm t "
             f"ON CONFLICT (athlete_id, day) DO UPDATE SET {updates}"),
        {"ids": list(result.athlete_ids), "at": computed_at},
    )
    if result.details:
        conn.execute(text("CREATE TEMP TABLE IF NOT EXISTS _batch_detail (athlete_id text, day date, detail text) "
                          "ON COMMIT DELETE ROWS"))
        with cur.copy("COPY _batch_detail FROM STDIN") as cp:  # type: ignore[attr-defined]
            for (i, d), value in result.details.items():
                day = (_EPOCH + np.timedelta64(int(result.first_day[i] + d), "D")).astype(date)
                if since is None or day >= since:
                    cp.write_row((result.athlete_ids[i], day, json.dumps(value)))
        conn.execute(text("UPDATE daily_metrics m SET detail = CAST(t.detail AS json) FROM _batch_detail t "
                          "WHERE m.athlete_id = t.athlete_id AND m.day = t.day"))
    cur.close()
    return len(rows)


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
