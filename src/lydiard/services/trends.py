"""Chart-ready daily series for the Trends page and the roster's sparklines.

The daily metrics are precomputed by :func:`lydiard.services.metrics.recompute_athlete`;
this module reads them (columnar, no per-day Python objects) and builds the Trends page's
chart document (:func:`trends_series`: chart-ready series, data only; colours, axes and titles
belong to the web layer). The document is stored
per athlete (``athlete_trends``, gzip-compressed, shared by every server process) labelled
with the athlete's data stamp (:func:`trends_version`: one indexed round trip); it is built
when the metrics are recomputed (:func:`precompute_trends`) and again on the first view
after any other change (a check-in, an import, a plan edit, a new day), so a view never
rebuilds a year of history unless something changed, and never serves an outdated one.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, bindparam, delete, func, insert, or_, select
from sqlalchemy.exc import IntegrityError

from lydiard.domain.daily import CHECKIN_ITEMS, merge_by_source
from lydiard.domain.hrv import ln_rmssd
from lydiard.errors import InvalidInputError
from lydiard.services import plan_forecasts
from lydiard.services.access import (
    Actor,
    check_athlete,
    user_visible_clause,
    visible_athletes_clause,
)
from lydiard.services.athlete_store import load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.services.readiness import STAGE_TITLES
from lydiard.services.summaries import SPARK_DAYS, Summary, ensure_summaries
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    athlete_summaries,
    athlete_trends,
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


def _athlete_scalar(column: Any, table: Any, *where: Any) -> Any:
    return (select(column).select_from(table).where(table.c.athlete_id == bindparam("aid"), *where)
            .scalar_subquery())


_obs, _ps, _pc, _summ = daily_observations, planned_sessions, plan_changes, athlete_summaries
#: Everything the Trends document depends on, in one round trip (built once: building a
#: statement costs more than running it). The plan changes count every status change: a
#: decision sets ``decided_at`` and a new proposal adds a row.
_STAMP_QUERY = select(
    select(athletes.c.tz).where(athletes.c.id == bindparam("aid")).scalar_subquery().label("tz"),
    _athlete_scalar(_summ.c.version, _summ).label("metrics_v"),
    _athlete_scalar(_summ.c.last_day, _summ).label("last_day"),
    _athlete_scalar(func.count(), _obs).label("obs_n"),
    _athlete_scalar(func.max(_obs.c.updated_at), _obs).label("obs_at"),
    _athlete_scalar(func.count(), _ps).label("plan_n"),
    _athlete_scalar(func.max(_ps.c.updated_at), _ps).label("plan_at"),
    _athlete_scalar(func.count(), _pc).label("changes_n"),
    _athlete_scalar(func.max(_pc.c.decided_at), _pc).label("decided_at"),
    _athlete_scalar(func.max(_pc.c.id), _pc, _pc.c.status == "proposed").label("pending"),
    _athlete_scalar(athlete_trends.c.version, athlete_trends).label("stored_v"),
)
_STORED_BODY = select(athlete_trends.c.version, athlete_trends.c.body_gzip).where(
    athlete_trends.c.athlete_id == bindparam("aid"))


def _stamp(ctx: Context, conn: Any, athlete_id: str) -> tuple[str, str | None]:
    """The athlete's current data stamp and the stamp of the stored Trends document (no access check)."""
    row = conn.execute(_STAMP_QUERY, {"aid": athlete_id}).one()
    today = local_today(ctx, row.tz or "UTC")
    text = (f"{DOCUMENT_FORMAT}|{row.metrics_v}|{row.last_day}|{row.obs_n}|{row.obs_at}|{row.plan_n}|{row.plan_at}|"
            f"{row.changes_n}|{row.decided_at}|{row.pending}|{today}")
    return hashlib.sha256(text.encode()).hexdigest()[:32], row.stored_v


def trends_version(ctx: Context, actor: Actor, athlete_id: str) -> str:
    """A stamp that changes whenever the athlete's daily metrics, observations or plan change.

    One indexed round trip after the access check: the summary's ``version`` (new whenever
    the daily metrics are written), the observations' count and latest ``updated_at``, the
    planned sessions' count and latest ``updated_at``, the plan changes' count, latest
    decision and pending proposal, and the athlete's local today (the plan forecast starts
    today).
    """
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return _stamp(ctx, conn, athlete_id)[0]


