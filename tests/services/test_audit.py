"""View audits: one entry per viewer, athlete, action and UTC day, on both backends."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.storage.tables import audit_log


def _entries(ctx, athlete_id: str) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit_log.c.actor_user_id, audit_log.c.action, audit_log.c.at)
            .where(audit_log.c.athlete_id == athlete_id, audit_log.c.action.like("view.%"))
            .order_by(audit_log.c.at)
        ).all()
    return [(r.actor_user_id, r.at.date().isoformat()) for r in rows]


def test_record_view_once_per_viewer_and_day(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, Actor.system(), name="Ada", tz="Europe/Oslo")
    coach, other = Actor(user_id="coach-1"), Actor(user_id="coach-2")
    now = clock()
    assert audit.record_view(ctx.engine, coach, athlete_id=athlete.id, action="view.today", at=now)
    assert not audit.record_view(ctx.engine, coach, athlete_id=athlete.id, action="view.today",
                                 at=now + timedelta(hours=3))
    # another process (no memo) still finds the stored entry and writes nothing
    audit._seen.clear()
    assert not audit.record_view(ctx.engine, coach, athlete_id=athlete.id, action="view.today",
                                 at=now + timedelta(hours=5))
    assert audit.record_view(ctx.engine, other, athlete_id=athlete.id, action="view.today", at=now)
    assert audit.record_view(ctx.engine, coach, athlete_id=athlete.id, action="view.today",
                             at=now + timedelta(days=1))
    assert not audit.record_view(ctx.engine, Actor.system(), athlete_id=athlete.id, action="view.today", at=now)
    day0, day1 = now.date().isoformat(), (now + timedelta(days=1)).date().isoformat()
    assert sorted(_entries(ctx, athlete.id)) == sorted([("coach-1", day0), ("coach-2", day0), ("coach-1", day1)])
