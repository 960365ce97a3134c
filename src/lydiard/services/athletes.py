"""Athletes, their profile and their physiological thresholds (each with a valid-from day)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import delete, insert, select, update

from lydiard.domain.daily import HRV_KINDS
from lydiard.domain.thresholds import THRESHOLD_RANGES as THRESHOLD_RANGES
from lydiard.domain.thresholds import ThresholdValue as ThresholdValue
from lydiard.domain.thresholds import thresholds_on as thresholds_on
from lydiard.errors import ConflictError, InvalidInputError, NotFoundError
from lydiard.services import audit, pipeline
from lydiard.services.access import (
    Actor,
    check_athlete,
    visible_athlete_row,
    visible_athletes_clause,
)
from lydiard.services.athlete_store import (
    AthleteInfo as AthleteInfo,  # re-exported: the API of athletes
)
from lydiard.services.athlete_store import athlete_info
from lydiard.services.athlete_store import load_athlete as load_athlete
from lydiard.services.athlete_store import threshold_history as threshold_history
from lydiard.services.athlete_store import visible_athlete as visible_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.pipeline import Change
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athletes, thresholds


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
    return athlete_info(row)


def get_athlete(ctx: Context, actor: Actor, athlete_id: str) -> AthleteInfo:
    with translate_db_errors(), ctx.engine.connect() as conn:
        return athlete_info(visible_athlete_row(conn, actor, athlete_id))


def list_athletes(ctx: Context, actor: Actor) -> list[AthleteInfo]:
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(athletes).where(visible_athletes_clause(actor)).order_by(athletes.c.name)).all()
    return [athlete_info(r) for r in rows]


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


#: Baseline settings an athlete may change: each window's plausible range in days (inclusive).
#: The current window needs at least ``BaselineConfig.min_valid_days`` (4) days.
BASELINE_WINDOW_DAYS: dict[str, tuple[int, int]] = {
    "window_days": (4, 14),
    "hrv_baseline_days": (14, 120),
    "rhr_baseline_days": (14, 120),
    "sleep_baseline_days": (7, 90),
    "wellness_baseline_days": (14, 90),
}


def validate_baseline_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The athlete's baseline settings, checked: windows in whole days within
    :data:`BASELINE_WINDOW_DAYS`, ``hrv_kind`` one of :data:`~lydiard.domain.daily.HRV_KINDS`."""
    out: dict[str, Any] = {}
    for name, value in config.items():
        if name == "hrv_kind":
            if value not in HRV_KINDS:
                raise InvalidInputError(f"HRV readings must be one of {', '.join(HRV_KINDS)}", field=name)
        elif name in BASELINE_WINDOW_DAYS:
            lo, hi = BASELINE_WINDOW_DAYS[name]
            if isinstance(value, bool) or not isinstance(value, int):
                raise InvalidInputError(f"{name} must be a whole number of days", field=name)
            if not lo <= value <= hi:
                raise InvalidInputError(f"{name} must be between {lo} and {hi} days", field=name)
        else:
            raise InvalidInputError(f"unknown baseline setting {name!r}; one of "
                                    f"{sorted([*BASELINE_WINDOW_DAYS, 'hrv_kind'])}", field=name)
        out[name] = value
    return out


def _profile_change(fields: Iterable[str]) -> Change | None:
    """What a profile change requires downstream: sex re-scores every session (TRIMP), the time
    zone and the baselines change every day's metrics, HRV guidance the plan adaptation."""
    changed = set(fields)
    if "sex" in changed:
        return Change.thresholds(since=None)
    if changed & {"tz", "baseline_config"}:
        return Change.data(since=None)
    if "hrv_guided" in changed:
        return Change(recompute=False)
    return None


