"""forecast / compare_forecasts / peak_form_day."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from lydiard.domain.load.banister import BanisterModel, banister_component
from lydiard.domain.plan.forecast import compare_forecasts, forecast, peak_form_day
from lydiard.domain.plan.generate import generate_plan
from lydiard.domain.plan.models import PlannedSession
from lydiard.errors import InsufficientDataError, InvalidInputError

RACE = date(2025, 6, 1)


def _plan() -> list[PlannedSession]:
    return generate_plan(goal_day=RACE, goal_sport="run", start_day=date(2025, 3, 3),
                         current_ctl=50, weekly_hours=8, include_post_race=False)


def _history() -> pd.Series:
    days = pd.date_range("2025-01-06", "2025-03-02", name="day")
    return pd.Series(np.tile([0, 60, 70, 50, 0, 60, 110], 8).astype(float), index=days)


def test_step_and_alignment() -> None:
    plan = [PlannedSession(day=date(2025, 1, 1) + timedelta(days=i), sport="ride",
                           session_type="easy", duration_s=3600, expected_load_au=100)
            for i in range(42)]
    f = forecast(pd.Series(dtype=float), plan)
    assert f["ctl"].iloc[-1] == pytest.approx(63.21, abs=0.01)
    assert f["atl"].iloc[-1] == pytest.approx(99.75, abs=0.01)
    assert f["tsb"].iloc[5] == pytest.approx(f["ctl"].iloc[4] - f["atl"].iloc[4])
    tp = forecast(pd.Series(dtype=float), plan, convention="tp")
    assert tp["ctl"].iloc[-1] == pytest.approx(63.65, abs=0.01)


def test_forecast_with_history_and_model() -> None:
    hist = _history()
    plan = _plan()
    f = forecast(hist, plan)
    assert f.index[0] == pd.Timestamp("2025-03-03") and f.index[-1] == pd.Timestamp(RACE)
    assert f.loc["2025-03-03", "ctl"] > 30  # seeded by history, not from zero
    w = pd.concat([hist, f["load_au"]])
    truth = 250 + 0.1 * banister_component(w.to_numpy(), tau_d=42) - 0.2 * banister_component(
        w.to_numpy(), tau_d=7)
    tests = pd.Series(truth[5:len(hist):4] + np.linspace(-0.5, 0.5, len(truth[5:len(hist):4])),
                      index=hist.index[5::4])
    model = BanisterModel().fit(hist, tests)
    fm = forecast(hist, plan, model=model)
    assert {"performance", "performance_lower", "performance_upper"} <= set(fm.columns)
    assert (fm["performance_lower"] < fm["performance"]).all()
    assert (fm["performance"] < fm["performance_upper"]).all()
    taper_start = RACE - timedelta(days=14)
    peak = peak_form_day(fm, start=taper_start, end=RACE)
    assert taper_start <= peak <= RACE
    assert peak_form_day(f, start=taper_start, end=RACE, by="tsb") >= RACE - timedelta(days=3)


def test_compare_and_errors() -> None:
    hist = _history()
    plan = _plan()
    # halve the load of the last 10 days: ATL drops faster than CTL → fresher on race day
    lighter = [s.adapted(expected_load_au=s.expected_load_au * 0.5)
               if s.day >= RACE - timedelta(days=10) else s for s in plan]
    a, b = forecast(hist, plan), forecast(hist, lighter)
    cmp = compare_forecasts(a, b)
    assert (cmp["ctl_delta"] <= 1e-9).all() and (cmp["load_au_delta"] <= 0).all()
    assert cmp["tsb_delta"].iloc[-1] > 0
    with pytest.raises(InsufficientDataError):
        forecast(hist, [])
    with pytest.raises(InvalidInputError):
        peak_form_day(a, by="performance")
    with pytest.raises(InsufficientDataError):
        peak_form_day(a, start=date(2030, 1, 1))
    with pytest.raises(InvalidInputError):
        compare_forecasts(a, b.iloc[0:0])
