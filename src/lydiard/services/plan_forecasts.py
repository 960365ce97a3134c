"""What the plan looks like ahead: the plan view, the CTL/ATL/TSB forecast and a day's plan.
"""


from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, func, select

from lydiard.domain.load.banister import BanisterModel
from lydiard.domain.plan import forecast as fc
from lydiard.domain.plan.adapt import (
    PlanChange,
    apply_change,
)
from lydiard.domain.plan.models import (
    PlannedSession,
)
from lydiard.errors import (
    InsufficientDataError,
    InvalidInputError,
)
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import AthleteInfo, load_athlete
from lydiard.services.context import Context
from lydiard.services.plan_store import (
    BEST_EFFORT_DURATION_S,
    BEST_EFFORT_FRACTION,
    MIN_PERFORMANCE_TESTS,
    _is_coach,
    _pending_row,
    _rows,
    _today,
    is_coach_managed,
)
from lydiard.services.plan_views import (
    DayPlan,
    ForecastView,
    PlanChangeView,
    PlanView,
    _change_view,
    _view,
)
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    activities,
    daily_metrics,
    plan_changes,
)
from lydiard.storage.tables import session_metrics as sm

# ---------------------------------------------------------------------------
# Forecasts and views
# ---------------------------------------------------------------------------


def _history_load(conn: Connection, athlete_id: str, *, before: date) -> pd.Series:
    rows = conn.execute(select(daily_metrics.c.day, daily_metrics.c.load_au).where(
        daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day < before).order_by(daily_metrics.c.day)).all()
    if not rows:
        return pd.Series(dtype=np.float64)
    idx = pd.DatetimeIndex(pd.to_datetime([r.day for r in rows]), name="day")
    return pd.Series([max(float(r.load_au or 0.0), 0.0) for r in rows], index=idx, dtype=np.float64)


#: The performance measure of a goal's sport: a run is measured by speed, a ride by power.
_MEASURES: dict[str, tuple[tuple[str, str], ...]] = {
    "run": (("mmp_speed_mps", "m/s (5-min best running speed)"),),
    "ride": (("mmp_power_w", "W (5-min best power)"),),
}


def _performance_tests(conn: Connection, athlete_id: str, *, before: date,
                       sport: str | None = None) -> tuple[pd.Series, str]:
    """Best efforts usable as performance tests: per day, the 5-min best power (else speed).

    With a goal ``sport``, only that sport's activities count, measured the way that sport
    is (a run by speed, a ride by power): a run goal is never forecast in watts. A day
    counts when its 5-min best is within :data:`BEST_EFFORT_FRACTION` of the best of the
    preceding 90 days (a near-maximal effort, not an easy session).
    """
    q = (select(activities.c.day, sm.c.details).join(sm, sm.c.activity_id == activities.c.id)
         .where(activities.c.athlete_id == athlete_id, activities.c.day < before))
    if sport is not None:
        q = q.where(activities.c.sport == sport)
    rows = conn.execute(q).all()
    measures = _MEASURES.get(sport or "", (("mmp_power_w", "W (5-min best power)"),
                                           ("mmp_speed_mps", "m/s (5-min best speed)")))
    for key, unit in measures:
        per_day: dict[date, float] = {}
        for r in rows:
            curve = (r.details or {}).get(key) if isinstance(r.details, Mapping) else None
            v = curve.get(BEST_EFFORT_DURATION_S) if isinstance(curve, Mapping) else None
            if isinstance(v, int | float) and math.isfinite(v) and v > 0:
                per_day[r.day] = max(per_day.get(r.day, 0.0), float(v))
        if len(per_day) < MIN_PERFORMANCE_TESTS:
            continue
        s = pd.Series(per_day).sort_index()
        s.index = pd.DatetimeIndex(pd.to_datetime(s.index), name="day")
        best = s.rolling("90D").max()
        tests = s[s >= BEST_EFFORT_FRACTION * best]
        if len(tests) >= MIN_PERFORMANCE_TESTS:
            return tests.astype(np.float64), unit
    return pd.Series(dtype=np.float64), ""


#: A predicted performance is shown only when its interval is narrower than this share of
#: the value on either side (and above zero): a 99 W prediction of -3172 to 3370 W is no prediction.
MAX_RELATIVE_HALF_WIDTH = 0.5


def _plausible_interval(perf: dict[str, float]) -> bool:
    value, lower, upper = perf["value"], perf["lower"], perf["upper"]
    if not all(math.isfinite(v) for v in (value, lower, upper)) or value <= 0 or lower <= 0:
        return False
    return max(value - lower, upper - value) <= MAX_RELATIVE_HALF_WIDTH * value


