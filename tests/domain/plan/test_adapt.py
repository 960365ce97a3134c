"""adapt_plan / apply_change: each mapping, HRV gating, resume without cramming."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lydiard.domain.plan.adapt import (
    DayAssessment,
    PlanChange,
    SessionDiff,
    adapt_plan,
    apply_change,
    day_assessment_from_row,
)
from lydiard.domain.plan.models import PlannedSession
from lydiard.errors import InvalidInputError

TODAY = date(2025, 3, 4)  # a Tuesday


def _week(start: date = TODAY, n: int = 21) -> list[PlannedSession]:
    kinds = [("intervals", 4500, 119), ("easy", 3600, 55), ("tempo", 3600, 80),
             ("easy", 3000, 46), ("rest", 0, 0), ("easy", 3600, 55), ("long", 7200, 124)]
    out = []
    for i in range(n):
        kind, dur, load = kinds[i % 7]
        d = start + timedelta(days=i)
        out.append(PlannedSession(day=d, sport="run", session_type=kind, duration_s=dur,
                                  intensity_target="Z2", expected_load_au=load,
                                  session_id=f"p:{d}"))
    return out


def _a(stage: str, code: str, day: date = TODAY, **kw: object) -> DayAssessment:
    return DayAssessment(day=day, stage=stage, recommendation_code=code, **kw)  # type: ignore[arg-type]


def _apply(plan: list[PlannedSession], change: PlanChange) -> list[PlannedSession]:
    return apply_change(plan, change)


def test_surface_fatigue_swaps_only_todays_intensity() -> None:
    plan = _week()
    change = adapt_plan(plan, today=TODAY, assessment=_a("surface_fatigue", "swap_easy",
                                                         reason="HRV low today"))
    assert [d.action for d in change.diffs] == ["swap_easy"]
    diff = change.diffs[0]
    assert diff.before == plan[0] and diff.after is not None
    assert diff.after.session_type == "easy" and diff.after.duration_s <= 3600
    assert diff.describe() == "Tue 4 Mar: Intervals 75 min (119 TSS) → Easy 60 min (55 TSS)"
    assert change.reason == "HRV low today" and "HRV low today" in change.describe()
    new = _apply(plan, change)
    assert new[1:] == plan[1:] and len(new) == len(plan)
    # no intensity today → nothing to do
    assert adapt_plan(plan, today=TODAY + timedelta(days=1),
                      assessment=_a("surface_fatigue", "swap_easy",
                                    day=TODAY + timedelta(days=1))).is_empty


def test_back_off_cuts_volume_of_next_n_days() -> None:
    plan = _week()
    change = adapt_plan(plan, today=TODAY, assessment=_a(
        "surface_fatigue", "back_off", params={"days": 3, "volume_pct": 30}))
    changed = {d.session_id for d in change.diffs}
    assert changed == {s.session_id for s in plan[:3]}
    new = _apply(plan, change)
    for old, cur in zip(plan[1:3], new[1:3], strict=True):
        assert cur.duration_s <= old.duration_s * 0.7 + 1e-9
        assert cur.expected_load_au < old.expected_load_au
    assert new[3:] == plan[3:]
    assert all(d.action == "reduce_volume" for d in change.diffs)


def test_deep_fatigue_lighter_week_low_intensity_and_no_compounding() -> None:
    plan = _week()
    a = _a("deep_fatigue", "lighter_weeks", params={"days": 7, "volume_pct": 40})
    new = _apply(plan, adapt_plan(plan, today=TODAY, assessment=a))
    window = new[:7]
    assert not any(s.is_intensity for s in window)
    assert sum(s.duration_s for s in window) <= 0.6 * sum(s.duration_s for s in plan[:7]) + 1
    assert new[7:] == plan[7:]
    # the same verdict tomorrow does not cut the same sessions again
    tomorrow = TODAY + timedelta(days=1)
    again = adapt_plan(new, today=tomorrow, assessment=_a(
        "deep_fatigue", "lighter_weeks", day=tomorrow, params={"days": 7, "volume_pct": 40}))
    assert {d.session_id for d in again.diffs} == {plan[7].session_id}


def test_overreaching_active_recovery_block_at_least_two_weeks() -> None:
    plan = _week()
    change = adapt_plan(plan, today=TODAY, assessment=_a(
        "overreaching_suspected", "active_recovery", params={"days": 7}))
    new = _apply(plan, change)
    assert all(s.session_type in {"active_recovery", "rest"} for s in new[:14])
    assert all(s.duration_s <= 45 * 60 for s in new[:14])
    assert new[14:] == plan[14:]


@pytest.mark.parametrize(("stage", "code", "n_rest"), [
    ("overtraining_suspected", "stop_see_doctor", 21), ("normal", "rest_illness", 3)])
def test_stop_structured_and_illness(stage: str, code: str, n_rest: int) -> None:
    plan = _week()
    new = _apply(plan, adapt_plan(plan, today=TODAY, assessment=_a(stage, code)))
    assert all(s.is_rest for s in new[:n_rest])
    assert new[n_rest:] == plan[n_rest:]


def test_resume_restores_original_plan_without_cramming() -> None:
    plan = _week()
    history = [_a("deep_fatigue", "lighter_weeks", day=TODAY)]
    adapted = _apply(plan, adapt_plan(plan, today=TODAY, assessment=history[0]))
    # two normal days: not yet (deep fatigue needs 3)
    day1, day2, day3 = (TODAY + timedelta(days=k) for k in (1, 2, 3))
    history.append(_a("normal", "train_as_planned", day=day1))
    assert adapt_plan(adapted, today=day2, assessment=_a("normal", "train_as_planned", day=day2),
                      history=history).is_empty
    history.append(_a("normal", "train_as_planned", day=day2))
    change = adapt_plan(adapted, today=day3,
                        assessment=_a("normal", "train_as_planned", day=day3), history=history)
    assert change.diffs and all(d.action == "resume" for d in change.diffs)
    resumed = _apply(adapted, change)
    # past days keep their reduced sessions; future days are exactly the original plan
    assert resumed[:3] == adapted[:3]
    assert resumed[3:] == plan[3:]
    assert sum(s.expected_load_au for s in resumed) < sum(s.expected_load_au for s in plan)


def test_hrv_guided_gates_intensity() -> None:
    plan = _week()
    out = adapt_plan(plan, today=TODAY, hrv_guided=True,
                     assessment=_a("normal", "train_as_planned", hrv_in_band=False))
    assert [d.action for d in out.diffs] == ["swap_easy"]
    assert adapt_plan(plan, today=TODAY, hrv_guided=True, assessment=_a(
        "normal", "train_as_planned", hrv_in_band=True)).is_empty
    assert adapt_plan(plan, today=TODAY, hrv_guided=False, assessment=_a(
        "normal", "train_as_planned", hrv_in_band=False)).is_empty
    assert adapt_plan(plan, today=TODAY, hrv_guided=True, assessment=_a(
        "normal", "train_as_planned", hrv_in_band=None)).is_empty


def test_inputs_not_mutated_and_validation() -> None:
    plan = _week()
    snapshot = list(plan)
    adapt_plan(plan, today=TODAY, assessment=_a("deep_fatigue", "lighter_weeks"))
    assert plan == snapshot
    with pytest.raises(InvalidInputError):
        _a("tired", "swap_easy")
    with pytest.raises(InvalidInputError):
        _a("normal", "party")
    with pytest.raises(InvalidInputError):
        adapt_plan(plan, today=TODAY, assessment=_a("normal", "train_as_planned",
                                                     day=TODAY + timedelta(days=1)))
    with pytest.raises(InvalidInputError):
        SessionDiff("x", None, None, "resume")
    ghost = SessionDiff("nope", plan[0].adapted(session_id="nope"), None, "insert_rest")
    with pytest.raises(InvalidInputError):
        apply_change(plan, PlanChange(TODAY, "normal", "train_as_planned", (ghost,), ""))


def test_insert_and_remove_via_apply_change() -> None:
    plan = _week(n=3)
    extra = PlannedSession(day=TODAY, sport="strength", session_type="strength", duration_s=1800,
                           expected_load_au=20, session_id="new")
    change = PlanChange(TODAY, "normal", "train_as_planned", (
        SessionDiff("new", None, extra, "insert_rest"),
        SessionDiff(plan[1].session_id, plan[1], None, "stop_structured")), "")
    new = apply_change(plan, change)
    assert extra in new and plan[1] not in new and len(new) == 3
    assert "removed" in change.diffs[1].describe() and "nothing" in change.diffs[0].describe()


def test_day_assessment_from_row() -> None:
    import pandas as pd

    a = day_assessment_from_row(pd.Timestamp("2025-03-04"), {
        "stage": "deep_fatigue", "hrv_in_band": False, "reasons": ["a", "b"],
        "recommendation": {"code": "back_off", "days": 5, "volume_pct": 40}})
    assert a.day == TODAY and a.params == {"days": 5.0, "volume_pct": 40.0}
    assert a.reason == "a; b" and a.hrv_in_band is False
