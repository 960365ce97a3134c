"""Does the day's risk score predict next-day low readiness on real athletes (PMData p01-p08)?

Run:  .venv/bin/python benchmarks/pmdata_eval.py [--boot 2000] [--participants p01,p02,...]

Data: PMData (Thambawita et al. 2020, CC BY 4.0), recreational athletes, Nov 2019 - Mar
2020, under ``$LYDIARD_SHARED/data/pmdata`` (default ``<repo>/../shared``).

Pipeline (the production path): each participant folder is imported into a temporary
SQLite store (``open_context`` → ``create_athlete(tz="Europe/Oslo")`` → ``import_paths``,
which also recomputes the stored daily metrics); the per-day input frame is then read
back with :func:`lydiard.services.metrics.daily_inputs` and staged with
:func:`lydiard.domain.recovery.stage_matrix` (the kernel behind ``assess_days`` and the
stored ``risk_score``; the run checks that both agree).

Target: next-day low readiness. ``low`` = PMSys readiness (0-10; 0 = unanswered slider,
treated as missing by the importer) ≤ that athlete's 25th percentile over all of the
athlete's answered days. A predictor's value on day ``d`` uses data of days ≤ ``d`` only
(the engine is causal); the label is readiness on day ``d + 1``.

Predictors (higher = more risk):

* ``engine risk_score, readiness IN inputs``: the production score; readiness (rescaled to
  1-5) is one item of the engine's wellness composite, so today's readiness leaks into the
  score (a legitimate input, but not a fair test of "adds anything over readiness").
* ``engine risk_score, readiness OUT``: the same engine with readiness removed from its
  inputs (the fairer comparison against the carried-forward baseline).
* ``readiness today (carried forward)``: −readiness(d).
* ``ACWR``: EWMA acute:chronic ratio (λ = 2/(N+1), N = 7/28; Williams 2017) of the sRPE
  load (Foster AU = CR-10 × minutes, PMSys sessions only).
* ``−TSB``: negated form (CTL − ATL of yesterday, k = 1 − e^(−1/N), 42/7) of the same
  sRPE load; also ``−TSB (engine load)``, from the load the engine sees (sRPE sessions
  converted to TSS scale plus Fitbit-logged exercises).

All predictors are scored on the same athlete-days: days with a defined engine risk score
(i.e. after its calibration) and answered readiness on both ``d`` and ``d + 1``.

AUC: Mann-Whitney U with mid-ranks (ties count 1/2), pooled over athletes and per athlete.
95 % CIs: percentile bootstrap resampling days *within* athletes (stratified, keeps each
athlete's share); day-level resampling ignores autocorrelation, so these are narrow. A
second interval resamples *athletes* as clusters (8 clusters: crude, wide). Paired
differences vs the carried-forward baseline use the same resamples.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import func, select

from lydiard.config import Settings
from lydiard.domain.load.pmc import daily_metrics_matrix
from lydiard.domain.recovery import BaselineConfig, stage_matrix
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.context import Context, open_context
from lydiard.services.importing import import_paths
from lydiard.services.metrics import (
    daily_inputs,
    daily_series,
    frame_matrix_inputs,
    recompute_athlete,
)
from lydiard.storage.tables import daily_observations, session_logs

REPO = Path(__file__).resolve().parents[1]
PARTICIPANTS: tuple[str, ...] = tuple(f"p{i:02d}" for i in range(1, 9))
TZ = "Europe/Oslo"
LOW_QUANTILE = 0.25

FloatArray = NDArray[np.float64]


# --------------------------------------------------------------------------- AUC
def midranks(x: FloatArray) -> FloatArray:
    """Ranks 1..n of ``x`` with ties given their average rank."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    n = xs.size
    # boundaries of runs of equal values
    new = np.ones(n, dtype=bool)
    new[1:] = xs[1:] != xs[:-1]
    starts = np.flatnonzero(new)
    ends = np.append(starts[1:], n)  # exclusive
    avg = (starts + 1 + ends) / 2.0  # mean of ranks starts+1 .. ends
    ranks_sorted = np.repeat(avg, ends - starts)
    out = np.empty(n)
    out[order] = ranks_sorted
    return out


