"""Helpers shared by the daily-data readers: text/CSV decoding, time zones, scales, merging."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import fields, replace
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lydiard.domain.daily import CHECKIN_FLAGS, PLAUSIBLE_RANGES, DailyObservation
from lydiard.domain.scales import hooper_to_five, percent_to_five, readiness_to_five
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    InvalidInputError,
    UnsupportedFormatError,
)
from lydiard.ingest._common import normalise_sport

#: Readers refuse text inputs larger than this (a daily export is kilobytes to a few MB).
MAX_TEXT_BYTES = 64 * 1024 * 1024

# --- text and CSV -----------------------------------------------------------------------------


def decode_text(data: bytes, *, source: str) -> str:
    """Decode a text export (UTF-8 with or without BOM, else Latin-1); refuse binary files."""
    if not data.strip():
        raise EmptyFileError(source, "the file is empty")
    if len(data) > MAX_TEXT_BYTES:
        raise UnsupportedFormatError(source, f"text file larger than {MAX_TEXT_BYTES} bytes")
    nul = data.find(b"\x00", 0, 4096)
    if nul >= 0:
        raise UnsupportedFormatError(source, "binary data where text was expected", offset=nul)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def csv_rows(text: str, *, source: str, delimiter: str = ",") -> list[tuple[int, list[str]]]:
    """Rows of a CSV text as ``(line_number, cells)``; cells stripped, blank rows dropped.

    Handles ``\\n``, ``\\r\\n`` and old-Mac ``\\r`` line ends (HRV4Training iOS exports).
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows: list[tuple[int, list[str]]] = []
    try:
        for cells in reader:
            stripped = [cell.strip() for cell in cells]
            if any(stripped):
                rows.append((reader.line_num, stripped))
    except csv.Error as exc:
        raise CorruptFileError(source, f"unreadable CSV near line {reader.line_num}: {exc}") from exc
    return rows


def header_key(name: str) -> str:
    """Normalise a column header: lower case, non-alphanumerics to ``_`` (``Sleep Quality`` ->
    ``sleep_quality``)."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower().lstrip("\ufeff")).strip("_")


def cell(row: Sequence[str], index: int | None) -> str | None:
    """The stripped cell at ``index``, or None when absent, empty or a placeholder (``-``)."""
    if index is None or index >= len(row):
        return None
    value = row[index].strip()
    if value in ("", "-", "--", "NA", "N/A", "nan", "NaN", "null", "None"):
        return None
    return value


def number(value: str | None, *, source: str, line: int, column: str) -> float | None:
    """Parse a number (``.`` or a lone ``,`` as decimal separator); None stays None."""
    if value is None:
        return None
    text = value.strip()
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    try:
        result = float(text)
    except ValueError:
        raise InvalidInputError(
            f"{source}: line {line}, column {column!r}: {value!r} is not a number",
            field=column, source=source, line=line, value=value,
        ) from None
    if not math.isfinite(result):
        raise InvalidInputError(
            f"{source}: line {line}, column {column!r}: {value!r} is not a finite number",
            field=column, source=source, line=line, value=value,
        )
    return result


# --- time ----------------------------------------------------------------------------------


def zone(tz: str) -> ZoneInfo:
    """The IANA zone ``tz``, or :class:`InvalidInputError`."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidInputError(f"unknown time zone {tz!r}", field="tz") from exc


