"""The training plan as a service: sessions, generation, import/export, adaptation and forecasts.

Storage
-------
* ``planned_sessions``: one row per session; its ``id`` is the domain ``session_id`` (stable
  through adaptations, used as the iCalendar UID stem). ``origin`` is generator | manual |
  import | adapted. The JSON column ``goal`` holds the session's metadata: ``{"goal": {...}}``
  for generated sessions and, for adapted ones, ``{"original": <session as first planned>,
  "original_origin": "generator"}`` so that "resume without cramming" can restore it.
* ``plan_changes``: one row per proposed change (status proposed → approved | rejected |
  accepted | overridden | superseded); ``diff`` is a list of ``{session_id, action, before,
  after, describe}``; ``reason`` holds the evidence summary.

Decisions
---------
A *coach-managed* athlete (an active coach link, or a coach manages the profile) gets
changes that wait for a coach: :func:`approve_change`, :func:`reject_change`,
:func:`edit_change`. A *self-coached* athlete decides alone: :func:`accept_change` or
:func:`override_change` (with a note). Approved and accepted changes are applied to the plan.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, delete, func, insert, select, update

from lydiard.domain.load.banister import BanisterModel
from lydiard.domain.plan import forecast as fc
from lydiard.domain.plan.adapt import (
    RECOMMENDATION_CODES,
    STAGES,
    DayAssessment,
    PlanChange,
    SessionDiff,
    adapt_plan,
    apply_change,
)
from lydiard.domain.plan.csvio import parse_sessions_csv
from lydiard.domain.plan.generate import generate_plan
from lydiard.domain.plan.ical import sessions_from_ical, sessions_to_ical
from lydiard.domain.plan.models import (
    LOAD_PER_HOUR_AU,
    SESSION_TYPES,
    PlannedSession,
    session_label,
)
from lydiard.errors import (
    ConflictError,
    InsufficientDataError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from lydiard.services import audit, marker_words
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import AthleteInfo, load_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.metrics import local_today
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    activities,
    coach_links,
    daily_metrics,
    plan_changes,
    planned_sessions,
)
from lydiard.storage.tables import session_metrics as sm

__all__ = [
    "DECIDED_STATUSES",
    "MAX_SESSION_DURATION_S",
    "DayPlan",
    "DiffView",
    "ForecastView",
    "ImportResult",
    "PlanChangeView",
    "PlanView",
    "SessionView",
    "accept_change",
    "approve_change",
    "create_session",
    "day_plan",
    "delete_session",
    "edit_change",
    "export_plan_ical",
    "forecast",
    "generate_and_store_plan",
    "get_session",
    "import_plan_csv",
    "import_plan_ical",
    "is_coach_managed",
    "list_changes",
    "list_sessions",
    "override_change",
    "pending_change",
    "plan_view",
    "propose_adaptation",
    "refresh_plan_after_recompute",
    "reject_change",
    "update_session",
]

#: Longest session accepted (s).
MAX_SESSION_DURATION_S = 24 * 3600.0
#: Largest expected load of one session (AU): 24 h at threshold is 2400 AU.
MAX_SESSION_LOAD_AU = 2400.0
#: Sessions may be planned at most this many days ahead, and recorded this many days back.
MAX_DAYS_AHEAD = 3 * 366
MAX_DAYS_BACK = 10 * 366
MAX_TEXT_CHARS = {"intensity_target": 100, "notes": 2000}
MAX_SESSIONS_PER_IMPORT = 2000
#: Days of earlier assessments read to decide when to resume the original plan.
HISTORY_DAYS = 42
#: Performance tests needed before a Banister model is fitted.
MIN_PERFORMANCE_TESTS = 5
#: A day's 5-min best counts as a test when within this fraction of the 90-day best.
BEST_EFFORT_FRACTION = 0.9
BEST_EFFORT_DURATION_S = "300"
DECIDED_STATUSES = ("approved", "rejected", "accepted", "overridden", "superseded")
#: The recovery service's recommendation codes that the plan domain names differently.
_CODE_ALIASES = {"rest": "rest_illness"}
_SPORT_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
_EDITABLE = ("sport", "session_type", "duration_s", "intensity_target", "expected_load_au", "notes")


# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionView:
    """One stored planned session."""

    id: str
    athlete_id: str
    day: date
    sport: str
    session_type: str
    duration_s: float
    intensity_target: str
    expected_load_au: float
    notes: str
    origin: str  #: generator | manual | import | adapted
    original: dict[str, Any] | None = None  #: the session as first planned (adapted sessions)

    @property
    def title(self) -> str:
        """"Intervals" / "Rest"."""
        return session_label(self.session_type)

    @property
    def duration_min(self) -> float:
        return self.duration_s / 60.0

    def summary(self) -> str:
        """"Intervals 75 min (95 TSS)" or "Rest"."""
        return self.to_domain().summary()

    def to_domain(self) -> PlannedSession:
        """The domain session (``session_id`` = row id, ``original`` restored)."""
        original = _session_from_dict(self.original, self.id) if self.original else None
        return PlannedSession(
            day=self.day, sport=self.sport, session_type=self.session_type, duration_s=self.duration_s,
            intensity_target=self.intensity_target, expected_load_au=self.expected_load_au, notes=self.notes,
            session_id=self.id, original=original,
        )


@dataclass(frozen=True, slots=True)
class DiffView:
    """One session of a change: ``before`` → ``after`` (session dicts; None = added/removed)."""

    session_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    describe: str

    @property
    def day(self) -> date:
        ref = self.after if self.after is not None else self.before
        assert ref is not None
        return date.fromisoformat(str(ref["day"]))

    def to_domain(self) -> SessionDiff:
        return SessionDiff(
            session_id=self.session_id,
            before=_session_from_dict(self.before, self.session_id) if self.before else None,
            after=_session_from_dict(self.after, self.session_id) if self.after else None,
            action=self.action,
        )


@dataclass(frozen=True, slots=True)
class PlanChangeView:
    """A stored plan change and its decision."""

    id: str
    athlete_id: str
    for_day: date
    status: str
    stage: str
    reason: dict[str, Any]
    diffs: tuple[DiffView, ...]
    created_at: datetime
    decided_by_user_id: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None

    @property
    def summary(self) -> str:
        """The evidence summary (one line)."""
        return str(self.reason.get("summary") or "")

    @property
    def recommendation_code(self) -> str:
        return str(self.reason.get("recommendation_code") or "")

    @property
    def load_change_au(self) -> float:
        """Total expected load after − before (AU; negative = lighter)."""
        total = 0.0
        for d in self.diffs:
            total += float((d.after or {}).get("expected_load_au", 0.0))
            total -= float((d.before or {}).get("expected_load_au", 0.0))
        return total

    def describe(self) -> str:
        lines = [self.summary] if self.summary else []
        return "\n".join(lines + [d.describe for d in self.diffs])

    def to_domain(self) -> PlanChange:
        return PlanChange(
            day=self.for_day, stage=self.stage, recommendation_code=self.recommendation_code or "train_as_planned",
            diffs=tuple(d.to_domain() for d in self.diffs), reason=self.summary,
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Outcome of a plan import."""

    created: int
    updated: int
    unchanged: int
    sessions: tuple[SessionView, ...] = ()


