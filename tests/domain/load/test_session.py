from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lydiard.domain.activity import empty_records
from lydiard.domain.load.power import normalized_power, power_tss
from lydiard.domain.load.session import (
    DEFAULT_TSS_PER_HOUR,
    SessionMetrics,
    Thresholds,
    estimate_thresholds,
    session_metrics,
)
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS
from lydiard.domain.load.trimp import hr_tss, trimp_banister
from lydiard.errors import InvalidInputError

START = pd.Timestamp("2024-05-01 07:00", tz="UTC")
FULL = Thresholds(
    hr_rest_bpm=50, hr_max_bpm=190, lthr_bpm=165, ftp_w=250, threshold_speed_mps=4.0, sex="male"
)


def _records(n: int, **channels: np.ndarray | float) -> pd.DataFrame:
    frame = pd.DataFrame({"time": START + pd.to_timedelta(np.arange(n), unit="s")})
    for name, values in channels.items():
        frame[name] = np.broadcast_to(np.asarray(values, dtype=np.float64), (n,)).copy()
    return frame


def test_ride_with_power_uses_power_tss() -> None:
    records = _records(3600, power_w=250.0, hr_bpm=150.0, speed_mps=9.0)
    before = records.copy()
    metrics = session_metrics(records, sport="ride", thresholds=FULL)
    pd.testing.assert_frame_equal(records, before)  # input not mutated
    assert metrics.load_source == "power_tss"
    assert metrics.load_au == pytest.approx(100.0)
    assert metrics.np_w == pytest.approx(250.0)
    assert metrics.duration_s == 3600
    assert metrics.moving_time_s == 3600
    assert metrics.distance_m == pytest.approx(9 * 3600)
    assert metrics.time_in_power_zones_s is not None and metrics.time_in_power_zones_s[3] == 3600
    assert metrics.efficiency_factor == pytest.approx(250 / 150)
    assert metrics.decoupling_pct == pytest.approx(0.0)
    assert metrics.mmp_power_w is not None and metrics.mmp_power_w[1200] == pytest.approx(250.0)


def test_run_uses_running_tss_and_hr_fallback() -> None:
    records = _records(1800, speed_mps=4.0, hr_bpm=165.0, altitude_m=100.0)
    records["distance_m"] = np.arange(1800) * 4.0
    run = session_metrics(records, sport="run", thresholds=FULL)
    assert run.load_source == "running_tss"
    assert run.load_au == pytest.approx(50.0)
    assert run.ngs_mps == pytest.approx(4.0)
    no_pace = session_metrics(
        records, sport="run", thresholds=Thresholds(hr_rest_bpm=50, hr_max_bpm=190, lthr_bpm=165)
    )
    assert no_pace.load_source == "hr_tss"
    assert no_pace.load_au == pytest.approx(50.0)  # 30 min at LTHR


def test_strength_rpe_only_counts_and_is_not_doubled() -> None:
    logged = session_metrics(
        empty_records(), sport="strength", thresholds=FULL, duration_s=3600, rpe=7
    )
    assert logged.load_source == "srpe"
    assert logged.load_au == pytest.approx(7 * 60 / SRPE_AU_PER_TSS)
    # the same session with an HR file (low HR): sRPE still wins, one number only
    with_hr = session_metrics(
        _records(3600, hr_bpm=100.0), sport="strength", thresholds=FULL, rpe=7
    )
    assert with_hr.load_source == "srpe"
    assert with_hr.load_au == pytest.approx(logged.load_au)
    assert with_hr.hr_tss is not None and with_hr.hr_tss < 0.25 * logged.load_au  # HR alone
    # no RPE: per-sport default, never the tiny HR-based number
    default = session_metrics(_records(3600, hr_bpm=100.0), sport="strength", thresholds=FULL)
    assert default.load_source == "duration_default"
    assert default.load_au == pytest.approx(DEFAULT_TSS_PER_HOUR["strength"])


def test_fallbacks_and_validation() -> None:
    swim = session_metrics(empty_records(), sport="swim", thresholds=Thresholds(), duration_s=1800)
    assert swim.load_source == "duration_default"
    assert swim.load_au == pytest.approx(DEFAULT_TSS_PER_HOUR["swim"] / 2)
    with pytest.raises(InvalidInputError):
        session_metrics(empty_records(), sport="swim", thresholds=Thresholds())
    with pytest.raises(InvalidInputError):
        session_metrics(empty_records(), sport="run", thresholds=FULL, duration_s=60, rpe=12)


