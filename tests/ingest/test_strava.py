"""Strava activities.csv: duplicated columns, lenient parsing, file-name matching."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import pytest

from lydiard.errors import EmptyFileError, UnsupportedFormatError
from lydiard.ingest.strava import (
    StravaMeta,
    match_strava_meta,
    parse_strava_activities,
    strava_meta_by_filename,
)

#: the export's header, with its repeated names, in the export's order
HEADER = [
    "Activity ID", "Activity Date", "Activity Name", "Activity Type", "Activity Description",
    "Elapsed Time", "Distance", "Max Heart Rate", "Relative Effort", "Commute",
    "Activity Private Note", "Activity Gear", "Filename", "Athlete Weight", "Bike Weight",
    "Elapsed Time", "Moving Time", "Distance", "Max Speed", "Average Speed", "Elevation Gain",
    "Max Heart Rate", "Average Heart Rate", "Perceived Exertion", "Prefer Perceived Exertion",
]


def strava_csv(rows: list[dict[str, str | tuple[str, str]]], header: list[str] = HEADER
               ) -> bytes:
    """A CSV; a tuple value fills the first and second column of a repeated name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        seen: dict[str, int] = {}
        cells = []
        for column in header:
            occurrence = seen.get(column, 0)
            seen[column] = occurrence + 1
            value = row.get(column, "")
            cells.append(value[occurrence] if isinstance(value, tuple) else
                         (value if occurrence == 0 else ""))
        writer.writerow(cells)
    return buffer.getvalue().encode("utf-8")


ROWS: list[dict[str, str | tuple[str, str]]] = [
    {"Activity ID": "4801048867", "Activity Date": "Apr 18, 2020, 11:10:44 AM",
     "Activity Name": "Rondje achterhoek, \"gravel\"", "Activity Type": "Ride",
     "Elapsed Time": ("5158", "5158.0"), "Distance": ("36.27", "36271.5"),
     "Moving Time": "5105.0", "Activity Gear": "Canyon Grail", "Filename":
     "activities/4801048867.fit.gz", "Perceived Exertion": "7.0"},
    {"Activity ID": "5039744860", "Activity Date": "Jun 1, 2020, 2:52:40 PM",
     "Activity Name": "Leiden Fietsen", "Activity Type": "VirtualRun",
     "Elapsed Time": ("126", "126.0"), "Distance": ("0.67", "668.2"),
     "Filename": "activities/5039744860.gpx", "Perceived Exertion": "11"},
    {"Activity ID": "6000000001", "Activity Date": "Jun 2, 2020, 6:00:00 AM",
     "Activity Name": "Gym", "Activity Type": "Weight Training", "Elapsed Time": ("3600", "")},
]


def test_parses_rows_with_duplicated_columns() -> None:
    metas = parse_strava_activities(strava_csv(ROWS), source="activities.csv")
    assert len(metas) == 3
    ride = metas[0]
    assert ride == StravaMeta(
        name='Rondje achterhoek, "gravel"', sport="ride", gear="Canyon Grail",
        perceived_exertion=7.0, external_id="4801048867", activity_type="Ride",
        filename="activities/4801048867.fit.gz",
        started_at=datetime(2020, 4, 18, 11, 10, 44, tzinfo=UTC),
        elapsed_time_s=5158.0, moving_time_s=5105.0, distance_m=36271.5,
    )
    run = metas[1]
    assert run.sport == "run"
    assert run.started_at == datetime(2020, 6, 1, 14, 52, 40, tzinfo=UTC)
    assert run.perceived_exertion is None  # 11 is off the 1-10 scale
    assert run.distance_m == 668.2  # metres from the second Distance column
    gym = metas[2]
    assert gym.sport == "strength"
    assert gym.filename is None and gym.gear is None
    assert gym.elapsed_time_s == 3600.0  # second column empty: the first one is used


def test_by_filename_and_matching() -> None:
    mapping = strava_meta_by_filename(strava_csv(ROWS), source="activities.csv")
    assert set(mapping) == {"activities/4801048867.fit.gz", "activities/5039744860.gpx"}
    ride = mapping["activities/4801048867.fit.gz"]
    assert match_strava_meta(mapping, "activities/4801048867.fit.gz") is ride
    assert match_strava_meta(mapping, "/home/me/export/activities/4801048867.fit.gz") is ride
    assert match_strava_meta(mapping, "C:\\export\\activities\\4801048867.fit.gz") is ride
    assert match_strava_meta(mapping, "4801048867.fit.gz") is ride
    assert match_strava_meta(mapping, "activities/999.fit.gz") is None


def test_lenient_about_columns_order_bom_and_units() -> None:
    header = ["Filename", "Activity Type", "Distance", "Activity ID", "Activity Date"]
    rows: list[dict[str, str | tuple[str, str]]] = [
        {"Filename": "activities/1.tcx.gz", "Activity Type": "Swim", "Distance": "1.5",
         "Activity ID": "1", "Activity Date": "2021-03-04T05:06:07Z"},
    ]
    data = "\ufeff".encode() + strava_csv(rows, header)
    (meta,) = parse_strava_activities(data, source="a.csv")
    assert meta.sport == "swim"
    assert meta.distance_m == 1500.0  # a lone Distance column is in km
    assert meta.started_at == datetime(2021, 3, 4, 5, 6, 7, tzinfo=UTC)
    assert meta.name is None and meta.perceived_exertion is None


def test_latin1_and_odd_dates() -> None:
    data = "Activity ID,Activity Name,Activity Date\n7,Café run,gestern\n".encode("latin-1")
    (meta,) = parse_strava_activities(data, source="a.csv")
    assert meta.name == "Café run"
    assert meta.started_at is None


def test_not_strava_and_empty() -> None:
    with pytest.raises(UnsupportedFormatError, match="not a Strava"):
        parse_strava_activities(b"date,rmssd\n2024-01-01,50\n", source="hrv.csv")
    with pytest.raises(EmptyFileError):
        parse_strava_activities(b"", source="empty.csv")
    with pytest.raises(EmptyFileError, match="no activities"):
        parse_strava_activities(",".join(HEADER).encode() + b"\n", source="header.csv")
