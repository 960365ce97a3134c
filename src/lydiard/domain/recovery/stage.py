"""Fatigue staging as one vectorised kernel over (athletes × days) matrices.

:func:`stage_matrix` turns daily inputs into stage codes, a confidence, a continuous
risk score, a recommendation code and the baseline arrays behind them. It is the single
implementation: :func:`lydiard.domain.recovery.assess.assess_days` calls it on one row.

Stages (codes, :class:`Stage`), from ``docs/science.md`` §3-4 (Meeusen et al. 2013):

=====  ==========================  =====================================================
code   name                        rule (all thresholds in :class:`BaselineConfig`)
=====  ==========================  =====================================================
 -1    calibrating                 no usable HRV, RHR or wellness baseline yet
  0    normal                      no episode, no surface call
  1    surface_fatigue             ≥ 3 acute signals today (or a strong one plus one
                                   more) backed by some accumulated evidence; left after
                                   3 clear days
  2    deep_fatigue                an episode opens: accumulated evidence (CUSUM of the
                                   day's HRV, RHR, check-in and session-marker deviations,
                                   with a drift that is small under a load build,
                                   sustained life stress or a performance decrement:
                                   Meeusen 2013; Kellmann 2018) ≥ h; or HRV
                                   "saturation" (above band, RHR down, check-in
                                   low); or ≥ 2 session markers worse (working harder for
                                   the same numbers); or 14 days below the HRV band
  3    overreaching_suspected      ≥ 14 days into the episode, markers out of their
                                   anchored ranges on ≥ 10 of 14 days, ≥ 7 days of load
                                   ≤ 80 % of the pre-episode chronic load
  4    overtraining_suspected      overreaching for 28 days, or ≥ 3 illness episodes in
                                   90 days during an episode
=====  ==========================  =====================================================

During an episode the references are anchored at its start, and the episode ends only
when its return criteria have held for their days (:mod:`._episode_kernel`). Races and
travel do not open episodes (their low markers are expected; the advice names them).
Persistence counters bridge up to ``persistence_gap_days`` days without a reading.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from enum import IntEnum
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lydiard.domain.daily import CHECKIN_ITEMS, PLAUSIBLE_RANGES
from lydiard.domain.hrv import ln_rmssd
from lydiard.domain.load.pmc import daily_metrics_matrix
from lydiard.domain.recovery._episode_kernel import FLOAT_OUTPUTS, INT_OUTPUTS, episode_pass
from lydiard.domain.recovery.baselines import (
    BaselineConfig,
    BoolArray,
    FloatArray,
    IntArray,
    Series,
    as_matrix,
    rolling_count_true,
    run_length,
    zscore,
)
from lydiard.domain.recovery.races import post_race_recovery_days
from lydiard.domain.recovery.recommend import recommend_matrix
from lydiard.errors import InvalidInputError

__all__ = [
    "INPUT_COLUMNS",
    "STAGE_NAMES",
    "Stage",
    "stage_matrix",
]


class Stage(IntEnum):
    """Fatigue stage codes; higher = more serious (``calibrating`` is −1)."""

    CALIBRATING = -1
    NORMAL = 0
    SURFACE_FATIGUE = 1
    DEEP_FATIGUE = 2
    OVERREACHING_SUSPECTED = 3
    OVERTRAINING_SUSPECTED = 4

    @property
    def label(self) -> str:
        """The public name, e.g. ``"deep_fatigue"``."""
        return self.name.lower()


#: Public stage names by code.
STAGE_NAMES: dict[int, str] = {int(s): s.label for s in Stage}

#: Input columns understood by :func:`stage_matrix` (all optional).
INPUT_COLUMNS: tuple[str, ...] = (
    "load_au",
    "rmssd_ms",
    "rhr_bpm",
    "sleep_h",
    *CHECKIN_ITEMS,
    "readiness",
    "illness",
    "injury",
    "travel",
    "ef",
    "decoupling_pct",
    "perf_at_hr",
    "srpe_per_external",
    "race",
    "hr_external_load_ratio",
)

#: Accepted input ranges: the importers' plausible ranges (so anything stored can be
#: assessed) and a daily load of at most 5000 load_au.
_RANGES: dict[str, tuple[float, float]] = {
    **{k: v for k, v in PLAUSIBLE_RANGES.items() if k in INPUT_COLUMNS},
    "load_au": (0.0, 5000.0),
    "hr_external_load_ratio": (0.0, 100.0),
}
#: The inputs that have an accepted range (what :func:`mask_implausible` looks at).
RANGED_INPUTS: tuple[str, ...] = tuple(_RANGES)
#: The check-in items that fall first with training fatigue (docs/science.md §4): the
#: staging rules read their z-scores, and the stress item must stand out from them to be
#: named as the cause.
TRAINING_ITEMS: tuple[str, ...] = ("energy", "soreness")


def mask_implausible(inputs: dict[str, FloatArray]) -> dict[str, int]:
    """Set the values of ``inputs`` outside the accepted ranges to NaN (missing), in place.

    For readers of stored data (the per-athlete and batch recomputes): one implausible
    value written by an older version or a bulk load must not stop an athlete's or a
    chunk's recompute. Returns the number of values masked per column (only those > 0);
    callers log it. :func:`stage_matrix` itself still raises on such values.
    """
    masked: dict[str, int] = {}
    for name, x in inputs.items():
        bad = _out_of_range(name, x)
        if bad is not None:
            x[bad] = np.nan
            masked[name] = int(np.count_nonzero(bad))
    return masked


def _out_of_range(name: str, x: FloatArray) -> NDArray[np.bool_] | None:
    """Where ``x`` lies outside the accepted range of input ``name`` (±inf included; NaN,
    i.e. missing, is not); None when nowhere (or ``name`` has no range)."""
    if name not in _RANGES:
        return None
    low, high = _RANGES[name]
    # NaN compares False; ±inf falls outside the (finite) range: two reductions suffice
    if not (np.any(x < low) or np.any(x > high)):
        return None
    bad: NDArray[np.bool_] = (x < low) | (x > high)
    return bad


def _validate(name: str, x: FloatArray) -> None:
    bad = _out_of_range(name, x)
    if bad is not None:
        low, high = _RANGES[name]
        value = float(x[bad].flat[0])
        raise InvalidInputError(
            f"{name} value {value:g} is outside [{low:g}, {high:g}]", field=name, value=value
        )


def _normalise_inputs(inputs: dict[str, Any]) -> tuple[dict[str, FloatArray], tuple[int, int]]:
    unknown = set(inputs) - set(INPUT_COLUMNS)
    if unknown:
        raise InvalidInputError(f"unknown input columns: {sorted(unknown)}", field=sorted(unknown)[0])
    out: dict[str, FloatArray] = {}
    shape: tuple[int, int] | None = None
    for name in INPUT_COLUMNS:
        if name not in inputs or inputs[name] is None:
            continue
        x = as_matrix(inputs[name], field=name, copy=False)
        if shape is None:
            shape = (int(x.shape[0]), int(x.shape[1]))
        elif x.shape != shape:
            raise InvalidInputError(f"{name} has shape {x.shape}, expected {shape}", field=name)
        _validate(name, x)
        out[name] = x
    if shape is None:
        raise InvalidInputError("no input column given", field=None)
    return out, shape


def _pmc(load_au: FloatArray, cfg: BaselineConfig) -> dict[str, FloatArray]:
    """CTL/ATL (``k = 1 − exp(−1/N)``), TSB going into the day, EWMA ACWR.

    Delegates to :func:`lydiard.domain.load.pmc.daily_metrics_matrix` (the project's one
    PMC kernel): ``tsb[d] = ctl[d−1] − atl[d−1]``; EWMA ACWR with ``λ = 2/(N+1)``,
    N = 7 and 28 (Williams et al. 2017). Missing load counts as 0.
    """
    res = daily_metrics_matrix(
        load_au, ctl_days=cfg.ctl_days, atl_days=cfg.atl_days, convention="exp"
    )
    return {k: np.ascontiguousarray(res[k]) for k in ("ctl", "atl", "tsb", "acwr_ewma")}


def _change_pct(
    x: FloatArray | None, cfg: BaselineConfig
) -> tuple[FloatArray, FloatArray, FloatArray, IntArray] | None:
    """Recent mean (14 d), baseline mean (60 d before that), % change and recent count of a
    session marker."""
    if x is None:
        return None
    ser = Series(x)
    recent = ser.window(window_days=cfg.perf_window_days, min_count=cfg.perf_min_sessions)
    base = ser.window(
        window_days=cfg.perf_baseline_days,
        lag_days=cfg.perf_window_days,
        min_count=cfg.perf_min_baseline_sessions,
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = 100.0 * (recent.mean / base.mean - 1.0)
    return recent.mean, base.mean, pct, recent.count


def _episodes(
    cfg: BaselineConfig,
    n: tuple[int, int],
    *,
    floats: tuple[FloatArray, ...],
    perf: tuple[list[FloatArray], list[FloatArray], list[float], list[float]],
    flags: tuple[Any, ...],
) -> dict[str, Any]:
    """Run the compiled episode pass (:mod:`._episode_kernel`) and name its outputs."""
    fin = np.empty((len(floats), *n))
    for i, f in enumerate(floats):
        fin[i] = f
    rec, base, sign, thr = perf
    k = len(rec)
    p_rec = np.empty((k, *n))
    p_base = np.empty((k, *n))
    for i in range(k):
        p_rec[i] = rec[i]
        p_base[i] = base[i]
    fl = np.empty((len(flags), *n), dtype=np.int8)
    for i, f in enumerate(flags):
        fl[i] = f
    ipar = np.array(
        [
            cfg.deep_hrv_run_days,
            cfg.deep_alone_run_days,
            cfg.persistence_gap_days,
            cfg.return_deep_days,
            cfg.return_nfor_days,
            cfg.return_ots_days,
            cfg.nfor_min_days,
            cfg.nfor_reduced_load_days,
            cfg.ots_nfor_days,
            cfg.ots_illness_episodes,
            cfg.race_recovery_min_days,
            cfg.race_recovery_max_days,
            cfg.wellness_low_days,
            cfg.deep_persist_days,
            cfg.surface_exit_days,
            cfg.episode_settled_days,
        ],
        dtype=np.int64,
    )
    fpar = np.array(
        [
            cfg.hrv_band_sd,
            cfg.rhr_high_bpm,
            cfg.sleep_deficit_h,
            cfg.wellness_low_z,
            cfg.wellness_index_sd_floor,
            cfg.reduced_load_frac,
            cfg.decoupling_high_pct,
            cfg.cusum_k,
            cfg.cusum_h,
            cfg.cusum_exit,
            cfg.cusum_w_hrv,
            cfg.cusum_w_rhr,
            cfg.cusum_w_wellness,
            cfg.cusum_w_perf,
            cfg.surface_evidence,
            cfg.cusum_objective_floor,
            cfg.cusum_w_load,
            cfg.cusum_load_acwr,
            cfg.cusum_k_loaded,
            cfg.cusum_k_acwr,
            cfg.cusum_k_quiet,
            cfg.cusum_k_stress_onset_z,
            cfg.cusum_k_stress_z,
        ]
    )
    iout = np.empty((len(INT_OUTPUTS), *n), dtype=np.int32)
    fout = np.empty((len(FLOAT_OUTPUTS), *n))
    episode_pass(
        fin, p_rec, p_base, np.array(sign, dtype=np.float64), np.array(thr, dtype=np.float64),
        fl, ipar, fpar, iout, fout,
    )
    out: dict[str, Any] = {name: iout[i] for i, name in enumerate(INT_OUTPUTS)}
    out.update({name: fout[i] for i, name in enumerate(FLOAT_OUTPUTS)})
    return out


def _days_remaining(base_n: IntArray, pending: IntArray, need: int, lag: int) -> IntArray:
    """Days until a baseline holds ``need`` readings, if readings come daily from tomorrow."""
    short = need - base_n
    rem = np.where(short > pending, lag + short - pending, lag - pending + short)
    out: IntArray = np.where(short <= 0, 0, np.maximum(rem, 1))
    return out


def _block(
    x: dict[str, FloatArray], n: tuple[int, int], cfg: BaselineConfig, detail: bool
) -> dict[str, Any]:
    nan = np.full(n, np.nan)
    false = np.zeros(n, dtype=bool)
    w, lag, gap = cfg.window_days, cfg.baseline_lag_days, cfg.persistence_gap_days
    r: dict[str, Any] = {}

    # ---- load context -----------------------------------------------------------
    load = np.nan_to_num(x.get("load_au", np.zeros(n)), nan=0.0)
    pmc = _pmc(load, cfg)
    r.update(pmc)
    load_s = Series(load)
    load_7d = load_s.window(window_days=w).mean
    load_prior = load_s.window(window_days=28, lag_days=w).mean
    with np.errstate(invalid="ignore"):
        load_ctx = (pmc["tsb"] < cfg.tsb_low_au) | (pmc["acwr_ewma"] > cfg.acwr_high)

    # ---- HRV -----------------------------------------------------------------------
    rmssd = x.get("rmssd_ms")
    ln = ln_rmssd(rmssd) if rmssd is not None else nan
    ln_s = Series(ln, squares=True)
    cur = ln_s.window(window_days=w, min_count=cfg.min_valid_days, sd=True)
    base = ln_s.window(
        window_days=cfg.hrv_baseline_days,
        lag_days=lag,
        min_count=cfg.hrv_min_baseline_days,
        sd=True,
    )
    hrv_ready = base.count >= cfg.hrv_min_baseline_days
    ln_7d = cur.mean
    half = cfg.hrv_band_sd * base.sd
    band_low, band_high = base.mean - half, base.mean + half
    hrv_known = hrv_ready & np.isfinite(ln_7d)
    with np.errstate(invalid="ignore"):
        hrv_below = hrv_known & (ln_7d < band_low)
        hrv_above = hrv_known & (ln_7d > band_high)
        hrv_today_low = hrv_ready & (ln < base.mean - cfg.hrv_today_low_sd * base.sd)
    hrv_below_run = run_length(hrv_below, hrv_known, gap_days=gap)
    hrv_above_run = run_length(hrv_above, hrv_known, gap_days=gap)
    # CV of ln rMSSD over 7 days (Flatt & Esco 2015), vs its own lagged baseline
    with np.errstate(invalid="ignore", divide="ignore"):
        cv_7d = np.where(cur.count >= cfg.cv_min_valid_days, 100.0 * cur.sd / cur.mean, np.nan)
    cv_base = Series(cv_7d, squares=True).window(
        window_days=cfg.hrv_baseline_days,
        lag_days=lag,
        min_count=cfg.hrv_min_baseline_days,
        sd=True,
    )
    cv_high = cv_base.mean + cfg.cv_swc_sd * cv_base.sd
    r.update(
        ln_rmssd=ln,
        ln_rmssd_7d=ln_7d,
        hrv_valid_days_7d=cur.count,
        hrv_base_mean=base.mean,
        hrv_base_sd=base.sd,
        hrv_band_low=band_low,
        hrv_band_high=band_high,
        hrv_below_run=hrv_below_run,
        hrv_above_run=hrv_above_run,
        cv_ln_rmssd_7d=cv_7d,
        cv_ln_rmssd_high=cv_high,
    )
    if detail:  # evidence only: the stage rules do not use these
        with np.errstate(invalid="ignore"):
            cv_up = cv_7d > cv_high
        r["cv_up_run"] = run_length(
            cv_up, np.isfinite(cv_7d) & np.isfinite(cv_high), gap_days=gap
        )
        r["hrv_days_remaining"] = np.where(
            ln_s.ever,
            _days_remaining(base.count, cur.count, cfg.hrv_min_baseline_days, lag),
            -1,
        )

    # ---- resting HR ----------------------------------------------------------------
    rhr = x.get("rhr_bpm", nan)
    rhr_s = Series(rhr, squares=True)
    rhr_cur = rhr_s.window(window_days=w, min_count=cfg.min_valid_days)
    rhr_b = rhr_s.window(
        window_days=cfg.rhr_baseline_days, lag_days=lag, min_count=cfg.rhr_min_baseline_days,
        sd=True,
    )
    rhr_ready = rhr_b.count >= cfg.rhr_min_baseline_days
    rhr_known = rhr_ready & np.isfinite(rhr_cur.mean)
    with np.errstate(invalid="ignore"):
        rhr_high = rhr_known & (rhr_cur.mean >= rhr_b.mean + cfg.rhr_high_bpm)
        rhr_low = rhr_known & (rhr_cur.mean < rhr_b.mean)
        rhr_today_high = rhr_ready & (rhr >= rhr_b.mean + cfg.rhr_high_bpm)
    rhr_high_run = run_length(rhr_high, rhr_known, gap_days=gap)
    r.update(
        rhr_bpm=np.array(rhr) if detail else rhr,  # detail: never alias the caller's input
        rhr_7d=rhr_cur.mean,
        rhr_base=rhr_b.mean,
        rhr_high_run=rhr_high_run,
    )
    if detail:
        r["rhr_days_remaining"] = np.where(
            rhr_s.ever,
            _days_remaining(rhr_b.count, rhr_cur.count, cfg.rhr_min_baseline_days, lag),
            -1,
        )

    # ---- sleep ---------------------------------------------------------------------
    sleep = x.get("sleep_h", nan)
    sl_s = Series(sleep)
    sl_cur = sl_s.window(window_days=w, min_count=cfg.min_valid_days)
    sl_b = sl_s.window(
        window_days=cfg.sleep_baseline_days,
        lag_days=lag,
        min_count=cfg.sleep_min_baseline_days,
    )
    with np.errstate(invalid="ignore"):
        sleep_low = sl_cur.mean <= sl_b.mean - cfg.sleep_deficit_h
    sleep_known = np.isfinite(sl_cur.mean) & np.isfinite(sl_b.mean)
    r.update(sleep_h_7d=sl_cur.mean, sleep_h_base=sl_b.mean)
    if detail:
        r["sleep_low_run"] = run_length(sleep_low, sleep_known, gap_days=gap)

    # ---- wellness ------------------------------------------------------------------
    total = np.zeros(n)
    count = np.zeros(n)
    readiness_z: FloatArray | None = None
    rd = x.get("readiness")
    if rd is not None:
        rd_b = Series(rd, squares=True).window(
            window_days=cfg.wellness_baseline_days,
            lag_days=1,
            min_count=cfg.wellness_min_baseline_days,
            sd=True,
        )
        readiness_z = zscore(rd, rd_b.mean, rd_b.sd, sd_floor=cfg.readiness_sd_floor)
        r["readiness_z"] = readiness_z
    for item in (*CHECKIN_ITEMS, "readiness"):
        v = x.get(item)
        if v is None:
            continue
        if item == "readiness":
            v = 1.0 + 0.4 * v  # 0-10 → 1-5 (lydiard.domain.scales.readiness_to_five)
        ok = np.isfinite(v)
        total += np.where(ok, v, 0.0)
        count += ok
        # the staging rules use the training items' z-scores; the others are evidence
        if item in CHECKIN_ITEMS and (detail or item in TRAINING_ITEMS):
            st = Series(v, squares=True).window(
                window_days=cfg.wellness_baseline_days,
                lag_days=lag,
                min_count=cfg.wellness_min_baseline_days,
                sd=True,
            )
            z_item = zscore(v, st.mean, st.sd, sd_floor=cfg.wellness_sd_floor)
            r[f"{item}_z"] = z_item
            if detail:
                r[f"{item}_low_run"] = run_length(
                    z_item <= cfg.wellness_low_z, np.isfinite(z_item), gap_days=gap
                )
    with np.errstate(invalid="ignore", divide="ignore"):
        index = np.where(count > 0, total / count, np.nan)
    idx_s = Series(index, squares=True)
    wb = idx_s.window(
        window_days=cfg.wellness_baseline_days,
        lag_days=lag,
        min_count=cfg.wellness_min_baseline_days,
        sd=True,
    )
    well_ready = wb.count >= cfg.wellness_min_baseline_days
    comp_z = zscore(index, wb.mean, wb.sd, sd_floor=cfg.wellness_index_sd_floor)
    comp_known = np.isfinite(comp_z)
    with np.errstate(invalid="ignore"):
        well_low = comp_known & (comp_z <= cfg.wellness_low_z)
    well_low_days = rolling_count_true(well_low, window_days=w)
    comp_s = Series(comp_z)
    well_7d_stats = comp_s.window(window_days=w, min_count=3)
    well_7d = well_7d_stats.mean
    well_3d = comp_s.window(window_days=3, min_count=2).mean
    with np.errstate(invalid="ignore"):
        items_low_today = false.copy()
        for item in TRAINING_ITEMS:
            if f"{item}_z" in r:
                items_low_today |= r[f"{item}_z"] <= cfg.wellness_low_z
    r.update(
        wellness_index=index,
        wellness_z=comp_z,
        wellness_z_7d=well_7d,
        wellness_low_days_7d=well_low_days,
    )
    if detail:
        r["wellness_low_run"] = run_length(well_low, comp_known, gap_days=gap)
        r["wellness_days_remaining"] = np.where(
            idx_s.ever,
            _days_remaining(
                wb.count,
                idx_s.count(window_days=lag),
                cfg.wellness_min_baseline_days,
                lag,
            ),
            -1,
        )

    # ---- performance markers -------------------------------------------------------
    perf_known = false.copy()
    perf_sessions = np.zeros(n, dtype=np.int64)
    perf_rec: list[FloatArray] = []
    perf_base: list[FloatArray] = []
    perf_sign: list[float] = []
    perf_thr: list[float] = []
    for name, sign, thr in (
        ("ef", -1.0, cfg.perf_drop_pct),
        ("perf_at_hr", -1.0, cfg.perf_drop_pct),
        ("srpe_per_external", 1.0, cfg.srpe_rise_pct),
        ("hr_external_load_ratio", 1.0, cfg.hr_external_rise_pct),
    ):
        res = _change_pct(x.get(name), cfg)
        if res is None:
            continue
        rec_mean, base_mean, pct, cnt = res
        r[f"{name}_change_pct"] = pct
        perf_rec.append(rec_mean)
        perf_base.append(base_mean)
        perf_sign.append(sign)
        perf_thr.append(thr)
        perf_known |= np.isfinite(pct)
        perf_sessions = np.maximum(perf_sessions, cnt)
    dec = x.get("decoupling_pct")
    dec_recent = nan
    if dec is not None:
        dec_recent = Series(dec).window(
            window_days=cfg.perf_window_days, min_count=cfg.perf_min_sessions
        ).mean
        r["decoupling_pct_recent"] = dec_recent
        perf_known |= np.isfinite(dec_recent)

    # ---- surface fatigue: a daily call against the rolling references ---------------
    with np.errstate(invalid="ignore"):
        signals = (
            hrv_today_low.astype(np.int8)
            + rhr_today_high
            + items_low_today
            + well_low
            + (hrv_below | (hrv_above & rhr_low))
        )
        strong = (ln < base.mean - 2.0 * cfg.hrv_today_low_sd * base.sd) | (
            comp_z <= cfg.wellness_red_z
        )
        # one strong signal (today's ln rMSSD 2 SD low, or a "red" check-in) needs one more
        raw_surface = (signals >= cfg.surface_min_signals) | (strong & (signals >= 2))
    r["surface_signals"] = signals

    ill = np.nan_to_num(x.get("illness", np.zeros(n)), nan=0.0) > 0.5
    ill_prev = np.zeros_like(ill)
    ill_prev[:, 1:] = ill[:, :-1]
    episodes_90 = rolling_count_true(ill & ~ill_prev, window_days=90)
    race = np.nan_to_num(x.get("race", np.zeros(n)), nan=0.0) > 0.5
    travel = np.nan_to_num(x.get("travel", np.zeros(n)), nan=0.0) > 0.5
    travel_recent = rolling_count_true(travel, window_days=cfg.travel_window_days) > 0
    calibrating = ~(hrv_ready | rhr_ready | well_ready)

    # ---- life stress: the stress item against its usual before the last three weeks (a
    # stressful spell must not become its own reference), as a 7-day mean. It is a context
    # of the evidence (the drift k, in the episode pass) and names the cause in the advice
    # when training is unchanged.
    stress = x.get("stress")
    stress_7 = nan
    stress_driver = false.copy()
    if stress is not None:
        st = Series(stress, squares=True).window(
            window_days=cfg.wellness_baseline_days, lag_days=3 * lag,
            min_count=cfg.wellness_min_baseline_days, sd=True,
        )
        stress_z = zscore(stress, st.mean, st.sd, sd_floor=cfg.wellness_sd_floor)
        stress_7 = Series(stress_z).window(window_days=w, min_count=3).mean
        r["stress_z_7d"] = stress_7
        with np.errstate(invalid="ignore"):
            load_normal = ~(load_7d > cfg.life_stress_load_frac * load_prior)
            stress_driver = (stress_7 <= cfg.wellness_low_z) & load_normal
            # ... and it stands out from the items that fall first with training fatigue
            # (energy, soreness): sources of stress apart from its symptoms, as the DALDA
            # does (Rushall 1990). Without those items, the stress item alone decides.
            body = [r[f"{i}_z"] for i in TRAINING_ITEMS if f"{i}_z" in r]
            if body:
                stacked = np.stack(body)
                known = np.isfinite(stacked)
                with np.errstate(invalid="ignore", divide="ignore"):
                    body_z = np.where(known, stacked, 0.0).sum(axis=0) / known.sum(axis=0)
                body_7 = Series(body_z).window(window_days=w, min_count=3).mean
                stress_driver &= ~(stress_7 - body_7 > -cfg.life_stress_item_gap_z)

    # ---- episodes: anchoring, hysteresis, NFOR/OTS (compiled day-by-day pass) -----
    ep = _episodes(
        cfg,
        n,
        floats=(
            ln_7d, base.mean, base.sd, rhr_cur.mean, rhr_b.mean,
            idx_s.window(window_days=w, min_count=3).mean, index, wb.mean, wb.sd,
            sl_cur.mean, sl_b.mean, load_7d, load_prior, pmc["tsb"], dec_recent,
            post_race_recovery_days(load), ln, rhr, rhr_b.sd, pmc["acwr_ewma"], stress_7,
        ),
        perf=(perf_rec, perf_base, perf_sign, perf_thr),
        flags=(race, travel_recent, ill, raw_surface, calibrating, np.minimum(episodes_90, 100)),
    )
    stage = ep["stage"].astype(np.int8)
    hrv_below_run = ep["hrv_below_run"]
    r.update(ep)
    r["hrv_band_low"], r["hrv_band_high"] = ep["hrv_band_low"], ep["hrv_band_high"]
    r["rhr_base"] = ep["rhr_base"]
    well_7d = ep["wellness_z_7d"]
    r["wellness_z_7d"] = well_7d
    r["wellness_z"] = ep["wellness_z"]
    perf_down = ep["perf_down"] > 0
    with np.errstate(invalid="ignore"):
        rhr_high = rhr_known & (rhr_cur.mean >= ep["rhr_base"] + cfg.rhr_high_bpm)
    support = rhr_high.astype(np.int8) + (ep["well_deep"] > 0) + perf_down + sleep_low
    if detail:
        r["perf_down_run"] = run_length(perf_down, perf_known, gap_days=gap)
        r["rhr_high_run"] = ep["rhr_high_run"]
    r["stage"] = stage
    r["support_count"] = support
    r["surface_run"] = run_length(stage == Stage.SURFACE_FATIGUE)
    r["travel_recent"] = travel_recent
    r["illness_episodes_90d"] = episodes_90

    r["life_stress"] = stress_driver

    # ---- data vs feeling (Saw 2016) ------------------------------------------------
    obj_known = hrv_known | rhr_known
    obj_abn = hrv_below | (hrv_above & rhr_low) | rhr_high
    subj_known = np.isfinite(well_3d)
    with np.errstate(invalid="ignore"):
        subj_abn = well_3d <= cfg.wellness_low_z
    agree = np.where(obj_known & subj_known, (obj_abn == subj_abn).astype(np.int8), -1)
    r["data_feel_agree"] = agree.astype(np.int8)

    # ---- confidence ----------------------------------------------------------------
    def cover(valid_days: IntArray | FloatArray, ready: BoolArray) -> FloatArray:
        out: FloatArray = np.where(ready, np.minimum(valid_days / w, 1.0), 0.0)
        return out

    cov = (
        0.35 * cover(cur.count, hrv_ready)
        + 0.35 * cover(well_7d_stats.count, well_ready)
        + 0.15 * cover(rhr_cur.count, rhr_ready)
        + 0.05 * cover(sl_cur.count, np.isfinite(sl_b.mean))
        + 0.10 * np.minimum(perf_sessions / 3.0, 1.0)
    )
    agree_factor = np.where(agree == 1, 1.0, np.where(agree == 0, 0.8, 0.85))
    # how far calibration has gone (the best-advanced marker)
    progress = np.maximum.reduce(
        [
            np.minimum(base.count / cfg.hrv_min_baseline_days, 1.0),
            np.minimum(rhr_b.count / cfg.rhr_min_baseline_days, 1.0),
            np.minimum(wb.count / cfg.wellness_min_baseline_days, 1.0),
        ]
    )
    conf = np.where(calibrating, 0.5 * progress * np.minimum(cov + 0.3, 1.0), cov * agree_factor)
    r["confidence"] = np.clip(conf, 0.0, 1.0)

    # ---- continuous risk score (ranking / AUC, not a probability) -----------------
    with np.errstate(invalid="ignore", divide="ignore"):
        hrv_dev = np.clip((base.mean - ln_7d) / base.sd, 0.0, 4.0)
        well_dev = np.clip(-well_7d_stats.mean, -1.0, 3.0)
        rhr_dev = np.clip((rhr_cur.mean - rhr_b.mean) / cfg.rhr_high_bpm, 0.0, 3.0)
        sleep_dev = np.clip((sl_b.mean - sl_cur.mean) / cfg.sleep_deficit_h, 0.0, 3.0)
        cv_dev = np.clip((cv_7d - cv_base.mean) / cv_base.sd, 0.0, 3.0)
        # load context: the acute:chronic ratio above 1 (a descriptive load-spike measure,
        # not an injury risk; on PMData it ranks next-day readiness better than −TSB)
        load_dev = np.clip((pmc["acwr_ewma"] - 1.0) / (cfg.acwr_high - 1.0), 0.0, 3.0)
    perf_dev = perf_down.astype(np.float64)
    lin = (
        1.0 * np.nan_to_num(hrv_dev)
        + 1.2 * np.nan_to_num(well_dev)
        + 0.6 * np.nan_to_num(rhr_dev)
        + 0.4 * perf_dev
        + 0.2 * np.nan_to_num(cv_dev)
        + 0.3 * np.nan_to_num(sleep_dev)
        + 0.3 * np.nan_to_num(load_dev)
        + 0.5 * np.minimum(hrv_below_run / cfg.deep_alone_run_days, 1.0)
    )
    # how the athlete feels today (Saw 2016): readiness and the check-in, both vs their own
    # 28-day normal, unclipped so that the ranking of ordinary days is kept
    feel_today = np.nan_to_num(np.clip(-comp_z, -2.0, 3.0))
    if readiness_z is not None:
        feel_today = feel_today + np.nan_to_num(np.clip(-readiness_z, -2.0, 3.0))
    lin = lin + cfg.risk_feel_weight * feel_today
    if rd is not None:
        # readiness on its own 0-10 scale ranks first (PMData: today's readiness carried
        # forward is the strongest next-day predictor); the markers order days that feel
        # the same (``benchmarks/pmdata_eval.py``)
        lin = lin + cfg.risk_readiness_weight * np.nan_to_num(
            np.clip((5.0 - rd) / 2.5, -2.0, 2.0)
        )
    risk = 1.0 / (1.0 + np.exp(-1.5 * (lin - 2.0)))
    r["risk_score"] = np.where(calibrating, np.nan, risk)
    r["load_context"] = load_ctx

    # ---- recommendation ------------------------------------------------------------
    r.update(
        recommend_matrix(
            stage,
            illness=ill,
            injury=np.nan_to_num(x.get("injury", np.zeros(n)), nan=0.0) > 0.5,
            surface_run=r["surface_run"],
            support_count=support,
            hrv_below_run=hrv_below_run,
            wellness_z_7d=well_7d,
            illness_episodes_90d=episodes_90,
            episode_day=ep["episode_day"],
            in_range=ep["in_range"] > 0,
            since_race=ep["since_race"],
            race_window=ep["race_window"],
            travel_recent=travel_recent,
            life_stress=stress_driver,
            since_episode_end=ep["since_episode_end"],
            last_episode_days=ep["last_episode_days"],
            config=cfg,
        )
    )
    return r


#: Arrays returned by :func:`stage_matrix` without ``detail`` (the batch needs these).
CORE_KEYS: tuple[str, ...] = (
    "stage",
    "confidence",
    "risk_score",
    "rec_code",
    "rec_days",
    "rec_volume_pct",
    "data_feel_agree",
    "ln_rmssd_7d",
    "hrv_band_low",
    "hrv_band_high",
    "rhr_7d",
    "rhr_base",
    "wellness_z",
    "wellness_z_7d",
    "ctl",
    "atl",
    "tsb",
    "episode_day",
    "evidence_sum",
)


def stage_matrix(
    inputs: dict[str, Any],
    *,
    config: BaselineConfig | None = None,
    detail: bool = False,
    chunk_athletes: int = 256,
    workers: int = 1,
) -> dict[str, NDArray[Any]]:
    """Stage every athlete-day of an (athletes × days) cohort, causally.

    Parameters
    ----------
    inputs : dict of str to array_like
        Any subset of :data:`INPUT_COLUMNS`, each shaped (athletes, days) (1-D = one
        athlete), consecutive calendar days, NaN = not measured. ``load_au`` (daily load,
        missing = 0), ``rmssd_ms`` (ms), ``rhr_bpm``, ``sleep_h``, check-in items 1-5
        (5 = best), ``readiness`` 0-10, flags ``illness``/``injury``/``travel``/``race``
        (0/1), session markers ``ef``, ``decoupling_pct`` (%), ``perf_at_hr``,
        ``srpe_per_external``, ``hr_external_load_ratio`` (the day's HR-based load over its
        external, power/pace-based, load; dimensionless; NaN where either is missing).
    config : BaselineConfig, optional
        Windows and thresholds (defaults: ``docs/science.md`` §2-3).
    detail : bool, default False
        Also return every intermediate array used by the evidence (runs, item z-scores,
        % changes, days remaining...). The batch leaves it off.
    chunk_athletes : int, default 256
        Athletes processed at once (bounds memory; results do not depend on it).
    workers : int, default 1
        Threads over athlete chunks (numpy releases the GIL); results do not depend on it.

    Returns
    -------
    dict of str to ndarray
        ``stage`` (int8, :class:`Stage` codes), ``confidence`` (0-1), ``risk_score``
        (0-1, NaN while calibrating), ``rec_code`` (int8,
        :data:`~lydiard.domain.recovery.recommend.REC_CODES`), ``rec_days``,
        ``rec_volume_pct``, ``data_feel_agree`` (int8: 1 agree, 0 disagree, −1 unknown),
        and baselines ``ln_rmssd_7d``, ``hrv_band_low``/``hrv_band_high``, ``rhr_7d``,
        ``rhr_base``, ``wellness_z`` (composite, today), ``wellness_z_7d``, ``ctl``,
        ``atl``, ``tsb`` (AU), ``episode_day`` (day within the fatigue episode, 0 = none) and
        ``evidence_sum`` (accumulated evidence of fatigue, SD units; its threshold is
        ``config.cusum_h``). During an episode the bands and baselines are the anchored
        ones. With ``detail`` also the episode's state (``ok_run``, ``reduced_load_run``,
        ``since_episode_end``, ``last_*``, race history...) used by the evidence.

    Raises
    ------
    InvalidInputError
        Unknown column, mismatched shapes, or a value outside its scale.
    """
    cfg = config if config is not None else BaselineConfig()
    x, shape = _normalise_inputs(inputs)
    n_ath, n_days = shape
    step = max(1, chunk_athletes)
    starts = list(range(0, n_ath, step))

    def run(start: int) -> tuple[int, dict[str, Any]]:
        stop = min(n_ath, start + step)
        block = {k: v[start:stop] for k, v in x.items()}
        res = _block(block, (stop - start, n_days), cfg, detail)
        return start, {k: res[k] for k in (res.keys() if detail else CORE_KEYS)}

    if len(starts) == 1:
        return {k: np.asarray(v) for k, v in run(0)[1].items()}
    out: dict[str, NDArray[Any]] = {}

    def store(start: int, part: dict[str, Any]) -> None:
        for k, v in part.items():
            arr = np.asarray(v)
            if k not in out:
                out[k] = np.empty((n_ath, n_days), dtype=arr.dtype)
            out[k][start : start + arr.shape[0]] = arr

    if workers > 1:
        # numpy releases the GIL in its kernels: threads over athlete chunks scale
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for start, part in pool.map(run, starts):
                store(start, part)
    else:
        for start in starts:
            store(*run(start))
    return out
