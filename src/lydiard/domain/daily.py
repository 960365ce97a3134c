"""Daily observations (recovery, wellness) and logged sessions, as importers produce them.

Scales are normalised by the importers: every check-in item is 1-5 with 5 = best
(fresh, great mood, eager, no soreness, slept great, relaxed); ``readiness`` is 0-10.
Hooper 1-7 (1 = best), PMSys 1-5 and app 0-100 scores are converted with
:mod:`lydiard.domain.scales`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

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


#: The source name of the athlete's own daily check-in.
CHECKIN_SOURCE = "checkin"
#: Which source wins when several report the same field for a day (first wins): the
#: athlete's own check-in, then RR files (artefact-corrected here), then HRV apps, then
#: wearables' and generic exports.
SOURCE_PRIORITY: tuple[str, ...] = (CHECKIN_SOURCE, "rr-file", "hrv4training", "elitehrv", "hrvlogger", "pmsys",
                                    "fitbit", "apple-health", "csv")
_RANK = {s: i for i, s in enumerate(SOURCE_PRIORITY)}


def source_rank(sources: Iterable[Any]) -> NDArray[np.int64]:
    """The priority rank of each source name (0 = wins; unknown sources after every known one)."""
    return np.fromiter((_RANK.get(s, len(_RANK)) for s in sources), dtype=np.int64)


def merge_by_source(keys: ArrayLike, sources: Iterable[Any],
                    fields: Mapping[str, ArrayLike]) -> tuple[NDArray[np.int64], dict[str, NDArray[Any]]]:
    """Merge observations of several sources field by field: the one rule of Lydiard.

    ``keys``: one integer per observation row naming what is merged together (a day
    number, or athlete × day); ``sources``: each row's source; ``fields``: each field's
    values per row (``None``/NaN = not reported). For each key and each field the value
    of the best-ranked source (:data:`SOURCE_PRIORITY`) that reports one wins, so a
    check-in's sleep beats a watch's but a watch's HRV fills a check-in without one.

    Returns the sorted distinct keys and, per field, the merged values aligned with them
    (float fields as float64 with NaN for none; other fields as object with ``None``).
    """
    key = np.asarray(keys, dtype=np.int64)
    rank = source_rank(sources)
    order = np.lexsort((rank, key))  # by key, then by priority (stable within a rank)
    key_sorted = key[order]
    distinct = np.unique(key_sorted)
    out: dict[str, NDArray[Any]] = {}
    for name, raw in fields.items():
        values = np.asarray(raw)
        numeric = values.dtype.kind in "fiu"
        values = values.astype(np.float64 if numeric else object)[order]
        valid = np.isfinite(values) if numeric else pd.notna(values)
        first_keys, first_at = np.unique(key_sorted[valid], return_index=True)
        merged = np.full(len(distinct), np.nan) if numeric else np.full(len(distinct), None, dtype=object)
        merged[np.searchsorted(distinct, first_keys)] = values[valid][first_at]
        out[name] = merged
    return distinct, out


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
    race: bool | None = None  #: the athlete raced this day (a race flag on the check-in)


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
