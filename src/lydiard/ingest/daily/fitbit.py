"""Fitbit account exports: resting HR, sleep, sleep score and exercise sessions.

Fitbit writes local wall-clock times without an offset (``"2019-11-01 14:56:32"``); they are
local in ``tz``. ``sleep_score.csv`` writes a ``Z`` on its timestamps, but they are the local
wake-up time too (they equal ``endTime`` of the same log in ``sleep.json``), so their date part
is taken as written.

* ``resting_heart_rate*.json``: ``value.value`` -> ``rhr_bpm`` on ``dateTime``'s day; 0 or
  absent values (no wear) are skipped.
* ``sleep*.json``: the main sleep of each ``dateOfSleep`` (Fitbit's wake-up day) ->
  ``sleep_h`` = minutesAsleep / 60; naps (``mainSleep`` false) are ignored; duplicate logs
  (same ``logId``, from overlapping export chunks) are read once; two main sleeps on one day:
  the longer wins. ``efficiency`` (%) -> ``sleep_quality`` = 1 + 4·clip((eff − 70)/30, 0, 1)
  (70 % or less -> 1, 85 % -> 3, 100 % -> 5), used only when there is no sleep score.
* ``sleep_score*.csv``: ``overall_score`` (0-100) -> ``sleep_quality`` piecewise-linear through
  Fitbit's bands: 0 -> 1, 60 (poor/fair) -> 2.5, 80 (fair/good) -> 4, 90 (good/excellent) -> 4.5,
  100 -> 5; ``resting_heart_rate`` -> ``rhr_bpm`` when the day has none from
  ``resting_heart_rate.json``. Deep-sleep minutes have no field and are not kept.
* ``exercise*.json``: one :class:`SessionLog` per ``logId``: ``activityName`` -> sport,
  ``activeDuration`` (else ``duration``) ms -> ``duration_s``, ``averageHeartRate``,
  ``distance`` in ``distanceUnit`` (Kilometer / Mile / Meter) -> ``distance_m``,
  ``startTime`` (local) -> ``started_at`` (UTC); ``external_id`` = ``fitbit:<logId>``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np

from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.errors import CorruptFileError, EmptyFileError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    cell,
    csv_rows,
    daily_sport,
    decode_text,
    header_key,
    local_day,
    merge_observations,
    number,
    parse_datetime,
    parse_day,
    to_utc,
    zone,
)

SOURCE = "fitbit"
#: Metres per Fitbit ``distanceUnit``.
DISTANCE_UNIT_M: dict[str, float] = {"kilometer": 1000.0, "mile": 1609.344, "meter": 1.0,
                                     "metre": 1.0, "kilometre": 1000.0}
_SCORE_ANCHORS = ([0.0, 60.0, 80.0, 90.0, 100.0], [1.0, 2.5, 4.0, 4.5, 5.0])


def sleep_score_to_5(score: float) -> float:
    """Fitbit sleep score 0-100 -> sleep_quality 1-5 (see the module docstring)."""
    return round(float(np.interp(score, *_SCORE_ANCHORS)), 3)


def efficiency_to_5(efficiency_pct: float) -> float:
    """Fitbit sleep efficiency % -> sleep_quality 1-5 (see the module docstring)."""
    return round(1.0 + 4.0 * min(1.0, max(0.0, (efficiency_pct - 70.0) / 30.0)), 3)


def _json_list(name: str, data: bytes) -> list[dict[str, Any]]:
    text = decode_text(data, source=name)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CorruptFileError(name, f"not valid JSON: {exc.msg} (line {exc.lineno})",
                               offset=exc.pos) from exc
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise UnsupportedFormatError(name, "expected a JSON list of objects (a Fitbit export)")
    return value


def read_fitbit_resting_hr(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``resting_heart_rate.json`` -> ``rhr_bpm`` per day."""
    zone(tz)
    observations: list[DailyObservation] = []
    for i, entry in enumerate(_json_list(name, data)):
        value = entry.get("value")
        if not isinstance(value, dict):
            raise UnsupportedFormatError(name, f"entry {i}: no 'value' object (not resting HR)")
        bpm = value.get("value")
        if not isinstance(bpm, (int, float)) or bpm <= 0:
            continue  # 0 = the tracker was not worn
        day = parse_day(str(entry.get("dateTime", "")))
        if day is None:
            raise CorruptFileError(name, f"entry {i}: unreadable dateTime {entry.get('dateTime')!r}")
        observations.append(DailyObservation(day=day, source=SOURCE, rhr_bpm=round(bpm, 1)))
    return DailyImport(observations=merge_observations(observations))


