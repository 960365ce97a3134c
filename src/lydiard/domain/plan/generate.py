"""Generate a periodised plan towards a goal race or event.

Structure
---------
* **Phases.** The weeks before the taper are split base (≈ 50 %), build
  (≈ 35 %) and peak (≈ 15 %, at least one week when the plan has ≥ 4 such
  weeks). Base holds one tempo session; build one intervals + one tempo;
  peak two intervals sessions. Every week has a long session, easy days and a
  rest day.
* **Recovery weeks.** With ``recovery_pattern=(3, 1)`` (default) every fourth
  week is a recovery week at 60 % of the previous week's volume; ``(2, 1)``
  makes every third week one (common for masters athletes).
* **Ramp cap.** A loading week's volume is the largest that keeps the
  projected CTL (exponential 42-d EWMA) from rising more than
  ``max_ramp_ctl_per_week`` (default 5 CTL points/week; practitioner guidance
  is 3-8 points/week, TrainingPeaks/Friel **(verify)**), and is also capped by
  ``weekly_hours``.
* **Taper.** 14 days when there are ≥ 8 weeks, else 7 days; volume cut
  progressively (≈ 40 % then 60 %, mean ``taper_volume_cut``), intensity and
  session frequency kept. Bosquet et al. 2007 meta-analysis: taper of 8-14 d
  with an exponential volume reduction of 41-60 % and maintained intensity
  and frequency maximised performance **(verify)**; Mujika & Padilla 2003.
* **Post-race recovery.** ``clip(race_load_au / 20, 3, 28)`` days after the
  race (:func:`lydiard.domain.recovery.races.post_race_recovery_days`, the rule the
  fatigue call uses too)
  race: two rest days, then active recovery alternating with short easy
  sessions. A heuristic (longer races need longer recovery), not evidence.

References
----------
Bosquet L, Montpetit J, Arvisais D, Mujika I (2007). Effects of tapering on
performance: a meta-analysis. Med Sci Sports Exerc 39:1358-1365.
Mujika I, Padilla S (2003). Scientific bases for precompetition tapering
strategies. Med Sci Sports Exerc 35:1182-1187.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from lydiard.domain.plan.models import LOAD_PER_HOUR_AU, PlannedSession, race_load_per_hour_au
from lydiard.domain.recovery.races import post_race_recovery_days
from lydiard.errors import InvalidInputError

__all__ = [
    "DEFAULT_SPEED_MPS",
    "WeekSpec",
    "generate_plan",
    "plan_weeks",
    "post_race_recovery_days",
]

#: Typical race speeds (m/s) used to turn a goal distance into a duration.
DEFAULT_SPEED_MPS: dict[str, float] = {"run": 3.3, "ride": 8.5, "swim": 1.0, "row": 4.0}

#: Day roles of a week, Monday first: (session_type, share of weekly hours).
_TEMPLATES: dict[str, tuple[tuple[str, float], ...]] = {
    "base": (("rest", 0), ("easy", 0.14), ("tempo", 0.14), ("easy", 0.14),
             ("strength", 0.08), ("easy", 0.18), ("long", 0.32)),
    "build": (("rest", 0), ("intervals", 0.14), ("easy", 0.14), ("tempo", 0.14),
              ("easy", 0.12), ("easy", 0.16), ("long", 0.30)),
    "peak": (("rest", 0), ("intervals", 0.15), ("easy", 0.14), ("intervals", 0.14),
             ("easy", 0.12), ("easy", 0.15), ("long", 0.30)),
    "recovery": (("rest", 0), ("easy", 0.16), ("easy", 0.16), ("tempo", 0.14),
                 ("rest", 0), ("easy", 0.22), ("long", 0.32)),
    "taper": (("rest", 0), ("intervals", 0.18), ("easy", 0.16), ("tempo", 0.16),
              ("easy", 0.14), ("easy", 0.12), ("long", 0.24)),
}

_TARGETS = {
    "easy": "Z2", "long": "Z2", "tempo": "Z3 (RPE 6)", "intervals": "Z4-Z5 (RPE 8)",
    "strength": "RPE 6", "active_recovery": "Z1", "rest": "", "race": "race effort",
}

RECOVERY_WEEK_FRACTION = 0.6
MIN_SESSION_S = 20 * 60


@dataclass(frozen=True, slots=True)
class WeekSpec:
    """One planned week: its first day, phase and time budget (h)."""

    start_day: date
    phase: str  #: base, build, peak, recovery, taper
    hours: float


def _round5(duration_s: float) -> float:
    """Round down to whole 5-min blocks (never above the budget)."""
    return float(math.floor(duration_s / 300.0) * 300.0)


def _week_shape(phase: str, start_weekday: int) -> list[tuple[str, float]]:
    """The template rotated so that index 0 is the plan's first weekday."""
    template = list(_TEMPLATES[phase])
    return template[start_weekday:] + template[:start_weekday]