@dataclass(frozen=True)
class ForecastView:
    """CTL/ATL/TSB (and, with enough tests, predicted performance) over the rest of the plan."""

    as_planned: pd.DataFrame  #: indexed by day: load_au, ctl, atl, tsb (+ performance columns)
    adapted: pd.DataFrame | None  #: the same with the pending change applied
    comparison: pd.DataFrame | None  #: ``compare_forecasts(as_planned, adapted)``
    race_day: date | None  #: the next planned race (or the last planned day)
    peak_form_day: date | None
    peak_by: str  #: "performance" or "tsb"
    model_used: bool  #: a Banister model was fitted on performance tests
    note: str  #: what the forecast is based on, in plain words
    performance_on_race_day: dict[str, float] | None = None  #: value, lower, upper
    performance_unit: str | None = None  #: e.g. "W (5-min best)"
    n_tests: int = 0

    @property
    def frame(self) -> pd.DataFrame:
        """The "as planned" projection (what the trends page draws)."""
        return self.as_planned

    def series(self) -> dict[str, Any]:
        """JSON-ready columns: days and ctl/atl/tsb as planned and adapted."""
        out: dict[str, Any] = {"days": [d.date().isoformat() for d in pd.DatetimeIndex(self.as_planned.index)]}
        for name, frame in (("planned", self.as_planned), ("adapted", self.adapted)):
            if frame is None:
                continue
            for col in ("load_au", "ctl", "atl", "tsb", "performance", "performance_lower", "performance_upper"):
                if col in frame.columns:
                    out[f"{col}_{name}"] = [_num(v) for v in frame[col].reindex(self.as_planned.index)]
        return out


@dataclass(frozen=True)
class PlanView:
    """Sessions in a window, the pending change and the forecasts."""

    athlete_id: str
    start: date
    end: date
    today: date
    sessions: list[SessionView]
    pending: PlanChangeView | None
    forecast: ForecastView | None
    coach_managed: bool


@dataclass(frozen=True)
class DayPlan:
    """One day's sessions and the changes waiting for a decision."""

    day: date
    sessions: list[SessionView] = field(default_factory=list)
    changes: list[PlanChangeView] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, 2)


def _session_dict(s: PlannedSession, *, with_original: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "day": s.day.isoformat(), "sport": s.sport, "session_type": s.session_type,
        "duration_s": float(s.duration_s), "intensity_target": s.intensity_target,
        "expected_load_au": float(s.expected_load_au), "notes": s.notes,
    }
    if with_original and s.original is not None:
        out["original"] = _session_dict(s.original, with_original=False)
    return out


def _session_from_dict(d: Mapping[str, Any], session_id: str) -> PlannedSession:
    original = d.get("original")
    return PlannedSession(
        day=date.fromisoformat(str(d["day"])), sport=str(d["sport"]), session_type=str(d["session_type"]),
        duration_s=float(d["duration_s"]), intensity_target=str(d.get("intensity_target") or ""),
        expected_load_au=float(d.get("expected_load_au") or 0.0), notes=str(d.get("notes") or ""),
        session_id=session_id,
        original=_session_from_dict(original, session_id) if isinstance(original, Mapping) else None,
    )


def _meta(row: Any) -> dict[str, Any]:
    meta = row.goal
    return dict(meta) if isinstance(meta, Mapping) else {}


def _view(row: Any) -> SessionView:
    original = _meta(row).get("original")
    return SessionView(
        id=row.id, athlete_id=row.athlete_id, day=row.day, sport=row.sport, session_type=row.session_type,
        duration_s=float(row.duration_s), intensity_target=row.intensity_target or "",
        expected_load_au=float(row.expected_load_au), notes=row.notes or "", origin=row.origin,
        original=dict(original) if isinstance(original, Mapping) else None,
    )


def _change_view(row: Any) -> PlanChangeView:
    diffs = tuple(
        DiffView(session_id=str(d["session_id"]), action=str(d["action"]), before=d.get("before"),
                 after=d.get("after"), describe=str(d.get("describe") or ""))
        for d in (row.diff or [])
    )
    return PlanChangeView(
        id=row.id, athlete_id=row.athlete_id, for_day=row.for_day, status=row.status, stage=row.stage,
        reason=dict(row.reason or {}), diffs=diffs, created_at=row.created_at,
        decided_by_user_id=row.decided_by_user_id, decided_at=row.decided_at, decision_note=row.decision_note,
    )


