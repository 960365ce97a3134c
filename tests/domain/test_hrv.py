"""rMSSD and RR artefact correction (Lipponen & Tarvainen 2019, Malik 20 %)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lydiard
from lydiard.domain.hrv import correct_rr, rmssd_ms
from lydiard.errors import InsufficientDataError, InvalidInputError


def clean_rr(
    seed: int,
    *,
    n_beats: int = 300,
    mean_rr_ms: float = 1000.0,
    rsa_amplitude_ms: float = 40.0,
    beats_per_breath: float = 6.0,
    noise_fraction: float = 0.03,
    drift_ms: float = 0.0,
) -> np.ndarray:
    """Artefact-free RR: respiratory sinus arrhythmia (breath-to-breath jitter) + noise + drift."""
    rng = np.random.default_rng(seed)
    phase = np.cumsum(2 * np.pi / beats_per_breath * (1 + rng.normal(0, 0.05, n_beats)))
    return (
        mean_rr_ms
        + rsa_amplitude_ms * np.sin(phase + rng.uniform(0, 2 * np.pi))
        + rng.normal(0, noise_fraction * rsa_amplitude_ms, n_beats)
        + np.linspace(0, drift_ms, n_beats)
    )


def with_artefacts(rr: np.ndarray, *, ectopic_at: int, missed_at: int, extra_at: int) -> np.ndarray:
    """Insert one ectopic beat, one missed beat and one extra beat (indices ascending)."""
    assert ectopic_at + 2 < missed_at < extra_at - 2
    out = list(rr)
    # extra: a spurious beat splits one interval in two (35 % / 65 %)
    out[extra_at : extra_at + 1] = [rr[extra_at] * 0.35, rr[extra_at] * 0.65]
    # missed: two intervals merge
    out[missed_at : missed_at + 2] = [rr[missed_at] + rr[missed_at + 1]]
    # ectopic: a premature beat (30 % early) followed by a compensatory pause
    out[ectopic_at] = rr[ectopic_at] * 0.7
    out[ectopic_at + 1] = rr[ectopic_at + 1] + rr[ectopic_at] * 0.3
    return np.asarray(out)


# -- rMSSD ---------------------------------------------------------------------------------


def test_rmssd_known_values() -> None:
    assert rmssd_ms([1000, 1010, 1000, 1010]) == pytest.approx(10.0)
    # diffs 10, -20, 30: N form sqrt(1400/3), N-1 form sqrt(1400/2)
    rr = [800, 810, 790, 820]
    assert rmssd_ms(rr) == pytest.approx(math.sqrt(1400 / 3))
    assert rmssd_ms(rr, ddof=1) == pytest.approx(math.sqrt(1400 / 2))


def test_rmssd_is_exported_and_does_not_mutate() -> None:
    rr = np.array([900.0, 950.0, 925.0])
    before = rr.copy()
    assert lydiard.rmssd_ms(rr) == rmssd_ms(rr)
    np.testing.assert_array_equal(rr, before)


def test_rmssd_skips_differences_touching_nan() -> None:
    # diffs: 10, nan, nan, 10 -> only the two finite ones count
    assert rmssd_ms([1000, 1010, np.nan, 900, 910]) == pytest.approx(10.0)


@pytest.mark.parametrize("rr", [[], [1000.0], [1000.0, np.nan], [np.nan, np.nan, np.nan]])
def test_rmssd_needs_two_intervals(rr: list[float]) -> None:
    with pytest.raises(InsufficientDataError):
        rmssd_ms(rr)


def test_rmssd_ddof1_needs_two_differences() -> None:
    assert rmssd_ms([1000, 1010]) == pytest.approx(10.0)
    with pytest.raises(InsufficientDataError):
        rmssd_ms([1000, 1010], ddof=1)
    with pytest.raises(InvalidInputError):
        rmssd_ms([1000, 1010], ddof=2)


@given(
    rr=st.lists(st.floats(300, 2000), min_size=3, max_size=200),
    shift=st.floats(-200, 200),
)
def test_rmssd_properties(rr: list[float], shift: float) -> None:
    value = rmssd_ms(rr)
    assert value >= 0
    # shift-invariant, and the N-1 form is never smaller
    assert rmssd_ms([x + shift for x in rr]) == pytest.approx(value, abs=1e-6)
    assert rmssd_ms(rr, ddof=1) >= value - 1e-9


# -- correction: clean data ------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("method", ["lipponen2019", "malik"])
def test_clean_rr_is_left_alone(seed: int, method: str) -> None:
    rr = clean_rr(seed, rsa_amplitude_ms=25 + 5 * seed, beats_per_breath=5.5 + 0.15 * seed)
    result = correct_rr(rr, method=method)  # type: ignore[arg-type]
    assert result.n_corrected == 0
    assert result.corrected_fraction == 0.0
    assert not result.artefact_mask.any()
    np.testing.assert_allclose(result.rr_ms, rr)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_beats=st.integers(120, 500),
    mean_rr_ms=st.floats(750, 1300),
    rsa_amplitude_ms=st.floats(20, 80),
    beats_per_breath=st.floats(4.5, 8.0),
    drift_ms=st.floats(-50, 50),
)
def test_clean_rr_is_nearly_untouched(
    seed: int, n_beats: int, mean_rr_ms: float, rsa_amplitude_ms: float,
    beats_per_breath: float, drift_ms: float,
) -> None:
    # The Kubios thresholds (5.2 x quartile deviation of |dRR|) may flag a marginal beat at a
    # broad RSA peak in a small share of synthetic recordings; what must hold for every clean
    # recording is that almost nothing changes and rMSSD is unaffected.
    rr = clean_rr(seed, n_beats=n_beats, mean_rr_ms=mean_rr_ms, rsa_amplitude_ms=rsa_amplitude_ms,
                  beats_per_breath=beats_per_breath, drift_ms=drift_ms)
    result = correct_rr(rr)
    assert result.corrected_fraction <= 0.02
    assert result.rr_ms.size == rr.size
    assert rmssd_ms(result.rr_ms) == pytest.approx(rmssd_ms(rr), rel=0.05)
    assert correct_rr(rr, method="malik").n_corrected == 0


# -- correction: inserted artefacts ----------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    rsa_amplitude_ms=st.floats(20, 60),
    beats_per_breath=st.floats(5.0, 8.0),
    positions=st.tuples(st.integers(20, 80), st.integers(110, 170), st.integers(200, 260)),
)
def test_inserted_artefacts_are_corrected(
    seed: int, rsa_amplitude_ms: float, beats_per_breath: float,
    positions: tuple[int, int, int],
) -> None:
    rr = clean_rr(seed, rsa_amplitude_ms=rsa_amplitude_ms, beats_per_breath=beats_per_breath)
    ectopic_at, missed_at, extra_at = positions
    bad = with_artefacts(rr, ectopic_at=ectopic_at, missed_at=missed_at, extra_at=extra_at)
    assert rmssd_ms(bad) > 1.5 * rmssd_ms(rr)  # the artefacts matter

    result = correct_rr(bad)
    assert result.n_ectopic >= 1
    assert result.n_missed >= 1
    assert result.n_extra >= 1
    assert result.rr_ms.size == rr.size  # missed beat split, extra beat merged
    assert rmssd_ms(result.rr_ms) == pytest.approx(rmssd_ms(rr), rel=0.10)
    assert result.artefact_mask.sum() >= 4
    assert 0 < result.corrected_fraction < 0.05
    # total recording time is preserved by the split and the merge (interpolation aside)
    assert result.rr_ms.sum() == pytest.approx(rr.sum(), rel=0.01)


def test_inserted_artefacts_positions() -> None:
    rr = clean_rr(3)
    bad = with_artefacts(rr, ectopic_at=50, missed_at=140, extra_at=230)
    result = correct_rr(bad)
    assert (result.n_ectopic, result.n_missed, result.n_extra) == (1, 1, 1)
    flagged = set(np.flatnonzero(result.artefact_mask).tolist())
    assert {50, 51}.issubset(flagged)  # both intervals around the ectopic beat
    assert {140, 141}.issubset(flagged)  # the split interval
    assert 230 in flagged  # the merged interval
    np.testing.assert_allclose(result.rr_ms[140] + result.rr_ms[141], bad[140])


def test_malik_flags_ectopic_and_long_beats() -> None:
    rr = clean_rr(1)
    bad = rr.copy()
    bad[100] *= 0.7
    bad[101] *= 1.3
    bad[200] *= 1.5
    result = correct_rr(bad, method="malik")
    assert result.n_corrected == 3
    assert result.artefact_mask[[100, 101, 200]].all()
    assert rmssd_ms(result.rr_ms) == pytest.approx(rmssd_ms(rr), rel=0.10)


def test_correct_rr_drops_invalid_and_does_not_mutate() -> None:
    rr = clean_rr(2, n_beats=100)
    rr[10] = np.nan
    rr[20] = -5.0
    before = rr.copy()
    result = correct_rr(rr)
    np.testing.assert_array_equal(rr, before)
    assert result.n_invalid == 2
    assert result.n_input == 98
    assert result.rr_ms.size == 98


def test_correct_rr_errors() -> None:
    with pytest.raises(InsufficientDataError):
        correct_rr([1000.0])
    with pytest.raises(InvalidInputError):
        correct_rr([1000.0, 1000.0], method="kubios")  # type: ignore[arg-type]


def test_short_series_is_not_judged() -> None:
    result = correct_rr([1000.0, 400.0, 1000.0])
    assert result.n_corrected == 0
    np.testing.assert_array_equal(result.rr_ms, [1000.0, 400.0, 1000.0])


def test_constant_series_is_clean() -> None:
    result = correct_rr(np.full(200, 1000.0))
    assert result.n_corrected == 0
