"""Builders of synthetic TCX / GPX documents for the ingest tests (our own fixtures)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

T0 = datetime(2024, 5, 1, 6, 30, tzinfo=UTC)
#: Metres per 0.0001 degree of latitude (haversine, mean Earth radius).
M_PER_1E4_DEG_LAT = 11.119508


@dataclass(frozen=True)
class Point:
    t_s: float
    lat_deg: float | None = 46.0
    lon_deg: float | None = 7.0
    alt_m: float | None = 500.0
    dist_m: float | None = None
    hr_bpm: float | None = 140
    cad_rpm: float | None = 85
    speed_mps: float | None = None
    power_w: float | None = None
    temp_c: float | None = None


def iso(t_s: float) -> str:
    return (T0 + timedelta(seconds=t_s)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def line(n: int, *, dt_s: float = 1.0, step_deg: float = 0.0001, **fields: float | None
         ) -> list[Point]:
    """n points heading north, one every dt_s, step_deg of latitude apart."""
    return [
        Point(t_s=i * dt_s, lat_deg=46.0 + i * step_deg, dist_m=i * step_deg * 1e4
              * M_PER_1E4_DEG_LAT, **fields)
        for i in range(n)
    ]


def _tcx_trackpoint(p: Point) -> str:
    parts = [f"<Trackpoint><Time>{iso(p.t_s)}</Time>"]
    if p.lat_deg is not None and p.lon_deg is not None:
        parts.append(f"<Position><LatitudeDegrees>{p.lat_deg}</LatitudeDegrees>"
                     f"<LongitudeDegrees>{p.lon_deg}</LongitudeDegrees></Position>")
    if p.alt_m is not None:
        parts.append(f"<AltitudeMeters>{p.alt_m}</AltitudeMeters>")
    if p.dist_m is not None:
        parts.append(f"<DistanceMeters>{p.dist_m}</DistanceMeters>")
    if p.hr_bpm is not None:
        parts.append(f"<HeartRateBpm><Value>{p.hr_bpm:g}</Value></HeartRateBpm>")
    if p.cad_rpm is not None:
        parts.append(f"<Cadence>{p.cad_rpm:g}</Cadence>")
    if p.speed_mps is not None or p.power_w is not None:
        parts.append("<Extensions><ns3:TPX>")
        if p.speed_mps is not None:
            parts.append(f"<ns3:Speed>{p.speed_mps}</ns3:Speed>")
        if p.power_w is not None:
            parts.append(f"<ns3:Watts>{p.power_w:g}</ns3:Watts>")
        parts.append("</ns3:TPX></Extensions>")
    parts.append("</Trackpoint>")
    return "".join(parts)


def tcx(
    laps: list[list[Point]],
    *,
    sport: str = "Biking",
    device: str | None = "Edge 530",
    courses: list[list[Point]] | None = None,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    out = [
        prolog,
        '<TrainingCenterDatabase xmlns="http://www.garmin.com/xmlschemas/TrainingCenterDatabase/v2"'
        ' xmlns:ns3="http://www.garmin.com/xmlschemas/ActivityExtension/v2">',
        f'<Activities><Activity Sport="{sport}"><Id>{iso(0)}</Id>',
    ]
    for lap in laps:
        start, end = lap[0].t_s, lap[-1].t_s
        hrs = [p.hr_bpm for p in lap if p.hr_bpm is not None]
        watts = [p.power_w for p in lap if p.power_w is not None]
        dist = (lap[-1].dist_m or 0.0) - (lap[0].dist_m or 0.0)
        out.append(f'<Lap StartTime="{iso(start)}"><TotalTimeSeconds>{end - start}'
                   f"</TotalTimeSeconds><DistanceMeters>{dist}</DistanceMeters>")
        if hrs:
            out.append(f"<AverageHeartRateBpm><Value>{round(sum(hrs) / len(hrs))}</Value>"
                       f"</AverageHeartRateBpm><MaximumHeartRateBpm><Value>{max(hrs):g}"
                       "</Value></MaximumHeartRateBpm>")
        out.append("<Intensity>Active</Intensity><TriggerMethod>Manual</TriggerMethod><Track>")
        out.extend(_tcx_trackpoint(p) for p in lap)
        out.append("</Track>")
        if watts:
            out.append(f"<Extensions><ns3:LX><ns3:AvgWatts>{sum(watts) / len(watts)}"
                       "</ns3:AvgWatts></ns3:LX></Extensions>")
        out.append("</Lap>")
    if device is not None:
        out.append(f'<Creator xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
                   f'xsi:type="Device_t"><Name>{device}</Name><UnitId>1</UnitId></Creator>')
    out.append("</Activity></Activities>")
    if courses:
        out.append("<Courses>")
        for course in courses:
            out.append("<Course><Name>Planned</Name><Lap><TotalTimeSeconds>1</TotalTimeSeconds>"
                       "</Lap><Track>")
            out.extend(_tcx_trackpoint(p) for p in course)
            out.append("</Track></Course>")
        out.append("</Courses>")
    out.append("<Author><Name>Connect Api</Name></Author></TrainingCenterDatabase>")
    return "".join(out).encode("utf-8")


def _gpx_point(p: Point, *, version: str) -> str:
    attrs = ""
    if p.lat_deg is not None and p.lon_deg is not None:
        attrs = f' lat="{p.lat_deg}" lon="{p.lon_deg}"'
    parts = [f"<trkpt{attrs}>"]
    if p.alt_m is not None:
        parts.append(f"<ele>{p.alt_m}</ele>")
    parts.append(f"<time>{iso(p.t_s)}</time>")
    if version == "1.0" and p.speed_mps is not None:
        parts.append(f"<speed>{p.speed_mps}</speed>")
    ext = []
    if p.temp_c is not None:
        ext.append(f"<gpxtpx:atemp>{p.temp_c}</gpxtpx:atemp>")
    if p.hr_bpm is not None:
        ext.append(f"<gpxtpx:hr>{p.hr_bpm:g}</gpxtpx:hr>")
    if p.cad_rpm is not None:
        ext.append(f"<gpxtpx:cad>{p.cad_rpm:g}</gpxtpx:cad>")
    if version == "1.1" and (ext or p.power_w is not None):
        parts.append("<extensions>")
        if p.power_w is not None:
            parts.append(f"<power>{p.power_w:g}</power>")
        if ext:
            parts.append("<gpxtpx:TrackPointExtension>" + "".join(ext)
                         + "</gpxtpx:TrackPointExtension>")
        parts.append("</extensions>")
    parts.append("</trkpt>")
    return "".join(parts)


def gpx(
    segments: list[list[Point]],
    *,
    version: str = "1.1",
    track_type: str | None = "cycling",
    name: str | None = "Morning Ride",
    creator: str = "Lydiard tests",
    routes: bool = False,
    prolog: str = '<?xml version="1.0" encoding="UTF-8"?>\n',
) -> bytes:
    ns = "http://www.topografix.com/GPX/1/1" if version == "1.1" else \
        "http://www.topografix.com/GPX/1/0"
    out = [prolog, f'<gpx version="{version}" creator="{creator}" xmlns="{ns}" '
           'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">',
           f"<metadata><time>{iso(0)}</time></metadata>" if version == "1.1" else ""]
    out.append('<wpt lat="46.5" lon="7.5"><name>Start</name></wpt>')
    if routes:
        out.append("<rte><name>Plan</name>")
        for seg in segments:
            out.extend(f'<rtept lat="{p.lat_deg}" lon="{p.lon_deg}"><time>{iso(p.t_s)}</time>'
                       "</rtept>" for p in seg)
        out.append("</rte>")
    else:
        out.append("<trk>")
        if name is not None:
            out.append(f"<name>{name}</name>")
        if track_type is not None:
            out.append(f"<type>{track_type}</type>")
        for seg in segments:
            out.append("<trkseg>")
            out.extend(_gpx_point(p, version=version) for p in seg)
            out.append("</trkseg>")
        out.append("</trk>")
    out.append("</gpx>")
    return "".join(out).encode("utf-8")
