"""iCalendar (RFC 5545) export and tolerant import of planned sessions, text in/out.

Export writes one all-day ``VEVENT`` per session (``DTSTART;VALUE=DATE``,
``DTEND`` = next day), ``UID = <session_id>@<uid_domain>`` (stable, so calendar
apps update events instead of duplicating them), CRLF line ends, TEXT escaping
(``\\\\ \\; \\, \\n``; RFC 5545 §3.3.11) and line folding at 75 octets without
splitting UTF-8 characters (§3.1). Lydiard fields travel in ``X-LYDIARD-*``
properties so a round trip is lossless.

Import accepts what calendar apps produce: LF or CRLF, folded lines, timed or
all-day ``DTSTART``, ``DTEND`` or ``DURATION``, missing ``X-LYDIARD-*`` (the
type is guessed from the summary). Malformed input raises
:class:`~lydiard.errors.InvalidInputError` naming the (unfolded) line.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from lydiard.domain.plan.models import (
    LOAD_PER_HOUR_AU,
    SESSION_TYPES,
    PlannedSession,
)
from lydiard.errors import InvalidInputError

__all__ = ["escape_text", "fold_line", "sessions_from_ical", "sessions_to_ical", "unescape_text"]

_MAX_OCTETS = 75


def escape_text(value: str) -> str:
    r"""Escape a TEXT value: ``\`` ``;`` ``,`` and newlines (RFC 5545 §3.3.11)."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n"))


def unescape_text(value: str) -> str:
    """Inverse of :func:`escape_text` (also accepts ``\\N``)."""
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append("\n" if nxt in "nN" else nxt)
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def fold_line(line: str) -> str:
    """Fold a content line at 75 octets with CRLF + space, never inside a UTF-8 character."""
    chunks: list[str] = []
    current = ""
    size = 0
    limit = _MAX_OCTETS
    for ch in line:
        n = len(ch.encode("utf-8"))
        if size + n > limit:
            chunks.append(current)
            current, size, limit = "", 0, _MAX_OCTETS - 1  # continuation starts with a space
        current += ch
        size += n
    chunks.append(current)
    return "\r\n ".join(chunks)


def _fmt_date(d: date) -> str:
    return d.strftime("%Y%m%d")


