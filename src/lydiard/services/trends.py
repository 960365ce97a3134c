"""Chart-ready daily series for the Trends page and the roster's sparklines.

The daily metrics are precomputed by :func:`lydiard.services.metrics.recompute_athlete`;
this module only reads them (columnar, no per-day Python objects) and offers a cheap
``trends_version`` stamp so an interface can cache the serialised result until the
athlete's data change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from lydiard.domain.daily import CHECKIN_ITEMS
from lydiard.services import planning
from lydiard.services.access import Actor, check_athlete, visible_athletes_clause
from lydiard.services.athletes import load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import SOURCE_PRIORITY, local_today
from lydiard.services.summaries import SPARK_DAYS, Summary, ensure_summaries
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    athlete_summaries,
    athletes,
    daily_metrics,
    daily_observations,
    plan_changes,
    planned_sessions,
)

#: Daily-metric columns sent to the Trends charts.
METRIC_SERIES: tuple[str, ...] = (
    "load_au", "ctl", "atl", "tsb", "acwr", "monotony", "strain", "ln_rmssd_7d", "ln_rmssd_low",
    "ln_rmssd_high", "rhr_7d", "rhr_base", "wellness_z",
)
#: Observation columns sent to the Trends charts (merged across sources).
OBSERVATION_SERIES: tuple[str, ...] = ("rmssd_ms", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS, "readiness")


@dataclass(frozen=True, slots=True)
class TrendsData:
    """One athlete's daily series, aligned on ``days`` (ISO dates), ``None`` = missing."""

    athlete_id: str
    version: str
    days: list[str]
    series: dict[str, list[float | None]]
    stages: list[str | None]
    planned: dict[str, list[Any]] = field(default_factory=dict)  #: future days, planned load, CTL/ATL/TSB


@dataclass(frozen=True, slots=True)
class Sparkline:
    """A short recent series for the roster: what it shows, its values and its normal band."""

    label: str
    values: list[float | None]
    band: tuple[float, float] | None


def _num(v: Any) -> float | None:
    if v is None:
        return None
    f = float(v)
    return None if math.isnan(f) or math.isinf(f) else f


def trends_version(ctx: Context, actor: Actor, athlete_id: str) -> str:
    """A stamp that changes whenever the athlete's daily metrics, observations or plan change.

    One indexed round trip: the summary's ``version`` (new whenever the daily metrics
    are written), the observations' count and latest ``updated_at``, the planned sessions'
    count and latest ``updated_at``, the pending plan change and the athlete's local
    today (the plan forecast starts today).
    """
    obs, ps, pc, summ = daily_observations, planned_sessions, plan_changes, athlete_summaries

    def scalar(column: Any, table: Any, *where: Any) -> Any:
        return select(column).select_from(table).where(table.c.athlete_id == athlete_id, *where).scalar_subquery()

    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        row = conn.execute(select(
            select(athletes.c.tz).where(athletes.c.id == athlete_id).scalar_subquery().label("tz"),
            scalar(summ.c.version, summ).label("metrics_at"),
            scalar(summ.c.last_day, summ).label("last_day"),
            scalar(func.count(), obs).label("obs_n"),
            scalar(func.max(obs.c.updated_at), obs).label("obs_at"),
            scalar(func.count(), ps).label("plan_n"),
            scalar(func.max(ps.c.updated_at), ps).label("plan_at"),
            scalar(func.max(pc.c.id), pc, pc.c.status == "proposed").label("pending"),
        )).one()
    today = local_today(ctx, row.tz or "UTC")
    return f"{row.metrics_at}|{row.last_day}|{row.obs_n}|{row.obs_at}|{row.plan_n}|{row.plan_at}|{row.pending}|{today}"


