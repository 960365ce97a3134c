"""Patterns across time for one athlete: what their fatigue episodes have in common.

Reads the stored stages (``daily_metrics``) and the stored inputs of the same days (daily
load, the check-in's stress item, and the race days the signals derive from stored sessions,
check-ins and the plan: :func:`lydiard.services.metrics.daily_inputs`), and calls
:func:`lydiard.domain.recovery.patterns.recurring_episodes`: the rule lives in the domain,
this module only feeds it the stored data and says it in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from lydiard.domain.recovery import STAGE_NAMES
from lydiard.domain.recovery.patterns import recurring_episodes
from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.athlete_store import visible_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import daily_inputs
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import daily_metrics

_STAGE_CODES: dict[str, int] = {name: code for code, name in STAGE_NAMES.items()}


@dataclass(frozen=True, slots=True)
class Pattern:
    """One recurring context of the athlete's fatigue episodes."""

    pattern: str  #: ``after_race``, ``after_heavy_block`` or ``high_life_stress``
    episodes: int  #: episodes that began in this context
    of_total: int  #: all episodes on record
    days: list[date]  #: the first day of each of those episodes
    text: str  #: in plain words


@dataclass(frozen=True, slots=True)
class Patterns:
    """What one athlete's fatigue episodes (deep fatigue or worse) have in common."""

    athlete_id: str
    first_day: date | None  #: the days looked at (None: no stored days)
    last_day: date | None
    episodes: list[date] = field(default_factory=list)  #: first day of each episode
    patterns: list[Pattern] = field(default_factory=list)  #: recurring contexts, most frequent first

    @property
    def summary(self) -> str:
        """One sentence for the page when nothing recurs."""
        if not self.episodes:
            return "No fatigue episode (deep fatigue or worse) on record yet."
        n = len(self.episodes)
        if not self.patterns:
            return (f"{n} fatigue episode{'s' if n != 1 else ''} on record; none of races, heavy blocks "
                    "or weeks of high life stress preceded two or more of them.")
        return f"{n} fatigue episode{'s' if n != 1 else ''} on record."


def athlete_patterns(ctx: Context, actor: Actor, athlete_id: str) -> Patterns:
    """Recurring fatigue episodes of ``athlete_id`` from the stored days (a read: access-checked, audited)."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        athlete = visible_athlete(conn, actor, athlete_id)
        rows = conn.execute(select(daily_metrics.c.day, daily_metrics.c.stage)
                            .where(daily_metrics.c.athlete_id == athlete_id).order_by(daily_metrics.c.day)).all()
        frame = daily_inputs(conn, athlete_id, until=rows[-1].day, sex=athlete.sex) if rows else pd.DataFrame()
    audit.record_view(ctx.engine, actor, athlete_id=athlete_id, action="view.patterns", at=ctx.clock())
    if not rows:
        return Patterns(athlete_id=athlete_id, first_day=None, last_day=None)
    return patterns_of(athlete_id, [(r.day, r.stage) for r in rows], frame)


def patterns_of(athlete_id: str, stages: list[tuple[date, str]], frame: pd.DataFrame) -> Patterns:
    """:class:`Patterns` from stored (day, stage) rows and the athlete's daily inputs frame."""
    first, last = stages[0][0], stages[-1][0]
    index = pd.date_range(first, last, freq="D", name="day")
    stage = pd.Series([_STAGE_CODES.get(s, -1) for _, s in stages],
                      index=pd.DatetimeIndex([pd.Timestamp(d) for d, _ in stages])).reindex(index, fill_value=-1)
    inputs: dict[str, Any] = {}
    for name, col in (("race", "race"), ("load_au", "load_au"), ("stress", "stress")):
        if col in frame.columns:
            values = pd.to_numeric(frame[col].astype("Float64"), errors="coerce").reindex(index)
            inputs[name] = values.to_numpy(dtype=np.float64, na_value=np.nan)
    found = recurring_episodes(stage.to_numpy(dtype=np.float64), **inputs)
    def day_of(k: int) -> date:
        return first + timedelta(days=int(k))
    return Patterns(
        athlete_id=athlete_id, first_day=first, last_day=last,
        episodes=[day_of(k) for k in found["episodes"]],
        patterns=[Pattern(pattern=p["pattern"], episodes=p["episodes"], of_total=p["of_total"],
                          days=[day_of(k) for k in p["days"]], text=p["text"]) for p in found["patterns"]],
    )


__all__ = ["Pattern", "Patterns", "athlete_patterns", "patterns_of"]
