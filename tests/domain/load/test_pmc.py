from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from lydiard.domain.load.pmc import (
    MONOTONY_CAP,
    acwr,
    daily_metrics_matrix,
    ewma_lambda,
    monotony_strain,
    pmc,
    pmc_gain,
)
from lydiard.errors import InvalidInputError

DAYS = pd.date_range("2024-01-01", periods=42, freq="D")
loads_strategy = st.lists(st.floats(0, 500), min_size=1, max_size=120)


@pytest.mark.parametrize(
    ("convention", "ctl", "atl"), [("exp", 63.21, 99.75), ("tp", 63.65, 99.85)]
)
def test_step_test_of_science_md(convention: str, ctl: float, atl: float) -> None:
    last = pmc(pd.Series(100.0, index=DAYS), convention=convention).iloc[-1]
    assert round(last["ctl"], 2) == ctl
    assert round(last["atl"], 2) == atl


def test_gains_and_lambdas() -> None:
    assert pmc_gain(42) == pytest.approx(0.023528, abs=1e-6)
    assert pmc_gain(7) == pytest.approx(0.133122, abs=1e-6)
    assert pmc_gain(42, convention="tp") == pytest.approx(1 / 42)
    assert ewma_lambda(7) == 0.25
    assert round(ewma_lambda(28), 3) == 0.069


def test_tsb_is_yesterdays_form() -> None:
    frame = pmc(pd.Series(100.0, index=DAYS), seed_ctl=50, seed_atl=20)
    assert frame["tsb"].iloc[0] == pytest.approx(30.0)  # from the seeds
    expected = (frame["ctl"] - frame["atl"]).shift(1)
    np.testing.assert_allclose(frame["tsb"].iloc[1:], expected.iloc[1:], rtol=0, atol=1e-12)
    # today's load is in today's CTL: one session moves CTL the same day
    single = pmc(pd.Series([0.0, 100.0, 0.0], index=DAYS[:3]))
    assert single["ctl"].iloc[1] == pytest.approx(100 * pmc_gain(42))
    assert single["tsb"].iloc[1] == 0.0
    assert single["tsb"].iloc[2] < 0


def test_missing_days_are_zero_and_index_is_daily() -> None:
    series = pd.Series(
        [100.0, 50.0, 30.0], index=pd.to_datetime(["2024-01-01", "2024-01-04", "2024-01-04"])
    )
    frame = pmc(series)
    assert list(frame.index) == list(pd.date_range("2024-01-01", "2024-01-04", freq="D"))
    assert frame.index.name == "day"
    dense = pmc(pd.Series([100.0, 0, 0, 80.0], index=frame.index))
    pd.testing.assert_frame_equal(frame, dense)
    ramp = pmc(pd.Series(100.0, index=DAYS))["ramp"]
    ctl = pmc(pd.Series(100.0, index=DAYS))["ctl"]
    assert ramp.iloc[10] == pytest.approx(ctl.iloc[10] - ctl.iloc[3])
    assert ramp.iloc[3] == pytest.approx(ctl.iloc[3])  # CTL before day 0 = seed 0


def test_negative_load_is_rejected() -> None:
    with pytest.raises(InvalidInputError):
        pmc(pd.Series([10.0, -1.0], index=DAYS[:2]))


@settings(max_examples=60, deadline=None)
@given(loads_strategy)
def test_ctl_atl_stay_within_load_range(loads: list[float]) -> None:
    frame = pmc(pd.Series(loads, index=pd.date_range("2024-01-01", periods=len(loads))))
    top = max(loads)
    for column in ("ctl", "atl"):
        assert frame[column].min() >= 0
        assert frame[column].max() <= top + 1e-9


@settings(max_examples=30, deadline=None)
@given(st.floats(1, 500), st.sampled_from(["exp", "tp"]))
def test_constant_load_converges(load: float, convention: str) -> None:
    days = pd.date_range("2020-01-01", periods=1500)
    last = pmc(pd.Series(load, index=days), convention=convention).iloc[-1]
    assert last["ctl"] == pytest.approx(load, rel=1e-9)
    assert last["atl"] == pytest.approx(load, rel=1e-9)


@settings(max_examples=30, deadline=None)
@given(loads_strategy, st.integers(1, 30))
def test_shifting_input_shifts_output(loads: list[float], shift: int) -> None:
    days = pd.date_range("2024-01-01", periods=len(loads))
    base = pmc(pd.Series(loads, index=days))
    later = pmc(pd.Series(loads, index=days + pd.Timedelta(days=shift)))
    np.testing.assert_allclose(later.to_numpy(), base.to_numpy())
    # and zero-load days in front delay the curves by exactly that many days
    padded = pmc(
        pd.Series(
            [0.0] * shift + loads, index=pd.date_range("2024-01-01", periods=len(loads) + shift)
        )
    )
    np.testing.assert_allclose(
        padded[["ctl", "atl"]].iloc[shift:].to_numpy(), base[["ctl", "atl"]].to_numpy()
    )


