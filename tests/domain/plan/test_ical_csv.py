"""iCalendar and CSV text import/export."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.plan.csvio import parse_sessions_csv, sessions_to_csv
from lydiard.domain.plan.generate import generate_plan
from lydiard.domain.plan.ical import (
    escape_text,
    fold_line,
    sessions_from_ical,
    sessions_to_ical,
    unescape_text,
)
from lydiard.domain.plan.models import PlannedSession
from lydiard.errors import InvalidInputError

STAMP = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def _plan() -> list[PlannedSession]:
    return generate_plan(goal_day=date(2025, 5, 4), goal_sport="ride",
                         start_day=date(2025, 3, 3), current_ctl=45, weekly_hours=7)


def test_ical_round_trip_and_rfc_shape() -> None:
    plan = _plan()
    text = sessions_to_ical(plan, dtstamp=STAMP)
    assert text.startswith("BEGIN:VCALENDAR\r\n") and text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    assert text.count("BEGIN:VEVENT") == len(plan)
    assert f"UID:{plan[0].session_id}@lydiard" in text
    assert "DTSTART;VALUE=DATE:20250303" in text and "DTSTAMP:20250301T080000Z" in text
    back = sessions_from_ical(text)
    assert back == plan
    # stable UIDs: exporting twice gives the same text
    assert sessions_to_ical(plan, dtstamp=STAMP) == text


def test_ical_escaping_and_folding_unicode() -> None:
    s = PlannedSession(day=date(2025, 3, 4), sport="run", session_type="tempo", duration_s=3600,
                       intensity_target="RPE 7; 95% FTP, hard", expected_load_au=80,
                       notes="Line one\nLine two with a backslash \\ and ünïcödé " * 4,
                       session_id="s,1;x")
    text = sessions_to_ical([s], dtstamp=STAMP)
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75
        line.encode("utf-8").decode("utf-8")  # never split inside a character
    assert sessions_from_ical(text) == [s]
    assert fold_line("x" * 80) == "x" * 75 + "\r\n " + "x" * 5


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_escape_round_trip(value: str) -> None:
    assert unescape_text(escape_text(value)) == value.replace("\r\n", "\n")


def test_ical_tolerant_import_of_foreign_calendar() -> None:
    text = (
        "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//Other//EN\n"
        "BEGIN:VTIMEZONE\nTZID:Europe/Oslo\nEND:VTIMEZONE\n"
        "BEGIN:VEVENT\nUID:abc@other\nDTSTART:20250305T063000Z\nDTEND:20250305T073000Z\n"
        "SUMMARY:Morning intervals 6x3\n  min\nEND:VEVENT\n"
        "BEGIN:VEVENT\nUID:def\nDTSTART;VALUE=DATE:20250306\nDURATION:PT45M\n"
        "SUMMARY:Easy spin\nDESCRIPTION:keep it\\, light\nEND:VEVENT\n"
        "BEGIN:VEVENT\nDTSTART;VALUE=DATE:20250307\nSUMMARY:Rest day\nEND:VEVENT\n"
        "END:VCALENDAR\n"
    )
    a, b, c = sessions_from_ical(text, default_sport="ride")
    assert (a.session_type, a.duration_s, a.session_id, a.day) == (
        "intervals", 3600.0, "abc", date(2025, 3, 5))
    assert a.expected_load_au == pytest.approx(95.0)
    assert (b.session_type, b.duration_s, b.notes, b.sport) == ("easy", 2700.0, "keep it, light",
                                                                "ride")
    assert c.is_rest and c.duration_s == 0


@pytest.mark.parametrize(("text", "line"), [
    ("hello", 1),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nSUMMARY:x\nEND:VEVENT\nEND:VCALENDAR", 2),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:2025-03-05\nEND:VEVENT\nEND:VCALENDAR", 3),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250305\nDURATION:soon\nEND:VEVENT\nEND:VCALENDAR",
     4),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250305\nX-LYDIARD-TYPE:nap\nEND:VEVENT\n"
     "END:VCALENDAR", 4),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250305\nEND:VCALENDAR", 4),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nno colon here\nEND:VEVENT\nEND:VCALENDAR", 3),
    ("BEGIN:VCALENDAR\nBEGIN:VEVENT\nDTSTART:20250305\n", 3),
])
def test_ical_bad_input_names_the_line(text: str, line: int) -> None:
    with pytest.raises(InvalidInputError) as info:
        sessions_from_ical(text)
    assert info.value.context["line"] == line
    assert str(info.value).startswith(f"line {line}:")


def test_ical_needs_aware_dtstamp() -> None:
    with pytest.raises(InvalidInputError):
        sessions_to_ical(_plan(), dtstamp=datetime(2025, 3, 1))


def test_csv_round_trip() -> None:
    plan = _plan()
    assert parse_sessions_csv(sessions_to_csv(plan)) == plan


def test_csv_minimal_and_dialects() -> None:
    text = ("\ufeffDay;Session_Type;Duration_min;Notes\n"
            "2025-03-04;intervals;60;6x3 min\n\n2025-03-05;rest;;\n2025-03-06;Active recovery;30;\n")
    a, b, c = parse_sessions_csv(text, default_sport="swim")
    assert a.sport == "swim" and a.duration_s == 3600 and a.expected_load_au == 95.0
    assert b.is_rest and b.duration_s == 0
    assert c.session_type == "active_recovery"
    (d,) = parse_sessions_csv("day,session_type,duration_s,expected_load_au\n"
                              "2025-03-04,long,5400,99\n")
    assert d.duration_s == 5400 and d.expected_load_au == 99


@pytest.mark.parametrize(("text", "line", "field"), [
    ("", 1, "text"),
    ("day,session_type\n2025-03-04,easy\n", 1, "duration_min"),
    ("day,session_type,duration_min,colour\n", 1, "colour"),
    ("day,duration_min\n2025-03-04,30\n", 1, "session_type"),
    ("day,session_type,duration_min\n2025-03-04,easy,30\n04/03/2025,easy,30\n", 3, "day"),
    ("day,session_type,duration_min\n2025-03-04,nap,30\n", 2, "session_type"),
    ("day,session_type,duration_min\n2025-03-04,easy,-5\n", 2, "duration_min"),
    ("day,session_type,duration_min\n2025-03-04,easy,abc\n", 2, "duration_min"),
    ("day,session_type,duration_min\n2025-03-04,easy\n", 2, "text"),
    ("day,session_type,duration_min\n2025-03-04,easy,\n", 2, "duration_min"),
    ("day,session_type,duration_min,expected_load_au\n2025-03-04,easy,30,inf\n", 2,
     "expected_load_au"),
])
def test_csv_bad_input_names_line_and_field(text: str, line: int, field: str) -> None:
    with pytest.raises(InvalidInputError) as info:
        parse_sessions_csv(text)
    assert info.value.context["line"] == line
    assert info.value.field == field
    assert str(info.value).startswith(f"line {line}:")