def _diff_json(d: SessionDiff) -> dict[str, Any]:
    return {
        "session_id": d.session_id, "action": d.action,
        "before": _session_dict(d.before) if d.before is not None else None,
        "after": _session_dict(d.after) if d.after is not None else None,
        "describe": d.describe(),
    }


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _validate_session(s: PlannedSession, *, today: date, where: str = "") -> None:
    """Raise :class:`InvalidInputError` naming the field when ``s`` cannot be stored."""
    prefix = f"{where}: " if where else ""
    if not _SPORT_RE.match(s.sport):
        raise InvalidInputError(f"{prefix}sport must be 1-16 lowercase letters, digits or _ (got {s.sport!r})",
                                field="sport")
    if s.session_type not in SESSION_TYPES:
        raise InvalidInputError(f"{prefix}session_type must be one of {', '.join(SESSION_TYPES)}",
                                field="session_type")
    if s.is_rest:
        if not (math.isfinite(s.duration_s) and 0 <= s.duration_s <= MAX_SESSION_DURATION_S):
            raise InvalidInputError(f"{prefix}duration_s of a rest day must be between 0 and 24 h",
                                    field="duration_s")
    elif not (math.isfinite(s.duration_s) and 0 < s.duration_s <= MAX_SESSION_DURATION_S):
        raise InvalidInputError(f"{prefix}duration_s must be more than 0 and at most 24 h (86400 s)",
                                field="duration_s")
    if not (math.isfinite(s.expected_load_au) and 0 <= s.expected_load_au <= MAX_SESSION_LOAD_AU):
        raise InvalidInputError(f"{prefix}expected_load_au must be between 0 and {MAX_SESSION_LOAD_AU:g}",
                                field="expected_load_au")
    if not (today - timedelta(days=MAX_DAYS_BACK) <= s.day <= today + timedelta(days=MAX_DAYS_AHEAD)):
        raise InvalidInputError(
            f"{prefix}day {s.day.isoformat()} is too far from today (at most {MAX_DAYS_AHEAD} days ahead "
            f"and {MAX_DAYS_BACK} days back)", field="day")
    for name, limit in MAX_TEXT_CHARS.items():
        if len(getattr(s, name)) > limit:
            raise InvalidInputError(f"{prefix}{name} must be at most {limit} characters", field=name)


def _build_session(
    *, day: date, sport: str, session_type: str, duration_s: float, intensity_target: str = "",
    expected_load_au: float | None = None, notes: str = "", session_id: str = "x",
) -> PlannedSession:
    """A domain session from user input (the expected load defaults to the type's rate)."""
    if not isinstance(day, date):
        raise InvalidInputError("day must be a date (YYYY-MM-DD)", field="day")
    if session_type not in SESSION_TYPES:
        raise InvalidInputError(f"session_type must be one of {', '.join(SESSION_TYPES)}", field="session_type")
    try:
        duration = float(duration_s)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError("duration_s must be a number", field="duration_s") from exc
    if not math.isfinite(duration) or duration < 0:
        raise InvalidInputError("duration_s must be more than 0 and at most 24 h (86400 s)", field="duration_s")
    if expected_load_au is None:
        load = round(LOAD_PER_HOUR_AU.get(session_type, 100.0) * duration / 3600.0, 1)
    else:
        load = float(expected_load_au)
        if not math.isfinite(load) or load < 0:
            raise InvalidInputError("expected_load_au must be a number >= 0", field="expected_load_au")
    return PlannedSession(
        day=day, sport=(sport or "").strip().lower(), session_type=session_type, duration_s=duration,
        intensity_target=(intensity_target or "").strip(), expected_load_au=load, notes=(notes or "").strip(),
        session_id=session_id,
    )


# ---------------------------------------------------------------------------
# Helpers on a connection
# ---------------------------------------------------------------------------


def _today(ctx: Context, athlete: AthleteInfo) -> date:
    return local_today(ctx, athlete.tz)


def _rows(conn: Connection, athlete_id: str, *, start: date | None = None, end: date | None = None) -> list[Any]:
    q = select(planned_sessions).where(planned_sessions.c.athlete_id == athlete_id)
    if start is not None:
        q = q.where(planned_sessions.c.day >= start)
    if end is not None:
        q = q.where(planned_sessions.c.day <= end)
    return list(conn.execute(q.order_by(planned_sessions.c.day, planned_sessions.c.created_at,
                                        planned_sessions.c.id)).all())


def _session_row(conn: Connection, athlete_id: str, session_id: str) -> Any:
    row = conn.execute(select(planned_sessions).where(
        planned_sessions.c.id == session_id, planned_sessions.c.athlete_id == athlete_id)).first()
    if row is None:
        raise NotFoundError("planned session not found", athlete_id=athlete_id, session_id=session_id)
    return row


def _row_values(s: PlannedSession) -> dict[str, Any]:
    return {
        "day": s.day, "sport": s.sport, "session_type": s.session_type, "duration_s": float(s.duration_s),
        "intensity_target": s.intensity_target or None, "expected_load_au": float(s.expected_load_au),
        "notes": s.notes or None,
    }


def _insert_session(conn: Connection, athlete_id: str, s: PlannedSession, *, origin: str, now: datetime,
                    meta: dict[str, Any] | None = None, session_id: str | None = None) -> str:
    sid = session_id or new_id()
    conn.execute(insert(planned_sessions).values(
        id=sid, athlete_id=athlete_id, origin=origin, goal=meta or None, created_at=now, updated_at=now,
        **_row_values(s)))
    return sid