def _forecast_view(conn: Connection, athlete_id: str, *, today: date, upcoming: Sequence[PlannedSession],
                   pending: PlanChangeView | None) -> ForecastView | None:
    if not upcoming:
        return None
    history = _history_load(conn, athlete_id, before=today)
    goals = [s for s in upcoming if s.session_type == "race"] or list(upcoming)
    tests, unit = _performance_tests(conn, athlete_id, before=today, sport=min(goals, key=lambda s: s.day).sport)
    model: BanisterModel | None = None
    if len(tests) >= MIN_PERFORMANCE_TESTS and len(history):
        try:
            model = BanisterModel(tau_fitness_d=42.0, tau_fatigue_d=7.0).fit(history, tests)
        except (InsufficientDataError, InvalidInputError):
            model = None
    as_planned = fc.forecast(history, upcoming, model=model)
    adapted = comparison = None
    if pending is not None and pending.diffs:
        ids = {s.session_id for s in upcoming}
        try:
            diffs = tuple(d.to_domain() for d in pending.diffs if d.session_id in ids or d.before is None)
            change = PlanChange(pending.for_day, pending.stage, pending.recommendation_code or "train_as_planned",
                                diffs, pending.summary)
            adapted_sessions = apply_change(upcoming, change)
        except (InvalidInputError, KeyError, TypeError, ValueError):
            adapted_sessions = []  # a stored diff this version cannot read: show the plan as it is
        if adapted_sessions:
            adapted = fc.forecast(history, adapted_sessions, model=model)
            comparison = fc.compare_forecasts(as_planned, adapted)
    races = [s.day for s in upcoming if s.session_type == "race"]
    race_day = min(races) if races else max(s.day for s in upcoming)
    best = adapted if adapted is not None else as_planned
    peak_by = "performance" if model is not None else "tsb"
    try:
        peak = fc.peak_form_day(best, start=max(today, race_day - timedelta(days=21)), end=race_day, by=peak_by)
    except (InsufficientDataError, InvalidInputError):
        peak = None
    perf: dict[str, float] | None = None
    if model is not None:
        ts = pd.Timestamp(race_day)
        if ts in best.index:
            perf = {k: float(best[c].loc[ts]) for k, c in (("value", "performance"), ("lower", "performance_lower"),
                                                          ("upper", "performance_upper"))}
        if perf is not None and not _plausible_interval(perf):
            perf = None  # an interval wider than the value itself says nothing: do not print it
            note = (f"Performance is not identifiable from {len(tests)} best efforts ({unit}): the prediction's "
                    "interval is wider than the prediction"
                    + (" (" + "; ".join(model.identifiability_reasons_) + ")" if model.identifiability_reasons_
                       else "") + ". Form (TSB) only.")
        else:
            note = (f"Predicted performance from a Banister model fitted on {len(tests)} best efforts ({unit}); "
                    + ("the parameters are well determined." if model.identifiable_ else
                       "the fit is uncertain: " + "; ".join(model.identifiability_reasons_)))
    else:
        note = (f"Form (TSB) only: a performance prediction needs at least {MIN_PERFORMANCE_TESTS} best efforts "
                f"(5-min power or speed){'' if not len(tests) else f'; found {len(tests)}'}.")
    return ForecastView(as_planned=as_planned, adapted=adapted, comparison=comparison, race_day=race_day,
                        peak_form_day=peak, peak_by=peak_by, model_used=model is not None, note=note,
                        performance_on_race_day=perf, performance_unit=unit or None, n_tests=len(tests))


def plan_view(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
              end: date | None = None) -> PlanView:
    """Sessions from ``start`` to ``end`` (default: this week and the next five), the pending
    change and the forecasts (as planned and adapted) over the rest of the plan."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        athlete = load_athlete(conn, athlete_id)
        today = _today(ctx, athlete)
        start = start or today - timedelta(days=today.weekday())
        end = end or start + timedelta(days=6 * 7 - 1)
        if start > end:
            raise InvalidInputError("start must not be after end", field="start")
        if (end - start).days > 2 * 366:
            raise InvalidInputError("ask for at most two years at a time", field="end")
        sessions = [_view(r) for r in _rows(conn, athlete_id, start=start, end=end)]
        pending_row = _pending_row(conn, athlete_id)
        pending = _change_view(pending_row) if pending_row is not None else None
        upcoming = [_view(r).to_domain() for r in _rows(conn, athlete_id, start=today)]
        forecast_view = _forecast_view(conn, athlete_id, today=today, upcoming=upcoming, pending=pending)
        managed = is_coach_managed(conn, athlete)
    return PlanView(athlete_id=athlete_id, start=start, end=end, today=today, sessions=sessions, pending=pending,
                    forecast=forecast_view, coach_managed=managed)


def forecast(ctx: Context, actor: Actor, athlete_id: str) -> ForecastView | None:
    """The forecast over the rest of the plan (None when nothing is planned from today on)."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        athlete = load_athlete(conn, athlete_id)
        today = _today(ctx, athlete)
        upcoming = [_view(r).to_domain() for r in _rows(conn, athlete_id, start=today)]
        pending_row = _pending_row(conn, athlete_id)
        pending = _change_view(pending_row) if pending_row is not None else None
        return _forecast_view(conn, athlete_id, today=today, upcoming=upcoming, pending=pending)


