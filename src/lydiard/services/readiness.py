"""The athlete's day: stage, recommendation and evidence, and the replay of past days."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, bindparam, exists, func, select

from lydiard.domain.daily import CHECKIN_SOURCE
from lydiard.errors import NotFoundError
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import AthleteInfo, visible_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.services.plan_forecasts import (
    LAST_DECIDED_AT,
    PlanStatus,
    read_day_plan,
    read_plan_status,
)
from lydiard.services.plan_views import DayPlan
from lydiard.services.summaries import ensure_summaries
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    athlete_summaries,
    daily_metrics,
    daily_observations,
    plan_changes,
    planned_sessions,
)

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
    #: what the last back-off achieved (``text`` in plain words, plus numbers), when the engine says
    progress: dict[str, Any] | None = None

    @property
    def headline(self) -> str:
        if self.stage in ("calibrating", "normal"):
            return self.stage_title
        return f"{self.stage_title}: day {self.stage_days}"


def day_view(ctx: Context, actor: Actor, athlete_id: str, *, day: date | None = None) -> DayView:
    """The stage and recommendation for ``day`` (default: the athlete's local today).

    Reads one ``daily_metrics`` row and the athlete's summary (the stage's run length,
    precomputed when the metrics were written); only a day other than the latest needs
    two more indexed reads for its run length. The view is audited once per viewer,
    athlete and day (:func:`lydiard.services.audit.record_view`).
    """
    with translate_db_errors(), ctx.engine.connect() as conn:
        athlete = visible_athlete(conn, actor, athlete_id)
        day = day or local_today(ctx, athlete.tz)
        view = _read_view(ctx, conn, athlete_id, day)
    audit.record_view(ctx.engine, actor, athlete_id=athlete_id, action="view.today", at=ctx.clock(),
                      day=day.isoformat())
    if view is None:
        raise NotFoundError(_missing(day), athlete_id=athlete_id, day=day.isoformat())
    return view


@dataclass(frozen=True, slots=True)
class TodayPage:
    """Everything the Today page shows, read on one connection with one access check."""

    athlete: AthleteInfo
    today: date  #: the athlete's local today
    day: date  #: the day shown
    view: DayView | None  #: None when the day has no assessment (``missing_reason`` says why)
    missing_reason: str
    checked_in: bool
    plan: DayPlan  #: the day's planned sessions and the proposed changes touching it
    plan_status: PlanStatus = field(default_factory=PlanStatus)  #: the change waiting, the last decision


def today_page(ctx: Context, actor: Actor, athlete_id: str, *, day: date | None = None) -> TodayPage:
    """The Today page of ``day`` (default: the athlete's local today); audited like :func:`day_view`.

    Four prebuilt statements on one connection: the athlete (with the access check), the
    day's metrics row, and one row of scalar subqueries (the summary's stage run, whether the
    day has a check-in, a planned session or a proposed change). The plan itself is read
    only when the day has a planned session or a change is proposed.
    """
    with translate_db_errors(), ctx.engine.connect() as conn:
        athlete = visible_athlete(conn, actor, athlete_id)
        today = local_today(ctx, athlete.tz)
        day = day or today
        params = {"aid": athlete_id, "day": day}
        row = conn.execute(_METRICS_ROW, params).first()
        facts = conn.execute(_DAY_FACTS, params).one()
        view = None
        if row is not None:
            head = (facts.last_day, facts.stage, facts.stage_days) if facts.last_day is not None else None
            view = _view(athlete_id, row, _stage_days(ctx, conn, athlete_id, day=day, stage=row.stage, head=head))
        plan = read_day_plan(conn, athlete_id, day=day) if facts.planned or facts.proposed else DayPlan(day=day)
        decided_at = facts.last_decided_at if isinstance(facts.last_decided_at, datetime) else None
        plan_status = read_plan_status(conn, actor, athlete, day=day, proposed=bool(facts.proposed),
                                       last_decided_at=decided_at)
    audit.record_view(ctx.engine, actor, athlete_id=athlete_id, action="view.today", at=ctx.clock(),
                      day=day.isoformat())
    return TodayPage(athlete=athlete, today=today, day=day, view=view,
                     missing_reason="" if view is not None else _missing(day), checked_in=bool(facts.checked_in),
                     plan=plan, plan_status=plan_status)


def _missing(day: date) -> str:
    return f"no assessment for {day.isoformat()} yet: import data or check in first"


_METRICS_ROW = select(daily_metrics).where(daily_metrics.c.athlete_id == bindparam("aid"),
                                           daily_metrics.c.day == bindparam("day"))


def _summary_col(column: Any) -> Any:
    return select(column).where(athlete_summaries.c.athlete_id == bindparam("aid")).scalar_subquery()


_DAY_FACTS = select(
    _summary_col(athlete_summaries.c.last_day).label("last_day"),
    _summary_col(athlete_summaries.c.stage).label("stage"),
    _summary_col(athlete_summaries.c.stage_days).label("stage_days"),
    exists().where(daily_observations.c.athlete_id == bindparam("aid"), daily_observations.c.day == bindparam("day"),
                   daily_observations.c.source == CHECKIN_SOURCE).label("checked_in"),
    exists().where(planned_sessions.c.athlete_id == bindparam("aid"),
                   planned_sessions.c.day == bindparam("day")).label("planned"),
    exists().where(plan_changes.c.athlete_id == bindparam("aid"),
                   plan_changes.c.status == "proposed").label("proposed"),
    LAST_DECIDED_AT.label("last_decided_at"),
)


def _read_view(ctx: Context, conn: Connection, athlete_id: str, day: date) -> DayView | None:
    row = conn.execute(_METRICS_ROW, {"aid": athlete_id, "day": day}).first()
    if row is None:
        return None
    return _view(athlete_id, row, _stage_days(ctx, conn, athlete_id, day=day, stage=row.stage, head=None))


def _stage_days(ctx: Context, conn: Connection, athlete_id: str, *, day: date, stage: str,
                head: tuple[date, str, int] | None) -> int:
    """Consecutive days in ``stage`` ending on ``day``: the summary's run when ``day`` is its last
    day in the same stage, else counted from the stored days (:func:`_stage_run`).

    ``head``: the summary's (last day, stage, stage days) when the caller read it already;
    None reads it (computing it once for a store from before the summaries).
    """
    if head is None:
        summary = ensure_summaries(ctx, conn, [athlete_id], with_recent=False).get(athlete_id)
        head = (summary.last_day, summary.stage, summary.stage_days) if summary is not None else None
    if head is not None and head[0] == day and head[1] == stage:
        return int(head[2])
    return _stage_run(conn, athlete_id, day=day, stage=stage)


def _stage_run(conn: Connection, athlete_id: str, *, day: date, stage: str) -> int:
    """Consecutive stored days in ``stage`` ending on ``day`` (two indexed reads)."""
    dm = daily_metrics
    before = conn.execute(select(func.max(dm.c.day)).where(
        dm.c.athlete_id == athlete_id, dm.c.day <= day, dm.c.stage != stage)).scalar_one()
    q = select(func.count()).select_from(dm).where(dm.c.athlete_id == athlete_id, dm.c.day <= day)
    if before is not None:
        q = q.where(dm.c.day > before)
    return int(conn.execute(q).scalar_one())


def _view(athlete_id: str, today: Any, stage_days: int) -> DayView:
    detail = today.detail or {}
    return DayView(
        athlete_id=athlete_id, day=today.day, stage=today.stage, stage_title=STAGE_TITLES.get(today.stage, today.stage),
        stage_days=stage_days, confidence=float(today.confidence), risk_score=today.risk_score,
        data_feel_agree=today.data_feel_agree, recommendation=detail.get("recommendation") or {},
        evidence=detail.get("evidence") or {},
        progress=detail.get("progress") if isinstance(detail.get("progress"), dict) else None,
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
    run = 0
    for i, r in enumerate(rows):
        run = run + 1 if i > 0 and rows[i - 1].stage == r.stage else 1
        if r.day >= start:
            out.append(_view(athlete_id, r, run))
    return out
