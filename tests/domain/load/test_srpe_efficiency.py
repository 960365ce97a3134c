from __future__ import annotations

import numpy as np
import pytest

from lydiard.domain.load.efficiency import aerobic_decoupling, efficiency_factor
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS, srpe_load, srpe_to_tss
from lydiard.errors import InsufficientDataError, InvalidInputError


def test_srpe_load_and_validation() -> None:
    assert srpe_load(rpe=7, duration_min=60) == 420.0
    np.testing.assert_allclose(srpe_load(rpe=[2, 5], duration_min=[30, 60]), [60, 300])
    for bad in (-1, 11, float("nan")):
        with pytest.raises(InvalidInputError) as info:
            srpe_load(rpe=bad, duration_min=60)
        assert info.value.field == "rpe"
    with pytest.raises(InvalidInputError):
        srpe_load(rpe=5, duration_min=-1)


def test_srpe_tss_scale_anchor() -> None:
    # one hour rated 7 ("very hard", ~threshold) = 100 on the TSS scale
    assert srpe_to_tss(srpe_load(rpe=7, duration_min=60)) == pytest.approx(100.0)
    assert pytest.approx(4.2) == SRPE_AU_PER_TSS


def test_decoupling_formula() -> None:
    power = np.full(3600, 200.0)
    hr = np.r_[np.full(1800, 140.0), np.full(1800, 147.0)]
    r1, r2 = 200 / 140, 200 / 147
    assert aerobic_decoupling(power, hr_bpm=hr) == pytest.approx(100 * (r1 - r2) / r1)
    # samples without HR are left out before splitting
    hr_gappy = np.r_[np.zeros(100), hr]
    assert aerobic_decoupling(np.r_[np.full(100, 999.0), power], hr_bpm=hr_gappy) == pytest.approx(
        100 * (r1 - r2) / r1
    )
    with pytest.raises(InsufficientDataError):
        aerobic_decoupling([1.0], hr_bpm=[0.0])


def test_efficiency_factor() -> None:
    assert efficiency_factor(210.0, avg_hr_bpm=140.0) == pytest.approx(1.5)
    with pytest.raises(InvalidInputError):
        efficiency_factor(210.0, avg_hr_bpm=0.0)
