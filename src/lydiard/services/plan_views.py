"""Plan views: what the planning services return (sessions, diffs, changes, forecasts), and their
conversions from stored rows and JSON.
"""


from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import pandas as pd

from lydiard.domain.plan.adapt import (
    PlanChange,
    SessionDiff,
)
from lydiard.domain.plan.models import (
    PlannedSession,
    session_label,
)

# ---------------------------------------------------------------------------
# Views
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionView:
    """One stored planned session."""

    id: str
    athlete_id: str
    day: date
    sport: str
    session_type: str
    duration_s: float
    intensity_target: str
    expected_load_au: float
    notes: str
    origin: str  #: generator | manual | import | adapted
    original: dict[str, Any] | None = None  #: the session as first planned (adapted sessions)

    @property
    def title(self) -> str:
        """"Intervals" / "Rest"."""
        return session_label(self.session_type)

    @property
    def duration_min(self) -> float:
        return self.duration_s / 60.0

    def summary(self) -> str:
        """"Intervals 75 min (95 TSS)" or "Rest"."""
        return self.to_domain().summary()

    def to_domain(self) -> PlannedSession:
        """The domain session (``session_id`` = row id, ``original`` restored)."""
        original = _session_from_dict(self.original, self.id) if self.original else None
        return PlannedSession(
            day=self.day, sport=self.sport, session_type=self.session_type, duration_s=self.duration_s,
            intensity_target=self.intensity_target, expected_load_au=self.expected_load_au, notes=self.notes,
            session_id=self.id, original=original,
        )


@dataclass(frozen=True, slots=True)
class DiffView:
    """One session of a change: ``before`` → ``after`` (session dicts; None = added/removed)."""

    session_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    describe: str

    @property
    def day(self) -> date:
        ref = self.after if self.after is not None else self.before
        assert ref is not None
        return date.fromisoformat(str(ref["day"]))

    def to_domain(self) -> SessionDiff:
        return SessionDiff(
            session_id=self.session_id,
            before=_session_from_dict(self.before, self.session_id) if self.before else None,
            after=_session_from_dict(self.after, self.session_id) if self.after else None,
            action=self.action,
        )


@dataclass(frozen=True, slots=True)
class PlanChangeView:
    """A stored plan change and its decision."""

    id: str
    athlete_id: str
    for_day: date
    status: str
    stage: str
    reason: dict[str, Any]
    diffs: tuple[DiffView, ...]
    created_at: datetime
    decided_by_user_id: str | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None

    @property
    def summary(self) -> str:
        """The evidence summary (one line)."""
        return str(self.reason.get("summary") or "")

    @property
    def recommendation_code(self) -> str:
        return str(self.reason.get("recommendation_code") or "")

    @property
    def load_change_au(self) -> float:
        """Total expected load after − before (AU; negative = lighter)."""
        total = 0.0
        for d in self.diffs:
            total += float((d.after or {}).get("expected_load_au", 0.0))
            total -= float((d.before or {}).get("expected_load_au", 0.0))
        return total

    def describe(self) -> str:
        lines = [self.summary] if self.summary else []
        return "\n".join(lines + [d.describe for d in self.diffs])

    def to_domain(self) -> PlanChange:
        return PlanChange(
            day=self.for_day, stage=self.stage, recommendation_code=self.recommendation_code or "train_as_planned",
            diffs=tuple(d.to_domain() for d in self.diffs), reason=self.summary,
        )


@dataclass(frozen=True, slots=True)
class ImportResult:
    """Outcome of a plan import."""

    created: int
    updated: int
    unchanged: int
    sessions: tuple[SessionView, ...] = ()


