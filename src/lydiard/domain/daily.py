"""Daily observations (recovery, wellness) and logged sessions, as importers produce them.

Scales are normalised by the importers: every check-in item is 1-5 with 5 = best
(fresh, great mood, eager, no soreness, slept great, relaxed); ``readiness`` is 0-10.
Hooper 1-7 (1 = best), PMSys 1-5 and app 0-100 scores are converted with
:mod:`lydiard.domain.scales`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

#: The check-in items, each 1-5 with 5 = best.
CHECKIN_ITEMS: tuple[str, ...] = ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress")
#: Boolean flags of the check-in.
CHECKIN_FLAGS: tuple[str, ...] = ("illness", "injury", "travel")
#: Kinds of HRV reading.
HRV_KINDS: tuple[str, ...] = ("morning", "overnight")
#: Plausible ranges (inclusive) of the numeric daily fields, in their units: what importers
#: accept and what the staging engine takes, from one table, so that anything stored can be
#: assessed. Resting HR 20-200 bpm, rMSSD 1-500 ms (Nunan et al. 2010 give short-term norms
#: of about 19-75 ms; well-trained athletes reach 150-250), sleep 0-24 h.
PLAUSIBLE_RANGES: dict[str, tuple[float, float]] = {
    "rmssd_ms": (1.0, 500.0),
    "rr_corrected_fraction": (0.0, 1.0),
    "rhr_bpm": (20.0, 200.0),
    "sleep_h": (0.0, 24.0),
    "readiness": (0.0, 10.0),
    **{item: (1.0, 5.0) for item in CHECKIN_ITEMS},
}


@dataclass(frozen=True, slots=True)
class DailyObservation:
    """What one source says about one local calendar ``day`` (the wake-up day).

    Every field but ``day`` and ``source`` is optional; ``None`` means "not measured".
    """

    day: date
    source: str  #: e.g. "hrv4training", "fitbit", "pmsys", "rr-file", "checkin", "csv"
    rmssd_ms: float | None = None
    hrv_kind: str | None = None  #: "morning" or "overnight"
    rr_corrected_fraction: float | None = None  #: share of beats corrected by artefact rules, 0-1
    rhr_bpm: float | None = None
    sleep_h: float | None = None
    sleep_quality: float | None = None  #: 1-5, 5 = slept great
    energy: float | None = None
    mood: float | None = None
    motivation: float | None = None
    soreness: float | None = None  #: 1-5, 5 = no soreness
    stress: float | None = None  #: 1-5, 5 = relaxed
    readiness: float | None = None  #: 0-10, 10 = ready
    illness: bool | None = None
    injury: bool | None = None
    travel: bool | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class SessionLog:
    """A training session known from a log (sRPE app, Strava CSV, Fitbit exercise), maybe without a file."""

    day: date  #: the athlete's local day of the session
    source: str
    sport: str
    duration_s: float
    started_at: datetime | None = None  #: tz-aware UTC when known
    rpe: float | None = None  #: Borg CR-10 session RPE (Foster 2001), 0-10
    name: str | None = None
    avg_hr_bpm: float | None = None
    distance_m: float | None = None
    external_id: str | None = None  #: id in the source system, used to de-duplicate


@dataclass(frozen=True, slots=True)
class DailyImport:
    """The result of reading a daily-data export."""

    observations: tuple[DailyObservation, ...]
    sessions: tuple[SessionLog, ...] = ()
    warnings: tuple[str, ...] = ()


#: No daily measure or session is dated before this day (an epoch-milliseconds timestamp
#: misread as nanoseconds lands in 1677; a year typed with two digits in 19xx or 00xx).
EARLIEST_PLAUSIBLE_DAY = date(1900, 1, 1)
#: How many problems of one file a report names (the rest are counted).
MAX_PROBLEMS_LISTED = 20


def cap_problems(problems: list[str], *, limit: int = MAX_PROBLEMS_LISTED) -> list[str]:
    """The first ``limit`` problems, and how many more there are."""
    if len(problems) <= limit:
        return list(problems)
    return [*problems[:limit], f"… and {len(problems) - limit} more problem(s)"]


def screen_days(imp: DailyImport, *, latest: date, earliest: date = EARLIEST_PLAUSIBLE_DAY) -> DailyImport:
    """Drop the observations and sessions dated outside ``earliest``-``latest`` (inclusive).

    ``latest`` is the athlete's local tomorrow (a reading filed under tomorrow by a device
    set to another zone is kept; a day further ahead is a misread date). Each dropped day
    is named in the warnings (capped by :func:`cap_problems`). Pure: no clock is read here.
    """
    def outside(day: date) -> str | None:
        if day < earliest:
            return f"dated {day.isoformat()}, before {earliest.isoformat()}"
        if day > latest:
            return f"dated {day.isoformat()}, after {latest.isoformat()} (the athlete's tomorrow)"
        return None

    problems: list[str] = []
    observations = []
    for obs in imp.observations:
        why = outside(obs.day)
        if why is None:
            observations.append(obs)
        else:
            problems.append(f"daily values {why}: skipped")
    sessions = []
    for s in imp.sessions:
        why = outside(s.day)
        if why is None:
            sessions.append(s)
        else:
            problems.append(f"a session {why}: skipped")
    if not problems:
        return imp
    return DailyImport(observations=tuple(observations), sessions=tuple(sessions),
                       warnings=(*imp.warnings, *cap_problems(problems)))
