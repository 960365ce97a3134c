"""Adapting the plan to the day's assessment: proposed changes (a stage of the pipeline).
"""


from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from lydiard.domain.plan.adapt import (
    RECOMMENDATION_CODES,
    STAGES,
    DayAssessment,
    adapt_plan,
)
from lydiard.services import audit, marker_words
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import AthleteInfo, load_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.plan_store import (
    _CODE_ALIASES,
    HISTORY_DAYS,
    _change_row,
    _pending_row,
    _rows,
    _supersede_pending,
    _today,
)
from lydiard.services.plan_views import PlanChangeView, _change_view, _diff_json, _view
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    daily_metrics,
    plan_changes,
)

# ---------------------------------------------------------------------------
# Assessments → adaptation
# ---------------------------------------------------------------------------


def _evidence_lines(evidence: Mapping[str, Any]) -> list[str]:
    nested = evidence.get("markers")
    markers: Mapping[str, Any] = nested if isinstance(nested, Mapping) else evidence
    lines: list[str] = []
    for name, ev in markers.items():
        if not isinstance(ev, Mapping) or ev.get("value") is None:
            continue
        days_out = ev.get("days_out_of_range") or 0
        if not isinstance(days_out, int | float) or days_out <= 0:
            continue
        words = marker_words.describe(str(name), ev.get("value"), ev.get("low"), ev.get("high"))
        rng = f" ({words.normal})" if words.normal else ""
        lines.append(f"{words.label}: {words.value}{rng}, {words.status} for {int(days_out)} day(s)")
    return lines


def _assessment(row: Any) -> tuple[DayAssessment, dict[str, Any]] | None:
    """The plan domain's view of one ``daily_metrics`` row, and the reason JSON (None if unusable)."""
    if row.stage not in STAGES:
        return None
    detail: Mapping[str, Any] = row.detail if isinstance(row.detail, Mapping) else {}
    rec_raw = detail.get("recommendation")
    rec: Mapping[str, Any] = rec_raw if isinstance(rec_raw, Mapping) else {}
    code = str(rec.get("code") or row.recommendation_code or "train_as_planned")
    code = _CODE_ALIASES.get(code, code)
    if code not in RECOMMENDATION_CODES:
        code = "train_as_planned"
    params: dict[str, float] = {}
    for key in ("days", "volume_pct"):
        v = rec.get(key)
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v > 0:
            params[key] = float(v)
    in_band: bool | None = None
    if row.ln_rmssd_7d is not None and row.ln_rmssd_low is not None and row.ln_rmssd_high is not None:
        in_band = bool(float(row.ln_rmssd_low) <= float(row.ln_rmssd_7d) <= float(row.ln_rmssd_high))
    ev_raw = detail.get("evidence")
    evidence: Mapping[str, Any] = ev_raw if isinstance(ev_raw, Mapping) else {}
    lines = _evidence_lines(evidence)
    text = str(rec.get("text") or "")
    stage_text = row.stage.replace("_", " ")
    summary = f"{stage_text.capitalize()} on {row.day.isoformat()}"
    if lines:
        summary += ": " + "; ".join(lines[:4])
    if text:
        summary += f". {text}"
    reason = {"summary": summary, "stage": row.stage, "recommendation_code": code, "recommendation_text": text,
              "params": params, "hrv_in_band": in_band, "evidence": lines, "day": row.day.isoformat()}
    return DayAssessment(day=row.day, stage=row.stage, recommendation_code=code, params=params,
                         hrv_in_band=in_band, reason=summary), reason


def propose_adaptation(ctx: Context, actor: Actor, athlete_id: str, *, day: date | None = None) -> PlanChangeView | None:
    """Propose how to change the upcoming sessions given ``day``'s assessment (default today).

    Stores a ``proposed`` change (superseding an older pending one) and returns it; returns
    None when the plan needs no change or there is no assessment for the day. Proposing the
    same change again returns the stored one.
    """
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        return propose_on(conn, ctx, actor, load_athlete(conn, athlete_id), day=day)


def propose_on(conn: Connection, ctx: Context, actor: Actor, athlete: AthleteInfo, *,
               day: date | None = None) -> PlanChangeView | None:
    """:func:`propose_adaptation` on ``conn`` (no access check: the caller checked ``actor``)."""
    now = ctx.clock()
    athlete_id = athlete.id
    day = day or _today(ctx, athlete)
    rows = conn.execute(select(daily_metrics).where(
        daily_metrics.c.athlete_id == athlete_id, daily_metrics.c.day <= day,
        daily_metrics.c.day >= day - timedelta(days=HISTORY_DAYS)).order_by(daily_metrics.c.day)).all()
    if not rows or rows[-1].day != day:
        return None
    today_assessed = _assessment(rows[-1])
    if today_assessed is None:
        return None
    assessment, reason = today_assessed
    history = [a for a, _ in (x for x in (_assessment(r) for r in rows[:-1]) if x is not None)]
    sessions = [_view(r).to_domain() for r in _rows(conn, athlete_id, start=day)]
    if not sessions:
        return None
    change = adapt_plan(sessions, today=day, assessment=assessment, hrv_guided=athlete.hrv_guided,
                        history=history)
    if change.is_empty:
        return None
    diff = [_diff_json(d) for d in change.diffs]
    pending = _pending_row(conn, athlete_id)
    if pending is not None and pending.for_day == day and pending.diff == diff:
        return _change_view(pending)
    superseded = _supersede_pending(conn, athlete_id, now=now)
    cid = new_id()
    conn.execute(insert(plan_changes).values(
        id=cid, athlete_id=athlete_id, for_day=day, status="proposed", stage=change.stage, reason=reason,
        diff=diff, created_at=now))
    audit.record(conn, actor, athlete_id=athlete_id, action="plan.change.propose", at=now, change_id=cid,
                 day=day.isoformat(), stage=change.stage, sessions=len(diff), superseded=superseded)
    return _change_view(_change_row(conn, athlete_id, cid))


def pending_change(ctx: Context, actor: Actor, athlete_id: str) -> PlanChangeView | None:
    """The change waiting for a decision, if any."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        row = _pending_row(conn, athlete_id)
    return _change_view(row) if row is not None else None


def list_changes(ctx: Context, actor: Actor, athlete_id: str, *, limit: int = 50) -> list[PlanChangeView]:
    """The athlete's plan changes, newest first."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        rows = conn.execute(select(plan_changes).where(plan_changes.c.athlete_id == athlete_id)
                            .order_by(plan_changes.c.created_at.desc(), plan_changes.c.id)
                            .limit(max(1, min(limit, 500)))).all()
    return [_change_view(r) for r in rows]
