"""Benchmark: daily load metrics for 10,000 athletes × 10 years (3,650 days).

The matrix kernel (:func:`lydiard.domain.load.pmc.daily_metrics_matrix`: CTL, ATL, TSB,
ramp, EWMA-ACWR, monotony, strain, weekly load) against the straightforward per-athlete
pandas loop (``ewm`` and ``rolling`` per athlete), timed on a sample of athletes and
extrapolated, in the same run. Prints times (median of repeats), the speed-up, the max
abs difference (target ≤ 1e-9) and peak RSS (target < 2 GB).

Run: ``.venv/bin/python benchmarks/daily_load.py [n_athletes] [sample]``.
"""

from __future__ import annotations

import resource
import statistics
import sys
import time

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from lydiard.domain.load.pmc import (
    MATRIX_OUTPUTS,
    MONOTONY_CAP,
    daily_metrics_matrix,
    ewma_lambda,
    pmc_gain,
)

N_DAYS = 3650
CHUNK = 2500  # athletes per kernel call (bounds memory; buffers reused through ``out``)
REPEATS = 3


def simulate_loads(n_athletes: int, *, seed: int = 2024) -> np.ndarray:
    """Seeded daily loads: gamma-distributed sessions, ~30 % rest days, some rest weeks."""
    rng = np.random.default_rng(seed)
    loads = rng.gamma(2.0, 40.0, size=(n_athletes, N_DAYS))
    loads[rng.random((n_athletes, N_DAYS)) < 0.3] = 0.0
    loads[:, 700:714] = 0.0  # everyone's two-week break
    return loads


def pandas_reference(load: np.ndarray) -> dict[str, np.ndarray]:
    """The straightforward per-athlete computation with pandas ``ewm``/``rolling``."""
    s = pd.Series(load)
    seeded = pd.concat([pd.Series([0.0]), s], ignore_index=True)

    def ewm(alpha: float) -> pd.Series:
        return seeded.ewm(alpha=alpha, adjust=False).mean().iloc[1:].reset_index(drop=True)

    ctl, atl = ewm(pmc_gain(42)), ewm(pmc_gain(7))
    acute, chronic = ewm(ewma_lambda(7)), ewm(ewma_lambda(28))
    ratio = (acute / chronic).where(chronic > 0)
    ratio.iloc[:27] = np.nan
    roll = s.rolling(7)
    weekly, mean, sd = roll.sum(), roll.mean(), roll.std(ddof=0)
    monotony = (mean / np.maximum(sd, mean / MONOTONY_CAP)).where(weekly >= 1e-9, 0.0)
    monotony = monotony.where(weekly.notna())
    out = {
        "ctl": ctl,
        "atl": atl,
        "tsb": (ctl - atl).shift(1, fill_value=0.0),
        "ramp": ctl - ctl.shift(7, fill_value=0.0),
        "acute_ewma": acute,
        "chronic_ewma": chronic,
        "acwr_ewma": ratio,
        "weekly_load": weekly,
        "monotony": monotony,
        "strain": weekly * monotony,
    }
    return {k: v.to_numpy(dtype=np.float64) for k, v in out.items()}


def exact_window(load: np.ndarray) -> dict[str, np.ndarray]:
    """Window statistics computed directly on each 7-day window (no running sums)."""
    win = sliding_window_view(load, 7)
    mean, sd = win.mean(axis=1), win.std(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(mean * 7 < 1e-9, 0.0, mean / np.maximum(sd, mean / MONOTONY_CAP))
    return {"weekly_load": win.sum(axis=1), "monotony": mono, "strain": win.sum(axis=1) * mono}


def max_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    both = np.isfinite(a) & np.isfinite(b)
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf")
    return float(np.max(np.abs(a[both] - b[both]))) if both.any() else 0.0


def run_kernel(loads: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    out: dict[str, np.ndarray] | None = None
    checksum = 0.0
    start = time.perf_counter()
    for a0 in range(0, loads.shape[0], CHUNK):
        chunk = loads[a0 : a0 + CHUNK]
        reuse = out if out is not None and out["ctl"].shape == chunk.shape else None
        out = daily_metrics_matrix(chunk, out=reuse)
        checksum += float(out["ctl"][:, -1].sum())  # consume the chunk (a batch job would store it)
    elapsed = time.perf_counter() - start
    assert out is not None and np.isfinite(checksum)
    return elapsed, out


def main() -> None:
    n_athletes = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    loads = simulate_loads(n_athletes)
    print(f"athletes × days: {n_athletes} × {N_DAYS} ({loads.nbytes / 1e6:.0f} MB of load)")

    kernel_times = [run_kernel(loads)[0] for _ in range(REPEATS)]
    kernel_s = statistics.median(kernel_times)

    ref_times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        for i in range(sample):
            pandas_reference(loads[i])
        ref_times.append(time.perf_counter() - start)
    ref_s = statistics.median(ref_times) / sample * n_athletes

    sample_result = daily_metrics_matrix(loads[:sample])
    worst: dict[str, float] = dict.fromkeys(MATRIX_OUTPUTS, 0.0)
    worst_rel: dict[str, float] = dict.fromkeys(MATRIX_OUTPUTS, 0.0)
    worst_exact = dict.fromkeys(("weekly_load", "monotony", "strain"), 0.0)
    worst_pandas_exact = dict(worst_exact)
    for i in range(sample):
        ref = pandas_reference(loads[i])
        exact = exact_window(loads[i])
        for name in MATRIX_OUTPUTS:
            diff = max_abs_diff(sample_result[name][i], ref[name])
            worst[name] = max(worst[name], diff)
            scale = max(1.0, float(np.nanmax(np.abs(ref[name]))))
            worst_rel[name] = max(worst_rel[name], diff / scale)
        for name in worst_exact:
            worst_exact[name] = max(
                worst_exact[name], max_abs_diff(sample_result[name][i, 6:], exact[name])
            )
            worst_pandas_exact[name] = max(
                worst_pandas_exact[name], max_abs_diff(ref[name][6:], exact[name])
            )

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"matrix kernel ({CHUNK}-athlete chunks), median of {REPEATS}: {kernel_s:.2f} s")
    print(
        f"pandas per-athlete loop: {statistics.median(ref_times) / sample * 1e3:.2f} ms/athlete "
        f"on {sample} athletes, extrapolated to {n_athletes}: {ref_s:.1f} s"
    )
    print(f"speed-up: {ref_s / kernel_s:.0f}x (target >= 50x)")
    print("max abs difference kernel vs pandas (relative to the output's scale):")
    for name in MATRIX_OUTPUTS:
        print(f"  {name:13s} {worst[name]:.2e}  ({worst_rel[name]:.1e})")
    print("window statistics vs direct per-window numpy (kernel | pandas rolling):")
    for name in worst_exact:
        print(f"  {name:13s} {worst_exact[name]:.2e} | {worst_pandas_exact[name]:.2e}")
    ok = all(v <= 1e-9 for v in worst.values())
    print(f"all outputs within 1e-9 of pandas: {ok}")
    print(f"peak RSS: {peak_rss_mb:.0f} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