def trends_data(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
                end: date | None = None) -> TrendsData:
    """The athlete's stored daily series from ``start`` to ``end`` (default: all history)."""
    version = trends_version(ctx, actor, athlete_id)
    cols = [daily_metrics.c.day, daily_metrics.c.stage, *(daily_metrics.c[c] for c in METRIC_SERIES)]
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        q = select(*cols).where(daily_metrics.c.athlete_id == athlete_id)
        oq = select(daily_observations.c.day, daily_observations.c.source,
                    *(daily_observations.c[c] for c in OBSERVATION_SERIES)).where(
            daily_observations.c.athlete_id == athlete_id)
        if start is not None:
            q = q.where(daily_metrics.c.day >= start)
            oq = oq.where(daily_observations.c.day >= start)
        if end is not None:
            q = q.where(daily_metrics.c.day <= end)
            oq = oq.where(daily_observations.c.day <= end)
        rows = conn.execute(q.order_by(daily_metrics.c.day)).all()
        obs_rows = conn.execute(oq).all()
    # Columnar: transpose the rows once and convert each column with numpy (a year of
    # days × 25 series through Row attribute access cost ~50 ms; this costs a few).
    m_cols = list(zip(*rows, strict=True)) if rows else [() for _ in cols]
    days = list(m_cols[0])
    series: dict[str, list[float | None]] = {c: _column(m_cols[2 + k]) for k, c in enumerate(METRIC_SERIES)}
    # Merge the observation sources per day: the first source in SOURCE_PRIORITY wins per field.
    series.update(_merge_observations(obs_rows, days))
    rmssd = np.array([np.nan if v is None else v for v in series["rmssd_ms"]], dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        series["ln_rmssd"] = _column(np.where(rmssd > 0, np.log(np.where(rmssd > 0, rmssd, 1.0)), np.nan))
    return TrendsData(
        athlete_id=athlete_id, version=version, days=[d.isoformat() for d in days], series=series,
        stages=list(m_cols[1]), planned=_planned_forecast(ctx, actor, athlete_id),
    )


def _column(values: Any) -> list[float | None]:
    """A column of numbers (None, NaN and inf → None) as a list of floats."""
    arr = np.asarray(values, dtype=np.float64) if not isinstance(values, np.ndarray) else values
    if arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    obj = arr.astype(object)
    obj[~np.isfinite(arr)] = None
    out: list[float | None] = obj.tolist()
    return out


def _merge_observations(obs_rows: Sequence[Any], days: list[date]) -> dict[str, list[float | None]]:
    """Per day and field, the value of the highest-priority source that has one (``SOURCE_PRIORITY``)."""
    n = len(days)
    if not obs_rows or not n:
        return {c: [None] * n for c in OBSERVATION_SERIES}
    index = {d: i for i, d in enumerate(days)}
    rank = {s: i for i, s in enumerate(SOURCE_PRIORITY)}
    cols = list(zip(*obs_rows, strict=True))
    pos = np.array([index.get(d, -1) for d in cols[0]], dtype=np.int64)
    rk = np.array([rank.get(src, len(rank)) for src in cols[1]], dtype=np.int64)
    order = np.lexsort((rk, pos))  # by day, then by priority
    pos, keep = pos[order], pos[order] >= 0
    out: dict[str, list[float | None]] = {}
    for k, c in enumerate(OBSERVATION_SERIES):
        values = np.asarray(cols[2 + k], dtype=np.float64)[order]  # None → NaN
        valid = keep & np.isfinite(values)
        first = np.unique(pos[valid], return_index=True)  # the best-ranked valid row of each day
        merged = np.full(n, np.nan)
        merged[first[0]] = values[valid][first[1]]
        out[c] = _column(merged)
    return out


def _planned_forecast(ctx: Context, actor: Actor, athlete_id: str) -> dict[str, list[Any]]:
    """The plan's future load and CTL/ATL/TSB (as planned) from the planning service; empty without a plan."""
    view = planning.forecast(ctx, actor, athlete_id)
    if view is None:
        return {}
    frame = view.as_planned
    out: dict[str, list[Any]] = {"days": [d.date().isoformat() for d in pd.DatetimeIndex(frame.index)]}
    for c in ("load_au", "ctl", "atl", "tsb"):
        if c in frame.columns:
            out[c] = [_num(v) for v in frame[c]]
    return out


def sparklines(ctx: Context, actor: Actor, athlete_ids: list[str], *, days: int = SPARK_DAYS) -> dict[str, Sparkline]:
    """For each visible athlete, the last ``days`` (at most ``SPARK_DAYS``) days of the most telling marker.

    The 7-day ln rMSSD against its normal band when the athlete measures HRV, else the
    check-in composite (wellness z), else form (TSB). Read from the athletes' summaries
    (precomputed with the daily metrics): one query for the whole roster.
    """
    if not athlete_ids:
        return {}
    days = min(days, SPARK_DAYS)
    out: dict[str, Sparkline] = {}
    with translate_db_errors(), ctx.engine.connect() as conn:
        visible = conn.execute(
            select(athletes.c.id, athletes.c.tz).where(athletes.c.id.in_(athlete_ids))
            .where(visible_athletes_clause(actor))
        ).all()
        if not visible:
            return {}
        summaries = ensure_summaries(ctx, conn, [r.id for r in visible])
    today = max(local_today(ctx, r.tz) for r in visible)
    first = today - timedelta(days=days - 1)
    for aid, summary in summaries.items():

        def col(name: str, summary: Summary = summary) -> list[float | None]:
            return summary.window(name, first=first, days=days)

        if not _has_any(col("tsb")):  # tsb is stored for every day: no stored day in the window
            continue
        hrv = col("ln_rmssd_7d")
        if sum(v is not None for v in hrv) >= days // 2:
            low = [v for v in col("ln_rmssd_low") if v is not None]
            high = [v for v in col("ln_rmssd_high") if v is not None]
            band = (low[-1], high[-1]) if low and high else None
            out[aid] = Sparkline("ln rMSSD, 7-day mean", hrv, band)
            continue
        wz = col("wellness_z")
        if sum(v is not None for v in wz) >= days // 2:
            out[aid] = Sparkline("check-in score (z)", wz, (-1.0, 1.0))
            continue
        out[aid] = Sparkline("form (TSB)", col("tsb"), None)
    return out


def _has_any(values: list[float | None]) -> bool:
    return any(v is not None for v in values)


def athlete_today(ctx: Context, actor: Actor, athlete_id: str) -> date:
    """The athlete's local calendar day now."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return local_today(ctx, load_athlete(conn, athlete_id).tz)


__all__ = ["Sparkline", "TrendsData", "athlete_today", "sparklines", "trends_data", "trends_version"]
