"""Banister fitness-fatigue impulse-response model.

One implementation of the first-order impulse-response filter serves two uses:

* the **Banister model** (Banister et al. 1975; Morton et al. 1990), where each
  component is the un-normalised sum ``g_n = Σ_{i≤n} w_i e^{−(n−i)/τ}``
  (recursively ``g_n = g_{n−1}·e^{−1/τ} + w_n``) and performance is

  .. math:: p(n) = p_0 + k_1 g_n(τ_1) − k_2 g_n(τ_2)

* the **PMC** (CTL/ATL), which is the *unit-gain* version of the same filter:
  ``X_n = a·X_{n−1} + (1−a)·w_n`` with ``a = e^{−1/N}`` (GoldenCheetah,
  intervals.icu) or ``a = 1 − 1/N`` (TrainingPeaks), so that a constant load
  ``L`` converges to ``X = L`` (see :func:`unit_gain_ewma`).

Same-day convention
-------------------
The component on day ``n`` **includes the load of day n** (the dorem R package
``effect_func`` and the Clarke & Skiba 2013 spreadsheet). With this convention
and τ fixed at 36/21 d, linear least squares on the Clarke & Skiba BikeScore
example reproduces the published fit (p0 261.6 W, k1 0.176, k2 0.224 W/AU,
R² 0.979); the "sum to n−1" textbook form does not (SSE 193 instead of 20).
Tests done in the morning before training should therefore be dated the day
*before* (or the day's load moved), an interpretation choice left to callers.

Identifiability
---------------
The model is notoriously ill-conditioned (Hellard et al. 2006): with a few
tests the data cannot separate a large ``k1`` from a large ``k2`` when
``τ1 ≈ τ2``. After ``fit`` the estimator sets ``identifiable_`` to ``False``
and lists the reasons in ``identifiability_reasons_`` when **any** of:

1. the fitted taus are nearly equal: ``|τ1 − τ2| < 0.15·max(τ1, τ2)``;
2. a fitted gain or tau sits on its box constraint (within 1e−3 of the
   range), so the covariance is not a valid description of the uncertainty;
3. the condition number of the column-scaled Jacobian exceeds ``1e6``;
4. a fitted gain or tau has a relative standard error > 0.5 (its ≈95 %
   interval includes zero or spans a factor > 3).

References
----------
Banister EW, Calvert TW, Savage MV, Bach T (1975). A systems model of training
for athletic performance. Aust J Sports Med 7:57-61.
Morton RH, Fitz-Clarke JR, Banister EW (1990). Modeling human performance in
running. J Appl Physiol 69:1171-1177.
Clarke DC, Skiba PF (2013). Rationale and resources for teaching the
mathematical modeling of athletic training and performance. Adv Physiol Educ
37:134-152.
Hellard P et al. (2006). Assessing the limitations of the Banister model in
monitoring training. J Sports Sci 24:509-520.
"""

from __future__ import annotations

import math
from typing import Literal, Self

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import optimize, signal, stats

from lydiard.domain.load.pmc import daily_metrics_matrix
from lydiard.errors import InsufficientDataError, InvalidInputError, NotFittedError

FloatArray = NDArray[np.float64]
EwmaConvention = Literal["exp", "tp"]

__all__ = [
    "BanisterModel",
    "EwmaConvention",
    "banister_component",
    "daily_series",
    "impulse_response",
    "unit_gain_ewma",
]

#: Relative distance below which two fitted taus count as "nearly equal".
NEAR_EQUAL_TAU_FRACTION = 0.15
#: Condition number of the column-scaled Jacobian above which the fit is ill-posed.
MAX_CONDITION_NUMBER = 1e6
#: Relative standard error above which a gain or tau is not pinned down.
MAX_RELATIVE_STDERR = 0.5


# ---------------------------------------------------------------------------
# The filter
# ---------------------------------------------------------------------------


