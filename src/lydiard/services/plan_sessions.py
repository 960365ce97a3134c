"""Planned sessions: validation, create/update/delete, CSV and iCalendar import/export, generation.

Writers: each change of the plan goes through :mod:`lydiard.services.pipeline` (the charts
show the planned future).
"""


from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update

from lydiard.domain.plan.csvio import parse_sessions_csv
from lydiard.domain.plan.generate import generate_plan
from lydiard.domain.plan.ical import sessions_from_ical, sessions_to_ical
from lydiard.domain.plan.models import (
    LOAD_PER_HOUR_AU,
    SESSION_TYPES,
    PlannedSession,
)
from lydiard.errors import (
    InvalidInputError,
)
from lydiard.services import audit, pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import load_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.pipeline import Change
from lydiard.services.plan_store import (
    _SPORT_RE,
    MAX_DAYS_AHEAD,
    MAX_DAYS_BACK,
    MAX_SESSION_DURATION_S,
    MAX_SESSION_LOAD_AU,
    MAX_SESSIONS_PER_IMPORT,
    MAX_TEXT_CHARS,
    _insert_session,
    _row_values,
    _rows,
    _session_row,
    _supersede_pending,
    _today,
)
from lydiard.services.plan_views import ImportResult, SessionView, _meta, _view
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    daily_metrics,
    planned_sessions,
)

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
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn, athlete = w.conn, w.athlete
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
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn, athlete = w.conn, w.athlete
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
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn = w.conn
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
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn, athlete = w.conn, w.athlete
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
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn, athlete = w.conn, w.athlete
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
