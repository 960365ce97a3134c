"""Seeded synthetic athletes with a known hidden state, for tests, docs and rule evaluation.

The generator is a fitness-fatigue model driving a physiological response model; it is
vectorised across athletes (a loop over days only), so a 10,000 × 1,095 cohort takes a
few seconds. All scenarios share one set of equations; a scenario only changes the load
schedule, illness episodes and missing-data pattern.

Model (per athlete, ``u`` = daily load / the athlete's usual daily load)
-------------------------------------------------------------------------
* Fitness ``g`` and fatigue ``h``: Banister impulse-response EWMAs of ``u`` with
  ``τ = 42`` and ``7`` days (Banister 1991; science.md §4). Truth performance (% of
  baseline) ``P = 100 + 6 (g − 1) − 8 (h − 1) − k_M M``.
* Acute fatigue ``A``: a 1-day EWMA of the load above usual (``max(0, u − 1)``); the next
  morning shows it (lower ln rMSSD, soreness, low energy), gone in ~48 h (Kiviniemi 2007;
  Meeusen 2013 "acute fatigue").
* Maladaptation ``M`` (FOR/NFOR state): accumulates while fatigue exceeds the athlete's
  tolerance, ``e = max(0, h/g − 1 − margin)``, ``M ← M·exp(−1/τ_M) + γ e``, and recovers
  more slowly the deeper it is, ``τ_M = τ_0 (1 + M)`` (so long blocks tip into NFOR),
  inspired by Busso's (2003) variable-dose fatigue gain.
* Morning markers: ln rMSSD = baseline + 0.1 (g − 1) − 0.06 A − a_M M + AR(1) noise
  (φ 0.3, SD 0.05-0.10; Plews 2012). Responses to ``M`` are heterogeneous (Bellenger 2016:
  resting HRV often unaffected by overreaching; Plews 2013: "saturation"): ~55 % of
  athletes decline, ~15 % rise (with lower RHR), ~30 % barely change. RHR rises with ``M``
  in ~half of the athletes (Dressendorfer 1985 +10 bpm; Uusitalo 1998 no change) and with
  illness. Wellness items (1-5, 5 = best) fall with ``A`` and ``M`` with athlete-specific
  sensitivity, plus a shared "life stress" AR(1) factor and rating noise, rounded to
  integers (Saw 2016: subjective measures respond consistently). Sleep falls slightly
  with ``M``, illness and travel.
* Session markers: EF on easy sessions, output at HR on hard sessions, decoupling on long
  sessions, sRPE per unit external load on every session, all degrading with ``M``.
* Missing data: random missing mornings and check-ins, HRV missing with
  ``hrv_missing_frac``; the ``missing_data`` scenario adds long gaps.

Truth stage labels: ``deep_fatigue`` while ``M ≥ 0.5``; ``overreaching_suspected`` while
``M ≥ 0.5`` more than 10 days after the end of an intensified block (no recovery despite
reduced load); ``surface_fatigue`` the morning after a hard day (``A ≥ 0.8``); else
``normal``. Ill days are labelled in the ``ill`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy.signal import lfilter

from lydiard.domain.daily import CHECKIN_ITEMS, PLAUSIBLE_RANGES
from lydiard.errors import InvalidInputError

__all__ = ["SCENARIOS", "SimulatedAthlete", "simulate_athlete", "simulate_cohort"]

#: The scenarios :func:`simulate_athlete` knows.
SCENARIOS: tuple[str, ...] = (
    "normal",
    "single_hard_days",
    "overreaching",
    "illness",
    "taper",
    "missing_data",
    "noisy_hrv",
    "crash_and_recovery",
)

#: Truth label codes (same numbering as :class:`lydiard.domain.recovery.stage.Stage`).
_TRUTH_NAMES = {0: "normal", 1: "surface_fatigue", 2: "deep_fatigue", 3: "overreaching_suspected"}

#: Maladaptation level from which the truth label is ``deep_fatigue``.
M_DEEP = 0.5

F = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class SimulatedAthlete:
    """One simulated athlete: the observable ``days`` and the hidden ``truth``."""

    seed: int
    scenario: str
    days: pd.DataFrame  #: input of ``assess_days``: a ``day`` column plus the inputs
    truth: pd.DataFrame  #: hidden state per day (fitness, fatigue, performance, stage...)
    block_start: date | None  #: first day of the intensified block, if any
    block_end: date | None  #: last day of the intensified block, if any
    low_point: date | None  #: day of the performance low point of an overreaching block


def _check(days: int, hrv_missing_frac: float) -> None:
    if days < 1:
        raise InvalidInputError(f"days must be ≥ 1, got {days}", field="days")
    if not 0.0 <= hrv_missing_frac <= 1.0:
        raise InvalidInputError(
            f"hrv_missing_frac must be in [0, 1], got {hrv_missing_frac}", field="hrv_missing_frac"
        )


def _ar1(rng: np.random.Generator, shape: tuple[int, int], phi: float, sd: F | float) -> F:
    """AR(1) noise along days with stationary SD ``sd`` (per athlete or scalar)."""
    eps = rng.standard_normal(shape) * np.sqrt(1.0 - phi * phi)
    eps[:, 0] = rng.standard_normal(shape[0])  # the first day: stationary start
    # out[d] = eps[d] + phi·out[d−1], along each (contiguous) athlete row in C
    out: F = lfilter([1.0], [1.0, -phi], eps, axis=1)
    out *= np.asarray(sd)[:, np.newaxis] if np.ndim(sd) else sd
    return out


#: Prodrome ramps before an illness, by length in days (``np.linspace(0.4, 0.8, n)``).
_PRODROME = {n: np.linspace(0.4, 0.8, n) for n in range(3)}


def _simulate(
    rng: np.random.Generator,
    scenarios: Sequence[str],
    n_days: int,
    hrv_missing_frac: float,
    *,
    with_truth: bool = True,
) -> tuple[dict[str, F], dict[str, F]]:
    n = len(scenarios)
    shape = (n, n_days)
    sc = np.asarray(scenarios)
    idx = np.arange(n_days)[np.newaxis, :]
    col = np.ones((n, 1))

    def draw(low: float, high: float) -> F:
        return rng.uniform(low, high, size=(n, 1))

    # ---------------- load schedule ------------------------------------------------------
    usual_au = draw(40.0, 90.0)
    week = np.array([0.0, 1.55, 0.75, 1.45, 0.7, 1.9, 0.85])  # rest, hard, easy, hard, ...
    week = week / week.mean()
    kind = np.array([0, 2, 1, 2, 1, 3, 1])  # 0 rest, 1 easy, 2 hard, 3 long
    phase = rng.integers(0, 7, size=(n, 1))
    dow = (idx + phase) % 7
    meso = np.array([0.95, 1.02, 1.1, 0.78])[((idx + rng.integers(0, 28, size=(n, 1))) // 7) % 4]
    mult = week[dow] * meso * np.exp(rng.normal(0.0, 0.18, shape) - 0.016)
    mult *= rng.random(shape) > 0.05  # skipped sessions
    session_kind = kind[dow]
    hard_event = np.zeros(shape, dtype=bool)
    race = np.zeros(shape, dtype=bool)
    ill = np.zeros(shape, dtype=bool)
    prodrome = np.zeros(shape)

    is_ = {name: (sc == name)[:, np.newaxis] for name in SCENARIOS}

    # intensified block (overreaching, crash)
    lo = min(84, max(n_days // 3, 1))
    hi = max(lo + 1, n_days - 60)
    bs = rng.integers(lo, hi, size=(n, 1)).astype(np.int64)
    blen = rng.integers(14, 29, size=(n, 1))
    crash_bs = np.full((n, 1), min(190, max(n_days // 2, 1)))
    bs = np.where(is_["crash_and_recovery"], crash_bs, bs)
    blen = np.where(is_["crash_and_recovery"], 28, blen)
    has_block = is_["overreaching"] | is_["crash_and_recovery"]
    be = bs + blen  # exclusive
    in_block = has_block & (idx >= bs) & (idx < be)
    intens = draw(1.45, 2.0)
    # intensified: more load, flatter week (easy days become moderate), no rest day skipped
    block_mult = intens * (0.55 * week[dow] / week.mean() + 0.45) * meso.mean()
    mult = np.where(in_block, np.maximum(block_mult, 0.6) * (rng.random(shape) > 0.02), mult)
    after = has_block & (idx >= be) & (idx < be + 14)
    mult = np.where(after, mult * 0.6, mult)
    crash_long = is_["crash_and_recovery"] & (idx >= be + 14) & (idx < be + 56)
    mult = np.where(crash_long, mult * 0.75, mult)
    # crash: a progressive build over the first half of the year
    build = 1.0 + 0.25 * np.clip(idx / max(n_days / 2, 1), 0, 1)
    mult = np.where(is_["crash_and_recovery"] & (idx < bs), mult * build, mult)

    # single hard days (and races) every 10-16 days
    period = rng.integers(10, 17, size=(n, 1))
    ev = is_["single_hard_days"] & ((idx + rng.integers(0, 16, size=(n, 1))) % period == 0)
    ev &= idx >= 35
    hard_event |= ev
    mult = np.where(ev, draw(2.4, 3.4), mult)
    race |= ev & (rng.random(shape) < 0.5)

    # taper: build then taper to a race
    race_day = np.clip(n_days - 20, 1, None) * col
    t_build = is_["taper"] & (idx >= race_day - 35) & (idx < race_day - 12)
    t_taper = is_["taper"] & (idx >= race_day - 12) & (idx < race_day)
    mult = np.where(t_build, mult * 1.2, mult)
    mult = np.where(t_taper, mult * 0.5, mult)
    t_race = is_["taper"] & (idx == race_day)
    mult = np.where(t_race, draw(2.5, 4.0), mult)
    race |= t_race
    mult = np.where(is_["taper"] & (idx > race_day) & (idx <= race_day + 7), mult * 0.4, mult)

    # illness episodes: base rate ~1 a year for everyone, more in the illness scenario
    n_ep = rng.poisson(n_days / 365.0, size=n) + np.where(sc == "illness", 2, 0)
    for a in np.nonzero(n_ep)[0]:
        for _ in range(int(n_ep[a])):
            start = int(rng.integers(min(30, n_days - 1), n_days))
            length = int(rng.integers(3, 9))
            ill[a, start : start + length] = True
            pre = max(0, start - 2)
            prodrome[a, pre:start] = _PRODROME[start - pre]
    if n_days > 0:
        crash_ill = is_["crash_and_recovery"][:, 0]
        for a in np.nonzero(crash_ill)[0]:
            s0 = int(be[a, 0]) + 3
            ill[a, s0 : s0 + 6] = True
    sick = ill.astype(np.float64)
    mult = np.where(ill, mult * rng.uniform(0.0, 0.25, shape), mult)
    travel = np.zeros(shape, dtype=bool)
    trip = (rng.random(shape) < 0.012) & (idx > 0)
    travel |= trip
    travel[:, 1:] |= trip[:, :-1]
    u = np.clip(mult, 0.0, None)
    load_au = np.round(u * usual_au, 1)

    # ---------------- hidden state ---------------------------------------------------------
    k_g, k_h = 1.0 - np.exp(-1.0 / 42.0), 1.0 - np.exp(-1.0 / 7.0)
    margin = draw(0.18, 0.3)[:, 0]
    gamma = draw(0.5, 0.9)[:, 0]
    tau0 = draw(5.0, 9.0)[:, 0]
    g = np.ones(n)
    h = np.ones(n)
    acute = np.zeros(n)
    m = np.zeros(n)
    # day-major (days × athletes) buffers: each day's vector is contiguous
    u_t = np.ascontiguousarray(u.T)
    fit_t = np.empty(shape[::-1])
    fat_t = np.empty(shape[::-1])
    ac_t = np.empty(shape[::-1])  # acute fatigue seen on the morning of d (load up to d-1)
    mal_t = np.empty(shape[::-1])  # maladaptation seen on the morning of d
    for d in range(n_days):
        ac_t[d] = acute
        mal_t[d] = m
        x = u_t[d]
        g = g + k_g * (x - g)
        h = h + k_h * (x - h)
        acute = acute * np.exp(-1.0) + np.maximum(x - 1.0, 0.0)
        excess = np.maximum(h / np.maximum(g, 0.2) - 1.0 - margin, 0.0)
        m = m * np.exp(-1.0 / (tau0 * (1.0 + m))) + gamma * excess
        fit_t[d] = g
        fat_t[d] = h
    fit: F = np.ascontiguousarray(fit_t.T)
    fat: F = np.ascontiguousarray(fat_t.T)
    ac_m: F = np.ascontiguousarray(ac_t.T)
    mal: F = np.ascontiguousarray(mal_t.T)
    k_m = draw(5.0, 9.0)
    perf = 100.0 + 6.0 * (fit - 1.0) - 8.0 * (fat - 1.0) - k_m * mal

    # ---------------- markers -----------------------------------------------------------
    hrv_type = rng.random((n, 1))
    a_m = np.where(
        hrv_type < 0.55, -draw(0.12, 0.3), np.where(hrv_type < 0.70, draw(0.1, 0.2), draw(-0.04, 0.04))
    )
    saturating = (hrv_type >= 0.55) & (hrv_type < 0.70)
    hrv_sd = np.where(is_["noisy_hrv"], draw(0.13, 0.17), draw(0.05, 0.1))
    ln_base = rng.normal(4.1, 0.35, size=(n, 1))
    ln = (
        ln_base
        + 0.1 * (fit - 1.0)
        - draw(0.04, 0.08) * ac_m
        + a_m * mal
        - 0.2 * (sick + prodrome)
        - 0.08 * travel
        + _ar1(rng, shape, 0.3, hrv_sd[:, 0])
    )
    outlier = is_["noisy_hrv"] & (rng.random(shape) < 0.05)
    ln = ln + np.where(outlier, rng.choice([-0.4, 0.4], size=shape), 0.0)
    rmssd = np.exp(ln)

    rhr_gain = np.where(rng.random((n, 1)) < 0.5, draw(2.0, 8.0), draw(0.0, 1.0))
    rhr_gain = np.where(saturating, -draw(2.0, 4.0), rhr_gain)
    rhr = (
        rng.normal(52.0, 6.0, size=(n, 1))
        - 3.0 * (fit - 1.0)
        + 1.0 * ac_m
        + rhr_gain * mal
        + draw(4.0, 9.0) * (sick + prodrome)
        + 2.0 * travel
        + _ar1(rng, shape, 0.4, 2.0)
    )
    sleep = (
        rng.normal(7.4, 0.5, size=(n, 1))
        - 0.3 * mal
        - 0.6 * sick
        - 1.0 * travel
        + _ar1(rng, shape, 0.2, 0.7)
    )
    sleep = np.clip(sleep, 2.0, 12.0)

    life = _ar1(rng, shape, 0.5, 0.35)  # shared wellness factor unrelated to training
    s_w = np.exp(rng.normal(0.0, 0.3, size=(n, 1)))
    effects = {  # (acute, maladaptation, illness) effects in scale points
        "energy": (-0.35, -1.0, -1.5),
        "soreness": (-0.5, -0.7, -0.5),
        "mood": (-0.1, -0.8, -0.8),
        "motivation": (-0.1, -0.8, -0.8),
        "sleep_quality": (0.0, -0.5, -0.8),
        "stress": (0.0, -0.5, -0.4),
    }
    items: dict[str, F] = {}
    rate_sd = draw(0.45, 0.75)
    for item in CHECKIN_ITEMS:
        ea, em, ei = effects[item]
        latent = (
            rng.normal(3.7, 0.35, size=(n, 1))
            + ea * ac_m
            + em * s_w * mal
            + ei * (sick + prodrome)
            + life
            + rng.standard_normal(shape) * rate_sd
        )
        if item == "sleep_quality":
            latent = latent + 0.4 * (sleep - sleep.mean(axis=1, keepdims=True))
        items[item] = np.clip(np.round(latent), 1.0, 5.0)
    readiness = np.clip(
        np.round(6.5 - 0.4 * ac_m - 1.6 * s_w * mal - 2.0 * sick + 2.0 * life
                 + rng.normal(0, 1.0, shape)),
        0.0,
        10.0,
    )

    has_session = load_au > 0
    ef0 = rng.normal(1.6, 0.15, size=(n, 1))
    ef = ef0 * (1 + 0.03 * (fit - 1) - 0.06 * s_w * mal - 0.01 * ac_m) * np.exp(
        rng.normal(0, 0.04, shape)
    )
    # only ~60 % of athletes record HR with pace/power on their sessions
    has_markers = rng.random((n, 1)) < 0.6
    ef = np.where(has_session & (session_kind == 1) & has_markers, ef, np.nan)
    pah = 100.0 * (1 + 0.04 * (fit - 1) - 0.06 * mal - 0.015 * (fat - 1)) * np.exp(
        rng.normal(0, 0.035, shape)
    )
    pah = np.where(has_session & (session_kind == 2) & has_markers, pah, np.nan)
    dec = 3.0 + 4.0 * mal + 1.5 * (fat - 1.0) + rng.normal(0, 2.0, shape)
    dec = np.where(has_session & (session_kind == 3) & has_markers, dec, np.nan)
    srpe_ext = (1 + 0.08 * (fat - 1) + 0.15 * mal) * np.exp(rng.normal(0, 0.07, shape))
    srpe_ext = np.where(has_session & has_markers, srpe_ext, np.nan)

    # ---------------- missing data --------------------------------------------------------
    heavy = is_["missing_data"]
    gap = heavy & (idx >= bs) & (idx < bs + rng.integers(10, 21, size=(n, 1)))
    p_hrv = np.where(heavy, np.maximum(hrv_missing_frac, 0.5), np.maximum(hrv_missing_frac, 0.03))
    p_well = np.where(heavy, 0.4, 0.12)
    rmssd = np.where((rng.random(shape) < p_hrv) | gap, np.nan, rmssd)
    rhr = np.where((rng.random(shape) < np.where(heavy, 0.3, 0.08)) | gap, np.nan, rhr)
    sleep = np.where((rng.random(shape) < np.where(heavy, 0.3, 0.08)) | gap, np.nan, sleep)
    miss_well = (rng.random(shape) < p_well) | gap
    for item in CHECKIN_ITEMS:
        items[item] = np.where(miss_well | (rng.random(shape) < 0.02), np.nan, items[item])
    readiness = np.where(miss_well, np.nan, readiness)

    inputs: dict[str, F] = {
        "load_au": load_au,
        # clipped to the plausible ranges importers enforce (a rare extreme draw of the noise
        # terms could leave them: a resting HR below ~28 bpm is not seen even in elite athletes)
        "rmssd_ms": np.round(np.clip(rmssd, *PLAUSIBLE_RANGES["rmssd_ms"]), 1).astype(np.float64),
        "rhr_bpm": np.round(np.clip(rhr, 28.0, PLAUSIBLE_RANGES["rhr_bpm"][1]), 0).astype(np.float64),
        "sleep_h": np.round(sleep, 2),
        **items,
        "readiness": readiness,
        "illness": ill.astype(np.float64),
        "injury": np.zeros(shape),
        "travel": travel.astype(np.float64),
        "ef": ef,
        "decoupling_pct": dec,
        "perf_at_hr": pah,
        "srpe_per_external": srpe_ext,
        "race": race.astype(np.float64),
    }

    # ---------------- truth ---------------------------------------------------------------
    if not with_truth:  # no random draws below: skipping it leaves the inputs unchanged
        return inputs, {}
    stage = np.zeros(shape)
    stage[ac_m >= 0.8] = 1
    stage[mal >= M_DEEP] = 2
    stage[(mal >= M_DEEP) & has_block & (idx >= be + 10)] = 3
    low = np.full((n, 1), -1.0)
    win = has_block & (idx >= bs) & (idx < be + 28)
    masked = np.where(win, perf, np.inf)
    low = np.where(has_block, np.argmin(masked, axis=1)[:, np.newaxis], low)
    truth: dict[str, F] = {
        "fitness": fit,
        "fatigue": fat,
        "acute_fatigue": ac_m,
        "maladaptation": mal,
        "performance": perf,
        "stage": stage,
        "ill": ill.astype(np.float64),
        "in_block": in_block.astype(np.float64),
        "hard_event": hard_event.astype(np.float64),
        "block_start": np.broadcast_to(np.where(has_block, bs, -1.0), shape).copy(),
        "block_end": np.broadcast_to(np.where(has_block, be - 1, -1.0), shape).copy(),
        "low_point": np.broadcast_to(low, shape).copy(),
        "hrv_saturating": np.broadcast_to(saturating.astype(np.float64), shape).copy(),
    }
    return inputs, truth


def simulate_cohort(
    seed: int,
    athletes: int,
    days: int,
    *,
    scenarios: Sequence[str] | None = None,
    hrv_missing_frac: float = 0.0,
    truth: bool = False,
) -> dict[str, NDArray[np.float64]]:
    """Simulate a cohort as (athletes × days) input matrices for ``stage_matrix``.

    Parameters
    ----------
    seed : int
        Seed of the generator (deterministic output).
    athletes, days : int
        Matrix shape.
    scenarios : sequence of str, optional
        One scenario per athlete; default: a mix (60 % normal, 10 % each of
        single_hard_days, overreaching, taper, 5 % illness, 5 % noisy_hrv).
    hrv_missing_frac : float
        Share of mornings without an HRV reading (0-1).
    truth : bool
        Also return the hidden state as ``truth_<name>`` matrices.

    Returns
    -------
    dict of str to ndarray
        The inputs (``load_au``, ``rmssd_ms``, ``rhr_bpm``, ``sleep_h``, check-in items,
        ``readiness``, flags, session markers), NaN = missing; flags as 0/1.
    """
    _check(days, hrv_missing_frac)
    if athletes < 1:
        raise InvalidInputError(f"athletes must be ≥ 1, got {athletes}", field="athletes")
    rng = np.random.default_rng(seed)
    mix = ["normal"] * 12 + ["single_hard_days", "single_hard_days", "overreaching",
                            "overreaching", "taper", "taper", "illness", "noisy_hrv"]
    scen = cohort_scenarios(rng, athletes, scenarios, mix=mix, known=SCENARIOS)
    inputs, hidden = _simulate(rng, scen, days, hrv_missing_frac, with_truth=truth)
    if truth:
        inputs.update({f"truth_{k}": v for k, v in hidden.items()})
    return inputs


def cohort_scenarios(rng: np.random.Generator, athletes: int, scenarios: Sequence[str] | None, *,
                     mix: Sequence[str], known: Sequence[str]) -> list[str]:
    """One scenario per athlete: ``scenarios`` as given (checked against ``known``), or drawn
    from ``mix`` with ``rng`` (shared by both simulators)."""
    if scenarios is None:
        scen = [str(s) for s in rng.choice(list(mix), size=athletes)]
    else:
        scen = list(scenarios)
        if len(scen) != athletes:
            raise InvalidInputError("one scenario per athlete is needed", field="scenarios")
    for s in scen:
        if s not in known:
            raise InvalidInputError(f"unknown scenario {s!r}", field="scenario")
    return scen


def simulate_athlete(
    seed: int,
    days: int,
    scenario: str,
    *,
    start: date = date(2025, 1, 1),
    hrv_missing_frac: float = 0.0,
) -> SimulatedAthlete:
    """Simulate one athlete for ``days`` days of a ``scenario`` (see :data:`SCENARIOS`).

    Returns
    -------
    SimulatedAthlete
        ``.days``: one row per day, a ``day`` column and the inputs of
        :func:`~lydiard.domain.recovery.assess.assess_days` (booleans for flags,
        ``hrv_kind`` = "morning"); ``.truth``: fitness, fatigue, acute fatigue,
        maladaptation, performance (% of baseline), ``stage`` (label), ``ill``,
        ``in_block``, ``hard_event``.

    Examples
    --------
    >>> sim = simulate_athlete(1, 120, "normal")
    >>> len(sim.days), sim.days["day"].iloc[0]
    (120, datetime.date(2025, 1, 1))
    """
    if scenario not in SCENARIOS:
        raise InvalidInputError(f"unknown scenario {scenario!r}", field="scenario")
    _check(days, hrv_missing_frac)
    inputs, hidden = _simulate(np.random.default_rng(seed), [scenario], days, hrv_missing_frac)
    return athlete_frames(seed, scenario, start, inputs, hidden, truth_values=(
        "fitness", "fatigue", "acute_fatigue", "maladaptation", "performance"),
        truth_flags=("ill", "in_block", "hard_event"), hrv_kind=True)


def athlete_frames(
    seed: int,
    scenario: str,
    start: date,
    inputs: dict[str, F],
    hidden: dict[str, F],
    *,
    truth_values: Sequence[str],
    truth_flags: Sequence[str],
    hrv_kind: bool,
) -> SimulatedAthlete:
    """The first athlete of a simulated cohort's arrays as day frames (shared by both simulators).

    ``inputs`` become ``.days`` (flags as booleans; with ``hrv_kind`` a column "morning" where
    rMSSD was measured); ``truth_values`` and ``truth_flags`` of ``hidden`` become ``.truth``
    with the truth ``stage`` label; the block start/end and low point become days.
    """
    day_index = pd.date_range(start, periods=next(iter(inputs.values())).shape[1], freq="D").date
    frame = pd.DataFrame({"day": day_index})
    for name, arr in inputs.items():
        v = arr[0]
        frame[name] = v > 0.5 if name in ("illness", "injury", "travel", "race") else v
    if hrv_kind:
        frame["hrv_kind"] = pd.Series(
            ["morning" if np.isfinite(v) else None for v in inputs["rmssd_ms"][0]], dtype=object
        )
    tr = pd.DataFrame({"day": day_index})
    for name in truth_values:
        tr[name] = hidden[name][0]
    tr["stage"] = [_TRUTH_NAMES[int(c)] for c in hidden["stage"][0]]
    for name in truth_flags:
        tr[name] = hidden[name][0] > 0.5

    def as_day(key: str) -> date | None:
        v = int(hidden[key][0, 0])
        return None if v < 0 else day_index[v]

    return SimulatedAthlete(
        seed=seed,
        scenario=scenario,
        days=frame,
        truth=tr,
        block_start=as_day("block_start"),
        block_end=as_day("block_end"),
        low_point=as_day("low_point"),
    )
