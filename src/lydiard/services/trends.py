"""Chart-ready daily series for the Trends page and the roster's sparklines.

The daily metrics are precomputed by :func:`lydiard.services.metrics.recompute_athlete`;
this module only reads them (columnar, no per-day Python objects) and offers a cheap
``trends_version`` stamp so an interface can cache the serialised result until the
athlete's data change.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select

from lydiard.domain.daily import CHECKIN_ITEMS
from lydiard.services.access import Actor, check_athlete, visible_athletes_clause
from lydiard.services.athletes import load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import SOURCE_PRIORITY, local_today
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athletes, daily_metrics, daily_observations

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
    """A stamp that changes whenever the athlete's daily metrics or observations change."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        m = conn.execute(
            select(func.count(), func.max(daily_metrics.c.computed_at), func.max(daily_metrics.c.day))
            .where(daily_metrics.c.athlete_id == athlete_id)
        ).one()
        o = conn.execute(
            select(func.count(), func.max(daily_observations.c.updated_at))
            .where(daily_observations.c.athlete_id == athlete_id)
        ).one()
    return f"{m[0]}|{m[1]}|{m[2]}|{o[0]}|{o[1]}"


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
    days = [r.day for r in rows]
    index = {d: i for i, d in enumerate(days)}
    series: dict[str, list[float | None]] = {c: [_num(getattr(r, c)) for r in rows] for c in METRIC_SERIES}
    # Merge the observation sources per day: the first source in SOURCE_PRIORITY wins per field.
    rank = {s: i for i, s in enumerate(SOURCE_PRIORITY)}
    merged: dict[str, list[float | None]] = {c: [None] * len(days) for c in OBSERVATION_SERIES}
    best: dict[tuple[int, str], int] = {}
    for r in obs_rows:
        i = index.get(r.day)
        if i is None:
            continue
        rk = rank.get(r.source, len(rank))
        for c in OBSERVATION_SERIES:
            v = _num(getattr(r, c))
            if v is None:
                continue
            key = (i, c)
            if key not in best or rk < best[key]:
                best[key] = rk
                merged[c][i] = v
    series.update(merged)
    series["ln_rmssd"] = [math.log(v) if v is not None and v > 0 else None for v in merged["rmssd_ms"]]
    return TrendsData(
        athlete_id=athlete_id, version=version, days=[d.isoformat() for d in days], series=series,
        stages=[r.stage for r in rows], planned=_planned_forecast(ctx, actor, athlete_id),
    )


def _planned_forecast(ctx: Context, actor: Actor, athlete_id: str) -> dict[str, list[Any]]:
    """The plan's future CTL/ATL/TSB when the planning service offers a forecast, else empty."""
    try:
        from lydiard.services import planning  # type: ignore[attr-defined, unused-ignore]
    except ImportError:
        return {}
    forecast = getattr(planning, "forecast", None)
    if forecast is None:
        return {}
    result = forecast(ctx, actor, athlete_id)
    if result is None:
        return {}
    frame = getattr(result, "frame", result)
    try:
        days = [d.isoformat() if hasattr(d, "isoformat") else str(d) for d in frame.index]
        return {"days": days, **{c: [_num(v) for v in frame[c]] for c in ("load_au", "ctl", "atl", "tsb")
                                  if c in frame}}
    except (AttributeError, TypeError, KeyError):
        return {}


def sparklines(ctx: Context, actor: Actor, athlete_ids: list[str], *, days: int = 42) -> dict[str, Sparkline]:
    """For each visible athlete, the last ``days`` days of the most telling daily marker.

    The 7-day ln rMSSD against its normal band when the athlete measures HRV, else the
    check-in composite (wellness z), else form (TSB). One query for the whole roster.
    """
    if not athlete_ids:
        return {}
    out: dict[str, Sparkline] = {}
    with translate_db_errors(), ctx.engine.connect() as conn:
        visible = conn.execute(
            select(athletes.c.id, athletes.c.tz).where(athletes.c.id.in_(athlete_ids))
            .where(visible_athletes_clause(actor))
        ).all()
        if not visible:
            return {}
        today = max(local_today(ctx, r.tz) for r in visible)
        first = today - timedelta(days=days - 1)
        rows = conn.execute(
            select(daily_metrics.c.athlete_id, daily_metrics.c.day, daily_metrics.c.ln_rmssd_7d,
                   daily_metrics.c.ln_rmssd_low, daily_metrics.c.ln_rmssd_high, daily_metrics.c.wellness_z,
                   daily_metrics.c.tsb)
            .where(daily_metrics.c.athlete_id.in_([r.id for r in visible]), daily_metrics.c.day >= first,
                   daily_metrics.c.day <= today)
            .order_by(daily_metrics.c.athlete_id, daily_metrics.c.day)
        ).all()
    per: dict[str, list[Any]] = {}
    for r in rows:
        per.setdefault(r.athlete_id, []).append(r)
    for aid, rs in per.items():
        slots: dict[date, Any] = {r.day: r for r in rs}
        ordered = [slots.get(first + timedelta(days=i)) for i in range(days)]

        def col(name: str, ordered: list[Any] = ordered) -> list[float | None]:
            return [_num(getattr(r, name)) if r is not None else None for r in ordered]

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


def athlete_today(ctx: Context, actor: Actor, athlete_id: str) -> date:
    """The athlete's local calendar day now."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return local_today(ctx, load_athlete(conn, athlete_id).tz)


__all__ = ["Sparkline", "TrendsData", "athlete_today", "sparklines", "trends_data", "trends_version"]
