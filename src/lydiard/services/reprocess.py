"""Re-scoring stored sessions when thresholds change or the algorithms improve (a stage of
:mod:`lydiard.services.pipeline`: writers call ``pipeline.after_change(..., Change.thresholds(day))``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, delete, insert, select

from lydiard.domain.activity import Activity, ActivitySummary, CleaningReport, empty_laps
from lydiard.domain.thresholds import ThresholdValue
from lydiard.services.athlete_store import AthleteInfo, load_athlete, threshold_history
from lydiard.services.session_metrics import compute_session_metrics, session_metrics_row
from lydiard.storage.streams import read_streams
from lydiard.storage.tables import activities, session_metrics


def rescore_on(conn: Connection, athlete: AthleteInfo, *, since: date | None, now: datetime) -> int:
    """Re-score the athlete's sessions on or after ``since`` on ``conn`` (no access check); returns how many."""
    history = threshold_history(conn, athlete.id)
    q = select(activities).where(activities.c.athlete_id == athlete.id)
    if since is not None:
        q = q.where(activities.c.day >= since)
    n = 0
    for a in conn.execute(q.order_by(activities.c.started_at, activities.c.id)).all():
        _rescore(conn, a, history=history, sex=athlete.sex, now=now)
        n += 1
    return n


def rescore_activity(conn: Connection, athlete_id: str, activity_id: str, *, now: datetime) -> None:
    """Recompute one stored activity's session metrics (inside the caller's transaction), e.g.
    after a matched session-RPE log set its RPE and sport."""
    athlete = load_athlete(conn, athlete_id)
    history = threshold_history(conn, athlete_id)
    a = conn.execute(select(activities).where(activities.c.id == activity_id)).one()
    _rescore(conn, a, history=history, sex=athlete.sex, now=now)


def _rescore(conn: Connection, a: Any, *, history: list[ThresholdValue], sex: str | None, now: datetime) -> None:
    started = pd.Timestamp(a.started_at)
    if started.tzinfo is None:
        started = started.tz_localize("UTC")
    records = read_streams(conn, a.id, started_at=started)
    act = Activity(
        records=records,
        summary=ActivitySummary(sport=a.sport, started_at=started.to_pydatetime(), duration_s=a.duration_s,
                                moving_time_s=a.moving_time_s, distance_m=a.distance_m,
                                avg_hr_bpm=a.avg_hr_bpm, max_hr_bpm=a.max_hr_bpm, avg_power_w=a.avg_power_w),
        laps=empty_laps(), rr_ms=np.empty(0), source_format=a.source_format, cleaning=CleaningReport(),
    )
    computed = compute_session_metrics(act, day=a.day, history=history, sex=sex, rpe=a.rpe)
    conn.execute(delete(session_metrics).where(session_metrics.c.activity_id == a.id))
    conn.execute(insert(session_metrics).values(**session_metrics_row(a.id, computed, now)))
