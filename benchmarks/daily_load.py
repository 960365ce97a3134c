"""Benchmark: daily load metrics for 10,000 athletes × 10 years (3,650 days).

The matrix kernel (:func:`lydiard.domain.load.pmc.daily_metrics_matrix`: CTL, ATL, TSB,
ramp, EWMA-ACWR, monotony, strain, weekly load) against the straightforward per-athlete
pandas loop (``ewm`` and ``rolling`` per athlete), timed on a sample of athletes and
extrapolated, in the same run. Prints wall and CPU times (median of repeats; the machine
is shared, so the CPU-time ratio is the steadier figure), the speed-up (target ≥ 50x), the
load average, and peak RSS (target < 2 GB).

The kernel (a compiled loop over the days, vectorised across athletes; see
``lydiard/domain/load/_pmc_kernel.py``) runs as a batch job would: chunks of 64 athletes,
each chunk's ten output arrays reused through ``out`` (no allocation, no page faults after
the warm-up; 64 × 3,650 days × 10 outputs × 8 B = 19 MB stay in the shared cache while the
chunk is consumed), input chunks are views (no copy). It is timed single-threaded (the
headline: the pandas loop is single-threaded too, so the CPU-time ratio compares like with
like) and with the chunks shared by two threads (the compiled loop releases the GIL): that
wall-clock figure is labelled "2 threads". The first call compiles the loop (or loads it from
Numba's cache): it is part of the untimed warm-up, and printed.

Accuracy: kernel and pandas are compared with the **relative** criterion
``|a − b| ≤ 1e-9 · max(1, |b|)`` (absolute and relative differences are both printed), and
each of them against an exact reference computed in extended precision (``np.longdouble``
recurrences and two-pass window statistics on the sample), so it is clear which side
carries the round-off.

Run: ``.venv/bin/python benchmarks/daily_load.py [n_athletes] [sample]``.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

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
CHUNK = 64  # athletes per kernel call (a batch job's chunk; buffers reused through ``out``)
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


def exact_reference(loads: np.ndarray) -> dict[str, np.ndarray]:
    """Every output in extended precision (``np.longdouble``), for athletes × days.

    EWMAs by their recurrence, window statistics two-pass on each 7-day window (no
    running sums, no ``E[x²] − E[x]²`` cancellation). Returned as longdouble arrays.
    """
    x = loads.astype(np.longdouble)
    n_ath, n_days = x.shape

    def ewm(k: float) -> np.ndarray:
        kk = np.longdouble(k)
        out = np.empty_like(x)
        state = np.zeros(n_ath, dtype=np.longdouble)
        for d in range(n_days):
            state = state + kk * (x[:, d] - state)
            out[:, d] = state
        return out

    ctl, atl = ewm(pmc_gain(42)), ewm(pmc_gain(7))
    acute, chronic = ewm(ewma_lambda(7)), ewm(ewma_lambda(28))
    nan = np.longdouble("nan")
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(chronic > 0, acute / chronic, nan)
    ratio[:, :27] = nan
    tsb = np.zeros_like(x)
    tsb[:, 1:] = (ctl - atl)[:, :-1]
    ramp = ctl.copy()
    ramp[:, 7:] -= ctl[:, :-7]
    win = sliding_window_view(x, 7, axis=1)
    weekly = np.full_like(x, nan)
    weekly[:, 6:] = win.sum(axis=2)
    mean = weekly / 7
    sd = np.full_like(x, nan)
    sd[:, 6:] = np.sqrt(((win - mean[:, 6:, None]) ** 2).mean(axis=2))
    with np.errstate(divide="ignore", invalid="ignore"):
        mono = np.where(weekly < 1e-9, 0.0, mean / np.maximum(sd, mean / MONOTONY_CAP))
    mono[:, :6] = nan
    return {
        "ctl": ctl, "atl": atl, "tsb": tsb, "ramp": ramp, "acute_ewma": acute,
        "chronic_ewma": chronic, "acwr_ewma": ratio, "weekly_load": weekly,
        "monotony": mono, "strain": weekly * mono,
    }  # fmt: skip


def diffs(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Max absolute and max relative ``|a − b| / max(1, |b|)`` difference (NaNs must match)."""
    if not np.array_equal(np.isnan(a), np.isnan(b)):
        return float("inf"), float("inf")
    both = np.isfinite(a) & np.isfinite(b)
    if not both.any():
        return 0.0, 0.0
    d = np.abs(a[both].astype(np.longdouble) - b[both])
    rel = d / np.maximum(1.0, np.abs(b[both].astype(np.longdouble)))
    return float(d.max()), float(rel.max())


def _run_chunks(
    loads: np.ndarray, starts: list[int], out: dict[str, np.ndarray] | None
) -> tuple[dict[int, float], dict[str, np.ndarray]]:
    """The kernel over the chunks starting at ``starts``, reusing ``out`` between chunks."""
    checksum: dict[int, float] = {}
    for a0 in starts:
        chunk = loads[a0 : a0 + CHUNK]  # a view: no copy
        reuse = out if out is not None and out["ctl"].shape == chunk.shape else None
        out = daily_metrics_matrix(chunk, out=reuse)
        # consume the chunk (a batch job would store it)
        checksum[a0] = float(out["ctl"][:, -1].sum())
    assert out is not None
    return checksum, out


