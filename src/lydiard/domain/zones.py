"""Training zones (heart rate, power) and time in zones.

Zone bounds are arrays ``[b0, b1, ..., bk]``: zone ``z`` (0-based) holds values with
``b[z] <= v < b[z+1]``; the last bound is ``inf``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lydiard.domain._streams import as_float_array, durations_from
from lydiard.errors import InvalidInputError

FloatArray = NDArray[np.float64]

#: Coggan heart-rate zones as fractions of LTHR (lower bounds of zones 2-5):
#: Z1 active recovery < 68 %, Z2 endurance 68-83 %, Z3 tempo 83-94 %,
#: Z4 threshold 94-105 %, Z5 VO₂max ≥ 105 %.
COGGAN_HR_FRACTIONS_OF_LTHR: tuple[float, ...] = (0.68, 0.83, 0.94, 1.05)
#: Five %HRmax zones used when LTHR is unknown: < 60, 60-70, 70-80, 80-90, ≥ 90 %.
HRMAX_FRACTIONS: tuple[float, ...] = (0.60, 0.70, 0.80, 0.90)
#: Coggan's seven power zones as fractions of FTP (lower bounds of zones 2-7):
#: Z1 < 55 %, Z2 55-75, Z3 75-90, Z4 90-105, Z5 105-120, Z6 120-150, Z7 ≥ 150 %.
COGGAN_POWER_FRACTIONS_OF_FTP: tuple[float, ...] = (0.55, 0.75, 0.90, 1.05, 1.20, 1.50)


def _bounds(fractions: tuple[float, ...], reference: float) -> FloatArray:
    return np.array([0.0, *(f * reference for f in fractions), np.inf], dtype=np.float64)


def hr_zone_bounds_bpm(
    *, lthr_bpm: float | None = None, hr_max_bpm: float | None = None
) -> FloatArray:
    """Five heart-rate zone bounds (bpm): Coggan's %LTHR zones, else %HRmax zones.

    References
    ----------
    Allen & Coggan 2010, *Training and Racing with a Power Meter* (HR zones from LTHR);
    %HRmax zones as in Edwards 1993.
    """
    if lthr_bpm is not None:
        if not lthr_bpm > 0:
            raise InvalidInputError("lthr_bpm must be > 0", field="lthr_bpm")
        return _bounds(COGGAN_HR_FRACTIONS_OF_LTHR, lthr_bpm)
    if hr_max_bpm is not None:
        if not hr_max_bpm > 0:
            raise InvalidInputError("hr_max_bpm must be > 0", field="hr_max_bpm")
        return _bounds(HRMAX_FRACTIONS, hr_max_bpm)
    raise InvalidInputError("HR zones need lthr_bpm or hr_max_bpm", field="lthr_bpm")


def power_zone_bounds_w(*, ftp_w: float) -> FloatArray:
    """Coggan's seven power zone bounds (W) from FTP (Allen & Coggan 2010)."""
    if not ftp_w > 0:
        raise InvalidInputError("ftp_w must be > 0", field="ftp_w")
    return _bounds(COGGAN_POWER_FRACTIONS_OF_FTP, ftp_w)


def time_in_zones(
    values: ArrayLike, dt_s: ArrayLike | float | None, bounds: ArrayLike
) -> FloatArray:
    """Seconds spent in each zone.

    Parameters
    ----------
    values : array-like
        Samples (bpm or W); NaN samples and values below ``bounds[0]`` are not counted.
    dt_s : float or array-like or None
        Duration each sample stands for (s); None = 1 s.
    bounds : array-like
        Increasing zone bounds, ``len(bounds) - 1`` zones, left-closed.

    Returns
    -------
    ndarray
        Seconds per zone, shape ``(len(bounds) - 1,)``.
    """
    x = as_float_array(values, field="values")
    edges = as_float_array(bounds, field="bounds")
    if edges.size < 2 or np.any(np.diff(edges) <= 0):
        raise InvalidInputError("bounds must be increasing with at least 2 entries", field="bounds")
    dt = durations_from(x.size, dt_s=dt_s)
    zone = np.searchsorted(edges, x, side="right") - 1  # NaN sorts last -> beyond the top
    keep = np.isfinite(x) & (zone >= 0) & (zone < edges.size - 1)
    result: FloatArray = np.bincount(zone[keep], weights=dt[keep], minlength=edges.size - 1).astype(
        np.float64
    )
    return result
