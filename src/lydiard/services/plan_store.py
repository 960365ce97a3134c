"""The plan's storage rules and the helpers every plan service uses on a connection.
"""


from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from lydiard.domain.plan.models import (
    PlannedSession,
)
from lydiard.errors import (
    NotFoundError,
)
from lydiard.services.access import Actor
from lydiard.services.athlete_store import AthleteInfo
from lydiard.services.context import Context, new_id
from lydiard.services.metrics import local_today
from lydiard.storage.tables import (
    coach_links,
    plan_changes,
    planned_sessions,
)

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
