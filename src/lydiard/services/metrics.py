"""Daily metrics per athlete: load, fitness/fatigue/form, spikes, monotony, baselines and stage.

``recompute_athlete`` rebuilds the athlete's whole daily series (cheap: vectorised
kernels) and writes only the rows that changed on or after ``since``: a late import or
a changed threshold updates exactly the days it affects (the PMC carries a change
forward, so every later day can be affected; days whose values are equal are not
rewritten).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, delete, insert, select, update

from lydiard.domain.daily import CHECKIN_FLAGS, CHECKIN_ITEMS, merge_by_source
from lydiard.domain.load.pmc import daily_metrics_matrix
from lydiard.domain.load.session import DEFAULT_TSS_PER_HOUR
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS, srpe_load
from lydiard.domain.recovery import INPUT_COLUMNS as STAGE_INPUTS
from lydiard.domain.recovery import REC_CODES, STAGE_NAMES, stage_matrix
from lydiard.domain.recovery.assess import day_details
from lydiard.domain.recovery.baselines import BaselineConfig, config_from_settings, readings_of_kind
from lydiard.domain.recovery.stage import RANGED_INPUTS, mask_implausible
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import AthleteInfo, load_athlete
from lydiard.services.context import Context
from lydiard.services.signals import (
    FILE_COLUMNS,
    LOG_COLUMNS,
    file_columns_select,
    log_columns_select,
    planned_race_select,
    race_evidence,
    sessions_table,
    signal_matrices,
)
from lydiard.services.summaries import refresh_summaries
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    activities,
    athletes,
    daily_metrics,
    daily_observations,
    planned_sessions,
    session_logs,
)
from lydiard.storage.tables import session_metrics as sm

OBS_FIELDS: tuple[str, ...] = ("rmssd_ms", "hrv_kind", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS, "readiness",
                               *CHECKIN_FLAGS)
#: The observations' race flag (the check-in's "I raced today"): merged like the fields above but
#: not an engine input itself; it reaches the engine as the race rule "flagged" of the signals.
OBS_RACE = "race"
METRIC_COLUMNS: tuple[str, ...] = (
    "load_au", "ctl", "atl", "tsb", "ramp", "acwr", "monotony", "strain", "stage", "confidence", "risk_score",
    "data_feel_agree", "ln_rmssd_7d", "ln_rmssd_low", "ln_rmssd_high", "rhr_7d", "rhr_base", "wellness_z",
    "evidence_sum", "recommendation_code", "detail",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RecomputeResult:
    athlete_id: str
    first_day: date | None
    last_day: date | None
    days_written: int
    days_unchanged: int


def warm_up_kernels() -> None:
    """Load the compiled daily kernel (from Numba's on-disk cache, ~0.5 s, or compiling it,
    ~2 s) so that the first recompute of this process (a check-in, an import) does not wait."""
    daily_metrics_matrix(np.zeros((1, 8)))


def local_today(ctx: Context, tz: str) -> date:
    return ctx.clock().astimezone(ZoneInfo(tz)).date()


def session_loads(conn: Connection, athlete_id: str, *, sex: str | None) -> pd.DataFrame:
    """One row per session (files and logged sessions not linked to a file): day, sport, load_au, source."""
    file_rows = conn.execute(
        select(activities.c.day, activities.c.sport, sm.c.load_au, sm.c.load_source)
        .join(sm, sm.c.activity_id == activities.c.id)
        .where(activities.c.athlete_id == athlete_id)
    ).all()
    rows: list[tuple[date, str, float, str]] = [(r.day, r.sport, float(r.load_au), r.load_source) for r in file_rows]
    logs = conn.execute(
        select(session_logs.c.day, session_logs.c.sport, session_logs.c.duration_s, session_logs.c.rpe)
        .where(session_logs.c.athlete_id == athlete_id, session_logs.c.activity_id.is_(None))
    ).all()
    if logs:
        lf = pd.DataFrame([r._asdict() for r in logs])
        rpe = pd.to_numeric(lf["rpe"], errors="coerce").astype(np.float64)
        loads = logged_session_loads(lf["sport"], lf["duration_s"].astype(np.float64), rpe)
        sources = np.where(rpe.notna().to_numpy(), "srpe", "duration_default")
        rows += list(zip(lf["day"], lf["sport"], loads.tolist(), sources.tolist(), strict=True))
    return pd.DataFrame(rows, columns=["day", "sport", "load_au", "load_source"])


def logged_session_loads(sport: pd.Series, duration_s: pd.Series, rpe: pd.Series) -> NDArray[np.float64]:
    """``load_au`` of logged sessions without a file, vectorised.

    The rule of :func:`lydiard.domain.load.session.session_metrics` for a session without
    samples: session-RPE (``rpe × minutes / SRPE_AU_PER_TSS``) when an RPE is given,
    otherwise hours × the sport's default TSS per hour. Same floating-point operations.
    """
    dur = duration_s.to_numpy(dtype=np.float64)
    rpe_v = pd.to_numeric(rpe, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    known = sport.isin(list(DEFAULT_TSS_PER_HOUR)).to_numpy()
    rate = np.where(known, sport.map(DEFAULT_TSS_PER_HOUR).to_numpy(dtype=np.float64, na_value=np.nan),
                    DEFAULT_TSS_PER_HOUR["other"])
    out: NDArray[np.float64] = dur / 3600.0 * rate
    has = np.isfinite(rpe_v)
    if has.any():
        out[has] = np.asarray(srpe_load(rpe=rpe_v[has], duration_min=dur[has] / 60.0)) / SRPE_AU_PER_TSS
    return out


def merged_observations(conn: Connection, athlete_id: str) -> pd.DataFrame:
    """Daily observations merged across sources (:func:`~lydiard.domain.daily.merge_by_source`), indexed by day."""
    rows = conn.execute(select(daily_observations).where(daily_observations.c.athlete_id == athlete_id)).all()
    if not rows:
        return pd.DataFrame(columns=[*OBS_FIELDS, OBS_RACE], index=pd.DatetimeIndex([], name="day"))
    frame = pd.DataFrame([r._asdict() for r in rows])
    day_numbers = pd.to_datetime(frame["day"]).to_numpy(dtype="datetime64[D]").astype(np.int64)
    keys, merged = merge_by_source(day_numbers, frame["source"],
                                   {c: frame[c].to_numpy() for c in (*OBS_FIELDS, OBS_RACE)})
    index = pd.DatetimeIndex(keys.astype("datetime64[D]").astype("datetime64[ns]"), name="day")
    return pd.DataFrame(merged, index=index).infer_objects()


def daily_inputs(conn: Connection, athlete_id: str, *, until: date, sex: str | None) -> pd.DataFrame:
    """The per-day input frame for ``assess_days``: load_au, every observation and the session signals
    (markers, race days and ``race_rule``: :mod:`lydiard.services.signals`), one row per day."""
    loads = session_loads(conn, athlete_id, sex=sex)
    obs = merged_observations(conn, athlete_id)
    days: list[date] = []
    if len(loads):
        days += [min(loads["day"])]
    if len(obs):
        days += [obs.index.min().date()]
    if not days:
        return pd.DataFrame()
    start = min(days)
    end = max(until, start)
    index = pd.date_range(start, end, freq="D", name="day")
    daily_load = loads.groupby("day")["load_au"].sum() if len(loads) else pd.Series(dtype=float)
    daily_load.index = pd.DatetimeIndex(pd.to_datetime(daily_load.index))
    # every column built first, the frame made once (inserting columns one by one costs more
    # than the computation on a short history)
    columns: dict[str, Any] = {"load_au": daily_load.reindex(index).fillna(0.0).astype(float)}
    for col in OBS_FIELDS:
        columns[col] = obs[col].reindex(index) if col in obs else np.full(len(index), np.nan)
    flag = (obs[OBS_RACE].reindex(index).map(lambda v: np.nan if v is None or v != v else float(bool(v)))
            .to_numpy(dtype=np.float64) if OBS_RACE in obs else np.full(len(index), np.nan))
    signals = stored_signals(conn, athlete_id, index=index, load_au=columns["load_au"].to_numpy(dtype=np.float64),
                             race_flag=flag)
    for col, values in signals.items():  # before the range check, as the batch reads them
        columns[col] = values[0]
    ranged = {c: pd.Series(columns[c]).to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
              for c in RANGED_INPUTS if c in columns}
    masked = mask_implausible(ranged)  # an implausible stored value is missing, not a failed recompute
    if masked:
        log.warning("athlete %s: implausible stored values treated as missing: %s", athlete_id, masked)
        for col in masked:
            columns[col] = ranged[col]
    for col in ("illness", "injury", "travel"):
        columns[col] = pd.Series(columns[col], index=index).astype("boolean")
    return pd.DataFrame(columns, index=index)


def stored_signals(conn: Connection, athlete_id: str, *, index: pd.DatetimeIndex,
                   load_au: npt.NDArray[np.float64],
                   race_flag: npt.NDArray[np.float64] | None = None) -> dict[str, npt.NDArray[Any]]:
    """The session markers and race days of one athlete over ``index`` (1 × days matrices).

    ``race_flag``: the merged check-in race flag per day of ``index`` (1/0/NaN).

    The same derivation as the batch (:func:`lydiard.services.signals.signal_matrices`).
    """
    who = activities.c.athlete_id == athlete_id
    files = pd.DataFrame(conn.execute(file_columns_select(who)).all(),
                         columns=["athlete_id", "day", *FILE_COLUMNS])
    logs = pd.DataFrame(conn.execute(log_columns_select(session_logs.c.athlete_id == athlete_id)).all(),
                        columns=["athlete_id", "day", *LOG_COLUMNS])
    planned = [r.day for r in conn.execute(planned_race_select(planned_sessions.c.athlete_id == athlete_id)).all()]
    start = index[0].date() if len(index) else None

    def day_columns(days: pd.Series) -> npt.NDArray[np.float64]:
        if len(days) == 0 or start is None:
            return np.zeros(0)
        return np.array([(d - start).days for d in days], dtype=np.float64)

    for frame in (files, logs):
        frame["a"] = 0.0
        frame["c"] = day_columns(frame["day"])
    log_load = (logged_session_loads(logs["sport"], logs["duration_s"].astype(np.float64),
                                     pd.to_numeric(logs["rpe"], errors="coerce").astype(np.float64))
                if len(logs) else np.zeros(0))
    shape = (1, len(index))
    race_days = np.zeros(shape, dtype=bool)
    cols = day_columns(pd.Series(planned))
    cols = cols[(cols >= 0) & (cols < len(index))].astype(np.int64)
    race_days[0, cols] = True
    sessions = sessions_table(files, logs, log_load_au=log_load)
    return signal_matrices(sessions, shape=shape, load_au=load_au[None, :], planned_race=race_days,
                           race_flag=None if race_flag is None else race_flag[None, :])


#: ``daily_metrics`` columns taken from :func:`stage_matrix` arrays (column ← kernel output).
STAGE_COLUMNS: dict[str, str] = {
    "confidence": "confidence", "risk_score": "risk_score", "ln_rmssd_7d": "ln_rmssd_7d",
    "ln_rmssd_low": "hrv_band_low", "ln_rmssd_high": "hrv_band_high", "rhr_7d": "rhr_7d",
    "rhr_base": "rhr_base", "wellness_z": "wellness_z", "evidence_sum": "evidence_sum",
}
#: ``daily_metrics`` columns taken from :func:`daily_metrics_matrix` (column ← kernel output).
PMC_COLUMNS: dict[str, str] = {
    "ctl": "ctl", "atl": "atl", "tsb": "tsb", "ramp": "ramp", "acwr": "acwr_ewma", "monotony": "monotony",
    "strain": "strain",
}
_FLAG_INPUTS = frozenset(("illness", "injury", "travel", "race"))


def frame_matrix_inputs(frame: pd.DataFrame,
                        config: BaselineConfig | None = None) -> dict[str, npt.NDArray[np.float64]]:
    """A ``daily_inputs`` frame as the 1 × days input matrices of ``stage_matrix`` (as ``assess_days`` reads it).

    With ``config.hrv_kind`` set, readings of another kind are missing (the domain's
    :func:`~lydiard.domain.recovery.baselines.readings_of_kind`)."""
    inputs: dict[str, npt.NDArray[np.float64]] = {}
    for name in STAGE_INPUTS:
        if name not in frame.columns:
            continue
        col = frame[name]
        if name in _FLAG_INPUTS:
            values = col.map(lambda v: np.nan if v is None or v is pd.NA or v != v else float(bool(v)))
            inputs[name] = values.to_numpy(dtype=np.float64)[None, :]
        else:
            inputs[name] = pd.to_numeric(col, errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)[None, :]
    if config is not None and config.hrv_kind is not None and "rmssd_ms" in inputs and "hrv_kind" in frame.columns:
        inputs["rmssd_ms"] = readings_of_kind(inputs["rmssd_ms"], frame["hrv_kind"].to_numpy(dtype=object)[None, :],
                                              config)
    return inputs


def metric_arrays(inputs: dict[str, npt.NDArray[np.float64]], *, config: BaselineConfig | None = None,
                  stage_result: dict[str, npt.NDArray[Any]] | None = None,
                  pmc_out: dict[str, npt.NDArray[np.float64]] | None = None) -> dict[str, npt.NDArray[Any]]:
    """Every ``daily_metrics`` value for athletes × days input matrices (the per-athlete path and the batch).

    Rows are athletes, each starting on its own first day (left-aligned); the kernels are
    causal and element-wise across athletes, so padding a row on the right never changes
    its earlier days. ``stage_result``: an earlier ``stage_matrix(inputs, …)`` result to
    reuse (e.g. with ``detail=True``; computed with the same ``config``). ``config``: the
    athletes' baseline windows and thresholds (all rows share it; default when None). ``pmc_out``: a dict filled with the PMC buffers on
    the first call and reused (overwritten) by later calls of the same shape. Returns the
    numeric columns (float64), ``stage`` and ``rec_code`` (int8 codes) and
    ``data_feel_agree`` (int8: 1, 0, −1 unknown).
    """
    load = np.nan_to_num(inputs["load_au"], nan=0.0)
    reuse = pmc_out if pmc_out and next(iter(pmc_out.values())).shape == load.shape else None
    k = daily_metrics_matrix(load, out=reuse)
    if pmc_out is not None and reuse is None:
        pmc_out.clear()
        pmc_out.update(k)
    s = stage_result if stage_result is not None else stage_matrix(
        {k: v for k, v in inputs.items() if k in STAGE_INPUTS}, config=config)  # signals the engine does not read stay out
    out: dict[str, npt.NDArray[Any]] = {"load_au": load}
    for col, key in PMC_COLUMNS.items():
        out[col] = k[key]
    for col, key in STAGE_COLUMNS.items():
        out[col] = np.asarray(s[key], dtype=np.float64)
    out["stage"] = s["stage"]
    out["rec_code"] = s["rec_code"]
    out["data_feel_agree"] = s["data_feel_agree"]
    return out


def compute_daily(frame: pd.DataFrame, *, config: BaselineConfig | None = None,
                  detail_from: date | None = None) -> pd.DataFrame:
    """Load kernels + staging for one athlete's input frame; one output row per day.

    ``detail`` (evidence and recommendation, what ``assess_days`` gives) is built for the
    days from ``detail_from`` on (all days when None) and is None before: it costs most of
    the computation, and a recompute since a day writes only the days from that day on.
    ``config``: the athlete's baselines (:func:`athlete_config`; default when None).
    """
    if frame.empty:
        return pd.DataFrame(columns=list(METRIC_COLUMNS))
    cfg = config if config is not None else BaselineConfig()
    inputs = frame_matrix_inputs(frame, cfg)
    stage = stage_matrix(inputs, config=cfg, detail=True)
    arrays = metric_arrays(inputs, config=cfg, stage_result=stage)
    out: dict[str, Any] = {"load_au": frame["load_au"].to_numpy(dtype=np.float64)}
    for col in (*PMC_COLUMNS, "stage", "confidence", "risk_score", "data_feel_agree", *STAGE_COLUMNS,
                "recommendation_code"):
        if col == "stage":
            out[col] = [STAGE_NAMES[int(c)] for c in arrays["stage"][0]]
        elif col == "data_feel_agree":
            out[col] = [None if c < 0 else bool(c) for c in arrays["data_feel_agree"][0]]
        elif col == "recommendation_code":
            out[col] = [REC_CODES[int(c)] for c in arrays["rec_code"][0]]
        elif col not in out:
            out[col] = arrays[col][0]
    n = len(frame)
    first = 0 if detail_from is None else min(n, max(0, (detail_from - frame.index[0].date()).days))
    days = range(first, n)
    races = (race_evidence(frame["race_rule"].to_numpy(), out["load_au"], frame.index[0].date(), days)
             if "race_rule" in frame.columns else [None] * len(days))
    out["detail"] = [None] * first + [
        with_race({"evidence": e, "recommendation": r}, race)  # JSON-ready: day_details' leaves are plain scalars
        for (e, r), race in zip(day_details(stage, 0, days, cfg), races, strict=True)
    ]
    return pd.DataFrame(out, index=frame.index)


def with_race(detail: dict[str, Any], race: dict[str, Any] | None) -> dict[str, Any]:
    """A day's detail with the latest race (its day and WHICH rule made it a race) in its evidence."""
    if race is not None:
        detail["evidence"]["race"] = race
    return detail


