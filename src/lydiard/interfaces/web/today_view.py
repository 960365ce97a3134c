"""The Today page's answer, built in one place from the day's stage, recommendation and markers.

Every statement on the page comes from here so none contradicts another: the headline
follows the recommendation's reason (an illness reported today heads the page, not the
stage it interrupts), "every marker is in range" is said only when it is true, and
"your data and how you feel agree" only on a day with a check-in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lydiard.services import marker_words
from lydiard.services.planning import PlanChangeView
from lydiard.services.readiness import DayView

__all__ = ["Answer", "MarkerRow", "answer", "change_why", "decision_text", "marker_rows", "range_bar"]

#: Markers shown in the Load card instead of the marker list (context only, not fatigue evidence).
LOAD_CONTEXT = frozenset({"tsb", "acwr_ewma", "acwr"})
_BAD_STAGES = frozenset({"deep_fatigue", "overreaching_suspected", "overtraining_suspected"})


@dataclass(frozen=True, slots=True)
class MarkerRow:
    key: str
    label: str
    value_text: str
    normal_text: str
    status: str
    out: bool
    group: str
    bar: dict[str, float] | None
    days_out: int
    threshold: str
    source: str
    raw: str  #: the engine's number and range, for the "why" fold


@dataclass(frozen=True, slots=True)
class Answer:
    headline: str
    tone: str  #: good | warn | bad
    advice: str
    summary: str  #: how the markers stand, in one sentence
    agree: str | None  #: data vs feeling, only on a day with a check-in
    agree_kind: str
    criteria: list[str] = field(default_factory=list)
    progress: str | None = None


def range_bar(value: float | None, low: float | None, high: float | None) -> dict[str, float] | None:
    """Positions (in a 0-200 SVG box) of the normal band and the value dot; a one-sided range
    runs to the edge of the box on its open side."""
    if value is None or (low is None and high is None) or (low is not None and high is not None and high < low):
        return None
    points = [value] + [b for b in (low, high) if b is not None]
    lo, hi = min(points), max(points)
    spread = hi - lo
    pad = max(spread * 0.25, abs(hi) * 0.05, 1e-6)
    if low is None or high is None:
        pad = max(pad, spread * 0.6)
    lo, hi = lo - pad, hi + pad

    def x(v: float) -> float:
        return round(4 + 192 * (v - lo) / (hi - lo), 1)

    x0 = x(low) if low is not None else 0.0
    x1 = x(high) if high is not None else 200.0
    return {"x0": x0, "w": max(2.0, round(x1 - x0, 1)), "cx": x(value)}


def _num(v: Any) -> float | None:
    return marker_words._finite(v)


def marker_rows(evidence: dict[str, Any]) -> list[MarkerRow]:
    """The day's markers with plain names, units and ranges (load context excluded)."""
    markers = evidence.get("markers")
    source: dict[str, Any] = markers if isinstance(markers, dict) else evidence
    rows = []
    for key, ev in source.items():
        if key in LOAD_CONTEXT or not isinstance(ev, dict) or "value" not in ev:
            continue
        value, low, high = _num(ev.get("value")), _num(ev.get("low")), _num(ev.get("high"))
        words = marker_words.describe(key, value, low, high)
        raw = "–" if value is None else f"{value:.3g}"
        if low is not None or high is not None:
            raw += f" (limit{'s' if low is not None and high is not None else ''}: " + ", ".join(
                x for x in (f"low {low:.3g}" if low is not None else "", f"high {high:.3g}" if high is not None
                            else "") if x) + ")"
        rows.append(MarkerRow(
            key=key, label=words.label, value_text=words.value, normal_text=words.normal, status=words.status,
            out=words.out, group=marker_words.group(key), bar=range_bar(value, low, high),
            days_out=int(ev.get("days_out_of_range") or 0) if words.out else 0,
            threshold=str(ev.get("threshold") or ""), source=str(ev.get("source") or ""), raw=raw))
    return rows


def _join(names: list[str]) -> str:
    names = [n[0].lower() + n[1:] if not n.startswith("HRV") else n for n in names]
    if len(names) <= 1:
        return "".join(names)
    sep = "; " if any("," in n for n in names) else ", "  # "HRV, 7-day average" holds a comma itself
    return sep.join(names[:-1]) + " and " + names[-1]


