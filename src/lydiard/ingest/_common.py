"""Helpers shared by the XML readers (TCX, GPX): safe XML, sport names, frames, summaries."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

import numpy as np
import pandas as pd

from lydiard.domain.activity import ActivitySummary
from lydiard.domain.columns import LAP_COLUMNS, SAMPLE_COLUMNS, Col
from lydiard.errors import CorruptFileError, TruncatedFileError, UnsafeInputError

#: Speed above which a sample counts as moving, m/s (a slow walk is ~1 m/s).
MOVING_SPEED_MPS = 0.5
#: A gap between samples longer than this is a pause, not moving time, s.
MAX_MOVING_GAP_S = 30.0
#: Bytes fed to the XML parser at a time.
XML_CHUNK_BYTES = 1 << 20

_NS_MIN = pd.Timestamp("1678-01-01", tz="UTC")
_NS_MAX = pd.Timestamp("2261-12-31", tz="UTC")
_UTF8_BOM = b"\xef\xbb\xbf"
_DOCTYPE_MARKERS = (
    b"<!DOCTYPE",
    "<!DOCTYPE".encode("utf-16-le"),
    "<!DOCTYPE".encode("utf-16-be"),
)


def prepare_xml(data: bytes, *, source: str) -> bytes:
    """Return ``data`` ready for the XML parser, or raise :class:`UnsafeInputError`.

    * A UTF-8 byte-order mark and whitespace before ``<?xml`` are removed (some
      exporters, e.g. Polar Flow, write a newline first, which is not well-formed).
    * Any document type declaration is refused. TCX and GPX never need one, and
      every entity attack (billion laughs, quadratic blow-up, external entities,
      XXE) needs a DTD: ``<!DOCTYPE`` is a literal token in every encoding the
      parser accepts (ASCII-compatible single-byte encodings, UTF-8, UTF-16), so
      refusing it before parsing leaves the fast C parser with nothing to expand.
    """
    start = 0
    if data.startswith(_UTF8_BOM):
        start = len(_UTF8_BOM)
    while start < len(data) and data[start] in b" \t\r\n":
        start += 1
    cleaned = data[start:] if start else data
    for marker in _DOCTYPE_MARKERS:
        offset = cleaned.find(marker)
        if offset >= 0:
            raise UnsafeInputError(
                source,
                "XML document type declarations (DTD) are refused: they enable entity "
                "expansion and external entities",
                offset=offset + start,
            )
    return cleaned


_Events = list[tuple[str, ET.Element]]


def iter_xml_end(data: bytes, *, source: str) -> Iterator[_Events]:
    """Stream the ``(event, element)`` pairs of an XML document as elements end.

    Yields one list of events per chunk fed to the C pull parser (iterate each in
    turn; this saves a generator hop per element). Parser errors become
    :class:`CorruptFileError` / :class:`TruncatedFileError`. The caller clears
    elements it has consumed to keep memory bounded.
    """
    parser: ET.XMLPullParser[ET.Element] = ET.XMLPullParser(events=("end",))
    view = memoryview(data)
    try:
        for begin in range(0, len(data), XML_CHUNK_BYTES):
            parser.feed(view[begin : begin + XML_CHUNK_BYTES])
            # the pull parser queues a ParseError as an event: drain inside the try
            yield cast(_Events, list(parser.read_events()))
        parser.close()
        yield cast(_Events, list(parser.read_events()))
    except ET.ParseError as exc:
        line, column = exc.position
        reason = f"not well-formed XML: {exc} (line {line}, column {column})"
        if "no element found" in str(exc) or "unclosed token" in str(exc):
            raise TruncatedFileError(source, reason) from exc
        raise CorruptFileError(source, reason) from exc


class LocalNames:
    """Maps namespaced tags (``{ns}Time``) to local names, with a cache."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[str, str] = {}

    def __call__(self, tag: str) -> str:
        name = self._cache.get(tag)
        if name is None:
            name = tag.rpartition("}")[2]
            self._cache[tag] = name
        return name


# --- sports ------------------------------------------------------------------------------

