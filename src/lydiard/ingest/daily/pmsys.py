"""PMSys exports (as in the PMData data set): wellness, session RPE and injury reports.

``wellness.csv`` (one morning check-in a row): ``effective_time_frame`` (UTC) becomes the local
day in ``tz``. fatigue, mood, sleep_quality, soreness and stress are already 1-5 with 5 = best;
``fatigue`` maps to ``energy`` (5 = fresh). ``readiness`` is 0-10. PMSys stores an unanswered
slider as 0, so 0 is "missing" for every item, readiness included (in PMData, p05 reports
readiness 0 for 60 days running while mood and energy are normal: an unused slider, not
"not ready at all"). ``sleep_duration_h`` 0 is missing too. A row where everything is missing
is an empty check-in and is skipped (with a warning).

``srpe.csv``: ``end_date_time`` (UTC), ``activity_names`` (a Python list literal such as
``['individual', 'running']``), ``perceived_exertion`` (Borg CR-10), ``duration_min``;
``started_at`` = end − duration.

``injury.csv``: weekly reports, ``injuries`` a dict literal (``{'left_foot': 'minor'}``);
``{}`` -> ``injury=False`` on that day, anything else -> ``injury=True`` with the areas in
``note``.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.errors import EmptyFileError, InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    cell,
    check_range,
    csv_rows,
    daily_sport,
    decode_text,
    header_key,
    local_day,
    merge_observations,
    number,
    parse_datetime,
    zone,
)

SOURCE = "pmsys"

#: PMSys column -> DailyObservation field, for the 1-5 items.
WELLNESS_ITEMS: dict[str, str] = {
    "fatigue": "energy",
    "mood": "mood",
    "sleep_quality": "sleep_quality",
    "soreness": "soreness",
    "stress": "stress",
}
WELLNESS_COLUMNS = ("effective_time_frame", "fatigue", "mood", "readiness", "sleep_duration_h",
                    "sleep_quality", "soreness", "stress")
SRPE_COLUMNS = ("end_date_time", "activity_names", "perceived_exertion", "duration_min")
INJURY_COLUMNS = ("effective_time_frame", "injuries")

_GENERIC_TAGS = frozenset({"individual", "team", "endurance"})


def _table(name: str, data: bytes, required: Sequence[str]) -> tuple[dict[str, int],
                                                                      list[tuple[int, list[str]]]]:
    rows = csv_rows(decode_text(data, source=name), source=name)
    index = {header_key(h): i for i, h in enumerate(rows[0][1])}
    missing = [c for c in required if c not in index]
    if missing:
        raise UnsupportedFormatError(name, f"not a PMSys export: missing columns {missing}")
    return index, rows[1:]


def _instant(name: str, text: str | None, *, line: int, column: str) -> datetime:
    moment = parse_datetime(text or "")
    if moment is None:
        raise InvalidInputError(f"{name}: line {line}, column {column!r}: unreadable time {text!r}",
                                field=column, source=name, line=line)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # PMSys times are UTC
    return moment.astimezone(UTC)


def read_pmsys_wellness(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``wellness.csv`` -> one observation per answered check-in."""
    zone_info = zone(tz)
    index, rows = _table(name, data, WELLNESS_COLUMNS)
    observations: list[DailyObservation] = []
    empty = 0
    for line, row in rows:
        at = _instant(name, cell(row, index["effective_time_frame"]), line=line,
                      column="effective_time_frame")
        values: dict[str, float | None] = {}
        for column, field in WELLNESS_ITEMS.items():
            value = number(cell(row, index[column]), source=name, line=line, column=column)
            values[field] = None if not value else check_range(
                field, value, source=name, line=line, column=column)
        readiness = number(cell(row, index["readiness"]), source=name, line=line,
                           column="readiness")
        values["readiness"] = None if not readiness else check_range(
            "readiness", readiness, source=name, line=line, column="readiness")
        sleep_h = number(cell(row, index["sleep_duration_h"]), source=name, line=line,
                         column="sleep_duration_h")
        values["sleep_h"] = None if not sleep_h else check_range(
            "sleep_h", sleep_h, source=name, line=line, column="sleep_duration_h")
        if all(v is None for v in values.values()):
            empty += 1
            continue
        observations.append(DailyObservation(
            day=local_day(at, tz=zone_info), source=SOURCE, energy=values["energy"],
            mood=values["mood"], sleep_quality=values["sleep_quality"],
            soreness=values["soreness"], stress=values["stress"],
            readiness=values["readiness"], sleep_h=values["sleep_h"],
        ))
    warnings = (f"{name}: {empty} empty check-ins (all items 0) skipped",) if empty else ()
    return DailyImport(observations=tuple(observations), warnings=warnings)


