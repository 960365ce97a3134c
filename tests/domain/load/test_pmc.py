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
    # (atol: the EWMA scan blocks start on fixed days, so shifted days round differently;
    # that only shows at the subnormal level, where float64 has few significant bits)
    np.testing.assert_allclose(
        padded[["ctl", "atl"]].iloc[shift:].to_numpy(),
        base[["ctl", "atl"]].to_numpy(),
        atol=1e-300,
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


def _recurrence(load: np.ndarray, k: float, seed: float = 0.0) -> np.ndarray:
    """``y_d = y_{d−1} + k·(L_d − y_{d−1})``, one day at a time (the definition)."""
    out = np.empty(load.size)
    y = seed
    for d, value in enumerate(load):
        y = y + k * (value - y)
        out[d] = y
    return out


def test_tiles_and_chunks_do_not_change_any_value() -> None:
    # 300 athletes: two athlete tiles (256 + 44); 700 days: three day tiles, a partial
    # 32-day block at the end. Every row must equal the row computed alone, and chunks
    # of athletes must give the same values bit for bit.
    rng = np.random.default_rng(7)
    loads = rng.gamma(2, 40, size=(300, 700)) * (rng.random((300, 700)) > 0.3)
    loads[5, :100] = 0.0
    seeds = rng.uniform(0, 80, 300)
    for w in (7, 28):
        full = daily_metrics_matrix(loads, seed_ctl=seeds, seed_atl=30.0, window_days=w)
        for lo, hi in ((0, 1), (255, 257), (299, 300), (0, 300), (100, 230)):
            part = daily_metrics_matrix(
                loads[lo:hi], seed_ctl=seeds[lo:hi], seed_atl=30.0, window_days=w
            )
            for name in full:
                np.testing.assert_array_equal(part[name], full[name][lo:hi], err_msg=name)


@pytest.mark.parametrize("n_days", [1, 6, 31, 32, 33, 255, 256, 257, 600])
def test_appending_days_never_changes_earlier_days(n_days: int) -> None:
    rng = np.random.default_rng(n_days)
    loads = rng.gamma(2, 40, size=(3, 700)) * (rng.random((3, 700)) > 0.3)
    full = daily_metrics_matrix(loads)
    head = daily_metrics_matrix(loads[:, :n_days])
    for name in full:
        np.testing.assert_array_equal(head[name], full[name][:, :n_days], err_msg=name)


@pytest.mark.parametrize(
    ("days", "convention"), [(1.0, "tp"), (1.05, "tp"), (1.0, "exp"), (3.0, "tp"), (400.0, "exp")]
)
def test_ewmas_equal_the_recurrence_for_any_time_constant(days: float, convention: str) -> None:
    # short time constants shorten the scan blocks (a = 1 − k small); k = 1 gives a = 0
    rng = np.random.default_rng(3)
    loads = rng.gamma(2, 40, size=(2, 500)) * (rng.random((2, 500)) > 0.3)
    result = daily_metrics_matrix(
        loads, atl_days=days, convention=convention, acute_days=days, seed_atl=12.0
    )
    k = pmc_gain(days, convention=convention)
    for i in range(2):
        np.testing.assert_allclose(
            result["atl"][i], _recurrence(loads[i], k, 12.0), rtol=1e-12, atol=1e-12
        )
        np.testing.assert_allclose(
            result["acute_ewma"][i],
            _recurrence(loads[i], ewma_lambda(days)),
            rtol=1e-12,
            atol=1e-12,
        )


@pytest.mark.parametrize("window_days", [1, 2, 3, 5, 7, 8, 14, 28, 31])
def test_window_statistics_for_any_window(window_days: int) -> None:
    rng = np.random.default_rng(window_days)
    loads = rng.gamma(2, 40, size=(2, 400)) * (rng.random((2, 400)) > 0.3)
    loads[0, 100:160] = 0.0  # windows without load
    loads[1, 200:260] = 70.0  # constant windows (monotony capped)
    result = daily_metrics_matrix(loads, window_days=window_days)
    w = window_days
    for i in range(2):
        win = sliding_window_view(loads[i], w)
        mean, sd = win.mean(axis=1), win.std(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            mono = np.where(mean * w < 1e-9, 0.0, mean / np.maximum(sd, mean / MONOTONY_CAP))
        assert np.isnan(result["weekly_load"][i, : w - 1]).all()
        np.testing.assert_allclose(result["weekly_load"][i, w - 1 :], win.sum(axis=1), rtol=1e-13)
        np.testing.assert_allclose(result["monotony"][i, w - 1 :], mono, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(
            result["strain"][i, w - 1 :], win.sum(axis=1) * mono, rtol=1e-9, atol=1e-9
        )


def test_acwr_is_nan_where_chronic_underflows_to_zero() -> None:
    # three units of the smallest subnormal on day 40: acute (λ = 0.25) keeps a unit,
    # chronic (λ ≈ 0.069) rounds to exactly 0, so acute/chronic would be +inf
    loads = np.zeros(60)
    loads[40] = 3 * 5e-324
    result = daily_metrics_matrix(loads)
    assert result["chronic_ewma"][0, 40] == 0.0 < result["acute_ewma"][0, 40]
    assert np.isnan(result["acwr_ewma"][0, 40])
    assert not np.isinf(result["acwr_ewma"]).any()


def test_threads_give_the_same_values_as_one_call() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(4)
    loads = rng.gamma(2, 40, size=(96, 800)) * (rng.random((96, 800)) > 0.3)
    whole = daily_metrics_matrix(loads)
    with ThreadPoolExecutor(4) as pool:
        parts = list(pool.map(daily_metrics_matrix, [loads[i : i + 8] for i in range(0, 96, 8)]))
    for name in whole:
        np.testing.assert_array_equal(np.vstack([p[name] for p in parts]), whole[name])


def test_invalid_loads_are_rejected_or_zeroed() -> None:
    with pytest.raises(InvalidInputError):
        daily_metrics_matrix(np.array([[1.0, np.inf]]))
    with pytest.raises(InvalidInputError):
        daily_metrics_matrix(np.array([[1.0, -0.5]]))
    with_nan = daily_metrics_matrix(np.array([[50.0, np.nan, 20.0]]))
    zeroed = daily_metrics_matrix(np.array([[50.0, 0.0, 20.0]]))
    for name in with_nan:
        np.testing.assert_array_equal(with_nan[name], zeroed[name])
    empty = daily_metrics_matrix(np.zeros((0, 10)))
    assert empty["ctl"].shape == (0, 10)


@pytest.mark.parametrize("window_days", [0, -3, 2.5])
def test_window_must_be_a_positive_whole_number_of_days(window_days: float) -> None:
    # the one check in front of the compiled loop, which is built per window length
    with pytest.raises(InvalidInputError) as err:
        daily_metrics_matrix(np.ones((2, 30)), window_days=window_days)  # type: ignore[arg-type]
    assert err.value.context["field"] == "window_days"
