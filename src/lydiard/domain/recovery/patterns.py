"""Patterns across time (one athlete) and across athletes (a roster), from staged days.

:func:`recurring_episodes` finds what the athlete's fatigue episodes (deep fatigue or worse)
have in common: how many began shortly after a race, after a heavy block of training, or
in a week of high life stress. A context counts as *recurring* when it preceded two or
more episodes. :func:`trending_toward_deep` ranks a roster by how close each athlete who is
not (yet) in an episode is to one: the accumulated evidence of fatigue (the CUSUM of
:mod:`._episode_kernel`) as a share of the threshold, and its rise over the last week.

Both are pure and vectorised (no loop over days in Python); they read the arrays that
:func:`lydiard.domain.recovery.stage.stage_matrix` returns with ``detail=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lydiard.domain.recovery.baselines import BaselineConfig, as_matrix
from lydiard.domain.recovery.stage import Stage

__all__ = ["PATTERN_NAMES", "recurring_episodes", "trending_toward_deep"]

#: Context names of :func:`recurring_episodes`, with the plain-language phrase.
PATTERN_NAMES: dict[str, str] = {
    "after_race": "within {d} days after a race",
    "after_heavy_block": "after a heavy block of training (7-day load ≥ {x:g}× the usual)",
    "high_life_stress": "in a week of high life stress (stress rating well below usual)",
}


def _window_any(flag: NDArray[np.bool_], days: int) -> NDArray[np.bool_]:
    """Whether ``flag`` was set on any of the ``days`` days before each day (not the day itself)."""
    c = np.zeros(flag.shape[0] + 1, dtype=np.int64)
    np.cumsum(flag, out=c[1:])
    idx = np.arange(flag.shape[0])
    hi = idx  # days before d: [d - days, d - 1]
    lo = np.maximum(idx - days, 0)
    out: NDArray[np.bool_] = (c[hi] - c[lo]) > 0
    return out


def recurring_episodes(
    stage: Any,
    *,
    race: Any = None,
    load_au: Any = None,
    stress: Any = None,
    race_days: int = 14,
    heavy_ratio: float = 1.3,
    min_repeats: int = 2,
) -> dict[str, Any]:
    """What one athlete's fatigue episodes have in common.

    Parameters
    ----------
    stage : array_like, shape (days,)
        Stage codes (:class:`~lydiard.domain.recovery.stage.Stage`) per day.
    race, load_au, stress : array_like, shape (days,), optional
        Race flags (0/1), daily load (AU) and the check-in stress item (1-5, 5 = calm).
    race_days : int
        An episode is "after a race" when a race fell in the ``race_days`` days before it.
    heavy_ratio : float
        "After a heavy block": the 7-day mean load before the episode ≥ ``heavy_ratio`` ×
        the 28-day mean before that week.
    min_repeats : int
        Episodes needed for a context to be reported as recurring.

    Returns
    -------
    dict
        ``episodes`` (start-day indices of each episode), ``patterns`` (list of
        ``{pattern, episodes, of_total, days, text}``, recurring contexts only, most
        frequent first).
    """
    st = as_matrix(stage, field="stage")[0]
    n = st.shape[0]
    deep = st >= Stage.DEEP_FATIGUE
    start = deep.copy()
    start[1:] &= ~deep[:-1]
    starts = np.nonzero(start)[0]
    ctx: dict[str, NDArray[np.bool_]] = {}
    if race is not None:
        rc = as_matrix(race, field="race")[0]
        ctx["after_race"] = _window_any(np.nan_to_num(rc) > 0.5, race_days)
    if load_au is not None:
        ld = np.nan_to_num(as_matrix(load_au, field="load_au")[0])
        c = np.zeros(n + 1)
        np.cumsum(ld, out=c[1:])
        idx = np.arange(n)
        week = (c[idx] - c[np.maximum(idx - 7, 0)]) / 7.0
        prior = (c[np.maximum(idx - 7, 0)] - c[np.maximum(idx - 35, 0)]) / 28.0
        with np.errstate(invalid="ignore", divide="ignore"):
            ctx["after_heavy_block"] = (idx >= 35) & (week >= heavy_ratio * prior) & (prior > 0)
    if stress is not None:
        sv = as_matrix(stress, field="stress")[0]
        ok = np.isfinite(sv)
        c = np.zeros(n + 1)
        k = np.zeros(n + 1)
        np.cumsum(np.where(ok, sv, 0.0), out=c[1:])
        np.cumsum(ok, out=k[1:])
        idx = np.arange(n)
        lo7 = np.maximum(idx - 6, 0)
        lo_b = np.maximum(idx - 63, 0)
        hi_b = np.maximum(idx - 7, 0)
        with np.errstate(invalid="ignore", divide="ignore"):
            week = (c[idx + 1] - c[lo7]) / (k[idx + 1] - k[lo7])
            usual = (c[hi_b] - c[lo_b]) / (k[hi_b] - k[lo_b])
            ctx["high_life_stress"] = (week <= usual - 1.0) | (week <= 2.0)
    total = int(starts.size)
    patterns: list[dict[str, Any]] = []
    for name, flag in ctx.items():
        hit = starts[flag[starts]] if total else starts
        if hit.size < min_repeats:
            continue
        phrase = PATTERN_NAMES[name].format(d=race_days, x=heavy_ratio)
        patterns.append(
            {
                "pattern": name,
                "episodes": int(hit.size),
                "of_total": total,
                "days": [int(d) for d in hit],
                "text": f"{hit.size} of your {total} fatigue episodes began {phrase}.",
            }
        )
    patterns.sort(key=lambda p: -len(p["days"]))
    return {"episodes": [int(d) for d in starts], "patterns": patterns}


def trending_toward_deep(
    stage: Any,
    evidence_sum: Any,
    *,
    config: BaselineConfig | None = None,
    window_days: int = 7,
) -> dict[str, NDArray[Any]]:
    """Who in a roster is heading for deep fatigue before reaching it (last day of each row).

    Parameters
    ----------
    stage, evidence_sum : array_like, shape (athletes, days)
        ``stage`` and ``evidence_sum`` of ``stage_matrix(..., detail=True)``.
    config : BaselineConfig, optional
        The configuration the stages were computed with (its ``cusum_h`` is the threshold).
    window_days : int
        Days over which the rise of the evidence is measured.

    Returns
    -------
    dict
        ``score`` (0-1 per athlete: 0.7 × evidence / threshold + 0.3 × its rise over the
        window / threshold, clipped; NaN for athletes already in deep fatigue or worse, or
        calibrating), ``in_episode`` (bool), ``days_to_threshold`` (at the last week's rate
        of rise; −1 when not rising), and ``order`` (athlete indices, most at risk first,
        athletes without a score last).
    """
    cfg = config if config is not None else BaselineConfig()
    st = as_matrix(stage, field="stage")
    ev = as_matrix(evidence_sum, field="evidence_sum")
    last = st[:, -1]
    now = np.nan_to_num(ev[:, -1])
    w = min(window_days, ev.shape[1] - 1)
    before = np.nan_to_num(ev[:, -1 - w]) if w > 0 else now
    rise = now - before
    h = cfg.cusum_h
    in_ep = last >= Stage.DEEP_FATIGUE
    score = np.clip(0.7 * now / h + 0.3 * np.maximum(rise, 0.0) / h, 0.0, 1.0)
    score = np.where(in_ep | (last < 0), np.nan, score)
    rate = rise / max(w, 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        eta = np.where(rate > 0, np.ceil((h - now) / rate), -1)
    eta = np.where(np.isnan(score), -1, np.maximum(eta, -1))
    order = np.argsort(np.where(np.isnan(score), -1.0, score))[::-1]
    return {
        "score": score,
        "in_episode": in_ep,
        "days_to_threshold": eta.astype(np.int64),
        "order": order,
    }
