"""Kernels of the baselines: rolling statistics, runs, config validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lydiard.domain.recovery.baselines import (
    BaselineConfig,
    rolling_count_true,
    rolling_stats,
    run_length,
)
from lydiard.errors import InvalidInputError

values = arrays(
    np.float64,
    st.integers(min_value=1, max_value=80),
    elements=st.one_of(st.floats(3.0, 5.0), st.just(np.nan)),
)


@settings(max_examples=60, deadline=None)
@given(values, st.integers(2, 30), st.integers(0, 10), st.integers(1, 5))
def test_rolling_matches_pandas(x: np.ndarray, window: int, lag: int, min_count: int) -> None:
    min_count = min(min_count, window)
    res = rolling_stats(x[np.newaxis, :], window_days=window, lag_days=lag, min_count=min_count)
    s = pd.Series(x).rolling(window, min_periods=min_count)
    exp_mean = s.mean().shift(lag).to_numpy()
    exp_sd = pd.Series(x).rolling(window, min_periods=max(2, min_count)).std().shift(lag).to_numpy()
    np.testing.assert_allclose(res.mean[0], exp_mean, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(res.sd[0], exp_sd, atol=1e-7, equal_nan=True)


@settings(max_examples=60, deadline=None)
@given(values, st.floats(0.1, 2.0))
def test_band_contains_baseline_mean(x: np.ndarray, width_sd: float) -> None:
    res = rolling_stats(x[np.newaxis, :], window_days=60, lag_days=7, min_count=2)
    low, high = res.mean - width_sd * res.sd, res.mean + width_sd * res.sd
    ok = np.isfinite(low)
    assert np.all(low[ok] <= res.mean[ok] + 1e-12)
    assert np.all(res.mean[ok] <= high[ok] + 1e-12)
    # NaN in, NaN out: no value where the window held fewer than min_count readings
    assert np.all(np.isnan(res.mean[res.count < 2]))


@settings(max_examples=60, deadline=None)
@given(values)
def test_rolling_is_causal(x: np.ndarray) -> None:
    cut = len(x) // 2
    full = rolling_stats(x[np.newaxis, :], window_days=7).mean[0, :cut]
    part = rolling_stats(x[np.newaxis, :cut], window_days=7).mean[0]
    np.testing.assert_array_equal(full, part)


def test_run_length_bridges_short_gaps_only() -> None:
    cond = np.array([[True, True, False, True, False, False, True, True]])
    known = np.array([[1, 1, 1, 1, 0, 0, 1, 0]], dtype=bool)
    assert run_length(cond).tolist() == [[1, 2, 0, 1, 0, 0, 1, 2]]
    assert run_length(cond, known, gap_days=2).tolist() == [[1, 2, 0, 1, 2, 3, 4, 5]]
    assert run_length(cond, known, gap_days=1).tolist() == [[1, 2, 0, 1, 2, 0, 1, 2]]


@given(arrays(np.bool_, st.integers(1, 60)), st.integers(1, 10))
def test_rolling_count_true_matches_naive(b: np.ndarray, window: int) -> None:
    out = rolling_count_true(b[np.newaxis, :], window_days=window)[0]
    naive = [int(b[max(0, i - window + 1) : i + 1].sum()) for i in range(len(b))]
    assert out.tolist() == naive


def test_config_rejects_bad_values() -> None:
    with pytest.raises(InvalidInputError):
        BaselineConfig(window_days=0)
    with pytest.raises(InvalidInputError):
        BaselineConfig(min_valid_days=8)
    with pytest.raises(InvalidInputError):
        BaselineConfig(hrv_kind="noon")
    assert BaselineConfig().hrv_band_sd == 0.5


def test_config_from_settings_is_the_one_conversion_of_stored_settings() -> None:
    import pytest as _pytest

    from lydiard.domain.recovery.baselines import BaselineConfig, config_from_settings, other_kind
    from lydiard.errors import InvalidInputError as _Invalid

    assert config_from_settings(None) == config_from_settings({}) == BaselineConfig()
    assert config_from_settings({"window_days": 7, "hrv_baseline_days": 60}) == BaselineConfig(), "explicit defaults"
    own = config_from_settings({"hrv_baseline_days": 30, "hrv_kind": "morning"})
    assert own == BaselineConfig(hrv_baseline_days=30, hrv_kind="morning")
    assert len({own, config_from_settings({"hrv_kind": "morning", "hrv_baseline_days": 30})}) == 1, "groupable"
    for bad in ({"bogus_days": 3}, {"hrv_baseline_days": "30"}, {"hrv_baseline_days": 0}, {"hrv_kind": "evening"}):
        with _pytest.raises(_Invalid):
            config_from_settings(bad)
    kinds = np.array(["morning", None, "overnight"], dtype=object)
    assert other_kind(kinds, own).tolist() == [False, True, True]
    assert not other_kind(kinds, BaselineConfig()).any()
