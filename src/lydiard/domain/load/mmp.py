"""Mean-maximal curves (power, speed, heart rate) by cumulative sums."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from lydiard.domain._streams import (
    DEFAULT_MAX_GAP_S,
    FloatArray,
    as_float_array,
    durations_from,
    elapsed_s,
    grid_1hz,
)
from lydiard.errors import InvalidInputError

#: Default durations (s) of the curve.
DEFAULT_DURATIONS_S: tuple[int, ...] = (
    1,
    5,
    10,
    30,
    60,
    120,
    300,
    600,
    1200,
    1800,
    3600,
    5400,
    7200,
    10800,
)


def mean_maximal_1hz(
    values_1hz: FloatArray, *, durations_s: Sequence[int] = DEFAULT_DURATIONS_S
) -> FloatArray:
    """Best mean over each window length of a regular 1 Hz series (NaN = invalid second).

    A window containing any NaN is not eligible. For each duration ``d`` the window sums
    are ``cs[d:] − cs[:-d]`` of a cumulative sum (O(n) per duration); NaN counts are
    handled by a second cumulative sum. NaN where no eligible window exists.
    """
    x = values_1hz
    n = x.size
    invalid = ~np.isfinite(x)
    shift = float(np.mean(x[~invalid])) if (~invalid).any() else 0.0
    cs = np.concatenate(([0.0], np.cumsum(np.where(invalid, 0.0, x - shift))))
    bad = np.concatenate(([0], np.cumsum(invalid, dtype=np.int64)))
    best = np.full(len(durations_s), np.nan)
    for k, duration in enumerate(durations_s):  # a handful of durations, each O(n) vectorised
        d = int(duration)
        if d < 1:
            raise InvalidInputError("durations_s must be >= 1", field="durations_s", value=duration)
        if d > n:
            continue
        sums = cs[d:] - cs[:-d]
        ok = (bad[d:] - bad[:-d]) == 0
        if ok.any():
            best[k] = float(np.max(sums[ok])) / d + shift
    return best


def mean_maximal(
    values: ArrayLike,
    *,
    durations_s: Sequence[int] = DEFAULT_DURATIONS_S,
    time: Any = None,
    dt_s: ArrayLike | float | None = 1.0,
    nan_as_zero: bool = True,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> pd.Series:
    """Mean-maximal curve: the best average of ``values`` over each duration.

    The samples are put on a 1 Hz *elapsed-time* grid (zero-order hold, see
    :mod:`lydiard.domain._streams`); unlike NP, pauses are **not** closed up, so a
    window never joins efforts on either side of a stop:

    * power (``nan_as_zero=True``, the default): missing values and pauses count as 0 W,
      as GoldenCheetah does; a window may span a stop, at 0 W.
    * speed and heart rate (``nan_as_zero=False``): missing values and pauses are
      invalid; only windows of continuous, complete data are eligible.

    Parameters
    ----------
    values : array-like
        Samples (W, m/s or bpm).
    durations_s : sequence of int
        Window lengths (s).
    time, dt_s : optional
        Sample times (datetime64 or seconds), or per-sample durations (s); 1 Hz by default.
    nan_as_zero : bool
        Treat missing samples and pauses as 0 (power) instead of invalid (speed, HR).
    max_gap_s : float
        Longest interval (s) still treated as continuous recording.

    Returns
    -------
    pandas.Series
        Best mean per duration, indexed by ``duration_s``; NaN when the data are shorter
        than the duration (or have no eligible window).

    References
    ----------
    GoldenCheetah ``src/FileIO/RideFileCache.cpp`` (mean-maximal cache).
    """
    x = as_float_array(values, field="values")
    hold = durations_from(x.size, dt_s=dt_s, time=time, max_gap_s=max_gap_s)
    if time is not None:
        time_s = elapsed_s(time)
    else:
        time_s = np.concatenate(([0.0], np.cumsum(hold)[:-1])) if x.size else hold
    grid = grid_1hz(
        time_s,
        max_gap_s=max_gap_s,
        max_gap_kept_s=float(max(durations_s, default=1)) + 1.0,
        hold_s=hold,
    )
    series = grid.take(x)
    if nan_as_zero:
        series = np.nan_to_num(series, nan=0.0)
    curve = mean_maximal_1hz(series, durations_s=durations_s)
    return pd.Series(
        curve, index=pd.Index([int(d) for d in durations_s], name="duration_s"), dtype=np.float64
    )