def run_kernel(
    loads: np.ndarray, buffers: list[dict[str, np.ndarray] | None], threads: int = 1
) -> tuple[float, float, tuple[float, ...], list[dict[str, np.ndarray] | None]]:
    """Time the kernel over all athletes in chunks; ``buffers``: one ``out`` per thread.

    Returns wall seconds, CPU seconds (all threads), a checksum per chunk and the buffers.
    """
    starts = list(range(0, loads.shape[0], CHUNK))
    cpu0 = time.process_time()
    start = time.perf_counter()
    if threads == 1:
        results = [_run_chunks(loads, starts, buffers[0])]
    else:
        with ThreadPoolExecutor(threads) as pool:  # thread i: chunks i, i + threads, ...
            results = list(
                pool.map(
                    _run_chunks,
                    [loads] * threads,
                    [starts[i::threads] for i in range(threads)],
                    buffers,
                )
            )
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu0
    per_chunk = {a0: value for r in results for a0, value in r[0].items()}
    checksum = tuple(per_chunk[a0] for a0 in starts)
    assert np.all(np.isfinite(checksum))
    return elapsed, cpu, checksum, [r[1] for r in results]


def main() -> None:
    n_athletes = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    sample = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    loads = simulate_loads(n_athletes)
    print(f"athletes × days: {n_athletes} × {N_DAYS} ({loads.nbytes / 1e6:.0f} MB of load)")

    load_before = os.getloadavg()[0]
    timings = {}
    checksums = set()
    start = time.perf_counter()
    daily_metrics_matrix(loads[:2, :30])  # first call: compiles the loop or loads it from the cache
    print(f"first call (compile or load from Numba's cache): {time.perf_counter() - start:.2f} s, not timed")
    for threads in (1, 2):
        buffers = run_kernel(loads, [None] * threads, threads)[3]  # warm-up: allocates the buffers
        runs = []
        for _ in range(REPEATS):
            elapsed, cpu, checksum, buffers = run_kernel(loads, buffers, threads)
            runs.append((elapsed, cpu))
            checksums.add(checksum)
        timings[threads] = (
            statistics.median(r[0] for r in runs),
            statistics.median(r[1] for r in runs),
        )
    assert len(checksums) == 1, "threaded and single-threaded results differ"  # bit for bit
    kernel_s, kernel_cpu = timings[1]

    ref_times, ref_cpus = [], []
    for _ in range(REPEATS):
        cpu0, start = time.process_time(), time.perf_counter()
        for i in range(sample):
            pandas_reference(loads[i])
        ref_times.append(time.perf_counter() - start)
        ref_cpus.append(time.process_time() - cpu0)
    ref_s = statistics.median(ref_times) / sample * n_athletes
    ref_cpu = statistics.median(ref_cpus) / sample * n_athletes

    sample_result = daily_metrics_matrix(loads[:sample])
    exact = exact_reference(loads[:sample])
    rows = []
    for name in MATRIX_OUTPUTS:
        ref = np.stack([pandas_reference(loads[i])[name] for i in range(sample)])
        rows.append((name, diffs(sample_result[name], ref), diffs(sample_result[name], exact[name]),
                     diffs(ref, exact[name])))  # fmt: skip

    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"load average {load_before:.1f} at start, {os.getloadavg()[0]:.1f} at end "
          f"({os.cpu_count()} cores, shared)")  # fmt: skip
    print(f"matrix kernel ({CHUNK}-athlete chunks, buffers reused), median of {REPEATS}: "
          f"{kernel_s:.2f} s wall, {kernel_cpu:.2f} s CPU (1 thread); "
          f"{timings[2][0]:.2f} s wall, {timings[2][1]:.2f} s CPU (2 threads)")  # fmt: skip
    print(
        f"pandas per-athlete loop: {statistics.median(ref_times) / sample * 1e3:.2f} ms/athlete "
        f"wall, {statistics.median(ref_cpus) / sample * 1e3:.2f} ms CPU, on {sample} athletes; "
        f"extrapolated to {n_athletes}: {ref_s:.1f} s wall, {ref_cpu:.1f} s CPU"
    )
    print(f"speed-up, single thread: {ref_cpu / kernel_cpu:.0f}x CPU time, {ref_s / kernel_s:.0f}x "
          f"wall; 2 threads: {ref_s / timings[2][0]:.0f}x wall (target >= 50x)")  # fmt: skip
    print("max difference, absolute (relative = |a−b| / max(1, |b|)):")
    print(f"  {'output':13s} {'kernel vs pandas':>20s} {'kernel vs exact':>20s} "
          f"{'pandas vs exact':>20s}")  # fmt: skip
    ok = True
    for name, kp, ke, pe in rows:
        ok &= kp[1] <= 1e-9
        cells = " ".join(f"{a:9.2e} ({r:7.1e})" for a, r in (kp, ke, pe))
        print(f"  {name:13s} {cells}")
    print(f"all outputs within 1e-9 relative of pandas: {ok}")
    print(f"peak RSS: {peak_rss_mb:.0f} MB (target < 2048 MB)")


if __name__ == "__main__":
    main()
