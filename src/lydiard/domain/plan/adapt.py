"""Adapt a plan to today's fatigue assessment.

The recovery stage and its recommendation come in as plain data
(:class:`DayAssessment`), so this module does not depend on how they are
computed. Mapping (science.md §3):

====================================  ==========================================
assessment                            change
====================================  ==========================================
surface fatigue / ``swap_easy``       today's intensity session → easy (``swap_easy``)
``back_off`` (days N, volume_pct X)   next N days: duration and load × (1 − X/100)
                                      (``reduce_volume``); in deep fatigue also
                                      low intensity only
deep fatigue / ``lighter_weeks``      next ``days`` (default 7): intensity → easy,
                                      volume −``volume_pct`` (default 40 %)
                                      (``lighter_week``)
overreaching / ``active_recovery``    ≥ 14 days of active recovery
                                      (``active_recovery_block``)
overtraining / ``stop_see_doctor``,   sessions → rest (``stop_structured``); all
illness / ``rest_illness``            remaining sessions, or ``days`` for illness
normal / ``train_as_planned``         after enough consecutive normal days,
                                      adapted future sessions go back to the
                                      original plan (``resume``); missed load is
                                      **never** added to later sessions
====================================  ==========================================

HRV-guided mode (Kiviniemi et al. 2007; Vesterinen et al. 2016; Javaloyes et
al. 2019): an intensity session happens only when the 7-day ln rMSSD is inside
the athlete's normal range (``hrv_in_band``); otherwise it becomes an easy
session. ``hrv_in_band=None`` (no valid HRV) leaves the plan unchanged.

Days of consecutive normal assessments before resuming (proposals consistent
with Meeusen et al. 2013 time scales, not validated): 1 after surface fatigue,
3 after deep fatigue, 7 after overreaching, 14 after overtraining/illness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from lydiard.domain.plan.models import LOAD_PER_HOUR_AU, PlannedSession
from lydiard.errors import InvalidInputError

__all__ = [
    "ACTIONS",
    "RECOMMENDATION_CODES",
    "RESUME_AFTER_NORMAL_DAYS",
    "STAGES",
    "DayAssessment",
    "PlanChange",
    "SessionDiff",
    "adapt_plan",
    "apply_change",
    "day_assessment_from_row",
]

STAGES: tuple[str, ...] = (
    "calibrating", "normal", "surface_fatigue", "deep_fatigue",
    "overreaching_suspected", "overtraining_suspected",
)
RECOMMENDATION_CODES: tuple[str, ...] = (
    "train_as_planned", "swap_easy", "back_off", "lighter_weeks", "active_recovery",
    "stop_see_doctor", "rest_illness",
)
ACTIONS: tuple[str, ...] = (
    "swap_easy", "reduce_volume", "insert_rest", "lighter_week", "active_recovery_block",
    "stop_structured", "resume",
)
#: Consecutive normal days needed before adapted sessions are restored, by the
#: worst stage of the episode being left.
RESUME_AFTER_NORMAL_DAYS: dict[str, int] = {
    "surface_fatigue": 1, "deep_fatigue": 3, "overreaching_suspected": 7,
    "overtraining_suspected": 14, "illness": 3,
}
_SEVERITY = {s: i for i, s in enumerate(STAGES)}
_MIN_ACTIVE_RECOVERY_DAYS = 14


@dataclass(frozen=True, slots=True)
class DayAssessment:
    """The recovery verdict for one day, as plain data.

    Parameters
    ----------
    day : date
    stage : str
        One of :data:`STAGES`.
    recommendation_code : str
        One of :data:`RECOMMENDATION_CODES`.
    params : mapping
        Recommendation parameters, e.g. ``{"days": 5, "volume_pct": 40}``.
    hrv_in_band : bool or None
        Whether the 7-day ln rMSSD is inside the normal range (None = unknown).
    reason : str
        Evidence summary shown to the athlete (copied into :class:`PlanChange`).
    """

    day: date
    stage: str
    recommendation_code: str
    params: Mapping[str, float] = field(default_factory=dict)
    hrv_in_band: bool | None = None
    reason: str = ""

    def __post_init__(self) -> None:
        if self.stage not in STAGES:
            raise InvalidInputError(f"unknown stage {self.stage!r}", field="stage")
        if self.recommendation_code not in RECOMMENDATION_CODES:
            raise InvalidInputError(
                f"unknown recommendation code {self.recommendation_code!r}",
                field="recommendation_code",
            )
        for key, value in self.params.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
                raise InvalidInputError(f"param {key} must be a number >= 0", field=key)


@dataclass(frozen=True, slots=True)
class SessionDiff:
    """One changed session: ``before`` → ``after`` (None = inserted / removed)."""

    session_id: str
    before: PlannedSession | None
    after: PlannedSession | None
    action: str

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise InvalidInputError(f"unknown action {self.action!r}", field="action")
        if self.before is None and self.after is None:
            raise InvalidInputError("a diff needs a before or an after", field="before")

    @property
    def day(self) -> date:
        """Day of the session."""
        ref = self.after if self.after is not None else self.before
        assert ref is not None
        return ref.day

    def describe(self) -> str:
        """E.g. "Tue 3 Mar: Intervals 75 min (95 TSS) → Easy 45 min (35 TSS)"."""
        d = self.day
        head = f"{d:%a} {d.day} {d:%b}"
        before = self.before.summary() if self.before is not None else "nothing"
        after = self.after.summary() if self.after is not None else "removed"
        return f"{head}: {before} → {after}"


@dataclass(frozen=True, slots=True)
class PlanChange:
    """The changes proposed for one assessment, with the evidence behind them."""

    day: date
    stage: str
    recommendation_code: str
    diffs: tuple[SessionDiff, ...]
    reason: str

    @property
    def is_empty(self) -> bool:
        """True when nothing changes."""
        return not self.diffs

    def describe(self) -> str:
        """All diffs, one per line, after the reason."""
        lines = [self.reason] if self.reason else []
        lines += [d.describe() for d in self.diffs]
        return "\n".join(lines)


# ---------------------------------------------------------------------------
# Session transforms
# ---------------------------------------------------------------------------


def _easy(s: PlannedSession, *, scale: float = 1.0, kind: str = "easy") -> PlannedSession:
    """Low-intensity version of a session; duration × scale, capped for intensity days.

    An intensity session becomes an easy one of at most its duration and at
    most 60 min; a long session keeps its type (low intensity already).
    """
    if s.is_rest:
        return s
    target_kind = kind if s.is_intensity or kind == "active_recovery" else s.session_type
    duration = s.duration_s * scale
    if s.is_intensity:
        duration = min(duration, 3600.0)
    if kind == "active_recovery":
        duration = min(duration, 45 * 60.0)
    duration = max(math.floor(duration / 300.0) * 300.0, 15 * 60.0)
    rate = LOAD_PER_HOUR_AU.get(target_kind, LOAD_PER_HOUR_AU["easy"])
    target = "Z1" if target_kind == "active_recovery" else "Z2"
    if target_kind == s.session_type and not s.is_intensity:
        load = s.expected_load_au * duration / s.duration_s if s.duration_s > 0 else 0.0
        target = s.intensity_target or target
    else:
        load = rate * duration / 3600.0
    return s.adapted(session_type=target_kind, duration_s=duration, intensity_target=target,
                     expected_load_au=round(load, 1))


def _scaled(s: PlannedSession, factor: float) -> PlannedSession:
    if s.is_rest or factor >= 1.0:
        return s
    duration = max(math.floor(s.duration_s * factor / 300.0) * 300.0, 15 * 60.0)
    duration = min(duration, s.duration_s)
    ratio = duration / s.duration_s if s.duration_s > 0 else 0.0
    return s.adapted(duration_s=duration, expected_load_au=round(s.expected_load_au * ratio, 1))


def _rest(s: PlannedSession) -> PlannedSession:
    if s.is_rest:
        return s
    return s.adapted(session_type="rest", duration_s=0.0, intensity_target="",
                     expected_load_au=0.0)


def _window(
    sessions: Sequence[PlannedSession], today: date, days: int | None
) -> list[PlannedSession]:
    end = None if days is None else today + timedelta(days=max(days, 1))
    return [s for s in sessions if s.day >= today and (end is None or s.day < end)]


def _conservative(
    sessions: Sequence[PlannedSession], transform: Callable[[PlannedSession], PlannedSession]
) -> list[tuple[PlannedSession, PlannedSession]]:
    """Pairs (current, proposal), the proposal built from the *original* session.

    Transforming the original (not the already adapted session) keeps repeated
    assessments idempotent (no compounding cuts); the lower-load of the current
    and proposed versions wins, so a milder verdict never lifts a stricter one.
    """
    pairs = []
    for s in sessions:
        proposal = transform(s.root)
        if proposal == s.root:
            proposal = s.root
        if (proposal.expected_load_au, proposal.is_intensity) < (
            s.expected_load_au, s.is_intensity
        ) or (proposal.is_rest and not s.is_rest):
            pairs.append((s, proposal))
    return pairs


def _diffs(
    pairs: Sequence[tuple[PlannedSession, PlannedSession]], action: str
) -> list[SessionDiff]:
    return [SessionDiff(b.session_id, b, a, action) for b, a in pairs if a != b]


# ---------------------------------------------------------------------------
# adapt / apply
# ---------------------------------------------------------------------------


def _episode_stage(history: Sequence[DayAssessment], today: date) -> tuple[str | None, int]:
    """Worst non-normal stage of the last episode and the normal days since it."""
    normal_run = 0
    worst: str | None = None
    for a in sorted((h for h in history if h.day < today), key=lambda h: h.day, reverse=True):
        if a.stage in ("normal", "calibrating") and a.recommendation_code == "train_as_planned":
            if worst is not None:
                break
            normal_run += 1
            continue
        stage = "illness" if a.recommendation_code == "rest_illness" else a.stage
        if worst is None or _severity(stage) > _severity(worst):
            worst = stage
    return worst, normal_run


def _severity(stage: str) -> int:
    return _SEVERITY["deep_fatigue"] if stage == "illness" else _SEVERITY.get(stage, 0)


def adapt_plan(
    sessions: Sequence[PlannedSession],
    *,
    today: date,
    assessment: DayAssessment,
    hrv_guided: bool = False,
    history: Sequence[DayAssessment] = (),
) -> PlanChange:
    """The changes to make to ``sessions`` given today's assessment.

    Parameters
    ----------
    sessions : sequence of PlannedSession
        The current plan (possibly already adapted); not modified.
    today : date
        The day of the decision; sessions before it are never changed.
    assessment : DayAssessment
        Today's stage and recommendation.
    hrv_guided : bool
        Gate intensity sessions on ``assessment.hrv_in_band``.
    history : sequence of DayAssessment
        Earlier assessments (any order), used to decide when to resume.

    Returns
    -------
    PlanChange
        Apply it with :func:`apply_change`.
    """
    if assessment.day != today:
        raise InvalidInputError("assessment.day must be today", field="assessment")
    code = assessment.recommendation_code
    stage = assessment.stage
    params = assessment.params
    pairs: list[tuple[PlannedSession, PlannedSession]] = []
    action: str
    today_sessions = _window(sessions, today, 1)

    if code == "stop_see_doctor" or stage == "overtraining_suspected":
        action = "stop_structured"
        days = int(params["days"]) if "days" in params else None
        pairs = _conservative(_window(sessions, today, days), _rest)
    elif code == "rest_illness":
        action = "insert_rest"
        pairs = _conservative(_window(sessions, today, int(params.get("days", 3))), _rest)
    elif code == "active_recovery" or stage == "overreaching_suspected":
        action = "active_recovery_block"
        days = max(int(params.get("days", _MIN_ACTIVE_RECOVERY_DAYS)), _MIN_ACTIVE_RECOVERY_DAYS)
        pairs = _conservative(_window(sessions, today, days),
                              lambda s: _easy(s, kind="active_recovery"))
    elif code == "lighter_weeks" or (stage == "deep_fatigue" and code != "back_off"):
        action = "lighter_week"
        factor = 1.0 - params.get("volume_pct", 40.0) / 100.0
        window = _window(sessions, today, int(params.get("days", 7)))
        pairs = _conservative(window, lambda s: _scaled(_easy(s), factor))
    elif code == "back_off":
        action = "reduce_volume"
        factor = 1.0 - params.get("volume_pct", 30.0) / 100.0
        window = _window(sessions, today, int(params.get("days", 3)))
        low = stage in ("deep_fatigue", "overreaching_suspected")
        pairs = _conservative(
            window, lambda s: _scaled(_easy(s) if low or s.day == today else s, factor)
        )
    elif code == "swap_easy" or stage == "surface_fatigue":
        action = "swap_easy"
        pairs = _conservative([s for s in today_sessions if s.root.is_intensity], _easy)
    else:  # train_as_planned (normal / calibrating)
        worst, normal_run = _episode_stage(history, today)
        needed = RESUME_AFTER_NORMAL_DAYS.get(worst, 1) if worst is not None else 1
        pairs = []
        action = "resume"
        if normal_run + 1 >= needed:
            pairs = [(s, s.root) for s in _window(sessions, today, None) if s.original]
        if hrv_guided and assessment.hrv_in_band is False:
            # Today's session: resumed first, then gated by HRV.
            resumed = {b.session_id: a for b, a in pairs}
            gated = []
            for s in today_sessions:
                current = resumed.get(s.session_id, s)
                if current.is_intensity:
                    gated.append((s, _easy(current)))
            pairs = [(b, a) for b, a in pairs if b.day != today] + gated
            if gated:
                action = "swap_easy"
        return PlanChange(today, stage, code, tuple(_diffs(pairs, action)), assessment.reason)

    if hrv_guided and assessment.hrv_in_band is False:
        pairs = [(b, _easy(a) if b.day == today and a.is_intensity else a) for b, a in pairs]
    return PlanChange(today, stage, code, tuple(_diffs(pairs, action)), assessment.reason)


def apply_change(sessions: Sequence[PlannedSession], change: PlanChange) -> list[PlannedSession]:
    """A new plan with ``change`` applied (input untouched), sorted by day.

    Diffs are matched by ``session_id``; ``before=None`` inserts, ``after=None``
    removes. A diff whose session is missing from ``sessions`` raises.
    """
    by_id = {d.session_id: d for d in change.diffs}
    out: list[PlannedSession] = []
    seen: set[str] = set()
    for s in sessions:
        diff = by_id.get(s.session_id)
        if diff is None:
            out.append(s)
            continue
        seen.add(s.session_id)
        if diff.after is not None:
            out.append(diff.after)
    for d in change.diffs:
        if d.session_id in seen:
            continue
        if d.before is not None:
            raise InvalidInputError(f"session {d.session_id} is not in the plan",
                                    field="session_id")
        assert d.after is not None
        out.append(d.after)
    return sorted(out, key=lambda s: s.day)


def day_assessment_from_row(day: object, row: Mapping[str, object]) -> DayAssessment:
    """Build a :class:`DayAssessment` from one row of a stage table.

    Expects ``row["stage"]`` and ``row["recommendation"]`` (a mapping with
    ``code`` and optional numeric parameters such as ``days``/``volume_pct``),
    optionally ``hrv_in_band`` and ``reasons`` (str or sequence of str). ``day``
    may be a ``date`` or a ``pandas.Timestamp``.
    """
    as_date = getattr(day, "date", None)
    the_day = as_date() if callable(as_date) else day
    if not isinstance(the_day, date):
        raise InvalidInputError("day must be a date", field="day")
    rec = row.get("recommendation")
    if not isinstance(rec, Mapping):
        raise InvalidInputError("row needs a 'recommendation' mapping", field="recommendation")
    params = {
        str(k): float(v) for k, v in rec.items()
        if k != "code" and isinstance(v, int | float) and not isinstance(v, bool)
    }
    band = row.get("hrv_in_band")
    reasons = row.get("reasons", "")
    reason = reasons if isinstance(reasons, str) else "; ".join(str(r) for r in reasons or ())  # type: ignore[attr-defined]
    return DayAssessment(
        day=the_day, stage=str(row.get("stage")), recommendation_code=str(rec.get("code")),
        params=params, hrv_in_band=band if isinstance(band, bool) else None, reason=reason,
    )
