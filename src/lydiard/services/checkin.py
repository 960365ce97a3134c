"""The daily check-in: how the athlete feels, stored as a ``DailyObservation(source="checkin")``."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select

from lydiard.domain.daily import CHECKIN_ITEMS, CHECKIN_SOURCE, PLAUSIBLE_RANGES, DailyObservation
from lydiard.errors import InvalidInputError, NotFoundError
from lydiard.services import audit, pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.context import Context
from lydiard.services.importing import upsert_observation
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import daily_observations

SOURCE = CHECKIN_SOURCE
#: What the error message adds to the range of a field (units, which end is best).
_RANGE_NOTES = {**{item: " (5 = best)" for item in CHECKIN_ITEMS}, "sleep_h": " hours"}
MAX_NOTE_CHARS = 2000
EARLIEST_DAY = date(1990, 1, 1)
#: How far ahead of the athlete's local today a check-in may be dated (time zones, late evenings).
MAX_DAYS_AHEAD = 1


@dataclass(frozen=True, slots=True)
class Checkin:
    """One day's check-in; items are 1-5 (5 = best), readiness 0-10, ``None`` = not answered.

    ``rmssd_ms`` and ``rhr_bpm`` are a morning HRV reading (rMSSD, ms) and resting heart rate
    (bpm) typed in by hand, e.g. from a phone app without an export; stored as a morning reading.
    """

    day: date
    energy: float | None = None
    mood: float | None = None
    motivation: float | None = None
    soreness: float | None = None
    sleep_quality: float | None = None
    stress: float | None = None
    sleep_h: float | None = None
    readiness: float | None = None
    illness: bool | None = None
    injury: bool | None = None
    travel: bool | None = None
    race: bool | None = None  #: "I raced today": the race rule "flagged" of the signals
    note: str | None = None
    rmssd_ms: float | None = None
    rhr_bpm: float | None = None
    updated_at: datetime | None = None


_FIELDS = tuple(f.name for f in fields(Checkin) if f.name not in ("day", "updated_at"))


def validate_checkin(c: Checkin, *, today: date) -> None:
    """Raise :class:`InvalidInputError` naming the first out-of-range value."""
    if c.day < EARLIEST_DAY:
        raise InvalidInputError(f"the day must be on or after {EARLIEST_DAY.isoformat()}", field="day")
    if c.day > today + timedelta(days=MAX_DAYS_AHEAD):
        raise InvalidInputError("the day is in the future; check in for today or an earlier day", field="day")
    for item in (*CHECKIN_ITEMS, "readiness", "sleep_h"):
        v = getattr(c, item)
        lo, hi = PLAUSIBLE_RANGES[item]
        if v is not None and not (lo <= v <= hi):
            raise InvalidInputError(f"{item} must be between {lo:g} and {hi:g}{_RANGE_NOTES.get(item, '')}", field=item)
    for name, what, unit in (("rmssd_ms", "morning HRV (rMSSD)", "ms"), ("rhr_bpm", "resting heart rate", "bpm")):
        v = getattr(c, name)
        lo, hi = PLAUSIBLE_RANGES[name]
        if v is not None and not (lo <= v <= hi):
            raise InvalidInputError(f"{what} must be between {lo:g} and {hi:g} {unit}", field=name)
    if c.note is not None and len(c.note) > MAX_NOTE_CHARS:
        raise InvalidInputError(f"the note must have at most {MAX_NOTE_CHARS} characters", field="note")
    if c.note is not None and "\x00" in c.note:
        raise InvalidInputError("the note contains a NUL character", field="note")


def submit_checkin(
    ctx: Context, actor: Actor, athlete_id: str, *, day: date,
    energy: float | None = None, mood: float | None = None, motivation: float | None = None,
    soreness: float | None = None, sleep_quality: float | None = None, stress: float | None = None,
    sleep_h: float | None = None, readiness: float | None = None, note: str | None = None,
    illness: bool | None = None, injury: bool | None = None, travel: bool | None = None,
    rmssd_ms: float | None = None, rhr_bpm: float | None = None, race: bool | None = None,
    replace: bool = False,
) -> Checkin:
    """Store (or update) the check-in for ``day``; the pipeline recomputes the athlete's days from ``day`` on.

    By default an answer left out (None) keeps the one stored for the day (a partial update,
    e.g. ``lydiard checkin --energy 3``). ``replace=True``: the day's check-in becomes exactly
    these answers, so a question cleared in the form is cleared in the store.
    """
    c = Checkin(day=day, energy=energy, mood=mood, motivation=motivation, soreness=soreness,
                sleep_quality=sleep_quality, stress=stress, sleep_h=sleep_h, readiness=readiness,
                illness=illness, injury=injury, travel=travel, race=race, note=note.strip() if note else None,
                rmssd_ms=rmssd_ms, rhr_bpm=rhr_bpm)
    # a check-in is the athlete's own report: no coach writes it
    with pipeline.writing(ctx, actor, athlete_id, owner_only=True) as w:
        validate_checkin(c, today=w.today)
        obs = DailyObservation(day=day, source=SOURCE, hrv_kind="morning" if c.rmssd_ms is not None else None,
                               **{f: getattr(c, f) for f in _FIELDS})
        if replace:
            w.conn.execute(delete(daily_observations).where(
                daily_observations.c.athlete_id == athlete_id, daily_observations.c.day == day,
                daily_observations.c.source == SOURCE))
        upsert_observation(w.conn, athlete_id, obs, now=ctx.clock())
        audit.record(w.conn, actor, athlete_id=athlete_id, action="checkin.submit", at=ctx.clock(),
                     day=day.isoformat())
        w.changed(pipeline.Change.data(since=day))
        row = w.conn.execute(select(daily_observations).where(
            daily_observations.c.athlete_id == athlete_id, daily_observations.c.day == day,
            daily_observations.c.source == SOURCE)).one()
    return _from_row(row)


def get_checkin(ctx: Context, actor: Actor, athlete_id: str, *, day: date) -> Checkin:
    """The check-in stored for ``day`` (``NotFoundError`` when there is none)."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        row = conn.execute(select(daily_observations).where(
            daily_observations.c.athlete_id == athlete_id, daily_observations.c.day == day,
            daily_observations.c.source == SOURCE)).first()
    if row is None:
        raise NotFoundError(f"no check-in on {day.isoformat()}", day=day.isoformat())
    return _from_row(row)


def _from_row(row: Any) -> Checkin:
    values = {f: getattr(row, f) for f in _FIELDS}
    return Checkin(day=row.day, updated_at=row.updated_at, **values)
