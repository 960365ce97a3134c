"""Who may see or change an athlete's data. Every service that touches athlete data calls this.

Rules:

* ``Actor.system()`` (the local CLI and batch jobs run by the operator) may do anything.
* An athlete's own user may read and write their data.
* A coach may read and write an athlete's data while an *active* coach link exists
  (the athlete accepted the invitation and has not revoked it), or when the coach
  manages an athlete who has no login of their own.
* What a linked coach may change: the plan, thresholds, imports and baseline settings. What
  only the athlete (or the managing coach of an athlete without a login) may change: the
  check-ins (the athlete's own report), the profile, and deleting the athlete
  (:func:`check_owner`). Every change by someone other than the athlete is in the audit log.
* An admin manages users but does not read athletes' data by default.
* An API token with scope ``read`` may not write.

A refusal raises :class:`NotFoundError` (the caller learns nothing about whether the
athlete exists), except a read-only token attempting a write, which raises
:class:`PermissionDeniedError`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import BindParameter, Connection, and_, bindparam, or_, select

from lydiard.errors import NotFoundError, PermissionDeniedError
from lydiard.storage.tables import athletes, coach_links


@dataclass(frozen=True, slots=True)
class Actor:
    """The caller of a service."""

    user_id: str | None
    is_admin: bool = False
    is_system: bool = False
    scope: str = "write"  #: "read" or "write" (API tokens); sessions are "write"

    @classmethod
    def system(cls) -> Actor:
        return cls(user_id=None, is_system=True)

    @classmethod
    def anonymous(cls) -> Actor:
        return cls(user_id=None)


def visible_athletes_clause(actor: Actor):  # type: ignore[no-untyped-def]
    """A SQL condition selecting the athletes ``actor`` may see."""
    if actor.is_system:
        return athletes.c.id.is_not(None)
    if actor.user_id is None:
        return athletes.c.id.is_(None)
    return user_visible_clause(actor.user_id)


def user_visible_clause(user_id: str | BindParameter[str]):  # type: ignore[no-untyped-def]
    """The athletes user ``user_id`` may see (a value, or a bound parameter in prebuilt statements);
    :func:`visible_athletes_clause` of a logged-in, non-system actor."""
    linked = select(coach_links.c.athlete_id).where(
        and_(coach_links.c.coach_user_id == user_id, coach_links.c.status == "active")
    )
    return or_(
        athletes.c.user_id == user_id,
        and_(athletes.c.managed_by_user_id == user_id, athletes.c.user_id.is_(None)),
        athletes.c.id.in_(linked),
    )


# Prebuilt statements for the per-request checks (building a statement cost more than running it).
_ID_BY_USER = select(athletes.c.id).where(athletes.c.id == bindparam("aid"), user_visible_clause(bindparam("uid")))
_ID_SYSTEM = select(athletes.c.id).where(athletes.c.id == bindparam("aid"))
_ROW_BY_USER = select(athletes).where(athletes.c.id == bindparam("aid"), user_visible_clause(bindparam("uid")))
_ROW_SYSTEM = select(athletes).where(athletes.c.id == bindparam("aid"))


def _visible(conn: Connection, actor: Actor, athlete_id: str, *, row: bool) -> Any:
    if actor.is_system:
        return conn.execute(_ROW_SYSTEM if row else _ID_SYSTEM, {"aid": athlete_id}).first()
    if actor.user_id is None:
        return None
    return conn.execute(_ROW_BY_USER if row else _ID_BY_USER, {"aid": athlete_id, "uid": actor.user_id}).first()


def check_athlete(conn: Connection, actor: Actor, athlete_id: str, *, write: bool = False) -> None:
    """Raise unless ``actor`` may read (or ``write``) athlete ``athlete_id``."""
    if write and actor.scope != "write" and not actor.is_system:
        raise PermissionDeniedError("this API token is read-only", athlete_id=athlete_id)
    if _visible(conn, actor, athlete_id, row=False) is None:
        raise NotFoundError("athlete not found", athlete_id=athlete_id)


def visible_athlete_row(conn: Connection, actor: Actor, athlete_id: str) -> Any:
    """The athlete's row when ``actor`` may read it (``check_athlete`` and the read in one query)."""
    row = _visible(conn, actor, athlete_id, row=True)
    if row is None:
        raise NotFoundError("athlete not found", athlete_id=athlete_id)
    return row


def check_owner(conn: Connection, actor: Actor, athlete_id: str, *, write: bool = True) -> Any:
    """The athlete's row when ``actor`` *is* the athlete: its user, or the coach managing an
    athlete without a login (or the system). A linked coach gets :class:`PermissionDeniedError`
    (they may see the athlete but not do this); anyone else :class:`NotFoundError`.
    """
    check_athlete(conn, actor, athlete_id, write=write)
    row = conn.execute(_ROW_SYSTEM, {"aid": athlete_id}).one()
    if actor.is_system:
        return row
    own = row.user_id == actor.user_id or (row.user_id is None and row.managed_by_user_id == actor.user_id)
    if not own:
        raise PermissionDeniedError("only the athlete may do this", athlete_id=athlete_id)
    return row
