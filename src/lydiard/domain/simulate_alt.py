"""A second, independently written athlete simulator: a reserve-depletion model.

Why a second one: :mod:`lydiard.domain.simulate` and the staging rules were written from the
same sources, so rules tuned on it may only have learned its assumptions. This generator
shares no equation with it: a different latent model of fatigue, different marker
responses (HRV *rises* in overreaching in a large share of athletes, parasympathetic
saturation: Le Meur et al. 2013 MSSE 45:2061; Plews et al. 2013 Sports Med 43:773), heavy-
tailed noise and different scenarios. It is vectorised across athletes (a loop over days).

Latent model (per athlete, ``s`` = daily load / usual daily load)
----------------------------------------------------------------
* Reserve ``R`` (0-1, 1 = fresh): refills at rate ``ρ (1 − R)`` (slower under life stress
  and illness) and drains with strain above an easy level, ``δ·max(0, s − 0.6)``.
* Overreaching ``O`` (≥ 0): grows while the reserve stays low,
  ``O ← O·exp(−1/τ_O) + κ·max(0, R_crit − R)``; ``τ_O`` is long (20-35 days; 60 in the
  ``stalled`` scenario, where rest does not help). Truth: ``deep_fatigue`` while
  ``O ≥ O_DEEP``; ``overreaching_suspected`` while ``O ≥ O_DEEP`` ten or more days after a
  block ended.
* Markers: ln rMSSD ``= b + β_H·O − 0.15 (1 − R) + t₄ noise`` with ``β_H`` negative
  ("suppressors", 40 %), positive ("saturators", 35 %, RHR falls) or ~0 (25 %); resting HR
  ``+ 4 (1 − R) + γ_R·O``; wellness items fall with ``1 − R``, ``O`` and life stress;
  session markers (EF, output at HR, decoupling, sRPE and HR-based load per unit of
  external load) worsen with ``O``.

Scenarios: ``normal``, ``overreaching``, ``stalled`` (a block, then NFOR that rest does not
cure), ``race`` (a race every 3-5 weeks, a crash after each), ``life_stress`` (20 days of
stress 1-2/5, training unchanged), ``travel`` (trips with jet lag), ``rhr_only`` (no HRV
device), ``working_harder`` (output at the same HR falls, nothing else), ``strength``
(strength-heavy training scored by session RPE, no session markers), ``illness``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
from numpy.typing import NDArray

from lydiard.domain.daily import CHECKIN_ITEMS, PLAUSIBLE_RANGES
from lydiard.domain.simulate import SimulatedAthlete, athlete_frames, cohort_scenarios
from lydiard.errors import InvalidInputError

__all__ = ["ALT_SCENARIOS", "O_DEEP", "simulate_alt_athlete", "simulate_alt_cohort"]

#: Scenarios of the alternative simulator.
ALT_SCENARIOS: tuple[str, ...] = (
    "normal",
    "overreaching",
    "stalled",
    "race",
    "life_stress",
    "travel",
    "rhr_only",
    "working_harder",
    "strength",
    "illness",
)

#: Overreaching level from which the truth label is ``deep_fatigue``.
O_DEEP = 0.5

F = NDArray[np.float64]


def _t_noise(rng: np.random.Generator, shape: tuple[int, int], scale: F | float) -> F:
    """Student-t (4 d.f.) noise scaled to unit variance × ``scale`` (heavy tails)."""
    z = rng.standard_t(4, size=shape) / np.sqrt(2.0)
    out: F = z * (np.asarray(scale) if np.ndim(scale) else scale)
    return out


def _simulate_alt(
    rng: np.random.Generator, scenarios: Sequence[str], n_days: int, hrv_missing_frac: float
) -> tuple[dict[str, F], dict[str, F]]:
    n = len(scenarios)
    shape = (n, n_days)
    sc = np.asarray(scenarios)
    idx = np.arange(n_days)[np.newaxis, :]
    is_ = {name: (sc == name)[:, np.newaxis] for name in ALT_SCENARIOS}

    def draw(low: float, high: float) -> F:
        return rng.uniform(low, high, size=(n, 1))

    # ---------------- load: 3 hard days a week, a 3:1 block rhythm ------------------
    usual = draw(35.0, 100.0)
    pattern = np.array([0.3, 1.5, 0.8, 1.4, 0.0, 1.9, 1.1])
    pattern = pattern / pattern.mean()
    dow = (idx + rng.integers(0, 7, size=(n, 1))) % 7
    wk = ((idx + rng.integers(0, 21, size=(n, 1))) // 7) % 3
    s = pattern[dow] * np.array([1.0, 1.08, 0.85])[wk] * np.exp(rng.normal(0, 0.22, shape) - 0.024)
    s *= rng.random(shape) > 0.07
    # strength: two heavy RPE-scored sessions a week on top, replacing a run
    s = np.where(is_["strength"] & np.isin(dow, (2, 6)), draw(1.2, 1.6) * np.ones(shape), s)

    block = is_["overreaching"] | is_["stalled"] | is_["rhr_only"]
    bs = rng.integers(min(90, max(n_days // 3, 1)), max(min(90, max(n_days // 3, 1)) + 1,
                                                        n_days - 80), size=(n, 1))
    blen = rng.integers(18, 32, size=(n, 1))
    be = bs + blen
    in_block = block & (idx >= bs) & (idx < be)
    s = np.where(in_block, s * draw(1.5, 2.1) + 0.35, s)
    after = block & (idx >= be) & (idx < be + 21)
    s = np.where(after, s * 0.55, s)

    # races every 3-5 weeks (race scenario), each 3-4.5× usual
    race = np.zeros(shape, dtype=bool)
    period = rng.integers(21, 36, size=(n, 1))
    race |= is_["race"] & ((idx + rng.integers(0, 21, size=(n, 1))) % period == 0) & (idx >= 60)
    s = np.where(race, draw(3.0, 4.5), s)
    post = np.zeros(shape, dtype=bool)
    for k in range(1, 4):
        post[:, k:] |= race[:, :-k]
    s = np.where(post, s * 0.4, s)

    # illness: ~1 a year, 3 more in the illness scenario
    ill = np.zeros(shape, dtype=bool)
    n_ep = rng.poisson(n_days / 365.0, size=n) + np.where(sc == "illness", 3, 0)
    for a in np.nonzero(n_ep)[0]:
        for _ in range(int(n_ep[a])):
            st = int(rng.integers(min(40, n_days - 1), n_days))
            ill[a, st : st + int(rng.integers(3, 10))] = True
    s = np.where(ill, s * 0.1, s)

    # life stress: 20 days of stress (life_stress scenario), plus everybody's daily noise
    ls_start = rng.integers(min(100, max(n_days // 2, 1)), max(min(100, max(n_days // 2, 1)) + 1,
                                                                  n_days - 30), size=(n, 1))
    stress_block = is_["life_stress"] & (idx >= ls_start) & (idx < ls_start + 20)
    # travel: a 3-day trip every ~6 weeks (travel scenario), rare otherwise
    trip = rng.random(shape) < np.where(is_["travel"], 1 / 42, 1 / 200)
    trip &= idx > 60
    travel = trip.copy()
    for k in range(1, 3):
        travel[:, k:] |= trip[:, :-k]
    load_au = np.round(np.clip(s, 0.0, None) * usual, 1)

    # ---------------- latent reserve and overreaching ---------------------------------
    rho = draw(0.25, 0.4)[:, 0]
    delta = draw(0.1, 0.16)[:, 0]
    r_crit = draw(0.5, 0.6)[:, 0]
    kappa = draw(0.25, 0.4)[:, 0]
    tau_o = np.where(sc == "stalled", 60.0, rng.uniform(20.0, 35.0, size=n))
    kappa = np.where(sc == "stalled", kappa * 1.5, kappa)
    stress_f = stress_block.astype(np.float64)
    res = np.ones(n)
    o = np.zeros(n)
    r_t = np.empty(shape[::-1])
    o_t = np.empty(shape[::-1])
    s_t = np.ascontiguousarray(np.clip(s, 0, None).T)
    sf_t = np.ascontiguousarray(stress_f.T)
    ill_t = np.ascontiguousarray(ill.T)
    for d in range(n_days):
        r_t[d] = res  # the morning of d (before its load)
        o_t[d] = o
        refill = rho * (1.0 - res) * (1.0 - 0.35 * sf_t[d] - 0.5 * ill_t[d])
        res = np.clip(res + refill - delta * np.maximum(s_t[d] - 0.6, 0.0), 0.0, 1.0)
        o = o * np.exp(-1.0 / tau_o) + kappa * np.maximum(r_crit - res, 0.0)
    reserve: F = np.ascontiguousarray(r_t.T)
    over: F = np.ascontiguousarray(o_t.T)
    low_res = 1.0 - reserve

    # ---------------- markers -----------------------------------------------------------
    ptype = rng.random((n, 1))
    beta_h = np.where(ptype < 0.40, -draw(0.15, 0.3), np.where(ptype < 0.75, draw(0.12, 0.25),
                                                                  draw(-0.03, 0.03)))
    saturator = (ptype >= 0.40) & (ptype < 0.75)
    h_sd = draw(0.05, 0.09)
    weekend = np.where(np.isin(dow, (5, 6)), 0.03, 0.0)
    ln = (
        rng.normal(4.0, 0.4, size=(n, 1))
        + beta_h * over
        - 0.15 * low_res
        - 0.25 * ill
        - 0.15 * travel
        - 0.05 * stress_f
        + weekend
        + _t_noise(rng, shape, h_sd)
    )
    gamma_r = np.where(saturator, -draw(2.0, 4.0), draw(1.0, 7.0))
    rhr = (
        rng.normal(54.0, 6.0, size=(n, 1))
        + 4.0 * low_res
        + gamma_r * over
        + 6.0 * ill
        + 4.0 * travel
        + 1.5 * stress_f
        + _t_noise(rng, shape, 1.8)
    )
    sleep = np.clip(
        rng.normal(7.2, 0.5, size=(n, 1)) - 0.4 * over - 1.5 * travel - 0.5 * stress_f
        - 0.5 * ill + _t_noise(rng, shape, 0.6),
        2.0,
        12.0,
    )
    life = rng.normal(0, 0.3, shape)
    sens = np.exp(rng.normal(0.0, 0.35, size=(n, 1)))
    resp = {  # (reserve, overreaching, stress block, illness) in scale points
        "energy": (-1.2, -0.9, -0.5, -1.5),
        "soreness": (-1.4, -0.5, 0.0, -0.4),
        "mood": (-0.3, -0.9, -1.0, -0.8),
        "motivation": (-0.3, -1.0, -0.7, -0.8),
        "sleep_quality": (-0.2, -0.6, -0.8, -0.8),
        "stress": (0.0, -0.4, -2.2, -0.4),
    }
    items: dict[str, F] = {}
    for item in CHECKIN_ITEMS:
        er, eo, es, ei = resp[item]
        latent = (
            rng.normal(3.6, 0.4, size=(n, 1))
            + sens * (er * low_res + eo * over)
            + es * stress_f
            + ei * ill
            + life
            + rng.normal(0, 0.55, shape)
        )
        items[item] = np.clip(np.round(latent), 1.0, 5.0)
    readiness = np.clip(
        np.round(7.0 - 3.0 * sens * low_res - 2.0 * sens * over - 1.5 * stress_f - 2.5 * ill
                 + 2.0 * life + rng.normal(0, 0.9, shape)),
        0.0,
        10.0,
    )

    # ---------------- session markers -----------------------------------------------
    sess = load_au > 0
    # 70 % of athletes record HR with pace/power (all the working_harder ones: their only signal)
    recorded = ((rng.random((n, 1)) < 0.7) | is_["working_harder"]) & ~is_["strength"]
    wh = is_["working_harder"]
    wh_start = np.where(wh, bs, n_days)
    wh_on = (idx >= wh_start) & (idx < wh_start + 42)
    # working harder: a 3-week slide into a 3-week plateau, in session markers only
    ramp = np.clip((idx - wh_start + 1) / 21.0, 0.0, 1.0)
    o_eff = over + np.where(wh_on, 0.9 * ramp, 0.0)
    ef = 1.5 * (1.0 - 0.09 * o_eff) * np.exp(rng.normal(0, 0.035, shape))
    ef = np.where(sess & recorded & np.isin(dow, (2, 6)), ef, np.nan)
    pah = 100.0 * (1.0 - 0.1 * o_eff - 0.03 * low_res) * np.exp(rng.normal(0, 0.03, shape))
    pah = np.where(sess & recorded & np.isin(dow, (1, 3)), pah, np.nan)
    dec = np.where(sess & recorded & (dow == 5),
                   1.0 + 3.0 * o_eff + rng.normal(0, 1.5, shape), np.nan)
    srpe = np.where(sess & recorded, (1.0 + 0.15 * o_eff) * np.exp(rng.normal(0, 0.06, shape)),
                    np.nan)
    hr_ext = np.where(sess & recorded, (1.0 + 0.35 * o_eff) * np.exp(rng.normal(0, 0.07, shape)),
                      np.nan)

    # ---------------- missing data ------------------------------------------------------
    no_hrv = is_["rhr_only"]
    rmssd = np.exp(ln)
    rmssd = np.where((rng.random(shape) < hrv_missing_frac) | no_hrv, np.nan, rmssd)
    # mornings missed in runs (a weekend away): 5 % of days start a 1-3 day gap
    gap = rng.random(shape) < 0.05
    gap2 = gap.copy()
    gap2[:, 1:] |= gap[:, :-1] & (rng.random((n, n_days - 1)) < 0.5)
    rhr = np.where(gap2 | (rng.random(shape) < 0.05), np.nan, rhr)
    sleep = np.where(gap2 | (rng.random(shape) < 0.05), np.nan, sleep)
    miss_well = gap2 | (rng.random(shape) < 0.1)
    for item in CHECKIN_ITEMS:
        items[item] = np.where(miss_well, np.nan, items[item])
    readiness = np.where(miss_well, np.nan, readiness)

    inputs: dict[str, F] = {
        "load_au": load_au,
        "rmssd_ms": np.round(np.clip(rmssd, *PLAUSIBLE_RANGES["rmssd_ms"]), 1),
        "rhr_bpm": np.round(np.clip(rhr, 28.0, PLAUSIBLE_RANGES["rhr_bpm"][1]), 0),
        "sleep_h": np.asarray(np.round(sleep, 2), dtype=np.float64),
        **items,
        "readiness": readiness,
        "illness": ill.astype(np.float64),
        "injury": np.zeros(shape),
        "travel": travel.astype(np.float64),
        "race": race.astype(np.float64),
        "ef": ef,
        "decoupling_pct": dec,
        "perf_at_hr": pah,
        "srpe_per_external": srpe,
        "hr_external_load_ratio": hr_ext,
    }

    # ---------------- truth ---------------------------------------------------------------
    stage = np.zeros(shape)
    stage[low_res >= 0.55] = 1
    deep = (over >= O_DEEP) | (wh_on & wh & (ramp >= 0.5))
    stage[deep] = 2
    stage[(over >= O_DEEP) & block & (idx >= be + 10)] = 3
    perf = 100.0 * (1.0 - 0.1 * o_eff - 0.05 * low_res)
    has_block = block | wh
    win = has_block & (idx >= bs) & (idx < np.where(wh, bs + 42, be + 28))
    low = np.where(has_block, np.argmin(np.where(win, perf, np.inf), axis=1)[:, np.newaxis], -1.0)
    b_end = np.where(wh, bs + 41, be - 1)
    truth: dict[str, F] = {
        "reserve": reserve,
        "maladaptation": np.maximum(over, np.where(wh_on & wh, O_DEEP * 2 * ramp, 0.0)),
        "performance": perf,
        "stage": stage,
        "ill": ill.astype(np.float64),
        "in_block": (in_block | (wh_on & wh)).astype(np.float64),
        "hard_event": race.astype(np.float64),
        "block_start": np.broadcast_to(np.where(has_block, bs, -1.0), shape).copy(),
        "block_end": np.broadcast_to(np.where(has_block, b_end, -1.0), shape).copy(),
        "low_point": np.broadcast_to(low, shape).copy(),
        "hrv_saturating": np.broadcast_to(saturator.astype(np.float64), shape).copy(),
        "life_stress": stress_f,
        "travel": travel.astype(np.float64),
    }
    return inputs, truth


def _check(days: int, athletes: int, hrv_missing_frac: float) -> None:
    if days < 1:
        raise InvalidInputError(f"days must be ≥ 1, got {days}", field="days")
    if athletes < 1:
        raise InvalidInputError(f"athletes must be ≥ 1, got {athletes}", field="athletes")
    if not 0.0 <= hrv_missing_frac <= 1.0:
        raise InvalidInputError(
            f"hrv_missing_frac must be in [0, 1], got {hrv_missing_frac}", field="hrv_missing_frac"
        )


def simulate_alt_cohort(
    seed: int,
    athletes: int,
    days: int,
    *,
    scenarios: Sequence[str] | None = None,
    hrv_missing_frac: float = 0.0,
    truth: bool = False,
) -> dict[str, NDArray[np.float64]]:
    """Simulate a cohort with the reserve-depletion model, as ``stage_matrix`` inputs.

    Same contract as :func:`lydiard.domain.simulate.simulate_cohort` (``truth_<name>``
    matrices with ``truth=True``); ``scenarios`` from :data:`ALT_SCENARIOS` (default: a mix,
    half ``normal``).
    """
    _check(days, athletes, hrv_missing_frac)
    rng = np.random.default_rng(seed)
    mix = ["normal"] * 9 + [s for s in ALT_SCENARIOS if s != "normal"]
    scen = cohort_scenarios(rng, athletes, scenarios, mix=mix, known=ALT_SCENARIOS)
    inputs, hidden = _simulate_alt(rng, scen, days, hrv_missing_frac)
    if truth:
        inputs.update({f"truth_{k}": v for k, v in hidden.items()})
    return inputs


def simulate_alt_athlete(
    seed: int,
    days: int,
    scenario: str,
    *,
    start: date = date(2025, 1, 1),
    hrv_missing_frac: float = 0.0,
) -> SimulatedAthlete:
    """One athlete of the reserve-depletion model, shaped like
    :func:`lydiard.domain.simulate.simulate_athlete` (``.days`` for ``assess_days``,
    ``.truth`` with ``maladaptation``, ``stage`` labels, ``ill``, ``in_block``, ``hard_event``,
    ``life_stress``, ``travel``).

    Examples
    --------
    >>> sim = simulate_alt_athlete(1, 120, "race")
    >>> len(sim.days)
    120
    """
    if scenario not in ALT_SCENARIOS:
        raise InvalidInputError(f"unknown scenario {scenario!r}", field="scenario")
    _check(days, 1, hrv_missing_frac)
    inputs, hidden = _simulate_alt(np.random.default_rng(seed), [scenario], days, hrv_missing_frac)
    return athlete_frames(seed, scenario, start, inputs, hidden, truth_values=("reserve", "maladaptation", "performance"),
                          truth_flags=("ill", "in_block", "hard_event", "life_stress", "travel"), hrv_kind=False)
