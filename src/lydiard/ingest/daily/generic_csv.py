"""The generic daily CSV: one row per day, any of the DailyObservation fields as columns.

Documented for users in ``docs/daily-csv.md``. A ``day`` (or ``date``) column in
``YYYY-MM-DD``; other columns are named after the fields (``rmssd_ms``, ``energy``...) or mapped
with ``mapping`` (source column -> field). ``scales`` (field -> scale) converts values:

* ``native``: already on Lydiard's scale (check-in items 1-5 with 5 = best, readiness 0-10);
* ``hooper7``: Hooper 1-7 with 1 = best -> 1-5 with 5 = best (check-in items);
* ``pmsys5``: PMSys 1-5 with 5 = best, 0 = not answered (check-in items; readiness 0-10);
* ``app100``: an app's 0-100 score, 100 = best -> 1-5 (items) or 0-10 (readiness);
* ``app10``: an app's 0-10 score, 10 = best -> 1-5 (items) or as is (readiness).

Every bad value raises :class:`InvalidInputError` naming the line, the column and the field.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields
from datetime import date

from lydiard.domain.daily import (
    CHECKIN_FLAGS,
    CHECKIN_ITEMS,
    HRV_KINDS,
    DailyImport,
    DailyObservation,
    cap_problems,
)
from lydiard.errors import InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    FIELD_RANGES,
    app10_to_5,
    app100_to_5,
    app100_to_10,
    cell,
    check_range,
    csv_rows,
    decode_text,
    header_key,
    hooper7_to_5,
    merge_observations,
    number,
    parse_day,
)

#: Fields a CSV column may fill (``day`` is the key; ``source`` comes from the argument).
CSV_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(DailyObservation) if f.name not in ("source",)
)
NUMERIC_FIELDS: tuple[str, ...] = tuple(FIELD_RANGES)
SCALES: tuple[str, ...] = ("native", "hooper7", "pmsys5", "app100", "app10")
_DAY_ALIASES = ("day", "date")
_TRUE = frozenset({"1", "true", "yes", "y", "x", "t", "ja", "oui", "si"})
_FALSE = frozenset({"0", "false", "no", "n", "f", "nei", "non"})

#: scale -> (accepted input range, converter for items, converter for readiness or None)
_Converter = Callable[[float], float]
_SCALE_RULES: dict[str, tuple[tuple[float, float], _Converter, _Converter | None]] = {
    "hooper7": ((1.0, 7.0), hooper7_to_5, None),
    "pmsys5": ((0.0, 10.0), lambda v: v, lambda v: v),
    "app100": ((0.0, 100.0), app100_to_5, app100_to_10),
    "app10": ((0.0, 10.0), app10_to_5, lambda v: v),
}


def _resolve_columns(
    name: str, header: list[str], mapping: Mapping[str, str]
) -> tuple[int, dict[int, str], list[str]]:
    """(day column index, {column index: field}, ignored column names)."""
    by_key = {header_key(h): i for i, h in enumerate(header)}
    assigned: dict[int, str] = {}
    for column, field in mapping.items():
        if field not in CSV_FIELDS:
            raise InvalidInputError(
                f"mapping {column!r} -> {field!r}: {field!r} is not a daily field "
                f"(one of {', '.join(CSV_FIELDS)})", field="mapping")
        index = by_key.get(header_key(column))
        if index is None:
            raise InvalidInputError(f"{name}: mapped column {column!r} is not in the header",
                                    field="mapping", source=name)
        assigned[index] = field
    for i, h in enumerate(header):
        if i in assigned:
            continue
        key = header_key(h)
        if key in CSV_FIELDS and key not in assigned.values():
            assigned[i] = key
        elif key in _DAY_ALIASES and "day" not in assigned.values():
            assigned[i] = "day"
    day_columns = [i for i, f in assigned.items() if f == "day"]
    if not day_columns:
        raise UnsupportedFormatError(name, "no 'day' (or 'date') column; map one with mapping=")
    if len(set(assigned.values())) != len(assigned):
        dupes = sorted({f for f in assigned.values() if list(assigned.values()).count(f) > 1})
        raise InvalidInputError(f"{name}: several columns fill {dupes}", field="mapping",
                                source=name)
    ignored = [h for i, h in enumerate(header) if i not in assigned and h]
    del assigned[day_columns[0]]
    return day_columns[0], assigned, ignored


def _check_scales(scales: Mapping[str, str]) -> None:
    for field, scale in scales.items():
        if scale not in SCALES:
            raise InvalidInputError(f"scale {scale!r} for {field!r}: use one of {SCALES}",
                                    field="scales")
        if scale == "native":
            continue
        if field not in CHECKIN_ITEMS and field != "readiness":
            raise InvalidInputError(
                f"scale {scale!r} applies to check-in items and readiness, not {field!r}",
                field="scales")
        if field == "readiness" and _SCALE_RULES[scale][2] is None:
            raise InvalidInputError(f"scale {scale!r} does not apply to readiness",
                                    field="scales")


def read_daily_csv(
    name: str,
    data: bytes,
    *,
    mapping: Mapping[str, str] | None = None,
    scales: Mapping[str, str] | None = None,
    max_day: date | None = None,
    source: str = "csv",
) -> DailyImport:
    """Read a generic daily CSV (see ``docs/daily-csv.md``)."""
    mapping = dict(mapping or {})
    scales = dict(scales or {})
    _check_scales(scales)
    text = decode_text(data, source=name)
    first_line = text.lstrip().splitlines()[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else (
        "\t" if "\t" in first_line else ",")
    rows = csv_rows(text, source=name, delimiter=delimiter)
    header = rows[0][1]
    day_index, columns, ignored = _resolve_columns(name, header, mapping)
    warnings = [f"{name}: columns ignored: {', '.join(ignored)}"] if ignored else []
    if not rows[1:]:
        raise InvalidInputError(f"{name}: the CSV has a header but no rows", source=name)

    observations: list[DailyObservation] = []
    problems: list[str] = []  # per row and cell; a bad value drops that value, a bad day its row
    for line, row in rows[1:]:
        raw_day = cell(row, day_index)
        day = parse_day(raw_day) if raw_day else None
        if day is None:
            problems.append(f"line {line}, column {header[day_index]!r}: {raw_day!r} is not a date "
                            "(YYYY-MM-DD); row skipped")
            continue
        if max_day is not None and day > max_day:
            problems.append(f"line {line}, column {header[day_index]!r}: {day} is after {max_day}; row skipped")
            continue
        values: dict[str, object] = {}
        for index, field in columns.items():
            raw = cell(row, index)
            if raw is None:
                continue
            try:
                value = _convert(name, field, raw, scale=scales.get(field, "native"), line=line,
                                 column=header[index])
            except InvalidInputError as exc:
                problems.append(str(exc).removeprefix(f"{name}: ") + "; value ignored")
                continue
            if value is not None:
                values[field] = value
        observations.append(DailyObservation(day=day, source=source, **values))  # type: ignore[arg-type]
    observations = [o for o in observations if o != DailyObservation(day=o.day, source=source)]
    if not observations:
        raise InvalidInputError(f"{name}: no usable row: " + "; ".join(cap_problems(problems)), source=name,
                                problems=len(problems))
    warnings.extend(f"{name}: {p}" for p in cap_problems(problems))
    merged = merge_observations(observations)
    if len(merged) < len(observations):
        warnings.append(f"{name}: {len(observations) - len(merged)} repeated days merged "
                        "(later rows win)")
    return DailyImport(observations=merged, warnings=tuple(warnings))


def _convert(name: str, field: str, raw: str, *, scale: str, line: int,
             column: str) -> object:
    def bad(reason: str) -> InvalidInputError:
        return InvalidInputError(f"{name}: line {line}, column {column!r}: {raw!r} {reason}",
                                 field=field, source=name, line=line, column=column, value=raw)

    if field in CHECKIN_FLAGS:
        key = raw.strip().lower()
        if key in _TRUE:
            return True
        if key in _FALSE:
            return False
        raise bad("is not yes/no (true/false, 1/0)")
    if field == "hrv_kind":
        kind = raw.strip().lower()
        if kind not in HRV_KINDS:
            raise bad(f"is not one of {', '.join(HRV_KINDS)}")
        return kind
    if field == "note":
        return raw
    value = number(raw, source=name, line=line, column=column)
    assert value is not None
    if scale != "native":
        (low, high), to_item, to_readiness = _SCALE_RULES[scale]
        if scale == "pmsys5":
            high = 10.0 if field == "readiness" else 5.0
            if value == 0:
                return None  # PMSys: 0 = not answered
        if not low <= value <= high:
            raise bad(f"is outside {low:g}-{high:g} on the {scale} scale for {field}")
        converter = to_readiness if field == "readiness" else to_item
        assert converter is not None
        value = round(converter(value), 3)
    return check_range(field, value, source=name, line=line, column=column)
