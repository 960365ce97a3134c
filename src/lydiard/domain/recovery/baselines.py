"""Personal baselines and normal ranges, as causal array kernels over (athletes × days).

Every kernel takes matrices shaped ``(athletes, days)`` (a 1-D array is one athlete),
treats NaN as "not measured", and is **causal**: the value for day ``d`` uses data of
days ``<= d`` only. Rolling statistics are computed with prefix sums, so the cost is
O(athletes × days) whatever the window.

Window convention (documented choice)
-------------------------------------
The *current* value of a marker is its mean over the last ``window_days`` (7) days,
day ``d`` included. Its *baseline* (personal normal) is computed over a longer window
that **ends before the current 7-day window** (``baseline_lag_days = 7``: days
``d-66 .. d-7`` for the 60-day HRV baseline). A fatigue trend of the current week
therefore does not pull its own reference down, which matters for the persistence
rules of :mod:`lydiard.domain.recovery.stage`. All windows and thresholds are fields of
:class:`BaselineConfig`.

References
----------
Plews DJ et al. (2012) Eur J Appl Physiol 112:3729 — 7-day rolling lnRMSSD.
Plews DJ et al. (2014) IJSPP — ≥ 3-4 days a week suffice for the weekly mean.
Altini M, HRV4Training — 60-day normal range around the 7-day baseline.
Javaloyes A et al. (2019) IJSPP 14:23; Vesterinen V et al. (2016) MSSE 48:1347 —
smallest worthwhile change = baseline mean ± 0.5 SD.
Flatt AA, Esco MR (2015) IJSPP 10:994 — CV of lnRMSSD rises with load.
AthleteMonitoring — wellness z-scores, |z| < 1 normal, 1-2 yellow, ≥ 2 red.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lydiard.errors import InvalidInputError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int32]

__all__ = [
    "BaselineConfig",
    "RollingStats",
    "Series",
    "as_matrix",
    "config_from_settings",
    "other_kind",
    "readings_of_kind",
    "rolling_count_true",
    "rolling_stats",
    "run_length",
    "zscore",
]


@dataclass(frozen=True, slots=True)
class BaselineConfig:
    """Windows and thresholds of the baselines and of the fatigue-stage rules.

    Defaults follow ``docs/science.md`` §2-3; each field names its source. Values marked
    *heuristic* are Lydiard's own choices, not published cut-offs.
    """

    # --- HRV (ln rMSSD) -----------------------------------------------------------
    window_days: int = 7  #: current window of every marker (Plews 2012: 7-day mean)
    min_valid_days: int = 4  #: valid days needed in the 7-day window (Plews 2014: ≥ 3)
    hrv_baseline_days: int = 60  #: normal-range window (Altini, HRV4Training)
    baseline_lag_days: int = 7  #: baselines end before the current 7-day window
    hrv_min_baseline_days: int = 14  #: valid ln rMSSD days needed in the baseline window
    hrv_band_sd: float = 0.5  #: band = mean ± 0.5 SD of daily ln rMSSD (Javaloyes 2019)
    hrv_today_low_sd: float = 1.0  #: today's value < mean − 1 SD → acute dip (Kiviniemi 2007)
    cv_min_valid_days: int = 5  #: valid days for the 7-day CV (Flatt & Esco 2015: ≥ 5)
    cv_swc_sd: float = 0.5  #: CV rise > 0.5 SD of its baseline counts (Flatt 2017)
    # --- resting HR ---------------------------------------------------------------
    rhr_baseline_days: int = 60  #: window of the RHR baseline
    rhr_min_baseline_days: int = 14  #: valid RHR days needed in the baseline window
    rhr_high_bpm: float = 5.0  #: 7-day RHR ≥ baseline + 5 bpm (Polar; Restwise ~5 %)
    # --- sleep --------------------------------------------------------------------
    sleep_baseline_days: int = 28  #: the athlete's usual sleep (heuristic)
    sleep_min_baseline_days: int = 10
    sleep_deficit_h: float = 0.75  #: 7-day mean ≥ 0.75 h below usual (heuristic)
    # --- wellness check-in --------------------------------------------------------
    wellness_baseline_days: int = 28  #: z-score window (AthleteMonitoring; Flatt 2018)
    wellness_min_baseline_days: int = 14  #: check-in days needed in the baseline window
    wellness_sd_floor: float = 0.5  #: SD floor of a 1-5 item (integers can have SD 0)
    wellness_index_sd_floor: float = 0.25  #: SD floor of the daily mean of the items
    wellness_low_z: float = -1.0  #: z ≤ −1: "yellow" (AthleteMonitoring)
    wellness_red_z: float = -2.0  #: z ≤ −2: "red" (AthleteMonitoring)
    wellness_low_days: int = 3  #: composite z ≤ −1 on ≥ 3 of 7 days (science.md §3)
    wellness_deep_mean_z: float = -1.0  #: 7-day mean composite z, feel-only path (heuristic)
    wellness_deep_run_days: int = 2  #: ... held ≥ 2 days running, with ≥ 4 low days of 7
    readiness_sd_floor: float = 1.0  #: SD floor of readiness (0-10 scale)
    #: weight of today's feeling (readiness and check-in z) in the risk score (Saw 2016)
    risk_feel_weight: float = 0.8
    #: weight of readiness (0-10, centred at 5) in the risk score: how the athlete feels
    #: ranks first (Saw 2016; PMData, docs/evaluation.md)
    risk_readiness_weight: float = 10.0
    #: life stress drives a low check-in when the 7-day load is at most this × usual
    life_stress_load_frac: float = 1.5
    #: ... and the stress item stands out: its 7-day z at least this far below that of the
    #: training-sensitive items (energy, soreness), which fall first with training fatigue
    life_stress_item_gap_z: float = 1.0
    travel_window_days: int = 3  #: travel today or in the 2 days before: jet lag (heuristic)
    # --- performance --------------------------------------------------------------
    perf_window_days: int = 14  #: recent window of session markers (sparse: sessions)
    perf_baseline_days: int = 60
    perf_min_sessions: int = 2  #: sessions needed in the recent window
    perf_min_baseline_sessions: int = 4
    perf_drop_pct: float = 5.0  #: EF or output-at-HR down ≥ 5 % (heuristic, Friel scale)
    decoupling_high_pct: float = 5.0  #: aerobic decoupling > 5 % (Friel)
    srpe_rise_pct: float = 10.0  #: sRPE per external load up ≥ 10 % (heuristic)
    #: HR-based load per unit of external (power/pace) load up ≥ 10 %: working harder for
    #: the same numbers (heuristic; Bourdon 2017: internal vs external load)
    hr_external_rise_pct: float = 10.0
    # --- load context (PMC) -------------------------------------------------------
    ctl_days: float = 42.0  #: chronic time constant (Banister; PMC)
    atl_days: float = 7.0  #: acute time constant
    tsb_low_au: float = -30.0  #: TSB < −30: deep in the red (intervals.icu convention)
    acwr_high: float = 1.5  #: EWMA ACWR > 1.5: load spike (Gabbett 2016)
    reduced_load_frac: float = 0.8  #: 7-day mean load ≤ 80 % of the prior 28-day mean
    # --- stage rules --------------------------------------------------------------
    # evidence accumulation (CUSUM, Page 1954; statistical process control for athlete
    # monitoring, Sands et al. 2017): daily evidence e = Σ w·(deviation in SD units) of
    # today's ln rMSSD (down), resting HR (up), check-in composite (down) and session
    # markers; C = max(0, C + e − k); deep fatigue when C ≥ h (heuristic weights)
    #: the reference drift of the week's evidence in the return criteria (a week whose mean
    #: evidence is below k is not accumulating); the CUSUM's own drift is load-dependent,
    #: ``cusum_k_quiet`` … ``cusum_k_loaded`` below
    cusum_k: float = 0.5
    cusum_h: float = 5.0
    cusum_exit: float = 1.5  #: C is capped at this × h (so that it can come back down)
    cusum_w_hrv: float = 0.5
    cusum_w_rhr: float = 0.3
    cusum_w_wellness: float = 0.5
    cusum_w_perf: float = 0.3
    #: load context: an EWMA ACWR above ``cusum_load_acwr`` adds
    #: w·min((ACWR − cusum_load_acwr)/0.15, 2) to the day's evidence (heuristic)
    cusum_w_load: float = 0.0
    cusum_load_acwr: float = 1.2
    #: load-dependent drift of the CUSUM (science.md §4, "Evidence accumulation"):
    #: overreaching is the consequence of intensified training (Meeusen et al. 2013;
    #: Halson & Jeukendrup 2004), so a load spike is the context in which a modest
    #: sustained shift of the markers is read as accumulating fatigue. The day's drift
    #: runs linearly from ``cusum_k_quiet`` at an EWMA ACWR ≤ 1 (steady or falling load)
    #: to ``cusum_k_loaded`` at ACWR ≥ ``cusum_k_acwr`` (Williams et al. 2017 EWMA;
    #: 1.2 is inside Gabbett's 0.8-1.3 "sweet spot", i.e. a build, not a danger flag);
    #: equivalent to a higher prior probability of a change under load (a Bayesian
    #: reading of Page's CUSUM). Values chosen on both simulators
    #: (``benchmarks/staging_eval.py``; docs/evaluation.md), heuristic
    cusum_k_quiet: float = 0.9
    cusum_k_loaded: float = 0.05
    cusum_k_acwr: float = 1.2
    #: life-stress context of the drift (science.md §4): recovery depends on all the stress
    #: an athlete carries, not only training (Kellmann et al. 2018 consensus: the balance of
    #: stress, "training and competition load, other life demands", and recovery; Main &
    #: Grove 2009; Stults-Kolehmainen et al. 2014), so sustained life stress is a context
    #: like a build. The drift runs linearly from
    #: ``cusum_k_quiet`` at a 7-day mean stress-item z (against its usual before the last
    #: three weeks, as for the advice) of ``cusum_k_stress_onset_z`` to ``cusum_k_loaded`` at
    #: ``cusum_k_stress_z`` or below; the strongest context of the day sets the drift.
    #: Values chosen on both simulators (docs/evaluation.md §1), heuristic
    cusum_k_stress_onset_z: float = -1.5
    cusum_k_stress_z: float = -2.0
    #: surface fatigue needs some accumulated evidence too (C ≥ this), not one noisy day
    surface_evidence: float = 1.5
    #: floor of the HRV and RHR deviations in the evidence (SD units): a high HRV or a low
    #: resting HR is weak evidence of freshness (HRV saturation, Plews 2013; Le Meur 2013)
    cusum_objective_floor: float = -0.5
    persistence_gap_days: int = 2  #: unknown days bridged by persistence counters
    deep_hrv_run_days: int = 3  #: 7-day lnRMSSD below band ≥ 3 consecutive days (Plews)
    deep_alone_run_days: int = 14  #: 2 weeks below band count without support (heuristic)
    deep_persist_days: int = 1  #: days the deep condition must hold before it is staged
    surface_min_signals: int = 3  #: signals today for surface fatigue (one strong one suffices)
    surface_exit_days: int = 3  #: surface fatigue is left after 3 clear days (hysteresis)
    surface_repeat_days: int = 2  #: surface 2 days running → back off (Kiviniemi)
    nfor_reduced_load_days: int = 7  #: deep fatigue despite ≥ 7 days of reduced load
    nfor_min_days: int = 14  #: ... and fatigue present ≥ 14 days (Meeusen: weeks)
    ots_min_days: int = 42  #: NFOR criteria ≥ 6 weeks (Meeusen: 4-8 weeks, months)
    ots_nfor_days: int = 28  #: overreaching suspected for ≥ 4 weeks → OTS (Meeusen 4-8 wk)
    #: after this many days in an episode, a marker just outside its anchored range counts
    #: against return only while the week's evidence still accumulates (7-day mean e ≥ k):
    #: a settled, non-worsening state is not read as fatigue forever (heuristic)
    episode_settled_days: int = 14
    return_deep_days: int = 3  #: return criteria held 3 days to leave deep fatigue
    return_nfor_days: int = 7  #: ... 7 days to leave overreaching_suspected
    return_ots_days: int = 14  #: ... 14 days to leave overtraining_suspected
    ots_illness_episodes: int = 3  #: illness episodes in 90 days = red flag
    illness_symptom_free_days: int = 2  #: return after symptom-free days (heuristic)
    illness_long_days: int = 7  #: illness > 7 days → see a doctor (heuristic)
    #: bounds of the post-race window when it comes from the athlete's own history (the
    #: load rule is :func:`lydiard.domain.recovery.races.post_race_recovery_days`)
    race_recovery_min_days: int = 3
    race_recovery_max_days: int = 28
    hrv_kind: str | None = None  #: keep only readings of this kind ("morning"/"overnight")

    def __post_init__(self) -> None:
        for f in fields(self):
            value: Any = getattr(self, f.name)
            if isinstance(value, bool) or value is None or isinstance(value, str):
                continue
            if f.name.endswith(("_z", "_au", "_floor")) or f.name.startswith("cusum_w"):
                continue
            if value <= 0:
                raise InvalidInputError(f"{f.name} must be positive, got {value!r}", field=f.name)
        if self.cusum_k_acwr <= 1.0:
            raise InvalidInputError(
                "cusum_k_acwr must be above 1 (the ACWR of a steady load)", field="cusum_k_acwr"
            )
        if not self.cusum_k_stress_z < self.cusum_k_stress_onset_z <= 0.0:
            raise InvalidInputError(
                "cusum_k_stress_z must be below cusum_k_stress_onset_z, which must be at most 0 "
                "(a stress rating below the athlete's usual)",
                field="cusum_k_stress_z",
            )
        if self.min_valid_days > self.window_days:
            raise InvalidInputError(
                "min_valid_days cannot exceed window_days", field="min_valid_days"
            )
        if self.hrv_kind not in (None, "morning", "overnight"):
            raise InvalidInputError(f"unknown hrv_kind {self.hrv_kind!r}", field="hrv_kind")


_DEFAULT = BaselineConfig()
_FIELD_NAMES = frozenset(f.name for f in fields(BaselineConfig))


def config_from_settings(settings: Mapping[str, Any] | None) -> BaselineConfig:
    """The :class:`BaselineConfig` of an athlete's stored baseline settings (the one conversion).

    ``settings``: field name → value (the ``baseline_config`` JSON of the athletes table,
    e.g. ``{"hrv_baseline_days": 30, "hrv_kind": "morning"}``); ``None`` or ``{}`` is the
    default configuration. A ``None`` value keeps the field's default. Equal settings give
    equal (hashable) configurations, so callers may group athletes by them. Raises
    :class:`~lydiard.errors.InvalidInputError` for an unknown field or an invalid value.
    """
    if not settings:
        return _DEFAULT
    unknown = sorted(set(settings) - _FIELD_NAMES)
    if unknown:
        raise InvalidInputError(f"unknown baseline setting(s) {unknown}", field=unknown[0])
    values = {k: v for k, v in settings.items() if v is not None}
    for name, value in values.items():
        default = getattr(_DEFAULT, name)
        if isinstance(default, int) and not isinstance(default, bool) and (
                isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidInputError(f"{name} must be a whole number, got {value!r}", field=name)
        if isinstance(default, float) and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise InvalidInputError(f"{name} must be a number, got {value!r}", field=name)
    return replace(_DEFAULT, **values) if values else _DEFAULT


def other_kind(hrv_kind: Any, config: BaselineConfig) -> BoolArray:
    """Where a reading's kind ("morning"/"overnight", None when unknown) is not ``config.hrv_kind``:
    those readings are not used (all False when ``config.hrv_kind`` is None: every reading counts)."""
    kinds = np.asarray(hrv_kind, dtype=object)
    if config.hrv_kind is None:
        return np.zeros(kinds.shape, dtype=bool)
    return np.asarray(kinds != config.hrv_kind, dtype=bool)


def readings_of_kind(rmssd_ms: Any, hrv_kind: Any, config: BaselineConfig) -> FloatArray:
    """``rmssd_ms`` (ms, as float) with the readings :func:`other_kind` rules out missing (NaN)."""
    values = np.array(rmssd_ms, dtype=np.float64)
    values[other_kind(hrv_kind, config)] = np.nan
    return values


def as_matrix(value: Any, *, field: str, copy: bool = True) -> FloatArray:
    """Return a float (athletes × days) copy of ``value``; a 1-D input becomes one row.

    Booleans become 0/1, ``None`` entries NaN. With ``copy=False`` a float64 array is
    returned as is (a view, for read-only use). Raises
    :class:`~lydiard.errors.InvalidInputError` for other shapes.
    """
    x = np.array(value, dtype=np.float64) if copy else np.asarray(value, dtype=np.float64)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.ndim != 2:
        raise InvalidInputError(f"{field} must be 1-D or (athletes × days), got {x.shape}", field=field)
    return x


@dataclass(frozen=True, slots=True)
class RollingStats:
    """Count of valid values, mean and sample SD (ddof = 1) of a rolling window."""

    count: NDArray[np.int32]
    mean: FloatArray
    sd: FloatArray


def _window_diff(prefix: NDArray[Any], *, window_days: int, lag_days: int) -> NDArray[Any]:
    """``prefix[hi(d)] − prefix[lo(d)]`` with ``hi = d − lag + 1``, ``lo = hi − window`` (clipped).

    Slices instead of gathers, one write per element: ``prefix`` has one more column than
    there are days and ``prefix[:, 0] == 0``.
    """
    n_rows, n_cols = prefix.shape
    n_days = n_cols - 1
    out = np.empty((n_rows, n_days), dtype=prefix.dtype)
    lag = min(max(lag_days, 0), n_days)
    out[:, :lag] = 0
    d1 = min(lag_days + window_days, n_days)
    if d1 > lag:  # the window still reaches back to day 0: lo = 0, prefix[0] = 0
        out[:, lag:d1] = prefix[:, 1 : d1 - lag_days + 1]
    if d1 < n_days:
        np.subtract(
            prefix[:, d1 - lag_days + 1 : n_days - lag_days + 1],
            prefix[:, 1 : n_days - d1 + 1],
            out=out[:, d1:],
        )
    return out


class Series:
    """Prefix sums of one marker (athletes × days), reused by every window over it.

    Parameters
    ----------
    x : ndarray, shape (athletes, days)
        Values; NaN = missing.
    squares : bool
        Also keep the prefix sum of squares (needed for SDs).
    """

    def __init__(self, x: FloatArray, *, squares: bool = False) -> None:
        n_rows, n_days = x.shape
        valid = np.isfinite(x)
        # a causal per-row shift (first valid value) keeps the sums of squares accurate
        off = x[np.arange(n_rows), np.argmax(valid, axis=1)] if n_days else np.zeros(n_rows)
        self.offset = np.where(np.isfinite(off), off, 0.0)[:, np.newaxis]
        xv = np.subtract(x, self.offset)
        np.copyto(xv, 0.0, where=~valid)
        self.n_days = n_days
        self.c = np.zeros((n_rows, n_days + 1), dtype=np.int32)
        np.cumsum(valid, axis=1, out=self.c[:, 1:])
        self.s = np.zeros((n_rows, n_days + 1))
        np.cumsum(xv, axis=1, out=self.s[:, 1:])
        self.q: FloatArray | None = None
        if squares:
            self.q = np.zeros((n_rows, n_days + 1))
            np.multiply(xv, xv, out=xv)
            np.cumsum(xv, axis=1, out=self.q[:, 1:])

    @property
    def ever(self) -> BoolArray:
        """Whether any value has been seen on or before each day."""
        out: BoolArray = self.c[:, 1:] > 0
        return out

    def count(self, *, window_days: int, lag_days: int = 0) -> NDArray[np.int32]:
        """Valid values in the window."""
        out: NDArray[np.int32] = _window_diff(self.c, window_days=window_days, lag_days=lag_days)
        return out

    def window(
        self, *, window_days: int, lag_days: int = 0, min_count: int = 1, sd: bool = False
    ) -> RollingStats:
        """Rolling count, mean (NaN below ``min_count``) and SD (if asked) over a window."""
        n = _window_diff(self.c, window_days=window_days, lag_days=lag_days)
        sm = _window_diff(self.s, window_days=window_days, lag_days=lag_days)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_rel = np.divide(sm, n)
        mean = np.add(mean_rel, self.offset)
        np.copyto(mean, np.nan, where=n < min_count)
        if sd and self.q is not None:
            sq = _window_diff(self.q, window_days=window_days, lag_days=lag_days)
            np.multiply(sm, mean_rel, out=sm)
            sq -= sm
            with np.errstate(invalid="ignore", divide="ignore"):
                sq /= n - 1
            np.clip(sq, 0.0, None, out=sq)
            np.sqrt(sq, out=sq)
            np.copyto(sq, np.nan, where=n < max(min_count, 2))
            sdv = sq
        else:
            sdv = np.full_like(mean, np.nan)
        return RollingStats(count=n, mean=mean, sd=sdv)


def rolling_stats(
    x: FloatArray,
    *,
    window_days: int,
    lag_days: int = 0,
    min_count: int = 1,
) -> RollingStats:
    """NaN-aware rolling count, mean and SD along the day axis, causal.

    The window for day ``d`` covers days ``d - lag_days - window_days + 1 .. d - lag_days``.

    Parameters
    ----------
    x : ndarray, shape (athletes, days)
        Values; NaN = missing.
    window_days : int
        Window length in days.
    lag_days : int, default 0
        How many days before ``d`` the window ends (0 = includes day ``d``).
    min_count : int, default 1
        Mean and SD are NaN with fewer valid values (SD needs at least 2).

    Returns
    -------
    RollingStats
    """
    return Series(x, squares=True).window(
        window_days=window_days, lag_days=lag_days, min_count=min_count, sd=True
    )


def rolling_count_true(b: BoolArray, *, window_days: int) -> NDArray[np.int32]:
    """How many of the last ``window_days`` days (day ``d`` included) are True."""
    c = np.zeros((b.shape[0], b.shape[1] + 1), dtype=np.int32)
    np.cumsum(b, axis=1, out=c[:, 1:])
    out: NDArray[np.int32] = _window_diff(c, window_days=window_days, lag_days=0)
    return out


def run_length(
    cond: BoolArray, known: BoolArray | None = None, *, gap_days: int = 0
) -> NDArray[np.int32]:
    """Consecutive days, ending at ``d``, on which ``cond`` holds.

    Days where ``known`` is False do not break a run: they are bridged (counted as part
    of it) for at most ``gap_days`` days after the last known day, so a missing morning
    does not reset "days out of range". Causal.

    Parameters
    ----------
    cond : ndarray of bool, shape (athletes, days)
    known : ndarray of bool, optional
        Whether ``cond`` could be evaluated that day (default: every day).
    gap_days : int
        Longest run of unknown days that is bridged.

    Returns
    -------
    ndarray of int32
        Run length in days (0 when ``cond`` does not hold or is stale).

    Examples
    --------
    >>> run_length(np.array([[True, True, False, True]])).tolist()
    [[1, 2, 0, 1]]
    """
    idx = np.arange(cond.shape[1], dtype=np.int32)
    minus = np.int32(-1)
    if known is None:
        last_false = np.maximum.accumulate(np.where(cond, minus, idx), axis=1)
        out: NDArray[np.int32] = np.where(cond, idx - last_false, 0).astype(np.int32)
        return out
    # the last known day and its condition in one scan: key = 2·day + cond (−1 = none yet)
    key = np.where(known, 2 * idx + cond, minus)
    np.maximum.accumulate(key, axis=1, out=key)
    # the state carried forward from the last known day is alive for gap_days unknown days
    alive = (key & 1).astype(bool)  # key = −1 has its low bit set: excluded just below
    alive &= key >= 0
    alive &= idx - (key >> 1) <= gap_days
    starts = cond & known
    starts[:, 1:] &= ~alive[:, :-1]
    last_start = np.where(starts, idx, minus)
    np.maximum.accumulate(last_start, axis=1, out=last_start)
    last_start -= 1
    out = np.subtract(idx, last_start, dtype=np.int32)
    np.copyto(out, 0, where=~alive)
    return out


def zscore(value: FloatArray, mean: FloatArray, sd: FloatArray, *, sd_floor: float) -> FloatArray:
    """``(value − mean) / max(sd, sd_floor)``; NaN where any input is missing."""
    with np.errstate(invalid="ignore"):
        out: FloatArray = (value - mean) / np.maximum(sd, sd_floor)
    return out