def _load_rate_per_hour(shape: list[tuple[str, float]]) -> float:
    return sum(share * LOAD_PER_HOUR_AU[kind] for kind, share in shape)


def _ctl_weights(shape: list[tuple[str, float]], *, ctl_days: float) -> float:
    """Σ_j share_j·rate_j·(1−a)·a^{6−j}: CTL gain at week end per weekly hour."""
    a = math.exp(-1.0 / ctl_days)
    return sum(
        share * LOAD_PER_HOUR_AU[kind] * (1 - a) * a ** (6 - j)
        for j, (kind, share) in enumerate(shape)
    )


def plan_weeks(*, n_weeks: int, recovery_pattern: tuple[int, int]) -> list[str]:
    """Phase of each pre-taper week (base/build/peak/recovery), in order."""
    load_weeks, rec_weeks = recovery_pattern
    cycle = load_weeks + rec_weeks
    phases: list[str] = []
    n_base = round(n_weeks * 0.5)
    n_peak = max(1, round(n_weeks * 0.15)) if n_weeks >= 4 else 0
    for i in range(n_weeks):
        # The last week before the taper is never a recovery week.
        if i % cycle >= load_weeks and i < n_weeks - 1:
            phases.append("recovery")
        elif i >= n_weeks - n_peak:
            phases.append("peak")
        elif i < n_base:
            phases.append("base")
        else:
            phases.append("build")
    return phases