def auc(scores: Sequence[float] | FloatArray, labels: Sequence[bool] | NDArray[np.bool_]) -> float:
    """Area under the ROC curve = P(score of a positive > score of a negative), ties ½.

    Mann-Whitney: ``AUC = (R₊ − n₊(n₊+1)/2) / (n₊·n₋)`` with mid-ranks ``R``. NaN when a
    class is empty. NaN scores are not allowed (filter them first).
    """
    s = np.asarray(scores, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    if s.shape != y.shape:
        raise ValueError("scores and labels differ in length")
    if np.isnan(s).any():
        raise ValueError("scores contain NaN")
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    r = midranks(s)
    u = float(r[y].sum()) - n_pos * (n_pos + 1) / 2.0
    return u / (n_pos * n_neg)


# --------------------------------------------------------------------------- data
@dataclass
class Participant:
    pid: str
    frame: pd.DataFrame  #: daily_inputs() frame, indexed by day
    srpe_load: pd.Series  #: Foster AU per day (PMSys sessions only), same index
    stored_risk: pd.Series  #: risk_score as stored by the import's recompute


class _Clock:
    """A settable clock: ``recompute_athlete`` computes up to the athlete's 'today'."""

    def __init__(self) -> None:
        self.now = datetime(2020, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def shared_dir() -> Path:
    return Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared"))


def pmdata_root() -> Path:
    root = shared_dir() / "data" / "pmdata"
    if not root.is_dir():
        sys.exit(f"PMData not found at {root}: set LYDIARD_SHARED to the shared/ folder "
                 "(it must contain data/pmdata/p01 ... p08).")
    return root


def _import_one(ctx: Context, clock: _Clock, root: Path, pid: str, *, recompute: bool) -> Participant:
    system = Actor.system()
    athlete = create_athlete(ctx, system, name=pid, tz=TZ)
    clock.now = datetime.now(UTC)  # import as a user would today (days after the athlete's tomorrow are refused)
    import_paths(ctx, system, athlete.id, [root / pid], recompute=False)
    with ctx.engine.connect() as conn:
        last_obs = conn.execute(
            select(func.max(daily_observations.c.day)).where(daily_observations.c.athlete_id == athlete.id)
        ).scalar()
        last_log = conn.execute(
            select(func.max(session_logs.c.day)).where(session_logs.c.athlete_id == athlete.id)
        ).scalar()
    last = max(d for d in (last_obs, last_log, date(2019, 11, 2)) if d is not None)
    # "today" = the last day with data (noon UTC is the same date in Oslo)
    clock.now = datetime(last.year, last.month, last.day, 12, tzinfo=UTC)
    if recompute:
        recompute_athlete(ctx, system, athlete.id)
    with ctx.engine.connect() as conn:
        frame = daily_inputs(conn, athlete.id, until=last, sex=None)
        logs = conn.execute(
            select(session_logs.c.day, session_logs.c.rpe, session_logs.c.duration_s).where(
                session_logs.c.athlete_id == athlete.id, session_logs.c.source == "pmsys"
            )
        ).all()
    series = daily_series(ctx, system, athlete.id) if recompute else pd.DataFrame()
    stored = series["risk_score"].astype(float) if "risk_score" in series else pd.Series(dtype=float)
    acc: dict[pd.Timestamp, float] = {}
    for r in logs:
        if r.rpe is not None:  # Foster AU = CR-10 × minutes
            key = pd.Timestamp(r.day)
            acc[key] = acc.get(key, 0.0) + float(r.rpe) * float(r.duration_s) / 60.0
    srpe = pd.Series(acc, dtype=float).reindex(frame.index, fill_value=0.0)
    return Participant(pid, frame, srpe, stored.reindex(frame.index))


def load_participants(
    root: Path, pids: Sequence[str], home: Path, *, recompute: bool = True, verbose: bool = False
) -> list[Participant]:
    """Import participant folders (one athlete each, tz Europe/Oslo) into one SQLite store.

    The production path: ``open_context`` → ``create_athlete`` → ``import_paths`` →
    ``recompute_athlete`` (with the clock set to the athlete's last day of data) →
    ``daily_inputs``. ``recompute=False`` skips writing the stored daily metrics (faster;
    ``stored_risk`` is then all NaN); the input frame is the same.
    """
    clock = _Clock()
    ctx = open_context(Settings(home=home), clock=clock)
    try:
        out = []
        for pid in pids:
            if verbose:
                print(f"  importing {pid} ...", file=sys.stderr, flush=True)
            out.append(_import_one(ctx, clock, root, pid, recompute=recompute))
        return out
    finally:
        ctx.engine.dispose()


def load_all(root: Path, pids: Sequence[str], *, verbose: bool = True) -> list[Participant]:
    """All participants, through a temporary store that is deleted afterwards."""
    with tempfile.TemporaryDirectory(prefix="lydiard-pmdata-") as tmp:
        return load_participants(root, pids, Path(tmp), verbose=verbose)


# --------------------------------------------------------------------------- scores
def engine_risk(frame: pd.DataFrame, *, readiness: bool, config: BaselineConfig | None = None) -> FloatArray:
    """``risk_score`` of :func:`stage_matrix` on the frame, with or without readiness."""
    f = frame if readiness else frame.drop(columns=["readiness"], errors="ignore")
    res = stage_matrix(frame_matrix_inputs(f), config=config)
    return np.asarray(res["risk_score"][0], dtype=np.float64)


def load_scores(load: pd.Series) -> dict[str, FloatArray]:
    """EWMA ACWR and −TSB of a daily load series (0 on rest days)."""
    m = daily_metrics_matrix(load.to_numpy(dtype=np.float64)[None, :], convention="exp")
    return {"acwr": np.asarray(m["acwr_ewma"][0]), "neg_tsb": -np.asarray(m["tsb"][0])}


def label_and_mask(frame: pd.DataFrame, q: float = LOW_QUANTILE) -> tuple[NDArray[np.bool_], NDArray[np.bool_], float]:
    """(next-day low readiness, days where it and today's readiness are known, threshold)."""
    ready = pd.to_numeric(frame["readiness"], errors="coerce").to_numpy(dtype=np.float64)
    thr = float(np.nanquantile(ready, q))
    nxt = np.append(ready[1:], np.nan)
    known = np.isfinite(nxt) & np.isfinite(ready)
    with np.errstate(invalid="ignore"):
        low = nxt <= thr
    return low & known, known, thr


#: Predictor name → function of a participant giving one score per day (NaN = none).
Predictor = Callable[[Participant], FloatArray]

ENGINE_IN = "engine risk_score, readiness IN inputs"
ENGINE_OUT = "engine risk_score, readiness OUT"
CARRIED = "readiness today (carried forward)"


def _readiness(p: Participant) -> FloatArray:
    return pd.to_numeric(p.frame["readiness"], errors="coerce").to_numpy(dtype=np.float64)


def _stage(p: Participant) -> FloatArray:
    st = np.asarray(stage_matrix(frame_matrix_inputs(p.frame))["stage"][0], dtype=np.float64)
    return np.where(st < 0, np.nan, st)


def default_predictors(config: BaselineConfig | None = None) -> dict[str, Predictor]:
    """The engine (with / without readiness) and the simple baselines, by display name."""
    return {
        ENGINE_IN: lambda p: engine_risk(p.frame, readiness=True, config=config),
        ENGINE_OUT: lambda p: engine_risk(p.frame, readiness=False, config=config),
        "engine stage (ordinal), readiness IN": _stage,
        CARRIED: lambda p: -_readiness(p),
        "ACWR (EWMA, sRPE load)": lambda p: load_scores(p.srpe_load)["acwr"],
        "-TSB (sRPE load)": lambda p: load_scores(p.srpe_load)["neg_tsb"],
        "ACWR (EWMA, engine load)": lambda p: load_scores(p.frame["load_au"].astype(float))["acwr"],
        "-TSB (engine load)": lambda p: load_scores(p.frame["load_au"].astype(float))["neg_tsb"],
    }


@dataclass
class EvalData:
    names: list[str]
    pids: list[str]
    scores: dict[str, list[FloatArray]]  #: name → per athlete, on the evaluated days
    labels: list[NDArray[np.bool_]]
    thresholds: list[float]
    excluded: dict[str, str]  #: athlete → why it is left out


def collect(parts: Sequence[Participant], predictors: Mapping[str, Predictor]) -> EvalData:
    """Score every athlete-day on the days where every predictor and both readings exist.

    An athlete whose label has a single class on those days (readiness almost constant,
    so "≤ 25th percentile" is every day) carries no information about ranking and is
    left out, with the reason recorded.
    """
    names = list(predictors)
    data = EvalData(names, [], {n: [] for n in names}, [], [], {})
    for p in parts:
        low, known, thr = label_and_mask(p.frame)
        raw = {n: predictors[n](p) for n in names}
        mask = known.copy()
        for n in names:
            mask &= np.isfinite(raw[n])
        y = low[mask]
        if y.size == 0 or y.all() or not y.any():
            values = pd.to_numeric(p.frame["readiness"], errors="coerce").dropna()
            share = float((values == values.mode().iloc[0]).mean()) if len(values) else float("nan")
            data.excluded[p.pid] = (
                f"{int(y.sum())} of {y.size} evaluable days are 'low' (25th percentile = {thr:g}; "
                f"{100 * share:.0f} % of answered days are {values.mode().iloc[0]:g})"
                if len(values) else "no readiness"
            )
            continue
        data.pids.append(p.pid)
        data.labels.append(y)
        data.thresholds.append(thr)
        for n in names:
            data.scores[n].append(raw[n][mask])
    return data


def pooled_auc(scores: Sequence[FloatArray], labels: Sequence[NDArray[np.bool_]]) -> float:
    """AUC over every (positive, negative) pair, across athletes."""
    return auc(np.concatenate(scores), np.concatenate(labels))


def within_auc(scores: Sequence[FloatArray], labels: Sequence[NDArray[np.bool_]]) -> float:
    """AUC over the pairs *within* each athlete (per-athlete AUCs weighted by n₊·n₋)."""
    num = den = 0.0
    for s, y in zip(scores, labels, strict=True):
        n_pos = int(y.sum())
        w = n_pos * (y.size - n_pos)
        if w:
            num += auc(s, y) * w
            den += w
    return num / den if den else float("nan")


def bootstrap(data: EvalData, *, reps: int, seed: int = 1) -> dict[str, dict[str, FloatArray]]:
    """AUCs per resample.

    Keys: ``pooled``/``within`` (days resampled within each athlete, with replacement)
    and ``pooled_cluster`` (athletes resampled as clusters). Each maps predictor → array.
    """
    rng = np.random.default_rng(seed)
    n_ath = len(data.pids)
    kinds = ("pooled", "within", "pooled_cluster")
    out: dict[str, dict[str, FloatArray]] = {k: {n: np.empty(reps) for n in data.names} for k in kinds}
    for b in range(reps):
        idx = [rng.integers(0, len(y), len(y)) for y in data.labels]
        ys = [y[i] for y, i in zip(data.labels, idx, strict=True)]
        ath = rng.integers(0, n_ath, n_ath)
        yc = [data.labels[a] for a in ath]
        for n in data.names:
            ss = [s[i] for s, i in zip(data.scores[n], idx, strict=True)]
            out["pooled"][n][b] = pooled_auc(ss, ys)
            out["within"][n][b] = within_auc(ss, ys)
            out["pooled_cluster"][n][b] = pooled_auc([data.scores[n][a] for a in ath], yc)
    return out


def ci(x: FloatArray) -> tuple[float, float]:
    x = x[np.isfinite(x)]
    return float(np.percentile(x, 2.5)), float(np.percentile(x, 97.5))


# --------------------------------------------------------------------------- report
def _short(name: str) -> str:
    table = {
        ENGINE_IN: "risk IN", ENGINE_OUT: "risk OUT", "engine stage (ordinal), readiness IN": "stage",
        CARRIED: "readiness", "ACWR (EWMA, sRPE load)": "ACWR sRPE", "-TSB (sRPE load)": "-TSB sRPE",
        "ACWR (EWMA, engine load)": "ACWR eng", "-TSB (engine load)": "-TSB eng",
    }
    return table.get(name, name[:10])


def report(data: EvalData, boot: dict[str, dict[str, FloatArray]], *, baseline: str) -> list[str]:
    """The printed table: pooled and within-athlete AUCs with CIs, then per athlete."""
    lines = []
    n_days = sum(len(y) for y in data.labels)
    n_pos = sum(int(y.sum()) for y in data.labels)
    for pid, why in data.excluded.items():
        lines.append(f"excluded {pid}: {why}")
    lines.append(f"athletes evaluated: {', '.join(data.pids)}; athlete-days: {n_days} "
                 f"(next-day low: {n_pos} = {100 * n_pos / max(n_days, 1):.1f} %; ties at the "
                 "integer 25th percentile make 'low' more than a quarter)")
    hdr = (f"{'predictor (day d → low readiness on d+1)':<40}{'pooled':>7} {'95% CI days':>12} "
           f"{'95% CI athl.':>12} {'Δ pooled vs carried':>22}{'within':>8} {'95% CI days':>12} "
           f"{'Δ within vs carried':>22}")
    lines += [hdr, "-" * len(hdr)]
    base_p = pooled_auc(data.scores[baseline], data.labels)
    base_w = within_auc(data.scores[baseline], data.labels)
    for n in data.names:
        a = pooled_auc(data.scores[n], data.labels)
        w = within_auc(data.scores[n], data.labels)
        lo, hi = ci(boot["pooled"][n])
        clo, chi = ci(boot["pooled_cluster"][n])
        wlo, whi = ci(boot["within"][n])
        if n == baseline:
            dp = dw = ""
        else:
            dlo, dhi = ci(boot["pooled"][n] - boot["pooled"][baseline])
            dp = f"{a - base_p:+.3f} [{dlo:+.3f},{dhi:+.3f}]"
            dlo, dhi = ci(boot["within"][n] - boot["within"][baseline])
            dw = f"{w - base_w:+.3f} [{dlo:+.3f},{dhi:+.3f}]"
        lines.append(f"{n:<40}{a:>7.3f} {lo:.3f}-{hi:.3f} {clo:.3f}-{chi:.3f} {dp:>22}{w:>8.3f} "
                     f"{wlo:.3f}-{whi:.3f} {dw:>22}")
    lines.append("")
    hdr2 = f"{'athlete':<8}{'days':>5}{'low':>5}{'p25':>5}" + "".join(f"{_short(n):>11}" for n in data.names)
    lines += ["per-athlete AUC:", hdr2]
    per: dict[str, list[float]] = {n: [] for n in data.names}
    for i, pid in enumerate(data.pids):
        y = data.labels[i]
        row = f"{pid:<8}{len(y):>5}{int(y.sum()):>5}{data.thresholds[i]:>5.0f}"
        for n in data.names:
            a = auc(data.scores[n][i], y)
            per[n].append(a)
            row += f"{a:>11.3f}"
        lines.append(row)
    lines.append(f"{'mean':<23}" + "".join(f"{np.nanmean(per[n]):>11.3f}" for n in data.names))
    beats = {n: sum(1 for a, b in zip(per[n], per[baseline], strict=True) if a > b)
             for n in data.names if n != baseline}
    lines.append("athletes where the predictor's AUC > carried-forward readiness: "
                 + "; ".join(f"{_short(n)} {k}/{len(data.pids)}" for n, k in beats.items()))
    return lines


# --------------------------------------------------------------------------- diagnosis
COMPONENTS: dict[str, str] = {
    "wellness_z": "composite check-in z, today",
    "wellness_z_7d": "composite check-in z, 7-day mean (the risk-score term)",
    "energy_z": "energy (PMSys fatigue) z, today",
    "mood_z": "mood z, today",
    "soreness_z": "soreness z, today",
    "sleep_quality_z": "sleep quality z, today",
    "stress_z": "stress z, today",
}


def _components(p: Participant, *, readiness: bool) -> dict[str, FloatArray]:
    f = p.frame if readiness else p.frame.drop(columns=["readiness"], errors="ignore")
    r = stage_matrix(frame_matrix_inputs(f), detail=True)
    out = {f"-{k}": -np.asarray(r[k][0], dtype=np.float64) for k in COMPONENTS if k in r}
    out["rhr_7d - baseline"] = np.asarray(r["rhr_7d"][0] - r["rhr_base"][0], dtype=np.float64)
    out["rhr today - baseline"] = np.asarray(r["rhr_bpm"][0] - r["rhr_base"][0], dtype=np.float64)
    out["sleep baseline - 7d"] = np.asarray(r["sleep_h_base"][0] - r["sleep_h_7d"][0], dtype=np.float64)
    return out


def _rank_fill(x: FloatArray) -> FloatArray:
    """NaN (marker not available that day) ranks lowest: no evidence of risk."""
    finite = np.isfinite(x)
    low = float(np.min(x[finite])) - 1.0 if finite.any() else 0.0
    return np.where(finite, x, low)


def _masks(parts: Sequence[Participant], data: EvalData) -> dict[str, tuple[NDArray[np.bool_], NDArray[np.bool_]]]:
    """Per evaluated athlete: (label on all days, the evaluated-day mask) of the main table."""
    preds = default_predictors()
    out = {}
    for p in parts:
        if p.pid not in data.pids:
            continue
        low, known, _ = label_and_mask(p.frame)
        mask = known.copy()
        for fn in preds.values():
            mask &= np.isfinite(fn(p))
        out[p.pid] = (low, mask)
    return out


def _loao(per_cand: Mapping[str, Mapping[str, tuple[FloatArray, NDArray[np.bool_]]]], pids: Sequence[str]) -> tuple[float, float, list[str]]:
    """Leave one athlete out: pick the candidate with the best within-AUC on the others."""
    held_s, held_y, picks = [], [], []
    for test in pids:
        train = [q for q in pids if q != test]

        def score(c: str, train: list[str] = train) -> float:
            return within_auc([per_cand[c][q][0] for q in train], [per_cand[c][q][1] for q in train])

        best = max(per_cand, key=score)
        picks.append(best)
        held_s.append(per_cand[best][test][0])
        held_y.append(per_cand[best][test][1])
    return within_auc(held_s, held_y), pooled_auc(held_s, held_y), picks


def diagnose(parts: Sequence[Participant], data: EvalData) -> list[str]:
    """Why the risk score does (not) rank next-day low readiness, and what was tried."""
    masks = _masks(parts, data)
    by_pid = {p.pid: p for p in parts}
    lines = ["", "Diagnosis 1 - each engine marker on the same athlete-days (higher = more risk):",
             f"{'marker (readiness IN the composite where it applies)':<58}{'pooled':>8}{'within':>8}"]
    comp: dict[str, tuple[list[FloatArray], list[NDArray[np.bool_]]]] = {}
    for pid in data.pids:
        low, mask = masks[pid]
        for rin in (True, False):
            for name, v in _components(by_pid[pid], readiness=rin).items():
                if not rin and "wellness" not in name:
                    continue
                key = name + ("" if rin else "  (readiness OUT)")
                comp.setdefault(key, ([], []))
                comp[key][0].append(_rank_fill(v[mask]))
                comp[key][1].append(low[mask])
    for name, (s, y) in comp.items():
        lines.append(f"{name:<58}{pooled_auc(s, y):>8.3f}{within_auc(s, y):>8.3f}")

    lines += ["", "Diagnosis 2 - shorter / longer calibration (wellness baseline window, minimum days, "
              "lag of the baseline), chosen leave-one-athlete-out on the within-athlete AUC:"]
    grid: dict[str, BaselineConfig] = {"default (28 d, min 14, lag 7)": BaselineConfig()}
    for wb in (14, 28, 42):
        for wmin in (7, 14):
            for lag in (1, 3, 7):
                if (wb, wmin, lag) == (28, 14, 7):
                    continue
                grid[f"wellness {wb} d, min {wmin}, lag {lag}"] = BaselineConfig(
                    wellness_baseline_days=wb, wellness_min_baseline_days=wmin, baseline_lag_days=lag,
                    rhr_min_baseline_days=max(7, wmin), sleep_min_baseline_days=min(10, wmin),
                )
    for rin in (True, False):
        per_cand: dict[str, dict[str, tuple[FloatArray, NDArray[np.bool_]]]] = {}
        for cname, cfg in grid.items():
            per_cand[cname] = {}
            for pid in data.pids:
                low, mask = masks[pid]
                r = engine_risk(by_pid[pid].frame, readiness=rin, config=cfg)
                per_cand[cname][pid] = (_rank_fill(r[mask]), low[mask])
        default = per_cand["default (28 d, min 14, lag 7)"]
        d_w = within_auc([default[q][0] for q in data.pids], [default[q][1] for q in data.pids])
        best_in_sample = max(
            per_cand, key=lambda c: within_auc([per_cand[c][q][0] for q in data.pids],
                                               [per_cand[c][q][1] for q in data.pids]))
        b_w = within_auc([per_cand[best_in_sample][q][0] for q in data.pids],
                         [per_cand[best_in_sample][q][1] for q in data.pids])
        lw, lp, picks = _loao(per_cand, data.pids)
        tag = "IN" if rin else "OUT"
        lines.append(f"  readiness {tag}: default within {d_w:.3f}; best of {len(grid)} in-sample {b_w:.3f} "
                     f"({best_in_sample}); leave-one-athlete-out within {lw:.3f}, pooled {lp:.3f}")
        lines.append(f"    picked per held-out athlete: {'; '.join(sorted(set(picks)))}")

    lines += ["", "Diagnosis 3 - adding an acute-load term w·clip(ACWR_engine − 1, 0, 3) to the risk score's "
              "linear predictor, w chosen leave-one-athlete-out from 0..8:"]
    weights = (0.0, 0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
    for rin in (True, False):
        per_w: dict[str, dict[str, tuple[FloatArray, NDArray[np.bool_]]]] = {}
        for w in weights:
            per_w[f"{w:g}"] = {}
            for pid in data.pids:
                low, mask = masks[pid]
                p = by_pid[pid]
                r = engine_risk(p.frame, readiness=rin)
                with np.errstate(divide="ignore", invalid="ignore"):
                    lin = 2.0 + np.log(r / (1.0 - r)) / 1.5  # inverse of the engine's logistic
                spike = np.clip(np.nan_to_num(load_scores(p.frame["load_au"].astype(float))["acwr"], nan=1.0) - 1.0,
                                0.0, 3.0)
                per_w[f"{w:g}"][pid] = ((lin + w * spike)[mask], low[mask])
        lw, lp, picks = _loao(per_w, data.pids)
        lines.append(f"  readiness {'IN' if rin else 'OUT'}: leave-one-athlete-out within {lw:.3f}, pooled {lp:.3f}; "
                     f"w picked: {', '.join(picks)}")

    lines += ["", "Diagnosis 4 - readiness-centred scores (the athlete's own rating against their own causal "
              "normal), alone and plus w × the engine's linear predictor, w chosen leave-one-athlete-out:"]
    per_v: dict[str, dict[str, tuple[FloatArray, NDArray[np.bool_]]]] = {}
    for pid in data.pids:
        low, mask = masks[pid]
        p = by_pid[pid]
        level = _readiness_levels(p)
        r = engine_risk(p.frame, readiness=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            lin = np.nan_to_num(2.0 + np.log(r / (1.0 - r)) / 1.5)
        for lname, v in level.items():
            for w in (0.0, 0.25, 0.5, 1.0):
                per_v.setdefault(f"{lname} + {w:g}·engine", {})[pid] = (_rank_fill((v + w * lin)[mask]), low[mask])
    for name, cand in per_v.items():
        s_, y_ = [cand[q][0] for q in data.pids], [cand[q][1] for q in data.pids]
        lines.append(f"  {name:<52}{pooled_auc(s_, y_):>8.3f}{within_auc(s_, y_):>8.3f}")
    lw, lp, picks = _loao(per_v, data.pids)
    lines.append(f"  chosen leave-one-athlete-out: within {lw:.3f}, pooled {lp:.3f}; picked: {'; '.join(sorted(set(picks)))}")
    return lines


def _readiness_levels(p: Participant) -> dict[str, FloatArray]:
    """Causal readiness-centred scores (higher = worse): −z of today's readiness (or of its 2-day
    EWMA) against the athlete's expanding mean/SD of earlier days (≥ 7 readings, SD ≥ 0.5)."""
    r = pd.to_numeric(p.frame["readiness"], errors="coerce").astype(float)
    mean = r.expanding(min_periods=7).mean().shift(1)
    sd = r.expanding(min_periods=7).std().shift(1).clip(lower=0.5)
    ewm2 = r.ewm(span=2, ignore_na=True).mean().where(r.notna())
    return {
        "-z(readiness today)": (-(r - mean) / sd).to_numpy(dtype=np.float64),
        "-z(readiness 2-day EWMA)": (-(ewm2 - mean) / sd).to_numpy(dtype=np.float64),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--participants", default=",".join(PARTICIPANTS))
    p.add_argument("--boot", type=int, default=2000, help="bootstrap resamples")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--no-diagnosis", action="store_true", help="skip the marker / calibration / load diagnosis")
    args = p.parse_args()
    root = pmdata_root()
    pids = [s.strip() for s in args.participants.split(",") if s.strip()]
    parts = load_all(root, pids)

    # the stored (production) risk score equals the kernel run on the same frame
    worst = 0.0
    for part in parts:
        mine = engine_risk(part.frame, readiness=True)
        stored = part.stored_risk.to_numpy(dtype=np.float64)
        both = np.isfinite(mine) & np.isfinite(stored)
        if not np.array_equal(np.isfinite(mine), np.isfinite(stored)):
            worst = float("inf")
        elif both.any():
            worst = max(worst, float(np.max(np.abs(mine[both] - stored[both]))))
    print(f"PMData {', '.join(pids)} (tz {TZ}) imported through import_paths into a temporary SQLite store; "
          f"stored risk_score vs stage_matrix on daily_inputs: max |diff| = {worst:.2g}")
    data = collect(parts, default_predictors())
    boot = bootstrap(data, reps=args.boot, seed=args.seed)
    print(f"Target: readiness on d+1 ≤ the athlete's {int(100 * LOW_QUANTILE)}th percentile. pooled = all "
          "positive/negative pairs across athletes; within = pairs within the same athlete. "
          f"CIs: {args.boot} percentile-bootstrap resamples of days within athletes ('days') or of "
          "athletes as clusters ('athl.').")
    for line in report(data, boot, baseline=CARRIED):
        print(line)
    if not args.no_diagnosis:
        for line in diagnose(parts, data):
            print(line)


if __name__ == "__main__":
    main()