_PLAIN = (str, int, bool, type(None))


def _jsonable(value: Any) -> Any:
    """``value`` with JSON-safe leaves: NaN/inf and missing values -> None, numpy scalars -> Python,
    dates -> ISO text. The exact built-in types (most of a detail document) are dispatched on
    ``type`` first; anything else (numpy scalars, dates, subclasses, ``pd.NA``) takes the
    ``isinstance`` chain."""
    t = type(value)
    if t is dict:
        return {str(k): _jsonable(v) for k, v in value.items()}
    if t is float:
        return None if value != value or value in (math.inf, -math.inf) else value
    if t in _PLAIN:
        return value
    if t is list or t is tuple:
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    if isinstance(value, date | datetime | pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is pd.NaT:
        return None
    return value


def _row_values(day: date, row: Any) -> dict[str, Any]:
    values: dict[str, Any] = {"day": day}
    for col in METRIC_COLUMNS:
        v = getattr(row, col)
        if col == "detail":
            values[col] = v
        elif col in ("stage", "recommendation_code"):
            values[col] = None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
        elif col == "data_feel_agree":
            values[col] = None if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)) else bool(v)
        else:
            f = float(v) if v is not None and v is not pd.NA else math.nan
            values[col] = None if math.isnan(f) else f
    for col in ("load_au", "ctl", "atl", "tsb", "confidence"):
        if values[col] is None:
            values[col] = 0.0
    return values


