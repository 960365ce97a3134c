"""Per-day signals from sessions: per-sport normalisation, steady-session filters, race rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lydiard.domain.load.markers import (
    RACE_CTL_MULTIPLE,
    RACE_MIN_HISTORY_DAYS,
    day_signals,
    last_race,
)


def _sessions(rows: list[dict[str, float | str]]) -> pd.DataFrame:
    return pd.DataFrame(rows)


def test_runs_and_rides_share_one_scale_per_sport() -> None:
    # runs EF ~0.021 (m/s per bpm), rides ~1.6 (W per bpm): alternating days, both steady
    rows: list[dict[str, float | str]] = []
    for d in range(20):
        sport, ef = ("run", 0.021) if d % 2 else ("ride", 1.6)
        rows.append({"a": 0, "c": d, "sport": sport, "duration_s": 3600.0, "ef": ef, "avg_hr_bpm": 140.0,
                     "intensity_factor": 0.7})
    out = day_signals(_sessions(rows), shape=(1, 20), load_au=np.full((1, 20), 50.0))
    np.testing.assert_allclose(out["ef"][0], 1.0)  # same output per beat in each sport = 1.0
    np.testing.assert_allclose(out["perf_at_hr"][0], 1.0)
    # a drop in the rides only shows as a drop, not as the sport mix
    rows[18]["ef"] = 1.6 * 0.9
    out = day_signals(_sessions(rows), shape=(1, 20), load_au=np.full((1, 20), 50.0))
    assert out["ef"][0, 18] < 0.92 and out["ef"][0, 17] == pytest.approx(1.0)


def test_hard_and_short_sessions_give_no_steady_markers() -> None:
    rows: list[dict[str, float | str]] = [
        {"a": 0, "c": 0, "sport": "run", "duration_s": 3600.0, "ef": 0.02, "decoupling_pct": 3.0,
         "external_load_au": 100.0},  # IF 1.0 from running TSS: not steady
        {"a": 0, "c": 1, "sport": "run", "duration_s": 1800.0, "ef": 0.02, "decoupling_pct": 3.0,
         "external_load_au": 20.0},  # steady but 30 min: EF yes, decoupling no
    ]
    out = day_signals(_sessions(rows), shape=(1, 2), load_au=np.zeros((1, 2)))
    assert np.isnan(out["ef"][0, 0]) and np.isnan(out["decoupling_pct"][0, 0])
    assert out["ef"][0, 1] == 1.0 and np.isnan(out["decoupling_pct"][0, 1])


def test_hr_external_ratio_and_srpe_per_external() -> None:
    rows: list[dict[str, float | str]] = [
        {"a": 0, "c": 0, "sport": "run", "duration_s": 3600.0, "hr_load_au": 60.0, "external_load_au": 50.0,
         "srpe_au": 300.0},
        {"a": 0, "c": 0, "sport": "ride", "duration_s": 3600.0, "hr_load_au": 40.0, "external_load_au": 50.0},
        {"a": 0, "c": 1, "sport": "run", "duration_s": 3600.0, "hr_load_au": 60.0, "external_load_au": 50.0,
         "srpe_au": 450.0},
    ]
    out = day_signals(_sessions(rows), shape=(1, 2), load_au=np.zeros((1, 2)))
    assert out["hr_external_load_ratio"][0].tolist() == [1.0, 1.2]  # (60 + 40) / 100, then 60 / 50
    # sRPE per external load, per sport: 6 then 9 AU per TSS → 1.0, then 9 / 7.5
    assert out["srpe_per_external"][0].tolist() == pytest.approx([1.0, 1.2])


def test_race_rules_and_which_fired() -> None:
    n = 60
    load = np.full((1, n), 40.0)
    rows: list[dict[str, float | str]] = [{"a": 0, "c": d, "sport": "run", "duration_s": 3600.0, "load_au": 40.0}
                                          for d in range(n)]
    rows[10]["load_au"] = 300.0  # big, but within the first weeks: no chronic load to judge against
    rows[45]["load_au"] = 40.0 * RACE_CTL_MULTIPLE * 1.1 + 10.0  # far above the chronic load
    rows[50]["race_flag"] = 1.0
    load[0, 10], load[0, 45] = rows[10]["load_au"], rows[45]["load_au"]
    planned = np.zeros((1, n), dtype=bool)
    planned[0, [30, 50, 59]] = True
    rows = [r for r in rows if r["c"] != 59]  # planned, not run: not a race
    load[0, 59] = 0.0
    out = day_signals(_sessions(rows), shape=(1, n), load_au=load, planned_race=planned)
    rule = out["race_rule"][0]
    assert RACE_MIN_HISTORY_DAYS > 10 and rule[10] == 0
    assert rule[45] == 3 and rule[30] == 1 and rule[50] == 1  # planned wins over the flag
    assert rule[59] == 0 and int(np.count_nonzero(rule)) == 3
    assert out["race"][0, 45] == 1.0
    since, code = last_race(rule, within_days=21)
    assert since[0, 47] == 2 and code[0, 47] == 3 and since[0, 29] == -1


def test_a_session_said_not_to_be_a_race_overrules_the_plan_and_the_load_rule() -> None:
    n = 60
    load = np.full((1, n), 40.0)
    rows: list[dict[str, float | str]] = [{"a": 0, "c": d, "sport": "run", "duration_s": 3600.0, "load_au": 40.0}
                                          for d in range(n)]
    big = 40.0 * RACE_CTL_MULTIPLE * 1.1 + 10.0
    for d in (40, 45, 50):
        rows[d]["load_au"], load[0, d] = big, big  # each would be a race by the load rule
    rows[50]["load_au"] = load[0, 50] = 3 * big  # above the chronic load the two big days built
    rows[40]["race_flag"] = 0.0  # "not a race": a long training day
    rows[45]["race_flag"] = 0.0
    rows.append({"a": 0, "c": 45, "sport": "run", "duration_s": 600.0, "load_au": 5.0, "race_flag": 1.0})
    planned = np.zeros((1, n), dtype=bool)
    planned[0, [30, 40]] = True
    rows[30]["race_flag"] = 0.0  # planned as a race, run as training
    out = day_signals(_sessions(rows), shape=(1, n), load_au=load, planned_race=planned,
                      race_flag=np.full((1, n), 0.0))  # unticked check-in boxes say nothing
    rule = out["race_rule"][0]
    assert rule[30] == 0 and rule[40] == 0  # the athlete's word beats the plan and the load rule
    assert rule[45] == 2  # another session of the day was marked a race: that wins
    assert rule[50] == 3  # not said: the load rule still reads it as a race


def test_sessions_outside_the_matrix_are_ignored() -> None:
    rows = [{"a": 0, "c": -1, "sport": "run", "duration_s": 3600.0, "ef": 0.02},
            {"a": 3, "c": 0, "sport": "run", "duration_s": 3600.0, "ef": 0.02}]
    out = day_signals(pd.DataFrame(rows), shape=(1, 2), load_au=np.zeros((1, 2)))
    assert np.isnan(out["ef"]).all() and not out["race"].any()