def _reference(load: np.ndarray) -> dict[str, np.ndarray]:
    """Straightforward pandas/numpy computation of every matrix output, one athlete."""
    s = pd.Series(load)
    seeded = pd.concat([pd.Series([0.0]), s], ignore_index=True)

    def ewm(alpha: float) -> pd.Series:
        return seeded.ewm(alpha=alpha, adjust=False).mean().iloc[1:].reset_index(drop=True)

    ctl, atl = ewm(pmc_gain(42)), ewm(pmc_gain(7))
    acute, chronic = ewm(0.25), ewm(2 / 29)
    ratio = (acute / chronic).where(chronic > 0)
    ratio.iloc[:27] = np.nan
    out = {
        "ctl": ctl,
        "atl": atl,
        "tsb": (ctl - atl).shift(1, fill_value=0.0),
        "ramp": ctl - ctl.shift(7, fill_value=0.0),
        "acute_ewma": acute,
        "chronic_ewma": chronic,
        "acwr_ewma": ratio,
    }
    weekly = np.full(load.size, np.nan)
    mono = np.full(load.size, np.nan)
    if load.size >= 7:
        win = sliding_window_view(load, 7)
        mean, sd = win.mean(axis=1), win.std(axis=1)  # population SD
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where(mean * 7 < 1e-9, 0.0, mean / np.maximum(sd, mean / MONOTONY_CAP))
        weekly[6:], mono[6:] = win.sum(axis=1), m
    out.update(weekly_load=weekly, monotony=mono, strain=weekly * mono)
    return {k: np.asarray(v, dtype=np.float64) for k, v in out.items()}


def test_matrix_kernel_matches_reference_and_rows_are_independent() -> None:
    rng = np.random.default_rng(11)
    loads = rng.gamma(2, 40, size=(6, 400)) * (rng.random((6, 400)) > 0.3)
    loads[1, 50:80] = 0.0  # rest weeks
    loads[2] = 0.0
    loads[3, 100:200] = 55.0  # constant weeks → capped monotony
    result = daily_metrics_matrix(loads)
    for i in range(loads.shape[0]):
        expected = _reference(loads[i])
        single = daily_metrics_matrix(loads[i])
        for name, values in expected.items():
            np.testing.assert_allclose(result[name][i], values, rtol=1e-12, atol=1e-9, err_msg=name)
            np.testing.assert_array_equal(single[name][0], result[name][i], err_msg=name)
    np.testing.assert_allclose(result["monotony"][3, 106:200], MONOTONY_CAP, rtol=1e-12)
    assert np.all(result["monotony"][2, 6:] == 0.0)


def test_out_buffers_are_reused() -> None:
    rng = np.random.default_rng(2)
    first = daily_metrics_matrix(rng.uniform(0, 100, (3, 90)))
    loads = rng.uniform(0, 100, (3, 90))
    again = daily_metrics_matrix(loads, out=first)
    assert again["ctl"] is not None and np.shares_memory(again["ctl"], first["ctl"])
    fresh = daily_metrics_matrix(loads)
    for name in fresh:
        np.testing.assert_array_equal(again[name], fresh[name])
    with pytest.raises(InvalidInputError):
        daily_metrics_matrix(rng.uniform(0, 100, (2, 90)), out=first)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(loads_strategy.filter(lambda x: len(x) >= 1), min_size=1, max_size=4),
    st.sampled_from(["exp", "tp"]),
)
def test_matrix_row_equals_series_result(rows: list[list[float]], convention: str) -> None:
    n = min(len(r) for r in rows)
    matrix = np.array([r[:n] for r in rows])
    result = daily_metrics_matrix(matrix, convention=convention)
    days = pd.date_range("2024-01-01", periods=n)
    for i in range(matrix.shape[0]):
        frame = pmc(pd.Series(matrix[i], index=days), convention=convention)
        for column in ("ctl", "atl", "tsb", "ramp"):
            np.testing.assert_array_equal(frame[column].to_numpy(), result[column][i])


def test_acwr_methods_and_spike_flag() -> None:
    loads = np.r_[np.full(35, 50.0), np.full(7, 150.0)]
    series = pd.Series(loads, index=pd.date_range("2024-01-01", periods=loads.size))
    ewma = acwr(series)
    assert ewma["acwr"].iloc[:27].isna().all()
    assert ewma["acwr"].iloc[30] == pytest.approx(ewma["acute"].iloc[30] / ewma["chronic"].iloc[30])
    assert bool(ewma["spike"].iloc[-1]) and not ewma["spike"].iloc[30]
    coupled = acwr(series, method="rolling")
    last = coupled.iloc[-1]
    assert last["acute"] == pytest.approx(150.0)
    assert last["chronic"] == pytest.approx((7 * 150 + 21 * 50) / 28)
    uncoupled = acwr(series, method="rolling_uncoupled").iloc[-1]
    assert uncoupled["chronic"] == pytest.approx(50.0)
    assert uncoupled["acwr"] == pytest.approx(3.0)
    with pytest.raises(InvalidInputError):
        acwr(series, method="nope")


def test_monotony_strain_foster() -> None:
    week = np.array([100.0, 0, 50, 80, 0, 120, 60])
    frame = monotony_strain(pd.Series(week, index=pd.date_range("2024-01-01", periods=7)))
    mono = week.mean() / week.std(ddof=0)
    assert frame["monotony"].iloc[-1] == pytest.approx(mono)
    assert frame["strain"].iloc[-1] == pytest.approx(week.sum() * mono)
    assert frame["weekly_load"].iloc[:6].isna().all()
