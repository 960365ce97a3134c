"""Session-RPE training logs."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from lydiard.errors import InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily.srpe_log import parse_duration_s, read_srpe_log

TZ = "Europe/Oslo"


def log(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_lenient_headers_and_durations() -> None:
    result = read_srpe_log("log.csv", log(
        "Date,Start,Activity,Duration,RPE,Title,Avg HR,Distance (km)",
        "2024-05-01,06:30,Running,0:45:30,6,Easy run,142,8.2",
        "2024-05-01,18:00,Gym,1:00,7,,,",
        "2024-05-02,,Cycling,90,4,,,",
    ), tz=TZ)
    run, gym, ride = result.sessions
    assert run.sport == "run" and run.duration_s == 2730 and run.rpe == 6
    assert run.started_at == datetime(2024, 5, 1, 4, 30, tzinfo=UTC)  # CEST
    assert (run.name, run.avg_hr_bpm, run.distance_m) == ("Easy run", 142, 8200)
    assert gym.sport == "strength" and gym.duration_s == 3600 and gym.name == "Gym"
    assert ride.sport == "ride" and ride.duration_s == 5400 and ride.started_at is None
    assert ride.day == date(2024, 5, 2)
    assert len({s.external_id for s in result.sessions}) == 3


def test_datetime_column_and_session_load() -> None:
    (session,) = read_srpe_log("log.csv", log(
        "start;sport;duration_min;srpe",
        "2024-05-01T23:30:00Z;swim;40;200",
    ), tz=TZ).sessions
    assert session.day == date(2024, 5, 2)  # 01:30 in Oslo
    assert session.rpe == 5.0  # 200 AU / 40 min
    assert session.sport == "swim"


def test_seconds_and_hours_columns() -> None:
    sessions = read_srpe_log("log.csv", log(
        "day,type,duration_s,session_rpe", "2024-05-01,row,1800,3",
    ), tz=TZ).sessions
    assert sessions[0].duration_s == 1800 and sessions[0].sport == "row"
    sessions = read_srpe_log("log.csv", log(
        "day,type,hours,rpe", "2024-05-01,hike,2.5,3",
    ), tz=TZ).sessions
    assert sessions[0].duration_s == 9000


def test_parse_duration() -> None:
    assert parse_duration_s("1:02:03", unit="min") == 3723
    assert parse_duration_s("1:30", unit="min") == 5400
    assert parse_duration_s("45", unit="min") == 2700
    assert parse_duration_s("45,5", unit="min") == 2730
    assert parse_duration_s("soon", unit="min") is None


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ("2024-05-01,run,45,11", "outside Borg CR-10"),
        ("2024-05-01,run,abc,5", "not a duration"),
        ("2024-05-01,run,0,5", "between 0 and 24 h"),
        ("2024-05-01,run,30:00:00,5", "between 0 and 24 h"),
        ("yesterday,run,45,5", "not a date"),
    ],
)
def test_row_errors(row: str, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match) as info:
        read_srpe_log("log.csv", log("date,sport,duration,rpe", "2024-04-30,run,30,4", row),
                      tz=TZ)
    assert "line 3" in str(info.value)


def test_structure_errors() -> None:
    with pytest.raises(UnsupportedFormatError, match="no date column"):
        read_srpe_log("l.csv", log("sport,duration,rpe", "run,30,4"), tz=TZ)
    with pytest.raises(UnsupportedFormatError, match="no duration column"):
        read_srpe_log("l.csv", log("date,sport,rpe", "2024-05-01,run,4"), tz=TZ)
    with pytest.raises(UnsupportedFormatError, match="no RPE column"):
        read_srpe_log("l.csv", log("date,sport,duration", "2024-05-01,run,4"), tz=TZ)
    with pytest.raises(InvalidInputError, match="no sessions"):
        read_srpe_log("l.csv", log("date,sport,duration,rpe"), tz=TZ)
    with pytest.raises(InvalidInputError, match="after"):
        read_srpe_log("l.csv", log("date,sport,duration,rpe", "2099-01-01,run,4,4"), tz=TZ,
                      max_day=date(2024, 1, 1))