def impulse_response(
    load_au: FloatArray, *, decay: float, gain: float = 1.0, initial: float = 0.0
) -> FloatArray:
    """First-order impulse-response filter, same-day load included.

    ``x_n = decay·x_{n−1} + gain·w_n`` with ``x_{−1} = initial``.

    Parameters
    ----------
    load_au : ndarray, shape (n_days,)
        Daily load (AU), one value per consecutive day.
    decay : float
        Per-day retention ``a`` in (0, 1), e.g. ``exp(−1/τ_d)``.
    gain : float
        Weight of the same-day load (1 for Banister components, ``1 − a`` for
        the unit-gain PMC).
    initial : float
        State on the day before the first load (e.g. a seeded CTL).

    Returns
    -------
    ndarray, shape (n_days,)
    """
    if not 0.0 < decay < 1.0:
        raise InvalidInputError(f"decay must be in (0, 1), got {decay}", field="decay")
    w = np.asarray(load_au, dtype=np.float64)
    if w.size == 0:
        return np.zeros(0, dtype=np.float64)
    zi = np.array([decay * initial], dtype=np.float64)
    out, _ = signal.lfilter([gain], [1.0, -decay], w, zi=zi)
    return np.asarray(out, dtype=np.float64)


def banister_component(load_au: FloatArray, *, tau_d: float) -> FloatArray:
    """Un-normalised Banister component ``g_n = Σ_{i≤n} w_i e^{−(n−i)/τ}`` (AU).

    Parameters
    ----------
    load_au : ndarray, shape (n_days,)
        Daily load (AU); the history before the first day is taken as zero.
    tau_d : float
        Decay time constant (days), > 0.
    """
    if not tau_d > 0:
        raise InvalidInputError(f"tau_d must be > 0, got {tau_d}", field="tau_d")
    return impulse_response(load_au, decay=math.exp(-1.0 / tau_d))


def _component_dtau(load_au: FloatArray, component: FloatArray, *, tau_d: float) -> FloatArray:
    """∂g_n/∂τ = h_n/τ², with ``h_n = Σ w_i (n−i) e^{−(n−i)/τ}``.

    ``h`` obeys ``h_n = a·h_{n−1} + a·g_{n−1}`` (a = e^{−1/τ}), a filter of ``g``.
    """
    a = math.exp(-1.0 / tau_d)
    if component.size == 0:
        return component.copy()
    h = signal.lfilter([0.0, a], [1.0, -a], component)
    return np.asarray(h, dtype=np.float64) / tau_d**2


def unit_gain_ewma(
    load_au: FloatArray,
    *,
    days: float,
    convention: EwmaConvention = "exp",
    initial: float = 0.0,
) -> FloatArray:
    """Unit-gain EWMA of daily load: the PMC version of the impulse response (AU), computed by
    the PMC kernel (:func:`~lydiard.domain.load.pmc.daily_metrics_matrix`).

    ``X_n = X_{n−1} + k·(w_n − X_{n−1})``, with ``k = 1 − e^{−1/N}`` ("exp",
    GoldenCheetah/intervals.icu) or ``k = 1/N`` ("tp", TrainingPeaks). Today's
    load is included in today's value. 100 AU/day for 42 days from zero gives
    CTL 63.21 ("exp") or 63.65 ("tp").

    Parameters
    ----------
    load_au : ndarray, shape (n_days,)
    days : float
        Time constant N (days), ≥ 1 (:func:`~lydiard.domain.load.pmc.pmc_gain`).
    convention : {"exp", "tp"}
    initial : float
        Value on the day before the first load (seed).
    """
    # the one PMC implementation (the compiled kernel); this is its CTL line with another constant
    pmc = daily_metrics_matrix(np.asarray(load_au, dtype=np.float64), ctl_days=days,
                               convention=convention, seed_ctl=initial)
    out: FloatArray = pmc["ctl"][0]
    return out


# ---------------------------------------------------------------------------
# Day indexes
# ---------------------------------------------------------------------------


