"""The plan page: a weeks × days calendar, the proposed change as a diff, the decision forms
and the forecast chart (spec and data in a ``<script type="application/json">`` block for ``charts.js``).

Routes only parse input, call the planning service with the caller's ``Actor`` and render.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from lydiard.errors import AuthenticationError, InvalidInputError, UnsafeInputError
from lydiard.interfaces.http.deps import ActorDep, CtxDep, UserActorDep
from lydiard.interfaces.web import figures
from lydiard.interfaces.web.render import Renderer
from lydiard.interfaces.web.today_view import change_why
from lydiard.services import athletes as athlete_svc
from lydiard.services import planning, trends
from lydiard.services.access import Actor
from lydiard.services.context import Context

__all__ = ["build_router", "calendar_weeks", "forecast_chart"]

#: Weeks shown on the calendar.
WEEKS_SHOWN = 6
DECISIONS = ("approve", "reject", "accept", "override")
FLASH = {
    "approved": "Change approved: the plan is updated.",
    "rejected": "Change rejected: the plan stays as it was.",
    "accepted": "Change accepted: the plan is updated.",
    "overridden": "You kept the plan; your note is recorded.",
    "added": "Session added.",
    "imported": "Plan file imported.",
    "generated": "Plan generated: base, build, peak and taper, with recovery weeks.",
}
#: Largest plan file (CSV or iCalendar) accepted from the page, in bytes.
PLAN_UPLOAD_MAX_BYTES = 5 * 1024 * 1024


def calendar_weeks(sessions: list[planning.SessionView], *, start: date, weeks: int, today: date,
                   changed: set[str]) -> list[list[dict[str, Any]]]:
    """Rows of 7 day cells (Monday first), each with its sessions."""
    by_day: dict[date, list[planning.SessionView]] = {}
    for s in sessions:
        by_day.setdefault(s.day, []).append(s)
    rows = []
    for w in range(weeks):
        row = []
        for d in range(7):
            day = start + timedelta(days=7 * w + d)
            row.append({"day": day, "today": day == today, "past": day < today,
                        "sessions": [{"s": s, "changed": s.id in changed} for s in by_day.get(day, [])],
                        "load_au": sum(s.expected_load_au for s in by_day.get(day, []))})
        rows.append(row)
    return rows


def forecast_chart(fc: planning.ForecastView) -> tuple[dict[str, Any], dict[str, Any]]:
    """The forecast chart's spec and data (CTL/ATL/TSB as planned and adapted; goal and best-form days)."""
    return figures.forecast_chart(fc.series(), performance_unit=fc.performance_unit,
                                  marks=((fc.race_day, "goal", "#444444"), (fc.peak_form_day, "best form", "#2e7d32")))


def _session_text(d: dict[str, Any] | None) -> str:
    if d is None:
        return "nothing"
    if d.get("session_type") == "rest":
        return "Rest"
    label = str(d.get("session_type", "")).replace("_", " ").capitalize()
    return f"{label} {round(float(d.get('duration_s', 0)) / 60)} min ({round(float(d.get('expected_load_au', 0)))} TSS)"


