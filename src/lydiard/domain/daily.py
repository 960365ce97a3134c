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
