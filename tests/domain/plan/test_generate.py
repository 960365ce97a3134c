"""Plan models and the generator."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.load.banister import unit_gain_ewma
from lydiard.domain.plan.generate import generate_plan, plan_weeks, post_race_recovery_days
from lydiard.domain.plan.models import PlannedSession, race_load_per_hour_au
from lydiard.errors import InvalidInputError

RACE = date(2025, 6, 1)  # a Sunday


def _plan(**kw: object) -> list[PlannedSession]:
    args: dict[str, object] = dict(goal_day=RACE, goal_sport="run", start_day=date(2025, 2, 17),
                                   current_ctl=40.0, weekly_hours=8.0, goal_distance_m=21_097)
    args.update(kw)
    return generate_plan(**args)  # type: ignore[arg-type]


def test_planned_session_validation_and_properties() -> None:
    s = PlannedSession(day=date(2025, 3, 4), sport="run", session_type="intervals",
                       duration_s=4500, intensity_target="Z5", expected_load_au=95)
    assert s.is_intensity and not s.is_rest
    assert s.session_id == "2025-03-04-run-intervals"
    assert s.summary() == "Intervals 75 min (95 TSS)"
    easy = s.adapted(session_type="easy", duration_s=2700, expected_load_au=35)
    assert easy.original == s and easy.root == s and easy.session_id == s.session_id
    assert easy.adapted(duration_s=1800).root == s
    with pytest.raises(InvalidInputError) as info:
        PlannedSession(day=date(2025, 3, 4), sport="run", session_type="sprint", duration_s=60)
    assert info.value.field == "session_type"
    with pytest.raises(InvalidInputError):
        PlannedSession(day=date(2025, 3, 4), sport="run", session_type="easy", duration_s=-1)


def test_plan_structure_one_session_per_day_race_on_goal_day() -> None:
    plan = _plan()
    days = [s.day for s in plan]
    assert days == sorted(days) and len(set(days)) == len(days)
    assert days[0] == date(2025, 2, 17)
    assert days == [days[0] + timedelta(days=i) for i in range(len(days))]
    race = next(s for s in plan if s.day == RACE)
    assert race.session_type == "race" and race.expected_load_au > 100
    assert len({s.session_id for s in plan}) == len(plan)
    # every full pre-race week has a long session, an easy day and a rest day
    for k in range(1, 14):
        week = [s for s in plan if RACE - timedelta(days=7 * k) < s.day <= RACE - timedelta(
            days=7 * (k - 1))]
        kinds = {s.session_type for s in week}
        assert "rest" in kinds and "easy" in kinds
        assert "long" in kinds or k == 1  # the race replaces the long session


def test_taper_cuts_volume_keeps_intensity() -> None:
    plan = _plan()
    pre = [s for s in plan if RACE - timedelta(days=21) < s.day <= RACE - timedelta(days=14)]
    taper = [s for s in plan if RACE - timedelta(days=14) < s.day < RACE]
    vol_pre = sum(s.duration_s for s in pre)
    vol_taper_week = sum(s.duration_s for s in taper) / 2
    cut = 1 - vol_taper_week / vol_pre
    assert 0.35 <= cut <= 0.65
    assert sum(s.is_intensity for s in taper) >= 3  # intensity kept


def test_ramp_cap_on_projected_ctl() -> None:
    for cap in (3.0, 5.0):
        plan = _plan(weekly_hours=20.0, current_ctl=30.0, max_ramp_ctl_per_week=cap)
        loads = np.array([s.expected_load_au for s in plan])
        ctl = unit_gain_ewma(loads, days=42, initial=30.0)
        first_week_end = (RACE - plan[0].day).days % 7  # weeks end on race day
        ends = ctl[first_week_end::7]
        assert np.diff(ends).max() <= cap + 0.5
        assert np.diff(ends).max() >= cap * 0.6  # the cap, not the hours, binds


def test_recovery_weeks_pattern() -> None:
    assert plan_weeks(n_weeks=9, recovery_pattern=(3, 1)).count("recovery") == 2
    # the week before the taper is never a recovery week
    assert plan_weeks(n_weeks=8, recovery_pattern=(3, 1))[-1] != "recovery"
    phases = plan_weeks(n_weeks=9, recovery_pattern=(2, 1))
    assert phases[2] == "recovery" and phases[5] == "recovery" and phases[-1] != "recovery"
    plan = _plan(recovery_pattern=(2, 1))
    assert any(s.notes == "recovery" for s in plan)


def test_post_race_window_scales_with_race_load() -> None:
    assert post_race_recovery_days(40) == 3
    assert post_race_recovery_days(260) == 13
    assert post_race_recovery_days(2000) == 28
    half = _plan()
    full = _plan(goal_distance_m=42_195)
    assert full[-1].day - RACE > half[-1].day - RACE
    after = [s for s in half if s.day > RACE]
    assert after[0].is_rest and after[1].is_rest
    assert not any(s.is_intensity for s in after)
    assert race_load_per_hour_au(1800) > race_load_per_hour_au(3 * 3600)
    assert race_load_per_hour_au(3600, competitive=False) < race_load_per_hour_au(3600)


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"goal_day": date(2025, 2, 20)}, "goal_day"), ({"weekly_hours": 0.0}, "weekly_hours"),
     ({"recovery_pattern": (4, 1)}, "recovery_pattern"), ({"goal_type": "fun"}, "goal_type"),
     ({"current_ctl": -1.0}, "current_ctl"), ({"taper_volume_cut": 0.9}, "taper_volume_cut")],
)
def test_generator_rejects_bad_arguments(kw: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        _plan(**kw)
    assert info.value.field == field


@settings(max_examples=15, deadline=None)
@given(st.integers(7, 140), st.floats(0, 120), st.floats(2, 20))
def test_generator_properties(n_days: int, ctl: float, hours: float) -> None:
    plan = generate_plan(goal_day=RACE, goal_sport="ride", start_day=RACE - timedelta(days=n_days),
                         current_ctl=ctl, weekly_hours=hours, goal_type="event")
    assert plan[0].day == RACE - timedelta(days=n_days)
    assert next(s for s in plan if s.session_type == "race").day == RACE
    assert all(s.expected_load_au >= 0 for s in plan)
    weekly_s = max(sum(s.duration_s for s in plan[i:i + 7]) for i in range(0, len(plan), 7))
    assert weekly_s <= max(hours * 3600 * 1.15, 4 * 3600 + 12 * 1200)
