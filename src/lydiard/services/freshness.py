"""How old an athlete's latest data is: activities, daily measures, check-ins.

``today`` uses it to say "your last data is 40 days old" rather than leave an athlete with
a long history wondering why the assessment looks like a newcomer's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select

from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import load_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import activities, daily_observations, session_logs, session_metrics

CHECKIN_SOURCE = "checkin"
#: Data older than this many days is "not recent" (the 7-day markers need their last week).
STALE_AFTER_DAYS = 3


@dataclass(frozen=True, slots=True)
class Freshness:
    today: date  #: the athlete's local today
    first_day: date | None  #: the earliest day with any data
    last_activity: date | None
    last_daily: date | None  #: recovery/wellness measures from devices and apps
    last_checkin: date | None
    guessed_loads_28d: int = 0  #: activities of the last 28 days whose load is a duration guess

    @property
    def last_any(self) -> date | None:
        days = [d for d in (self.last_activity, self.last_daily, self.last_checkin) if d is not None]
        return max(days) if days else None

    @property
    def history_days(self) -> int:
        last = self.last_any
        return (last - self.first_day).days + 1 if last is not None and self.first_day is not None else 0

    def age_days(self, day: date | None) -> int | None:
        return None if day is None else (self.today - day).days

    @property
    def stale(self) -> bool:
        age = self.age_days(self.last_any)
        return age is None or age > STALE_AFTER_DAYS


def freshness(ctx: Context, actor: Actor, athlete_id: str) -> Freshness:
    """The first and last days of each kind of data for one athlete."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        tz = load_athlete(conn, athlete_id).tz
        act = conn.execute(select(func.min(activities.c.day), func.max(activities.c.day))
                           .where(activities.c.athlete_id == athlete_id)).one()
        logs = conn.execute(select(func.min(session_logs.c.day), func.max(session_logs.c.day))
                            .where(session_logs.c.athlete_id == athlete_id)).one()
        obs = conn.execute(select(func.min(daily_observations.c.day), func.max(daily_observations.c.day))
                           .where(daily_observations.c.athlete_id == athlete_id,
                                  daily_observations.c.source != CHECKIN_SOURCE)).one()
        today = local_today(ctx, tz)
        guessed = conn.execute(select(func.count()).select_from(activities).join(
            session_metrics, session_metrics.c.activity_id == activities.c.id).where(
            activities.c.athlete_id == athlete_id, activities.c.day > today - timedelta(days=28),
            session_metrics.c.load_source == "duration_default")).scalar_one()
        chk = conn.execute(select(func.max(daily_observations.c.day))
                           .where(daily_observations.c.athlete_id == athlete_id,
                                  daily_observations.c.source == CHECKIN_SOURCE)).scalar_one()
    firsts = [d for d in (act[0], logs[0], obs[0]) if d is not None]
    lasts = [d for d in (act[1], logs[1]) if d is not None]
    return Freshness(today=today, first_day=min(firsts) if firsts else None,
                     last_activity=max(lasts) if lasts else None, last_daily=obs[1], last_checkin=chk,
                     guessed_loads_28d=int(guessed))


__all__ = ["STALE_AFTER_DAYS", "Freshness", "freshness"]
