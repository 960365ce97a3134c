"""The audit log: who viewed or changed an athlete's data.

Changes are recorded one entry per change, in the transaction making the change. Views
are recorded at most once per actor, athlete, action and UTC day (:func:`record_view`):
a coach opening an athlete's Today page forty times a day leaves one entry saying that
they looked that day, which is what the athlete needs to know, and a page view costs no
database write after the first. The check is an indexed read (``ix_audit_log_athlete_at``)
remembered in-process, so repeated views cost nothing; two server processes racing on the
very first view of a day may each write one entry.

:func:`record_access` is called by the HTTP layer for *every* successful request that names
an athlete, whatever the route: reads and changes of the athlete's data by anyone else (a
coach, by session or token) are logged with the route and how the caller authenticated.
"""

from __future__ import annotations

import threading
import weakref
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, insert, select

from lydiard.services.access import Actor
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athletes, audit_log

_SEEN_MAX = 50_000  #: remembered (actor, athlete, action, day) keys per engine before the memo is reset
_seen: weakref.WeakKeyDictionary[Engine, set[tuple[str, str, str, str]]] = weakref.WeakKeyDictionary()
_seen_lock = threading.Lock()


def _actor_key(actor: Actor) -> str:
    return actor.user_id if not actor.is_system and actor.user_id is not None else "system"


_INSERT = insert(audit_log)
#: Is there a view entry by this actor for this athlete and action on this UTC day? (Built once:
#: building a statement costs more than running it.)
_VIEW_SEEN = select(audit_log.c.id).where(
    audit_log.c.athlete_id == bindparam("athlete_id"), audit_log.c.at >= bindparam("start", type_=audit_log.c.at.type),
    audit_log.c.at < bindparam("end", type_=audit_log.c.at.type), audit_log.c.actor_user_id == bindparam("who"),
    audit_log.c.action == bindparam("action"),
).limit(1)


def _actor_column(actor: Actor) -> str | None:
    return actor.user_id if not actor.is_system else "system"


def record(conn: Connection, actor: Actor, *, athlete_id: str | None, action: str, at: Any, **detail: Any) -> None:
    """Append one audit entry (in the caller's transaction)."""
    conn.execute(_INSERT, {"at": at, "actor_user_id": _actor_column(actor), "athlete_id": athlete_id,
                           "action": action, "detail": detail or None})


def record_many(
    conn: Connection, actor: Actor, entries: list[tuple[str | None, str, Any, dict[str, Any]]],
) -> None:
    """Append several audit entries, each ``(athlete_id, action, at, detail)``, in one statement."""
    if entries:
        who = _actor_column(actor)
        conn.execute(_INSERT, [{"at": at, "actor_user_id": who, "athlete_id": athlete_id, "action": action,
                                "detail": detail or None} for athlete_id, action, at, detail in entries])


def record_view(engine: Engine, actor: Actor, *, athlete_id: str, action: str, at: datetime, **detail: Any) -> bool:
    """Record that ``actor`` viewed the athlete's data, unless already recorded on ``at``'s UTC day.

    Returns True when an entry was written. System actors (the operator's CLI) are not
    recorded, as before.
    """
    if actor.is_system:
        return False
    at_utc = at.astimezone(UTC)
    who = _actor_key(actor)
    key = (who, athlete_id, action, at_utc.date().isoformat())
    with _seen_lock:
        seen = _seen.setdefault(engine, set())
        if key in seen:
            return False
    start = datetime.combine(at_utc.date(), time(), tzinfo=UTC)
    with translate_db_errors(), engine.connect() as conn:
        exists = conn.execute(_VIEW_SEEN, {"athlete_id": athlete_id, "start": start, "end": start + timedelta(days=1),
                                           "who": who, "action": action}).first()
    written = False
    if exists is None:
        with translate_db_errors(), engine.begin() as conn:
            record(conn, actor, athlete_id=athlete_id, action=action, at=at, **detail)
        written = True
    with _seen_lock:
        seen = _seen.setdefault(engine, set())
        if len(seen) >= _SEEN_MAX:
            seen.clear()
        seen.add(key)
    return written


_OWNER = select(athletes.c.user_id).where(athletes.c.id == bindparam("aid"))


def record_access(engine: Engine, actor: Actor, *, athlete_id: str, action: str, at: datetime, write: bool,
                  **detail: Any) -> bool:
    """Record that someone other than the athlete read or changed the athlete's data.

    Called for every successful request naming an athlete (the HTTP layer does it in one
    place for every route). Nothing is written for the athlete themself, the operator's
    system actor, or an athlete without a login (only their managing coach handles their
    data). A change is recorded every time; a read once per actor, athlete, ``action`` and
    UTC day (see :func:`record_view`). Returns True when an entry was written.
    """
    if actor.is_system or actor.user_id is None:
        return False
    at_utc = at.astimezone(UTC)
    key = (actor.user_id, athlete_id, action, at_utc.date().isoformat())
    if not write:
        with _seen_lock:
            if key in _seen.get(engine, ()):
                return False
    with translate_db_errors(), engine.connect() as conn:
        owner = conn.execute(_OWNER, {"aid": athlete_id}).first()
    if owner is None or owner.user_id is None or owner.user_id == actor.user_id:
        if not write:
            with _seen_lock:
                _seen.setdefault(engine, set()).add(key)
        return False
    if write:
        with translate_db_errors(), engine.begin() as conn:
            record(conn, actor, athlete_id=athlete_id, action=action, at=at, **detail)
        return True
    return record_view(engine, actor, athlete_id=athlete_id, action=action, at=at, **detail)
