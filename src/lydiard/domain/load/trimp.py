"""Heart-rate training impulses: Banister, Edwards, Lucia TRIMP and hrTSS.

All functions take heart rate per sample with the duration each sample stands for
(``dt_s``, default 1 s); samples whose HR is NaN contribute nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from lydiard.domain._streams import FloatArray, as_float_array, durations_from
from lydiard.errors import InvalidInputError

Sex = Literal["male", "female"]

#: Banister weighting ``y = a·exp(b·x)`` per sex (Morton et al. 1990).
_BANISTER_WEIGHTS: dict[str, tuple[float, float]] = {
    "male": (0.64, 1.92),
    "female": (0.86, 1.67),
}

#: Edwards 1993: lower bounds (fraction of HRmax) of the five zones, weights 1..5.
EDWARDS_ZONE_LOWER: tuple[float, ...] = (0.5, 0.6, 0.7, 0.8, 0.9)


def _weights(sex: str | None) -> tuple[float, float]:
    key = "male" if sex is None else str(sex).lower()
    key = {"m": "male", "f": "female"}.get(key, key)
    if key not in _BANISTER_WEIGHTS:
        raise InvalidInputError("sex must be 'male' or 'female'", field="sex", value=sex)
    return _BANISTER_WEIGHTS[key]


def _check_hr_range(hr_rest_bpm: float, hr_max_bpm: float) -> None:
    if not (np.isfinite(hr_rest_bpm) and np.isfinite(hr_max_bpm) and hr_max_bpm > hr_rest_bpm > 0):
        raise InvalidInputError(
            "need 0 < hr_rest_bpm < hr_max_bpm",
            field="hr_max_bpm",
            hr_rest_bpm=hr_rest_bpm,
            hr_max_bpm=hr_max_bpm,
        )


def _hr_and_minutes(
    hr_bpm: ArrayLike, dt_s: ArrayLike | float | None
) -> tuple[FloatArray, FloatArray]:
    hr = as_float_array(hr_bpm, field="hr_bpm")
    minutes = durations_from(hr.size, dt_s=dt_s) / 60.0
    valid = np.isfinite(hr)
    return hr[valid], minutes[valid]


def trimp_banister(
    *,
    hr_bpm: ArrayLike | float,
    dt_s: ArrayLike | float | None = None,
    duration_min: float | None = None,
    hr_rest_bpm: float,
    hr_max_bpm: float,
    sex: Sex | str | None = "male",
) -> float:
    """Banister TRIMP (load_au).

    ``x = (HR − HRrest)/(HRmax − HRrest)`` clipped to [0, 1];
    ``TRIMP = Σ minutes · x · a·e^(b·x)`` with ``a, b = 0.64, 1.92`` (men) or
    ``0.86, 1.67`` (women).

    Two modes: with a per-sample ``hr_bpm`` array (``dt_s`` per-sample durations, 1 s by
    default) the impulse is integrated sample by sample, which weights intervals
    correctly; with a scalar average ``hr_bpm`` and ``duration_min`` it is the classic
    session formula (as GoldenCheetah computes it from average HR).

    ``sex=None`` uses the male weighting (GoldenCheetah uses 0.64 for both sexes).

    Examples
    --------
    The two numeric checks of ``science.md``; both use the **male** weighting
    (the female weighting gives 85.14 for the second):

    >>> round(trimp_banister(hr_bpm=155, duration_min=60, hr_rest_bpm=55, hr_max_bpm=190, sex="male"), 2)
    117.94
    >>> round(trimp_banister(hr_bpm=150, duration_min=45, hr_rest_bpm=60, hr_max_bpm=190, sex="male"), 2)
    75.33

    References
    ----------
    Banister EW 1991, *Modeling elite athletic performance*; Morton RH, Fitz-Clarke JR,
    Banister EW 1990, J Appl Physiol 69:1171. GoldenCheetah ``src/Metrics/TRIMPPoints.cpp``.
    """
    a, b = _weights(sex)
    _check_hr_range(hr_rest_bpm, hr_max_bpm)
    if duration_min is not None:
        if np.ndim(hr_bpm) != 0:
            raise InvalidInputError(
                "with duration_min, hr_bpm must be the average (a scalar)", field="hr_bpm"
            )
        if not duration_min >= 0:
            raise InvalidInputError("duration_min must be >= 0", field="duration_min")
        hr = np.array([float(hr_bpm)])  # type: ignore[arg-type]
        minutes = np.array([float(duration_min)])
    else:
        hr, minutes = _hr_and_minutes(hr_bpm, dt_s)
    x = np.clip((hr - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm), 0.0, 1.0)
    return float(np.sum(minutes * x * a * np.exp(b * x)))


def trimp_edwards(
    *, hr_bpm: ArrayLike, dt_s: ArrayLike | float | None = None, hr_max_bpm: float
) -> float:
    """Edwards summated-heart-rate-zone TRIMP (load_au).

    ``TRIMP = Σ_z minutes_z · z`` for the zones 50-60, 60-70, 70-80, 80-90 and ≥ 90 %
    of HRmax with weights 1..5 (time below 50 % counts 0; above HRmax counts 5).
    Zones are closed on the left.

    References
    ----------
    Edwards S 1993, *The Heart Rate Monitor Book*, Polar Electro Oy.
    """
    if not hr_max_bpm > 0:
        raise InvalidInputError("hr_max_bpm must be > 0", field="hr_max_bpm")
    hr, minutes = _hr_and_minutes(hr_bpm, dt_s)
    weight = np.digitize(hr / hr_max_bpm, EDWARDS_ZONE_LOWER)  # 0 below 50 %, 1..5 above
    return float(np.sum(minutes * weight))


def trimp_lucia(
    *,
    hr_bpm: ArrayLike,
    dt_s: ArrayLike | float | None = None,
    vt1_hr_bpm: float,
    vt2_hr_bpm: float,
) -> float:
    """Lucia TRIMP (load_au): minutes ≤ VT1 × 1, VT1–VT2 × 2, > VT2 × 3.

    References
    ----------
    Lucia A, Hoyos J, Santalla A, Earnest C, Chicharro JL 2003, *Tour de France versus
    Vuelta a España: which is harder?* Med Sci Sports Exerc 35:872.
    """
    if not 0 < vt1_hr_bpm < vt2_hr_bpm:
        raise InvalidInputError("need 0 < vt1_hr_bpm < vt2_hr_bpm", field="vt1_hr_bpm")
    hr, minutes = _hr_and_minutes(hr_bpm, dt_s)
    weight = 1 + (hr > vt1_hr_bpm).astype(np.float64) + (hr > vt2_hr_bpm).astype(np.float64)
    return float(np.sum(minutes * weight))


def hr_tss(
    *,
    hr_bpm: ArrayLike,
    dt_s: ArrayLike | float | None = None,
    hr_rest_bpm: float,
    hr_max_bpm: float,
    lthr_bpm: float,
    sex: Sex | str | None = "male",
) -> float:
    """Heart-rate TSS (load_au; 1 h at LTHR = 100): GoldenCheetah's TRIMP(100).

    ``hrTSS = 100 · TRIMP / (60 · x_LT · a·e^(b·x_LT))`` with
    ``x_LT = (LTHR − HRrest)/(HRmax − HRrest)``, i.e. the Banister TRIMP (integrated per
    sample) scaled so that one hour at threshold heart rate scores 100, the TSS scale.
    The same sex weighting is used above and below the fraction line, so the scaling holds
    for both sexes. (TrainingPeaks' hrTSS is zone-based and proprietary.)

    References
    ----------
    GoldenCheetah ``src/Metrics/TRIMPPoints.cpp`` L150-158; Banister 1991.
    """
    _check_hr_range(hr_rest_bpm, hr_max_bpm)
    if not hr_rest_bpm < lthr_bpm <= hr_max_bpm:
        raise InvalidInputError("need hr_rest_bpm < lthr_bpm <= hr_max_bpm", field="lthr_bpm")
    a, b = _weights(sex)
    trimp = trimp_banister(
        hr_bpm=hr_bpm, dt_s=dt_s, hr_rest_bpm=hr_rest_bpm, hr_max_bpm=hr_max_bpm, sex=sex
    )
    x_lt = (lthr_bpm - hr_rest_bpm) / (hr_max_bpm - hr_rest_bpm)
    return float(100.0 * trimp / (60.0 * x_lt * a * np.exp(b * x_lt)))
