"""The compiled loop behind :func:`lydiard.domain.load.pmc.daily_metrics_matrix`.

One pass over the days of a tile of athletes computes all ten daily outputs (CTL, ATL,
TSB, ramp, the two ACWR EWMAs and their ratio, weekly load, monotony, strain). The loop
over the days runs in machine code (Numba, compiled on first use and cached on disk); every
innermost loop runs across the athletes of a tile (contiguous in the day-major buffers), so
it is vectorised with SIMD instructions and the EWMA recurrences of different athletes
proceed side by side.

Why compiled (measured, ``benchmarks/daily_load.py``, 10,000 athletes × 3,650 days on the
2-core reference machine): the earlier NumPy implementation (tiles of 256 × 256, EWMAs as
blocked prefix scans, window sums as trees of partial sums) took 0.76-0.91 CPU-s, about 40
vector operations per athlete-day each making a pass over a tile; this loop takes ~0.21 s
(~0.30 s before the window length became a compile-time constant), each value loaded
once and each output stored once.

Arithmetic (per athlete, day by day; nothing depends on which other athletes share the
tile, so a row computed alone equals the same row computed with others):

* EWMAs ``y_d = y_{d−1} + k·(L_d − y_{d−1})`` (CTL/ATL from their seeds, the ACWR EWMAs from 0);
* weekly load: the ``w`` loads of the window added oldest first (no running total, so no
  round-off drift over years); variance two-pass ``Σ(x − mean)²/w`` (no ``E[x²] − E[x]²``
  cancellation).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import cast

import numba
import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]

#: Athletes per tile: the length of the vectorised inner loops.
TILE_ATHLETES = 64
#: Days per tile: the tile's loads (days × athletes, with the ``w − 1`` days before) stay in
#: the core's L2 cache (512 × 64 × 8 B = 256 KiB).
TILE_DAYS = 512


@functools.lru_cache(maxsize=16)
def daily_metrics_kernel(window_days: int) -> Callable[..., None]:
    """The compiled loop for a window of ``window_days`` days (compiled once per length).

    The window length is a compile-time constant of the loop, so the loops over a window's
    days unroll and the loop across the athletes vectorises with everything the window
    feeds (weekly load, mean, variance, monotony, strain) in one pass: 0.30 → 0.21 CPU-s
    for 10,000 athletes × 3,650 days (``benchmarks/daily_load.py``), against a run-time
    window length. Numba caches each length on disk (a closure's constants are part of its
    cache key), so only the first use of a new length compiles (~2 s). ``window_days`` is
    checked (a positive integer) by the caller, :func:`~lydiard.domain.load.pmc.daily_metrics_matrix`.
    """
    w = int(window_days)

    @numba.njit(cache=True, nogil=True, boundscheck=False, error_model="numpy")  # type: ignore[untyped-decorator]
    def fill_daily_metrics(
        loads: FloatArray,
        gains: FloatArray,
        seeds: FloatArray,
        monotony_cap: float,
        ctl: FloatArray,
        atl: FloatArray,
        tsb: FloatArray,
        ramp: FloatArray,
        acute: FloatArray,
        chronic: FloatArray,
        ratio: FloatArray,
        weekly: FloatArray,
        monotony: FloatArray,
        strain: FloatArray,
    ) -> None:
        """Write the daily metrics of ``loads`` (athletes × days, ≥ 0, finite: checked by the caller) into the outputs.

        ``gains``: the EWMA gains (CTL, ATL, acute, chronic); ``seeds``: CTL and ATL before day 0
        (2 × athletes); the window ``w`` (days) is the factory's. Outputs are
        day-major (days × athletes, C-contiguous). Every day is written: the caller sets the
        warm-up days (first ``w − 1`` of the window outputs, first ``chronic − 1`` of the
        ratio) to NaN. Monotony is ``min(mean/SD, cap)`` (population SD), 0 for a window
        below 1e-9 load_au; the ratio is NaN when the chronic EWMA is 0.
        """
        n_athletes, n_days = loads.shape
        inv_w = 1.0 / w
        inv_cap = 1.0 / monotony_cap
        k_ctl, k_atl, k_acute, k_chronic = gains[0], gains[1], gains[2], gains[3]
        x = np.zeros((TILE_DAYS + w - 1, TILE_ATHLETES))  # the w − 1 days before the tile, then the tile
        c = np.empty(TILE_ATHLETES)
        t = np.empty(TILE_ATHLETES)
        e_acute = np.empty(TILE_ATHLETES)
        e_chronic = np.empty(TILE_ATHLETES)
        for a0 in range(0, n_athletes, TILE_ATHLETES):
            na = min(TILE_ATHLETES, n_athletes - a0)
            a1 = a0 + na
            for j in range(na):
                c[j] = seeds[0, a0 + j]
                t[j] = seeds[1, a0 + j]
                e_acute[j] = 0.0
                e_chronic[j] = 0.0
            x[: w - 1] = 0.0  # no load before day 0
            for d0 in range(0, n_days, TILE_DAYS):
                nd = min(TILE_DAYS, n_days - d0)
                for j in range(na):  # transpose the tile's loads to day-major
                    for i in range(nd):
                        x[w - 1 + i, j] = loads[a0 + j, d0 + i]
                for i in range(nd):
                    d = d0 + i
                    today = x[w - 1 + i]
                    o_ctl = ctl[d, a0:a1]
                    o_atl = atl[d, a0:a1]
                    o_tsb = tsb[d, a0:a1]
                    o_acute = acute[d, a0:a1]
                    o_chronic = chronic[d, a0:a1]
                    o_ratio = ratio[d, a0:a1]
                    for j in range(na):
                        load = today[j]
                        cj = c[j]
                        tj = t[j]
                        o_tsb[j] = cj - tj  # form going into the day
                        cj = cj + k_ctl * (load - cj)
                        tj = tj + k_atl * (load - tj)
                        ea = e_acute[j] + k_acute * (load - e_acute[j])
                        ec = e_chronic[j] + k_chronic * (load - e_chronic[j])
                        c[j] = cj
                        t[j] = tj
                        e_acute[j] = ea
                        e_chronic[j] = ec
                        o_ctl[j] = cj
                        o_atl[j] = tj
                        o_acute[j] = ea
                        o_chronic[j] = ec
                        o_ratio[j] = ea / ec if ec > 0.0 else np.nan
                    o_ramp = ramp[d, a0:a1]
                    if d >= 7:
                        week_ago = ctl[d - 7, a0:a1]
                        for j in range(na):
                            o_ramp[j] = o_ctl[j] - week_ago[j]
                    else:  # CTL before day 0 = the seed
                        for j in range(na):
                            o_ramp[j] = o_ctl[j] - seeds[0, a0 + j]
                    o_weekly = weekly[d, a0:a1]
                    o_monotony = monotony[d, a0:a1]
                    o_strain = strain[d, a0:a1]
                    for j in range(na):  # w is a constant: the window loops unroll, j vectorises
                        s = 0.0
                        for k in range(w):
                            s += x[i + k, j]
                        mean = s * inv_w
                        dev2 = 0.0
                        for k in range(w):
                            dev = x[i + k, j] - mean
                            dev2 += dev * dev
                        w_sd = np.sqrt(w * dev2)  # w · SD
                        floor = s * inv_cap  # caps mean/SD at the cap
                        mono = s / (w_sd if w_sd > floor else floor) if s >= 1e-9 else 0.0
                        o_weekly[j] = s
                        o_monotony[j] = mono
                        o_strain[j] = s * mono
                for k in range(w - 1):  # the tile's last w − 1 days open the next tile's windows
                    for j in range(na):
                        x[k, j] = x[nd + k, j]

    return cast(Callable[..., None], fill_daily_metrics)
