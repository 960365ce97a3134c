"""Sample-stream helpers shared by the load kernels: validation, durations, 1 Hz grids.

Every per-sample metric in :mod:`lydiard.domain.load` works on a regular 1 Hz series.
Recorded files are irregular (smart recording, dropped samples, auto-pause), so streams
are put on a 1 Hz grid first with a *zero-order hold*: each recorded value stands for the
time until the next sample, as the recording device itself assumes, but for at most
``max_gap_s`` seconds. A longer interval is a gap (auto-pause, lost signal) and the value
is held only for the typical sampling interval (the median interval, capped at
``max_gap_s``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lydiard.errors import InvalidInputError

FloatArray = NDArray[np.float64]

#: Longest interval (s) between two samples that is still continuous recording.
DEFAULT_MAX_GAP_S: float = 10.0


def as_float_array(values: Any, *, field: str) -> FloatArray:
    """Return ``values`` as a new 1-D float64 array (never a view of the input)."""
    try:
        if isinstance(values, pd.Series | pd.Index):
            array = values.to_numpy(dtype=np.float64, na_value=np.nan, copy=True)
        else:
            array = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{field} must be numeric", field=field) from exc
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise InvalidInputError(f"{field} must be one-dimensional", field=field, ndim=array.ndim)
    return array


def elapsed_s(time: ArrayLike | pd.Series | pd.DatetimeIndex | pd.arrays.DatetimeArray) -> FloatArray:
    """Seconds since the first sample, from datetimes or from numbers in seconds.

    Raises
    ------
    InvalidInputError
        If the times are not finite or go backwards.
    """
    if isinstance(time, pd.arrays.DatetimeArray):  # a column of a frame (frame_arrays)
        stamps_ns: NDArray[np.int64] = time.as_unit("ns").asi8  # type: ignore[attr-defined]  # pandas-stubs lack it
        if stamps_ns.size == 0:
            return np.zeros(0, dtype=np.float64)
        if (stamps_ns == np.iinfo(np.int64).min).any():
            raise InvalidInputError("time must not contain missing values", field="time")
        nanos = stamps_ns.astype(np.float64)
        seconds: FloatArray = (nanos - nanos[0]) / 1e9
    elif isinstance(time, pd.Series | pd.DatetimeIndex) or (
        isinstance(time, np.ndarray) and np.issubdtype(time.dtype, np.datetime64)
    ):
        stamps = pd.DatetimeIndex(time)
        if len(stamps) == 0:
            return np.zeros(0, dtype=np.float64)
        if stamps.hasnans:
            raise InvalidInputError("time must not contain missing values", field="time")
        nanos = stamps.as_unit("ns").asi8.astype(np.float64)
        seconds = (nanos - nanos[0]) / 1e9
    else:
        seconds = as_float_array(time, field="time")
        if seconds.size:
            seconds = seconds - seconds[0]
    if not np.all(np.isfinite(seconds)):
        raise InvalidInputError("time must be finite", field="time")
    if seconds.size > 1 and np.any(np.diff(seconds) < 0):
        raise InvalidInputError("time must not go backwards", field="time")
    return seconds


def hold_durations_s(time_s: FloatArray, *, max_gap_s: float = DEFAULT_MAX_GAP_S) -> FloatArray:
    """Seconds each sample stands for (zero-order hold), gaps excluded.

    ``hold_i = t[i+1] - t[i]`` when that is at most ``max_gap_s``; otherwise (a gap, and
    for the last sample) the typical interval: the median of the continuous intervals,
    capped at ``max_gap_s`` (1 s when there is none).
    """
    n = time_s.size
    if n == 0:
        return np.zeros(0, dtype=np.float64)
    intervals = np.diff(time_s)
    continuous = intervals[(intervals > 0) & (intervals <= max_gap_s)]
    typical = float(np.median(continuous)) if continuous.size else 1.0
    typical = min(typical, max_gap_s)
    hold = np.empty(n, dtype=np.float64)
    hold[:-1] = np.where(intervals <= max_gap_s, intervals, typical)
    hold[-1] = typical
    return hold


def durations_from(
    n: int,
    *,
    dt_s: ArrayLike | float | None,
    time: Any = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> FloatArray:
    """Per-sample durations (s) from explicit ``dt_s`` (scalar or array) or from ``time``."""
    if time is not None:
        seconds = elapsed_s(time)
        if seconds.size != n:
            raise InvalidInputError("time and values differ in length", field="time")
        return hold_durations_s(seconds, max_gap_s=max_gap_s)
    if dt_s is None:
        return np.ones(n, dtype=np.float64)
    dt = as_float_array(dt_s, field="dt_s")
    if dt.size == 1:
        dt = np.full(n, dt[0])
    if dt.size != n:
        raise InvalidInputError("dt_s and values differ in length", field="dt_s")
    if not np.all(np.isfinite(dt)) or np.any(dt < 0):
        raise InvalidInputError("dt_s must be finite and >= 0", field="dt_s")
    return dt


@dataclass(frozen=True, slots=True)
class Grid1Hz:
    """Indices that put irregular samples on a 1 Hz elapsed-time grid.

    ``index[g]`` is the sample whose hold covers second ``g`` (zero-order hold);
    ``recorded[g]`` is False inside gaps.
    """

    index: NDArray[np.intp]
    recorded: NDArray[np.bool_]

    def take(self, values: FloatArray, *, gap_value: float = np.nan) -> FloatArray:
        """``values`` on the elapsed grid, ``gap_value`` inside gaps."""
        if values.size == 0:
            return np.zeros(0, dtype=np.float64)
        out = values[self.index]
        out[~self.recorded] = gap_value
        return out

    def take_moving(self, values: FloatArray) -> FloatArray:
        """``values`` on the gap-collapsed grid (gaps removed, time closed up)."""
        if values.size == 0:
            return np.zeros(0, dtype=np.float64)
        result: FloatArray = values[self.index[self.recorded]]
        return result


def grid_1hz(
    time_s: FloatArray,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    max_gap_kept_s: float = 4 * 3600.0,
    hold_s: FloatArray | None = None,
) -> Grid1Hz:
    """Build the 1 Hz grid for samples at ``time_s`` (seconds, non-decreasing).

    Gaps longer than ``max_gap_kept_s`` are shortened to that length: no window used by
    the kernels is longer, so the result is the same and a multi-day gap cannot blow up
    the grid.
    """
    n = time_s.size
    if n == 0:
        return Grid1Hz(np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.bool_))
    hold = hold_durations_s(time_s, max_gap_s=max_gap_s) if hold_s is None else hold_s
    steps = np.diff(time_s, prepend=time_s[0])
    starts = np.cumsum(np.minimum(steps, max_gap_kept_s))
    n_grid = max(int(np.floor(starts[-1] + hold[-1] + 1e-9)), 1)
    seconds = np.arange(n_grid, dtype=np.float64)
    index = np.searchsorted(starts, seconds + 1e-9, side="right") - 1
    index = np.clip(index, 0, n - 1)
    recorded = (seconds - starts[index]) < hold[index] - 1e-9
    return Grid1Hz(index.astype(np.intp), recorded)


def to_1hz(
    values: FloatArray,
    *,
    dt_s: ArrayLike | float | None = 1.0,
    time: Any = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> FloatArray:
    """Put ``values`` on a gap-collapsed 1 Hz series (zero-order hold, pauses removed).

    With ``dt_s == 1`` and no ``time`` the values are returned unchanged (as a copy).
    """
    if time is None and dt_s is not None and np.ndim(dt_s) == 0 and float(dt_s) == 1.0:  # type: ignore[arg-type]
        return values.copy()
    dt = durations_from(values.size, dt_s=dt_s, time=time, max_gap_s=max_gap_s)
    if values.size == 0:
        return values.copy()
    time_s = np.concatenate(([0.0], np.cumsum(dt)[:-1]))
    return grid_1hz(time_s, max_gap_s=np.inf, hold_s=dt).take_moving(values)


def rolling_mean(values: FloatArray, *, window: int) -> FloatArray:
    """Trailing mean over complete windows of ``window`` samples (length n - window + 1).

    Computed from a cumulative sum with a per-window correction-free difference; the
    values are shifted by their mean first, which keeps the round-off at ~1e-12 W.
    """
    if values.size < window:
        return np.zeros(0, dtype=np.float64)
    shift = float(np.mean(values))
    cs = np.concatenate(([0.0], np.cumsum(values - shift)))
    result: FloatArray = (cs[window:] - cs[:-window]) / window + shift
    return result