def update_profile(
    ctx: Context, actor: Actor, athlete_id: str, *, name: str | None = None, sex: str | None = None,
    birth_year: int | None = None, tz: str | None = None, hrv_guided: bool | None = None,
    baseline_config: dict[str, Any] | None = None,
) -> AthleteInfo:
    """Change the profile; the pipeline then recomputes what the change affects."""
    _validate_profile(name=name, sex=sex, birth_year=birth_year, tz=tz)
    if baseline_config is not None:
        baseline_config = validate_baseline_config(baseline_config)
    values: dict[str, Any] = {
        k: v for k, v in dict(name=name, sex=sex, birth_year=birth_year, tz=tz, hrv_guided=hrv_guided,
                              baseline_config=baseline_config).items() if v is not None
    }
    # the profile is the athlete's: a linked coach may not change it (HRV guidance and baselines they may)
    with pipeline.writing(ctx, actor, athlete_id,
                          owner_only=bool(values.keys() & {"name", "sex", "birth_year", "tz"})) as w:
        if values:
            before = w.athlete
            changed = [k for k, v in values.items() if getattr(before, k) != v]
            w.conn.execute(update(athletes).where(athletes.c.id == athlete_id).values(**values))
            audit.record(w.conn, actor, athlete_id=athlete_id, action="athlete.update", at=ctx.clock(),
                         fields=sorted(values))
            change = _profile_change(changed)
            if change is not None:
                w.changed(change)
    return get_athlete(ctx, actor, athlete_id)


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    """A threshold as stored, and what the pipeline did after it."""

    value: ThresholdValue
    sessions_rescored: int  #: sessions dated on or after ``valid_from`` that were re-scored
    days_written: int  #: daily-metric days whose stored values changed


def set_threshold(
    ctx: Context, actor: Actor, athlete_id: str, *, kind: str, value: float, valid_from: date,
    estimated: bool = False,
) -> ThresholdSet:
    """Set a threshold from ``valid_from`` on (replacing a value set for the same day); the
    pipeline re-scores the sessions from that day and recomputes."""
    if kind not in THRESHOLD_RANGES:
        raise InvalidInputError(f"unknown threshold {kind!r}; one of {sorted(THRESHOLD_RANGES)}", field="kind")
    lo, hi = THRESHOLD_RANGES[kind]
    if not (lo <= value <= hi):
        raise InvalidInputError(f"{kind} must be between {lo:g} and {hi:g}", field=kind)
    with pipeline.writing(ctx, actor, athlete_id) as w:
        w.conn.execute(
            delete(thresholds).where(thresholds.c.athlete_id == athlete_id, thresholds.c.kind == kind,
                                     thresholds.c.valid_from == valid_from)
        )
        w.conn.execute(
            insert(thresholds).values(athlete_id=athlete_id, kind=kind, value=float(value), valid_from=valid_from,
                                      estimated=estimated, created_at=ctx.clock())
        )
        audit.record(w.conn, actor, athlete_id=athlete_id, action="threshold.set", at=ctx.clock(), kind=kind,
                     value=value, valid_from=valid_from.isoformat())
        w.changed(Change.thresholds(since=valid_from))
    done = w.outcome
    return ThresholdSet(
        value=ThresholdValue(kind=kind, value=float(value), valid_from=valid_from, estimated=estimated),
        sessions_rescored=done.sessions_rescored if done is not None else 0,
        days_written=done.days_written if done is not None else 0,
    )


def delete_threshold(ctx: Context, actor: Actor, athlete_id: str, *, kind: str, valid_from: date) -> None:
    """Delete the ``kind`` value set from ``valid_from``; the earlier value (if any) holds again
    from that day, and the pipeline re-scores and recomputes from it."""
    with pipeline.writing(ctx, actor, athlete_id) as w:
        gone = w.conn.execute(
            delete(thresholds).where(thresholds.c.athlete_id == athlete_id, thresholds.c.kind == kind,
                                     thresholds.c.valid_from == valid_from)
        ).rowcount
        if not gone:
            raise NotFoundError(f"no {kind} set from {valid_from.isoformat()}", kind=kind,
                                valid_from=valid_from.isoformat())
        audit.record(w.conn, actor, athlete_id=athlete_id, action="threshold.delete", at=ctx.clock(), kind=kind,
                     valid_from=valid_from.isoformat())
        w.changed(Change.thresholds(since=valid_from))


def list_thresholds(ctx: Context, actor: Actor, athlete_id: str) -> list[ThresholdValue]:
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        return threshold_history(conn, athlete_id)