def _activity_tags(text: str | None) -> list[str]:
    if not text:
        return []
    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return re.findall(r"[A-Za-z_]+", text)
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def pmsys_sport(tags: Sequence[str]) -> str:
    """Sport of a PMSys ``activity_names`` list: the first tag that names a known sport."""
    for tag in tags:
        if tag.lower() in _GENERIC_TAGS:
            continue
        sport = daily_sport(tag)
        if sport != "other":
            return sport
    return "other"


def read_pmsys_srpe(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``srpe.csv`` -> one :class:`SessionLog` per row."""
    zone_info = zone(tz)
    index, rows = _table(name, data, SRPE_COLUMNS)
    sessions: list[SessionLog] = []
    for line, row in rows:
        ended_at = _instant(name, cell(row, index["end_date_time"]), line=line,
                            column="end_date_time")
        duration_min = number(cell(row, index["duration_min"]), source=name, line=line,
                              column="duration_min")
        if duration_min is None or not 0 < duration_min <= 24 * 60:
            raise InvalidInputError(
                f"{name}: line {line}, column 'duration_min': {duration_min!r} is not a duration",
                field="duration_min", source=name, line=line)
        rpe = number(cell(row, index["perceived_exertion"]), source=name, line=line,
                     column="perceived_exertion")
        if rpe is not None and not 0 <= rpe <= 10:
            raise InvalidInputError(
                f"{name}: line {line}, column 'perceived_exertion': {rpe:g} is outside CR-10 0-10",
                field="perceived_exertion", source=name, line=line)
        tags = _activity_tags(cell(row, index["activity_names"]))
        started_at = ended_at - timedelta(minutes=duration_min)
        sessions.append(SessionLog(
            day=local_day(started_at, tz=zone_info),
            source=SOURCE,
            sport=pmsys_sport(tags),
            duration_s=duration_min * 60.0,
            started_at=started_at,
            rpe=rpe,
            name=", ".join(tags) or None,
            external_id=f"pmsys-srpe:{ended_at.isoformat()}",
        ))
    return DailyImport(observations=(), sessions=tuple(sessions))


def read_pmsys_injury(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``injury.csv`` -> the injury flag (and injured areas) on each report's day."""
    zone_info = zone(tz)
    index, rows = _table(name, data, INJURY_COLUMNS)
    observations: list[DailyObservation] = []
    for line, row in rows:
        at = _instant(name, cell(row, index["effective_time_frame"]), line=line,
                      column="effective_time_frame")
        raw = (cell(row, index["injuries"]) or "{}").strip()
        try:
            injuries = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            injuries = raw.strip("{} ")
        injured = bool(injuries)
        note = None
        if injured:
            if isinstance(injuries, dict):
                note = "injury: " + ", ".join(f"{k} ({v})" for k, v in injuries.items())
            else:
                note = f"injury: {injuries}"
        observations.append(DailyObservation(day=local_day(at, tz=zone_info), source=SOURCE,
                                             injury=injured, note=note))
    return DailyImport(observations=merge_observations(observations))


def is_pmsys_folder(path: Path) -> bool:
    """A PMData participant folder (``pmsys/wellness.csv``) or a bare PMSys folder."""
    return (path / "pmsys" / "wellness.csv").is_file() or (
        path.name == "pmsys" and (path / "wellness.csv").is_file()
    )


def read_pmsys_folder(path: Path, *, tz: str) -> DailyImport:
    """Read ``wellness.csv``, ``injury.csv`` and ``srpe.csv`` (those present) of a PMSys folder.

    Observations are merged to one per day (a later report fills or overrides earlier values).
    """
    zone(tz)
    folder = path / "pmsys" if (path / "pmsys").is_dir() else path
    found = False
    observations: list[DailyObservation] = []
    sessions: list[SessionLog] = []
    warnings: list[str] = []
    readers = (("wellness.csv", read_pmsys_wellness), ("injury.csv", read_pmsys_injury),
               ("srpe.csv", read_pmsys_srpe))
    for filename, reader in readers:
        file = folder / filename
        if not file.is_file():
            continue
        found = True
        result = reader(str(file), file.read_bytes(), tz=tz)
        observations.extend(result.observations)
        sessions.extend(result.sessions)
        warnings.extend(result.warnings)
    if not found:
        raise EmptyFileError(str(path), "no PMSys wellness.csv, injury.csv or srpe.csv")
    return DailyImport(observations=merge_observations(observations), sessions=tuple(sessions),
                       warnings=tuple(warnings))
