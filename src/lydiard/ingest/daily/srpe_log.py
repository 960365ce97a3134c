"""Session-RPE training logs (a coach's or athlete's spreadsheet) -> :class:`SessionLog`.

Header names are matched leniently (case, spaces and punctuation ignored):

==============  ===========================================================================
meaning         accepted headers
==============  ===========================================================================
date / start    date, day, start, start_time, started_at, datetime, timestamp, when
time of day     time, time_of_day, clock, start, start_time (joined to a date-only date)
sport           sport, activity, activity_type, type, discipline
duration        duration_min, minutes, mins, min, duration_minutes (minutes);
                duration_s, seconds, duration_sec (seconds); duration_h, hours (hours);
                duration, time_total, elapsed, moving_time (``h:mm:ss``, ``h:mm`` or minutes)
RPE             rpe, session_rpe, cr10, borg, perceived_exertion, effort (Borg CR-10, 0-10)
session load    srpe, session_load, load (RPE × minutes; RPE = load / minutes when > 10)
name            name, title, session, description, workout
avg HR          avg_hr, avg_hr_bpm, average_heart_rate, hr
distance        distance_km (km), distance_m (m)
id              id, external_id, session_id
==============  ===========================================================================

Times without an offset are local in ``tz``. A date without a time gives the session's day
and no ``started_at``.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any

from lydiard.domain.daily import DailyImport, SessionLog
from lydiard.errors import InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    cell,
    csv_rows,
    daily_sport,
    decode_text,
    header_key,
    local_day,
    number,
    parse_datetime,
    parse_day,
    to_utc,
    zone,
)

SOURCE = "srpe-log"
MAX_DURATION_S = 24 * 3600.0

_ALIASES: dict[str, tuple[str, ...]] = {
    "date": ("date", "day", "start", "start_time", "started_at", "datetime", "date_time",
             "timestamp", "when", "start_date"),
    "time": ("time", "time_of_day", "clock", "start", "start_time"),
    "sport": ("sport", "activity", "activity_type", "type", "discipline", "activity_names"),
    "duration_min": ("duration_min", "minutes", "mins", "min", "duration_minutes",
                     "duration_mins"),
    "duration_s": ("duration_s", "seconds", "duration_sec", "duration_secs", "secs"),
    "duration_h": ("duration_h", "hours", "duration_hours", "hrs"),
    "duration": ("duration", "time_total", "elapsed", "elapsed_time", "moving_time",
                 "total_time"),
    "rpe": ("rpe", "session_rpe", "cr10", "cr_10", "borg", "perceived_exertion", "effort"),
    "load": ("srpe", "session_load", "load", "srpe_load", "training_load"),
    "name": ("name", "title", "session", "description", "workout"),
    "avg_hr": ("avg_hr", "avg_hr_bpm", "average_heart_rate", "avg_heart_rate", "hr"),
    "distance_km": ("distance_km", "km"),
    "distance_m": ("distance_m", "meters", "metres"),
    "id": ("id", "external_id", "session_id"),
}
_CLOCK_RE = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d*)?))?$")


def find_columns(header: list[str]) -> dict[str, int]:
    """Meaning -> column index, for the columns that are present."""
    keys = [header_key(h) for h in header]
    found: dict[str, int] = {}
    for meaning, aliases in _ALIASES.items():
        for alias in aliases:
            if alias in keys and keys.index(alias) not in found.values():
                found[meaning] = keys.index(alias)
                break
    return found


def is_srpe_log(header: list[str]) -> bool:
    """Whether a header looks like a session-RPE log."""
    cols = find_columns(header)
    has_duration = any(k in cols for k in ("duration_min", "duration_s", "duration_h",
                                           "duration"))
    return "date" in cols and has_duration and ("rpe" in cols or "load" in cols)


def parse_duration_s(text: str, *, unit: str) -> float | None:
    """``h:mm:ss`` / ``h:mm`` clock text, or a number in ``unit`` ("min", "s", "h")."""
    value = text.strip()
    match = _CLOCK_RE.match(value)
    if match:
        first, second, third = match.groups()
        if third is None:  # h:mm
            return int(first) * 3600.0 + int(second) * 60.0
        return int(first) * 3600.0 + int(second) * 60.0 + float(third)
    try:
        amount = float(value.replace(",", "."))
    except ValueError:
        return None
    return amount * {"min": 60.0, "s": 1.0, "h": 3600.0}[unit]


def read_srpe_log(name: str, data: bytes, *, tz: str, source: str = SOURCE,
                  max_day: date | None = None) -> DailyImport:
    """Read a session-RPE log CSV."""
    zone_info = zone(tz)
    text = decode_text(data, source=name)
    first_line = text.lstrip().splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else (
        "\t" if "\t" in first_line else ",")
    rows = csv_rows(text, source=name, delimiter=delimiter)
    header = rows[0][1]
    cols = find_columns(header)
    if "date" not in cols:
        raise UnsupportedFormatError(
            name, f"no date column (one of {', '.join(_ALIASES['date'])})")
    duration_col = next(((k, cols[k]) for k in ("duration_min", "duration_s", "duration_h",
                                                 "duration") if k in cols), None)
    if duration_col is None:
        raise UnsupportedFormatError(
            name, "no duration column (duration_min, duration_s, duration_h or duration)")
    if "rpe" not in cols and "load" not in cols:
        raise UnsupportedFormatError(name, "no RPE column (rpe, session_rpe, srpe...)")

    sessions: list[SessionLog] = []
    per_day: dict[date, int] = {}
    for line, row in rows[1:]:

        def bad(meaning: str, reason: str, line: int = line, row: list[str] = row) -> InvalidInputError:
            column = header[cols[meaning]]
            return InvalidInputError(
                f"{name}: line {line}, column {column!r}: {cell(row, cols[meaning])!r} {reason}",
                field=meaning, source=name, line=line, column=column)

        raw_date = cell(row, cols["date"]) or ""
        moment = parse_datetime(raw_date) if len(raw_date) > 10 else None
        day = moment.date() if moment is not None else parse_day(raw_date)
        if day is None:
            raise bad("date", "is not a date (YYYY-MM-DD or YYYY-MM-DD HH:MM)")
        if moment is None and "time" in cols:
            clock = cell(row, cols["time"])
            if clock:
                match = _CLOCK_RE.match(clock)
                if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
                    raise bad("time", "is not a time of day (HH:MM)")
                moment = datetime.combine(day, time(int(match.group(1)), int(match.group(2))))
        started_at = to_utc(moment, tz=zone_info) if moment is not None else None
        if started_at is not None:
            day = local_day(started_at, tz=zone_info)
        if max_day is not None and day > max_day:
            raise bad("date", f"is after {max_day}")

        meaning, index = duration_col
        raw_duration = cell(row, index)
        unit = {"duration_s": "s", "duration_h": "h"}.get(meaning, "min")
        duration_s = parse_duration_s(raw_duration, unit=unit) if raw_duration else None
        if duration_s is None:
            raise bad(meaning, "is not a duration (minutes or h:mm:ss)")
        if not 0 < duration_s <= MAX_DURATION_S:
            raise bad(meaning, "is not a duration between 0 and 24 h")

        rpe = _rpe(name, row, cols, line=line, duration_s=duration_s, header=header)
        values: dict[str, Any] = {}
        if "avg_hr" in cols:
            hr = number(cell(row, cols["avg_hr"]), source=name, line=line,
                        column=header[cols["avg_hr"]])
            if hr is not None and not 25 <= hr <= 250:
                raise bad("avg_hr", "is not a heart rate (25-250 bpm)")
            values["avg_hr_bpm"] = hr
        for meaning_d, factor in (("distance_km", 1000.0), ("distance_m", 1.0)):
            if meaning_d in cols and "distance_m" not in values:
                distance = number(cell(row, cols[meaning_d]), source=name, line=line,
                                  column=header[cols[meaning_d]])
                if distance is not None and distance < 0:
                    raise bad(meaning_d, "is negative")
                values["distance_m"] = distance * factor if distance is not None else None
        sport_text = cell(row, cols["sport"]) if "sport" in cols else None
        n_today = per_day.get(day, 0)
        per_day[day] = n_today + 1
        external_id = cell(row, cols["id"]) if "id" in cols else None
        if external_id is None:
            stamp = started_at.isoformat() if started_at else f"{day.isoformat()}#{n_today}"
            external_id = f"{source}:{stamp}"
        sessions.append(SessionLog(
            day=day, source=source, sport=daily_sport(sport_text), duration_s=duration_s,
            started_at=started_at, rpe=rpe,
            name=(cell(row, cols["name"]) if "name" in cols else None) or sport_text,
            external_id=external_id, **values,
        ))
    if not sessions:
        raise InvalidInputError(f"{name}: the log has a header but no sessions", source=name)
    return DailyImport(observations=(), sessions=tuple(sessions))


def _rpe(name: str, row: list[str], cols: dict[str, int], *, line: int, duration_s: float,
         header: list[str]) -> float | None:
    if "rpe" in cols:
        rpe = number(cell(row, cols["rpe"]), source=name, line=line, column=header[cols["rpe"]])
    else:
        load = number(cell(row, cols["load"]), source=name, line=line,
                      column=header[cols["load"]])
        # "sRPE" is RPE in some logs and RPE × minutes (Foster 2001) in others.
        rpe = load / (duration_s / 60.0) if load is not None and load > 10 else load
        if rpe is not None:
            rpe = round(rpe, 2)
    column = header[cols["rpe" if "rpe" in cols else "load"]]
    if rpe is not None and not 0 <= rpe <= 10:
        raise InvalidInputError(
            f"{name}: line {line}, column {column!r}: RPE {rpe:g} is outside Borg CR-10 (0-10)",
            field="rpe", source=name, line=line, column=column)
    return rpe