def build_router(renderer: Renderer) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def athlete_for(ctx: Context, actor: Actor, athlete_id: str) -> athlete_svc.AthleteInfo:
        if actor.user_id is None and not actor.is_system:
            raise AuthenticationError("log in first")
        return athlete_svc.get_athlete(ctx, actor, athlete_id)

    def render(request: Request, ctx: Context, actor: Actor, athlete_id: str, *, start: date | None,
               flash: str | None = None, flash_kind: str = "ok", status_code: int = 200) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        first = start or trends.athlete_today(ctx, actor, athlete_id)
        monday = first - timedelta(days=first.weekday())
        view = planning.plan_view(ctx, actor, athlete_id, start=monday,
                                  end=monday + timedelta(days=7 * WEEKS_SHOWN - 1))
        pending = view.pending
        changed = {d.session_id for d in pending.diffs} if pending else set()
        is_own = athlete.user_id is not None and athlete.user_id == actor.user_id
        diffs = [{"day": d.day, "action": d.action.replace("_", " "), "before": _session_text(d.before),
                  "after": _session_text(d.after) if d.after is not None else "removed",
                  "target": (d.after or {}).get("intensity_target", "")} for d in (pending.diffs if pending else ())]
        chart_page = None
        if view.forecast:
            spec, data = forecast_chart(view.forecast)
            chart_page = {"specs": [spec], "data": data, "sync": "plan", "table": figures.forecast_table(spec, data)}
        return renderer.page(
            request, "plan.html", status_code=status_code, athlete=athlete, nav="plan", view=view, pending=pending,
            diffs=diffs,
            weeks=calendar_weeks(view.sessions, start=monday, weeks=WEEKS_SHOWN, today=view.today, changed=changed),
            prev_start=(monday - timedelta(days=7 * WEEKS_SHOWN)).isoformat(),
            next_start=(monday + timedelta(days=7 * WEEKS_SHOWN)).isoformat(),
            can_coach=view.coach_managed and not is_own, can_self=not view.coach_managed,
            waiting_for_coach=view.coach_managed and is_own, chart_page=chart_page, charts_js=chart_page is not None,
            fc=view.forecast, pending_why=change_why(pending) if pending else "",
            flash=flash, flash_kind=flash_kind,
        )

    @router.get("/athletes/{athlete_id}/plan")
    def plan_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str, start: str | None = None,
                  done: str | None = None) -> Response:
        first: date | None = None
        if start:
            try:
                first = date.fromisoformat(start)
            except ValueError as exc:
                raise InvalidInputError(f"not a date (YYYY-MM-DD): {start!r}", field="start") from exc
        return render(request, ctx, actor, athlete_id, start=first, flash=FLASH.get(done or ""))

    def decide(request: Request, ctx: Context, actor: Actor, athlete_id: str, change_id: str, decision: str,
               note: str, back: str = "") -> Response:
        text = note.strip() or None
        try:
            if decision == "approve":
                c = planning.approve_change(ctx, actor, athlete_id, change_id=change_id, note=text)
            elif decision == "reject":
                c = planning.reject_change(ctx, actor, athlete_id, change_id=change_id, note=text)
            elif decision == "accept":
                c = planning.accept_change(ctx, actor, athlete_id, change_id=change_id, note=text)
            else:
                c = planning.override_change(ctx, actor, athlete_id, change_id=change_id, note=text or "")
        except InvalidInputError as exc:
            return render(request, ctx, actor, athlete_id, start=None, flash=str(exc), flash_kind="error",
                          status_code=422)
        page = "today" if back == "today" else "plan"  # where the decision was made (a fixed choice)
        return RedirectResponse(f"/athletes/{athlete_id}/{page}?done={c.status}", status_code=303)

    # One route per decision (no free path segment): approve/reject for coaches,
    # accept/override for self-coached athletes; the service enforces who may do which.
    def make_handler(decision: str) -> Any:
        def handler(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str, change_id: str,
                    note: Annotated[str, Form(max_length=2000)] = "",
                    back: Annotated[str, Form(max_length=10)] = "") -> Response:
            return decide(request, ctx, actor, athlete_id, change_id, decision, note, back)

        return handler

    for decision in DECISIONS:
        router.add_api_route(f"/athletes/{{athlete_id}}/plan/changes/{{change_id}}/{decision}",
                             make_handler(decision), methods=["POST"], name=f"plan_{decision}")

    def parse_day(text: str, field: str) -> date:
        try:
            return date.fromisoformat(text)
        except ValueError as exc:
            raise InvalidInputError(f"not a date (YYYY-MM-DD): {text!r}", field=field) from exc

    def after_change(request: Request, ctx: Context, actor: Actor, athlete_id: str, action: Any,
                     done: str) -> Response:
        """Run ``action``; on bad input re-render the page with the message (422), else redirect."""
        try:
            action()
        except InvalidInputError as exc:
            return render(request, ctx, actor, athlete_id, start=None, flash=str(exc), flash_kind="error",
                          status_code=422)
        return RedirectResponse(f"/athletes/{athlete_id}/plan?done={done}", status_code=303)

    @router.post("/athletes/{athlete_id}/plan/sessions")
    def add_session(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str,
                    day: Annotated[str, Form(max_length=10)],
                    session_type: Annotated[str, Form(max_length=20)],
                    sport: Annotated[str, Form(max_length=16)] = "run",
                    minutes: Annotated[float, Form(ge=0, le=1440)] = 60.0,
                    intensity_target: Annotated[str, Form(max_length=100)] = "",
                    notes: Annotated[str, Form(max_length=2000)] = "") -> Response:
        """Add one planned session (the service validates every field)."""
        return after_change(request, ctx, actor, athlete_id, lambda: planning.create_session(
            ctx, actor, athlete_id, day=parse_day(day, "day"), sport=sport, session_type=session_type,
            duration_s=minutes * 60.0, intensity_target=intensity_target, notes=notes), "added")

    @router.post("/athletes/{athlete_id}/plan/import")
    async def import_plan(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str,
                          file: Annotated[UploadFile, File()],
                          sport: Annotated[str, Form(max_length=16)] = "run") -> Response:
        """Import planned sessions from a CSV or iCalendar file (at most 5 MB)."""
        data = await file.read(PLAN_UPLOAD_MAX_BYTES + 1)
        if len(data) > PLAN_UPLOAD_MAX_BYTES:
            raise UnsafeInputError(file.filename or "upload", "plan files are limited to 5 MB")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise InvalidInputError("the plan file is not UTF-8 text", field="file") from exc
        name = (file.filename or "").lower()
        is_ical = name.endswith((".ics", ".ical")) or text.lstrip().startswith("BEGIN:VCALENDAR")
        importer = planning.import_plan_ical if is_ical else planning.import_plan_csv
        return after_change(request, ctx, actor, athlete_id,
                            lambda: importer(ctx, actor, athlete_id, text, default_sport=sport), "imported")

    @router.post("/athletes/{athlete_id}/plan/generate")
    def generate(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str,
                 goal_day: Annotated[str, Form(max_length=10)],
                 goal_sport: Annotated[str, Form(max_length=16)] = "run",
                 goal_type: Annotated[str, Form(max_length=16)] = "race",
                 weekly_hours: Annotated[float, Form(gt=0, le=40)] = 6.0,
                 pattern: Annotated[str, Form(max_length=5)] = "3:1") -> Response:
        """Build a periodised plan towards a goal event (base, build, peak, taper, recovery weeks)."""
        if pattern not in ("3:1", "2:1"):
            raise InvalidInputError("recovery pattern must be 3:1 or 2:1", field="pattern")
        load_weeks, rest_weeks = (int(x) for x in pattern.split(":"))
        return after_change(request, ctx, actor, athlete_id, lambda: planning.generate_and_store_plan(
            ctx, actor, athlete_id, goal_day=parse_day(goal_day, "goal_day"), goal_sport=goal_sport,
            goal_type=goal_type, weekly_hours=weekly_hours, recovery_pattern=(load_weeks, rest_weeks)),
            "generated")

    return router
