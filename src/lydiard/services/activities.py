"""Reading stored activities: the list, and one activity with laps, session metrics and streams."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import func, select

from lydiard.errors import InvalidInputError, NotFoundError
from lydiard.services import audit, pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.context import Context
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.streams import read_streams
from lydiard.storage.tables import activities, laps, session_metrics

STREAM_COLUMNS: tuple[str, ...] = ("hr_bpm", "power_w", "speed_mps", "cadence_rpm", "distance_m", "altitude_m",
                                   "lat_deg", "lon_deg", "temperature_c")
MAX_STREAM_POINTS = 5000
MAX_PAGE = 500


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    id: str
    athlete_id: str
    sport: str
    sub_sport: str | None
    name: str | None
    started_at: datetime
    day: date
    duration_s: float
    moving_time_s: float
    distance_m: float | None
    avg_hr_bpm: float | None
    max_hr_bpm: float | None
    avg_power_w: float | None
    rpe: float | None
    source_format: str
    device: str | None
    load_au: float | None
    race: bool | None = None  #: the athlete marked this session as a race


@dataclass(frozen=True, slots=True)
class ActivityDetail:
    summary: ActivitySummary
    laps: list[dict[str, Any]]
    metrics: dict[str, Any] | None
    streams: dict[str, list[float | None]] = field(default_factory=dict)  #: "elapsed_s" + columns present
    stream_step: int = 1  #: every ``stream_step``-th sample is kept
    cleaning: dict[str, Any] | None = None


def _summary(r: Any) -> ActivitySummary:
    return ActivitySummary(
        id=r.id, athlete_id=r.athlete_id, sport=r.sport, sub_sport=r.sub_sport, name=r.name, started_at=r.started_at,
        day=r.day, duration_s=r.duration_s, moving_time_s=r.moving_time_s, distance_m=r.distance_m,
        avg_hr_bpm=r.avg_hr_bpm, max_hr_bpm=r.max_hr_bpm, avg_power_w=r.avg_power_w, rpe=r.rpe,
        source_format=r.source_format, device=r.device, load_au=r.load_au, race=r.race,
    )


def _base_query() -> Any:
    return select(activities, session_metrics.c.load_au).outerjoin(
        session_metrics, session_metrics.c.activity_id == activities.c.id)


def list_activities(
    ctx: Context, actor: Actor, athlete_id: str, *, sport: str | None = None, start: date | None = None,
    end: date | None = None, limit: int = 50, offset: int = 0,
) -> tuple[list[ActivitySummary], int]:
    """One page of activities, newest first, and the total count matching the filters."""
    if not (1 <= limit <= MAX_PAGE) or offset < 0:
        raise InvalidInputError(f"limit must be 1-{MAX_PAGE} and offset ≥ 0", field="limit")
    conds = [activities.c.athlete_id == athlete_id]
    if sport:
        conds.append(activities.c.sport == sport)
    if start:
        conds.append(activities.c.day >= start)
    if end:
        conds.append(activities.c.day <= end)
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        total = int(conn.execute(select(func.count()).select_from(activities).where(*conds)).scalar_one())
        rows = conn.execute(_base_query().where(*conds).order_by(activities.c.started_at.desc(), activities.c.id)
                            .limit(limit).offset(offset)).all()
    return [_summary(r) for r in rows], total


def _clean(v: Any) -> Any:
    if isinstance(v, float) and not np.isfinite(v):
        return None
    return v


def get_activity(ctx: Context, actor: Actor, athlete_id: str, activity_id: str, *,
                 max_points: int = MAX_STREAM_POINTS) -> ActivityDetail:
    """One activity of ``athlete_id`` with its laps, session metrics and downsampled streams."""
    if not (10 <= max_points <= 100_000):
        raise InvalidInputError("max_points must be between 10 and 100000", field="max_points")
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id)
        row = conn.execute(_base_query().where(activities.c.id == activity_id,
                                               activities.c.athlete_id == athlete_id)).first()
        if row is None:
            raise NotFoundError("activity not found", activity_id=activity_id)
        lap_rows = conn.execute(select(laps).where(laps.c.activity_id == activity_id).order_by(laps.c.lap_index)).all()
        m = conn.execute(select(session_metrics).where(session_metrics.c.activity_id == activity_id)).first()
        started = pd.Timestamp(row.started_at)
        if started.tzinfo is None:
            started = started.tz_localize("UTC")
        frame = read_streams(conn, activity_id, started_at=started)
        n = len(frame)
        step = max(1, -(-n // max_points))
        frame = frame.iloc[::step]
        if not actor.is_system:
            audit.record(conn, actor, athlete_id=athlete_id, action="view.activity", at=ctx.clock(),
                         activity_id=activity_id)
    streams: dict[str, list[float | None]] = {}
    if n:
        elapsed = (frame["time"] - frame["time"].iloc[0]).dt.total_seconds() + float(
            (frame["time"].iloc[0] - started).total_seconds())
        streams["elapsed_s"] = [_clean(v) for v in elapsed.tolist()]
        for col in STREAM_COLUMNS:
            arr = frame[col].to_numpy(dtype=float)
            if np.isfinite(arr).any():
                streams[col] = [_clean(v) for v in arr.tolist()]
    metrics = None
    if m is not None:
        metrics = {k: _clean(v) for k, v in m._asdict().items() if k not in ("activity_id", "computed_at")}
    lap_list = [{k: _clean(v) for k, v in r._asdict().items() if k != "activity_id"} for r in lap_rows]
    return ActivityDetail(summary=_summary(row), laps=lap_list, metrics=metrics, streams=streams, stream_step=step,
                          cleaning=row.cleaning)


def set_activity_race(ctx: Context, actor: Actor, athlete_id: str, activity_id: str, *,
                      race: bool | None) -> ActivitySummary:
    """Mark (``True``), unmark (``False``) or clear (``None``) a recorded session as a race.

    A marked session makes its day a race day by the rule ``flagged``
    (:mod:`lydiard.services.signals`); the pipeline recomputes the days from the session's day
    on. The athlete or their coach (a write: read-only tokens are refused); audited.
    """
    with pipeline.writing(ctx, actor, athlete_id) as w:
        row = w.conn.execute(select(activities.c.day, activities.c.race).where(
            activities.c.id == activity_id, activities.c.athlete_id == athlete_id)).first()
        if row is None:
            raise NotFoundError("activity not found", activity_id=activity_id)
        if row.race != race:
            w.conn.execute(activities.update().where(activities.c.id == activity_id).values(race=race))
            audit.record(w.conn, actor, athlete_id=athlete_id, action="activity.race", at=ctx.clock(),
                         activity_id=activity_id, race=race)
            w.changed(pipeline.Change.data(since=row.day))
        out = w.conn.execute(_base_query().where(activities.c.id == activity_id)).one()
    return _summary(out)
