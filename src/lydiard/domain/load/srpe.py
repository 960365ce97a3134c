"""Session-RPE load (Foster et al. 2001) and its conversion to the TSS scale."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lydiard.errors import InvalidInputError

#: sRPE AU equal to 1 TSS-equivalent. Derivation: one hour at threshold is 100 TSS and is
#: rated CR-10 7 ("very hard") → 7 · 60 / 100 = 4.2. Check against Coggan's IF bands
#: (TSS/h = 100·IF²): RPE 2 "easy" → 29/h (IF 0.53, recovery), RPE 3 "moderate" → 43/h
#: (IF 0.65, endurance), RPE 5 "hard" → 71/h (IF 0.85, tempo), RPE 10 "maximal" → 143/h
#: (IF 1.2, VO₂max intervals).
SRPE_AU_PER_TSS: float = 4.2


def srpe_load(
    *, rpe: ArrayLike | float, duration_min: ArrayLike | float
) -> float | NDArray[np.float64]:
    """Session-RPE training load (load_au = CR-10 RPE × minutes).

    Parameters
    ----------
    rpe : float or array-like
        Borg CR-10 session RPE, 0-10, asked ~30 min after the session.
    duration_min : float or array-like
        Session duration (min).

    Returns
    -------
    float or ndarray
        ``rpe · duration_min`` (a float for scalar inputs).

    Raises
    ------
    InvalidInputError
        If an RPE is outside 0-10 or not finite, or a duration is negative.

    References
    ----------
    Foster C, Florhaug JA, Franklin J, et al. 2001, *A new approach to monitoring exercise
    training*, J Strength Cond Res 15:109.

    Examples
    --------
    >>> srpe_load(rpe=7, duration_min=60)
    420.0
    """
    rpe_arr = np.asarray(rpe, dtype=np.float64)
    minutes = np.asarray(duration_min, dtype=np.float64)
    if not np.all(np.isfinite(rpe_arr)) or np.any((rpe_arr < 0) | (rpe_arr > 10)):
        raise InvalidInputError("rpe must be a CR-10 rating between 0 and 10", field="rpe")
    if not np.all(np.isfinite(minutes)) or np.any(minutes < 0):
        raise InvalidInputError("duration_min must be finite and >= 0", field="duration_min")
    load = rpe_arr * minutes
    if load.ndim == 0:
        return float(load)
    return load


def srpe_to_tss(srpe_au: float) -> float:
    """Convert sRPE load (RPE × min) to TSS-equivalent load_au: ``srpe / 4.2``.

    See :data:`SRPE_AU_PER_TSS` for the derivation of the constant.
    """
    return float(srpe_au) / SRPE_AU_PER_TSS