def generate_plan(
    *,
    goal_day: date,
    goal_sport: str,
    start_day: date,
    current_ctl: float,
    weekly_hours: float,
    goal_type: str = "race",
    goal_distance_m: float | None = None,
    goal_duration_s: float | None = None,
    recovery_pattern: tuple[int, int] = (3, 1),
    max_ramp_ctl_per_week: float = 5.0,
    taper_volume_cut: float = 0.5,
    ctl_days: float = 42.0,
    include_post_race: bool = True,
    plan_id: str = "plan",
) -> list[PlannedSession]:
    """A day-by-day plan from ``start_day`` to the goal and its recovery window.

    Parameters
    ----------
    goal_day : date
        Race/event day (``session_type="race"``).
    goal_sport : str
        Sport of the goal and of the endurance sessions ("run", "ride", ...).
    start_day : date
        First planned day; must be at least 7 days before ``goal_day``.
    current_ctl : float
        CTL (AU/day, exponential 42-d convention) on the day before ``start_day``.
    weekly_hours : float
        Maximum training hours per week (> 0).
    goal_type : {"race", "event"}
        A race is done at competitive intensity, an event at ≈ 80 % of it.
    goal_distance_m, goal_duration_s : float, optional
        The goal's distance (m) or expected duration (s); duration wins. Distance
        is converted with :data:`DEFAULT_SPEED_MPS`; neither → 1 h.
    recovery_pattern : (int, int)
        Loading weeks : recovery weeks, (3, 1) or (2, 1).
    max_ramp_ctl_per_week : float
        Cap on the rise of projected CTL over a week (CTL points), > 0.
    taper_volume_cut : float
        Mean volume reduction in the taper (0.4-0.6 recommended).
    ctl_days : float
        CTL time constant (days) for the ramp projection.
    include_post_race : bool
        Append the post-race recovery window.
    plan_id : str
        Prefix of the stable ``session_id`` (``f"{plan_id}:{day}"``).

    Returns
    -------
    list of PlannedSession
        One session per day (rest days included), sorted by day.

    Raises
    ------
    InvalidInputError
        Inconsistent or out-of-range arguments.
    """
    _validate(goal_day=goal_day, start_day=start_day, current_ctl=current_ctl,
              weekly_hours=weekly_hours, goal_type=goal_type, goal_sport=goal_sport,
              recovery_pattern=recovery_pattern, max_ramp_ctl_per_week=max_ramp_ctl_per_week,
              taper_volume_cut=taper_volume_cut, goal_distance_m=goal_distance_m,
              goal_duration_s=goal_duration_s)
    n_days = (goal_day - start_day).days
    n_weeks_total = n_days // 7
    taper_weeks = 2 if n_weeks_total >= 8 else 1
    pre_taper_weeks = max(n_weeks_total - taper_weeks, 0)
    # Days before the first full week (plan does not start on a week boundary):
    # filled with easy/rest days at the current level.
    phases = plan_weeks(n_weeks=pre_taper_weeks, recovery_pattern=recovery_pattern)
    taper_cuts = [taper_volume_cut] if taper_weeks == 1 else [
        taper_volume_cut - 0.1, taper_volume_cut + 0.1]

    sessions: list[PlannedSession] = []
    ctl = float(current_ctl)
    a = math.exp(-1.0 / ctl_days)
    start_weekday = (goal_day + timedelta(days=1)).weekday()  # weeks end on race day
    lead_days = n_days - 7 * n_weeks_total + 1  # weeks end on goal_day
    day = start_day
    for i in range(lead_days):
        # Lead-in days: easy sessions that hold CTL steady.
        kind = "rest" if day.weekday() == 0 else "easy"
        hours = min(ctl / LOAD_PER_HOUR_AU["easy"], weekly_hours / 6) if kind == "easy" else 0.0
        sessions.append(_session(day, kind, hours * 3600, goal_sport, plan_id, "lead-in"))
        ctl = ctl * a + (1 - a) * sessions[-1].expected_load_au
        day = start_day + timedelta(days=i + 1)
    prev_hours = max(ctl * 7 / _load_rate_per_hour(_week_shape("base", start_weekday)), 1.0)
    last_load_hours = prev_hours
    week_specs: list[WeekSpec] = []
    for w in range(n_weeks_total):
        phase = phases[w] if w < pre_taper_weeks else "taper"
        shape = _week_shape(phase, start_weekday)
        if phase == "recovery":
            hours = last_load_hours * RECOVERY_WEEK_FRACTION
        elif phase == "taper":
            hours = last_load_hours * (1 - taper_cuts[w - pre_taper_weeks])
        else:
            # Largest weekly hours keeping CTL_end − CTL_start <= cap.
            gain = _ctl_weights(shape, ctl_days=ctl_days)
            ramp_hours = (ctl + max_ramp_ctl_per_week - ctl * a**7) / gain
            hours = min(ramp_hours, weekly_hours)
            last_load_hours = hours
        week_specs.append(WeekSpec(day, phase, hours))
        for j, (kind, share) in enumerate(shape):
            d = day + timedelta(days=j)
            if d == goal_day:
                sessions.append(_race(d, goal_sport, goal_type, goal_distance_m,
                                      goal_duration_s, plan_id))
            elif phase == "taper" and d == goal_day - timedelta(days=1):
                sessions.append(_session(d, "easy", 30 * 60, goal_sport, plan_id,
                                         "taper: short with 3-4 openers"))
            else:
                sessions.append(_session(d, kind, share * hours * 3600, goal_sport, plan_id,
                                         phase))
            ctl = ctl * a + (1 - a) * sessions[-1].expected_load_au
        day = day + timedelta(days=7)
    if include_post_race:
        race = sessions[-1]
        for k in range(1, post_race_recovery_days(race.expected_load_au) + 1):
            d = goal_day + timedelta(days=k)
            if k <= 2:
                kind, dur = "rest", 0.0
            elif k % 2:
                kind, dur = "active_recovery", 30 * 60.0
            else:
                kind, dur = "easy", min(45 * 60.0, weekly_hours * 3600 / 10)
            sessions.append(_session(d, kind, dur, goal_sport, plan_id, "post-race recovery"))
    return sessions


