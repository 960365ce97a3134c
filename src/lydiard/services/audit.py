"""The audit log: who viewed or changed an athlete's data."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, insert

from lydiard.services.access import Actor
from lydiard.storage.tables import audit_log


def record(conn: Connection, actor: Actor, *, athlete_id: str | None, action: str, at: Any, **detail: Any) -> None:
    """Append one audit entry (in the caller's transaction)."""
    conn.execute(
        insert(audit_log).values(
            at=at,
            actor_user_id=actor.user_id if not actor.is_system else "system",
            athlete_id=athlete_id,
            action=action,
            detail=detail or None,
        )
    )