@dataclass(frozen=True, slots=True)
class TrendsDocument:
    """The Trends page's chart data: ``{"version": ..., "format": ..., **trends_series(...)}``, gzip-compressed JSON."""

    athlete_id: str
    version: str
    body_gzip: bytes

    def body(self) -> bytes:
        """The JSON document, uncompressed."""
        return gzip.decompress(self.body_gzip)


def trends_document(ctx: Context, actor: Actor, athlete_id: str) -> TrendsDocument:
    """The athlete's Trends chart document, current to the latest write.

    Served from ``athlete_trends`` when its stamp is the athlete's current stamp (three
    indexed reads); otherwise built from the stored series, stored for every server
    process, and returned. The access check comes first in every case.
    """
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        version, stored = _stamp(ctx, conn, athlete_id)
        if stored == version:
            row = conn.execute(_STORED_BODY, {"aid": athlete_id}).first()
            if row is not None and row.version == version:
                return TrendsDocument(athlete_id=athlete_id, version=version, body_gzip=bytes(row.body_gzip))
    return _build_document(ctx, actor, athlete_id, version)


def precompute_trends(ctx: Context, athlete_ids: Sequence[str]) -> int:
    """Build and store the Trends documents of ``athlete_ids`` whose stored one is outdated.

    Called after the daily metrics are written (``metrics.recompute_athlete``, the bulk
    seeding), so the next view is a stored read. Returns the number of documents built.
    """
    built = 0
    system = Actor.system()
    for aid in dict.fromkeys(athlete_ids):
        with translate_db_errors(), ctx.engine.connect() as conn:
            version, stored = _stamp(ctx, conn, aid)
        if stored != version:
            _build_document(ctx, system, aid, version)
            built += 1
    return built


def _build_document(ctx: Context, actor: Actor, athlete_id: str, version: str) -> TrendsDocument:
    """Build the document from the stored series and store it under ``version``.

    ``version`` was read before the series, so the document holds at least the data the stamp
    describes (a write in between changes the stamp: the next view builds again).
    """
    data = _trends_data(ctx, actor, athlete_id, version=version, digits=CHART_DIGITS)
    body = json.dumps({"version": version, "format": DOCUMENT_FORMAT, **trends_series(data)},
                      separators=(",", ":"), allow_nan=False).encode()
    doc = TrendsDocument(athlete_id=athlete_id, version=version, body_gzip=gzip.compress(body, 6, mtime=0))
    try:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(delete(athlete_trends).where(athlete_trends.c.athlete_id == athlete_id))
            conn.execute(insert(athlete_trends).values(athlete_id=athlete_id, version=version,
                                                       body_gzip=doc.body_gzip, built_at=ctx.clock()))
    except IntegrityError:
        pass  # another process stored it at the same moment (PostgreSQL), or the athlete was deleted
    return doc


#: Decimals kept in the chart document (a chart cannot show more; the document is ~3× smaller).
CHART_DIGITS = 3


def trends_data(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
                end: date | None = None) -> TrendsData:
    """The athlete's stored daily series from ``start`` to ``end`` (default: all history)."""
    return _trends_data(ctx, actor, athlete_id, version=trends_version(ctx, actor, athlete_id), start=start,
                        end=end)


def recent_series(ctx: Context, actor: Actor, athlete_id: str, *, days: int) -> dict[str, Any]:
    """The athlete's last ``days`` stored days in :func:`trends_series`' shape, without the plan's
    forecast: what a page's data tables show (a series with no value in these days is left out).

    Indexed reads of those days only; the whole-history Trends document is neither read nor
    parsed (that cost a page ~2 ms per view on two years of data).
    """
    if days < 1:
        raise InvalidInputError("days must be at least 1", field="days", value=days)
    return trends_series(_trends_data(ctx, actor, athlete_id, version="", last_days=days, digits=CHART_DIGITS,
                                      planned=False))


