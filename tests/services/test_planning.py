"""The planning service on both backends: CRUD, generation, adaptation and decisions, import/export."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from lydiard.errors import ConflictError, InvalidInputError, NotFoundError, PermissionDeniedError
from lydiard.services import athletes as athlete_svc
from lydiard.services import coaching
from lydiard.services import planning as plan
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context, new_id
from lydiard.storage import tables as t

SYSTEM = Actor.system()
TODAY = date(2025, 6, 30)  # the ``clock`` fixture's day (a Monday)


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def athlete(ctx: Context, name: str = "Ann", **kw: Any) -> str:
    return athlete_svc.create_athlete(ctx, SYSTEM, name=name, tz="UTC", **kw).id


def user(ctx: Context, label: str) -> user_svc.UserInfo:
    return user_svc.create_user(ctx, SYSTEM, email=f"{label}-{uuid.uuid4().hex[:6]}@example.org",
                                password="correct horse battery staple 42", display_name=label.title())


def metrics_row(ctx: Context, athlete_id: str, day: date, *, stage: str = "normal",
                code: str = "train_as_planned", days: int = 0, volume_pct: int = 0, ctl: float = 40.0,
                load_au: float = 50.0, ln_rmssd: tuple[float, float, float] | None = None) -> None:
    """One stored assessment (what ``recompute_athlete`` writes), as test setup."""
    ln = ln_rmssd or (None, None, None)
    detail = {
        "evidence": {"ln_rmssd_7d": {"value": ln[0] if ln[0] is not None else 3.6, "low": 3.8, "high": 4.3,
                                     "days_out_of_range": 0 if stage == "normal" else 5,
                                     "threshold": "band", "source": "Plews"}},
        "recommendation": {"code": code, "text": f"advice {code}", "days": days, "volume_pct": volume_pct,
                           "reason": "stage", "return_criteria": []},
    }
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(t.daily_metrics).where(t.daily_metrics.c.athlete_id == athlete_id,
                                                      t.daily_metrics.c.day == day))
        conn.execute(sa.insert(t.daily_metrics).values(
            athlete_id=athlete_id, day=day, load_au=load_au, ctl=ctl, atl=ctl, tsb=0.0, stage=stage,
            confidence=0.8, recommendation_code=code, detail=detail, ln_rmssd_7d=ln[0], ln_rmssd_low=ln[1],
            ln_rmssd_high=ln[2], computed_at=ctx.clock()))


def week_of_sessions(ctx: Context, athlete_id: str, start: date = TODAY) -> list[plan.SessionView]:
    kinds = [("intervals", 75), ("easy", 45), ("tempo", 60), ("easy", 50), ("rest", 0), ("long", 120),
             ("easy", 40)]
    return [plan.create_session(ctx, SYSTEM, athlete_id, day=start + timedelta(days=i), sport="run",
                                session_type=k, duration_s=m * 60.0) for i, (k, m) in enumerate(kinds)]


def audit_actions(ctx: Context, athlete_id: str) -> list[str]:
    with ctx.engine.connect() as conn:
        return [r.action for r in conn.execute(sa.select(t.audit_log.c.action).where(
            t.audit_log.c.athlete_id == athlete_id).order_by(t.audit_log.c.id))]


def total_load(sessions: list[plan.SessionView], start: date, end: date) -> float:
    return sum(s.expected_load_au for s in sessions if start <= s.day <= end)


# ----------------------------------------------------------------------------- CRUD


def test_crud_and_validation(ctx: Context) -> None:
    aid = athlete(ctx)
    s = plan.create_session(ctx, SYSTEM, aid, day=TODAY, sport="Run", session_type="intervals", duration_s=3600,
                            intensity_target="5x4 min Z5")
    assert (s.sport, s.origin, s.expected_load_au) == ("run", "manual", 95.0)
    bad: list[tuple[str, dict[str, Any]]] = [
        ("session_type", {"session_type": "sprint"}),
        ("duration_s", {"duration_s": 0.0}),
        ("duration_s", {"duration_s": 25 * 3600.0}),
        ("duration_s", {"duration_s": float("nan")}),
        ("day", {"day": date(1900, 1, 1)}),
        ("day", {"day": TODAY + timedelta(days=5000)}),
        ("expected_load_au", {"expected_load_au": -1.0}),
        ("sport", {"sport": ""}),
        ("sport", {"sport": "run; drop table"}),
        ("notes", {"notes": "x" * 3000}),
    ]
    for field, override in bad:
        kwargs: dict[str, Any] = {"day": TODAY, "sport": "run", "session_type": "easy", "duration_s": 1800.0,
                                  **override}
        with pytest.raises(InvalidInputError) as info:
            plan.create_session(ctx, SYSTEM, aid, **kwargs)
        assert info.value.field == field, (field, override, info.value)
    rest = plan.create_session(ctx, SYSTEM, aid, day=TODAY + timedelta(days=1), sport="run", session_type="rest",
                               duration_s=0)
    assert rest.expected_load_au == 0.0

    up = plan.update_session(ctx, SYSTEM, aid, s.id, duration_s=1800.0)
    assert up.duration_s == 1800.0 and up.expected_load_au == pytest.approx(47.5)
    with pytest.raises(InvalidInputError) as info:
        plan.update_session(ctx, SYSTEM, aid, s.id, session_type="nap")
    assert info.value.field == "session_type"
    assert [x.id for x in plan.list_sessions(ctx, SYSTEM, aid, start=TODAY, end=TODAY)] == [s.id]
    assert len(plan.list_sessions(ctx, SYSTEM, aid)) == 2
    plan.delete_session(ctx, SYSTEM, aid, s.id)
    with pytest.raises(NotFoundError):
        plan.get_session(ctx, SYSTEM, aid, s.id)
    with pytest.raises(NotFoundError):
        plan.delete_session(ctx, SYSTEM, aid, "nope")
    # another athlete's session is not reachable through this athlete
    other = athlete(ctx, "Bob")
    with pytest.raises(NotFoundError):
        plan.update_session(ctx, SYSTEM, other, rest.id, notes="x")
    assert audit_actions(ctx, aid) == ["athlete.create", "plan.session.create", "plan.session.create",
                                       "plan.session.update", "plan.session.delete"]


def test_strangers_cannot_read_or_write(ctx: Context) -> None:
    aid = athlete(ctx)
    week_of_sessions(ctx, aid)
    stranger = user_svc.actor_for(user(ctx, "stranger"))
    with pytest.raises(NotFoundError):
        plan.list_sessions(ctx, stranger, aid)
    with pytest.raises(NotFoundError):
        plan.create_session(ctx, stranger, aid, day=TODAY, sport="run", session_type="easy", duration_s=600)
    with pytest.raises(NotFoundError):
        plan.propose_adaptation(ctx, stranger, aid)


# ----------------------------------------------------------------------------- generation


def test_generate_plan_with_recovery_weeks_keeps_manual_and_past(ctx: Context) -> None:
    aid = athlete(ctx)
    metrics_row(ctx, aid, TODAY - timedelta(days=1), ctl=45.0)
    past = plan.create_session(ctx, SYSTEM, aid, day=TODAY - timedelta(days=3), sport="run",
                               session_type="easy", duration_s=1800)
    manual = plan.create_session(ctx, SYSTEM, aid, day=TODAY + timedelta(days=10), sport="swim",
                                 session_type="easy", duration_s=1800)
    goal = TODAY + timedelta(weeks=16)
    sessions = plan.generate_and_store_plan(ctx, SYSTEM, aid, goal_day=goal, goal_sport="run", goal_type="race",
                                            goal_distance_m=21097.5, weekly_hours=8.0, recovery_pattern=(3, 1))
    assert sessions and all(s.origin == "generator" for s in sessions)
    assert sessions[0].day == TODAY
    race = [s for s in sessions if s.session_type == "race"]
    assert [s.day for s in race] == [goal]
    recovery_days = [s for s in sessions if s.notes == "recovery"]
    assert recovery_days, "a (3, 1) plan has recovery weeks"
    # a recovery week is lighter than the loading week before it
    rec_start = min(s.day for s in recovery_days)
    before = total_load(sessions, rec_start - timedelta(days=7), rec_start - timedelta(days=1))
    during = total_load(sessions, rec_start, rec_start + timedelta(days=6))
    assert during < 0.8 * before

    again = plan.generate_and_store_plan(ctx, SYSTEM, aid, goal_day=goal, goal_sport="run", weekly_hours=6.0)
    everything = plan.list_sessions(ctx, SYSTEM, aid)
    generated = [s for s in everything if s.origin == "generator"]
    assert {s.id for s in generated} == {s.id for s in again}  # the old generated sessions are gone
    assert {past.id, manual.id} <= {s.id for s in everything}
    assert total_load(again, TODAY, goal) < total_load(sessions, TODAY, goal)
    with pytest.raises(InvalidInputError) as info:
        plan.generate_and_store_plan(ctx, SYSTEM, aid, goal_day=TODAY + timedelta(days=3), goal_sport="run",
                                     weekly_hours=5.0)
    assert info.value.field == "goal_day"
    with pytest.raises(InvalidInputError) as info:
        plan.generate_and_store_plan(ctx, SYSTEM, aid, goal_day=goal, goal_sport="run", weekly_hours=5.0,
                                     recovery_pattern=(5, 1))
    assert info.value.field == "recovery_pattern"
    assert audit_actions(ctx, aid).count("plan.generate") == 2


# ----------------------------------------------------------------------------- adaptation


def test_deep_fatigue_proposes_a_lighter_plan_and_approve_applies_it(ctx: Context, clock: Any) -> None:
    aid = athlete(ctx)
    week = week_of_sessions(ctx, aid)
    assert plan.propose_adaptation(ctx, SYSTEM, aid) is None  # no assessment yet
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="back_off", days=4, volume_pct=30)
    change = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None and change.status == "proposed" and change.stage == "deep_fatigue"
    assert change.for_day == TODAY
    assert "Deep fatigue" in change.summary and "advice back_off" in change.summary
    assert change.load_change_au < 0
    touched = {d.session_id for d in change.diffs}
    assert week[0].id in touched  # today's intervals
    assert all(TODAY <= d.day < TODAY + timedelta(days=4) for d in change.diffs)
    for d in change.diffs:
        assert d.before is not None and d.after is not None and "→" in d.describe
        assert d.after["expected_load_au"] < d.before["expected_load_au"]
        assert d.after["session_type"] not in ("intervals", "tempo")  # low intensity only in deep fatigue
    # proposing again is idempotent; the pending change is visible
    assert plan.propose_adaptation(ctx, SYSTEM, aid).id == change.id  # type: ignore[union-attr]
    pending = plan.pending_change(ctx, SYSTEM, aid)
    assert pending is not None and pending.id == change.id

    before_load = total_load(plan.list_sessions(ctx, SYSTEM, aid), TODAY, TODAY + timedelta(days=3))
    approved = plan.approve_change(ctx, SYSTEM, aid, note="ok, rest up")
    assert approved.status == "approved" and approved.decision_note == "ok, rest up"
    after = plan.list_sessions(ctx, SYSTEM, aid)
    assert total_load(after, TODAY, TODAY + timedelta(days=3)) < before_load
    adapted = {s.id: s for s in after if s.id in touched}
    assert all(s.origin == "adapted" and s.original is not None for s in adapted.values())
    assert adapted[week[0].id].original["session_type"] == "intervals"  # type: ignore[index]
    assert plan.pending_change(ctx, SYSTEM, aid) is None
    with pytest.raises(NotFoundError):
        plan.approve_change(ctx, SYSTEM, aid)
    with pytest.raises(ConflictError):
        plan.reject_change(ctx, SYSTEM, aid, change_id=change.id)
    assert {"plan.change.propose", "plan.change.approved"} <= set(audit_actions(ctx, aid))

    # Three normal days later: back to the original plan, without cramming the missed load.
    for i in range(1, 4):
        metrics_row(ctx, aid, TODAY + timedelta(days=i))
    clock.now = clock.now + timedelta(days=3)
    resume = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert resume is not None and {d.action for d in resume.diffs} == {"resume"}
    plan.approve_change(ctx, SYSTEM, aid)
    restored = {s.id: s for s in plan.list_sessions(ctx, SYSTEM, aid)}
    original = {s.id: s for s in week}
    for sid in (d.session_id for d in resume.diffs):
        assert restored[sid].expected_load_au == original[sid].expected_load_au
        assert restored[sid].origin == "manual" and restored[sid].original is None
    # sessions already past stay as they were adapted (the missed load is not added later)
    assert restored[week[0].id].origin == "adapted"


def test_reject_leaves_the_plan_unchanged(ctx: Context) -> None:
    aid = athlete(ctx)
    week_of_sessions(ctx, aid)
    before = plan.list_sessions(ctx, SYSTEM, aid)
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="lighter_weeks", days=14, volume_pct=40)
    change = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None and change.diffs
    rejected = plan.reject_change(ctx, SYSTEM, aid, note="race week, we know")
    assert rejected.status == "rejected"
    assert plan.list_sessions(ctx, SYSTEM, aid) == before
    assert "plan.change.rejected" in audit_actions(ctx, aid)


def test_a_newer_proposal_supersedes_the_older(ctx: Context, clock: Any) -> None:
    aid = athlete(ctx)
    week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="surface_fatigue", code="swap_easy", days=1)
    first = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert first is not None and [d.after["session_type"] for d in first.diffs] == ["easy"]  # type: ignore[index]
    clock.now = clock.now + timedelta(days=1)
    metrics_row(ctx, aid, TODAY + timedelta(days=1), stage="deep_fatigue", code="back_off", days=4,
                volume_pct=30)
    second = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert second is not None and second.id != first.id
    statuses = {c.id: c.status for c in plan.list_changes(ctx, SYSTEM, aid)}
    assert statuses == {first.id: "superseded", second.id: "proposed"}


def test_hrv_guided_gates_intensity_when_hrv_is_out_of_band(ctx: Context) -> None:
    aid = athlete(ctx)
    athlete_svc.update_profile(ctx, SYSTEM, aid, hrv_guided=True)
    week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, ln_rmssd=(3.5, 3.8, 4.3))  # normal stage, HRV below its band
    change = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None and change.reason["hrv_in_band"] is False
    assert [(d.before["session_type"], d.after["session_type"]) for d in change.diffs] == [  # type: ignore[index]
        ("intervals", "easy")]
    metrics_row(ctx, aid, TODAY, ln_rmssd=(4.0, 3.8, 4.3))
    assert plan.propose_adaptation(ctx, SYSTEM, aid) is None


# ----------------------------------------------------------------------------- who decides


def test_coach_managed_athlete_waits_for_the_coach(ctx: Context) -> None:
    coach_user = user(ctx, "coach")
    runner_user = user(ctx, "runner")
    coach = user_svc.actor_for(coach_user)
    runner = user_svc.actor_for(runner_user)
    aid = athlete(ctx, "Runner", user_id=runner_user.id)
    coaching.invite_athlete(ctx, coach, athlete_email=runner_user.email)
    link = coaching.list_links(ctx, runner)[0]
    coaching.respond_to_invitation(ctx, runner, link.id, accept=True)

    week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="back_off", days=4, volume_pct=30)
    change = plan.propose_adaptation(ctx, runner, aid)
    assert change is not None
    before = plan.list_sessions(ctx, runner, aid)
    with pytest.raises(ConflictError):
        plan.accept_change(ctx, runner, aid)
    with pytest.raises(ConflictError):
        plan.override_change(ctx, runner, aid, note="I feel fine")
    with pytest.raises(PermissionDeniedError):
        plan.approve_change(ctx, runner, aid)
    assert plan.list_sessions(ctx, runner, aid) == before

    # The coach edits today's session (a short easy run instead) and approves.
    today_diff = next(d for d in change.diffs if d.day == TODAY)
    edited = plan.edit_change(ctx, coach, aid, edits={today_diff.session_id: {"session_type": "easy",
                                                                               "duration_s": 1200.0}},
                              note="20 min easy only")
    assert edited.status == "approved" and edited.decided_by_user_id == coach_user.id
    now = {s.id: s for s in plan.list_sessions(ctx, coach, aid)}
    assert now[today_diff.session_id].duration_s == 1200.0
    assert now[today_diff.session_id].expected_load_au == pytest.approx(55.0 * 1200 / 3600, abs=0.1)
    assert now[today_diff.session_id].original["session_type"] == "intervals"  # type: ignore[index]
    with pytest.raises(NotFoundError):
        plan.edit_change(ctx, coach, aid, edits={"x": {}})  # nothing is pending any more
    assert "plan.change.approved" in audit_actions(ctx, aid)


def test_coach_of_a_managed_profile_rejects(ctx: Context) -> None:
    coach = user_svc.actor_for(user(ctx, "coach"))
    aid = athlete_svc.create_athlete(ctx, coach, name="Kid").id  # managed by the coach, no login
    week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="back_off", days=4, volume_pct=30)
    assert plan.propose_adaptation(ctx, coach, aid) is not None
    with pytest.raises(ConflictError):
        plan.accept_change(ctx, coach, aid)
    assert plan.reject_change(ctx, coach, aid).status == "rejected"


def test_self_coached_athlete_accepts_or_overrides(ctx: Context) -> None:
    runner_user = user(ctx, "solo")
    runner = user_svc.actor_for(runner_user)
    aid = athlete(ctx, "Solo", user_id=runner_user.id)
    week = week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="surface_fatigue", code="swap_easy", days=1)
    assert plan.propose_adaptation(ctx, runner, aid) is not None
    with pytest.raises(PermissionDeniedError):
        plan.approve_change(ctx, runner, aid)
    with pytest.raises(InvalidInputError) as info:
        plan.override_change(ctx, runner, aid, note="  ")
    assert info.value.field == "note"
    overridden = plan.override_change(ctx, runner, aid, note="key session before the race, I feel good")
    assert overridden.status == "overridden"
    assert overridden.decision_note == "key session before the race, I feel good"
    assert overridden.decided_by_user_id == runner_user.id
    assert plan.get_session(ctx, runner, aid, week[0].id).session_type == "intervals"
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(t.audit_log).where(t.audit_log.c.action == "plan.change.overridden")).one()
    assert row.detail["note"] == "key session before the race, I feel good"
    assert row.actor_user_id == runner_user.id

    # the next day's proposal is accepted and applied
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="back_off", days=4, volume_pct=30)
    change = plan.propose_adaptation(ctx, runner, aid)
    assert change is not None
    accepted = plan.accept_change(ctx, runner, aid)
    assert accepted.status == "accepted"
    assert plan.get_session(ctx, runner, aid, week[0].id).session_type == "easy"
    assert {"plan.change.overridden", "plan.change.accepted"} <= set(audit_actions(ctx, aid))


def test_stale_change_conflicts(ctx: Context) -> None:
    aid = athlete(ctx)
    week = week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="surface_fatigue", code="swap_easy", days=1)
    assert plan.propose_adaptation(ctx, SYSTEM, aid) is not None
    plan.update_session(ctx, SYSTEM, aid, week[0].id, duration_s=4000.0)
    with pytest.raises(ConflictError):
        plan.approve_change(ctx, SYSTEM, aid)


def test_refresh_after_recompute_and_day_plan(ctx: Context) -> None:
    aid = athlete(ctx)
    week = week_of_sessions(ctx, aid)
    assert plan.propose_adaptation(ctx, SYSTEM, aid) is None
    metrics_row(ctx, aid, TODAY, stage="surface_fatigue", code="swap_easy", days=1)
    change = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None
    today = plan.day_plan(ctx, SYSTEM, aid, day=TODAY)
    assert [s.id for s in today.sessions] == [week[0].id]
    assert [c.id for c in today.changes] == [change.id]
    assert plan.day_plan(ctx, SYSTEM, aid, day=TODAY + timedelta(days=1)).changes == []


# ----------------------------------------------------------------------------- import / export


def test_ical_round_trip(ctx: Context) -> None:
    aid = athlete(ctx)
    week = week_of_sessions(ctx, aid)
    plan.update_session(ctx, SYSTEM, aid, week[1].id, notes="hilly; with strides, 6×20 s")
    text = plan.export_plan_ical(ctx, SYSTEM, aid, start=TODAY, end=TODAY + timedelta(days=6))
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.count("BEGIN:VEVENT") == 7
    assert f"UID:{week[0].id}@lydiard" in text

    again = plan.import_plan_ical(ctx, SYSTEM, aid, text)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 7)

    other = athlete(ctx, "Bob")
    res = plan.import_plan_ical(ctx, SYSTEM, other, text)
    assert res.created == 7
    key = [(s.day, s.sport, s.session_type, s.duration_s, s.expected_load_au, s.intensity_target, s.notes)
           for s in plan.list_sessions(ctx, SYSTEM, aid)]
    copy = [(s.day, s.sport, s.session_type, s.duration_s, s.expected_load_au, s.intensity_target, s.notes)
            for s in plan.list_sessions(ctx, SYSTEM, other)]
    assert sorted(copy) == sorted(key)
    assert all(s.origin == "import" for s in plan.list_sessions(ctx, SYSTEM, other))

    # an edited event of our own export updates its session
    edited = text.replace("X-LYDIARD-DURATION-S:4500", "X-LYDIARD-DURATION-S:3000", 1)
    res2 = plan.import_plan_ical(ctx, SYSTEM, aid, edited)
    assert (res2.created, res2.updated) == (0, 1)
    assert plan.get_session(ctx, SYSTEM, aid, week[0].id).duration_s == 3000.0
    with pytest.raises(InvalidInputError):
        plan.import_plan_ical(ctx, SYSTEM, aid, "not a calendar")


def test_csv_import(ctx: Context) -> None:
    aid = athlete(ctx)
    text = ("day,sport,session_type,duration_min,intensity_target,notes\n"
            f"{TODAY.isoformat()},run,easy,45,Z2,\n"
            f"{(TODAY + timedelta(days=1)).isoformat()},ride,intervals,90,4x8 min,\n"
            f"{(TODAY + timedelta(days=2)).isoformat()},run,rest,,,\n")
    res = plan.import_plan_csv(ctx, SYSTEM, aid, text)
    assert res.created == 3 and [s.session_type for s in res.sessions] == ["easy", "intervals", "rest"]
    assert plan.import_plan_csv(ctx, SYSTEM, aid, text).unchanged == 3
    with pytest.raises(InvalidInputError) as info:
        plan.import_plan_csv(ctx, SYSTEM, aid, f"day,session_type,duration_min\n{TODAY},easy,1500\n")
    assert info.value.field == "duration_s"
    assert "plan.import" in audit_actions(ctx, aid)


# ----------------------------------------------------------------------------- views and forecasts


def test_plan_view_forecasts_as_planned_and_adapted(ctx: Context) -> None:
    aid = athlete(ctx)
    for i in range(60, 0, -1):
        metrics_row(ctx, aid, TODAY - timedelta(days=i), load_au=60.0)
    week_of_sessions(ctx, aid)
    metrics_row(ctx, aid, TODAY, stage="deep_fatigue", code="back_off", days=4, volume_pct=30)
    change = plan.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None
    view = plan.plan_view(ctx, SYSTEM, aid, start=TODAY, end=TODAY + timedelta(days=13))
    assert len(view.sessions) == 7 and view.pending is not None and view.pending.id == change.id
    fc = view.forecast
    assert fc is not None and fc.adapted is not None and fc.comparison is not None
    assert not fc.model_used and "(TSB) only" in fc.note
    assert fc.as_planned["ctl"].iloc[0] > 0  # seeded by the history
    assert fc.comparison["atl_delta"].min() < 0  # lighter days → less fatigue
    assert fc.peak_form_day is not None and fc.race_day == TODAY + timedelta(days=6)
    series = fc.series()
    assert len(series["days"]) == 7 and len(series["tsb_adapted"]) == 7
    assert plan.forecast(ctx, SYSTEM, aid) is not None
    assert plan.forecast(ctx, SYSTEM, athlete(ctx, "Empty")) is None


def test_plan_view_predicts_performance_with_enough_best_efforts(ctx: Context) -> None:
    aid = athlete(ctx)
    now = ctx.clock()
    for i in range(90, 0, -1):
        metrics_row(ctx, aid, TODAY - timedelta(days=i), load_au=40.0 + (i % 7) * 10.0)
    with ctx.engine.begin() as conn:
        for k, i in enumerate(range(84, 0, -12)):
            day = TODAY - timedelta(days=i)
            act = new_id()
            conn.execute(sa.insert(t.activities).values(
                id=act, athlete_id=aid, source_format="fit", sport="ride", started_at=datetime.combine(
                    day, datetime.min.time(), tzinfo=UTC), day=day, duration_s=3600.0, moving_time_s=3600.0,
                n_samples=0, created_at=now))
            conn.execute(sa.insert(t.session_metrics).values(
                activity_id=act, load_au=80.0, load_source="power_tss", computed_at=now,
                details={"mmp_power_w": {"60": 400.0, "300": 300.0 + 3.0 * k + (k % 2) * 2.0}}))
    plan.generate_and_store_plan(ctx, SYSTEM, aid, goal_day=TODAY + timedelta(weeks=8), goal_sport="ride",
                                 weekly_hours=7.0)
    view = plan.plan_view(ctx, SYSTEM, aid)
    fc = view.forecast
    assert fc is not None and fc.model_used and fc.n_tests >= 5
    assert fc.performance_unit == "W (5-min best power)"
    perf = fc.performance_on_race_day
    assert perf is not None and perf["lower"] <= perf["value"] <= perf["upper"]
    assert fc.peak_by == "performance" and fc.peak_form_day is not None
    assert fc.race_day == TODAY + timedelta(weeks=8)