def day_plan(ctx: Context, actor: Actor, athlete_id: str, *, day: date) -> DayPlan:
    """``day``'s sessions and the pending change when it touches that day."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return read_day_plan(conn, athlete_id, day=day)


def read_day_plan(conn: Connection, athlete_id: str, *, day: date) -> DayPlan:
    """:func:`day_plan` on the caller's connection, without the access check (callers have checked)."""
    sessions = [_view(r) for r in _rows(conn, athlete_id, start=day, end=day)]
    rows = conn.execute(select(plan_changes).where(
        plan_changes.c.athlete_id == athlete_id, plan_changes.c.status == "proposed")
        .order_by(plan_changes.c.created_at.desc())).all()
    changes = [c for c in (_change_view(r) for r in rows) if any(d.day == day for d in c.diffs)]
    return DayPlan(day=day, sessions=sessions, changes=changes)


@dataclass(frozen=True, slots=True)
class PlanStatus:
    """What the Today page says about plan changes: the one waiting, the last decision, and who decides."""

    pending: PlanChangeView | None = None
    #: the newest approved/rejected/accepted/overridden change, when decided in the last ``RECENT_DECISION_DAYS``
    last_decision: PlanChangeView | None = None
    decider: str = "none"  #: "coach" (the viewer approves/rejects), "athlete" (accept/override), "wait", "none"


#: How long a decision on a plan change stays on the Today page (days).
RECENT_DECISION_DAYS = 7
#: Decisions a person made (not "superseded", which the system sets).
_DECISIONS_SHOWN = ("approved", "rejected", "accepted", "overridden")
_PENDING = (select(plan_changes).where(plan_changes.c.athlete_id == bindparam("aid"),
                                       plan_changes.c.status == "proposed")
            .order_by(plan_changes.c.created_at.desc(), plan_changes.c.id).limit(1))
_LAST_DECIDED = (select(plan_changes).where(plan_changes.c.athlete_id == bindparam("aid"),
                                            plan_changes.c.status.in_(_DECISIONS_SHOWN))
                 .order_by(plan_changes.c.decided_at.desc(), plan_changes.c.id).limit(1))
#: The time of the athlete's last decision on a plan change (a scalar subquery for one-row fact reads).
LAST_DECIDED_AT = (select(func.max(plan_changes.c.decided_at))
                   .where(plan_changes.c.athlete_id == bindparam("aid"), plan_changes.c.status.in_(_DECISIONS_SHOWN))
                   .scalar_subquery())


def read_plan_status(conn: Connection, actor: Actor, athlete: AthleteInfo, *, day: date, proposed: bool = True,
                     last_decided_at: datetime | None = None) -> PlanStatus:
    """:class:`PlanStatus` on the caller's connection (callers have checked access).

    ``proposed`` (whether a change waits) and ``last_decided_at`` (:data:`LAST_DECIDED_AT`) come from
    the caller's one-row fact read, so a day with nothing to show costs no statement here.
    """
    pending_row = conn.execute(_PENDING, {"aid": athlete.id}).first() if proposed else None
    last_row = None
    if last_decided_at is not None and 0 <= (day - last_decided_at.date()).days <= RECENT_DECISION_DAYS:
        last_row = conn.execute(_LAST_DECIDED, {"aid": athlete.id}).first()
    decider = "none"
    if pending_row is not None:
        if _is_coach(conn, actor, athlete) and not actor.is_system:
            decider = "coach"
        elif is_coach_managed(conn, athlete):
            decider = "wait"
        elif actor.user_id is not None and actor.user_id == athlete.user_id:
            decider = "athlete"
    return PlanStatus(pending=_change_view(pending_row) if pending_row is not None else None,
                      last_decision=_change_view(last_row) if last_row is not None else None, decider=decider)
