from __future__ import annotations

import numpy as np
import pytest

from lydiard.domain.zones import hr_zone_bounds_bpm, power_zone_bounds_w, time_in_zones
from lydiard.errors import InvalidInputError


def test_zone_bounds() -> None:
    np.testing.assert_allclose(
        power_zone_bounds_w(ftp_w=200), [0, 110, 150, 180, 210, 240, 300, np.inf]
    )
    np.testing.assert_allclose(hr_zone_bounds_bpm(lthr_bpm=100), [0, 68, 83, 94, 105, np.inf])
    np.testing.assert_allclose(hr_zone_bounds_bpm(hr_max_bpm=200), [0, 120, 140, 160, 180, np.inf])
    with pytest.raises(InvalidInputError):
        hr_zone_bounds_bpm()


def test_time_in_zones_counts_seconds() -> None:
    bounds = power_zone_bounds_w(ftp_w=200)
    power = np.array([50, 111, 149.9, 250, 1000, np.nan])
    seconds = time_in_zones(power, 2.0, bounds)
    np.testing.assert_allclose(seconds, [2, 4, 0, 0, 0, 2, 2])
    assert seconds.sum() == 10  # NaN not counted