#: Strava's numeric GPX ``<type>`` codes, as seen in Strava exports.
_STRAVA_GPX_TYPES: dict[str, str] = {
    "1": "ride", "2": "ski", "3": "ski", "4": "hike", "7": "ski", "8": "ski", "9": "run",
    "10": "walk", "12": "ski", "16": "swim", "17": "ride", "18": "ride", "19": "ride",
    "23": "row", "30": "strength", "51": "ride", "53": "run",
}

_EXACT_SPORTS: dict[str, str] = {
    "running": "run", "run": "run", "biking": "ride", "cycling": "ride", "ride": "ride",
    "bike": "ride", "swimming": "swim", "swim": "swim", "walking": "walk", "walk": "walk",
    "hiking": "hike", "hike": "hike", "rowing": "row", "row": "row", "other": "other",
    "workout": "other", "generic": "other", "strength": "strength",
}

_SPORT_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ski|snowboard|snowshoe"), "ski"),
    (re.compile(r"run|jog"), "run"),
    (re.compile(r"bik|cycl|ride|velomobile"), "ride"),
    (re.compile(r"swim"), "swim"),
    (re.compile(r"walk"), "walk"),
    (re.compile(r"hik|trek|mountaineer"), "hike"),
    (re.compile(r"row|kayak|canoe|paddl"), "row"),
    (re.compile(r"strength|weight|crossfit"), "strength"),
)


def normalise_sport(text: str | None) -> str:
    """Map a file's or a service's sport name to one of ``lydiard.domain.activity.SPORTS``.

    Accepts TCX ``Sport`` attributes (Running, Biking, Other), Garmin Connect keys
    (``trail_running``, ``road_biking``), Strava types (``Ride``, ``VirtualRun``) and
    Strava's numeric GPX codes (``1`` ride, ``9`` run). Unknown names give ``"other"``.
    """
    if text is None:
        return "other"
    key = re.sub(r"[^a-z0-9]", "", text.strip().lower())
    if not key:
        return "other"
    if key in _EXACT_SPORTS:
        return _EXACT_SPORTS[key]
    if key.isdigit():
        return _STRAVA_GPX_TYPES.get(key, "other")
    for pattern, sport in _SPORT_PATTERNS:
        if pattern.search(key):
            return sport
    return "other"


# --- frames and summaries ----------------------------------------------------------------


