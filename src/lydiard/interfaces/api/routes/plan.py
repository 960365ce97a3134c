"""The training plan: sessions, generation, import/export, proposed changes and decisions, forecasts.

Every route is under ``/athletes/{athlete_id}/plan``; the services check access and audit.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lydiard.errors import InvalidInputError
from lydiard.interfaces.http.deps import ActorDep, CtxDep
from lydiard.services import athletes, planning

#: Largest plan file accepted (CSV or iCalendar).
MAX_PLAN_UPLOAD_BYTES = 5 * 1024 * 1024

SessionType = Literal["easy", "long", "tempo", "intervals", "race", "strength", "rest", "active_recovery"]

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["file"],
            "properties": {"file": {"type": "string", "format": "binary"},
                           "sport": {"type": "string", "description": "Sport when the file does not say"}},
        }}},
    }
}


# ----------------------------------------------------------------------------- schemas


class PlanSessionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    day: date
    sport: str
    session_type: str
    duration_s: float
    intensity_target: str
    expected_load_au: float
    notes: str
    origin: str
    original: dict[str, Any] | None = None


class PlanSessionIn(BaseModel):
    day: date
    sport: str = Field(default="run", max_length=16)
    session_type: SessionType
    duration_s: float = Field(ge=0, le=planning.MAX_SESSION_DURATION_S)
    intensity_target: str = Field(default="", max_length=100)
    expected_load_au: float | None = Field(default=None, ge=0, description="Default: type rate × duration")
    notes: str = Field(default="", max_length=2000)


class GenerateIn(BaseModel):
    goal_day: date
    goal_sport: str = Field(default="run", max_length=16)
    goal_type: Literal["race", "event"] = "race"
    goal_distance_m: float | None = Field(default=None, gt=0)
    goal_duration_s: float | None = Field(default=None, gt=0)
    weekly_hours: float = Field(gt=0, le=40)
    recovery_pattern: tuple[int, int] = (3, 1)
    start_day: date | None = None


class PlanImportOut(BaseModel):
    created: int
    updated: int
    unchanged: int
    sessions: list[PlanSessionOut]


class DiffOut(BaseModel):
    session_id: str
    action: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    describe: str


class PlanChangeOut(BaseModel):
    id: str
    for_day: date
    status: str
    stage: str
    summary: str
    reason: dict[str, Any]
    diffs: list[DiffOut]
    load_change_au: float
    created_at: datetime
    decided_by_user_id: str | None
    decided_at: datetime | None
    decision_note: str | None


class ChangeSlotOut(BaseModel):
    """The pending (or just proposed) change; ``change`` is null when there is none."""

    change: PlanChangeOut | None


class ProposeIn(BaseModel):
    day: date | None = None


class DecisionIn(BaseModel):
    note: str | None = Field(default=None, max_length=2000)


class OverrideIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000, description="Why the plan is kept (recorded)")


class SessionEditIn(BaseModel):
    sport: str | None = Field(default=None, max_length=16)
    session_type: SessionType | None = None
    duration_s: float | None = Field(default=None, ge=0, le=planning.MAX_SESSION_DURATION_S)
    intensity_target: str | None = Field(default=None, max_length=100)
    expected_load_au: float | None = Field(default=None, ge=0)
    notes: str | None = Field(default=None, max_length=2000)


class PlanSessionPatch(SessionEditIn):
    day: date | None = None


class EditIn(BaseModel):
    sessions: dict[str, SessionEditIn | None] = Field(
        description="Session id → the new proposed session fields, or null to leave that session as it is")
    note: str | None = Field(default=None, max_length=2000)


class ForecastOut(BaseModel):
    days: list[str]
    series: dict[str, Any]
    race_day: date | None
    peak_form_day: date | None
    peak_by: str
    model_used: bool
    note: str
    performance_on_race_day: dict[str, float] | None
    performance_unit: str | None
    n_tests: int


class PlanOut(BaseModel):
    athlete_id: str
    start: date
    end: date
    today: date
    coach_managed: bool
    sessions: list[PlanSessionOut]
    pending: PlanChangeOut | None
    forecast: ForecastOut | None


# ----------------------------------------------------------------------------- conversions


def session_out(s: planning.SessionView) -> PlanSessionOut:
    return PlanSessionOut.model_validate(s)


def change_out(c: planning.PlanChangeView) -> PlanChangeOut:
    return PlanChangeOut(
        id=c.id, for_day=c.for_day, status=c.status, stage=c.stage, summary=c.summary, reason=c.reason,
        diffs=[DiffOut(session_id=d.session_id, action=d.action, before=d.before, after=d.after,
                       describe=d.describe) for d in c.diffs],
        load_change_au=round(c.load_change_au, 1), created_at=c.created_at, decided_by_user_id=c.decided_by_user_id,
        decided_at=c.decided_at, decision_note=c.decision_note,
    )


def forecast_out(f: planning.ForecastView) -> ForecastOut:
    series = f.series()
    return ForecastOut(
        days=series.pop("days"), series=series, race_day=f.race_day, peak_form_day=f.peak_form_day,
        peak_by=f.peak_by, model_used=f.model_used, note=f.note, performance_on_race_day=f.performance_on_race_day,
        performance_unit=f.performance_unit, n_tests=f.n_tests,
    )


# ----------------------------------------------------------------------------- routes


def routes() -> APIRouter:
    r = APIRouter(prefix="/athletes/{athlete_id}/plan", tags=["plan"])

    @r.get("", response_model=PlanOut)
    def get_plan(athlete_id: str, ctx: CtxDep, actor: ActorDep,
                 start: Annotated[date | None, Query()] = None,
                 end: Annotated[date | None, Query()] = None) -> PlanOut:
        """Sessions in a window (default: this week and the next five), the pending change and the forecast."""
        v = planning.plan_view(ctx, actor, athlete_id, start=start, end=end)
        return PlanOut(athlete_id=v.athlete_id, start=v.start, end=v.end, today=v.today, coach_managed=v.coach_managed,
                       sessions=[session_out(s) for s in v.sessions],
                       pending=change_out(v.pending) if v.pending else None,
                       forecast=forecast_out(v.forecast) if v.forecast else None)

    @r.get("/sessions", response_model=list[PlanSessionOut])
    def list_sessions(athlete_id: str, ctx: CtxDep, actor: ActorDep,
                      start: Annotated[date | None, Query()] = None,
                      end: Annotated[date | None, Query()] = None) -> list[PlanSessionOut]:
        """Planned sessions between ``start`` and ``end`` (inclusive)."""
        return [session_out(s) for s in planning.list_sessions(ctx, actor, athlete_id, start=start, end=end)]

    @r.post("/sessions", response_model=PlanSessionOut, status_code=status.HTTP_201_CREATED)
    def create_session(athlete_id: str, body: PlanSessionIn, ctx: CtxDep, actor: ActorDep) -> PlanSessionOut:
        """Add a session."""
        return session_out(planning.create_session(ctx, actor, athlete_id, **body.model_dump()))

    @r.get("/sessions/{session_id}", response_model=PlanSessionOut)
    def get_session(athlete_id: str, session_id: str, ctx: CtxDep, actor: ActorDep) -> PlanSessionOut:
        return session_out(planning.get_session(ctx, actor, athlete_id, session_id))

    @r.patch("/sessions/{session_id}", response_model=PlanSessionOut)
    def update_session(athlete_id: str, session_id: str, body: PlanSessionPatch, ctx: CtxDep,
                       actor: ActorDep) -> PlanSessionOut:
        """Change a session (it becomes a manual session: a regenerated plan keeps it)."""
        return session_out(planning.update_session(ctx, actor, athlete_id, session_id,
                                                   **body.model_dump(exclude_unset=True)))

    @r.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_session(athlete_id: str, session_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
        planning.delete_session(ctx, actor, athlete_id, session_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @r.post("/generate", response_model=list[PlanSessionOut], status_code=status.HTTP_201_CREATED)
    def generate(athlete_id: str, body: GenerateIn, ctx: CtxDep, actor: ActorDep) -> list[PlanSessionOut]:
        """Generate a periodised plan to the goal from the current fitness (replaces generated sessions)."""
        sessions = planning.generate_and_store_plan(ctx, actor, athlete_id, **body.model_dump())
        return [session_out(s) for s in sessions]

    @r.post("/import", response_model=PlanImportOut, openapi_extra=_UPLOAD_BODY,
            max_body_size=MAX_PLAN_UPLOAD_BYTES)
    async def import_plan(athlete_id: str, request: Request, ctx: CtxDep, actor: ActorDep) -> PlanImportOut:
        """Import sessions from a CSV or iCalendar file sent as multipart ``file``."""
        await run_in_threadpool(athletes.get_athlete, ctx, actor, athlete_id)
        async with request.form(max_files=1, max_fields=5) as form:
            up = form.get("file")
            sport_field = form.get("sport")
            if not isinstance(up, UploadFile):
                raise InvalidInputError("send the plan as the multipart field 'file'", field="file")
            data = await up.read()
            name = (up.filename or "").lower()
            ctype = (up.content_type or "").lower()
        sport = sport_field.strip().lower() if isinstance(sport_field, str) and sport_field.strip() else "run"
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError("the file is not UTF-8 text", field="file") from exc
        is_ical = (name.endswith((".ics", ".ical")) or "calendar" in ctype
                   or text.lstrip().upper().startswith("BEGIN:VCALENDAR"))
        fn = planning.import_plan_ical if is_ical else planning.import_plan_csv
        res = await run_in_threadpool(lambda: fn(ctx, actor, athlete_id, text, default_sport=sport))
        return PlanImportOut(created=res.created, updated=res.updated, unchanged=res.unchanged,
                             sessions=[session_out(s) for s in res.sessions])

    @r.get("/export.ics", response_class=Response,
           responses={200: {"content": {"text/calendar": {}}, "description": "RFC 5545 calendar"}})
    def export_ics(athlete_id: str, ctx: CtxDep, actor: ActorDep,
                   start: Annotated[date | None, Query()] = None,
                   end: Annotated[date | None, Query()] = None) -> Response:
        """The plan as an iCalendar file (UIDs are stable: calendar apps update events)."""
        text = planning.export_plan_ical(ctx, actor, athlete_id, start=start, end=end)
        return Response(text, media_type="text/calendar; charset=utf-8",
                        headers={"content-disposition": 'attachment; filename="lydiard-plan.ics"',
                                 "cache-control": "no-store"})

    @r.get("/forecast", response_model=ForecastOut | None)
    def get_forecast(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> ForecastOut | None:
        """CTL/ATL/TSB as planned and adapted (and predicted performance with ≥ 5 best efforts); null
        when nothing is planned from today on."""
        f = planning.forecast(ctx, actor, athlete_id)
        return forecast_out(f) if f is not None else None

    @r.get("/changes", response_model=list[PlanChangeOut])
    def list_changes(athlete_id: str, ctx: CtxDep, actor: ActorDep,
                     limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[PlanChangeOut]:
        """Proposed changes and their decisions, newest first."""
        return [change_out(c) for c in planning.list_changes(ctx, actor, athlete_id, limit=limit)]

    @r.get("/changes/pending", response_model=ChangeSlotOut)
    def pending(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> ChangeSlotOut:
        """The change waiting for a decision (``change`` is null when there is none)."""
        c = planning.pending_change(ctx, actor, athlete_id)
        return ChangeSlotOut(change=change_out(c) if c else None)

    @r.post("/changes/propose", response_model=ChangeSlotOut)
    def propose(athlete_id: str, ctx: CtxDep, actor: ActorDep, body: ProposeIn | None = None) -> ChangeSlotOut:
        """Propose a change from the day's fatigue assessment (null: no change needed)."""
        c = planning.propose_adaptation(ctx, actor, athlete_id, day=body.day if body else None)
        return ChangeSlotOut(change=change_out(c) if c else None)

    @r.post("/changes/{change_id}/approve", response_model=PlanChangeOut)
    def approve(athlete_id: str, change_id: str, ctx: CtxDep, actor: ActorDep,
                body: DecisionIn | None = None) -> PlanChangeOut:
        """The coach approves: the change is applied to the plan."""
        return change_out(planning.approve_change(ctx, actor, athlete_id, change_id=change_id,
                                                  note=body.note if body else None))

    @r.post("/changes/{change_id}/reject", response_model=PlanChangeOut)
    def reject(athlete_id: str, change_id: str, ctx: CtxDep, actor: ActorDep,
               body: DecisionIn | None = None) -> PlanChangeOut:
        """The coach rejects: the plan stays as it is."""
        return change_out(planning.reject_change(ctx, actor, athlete_id, change_id=change_id,
                                                 note=body.note if body else None))

    @r.post("/changes/{change_id}/edit", response_model=PlanChangeOut)
    def edit(athlete_id: str, change_id: str, body: EditIn, ctx: CtxDep, actor: ActorDep) -> PlanChangeOut:
        """The coach edits the proposed sessions, then approves."""
        edits = {sid: (e.model_dump(exclude_unset=True) if e is not None else None) for sid, e in body.sessions.items()}
        return change_out(planning.edit_change(ctx, actor, athlete_id, change_id=change_id, edits=edits,
                                               note=body.note))

    @r.post("/changes/{change_id}/accept", response_model=PlanChangeOut)
    def accept(athlete_id: str, change_id: str, ctx: CtxDep, actor: ActorDep,
               body: DecisionIn | None = None) -> PlanChangeOut:
        """A self-coached athlete accepts: the change is applied to the plan."""
        return change_out(planning.accept_change(ctx, actor, athlete_id, change_id=change_id,
                                                 note=body.note if body else None))

    @r.post("/changes/{change_id}/override", response_model=PlanChangeOut)
    def override(athlete_id: str, change_id: str, body: OverrideIn, ctx: CtxDep, actor: ActorDep) -> PlanChangeOut:
        """A self-coached athlete keeps the plan; the note is recorded."""
        return change_out(planning.override_change(ctx, actor, athlete_id, change_id=change_id, note=body.note))

    return r
