"""Running load: Minetti cost of running, grade-adjusted speed, NGS and rTSS.

NGP (TrainingPeaks) is proprietary; the open substitute used here follows
GoldenCheetah's GOVSS: adjust speed for gradient with the Minetti 2002 cost of running,
then apply the Normalized Power recipe (30-s rolling mean, 4th power) to that speed.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from lydiard.domain._streams import (
    DEFAULT_MAX_GAP_S,
    FloatArray,
    as_float_array,
    to_1hz,
)
from lydiard.domain.load.power import fourth_power_mean
from lydiard.errors import InvalidInputError

#: Gradient range over which the Minetti polynomial was fitted (±45 %).
MAX_GRADIENT: float = 0.45
#: Distance (m) over which the gradient is measured, centred on each sample.
GRADE_WINDOW_M: float = 50.0


def minetti_cost_j_per_kg_m(gradient: ArrayLike) -> FloatArray:
    """Energy cost of running (J·kg⁻¹·m⁻¹) at ``gradient`` (rise/run, clipped to ±0.45).

    ``C(i) = 155.4i⁵ − 30.4i⁴ − 43.3i³ + 46.3i² + 19.5i + 3.6``; ``C(0) = 3.6``.

    References
    ----------
    Minetti AE, Moia C, Roi GS, Susta D, Ferretti G 2002, *Energy cost of walking and
    running at extreme uphill and downhill slopes*, J Appl Physiol 93:1039.
    GoldenCheetah ``src/Metrics/GOVSS.cpp`` L52.
    """
    i = np.clip(as_float_array(gradient, field="gradient"), -MAX_GRADIENT, MAX_GRADIENT)
    cost: FloatArray = ((((155.4 * i - 30.4) * i - 43.3) * i + 46.3) * i + 19.5) * i + 3.6
    return cost


def smoothed_gradient(
    *, altitude_m: ArrayLike, distance_m: ArrayLike, window_m: float = GRADE_WINDOW_M
) -> FloatArray:
    """Gradient (rise/run) at each sample, measured over ``window_m`` of distance.

    For sample ``k`` the gradient is ``(alt[j] − alt[i]) / (dist[j] − dist[i])`` where
    ``i``/``j`` are the first samples at least ``window_m/2`` behind / ahead (clamped to the
    ends). Differencing over tens of metres rather than between neighbours removes the
    metre-level noise of GPS/barometric altitude. Gradients over less than ``window_m/4``
    of distance (standing still) are 0. Missing altitude is interpolated over distance; the
    result is clipped to ±0.45 (the range of Minetti's fit).
    """
    alt = as_float_array(altitude_m, field="altitude_m")
    dist = as_float_array(distance_m, field="distance_m")
    if alt.size != dist.size:
        raise InvalidInputError("altitude_m and distance_m differ in length", field="altitude_m")
    n = alt.size
    ok_dist = np.isfinite(dist)
    if n == 0 or ok_dist.sum() < 2:
        return np.zeros(n, dtype=np.float64)
    dist = np.interp(np.arange(n), np.flatnonzero(ok_dist), dist[ok_dist])
    dist = np.maximum.accumulate(dist)  # odometer never runs backwards
    ok_alt = np.isfinite(alt)
    if ok_alt.sum() < 2:
        return np.zeros(n, dtype=np.float64)
    alt = np.interp(dist, dist[ok_alt], alt[ok_alt])
    half = window_m / 2.0
    behind = np.clip(np.searchsorted(dist, dist - half, side="right") - 1, 0, n - 1)
    ahead = np.clip(np.searchsorted(dist, dist + half, side="left"), 0, n - 1)
    run_m = dist[ahead] - dist[behind]
    rise_m = alt[ahead] - alt[behind]
    gradient = np.divide(rise_m, run_m, out=np.zeros(n), where=run_m >= window_m / 4.0)
    result: FloatArray = np.clip(gradient, -MAX_GRADIENT, MAX_GRADIENT)
    return result


def grade_adjusted_speed(
    *, speed_mps: ArrayLike, altitude_m: ArrayLike, distance_m: ArrayLike
) -> FloatArray:
    """Grade-adjusted speed (m/s): the flat speed with the same metabolic power.

    ``GAS = speed · C(i) / C(0)`` with the Minetti 2002 cost ``C`` and the smoothed
    gradient ``i`` of :func:`smoothed_gradient` (clipped to ±0.45). NaN speed stays NaN.

    References
    ----------
    Minetti et al. 2002, J Appl Physiol 93:1039; GoldenCheetah ``GOVSS.cpp``.
    """
    speed = as_float_array(speed_mps, field="speed_mps")
    gradient = smoothed_gradient(altitude_m=altitude_m, distance_m=distance_m)
    if gradient.size != speed.size:
        raise InvalidInputError("speed_mps and altitude_m differ in length", field="speed_mps")
    result: FloatArray = speed * minetti_cost_j_per_kg_m(gradient) / 3.6
    return result


def normalized_graded_speed(
    gas_mps: ArrayLike,
    *,
    dt_s: ArrayLike | float | None = 1.0,
    time: Any = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
) -> float:
    """Normalised graded speed (m/s): the NP recipe applied to grade-adjusted speed.

    ``NGS = (mean (GAS̄30)^4)^(1/4)``; irregular samples are put on a gap-collapsed 1 Hz
    series first, exactly as :func:`lydiard.domain.load.power.normalized_power` does.
    NaN speed counts as 0 (standing). NaN when less than 30 s of data.
    """
    values = as_float_array(gas_mps, field="gas_mps")
    return fourth_power_mean(to_1hz(values, dt_s=dt_s, time=time, max_gap_s=max_gap_s))


def running_tss(*, duration_s: float, ngs_mps: float, threshold_speed_mps: float) -> float:
    """Running TSS (load_au; 1 h at threshold speed = 100).

    ``rTSS = duration_s · NGS · IF / (v_thr · 3600) · 100`` with ``IF = NGS / v_thr``
    (paces expressed as speeds; TrainingPeaks' rTSS with NGS in place of NGP).

    Examples
    --------
    >>> running_tss(duration_s=1800, ngs_mps=4.0, threshold_speed_mps=4.0)
    50.0
    """
    if not threshold_speed_mps > 0:
        raise InvalidInputError("threshold_speed_mps must be > 0", field="threshold_speed_mps")
    if not duration_s >= 0:
        raise InvalidInputError("duration_s must be >= 0", field="duration_s")
    factor = ngs_mps / threshold_speed_mps
    return float(duration_s * ngs_mps * factor / (threshold_speed_mps * 3600.0) * 100.0)
