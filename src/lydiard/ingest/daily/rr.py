"""RR-interval recordings (a morning HRV reading) -> one :class:`DailyObservation`.

Formats read (sniffed from the content):

* **plain**: one interval per line, optionally after a one-line header (Polar Flow RR
  ``.txt``, Kubios text, most apps' "export RR" files);
* **elite-hrv**: Elite HRV's RR export, intervals separated by commas (one or many per line);
  the reading's start is in the file name (``2017-07-16 07-23-09.txt``);
* **hrv-logger**: HRV Logger's ``*_RR_*.csv`` (``date,rr,since start``), one row per beat with
  its local clock time;
* **polar-sensor-logger**: Polar Sensor Logger's semicolon CSV
  (``Phone timestamp;RR-interval [ms]``).

Units: intervals are ms unless the header says seconds (``[s]``, ``_s``); without a unit, a
median below 3 means seconds (no heart beats slower than 20 bpm).

The day is, in order: the ``day`` argument, the first timestamp in the file (local in ``tz``;
naive timestamps are already local), a date in the file name. rMSSD is computed after artefact
correction (:func:`lydiard.domain.hrv.correct_rr`) with the N denominator (Task Force 1996);
``rhr_bpm`` is the mean heart rate of the reading (60000 / mean RR).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

import numpy as np
from numpy.typing import NDArray

from lydiard.domain.daily import HRV_KINDS, DailyObservation
from lydiard.domain.hrv import Method, correct_rr, rmssd_ms
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    InvalidInputError,
    UnsupportedFormatError,
)
from lydiard.ingest.daily._common import (
    csv_rows,
    decode_text,
    header_key,
    local_day,
    parse_datetime,
    zone,
)

#: Fewer intervals than this cannot give a meaningful rMSSD (≈ 20 s of beats).
MIN_INTERVALS = 20
#: Plausible range of a reading's median RR interval, ms (24-240 bpm).
MEDIAN_RR_RANGE_MS = (250.0, 2500.0)
#: A median below this is taken as seconds.
SECONDS_BELOW = 3.0

_RR_KEYS = ("rr", "rr_ms", "rri", "ibi", "ibi_ms", "nn", "rr_interval", "rr_interval_ms",
            "rr_interval_s", "rr_intervals", "interval", "interval_ms", "rr_s")
_TIME_KEYS = ("date", "timestamp", "phone_timestamp", "time", "datetime", "date_time")
_NUMBER_RE = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_NAME_DATE_RE = re.compile(
    r"(\d{4})[-_.]?(\d{2})[-_.]?(\d{2})(?:[ T_-]+(\d{2})[-_.:h]?(\d{2})(?:[-_.:m]?(\d{2}))?)?"
)


@dataclass(frozen=True, slots=True)
class RRRecording:
    """Intervals as read from a file, before correction."""

    rr_ms: NDArray[np.float64]
    recorded_at: datetime | None  #: first beat's time (aware, or naive local); None if unknown
    format: str  #: "plain", "elite-hrv", "hrv-logger", "polar-sensor-logger", "csv"


def read_rr(
    name: str,
    data: bytes,
    *,
    tz: str,
    day: date | None = None,
    hrv_kind: str = "morning",
    method: Method = "lipponen2019",
    source: str = "rr-file",
) -> DailyObservation:
    """Read an RR recording and summarise it as the observation of its (wake-up) day."""
    if hrv_kind not in HRV_KINDS:
        raise InvalidInputError(f"hrv_kind must be one of {HRV_KINDS}, not {hrv_kind!r}",
                                field="hrv_kind")
    zone_info = zone(tz)
    recording = parse_rr(name, data)
    if day is None:
        if recording.recorded_at is not None:
            day = local_day(recording.recorded_at, tz=zone_info)
        else:
            day = day_from_name(name)
    if day is None:
        raise InvalidInputError(
            f"{name}: the recording has no timestamp and its name no date; pass day=",
            field="day", source=name,
        )
    correction = correct_rr(recording.rr_ms, method=method)
    rr = correction.rr_ms
    return DailyObservation(
        day=day,
        source=source,
        rmssd_ms=round(rmssd_ms(rr), 2),
        hrv_kind=hrv_kind,
        rr_corrected_fraction=round(correction.corrected_fraction, 4),
        rhr_bpm=round(60000.0 / float(np.mean(rr)), 1),
    )


def day_from_name(name: str) -> date | None:
    """The first valid ``YYYY-MM-DD`` / ``YYYYMMDD`` date in a file name, else None."""
    for match in _NAME_DATE_RE.finditer(name.rsplit("/", 1)[-1]):
        try:
            return date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        except ValueError:
            continue
    return None


def _datetime_from_name(name: str) -> datetime | None:
    base = name.rsplit("/", 1)[-1]
    for match in _NAME_DATE_RE.finditer(base):
        if match.group(4) is None:
            continue
        try:
            return datetime(int(match.group(1)), int(match.group(2)), int(match.group(3)),
                            int(match.group(4)), int(match.group(5)), int(match.group(6) or 0))
        except ValueError:
            continue
    return None


def parse_instant(text: str) -> datetime | None:
    """A timestamp cell: Unix time in ms (12+ digits) or s (aware UTC), else a date-time as written."""
    value = text.strip()
    if value.isdigit():
        number = int(value)
        return datetime.fromtimestamp(number / 1000.0 if len(value) >= 12 else float(number), tz=UTC)
    return parse_datetime(value)


def parse_rr(name: str, data: bytes) -> RRRecording:
    """Sniff and parse an RR file; raise a clear :class:`IngestError` for anything else."""
    text = decode_text(data, source=name)
    lines = [line.strip() for line in text.splitlines()]
    first_index = next(i for i, line in enumerate(lines) if line)
    first = lines[first_index]
    if _is_numeric_line(first):
        return _parse_numbers(name, lines)
    if any(ch.isalpha() for ch in first) and _looks_like_header(first):
        return _parse_table(name, text, first)
    raise UnsupportedFormatError(
        name, f"line {first_index + 1} is neither RR intervals nor a known RR header: {first[:60]!r}"
    )


def _tokens(line: str) -> list[str]:
    return [t for t in re.split(r"[,;\s]+", line) if t]


def _is_numeric_line(line: str) -> bool:
    tokens = _tokens(line)
    return bool(tokens) and all(_NUMBER_RE.match(t) for t in tokens)


def _looks_like_header(line: str) -> bool:
    delimiter = ";" if ";" in line else ("\t" if "\t" in line else ",")
    keys = {header_key(part) for part in line.split(delimiter)}
    return bool(keys & set(_RR_KEYS)) or any(k.startswith(("rr_", "ibi_")) for k in keys)


def _parse_numbers(name: str, lines: list[str]) -> RRRecording:
    values: list[float] = []
    comma_separated = False
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        if "," in line:
            comma_separated = True
        for token in _tokens(line):
            if not _NUMBER_RE.match(token):
                raise CorruptFileError(name, f"line {number}: {token!r} is not an RR interval")
            values.append(float(token))
    rr = _to_ms(name, np.asarray(values, dtype=np.float64), unit=None)
    recorded_at = _datetime_from_name(name)
    return RRRecording(rr_ms=rr, recorded_at=recorded_at,
                       format="elite-hrv" if comma_separated else "plain")


def _parse_table(name: str, text: str, header_line: str) -> RRRecording:
    delimiter = ";" if ";" in header_line else ("\t" if "\t" in header_line else ",")
    rows = csv_rows(text, source=name, delimiter=delimiter)
    header = rows[0][1]
    keys = [header_key(h) for h in header]
    rr_col = next((i for i, k in enumerate(keys) if k in _RR_KEYS), None)
    if rr_col is None:
        rr_col = next(i for i, k in enumerate(keys) if k.startswith(("rr_", "ibi_")))
    time_col = next((i for i, k in enumerate(keys) if k in _TIME_KEYS), None)
    raw_header = header[rr_col].lower()
    unit: str | None = None
    if "[ms]" in raw_header or keys[rr_col].endswith("_ms"):
        unit = "ms"
    elif "[s]" in raw_header or keys[rr_col].endswith("_s"):
        unit = "s"

    values: list[float] = []
    recorded_at: datetime | None = None
    for line, cells in rows[1:]:
        if rr_col >= len(cells) or not cells[rr_col]:
            continue
        token = cells[rr_col].replace(",", ".")
        if not _NUMBER_RE.match(token):
            raise CorruptFileError(
                name, f"line {line}, column {header[rr_col]!r}: {cells[rr_col]!r} is not an RR interval"
            )
        values.append(float(token))
        if recorded_at is None and time_col is not None and time_col < len(cells):
            recorded_at = parse_instant(cells[time_col])  # epoch ms (HRV Logger) or a date-time
    if recorded_at is None:
        recorded_at = _datetime_from_name(name)
    if "phone_timestamp" in keys:
        fmt = "polar-sensor-logger"
    elif "since_start" in keys or (keys[rr_col] == "rr" and time_col is not None):
        fmt = "hrv-logger"
    else:
        fmt = "csv"
    rr = _to_ms(name, np.asarray(values, dtype=np.float64), unit=unit)
    return RRRecording(rr_ms=rr, recorded_at=recorded_at, format=fmt)


def _to_ms(name: str, values: NDArray[np.float64], *, unit: str | None) -> NDArray[np.float64]:
    if values.size == 0:
        raise EmptyFileError(name, "no RR intervals in the file")
    if values.size < MIN_INTERVALS:
        raise EmptyFileError(
            name, f"only {values.size} RR intervals: at least {MIN_INTERVALS} are needed"
        )
    median = float(np.median(values))
    if unit == "s" or (unit is None and median < SECONDS_BELOW):
        values = values * 1000.0
        median *= 1000.0
    low, high = MEDIAN_RR_RANGE_MS
    if not low <= median <= high:
        raise CorruptFileError(
            name, f"median interval {median:g} ms is not a heart beat ({low:g}-{high:g} ms)"
        )
    return values