def is_coach_managed(conn: Connection, athlete: AthleteInfo) -> bool:
    """True when a coach decides on plan changes (an active coach link or a managing coach)."""
    if athlete.managed_by_user_id is not None:
        return True
    link = conn.execute(select(coach_links.c.id).where(
        coach_links.c.athlete_id == athlete.id, coach_links.c.status == "active")).first()
    return link is not None


def _is_coach(conn: Connection, actor: Actor, athlete: AthleteInfo) -> bool:
    if actor.is_system:
        return True
    if actor.user_id is None or actor.user_id == athlete.user_id:
        return False
    if athlete.managed_by_user_id == actor.user_id:
        return True
    link = conn.execute(select(coach_links.c.id).where(
        coach_links.c.athlete_id == athlete.id, coach_links.c.coach_user_id == actor.user_id,
        coach_links.c.status == "active")).first()
    return link is not None


def _change_row(conn: Connection, athlete_id: str, change_id: str | None) -> Any:
    q = select(plan_changes).where(plan_changes.c.athlete_id == athlete_id)
    if change_id is None:
        row = conn.execute(q.where(plan_changes.c.status == "proposed")
                           .order_by(plan_changes.c.created_at.desc(), plan_changes.c.id).limit(1)).first()
        if row is None:
            raise NotFoundError("no plan change is waiting for a decision", athlete_id=athlete_id)
        return row
    row = conn.execute(q.where(plan_changes.c.id == change_id)).first()
    if row is None:
        raise NotFoundError("plan change not found", athlete_id=athlete_id, change_id=change_id)
    return row


def _supersede_pending(conn: Connection, athlete_id: str, *, now: datetime, except_id: str | None = None) -> int:
    q = update(plan_changes).where(plan_changes.c.athlete_id == athlete_id, plan_changes.c.status == "proposed")
    if except_id is not None:
        q = q.where(plan_changes.c.id != except_id)
    return int(conn.execute(q.values(status="superseded", decided_at=now)).rowcount or 0)


def _pending_row(conn: Connection, athlete_id: str) -> Any:
    return conn.execute(select(plan_changes).where(
        plan_changes.c.athlete_id == athlete_id, plan_changes.c.status == "proposed")
        .order_by(plan_changes.c.created_at.desc(), plan_changes.c.id).limit(1)).first()


# ---------------------------------------------------------------------------
# CRUD
# ---------------------------------------------------------------------------


def list_sessions(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
                  end: date | None = None) -> list[SessionView]:
    """Planned sessions between ``start`` and ``end`` (inclusive), by day."""
    if start is not None and end is not None and start > end:
        raise InvalidInputError("start must not be after end", field="start")
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return [_view(r) for r in _rows(conn, athlete_id, start=start, end=end)]


def get_session(ctx: Context, actor: Actor, athlete_id: str, session_id: str) -> SessionView:
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return _view(_session_row(conn, athlete_id, session_id))


def create_session(
    ctx: Context, actor: Actor, athlete_id: str, *, day: date, sport: str, session_type: str,
    duration_s: float, intensity_target: str = "", expected_load_au: float | None = None, notes: str = "",
) -> SessionView:
    """Add a manual session (its expected load defaults to the type's AU/h rate × duration)."""
    s = _build_session(day=day, sport=sport, session_type=session_type, duration_s=duration_s,
                       intensity_target=intensity_target, expected_load_au=expected_load_au, notes=notes)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        _validate_session(s, today=_today(ctx, athlete))
        sid = _insert_session(conn, athlete_id, s, origin="manual", now=now)
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.session.create", at=now, session_id=sid,
                     day=s.day.isoformat())
        return _view(_session_row(conn, athlete_id, sid))


def update_session(
    ctx: Context, actor: Actor, athlete_id: str, session_id: str, *, day: date | None = None,
    sport: str | None = None, session_type: str | None = None, duration_s: float | None = None,
    intensity_target: str | None = None, expected_load_au: float | None = None, notes: str | None = None,
) -> SessionView:
    """Change a session; it becomes a manual session (a regenerated plan keeps it).

    When the type or duration changes and no load is given, the load is re-estimated.
    """
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        row = _session_row(conn, athlete_id, session_id)
        new_type = session_type if session_type is not None else row.session_type
        new_duration = duration_s if duration_s is not None else float(row.duration_s)
        load = expected_load_au
        if load is None and session_type is None and duration_s is None:
            load = float(row.expected_load_au)
        s = _build_session(
            day=day if day is not None else row.day, sport=sport if sport is not None else row.sport,
            session_type=new_type, duration_s=new_duration,
            intensity_target=intensity_target if intensity_target is not None else (row.intensity_target or ""),
            expected_load_au=load, notes=notes if notes is not None else (row.notes or ""), session_id=session_id)
        _validate_session(s, today=_today(ctx, athlete))
        conn.execute(update(planned_sessions).where(planned_sessions.c.id == session_id)
                     .values(origin="manual", goal=None, updated_at=now, **_row_values(s)))
        changed = sorted(k for k, v in (("day", day), ("sport", sport), ("session_type", session_type),
                                        ("duration_s", duration_s), ("intensity_target", intensity_target),
                                        ("expected_load_au", expected_load_au), ("notes", notes)) if v is not None)
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.session.update", at=now,
                     session_id=session_id, fields=changed)
        return _view(_session_row(conn, athlete_id, session_id))


