"""A small TCX writer: one activity, one lap, a track of timed points (Garmin TCX v2).

It writes what :mod:`lydiard.ingest.tcx` reads: time, position, altitude, distance, heart
rate, cadence and power (``ns3:TPX/Watts``). The demo uses it to make simulated workout
files that go through the real importer; exports of generated sessions could use it too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from xml.sax.saxutils import escape

#: TCX sport attribute of Lydiard's sports (TCX knows only these three).
TCX_SPORTS: dict[str, str] = {"run": "Running", "ride": "Biking"}


@dataclass(frozen=True, slots=True)
class TrackPoint:
    """One sample: seconds after the start, and what was measured (None = not recorded)."""

    t_s: float
    lat_deg: float | None = None
    lon_deg: float | None = None
    alt_m: float | None = None
    distance_m: float | None = None
    hr_bpm: float | None = None
    cadence_rpm: float | None = None
    power_w: float | None = None


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def write_tcx(points: Sequence[TrackPoint], *, started_at: datetime, sport: str = "run",
              device: str = "Lydiard simulator", notes: str | None = None) -> bytes:
    """The TCX document of one activity starting at ``started_at`` (tz-aware)."""
    if started_at.tzinfo is None:
        raise ValueError("started_at must be tz-aware")
    if not points:
        raise ValueError("an activity needs at least one point")
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n',
           '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2" '
           'xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">',
           f'<Activities><Activity Sport="{TCX_SPORTS.get(sport, "Other")}"><Id>{_iso(started_at)}</Id>']
    duration_s = points[-1].t_s - points[0].t_s
    distance = next((p.distance_m for p in reversed(points) if p.distance_m is not None), None)
    hrs = [p.hr_bpm for p in points if p.hr_bpm is not None]
    out.append(f'<Lap StartTime="{_iso(started_at + timedelta(seconds=points[0].t_s))}">'
               f"<TotalTimeSeconds>{duration_s:.1f}</TotalTimeSeconds>")
    if distance is not None:
        out.append(f"<DistanceMeters>{distance:.1f}</DistanceMeters>")
    if hrs:
        out.append(f"<AverageHeartRateBpm><Value>{round(sum(hrs) / len(hrs))}</Value></AverageHeartRateBpm>"
                   f"<MaximumHeartRateBpm><Value>{round(max(hrs))}</Value></MaximumHeartRateBpm>")
    out.append("<Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>")
    for p in points:
        out.append(f"<Trackpoint><Time>{_iso(started_at + timedelta(seconds=p.t_s))}</Time>")
        if p.lat_deg is not None and p.lon_deg is not None:
            out.append(f"<Position><LatitudeDegrees>{p.lat_deg:.7f}</LatitudeDegrees>"
                       f"<LongitudeDegrees>{p.lon_deg:.7f}</LongitudeDegrees></Position>")
        if p.alt_m is not None:
            out.append(f"<AltitudeMeters>{p.alt_m:.1f}</AltitudeMeters>")
        if p.distance_m is not None:
            out.append(f"<DistanceMeters>{p.distance_m:.1f}</DistanceMeters>")
        if p.hr_bpm is not None:
            out.append(f"<HeartRateBpm><Value>{round(p.hr_bpm)}</Value></HeartRateBpm>")
        if p.cadence_rpm is not None:
            out.append(f"<Cadence>{round(p.cadence_rpm)}</Cadence>")
        if p.power_w is not None:
            out.append(f"<Extensions><ns3:TPX><ns3:Watts>{round(p.power_w)}</ns3:Watts></ns3:TPX></Extensions>")
        out.append("</Trackpoint>")
    out.append("</Track></Lap>")
    if notes:
        out.append(f"<Notes>{escape(notes)}</Notes>")
    out.append(f'<Creator xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="Device_t">'
               f"<Name>{escape(device)}</Name><UnitId>0</UnitId></Creator>")
    out.append("</Activity></Activities></TrainingCenterDatabase>")
    return "".join(out).encode("utf-8")


__all__ = ["TCX_SPORTS", "TrackPoint", "write_tcx"]
