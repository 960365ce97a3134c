"""The second simulator (reserve-depletion model): contract, determinism, its physiology."""

from __future__ import annotations

import numpy as np
import pytest

from lydiard.domain.recovery.stage import INPUT_COLUMNS
from lydiard.domain.simulate_alt import (
    ALT_SCENARIOS,
    O_DEEP,
    simulate_alt_athlete,
    simulate_alt_cohort,
)
from lydiard.errors import InvalidInputError


def test_cohort_is_deterministic_and_feeds_the_engine() -> None:
    a = simulate_alt_cohort(3, 12, 120, hrv_missing_frac=0.3)
    b = simulate_alt_cohort(3, 12, 120, hrv_missing_frac=0.3)
    assert set(a) <= set(INPUT_COLUMNS)
    for k in a:
        assert a[k].shape == (12, 120)
        np.testing.assert_array_equal(a[k], b[k])


def test_hrv_rises_in_overreaching_for_saturators() -> None:
    sc = ["stalled"] * 120
    c = simulate_alt_cohort(5, len(sc), 300, scenarios=sc, truth=True)
    sat = c["truth_hrv_saturating"][:, 0] > 0
    over = c["truth_maladaptation"] >= O_DEEP
    ln = np.log(c["rmssd_ms"])
    base = np.nanmean(ln[:, 30:80], axis=1)
    rise = np.array([np.nanmean(ln[i, over[i]]) - base[i] if over[i].any() else np.nan
                     for i in range(len(sc))])
    assert sat.any() and (~sat).any()
    assert np.nanmedian(rise[sat]) > 0.03  # parasympathetic saturation: HRV up
    assert np.nanmedian(rise[~sat]) < np.nanmedian(rise[sat])


def test_rhr_only_has_no_hrv_and_working_harder_only_session_markers() -> None:
    sim = simulate_alt_athlete(2, 300, "rhr_only")
    assert sim.days["rmssd_ms"].isna().all()
    wh = simulate_alt_athlete(2, 300, "working_harder")
    assert wh.block_start is not None
    assert wh.days["hr_external_load_ratio"].notna().sum() > 50


def test_unknown_scenario_is_refused() -> None:
    with pytest.raises(InvalidInputError):
        simulate_alt_cohort(1, 1, 10, scenarios=["nope"])
    assert "stalled" in ALT_SCENARIOS
