"""Conversions of check-in scales to Lydiard's common 1-5 scale (5 = best).

Every check-in item in Lydiard (``energy``, ``mood``, ``motivation``, ``soreness``,
``sleep_quality``, ``stress``) is stored on a 1-5 scale where 5 is the best state
(fresh, great mood, eager, no soreness, slept great, relaxed). Sources use other scales:

* Hooper & Mackinnon (1995, Sports Med 20:321) ask for 1-7 ratings where **1 = best**
  ("very, very good") and 7 = worst; the Hooper index is their sum (4-28).
* PMSys (Thambawita et al. 2020, PMData) asks for 1-5 ratings, 5 = best, and stores a
  missing answer as 0.
* Many apps report 0-100 scores, 100 = best.

All conversions are linear maps of the end points, vectorised, and return float arrays
with NaN for missing values. Values outside the source scale raise
:class:`~lydiard.errors.InvalidInputError`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lydiard.errors import InvalidInputError

__all__ = [
    "FIVE_POINT_MAX",
    "FIVE_POINT_MIN",
    "five_to_hooper",
    "hooper_to_five",
    "percent_to_five",
    "pmsys_to_five",
    "readiness_to_five",
]

FIVE_POINT_MIN = 1.0  #: worst value of the common scale
FIVE_POINT_MAX = 5.0  #: best value of the common scale


def _as_float(value: ArrayLike) -> NDArray[np.float64]:
    return np.array(value, dtype=np.float64, copy=True)


def _check_range(x: NDArray[np.float64], low: float, high: float, *, field: str) -> None:
    bad = np.isfinite(x) & ((x < low) | (x > high))
    if np.any(bad):
        first = float(x[bad].flat[0])
        raise InvalidInputError(
            f"{field} value {first:g} is outside the scale [{low:g}, {high:g}]",
            field=field,
            value=first,
        )
    if np.any(np.isinf(x)):
        raise InvalidInputError(f"{field} contains an infinite value", field=field)


def hooper_to_five(value: ArrayLike) -> NDArray[np.float64]:
    """Convert Hooper 1-7 ratings (1 = best) to the 1-5 scale (5 = best).

    ``y = 5 - 4 * (x - 1) / 6``: 1 → 5, 4 → 3, 7 → 1.

    Parameters
    ----------
    value : array_like
        Hooper ratings, 1-7, 1 = "very, very good"; NaN = missing.

    Returns
    -------
    numpy.ndarray
        Float ratings on 1-5, 5 = best.

    Raises
    ------
    InvalidInputError
        When a value lies outside [1, 7].

    References
    ----------
    Hooper SL, Mackinnon LT (1995). Monitoring overtraining in athletes. Sports Med 20:321.

    Examples
    --------
    >>> hooper_to_five([1, 4, 7]).tolist()
    [5.0, 3.0, 1.0]
    """
    x = _as_float(value)
    _check_range(x, 1.0, 7.0, field="hooper")
    return FIVE_POINT_MAX - (FIVE_POINT_MAX - FIVE_POINT_MIN) * (x - 1.0) / 6.0


def five_to_hooper(value: ArrayLike) -> NDArray[np.float64]:
    """Inverse of :func:`hooper_to_five`: 1-5 (5 = best) to Hooper 1-7 (1 = best).

    Examples
    --------
    >>> five_to_hooper([5, 3, 1]).tolist()
    [1.0, 4.0, 7.0]
    """
    x = _as_float(value)
    _check_range(x, FIVE_POINT_MIN, FIVE_POINT_MAX, field="five_point")
    return 1.0 + 6.0 * (FIVE_POINT_MAX - x) / (FIVE_POINT_MAX - FIVE_POINT_MIN)


def pmsys_to_five(value: ArrayLike) -> NDArray[np.float64]:
    """Convert PMSys 1-5 ratings (5 = best, 0 = not answered) to the 1-5 scale.

    PMSys already uses 5 = best; the only change is that 0 ("missing" in the PMData
    export) becomes NaN.

    Raises
    ------
    InvalidInputError
        When a value is neither 0 nor within [1, 5].

    References
    ----------
    Thambawita V et al. (2020). PMData: a sports logging dataset. ACM MMSys.

    Examples
    --------
    >>> pmsys_to_five([0, 1, 3, 5]).tolist()
    [nan, 1.0, 3.0, 5.0]
    """
    x = _as_float(value)
    x[x == 0.0] = np.nan
    _check_range(x, FIVE_POINT_MIN, FIVE_POINT_MAX, field="pmsys")
    return x


def percent_to_five(value: ArrayLike) -> NDArray[np.float64]:
    """Convert an app score 0-100 (100 = best) to the 1-5 scale: ``y = 1 + 4 x / 100``.

    Examples
    --------
    >>> percent_to_five([0, 50, 100]).tolist()
    [1.0, 3.0, 5.0]
    """
    x = _as_float(value)
    _check_range(x, 0.0, 100.0, field="percent")
    return FIVE_POINT_MIN + (FIVE_POINT_MAX - FIVE_POINT_MIN) * x / 100.0


def readiness_to_five(value: ArrayLike) -> NDArray[np.float64]:
    """Convert a readiness score 0-10 (10 = ready) to the 1-5 scale: ``y = 1 + 4 x / 10``.

    Used to put ``readiness`` next to the other check-in items in the wellness composite.

    Examples
    --------
    >>> readiness_to_five([0, 5, 10]).tolist()
    [1.0, 3.0, 5.0]
    """
    x = _as_float(value)
    _check_range(x, 0.0, 10.0, field="readiness")
    return FIVE_POINT_MIN + (FIVE_POINT_MAX - FIVE_POINT_MIN) * x / 10.0
