"""Efficiency factor and aerobic decoupling (Friel/Allen; GoldenCheetah)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from lydiard.domain._streams import as_float_array
from lydiard.errors import InsufficientDataError, InvalidInputError


def efficiency_factor(output: float, *, avg_hr_bpm: float) -> float:
    """Efficiency factor: output per heart beat per minute.

    ``EF = NP / HRavg`` for rides (W/bpm) or ``NGS / HRavg`` (or average speed) for runs
    (m·s⁻¹/bpm). Units follow ``output``.

    References
    ----------
    Allen & Coggan 2010; GoldenCheetah ``src/Metrics/Coggan.cpp`` (EfficiencyFactor).
    """
    if not avg_hr_bpm > 0:
        raise InvalidInputError("avg_hr_bpm must be > 0", field="avg_hr_bpm")
    return float(output) / float(avg_hr_bpm)


def aerobic_decoupling(output: ArrayLike, *, hr_bpm: ArrayLike) -> float:
    """Aerobic decoupling (%): Pw:HR (power) or Pa:HR (speed).

    Samples with HR > 0 and a finite output are split into two halves of equal sample
    count (pass 1 Hz streams, so halves are equal time); ``r_k = mean(output_k) /
    mean(HR_k)``; ``decoupling = 100 · (r1 − r2) / r1``. Positive = HR drifted up relative
    to output; Friel: > 5 % suggests the session was above the aerobic threshold or
    aerobic endurance is not yet adequate.

    Raises
    ------
    InsufficientDataError
        With fewer than 2 usable samples or a zero first-half output.

    References
    ----------
    Friel J, *The Cyclist's Training Bible*; GoldenCheetah
    ``src/Metrics/AerobicDecoupling.cpp`` L24-40, L130.
    """
    out = as_float_array(output, field="output")
    hr = as_float_array(hr_bpm, field="hr_bpm")
    if out.size != hr.size:
        raise InvalidInputError("output and hr_bpm differ in length", field="hr_bpm")
    keep = (hr > 0) & np.isfinite(hr) & np.isfinite(out)
    out, hr = out[keep], hr[keep]
    half = out.size // 2
    if half == 0:
        raise InsufficientDataError("aerobic decoupling needs samples with HR > 0", n=int(out.size))
    r1 = float(np.mean(out[:half]) / np.mean(hr[:half]))
    r2 = float(np.mean(out[half:]) / np.mean(hr[half:]))
    if r1 == 0:
        raise InsufficientDataError("first-half output is zero; decoupling undefined")
    return 100.0 * (r1 - r2) / r1
