"""BanisterModel: Clarke & Skiba numeric check, identifiability, parameter recovery."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.load.banister import (
    BanisterModel,
    banister_component,
    daily_series,
    impulse_response,
    unit_gain_ewma,
)
from lydiard.errors import InsufficientDataError, InvalidInputError, NotFittedError

DATA = Path(__file__).parent / "data" / "bike_score.csv"


@pytest.fixture(scope="module")
def bike_score() -> tuple[pd.Series, pd.Series]:
    frame = pd.read_csv(DATA)
    load = pd.Series(frame["BikeScore"].to_numpy(), index=frame["Day"].to_numpy())
    perf = pd.Series(frame["Test_5min_Power"].to_numpy(), index=frame["Day"].to_numpy()).dropna()
    return load, perf


def test_clarke_skiba_fixed_taus_reproduce_published_fit(
    bike_score: tuple[pd.Series, pd.Series],
) -> None:
    load, perf = bike_score
    model = BanisterModel(tau_fitness_d=36, tau_fatigue_d=21).fit(load, perf)
    assert model.p0_ == pytest.approx(261.6, abs=0.05)
    assert model.k_fitness_ == pytest.approx(0.176, abs=5e-4)
    assert model.k_fatigue_ == pytest.approx(0.224, abs=5e-4)
    assert model.r2_ == pytest.approx(0.979, abs=5e-4)
    assert model.sse_ == pytest.approx(20.42, abs=0.01)
    assert model.n_tests_ == 9
    assert model.identifiable_ is True
    assert set(model.stderr_) == {"p0", "k_fitness", "k_fatigue"}
    assert all(v > 0 for v in model.stderr_.values())
    # the published parameters are inside the 95 % intervals
    assert abs(model.k_fitness_ - 0.18) < 2 * model.stderr_["k_fitness"]


def test_clarke_skiba_free_fit_is_not_identifiable(
    bike_score: tuple[pd.Series, pd.Series],
) -> None:
    load, perf = bike_score
    model = BanisterModel(fit_taus=True, tau_fitness_d=36, tau_fatigue_d=21).fit(load, perf)
    assert model.identifiable_ is False
    assert model.sse_ == pytest.approx(18.3, abs=0.1)
    assert abs(model.tau_fitness_d_ - model.tau_fatigue_d_) < 3
    assert 25 < model.tau_fitness_d_ < 30
    assert any("≈" in r for r in model.identifiability_reasons_)


def test_parameter_recovery_on_synthetic_data() -> None:
    rng = np.random.default_rng(7)
    days = pd.date_range("2024-01-01", periods=300, name="day")
    weekly = np.tile([0, 60, 90, 50, 0, 70, 140], 300 // 7 + 1)[:300].astype(float)
    block = 0.6 + 0.8 * (np.arange(300) // 28 % 3) / 2  # 3-week blocks of varying load
    load = pd.Series(weekly * block * rng.uniform(0.8, 1.2, 300), index=days)
    truth = (250 + 0.10 * banister_component(load.to_numpy(), tau_d=40)
             - 0.25 * banister_component(load.to_numpy(), tau_d=8))
    test_days = np.arange(5, 300, 5)
    perf = pd.Series(truth[test_days] + rng.normal(0, 0.5, len(test_days)), index=days[test_days])
    model = BanisterModel(fit_taus=True).fit(load, perf)
    assert model.identifiable_ is True, model.identifiability_reasons_
    assert model.tau_fitness_d_ == pytest.approx(40, rel=0.15)
    assert model.tau_fatigue_d_ == pytest.approx(8, rel=0.15)
    assert model.k_fitness_ == pytest.approx(0.10, rel=0.15)
    assert model.k_fatigue_ == pytest.approx(0.25, rel=0.15)
    assert model.p0_ == pytest.approx(250, abs=3)
    for name in ("tau_fitness_d", "tau_fatigue_d", "k_fitness", "k_fatigue"):
        assert model.stderr_[name] > 0
    band = model.prediction_interval(load)
    inside = (band["lower"] <= truth) & (truth <= band["upper"])
    assert inside.mean() > 0.9
    assert (band["se_mean"] <= band["sd_pred"]).all()


def test_predict_and_not_fitted(bike_score: tuple[pd.Series, pd.Series]) -> None:
    load, perf = bike_score
    model = BanisterModel(tau_fitness_d=36, tau_fatigue_d=21)
    with pytest.raises(NotFittedError):
        model.predict(load)
    model.fit(load, perf)
    pred = model.predict(load)
    assert len(pred) == len(load)
    resid = perf - pred.loc[perf.index]
    assert float((resid**2).sum()) == pytest.approx(model.sse_)
    assert "36" in repr(model)
    assert model.get_params()["p0"] is None


def test_fixed_p0_and_inputs_not_mutated(bike_score: tuple[pd.Series, pd.Series]) -> None:
    load, perf = bike_score
    load_copy, perf_copy = load.copy(), perf.copy()
    model = BanisterModel(tau_fitness_d=36, tau_fatigue_d=21, p0=262.0).fit(load, perf)
    assert model.p0_ == 262.0
    assert "p0" not in model.stderr_
    pd.testing.assert_series_equal(load, load_copy)
    pd.testing.assert_series_equal(perf, perf_copy)


def test_missing_days_are_zero_and_dates_work() -> None:
    days = pd.date_range("2024-01-01", periods=100, name="day")
    full = pd.Series(np.where(np.arange(100) % 3 == 0, 0.0, 80.0), index=days)
    sparse = full[full > 0]
    truth = 200 + 0.1 * banister_component(full.to_numpy(), tau_d=42) - 0.2 * banister_component(
        full.to_numpy(), tau_d=7)
    perf = pd.Series(truth[10::9] + np.linspace(-0.3, 0.3, len(truth[10::9])), index=days[10::9])
    a = BanisterModel().fit(full, perf)
    b = BanisterModel().fit(sparse, perf)
    assert a.k_fitness_ == pytest.approx(b.k_fitness_)
    assert isinstance(a.predict(sparse).index, pd.DatetimeIndex)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"tau_fitness_d": -1.0}, "tau_fitness_d"), ({"k_bounds": (1.0, 0.5)}, "k_bounds"),
     ({"tau_bounds_d": (0.0, 5.0)}, "tau_bounds_d"),
     ({"fit_taus": True, "tau_fitness_d": 200.0}, "tau_fitness_d")],
)
def test_bad_params(kwargs: dict[str, object], field: str,
                    bike_score: tuple[pd.Series, pd.Series]) -> None:
    load, perf = bike_score
    with pytest.raises(InvalidInputError) as info:
        BanisterModel(**kwargs).fit(load, perf)  # type: ignore[arg-type]
    assert info.value.field == field


def test_bad_data(bike_score: tuple[pd.Series, pd.Series]) -> None:
    load, perf = bike_score
    with pytest.raises(InsufficientDataError):
        BanisterModel().fit(load, perf.iloc[:3])
    with pytest.raises(InsufficientDataError):
        BanisterModel(fit_taus=True).fit(load, perf.iloc[:5])
    with pytest.raises(InvalidInputError):
        BanisterModel().fit(-load, perf)
    dated = pd.Series(perf.to_numpy(), index=pd.date_range("2024-01-01", periods=len(perf)))
    with pytest.raises(InvalidInputError):
        BanisterModel().fit(load, dated)


def test_filter_matches_explicit_sum() -> None:
    w = np.array([10.0, 0.0, 50.0, 20.0, 0.0, 0.0, 30.0])
    g = banister_component(w, tau_d=5.0)
    n = np.arange(len(w))
    explicit = [sum(w[i] * np.exp(-(k - i) / 5.0) for i in range(k + 1)) for k in n]
    np.testing.assert_allclose(g, explicit)
    with pytest.raises(InvalidInputError):
        impulse_response(w, decay=1.5)


def test_pmc_step_numbers() -> None:
    w = np.full(42, 100.0)
    assert unit_gain_ewma(w, days=42)[-1] == pytest.approx(63.21, abs=0.01)
    assert unit_gain_ewma(w, days=7)[-1] == pytest.approx(99.75, abs=0.01)
    assert unit_gain_ewma(w, days=42, convention="tp")[-1] == pytest.approx(63.65, abs=0.01)
    assert unit_gain_ewma(w, days=7, convention="tp")[-1] == pytest.approx(99.85, abs=0.01)


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 500), min_size=1, max_size=60), st.floats(2, 60))
def test_ewma_stays_within_load_range(loads: list[float], days: float) -> None:
    x = unit_gain_ewma(np.array(loads), days=days)
    assert (x >= -1e-9).all()
    assert (x <= max(loads) + 1e-9).all()


def test_daily_series_rejects_bad_index() -> None:
    with pytest.raises(InvalidInputError):
        daily_series(pd.Series([1.0], index=["not a day"]), field="x")
    with pytest.raises(InvalidInputError):
        daily_series(pd.Series([1.0, 2.0], index=[1, 1]), field="x")