def sessions_to_ical(
    sessions: Sequence[PlannedSession],
    *,
    dtstamp: datetime,
    calendar_name: str = "Lydiard plan",
    uid_domain: str = "lydiard",
) -> str:
    """RFC 5545 text of the sessions (rest days included as events).

    Parameters
    ----------
    sessions : sequence of PlannedSession
    dtstamp : datetime
        tz-aware creation instant written as ``DTSTAMP`` (the domain reads no clock).
    calendar_name : str
        ``X-WR-CALNAME``.
    uid_domain : str
        Right-hand side of the UIDs.
    """
    if dtstamp.tzinfo is None:
        raise InvalidInputError("dtstamp must be timezone-aware", field="dtstamp")
    stamp = dtstamp.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Lydiard//Training plan//EN",
        "CALSCALE:GREGORIAN", f"X-WR-CALNAME:{escape_text(calendar_name)}",
    ]
    for s in sorted(sessions, key=lambda s: (s.day, s.session_id)):
        description = "\n".join(
            x for x in (f"Target: {s.intensity_target}" if s.intensity_target else "", s.notes)
            if x
        )
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape_text(s.session_id)}@{uid_domain}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{_fmt_date(s.day)}",
            f"DTEND;VALUE=DATE:{_fmt_date(s.day + timedelta(days=1))}",
            f"SUMMARY:{escape_text(s.sport.capitalize() + ': ' + s.summary())}",
        ]
        if description:
            lines.append(f"DESCRIPTION:{escape_text(description)}")
        lines += [
            "TRANSP:TRANSPARENT",
            f"X-LYDIARD-SPORT:{escape_text(s.sport)}",
            f"X-LYDIARD-TYPE:{s.session_type}",
            f"X-LYDIARD-DURATION-S:{s.duration_s:.10g}",
            f"X-LYDIARD-LOAD-AU:{s.expected_load_au:.10g}",
            f"X-LYDIARD-TARGET:{escape_text(s.intensity_target)}",
            f"X-LYDIARD-NOTES:{escape_text(s.notes)}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines)


def _unfold(text: str) -> list[tuple[int, str]]:
    """Logical lines with the physical line number where each starts."""
    out: list[tuple[int, str]] = []
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if raw[:1] in (" ", "\t") and out:
            start, prev = out[-1]
            out[-1] = (start, prev + raw[1:])
        elif raw.strip():
            out.append((number, raw))
    return out


_PROP_RE = re.compile(r"^(?P<name>[A-Za-z0-9-]+)(?P<params>(;[^:]*)?):(?P<value>.*)$")
_DURATION_RE = re.compile(
    r"^(?P<sign>[+-])?P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def _parse_when(value: str, line: int) -> tuple[date, datetime | None]:
    v = value.strip()
    try:
        if re.fullmatch(r"\d{8}", v):
            return datetime.strptime(v, "%Y%m%d").date(), None
        m = re.fullmatch(r"(\d{8}T\d{6})(Z?)", v)
        if m:
            dt = datetime.strptime(m.group(1), "%Y%m%dT%H%M%S")
            return dt.date(), dt
    except ValueError:
        pass
    raise InvalidInputError(f"line {line}: bad date/time {value!r}", field="DTSTART", line=line)


def _parse_duration_s(value: str, line: int) -> float:
    m = _DURATION_RE.match(value.strip())
    if not m or value.strip() in ("P", "PT"):
        raise InvalidInputError(f"line {line}: bad DURATION {value!r}", field="DURATION",
                                line=line)
    parts = {k: int(v) for k, v in m.groupdict().items() if v and k != "sign"}
    seconds = (parts.get("w", 0) * 7 * 86400 + parts.get("d", 0) * 86400
               + parts.get("h", 0) * 3600 + parts.get("m", 0) * 60 + parts.get("s", 0))
    return float(seconds)


def _guess_type(summary: str) -> str:
    low = summary.lower()
    for kind in ("active recovery", "intervals", "tempo", "long", "race", "strength", "rest",
                 "easy"):
        if kind in low:
            return kind.replace(" ", "_")
    return "easy"


def _float(value: str, name: str, line: int) -> float:
    try:
        return float(value)
    except ValueError:
        raise InvalidInputError(f"line {line}: {name} must be a number, got {value!r}",
                                field=name, line=line) from None


def sessions_from_ical(text: str, *, default_sport: str = "run") -> list[PlannedSession]:
    """Planned sessions from iCalendar text (tolerant; see the module docstring).

    Raises
    ------
    InvalidInputError
        No VCALENDAR, unbalanced BEGIN/END, a VEVENT without DTSTART, bad dates,
        durations or numbers, unknown session types: ``context["line"]`` is the
        1-based line where the offending (unfolded) line starts.
    """
    lines = _unfold(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise InvalidInputError("line 1: not an iCalendar file (no BEGIN:VCALENDAR)",
                                field="text", line=1)
    sessions: list[PlannedSession] = []
    stack: list[str] = []
    event: dict[str, tuple[int, str, str]] | None = None
    event_line = 0
    for number, raw in lines:
        m = _PROP_RE.match(raw)
        if not m:
            raise InvalidInputError(f"line {number}: not a 'NAME:value' content line",
                                    field="text", line=number)
        name, params, value = m.group("name").upper(), m.group("params"), m.group("value")
        if name == "BEGIN":
            stack.append(value.strip().upper())
            if stack[-1] == "VEVENT":
                event, event_line = {}, number
            continue
        if name == "END":
            if not stack or stack[-1] != value.strip().upper():
                raise InvalidInputError(f"line {number}: END:{value} without matching BEGIN",
                                        field="text", line=number)
            if stack.pop() == "VEVENT" and event is not None:
                sessions.append(_event_to_session(event, event_line, default_sport))
                event = None
            continue
        if event is not None and stack and stack[-1] == "VEVENT" and name not in event:
            event[name] = (number, params.upper(), value)
    if stack:
        raise InvalidInputError(f"line {lines[-1][0]}: BEGIN:{stack[-1]} is never closed",
                                field="text", line=lines[-1][0])
    return sessions


def _event_to_session(
    event: dict[str, tuple[int, str, str]], line: int, default_sport: str
) -> PlannedSession:
    if "DTSTART" not in event:
        raise InvalidInputError(f"line {line}: VEVENT without DTSTART", field="DTSTART",
                                line=line)
    start_line, _, start_value = event["DTSTART"]
    day, start_dt = _parse_when(start_value, start_line)

    def text(key: str, default: str = "") -> str:
        return unescape_text(event[key][2]) if key in event else default

    summary = text("SUMMARY")
    kind = text("X-LYDIARD-TYPE") or _guess_type(summary)
    if kind not in SESSION_TYPES:
        n = event["X-LYDIARD-TYPE"][0]
        raise InvalidInputError(f"line {n}: unknown session type {kind!r}",
                                field="X-LYDIARD-TYPE", line=n)
    duration_s: float | None = None
    if "X-LYDIARD-DURATION-S" in event:
        n, _, v = event["X-LYDIARD-DURATION-S"]
        duration_s = _float(v, "X-LYDIARD-DURATION-S", n)
    elif "DURATION" in event:
        n, _, v = event["DURATION"]
        duration_s = _parse_duration_s(v, n)
    elif "DTEND" in event and start_dt is not None:
        n, _, v = event["DTEND"]
        _, end_dt = _parse_when(v, n)
        duration_s = (end_dt - start_dt).total_seconds() if end_dt is not None else None
    if duration_s is None:
        duration_s = 0.0 if kind == "rest" else 3600.0
    if duration_s < 0:
        raise InvalidInputError(f"line {start_line}: the event ends before it starts",
                                field="DTEND", line=start_line)
    if "X-LYDIARD-LOAD-AU" in event:
        n, _, v = event["X-LYDIARD-LOAD-AU"]
        load = _float(v, "X-LYDIARD-LOAD-AU", n)
    else:
        load = LOAD_PER_HOUR_AU.get(kind, 100.0) * duration_s / 3600.0
    uid = text("UID")
    session_id = uid.rsplit("@", 1)[0] if "@" in uid else uid
    notes = text("X-LYDIARD-NOTES") if "X-LYDIARD-NOTES" in event else text("DESCRIPTION")
    try:
        return PlannedSession(
            day=day, sport=text("X-LYDIARD-SPORT", default_sport), session_type=kind,
            duration_s=duration_s,
            intensity_target=text("X-LYDIARD-TARGET"), expected_load_au=load, notes=notes,
            session_id=session_id,
        )
    except InvalidInputError as exc:
        raise InvalidInputError(f"line {line}: {exc.message}", field=exc.field,
                                line=line) from exc