def delete_session(ctx: Context, actor: Actor, athlete_id: str, session_id: str) -> None:
    """Remove a planned session."""
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        row = _session_row(conn, athlete_id, session_id)
        conn.execute(delete(planned_sessions).where(planned_sessions.c.id == session_id))
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.session.delete", at=now,
                     session_id=session_id, day=row.day.isoformat())


# ---------------------------------------------------------------------------
# Import / export
# ---------------------------------------------------------------------------


def _same_session(row: Any, s: PlannedSession) -> bool:
    return (row.day == s.day and row.sport == s.sport and row.session_type == s.session_type
            and abs(float(row.duration_s) - s.duration_s) < 0.5
            and abs(float(row.expected_load_au) - s.expected_load_au) < 0.05
            and (row.intensity_target or "") == s.intensity_target and (row.notes or "") == s.notes)


def _import_sessions(ctx: Context, actor: Actor, athlete_id: str, sessions: Sequence[PlannedSession], *,
                     fmt: str) -> ImportResult:
    if not sessions:
        raise InvalidInputError("the file holds no sessions", field="text")
    if len(sessions) > MAX_SESSIONS_PER_IMPORT:
        raise InvalidInputError(f"at most {MAX_SESSIONS_PER_IMPORT} sessions per import", field="text")
    now = ctx.clock()
    created = updated = unchanged = 0
    touched: list[str] = []
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        today = _today(ctx, athlete)
        sessions = [_normalise_sport(s) for s in sessions]
        for i, s in enumerate(sessions, 1):
            _validate_session(s, today=today, where=f"session {i} ({s.day.isoformat()})")
        existing = {r.id: r for r in _rows(conn, athlete_id)}
        by_day: dict[date, list[Any]] = {}
        for r in existing.values():
            by_day.setdefault(r.day, []).append(r)
        for s in sessions:
            row = existing.get(s.session_id)
            if row is not None:  # a round trip of our own export: update the event in place
                if _same_session(row, s):
                    unchanged += 1
                else:
                    conn.execute(update(planned_sessions).where(planned_sessions.c.id == row.id)
                                 .values(origin="import", goal=None, updated_at=now, **_row_values(s)))
                    updated += 1
                touched.append(row.id)
                continue
            same = next((r for r in by_day.get(s.day, []) if _same_session(r, s)), None)
            if same is not None:  # the same file imported twice
                unchanged += 1
                touched.append(same.id)
                continue
            sid = _insert_session(conn, athlete_id, s, origin="import", now=now)
            created += 1
            touched.append(sid)
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.import", at=now, format=fmt,
                     created=created, updated=updated, unchanged=unchanged)
        rows = conn.execute(select(planned_sessions).where(planned_sessions.c.id.in_(touched))
                            .order_by(planned_sessions.c.day)).all() if touched else []
    return ImportResult(created, updated, unchanged, tuple(_view(r) for r in rows))


def _normalise_sport(s: PlannedSession) -> PlannedSession:
    """The session with its sport normalised to lower case (calendar apps capitalise)."""
    sport = s.sport.strip().lower()
    return s if sport == s.sport else dataclasses.replace(s, sport=sport)


def import_plan_csv(ctx: Context, actor: Actor, athlete_id: str, text: str, *, default_sport: str = "run") -> ImportResult:
    """Import sessions from CSV text (see :mod:`lydiard.domain.plan.csvio` for the columns)."""
    return _import_sessions(ctx, actor, athlete_id, parse_sessions_csv(text, default_sport=default_sport), fmt="csv")


def import_plan_ical(ctx: Context, actor: Actor, athlete_id: str, text: str, *, default_sport: str = "run") -> ImportResult:
    """Import sessions from iCalendar text; events exported by Lydiard update their session."""
    return _import_sessions(ctx, actor, athlete_id, sessions_from_ical(text, default_sport=default_sport),
                            fmt="ical")


def export_plan_ical(ctx: Context, actor: Actor, athlete_id: str, *, start: date | None = None,
                     end: date | None = None) -> str:
    """The planned sessions between ``start`` and ``end`` as RFC 5545 text (UID = session id)."""
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id)
        athlete = load_athlete(conn, athlete_id)
        rows = _rows(conn, athlete_id, start=start, end=end)
        if not actor.is_system:
            audit.record(conn, actor, athlete_id=athlete_id, action="plan.export", at=now, format="ical",
                         sessions=len(rows))
    return sessions_to_ical([_view(r).to_domain() for r in rows], dtstamp=now,
                            calendar_name=f"Lydiard plan: {athlete.name}")


# ---------------------------------------------------------------------------
# Generation
# ---------------------------------------------------------------------------


def _current_ctl(conn: Connection, athlete_id: str, today: date) -> float:
    row = conn.execute(select(daily_metrics.c.ctl).where(
        daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day <= today)
        .order_by(daily_metrics.c.day.desc()).limit(1)).first()
    return float(row.ctl) if row is not None and row.ctl is not None else 0.0


def _from_generator(row: Any) -> bool:
    return bool(row.origin == "generator" or (row.origin == "adapted"
                                               and _meta(row).get("original_origin") == "generator"))


