"""Power-based load: Normalized Power, Intensity Factor and Training Stress Score.

References
----------
Allen H, Coggan A. *Training and Racing with a Power Meter*, 2nd ed., VeloPress 2010.
GoldenCheetah ``src/Metrics/Coggan.cpp`` (NP L62-95, TSS L240-259).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lydiard.domain._streams import (
    DEFAULT_MAX_GAP_S,
    FloatArray,
    as_float_array,
    rolling_mean,
    to_1hz,
)
from lydiard.errors import InvalidInputError

#: Rolling window of the NP recipe (s).
NP_WINDOW_S: int = 30


def fourth_power_mean(values_1hz: FloatArray, *, window_s: int = NP_WINDOW_S) -> float:
    """The NP recipe on a 1 Hz series: ``mean(rolling_mean_30s(x)^4)^(1/4)``.

    NaN samples count as 0. Returns NaN when the series is shorter than ``window_s``.
    """
    x = np.nan_to_num(values_1hz, nan=0.0)
    rolled = rolling_mean(x, window=window_s)
    if rolled.size == 0:
        return float("nan")
    return float(np.mean(rolled**4) ** 0.25)


def normalized_power(
    power_w: ArrayLike,
    *,
    dt_s: ArrayLike | float | None = 1.0,
    time: Any = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float:
    """Normalized Power (W).

    ``NP = (mean_t (P̄30(t))^4)^(1/4)`` where ``P̄30`` is the trailing 30-s mean of power
    (Coggan). Missing power (NaN) counts as 0 W (coasting, dropouts).

    Samples that are not 1 s apart are first put on a 1 Hz series: ``time`` (datetimes or
    seconds) or ``dt_s`` (per-sample durations, scalar or array) gives how long each
    sample lasts; each value is held for that long (zero-order hold, as the recording
    device assumes). Intervals longer than ``max_gap_s`` are pauses: the value is held for
    the typical interval only and the pause is removed (time closed up), so auto-pause
    neither adds zeros nor time. See :mod:`lydiard.domain._streams`.

    Parameters
    ----------
    power_w : array-like
        Power samples (W).
    dt_s : float or array-like, optional
        Duration each sample stands for (s); 1 s by default. Ignored when ``time`` is given.
    time : array-like, optional
        Sample times (datetime64 or seconds).
    max_gap_s : float
        Longest interval (s) still treated as continuous recording.

    Returns
    -------
    float
        NP in W; NaN when less than 30 s of data.

    References
    ----------
    Allen & Coggan 2010; GoldenCheetah ``src/Metrics/Coggan.cpp`` L62-95.
    """
    values = as_float_array(power_w, field="power_w")
    if np.any(values[np.isfinite(values)] < 0):
        raise InvalidInputError("power_w must be >= 0", field="power_w")
    series = to_1hz(values, dt_s=dt_s, time=time, max_gap_s=max_gap_s)
    return fourth_power_mean(series)


def intensity_factor(*, np_w: float, ftp_w: float) -> float:
    """Intensity Factor ``IF = NP / FTP`` (dimensionless; Allen & Coggan 2010)."""
    if not ftp_w > 0:
        raise InvalidInputError("ftp_w must be > 0", field="ftp_w", value=ftp_w)
    return float(np_w) / float(ftp_w)


def power_tss(*, duration_s: float, np_w: float, ftp_w: float) -> float:
    """Training Stress Score (TSS, load_au; 1 h at FTP = 100).

    ``TSS = duration_s · NP · IF / (FTP · 3600) · 100 = hours · IF² · 100``.

    References
    ----------
    Allen & Coggan 2010; GoldenCheetah ``src/Metrics/Coggan.cpp`` L240-259.

    Examples
    --------
    >>> power_tss(duration_s=3600, np_w=250, ftp_w=250)
    100.0
    """
    if not duration_s >= 0:
        raise InvalidInputError("duration_s must be >= 0", field="duration_s", value=duration_s)
    factor = intensity_factor(np_w=np_w, ftp_w=ftp_w)
    return float(duration_s) * float(np_w) * factor / (float(ftp_w) * 3600.0) * 100.0
