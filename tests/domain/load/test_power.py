from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.load.power import intensity_factor, normalized_power, power_tss
from lydiard.errors import InvalidInputError


def test_np_of_constant_power_is_that_power() -> None:
    assert normalized_power(np.full(600, 237.0)) == pytest.approx(237.0, rel=1e-12)


def test_np_matches_a_pandas_rolling_computation() -> None:
    rng = np.random.default_rng(3)
    power = np.clip(rng.normal(220, 80, 5000), 0, None)
    expected = (pd.Series(power).rolling(30).mean().dropna() ** 4).mean() ** 0.25
    assert normalized_power(power) == pytest.approx(expected, rel=1e-12)


def test_irregular_samples_are_held_to_1hz() -> None:
    rng = np.random.default_rng(4)
    power = rng.uniform(100, 400, 500)
    two_second = normalized_power(power, dt_s=2.0)
    time_s = np.arange(500) * 2.0
    assert two_second == pytest.approx(normalized_power(np.repeat(power, 2)), rel=1e-12)
    assert normalized_power(power, time=time_s) == pytest.approx(two_second, rel=1e-12)


def test_pauses_are_removed_not_zero_filled() -> None:
    time_s = np.r_[np.arange(600.0), 900 + np.arange(600.0)]  # a 5-min auto-pause
    power = np.full(1200, 200.0)
    assert normalized_power(power, time=time_s) == pytest.approx(200.0)


def test_short_series_is_nan_and_missing_power_is_zero() -> None:
    assert np.isnan(normalized_power(np.full(29, 200.0)))
    assert normalized_power([np.nan] * 60) == 0.0
    with pytest.raises(InvalidInputError):
        normalized_power([-5.0] * 60)


def test_tss_one_hour_at_ftp_is_100() -> None:
    assert power_tss(duration_s=3600, np_w=250, ftp_w=250) == pytest.approx(100.0)
    assert power_tss(duration_s=7200, np_w=200, ftp_w=250) == pytest.approx(2 * 0.8**2 * 100)
    assert intensity_factor(np_w=200, ftp_w=250) == pytest.approx(0.8)
    with pytest.raises(InvalidInputError):
        power_tss(duration_s=3600, np_w=250, ftp_w=0)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 2000), min_size=30, max_size=400))
def test_np_between_mean_of_rolling_and_max(power: list[float]) -> None:
    values = np.array(power)
    np_w = normalized_power(values)
    rolled = pd.Series(values).rolling(30).mean().dropna()
    assert rolled.mean() - 1e-6 <= np_w <= values.max() + 1e-6