@dataclass(frozen=True)
class ForecastView:
    """CTL/ATL/TSB (and, with enough tests, predicted performance) over the rest of the plan."""

    as_planned: pd.DataFrame  #: indexed by day: load_au, ctl, atl, tsb (+ performance columns)
    adapted: pd.DataFrame | None  #: the same with the pending change applied
    comparison: pd.DataFrame | None  #: ``compare_forecasts(as_planned, adapted)``
    race_day: date | None  #: the next planned race (or the last planned day)
    peak_form_day: date | None
    peak_by: str  #: "performance" or "tsb"
    model_used: bool  #: a Banister model was fitted on performance tests
    note: str  #: what the forecast is based on, in plain words
    performance_on_race_day: dict[str, float] | None = None  #: value, lower, upper
    performance_unit: str | None = None  #: e.g. "W (5-min best)"
    n_tests: int = 0

    @property
    def frame(self) -> pd.DataFrame:
        """The "as planned" projection (what the trends page draws)."""
        return self.as_planned

    def series(self) -> dict[str, Any]:
        """JSON-ready columns: days and ctl/atl/tsb as planned and adapted."""
        out: dict[str, Any] = {"days": [d.date().isoformat() for d in pd.DatetimeIndex(self.as_planned.index)]}
        for name, frame in (("planned", self.as_planned), ("adapted", self.adapted)):
            if frame is None:
                continue
            for col in ("load_au", "ctl", "atl", "tsb", "performance", "performance_lower", "performance_upper"):
                if col in frame.columns:
                    out[f"{col}_{name}"] = [_num(v) for v in frame[col].reindex(self.as_planned.index)]
        return out


@dataclass(frozen=True)
class PlanView:
    """Sessions in a window, the pending change and the forecasts."""

    athlete_id: str
    start: date
    end: date
    today: date
    sessions: list[SessionView]
    pending: PlanChangeView | None
    forecast: ForecastView | None
    coach_managed: bool


@dataclass(frozen=True)
class DayPlan:
    """One day's sessions and the changes waiting for a decision."""

    day: date
    sessions: list[SessionView] = field(default_factory=list)
    changes: list[PlanChangeView] = field(default_factory=list)


# ---------------------------------------------------------------------------
# Conversions
# ---------------------------------------------------------------------------


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else round(f, 2)


def _session_dict(s: PlannedSession, *, with_original: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "day": s.day.isoformat(), "sport": s.sport, "session_type": s.session_type,
        "duration_s": float(s.duration_s), "intensity_target": s.intensity_target,
        "expected_load_au": float(s.expected_load_au), "notes": s.notes,
    }
    if with_original and s.original is not None:
        out["original"] = _session_dict(s.original, with_original=False)
    return out


def _session_from_dict(d: Mapping[str, Any], session_id: str) -> PlannedSession:
    original = d.get("original")
    return PlannedSession(
        day=date.fromisoformat(str(d["day"])), sport=str(d["sport"]), session_type=str(d["session_type"]),
        duration_s=float(d["duration_s"]), intensity_target=str(d.get("intensity_target") or ""),
        expected_load_au=float(d.get("expected_load_au") or 0.0), notes=str(d.get("notes") or ""),
        session_id=session_id,
        original=_session_from_dict(original, session_id) if isinstance(original, Mapping) else None,
    )


def _meta(row: Any) -> dict[str, Any]:
    meta = row.goal
    return dict(meta) if isinstance(meta, Mapping) else {}


def _view(row: Any) -> SessionView:
    original = _meta(row).get("original")
    return SessionView(
        id=row.id, athlete_id=row.athlete_id, day=row.day, sport=row.sport, session_type=row.session_type,
        duration_s=float(row.duration_s), intensity_target=row.intensity_target or "",
        expected_load_au=float(row.expected_load_au), notes=row.notes or "", origin=row.origin,
        original=dict(original) if isinstance(original, Mapping) else None,
    )


def _change_view(row: Any) -> PlanChangeView:
    diffs = tuple(
        DiffView(session_id=str(d["session_id"]), action=str(d["action"]), before=d.get("before"),
                 after=d.get("after"), describe=str(d.get("describe") or ""))
        for d in (row.diff or [])
    )
    return PlanChangeView(
        id=row.id, athlete_id=row.athlete_id, for_day=row.for_day, status=row.status, stage=row.stage,
        reason=dict(row.reason or {}), diffs=diffs, created_at=row.created_at,
        decided_by_user_id=row.decided_by_user_id, decided_at=row.decided_at, decision_note=row.decision_note,
    )


def _diff_json(d: SessionDiff) -> dict[str, Any]:
    return {
        "session_id": d.session_id, "action": d.action,
        "before": _session_dict(d.before) if d.before is not None else None,
        "after": _session_dict(d.after) if d.after is not None else None,
        "describe": d.describe(),
    }
