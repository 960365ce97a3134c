"""Strava bulk export: ``activities.csv`` -> per-activity metadata.

The CSV names, per activity, the file holding its samples (``Filename``, e.g.
``activities/123.fit.gz``) and what Strava knows beyond the file: the title, the
type, the gear and the perceived exertion. Strava exports are read leniently:

* any column may be missing, and columns are found by name, not position;
* the header repeats some names (``Elapsed Time``, ``Distance``, ``Max Heart
  Rate``...): the first ``Elapsed Time`` is whole seconds and the first
  ``Distance`` is in the athlete's display unit (km or mi), the second ones are
  seconds and metres. Metres come from the second ``Distance`` when present;
  a lone ``Distance`` column is taken as kilometres;
* ``Activity Date`` is UTC in the export's English format (``Jan 5, 2021, 7:03:38
  AM``); ISO 8601 is accepted too; anything else leaves ``started_at`` empty;
* ``Perceived Exertion`` is Strava's 1-10 slider, which follows Borg's CR-10
  scale; values outside 0-10 are dropped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath

from lydiard.errors import EmptyFileError, UnsupportedFormatError
from lydiard.ingest._common import normalise_sport

_DATE_FORMATS = ("%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p", "%d %b %Y, %H:%M:%S")


@dataclass(frozen=True, slots=True)
class StravaMeta:
    """What Strava's ``activities.csv`` says about one activity."""

    name: str | None
    sport: str  #: one of ``lydiard.domain.activity.SPORTS``
    gear: str | None
    perceived_exertion: float | None  #: Strava's 1-10 slider (Borg CR-10), None if unset
    external_id: str | None  #: Strava activity id
    activity_type: str | None = None  #: Strava's own type name (Ride, VirtualRun...)
    filename: str | None = None  #: as written in the CSV, e.g. ``activities/1.fit.gz``
    started_at: datetime | None = None  #: tz-aware UTC
    elapsed_time_s: float | None = None
    moving_time_s: float | None = None
    distance_m: float | None = None


def _text(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value or None


def _number(value: str | None) -> float | None:
    text = _text(value)
    if text is None:
        return None
    for candidate in (text, text.replace(",", ""), text.replace(",", ".")):
        try:
            number = float(candidate)
        except ValueError:
            continue
        return number if number == number else None  # NaN -> None
    return None


def _instant(value: str | None) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def parse_strava_activities(data: bytes, *, source: str) -> tuple[StravaMeta, ...]:
    """Every row of a Strava ``activities.csv``, in file order.

    Raises
    ------
    EmptyFileError
        Zero bytes, or a header without rows.
    UnsupportedFormatError
        Neither an ``Activity ID`` nor a ``Filename`` column: not Strava's file.
    """
    if not data.strip():
        raise EmptyFileError(source, "file is empty")
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as exc:  # pragma: no cover - data.strip() was not empty
        raise EmptyFileError(source, "file is empty") from exc
    except csv.Error as exc:
        raise UnsupportedFormatError(source, f"not a readable CSV ({exc})") from exc
    positions: dict[str, list[int]] = {}
    for index, column in enumerate(header):
        positions.setdefault(column.lower(), []).append(index)
    if "activity id" not in positions and "filename" not in positions:
        raise UnsupportedFormatError(
            source, "not a Strava activities.csv (no 'Activity ID' or 'Filename' column)"
        )

    def cell(row: list[str], column: str, occurrence: int = 0) -> str | None:
        found = positions.get(column)
        if not found or occurrence >= len(found) or found[occurrence] >= len(row):
            return None
        return row[found[occurrence]]

    def last_number(row: list[str], column: str) -> float | None:
        for occurrence in reversed(range(len(positions.get(column, ())))):
            number = _number(cell(row, column, occurrence))
            if number is not None:
                return number
        return None

    metas: list[StravaMeta] = []
    try:
        for row in reader:
            if not any(value.strip() for value in row):
                continue
            activity_type = _text(cell(row, "activity type"))
            exertion = _number(cell(row, "perceived exertion"))
            if exertion is not None and not 0.0 <= exertion <= 10.0:
                exertion = None
            if len(positions.get("distance", ())) >= 2:
                distance_m = _number(cell(row, "distance", 1))
            else:
                distance_km = _number(cell(row, "distance"))
                distance_m = None if distance_km is None else distance_km * 1000.0
            metas.append(
                StravaMeta(
                    name=_text(cell(row, "activity name")),
                    sport=normalise_sport(activity_type),
                    gear=_text(cell(row, "activity gear")),
                    perceived_exertion=exertion,
                    external_id=_text(cell(row, "activity id")),
                    activity_type=activity_type,
                    filename=_text(cell(row, "filename")),
                    started_at=_instant(cell(row, "activity date")),
                    elapsed_time_s=last_number(row, "elapsed time"),
                    moving_time_s=last_number(row, "moving time"),
                    distance_m=distance_m,
                )
            )
    except csv.Error as exc:
        raise UnsupportedFormatError(source, f"not a readable CSV ({exc})") from exc
    if not metas:
        raise EmptyFileError(source, "no activities in the CSV")
    return tuple(metas)


def strava_meta_by_filename(data: bytes, *, source: str) -> dict[str, StravaMeta]:
    """Map each activity file named in ``activities.csv`` (as written) to its metadata.

    Rows without a file (manual entries) are left out; use
    :func:`parse_strava_activities` to see them.
    """
    return {
        meta.filename: meta
        for meta in parse_strava_activities(data, source=source)
        if meta.filename is not None
    }


def match_strava_meta(mapping: dict[str, StravaMeta], name: str) -> StravaMeta | None:
    """The metadata for a file found in an export, by its name inside the archive or folder.

    Tries the exact name, then ``activities/<file name>``, then the bare file name,
    so that a zip member, an extracted folder or a lone file all match.
    """
    normal = name.replace("\\", "/")
    if normal in mapping:
        return mapping[normal]
    base = PurePosixPath(normal).name
    if f"activities/{base}" in mapping:
        return mapping[f"activities/{base}"]
    for filename, meta in mapping.items():
        if PurePosixPath(filename).name == base:
            return meta
    return None