def _trends_data(ctx: Context, actor: Actor, athlete_id: str, *, version: str, start: date | None = None,
                 end: date | None = None, digits: int | None = None, planned: bool = True,
                 last_days: int | None = None) -> TrendsData:
    """The stored series from ``start`` to ``end``, or the last ``last_days`` stored days."""
    cols = [daily_metrics.c.day, daily_metrics.c.stage, *(daily_metrics.c[c] for c in METRIC_SERIES)]
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        if last_days is not None:
            last = conn.execute(select(func.max(daily_metrics.c.day))
                                .where(daily_metrics.c.athlete_id == athlete_id)).scalar()
            start = last - timedelta(days=last_days - 1) if last is not None else None
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
    series: dict[str, list[float | None]] = {c: _column(m_cols[2 + k], digits)
                                             for k, c in enumerate(METRIC_SERIES)}
    # Merge the observation sources per day: the best-ranked source wins per field.
    merged = _merge_observations(obs_rows, days)
    series.update((c, _column(v, digits)) for c, v in merged.items())
    rmssd = merged["rmssd_ms"]
    series["ln_rmssd"] = _column(ln_rmssd(rmssd), digits)
    return TrendsData(
        athlete_id=athlete_id, version=version, days=[d.isoformat() for d in days], series=series,
        stages=list(m_cols[1]), planned=_planned_forecast(ctx, actor, athlete_id) if planned else {},
    )


def _column(values: Any, digits: int | None = None) -> list[float | None]:
    """A column of numbers (None, NaN and inf → None) as a list of floats (rounded to ``digits``)."""
    arr = np.asarray(values, dtype=np.float64) if not isinstance(values, np.ndarray) else values
    if arr.dtype != np.float64:
        arr = arr.astype(np.float64)
    if digits is not None:
        arr = np.round(arr, digits)
    obj = arr.astype(object)
    obj[~np.isfinite(arr)] = None
    out: list[float | None] = obj.tolist()
    return out


def _merge_observations(obs_rows: Sequence[Any], days: list[date]) -> dict[str, np.ndarray[Any, Any]]:
    """Per day and field, the value of the highest-priority source that has one (``merge_by_source``; NaN: none)."""
    n = len(days)
    if not obs_rows or not n:
        return {c: np.full(n, np.nan) for c in OBSERVATION_SERIES}
    index = {d: i for i, d in enumerate(days)}
    cols = list(zip(*obs_rows, strict=True))
    pos = np.array([index.get(d, -1) for d in cols[0]], dtype=np.int64)
    keys, merged = merge_by_source(pos, cols[1], {c: np.asarray(cols[2 + k], dtype=np.float64)  # None → NaN
                                                  for k, c in enumerate(OBSERVATION_SERIES)})
    keep = keys >= 0  # observations on days without metrics are left out
    out: dict[str, np.ndarray[Any, Any]] = {}
    for c, values in merged.items():
        column = np.full(n, np.nan)
        column[keys[keep]] = values[keep]
        out[c] = column
    return out


def _planned_forecast(ctx: Context, actor: Actor, athlete_id: str) -> dict[str, list[Any]]:
    """The plan's future load and CTL/ATL/TSB (as planned) from the planning service; empty without a plan."""
    view = plan_forecasts.forecast(ctx, actor, athlete_id)
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


# ----------------------------------------------------------------------------- Trends series

#: The shape of the stored Trends document; part of the stamp, so a stored document of an older
#: shape is rebuilt on the next view instead of being served.
DOCUMENT_FORMAT = 2
#: Series sent to the Trends page (the chart layout lives in the web layer).
CHART_SERIES: tuple[str, ...] = (
    "load_au", "ctl", "atl", "tsb", "monotony", "strain", "ln_rmssd", "ln_rmssd_7d", "ln_rmssd_low",
    "ln_rmssd_high", "rhr_bpm", "rhr_7d", "rhr_base", "sleep_h", *CHECKIN_ITEMS,
)


def has_values(values: Sequence[float | None]) -> bool:
    """Whether a chart series has any value to draw."""
    return any(v is not None for v in values)


def trends_series(data: TrendsData) -> dict[str, Any]:
    """The Trends page's chart-ready data: days, the series that have values, stages, the planned future.

    Data only (no colours, axes or titles: those belong to the web layer)::

        {"days": ["2026-01-01", ...], "series": {"ctl": [..], ...}, "stages": [code | None, ...],
         "stage_codes": [code, ...], "planned": {"days": [...], "load_au": [...], "ctl": [...], ...}}

    ``series`` omits a series with no value at all; ``stage_codes`` lists every stage in order
    of severity (the timeline shows every row, also those never reached).
    """
    series = {k: data.series[k] for k in CHART_SERIES if k in data.series and has_values(data.series[k])}
    return {"days": data.days, "series": series, "stages": data.stages, "stage_codes": list(STAGE_TITLES),
            "planned": data.planned}