def _index_kind(index: pd.Index) -> Literal["int", "date"]:
    if len(index) == 0:
        return "date"
    if pd.api.types.is_integer_dtype(index.dtype):
        return "int"
    return "date"


def _to_datetime_index(index: pd.Index, *, field: str) -> pd.DatetimeIndex:
    try:
        dti = pd.DatetimeIndex(pd.to_datetime(index))
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(
            f"{field} must be indexed by day (dates or integer day numbers)", field=field
        ) from exc
    if dti.tz is not None:
        dti = dti.tz_localize(None)
    if not (dti == dti.normalize()).all():
        raise InvalidInputError(f"{field} index must hold whole days, not times", field=field)
    return dti


def daily_series(
    values: pd.Series, *, field: str, start: object = None, end: object = None
) -> pd.Series:
    """Validate a day-indexed series and reindex it onto every day (missing = 0).

    Accepts an index of dates (``datetime.date``, ``Timestamp``, ISO strings) or
    of integer day numbers. Returns a float series on a consecutive daily index
    (``DatetimeIndex`` named ``day`` with ``freq="D"``, or integer days), from
    ``start`` (default: first day) to ``end`` (default: last day).

    Raises
    ------
    InvalidInputError
        If the index is not day-like, holds duplicates, or a value is negative,
        NaN or infinite.
    """
    if not isinstance(values, pd.Series):
        raise InvalidInputError(f"{field} must be a pandas Series", field=field)
    arr = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    if not np.isfinite(arr).all():
        raise InvalidInputError(f"{field} holds NaN, infinite or non-numeric values", field=field)
    if (arr < 0).any():
        raise InvalidInputError(f"{field} must be >= 0", field=field)
    if values.index.has_duplicates:
        raise InvalidInputError(f"{field} has duplicate days", field=field)
    if _index_kind(values.index) == "int":
        idx_int = values.index.to_numpy(dtype=np.int64)
        lo = int(start) if start is not None else int(idx_int.min())  # type: ignore[call-overload]
        hi = int(end) if end is not None else int(idx_int.max())  # type: ignore[call-overload]
        full_int = pd.Index(np.arange(lo, hi + 1, dtype=np.int64), name="day")
        s = pd.Series(arr, index=pd.Index(idx_int))
        return s.reindex(full_int, fill_value=0.0).astype(np.float64)
    dti = _to_datetime_index(values.index, field=field)
    if len(dti) == 0 and (start is None or end is None):
        raise InsufficientDataError(f"{field} is empty")
    lo_ts = pd.Timestamp(start) if start is not None else dti.min()  # type: ignore[arg-type]
    hi_ts = pd.Timestamp(end) if end is not None else dti.max()  # type: ignore[arg-type]
    full = pd.date_range(lo_ts, hi_ts, freq="D", name="day")
    s = pd.Series(arr, index=dti)
    return s.reindex(full, fill_value=0.0).astype(np.float64)


def _performance_series(performance: pd.Series) -> pd.Series:
    if not isinstance(performance, pd.Series):
        raise InvalidInputError("performance must be a pandas Series", field="performance")
    perf = pd.to_numeric(performance, errors="coerce").dropna()
    if perf.index.has_duplicates:
        raise InvalidInputError("performance has duplicate days", field="performance")
    if not np.isfinite(perf.to_numpy(dtype=np.float64)).all():
        raise InvalidInputError("performance holds infinite values", field="performance")
    if _index_kind(performance.index) == "int":
        return perf.astype(np.float64).sort_index()
    dti = _to_datetime_index(perf.index, field="performance")
    return pd.Series(perf.to_numpy(dtype=np.float64), index=dti).sort_index()


# ---------------------------------------------------------------------------
# The estimator
# ---------------------------------------------------------------------------

_PARAM_NAMES = ("p0", "k_fitness", "k_fatigue", "tau_fitness_d", "tau_fatigue_d")


