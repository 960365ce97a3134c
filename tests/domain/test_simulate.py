"""The simulator: deterministic, realistic noise, scenarios with the expected shape."""

from __future__ import annotations

import numpy as np
import pytest

from lydiard.domain.simulate import SCENARIOS, simulate_athlete, simulate_cohort
from lydiard.errors import InvalidInputError


def test_seeded_and_deterministic() -> None:
    a = simulate_athlete(7, 90, "normal")
    b = simulate_athlete(7, 90, "normal")
    c = simulate_athlete(8, 90, "normal")
    assert a.days.equals(b.days) and a.truth.equals(b.truth)
    assert not a.days.equals(c.days)


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_runs(scenario: str) -> None:
    sim = simulate_athlete(1, 365, scenario, hrv_missing_frac=0.3)
    assert len(sim.days) == 365 and len(sim.truth) == 365
    assert sim.days["day"].is_monotonic_increasing
    items = sim.days[["energy", "mood", "soreness"]].stack().dropna()
    assert items.between(1, 5).all()
    assert (sim.days["load_au"] >= 0).all()


def test_hrv_noise_is_realistic() -> None:
    sim = simulate_athlete(3, 200, "normal")
    ln = np.log(sim.days["rmssd_ms"].to_numpy())
    sd = np.nanstd(np.diff(ln)) / np.sqrt(2)  # day-to-day SD from successive differences
    assert 0.03 <= sd <= 0.13


def test_overreaching_has_a_performance_low_point_in_or_after_the_block() -> None:
    sim = simulate_athlete(5, 200, "overreaching")
    assert sim.block_start is not None and sim.low_point is not None
    assert sim.block_start <= sim.low_point
    perf = sim.truth.set_index("day")["performance"]
    pre = perf.loc[: sim.block_start].iloc[-30:].mean()
    assert perf.loc[sim.low_point] < pre - 2.0
    assert sim.truth.loc[sim.truth["in_block"], "fatigue"].mean() > 1.2


def test_illness_scenario_flags_and_raises_rhr() -> None:
    sim = simulate_athlete(2, 200, "illness")
    ill = sim.days["illness"].to_numpy()
    assert ill.sum() >= 3
    rhr = sim.days["rhr_bpm"]
    assert rhr[ill].mean() > rhr[~ill].mean() + 2.0
    assert sim.days.loc[ill, "load_au"].mean() < sim.days.loc[~ill, "load_au"].mean()


def test_missing_fraction_is_respected() -> None:
    sim = simulate_athlete(4, 400, "normal", hrv_missing_frac=0.3)
    share = sim.days["rmssd_ms"].isna().mean()
    assert 0.22 <= share <= 0.38


def test_cohort_shapes_and_truth() -> None:
    c = simulate_cohort(1, 50, 100, hrv_missing_frac=0.3, truth=True)
    assert c["load_au"].shape == (50, 100)
    assert c["truth_performance"].shape == (50, 100)
    assert "truth_stage" in c
    again = simulate_cohort(1, 50, 100, hrv_missing_frac=0.3)
    np.testing.assert_array_equal(c["rmssd_ms"], again["rmssd_ms"])


def test_bad_arguments_raise() -> None:
    with pytest.raises(InvalidInputError):
        simulate_athlete(1, 10, "marathon")
    with pytest.raises(InvalidInputError):
        simulate_athlete(1, 0, "normal")
    with pytest.raises(InvalidInputError):
        simulate_athlete(1, 10, "normal", hrv_missing_frac=1.5)
    with pytest.raises(InvalidInputError):
        simulate_cohort(1, 2, 10, scenarios=["normal"])
