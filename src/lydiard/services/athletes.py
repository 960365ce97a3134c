"""Athletes, their profile and their physiological thresholds (each with a valid-from day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection, delete, insert, select, update

from lydiard.errors import ConflictError, InvalidInputError, NotFoundError
from lydiard.services import audit
from lydiard.services.access import (
    Actor,
    check_athlete,
    check_owner,
    visible_athlete_row,
    visible_athletes_clause,
)
from lydiard.services.context import Context, new_id
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athletes, thresholds

#: Threshold kinds with their plausible range (inclusive), in the unit of the name.
THRESHOLD_RANGES: dict[str, tuple[float, float]] = {
    "hr_rest_bpm": (25.0, 120.0),
    "hr_max_bpm": (100.0, 240.0),
    "lthr_bpm": (80.0, 230.0),
    "ftp_w": (30.0, 700.0),
    "threshold_speed_mps": (1.0, 8.0),
}


@dataclass(frozen=True, slots=True)
class AthleteInfo:
    id: str
    name: str
    sex: str | None
    birth_year: int | None
    tz: str
    user_id: str | None
    managed_by_user_id: str | None
    hrv_guided: bool
    baseline_config: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class ThresholdValue:
    kind: str
    value: float
    valid_from: date
    estimated: bool


def _validate_profile(*, name: str | None, sex: str | None, birth_year: int | None, tz: str | None) -> None:
    if name is not None and not (1 <= len(name.strip()) <= 200):
        raise InvalidInputError("name must be 1-200 characters", field="name")
    if sex is not None and sex not in ("m", "f"):
        raise InvalidInputError("sex must be 'm' or 'f'", field="sex")
    if birth_year is not None and not (1900 <= birth_year <= 2025):
        raise InvalidInputError("birth_year must be between 1900 and 2025", field="birth_year")
    if tz is not None:
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise InvalidInputError(f"unknown time zone {tz!r}", field="tz") from exc


def _info(row: Any) -> AthleteInfo:
    return AthleteInfo(
        id=row.id, name=row.name, sex=row.sex, birth_year=row.birth_year, tz=row.tz,
        user_id=row.user_id, managed_by_user_id=row.managed_by_user_id,
        hrv_guided=bool(row.hrv_guided), baseline_config=row.baseline_config,
    )


def create_athlete(
    ctx: Context,
    actor: Actor,
    *,
    name: str,
    sex: str | None = None,
    birth_year: int | None = None,
    tz: str = "UTC",
    user_id: str | None = None,
    managed_by_user_id: str | None = None,
    athlete_id: str | None = None,
) -> AthleteInfo:
    """Create an athlete. A non-system actor creates either their own profile or one they manage."""
    _validate_profile(name=name, sex=sex, birth_year=birth_year, tz=tz)
    if not actor.is_system:
        if actor.user_id is None:
            raise NotFoundError("athlete not found")
        if user_id not in (None, actor.user_id):
            raise InvalidInputError("you can only create your own profile or an athlete you manage", field="user_id")
        if user_id is None:
            managed_by_user_id = actor.user_id
    aid = athlete_id or new_id()
    with translate_db_errors(), ctx.engine.begin() as conn:
        if user_id is not None and conn.execute(select(athletes.c.id).where(athletes.c.user_id == user_id)).first():
            raise ConflictError("this account already has an athlete profile", field="user_id")
        conn.execute(
            insert(athletes).values(
                id=aid, name=name.strip(), sex=sex, birth_year=birth_year, tz=tz, user_id=user_id,
                managed_by_user_id=managed_by_user_id, hrv_guided=False, created_at=ctx.clock(),
            )
        )
        audit.record(conn, actor, athlete_id=aid, action="athlete.create", at=ctx.clock())
        row = conn.execute(select(athletes).where(athletes.c.id == aid)).one()
    return _info(row)


def get_athlete(ctx: Context, actor: Actor, athlete_id: str) -> AthleteInfo:
    with translate_db_errors(), ctx.engine.connect() as conn:
        return _info(visible_athlete_row(conn, actor, athlete_id))


def visible_athlete(conn: Connection, actor: Actor, athlete_id: str) -> AthleteInfo:
    """The athlete, when ``actor`` may read it (access check and read in one query)."""
    return _info(visible_athlete_row(conn, actor, athlete_id))


def load_athlete(conn: Connection, athlete_id: str) -> AthleteInfo:
    """Read an athlete without an access check (callers have checked already)."""
    row = conn.execute(select(athletes).where(athletes.c.id == athlete_id)).first()
    if row is None:
        raise NotFoundError("athlete not found", athlete_id=athlete_id)
    return _info(row)


def list_athletes(ctx: Context, actor: Actor) -> list[AthleteInfo]:
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(athletes).where(visible_athletes_clause(actor)).order_by(athletes.c.name)).all()
    return [_info(r) for r in rows]


def find_athlete(ctx: Context, actor: Actor, name_or_id: str) -> AthleteInfo:
    """Resolve an athlete by id or (unique) name among those visible to ``actor``."""
    for a in list_athletes(ctx, actor):
        if a.id == name_or_id:
            return a
    matches = [a for a in list_athletes(ctx, actor) if a.name.lower() == name_or_id.lower()]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidInputError(f"several athletes are named {name_or_id!r}; use the id", field="athlete")
    raise NotFoundError(f"no athlete {name_or_id!r}", athlete=name_or_id)


def update_profile(
    ctx: Context, actor: Actor, athlete_id: str, *, name: str | None = None, sex: str | None = None,
    birth_year: int | None = None, tz: str | None = None, hrv_guided: bool | None = None,
    baseline_config: dict[str, Any] | None = None,
) -> AthleteInfo:
    _validate_profile(name=name, sex=sex, birth_year=birth_year, tz=tz)
    values: dict[str, Any] = {
        k: v for k, v in dict(name=name, sex=sex, birth_year=birth_year, tz=tz, hrv_guided=hrv_guided,
                              baseline_config=baseline_config).items() if v is not None
    }
    with translate_db_errors(), ctx.engine.begin() as conn:
        if values.keys() & {"name", "sex", "birth_year", "tz"}:
            check_owner(conn, actor, athlete_id)  # the profile is the athlete's: a linked coach may not change it
        else:
            check_athlete(conn, actor, athlete_id, write=True)  # HRV guidance and baseline settings
        if values:
            conn.execute(update(athletes).where(athletes.c.id == athlete_id).values(**values))
            audit.record(conn, actor, athlete_id=athlete_id, action="athlete.update", at=ctx.clock(),
                         fields=sorted(values))
        row = conn.execute(select(athletes).where(athletes.c.id == athlete_id)).one()
    return _info(row)


def set_threshold(
    ctx: Context, actor: Actor, athlete_id: str, *, kind: str, value: float, valid_from: date,
    estimated: bool = False,
) -> ThresholdValue:
    """Set a threshold from ``valid_from`` on (replacing a value set for the same day)."""
    if kind not in THRESHOLD_RANGES:
        raise InvalidInputError(f"unknown threshold {kind!r}; one of {sorted(THRESHOLD_RANGES)}", field="kind")
    lo, hi = THRESHOLD_RANGES[kind]
    if not (lo <= value <= hi):
        raise InvalidInputError(f"{kind} must be between {lo:g} and {hi:g}", field=kind)
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        conn.execute(
            delete(thresholds).where(thresholds.c.athlete_id == athlete_id, thresholds.c.kind == kind,
                                     thresholds.c.valid_from == valid_from)
        )
        conn.execute(
            insert(thresholds).values(athlete_id=athlete_id, kind=kind, value=float(value), valid_from=valid_from,
                                      estimated=estimated, created_at=ctx.clock())
        )
        audit.record(conn, actor, athlete_id=athlete_id, action="threshold.set", at=ctx.clock(), kind=kind,
                     value=value, valid_from=valid_from.isoformat())
    return ThresholdValue(kind=kind, value=float(value), valid_from=valid_from, estimated=estimated)


def threshold_history(conn: Connection, athlete_id: str) -> list[ThresholdValue]:
    rows = conn.execute(
        select(thresholds).where(thresholds.c.athlete_id == athlete_id).order_by(thresholds.c.kind, thresholds.c.valid_from)
    ).all()
    return [ThresholdValue(kind=r.kind, value=r.value, valid_from=r.valid_from, estimated=bool(r.estimated)) for r in rows]


def thresholds_on(history: list[ThresholdValue], day: date) -> dict[str, ThresholdValue]:
    """The threshold values valid on ``day`` (the latest ``valid_from`` ≤ day per kind)."""
    out: dict[str, ThresholdValue] = {}
    for t in history:
        if t.valid_from <= day:
            out[t.kind] = t
    return out


def list_thresholds(ctx: Context, actor: Actor, athlete_id: str) -> list[ThresholdValue]:
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return threshold_history(conn, athlete_id)
