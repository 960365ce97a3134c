"""Reading an athlete and their thresholds on a connection (no access check: callers check first).

The bottom of the services: every service that derives data from an athlete's records
(metrics, re-scoring, planning, trends) reads the athlete here, never through
:mod:`lydiard.services.athletes`, whose writers call the pipeline above them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from lydiard.domain.thresholds import ThresholdValue
from lydiard.errors import NotFoundError
from lydiard.services.access import Actor, visible_athlete_row
from lydiard.storage.tables import athletes, thresholds

__all__ = ["AthleteInfo", "ThresholdValue", "athlete_info", "load_athlete", "threshold_history", "visible_athlete"]


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


def athlete_info(row: Any) -> AthleteInfo:
    """An ``athletes`` row as :class:`AthleteInfo`."""
    return AthleteInfo(
        id=row.id, name=row.name, sex=row.sex, birth_year=row.birth_year, tz=row.tz,
        user_id=row.user_id, managed_by_user_id=row.managed_by_user_id,
        hrv_guided=bool(row.hrv_guided), baseline_config=row.baseline_config,
    )


def visible_athlete(conn: Connection, actor: Actor, athlete_id: str) -> AthleteInfo:
    """The athlete, when ``actor`` may read it (access check and read in one query)."""
    return athlete_info(visible_athlete_row(conn, actor, athlete_id))


def load_athlete(conn: Connection, athlete_id: str) -> AthleteInfo:
    """Read an athlete without an access check (callers have checked already)."""
    row = conn.execute(select(athletes).where(athletes.c.id == athlete_id)).first()
    if row is None:
        raise NotFoundError("athlete not found", athlete_id=athlete_id)
    return athlete_info(row)


def threshold_history(conn: Connection, athlete_id: str) -> list[ThresholdValue]:
    """Every stored threshold of the athlete, by kind then ``valid_from``."""
    rows = conn.execute(
        select(thresholds).where(thresholds.c.athlete_id == athlete_id).order_by(thresholds.c.kind, thresholds.c.valid_from)
    ).all()
    return [ThresholdValue(kind=r.kind, value=r.value, valid_from=r.valid_from, estimated=bool(r.estimated)) for r in rows]