def answer(view: DayView, rows: list[MarkerRow], *, checked_in: bool) -> Answer:
    """The headline, the advice and the one-line marker summary, consistent with each other."""
    rec = view.recommendation or {}
    code, reason = str(rec.get("code") or ""), str(rec.get("reason") or "")
    text = str(rec.get("text") or "")
    out = [r for r in rows if r.out]
    read = [r for r in rows if r.status != "no reading"]
    tone = "bad" if view.stage in _BAD_STAGES else "warn" if view.stage == "surface_fatigue" else "good"
    if reason == "illness":
        headline = "Illness: see a doctor" if code.startswith("stop") else "Illness reported: rest"
        tone = "bad"
    elif reason == "injury":
        headline, tone = "Injury reported: easy or rest", "warn"
    elif reason == "race":
        headline, tone = "Race recovery", "warn"
    elif view.stage == "calibrating":
        headline = "Learning your normal ranges"
    else:
        headline = view.headline
    if code == "train_as_planned":
        if view.stage == "calibrating":
            advice = "Train as planned while Lydiard learns your normal ranges."
        elif out:
            advice = (f"Train as planned: no fatigue pattern, but {_join([r.label for r in out])} "
                      f"{'is' if len(out) == 1 else 'are'} outside your normal range; keep an eye on "
                      f"{'it' if len(out) == 1 else 'them'}.")
        elif read:
            advice = "Train as planned: every marker is in your normal range, a good day for the key session."
        else:
            advice = "Train as planned: there are no readings yet to say otherwise."
    else:
        advice = text or "No recommendation yet."
    if not read:
        summary = "No marker readings for this day."
    elif out:
        summary = (f"{len(out)} of {len(read)} markers outside your normal range: "
                   f"{_join([r.label for r in out])}.")
    else:
        summary = f"All {len(read)} markers with a reading are in your normal range."
    if view.stage == "calibrating":
        cal = view.evidence.get("calibration")
        if isinstance(cal, dict) and cal:
            parts = [f"{k}: {v.get('missing')}" for k, v in cal.items() if isinstance(v, dict)]
            summary += " Still learning: " + "; ".join(parts) + "."
    agree, agree_kind = None, ""
    if checked_in and view.data_feel_agree is not None:
        if view.data_feel_agree:
            agree, agree_kind = "Your data and how you feel agree.", "yes"
        else:
            agree, agree_kind = ("Your data and how you feel disagree: how you feel counts more.", "no")
    elif not checked_in:
        agree, agree_kind = "No check-in for this day yet: how you feel is not counted.", "none"
    criteria = [marker_words.criterion_text(c, view.evidence) if isinstance(c, dict) else str(c)
                for c in rec.get("return_criteria") or []]
    progress = None
    if view.progress:
        p = view.progress.get("text")
        progress = str(p) if p else None
    return Answer(headline=headline, tone=tone, advice=advice, summary=summary, agree=agree,
                  agree_kind=agree_kind, criteria=criteria, progress=progress)


def change_why(change: PlanChangeView) -> str:
    """Why a plan change is proposed, in plain words (not the stored evidence identifiers)."""
    from lydiard.services.readiness import STAGE_TITLES

    reason = change.reason or {}
    stage = STAGE_TITLES.get(str(reason.get("stage") or change.stage), change.stage.replace("_", " "))
    day = change.for_day.strftime("%a %d %b")
    text = str(reason.get("recommendation_text") or "")
    out = f"Lydiard found {stage.lower()} on {day}."
    return f"{out} {text}" if text else out


_DECISION_WORDS = {
    "approved": "The coach approved the change on {day}: the plan is updated.",
    "rejected": "The coach rejected the change on {day}: the plan stays as it was.",
    "accepted": "The change was accepted on {day}: the plan is updated.",
    "overridden": "The plan was kept on {day} against the advice.",
}


def decision_text(change: PlanChangeView) -> str:
    """The last decision on a plan change, in one sentence."""
    when = change.decided_at.strftime("%a %d %b") if change.decided_at is not None else "an earlier day"
    return _DECISION_WORDS.get(change.status, "The change is {status}.").format(day=when, status=change.status)
