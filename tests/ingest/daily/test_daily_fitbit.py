"""Fitbit account exports: resting HR, sleep, sleep score, exercise."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lydiard.errors import CorruptFileError, EmptyFileError, UnsupportedFormatError
from lydiard.ingest.daily.fitbit import (
    efficiency_to_5,
    read_fitbit_exercise,
    read_fitbit_folder,
    read_fitbit_resting_hr,
    read_fitbit_sleep,
    read_fitbit_sleep_score,
    sleep_score_to_5,
)

TZ = "Europe/Oslo"
FIRST, LAST = date(2019, 10, 31), date(2020, 3, 31)


def fitbit_folders(pmdata_dir: Path) -> list[Path]:
    found = sorted(p / "fitbit" for p in pmdata_dir.glob("p0*") if (p / "fitbit").is_dir())
    assert found
    return found


@pytest.mark.pmdata
def test_pmdata_files(pmdata_dir: Path) -> None:
    for folder in fitbit_folders(pmdata_dir):
        rhr_path = folder / "resting_heart_rate.json"
        if rhr_path.is_file():
            raw = json.loads(rhr_path.read_text())
            nonzero_days = {e["dateTime"][:10] for e in raw if e["value"]["value"] > 0}
            obs = read_fitbit_resting_hr(str(rhr_path), rhr_path.read_bytes(), tz=TZ).observations
            assert {o.day.isoformat() for o in obs} == nonzero_days
            assert all(30 <= (o.rhr_bpm or 0) <= 100 for o in obs)
        sleep_path = folder / "sleep.json"
        if sleep_path.is_file():
            raw = json.loads(sleep_path.read_text())
            main_days = {e["dateOfSleep"] for e in raw if e["mainSleep"]}
            obs = read_fitbit_sleep(str(sleep_path), sleep_path.read_bytes(), tz=TZ).observations
            assert {o.day.isoformat() for o in obs} == main_days
            assert all(0 < (o.sleep_h or 0) < 16 for o in obs)
            assert all(1 <= (o.sleep_quality or 0) <= 5 for o in obs)
        score_path = folder / "sleep_score.csv"
        if score_path.is_file():
            obs = read_fitbit_sleep_score(str(score_path), score_path.read_bytes(),
                                          tz=TZ).observations
            assert obs and all(1 <= (o.sleep_quality or 0) <= 5 for o in obs)
            assert all(FIRST <= o.day <= LAST for o in obs)
        exercise_path = folder / "exercise.json"
        if exercise_path.is_file():
            raw = json.loads(exercise_path.read_text())
            sessions = read_fitbit_exercise(str(exercise_path), exercise_path.read_bytes(),
                                            tz=TZ).sessions
            assert len(sessions) == len({e["logId"] for e in raw})
            for s in sessions:
                assert s.started_at is not None and s.started_at.tzinfo is not None
                assert 0 < s.duration_s < 24 * 3600
                assert s.avg_hr_bpm is None or 40 <= s.avg_hr_bpm <= 220
                assert s.distance_m is None or 0 < s.distance_m < 300_000
                assert FIRST <= s.day <= LAST


@pytest.mark.pmdata
def test_pmdata_folder_merge(pmdata_dir: Path) -> None:
    result = read_fitbit_folder(pmdata_dir / "p01", tz=TZ)
    days = [o.day for o in result.observations]
    assert days == sorted(set(days)) and len(days) > 100
    first_walk = next(s for s in result.sessions if s.external_id == "fitbit:26451905128")
    # "2019-11-01 14:56:32" on the wall clock in Oslo (UTC+1 in November)
    assert first_walk.started_at == datetime(2019, 11, 1, 13, 56, 32, tzinfo=UTC)
    assert first_walk.sport == "walk" and first_walk.avg_hr_bpm == 94
    assert first_walk.duration_s == 1331.0


def _sleep(
    log_id: int, day: str, minutes: int, *, main: bool = True, eff: int = 90
) -> dict[str, object]:
    return {"logId": log_id, "dateOfSleep": day, "startTime": f"{day} 00:00:00",
            "endTime": f"{day}T08:00:00.000", "minutesAsleep": minutes, "efficiency": eff,
            "mainSleep": main, "type": "stages"}


def test_sleep_main_sleep_duplicates_and_naps() -> None:
    logs = [_sleep(1, "2020-01-02", 420), _sleep(1, "2020-01-02", 420),
            _sleep(2, "2020-01-02", 60, main=False), _sleep(3, "2020-01-03", 300, eff=70),
            _sleep(4, "2020-01-03", 360, eff=100)]
    obs = read_fitbit_sleep("sleep.json", json.dumps(logs).encode(), tz=TZ).observations
    assert [(o.day, o.sleep_h, o.sleep_quality) for o in obs] == [
        (date(2020, 1, 2), 7.0, efficiency_to_5(90)),
        (date(2020, 1, 3), 6.0, 5.0),
    ]


def test_scale_helpers() -> None:
    assert efficiency_to_5(60) == 1 and efficiency_to_5(85) == 3 and efficiency_to_5(100) == 5
    assert sleep_score_to_5(0) == 1 and sleep_score_to_5(80) == 4 and sleep_score_to_5(100) == 5
    values = [sleep_score_to_5(s) for s in range(0, 101, 5)]
    assert values == sorted(values)


def test_sleep_score_and_rhr_precedence(tmp_path: Path) -> None:
    folder = tmp_path / "MyFitbitData" / "Anna"
    (folder / "Sleep").mkdir(parents=True)
    (folder / "Physical Activity").mkdir()
    (folder / "Sleep" / "sleep_score.csv").write_text(
        "timestamp,sleep_log_entry_id,overall_score,composition_score,revitalization_score,"
        "duration_score,deep_sleep_in_minutes,resting_heart_rate,restlessness\n"
        "2020-01-02T07:19:30Z,1,80,20,20,40,60,55,0.05\n"
        "2020-01-03T07:19:30Z,2,90,20,20,40,60,56,0.05\n")
    (folder / "Sleep" / "sleep-2020-01-01.json").write_text(json.dumps(
        [_sleep(1, "2020-01-02", 420, eff=80), _sleep(2, "2020-01-03", 400, eff=80)]))
    (folder / "Physical Activity" / "resting_heart_rate-2020-01-01.json").write_text(json.dumps([
        {"dateTime": "2020-01-02 00:00:00", "value": {"date": "01/02/20", "value": 50.04,
                                                       "error": 6}},
        {"dateTime": "2020-01-03 00:00:00", "value": {"date": "01/03/20", "value": 0.0,
                                                       "error": 0}},
    ]))
    (folder / "Physical Activity" / "exercise-0.json").write_text(json.dumps([
        {"logId": 7, "activityName": "Treadmill", "startTime": "2020-07-01 06:00:00",
         "duration": 1800000, "activeDuration": 1700000, "averageHeartRate": 150,
         "distance": 5.0, "distanceUnit": "Kilometer"},
        {"logId": 7, "activityName": "Treadmill", "startTime": "2020-07-01 06:00:00",
         "duration": 1800000},
    ]))
    (folder / "Sleep" / "notes.txt").write_text("not an export file")
    result = read_fitbit_folder(tmp_path / "MyFitbitData", tz=TZ)
    jan2, jan3 = result.observations
    assert (jan2.sleep_h, jan2.sleep_quality, jan2.rhr_bpm) == (7.0, 4.0, 50.0)
    assert (jan3.sleep_quality, jan3.rhr_bpm) == (4.5, 56.0)  # sleep score's RHR fills the gap
    (run,) = result.sessions
    assert run.sport == "run" and run.duration_s == 1700 and run.distance_m == 5000
    assert run.started_at == datetime(2020, 7, 1, 4, 0, tzinfo=UTC)  # CEST = UTC+2


def test_errors(tmp_path: Path) -> None:
    with pytest.raises(CorruptFileError):
        read_fitbit_sleep("sleep.json", b"[{\"logId\": 1,", tz=TZ)
    with pytest.raises(UnsupportedFormatError):
        read_fitbit_sleep("sleep.json", b"{\"a\": 1}", tz=TZ)
    with pytest.raises(UnsupportedFormatError):
        read_fitbit_exercise("exercise.json", b"[{\"a\": 1}]", tz=TZ)
    with pytest.raises(UnsupportedFormatError):
        read_fitbit_sleep_score("sleep_score.csv", b"a,b\n1,2\n", tz=TZ)
    with pytest.raises(EmptyFileError):
        read_fitbit_folder(tmp_path, tz=TZ)
