"""GPX 1.0 / 1.1 reader: bytes -> :class:`~lydiard.domain.activity.Activity`.

Streams the document with the C ElementTree pull parser after :func:`prepare_xml`
(refuses DTDs, strips a BOM and leading whitespace). Tags are matched by local name,
so GPX 1.0, 1.1, files without a namespace and any extension prefix read the same.

* Track points (``trk/trkseg/trkpt``) become records. Routes (``rtept``) and
  waypoints are plans and places, not recordings: a file without track points
  raises :class:`EmptyFileError`, and so does one whose track points carry no time.
* Extensions, matched by local name: Garmin ``TrackPointExtension`` v1/v2 (``hr``,
  ``cad``, ``atemp``, ``speed``), ClueTrust ``gpxdata`` (``hr``, ``cadence``,
  ``temp``, ``speed``, ``distance``), power (``power``, ``PowerInWatts``,
  ``watts``); GPX 1.0's ``speed`` element too.
* Distance: the recorded distance channel when the file has one; otherwise the
  cumulative haversine distance between consecutive fixes of a segment. Speed: the
  recorded channel when present; otherwise step distance / dt. A step whose implied
  speed exceeds the GPS-jump threshold of :mod:`lydiard.domain.cleaning` adds no
  distance and gives no speed (the cleaner then removes the fix itself).
* The sport comes from the first ``trk/type`` (Garmin ``cycling``, Strava numeric
  codes ``1``/``9``...), the name from ``trk/name`` or ``metadata/name``, the device
  from the ``creator`` attribute.
"""

from __future__ import annotations

import numpy as np

from lydiard.domain.activity import Activity, empty_laps
from lydiard.domain.cleaning import GPS_JUMP_SPEED_MPS, haversine_m
from lydiard.domain.columns import Col
from lydiard.errors import EmptyFileError
from lydiard.ingest._common import (
    LocalNames,
    epoch_s,
    iter_xml_end,
    normalise_sport,
    prepare_xml,
    records_frame,
    summarise,
    to_float,
    to_utc,
)

_N_SLOTS = 10
#: Child of a trkpt (local name) -> slot in a row; lat/lon are attributes (slots 1, 2).
_POINT_FIELDS: dict[str, int] = {
    "time": 0,
    "ele": 3,
    "hr": 4,
    "heartrate": 4,
    "cad": 5,
    "cadence": 5,
    "atemp": 6,
    "temp": 6,
    "speed": 7,
    "power": 8,
    "PowerInWatts": 8,
    "watts": 8,
    "distance": 9,
}
_IGNORE, _TRKPT, _TRKSEG, _TRK, _ROOT, _DROP = range(6)
_ACTIONS: dict[str, int] = {
    "trkpt": _TRKPT,
    "trkseg": _TRKSEG,
    "trk": _TRK,
    "gpx": _ROOT,
    "wpt": _DROP,
    "rte": _DROP,
    "rtept": _DROP,
}