def generate_and_store_plan(
    ctx: Context, actor: Actor, athlete_id: str, *, goal_day: date, goal_sport: str, goal_type: str = "race",
    goal_distance_m: float | None = None, weekly_hours: float, recovery_pattern: tuple[int, int] = (3, 1),
    start_day: date | None = None, goal_duration_s: float | None = None,
) -> list[SessionView]:
    """Generate a periodised plan to the goal from the athlete's current CTL and store it.

    Generated sessions from ``start_day`` on are replaced (manual and imported ones are kept,
    as is everything before ``start_day``); changes waiting for a decision are superseded.
    """
    sport = (goal_sport or "").strip().lower()
    if not _SPORT_RE.match(sport):
        raise InvalidInputError("goal_sport must be 1-16 lowercase letters, digits or _", field="goal_sport")
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        today = _today(ctx, athlete)
        first = start_day or today
        if first < today:
            raise InvalidInputError("start_day must not be in the past", field="start_day")
        if goal_day > today + timedelta(days=MAX_DAYS_AHEAD):
            raise InvalidInputError(f"goal_day must be within {MAX_DAYS_AHEAD} days", field="goal_day")
        ctl = _current_ctl(conn, athlete_id, today)
        plan_id = new_id()[:8]
        sessions = generate_plan(
            goal_day=goal_day, goal_sport=sport, start_day=first, current_ctl=ctl, weekly_hours=weekly_hours,
            goal_type=goal_type, goal_distance_m=goal_distance_m, goal_duration_s=goal_duration_s,
            recovery_pattern=(int(recovery_pattern[0]), int(recovery_pattern[1])),
            plan_id=plan_id,
        )
        for s in sessions:
            _validate_session(s, today=today, where=s.day.isoformat())
        old = [r for r in _rows(conn, athlete_id, start=first) if _from_generator(r)]
        for i in range(0, len(old), 500):
            conn.execute(delete(planned_sessions).where(planned_sessions.c.id.in_([r.id for r in old[i:i + 500]])))
        superseded = _supersede_pending(conn, athlete_id, now=now)
        goal = {"goal_day": goal_day.isoformat(), "goal_sport": sport, "goal_type": goal_type,
                "goal_distance_m": goal_distance_m, "weekly_hours": weekly_hours,
                "recovery_pattern": list(recovery_pattern), "start_day": first.isoformat(),
                "start_ctl": round(ctl, 2), "plan_id": plan_id}
        conn.execute(insert(planned_sessions), [
            {"id": new_id(), "athlete_id": athlete_id, "origin": "generator", "goal": {"goal": goal},
             "created_at": now, "updated_at": now, **_row_values(s)} for s in sessions])
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.generate", at=now, goal=goal,
                     sessions=len(sessions), replaced=len(old), superseded_changes=superseded)
        return [_view(r) for r in _rows(conn, athlete_id, start=first)
                if r.origin == "generator" and _meta(r).get("goal", {}).get("plan_id") == plan_id]


# ---------------------------------------------------------------------------
# Assessments → adaptation
# ---------------------------------------------------------------------------


def _evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    nested = evidence.get("markers")
    markers: Mapping[str, Any] = nested if isinstance(nested, Mapping) else evidence
    lines: list[str] = []
    for name, ev in markers.items():
        if not isinstance(ev, Mapping) or ev.get("value") is None:
            continue
        days_out = ev.get("days_out_of_range") or 0
        if not isinstance(days_out, int | float) or days_out <= 0:
            continue
        words = marker_words.describe(str(name), ev.get("value"), ev.get("low"), ev.get("high"))
        rng = f" ({words.normal})" if words.normal else ""
        lines.append(f"{words.label}: {words.value}{rng}, {words.status} for {int(days_out)} day(s)")
    return lines


def _assessment(row: Any) -> tuple[DayAssessment, dict[str, Any]] | None:
    """The plan domain's view of one ``daily_metrics`` row, and the reason JSON (None if unusable)."""
    if row.stage not in STAGES:
        return None
    detail: Mapping[str, Any] = row.detail if isinstance(row.detail, Mapping) else {}
    rec_raw = detail.get("recommendation")
    rec: Mapping[str, Any] = rec_raw if isinstance(rec_raw, Mapping) else {}
    code = str(rec.get("code") or row.recommendation_code or "train_as_planned")
    code = _CODE_ALIASES.get(code, code)
    if code not in RECOMMENDATION_CODES:
        code = "train_as_planned"
    params: dict[str, float] = {}
    for key in ("days", "volume_pct"):
        v = rec.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            params[key] = float(v)
    in_band: bool | None = None
    if row.ln_rmssd_7d is not None and row.ln_rmssd_low is not None and row.ln_rmssd_high is not None:
        in_band = bool(float(row.ln_rmssd_low) <= float(row.ln_rmssd_7d) <= float(row.ln_rmssd_high))
    ev_raw = detail.get("evidence")
    evidence: Mapping[str, Any] = ev_raw if isinstance(ev_raw, Mapping) else {}
    lines = _evidence_lines(evidence)
    text = str(rec.get("text") or "")
    stage_text = row.stage.replace("_", " ")
    summary = f"{stage_text.capitalize()} on {row.day.isoformat()}"
    if lines:
        summary += ": " + "; ".join(lines[:4])
    if text:
        summary += f". {text}"
    reason = {"summary": summary, "stage": row.stage, "recommendation_code": code, "recommendation_text": text,
              "params": params, "hrv_in_band": in_band, "evidence": lines, "day": row.day.isoformat()}
    return DayAssessment(day=row.day, stage=row.stage, recommendation_code=code, params=params,
                         hrv_in_band=in_band, reason=summary), reason


