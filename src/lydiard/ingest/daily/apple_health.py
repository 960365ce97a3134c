"""Apple Health ``export.xml`` (from the Health app's "Export All Health Data"), streamed.

The file is parsed with :func:`defusedxml.ElementTree.iterparse` (Apple's internal DTD is
allowed; entity declarations and external references are refused) and every top-level element
is dropped from the tree once read, so memory stays flat however large the export (they reach
gigabytes).

Read:

* ``HKQuantityTypeIdentifierRestingHeartRate`` -> ``rhr_bpm``: the mean of the day's records
  (a record's day is the local day of its ``startDate`` in ``tz``).
* ``HKCategoryTypeIdentifierSleepAnalysis`` with an *asleep* value (``...Asleep``,
  ``AsleepUnspecified``, ``AsleepCore``, ``AsleepDeep``, ``AsleepREM``; not ``InBed`` or
  ``Awake``) -> ``sleep_h``: intervals from all sources are united (a watch and a phone
  recording the same night count once), intervals less than 3 h apart form one sleep, and each
  wake-up day gets its longest sleep (its main sleep, as Fitbit's ``mainSleep``; naps are not
  added).
* ``Workout`` elements -> :class:`SessionLog`: ``workoutActivityType``
  (``HKWorkoutActivityTypeRunning``...) -> sport, ``duration`` in ``durationUnit``,
  ``totalDistance`` or the ``WorkoutStatistics`` distance sum -> ``distance_m``, the
  ``WorkoutStatistics`` heart-rate average -> ``avg_hr_bpm``.

**HRV is skipped.** Apple records ``HKQuantityTypeIdentifierHeartRateVariabilitySDNN``: SDNN
of short, irregularly timed readings, not rMSSD. ``DailyObservation`` has no SDNN field, and
storing SDNN as ``rmssd_ms`` would put a different statistic on the rMSSD baseline; the records
are counted and reported in the import's warnings instead.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import defusedxml
import defusedxml.ElementTree as DET

from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.errors import (
    CorruptFileError,
    TruncatedFileError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from lydiard.ingest.daily._common import (
    daily_sport,
    local_day,
    merge_observations,
    parse_datetime,
    zone,
)

SOURCE = "apple-health"
RESTING_HR = "HKQuantityTypeIdentifierRestingHeartRate"
HRV_SDNN = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
SLEEP = "HKCategoryTypeIdentifierSleepAnalysis"
ASLEEP_VALUES = frozenset({
    "HKCategoryValueSleepAnalysisAsleep",
    "HKCategoryValueSleepAnalysisAsleepUnspecified",
    "HKCategoryValueSleepAnalysisAsleepCore",
    "HKCategoryValueSleepAnalysisAsleepDeep",
    "HKCategoryValueSleepAnalysisAsleepREM",
})
#: Asleep intervals closer than this belong to the same sleep.
SLEEP_GAP = timedelta(hours=3)
_DURATION_S = {"s": 1.0, "sec": 1.0, "min": 60.0, "h": 3600.0, "hr": 3600.0}
_DISTANCE_M = {"m": 1.0, "km": 1000.0, "mi": 1609.344, "yd": 0.9144, "ft": 0.3048}
_DISTANCE_TYPES = frozenset({
    "HKQuantityTypeIdentifierDistanceWalkingRunning", "HKQuantityTypeIdentifierDistanceCycling",
    "HKQuantityTypeIdentifierDistanceSwimming", "HKQuantityTypeIdentifierDistanceWheelchair",
    "HKQuantityTypeIdentifierDistanceDownhillSnowSports",
})

Source = Path | str | bytes | IO[bytes]


def read_apple_health(source: Source, *, tz: str, name: str | None = None) -> DailyImport:
    """Stream an Apple Health ``export.xml`` (a path, a binary file object or bytes)."""
    zone_info = zone(tz)
    label = name or (str(source) if isinstance(source, (Path, str)) else "export.xml")
    stream: str | IO[bytes]
    if isinstance(source, bytes):
        stream = io.BytesIO(source)
    elif isinstance(source, Path):
        stream = str(source)
    else:
        stream = source

    rhr_by_day: dict[date, list[float]] = defaultdict(list)
    asleep: list[tuple[datetime, datetime]] = []
    sessions: list[SessionLog] = []
    warnings: list[str] = []
    counts = {"sdnn": 0, "bad": 0}

    depth = 0
    root: ET.Element | None = None
    try:
        for event, elem in DET.iterparse(stream, events=("start", "end"), forbid_dtd=False,
                                         forbid_entities=True, forbid_external=True):
            if event == "start":
                depth += 1
                if root is None:
                    root = elem
                    if elem.tag != "HealthData":
                        raise UnsupportedFormatError(
                            label, f"root element is <{elem.tag}>, not Apple Health <HealthData>")
                continue
            depth -= 1
            if depth != 1:
                continue  # nested elements are read with their top-level parent
            tag = elem.tag
            if tag == "Record":
                _record(elem, tz=zone_info, rhr_by_day=rhr_by_day, asleep=asleep, counts=counts)
            elif tag == "Workout":
                session = _workout(elem, tz=zone_info)
                if session is None:
                    counts["bad"] += 1
                else:
                    sessions.append(session)
            assert root is not None
            root.clear()  # drop what has been read: memory stays flat
    except defusedxml.DefusedXmlException as exc:
        raise UnsafeInputError(label, f"refused XML construct: {exc}") from exc
    except ET.ParseError as exc:
        line, column = exc.position
        if root is None:
            raise UnsupportedFormatError(label, f"not an XML file: {exc}") from exc
        reason = f"not well-formed XML at line {line}, column {column}: {exc}"
        if "no element found" in str(exc) or "unclosed token" in str(exc):
            raise TruncatedFileError(label, reason) from exc
        raise CorruptFileError(label, reason) from exc
    if root is None:
        raise UnsupportedFormatError(label, "no XML root element")

    observations = [
        DailyObservation(day=day, source=SOURCE, rhr_bpm=round(sum(v) / len(v), 1))
        for day, v in rhr_by_day.items()
    ]
    observations.extend(
        DailyObservation(day=day, source=SOURCE, sleep_h=round(hours, 3))
        for day, hours in main_sleep_h_by_day(asleep, tz=zone_info).items()
    )
    if counts["sdnn"]:
        warnings.append(
            f"{label}: {counts['sdnn']} HRV records skipped: Apple Health records SDNN, "
            "not rMSSD, and the two are not interchangeable"
        )
    if counts["bad"]:
        warnings.append(f"{label}: {counts['bad']} records or workouts with unreadable "
                        "dates or values skipped")
    return DailyImport(observations=merge_observations(observations),
                       sessions=tuple(sorted(sessions, key=_session_key)),
                       warnings=tuple(warnings))


def _session_key(session: SessionLog) -> tuple[date, float]:
    return (session.day, session.started_at.timestamp() if session.started_at else 0.0)


def _instant(text: str | None) -> datetime | None:
    moment = parse_datetime(text or "")
    if moment is None or moment.tzinfo is None:
        return None  # Apple always writes an offset; anything else is not trustworthy
    return moment.astimezone(UTC)


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _record(elem: ET.Element, *, tz: Any, rhr_by_day: dict[date, list[float]],
            asleep: list[tuple[datetime, datetime]], counts: dict[str, int]) -> None:
    kind = elem.get("type")
    if kind == RESTING_HR:
        start = _instant(elem.get("startDate"))
        value = _float(elem.get("value"))
        if start is None or value is None or not 20 <= value <= 200:
            counts["bad"] += 1
            return
        rhr_by_day[local_day(start, tz=tz)].append(value)
    elif kind == SLEEP:
        if elem.get("value") not in ASLEEP_VALUES:
            return
        start = _instant(elem.get("startDate"))
        end = _instant(elem.get("endDate"))
        if start is None or end is None or end <= start:
            counts["bad"] += 1
            return
        asleep.append((start, end))
    elif kind == HRV_SDNN:
        counts["sdnn"] += 1


def main_sleep_h_by_day(intervals: list[tuple[datetime, datetime]], *, tz: Any) -> dict[date, float]:
    """Hours of the longest sleep ending on each local day (see the module docstring)."""
    result: dict[date, float] = {}
    if not intervals:
        return result
    ordered = sorted(intervals)
    # union of overlapping intervals
    merged: list[list[datetime]] = [list(ordered[0])]
    for start, end in ordered[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    # group into sleeps
    episode_end = merged[0][1]
    episode_s = 0.0
    episodes: list[tuple[datetime, float]] = []
    for start, end in merged:
        if start - episode_end > SLEEP_GAP:
            episodes.append((episode_end, episode_s))
            episode_s = 0.0
        episode_s += (end - start).total_seconds()
        episode_end = end
    episodes.append((episode_end, episode_s))
    for end, seconds in episodes:
        day = local_day(end, tz=tz)
        result[day] = max(result.get(day, 0.0), seconds / 3600.0)
    return result


def _workout(elem: ET.Element, *, tz: Any) -> SessionLog | None:
    activity = elem.get("workoutActivityType") or "HKWorkoutActivityTypeOther"
    start = _instant(elem.get("startDate"))
    end = _instant(elem.get("endDate"))
    if start is None:
        return None
    duration = _float(elem.get("duration"))
    unit = (elem.get("durationUnit") or "min").lower()
    if duration is not None and unit in _DURATION_S:
        duration_s = duration * _DURATION_S[unit]
    elif end is not None:
        duration_s = (end - start).total_seconds()
    else:
        return None
    if duration_s <= 0:
        return None

    distance_m = _distance_m(elem.get("totalDistance"), elem.get("totalDistanceUnit"))
    avg_hr: float | None = None
    for child in elem:
        if child.tag != "WorkoutStatistics":
            continue
        stat_type = child.get("type")
        if stat_type == "HKQuantityTypeIdentifierHeartRate":
            avg_hr = _float(child.get("average"))
        elif stat_type in _DISTANCE_TYPES and distance_m is None:
            distance_m = _distance_m(child.get("sum"), child.get("unit"))
    name = activity.removeprefix("HKWorkoutActivityType")
    return SessionLog(
        day=local_day(start, tz=tz),
        source=SOURCE,
        sport=daily_sport(activity),
        duration_s=round(duration_s, 1),
        started_at=start,
        name=name,
        avg_hr_bpm=round(avg_hr, 1) if avg_hr else None,
        distance_m=distance_m,
        external_id=f"apple-health:{name}:{start.isoformat()}",
    )


def _distance_m(value: str | None, unit: str | None) -> float | None:
    amount = _float(value)
    factor = _DISTANCE_M.get((unit or "").lower())
    if amount is None or factor is None or amount <= 0:
        return None
    return round(amount * factor, 1)
