"""Planned sessions from/to CSV text (pure: strings in, strings out).

Columns (header row required, names case-insensitive, any order):

==================  ========  =================================================
column              required  meaning
==================  ========  =================================================
day                 yes       ISO date ``YYYY-MM-DD``
session_type        yes       one of :data:`~lydiard.domain.plan.models.SESSION_TYPES`
duration_min or     yes*      duration in minutes or seconds (*not for rest)
duration_s
sport               no        default ``default_sport``
intensity_target    no        free text ("Z2", "95% FTP", "RPE 7")
expected_load_au    no        default: duration × the type's AU/h rate
notes               no        free text
session_id          no        default: derived from day, sport and type
==================  ========  =================================================

Errors raise :class:`~lydiard.errors.InvalidInputError` with the 1-based line
number in the message and in ``context["line"]``, and the column as ``field``.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from datetime import date

from lydiard.domain.plan.models import LOAD_PER_HOUR_AU, SESSION_TYPES, PlannedSession
from lydiard.errors import InvalidInputError

__all__ = ["CSV_COLUMNS", "parse_sessions_csv", "sessions_to_csv"]

CSV_COLUMNS: tuple[str, ...] = (
    "day", "sport", "session_type", "duration_min", "intensity_target", "expected_load_au",
    "notes", "session_id",
)
_KNOWN = {*CSV_COLUMNS, "duration_s"}
MAX_ROWS = 10_000


def _err(line: int, field: str, msg: str) -> InvalidInputError:
    return InvalidInputError(f"line {line}: {msg}", field=field, line=line)


def _number(raw: str, *, line: int, field: str) -> float:
    try:
        value = float(raw.replace(",", ".") if raw.count(",") == 1 and "." not in raw else raw)
    except ValueError:
        raise _err(line, field, f"{field} must be a number, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise _err(line, field, f"{field} must be a finite number >= 0, got {raw!r}")
    return value


def parse_sessions_csv(text: str, *, default_sport: str = "run") -> list[PlannedSession]:
    """Parse CSV text of planned sessions (see the module docstring).

    Raises
    ------
    InvalidInputError
        Empty text, missing/unknown columns, bad values, too many rows.
    """
    if not text.strip():
        raise InvalidInputError("line 1: the CSV is empty", field="text", line=1)
    body = text.lstrip("\ufeff")
    sample = body[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(body), dialect)
    try:
        header = [h.strip().lower() for h in next(reader)]
    except csv.Error as exc:
        raise _err(1, "text", f"unreadable header ({exc})") from exc
    unknown = [h for h in header if h not in _KNOWN]
    if unknown:
        raise _err(1, unknown[0], f"unknown column(s) {', '.join(unknown)}; expected "
                   f"{', '.join(sorted(_KNOWN))}")
    for col in ("day", "session_type"):
        if col not in header:
            raise _err(1, col, f"missing column {col!r}")
    if "duration_min" not in header and "duration_s" not in header:
        raise _err(1, "duration_min", "missing column 'duration_min' (or 'duration_s')")
    if len(set(header)) != len(header):
        raise _err(1, "text", "duplicate column names")
    sessions: list[PlannedSession] = []
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise _err(reader.line_num, "text", f"malformed CSV ({exc})") from exc
        line = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise _err(line, "text", f"expected {len(header)} fields, got {len(row)}")
        if len(sessions) >= MAX_ROWS:
            raise _err(line, "text", f"more than {MAX_ROWS} sessions")
        sessions.append(_row(dict(zip(header, (c.strip() for c in row), strict=True)),
                             line=line, default_sport=default_sport))
    return sessions


def _row(rec: dict[str, str], *, line: int, default_sport: str) -> PlannedSession:
    try:
        day = date.fromisoformat(rec["day"])
    except ValueError:
        raise _err(line, "day", f"day must be an ISO date YYYY-MM-DD, got {rec['day']!r}") \
            from None
    kind = rec["session_type"].lower().replace(" ", "_").replace("-", "_")
    if kind not in SESSION_TYPES:
        raise _err(line, "session_type",
                   f"session_type must be one of {', '.join(SESSION_TYPES)}, got "
                   f"{rec['session_type']!r}")
    if rec.get("duration_s"):
        duration_s = _number(rec["duration_s"], line=line, field="duration_s")
    elif rec.get("duration_min"):
        duration_s = 60.0 * _number(rec["duration_min"], line=line, field="duration_min")
    elif kind == "rest":
        duration_s = 0.0
    else:
        raise _err(line, "duration_min", "duration is required for a non-rest session")
    if rec.get("expected_load_au"):
        load = _number(rec["expected_load_au"], line=line, field="expected_load_au")
    else:
        load = LOAD_PER_HOUR_AU.get(kind, 100.0) * duration_s / 3600.0
    try:
        return PlannedSession(
            day=day, sport=rec.get("sport") or default_sport, session_type=kind,
            duration_s=duration_s, intensity_target=rec.get("intensity_target", ""),
            expected_load_au=round(load, 1), notes=rec.get("notes", ""),
            session_id=rec.get("session_id", ""),
        )
    except InvalidInputError as exc:
        raise _err(line, exc.field or "text", exc.message) from exc


def sessions_to_csv(sessions: Sequence[PlannedSession]) -> str:
    """CSV text with :data:`CSV_COLUMNS` (duration in minutes), readable by the parser."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in sessions:
        writer.writerow([
            s.day.isoformat(), s.sport, s.session_type, f"{s.duration_s / 60.0:.10g}",
            s.intensity_target, f"{s.expected_load_au:.10g}", s.notes, s.session_id,
        ])
    return buf.getvalue()