def propose_adaptation(ctx: Context, actor: Actor, athlete_id: str, *, day: date | None = None) -> PlanChangeView | None:
    """Propose how to change the upcoming sessions given ``day``'s assessment (default today).

    Stores a ``proposed`` change (superseding an older pending one) and returns it; returns
    None when the plan needs no change or there is no assessment for the day. Proposing the
    same change again returns the stored one.
    """
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        day = day or _today(ctx, athlete)
        rows = conn.execute(select(daily_metrics).where(
            daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day <= day,
            daily_metrics.c.day >= day - timedelta(days=HISTORY_DAYS)).order_by(daily_metrics.c.day)).all()
        if not rows or rows[-1].day != day:
            return None
        today_assessed = _assessment(rows[-1])
        if today_assessed is None:
            return None
        assessment, reason = today_assessed
        history = [a for a, _ in (x for x in (_assessment(r) for r in rows[:-1]) if x is not None)]
        sessions = [_view(r).to_domain() for r in _rows(conn, athlete_id, start=day)]
        if not sessions:
            return None
        change = adapt_plan(sessions, today=day, assessment=assessment, hrv_guided=athlete.hrv_guided,
                            history=history)
        if change.is_empty:
            return None
        diff = [_diff_json(d) for d in change.diffs]
        pending = _pending_row(conn, athlete_id)
        if pending is not None and pending.for_day == day and pending.diff == diff:
            return _change_view(pending)
        superseded = _supersede_pending(conn, athlete_id, now=now)
        cid = new_id()
        conn.execute(insert(plan_changes).values(
            id=cid, athlete_id=athlete_id, for_day=day, status="proposed", stage=change.stage, reason=reason,
            diff=diff, created_at=now))
        audit.record(conn, actor, athlete_id=athlete_id, action="plan.change.propose", at=now, change_id=cid,
                     day=day.isoformat(), stage=change.stage, sessions=len(diff), superseded=superseded)
        return _change_view(_change_row(conn, athlete_id, cid))


def refresh_plan_after_recompute(ctx: Context, actor: Actor, athlete_id: str) -> PlanChangeView | None:
    """Call after ``recompute_athlete``: propose today's adaptation of the plan, if any."""
    return propose_adaptation(ctx, actor, athlete_id)


def pending_change(ctx: Context, actor: Actor, athlete_id: str) -> PlanChangeView | None:
    """The change waiting for a decision, if any."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        row = _pending_row(conn, athlete_id)
    return _change_view(row) if row is not None else None


def list_changes(ctx: Context, actor: Actor, athlete_id: str, *, limit: int = 50) -> list[PlanChangeView]:
    """The athlete's plan changes, newest first."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        rows = conn.execute(select(plan_changes).where(plan_changes.c.athlete_id == athlete_id)
                            .order_by(plan_changes.c.created_at.desc(), plan_changes.c.id)
                            .limit(max(1, min(limit, 500)))).all()
    return [_change_view(r) for r in rows]


# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------


def _same_as_before(row: Any, before: Mapping[str, Any]) -> bool:
    return (row.day.isoformat() == before.get("day") and row.session_type == before.get("session_type")
            and abs(float(row.duration_s) - float(before.get("duration_s", -1))) < 0.5
            and abs(float(row.expected_load_au) - float(before.get("expected_load_au", -1))) < 0.05)


def _apply_diffs(conn: Connection, athlete_id: str, diffs: Sequence[DiffView], *, now: datetime) -> int:
    """Write the ``after`` sessions into the plan; the original is kept in the row's metadata."""
    applied = 0
    for d in diffs:
        row = conn.execute(select(planned_sessions).where(
            planned_sessions.c.id == d.session_id, planned_sessions.c.athlete_id == athlete_id)).first()
        if d.before is not None and (row is None or not _same_as_before(row, d.before)):
            raise ConflictError("the plan changed since this change was proposed; propose it again",
                                session_id=d.session_id)
        if d.after is None:
            conn.execute(delete(planned_sessions).where(planned_sessions.c.id == d.session_id))
            applied += 1
            continue
        after = _session_from_dict(d.after, d.session_id)
        if row is None:
            _insert_session(conn, athlete_id, after, origin="adapted", now=now, session_id=d.session_id)
            applied += 1
            continue
        meta = _meta(row)
        if after.original is not None and after != after.original:
            meta["original"] = _session_dict(after.original, with_original=False)
            meta.setdefault("original_origin", row.origin if row.origin != "adapted" else "generator")
            origin = "adapted"
        else:  # back to the original plan ("resume"): no cramming, the original as it was
            origin = str(meta.pop("original_origin", row.origin if row.origin != "adapted" else "generator"))
            meta.pop("original", None)
        conn.execute(update(planned_sessions).where(planned_sessions.c.id == d.session_id)
                     .values(origin=origin, goal=meta or None, updated_at=now, **_row_values(after)))
        applied += 1
    return applied


def _decide(ctx: Context, actor: Actor, athlete_id: str, change_id: str | None, *, status: str,
            note: str | None, apply: bool, who: str, diffs: Sequence[DiffView] | None = None,
            extra: Mapping[str, Any] | None = None) -> PlanChangeView:
    now = ctx.clock()
    if note is not None and len(note) > 2000:
        raise InvalidInputError("note must be at most 2000 characters", field="note")
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        row = _change_row(conn, athlete_id, change_id)
        if row.status != "proposed":
            raise ConflictError(f"this change is already {row.status}", change_id=row.id, status=row.status)
        managed = is_coach_managed(conn, athlete)
        if who == "coach":
            if not _is_coach(conn, actor, athlete):
                raise PermissionDeniedError("only the athlete's coach can approve, reject or edit this change; "
                                            + ("wait for your coach" if managed else "use accept or override"),
                                            change_id=row.id)
        elif managed:
            raise ConflictError("this athlete has a coach: the change waits for the coach's approval",
                                change_id=row.id)
        view = _change_view(row)
        use = tuple(diffs) if diffs is not None else view.diffs
        values: dict[str, Any] = {"status": status, "decided_at": now, "decided_by_user_id": actor.user_id,
                                  "decision_note": note.strip() if note and note.strip() else None}
        if diffs is not None:
            values["diff"] = [{"session_id": d.session_id, "action": d.action, "before": d.before,
                               "after": d.after, "describe": d.describe} for d in use]
        applied = _apply_diffs(conn, athlete_id, use, now=now) if apply else 0
        conn.execute(update(plan_changes).where(plan_changes.c.id == row.id).values(**values))
        audit.record(conn, actor, athlete_id=athlete_id, action=f"plan.change.{status}", at=now, change_id=row.id,
                     sessions_applied=applied, note=values["decision_note"], **dict(extra or {}))
        return _change_view(_change_row(conn, athlete_id, row.id))


