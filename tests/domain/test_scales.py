"""Scale conversions to the common 1-5 scale (5 = best)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lydiard.domain.scales import (
    five_to_hooper,
    hooper_to_five,
    percent_to_five,
    pmsys_to_five,
    readiness_to_five,
)
from lydiard.errors import InvalidInputError


def test_hooper_end_points_are_reversed() -> None:
    assert hooper_to_five([1, 4, 7]).tolist() == [5.0, 3.0, 1.0]


def test_pmsys_zero_is_missing() -> None:
    out = pmsys_to_five([0, 1, 5])
    assert np.isnan(out[0]) and out[1:].tolist() == [1.0, 5.0]


def test_percent_and_readiness() -> None:
    assert percent_to_five([0, 25, 100]).tolist() == [1.0, 2.0, 5.0]
    assert readiness_to_five([0, 10]).tolist() == [1.0, 5.0]


def test_nan_passes_through_and_input_not_mutated() -> None:
    x = np.array([1.0, np.nan, 7.0])
    out = hooper_to_five(x)
    assert np.isnan(out[1])
    assert x.tolist()[0] == 1.0 and x[2] == 7.0


@pytest.mark.parametrize(
    ("fn", "bad"),
    [(hooper_to_five, 0.0), (hooper_to_five, 8.0), (pmsys_to_five, 6.0), (percent_to_five, 101.0),
     (readiness_to_five, -1.0), (hooper_to_five, float("inf"))],
)
def test_out_of_range_raises(fn: object, bad: float) -> None:
    with pytest.raises(InvalidInputError) as info:
        fn([bad])  # type: ignore[operator]
    assert info.value.field is not None


@given(st.floats(min_value=1.0, max_value=7.0))
def test_hooper_round_trip_and_monotone(x: float) -> None:
    y = hooper_to_five([x, min(x + 0.5, 7.0)])
    assert 1.0 <= y[0] <= 5.0
    assert y[1] <= y[0]  # a worse Hooper rating is a lower 1-5 score
    assert five_to_hooper(y[:1])[0] == pytest.approx(x)
