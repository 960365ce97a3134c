"""The public API: every name in ``lydiard.__all__`` resolves, and the core calls work."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import lydiard
from lydiard.errors import InvalidInputError


@pytest.mark.parametrize("name", lydiard.__all__)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(lydiard, name) is not None


def test_unknown_name_raises_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = lydiard.no_such_thing  # type: ignore[attr-defined]


def test_pmc_signature_from_the_issue() -> None:
    days = pd.date_range("2025-01-01", periods=42, freq="D")
    out = lydiard.pmc(pd.Series(100.0, index=days), ctl_days=42, atl_days=7, convention="exp")
    assert list(out.columns[:3]) == ["ctl", "atl", "tsb"]
    assert out["ctl"].iloc[-1] == pytest.approx(63.21, abs=0.01)
    assert out["atl"].iloc[-1] == pytest.approx(99.75, abs=0.01)


def test_rmssd_and_errors_are_public() -> None:
    assert lydiard.rmssd_ms(np.array([800.0, 810.0, 790.0, 805.0])) > 0
    assert issubclass(lydiard.LydiardError, Exception)


#: The public API, pinned: adding or removing a name is a decision, made here as well.
PUBLIC_NAMES = [
    "Activity", "ActivitySummary", "BanisterModel", "BaselineConfig", "DayAssessment", "LydiardError",
    "PlannedSession", "SessionMetrics", "Thresholds", "__version__", "acwr", "adapt_plan", "aerobic_decoupling",
    "assess_days", "clean_records", "correct_rr", "daily_metrics_matrix", "efficiency_factor",
    "estimate_thresholds", "forecast", "generate_plan", "grade_adjusted_speed", "hr_tss", "intensity_factor",
    "mean_maximal", "minetti_cost_j_per_kg_m", "monotony_strain", "normalized_graded_speed", "normalized_power",
    "pmc", "power_tss", "read_activity", "read_fit", "read_gpx", "read_tcx", "rmssd_ms", "running_tss",
    "session_metrics", "simulate_athlete", "simulate_cohort", "srpe_load", "srpe_to_tss", "stage_matrix",
    "time_in_zones", "trimp_banister", "trimp_edwards", "trimp_lucia",
]


def test_all_is_pinned() -> None:
    assert sorted(lydiard.__all__) == sorted(PUBLIC_NAMES)
    assert len(set(lydiard.__all__)) == len(lydiard.__all__)


def test_pmc_refuses_a_series_without_a_date_index() -> None:
    with pytest.raises(InvalidInputError, match="indexed by day"):
        lydiard.pmc(pd.Series([100.0, 50.0, 0.0]))  # a plain integer index: not days
    with pytest.raises(InvalidInputError, match="indexed by day"):
        lydiard.pmc(pd.Series([100.0, 50.0], index=[1.5, 2.5]))
    dated = lydiard.pmc(pd.Series([100.0, 50.0], index=[date(2025, 1, 1), date(2025, 1, 2)]))
    assert len(dated) == 2, "an index of dates is days"


@pytest.mark.slow
def test_type_checkers_see_the_real_signatures(tmp_path: Path) -> None:
    """``import lydiard`` is typed for users: mypy --strict refuses a wrong call of a lazy name."""
    api = pytest.importorskip("mypy.api")
    bad = tmp_path / "bad.py"
    bad.write_text("import lydiard\n\nlydiard.pmc(1, 2, 3, bogus=True)\n", encoding="utf-8")
    good = tmp_path / "good.py"
    good.write_text(
        "import pandas as pd\nimport lydiard\n\n"
        "frame: pd.DataFrame = lydiard.pmc(pd.Series([1.0]), ctl_days=42.0)\n", encoding="utf-8")
    options = ["--strict", "--no-incremental", "--cache-dir", str(tmp_path / ".mypy_cache"),
               "--follow-imports", "silent"]
    out, _err, status = api.run([*options, str(bad)])
    assert status == 1, out
    assert "bogus" in out or "Too many positional arguments" in out, out
    out, _err, status = api.run([*options, str(good)])
    assert status == 0, out