def to_float(values: Sequence[str | None]) -> np.ndarray:
    """Parse texts to float64 (None, blanks and garbage become NaN), vectorised."""
    if not values:
        return np.empty(0, dtype=np.float64)
    series = pd.to_numeric(pd.Series(np.array(values, dtype=object)), errors="coerce")
    return np.asarray(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def to_utc(values: Sequence[str | None]) -> pd.Series:
    """Parse ISO 8601 texts to a ``datetime64[ns, UTC]`` Series (naive = UTC; bad = NaT)."""
    if not values:
        return pd.Series([], dtype="datetime64[ns, UTC]")
    parsed = pd.to_datetime(
        pd.Series(np.array(values, dtype=object)), utc=True, format="ISO8601", errors="coerce"
    )
    # instants outside the nanosecond range (years 1678-2261) are garbage in a workout
    in_range = (parsed >= _NS_MIN) & (parsed <= _NS_MAX)
    return parsed.where(in_range).dt.as_unit("ns")


def epoch_s(times: pd.Series) -> np.ndarray:
    """Seconds since 1970 (float64) of a tz-aware time Series without NaT."""
    ns = times.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view(np.int64)
    return np.asarray(ns, dtype=np.float64) / 1e9


def parse_instant(text: str | None) -> datetime | None:
    """One ISO 8601 instant as a tz-aware UTC datetime, or None."""
    if not text:
        return None
    stamp = to_utc([text.strip()]).iloc[0]
    return None if pd.isna(stamp) else stamp.to_pydatetime()


def records_frame(time: pd.Series, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """A records frame in canonical column order; missing channels are all-NaN."""
    n = len(time)
    data: dict[str, object] = {Col.TIME.value: time.reset_index(drop=True)}
    for name in SAMPLE_COLUMNS:
        values = columns.get(name)
        data[name] = values if values is not None else np.full(n, np.nan)
    return pd.DataFrame(data)


def laps_frame(rows: list[dict[str, str | None]]) -> pd.DataFrame:
    """A laps frame (columns of ``LapCol``) from per-lap dicts of texts."""
    started = to_utc([r.get(LAP_COLUMNS[0]) for r in rows])
    data: dict[str, object] = {LAP_COLUMNS[0]: started}
    for name in LAP_COLUMNS[1:]:
        data[name] = to_float([r.get(name) for r in rows])
    return pd.DataFrame(data)


def _mean_or_none(values: np.ndarray) -> float | None:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return None
    with np.errstate(over="ignore", invalid="ignore"):  # absurd values (1e308) are cleaned later
        mean = float(finite.mean())
    return mean if np.isfinite(mean) else None


def _max_or_none(values: np.ndarray) -> float | None:
    finite = values[~np.isnan(values)]
    return float(finite.max()) if finite.size else None


def moving_time_s(records: pd.DataFrame) -> float | None:
    """Seconds spent above :data:`MOVING_SPEED_MPS`, gaps over :data:`MAX_MOVING_GAP_S` excluded.

    None when the records carry no speed at all.
    """
    speed = records[Col.SPEED_MPS.value].to_numpy(dtype=np.float64, na_value=np.nan)
    if len(speed) < 2 or np.isnan(speed).all():
        return None
    time_s = epoch_s(records[Col.TIME.value])
    dt_s = np.diff(time_s)
    moving = (speed[1:] > MOVING_SPEED_MPS) & (dt_s > 0) & (dt_s <= MAX_MOVING_GAP_S)
    return float(dt_s[moving].sum())


def summarise(
    records: pd.DataFrame,
    *,
    sport: str,
    started_at: datetime | None,
    timer_time_s: float | None = None,
    distance_m: float | None = None,
    device: str | None = None,
    name: str | None = None,
) -> ActivitySummary:
    """Summary values computed from the samples (file totals win where given)."""
    times = records[Col.TIME.value]
    valid_times = times.dropna()
    first = valid_times.min() if len(valid_times) else None
    last = valid_times.max() if len(valid_times) else None
    duration_s = float((last - first).total_seconds()) if first is not None else 0.0
    if started_at is None:
        if first is None:
            raise ValueError("no start time")  # callers ensure one exists
        started_at = first.floor("us").to_pydatetime()
    if duration_s == 0.0 and timer_time_s:
        duration_s = timer_time_s
    moving = timer_time_s if timer_time_s is not None else moving_time_s(records)
    if moving is None:
        moving = duration_s
    if distance_m is None:
        distance_m = _max_or_none(
            records[Col.DISTANCE_M.value].to_numpy(dtype=np.float64, na_value=np.nan)
        )
    hr = records[Col.HR_BPM.value].to_numpy(dtype=np.float64, na_value=np.nan)
    power = records[Col.POWER_W.value].to_numpy(dtype=np.float64, na_value=np.nan)
    return ActivitySummary(
        sport=sport,
        started_at=started_at,
        duration_s=duration_s,
        moving_time_s=float(moving),
        distance_m=distance_m,
        avg_hr_bpm=_mean_or_none(hr),
        max_hr_bpm=_max_or_none(hr),
        avg_power_w=_mean_or_none(power),
        device=device,
        name=name,
    )


def refresh_sample_stats(summary: ActivitySummary, records: pd.DataFrame) -> ActivitySummary:
    """``summary`` with heart-rate and power aggregates recomputed from ``records``."""
    hr = records[Col.HR_BPM.value].to_numpy(dtype=np.float64, na_value=np.nan)
    power = records[Col.POWER_W.value].to_numpy(dtype=np.float64, na_value=np.nan)
    return replace(
        summary,
        avg_hr_bpm=_mean_or_none(hr),
        max_hr_bpm=_max_or_none(hr),
        avg_power_w=_mean_or_none(power),
    )