class BanisterModel:
    """Fitness-fatigue (Banister) impulse-response model of performance.

    ``p(n) = p0 + k_fitness·g_n(τ_fitness) − k_fatigue·g_n(τ_fatigue)`` with
    ``g_n(τ) = Σ_{i≤n} w_i e^{−(n−i)/τ}`` (same-day load included; see the
    module docstring). Follows the scikit-learn estimator contract without
    depending on scikit-learn: ``__init__`` only stores, ``fit`` validates,
    sets the trailing-underscore attributes and returns ``self``.

    Parameters
    ----------
    tau_fitness_d, tau_fatigue_d : float
        Time constants (days); fixed when ``fit_taus`` is False, otherwise the
        first start point of the nonlinear search (defaults 42/7 d).
    fit_taus : bool
        False: taus fixed, the gains and p0 are a linear least-squares fit.
        True: bounded nonlinear least squares (``scipy.optimize.least_squares``,
        trust-region reflective) over all parameters, multi-start.
    p0 : float or None
        Fixed baseline performance (same unit as the tests); None = fitted.
    tau_bounds_d : tuple of float
        Box constraint on both taus when fitted (days), default (1, 80).
    k_bounds : tuple of float
        Box constraint on both gains (performance unit per AU), default (0, 5).
        The linear fit only enforces ``k >= k_bounds[0]``.

    Attributes
    ----------
    p0_, k_fitness_, k_fatigue_, tau_fitness_d_, tau_fatigue_d_ : float
        Fitted (or fixed) parameters.
    stderr_ : dict of str to float
        Standard errors of the *fitted* parameters, from
        ``cov = s²·(JᵀJ)⁻¹``, ``s² = SSE/(n_tests − n_params)``.
    covariance_ : ndarray, shape (n_params, n_params)
        That covariance, ordered like ``param_names_``.
    param_names_ : tuple of str
        Names of the fitted parameters.
    sse_ : float
        Sum of squared residuals at the test days.
    r2_ : float
        ``1 − SSE/SST``.
    residual_sd_ : float
        ``sqrt(SSE/(n_tests − n_params))``.
    condition_number_ : float
        Condition number of the Jacobian with unit-norm columns.
    identifiable_ : bool
        False when the data cannot pin the parameters down (criteria in the
        module docstring); ``identifiability_reasons_`` says why.
    n_tests_ : int
        Number of performance tests used.

    Examples
    --------
    >>> days = pd.date_range("2024-01-01", periods=120, name="day")
    >>> load = pd.Series(np.where(np.arange(120) % 7 == 6, 0.0, 80.0), index=days)
    >>> w = load.to_numpy()
    >>> truth = 250 + 0.1 * banister_component(w, tau_d=42) - 0.2 * banister_component(w, tau_d=7)
    >>> tests = pd.Series(truth[::10], index=days[::10])
    >>> model = BanisterModel(tau_fitness_d=42, tau_fatigue_d=7).fit(load, tests)
    >>> round(model.k_fitness_, 3), round(model.k_fatigue_, 3), round(model.p0_, 1)
    (0.1, 0.2, 250.0)
    """

    def __init__(
        self,
        *,
        tau_fitness_d: float = 42.0,
        tau_fatigue_d: float = 7.0,
        fit_taus: bool = False,
        p0: float | None = None,
        tau_bounds_d: tuple[float, float] = (1.0, 80.0),
        k_bounds: tuple[float, float] = (0.0, 5.0),
    ) -> None:
        self.tau_fitness_d = tau_fitness_d
        self.tau_fatigue_d = tau_fatigue_d
        self.fit_taus = fit_taus
        self.p0 = p0
        self.tau_bounds_d = tau_bounds_d
        self.k_bounds = k_bounds

    def __repr__(self) -> str:
        return (
            f"BanisterModel(tau_fitness_d={self.tau_fitness_d}, "
            f"tau_fatigue_d={self.tau_fatigue_d}, fit_taus={self.fit_taus}, p0={self.p0})"
        )

    def get_params(self) -> dict[str, object]:
        """The constructor parameters (scikit-learn contract)."""
        return {
            "tau_fitness_d": self.tau_fitness_d,
            "tau_fatigue_d": self.tau_fatigue_d,
            "fit_taus": self.fit_taus,
            "p0": self.p0,
            "tau_bounds_d": self.tau_bounds_d,
            "k_bounds": self.k_bounds,
        }

    # -- validation --------------------------------------------------------

    def _validate_params(self) -> None:
        lo_t, hi_t = self.tau_bounds_d
        lo_k, hi_k = self.k_bounds
        if not (0 < lo_t < hi_t and math.isfinite(hi_t)):
            raise InvalidInputError("tau_bounds_d must be 0 < lo < hi", field="tau_bounds_d")
        if not (0 <= lo_k < hi_k and math.isfinite(hi_k)):
            raise InvalidInputError("k_bounds must be 0 <= lo < hi", field="k_bounds")
        for name in ("tau_fitness_d", "tau_fatigue_d"):
            tau = float(getattr(self, name))
            if not (math.isfinite(tau) and tau > 0):
                raise InvalidInputError(f"{name} must be a positive number", field=name)
            if self.fit_taus and not lo_t <= tau <= hi_t:
                raise InvalidInputError(f"{name} must lie inside tau_bounds_d", field=name)
        if self.p0 is not None and not math.isfinite(float(self.p0)):
            raise InvalidInputError("p0 must be finite or None", field="p0")

    # -- fitting -----------------------------------------------------------

    def fit(self, daily_load_au: pd.Series, performance: pd.Series) -> Self:
        """Fit the model to performance tests.

        Parameters
        ----------
        daily_load_au : pandas.Series
            Daily training load (AU), indexed by day (dates or integer day
            numbers); missing days count as 0. Load before the first day is 0.
        performance : pandas.Series
            Test results indexed by the test days (NaN rows are dropped).

        Returns
        -------
        self

        Raises
        ------
        InvalidInputError
            Bad parameters, negative/NaN loads, mismatched index kinds.
        InsufficientDataError
            Fewer tests than fitted parameters + 1.
        """
        self._validate_params()
        perf = _performance_series(performance)
        if _index_kind(daily_load_au.index) != _index_kind(perf.index) and len(perf) > 0:
            raise InvalidInputError(
                "daily_load_au and performance must both be indexed by dates or both by "
                "integer day numbers",
                field="performance",
            )
        load_probe = daily_series(daily_load_au, field="daily_load_au")
        start = min(load_probe.index.min(), perf.index.min()) if len(perf) else None
        end = max(load_probe.index.max(), perf.index.max()) if len(perf) else None
        load = daily_series(daily_load_au, field="daily_load_au", start=start, end=end)
        positions = load.index.get_indexer(perf.index)
        w = load.to_numpy(dtype=np.float64)
        y = perf.to_numpy(dtype=np.float64)

        n_params = (0 if self.p0 is not None else 1) + 2 + (2 if self.fit_taus else 0)
        if len(y) < n_params + 1:
            raise InsufficientDataError(
                f"{len(y)} performance tests for {n_params} parameters: need at least "
                f"{n_params + 1}"
            )
        if float(np.ptp(y)) == 0.0 and self.p0 is None:
            raise InsufficientDataError("all performance tests are equal: nothing to fit")

        if self.fit_taus:
            theta = self._fit_nonlinear(w, y, positions)
        else:
            theta = self._fit_linear(w, y, positions, float(self.tau_fitness_d),
                                     float(self.tau_fatigue_d))
        self._set_fitted(theta, w, y, positions)
        return self

    def _fit_linear(
        self, w: FloatArray, y: FloatArray, pos: NDArray[np.intp], tau1: float, tau2: float
    ) -> dict[str, float]:
        g1 = banister_component(w, tau_d=tau1)[pos]
        g2 = banister_component(w, tau_d=tau2)[pos]
        cols = [g1, -g2]
        lo = [self.k_bounds[0], self.k_bounds[0]]
        target = y.copy()
        if self.p0 is None:
            cols.insert(0, np.ones_like(y))
            lo.insert(0, -np.inf)
        else:
            target = target - float(self.p0)
        design = np.column_stack(cols)
        res = optimize.lsq_linear(design, target, bounds=(lo, [np.inf] * len(lo)),
                                  method="bvls")
        beta = np.asarray(res.x, dtype=np.float64)
        p0 = float(beta[0]) if self.p0 is None else float(self.p0)
        return {"p0": p0, "k_fitness": float(beta[-2]), "k_fatigue": float(beta[-1]),
                "tau_fitness_d": tau1, "tau_fatigue_d": tau2}

    def _fit_nonlinear(
        self, w: FloatArray, y: FloatArray, pos: NDArray[np.intp]
    ) -> dict[str, float]:
        lo_t, hi_t = self.tau_bounds_d
        lo_k, hi_k = self.k_bounds
        fixed_p0 = self.p0
        span = float(np.ptp(y)) + abs(float(np.mean(y))) + 1.0

        def unpack(x: FloatArray) -> tuple[float, float, float, float, float]:
            if fixed_p0 is None:
                return float(x[0]), float(x[1]), float(x[2]), float(x[3]), float(x[4])
            return float(fixed_p0), float(x[0]), float(x[1]), float(x[2]), float(x[3])

        def residuals(x: FloatArray) -> FloatArray:
            p0, k1, k2, t1, t2 = unpack(x)
            pred = (p0 + k1 * banister_component(w, tau_d=t1)[pos]
                    - k2 * banister_component(w, tau_d=t2)[pos])
            return pred - y

        def jacobian(x: FloatArray) -> FloatArray:
            _p0, k1, k2, t1, t2 = unpack(x)
            jac = _jacobian_rows(w, pos, k1, k2, t1, t2)
            return jac if fixed_p0 is None else jac[:, 1:]

        lower = [lo_k, lo_k, lo_t, lo_t]
        upper = [hi_k, hi_k, hi_t, hi_t]
        if fixed_p0 is None:
            lower = [-span * 10, *lower]
            upper = [span * 10, *upper]
        # Multi-start: the user's taus plus a grid spanning the literature ranges
        # (τ1 4-51 d, τ2 4-74 d; IJSPP 17(5):810), each seeded by the linear fit.
        starts = [(float(self.tau_fitness_d), float(self.tau_fatigue_d))]
        starts += [(t1, t2) for t1 in (15.0, 30.0, 50.0) for t2 in (3.0, 10.0, 20.0) if t1 > t2]
        best: tuple[float, FloatArray] | None = None
        eps_t = 1e-6 * (hi_t - lo_t)
        eps_k = 1e-6 * (hi_k - lo_k)
        for t1, t2 in starts:
            t1 = min(max(t1, lo_t + eps_t), hi_t - eps_t)
            t2 = min(max(t2, lo_t + eps_t), hi_t - eps_t)
            lin = self._fit_linear(w, y, pos, t1, t2)
            k1 = min(max(lin["k_fitness"], lo_k + eps_k), hi_k - eps_k)
            k2 = min(max(lin["k_fatigue"], lo_k + eps_k), hi_k - eps_k)
            x0 = [k1, k2, t1, t2]
            if fixed_p0 is None:
                x0 = [min(max(lin["p0"], lower[0] + 1), upper[0] - 1), *x0]
            # A short run per start; the best one is polished below. Degenerate
            # problems crawl along a valley, so an uncapped run per start is wasted.
            sol = optimize.least_squares(
                residuals, np.asarray(x0, dtype=np.float64), jac=jacobian,
                bounds=(lower, upper), method="trf", x_scale="jac", max_nfev=60,
            )
            cost = float(sol.cost)
            if best is None or cost < best[0] - 1e-12:
                best = (cost, np.asarray(sol.x, dtype=np.float64))
        assert best is not None
        polished = optimize.least_squares(
            residuals, best[1], jac=jacobian, bounds=(lower, upper), method="trf",
            x_scale="jac", max_nfev=1000,
        )
        x_best = np.asarray(polished.x, dtype=np.float64)
        p0, k1, k2, t1, t2 = unpack(x_best)
        return {"p0": p0, "k_fitness": k1, "k_fatigue": k2,
                "tau_fitness_d": t1, "tau_fatigue_d": t2}

    def _fitted_names(self) -> tuple[str, ...]:
        names = list(_PARAM_NAMES)
        if not self.fit_taus:
            names = names[:3]
        if self.p0 is not None:
            names.remove("p0")
        return tuple(names)

    def _set_fitted(
        self, theta: dict[str, float], w: FloatArray, y: FloatArray, pos: NDArray[np.intp]
    ) -> None:
        self.p0_ = theta["p0"]
        self.k_fitness_ = theta["k_fitness"]
        self.k_fatigue_ = theta["k_fatigue"]
        self.tau_fitness_d_ = theta["tau_fitness_d"]
        self.tau_fatigue_d_ = theta["tau_fatigue_d"]
        self.n_tests_ = len(y)
        self.param_names_ = self._fitted_names()
        pred = self._predict_array(w)[pos]
        resid = y - pred
        self.sse_ = float(resid @ resid)
        sst = float(((y - y.mean()) ** 2).sum())
        self.r2_ = 1.0 - self.sse_ / sst if sst > 0 else float("nan")
        dof = len(y) - len(self.param_names_)
        self.residual_sd_ = math.sqrt(self.sse_ / dof)
        jac = self._jacobian(w)[pos]
        col_norm = np.linalg.norm(jac, axis=0)
        col_norm[col_norm == 0] = 1.0
        sv = np.linalg.svd(jac / col_norm, compute_uv=False)
        self.condition_number_ = float(sv[0] / sv[-1]) if sv[-1] > 0 else float("inf")
        jtj_pinv = np.linalg.pinv(jac.T @ jac)
        self.covariance_ = np.asarray(self.residual_sd_**2 * jtj_pinv, dtype=np.float64)
        se = np.sqrt(np.clip(np.diag(self.covariance_), 0.0, None))
        self.stderr_ = {n: float(s) for n, s in zip(self.param_names_, se, strict=True)}
        self.identifiability_reasons_ = self._identifiability_reasons(theta)
        self.identifiable_ = not self.identifiability_reasons_

    def _identifiability_reasons(self, theta: dict[str, float]) -> tuple[str, ...]:
        reasons: list[str] = []
        if self.fit_taus:
            t1, t2 = theta["tau_fitness_d"], theta["tau_fatigue_d"]
            if abs(t1 - t2) < NEAR_EQUAL_TAU_FRACTION * max(t1, t2):
                reasons.append(f"tau_fitness_d ≈ tau_fatigue_d ({t1:.1f} vs {t2:.1f} d)")
        bounds = {"k_fitness": self.k_bounds, "k_fatigue": self.k_bounds,
                  "tau_fitness_d": self.tau_bounds_d, "tau_fatigue_d": self.tau_bounds_d}
        for name in self.param_names_:
            if name == "p0" or (not self.fit_taus and name.startswith("tau")):
                continue
            lo, hi = bounds[name]
            tol = 1e-3 * (hi - lo)
            value = theta[name]
            at_lo = value <= lo + tol
            at_hi = self.fit_taus and value >= hi - tol
            if at_lo or at_hi:
                reasons.append(f"{name} = {value:.4g} sits on its bound")
        if self.condition_number_ > MAX_CONDITION_NUMBER:
            reasons.append(f"condition number {self.condition_number_:.3g} > "
                           f"{MAX_CONDITION_NUMBER:.0e}")
        for name in self.param_names_:
            if name == "p0":
                continue
            value = abs(theta[name])
            rel = self.stderr_[name] / value if value > 0 else float("inf")
            if not rel <= MAX_RELATIVE_STDERR:
                reasons.append(f"relative standard error of {name} is {rel:.2g}")
        return tuple(reasons)

    # -- prediction --------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "p0_"):
            raise NotFittedError("This BanisterModel is not fitted yet: call fit() first")

    def _predict_array(self, w: FloatArray) -> FloatArray:
        g1 = banister_component(w, tau_d=self.tau_fitness_d_)
        g2 = banister_component(w, tau_d=self.tau_fatigue_d_)
        return self.p0_ + self.k_fitness_ * g1 - self.k_fatigue_ * g2

    def _jacobian(self, w: FloatArray) -> FloatArray:
        pos = np.arange(len(w), dtype=np.intp)
        full = _jacobian_rows(w, pos, self.k_fitness_, self.k_fatigue_,
                              self.tau_fitness_d_, self.tau_fatigue_d_)
        keep = [i for i, n in enumerate(_PARAM_NAMES) if n in self.param_names_]
        return full[:, keep]

    def predict(self, daily_load_au: pd.Series) -> pd.Series:
        """Predicted performance on every day of the load series.

        Parameters
        ----------
        daily_load_au : pandas.Series
            Daily load (AU) indexed by day; missing days = 0; load before the
            first day is taken as zero (start the series early enough).

        Returns
        -------
        pandas.Series
            Predicted performance (unit of the tests), same-day load included,
            on the consecutive daily index of the input.
        """
        self._check_fitted()
        load = daily_series(daily_load_au, field="daily_load_au")
        pred = self._predict_array(load.to_numpy(dtype=np.float64))
        return pd.Series(pred, index=load.index, name="performance")

    def prediction_interval(self, daily_load_au: pd.Series, *, level: float = 0.95) -> pd.DataFrame:
        """Predicted performance with uncertainty bands.

        The standard error of the mean prediction comes from the delta method,
        ``se_mean(n)² = J_n·Σ·J_nᵀ`` (``J_n`` = gradient of ``p(n)`` with respect
        to the fitted parameters, ``Σ = covariance_``); a new test adds the
        residual variance: ``sd_pred² = se_mean² + s²``. Bounds are
        ``performance ± t_{(1+level)/2, n_tests − n_params}·sd_pred``.
        The bands are only meaningful when ``identifiable_`` is True.

        Returns
        -------
        pandas.DataFrame
            Columns ``performance``, ``se_mean``, ``sd_pred``, ``lower``, ``upper``.
        """
        self._check_fitted()
        if not 0.0 < level < 1.0:
            raise InvalidInputError("level must be in (0, 1)", field="level")
        load = daily_series(daily_load_au, field="daily_load_au")
        w = load.to_numpy(dtype=np.float64)
        pred = self._predict_array(w)
        jac = self._jacobian(w)
        var_mean = np.einsum("ij,jk,ik->i", jac, self.covariance_, jac)
        se_mean = np.sqrt(np.clip(var_mean, 0.0, None))
        sd_pred = np.sqrt(se_mean**2 + self.residual_sd_**2)
        dof = self.n_tests_ - len(self.param_names_)
        t = float(stats.t.ppf(0.5 + level / 2.0, dof))
        return pd.DataFrame(
            {"performance": pred, "se_mean": se_mean, "sd_pred": sd_pred,
             "lower": pred - t * sd_pred, "upper": pred + t * sd_pred},
            index=load.index,
        )


def _jacobian_rows(
    w: FloatArray, pos: NDArray[np.intp], k1: float, k2: float, t1: float, t2: float
) -> FloatArray:
    """∂p/∂(p0, k1, k2, τ1, τ2) at the days ``pos``, shape (len(pos), 5)."""
    g1 = banister_component(w, tau_d=t1)
    g2 = banister_component(w, tau_d=t2)
    d1 = _component_dtau(w, g1, tau_d=t1)
    d2 = _component_dtau(w, g2, tau_d=t2)
    return np.column_stack(
        [np.ones(len(pos)), g1[pos], -g2[pos], k1 * d1[pos], -k2 * d2[pos]]
    ).astype(np.float64)

