"""Recognising daily-data files and folders."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from test_daily_apple_health import sample_export
from test_daily_pmsys import WELLNESS
from test_daily_rr import plain, synthetic_rr

from lydiard.errors import EmptyFileError, UnsupportedFormatError
from lydiard.ingest.daily import read_daily_folder, read_daily_source

TZ = "Europe/Oslo"

HRV4T = (b"timestamp_measurement,HR,AVNN,SDNN,rMSSD,pNN50,LF,HF,HRV4T_Recovery_Points\n"
         b"2017-04-01 09:56:21 +0000,43.92,1364.75,84.05,67.54,40.48,0.0418,0.0339,8.37\n")
ELITE = (b"\xef\xbb\xbfMember,Date,Datetime,Type,HRV,lnRmssd,Rmssd,Nn50,Pnn50,Sdnn,Score,"
         b"Indication,Balance,Rolling Avg HRV,HRV CV,HR,Rolling Avg HR\n"
         b"M,2017-09-06,2017-09-06 06:23:22,readiness,57,3.71,40.87,32,21.33,61.9,,,,57,0,50,50\n")
SRPE = (b"end_date_time,activity_names,perceived_exertion,duration_min\n"
        b"2019-11-05T22:51:54.710Z,\"['individual', 'running']\",7,30\n")
INJURY = b"effective_time_frame,injuries\n2019-11-07T06:39:48.428Z,{}\n"
SLEEP_SCORE = (b"timestamp,sleep_log_entry_id,overall_score,composition_score,"
               b"revitalization_score,duration_score,deep_sleep_in_minutes,resting_heart_rate,"
               b"restlessness\n2019-11-01T06:29:30Z,24472394143,76,18,20,38,27,53,0.05\n")
SLEEP = json.dumps([{"logId": 1, "dateOfSleep": "2019-11-02", "minutesAsleep": 378,
                     "efficiency": 97, "mainSleep": True}]).encode()
RHR = json.dumps([{"dateTime": "2019-11-01 00:00:00",
                   "value": {"date": "11/01/19", "value": 53.7, "error": 6.8}}]).encode()
EXERCISE = json.dumps([{"logId": 5, "activityName": "Run", "startTime": "2019-11-01 14:56:32",
                        "duration": 1331000, "averageHeartRate": 150}]).encode()
DAILY = b"day,rmssd_ms,energy\n2024-03-01,60,4\n"
SRPE_LOG = b"date,sport,duration,rpe\n2024-03-01,run,45,5\n"


@pytest.mark.parametrize(
    ("name", "data", "expected_source", "n_obs", "n_sessions"),
    [
        ("MyMeasurements.csv", HRV4T, "hrv4training", 1, 0),
        ("export.csv", ELITE, "elite-hrv", 1, 0),
        ("wellness.csv", WELLNESS.encode(), "pmsys", 2, 0),
        ("srpe.csv", SRPE, "pmsys", 0, 1),
        ("injury.csv", INJURY, "pmsys", 1, 0),
        ("sleep_score.csv", SLEEP_SCORE, "fitbit", 1, 0),
        ("sleep.json", SLEEP, "fitbit", 1, 0),
        ("resting_heart_rate.json", RHR, "fitbit", 1, 0),
        ("exercise.json", EXERCISE, "fitbit", 0, 1),
        ("daily.csv", DAILY, "csv", 1, 0),
        ("training.csv", SRPE_LOG, "srpe-log", 0, 1),
        ("export.xml", sample_export(), "apple-health", 2, 2),
        ("2024-05-01 06-30-00.txt", plain(synthetic_rr()), "rr-file", 1, 0),
        ("Polar.txt", b"Phone timestamp;RR-interval [ms]\n"
         + b"".join(b"2024-05-01T06:30:00;%d\n" % x for x in synthetic_rr()), "rr-file", 1, 0),
    ],
)
def test_formats_are_recognised(name: str, data: bytes, expected_source: str, n_obs: int,
                                n_sessions: int) -> None:
    result = read_daily_source(name, data, tz=TZ)
    assert len(result.observations) == n_obs
    assert len(result.sessions) == n_sessions
    sources = {o.source for o in result.observations} | {s.source for s in result.sessions}
    assert sources == {expected_source}


def test_rr_with_many_artefacts_warns() -> None:
    rr = synthetic_rr()
    rr[::12] *= 1.6
    result = read_daily_source("2024-05-01.txt", plain(rr), tz=TZ)
    assert result.observations[0].day == date(2024, 5, 1)
    assert any("beats corrected" in w for w in result.warnings)


@pytest.mark.parametrize(
    ("name", "data", "error"),
    [
        ("x.csv", b"", EmptyFileError),
        ("x.gpx", b"<?xml version='1.0'?><gpx/>", UnsupportedFormatError),
        ("x.json", b"{\"hello\": 1}", UnsupportedFormatError),
        ("x.json", b"[{\"dateTime\": \"2019-11-01\", \"value\": {\"value\": 3}}]",
         UnsupportedFormatError),
        ("x.csv", b"name,city\nAnna,Oslo\n", UnsupportedFormatError),
        ("x.bin", b"\x00\x01\x02\x03", UnsupportedFormatError),
    ],
)
def test_unsupported(name: str, data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        read_daily_source(name, data, tz=TZ)


@pytest.mark.pmdata
def test_pmdata_participant_folder(pmdata_dir: Path) -> None:
    result = read_daily_folder(pmdata_dir / "p01", tz=TZ)
    sources = {o.source for o in result.observations}
    assert sources == {"pmsys", "fitbit"}
    keys = [(o.day, o.source) for o in result.observations]
    assert keys == sorted(set(keys))
    assert {s.source for s in result.sessions} == {"pmsys", "fitbit"}
    assert all(date(2019, 10, 31) <= o.day <= date(2020, 3, 31) for o in result.observations)


def test_synthetic_folders(tmp_path: Path) -> None:
    fitbit = tmp_path / "fitbit_export"
    fitbit.mkdir()
    (fitbit / "sleep-2019-11-01.json").write_bytes(SLEEP)
    (fitbit / "resting_heart_rate-2019-11-01.json").write_bytes(RHR)
    assert len(read_daily_folder(fitbit, tz=TZ).observations) == 2

    apple = tmp_path / "apple_health_export"
    apple.mkdir()
    (apple / "export.xml").write_bytes(sample_export())
    assert len(read_daily_folder(tmp_path, tz=TZ).sessions) == 2

    with pytest.raises(UnsupportedFormatError):
        read_daily_folder(tmp_path / "fitbit_export" / "sleep-2019-11-01.json", tz=TZ)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnsupportedFormatError):
        read_daily_folder(empty, tz=TZ)
