from __future__ import annotations

import numpy as np
import pytest

from lydiard.domain.load.running import (
    grade_adjusted_speed,
    minetti_cost_j_per_kg_m,
    normalized_graded_speed,
    running_tss,
    smoothed_gradient,
)
from lydiard.errors import InvalidInputError


def test_minetti_cost_values() -> None:
    cost = minetti_cost_j_per_kg_m([0.0, 0.1, -0.1, 0.45, 0.9])
    assert cost[0] == pytest.approx(3.6)
    i = 0.1
    assert cost[1] == pytest.approx(
        155.4 * i**5 - 30.4 * i**4 - 43.3 * i**3 + 46.3 * i**2 + 19.5 * i + 3.6
    )
    assert cost[2] < cost[0] < cost[1]
    assert cost[4] == cost[3]  # clipped to ±0.45


def test_flat_gas_is_speed_and_uphill_is_faster() -> None:
    distance = np.arange(0, 2000, 3.0)
    speed = np.full(distance.size, 3.0)
    flat = grade_adjusted_speed(
        speed_mps=speed, altitude_m=np.zeros(distance.size), distance_m=distance
    )
    np.testing.assert_allclose(flat, speed)
    uphill = grade_adjusted_speed(speed_mps=speed, altitude_m=0.08 * distance, distance_m=distance)
    gradient = smoothed_gradient(altitude_m=0.08 * distance, distance_m=distance)
    np.testing.assert_allclose(gradient[20:-20], 0.08)
    assert np.all(uphill[20:-20] > speed[20:-20])
    steep = smoothed_gradient(altitude_m=2.0 * distance, distance_m=distance)
    assert steep.max() == pytest.approx(0.45)


def test_rtss_and_ngs() -> None:
    assert normalized_graded_speed(np.full(1800, 4.0)) == pytest.approx(4.0)
    assert running_tss(duration_s=3600, ngs_mps=4.0, threshold_speed_mps=4.0) == pytest.approx(100)
    with pytest.raises(InvalidInputError):
        running_tss(duration_s=3600, ngs_mps=4.0, threshold_speed_mps=0.0)
