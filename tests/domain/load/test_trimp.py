from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.load.trimp import hr_tss, trimp_banister, trimp_edwards, trimp_lucia
from lydiard.errors import InvalidInputError


def test_banister_numeric_checks_of_science_md() -> None:
    first = trimp_banister(hr_bpm=155, duration_min=60, hr_rest_bpm=55, hr_max_bpm=190, sex="male")
    second = trimp_banister(hr_bpm=150, duration_min=45, hr_rest_bpm=60, hr_max_bpm=190, sex="male")
    assert round(first, 2) == 117.94
    assert round(second, 2) == 75.33
    # the female weighting does not reproduce 75.33: the check uses the male weighting
    female = trimp_banister(
        hr_bpm=150, duration_min=45, hr_rest_bpm=60, hr_max_bpm=190, sex="female"
    )
    assert round(female, 2) == 85.14


def test_per_sample_equals_average_for_constant_hr() -> None:
    per_sample = trimp_banister(
        hr_bpm=np.full(3600, 155.0), hr_rest_bpm=55, hr_max_bpm=190, sex="male"
    )
    two_second = trimp_banister(
        hr_bpm=np.full(1800, 155.0), dt_s=2.0, hr_rest_bpm=55, hr_max_bpm=190, sex="male"
    )
    assert per_sample == pytest.approx(117.94, abs=0.005)
    assert two_second == pytest.approx(per_sample, rel=1e-12)


def test_intervals_weigh_more_than_their_average() -> None:
    hr = np.r_[np.full(1800, 130.0), np.full(1800, 180.0)]
    integrated = trimp_banister(hr_bpm=hr, hr_rest_bpm=50, hr_max_bpm=190, sex="male")
    average = trimp_banister(
        hr_bpm=float(hr.mean()), duration_min=60, hr_rest_bpm=50, hr_max_bpm=190, sex="male"
    )
    assert integrated > average  # the exponential weighting is convex


def test_nan_samples_contribute_nothing() -> None:
    hr = np.array([150.0, np.nan, 150.0])
    assert trimp_banister(hr_bpm=hr, hr_rest_bpm=50, hr_max_bpm=190) == pytest.approx(
        trimp_banister(hr_bpm=[150.0, 150.0], hr_rest_bpm=50, hr_max_bpm=190)
    )


@pytest.mark.parametrize("sex", ["male", "female"])
def test_hr_tss_one_hour_at_lthr_is_100(sex: str) -> None:
    value = hr_tss(
        hr_bpm=np.full(3600, 168.0), hr_rest_bpm=50, hr_max_bpm=192, lthr_bpm=168, sex=sex
    )
    assert value == pytest.approx(100.0, rel=1e-12)


def test_edwards_and_lucia_zones() -> None:
    hr = np.r_[np.full(600, 90.0), np.full(600, 110.0), np.full(600, 175.0), np.full(60, 205.0)]
    # HRmax 200: 45 % → 0, 55 % → 1, 87.5 % → 4, 102.5 % → 5
    assert trimp_edwards(hr_bpm=hr, hr_max_bpm=200) == pytest.approx(10 * 1 + 10 * 4 + 1 * 5)
    # VT1 140, VT2 170: 20 min ×1, 10 min ×3, 1 min ×3
    assert trimp_lucia(hr_bpm=hr, vt1_hr_bpm=140, vt2_hr_bpm=170) == pytest.approx(20 + 30 + 3)


def test_invalid_inputs_raise() -> None:
    with pytest.raises(InvalidInputError):
        trimp_banister(hr_bpm=150, duration_min=60, hr_rest_bpm=60, hr_max_bpm=190, sex="x")
    with pytest.raises(InvalidInputError):
        trimp_banister(hr_bpm=150, duration_min=60, hr_rest_bpm=190, hr_max_bpm=60)
    with pytest.raises(InvalidInputError):
        trimp_lucia(hr_bpm=[150.0], vt1_hr_bpm=170, vt2_hr_bpm=150)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(30, 230), min_size=1, max_size=200))
def test_trimp_is_nonnegative_and_bounded(hr: list[float]) -> None:
    value = trimp_banister(hr_bpm=hr, hr_rest_bpm=50, hr_max_bpm=190, sex="female")
    # x ≤ 1 ⇒ per minute at most 0.86·e^1.67
    assert 0.0 <= value <= len(hr) / 60 * 0.86 * np.exp(1.67) + 1e-9
