"""Athlete summaries (stage run length, sparkline series) stay equal to the stored daily metrics
whatever writes them; the roster, Today and the Trends version follow every change; views are
audited once per viewer, athlete and day. Both backends."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from lydiard.services import checkin as checkin_svc
from lydiard.services import coaching, planning, readiness, trends
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.demo import seed_cohort
from lydiard.services.metrics import local_today, recompute_athlete
from lydiard.services.summaries import SPARK_DAYS, SPARK_SERIES, read_summaries
from lydiard.storage import tables as t

SYSTEM = Actor.system()


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def brute_force(ctx: Context, athlete_id: str) -> dict[str, Any]:
    """The summary recomputed naively from every stored row."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.daily_metrics).where(t.daily_metrics.c.athlete_id == athlete_id)
                            .order_by(t.daily_metrics.c.day.desc())).all()
    run = 0
    for r in rows:
        if r.stage != rows[0].stage:
            break
        run += 1
    by_day = {r.day: r for r in rows}
    first = rows[0].day - timedelta(days=SPARK_DAYS - 1)
    recent = {c: [None if (r := by_day.get(first + timedelta(days=k))) is None or getattr(r, c) is None
                  else round(float(getattr(r, c)), 3) for k in range(SPARK_DAYS)] for c in SPARK_SERIES}
    return {"last_day": rows[0].day, "stage": rows[0].stage, "stage_days": run, "recent": recent}


def assert_summary_current(ctx: Context, athlete_id: str) -> None:
    with ctx.engine.connect() as conn:
        summary = read_summaries(conn, [athlete_id])[athlete_id]
    expected = brute_force(ctx, athlete_id)
    assert (summary.last_day, summary.stage, summary.stage_days) == (
        expected["last_day"], expected["stage"], expected["stage_days"])
    for c in SPARK_SERIES:
        assert summary.window(c, first=expected["last_day"] - timedelta(days=SPARK_DAYS - 1), days=SPARK_DAYS) \
            == expected["recent"][c], c


@pytest.fixture
def cohort(ctx: Context) -> tuple[Actor, list[str]]:
    info = seed_cohort(ctx, athletes_n=4, days=120, seed=3, detail_days=7, chunk_athletes=3)
    coach = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="test").user
    return user_svc.actor_for(coach), list(info.athlete_ids)


def test_bulk_batch_and_per_athlete_writes_keep_summaries_current(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    for aid in ids:  # written by the batch writer (seed_cohort → batch_io.write_chunk)
        assert_summary_current(ctx, aid)
    entries = {e.athlete_id: e for e in coaching.roster(ctx, coach)}
    for aid in ids:
        expected = brute_force(ctx, aid)
        assert (entries[aid].stage, entries[aid].stage_days, entries[aid].last_day) == (
            expected["stage"], expected["stage_days"], expected["last_day"])
    # A check-in recomputes the athlete (per-athlete writer): summary, roster and Today follow.
    aid = ids[0]
    today = local_today(ctx, "Europe/Oslo")
    version = trends.trends_version(ctx, coach, aid)
    with ctx.engine.begin() as conn:  # make sure today has no check-in yet
        conn.execute(sa.delete(t.daily_observations).where(t.daily_observations.c.athlete_id == aid,
                                                           t.daily_observations.c.day == today,
                                                           t.daily_observations.c.source == "checkin"))
    missing = next(e for e in coaching.roster(ctx, coach) if e.athlete_id == aid).missing_checkins_7d
    checkin_svc.submit_checkin(ctx, coach, aid, day=today, energy=1, mood=1, motivation=1, soreness=1,
                               sleep_quality=1, stress=1, sleep_h=3.0, illness=True)
    assert_summary_current(ctx, aid)
    entry = next(e for e in coaching.roster(ctx, coach) if e.athlete_id == aid)
    assert entry.missing_checkins_7d == missing - 1
    assert trends.trends_version(ctx, coach, aid) != version
    view = readiness.day_view(ctx, coach, aid)
    assert (view.stage, view.stage_days) == (brute_force(ctx, aid)["stage"], brute_force(ctx, aid)["stage_days"])
    page = readiness.today_page(ctx, coach, aid)
    assert page.checked_in and page.view is not None and page.view.stage == view.stage


def test_roster_counts_proposed_changes_at_once(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    aid = ids[1]
    today = local_today(ctx, "Europe/Oslo")
    planning.create_session(ctx, SYSTEM, aid, day=today, sport="run", session_type="intervals", duration_s=4500.0)
    detail = {"evidence": {}, "recommendation": {"code": "back_off", "text": "Back off.", "days": 4,
                                                   "volume_pct": 30, "reason": "stage", "return_criteria": []}}
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid, t.daily_metrics.c.day == today)
                     .values(stage="deep_fatigue", recommendation_code="back_off", detail=detail))
    change = planning.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None
    entry = next(e for e in coaching.roster(ctx, coach) if e.athlete_id == aid)
    assert entry.proposed_changes == 1
    planning.reject_change(ctx, SYSTEM, aid, change_id=change.id)
    entry = next(e for e in coaching.roster(ctx, coach) if e.athlete_id == aid)
    assert entry.proposed_changes == 0


def test_a_store_without_summaries_fills_them_on_first_read(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    with ctx.engine.begin() as conn:  # as after upgrading a store from before the summaries
        conn.execute(sa.delete(t.athlete_summaries))
    entries = {e.athlete_id: e for e in coaching.roster(ctx, coach)}
    assert all(entries[a].stage is not None for a in ids)
    for aid in ids:
        assert_summary_current(ctx, aid)
    assert set(trends.sparklines(ctx, coach, ids)) == set(ids)
    recompute_athlete(ctx, SYSTEM, ids[0])  # a recompute that writes nothing keeps the filled summary
    assert_summary_current(ctx, ids[0])


def test_history_day_views_count_their_own_run(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    aid = ids[2]
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.daily_metrics.c.day, t.daily_metrics.c.stage)
                            .where(t.daily_metrics.c.athlete_id == aid).order_by(t.daily_metrics.c.day)).all()
    replayed = readiness.replay(ctx, coach, aid, start=rows[0].day, end=rows[-1].day)
    for k in (10, 50, len(rows) - 30, len(rows) - 1):
        run = 0
        for r in reversed(rows[:k + 1]):
            if r.stage != rows[k].stage:
                break
            run += 1
        assert readiness.day_view(ctx, coach, aid, day=rows[k].day).stage_days == run
        assert replayed[k].stage_days == run


def test_views_are_audited_once_per_viewer_athlete_and_day(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    aid = ids[3]

    def views() -> list[Any]:
        with ctx.engine.connect() as conn:
            return conn.execute(sa.select(t.audit_log.c.actor_user_id).where(
                t.audit_log.c.athlete_id == aid, t.audit_log.c.action == "view.today")).all()

    for _ in range(3):
        readiness.today_page(ctx, coach, aid)
        readiness.day_view(ctx, coach, aid)
    assert len(views()) == 1 and views()[0].actor_user_id == coach.user_id
    readiness.day_view(ctx, SYSTEM, aid)
    assert len(views()) == 1, "the operator's CLI is not a viewer"
