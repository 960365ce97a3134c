"""Fatigue staging on simulated athletes with known truth, causality and the public API."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from lydiard.domain.recovery import STAGE_NAMES, assess_days, stage_matrix
from lydiard.domain.recovery.stage import INPUT_COLUMNS, Stage
from lydiard.domain.simulate import simulate_athlete
from lydiard.errors import InvalidInputError

RANK = {name: code for code, name in STAGE_NAMES.items()}


@pytest.mark.parametrize("seed", [4, 7, 8, 10, 11])
def test_overreaching_flagged_deep_before_low_point(seed: int) -> None:
    sim = simulate_athlete(seed, 200, "overreaching", hrv_missing_frac=0.3)
    assert sim.block_start is not None and sim.low_point is not None
    # the hidden state really went deep (otherwise the test would be vacuous)
    assert sim.truth["maladaptation"].max() >= 0.5
    out = assess_days(sim.days)
    window = out.loc[sim.block_start : sim.low_point, "stage"].map(RANK)
    assert (window >= Stage.DEEP_FATIGUE).any()
    first = window[window >= Stage.DEEP_FATIGUE].index[0]
    assert first <= sim.low_point


@pytest.mark.parametrize("seed", [1, 2, 4])
def test_normal_athlete_mostly_normal_or_surface(seed: int) -> None:
    out = assess_days(simulate_athlete(seed, 240, "normal").days)
    staged = out[out["stage"] != "calibrating"]
    share = staged["stage"].isin(["normal", "surface_fatigue"]).mean()
    assert share >= 0.9


def test_single_hard_days_give_at_most_surface() -> None:
    sim = simulate_athlete(2, 240, "single_hard_days")
    out = assess_days(sim.days)
    hard = sim.truth.loc[sim.truth["hard_event"], "day"]
    assert len(hard) >= 10
    nxt = [d + timedelta(days=1) for d in hard if d + timedelta(days=1) in out.index]
    stages = out.loc[nxt, "stage"].map(RANK)
    assert (stages <= Stage.SURFACE_FATIGUE).all()
    assert (stages == Stage.SURFACE_FATIGUE).any()


def test_illness_overrides_everything() -> None:
    days = simulate_athlete(1, 120, "normal").days.copy()
    days.loc[100:103, "illness"] = True
    out = assess_days(days)
    for i in range(100, 104):
        rec = out["recommendation"].iloc[i]
        assert rec["code"] in ("rest", "stop_see_doctor")
        assert any(c["marker"] == "illness" for c in rec["return_criteria"])
    # rest continues until symptom-free for 2 days, then training resumes
    assert out["recommendation"].iloc[104]["code"] == "rest"
    assert out["recommendation"].iloc[106]["code"] != "rest"


def test_long_illness_means_see_a_doctor() -> None:
    days = simulate_athlete(1, 120, "normal").days.copy()
    days.loc[90:99, "illness"] = True
    out = assess_days(days)
    assert out["recommendation"].iloc[99]["code"] == "stop_see_doctor"


def test_missing_data_lowers_confidence() -> None:
    full = simulate_athlete(6, 150, "normal", hrv_missing_frac=0.0).days
    sparse = simulate_athlete(6, 150, "normal", hrv_missing_frac=0.7).days
    c_full = assess_days(full)["confidence"].iloc[60:]
    c_sparse = assess_days(sparse)["confidence"].iloc[60:]
    assert c_sparse.mean() < c_full.mean()
    no_hrv = assess_days(full.drop(columns=["rmssd_ms"]))["confidence"].iloc[60:]
    assert (no_hrv <= c_full + 1e-12).all() and no_hrv.mean() < c_full.mean()


def test_calibrating_says_what_is_missing_and_how_long() -> None:
    days = simulate_athlete(1, 40, "normal").days.drop(columns=["rhr_bpm"])
    out = assess_days(days)
    assert out["stage"].iloc[0] == "calibrating"
    cal0 = out["evidence"].iloc[0]["calibration"]
    cal5 = out["evidence"].iloc[5]["calibration"]
    assert cal0["resting HR"]["days_remaining"] is None  # never measured
    assert cal0["resting HR"]["missing"] == "no readings yet"
    assert cal5["ln rMSSD"]["days_remaining"] < cal0["ln rMSSD"]["days_remaining"]
    assert "Calibrating" in out["recommendation"].iloc[0]["text"]
    assert out["confidence"].iloc[0] < 0.5
    assert np.isnan(out["risk_score"].iloc[0])
    assert (out["stage"].iloc[30:] != "calibrating").all()


def test_data_feel_disagreement_detected() -> None:
    days = simulate_athlete(5, 120, "normal").days.copy()
    for item in ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress"):
        days.loc[110:, item] = 1.0
    days.loc[110:, "readiness"] = 1.0
    out = assess_days(days)
    last = out.iloc[-1]
    assert last["evidence"]["ln_rmssd_7d"]["direction"] == "inside"  # HRV is normal
    assert last["evidence"]["rhr_7d"]["days_out_of_range"] == 0
    assert last["data_feel_agree"] is False
    assert "data_feel" in last["evidence"]
    # the feeling is weighted: a week of feeling awful is deep fatigue even with normal HRV
    assert RANK[last["stage"]] >= Stage.DEEP_FATIGUE


def test_causal_output_unchanged_by_future_data() -> None:
    days = simulate_athlete(9, 160, "overreaching", hrv_missing_frac=0.3).days
    cut = 110
    base = assess_days(days.iloc[:cut])
    altered = days.copy()
    rng = np.random.default_rng(0)
    altered.loc[cut:, "rmssd_ms"] = rng.uniform(10, 200, len(days) - cut)
    altered.loc[cut:, "energy"] = 1.0
    altered.loc[cut:, "illness"] = True
    altered.loc[cut:, "race"] = True
    future = assess_days(altered)
    pd.testing.assert_frame_equal(base, future.iloc[:cut], check_exact=True)


def test_assess_days_is_stage_matrix_on_one_row() -> None:
    days = simulate_athlete(3, 150, "overreaching").days
    out = assess_days(days)
    inputs = {c: days[c].to_numpy(dtype=float) for c in INPUT_COLUMNS if c in days}
    res = stage_matrix(inputs)
    assert out["stage"].tolist() == [STAGE_NAMES[int(c)] for c in res["stage"][0]]
    np.testing.assert_allclose(out["confidence"], res["confidence"][0])


def test_matrix_rows_are_independent_and_chunking_does_not_matter() -> None:
    a = simulate_athlete(3, 150, "overreaching").days
    b = simulate_athlete(4, 150, "normal").days
    inputs = {
        c: np.vstack([a[c].to_numpy(dtype=float), b[c].to_numpy(dtype=float)])
        for c in INPUT_COLUMNS
        if c in a
    }
    both = stage_matrix(inputs, chunk_athletes=1, workers=2)
    one = stage_matrix({c: v[1] for c, v in inputs.items()})
    for key in ("stage", "confidence", "risk_score", "rec_code"):
        np.testing.assert_array_equal(both[key][1], one[key][0])


def test_date_index_and_missing_calendar_days() -> None:
    days = simulate_athlete(2, 120, "normal").days
    holes = days.drop(index=[50, 51, 52, 80]).set_index("day")
    out = assess_days(holes)
    assert len(out) == 120
    assert out.index[0] == days["day"].iloc[0]
    assert set(out.columns) >= {"stage", "confidence", "risk_score", "evidence",
                                "recommendation", "data_feel_agree"}
    assert out["risk_score"].dropna().between(0, 1).all()
    assert out["confidence"].between(0, 1).all()


def test_race_recovery_window_scales_with_load() -> None:
    days = simulate_athlete(1, 120, "normal").days.copy()
    days.loc[100, ["race", "load_au"]] = [True, 250.0]
    days.loc[60, ["race", "load_au"]] = [True, 60.0]
    out = assess_days(days)
    long_rec = out["recommendation"].iloc[101]
    short_rec = out["recommendation"].iloc[61]
    if long_rec["reason"] == "race" and short_rec["reason"] == "race":
        assert long_rec["days"] > short_rec["days"]
    assert out["recommendation"].iloc[105]["code"] != "train_as_planned"


def test_invalid_inputs_raise() -> None:
    days = simulate_athlete(1, 30, "normal").days.copy()
    bad = days.copy()
    bad.loc[3, "energy"] = 6.0
    with pytest.raises(InvalidInputError) as info:
        assess_days(bad)
    assert info.value.field == "energy"
    with pytest.raises(InvalidInputError):
        assess_days(pd.concat([days, days.iloc[:1]]))
    with pytest.raises(InvalidInputError):
        stage_matrix({"bogus": np.zeros((1, 3))})
    with pytest.raises(InvalidInputError):
        stage_matrix({"load_au": np.zeros((1, 3)), "rhr_bpm": np.zeros((1, 4))})


def test_inputs_are_not_mutated() -> None:
    days = simulate_athlete(1, 60, "normal").days
    before = days.copy()
    assess_days(days)
    pd.testing.assert_frame_equal(days, before)


def test_the_engine_accepts_every_value_importers_accept() -> None:
    """One range table: a value an importer stores can always be assessed (resting HR 150-200
    bpm used to pass the importers and stop the engine)."""
    from lydiard.domain.daily import PLAUSIBLE_RANGES
    from lydiard.ingest.daily._common import FIELD_RANGES

    assert FIELD_RANGES is PLAUSIBLE_RANGES
    days = pd.date_range("2025-01-01", periods=3, freq="D")
    for name in ("rmssd_ms", "rhr_bpm", "sleep_h", "readiness", "energy"):
        low, high = PLAUSIBLE_RANGES[name]
        frame = pd.DataFrame({"day": days, "load_au": [50.0, 0.0, 60.0], name: [low, high, np.nan]})
        assert len(assess_days(frame)) == 3
        bad = frame.assign(**{name: [low, high + 1.0, np.nan]})
        with pytest.raises(InvalidInputError, match=name):
            assess_days(bad)


def test_mask_implausible_makes_out_of_range_values_missing_in_place() -> None:
    from lydiard.domain.recovery.stage import mask_implausible

    rhr = np.array([[19.0, 50.0, np.nan, 201.0]])
    load = np.array([[10.0, -1.0, np.inf, 5000.0]])
    flags = np.array([[1.0, 0.0, 7.0, np.nan]])  # not a ranged input: left alone
    masked = mask_implausible({"rhr_bpm": rhr, "load_au": load, "illness": flags})
    assert masked == {"rhr_bpm": 2, "load_au": 2}
    np.testing.assert_array_equal(rhr, [[np.nan, 50.0, np.nan, np.nan]])
    np.testing.assert_array_equal(load, [[10.0, np.nan, np.nan, 5000.0]])
    np.testing.assert_array_equal(flags, [[1.0, 0.0, 7.0, np.nan]])
    assert mask_implausible({"rhr_bpm": rhr}) == {}


@pytest.mark.parametrize("scenario", ["overreaching", "illness", "missing_data", "crash_and_recovery"])
def test_evidence_and_recommendation_are_json_ready(scenario: str) -> None:
    """``day_details`` promises JSON-safe leaves (finite floats, ints, str, bool, None, in
    dicts and lists): the batch and the per-athlete recompute store them without another
    conversion pass. Calibrating days, gaps (NaN inputs) and session markers included."""
    import json

    from lydiard.domain.recovery.assess import day_details
    from lydiard.domain.recovery.baselines import BaselineConfig

    days = simulate_athlete(5, 120, scenario, hrv_missing_frac=0.3).days
    days["ef"] = np.where(np.arange(len(days)) % 3 == 0, 1.5, np.nan)
    inputs = {c: days[c].to_numpy(dtype=float) for c in INPUT_COLUMNS if c in days}
    res = stage_matrix(inputs, detail=True)
    details = day_details(res, 0, range(len(days)), BaselineConfig())
    assert len(details) == len(days)

    def check(value: object, path: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                assert type(k) is str, path
                check(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                check(v, f"{path}[{i}]")
        else:
            assert type(value) in (str, int, float, bool, type(None)), (path, type(value))
            if type(value) is float:
                assert np.isfinite(value), path

    for d, (ev, rec) in enumerate(details):
        check({"evidence": ev, "recommendation": rec}, f"day {d}")
        json.dumps({"evidence": ev, "recommendation": rec}, allow_nan=False)
    assert any("calibration" in ev for ev, _ in details)


def test_a_modest_shift_opens_an_episode_under_a_load_build_only() -> None:
    """The CUSUM drift depends on the load context (Meeusen 2013: overreaching follows
    intensified training): the same modest, sustained shift of HRV and resting HR is
    deep fatigue within a load build and not on an ordinary week."""
    days = simulate_athlete(1, 200, "normal").days.copy()
    shift = (days.index >= 140) & (days.index < 161)
    days.loc[shift, "rmssd_ms"] = days.loc[shift, "rmssd_ms"] * np.exp(-0.07)
    days.loc[shift, "rhr_bpm"] = days.loc[shift, "rhr_bpm"] + 2
    loaded = days.copy()
    loaded.loc[shift, "load_au"] = loaded.loc[shift, "load_au"] * 1.6
    steady_stage = assess_days(days)["stage"].map(RANK).to_numpy()[140:161]
    loaded_stage = assess_days(loaded)["stage"].map(RANK).to_numpy()[140:161]
    assert not (steady_stage >= Stage.DEEP_FATIGUE).any()
    assert (loaded_stage >= Stage.DEEP_FATIGUE).any()


def test_load_context_threshold_must_be_above_a_steady_load() -> None:
    from lydiard.domain.recovery.baselines import BaselineConfig

    with pytest.raises(InvalidInputError):
        BaselineConfig(cusum_k_acwr=1.0)


def test_sustained_life_stress_is_a_context_of_the_evidence_like_a_load_build() -> None:
    """Recovery depends on all the stress an athlete carries, not only training (Kellmann
    et al. 2018): three weeks of a stress rating of 1/5, training and the other markers
    unchanged, lower the drift of the evidence like a load build, so they open an episode
    that the same days without that context do not; the advice names life stress. A two-day
    dip is not sustained and changes nothing."""
    from lydiard.domain.recovery.baselines import BaselineConfig

    off = BaselineConfig(cusum_k_stress_onset_z=-50.0, cusum_k_stress_z=-51.0)
    days = simulate_athlete(2, 200, "normal").days.copy()
    spell = (days.index >= 140) & (days.index < 161)
    stressed = days.copy()
    stressed.loc[spell, "stress"] = 1.0
    out = assess_days(stressed)
    on = out["stage"].map(RANK).to_numpy()[140:161]
    without = assess_days(stressed, config=off)["stage"].map(RANK).to_numpy()[140:161]
    assert (on >= Stage.DEEP_FATIGUE).any()
    assert not (without >= Stage.DEEP_FATIGUE).any()
    deep = np.nonzero(on >= Stage.DEEP_FATIGUE)[0] + 140
    assert any("Training is not the only load" in out["recommendation"].iloc[d]["text"] for d in deep)
    short = days.copy()
    short.loc[(days.index >= 140) & (days.index < 142), "stress"] = 1.0
    pd.testing.assert_series_equal(assess_days(short)["stage"], assess_days(short, config=off)["stage"])


def test_life_stress_context_thresholds_are_ordered_below_usual() -> None:
    from lydiard.domain.recovery.baselines import BaselineConfig

    with pytest.raises(InvalidInputError):
        BaselineConfig(cusum_k_stress_onset_z=-2.0, cusum_k_stress_z=-1.5)
    with pytest.raises(InvalidInputError):
        BaselineConfig(cusum_k_stress_onset_z=0.5, cusum_k_stress_z=-1.0)
