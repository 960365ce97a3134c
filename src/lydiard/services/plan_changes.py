"""Decisions on proposed plan changes: approve, reject, accept, override, edit.

Writers: each decision goes through :mod:`lydiard.services.pipeline`.
"""


from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, delete, select, update

from lydiard.domain.plan.adapt import (
    SessionDiff,
)
from lydiard.domain.plan.models import (
    PlannedSession,
)
from lydiard.errors import (
    ConflictError,
    InvalidInputError,
    PermissionDeniedError,
)
from lydiard.services import audit, pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import load_athlete
from lydiard.services.context import Context
from lydiard.services.pipeline import Change
from lydiard.services.plan_sessions import _build_session, _validate_session
from lydiard.services.plan_store import (
    _EDITABLE,
    _change_row,
    _insert_session,
    _is_coach,
    _row_values,
    _today,
    is_coach_managed,
)
from lydiard.services.plan_views import (
    DiffView,
    PlanChangeView,
    _change_view,
    _diff_json,
    _meta,
    _session_dict,
    _session_from_dict,
)
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    plan_changes,
    planned_sessions,
)

# ---------------------------------------------------------------------------
# Decisions
# ---------------------------------------------------------------------------


def _same_as_before(row: Any, before: Mapping[str, Any]) -> bool:
    return (row.day.isoformat() == before.get("day") and row.session_type == before.get("session_type")
            and abs(float(row.duration_s) - float(before.get("duration_s", -1))) < 0.5
            and abs(float(row.expected_load_au) - float(before.get("expected_load_au", -1))) < 0.05)


def _apply_diffs(conn: Connection, athlete_id: str, diffs: Sequence[DiffView], *, now: datetime) -> int:
    """Write the ``after`` sessions into the plan; the original is kept in the row's metadata."""
    applied = 0
    for d in diffs:
        row = conn.execute(select(planned_sessions).where(
            planned_sessions.c.id == d.session_id, planned_sessions.c.athlete_id == athlete_id)).first()
        if d.before is not None and (row is None or not _same_as_before(row, d.before)):
            raise ConflictError("the plan changed since this change was proposed; propose it again",
                                session_id=d.session_id)
        if d.after is None:
            conn.execute(delete(planned_sessions).where(planned_sessions.c.id == d.session_id))
            applied += 1
            continue
        after = _session_from_dict(d.after, d.session_id)
        if row is None:
            _insert_session(conn, athlete_id, after, origin="adapted", now=now, session_id=d.session_id)
            applied += 1
            continue
        meta = _meta(row)
        if after.original is not None and after != after.original:
            meta["original"] = _session_dict(after.original, with_original=False)
            meta.setdefault("original_origin", row.origin if row.origin != "adapted" else "generator")
            origin = "adapted"
        else:  # back to the original plan ("resume"): no cramming, the original as it was
            origin = str(meta.pop("original_origin", row.origin if row.origin != "adapted" else "generator"))
            meta.pop("original", None)
        conn.execute(update(planned_sessions).where(planned_sessions.c.id == d.session_id)
                     .values(origin=origin, goal=meta or None, updated_at=now, **_row_values(after)))
        applied += 1
    return applied


def _decide(ctx: Context, actor: Actor, athlete_id: str, change_id: str | None, *, status: str,
            note: str | None, apply: bool, who: str, diffs: Sequence[DiffView] | None = None,
            extra: Mapping[str, Any] | None = None) -> PlanChangeView:
    now = ctx.clock()
    if note is not None and len(note) > 2000:
        raise InvalidInputError("note must be at most 2000 characters", field="note")
    with pipeline.writing(ctx, actor, athlete_id) as w:  # the charts show the plan
        w.changed(Change.plan())
        conn, athlete = w.conn, w.athlete
        row = _change_row(conn, athlete_id, change_id)
        if row.status != "proposed":
            raise ConflictError(f"this change is already {row.status}", change_id=row.id, status=row.status)
        managed = is_coach_managed(conn, athlete)
        if who == "coach":
            if not _is_coach(conn, actor, athlete):
                raise PermissionDeniedError("only the athlete's coach can approve, reject or edit this change; "
                                            + ("wait for your coach" if managed else "use accept or override"),
                                            change_id=row.id)
        elif managed:
            raise ConflictError("this athlete has a coach: the change waits for the coach's approval",
                                change_id=row.id)
        view = _change_view(row)
        use = tuple(diffs) if diffs is not None else view.diffs
        values: dict[str, Any] = {"status": status, "decided_at": now, "decided_by_user_id": actor.user_id,
                                  "decision_note": note.strip() if note and note.strip() else None}
        if diffs is not None:
            values["diff"] = [{"session_id": d.session_id, "action": d.action, "before": d.before,
                               "after": d.after, "describe": d.describe} for d in use]
        applied = _apply_diffs(conn, athlete_id, use, now=now) if apply else 0
        conn.execute(update(plan_changes).where(plan_changes.c.id == row.id).values(**values))
        audit.record(conn, actor, athlete_id=athlete_id, action=f"plan.change.{status}", at=now, change_id=row.id,
                     sessions_applied=applied, note=values["decision_note"], **dict(extra or {}))
        return _change_view(_change_row(conn, athlete_id, row.id))


