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

The SQL, the dialect code and the PostgreSQL binary ``COPY`` encoder live in
:mod:`lydiard.storage.daily_bulk`: PostgreSQL gets ``DELETE`` (days on or after ``since``)
then one binary ``COPY`` straight into ``daily_metrics``, in one transaction; SQLite gets
``DELETE`` + ``executemany`` in one transaction (from the single writer, the driver). Both
are idempotent. The athletes' ``athlete_summaries`` are rewritten in the same
transaction from the arrays just written (not re-read from ``daily_metrics``).
"""

from __future__ import annotations

import logging
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
    cast,
    select,
)

from lydiard.domain.activity import SPORTS
from lydiard.domain.daily import HRV_KINDS, SOURCE_PRIORITY, merge_by_source
from lydiard.domain.load.session import DEFAULT_TSS_PER_HOUR
from lydiard.domain.recovery import STAGE_NAMES, stage_matrix
from lydiard.domain.recovery.assess import day_details
from lydiard.domain.recovery.baselines import BaselineConfig, config_from_settings, readings_of_kind
from lydiard.domain.recovery.stage import mask_implausible
from lydiard.errors import NotFoundError
from lydiard.services.metrics import (
    OBS_FIELDS,
    OBS_RACE,
    PMC_COLUMNS,
    STAGE_COLUMNS,
    logged_session_loads,
    metric_arrays,
    with_race,
)
from lydiard.services.signals import (
    FILE_COLUMNS,
    LOG_COLUMNS,
    engine_inputs,
    file_columns_select,
    log_columns_select,
    planned_race_select,
    race_evidence,
    sessions_table,
    signal_matrices,
)
from lydiard.services.summaries import (
    SPARK_DAYS,
    SPARK_SERIES,
    refresh_summaries,
    store_summaries,
    summary_row,
)
from lydiard.storage.daily_bulk import (
    NOT_NULL_FLOATS,
    MetricCells,
    bulk_engine,
    copy_metric_cells,
    day_numbers,
    delete_metrics_since,
    insert_metric_cells,
    lock_present_athletes,
    read_frame,
)
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    activities,
    athletes,
    daily_observations,
    planned_sessions,
    session_logs,
)

FloatMatrix = npt.NDArray[np.float64]
log = logging.getLogger(__name__)

#: Numeric observation columns fed to the stage kernel (``hrv_kind`` is not a kernel input).
OBS_INPUTS: tuple[str, ...] = tuple(c for c in OBS_FIELDS if c != "hrv_kind")
_FLAGS: frozenset[str] = frozenset(("illness", "injury", "travel"))
#: Float columns written to ``daily_metrics`` (order of the COPY rows).
FLOAT_COLUMNS: tuple[str, ...] = ("load_au", *PMC_COLUMNS, *STAGE_COLUMNS)
_EPOCH = np.datetime64("1970-01-01", "D")
_KIND_CODE: dict[str, float] = {k: float(i + 1) for i, k in enumerate(HRV_KINDS)}
_KIND_NAMES: npt.NDArray[np.object_] = np.array([None, *HRV_KINDS], dtype=object)
_BLOCK_ATHLETES = 128  # athletes per kernel call: bounds the detail arrays (~60 × 128 × days × 8 B)


@dataclass(frozen=True, slots=True)
class ChunkInputs:
    """Input matrices of a chunk of athletes (left-aligned: column 0 = each athlete's first day)."""

    athlete_ids: tuple[str, ...]
    first_day: npt.NDArray[np.int64]  #: days since 1970-01-01 of each row's column 0
    n_days: npt.NDArray[np.int64]  #: valid columns per row (0 = athlete without data)
    inputs: dict[str, FloatMatrix]  #: ``stage_matrix`` inputs, athletes × max(n_days)
    #: each athlete's baselines (:func:`~lydiard.domain.recovery.baselines.config_from_settings`
    #: of its stored settings); empty = every athlete has the default configuration
    configs: tuple[BaselineConfig, ...] = ()

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
    tz_rows = conn.execute(select(athletes.c.id, athletes.c.tz, athletes.c.baseline_config)
                           .where(athletes.c.id.in_(ids))).all()
    tz_of = {str(r.id): str(r.tz or "UTC") for r in tz_rows}
    settings_of = {str(r.id): r.baseline_config for r in tz_rows if r.baseline_config}
    default = BaselineConfig()
    configs = tuple(config_from_settings(settings_of.get(aid)) for aid in ids) if settings_of else ()
    if all(c == default for c in configs):
        configs = ()  # settings equal to the defaults (the web form sends every window)
    hrv_kind_of = [c.hrv_kind for c in configs]
    today_by_tz: dict[str, int] = {}
    until = np.zeros(n_ath, dtype=np.int64)
    for i, aid in enumerate(ids):
        tz = tz_of.get(aid, "UTC")
        if tz not in today_by_tz:
            local = now.astimezone(ZoneInfo(tz)).date()
            today_by_tz[tz] = int((np.datetime64(local, "D") - _EPOCH).astype(np.int64))
        until[i] = today_by_tz[tz]

    # the sessions with every column the signals need (services.signals: the per-athlete path reads the same)
    files = read_frame(
        conn, file_columns_select(activities.c.athlete_id.in_(ids)), ["athlete_id", "day", *FILE_COLUMNS], index,
        codes={"sport": SPORTS},
    )
    logs = read_frame(
        conn, log_columns_select(session_logs.c.athlete_id.in_(ids)), ["athlete_id", "day", *LOG_COLUMNS], index,
        codes={"sport": tuple(DEFAULT_TSS_PER_HOUR)},
    )
    planned = read_frame(
        conn, planned_race_select(planned_sessions.c.athlete_id.in_(ids)), ["athlete_id", "day"], index,
    )
    obs_cols = [cast(daily_observations.c[c], Integer) if c in _FLAGS else daily_observations.c[c]
                for c in OBS_INPUTS]
    # the reading kind only when an athlete of the chunk keeps one kind (the common case reads no text)
    by_kind = any(k is not None for k in hrv_kind_of)
    kind_cols = [daily_observations.c.hrv_kind] if by_kind else []
    obs_names = [*OBS_INPUTS, OBS_RACE, *(["hrv_kind"] if by_kind else [])]
    obs = read_frame(
        conn,
        select(daily_observations.c.athlete_id, daily_observations.c.day, daily_observations.c.source, *obs_cols,
               cast(daily_observations.c[OBS_RACE], Integer), *kind_cols)
        .where(daily_observations.c.athlete_id.in_(ids)),
        ["athlete_id", "day", "source", *obs_names], index,
        codes={"source": SOURCE_PRIORITY, **({"hrv_kind": HRV_KINDS} if by_kind else {})},
    )
    if by_kind:  # text (SQLite) or categories (PostgreSQL) → 1, 2... (HRV_KINDS), NaN when not reported
        obs["hrv_kind"] = obs["hrv_kind"].astype(object).map(_KIND_CODE).astype(np.float64)

    log_load = logged_session_loads(logs["sport"], logs["duration_s"], logs["rpe"]) if len(logs) else np.zeros(0)
    load_rows = pd.DataFrame({
        "a": np.concatenate([files["a"].to_numpy(dtype=np.int64), logs["a"].to_numpy(dtype=np.int64)]),
        "d": np.concatenate([day_numbers(files["day"]), day_numbers(logs["day"])]),
        "load": np.concatenate([files["load_au"].to_numpy(dtype=np.float64), log_load]),
    })
    obs_a = obs["a"].to_numpy(dtype=np.int64)
    obs_d = day_numbers(obs["day"])

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
    race_flag = np.full((n_ath, width), np.nan)  # the check-in's race flag: a signal, not an engine input
    if len(obs):
        col = obs_d - first[obs_a]
        keep = col < n_days[obs_a]
        frame = obs[obs_names].astype(np.float64)[keep]
        frame["a"], frame["c"] = obs_a[keep], col[keep]
        # several sources a day: the domain's merge by source priority, per athlete × day
        cell = frame["a"].to_numpy(dtype=np.int64) * max(width, 1) + frame["c"].to_numpy(dtype=np.int64)
        cells, merged = merge_by_source(cell, obs["source"][keep],
                                        {name: frame[name].to_numpy(dtype=np.float64) for name in obs_names})
        a_idx, c_idx = np.divmod(cells, max(width, 1))
        if by_kind:  # each athlete's kind of readings (the domain's rule, as daily_inputs + compute_daily)
            kinds = _KIND_NAMES[np.nan_to_num(merged["hrv_kind"], nan=0.0).astype(np.int64)]
            rmssd = merged["rmssd_ms"]
            for i, kind in enumerate(hrv_kind_of):
                if kind is not None:
                    at = a_idx == i
                    rmssd[at] = readings_of_kind(rmssd[at], kinds[at], configs[i])
        for name in (*OBS_INPUTS, OBS_RACE):
            matrix = race_flag if name == OBS_RACE else np.full((n_ath, width), np.nan)
            values = merged[name]
            if name in _FLAGS or name == OBS_RACE:
                values = np.where(np.isnan(values), np.nan, (values != 0).astype(np.float64))
            matrix[a_idx, c_idx] = values
            if name != OBS_RACE:
                inputs[name] = matrix
    else:
        for name in OBS_INPUTS:
            inputs[name] = np.full((n_ath, width), np.nan)
    inputs.update(_chunk_signals(files, logs, planned, log_load, first=first, n_days=n_days, load=load,
                                 race_flag=race_flag))
    masked = mask_implausible(inputs)  # as daily_inputs does: missing, not a failed chunk
    if masked:
        log.warning("implausible stored values treated as missing in a chunk of %d athletes: %s", n_ath, masked)
    return ChunkInputs(athlete_ids=ids, first_day=first, n_days=n_days, inputs=inputs, configs=configs)


def _chunk_signals(files: pd.DataFrame, logs: pd.DataFrame, planned: pd.DataFrame,
                   log_load: npt.NDArray[np.float64], *, first: npt.NDArray[np.int64],
                   n_days: npt.NDArray[np.int64], load: FloatMatrix,
                   race_flag: FloatMatrix | None = None) -> dict[str, npt.NDArray[Any]]:
    """The chunk's session markers and race days (:func:`lydiard.services.signals.signal_matrices`,
    as the per-athlete path)."""
    shape = (len(first), load.shape[1])

    def place(frame: pd.DataFrame) -> pd.DataFrame:
        a = frame["a"].to_numpy(dtype=np.int64)
        c = day_numbers(frame["day"]) - first[a] if len(frame) else np.zeros(0, dtype=np.int64)
        c = np.where(c < n_days[a], c, -1) if len(frame) else c
        return frame.assign(a=a.astype(np.float64), c=c.astype(np.float64))

    files, logs = place(files), place(logs)
    race_days = np.zeros(shape, dtype=bool)
    if len(planned):
        p = place(planned)
        ok = p["c"].to_numpy() >= 0
        race_days[p["a"].to_numpy()[ok].astype(np.int64), p["c"].to_numpy()[ok].astype(np.int64)] = True
    return signal_matrices(sessions_table(files, logs, log_load_au=log_load), shape=shape, load_au=load,
                           planned_race=race_days, race_flag=race_flag)


# --------------------------------------------------------------------------- computing
def config_groups(chunk: ChunkInputs) -> list[tuple[BaselineConfig, npt.NDArray[np.intp]]]:
    """The chunk's rows grouped by baseline configuration (rows in order within a group).

    Most athletes keep the default configuration: it comes first and, when every athlete
    has it, it is the single group of all rows (the chunk is computed as before, no copy).
    """
    n_ath = len(chunk.athlete_ids)
    default = BaselineConfig()
    if not chunk.configs:
        return [(default, np.arange(n_ath, dtype=np.intp))]
    rows_of: dict[BaselineConfig, list[int]] = {default: []}
    for i, c in enumerate(chunk.configs):
        rows_of.setdefault(c, []).append(i)
    return [(c, np.asarray(rows, dtype=np.intp)) for c, rows in rows_of.items() if rows]


def compute_chunk(chunk: ChunkInputs, *, detail_days: int = 7) -> ChunkResult:
    """Run the daily kernels over the chunk (blocks of athletes) and build recent days' detail.

    Athletes are computed in groups of equal baseline configuration (:func:`config_groups`):
    the default group at matrix speed, each athlete's own settings in a sub-group of its own.
    """
    n_ath = len(chunk.athlete_ids)
    width = int(chunk.n_days.max()) if n_ath else 0
    arrays: dict[str, npt.NDArray[Any]] = {}
    details: dict[tuple[int, int], dict[str, Any]] = {}
    if width == 0:
        return ChunkResult(chunk.athlete_ids, chunk.first_day, chunk.n_days, arrays, details)
    pmc_out: dict[str, FloatMatrix] = {}  # PMC buffers reused from block to block (values are copied out)
    for cfg, group in config_groups(chunk):
        whole = len(group) == n_ath  # every athlete: slices of the chunk's matrices, no copy
        for g0 in range(0, len(group), _BLOCK_ATHLETES):
            g1 = min(len(group), g0 + _BLOCK_ATHLETES)
            rows = group[g0:g1]
            block = engine_inputs({k: v[g0:g1] if whole else v[rows] for k, v in chunk.inputs.items()})
            stage = stage_matrix(block, config=cfg, detail=True) if detail_days > 0 else None
            part = metric_arrays(block, config=cfg, stage_result=stage, pmc_out=pmc_out)
            for k, v in part.items():
                if k not in arrays:
                    arrays[k] = np.empty((n_ath, width), dtype=v.dtype)
                if whole:
                    arrays[k][g0:g1] = v
                else:
                    arrays[k][rows] = v
            if stage is not None:
                for i, row in enumerate(rows.tolist()):
                    n = int(chunk.n_days[row])
                    recent = range(max(0, n - detail_days), n)
                    races = (race_evidence(chunk.inputs["race_rule"][row], chunk.inputs["load_au"][row],
                                           (_EPOCH + int(chunk.first_day[row])).astype(object), recent)
                             if "race_rule" in chunk.inputs else [None] * len(recent))
                    for d, (ev, rec), race in zip(recent, day_details(stage, i, recent, cfg), races, strict=True):
                        # JSON-ready (day_details)
                        details[(row, d)] = with_race({"evidence": ev, "recommendation": rec}, race)
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


def _cells(result: ChunkResult) -> MetricCells:
    return MetricCells(result.athlete_ids, result.first_day, result.arrays, FLOAT_COLUMNS, result.details)


def _write_generic(conn: Connection, result: ChunkResult, *, since: date | None,
                   computed_at: datetime) -> tuple[int, list[int]]:
    """Rows written, and the athletes (rows of ``result``) whose days on or after ``since`` were replaced."""
    delete_metrics_since(conn, _since_days(result, since))
    replaced = _written_athletes(result)
    rows, cols = _selection(result, since)
    if len(rows) == 0:
        return 0, replaced
    return insert_metric_cells(conn, _cells(result), rows, cols, computed_at=computed_at), replaced


def _write_postgresql(conn: Connection, result: ChunkResult, *, since: date | None,
                      computed_at: datetime) -> tuple[int, list[int]]:
    """``DELETE`` the chunk's days on or after ``since``, then one binary ``COPY`` into ``daily_metrics``.

    Athletes deleted meanwhile are skipped (:func:`~lydiard.storage.daily_bulk.lock_present_athletes`).
    Returns the rows written and the athletes (rows of ``result``) whose days on or after
    ``since`` were replaced.
    """
    since_days = _since_days(result, since)
    if not since_days:
        return 0, []
    present = lock_present_athletes(conn, [a for a, _ in since_days])
    since_days = [(a, d) for a, d in since_days if a in present]
    if not since_days:
        return 0, []
    replaced = [i for i in _written_athletes(result) if result.athlete_ids[i] in present]
    delete_metrics_since(conn, since_days)
    rows, cols = _selection(result, since)
    keep = np.array([aid in present for aid in result.athlete_ids], dtype=bool)[rows]
    if not keep.all():
        rows, cols = rows[keep], cols[keep]
    if len(rows) == 0:
        return 0, replaced
    return copy_metric_cells(conn, _cells(result), rows, cols, computed_at=computed_at), replaced


# --------------------------------------------------------------------------- one task
#: An engine without a pool, for a batch task (kept under its old name for callers).
task_engine = bulk_engine


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