_checkins_in_window = and_(_obs.c.athlete_id == athletes.c.id, _obs.c.source == "checkin",
                          _obs.c.day >= bindparam("lo"), _obs.c.day <= bindparam("hi"))
#: What the coach's roster shows, as a fingerprint per visible athlete (not the coach's own
#: profile): name and time zone, the summary's version (stage, run length, sparkline series),
#: the check-ins around the last week and the proposed plan changes. One statement.
_ROSTER_STAMP = select(
    athletes.c.id, athletes.c.name, athletes.c.tz,
    select(_summ.c.version).where(_summ.c.athlete_id == athletes.c.id).scalar_subquery(),
    # The number of check-ins is what the roster shows of them (an edited check-in changes the
    # metrics, hence the summary's version). No MAX(updated_at) here: SQLite would answer it by
    # walking the (athlete_id, updated_at) index instead of the key's day range.
    select(func.count()).select_from(_obs).where(_checkins_in_window).scalar_subquery(),
    select(func.count()).select_from(_pc).where(_pc.c.athlete_id == athletes.c.id, _pc.c.status == "proposed")
    .scalar_subquery(),
    select(func.max(_pc.c.id)).where(_pc.c.athlete_id == athletes.c.id, _pc.c.status == "proposed")
    .scalar_subquery(),
).where(user_visible_clause(bindparam("uid")),
        or_(athletes.c.user_id.is_(None), athletes.c.user_id != bindparam("uid"))).order_by(athletes.c.id)


_OWN_ATHLETE = select(athletes.c.id).where(athletes.c.user_id == bindparam("uid"))


@dataclass(frozen=True, slots=True)
class RosterStamp:
    """:func:`roster_stamp`'s answer: the fingerprint, and the caller's own athlete profile, if any."""

    key: str
    own_athlete_id: str | None


def roster_stamp(ctx: Context, actor: Actor) -> RosterStamp | None:
    """A fingerprint of everything the coach's roster shows (None for a caller without a login).

    It changes whenever an athlete becomes visible or invisible to the coach, is renamed or
    moves time zone, has new daily metrics, a check-in around the last week or a change in
    proposed plan changes, when a visible athlete's local day changes, and on each new UTC day
    (the day of the read audit); an interface may
    keep the rendered roster under it. The visible set comes from the same access rule as
    :func:`lydiard.services.coaching.roster`.
    """
    if actor.user_id is None or actor.is_system:
        return None
    utc_today = ctx.clock().astimezone(UTC).date()
    # Every local "last 7 days" lies within this UTC window (time zones are within ±14 h).
    params = {"uid": actor.user_id, "lo": utc_today - timedelta(days=8), "hi": utc_today + timedelta(days=1)}
    h = hashlib.sha256(actor.user_id.encode())
    # the UTC day too: roster reads are audited once per UTC day (audit.record_access), so a
    # roster kept under this stamp is rebuilt, and its read recorded, on every new UTC day
    h.update(f"utc={utc_today}".encode())
    tzs: set[str] = set()
    with translate_db_errors(), ctx.engine.connect() as conn:
        for row in conn.execute(_ROSTER_STAMP, params):
            h.update(repr(tuple(row)).encode())
            tzs.add(row.tz)
        own = conn.execute(_OWN_ATHLETE, {"uid": actor.user_id}).scalar()
    for tz in sorted(tzs):
        h.update(f"{tz}={local_today(ctx, tz)}".encode())
    return RosterStamp(key=h.hexdigest(), own_athlete_id=own)


def _has_any(values: list[float | None]) -> bool:
    return any(v is not None for v in values)


def athlete_today(ctx: Context, actor: Actor, athlete_id: str) -> date:
    """The athlete's local calendar day now."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return local_today(ctx, load_athlete(conn, athlete_id).tz)


__all__ = [
    "CHART_SERIES",
    "DOCUMENT_FORMAT",
    "RosterStamp",
    "Sparkline",
    "TrendsData",
    "TrendsDocument",
    "athlete_today",
    "has_values",
    "precompute_trends",
    "roster_stamp",
    "sparklines",
    "trends_data",
    "trends_document",
    "trends_series",
    "trends_version",
]