def approve_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                   note: str | None = None) -> PlanChangeView:
    """The coach approves the pending change (default: the newest); it is applied to the plan."""
    return _decide(ctx, actor, athlete_id, change_id, status="approved", note=note, apply=True, who="coach")


def reject_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                  note: str | None = None) -> PlanChangeView:
    """The coach rejects the pending change; the plan stays as it is."""
    return _decide(ctx, actor, athlete_id, change_id, status="rejected", note=note, apply=False, who="coach")


def accept_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                  note: str | None = None) -> PlanChangeView:
    """A self-coached athlete accepts the pending change; it is applied to the plan."""
    return _decide(ctx, actor, athlete_id, change_id, status="accepted", note=note, apply=True, who="athlete")


def override_change(ctx: Context, actor: Actor, athlete_id: str, *, change_id: str | None = None,
                    note: str) -> PlanChangeView:
    """A self-coached athlete keeps the plan against the advice; the note says why (recorded)."""
    if not note or not note.strip():
        raise InvalidInputError("say why you keep the plan (a note is required to override)", field="note")
    return _decide(ctx, actor, athlete_id, change_id, status="overridden", note=note, apply=False, who="athlete")


def edit_change(ctx: Context, actor: Actor, athlete_id: str, *, edits: Mapping[str, Mapping[str, Any] | None],
                change_id: str | None = None, note: str | None = None) -> PlanChangeView:
    """The coach edits the proposed sessions, then approves.

    ``edits`` maps a session id of the change to the fields of its new ``after`` session
    (sport, session_type, duration_s, intensity_target, expected_load_au, notes), or to
    None to leave that session as it is. The load is re-estimated when the type or duration
    changes and no load is given.
    """
    if not edits:
        raise InvalidInputError("edits must name at least one session of the change", field="edits")
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        athlete = load_athlete(conn, athlete_id)
        view = _change_view(_change_row(conn, athlete_id, change_id))
    today = _today(ctx, athlete)
    by_id = {d.session_id: d for d in view.diffs}
    unknown = [sid for sid in edits if sid not in by_id]
    if unknown:
        raise InvalidInputError(f"session {unknown[0]} is not part of this change", field="session_id")
    new_diffs: list[DiffView] = []
    for d in view.diffs:
        if d.session_id not in edits:
            new_diffs.append(d)
            continue
        fields = edits[d.session_id]
        if fields is None:
            continue
        bad = [k for k in fields if k not in _EDITABLE]
        if bad:
            raise InvalidInputError(f"{bad[0]} cannot be edited (editable: {', '.join(_EDITABLE)})", field=bad[0])
        base = d.after or d.before
        assert base is not None
        merged = {**base, **{k: v for k, v in fields.items() if v is not None}}
        load: float | None
        if fields.get("expected_load_au") is not None:
            load = float(fields["expected_load_au"])
        elif "session_type" in fields or "duration_s" in fields:
            load = None  # re-estimated from the type's rate
        else:
            load = float(base.get("expected_load_au") or 0.0)
        s = _build_session(
            day=date.fromisoformat(str(base["day"])), sport=str(merged["sport"]),
            session_type=str(merged["session_type"]), duration_s=float(merged["duration_s"]),
            intensity_target=str(merged.get("intensity_target") or ""), expected_load_au=load,
            notes=str(merged.get("notes") or ""), session_id=d.session_id)
        _validate_session(s, today=today, where=f"session {d.session_id}")
        root = _session_from_dict(d.before, d.session_id).root if d.before is not None else None
        after = s if root is None or s == root else PlannedSession(
            day=s.day, sport=s.sport, session_type=s.session_type, duration_s=s.duration_s,
            intensity_target=s.intensity_target, expected_load_au=s.expected_load_au, notes=s.notes,
            session_id=d.session_id, original=root)
        domain = SessionDiff(d.session_id, _session_from_dict(d.before, d.session_id) if d.before else None,
                             after, d.action)
        if d.before is not None and _session_from_dict(d.before, d.session_id) == after:
            continue  # edited back to what it was: no change for this session
        j = _diff_json(domain)
        new_diffs.append(DiffView(d.session_id, d.action, j["before"], j["after"], j["describe"]))
    return _decide(ctx, actor, athlete_id, view.id, status="approved", note=note, apply=True, who="coach",
                   diffs=new_diffs, extra={"edited_sessions": sorted(edits)})
