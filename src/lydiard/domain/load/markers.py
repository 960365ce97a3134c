"""Per-day signals for the fatigue engine, derived from stored sessions (one rule for every path).

:func:`day_signals` turns a table of sessions (any number of athletes) into athletes × days
matrices of the session markers and race days that
:func:`lydiard.domain.recovery.stage_matrix` reads. The per-athlete recompute
(``services.metrics``) and the batch (``services.batch_io``) both call it, so a stored
history gives the same inputs, hence the same stage, whichever path computes it.

Markers (each day's value is the duration-weighted mean over that day's qualifying
sessions; NaN on days without one):

``ef``
    Efficiency factor (output per beat: NP/HR for power sports, NGS/HR for runs;
    Allen & Coggan; GoldenCheetah ``Coggan.cpp``) of **steady** sessions, divided by the
    mean EF of the athlete's sessions **of the same sport** up to and including that one
    (an expanding, causal mean), so runs (m·s⁻¹/bpm) and rides (W/bpm) can be combined on
    one scale around 1.0. The engine judges the relative change of a 14-day mean against
    its earlier baseline, so only the ratio matters.
``perf_at_hr``
    Output per beat **above rest** (``EF × HR / (HR − 60 bpm)``; the HR–speed index idea of
    Vesterinen 2016 / Nuuttila 2022: output at a given heart rate), normalised per sport
    in the same way. 60 bpm is the population resting HR the project uses when none is
    known (``estimate_thresholds``); sessions with an average HR below 80 bpm are skipped.
``decoupling_pct``
    Aerobic decoupling (Pw:HR / Pa:HR, Friel; GoldenCheetah ``AerobicDecoupling.cpp``)
    of steady sessions of at least :data:`DECOUPLING_MIN_S` (Friel reads it on long
    aerobic sessions; on intervals or short sessions it measures the session, not the
    athlete). Percent, already comparable across sports.
``srpe_per_external``
    Session RPE load (RPE × min, Foster 2001) per unit of external load (power or
    running TSS), normalised per sport: the same output feeling harder (Bourdon 2017:
    internal vs external load).
``hr_external_load_ratio``
    HR-based load (hrTSS) over external load (power or running TSS) of the day's sessions
    that have both (Σ hrTSS / Σ external TSS): above its usual value, the heart works
    harder for the same output.

"Steady" = intensity factor ≤ :data:`STEADY_MAX_IF` (from power, or for runs from
``running_tss``: ``IF = sqrt(TSS / (100·h))``), or no external intensity known.

Race days (``race`` 1/0 and ``race_rule``, codes :data:`RACE_RULES`), first rule that fires:

1. ``planned_race``: a planned session of type ``race`` on a day with a recorded session;
2. ``flagged``: a session or the day's check-in marked as a race;
3. ``load``: a session whose load is at least :data:`RACE_MIN_LOAD_AU` and at least
   :data:`RACE_CTL_MULTIPLE` × the athlete's chronic load (CTL, 42 d, corrected for a record
   that starts from nothing) going into the day, after
   :data:`RACE_MIN_HISTORY_DAYS` days of history: a
   maximal effort far above what the athlete is used to is followed by a crash like a
   race's (docs/science.md §3 "Races"; the multiple is a heuristic **(verify)**).

A session the athlete marked as **not** a race (``race_flag`` 0, not missing) keeps the
planned and load rules from making its day a race, unless another session or the check-in
of that day says it was one: the athlete's own word beats a guess. An unticked check-in box
is no such statement (a check-in says "raced today" or nothing).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lydiard.domain.load.pmc import daily_metrics_matrix

__all__ = [
    "DECOUPLING_MIN_S",
    "MARKER_COLUMNS",
    "RACE_CTL_MULTIPLE",
    "RACE_MIN_HISTORY_DAYS",
    "RACE_MIN_LOAD_AU",
    "RACE_RULES",
    "SESSION_COLUMNS",
    "STEADY_MAX_IF",
    "day_signals",
    "last_race",
]

FloatArray = NDArray[np.float64]

#: Columns of the sessions table :func:`day_signals` reads (``a`` = athlete row, ``c`` =
#: day column; every other column optional, NaN = unknown).
SESSION_COLUMNS: tuple[str, ...] = (
    "a", "c", "sport", "duration_s", "load_au", "hr_load_au", "external_load_au", "srpe_au",
    "ef", "avg_hr_bpm", "decoupling_pct", "intensity_factor", "race_flag",
)
#: The marker matrices :func:`day_signals` returns (besides ``race`` and ``race_rule``).
MARKER_COLUMNS: tuple[str, ...] = (
    "ef", "perf_at_hr", "decoupling_pct", "srpe_per_external", "hr_external_load_ratio",
)
#: Race rule codes (``race_rule`` matrix values; 0 = no race that day).
RACE_RULES: dict[int, str] = {1: "planned_race", 2: "flagged", 3: "load"}
#: A session at or below this intensity factor counts as steady (aerobic).
STEADY_MAX_IF: float = 0.85
#: Shortest steady session whose decoupling is used (s): 45 min.
DECOUPLING_MIN_S: float = 2700.0
#: Shortest steady session whose EF / output at HR is used (s): 20 min.
EF_MIN_S: float = 1200.0
#: Resting HR assumed for output per beat above rest (bpm; the project's default).
REST_HR_BPM: float = 60.0
#: "Far above chronic load": a session of at least this many × CTL going into the day ...
RACE_CTL_MULTIPLE: float = 3.5
#: ... and at least this load (AU, TSS scale: ~2 h at a hard steady effort).
RACE_MIN_LOAD_AU: float = 150.0
#: The ``load`` rule needs this many days of history before the day (a CTL built from
#: nothing is no chronic load).
RACE_MIN_HISTORY_DAYS: int = 28
#: Decoupling values outside ±this (%) are recording artefacts, not physiology.
_DECOUPLING_LIMIT_PCT: float = 50.0


def _col(sessions: pd.DataFrame, name: str) -> FloatArray:
    if name not in sessions.columns:
        return np.full(len(sessions), np.nan)
    return pd.to_numeric(sessions[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def _per_sport_relative(xs: list[FloatArray], group: NDArray[np.int64],
                        order: NDArray[np.intp]) -> list[FloatArray]:
    """Each ``x`` divided by the expanding mean of the valid ``x`` of its group up to and including it.

    ``order`` sorts the sessions by (group, day); NaN (and values ≤ 0) stay NaN. One grouped
    cumulative sum for all the markers.
    """
    n = group.size
    if n == 0:
        return [np.full(0, np.nan) for _ in xs]
    cols: dict[str, Any] = {"g": group[order]}
    valid = []
    for k, x in enumerate(xs):
        xo = x[order]
        ok = np.isfinite(xo) & (xo > 0)
        valid.append((xo, ok))
        cols[f"v{k}"], cols[f"n{k}"] = np.where(ok, xo, 0.0), ok.astype(np.float64)
    sums = pd.DataFrame(cols).groupby("g", sort=False).cumsum()
    out = []
    for k, (xo, ok) in enumerate(valid):
        rel = np.full(n, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            rel[order] = np.where(ok, xo / (sums[f"v{k}"].to_numpy() / sums[f"n{k}"].to_numpy()), np.nan)
        out.append(rel)
    return out


def _weighted_day_mean(x: FloatArray, w: FloatArray, flat: NDArray[np.int64], size: int) -> FloatArray:
    ok = np.isfinite(x) & np.isfinite(w) & (w > 0)
    num = np.bincount(flat[ok], weights=(x * w)[ok], minlength=size)
    den = np.bincount(flat[ok], weights=w[ok], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out: FloatArray = np.where(den > 0, num / den, np.nan)
    return out


def day_signals(
    sessions: pd.DataFrame,
    *,
    shape: tuple[int, int],
    load_au: FloatArray,
    planned_race: NDArray[np.bool_] | None = None,
    race_flag: FloatArray | None = None,
) -> dict[str, Any]:
    """Marker and race matrices (athletes × days) from a sessions table.

    Parameters
    ----------
    sessions : pandas.DataFrame
        One row per session, columns :data:`SESSION_COLUMNS` (``a``: athlete row, ``c``:
        day column, both within ``shape``; loads in AU on the TSS scale, ``srpe_au`` in
        RPE × min, ``sport`` as text). Rows outside ``shape`` are ignored.
    shape : (athletes, days)
    load_au : array (athletes, days)
        The daily load (its CTL is the reference of the ``load`` race rule).
    planned_race : bool array (athletes, days), optional
        Days with a planned session of type ``race``.
    race_flag : array (athletes, days), optional
        Days marked as a race in the check-in (1/0/NaN).

    Returns
    -------
    dict
        ``ef``, ``perf_at_hr``, ``decoupling_pct``, ``srpe_per_external``,
        ``hr_external_load_ratio`` (float, NaN = no qualifying session), ``race`` (float
        1/0) and ``race_rule`` (int8 codes of :data:`RACE_RULES`, 0 = none).
    """
    n_ath, n_days = shape
    size = n_ath * n_days
    a = _col(sessions, "a")
    c = _col(sessions, "c")
    inside = np.isfinite(a) & np.isfinite(c) & (a >= 0) & (a < n_ath) & (c >= 0) & (c < n_days)
    s = sessions.loc[inside] if not inside.all() else sessions
    a_i = a[inside].astype(np.int64)
    c_i = c[inside].astype(np.int64)
    flat = a_i * n_days + c_i
    dur = _col(s, "duration_s")
    load = _col(s, "load_au")
    hr_load = _col(s, "hr_load_au")
    ext = _col(s, "external_load_au")
    srpe = _col(s, "srpe_au")
    ef = _col(s, "ef")
    hr = _col(s, "avg_hr_bpm")
    dec = _col(s, "decoupling_pct")
    intensity = _col(s, "intensity_factor")
    hours = dur / 3600.0
    with np.errstate(invalid="ignore", divide="ignore"):
        from_ext = np.sqrt(ext / (100.0 * hours))
    intensity = np.where(np.isfinite(intensity), intensity, from_ext)
    steady = ~(intensity > STEADY_MAX_IF)  # NaN (unknown) counts as steady

    # sport names or integer codes: only the grouping matters
    sport_code = pd.factorize(s["sport"].to_numpy())[0] if "sport" in s.columns else np.zeros(len(s), np.int64)
    group = a_i * (int(sport_code.max()) + 1 if sport_code.size else 1) + sport_code
    order = np.lexsort((c_i, group)).astype(np.intp)

    out: dict[str, Any] = {}
    ef_ok = steady & (dur >= EF_MIN_S)
    with np.errstate(invalid="ignore", divide="ignore"):
        pah = np.where(ef_ok & (hr >= REST_HR_BPM + 20.0), ef * hr / (hr - REST_HR_BPM), np.nan)
        spe = np.where(ext > 0, srpe / ext, np.nan)
    ef_rel, pah_rel, spe_rel = _per_sport_relative([np.where(ef_ok, ef, np.nan), pah, spe], group, order)
    out["ef"] = _weighted_day_mean(ef_rel, dur, flat, size).reshape(shape)
    out["perf_at_hr"] = _weighted_day_mean(pah_rel, dur, flat, size).reshape(shape)
    dec_ok = steady & (dur >= DECOUPLING_MIN_S) & (np.abs(dec) <= _DECOUPLING_LIMIT_PCT)
    out["decoupling_pct"] = _weighted_day_mean(np.where(dec_ok, dec, np.nan), dur, flat, size).reshape(shape)
    out["srpe_per_external"] = _weighted_day_mean(spe_rel, dur, flat, size).reshape(shape)
    both = np.isfinite(hr_load) & np.isfinite(ext) & (ext > 0)
    num = np.bincount(flat[both], weights=hr_load[both], minlength=size)
    den = np.bincount(flat[both], weights=ext[both], minlength=size)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["hr_external_load_ratio"] = np.where(den > 0, num / den, np.nan).reshape(shape)

    # ---- race days -------------------------------------------------------------
    has_session = np.bincount(flat, minlength=size).reshape(shape) > 0
    rule = np.zeros(shape, dtype=np.int8)
    sess_said = _col(s, "race_flag")
    sess_flag = sess_said > 0.5
    flagged = np.bincount(flat[sess_flag], minlength=size).reshape(shape) > 0
    if race_flag is not None:
        flagged |= np.nan_to_num(np.asarray(race_flag, dtype=np.float64), nan=0.0) > 0.5
    sess_denied = np.isfinite(sess_said) & (sess_said < 0.5)  # "not a race", said of a session
    denied = (np.bincount(flat[sess_denied], minlength=size).reshape(shape) > 0) & ~flagged
    big = np.zeros(size)
    ok = np.isfinite(load)
    if ok.any():  # the day's biggest session: sorted ascending, the last (largest) write wins
        ascending = np.argsort(load[ok], kind="stable")
        big[flat[ok][ascending]] = np.maximum(load[ok][ascending], 0.0)
    big = big.reshape(shape)
    ctl = daily_metrics_matrix(np.nan_to_num(np.asarray(load_au, dtype=np.float64), nan=0.0))["ctl"]
    # CTL going into the day, corrected for the start of the record (an EWMA started at 0
    # after t days holds 1 − (1 − k)^t of the level: divide it out, as Adam's bias correction)
    k = 1.0 - np.exp(-1.0 / 42.0)
    t = np.arange(shape[1], dtype=np.float64)
    ctl_before = np.zeros(shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        ctl_before[:, 1:] = ctl[:, :-1] / (1.0 - (1.0 - k) ** t[1:])
    by_load = (big >= RACE_MIN_LOAD_AU) & (big >= RACE_CTL_MULTIPLE * ctl_before)
    by_load[:, :RACE_MIN_HISTORY_DAYS] = False
    rule[by_load & ~denied] = 3
    rule[flagged] = 2
    if planned_race is not None:
        rule[np.asarray(planned_race, dtype=bool) & has_session & ~denied] = 1
    out["race"] = (rule > 0).astype(np.float64)
    out["race_rule"] = rule
    return out


def last_race(race_rule: NDArray[np.int8], *, within_days: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Per day, days since the latest race day (0 = that day) and its rule code, within ``within_days``.

    Returns ``(since, code)``: −1 / 0 where no race lies in the last ``within_days`` days.
    """
    rr = np.atleast_2d(race_rule)
    n_days = rr.shape[1]
    idx = np.broadcast_to(np.arange(n_days), rr.shape)
    last = np.maximum.accumulate(np.where(rr > 0, idx, -1), axis=1)
    since = np.where(last >= 0, idx - last, -1)
    code = np.take_along_axis(rr, np.maximum(last, 0), axis=1).astype(np.int64)
    recent = (since >= 0) & (since <= within_days)
    return np.where(recent, since, -1).astype(np.int64), np.where(recent, code, 0)
