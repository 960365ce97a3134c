"""HRV4Training and Elite HRV daily-measure exports."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lydiard.errors import UnsupportedFormatError
from lydiard.ingest.daily.hrvapps import read_elite_hrv, read_hrv4training, read_hrv_app_export

TZ = "Europe/Rome"
EXPECTED_FIRST_DAY = {
    "2017_7_28_myMeasurements.csv": date(2017, 4, 1),
    "2018_7_8_myMeasurements.csv": date(2018, 5, 18),
    "ElitHRV_Export - 2017-10-02.csv": date(2017, 9, 6),
    "MyMeasurements_Android.csv": date(2017, 8, 29),
    "MyMeasurements_Android_1.csv": date(2017, 7, 27),  # written 2017-27-07 (YYYY-DD-MM)
    "MyMeasurements_Android_2.csv": date(2017, 8, 8),  # rows before: training only
}


@pytest.fixture(scope="module")
def hrvmeasures(corpus_dir: Path) -> Path:
    folder = corpus_dir / "GoldenCheetah" / "test" / "hrvmeasures"
    if not folder.is_dir():
        pytest.skip(f"{folder} not found")
    return folder


@pytest.mark.corpus
@pytest.mark.parametrize("filename", sorted(EXPECTED_FIRST_DAY))
def test_every_corpus_export_imports(hrvmeasures: Path, filename: str) -> None:
    path = hrvmeasures / filename
    result = read_hrv_app_export(filename, path.read_bytes(), tz=TZ)
    obs = result.observations
    measured = [o for o in obs if o.rmssd_ms is not None]
    assert len(measured) >= 20
    assert all(10 <= o.rmssd_ms <= 250 for o in measured)  # type: ignore[operator]
    assert all(o.hrv_kind == "morning" for o in measured)
    assert all(o.rhr_bpm is None or 30 <= o.rhr_bpm <= 100 for o in obs)
    days = [o.day for o in obs]
    assert days == sorted(set(days))  # one per day, in order
    assert days[0] == EXPECTED_FIRST_DAY[filename]
    assert all(date(2017, 1, 1) <= d <= date(2018, 12, 31) for d in days)
    assert (days[-1] - days[0]).days < 130  # no month/day swap scattering the dates
    for o in obs:
        for item in (o.energy, o.soreness, o.sleep_quality, o.motivation):
            assert item is None or 1 <= item <= 5
        assert o.readiness is None or 0 <= o.readiness <= 10
        assert o.sleep_h is None or 0 < o.sleep_h < 16


@pytest.mark.corpus
def test_known_values(hrvmeasures: Path) -> None:
    elite = read_hrv_app_export("e.csv", (hrvmeasures / "ElitHRV_Export - 2017-10-02.csv")
                                .read_bytes(), tz=TZ).observations
    assert (elite[0].rmssd_ms, elite[0].rhr_bpm, elite[0].readiness) == (40.87, 50.5, None)
    assert (elite[1].rmssd_ms, elite[1].readiness) == (28.03, 6.0)
    ios = read_hrv_app_export("i.csv", (hrvmeasures / "2018_7_8_myMeasurements.csv")
                              .read_bytes(), tz=TZ).observations
    sick = next(o for o in ios if o.day == date(2018, 6, 21))
    assert sick.illness is True and sick.rmssd_ms == 16.3
    assert sick.sleep_h == pytest.approx(8 + 12 / 60, abs=1e-3)


def test_hrv4training_synthetic_mapping() -> None:
    data = (
        b"date, time, HR,AVNN,SDNN,rMSSD,pNN50,LF,HF,HRV4T_Recovery_Points,physical_condition,"
        b"trainingMotivation,sleep_quality,sleep_time,mental_energy,muscle_soreness,fatigue,"
        b"traveling,sickness\n"
        b"2020-05-01,07:01,50.0,1200,80,70.5,40,0.1,0.1,8.5,8,10,0,07:30,,5,,traveling,not sick\n"
        b"2020-05-02,01:00,0.0,0.0,0.0,0.0,0.0,0.0,0.0,,,,,,,,,not traveling,not sick\n"
        b"2020-05-03,06:55,52.0,1150,60,55.0,30,0.1,0.1,8.0,,,,,,,10,,sick\n"
    )
    result = read_hrv4training("MyMeasurements.csv", data, tz=TZ)
    first, third = result.observations
    assert first.day == date(2020, 5, 1) and third.day == date(2020, 5, 3)
    assert (first.rmssd_ms, first.rhr_bpm, first.readiness) == (70.5, 50.0, 8.0)
    assert (first.motivation, first.sleep_quality, first.soreness) == (5.0, 1.0, 3.0)
    assert first.sleep_h == 7.5 and first.travel is True and first.illness is False
    assert third.energy == 5.0 and third.illness is True
    assert any("1 rows without a measurement" in w for w in result.warnings)


def test_elite_hrv_skips_other_reading_types() -> None:
    data = (
        b"Member,Date,Datetime,Type,HRV,lnRmssd,Rmssd,Nn50,Pnn50,Sdnn,Score,Indication,Balance,"
        b"Rolling Avg HRV,HRV CV,HR,Rolling Avg HR\n"
        b"A,2020-01-02,2020-01-02 06:00:00,readiness,60,4.0,54.6,1,1,60,7,G,S,60,0,55,55\n"
        b"A,2020-01-02,2020-01-02 18:00:00,open,50,3.5,33.1,1,1,40,,,,60,0,70,55\n"
    )
    result = read_elite_hrv("elite.csv", data, tz=TZ)
    (obs,) = result.observations
    assert (obs.day, obs.rmssd_ms, obs.readiness, obs.rhr_bpm) == (date(2020, 1, 2), 54.6, 7.0, 55.0)
    assert any("'open'" in w for w in result.warnings)


def test_not_an_app_export() -> None:
    with pytest.raises(UnsupportedFormatError):
        read_hrv_app_export("x.csv", b"a,b,c\n1,2,3\n", tz=TZ)
    with pytest.raises(UnsupportedFormatError):
        read_hrv4training("x.csv", b"Member,Date,lnRmssd,Rmssd\nA,2020-01-01,3,20\n", tz=TZ)
