"""PMSys wellness, sRPE and injury exports (PMData participants and synthetic files)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from lydiard.errors import EmptyFileError, InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily.pmsys import (
    pmsys_sport,
    read_pmsys_folder,
    read_pmsys_injury,
    read_pmsys_srpe,
    read_pmsys_wellness,
)

TZ = "Europe/Oslo"
FIRST, LAST = date(2019, 11, 1), date(2020, 3, 31)
ITEMS = ("energy", "mood", "sleep_quality", "soreness", "stress")


def participants(pmdata_dir: Path) -> list[Path]:
    found = sorted(p for p in pmdata_dir.glob("p*") if (p / "pmsys").is_dir())
    assert found, "no participants"
    return found


@pytest.mark.pmdata
def test_wellness_every_participant(pmdata_dir: Path) -> None:
    for folder in participants(pmdata_dir):
        path = folder / "pmsys" / "wellness.csv"
        frame = pd.read_csv(path)
        answers = frame[["fatigue", "mood", "readiness", "sleep_duration_h", "sleep_quality",
                         "soreness", "stress"]]
        empty_rows = int((answers == 0).all(axis=1).sum())
        result = read_pmsys_wellness(str(path), path.read_bytes(), tz=TZ)
        obs = result.observations
        assert len(obs) == len(frame) - empty_rows, folder.name
        assert bool(result.warnings) == bool(empty_rows)
        for o in obs:
            assert FIRST <= o.day <= LAST
            assert o.source == "pmsys"
            for item in ITEMS:
                value = getattr(o, item)
                assert value is None or 1 <= value <= 5
            assert o.readiness is None or 1 <= o.readiness <= 10
            assert o.sleep_h is None or 0 < o.sleep_h <= 24
        # fatigue is energy, same values as the file (0 -> None)
        expected = [None if v == 0 else float(v)
                    for v, empty in zip(frame["fatigue"], (answers == 0).all(axis=1), strict=True)
                    if not empty]
        assert [o.energy for o in obs] == expected


@pytest.mark.pmdata
def test_srpe_every_participant(pmdata_dir: Path) -> None:
    for folder in participants(pmdata_dir):
        path = folder / "pmsys" / "srpe.csv"
        frame = pd.read_csv(path)
        sessions = read_pmsys_srpe(str(path), path.read_bytes(), tz=TZ).sessions
        assert len(sessions) == len(frame), folder.name
        ends = pd.to_datetime(frame["end_date_time"], utc=True)
        for session, end, minutes in zip(sessions, ends, frame["duration_min"], strict=True):
            assert session.started_at is not None
            assert session.started_at + timedelta(minutes=float(minutes)) == end.to_pydatetime()
            assert session.duration_s == minutes * 60
            assert session.rpe is not None and 0 <= session.rpe <= 10
            assert FIRST - timedelta(days=1) <= session.day <= LAST
            assert session.sport in {"run", "strength", "other", "ride", "swim", "walk"}


@pytest.mark.pmdata
def test_injury_and_folder(pmdata_dir: Path) -> None:
    for folder in participants(pmdata_dir):
        path = folder / "pmsys" / "injury.csv"
        merged = read_pmsys_folder(folder, tz=TZ)
        days = [o.day for o in merged.observations]
        assert days == sorted(set(days))
        if not path.is_file():
            continue  # p08 has no injury reports
        frame = pd.read_csv(path)
        injuries = read_pmsys_injury(str(path), path.read_bytes(), tz=TZ).observations
        injured_days = {o.day for o in injuries if o.injury}
        assert len(injured_days) <= int((frame["injuries"] != "{}").sum())
        for o in injuries:
            assert o.injury is not None
            assert (o.note is not None) == o.injury
        merged_injured = {o.day for o in merged.observations if o.injury}
        assert injured_days <= merged_injured


WELLNESS = (
    "effective_time_frame,fatigue,mood,readiness,sleep_duration_h,sleep_quality,soreness,"
    "soreness_area,stress\n"
    "2019-11-01T06:31:40.751Z,2,3,5,6,3,2,[12921003],3\n"
    "2019-11-01T23:30:00.000Z,0,4,0,0,5,1,\"[1, 2]\",0\n"
    "2019-11-03T07:00:00.000Z,0,0,0,0,0,0,[],0\n"
)


def test_wellness_synthetic() -> None:
    result = read_pmsys_wellness("wellness.csv", WELLNESS.encode(), tz=TZ)
    first, second = result.observations
    assert first.day == date(2019, 11, 1)
    assert (first.energy, first.mood, first.readiness, first.sleep_h) == (2, 3, 5, 6)
    assert second.day == date(2019, 11, 2)  # 23:30 UTC is 00:30 in Oslo
    assert (second.energy, second.readiness, second.sleep_h, second.stress) == (None,) * 4
    assert second.sleep_quality == 5 and second.soreness == 1
    assert "1 empty check-ins" in result.warnings[0]


def test_wellness_out_of_scale_names_line_and_column() -> None:
    bad = WELLNESS.replace(",3,2,[12921003],3", ",7,2,[12921003],3")
    with pytest.raises(InvalidInputError) as info:
        read_pmsys_wellness("wellness.csv", bad.encode(), tz=TZ)
    assert info.value.field == "sleep_quality"
    assert "line 2" in str(info.value) and "sleep_quality" in str(info.value)


def test_srpe_synthetic() -> None:
    data = (
        b"end_date_time,activity_names,perceived_exertion,duration_min\n"
        b"2019-11-05T22:51:54.710Z,\"['individual', 'running']\",7,30\n"
        b"2019-11-14T21:00:53.000Z,\"['team', 'soccer']\",7,60\n"
        b"2019-11-18T00:10:00.000Z,\"['individual', 'endurance', 'running']\",4,20\n"
    )
    run, soccer, late = read_pmsys_srpe("srpe.csv", data, tz=TZ).sessions
    assert run.sport == "run" and run.rpe == 7 and run.duration_s == 1800
    assert run.started_at == datetime(2019, 11, 5, 22, 21, 54, 710000, tzinfo=UTC)
    assert run.day == date(2019, 11, 5)
    assert soccer.sport == "other" and soccer.name == "team, soccer"
    assert late.sport == "run" and late.day == date(2019, 11, 18)
    assert len({run.external_id, soccer.external_id, late.external_id}) == 3


def test_srpe_errors() -> None:
    header = "end_date_time,activity_names,perceived_exertion,duration_min\n"
    with pytest.raises(InvalidInputError, match="line 2"):
        read_pmsys_srpe("s.csv", (header + "2019-11-05T22:51:54Z,[],11,30\n").encode(), tz=TZ)
    with pytest.raises(InvalidInputError, match="duration_min"):
        read_pmsys_srpe("s.csv", (header + "2019-11-05T22:51:54Z,[],5,0\n").encode(), tz=TZ)
    with pytest.raises(InvalidInputError, match="end_date_time"):
        read_pmsys_srpe("s.csv", (header + "yesterday,[],5,10\n").encode(), tz=TZ)
    with pytest.raises(UnsupportedFormatError):
        read_pmsys_srpe("s.csv", b"a,b\n1,2\n", tz=TZ)


def test_injury_synthetic() -> None:
    data = (
        b"effective_time_frame,injuries\n"
        b"2020-03-07T08:01:19.947Z,{'left_foot': 'minor'}\n"
        b"2020-03-09T14:41:57.153Z,{}\n"
        b"2020-03-11T07:07:19.512Z,\"{'groin_hip': 'minor', 'right_foot': 'minor'}\"\n"
    )
    a, b, c = read_pmsys_injury("injury.csv", data, tz=TZ).observations
    assert a.injury is True and a.note == "injury: left_foot (minor)"
    assert b.injury is False and b.note is None
    assert c.injury is True and "groin_hip" in (c.note or "")


def test_folder_merges_injury_into_wellness(tmp_path: Path) -> None:
    folder = tmp_path / "p99" / "pmsys"
    folder.mkdir(parents=True)
    (folder / "wellness.csv").write_text(WELLNESS)
    (folder / "injury.csv").write_text(
        "effective_time_frame,injuries\n2019-11-01T10:00:00Z,{'knee': 'minor'}\n")
    result = read_pmsys_folder(tmp_path / "p99", tz=TZ)
    first = result.observations[0]
    assert first.day == date(2019, 11, 1) and first.injury is True and first.energy == 2
    with pytest.raises(EmptyFileError):
        read_pmsys_folder(tmp_path, tz=TZ)


def test_pmsys_sport() -> None:
    assert pmsys_sport(["individual", "strength"]) == "strength"
    assert pmsys_sport(["individual", "endurance"]) == "other"
    assert pmsys_sport([]) == "other"