def _validate(
    *,
    goal_day: date,
    start_day: date,
    current_ctl: float,
    weekly_hours: float,
    goal_type: str,
    goal_sport: str,
    recovery_pattern: tuple[int, int],
    max_ramp_ctl_per_week: float,
    taper_volume_cut: float,
    goal_distance_m: float | None,
    goal_duration_s: float | None,
) -> None:
    if (goal_day - start_day).days < 7:
        raise InvalidInputError("goal_day must be at least 7 days after start_day",
                                field="goal_day")
    if not (math.isfinite(current_ctl) and current_ctl >= 0):
        raise InvalidInputError("current_ctl must be >= 0", field="current_ctl")
    if not (math.isfinite(weekly_hours) and 0 < weekly_hours <= 40):
        raise InvalidInputError("weekly_hours must be in (0, 40]", field="weekly_hours")
    if goal_type not in ("race", "event"):
        raise InvalidInputError("goal_type must be 'race' or 'event'", field="goal_type")
    if not goal_sport.strip():
        raise InvalidInputError("goal_sport must not be empty", field="goal_sport")
    if recovery_pattern not in ((3, 1), (2, 1)):
        raise InvalidInputError("recovery_pattern must be (3, 1) or (2, 1)",
                                field="recovery_pattern")
    if not (math.isfinite(max_ramp_ctl_per_week) and max_ramp_ctl_per_week > 0):
        raise InvalidInputError("max_ramp_ctl_per_week must be > 0",
                                field="max_ramp_ctl_per_week")
    if not 0.2 <= taper_volume_cut <= 0.7:
        raise InvalidInputError("taper_volume_cut must be in [0.2, 0.7]",
                                field="taper_volume_cut")
    for name, value in (("goal_distance_m", goal_distance_m),
                        ("goal_duration_s", goal_duration_s)):
        if value is not None and not (math.isfinite(value) and value > 0):
            raise InvalidInputError(f"{name} must be > 0", field=name)


def _session(
    day: date, kind: str, duration_s: float, sport: str, plan_id: str, phase: str
) -> PlannedSession:
    if kind == "rest":
        return PlannedSession(day=day, sport=sport, session_type="rest", duration_s=0.0,
                              notes=phase, session_id=f"{plan_id}:{day.isoformat()}")
    duration = max(_round5(duration_s), float(MIN_SESSION_S))
    session_sport = "strength" if kind == "strength" else sport
    load = LOAD_PER_HOUR_AU[kind] * duration / 3600.0
    return PlannedSession(
        day=day, sport=session_sport, session_type=kind, duration_s=duration,
        intensity_target=_TARGETS[kind], expected_load_au=float(np.round(load, 1)),
        notes=phase, session_id=f"{plan_id}:{day.isoformat()}",
    )


def _race(
    day: date,
    sport: str,
    goal_type: str,
    distance_m: float | None,
    duration_s: float | None,
    plan_id: str,
) -> PlannedSession:
    if duration_s is None:
        speed = DEFAULT_SPEED_MPS.get(sport)
        duration_s = distance_m / speed if distance_m is not None and speed else 3600.0
    rate = race_load_per_hour_au(duration_s, competitive=goal_type == "race")
    note = goal_type if distance_m is None else f"{goal_type} {distance_m / 1000:g} km"
    return PlannedSession(
        day=day, sport=sport, session_type="race", duration_s=float(round(duration_s)),
        intensity_target=_TARGETS["race"] if goal_type == "race" else "steady (Z2-Z3)",
        expected_load_au=float(np.round(rate * duration_s / 3600.0, 1)), notes=note,
        session_id=f"{plan_id}:{day.isoformat()}",
    )