def approve_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                   note: str | None = None) -> PlanChangeView:
    """The coach approves the pending change (default: the newest); it is applied to the plan."""
    return _decide(ctx, actor, athlete_id, change_id, status="approved", note=note, apply=True, who="coach")


def reject_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                  note: str | None = None) -> PlanChangeView:
    """The coach rejects the pending change; the plan stays as it is."""
    return _decide(ctx, actor, athlete_id, change_id, status="rejected", note=note, apply=False, who="coach")


def accept_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                  note: str | None = None) -> PlanChangeView:
    """A self-coached athlete accepts the pending change; it is applied to the plan."""
    return _decide(ctx, actor, athlete_id, change_id, status="accepted", note=note, apply=True, who="athlete")


def override_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                    note: str) -> PlanChangeView:
    """A self-coached athlete keeps the plan against the advice; the note says why (recorded)."""
    if not note or not note.strip():
        raise InvalidInputError("say why you keep the plan (a note is required to override)", field="note")
    return _decide(ctx, actor, athlete_id, change_id, status="overridden", note=note, apply=False, who="athlete")


def edit_change(ctx: Context, actor: Actor, athlete_id: str, *, edits: Mapping[str, Mapping[str, Any] | None],
                change_id: str | None = None, note: str | None = None) -> PlanChangeView:
    """The coach edits the proposed sessions, then approves.

    ``edits`` maps a session id of the change to the fields of its new ``after`` session
    (sport, session_type, duration_s, intensity_target, expected_load_au, notes), or to
    None to leave that session as it is. The load is re-estimated when the type or duration
    changes and no load is given.
    """
    if not edits:
        raise InvalidInputError("edits must name at least one session of the change", field="edits")
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        view = _change_view(_change_row(conn, athlete_id, change_id))
    today = _today(ctx, athlete)
    by_id = {d.session_id: d for d in view.diffs}
    unknown = [sid for sid in edits if sid not in by_id]
    if unknown:
        raise InvalidInputError(f"session {unknown[0]} is not part of this change", field="session_id")
    new_diffs: list[DiffView] = []
    for d in view.diffs:
        if d.session_id not in edits:
            new_diffs.append(d)
            continue
        fields = edits[d.session_id]
        if fields is None:
            continue
        bad = [k for k in fields if k not in _EDITABLE]
        if bad:
            raise InvalidInputError(f"{bad[0]} cannot be edited (editable: {', '.join(_EDITABLE)})", field=bad[0])
        base = d.after or d.before
        assert base is not None
        merged = {**base, **{k: v for k, v in fields.items() if v is not None}}
        load: float | None
        if fields.get("expected_load_au") is not None:
            load = float(fields["expected_load_au"])
        elif "session_type" in fields or "duration_s" in fields:
            load = None  # re-estimated from the type's rate
        else:
            load = float(base.get("expected_load_au") or 0.0)
        s = _build_session(
            day=date.fromisoformat(str(base["day"])), sport=str(merged["sport"]),
            session_type=str(merged["session_type"]), duration_s=float(merged["duration_s"]),
            intensity_target=str(merged.get("intensity_target") or ""), expected_load_au=load,
            notes=str(merged.get("notes") or ""), session_id=d.session_id)
        _validate_session(s, today=today, where=f"session {d.session_id}")
        root = _session_from_dict(d.before, d.session_id).root if d.before is not None else None
        after = s if root is None or s == root else PlannedSession(
            day=s.day, sport=s.sport, session_type=s.session_type, duration_s=s.duration_s,
            intensity_target=s.intensity_target, expected_load_au=s.expected_load_au, notes=s.notes,
            session_id=d.session_id, original=root)
        domain = SessionDiff(d.session_id, _session_from_dict(d.before, d.session_id) if d.before else None,
                             after, d.action)
        if d.before is not None and _session_from_dict(d.before, d.session_id) == after:
            continue  # edited back to what it was: no change for this session
        j = _diff_json(domain)
        new_diffs.append(DiffView(d.session_id, d.action, j["before"], j["after"], j["describe"]))
    return _decide(ctx, actor, athlete_id, view.id, status="approved", note=note, apply=True, who="coach",
                   diffs=new_diffs, extra={"edited_sessions": sorted(edits)})


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


def _performance_tests(conn: Connection, athlete_id: str, *, before: date) -> tuple[pd.Series, str]:
    """Best efforts usable as performance tests: per day, the 5-min best power (else speed).

    A day counts when its 5-min best is within :data:`BEST_EFFORT_FRACTION` of the best of
    the preceding 90 days (a near-maximal effort, not an easy session).
    """
    rows = conn.execute(select(activities.c.day, sm.c.details).join(sm, sm.c.activity_id == activities.c.id)
                        .where(activities.c.athlete_id == athlete_id, activities.c.day < before)).all()
    for key, unit in (("mmp_power_w", "W (5-min best power)"), ("mmp_speed_mps", "m/s (5-min best speed)")):
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


def _forecast_view(conn: Connection, athlete_id: str, *, today: date, upcoming: Sequence[PlannedSession],
                   pending: PlanChangeView | None) -> ForecastView | None:
    if not upcoming:
        return None
    history = _history_load(conn, athlete_id, before=today)
    tests, unit = _performance_tests(conn, athlete_id, before=today)
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