def to_utc(moment: datetime, *, tz: ZoneInfo) -> datetime:
    """A tz-aware UTC instant; a naive ``moment`` is local time in ``tz``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


def local_day(moment: datetime, *, tz: ZoneInfo) -> date:
    """The calendar day of ``moment`` in ``tz`` (naive moments are already local)."""
    if moment.tzinfo is None:
        return moment.date()
    return moment.astimezone(tz).date()


_OFFSET_RE = re.compile(r"\s*([+-])(\d{2}):?(\d{2})$")


def parse_datetime(text: str) -> datetime | None:
    """Parse ISO-8601-like date-times: ``2019-11-01T08:31:40.751Z``, ``2019-11-01 14:56:32``,
    ``2017-04-01 09:56:21 +0000``, ``2019-11-01T08:31:40+01:00``. Naive when no offset."""
    value = text.strip()
    if not value:
        return None
    value = value.replace("Z", "+00:00") if value.endswith("Z") else value
    match = _OFFSET_RE.search(value)
    if match and (" " in value[: match.start()].strip() or "T" in value):
        sign, hours, minutes = match.groups()
        value = f"{value[: match.start()].strip()}{sign}{hours}:{minutes}"
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def parse_day(text: str) -> date | None:
    """Parse ``YYYY-MM-DD`` (or a date-time, keeping its date part as written)."""
    value = text.strip()
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        moment = parse_datetime(value)
        return moment.date() if moment is not None else None


# --- scales ---------------------------------------------------------------------------------
# Thin scalar wrappers over :mod:`lydiard.domain.scales` (which works on arrays), onto the
# DailyObservation scales (check-in items 1-5 with 5 = best, readiness 0-10 with 10 = ready).


def hooper7_to_5(value: float) -> float:
    """Hooper 1-7 (1 = best) to 1-5 (5 = best): linear, reversed: 1 -> 5, 4 -> 3, 7 -> 1."""
    return float(hooper_to_five(value))


def app100_to_5(value: float) -> float:
    """An app's 0-100 score (100 = best) to 1-5: 0 -> 1, 50 -> 3, 100 -> 5."""
    return float(percent_to_five(value))


def app100_to_10(value: float) -> float:
    """An app's 0-100 score (100 = best) to readiness 0-10."""
    return value / 10.0


def app10_to_5(value: float) -> float:
    """An app's 0-10 score (10 = best) to 1-5: 0 -> 1, 5 -> 3, 10 -> 5."""
    return float(readiness_to_five(value))


# --- validation ----------------------------------------------------------------------------

#: Plausible ranges (inclusive) of the numeric DailyObservation fields (the domain's table,
#: which the staging engine uses too).
FIELD_RANGES: dict[str, tuple[float, float]] = PLAUSIBLE_RANGES


def check_range(field: str, value: float, *, source: str, line: int | None = None,
                column: str | None = None) -> float:
    """Return ``value`` or raise :class:`InvalidInputError` naming the row and column."""
    low, high = FIELD_RANGES[field]
    if not low <= value <= high:
        where = f"line {line}, " if line is not None else ""
        col = column if column is not None else field
        raise InvalidInputError(
            f"{source}: {where}column {col!r}: {value:g} is outside {low:g}-{high:g} for {field}",
            field=field, source=source, line=line, column=col, value=value,
        )
    return value


# --- sports --------------------------------------------------------------------------------

_DAILY_SPORTS: dict[str, str] = {
    "treadmill": "run", "trackrun": "run", "spinning": "ride", "spin": "ride",
    "indoorcycling": "ride", "elliptical": "other", "soccer": "other", "football": "other",
    "weights": "strength", "weighttraining": "strength", "gym": "strength",
    "crosscountryskiing": "ski", "skiing": "ski", "walk": "walk", "hike": "hike",
}


def daily_sport(text: str | None) -> str:
    """Map a log's sport or activity name to one of ``lydiard.domain.activity.SPORTS``."""
    if text is None:
        return "other"
    key = re.sub(r"[^a-z0-9]", "", text.lower())
    key = key.removeprefix("hkworkoutactivitytype")
    if key in _DAILY_SPORTS:
        return _DAILY_SPORTS[key]
    return normalise_sport(key)


# --- merging -------------------------------------------------------------------------------

_OBS_FIELDS = tuple(f.name for f in fields(DailyObservation) if f.name not in ("day", "source"))


def merge_observations(observations: Iterable[DailyObservation]) -> tuple[DailyObservation, ...]:
    """One observation per ``(day, source)``: later non-None values fill in or override earlier
    ones, except flags (illness, injury, travel), which stay True once reported; notes are
    joined. Sorted by day, then source."""
    merged: dict[tuple[date, str], DailyObservation] = {}
    for obs in observations:
        key = (obs.day, obs.source)
        current = merged.get(key)
        if current is None:
            merged[key] = obs
            continue
        changes: dict[str, object] = {}
        for name in _OBS_FIELDS:
            value = getattr(obs, name)
            if value is None:
                continue
            if name == "note" and current.note and value != current.note:
                value = f"{current.note}; {value}"
            elif name in CHECKIN_FLAGS:
                value = bool(value or getattr(current, name))
            changes[name] = value
        merged[key] = replace(current, **changes)  # type: ignore[arg-type]
    return tuple(merged[key] for key in sorted(merged))
