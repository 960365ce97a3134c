"""Unit conversions used across layers. Pure functions, no state."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

SEMICIRCLE_TO_DEG = 180.0 / 2**31  #: FIT stores positions in semicircles (2^31 = 180 degrees)


def semicircles_to_deg(value: ArrayLike) -> NDArray[np.float64]:
    """Convert FIT semicircles to degrees."""
    return np.asarray(value, dtype=np.float64) * SEMICIRCLE_TO_DEG


def kmh_to_mps(value: ArrayLike) -> NDArray[np.float64]:
    """Convert km/h to m/s."""
    return np.asarray(value, dtype=np.float64) / 3.6


def ln_rmssd(rmssd_ms: ArrayLike) -> NDArray[np.float64]:
    """Natural log of rMSSD given in milliseconds; non-positive values become NaN."""
    x = np.asarray(rmssd_ms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
