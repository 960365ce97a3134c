"""Recurring episode patterns (one athlete) and the roster trend toward deep fatigue."""

from __future__ import annotations

import numpy as np

from lydiard.domain.plan.generate import post_race_recovery_days as plan_rule
from lydiard.domain.recovery.patterns import recurring_episodes, trending_toward_deep
from lydiard.domain.recovery.races import post_race_recovery_days


def test_recurring_after_races_and_not_heavy_blocks() -> None:
    n = 200
    stage = np.zeros(n)
    race = np.zeros(n)
    load = np.full(n, 50.0)
    for r0 in (40, 100, 160):
        race[r0] = 1
        stage[r0 + 3 : r0 + 9] = 2
    stage[70:75] = 2  # one episode without a race before it
    out = recurring_episodes(stage, race=race, load_au=load)
    assert out["episodes"] == [43, 70, 103, 163]
    pats = {p["pattern"]: p for p in out["patterns"]}
    assert pats["after_race"]["episodes"] == 3
    assert pats["after_race"]["text"].startswith("3 of your 4 fatigue episodes")
    assert "after_heavy_block" not in pats


def test_recurring_in_high_life_stress() -> None:
    n = 200
    stage = np.zeros(n)
    stress = np.full(n, 4.0)
    for s0 in (60, 140):
        stress[s0 : s0 + 10] = 1.0
        stage[s0 + 5 : s0 + 12] = 2
    out = recurring_episodes(stage, stress=stress)
    assert [p["pattern"] for p in out["patterns"]] == ["high_life_stress"]


def test_trending_ranks_rising_evidence_first() -> None:
    days = 30
    ev = np.zeros((3, days))
    ev[0, -7:] = np.linspace(0.5, 3.5, 7)  # rising fast
    ev[1, -10:] = 1.0  # flat
    ev[2, -7:] = 6.0  # already in an episode
    stage = np.zeros((3, days))
    stage[2, -5:] = 2
    out = trending_toward_deep(stage, ev)
    assert out["order"][0] == 0
    assert np.isnan(out["score"][2]) and out["in_episode"][2]
    assert out["score"][0] > out["score"][1]
    assert out["days_to_threshold"][0] > 0 and out["days_to_threshold"][1] == -1


def test_one_post_race_rule() -> None:
    assert plan_rule is post_race_recovery_days
    assert post_race_recovery_days(260.0) == 13
    assert post_race_recovery_days(np.array([40.0, 2000.0])).tolist() == [3.0, 28.0]
