"""Daily load kernels: PMC (CTL/ATL/TSB), ACWR, monotony and strain.

One implementation: :func:`daily_metrics_matrix` computes every daily metric for a matrix
of athletes × days in one compiled pass (no Python loop over days; the loop over the days
runs in machine code, vectorised across athletes, see :mod:`._pmc_kernel`); the Series functions
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
    """``load_au`` as an athletes × days float64 matrix, checked (≥ 0, finite); NaN = no load (0)."""
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
    No Python loop over the days: one compiled pass
    (:func:`lydiard.domain.load._pmc_kernel.daily_metrics_kernel`, Numba) goes through the
    days of a tile of 64 athletes, its innermost loops running across the athletes (SIMD),
    loading each value once and storing each output once. EWMAs are the recurrences
    ``y_d = y_{d−1} + k·(L_d − y_{d−1})``; window sums add the window's days oldest first
    (no running totals, so no round-off drift); the population variance is two-pass,
    ``Σ(x − mean)²/w``. The benchmark compares every output with pandas and with an
    extended-precision reference. The first call in a process compiles the loop (about
    2 s) or loads it from Numba's on-disk cache.

    Memory: the 10 outputs plus ~0.3 MB of scratch; process very large populations in
    chunks of athletes and pass ``out`` to reuse the buffers. Chunks of 64 athletes are the
    fastest for long histories: a chunk's ten outputs then stay in the shared cache.

    Every athlete's values depend only on that athlete's loads and the parameters, so a
    row computed alone equals the same row computed with any other athletes, and appending
    days leaves earlier days unchanged.

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
        from lydiard.domain.load._pmc_kernel import daily_metrics_kernel  # compiled on first use

        daily_metrics_kernel(w)(
            np.ascontiguousarray(loads), gains, seeds, MONOTONY_CAP,
            *(buf[name] for name in MATRIX_OUTPUTS),
        )
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
    if pd.api.types.is_numeric_dtype(daily_load_au.index.dtype) or pd.api.types.is_bool_dtype(
        daily_load_au.index.dtype
    ):
        # pandas would read the numbers as nanoseconds since 1970: one day, silently
        raise InvalidInputError(
            "daily_load_au must be indexed by day (dates), not by numbers",
            field="daily_load_au",
            index_dtype=str(daily_load_au.index.dtype),
        )
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
