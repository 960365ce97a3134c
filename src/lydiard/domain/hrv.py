"""Beat-to-beat (RR) interval kernels: rMSSD and artefact correction.

Pure numpy/pandas: no I/O. Arrays are RR intervals in milliseconds, oldest first.

References
----------
Task Force of the ESC and NASPE (1996). Heart rate variability: standards of measurement.
Circulation 93:1043-1065 (rMSSD).
Malik M. et al. (1989). Heart rate variability in relation to prognosis after myocardial
infarction. Am J Cardiol 64:1275-1279 (the 20 % rule).
Lipponen J.A., Tarvainen M.P. (2019). A robust algorithm for heart rate variability time
series artefact correction using novel beat classification. J Med Eng Technol 43:173-181.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from pandas.api.typing import Rolling

from lydiard.errors import InsufficientDataError, InvalidInputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

#: Lipponen & Tarvainen (2019) constants.
ALPHA: float = 5.2  #: threshold = ALPHA * IQR / 2 of the local |dRR| or |mRR|
C1: float = 0.13  #: slope of the ectopic-beat boundary in subspace S1
C2: float = 0.17  #: intercept of the ectopic-beat boundary in subspace S1
THRESHOLD_WINDOW_BEATS: int = 91  #: window of the rolling quartiles
MEDIAN_WINDOW_BEATS: int = 11  #: window of the rolling median for mRR
#: Lower bound on the adaptive thresholds (ms): a perfectly regular series has IQR 0, and a
#: 1 ms quantisation step must not then count as an artefact.
MIN_THRESHOLD_MS: float = 1.0
MAX_ITERATIONS: int = 10  #: hard stop for the iterate-until-no-improvement loop
MALIK_FRACTION: float = 0.20  #: Malik: > 20 % change from the previous beat
#: Below this many intervals the Lipponen subspaces are meaningless; nothing is flagged.
MIN_BEATS_FOR_DETECTION: int = 5

Method = Literal["lipponen2019", "malik"]


@dataclass(frozen=True, slots=True)
class RRCorrection:
    """The result of :func:`correct_rr`.

    ``artefact_mask`` is aligned with the corrected ``rr_ms`` (True where a value was
    produced by a correction). Counts refer to artefacts found in the input; a beat that is
    corrected in a later iteration is counted again.
    """

    rr_ms: FloatArray  #: corrected RR intervals, ms
    artefact_mask: BoolArray  #: True where ``rr_ms`` holds a corrected value
    method: str
    n_input: int  #: finite, positive intervals in the input
    n_invalid: int  #: non-finite or non-positive input values, dropped before correction
    n_ectopic: int
    n_long_short: int  #: long or short beats (Malik's rule counts everything here)
    n_missed: int  #: missed beats (one long interval split in two)
    n_extra: int  #: extra beats (two short intervals merged)
    iterations: int  #: correction passes applied

    @property
    def n_corrected(self) -> int:
        """Artefacts corrected, all types."""
        return self.n_ectopic + self.n_long_short + self.n_missed + self.n_extra

    @property
    def corrected_fraction(self) -> float:
        """Share of input intervals that were corrected, 0-1."""
        if self.n_input == 0:
            return 0.0
        return min(1.0, self.n_corrected / self.n_input)


def ln_rmssd(rmssd_ms: ArrayLike) -> NDArray[np.float64]:
    """Natural log of rMSSD (ms), the scale of every HRV baseline (Plews et al. 2012);
    non-positive or missing values become NaN."""
    x = np.asarray(rmssd_ms, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        out: NDArray[np.float64] = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), np.nan)
    return out


def rmssd_ms(rr_ms: ArrayLike, *, ddof: int = 0) -> float:
    """Root mean square of successive RR differences, in ms.

    Parameters
    ----------
    rr_ms : array_like, shape (n,)
        RR (NN) intervals in ms. NaN marks a missing interval: the two differences that
        touch it are left out, so no difference spans a gap.
    ddof : int
        ``0`` gives sqrt(mean(d²)) (Task Force 1996); ``1`` gives sqrt(Σd² / (n_d − 1)),
        the form HRV Logger reports.

    Raises
    ------
    InsufficientDataError
        Fewer than ``1 + ddof`` usable successive differences.

    Examples
    --------
    >>> rmssd_ms([1000, 1010, 1000, 1010])
    10.0
    """
    if ddof not in (0, 1):
        raise InvalidInputError(f"ddof must be 0 or 1, not {ddof}", field="ddof")
    rr = np.asarray(rr_ms, dtype=np.float64).ravel()
    diffs = np.diff(rr)
    diffs = diffs[np.isfinite(diffs)]
    n_diffs = diffs.size
    if n_diffs - ddof < 1:
        raise InsufficientDataError(
            f"rMSSD needs at least {2 + ddof} consecutive RR intervals, got {n_diffs + 1 if rr.size else 0}",
            n_intervals=int(np.isfinite(rr).sum()),
        )
    return float(np.sqrt(np.sum(diffs * diffs) / (n_diffs - ddof)))


def correct_rr(rr_ms: ArrayLike, *, method: Method = "lipponen2019") -> RRCorrection:
    """Detect and correct artefacts in an RR series.

    ``"lipponen2019"`` (Lipponen & Tarvainen 2019, the Kubios method): dRR is normalised by
    ``th1 = ALPHA · IQR(|dRR|)/2`` over a 91-beat window and cast to the subspaces S12/S22;
    mRR = RR − median₁₁(RR) (negative values doubled) is normalised by ``th2`` the same way.
    Ectopic beats lie outside the S12 boundary (c1 = 0.13, c2 = 0.17); long/short beats have
    |mRR| > 3 or fall outside the S22 boundary; a long beat whose half is close to the median
    is a missed beat, a short beat which with the next one adds up to the median is an extra
    beat. Corrections: extra beats are deleted (the two intervals merged), missed beats are
    inserted at the midpoint (the interval split), ectopic (both intervals around the
    misplaced beat) and long/short intervals are re-interpolated from their clean neighbours.
    Detection and correction repeat while the number of artefacts keeps falling.

    ``"malik"``: an interval is an artefact if it differs by more than 20 % from the
    previous interval *and* from the local 11-beat median (the second test spares the
    normal beat that follows an artefact); artefacts are re-interpolated.

    Parameters
    ----------
    rr_ms : array_like, shape (n,)
        RR intervals in ms; non-finite and non-positive values are dropped first.
    method : {"lipponen2019", "malik"}

    Returns
    -------
    RRCorrection

    Raises
    ------
    InsufficientDataError
        Fewer than 2 valid intervals.
    InvalidInputError
        Unknown ``method``.
    """
    if method not in ("lipponen2019", "malik"):
        raise InvalidInputError(f"unknown RR correction method {method!r}", field="method")
    raw = np.asarray(rr_ms, dtype=np.float64).ravel()
    valid = np.isfinite(raw) & (raw > 0)
    rr = raw[valid].copy()
    n_invalid = int(raw.size - rr.size)
    if rr.size < 2:
        raise InsufficientDataError(
            f"RR correction needs at least 2 valid intervals, got {rr.size}", n_intervals=rr.size
        )
    if method == "malik":
        flags = _malik_flags(rr)
        mask = flags.copy()
        corrected = _interpolate_flagged(rr, flags)
        n_flagged = int(flags.sum())
        return RRCorrection(
            rr_ms=corrected, artefact_mask=mask, method=method, n_input=int(rr.size),
            n_invalid=n_invalid, n_ectopic=0, n_long_short=n_flagged, n_missed=0, n_extra=0,
            iterations=1 if n_flagged else 0,
        )

    mask = np.zeros(rr.size, dtype=np.bool_)
    totals = {"ectopic": 0, "long_short": 0, "missed": 0, "extra": 0}
    previous = np.inf
    iterations = 0
    for _ in range(MAX_ITERATIONS):
        kinds = _lipponen_classify(rr)
        count = sum(int(k.sum()) for k in kinds.values())
        if count == 0 or count >= previous:
            break
        rr, mask = _apply_corrections(rr, mask, kinds)
        for name, flagged in kinds.items():
            totals[name] += int(flagged.sum())
        previous = count
        iterations += 1
    return RRCorrection(
        rr_ms=rr, artefact_mask=mask, method=method, n_input=int(raw[valid].size),
        n_invalid=n_invalid, n_ectopic=totals["ectopic"], n_long_short=totals["long_short"],
        n_missed=totals["missed"], n_extra=totals["extra"], iterations=iterations,
    )


def _rolling(values: FloatArray, window: int) -> Rolling[pd.Series]:
    """Centred rolling window that shrinks at the edges (as in Kubios)."""
    return pd.Series(values).rolling(window, center=True, min_periods=1)


def _threshold(values: FloatArray) -> FloatArray:
    """ALPHA · (Q3 − Q1)/2 of |values| over a centred 91-beat window, floored."""
    roll = _rolling(np.abs(values), THRESHOLD_WINDOW_BEATS)
    q1 = roll.quantile(0.25).to_numpy(dtype=np.float64)
    q3 = roll.quantile(0.75).to_numpy(dtype=np.float64)
    th: FloatArray = np.maximum(ALPHA * (q3 - q1) / 2.0, MIN_THRESHOLD_MS)
    return th


def _lipponen_classify(rr: FloatArray) -> dict[str, BoolArray]:
    """Boolean masks (over ``rr``) of ectopic, long_short, missed and extra beats."""
    n = rr.size
    none = np.zeros(n, dtype=np.bool_)
    if n < MIN_BEATS_FOR_DETECTION:
        return {"ectopic": none, "long_short": none.copy(), "missed": none.copy(),
                "extra": none.copy()}

    drr = np.empty(n)
    drr[0] = 0.0  # the first interval has no predecessor
    drr[1:] = np.diff(rr)
    drr_n = drr / _threshold(drr)

    # Subspaces: neighbours of each dRR (reflect-padded at the ends).
    pad = np.pad(drr_n, 2, mode="reflect")
    prev1, next1, next2 = pad[1:-3], pad[3:-1], pad[4:]
    s12 = np.where(drr_n > 0, np.maximum(prev1, next1),
                   np.where(drr_n < 0, np.minimum(prev1, next1), 0.0))
    s22 = np.where(drr_n >= 0, np.minimum(next1, next2), np.maximum(next1, next2))

    med = _rolling(rr, MEDIAN_WINDOW_BEATS).median().to_numpy(dtype=np.float64)
    mrr = rr - med
    mrr = np.where(mrr < 0, 2.0 * mrr, mrr)
    th2 = _threshold(mrr)
    mrr_n = mrr / th2

    ectopic = ((drr_n > 1) & (s12 < -C1 * drr_n - C2)) | (
        (drr_n < -1) & (s12 > -C1 * drr_n + C2)
    )
    triggered = ((np.abs(drr_n) > 1) | (np.abs(mrr_n) > 3)) & ~ectopic
    # "Check if the following beat also needs to be evaluated" (paper, figure 1).
    abs_next1 = np.abs(next1)
    abs_next2 = np.abs(next2)
    follow = np.zeros(n, dtype=np.bool_)
    follow[1:] = (triggered & (abs_next1 < abs_next2))[:-1]
    candidate = (triggered | follow) & ~ectopic

    long_beat = (drr_n > 1) & (s22 < -1)
    short_beat = (drr_n < -1) & (s22 > 1)
    far_from_median = np.abs(mrr_n) > 3
    artefact = candidate & (long_beat | short_beat | far_from_median)

    rr_next = np.append(rr[1:], np.nan)
    missed_like = np.abs(rr / 2.0 - med) < th2
    with np.errstate(invalid="ignore"):
        extra_like = np.abs(rr + rr_next - med) < th2
    extra = artefact & short_beat & extra_like
    missed = artefact & long_beat & missed_like & ~extra
    long_short = artefact & ~extra & ~missed

    # A correction consumes neighbours: an extra beat at j merges j and j+1, an ectopic
    # beat at j re-interpolates j-1 and j. Flags on consumed intervals are dropped so one
    # artefact is counted (and corrected) once.
    consumed = np.zeros(n, dtype=np.bool_)
    consumed[1:] |= extra[:-1]
    consumed[:-1] |= ectopic[1:]
    long_short &= ~consumed
    missed &= ~consumed
    extra_next = np.zeros(n, dtype=np.bool_)
    extra_next[1:] = extra[:-1]
    extra &= ~extra_next  # two extra flags in a row: merge once
    ectopic_clean = ectopic.copy()
    ectopic_clean[1:] &= ~ectopic[:-1]
    return {"ectopic": ectopic_clean, "long_short": long_short, "missed": missed,
            "extra": extra}


def _apply_corrections(
    rr: FloatArray, mask: BoolArray, kinds: dict[str, BoolArray]
) -> tuple[FloatArray, BoolArray]:
    """Apply one round of Lipponen corrections; return new RR and mask."""
    n = rr.size
    interp = kinds["long_short"].copy()
    interp |= kinds["ectopic"]
    interp[:-1] |= kinds["ectopic"][1:]  # the interval before the misplaced beat

    # Extra beats: merge interval j with j+1 (delete the beat between them).
    extra = kinds["extra"].copy()
    extra[-1] = False
    values = rr.copy()
    values[:-1] += np.where(extra[:-1], rr[1:], 0.0)
    drop = np.zeros(n, dtype=np.bool_)
    drop[1:] = extra[:-1]
    changed = mask | extra

    # Missed beats: split interval j in two halves.
    missed = kinds["missed"] & ~drop
    values = np.where(missed, values / 2.0, values)
    counts = np.where(drop, 0, np.where(missed, 2, 1))
    new_rr = np.repeat(values, counts)
    new_mask = np.repeat(changed | missed | interp, counts)
    new_interp = np.repeat(interp & ~drop, counts)

    out = _interpolate_flagged(new_rr, new_interp)
    return out, new_mask


def _interpolate_flagged(rr: FloatArray, flags: BoolArray) -> FloatArray:
    """Replace flagged values by linear interpolation over the clean neighbours (by index)."""
    if not flags.any():
        return rr.copy()
    good = ~flags
    if not good.any():
        return np.full_like(rr, np.median(rr))
    index = np.arange(rr.size, dtype=np.float64)
    out = rr.copy()
    out[flags] = np.interp(index[flags], index[good], rr[good])
    return out


def _malik_flags(rr: FloatArray) -> BoolArray:
    """Malik 20 % rule, vectorised (see :func:`correct_rr`)."""
    med = _rolling(rr, MEDIAN_WINDOW_BEATS).median().to_numpy(dtype=np.float64)
    off_median = np.abs(rr - med) > MALIK_FRACTION * med
    jump = np.zeros(rr.size, dtype=np.bool_)
    jump[1:] = np.abs(np.diff(rr)) > MALIK_FRACTION * rr[:-1]
    jump[0] = True  # the first interval is judged by the median alone
    flags: BoolArray = jump & off_median
    return flags