def _same(a: dict[str, Any], b: Any) -> bool:
    for col in METRIC_COLUMNS:
        x, y = a[col], getattr(b, col)
        if isinstance(x, float) or isinstance(y, float):
            if x is None or y is None:
                if x is not y:
                    return False
            elif abs(float(x) - float(y)) > 1e-9 * max(1.0, abs(float(x))):
                return False
        elif x != y:
            return False
    return True


def lock_athlete(conn: Connection, athlete_id: str) -> None:
    """Serialise writers of one athlete's derived data for the rest of the transaction.

    A no-op write on the athlete row: PostgreSQL takes a row lock, SQLite takes the
    database write lock before anything is read (so a read snapshot never has to be
    upgraded, which SQLite would refuse with "database is locked").
    """
    conn.execute(update(athletes).where(athletes.c.id == athlete_id).values(id=athletes.c.id))


def recompute_athlete(ctx: Context, actor: Actor, athlete_id: str, *, since: date | None = None) -> RecomputeResult:
    """Recompute the athlete's daily metrics and write the rows that changed on or after ``since``.

    Inputs are read and results written in one transaction holding the athlete's lock, so
    concurrent recomputes (two check-ins at once) neither collide nor write stale results.
    Only the daily metrics and summaries: writers call
    :func:`lydiard.services.pipeline.after_change`, which also re-scores sessions, proposes
    plan adaptations and refreshes what the charts read.
    """
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        lock_athlete(conn, athlete_id)
        return recompute_on(conn, ctx, load_athlete(conn, athlete_id), since=since)


