"""Garmin Training Center (TCX) reader: bytes -> :class:`~lydiard.domain.activity.Activity`.

Streams the document with the C ElementTree pull parser after :func:`prepare_xml`
(refuses DTDs, strips a BOM and leading whitespace). Tags are matched by local name,
so TCX v1, v2, files without a namespace and any extension prefix (``ns3:TPX``,
``ext:TPX``, default-namespace ``TPX``) read the same.

* Trackpoints of every ``Activity`` (also inside multisport sessions) become
  records: time, position, altitude, distance, heart rate, cadence (``Cadence`` or
  the ``RunCadence`` extension), and ``Speed`` / ``Watts`` from the ``TPX``
  extension. Trackpoints inside ``Courses`` (planned routes) are ignored.
* Laps become rows of ``laps`` (start, ``TotalTimeSeconds``, distance, average and
  maximum heart rate, ``LX/AvgWatts``).
* The sport is the ``Sport`` attribute of the activity holding most trackpoints,
  normalised (Running -> run, Biking -> ride, Other -> other, and Strava / Garmin
  names); the device is the first ``Creator/Name``.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from lydiard.domain.activity import Activity, empty_records
from lydiard.domain.columns import Col, LapCol
from lydiard.errors import EmptyFileError
from lydiard.ingest._common import (
    LocalNames,
    iter_xml_end,
    laps_frame,
    normalise_sport,
    parse_instant,
    prepare_xml,
    records_frame,
    summarise,
    to_float,
    to_utc,
)

#: Trackpoint child (local name) -> slot in a row.
_TRACKPOINT_FIELDS: dict[str, int] = {
    "Time": 0,
    "LatitudeDegrees": 1,
    "LongitudeDegrees": 2,
    "AltitudeMeters": 3,
    "DistanceMeters": 4,
    "Value": 5,  # HeartRateBpm/Value: the only Value inside a Trackpoint
    "Cadence": 6,
    "RunCadence": 6,
    "Speed": 7,
    "Watts": 8,
}
_IGNORE, _TRACKPOINT, _TRACK, _LAP, _CREATOR, _ID, _ACTIVITY, _COURSE = range(8)
#: Element (local name) -> what to do when it ends.
_ACTIONS: dict[str, int] = {
    "Trackpoint": _TRACKPOINT,
    "Track": _TRACK,
    "Lap": _LAP,
    "Creator": _CREATOR,
    "Id": _ID,
    "Activity": _ACTIVITY,
    "Course": _COURSE,
}
_ROW_COLUMNS: tuple[str, ...] = (
    Col.LAT_DEG.value,
    Col.LON_DEG.value,
    Col.ALTITUDE_M.value,
    Col.DISTANCE_M.value,
    Col.HR_BPM.value,
    Col.CADENCE_RPM.value,
    Col.SPEED_MPS.value,
    Col.POWER_W.value,
)


def _lap_row(lap: ET.Element, local: LocalNames) -> dict[str, str | None]:
    row: dict[str, str | None] = {LapCol.STARTED_AT.value: lap.get("StartTime")}
    for child in lap:
        name = local(child.tag)
        if name == "TotalTimeSeconds":
            row[LapCol.DURATION_S.value] = child.text
        elif name == "DistanceMeters":
            row[LapCol.DISTANCE_M.value] = child.text
        elif name in ("AverageHeartRateBpm", "MaximumHeartRateBpm"):
            key = LapCol.AVG_HR_BPM if name.startswith("Average") else LapCol.MAX_HR_BPM
            for value in child:
                if local(value.tag) == "Value":
                    row[key.value] = value.text
        elif name == "Extensions":
            for item in child.iter():
                if local(item.tag) == "AvgWatts":
                    row[LapCol.AVG_POWER_W.value] = item.text
    return row


def read_tcx(data: bytes, *, source: str) -> Activity:
    """Read a TCX document.

    Raises
    ------
    UnsafeInputError
        The document declares a DTD (entity expansion / external entity attack).
    CorruptFileError, TruncatedFileError
        The XML is not well-formed or ends early.
    EmptyFileError
        No activity with trackpoints or laps.
    """
    xml = prepare_xml(data, source=source)
    local = LocalNames()
    slot_of: dict[str, int] = {}  # full tag -> row slot (-1: not a sample field)
    rows: list[list[str | None]] = []
    laps: list[dict[str, str | None]] = []
    activity_sports: list[tuple[str | None, int]] = []  # (Sport attribute, trackpoints)
    boundary_rows = 0  # rows before the current Activity / Course
    boundary_laps = 0
    device: str | None = None
    activity_id: str | None = None
    warnings: list[str] = []

    action_of: dict[str, int] = {}  # full tag -> action code (see _ACTIONS)
    for events in iter_xml_end(xml, source=source):
        for _event, elem in events:
            action = action_of.get(elem.tag)
            if action is None:
                action = _ACTIONS.get(local(elem.tag), _IGNORE)
                action_of[elem.tag] = action
            if action == _IGNORE:
                continue
            if action == _TRACKPOINT:
                row: list[str | None] = [None] * 9
                for child in elem.iter():
                    slot = slot_of.get(child.tag)
                    if slot is None:
                        slot = _TRACKPOINT_FIELDS.get(local(child.tag), -1)
                        slot_of[child.tag] = slot
                    if slot >= 0:
                        row[slot] = child.text
                rows.append(row)
                elem.clear()
            elif action == _TRACK:
                elem.clear()
            elif action == _LAP:
                laps.append(_lap_row(elem, local))
                elem.clear()
            elif action == _CREATOR:
                if device is None:
                    for child in elem:
                        if local(child.tag) == "Name" and child.text and child.text.strip():
                            device = child.text.strip()
                            break
            elif action == _ID:
                if activity_id is None:
                    activity_id = elem.text
            elif action == _ACTIVITY:
                activity_sports.append((elem.get("Sport"), len(rows) - boundary_rows))
                boundary_rows, boundary_laps = len(rows), len(laps)
                elem.clear()
            elif action == _COURSE:
                # a planned route: its points are not a recording
                del rows[boundary_rows:]
                del laps[boundary_laps:]
                elem.clear()

    if not rows and not laps:
        raise EmptyFileError(source, "no track points or laps in the TCX file")

    columns_text = list(zip(*rows, strict=True)) if rows else [()] * 9
    time = to_utc(columns_text[0])
    columns = {
        name: to_float(values)
        for name, values in zip(_ROW_COLUMNS, columns_text[1:], strict=True)
    }
    if rows:
        records = records_frame(time, columns)
        no_time = records[Col.TIME.value].isna().to_numpy()
        if no_time.any():
            warnings.append(f"{int(no_time.sum())} trackpoints without a valid time were dropped")
            records = records.loc[~no_time].reset_index(drop=True)
    else:
        records = empty_records()

    lap_frame = laps_frame(laps)
    started_at = None
    if len(records) == 0:
        lap_starts = lap_frame[LapCol.STARTED_AT.value].dropna()
        started_at = lap_starts.min().to_pydatetime() if len(lap_starts) else None
        if started_at is None:
            started_at = parse_instant(activity_id)
        if started_at is None:
            raise EmptyFileError(source, "no track point or lap has a valid time")

    sport_text = max(activity_sports, key=lambda item: item[1])[0] if activity_sports else None
    lap_durations = lap_frame[LapCol.DURATION_S.value].to_numpy(dtype=np.float64)
    lap_distances = lap_frame[LapCol.DISTANCE_M.value].to_numpy(dtype=np.float64)
    timer_time_s = float(np.nansum(lap_durations)) if np.isfinite(lap_durations).any() else None
    distance_m = float(np.nansum(lap_distances)) if np.isfinite(lap_distances).any() else None
    summary = summarise(
        records,
        sport=normalise_sport(sport_text),
        started_at=started_at,
        timer_time_s=timer_time_s,
        distance_m=distance_m,
        device=device,
    )
    return Activity(
        records=records,
        summary=summary,
        laps=lap_frame,
        rr_ms=np.empty(0, dtype=np.float64),
        source_format="tcx",
        warnings=tuple(warnings),
    )