def read_fitbit_sleep(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``sleep.json`` -> ``sleep_h`` and an efficiency-based ``sleep_quality`` per wake-up day."""
    zone(tz)
    seen: set[object] = set()
    best: dict[date, dict[str, Any]] = {}
    for i, entry in enumerate(_json_list(name, data)):
        if "dateOfSleep" not in entry or "minutesAsleep" not in entry:
            raise UnsupportedFormatError(name, f"entry {i}: not a Fitbit sleep log")
        log_id = entry.get("logId", i)
        if log_id in seen:
            continue
        seen.add(log_id)
        if not entry.get("mainSleep", True):
            continue
        day = parse_day(str(entry["dateOfSleep"]))
        if day is None:
            raise CorruptFileError(name, f"entry {i}: unreadable dateOfSleep")
        current = best.get(day)
        if current is None or entry["minutesAsleep"] > current["minutesAsleep"]:
            best[day] = entry
    observations = []
    for day, entry in best.items():
        efficiency = entry.get("efficiency")
        observations.append(DailyObservation(
            day=day,
            source=SOURCE,
            sleep_h=round(float(entry["minutesAsleep"]) / 60.0, 3),
            sleep_quality=efficiency_to_5(float(efficiency))
            if isinstance(efficiency, (int, float)) else None,
        ))
    return DailyImport(observations=merge_observations(observations))


def read_fitbit_sleep_score(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``sleep_score.csv`` -> ``sleep_quality`` (and ``rhr_bpm``) per wake-up day."""
    zone(tz)
    rows = csv_rows(decode_text(data, source=name), source=name)
    index = {header_key(h): i for i, h in enumerate(rows[0][1])}
    if "timestamp" not in index or "overall_score" not in index:
        raise UnsupportedFormatError(name, "not a Fitbit sleep_score.csv")
    observations: list[DailyObservation] = []
    for line, row in rows[1:]:
        day = parse_day(cell(row, index["timestamp"]) or "")
        if day is None:
            raise CorruptFileError(name, f"line {line}: unreadable timestamp")
        score = number(cell(row, index["overall_score"]), source=name, line=line,
                       column="overall_score")
        rhr = number(cell(row, index.get("resting_heart_rate")), source=name, line=line,
                     column="resting_heart_rate")
        observations.append(DailyObservation(
            day=day, source=SOURCE,
            sleep_quality=sleep_score_to_5(score) if score is not None and score > 0 else None,
            rhr_bpm=rhr if rhr is not None and rhr > 0 else None,
        ))
    return DailyImport(observations=merge_observations(observations))


def read_fitbit_exercise(name: str, data: bytes, *, tz: str) -> DailyImport:
    """``exercise.json`` -> one :class:`SessionLog` per logged exercise."""
    zone_info = zone(tz)
    sessions: list[SessionLog] = []
    seen: set[object] = set()
    for i, entry in enumerate(_json_list(name, data)):
        if "activityName" not in entry or "startTime" not in entry:
            raise UnsupportedFormatError(name, f"entry {i}: not a Fitbit exercise log")
        log_id = entry.get("logId")
        if log_id is not None and log_id in seen:
            continue
        seen.add(log_id)
        start = _fitbit_time(str(entry["startTime"]))
        if start is None:
            raise CorruptFileError(name, f"entry {i}: unreadable startTime {entry['startTime']!r}")
        duration_ms = entry.get("activeDuration") or entry.get("duration")
        if not isinstance(duration_ms, (int, float)) or duration_ms <= 0:
            continue
        started_at = to_utc(start, tz=zone_info)
        distance_m = None
        distance = entry.get("distance")
        unit = str(entry.get("distanceUnit", "")).lower()
        if isinstance(distance, (int, float)) and distance > 0 and unit in DISTANCE_UNIT_M:
            distance_m = round(distance * DISTANCE_UNIT_M[unit], 1)
        hr = entry.get("averageHeartRate")
        sessions.append(SessionLog(
            day=local_day(started_at, tz=zone_info),
            source=SOURCE,
            sport=daily_sport(str(entry["activityName"])),
            duration_s=float(duration_ms) / 1000.0,
            started_at=started_at,
            name=str(entry["activityName"]),
            avg_hr_bpm=float(hr) if isinstance(hr, (int, float)) and hr > 0 else None,
            distance_m=distance_m,
            external_id=f"fitbit:{log_id}" if log_id is not None else None,
        ))
    return DailyImport(observations=(), sessions=tuple(sessions))


def _session_key(session: SessionLog) -> tuple[date, float]:
    return (session.day, session.started_at.timestamp() if session.started_at else 0.0)


def _fitbit_time(text: str) -> datetime | None:
    """Fitbit ``2019-11-01 14:56:32`` or ``11/01/19 14:56:32`` (local wall clock)."""
    moment = parse_datetime(text)
    if moment is not None:
        return moment.replace(tzinfo=None) if moment.tzinfo is not None else moment
    try:
        return datetime.strptime(text.strip(), "%m/%d/%y %H:%M:%S")
    except ValueError:
        return None


_Reader = Callable[..., DailyImport]

#: File-name prefix -> reader, in merge order (later readers override earlier values).
FITBIT_FILES: tuple[tuple[str, str, _Reader], ...] = (
    ("sleep", ".json", read_fitbit_sleep),
    ("sleep_score", ".csv", read_fitbit_sleep_score),
    ("resting_heart_rate", ".json", read_fitbit_resting_hr),
    ("exercise", ".json", read_fitbit_exercise),
)


def _prefix_of(filename: str) -> str | None:
    base = filename.rsplit("/", 1)[-1].lower()
    for prefix, suffix, _ in FITBIT_FILES:
        if not base.endswith(suffix):
            continue
        stem = base[: -len(suffix)]
        if stem == prefix or (stem.startswith(prefix) and stem[len(prefix)] in "-_"
                              and not stem[len(prefix) + 1:len(prefix) + 2].isalpha()):
            return prefix
    return None


def fitbit_reader_for(filename: str) -> _Reader | None:
    """The reader of a Fitbit export file, by name (``sleep-2020-01-01.json`` too)."""
    prefix = _prefix_of(filename)
    return next((reader for p, _, reader in FITBIT_FILES if p == prefix), None)


def is_fitbit_folder(path: Path) -> bool:
    """A folder holding Fitbit export files (directly, in ``fitbit/``, or deeper)."""
    return any(fitbit_reader_for(p.name) for p in _fitbit_files(path))


def _fitbit_files(path: Path) -> list[Path]:
    root = path / "fitbit" if (path / "fitbit").is_dir() else path
    return sorted(p for p in root.rglob("*") if p.is_file() and fitbit_reader_for(p.name))


def read_fitbit_folder(path: Path, *, tz: str) -> DailyImport:
    """Read every recognised Fitbit file under ``path``, merged to one observation a day."""
    zone(tz)
    files = _fitbit_files(path)
    if not files:
        raise EmptyFileError(str(path), "no Fitbit export files (sleep, resting_heart_rate...)")
    rank = {prefix: i for i, (prefix, _, _) in enumerate(FITBIT_FILES)}
    files.sort(key=lambda p: (rank.get(_prefix_of(p.name) or "", 99), str(p)))
    observations: list[DailyObservation] = []
    sessions: dict[str, SessionLog] = {}
    warnings: list[str] = []
    for file in files:
        reader = fitbit_reader_for(file.name)
        assert reader is not None
        result = reader(str(file), file.read_bytes(), tz=tz)
        observations.extend(result.observations)
        for session in result.sessions:
            sessions.setdefault(session.external_id or f"{file}:{len(sessions)}", session)
        warnings.extend(result.warnings)
    # Resting HR from resting_heart_rate.json overrides the sleep score's (merge order).
    return DailyImport(
        observations=merge_observations(observations),
        sessions=tuple(sorted(sessions.values(), key=_session_key)),
        warnings=tuple(warnings),
    )
