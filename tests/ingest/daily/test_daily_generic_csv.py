"""The documented generic daily CSV."""

from __future__ import annotations

from datetime import date

import pytest

from lydiard.errors import InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily.generic_csv import read_daily_csv


def csv(*lines: str) -> bytes:
    return ("\n".join(lines) + "\n").encode()


def test_native_columns() -> None:
    result = read_daily_csv("daily.csv", csv(
        "day,rmssd_ms,rhr_bpm,sleep_h,energy,readiness,illness,hrv_kind,note,weather",
        "2024-03-01,62.5,48,7.5,4,8,no,morning,felt good,sunny",
        "2024-03-02,55,50,6,2,5,yes,,,rain",
    ))
    first, second = result.observations
    assert first.day == date(2024, 3, 1) and first.source == "csv"
    assert (first.rmssd_ms, first.rhr_bpm, first.sleep_h, first.energy, first.readiness) == (
        62.5, 48, 7.5, 4, 8)
    assert first.illness is False and first.hrv_kind == "morning" and first.note == "felt good"
    assert second.illness is True and second.hrv_kind is None and second.note is None
    assert result.warnings == ("daily.csv: columns ignored: weather",)


def test_mapping_and_scales() -> None:
    data = csv(
        "Date;HRV;Fatigue (Hooper);Sleep score;Readiness %;Mood (PMSys);Soreness",
        "2024-03-01;70;1;100;80;0;7",
        "2024-03-02;65;7;50;30;4;1",
    )
    result = read_daily_csv(
        "export.csv", data,
        mapping={"Date": "day", "HRV": "rmssd_ms", "Fatigue (Hooper)": "energy",
                 "Sleep score": "sleep_quality", "Readiness %": "readiness",
                 "Mood (PMSys)": "mood", "Soreness": "soreness"},
        scales={"energy": "hooper7", "sleep_quality": "app100", "readiness": "app100",
                "mood": "pmsys5", "soreness": "hooper7"},
        source="my-app",
    )
    first, second = result.observations
    assert first.source == "my-app" and first.rmssd_ms == 70
    assert (first.energy, first.sleep_quality, first.readiness, first.mood, first.soreness) == (
        5.0, 5.0, 8.0, None, 1.0)
    assert (second.energy, second.sleep_quality, second.readiness, second.mood) == (
        1.0, 3.0, 3.0, 4.0)
    assert result.warnings == ()


@pytest.mark.parametrize(
    ("row", "column", "field"),
    [
        ("2024-03-01,9,60,7", "energy", "energy"),
        ("2024-03-01,3,60,30", "sleep_h", "sleep_h"),
        ("2024-03-01,3,-5,7", "rmssd_ms", "rmssd_ms"),
        ("2024-03-01,3,sixty,7", "rmssd_ms", "rmssd_ms"),
        ("01/03/2024,3,60,7", "day", "day"),
        ("2024-13-45,3,60,7", "day", "day"),
    ],
)
def test_a_bad_row_or_value_is_reported_by_line_and_column_and_the_rest_kept(row: str, column: str,
                                                                            field: str) -> None:
    result = read_daily_csv("d.csv", csv("day,energy,rmssd_ms,sleep_h", "2024-02-29,3,60,7", row))
    assert result.observations[0].day == date(2024, 2, 29) and result.observations[0].energy == 3
    (problem,) = [w for w in result.warnings if "line 3" in w]
    assert problem.startswith("d.csv: line 3") and repr(column) in problem
    if field == "day":
        assert len(result.observations) == 1 and "row skipped" in problem
    else:
        assert len(result.observations) == 2 and getattr(result.observations[1], field) is None
        assert "value ignored" in problem


def test_a_file_with_nothing_usable_is_refused_naming_every_problem() -> None:
    rows = [f"2024-03-{d:02d},9" for d in range(1, 31)]
    with pytest.raises(InvalidInputError, match="no usable row") as info:
        read_daily_csv("d.csv", csv("day,energy", *rows))
    message = str(info.value)
    assert "line 2," in message and "line 21," in message and "line 22," not in message
    assert "… and 10 more problem(s)" in message


def test_scale_range_is_checked_before_conversion() -> None:
    with pytest.raises(InvalidInputError, match="1-7 on the hooper7 scale"):
        read_daily_csv("d.csv", csv("day,energy", "2024-03-01,8"), scales={"energy": "hooper7"})


def test_max_day() -> None:
    data = csv("date,energy", "2024-03-01,3", "2030-01-01,3")
    result = read_daily_csv("d.csv", data, max_day=date(2024, 3, 2))
    assert [o.day for o in result.observations] == [date(2024, 3, 1)]
    assert any("line 3" in w and "after 2024-03-02" in w for w in result.warnings)
    assert len(read_daily_csv("d.csv", data).observations) == 2


def test_repeated_days_are_merged() -> None:
    result = read_daily_csv("d.csv", csv("day,energy,mood", "2024-03-01,3,", "2024-03-01,,4"))
    (obs,) = result.observations
    assert (obs.energy, obs.mood) == (3, 4)
    assert "1 repeated days merged" in result.warnings[0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mapping": {"x": "energy"}}, "not in the header"),
        ({"mapping": {"energy": "vo2max"}}, "not a daily field"),
        ({"scales": {"energy": "likert9"}}, "use one of"),
        ({"scales": {"rmssd_ms": "app100"}}, "applies to check-in items"),
        ({"scales": {"readiness": "hooper7"}}, "does not apply to readiness"),
    ],
)
def test_bad_arguments(kwargs: dict[str, dict[str, str]], match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        read_daily_csv("d.csv", csv("day,energy,readiness", "2024-03-01,3,5"), **kwargs)  # type: ignore[arg-type]


def test_structure_errors() -> None:
    with pytest.raises(UnsupportedFormatError, match="no 'day'"):
        read_daily_csv("d.csv", csv("when,energy", "2024-03-01,3"))
    with pytest.raises(InvalidInputError, match="no rows"):
        read_daily_csv("d.csv", csv("day,energy"))
    with pytest.raises(InvalidInputError, match="several columns"):
        read_daily_csv("d.csv", csv("day,a,b", "2024-03-01,3,3"),
                       mapping={"a": "energy", "b": "energy"})
    # a mapped column wins over a column named after the field, which is then ignored
    result = read_daily_csv("d.csv", csv("day,energy,fatigue", "2024-03-01,2,4"),
                            mapping={"fatigue": "energy"})
    assert result.observations[0].energy == 4
    assert result.warnings == ("d.csv: columns ignored: energy",)
    with pytest.raises(InvalidInputError, match="yes/no"):
        read_daily_csv("d.csv", csv("day,injury", "2024-03-01,maybe"))
