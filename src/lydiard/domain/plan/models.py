"""Planned sessions: the unit of a training plan.

Expected load is in **TSS-equivalent AU** (1 h at threshold = 100 AU, Coggan's
TSS = hours·IF²·100). The per-hour rates below follow from typical intensity
factors per session type (IF² · 100): easy IF ≈ 0.72-0.77, long ≈ 0.78-0.80,
tempo ≈ 0.87-0.92, intervals ≈ 0.95-1.0 (work + recoveries), strength and
active recovery are conventional values (TrainingPeaks-style estimates, not
measurements). They are planning defaults; real sessions are measured. A planned
strength session is scored by the same session-RPE rule as a measured one
(:func:`~lydiard.domain.load.srpe.srpe_to_tss` of RPE × minutes, Foster 2001) at its
target RPE (:data:`PLANNED_STRENGTH_RPE`): 6 × 60 / 4.2 ≈ 85.7 AU/h.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date

from lydiard.domain.load.srpe import srpe_to_tss
from lydiard.errors import InvalidInputError

__all__ = [
    "INTENSITY_SESSION_TYPES",
    "LOAD_PER_HOUR_AU",
    "PLANNED_STRENGTH_RPE",
    "SESSION_TYPES",
    "PlannedSession",
    "race_load_per_hour_au",
    "session_label",
]

#: Every session type a plan can hold.
SESSION_TYPES: tuple[str, ...] = (
    "easy", "long", "tempo", "intervals", "race", "strength", "rest", "active_recovery",
)
#: Session types that count as "intensity" (HRV-guided mode gates them).
INTENSITY_SESSION_TYPES: frozenset[str] = frozenset({"tempo", "intervals", "race"})
#: Target session RPE (CR-10) of a planned strength session (its intensity target "RPE 6").
PLANNED_STRENGTH_RPE: float = 6.0
#: Planning rate of expected load per hour (TSS-equivalent AU/h); race: see
#: :func:`race_load_per_hour_au`.
LOAD_PER_HOUR_AU: dict[str, float] = {
    "easy": 55.0,
    "long": 62.0,
    "tempo": 80.0,
    "intervals": 95.0,
    "strength": srpe_to_tss(PLANNED_STRENGTH_RPE * 60.0),  # the measured sRPE rule, ≈ 85.7
    "active_recovery": 30.0,
    "rest": 0.0,
}

_LABELS = {
    "easy": "Easy", "long": "Long", "tempo": "Tempo", "intervals": "Intervals",
    "race": "Race", "strength": "Strength", "rest": "Rest",
    "active_recovery": "Active recovery",
}


def session_label(session_type: str) -> str:
    """Human label of a session type ("intervals" → "Intervals")."""
    return _LABELS.get(session_type, session_type.replace("_", " ").capitalize())


def race_load_per_hour_au(duration_s: float, *, competitive: bool = True) -> float:
    """Expected race load per hour (TSS-equivalent AU/h) for a race of a given duration.

    Sustainable intensity falls with duration; we use ``IF = h^(−0.07)`` clipped
    to [0.65, 1.10] (≈1.05 for 30 min, 1.0 for 1 h, 0.93 for 3 h, 0.85 for 10 h),
    a rough fit to typical race intensity factors **(verify)**; a
    non-competitive event is ridden/run at 80 % of that IF. Load/h = IF²·100.
    """
    hours = float(max(duration_s, 60.0) / 3600.0)
    intensity_factor = float(min(max(hours**-0.07, 0.65), 1.10))
    if not competitive:
        intensity_factor *= 0.8
    return 100.0 * intensity_factor**2


@dataclass(frozen=True, slots=True)
class PlannedSession:
    """One planned session on one day.

    Parameters
    ----------
    day : date
        Local calendar day.
    sport : str
        e.g. "run", "ride", "swim", "strength".
    session_type : str
        One of :data:`SESSION_TYPES`.
    duration_s : float
        Planned duration (s), >= 0 (0 for rest).
    intensity_target : str
        Free-text target, e.g. "Z2", "95% FTP", "RPE 7".
    expected_load_au : float
        Expected load (TSS-equivalent AU), >= 0.
    notes : str
        Free text.
    session_id : str
        Stable identifier (kept through adaptations; used as iCalendar UID stem).
        Empty → derived from day, sport and type.
    original : PlannedSession or None
        The session as first planned, when this one is an adaptation of it
        (lets :func:`~lydiard.domain.plan.adapt.adapt_plan` resume the plan).
    """

    day: date
    sport: str
    session_type: str
    duration_s: float
    intensity_target: str = ""
    expected_load_au: float = 0.0
    notes: str = ""
    session_id: str = ""
    original: PlannedSession | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.day, date):
            raise InvalidInputError("day must be a datetime.date", field="day")
        if self.session_type not in SESSION_TYPES:
            raise InvalidInputError(
                f"session_type must be one of {', '.join(SESSION_TYPES)}; got "
                f"{self.session_type!r}",
                field="session_type",
            )
        if not (math.isfinite(self.duration_s) and self.duration_s >= 0):
            raise InvalidInputError("duration_s must be a finite number >= 0", field="duration_s")
        if not (math.isfinite(self.expected_load_au) and self.expected_load_au >= 0):
            raise InvalidInputError(
                "expected_load_au must be a finite number >= 0", field="expected_load_au"
            )
        if not self.sport.strip():
            raise InvalidInputError("sport must not be empty", field="sport")
        if not self.session_id:
            object.__setattr__(
                self, "session_id", f"{self.day.isoformat()}-{self.sport}-{self.session_type}"
            )

    @property
    def is_intensity(self) -> bool:
        """True for tempo, intervals and races."""
        return self.session_type in INTENSITY_SESSION_TYPES

    @property
    def is_rest(self) -> bool:
        """True for rest days (no training)."""
        return self.session_type == "rest"

    @property
    def duration_min(self) -> float:
        """Duration in minutes."""
        return self.duration_s / 60.0

    @property
    def root(self) -> PlannedSession:
        """The session as originally planned (itself when never adapted)."""
        return self.original if self.original is not None else self

    def summary(self) -> str:
        """Short text: "Intervals 75 min (95 TSS)" or "Rest"."""
        if self.is_rest:
            return "Rest"
        return (
            f"{session_label(self.session_type)} {round(self.duration_min)} min "
            f"({round(self.expected_load_au)} TSS)"
        )

    def adapted(self, **changes: object) -> PlannedSession:
        """A modified copy that remembers the original plan (same ``session_id``)."""
        return dataclasses.replace(self, original=self.root, **changes)  # type: ignore[arg-type]