def test_elevation_gain_ignores_noise_and_pauses_are_not_moving() -> None:
    rng = np.random.default_rng(8)
    t = np.arange(3600.0)
    altitude = 100 + 50 * (t / 3600) + rng.normal(0, 0.4, t.size)  # 50 m climb + noise
    records = _records(3600, altitude_m=altitude, speed_mps=np.where(t < 3000, 3.0, 0.0))
    metrics = session_metrics(records, sport="run", thresholds=Thresholds())
    assert metrics.elevation_gain_m == pytest.approx(50.0, abs=5.0)
    assert metrics.moving_time_s == 3000


def test_estimate_thresholds_flags_estimated_fields() -> None:
    rng = np.random.default_rng(9)
    hr = 150 + rng.normal(0, 2, 4000)
    hr[1000] = 188
    power = np.full(4000, 280.0)
    ride = session_metrics(
        _records(4000, hr_bpm=hr, power_w=power), sport="ride", thresholds=Thresholds()
    )
    assert isinstance(ride, SessionMetrics)
    estimate = estimate_thresholds(
        [ride], known=Thresholds(sex="female"), resting_hr_bpm=[48, 52, 50]
    )
    th = estimate.thresholds
    assert th.hr_max_bpm == pytest.approx(188.0)
    assert th.ftp_w == pytest.approx(0.95 * 280)
    assert th.hr_rest_bpm == 50
    assert th.lthr_bpm is not None and 0.85 * 188 <= th.lthr_bpm <= 188
    assert estimate.estimated == {
        "hr_rest_bpm": True,
        "hr_max_bpm": True,
        "lthr_bpm": True,
        "ftp_w": True,
        "threshold_speed_mps": False,
        "sex": False,
    }
    kept = estimate_thresholds([ride], known=Thresholds(ftp_w=300)).thresholds
    assert kept.ftp_w == 300


def _read_fit(path: Path) -> pd.DataFrame:
    fitdecode = pytest.importorskip("fitdecode")
    rows = []
    with fitdecode.FitReader(str(path)) as reader:
        for frame in reader:
            if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                if not frame.has_field("timestamp"):
                    continue
                rows.append(
                    tuple(
                        frame.get_value(f) if frame.has_field(f) else None
                        for f in ("timestamp", "power", "heart_rate")
                    )
                )
    frame = pd.DataFrame(rows, columns=["time", "power_w", "hr_bpm"])
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    for column in ("power_w", "hr_bpm"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "sample-activity-indoor-trainer.fit",
        "Edge810-Vector-2013-08-16-15-35-10.fit",
        "developer-types-sample.fit",
    ],
)
def test_real_rides_against_independent_computation(corpus_dir: Path, name: str) -> None:
    path = corpus_dir / "python-fitparse" / "tests" / "files" / name
    if not path.exists():
        pytest.skip(f"{name} not in the corpus")
    records = _read_fit(path)
    # independent: hold each sample to the next second with pandas, then the textbook recipe
    per_second = records.set_index("time").resample("1s").ffill()
    power = per_second["power_w"].fillna(0.0)
    np_expected = float((power.rolling(30).mean().dropna() ** 4).mean() ** 0.25)
    duration_s = float(len(per_second))
    hr = per_second["hr_bpm"].dropna()
    x = ((hr - 50) / (190 - 50)).clip(0, 1)
    trimp_expected = float((x * 0.64 * np.exp(1.92 * x)).sum() / 60)

    metrics = session_metrics(records, sport="ride", thresholds=FULL)
    assert metrics.np_w == pytest.approx(np_expected, rel=1e-9)
    assert metrics.power_tss == pytest.approx(
        duration_s * np_expected * (np_expected / 250) / (250 * 3600) * 100, rel=1e-9
    )
    assert metrics.trimp_banister == pytest.approx(trimp_expected, rel=1e-9)
    assert normalized_power(records["power_w"], time=records["time"]) == pytest.approx(
        np_expected, rel=1e-9
    )
    assert trimp_banister(hr_bpm=hr.to_numpy(), hr_rest_bpm=50, hr_max_bpm=190) == pytest.approx(
        trimp_expected
    )
    assert metrics.hr_tss == pytest.approx(
        hr_tss(hr_bpm=hr.to_numpy(), hr_rest_bpm=50, hr_max_bpm=190, lthr_bpm=165), rel=1e-9
    )
    assert power_tss(duration_s=duration_s, np_w=np_expected, ftp_w=250) == pytest.approx(
        metrics.power_tss
    )
