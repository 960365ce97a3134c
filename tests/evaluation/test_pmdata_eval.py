"""benchmarks/pmdata_eval.py: the AUC is right and the PMData pipeline is causal end to end."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]


def _load_module() -> ModuleType:
    path = REPO / "benchmarks" / "pmdata_eval.py"
    spec = importlib.util.spec_from_file_location("pmdata_eval", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["pmdata_eval"] = mod
    spec.loader.exec_module(mod)
    return mod


pe = _load_module()


# ----------------------------------------------------------------------------- AUC
def _brute_auc(s: np.ndarray, y: np.ndarray) -> float:
    pos, neg = s[y], s[~y]
    diff = pos[:, None] - neg[None, :]
    return float(((diff > 0) + 0.5 * (diff == 0)).mean())


def test_auc_hand_made_cases() -> None:
    y = np.array([False, False, True, True])
    assert pe.auc(np.array([0.1, 0.2, 0.3, 0.4]), y) == 1.0  # perfect separation
    assert pe.auc(np.array([0.4, 0.3, 0.2, 0.1]), y) == 0.0  # perfectly wrong
    assert pe.auc(np.ones(4), y) == 0.5  # all tied: every pair counts 1/2
    assert pe.auc(np.array([1.0, 2.0, 2.0, 3.0]), y) == pytest.approx(3.5 / 4)
    assert np.isnan(pe.auc(np.array([1.0, 2.0]), np.array([True, True])))  # one class


def test_auc_matches_pairwise_count_with_ties() -> None:
    rng = np.random.default_rng(3)
    for _ in range(20):
        s = rng.integers(0, 5, 60).astype(float)  # many ties
        y = rng.random(60) < 0.4
        assert pe.auc(s, y) == pytest.approx(_brute_auc(s, y))


def test_auc_of_random_scores_with_ties_is_about_half() -> None:
    rng = np.random.default_rng(5)
    s = rng.integers(0, 3, 20_000).astype(float)
    y = rng.random(20_000) < 0.3
    assert abs(pe.auc(s, y) - 0.5) < 0.02


def test_within_athlete_auc_only_compares_pairs_of_the_same_athlete() -> None:
    # each athlete perfectly separated, but athlete B's scores are all higher than A's
    s = [np.array([0.0, 1.0]), np.array([10.0, 11.0])]
    y = [np.array([False, True]), np.array([False, True])]
    assert pe.within_auc(s, y) == 1.0
    assert pe.pooled_auc(s, y) == pytest.approx(_brute_auc(np.concatenate(s), np.concatenate(y)))
    assert pe.pooled_auc(s, y) < 1.0


def test_label_is_next_day_readiness_at_or_below_the_athletes_25th_percentile() -> None:
    import pandas as pd

    frame = pd.DataFrame({"readiness": [8.0, 2.0, 8.0, np.nan, 8.0, 8.0, 2.0, 8.0]})
    low, known, thr = pe.label_and_mask(frame)
    assert thr == np.nanquantile(frame["readiness"], 0.25)
    assert known.tolist() == [True, True, False, False, True, True, True, False]
    assert low.tolist() == [True, False, False, False, False, True, False, False]


# ----------------------------------------------------------------------------- PMData
@pytest.fixture(scope="module")
def two_participants(pmdata_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> list:
    home = tmp_path_factory.mktemp("pmdata-store")
    return list(pe.load_participants(pmdata_dir, ["p01", "p02"], home, recompute=False))


def test_pipeline_is_causal_end_to_end(two_participants: list) -> None:
    for part in two_participants:
        frame = part.frame
        full = {rin: pe.engine_risk(frame, readiness=rin) for rin in (True, False)}
        load_full = pe.load_scores(part.srpe_load)
        assert np.isfinite(full[True]).sum() > 60  # calibrated for most of the 5 months
        n = len(frame)
        for cut in (25, 40, n // 2, n - 10):
            for rin in (True, False):
                part_risk = pe.engine_risk(frame.iloc[:cut], readiness=rin)
                np.testing.assert_allclose(part_risk, full[rin][:cut], rtol=0, atol=1e-12, equal_nan=True)
            load_cut = pe.load_scores(part.srpe_load.iloc[:cut])
            for key in ("acwr", "neg_tsb"):
                np.testing.assert_allclose(load_cut[key], load_full[key][:cut], atol=1e-12, equal_nan=True)
        # removing readiness changes the score on some days: readiness really is an input
        both = np.isfinite(full[True]) & np.isfinite(full[False])
        assert np.any(np.abs(full[True][both] - full[False][both]) > 1e-9)


def test_pipeline_reports_finite_aucs(two_participants: list) -> None:
    data = pe.collect(two_participants, pe.default_predictors())
    assert data.pids == ["p01", "p02"]
    boot = pe.bootstrap(data, reps=20, seed=0)
    lines = pe.report(data, boot, baseline=pe.CARRIED)
    assert any(line.startswith(pe.ENGINE_OUT) for line in lines)
    for name in data.names:
        a = pe.pooled_auc(data.scores[name], data.labels)
        assert 0.0 <= a <= 1.0