def recompute_on(conn: Connection, ctx: Context, athlete: AthleteInfo, *, since: date | None) -> RecomputeResult:
    """:func:`recompute_athlete` on ``conn`` (no access check; the caller holds the athlete's lock)."""
    until = local_today(ctx, athlete.tz)
    frame = daily_inputs(conn, athlete.id, until=until, sex=athlete.sex)
    out = compute_daily(frame, config=athlete_config(athlete), detail_from=since)
    return _write_daily_metrics(conn, ctx, athlete.id, out, since=since)


def athlete_config(athlete: AthleteInfo) -> BaselineConfig:
    """The athlete's stored baseline settings as the engine's :class:`BaselineConfig`
    (:func:`~lydiard.domain.recovery.baselines.config_from_settings`; default when none are stored)."""
    return config_from_settings(athlete.baseline_config)


def write_daily_metrics(ctx: Context, athlete_id: str, out: pd.DataFrame, *, since: date | None) -> RecomputeResult:
    """Write computed daily metrics (rows that changed on or after ``since``) in one transaction."""
    with translate_db_errors(), ctx.engine.begin() as conn:
        lock_athlete(conn, athlete_id)
        return _write_daily_metrics(conn, ctx, athlete_id, out, since=since)


def _write_daily_metrics(conn: Connection, ctx: Context, athlete_id: str, out: pd.DataFrame, *,
                         since: date | None) -> RecomputeResult:
    if out.empty:
        return RecomputeResult(athlete_id, None, None, 0, 0)
    first = out.index.min().date()
    since = max(since or first, first)
    now = ctx.clock()
    unchanged = 0
    existing = {
        r.day: r for r in conn.execute(
            select(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day >= since)
        ).all()
    }
    to_write: list[dict[str, Any]] = []
    for ts, row in zip(out.index, out.itertuples(index=False), strict=True):
        day = ts.date()
        if day < since:
            continue
        values = _row_values(day, row)
        old = existing.pop(day, None)
        if old is not None and _same(values, old):
            unchanged += 1
            continue
        to_write.append(values)
    stale = list(existing)  # days no longer produced (e.g. history now starts later)
    days_to_delete = [v["day"] for v in to_write] + stale
    for i in range(0, len(days_to_delete), 500):
        conn.execute(delete(daily_metrics).where(and_(daily_metrics.c.athlete_id == athlete_id,
                                                      daily_metrics.c.day.in_(days_to_delete[i:i + 500]))))
    if to_write:
        conn.execute(insert(daily_metrics), [{"athlete_id": athlete_id, "computed_at": now, **v} for v in to_write])
    if to_write or stale:
        refresh_summaries(conn, [athlete_id], now=now)
    written = len(to_write)
    last = out.index.max().date()
    return RecomputeResult(athlete_id, since, last, written, unchanged)


def daily_series(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
                 end: date | None = None) -> pd.DataFrame:
    """Stored daily metrics (plus merged observations), indexed by day."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        q = select(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id)
        if start is not None:
            q = q.where(daily_metrics.c.day >= start)
        if end is not None:
            q = q.where(daily_metrics.c.day <= end)
        rows = conn.execute(q.order_by(daily_metrics.c.day)).all()
        obs = merged_observations(conn, athlete_id)
    frame = pd.DataFrame([r._asdict() for r in rows])
    if frame.empty:
        return frame
    frame.index = pd.DatetimeIndex(pd.to_datetime(frame.pop("day")), name="day")
    frame = frame.drop(columns=["athlete_id"])
    return frame.join(obs, how="left")