def _step_distances(
    lat_deg: np.ndarray, lon_deg: np.ndarray, time_s: np.ndarray, segment: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per-point step distance (m, 0 at segment starts) and implied speed (m/s or NaN)."""
    n = lat_deg.size
    step_m = np.zeros(n)
    speed_mps = np.full(n, np.nan)
    if n < 2:
        return step_m, speed_mps
    raw = haversine_m(lat_deg[:-1], lon_deg[:-1], lat_deg[1:], lon_deg[1:])
    dt_s = np.diff(time_s)
    same_segment = segment[1:] == segment[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        implied = np.where(dt_s > 0, raw / np.where(dt_s > 0, dt_s, 1.0), np.nan)
    plausible = same_segment & np.isfinite(raw) & ~(implied > GPS_JUMP_SPEED_MPS)
    step_m[1:] = np.where(plausible, raw, 0.0)
    speed_mps[1:] = np.where(plausible & (dt_s > 0), implied, np.nan)
    return step_m, speed_mps


def read_gpx(data: bytes, *, source: str) -> Activity:
    """Read a GPX document's tracks.

    Raises
    ------
    UnsafeInputError
        The document declares a DTD (entity expansion / external entity attack).
    CorruptFileError, TruncatedFileError
        The XML is not well-formed or ends early.
    EmptyFileError
        No track points (routes or waypoints only), or none with a valid time.
    """
    xml = prepare_xml(data, source=source)
    local = LocalNames()
    action_of: dict[str, int] = {}
    slot_of: dict[str, int] = {}
    rows: list[list[str | None]] = []
    segment_of_row: list[int] = []
    segment = 0
    track_type: str | None = None
    track_name: str | None = None
    other_name: str | None = None
    creator: str | None = None

    for events in iter_xml_end(xml, source=source):
        for _event, elem in events:
            action = action_of.get(elem.tag)
            if action is None:
                action = _ACTIONS.get(local(elem.tag), _IGNORE)
                action_of[elem.tag] = action
            if action == _IGNORE:
                continue
            if action == _TRKPT:
                row: list[str | None] = [None] * _N_SLOTS
                row[1] = elem.get("lat")
                row[2] = elem.get("lon")
                for child in elem.iter():
                    slot = slot_of.get(child.tag)
                    if slot is None:
                        slot = _POINT_FIELDS.get(local(child.tag), -1)
                        slot_of[child.tag] = slot
                    if slot >= 0:
                        row[slot] = child.text
                rows.append(row)
                segment_of_row.append(segment)
                elem.clear()
            elif action == _TRKSEG:
                segment += 1
                elem.clear()
            elif action == _TRK:
                for child in elem:
                    text = (child.text or "").strip()
                    if text and local(child.tag) == "type" and track_type is None:
                        track_type = text
                    elif text and local(child.tag) == "name" and track_name is None:
                        track_name = text
                elem.clear()
            elif action == _DROP:
                elem.clear()
            elif action == _ROOT:
                creator = (elem.get("creator") or "").strip() or None
                for child in elem:
                    name = local(child.tag)
                    if name == "metadata":
                        for item in child:
                            if local(item.tag) == "name" and (item.text or "").strip():
                                other_name = (item.text or "").strip()
                    elif name == "name" and (child.text or "").strip():
                        other_name = (child.text or "").strip()  # GPX 1.0

    if not rows:
        raise EmptyFileError(source, "no track points (routes and waypoints are not recordings)")

    columns_text = list(zip(*rows, strict=True))
    time = to_utc(columns_text[0])
    has_time = time.notna().to_numpy()
    if not has_time.any():
        raise EmptyFileError(source, "no track point has a valid time")
    values = [to_float(c)[has_time] for c in columns_text[1:]]
    time = time[has_time].reset_index(drop=True)
    seg = np.asarray(segment_of_row)[has_time]
    lat, lon, ele, hr, cad, temp, speed, power, distance = values
    warnings: list[str] = []
    dropped = int((~has_time).sum())
    if dropped:
        warnings.append(f"{dropped} track points without a valid time were dropped")

    time_s = epoch_s(time)
    step_m, derived_speed = _step_distances(lat, lon, time_s, seg)
    if np.isnan(distance).all():
        distance = np.cumsum(step_m)
        if np.isnan(lat).all():
            distance = np.full(lat.size, np.nan)
    if np.isnan(speed).all():
        speed = derived_speed

    records = records_frame(
        time,
        {
            Col.LAT_DEG.value: lat,
            Col.LON_DEG.value: lon,
            Col.ALTITUDE_M.value: ele,
            Col.HR_BPM.value: hr,
            Col.CADENCE_RPM.value: cad,
            Col.TEMPERATURE_C.value: temp,
            Col.SPEED_MPS.value: speed,
            Col.POWER_W.value: power,
            Col.DISTANCE_M.value: distance,
        },
    )
    order_ok = bool(np.all(np.diff(time_s) >= 0))
    if not order_ok:
        warnings.append("track points are not in time order")
    summary = summarise(
        records,
        sport=normalise_sport(track_type),
        started_at=None,
        device=creator,
        name=track_name or other_name,
    )
    return Activity(
        records=records,
        summary=summary,
        laps=empty_laps(),
        rr_ms=np.empty(0, dtype=np.float64),
        source_format="gpx",
        warnings=tuple(warnings),
    )
