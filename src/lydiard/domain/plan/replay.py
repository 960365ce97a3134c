"""Replay a plan day by day against an athlete model (closed loop).

Each simulated day runs in the order a real athlete lives it:

1. morning: ``respond(load_history)`` returns the physiology frame up to
   today's morning (the load history holds every day *before* today);
2. ``assess(physiology)`` returns today's :class:`DayAssessment`;
3. when ``adaptive``, :func:`adapt_plan` + :func:`apply_change` update the plan;
4. the athlete does today's sessions as they now stand (load = their
   ``expected_load_au``), appended to the load history.

Both callables are injected, so the same loop serves tests (a private
simulator), the staging helper's ``simulate_athlete``/``assess_days``, and the
service layer ("what if I follow the adapted plan?").
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd

from lydiard.domain.plan.adapt import DayAssessment, PlanChange, adapt_plan, apply_change
from lydiard.domain.plan.models import PlannedSession
from lydiard.errors import InvalidInputError

__all__ = ["ReplayResult", "replay_plan"]

AssessFn = Callable[[pd.DataFrame], DayAssessment]
RespondFn = Callable[[pd.Series], pd.DataFrame]


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """Outcome of :func:`replay_plan`."""

    sessions: tuple[PlannedSession, ...]  #: the plan as it stood at the end
    load_au: pd.Series  #: realised daily load (history + replayed days)
    assessments: tuple[DayAssessment, ...]  #: one per replayed day
    changes: tuple[PlanChange, ...]  #: non-empty changes, in order
    physiology: pd.DataFrame  #: the last frame returned by ``respond``

    def stages(self) -> pd.Series:
        """Stage per replayed day."""
        return pd.Series(
            [a.stage for a in self.assessments],
            index=pd.DatetimeIndex([pd.Timestamp(a.day) for a in self.assessments], name="day"),
            name="stage",
        )


def replay_plan(
    sessions: Sequence[PlannedSession],
    *,
    start_day: date,
    end_day: date,
    history_load_au: pd.Series,
    assess: AssessFn,
    respond: RespondFn,
    adaptive: bool = True,
    hrv_guided: bool = False,
) -> ReplayResult:
    """Live the plan from ``start_day`` to ``end_day`` (inclusive).

    Parameters
    ----------
    sessions : sequence of PlannedSession
        The plan at ``start_day``.
    start_day, end_day : date
        Replayed days.
    history_load_au : pandas.Series
        Realised load (AU) of the days before ``start_day``, indexed by date
        (DatetimeIndex or dates); it must end the day before ``start_day``.
    assess : callable
        ``assess(physiology_df) -> DayAssessment`` for the frame's last day.
    respond : callable
        ``respond(load_au_history) -> physiology_df``: the athlete's
        measurements up to the morning after the last load day.
    adaptive : bool
        False replays the rigid plan (assessments recorded, plan unchanged).
    hrv_guided : bool
        Passed to :func:`adapt_plan`.
    """
    if end_day < start_day:
        raise InvalidInputError("end_day must not be before start_day", field="end_day")
    hist = pd.Series(
        history_load_au.to_numpy(dtype=np.float64),
        index=pd.DatetimeIndex(pd.to_datetime(history_load_au.index), name="day"),
        name="load_au",
    ).sort_index()
    if len(hist) and hist.index.max() != pd.Timestamp(start_day - timedelta(days=1)):
        raise InvalidInputError("history_load_au must end the day before start_day",
                                field="history_load_au")
    plan = sorted(sessions, key=lambda s: s.day)
    loads = list(hist.to_numpy())
    first_day = hist.index.min() if len(hist) else pd.Timestamp(start_day)
    assessments: list[DayAssessment] = []
    changes: list[PlanChange] = []
    physiology = pd.DataFrame()
    day = start_day
    while day <= end_day:
        so_far = pd.Series(
            loads, index=pd.date_range(first_day, periods=len(loads), freq="D", name="day"),
            name="load_au", dtype=np.float64,
        )
        physiology = respond(so_far)
        verdict = assess(physiology)
        if verdict.day != day:
            raise InvalidInputError(
                f"assess returned a verdict for {verdict.day}, expected {day}", field="assess"
            )
        if adaptive:
            change = adapt_plan(plan, today=day, assessment=verdict,
                                hrv_guided=hrv_guided, history=assessments)
            if not change.is_empty:
                plan = apply_change(plan, change)
                changes.append(change)
        assessments.append(verdict)
        loads.append(float(sum(s.expected_load_au for s in plan if s.day == day)))
        day += timedelta(days=1)
    load_out = pd.Series(
        loads, index=pd.date_range(first_day, periods=len(loads), freq="D", name="day"),
        name="load_au", dtype=np.float64,
    )
    return ReplayResult(tuple(plan), load_out, tuple(assessments), tuple(changes), physiology)
