"""The check-in service: a partial update keeps earlier answers; a replacing check-in clears them."""

from __future__ import annotations

from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.metrics import local_today

SYSTEM = Actor.system()


def test_a_partial_checkin_keeps_answers_and_a_replacing_one_clears_them(ctx: Context) -> None:
    a = athlete_svc.create_athlete(ctx, SYSTEM, name="Clara", tz="UTC")
    today = local_today(ctx, "UTC")
    checkin_svc.submit_checkin(ctx, SYSTEM, a.id, day=today, energy=4, mood=4, sleep_h=7.5)
    kept = checkin_svc.submit_checkin(ctx, SYSTEM, a.id, day=today, energy=2)
    assert (kept.energy, kept.mood, kept.sleep_h) == (2, 4, 7.5)
    replaced = checkin_svc.submit_checkin(ctx, SYSTEM, a.id, day=today, energy=3, replace=True)
    assert (replaced.energy, replaced.mood, replaced.sleep_h) == (3, None, None)
    stored = checkin_svc.get_checkin(ctx, SYSTEM, a.id, day=today)
    assert (stored.energy, stored.mood, stored.sleep_h) == (3, None, None)
