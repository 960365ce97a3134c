"""The athlete's day: stage, recommendation and evidence, and the replay of past days."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select

from lydiard.errors import NotFoundError
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import daily_metrics

STAGE_TITLES: dict[str, str] = {
    "calibrating": "Calibrating",
    "normal": "Normal adaptation",
    "surface_fatigue": "Surface fatigue",
    "deep_fatigue": "Deep fatigue",
    "overreaching_suspected": "Overreaching suspected",
    "overtraining_suspected": "Overtraining suspected",
}
STAGE_ORDER: dict[str, int] = {s: i for i, s in enumerate(STAGE_TITLES)}


@dataclass(frozen=True, slots=True)
class DayView:
    """What Lydiard says about one day."""

    athlete_id: str
    day: date
    stage: str
    stage_title: str
    stage_days: int  #: consecutive days in this stage, ending on ``day``
    confidence: float
    risk_score: float | None
    data_feel_agree: bool | None
    recommendation: dict[str, Any]
    evidence: dict[str, Any]
    numbers: dict[str, float | None] = field(default_factory=dict)  #: ctl, atl, tsb, acwr, monotony...

    @property
    def headline(self) -> str:
        if self.stage in ("calibrating", "normal"):
            return self.stage_title
        return f"{self.stage_title}: day {self.stage_days}"


def day_view(ctx: Context, actor: Actor, athlete_id: str, *, day: date | None = None) -> DayView:
    """The stage and recommendation for ``day`` (default: the athlete's local today)."""
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id)
        athlete = load_athlete(conn, athlete_id)
        day = day or local_today(ctx, athlete.tz)
        rows = conn.execute(
            select(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day <= day)
            .order_by(daily_metrics.c.day.desc()).limit(400)
        ).all()
        if not actor.is_system:
            audit.record(conn, actor, athlete_id=athlete_id, action="view.today", at=ctx.clock(), day=day.isoformat())
    if not rows or rows[0].day != day:
        raise NotFoundError(f"no assessment for {day.isoformat()} yet: import data or check in first",
                            athlete_id=athlete_id, day=day.isoformat())
    return _view(athlete_id, rows)


def _view(athlete_id: str, rows: Sequence[Any]) -> DayView:
    today = rows[0]
    n = 0
    for r in rows:
        if r.stage != today.stage:
            break
        n += 1
    detail = today.detail or {}
    return DayView(
        athlete_id=athlete_id, day=today.day, stage=today.stage, stage_title=STAGE_TITLES.get(today.stage, today.stage),
        stage_days=n, confidence=float(today.confidence), risk_score=today.risk_score,
        data_feel_agree=today.data_feel_agree, recommendation=detail.get("recommendation") or {},
        evidence=detail.get("evidence") or {},
        numbers={k: getattr(today, k) for k in ("load_au", "ctl", "atl", "tsb", "ramp", "acwr", "monotony", "strain",
                                                 "ln_rmssd_7d", "ln_rmssd_low", "ln_rmssd_high", "rhr_7d", "rhr_base",
                                                 "wellness_z")},
    )


def replay(ctx: Context, actor: Actor, athlete_id: str, *, start: date, end: date) -> list[DayView]:
    """What Lydiard said (causally) on each day from ``start`` to ``end``."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        rows = conn.execute(
            select(daily_metrics).where(daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day <= end)
            .order_by(daily_metrics.c.day)
        ).all()
    out: list[DayView] = []
    for i, r in enumerate(rows):
        if r.day < start:
            continue
        window = rows[max(0, i - 399): i + 1][::-1]
        out.append(_view(athlete_id, window))
    return out
