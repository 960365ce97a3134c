"""Daily load kernels: PMC (CTL/ATL/TSB), ACWR, monotony and strain.

One implementation: :func:`daily_metrics_matrix` computes every daily metric for a matrix
of athletes × days, tile by tile (256 athletes × 256 days), every vector operation running
across athletes and across days (no Python loop over days); the Series functions
:func:`pmc`, :func:`acwr` (EWMA) and :func:`monotony_strain` call it with one row.

Alignment (``docs/style.md`` §3.3): ``ctl``/``atl`` are values at the **end** of a day, the
day's load included; ``tsb`` of day *d* is ``ctl(d−1) − atl(d−1)``, the form going *into*
day *d* (TrainingPeaks; GoldenCheetah's default shows stress balance on the following day).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lydiard.errors import InvalidInputError

FloatArray = NDArray[np.float64]
Convention = Literal["exp", "tp"]
AcwrMethod = Literal["ewma", "rolling", "rolling_uncoupled"]

#: Monotony cap: with an (almost) constant week, SD → 0 and mean/SD → ∞; it is capped here.
MONOTONY_CAP: float = 10.0
#: Descriptive load-spike threshold on ACWR (Gabbett 2016's "danger zone" edge). A flag for
#: "this week's load is well above what the athlete is used to", never an injury probability
#: (Impellizzeri et al. 2020 IJSPP 15:907; 2021 Sports Med 51:581).
SPIKE_ACWR: float = 1.5
#: Names of the arrays :func:`daily_metrics_matrix` returns.
MATRIX_OUTPUTS: tuple[str, ...] = (
    "ctl",
    "atl",
    "tsb",
    "ramp",
    "acute_ewma",
    "chronic_ewma",
    "acwr_ewma",
    "weekly_load",
    "monotony",
    "strain",
)
_SCAN_BLOCK_MAX = 32  # days per scan block of the EWMAs (see :func:`_scan_block`)
_TILE_ATHLETES = 256  # athletes per tile
_TILE_CELLS = 1 << 16  # athlete-days per tile: ~0.5 MB per float64 tile array, the tile's
# ~20 arrays (scratch + the ten outputs' tiles) stay in cache between the passes
_TINY = 1e-300  # floor of the SD² term, so a window without load gives 0/√tiny = 0
#: The four EWMA outputs, in the order of their gains.
_EWMA_NAMES: tuple[str, ...] = ("ctl", "atl", "acute_ewma", "chronic_ewma")


def pmc_gain(days: float, *, convention: Convention | str = "exp") -> float:
    """EWMA gain ``k`` for a time constant of ``days``.

    ``"exp"``: ``k = 1 − e^(−1/N)`` (GoldenCheetah ``PMCData.cpp``, intervals.icu);
    ``"tp"``: ``k = 1/N`` (TrainingPeaks).

    >>> round(pmc_gain(42), 6), round(pmc_gain(7), 6)
    (0.023528, 0.133122)
    """
    if not days >= 1:
        raise InvalidInputError("time constants must be >= 1 day", field="days", value=days)
    if convention == "exp":
        return float(-np.expm1(-1.0 / days))
    if convention == "tp":
        return 1.0 / float(days)
    raise InvalidInputError(
        "convention must be 'exp' or 'tp'", field="convention", value=convention
    )


def ewma_lambda(days: float) -> float:
    """Williams et al. 2017 EWMA smoothing ``λ = 2/(N+1)`` (0.25 for 7 d, 0.069 for 28 d)."""
    if not days >= 1:
        raise InvalidInputError("ACWR windows must be >= 1 day", field="days", value=days)
    return 2.0 / (float(days) + 1.0)


def _load_matrix(load_au: ArrayLike) -> FloatArray:
    matrix = np.asarray(load_au, dtype=np.float64)
    if matrix.ndim == 1:
        matrix = matrix[None, :]
    if matrix.ndim != 2:
        raise InvalidInputError(
            "load_au must be athletes × days", field="load_au", ndim=matrix.ndim
        )
    if matrix.size == 0:
        return matrix
    # two read-only reductions (no temporary): NaN propagates through min, ±inf shows in min/max
    if not (matrix.min() >= 0 and matrix.max() < np.inf):
        if np.any(matrix < 0):
            raise InvalidInputError("daily load must be >= 0", field="load_au")
        if np.any(np.isinf(matrix)):
            raise InvalidInputError("daily load must be finite", field="load_au")
        matrix = np.where(matrix >= 0, matrix, 0.0)  # NaN = no load recorded that day
    return matrix


def _seed(value: ArrayLike, n_athletes: int, field: str) -> FloatArray:
    seed = np.broadcast_to(np.asarray(value, dtype=np.float64), (n_athletes,)).copy()
    if not np.all(np.isfinite(seed)) or np.any(seed < 0):
        raise InvalidInputError(f"{field} must be finite and >= 0", field=field)
    return seed


def _output_buffers(
    out: Mapping[str, FloatArray] | None, n_athletes: int, n_days: int
) -> dict[str, FloatArray]:
    """Day-major (days × athletes, C-contiguous) buffers, reusing ``out`` when given."""
    buffers: dict[str, FloatArray] = {}
    for name in MATRIX_OUTPUTS:
        given = None if out is None else out.get(name)
        if given is not None:
            day_major = given.T
            if day_major.shape != (n_days, n_athletes) or not day_major.flags.c_contiguous:
                raise InvalidInputError(
                    "out arrays must come from a call with the same shape", field="out", name=name
                )
            if day_major.dtype != np.float64 or not day_major.flags.writeable:
                raise InvalidInputError(
                    "out arrays must be writeable float64", field="out", name=name
                )
            buffers[name] = day_major
        else:
            buffers[name] = np.empty((n_days, n_athletes))
    return buffers


def _scan_block(decays: FloatArray) -> int:
    """Days per EWMA scan block: at most 32, and ``a^−(B−1) ≤ 1e30`` for every decay ``a``.

    The scan multiplies day *j* of a block by ``a^−j``; the bound keeps those factors far
    from overflow for short time constants (``a = 1 − k`` small). ``a = 0`` (a gain of 1)
    gives blocks of one day.
    """
    a_min = float(decays.min())
    if a_min <= 0.0:
        return 1
    if a_min >= 1.0:  # pragma: no cover - gains are > 0
        return _SCAN_BLOCK_MAX
    fit = 1 + int(np.floor(30.0 * np.log(10.0) / -np.log(a_min)))
    return max(1, min(_SCAN_BLOCK_MAX, fit))


def _window_sum(src: FloatArray, n: int, w: int, parts: list[FloatArray], out: FloatArray) -> None:
    """``out[t] = Σ src[t : t + w]`` for ``t < n`` (``src`` has ``n + w − 1`` rows).

    A binary tree of partial sums, ``P_2L[i] = P_L[i] + P_L[i + L]`` (``parts`` holds one
    buffer per level), then one term per set bit of ``w``: for 7 days
    ``P_4[t] + P_2[t+4] + P_1[t+6]``, 4 vector adds instead of 6. Every window's sum is the
    same tree of the same values wherever tile boundaries fall, and nothing accumulates from
    day to day (no running totals, so no round-off drift).
    """
    levels = [src]
    length = 1
    while 2 * length <= w:
        prev = levels[-1]
        rows = prev.shape[0] - length
        nxt = parts[len(levels) - 1][:rows]
        np.add(prev[:rows], prev[length : length + rows], out=nxt)
        levels.append(nxt)
        length *= 2
    terms: list[FloatArray] = []
    offset = 0
    for level in range(len(levels) - 1, -1, -1):
        if w >> level & 1:
            terms.append(levels[level][offset : offset + n])
            offset += 1 << level
    if len(terms) == 1:
        np.copyto(out, terms[0])
        return
    np.add(terms[0], terms[1], out=out)
    for term in terms[2:]:
        out += term


class _Scratch:
    """Scratch arrays for tiles of ``width`` athletes × ``n_tile`` days (reused tile to tile)."""

    def __init__(self, width: int, n_tile: int, block: int, w: int) -> None:
        rows = n_tile + w - 1
        self.ext = np.zeros((rows, width))  # the w − 1 days before the tile, then the tile
        self.sq = np.empty((rows, width))
        self.parts = [np.empty((rows, width)) for _ in range(max(1, w.bit_length() - 1))]
        self.ss = np.empty((n_tile, width))
        self.tmp = np.empty((n_tile, width))
        self.mask = np.empty((n_tile, width), dtype=bool)
        self.scan = np.empty((block, 4, n_tile // block, width))
        self.carry_in = np.empty((4, n_tile // block, width))
        self.carry = np.empty((4, width))


def _fill(
    loads: FloatArray,
    buf: Mapping[str, FloatArray],
    gains: FloatArray,
    seeds: FloatArray,
    w: int,
) -> None:
    """Write every output of :func:`daily_metrics_matrix` into the day-major buffers ``buf``.

    Tiles of 256 athletes × 256 days (one transposed copy of the loads each) are processed
    one after the other; every numpy operation covers a whole tile or, in the EWMA scan,
    the same day of all its blocks.
    """
    n_athletes, n_days = loads.shape
    decays = 1.0 - gains
    block = _scan_block(decays)
    width = min(n_athletes, _TILE_ATHLETES)
    n_tile = max(1, _TILE_CELLS // width // block) * block
    n_tile = min(n_tile, -(-n_days // block) * block)
    positions = np.arange(block)
    # day j of a block enters the scan as k·a^−j·L and leaves it multiplied by a^j
    # (both repeated across the tile's athletes: a factor broadcast along the inner axis
    # makes NumPy buffer it element by element, ~2x slower than a full operand)
    enter = np.repeat(  # (B, 4, 1, width)
        (gains[:, None] * decays[:, None] ** -positions).T[:, :, None, None], width, axis=3
    )
    leave = np.repeat((decays[:, None] ** positions)[:, None, :, None], width, axis=3)
    decay_block = (decays**block)[:, None]
    ewmas = [buf[name] for name in _EWMA_NAMES]
    ctl, atl, acute, chronic = ewmas
    scratch: dict[int, _Scratch] = {}
    for r0 in range(0, n_athletes, width):
        r1 = min(r0 + width, n_athletes)
        cols = r1 - r0
        t = scratch.get(cols)
        if t is None:
            t = scratch[cols] = _Scratch(cols, n_tile, block, w)
        t.ext[: w - 1] = 0.0
        t.carry[:2] = seeds[:, r0:r1] * decays[:2, None]  # C = a·(value before day 0)
        t.carry[2:] = 0.0
        for d0 in range(0, n_days, n_tile):
            d1 = min(d0 + n_tile, n_days)
            n = d1 - d0
            n_blocks = -(-n // block)
            x = t.ext[w - 1 : w - 1 + n_blocks * block]
            np.copyto(x[:n], loads[r0:r1, d0:d1].T)  # the tile's one transposition
            x[n:] = 0.0

            # --- the four EWMAs: scaled prefix sums within blocks, carries between blocks
            # (scan[j, e, b] is day j of block b for EWMA e: each day's slab is contiguous)
            scan = t.scan[:, :, :n_blocks]
            days_by_block = x.reshape(n_blocks, block, cols).transpose(1, 0, 2)[:, None]
            np.multiply(days_by_block, enter[..., :cols], out=scan)
            for j in range(1, block):  # day j of every block of the tile at once
                np.add(scan[j], scan[j - 1], out=scan[j])
            ends = scan[block - 1]
            carry_in = t.carry_in[:, :n_blocks]
            carry_in[:, 0] = t.carry
            for b in range(1, n_blocks):
                np.add(carry_in[:, b - 1], ends[:, b - 1], out=carry_in[:, b])
                carry_in[:, b] *= decay_block
            np.add(carry_in[:, -1], ends[:, -1], out=t.carry)
            t.carry *= decay_block
            scan += carry_in
            full, rest = divmod(n, block)
            for e, values in enumerate(ewmas):
                tile = values[d0:d1, r0:r1]
                if full:  # written block by block, day by day: sequential stores
                    np.multiply(
                        scan[:, e, :full].transpose(1, 0, 2),
                        leave[e, :, :, :cols],
                        out=tile[: full * block].reshape(full, block, cols),
                    )
                if rest:
                    np.multiply(
                        scan[:rest, e, full], leave[e, 0, :rest, :cols], out=tile[full * block :]
                    )

            # --- values derived from the EWMAs (just written, still in cache)
            tsb = buf["tsb"][d0:d1, r0:r1]
            if d0 == 0:
                np.subtract(seeds[0, r0:r1], seeds[1, r0:r1], out=tsb[0])
                np.subtract(ctl[: d1 - 1, r0:r1], atl[: d1 - 1, r0:r1], out=tsb[1:])
            else:
                np.subtract(ctl[d0 - 1 : d1 - 1, r0:r1], atl[d0 - 1 : d1 - 1, r0:r1], out=tsb)
            ramp = buf["ramp"]
            lo = min(max(d0, 7), d1)
            if d0 < lo:  # CTL before day 0 = the seed
                np.subtract(ctl[d0:lo, r0:r1], seeds[0, r0:r1], out=ramp[d0:lo, r0:r1])
            if lo < d1:
                np.subtract(ctl[lo:d1, r0:r1], ctl[lo - 7 : d1 - 7, r0:r1], out=ramp[lo:d1, r0:r1])
            ratio = buf["acwr_ewma"][d0:d1, r0:r1]
            np.divide(acute[d0:d1, r0:r1], chronic[d0:d1, r0:r1], out=ratio)
            if np.fmax.reduce(ratio, axis=None) == np.inf:  # acute > 0 = chronic (underflow)
                np.copyto(ratio, np.nan, where=np.isinf(ratio))

            # --- weekly load, monotony, strain
            xe = t.ext[: w - 1 + n]
            sqe = t.sq[: w - 1 + n]
            np.multiply(xe, xe, out=sqe)
            weekly = buf["weekly_load"][d0:d1, r0:r1]
            _window_sum(xe, n, w, t.parts, weekly)
            ss = t.ss[:n]
            _window_sum(sqe, n, w, t.parts, ss)
            if w > 1:  # the tile's last w − 1 days open the next tile's windows
                t.ext[: w - 1] = t.ext[n : n + w - 1]
            floor = t.tmp[:n]
            np.multiply(weekly, weekly, out=floor)
            ss *= float(w)
            ss -= floor  # w²·variance = w·Σx² − (Σx)²
            floor *= 1.0 / (MONOTONY_CAP * MONOTONY_CAP)
            np.maximum(floor, _TINY, out=floor)  # > 0 even without load: no 0/0 below
            np.maximum(ss, floor, out=ss)  # also clips round-off below 0
            np.sqrt(ss, out=ss)  # w·SD, floored at w·mean/cap
            mono = buf["monotony"][d0:d1, r0:r1]
            np.divide(weekly, ss, out=mono)
            loaded = t.mask[:n]
            np.greater_equal(weekly, 1e-9, out=loaded)
            np.multiply(mono, loaded, out=mono)  # 0 for a window without load
            np.multiply(weekly, mono, out=buf["strain"][d0:d1, r0:r1])


def daily_metrics_matrix(
    load_au: ArrayLike,
    *,
    ctl_days: float = 42.0,
    atl_days: float = 7.0,
    convention: Convention | str = "exp",
    acute_days: float = 7.0,
    chronic_days: float = 28.0,
    window_days: int = 7,
    seed_ctl: ArrayLike = 0.0,
    seed_atl: ArrayLike = 0.0,
    out: Mapping[str, FloatArray] | None = None,
) -> dict[str, FloatArray]:
    """All daily load metrics for athletes × days, vectorised across athletes and days.

    Parameters
    ----------
    load_au : array-like, shape (athletes, days) or (days,)
        Daily load (TSS-equivalent load_au), consecutive days, ≥ 0; NaN = 0 (no session).
    ctl_days, atl_days : float
        PMC time constants (days): chronic (fitness) and acute (fatigue) load.
    convention : {"exp", "tp"}
        PMC gain: ``k = 1 − e^(−1/N)`` (GoldenCheetah, intervals.icu) or ``1/N``
        (TrainingPeaks). See :func:`pmc_gain`.
    acute_days, chronic_days : float
        ACWR EWMA spans (days); ``λ = 2/(N+1)`` (Williams et al. 2017).
    window_days : int
        Window of weekly load, monotony and strain (days).
    seed_ctl, seed_atl : float or array-like (athletes,)
        CTL/ATL before the first day (the acute/chronic ACWR EWMAs start at 0).
    out : dict, optional
        The result of an earlier call with the same shape: its arrays are overwritten
        instead of allocating new ones (batch jobs processing chunks of athletes).

    Returns
    -------
    dict of str to ndarray, each shape (athletes, days), float64
        ``ctl``, ``atl``: ``X_d = X_{d−1} + k·(L_d − X_{d−1})``, the day's load included
        (Banister 1991; Coggan PMC). ``tsb``: ``ctl(d−1) − atl(d−1)`` (form going into the
        day; day 0 uses the seeds). ``ramp``: ``ctl(d) − ctl(d−7)`` (CTL before day 0 =
        seed). ``acute_ewma``, ``chronic_ewma``: ``E_d = λ·L_d + (1−λ)·E_{d−1}`` from 0;
        ``acwr_ewma`` = acute/chronic, NaN for the first ``chronic_days − 1`` days (the
        chronic average has not seen a full window) and when chronic = 0.
        ``weekly_load``: sum of the last ``window_days`` days; ``monotony``:
        mean/SD of those days (Foster 1998; **population SD, ddof=0**; capped at
        :data:`MONOTONY_CAP` when SD → 0; 0 for a window without load, i.e. a weekly load
        below 1e-9 load_au); ``strain`` = weekly_load × monotony. The three are NaN for the
        first ``window_days − 1`` days. The arrays are Fortran-ordered (transposed
        day-major).

    Notes
    -----
    No Python loop over the days of the series. The work is done on tiles of 256 athletes
    × 256 days (day-major, so that every vector operation runs across athletes), small
    enough that a tile's arrays stay in cache from one operation to the next and each
    output is written to memory once. The only loops inside a tile are over the 31 day
    positions of a 32-day scan block (each operation covers that position in all 8 blocks
    of the tile, all athletes and all four EWMAs) and over the 8 block carries.

    EWMAs, ``y_d = a·y_{d−1} + k·L_d`` with ``a = 1 − k``, are computed in blocks of
    B = 32 days (fewer for time constants near one day, see :func:`_scan_block`): for day
    *j* of a block, ``y_j = a^j·(C + Σ_{i≤j} k·a^{−i}·L_i)`` where ``C = a·y`` of the day
    before the block. The sums are prefix sums over the block's days, done for the same day
    of every block of the tile, and all four EWMAs, in one vector add; the carries
    ``C' = a^B·(C + Σ_block)`` chain the blocks. All terms are ≥ 0, so the relative
    round-off stays ~B·ε (≈ 1e-14); the benchmark compares every output with pandas and
    with an extended-precision reference.

    The window sums are trees of partial sums (:func:`_window_sum`), not running totals;
    the population variance is ``(w·Σx² − (Σx)²) / w²``. Memory: the 10 outputs plus
    ~6 MB of scratch; process very large populations in chunks of athletes and pass
    ``out`` to reuse the buffers. Chunks of at most 256 athletes (the batch job uses 128)
    are the fastest: each output tile is then one contiguous block of memory.

    Every athlete's values depend only on that athlete's loads and the parameters (the
    block boundaries are fixed days counted from day 0), so a row computed alone equals
    the same row computed with any other athletes, and appending days leaves earlier days
    unchanged.

    References
    ----------
    Banister EW 1991; Coggan A (Performance Manager); GoldenCheetah ``PMCData.cpp``;
    Williams S et al. 2017 BJSM 51:209; Foster C 1998 MSSE 30:1164.
    """
    loads = _load_matrix(load_au)
    n_athletes, n_days = loads.shape
    if int(window_days) != window_days or window_days < 1:
        raise InvalidInputError("window_days must be a positive integer", field="window_days")
    w = int(window_days)
    gains = np.array(
        [
            pmc_gain(ctl_days, convention=convention),
            pmc_gain(atl_days, convention=convention),
            ewma_lambda(acute_days),
            ewma_lambda(chronic_days),
        ]
    )
    seeds = np.stack(
        [_seed(seed_ctl, n_athletes, "seed_ctl"), _seed(seed_atl, n_athletes, "seed_atl")]
    )
    buf = _output_buffers(out, n_athletes, n_days)
    if n_athletes and n_days:
        with np.errstate(divide="ignore", invalid="ignore"):
            _fill(loads, buf, gains, seeds, w)
    n_warm_w = min(w - 1, n_days)
    for name in ("weekly_load", "monotony", "strain"):
        buf[name][:n_warm_w] = np.nan
    buf["acwr_ewma"][: min(max(int(np.ceil(chronic_days)) - 1, 0), n_days)] = np.nan
    return {name: buf[name].T for name in MATRIX_OUTPUTS}


def _daily_series(daily_load_au: pd.Series) -> pd.Series:
    """Sum per calendar day and fill missing days with 0 (a new Series)."""
    if not isinstance(daily_load_au, pd.Series):
        raise InvalidInputError(
            "daily_load_au must be a pandas Series indexed by day", field="daily_load_au"
        )
    if daily_load_au.empty:
        raise InvalidInputError("daily_load_au is empty", field="daily_load_au")
    try:
        index = pd.DatetimeIndex(pd.to_datetime(daily_load_au.index))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            "daily_load_au must be indexed by day", field="daily_load_au"
        ) from exc
    if index.tz is not None:
        index = index.tz_localize(None)
    values = pd.to_numeric(daily_load_au, errors="coerce").to_numpy(dtype=np.float64, copy=True)
    series = pd.Series(values, index=index.normalize()).groupby(level=0).sum(min_count=1)
    full = pd.date_range(series.index.min(), series.index.max(), freq="D", name="day")
    return series.reindex(full, fill_value=0.0).fillna(0.0)


def _frame(series: pd.Series, columns: Mapping[str, FloatArray]) -> pd.DataFrame:
    return pd.DataFrame({name: values[0] for name, values in columns.items()}, index=series.index)


def pmc(
    daily_load_au: pd.Series,
    *,
    ctl_days: float = 42.0,
    atl_days: float = 7.0,
    convention: Convention | str = "exp",
    seed_ctl: float = 0.0,
    seed_atl: float = 0.0,
) -> pd.DataFrame:
    """Performance Management Chart: CTL, ATL, TSB and ramp per day.

    Parameters
    ----------
    daily_load_au : pandas.Series
        Load per day (TSS-equivalent load_au) indexed by day; several entries on one day
        are summed, missing days count as 0.
    ctl_days, atl_days : float
        Time constants (days).
    convention : {"exp", "tp"}
        ``"exp"``: ``k = 1 − e^(−1/N)``; ``"tp"``: ``k = 1/N``.
    seed_ctl, seed_atl : float
        CTL and ATL before the first day.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day`` (daily frequency): ``ctl``, ``atl`` (end of day, the day's load
        included), ``tsb = ctl(d−1) − atl(d−1)`` (form going into the day) and ``ramp``
        (CTL change over 7 days).

    Examples
    --------
    The step test of ``science.md``: 100 a day for 42 days from zero.

    >>> days = pd.date_range("2024-01-01", periods=42, freq="D")
    >>> last = pmc(pd.Series(100.0, index=days)).iloc[-1]
    >>> round(last.ctl, 2), round(last.atl, 2)
    (63.21, 99.75)

    References
    ----------
    Coggan A, TrainingPeaks Performance Manager; GoldenCheetah ``PMCData.cpp``.
    """
    series = _daily_series(daily_load_au)
    result = daily_metrics_matrix(
        series.to_numpy(),
        ctl_days=ctl_days,
        atl_days=atl_days,
        convention=convention,
        seed_ctl=seed_ctl,
        seed_atl=seed_atl,
    )
    return _frame(series, {k: result[k] for k in ("ctl", "atl", "tsb", "ramp")})


def rolling_acwr_matrix(
    load_au: ArrayLike, *, acute_days: int = 7, chronic_days: int = 28, coupled: bool = True
) -> dict[str, FloatArray]:
    """Rolling-average ACWR for athletes × days (vectorised over both axes).

    Coupled: ``A = mean(L[t−a+1..t])``, ``C = mean(L[t−c+1..t])`` (the chronic window
    includes the acute one; Lolli et al. 2019 BJSM 53:921). Uncoupled:
    ``C = mean(L[t−c+1..t−a])`` (Windt & Gabbett). NaN until the chronic window is full.
    """
    loads = _load_matrix(load_au)
    a, c = int(acute_days), int(chronic_days)
    if not 1 <= a < c:
        raise InvalidInputError("need 1 <= acute_days < chronic_days", field="acute_days")
    n_days = loads.shape[1]
    cs = np.concatenate([np.zeros((loads.shape[0], 1)), np.cumsum(loads, axis=1)], axis=1)
    acute = np.full(loads.shape, np.nan)
    chronic = np.full(loads.shape, np.nan)
    if n_days >= c:
        acute[:, c - 1 :] = (cs[:, c:] - cs[:, c - a : n_days + 1 - a]) / a
        if coupled:
            chronic[:, c - 1 :] = (cs[:, c:] - cs[:, : n_days + 1 - c]) / c
        else:
            chronic[:, c - 1 :] = (cs[:, c - a : n_days + 1 - a] - cs[:, : n_days + 1 - c]) / (
                c - a
            )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(chronic > 0, acute / chronic, np.nan)
    return {"acute": acute, "chronic": chronic, "acwr": ratio}


def acwr(
    daily_load_au: pd.Series,
    *,
    method: AcwrMethod | str = "ewma",
    acute_days: int = 7,
    chronic_days: int = 28,
    spike_threshold: float = SPIKE_ACWR,
) -> pd.DataFrame:
    """Acute:chronic workload ratio with a descriptive load-spike flag.

    Methods: ``"ewma"``: EWMAs with ``λ = 2/(N+1)`` (0.25 for 7 d, ≈0.069 for 28 d),
    seeded at 0 (Williams et al. 2017 BJSM 51:209); ``"rolling"``: 7-day over 28-day rolling
    means, coupled (the chronic window includes the acute week; Lolli et al. 2019);
    ``"rolling_uncoupled"``: chronic = days t−27..t−7. The ratio is NaN for the first
    ``chronic_days − 1`` days and when chronic load is 0.

    ``spike`` is True when the ratio ≥ ``spike_threshold`` (1.5): a *descriptive* flag that
    this week's load is well above the recent norm. It is not an injury probability: the
    ACWR-injury association is confounded and ratio-driven (Impellizzeri et al. 2020
    IJSPP 15:907; Impellizzeri et al. 2021 Sports Med 51:581, doi 10.1007/s40279-020-01378-6).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``: ``acute``, ``chronic`` (load_au per day), ``acwr``, ``spike``.
    """
    series = _daily_series(daily_load_au)
    if method == "ewma":
        result = daily_metrics_matrix(
            series.to_numpy(), acute_days=acute_days, chronic_days=chronic_days
        )
        columns = {
            "acute": result["acute_ewma"],
            "chronic": result["chronic_ewma"],
            "acwr": result["acwr_ewma"],
        }
    elif method in ("rolling", "rolling_uncoupled"):
        columns = rolling_acwr_matrix(
            series.to_numpy(),
            acute_days=acute_days,
            chronic_days=chronic_days,
            coupled=method == "rolling",
        )
    else:
        raise InvalidInputError(
            "method must be 'ewma', 'rolling' or 'rolling_uncoupled'", field="method", value=method
        )
    frame = _frame(series, columns)
    frame["spike"] = (frame["acwr"] >= spike_threshold).to_numpy()
    return frame


def monotony_strain(daily_load_au: pd.Series, *, window_days: int = 7) -> pd.DataFrame:
    """Training monotony and strain over a rolling window (Foster 1998).

    ``monotony = mean(L) / SD(L)`` over the last ``window_days`` days, rest days as 0,
    **population SD (ddof=0)**; when SD → 0 monotony is capped at 10
    (:data:`MONOTONY_CAP`), and a window without load has monotony 0.
    ``strain = weekly_load × monotony``. NaN for the first ``window_days − 1`` days.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day``: ``weekly_load``, ``monotony``, ``strain``.

    References
    ----------
    Foster C 1998, *Monitoring training in athletes with reference to overtraining
    syndrome*, Med Sci Sports Exerc 30:1164.
    """
    series = _daily_series(daily_load_au)
    result = daily_metrics_matrix(series.to_numpy(), window_days=window_days)
    return _frame(series, {k: result[k] for k in ("weekly_load", "monotony", "strain")})
