from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.load.mmp import mean_maximal


def _brute(values: np.ndarray, d: int) -> float:
    best = -np.inf
    for i in range(values.size - d + 1):
        window = values[i : i + d]
        if np.all(np.isfinite(window)):
            best = max(best, float(window.mean()))
    return best if np.isfinite(best) else float("nan")


@settings(max_examples=40, deadline=None)
@given(st.lists(st.one_of(st.floats(0, 1500), st.just(float("nan"))), min_size=1, max_size=120))
def test_matches_brute_force(values: list[float]) -> None:
    x = np.array(values)
    durations = (1, 5, 10, 30, 60)
    power = mean_maximal(x, durations_s=durations)
    speed = mean_maximal(x, durations_s=durations, nan_as_zero=False)
    for d in durations:
        assert power[d] == pytest.approx(_brute(np.nan_to_num(x), d), rel=1e-9, nan_ok=True)
        assert speed[d] == pytest.approx(_brute(x, d), rel=1e-9, nan_ok=True)


def test_curve_is_non_increasing_and_gaps() -> None:
    rng = np.random.default_rng(5)
    power = rng.uniform(0, 500, 4000)
    curve = mean_maximal(power)
    finite = curve.dropna().to_numpy()
    assert np.all(np.diff(finite) <= 1e-9)
    assert curve.index.name == "duration_s"
    assert np.isnan(curve[5400])
    # a 10-min pause: power counts it as 0 W, heart rate excludes windows across it
    time_s = np.r_[np.arange(300.0), 900 + np.arange(300.0)]
    hr = np.full(600, 150.0)
    assert np.isnan(mean_maximal(hr, time=time_s, nan_as_zero=False)[600])
    assert mean_maximal(np.full(600, 300.0), time=time_s)[600] == pytest.approx(150.0, abs=1.0)
