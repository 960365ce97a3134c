"""The server-rendered pages. Routes only parse input, call services with the caller's
``Actor`` and render templates; they never touch the database."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lydiard.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    RateLimitedError,
)
from lydiard.interfaces.http.auth import login_response, logout
from lydiard.interfaces.http.deps import ActorDep, CtxDep, UserActorDep
from lydiard.interfaces.http.work import request_budget, run_recompute_work
from lydiard.interfaces.web import activity_view, figures, today_view
from lydiard.interfaces.web.render import Renderer, pace_text, parse_pace
from lydiard.services import activities as activity_svc
from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services import coaching, importing, patterns, planning, readiness, trends
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.marker_words import z_words

log = logging.getLogger(__name__)

CHECKIN_QUESTIONS: tuple[dict[str, str], ...] = (
    {"name": "energy", "label": "Energy", "low": "exhausted", "high": "fresh"},
    {"name": "mood", "label": "Mood", "low": "awful", "high": "great"},
    {"name": "motivation", "label": "Motivation", "low": "none", "high": "eager"},
    {"name": "soreness", "label": "Soreness", "low": "very sore", "high": "none"},
    {"name": "sleep_quality", "label": "Sleep quality", "low": "terrible", "high": "great"},
    {"name": "stress", "label": "Stress", "low": "very stressed", "high": "relaxed"},
)
CHECKIN_SAVED = "Check-in saved: here is your day with it."
TODAY_FLASH = {
    "approved": "Change approved: the plan is updated.",
    "rejected": "Change rejected: the plan stays as it was.",
}
CHECKIN_FIELD_NAMES: dict[str, str] = {
    **{q["name"]: q["label"] for q in CHECKIN_QUESTIONS}, "readiness": "Ready to train", "sleep_h": "Sleep",
    "rmssd_ms": "Morning HRV", "rhr_bpm": "Resting HR",
}
SETTINGS_WINDOWS: tuple[tuple[str, str, int, int, int], ...] = (
    ("window_days", "Current window (days)", 3, 14, 7),
    ("hrv_baseline_days", "HRV normal-range window (days)", 14, 120, 60),
    ("rhr_baseline_days", "Resting-HR baseline window (days)", 14, 120, 60),
    ("sleep_baseline_days", "Usual-sleep window (days)", 7, 90, 28),
    ("wellness_baseline_days", "Check-in baseline window (days)", 14, 90, 28),
)
THRESHOLD_LABELS: dict[str, str] = {
    "hr_rest_bpm": "Resting heart rate (bpm)", "hr_max_bpm": "Max heart rate (bpm)",
    "lthr_bpm": "Threshold heart rate (bpm)", "ftp_w": "FTP (W)", "threshold_speed_mps": "Threshold pace (min:ss)",
}
#: Plain names (no unit) and units of the thresholds, for values and error messages.
THRESHOLD_NAMES: dict[str, tuple[str, str]] = {
    "hr_rest_bpm": ("Resting heart rate", "bpm"), "hr_max_bpm": ("Max heart rate", "bpm"),
    "lthr_bpm": ("Threshold heart rate", "bpm"), "ftp_w": ("FTP", "W"), "threshold_speed_mps": ("Threshold pace", ""),
}
#: The activity page's confirmation after the race form (``?done=``).
ACTIVITY_DONE: dict[str, str] = {
    "race": "Marked as a race: the days from this session on were recalculated, and Today reads the days "
            "after it as race recovery.",
    "not_race": "Marked as not a race: Lydiard will not read this session as a race, and the days from it on "
                "were recalculated.",
}
SETTINGS_DONE: dict[str, str] = {
    "profile": "Profile saved.",
    "threshold": "Threshold saved; your metrics were recalculated from the day it applies.",
    "baselines": "Baseline windows saved.",
}


class PageCache:
    """A small thread-safe LRU of rendered page parts keyed by (what, version of what it shows).

    Per server process; a key's version must change whenever what the part shows changes
    (e.g. :func:`lydiard.services.trends.roster_stamp`), so an entry is never stale.
    """

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._data: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[str, str], threading.Lock] = {}  #: one lock per key being built

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
            return body

    def put(self, key: tuple[str, str], body: str) -> None:
        with self._lock:
            self._data[key] = body
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def get_or_build(self, key: tuple[str, str], build: Callable[[], str]) -> str:
        """The cached part for ``key``, built once by ``build`` when missing.

        Concurrent misses on the same key wait for the first builder instead of each
        rendering the part (20 clients opening the roster at once build it once per process,
        not 20 times).
        """
        body = self.get(key)
        if body is not None:
            return body
        with self._lock:
            building = self._building.setdefault(key, threading.Lock())
        with building:
            body = self.get(key)
            if body is None:
                body = build()
                self.put(key, body)
        with self._lock:
            self._building.pop(key, None)
        return body


def _parse_day(text: str | None, *, field: str = "day") -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(f"not a date (YYYY-MM-DD): {text!r}", field=field) from exc


def _safe_next(target: str | None) -> str:
    """Only local paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or urlsplit(target).netloc:
        return "/"
    return target


def _accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` header allows gzip (not ``gzip;q=0``)."""
    for part in accept_encoding.lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            q = params.strip()
            return not (q.startswith("q=") and q[2:].strip() in ("0", "0.0", "0.00", "0.000"))
    return False


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def plan_for_day(ctx: Context, actor: Actor, athlete_id: str, day: date) -> dict[str, Any]:
    """The day's planned sessions and the proposed changes touching that day (planning service)."""
    return day_plan_rows(planning.day_plan(ctx, actor, athlete_id, day=day))


def day_plan_rows(result: planning.DayPlan) -> dict[str, Any]:
    """A day's plan as template rows: sessions (title, detail) and proposed changes (summary, lines)."""
    day = result.day
    sessions = []
    for s in result.sessions:
        detail = " · ".join(x for x in (f"{round(s.duration_min)} min" if s.duration_s else "",
                                         f"{s.expected_load_au:.0f} AU planned" if s.expected_load_au else "",
                                         s.intensity_target, s.notes) if x)
        sessions.append({"title": f"{s.title} ({s.sport})" if s.sport else s.title, "detail": detail,
                         "adapted": s.origin == "adapted"})
    changes = []
    for c in result.changes:
        lines = [d.describe for d in c.diffs if d.day == day]
        changes.append({"id": c.id, "summary": c.summary, "lines": lines, "stage": c.stage})
    return {"sessions": sessions, "changes": changes}


def build_router(renderer: Renderer, cache: PageCache) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    def athlete_for(ctx: Context, actor: Actor, athlete_id: str) -> athlete_svc.AthleteInfo:
        if actor.user_id is None and not actor.is_system:
            raise AuthenticationError("log in first")
        return athlete_svc.get_athlete(ctx, actor, athlete_id)

    # ------------------------------------------------------------------ entry, login

    @router.get("/")
    def home(ctx: CtxDep, actor: ActorDep) -> Response:
        if actor.user_id is None:
            return RedirectResponse("/login", status_code=303)
        own = [a for a in athlete_svc.list_athletes(ctx, actor) if a.user_id == actor.user_id]
        if own:
            return RedirectResponse(f"/athletes/{own[0].id}/today", status_code=303)
        return RedirectResponse("/roster", status_code=303)

    @router.get("/login")
    def login_page(request: Request, next: str = "/") -> Response:
        return renderer.page(request, "login.html", next=_safe_next(next), email="", error=None)

    @router.post("/login")
    def login_post(request: Request, email: Annotated[str, Form()] = "", password: Annotated[str, Form()] = "",
                   next: Annotated[str, Form()] = "/") -> Response:
        response = RedirectResponse(_safe_next(next), status_code=303)
        try:
            login_response(request, response, email=email, password=password)
        except (AuthenticationError, RateLimitedError) as exc:
            headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, RateLimitedError) else None
            return renderer.page(request, "login.html", status_code=429 if headers else 401, headers=headers,
                                 next=_safe_next(next), email=email, error=str(exc))
        return response

    @router.post("/logout")
    def logout_post(request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        logout(request, response)
        return response

    # ------------------------------------------------------------------ athlete pages

    @router.get("/athletes/{athlete_id}")
    def athlete_root(athlete_id: str) -> Response:
        return RedirectResponse(f"/athletes/{athlete_id}/today", status_code=303)

    @router.get("/athletes/{athlete_id}/today")
    def today_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str,
                   day: str | None = None, saved: str | None = None, done: str | None = None) -> Response:
        if actor.user_id is None and not actor.is_system:
            raise AuthenticationError("log in first")
        page = readiness.today_page(ctx, actor, athlete_id, day=_parse_day(day))
        view = page.view
        markers = today_view.marker_rows(view.evidence) if view else []
        status = page.plan_status
        pending = status.pending
        last = status.last_decision if pending is None else None  # the waiting change comes first
        flash = TODAY_FLASH.get(done or "") or (CHECKIN_SAVED if saved else None)
        return renderer.page(
            request, "today.html", athlete=page.athlete, nav="today", view=view, missing_reason=page.missing_reason,
            is_today=page.day == page.today, checked_in=page.checked_in, markers=markers,
            ans=today_view.answer(view, markers, checked_in=page.checked_in) if view else None,
            plan=day_plan_rows(page.plan), plan_status=status,
            pending_why=today_view.change_why(pending) if pending else "",
            pending_lines=[d.describe for d in pending.diffs] if pending else [],
            last_decision=last, last_decision_text=today_view.decision_text(last) if last is not None else "",
            flash=flash, flash_kind="ok",
        )

    def existing_checkin(ctx: Context, actor: Actor, athlete_id: str, day: date) -> checkin_svc.Checkin | None:
        try:
            return checkin_svc.get_checkin(ctx, actor, athlete_id, day=day)
        except NotFoundError:
            return None

    def coach_notice(athlete: athlete_svc.AthleteInfo, actor: Actor) -> str | None:
        """Said to a linked coach on an athlete's check-in: it is the athlete's own report, which
        the coach reads but cannot change (the check-in service refuses a coach's write)."""
        if athlete.user_id is None or actor.is_system or athlete.user_id == actor.user_id:
            return None
        return (f"A check-in is {athlete.name}'s own report of how they feel: as their coach you can read it "
                f"here, but only {athlete.name} can record or change it.")

    def checkin_form(request: Request, ctx: Context, actor: Actor, athlete_id: str, the_day: date, today: date,
                     values: dict[str, Any], *, error: str | None = None, status_code: int = 200) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        return renderer.page(request, "checkin.html", status_code=status_code, athlete=athlete, nav="checkin",
                             day=the_day, today=today, items=CHECKIN_QUESTIONS, values=values, error=error,
                             coach_notice=coach_notice(athlete, actor))

    @router.get("/athletes/{athlete_id}/checkin")
    def checkin_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str,
                     day: str | None = None) -> Response:
        athlete_for(ctx, actor, athlete_id)
        today = trends.athlete_today(ctx, actor, athlete_id)
        the_day = _parse_day(day) or today
        found = existing_checkin(ctx, actor, athlete_id, the_day)
        values = asdict(found) if found is not None else {}
        values = {k: (int(v) if isinstance(v, float) and v.is_integer() and k != "sleep_h" else v)
                  for k, v in values.items()}
        return checkin_form(request, ctx, actor, athlete_id, the_day, today, values)

    @router.post("/athletes/{athlete_id}/checkin")
    async def checkin_post(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str) -> Response:
        form = await request.form()

        def text(name: str) -> str | None:
            v = form.get(name)
            return v.strip() if isinstance(v, str) and v.strip() else None

        def number(name: str) -> float | None:
            v = text(name)
            if v is None:
                return None
            try:
                return float(v.replace(",", "."))
            except ValueError as exc:
                raise InvalidInputError(f"{CHECKIN_FIELD_NAMES.get(name, name)} must be a number",
                                        field=name) from exc

        today = await run_in_threadpool(trends.athlete_today, ctx, actor, athlete_id)
        try:
            the_day = _parse_day(text("day")) or today
            kwargs: dict[str, Any] = {q["name"]: number(q["name"]) for q in CHECKIN_QUESTIONS}
            kwargs.update(readiness=number("readiness"), sleep_h=number("sleep_h"), note=text("note"),
                          illness=text("illness") is not None, injury=text("injury") is not None,
                          travel=text("travel") is not None, race=text("race") is not None,
                          rmssd_ms=number("rmssd_ms"), rhr_bpm=number("rhr_bpm"))

            await run_recompute_work(ctx.settings, lambda: checkin_svc.submit_checkin(
                ctx, actor, athlete_id, day=the_day, replace=True, **kwargs))
        except InvalidInputError as exc:
            if _wants_json(request):
                raise
            values: dict[str, Any] = {}
            for k in form:
                v = form.get(k)
                values[k] = int(v) if isinstance(v, str) and v.isdigit() else v
            message = str(exc)
            day_shown = _safe_day(text("day"), today)
            return await run_in_threadpool(lambda: checkin_form(
                request, ctx, actor, athlete_id, day_shown, today, values, error=message, status_code=422))
        target = (f"/athletes/{athlete_id}/today?saved=1"
                  + ("" if the_day == today else f"&day={the_day.isoformat()}"))
        if _wants_json(request):
            return JSONResponse({"ok": True, "day": the_day.isoformat(), "redirect": target})
        return RedirectResponse(target, status_code=303)

    @router.get("/athletes/{athlete_id}/trends")
    def trends_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        data_url = f"/athletes/{athlete_id}/trends/data.json"
        version = trends.trends_version(ctx, actor, athlete_id)  # access check included

        def build_stack() -> str:  # the charts' cards with their tables (the last days only), once per version
            doc = trends.recent_series(ctx, actor, athlete_id, days=figures.TABLE_DAYS)
            specs = figures.trends_specs()
            return renderer.fragment("_trends_stack.html", specs=specs, tables=figures.trends_tables(doc, specs),
                                     table_days=figures.TABLE_DAYS, data_url=data_url)

        stack = cache.get_or_build(("trends-stack", f"{athlete_id}:{version}"), build_stack)
        return renderer.page(request, "trends.html", athlete=athlete, nav="trends", stack=Markup(stack),
                             table_days=figures.TABLE_DAYS, data_url=data_url, charts_js=True)

    @router.get("/athletes/{athlete_id}/patterns")
    def patterns_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str) -> Response:
        """Recurring fatigue episodes, a page of its own: reading the whole stored history costs about
        a second on a long history, which the Trends page (read far more often) must not pay."""
        athlete = athlete_for(ctx, actor, athlete_id)
        version = trends.trends_version(ctx, actor, athlete_id)  # access check included

        def build_patterns() -> str:  # recurring episodes: the stored days read once per version
            return renderer.fragment("_patterns.html", p=patterns.athlete_patterns(ctx, actor, athlete_id))

        found = cache.get_or_build(("patterns", f"{athlete_id}:{version}"), build_patterns)
        return renderer.page(request, "patterns.html", athlete=athlete, nav="trends", patterns=Markup(found))

    @router.get("/athletes/{athlete_id}/trends/data.json")
    def trends_json(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str) -> Response:
        if actor.user_id is None and not actor.is_system:
            raise AuthenticationError("log in first")
        doc = trends.trends_document(ctx, actor, athlete_id)  # access check included; stored, shared
        etag = f'W/"{doc.version}"'
        headers = {"cache-control": "no-store", "etag": etag, "vary": "Accept-Encoding"}  # a year of health data
        if request.headers.get("if-none-match") == etag:
            return Response(status_code=304, headers=headers)
        if _accepts_gzip(request.headers.get("accept-encoding", "")):
            headers["content-encoding"] = "gzip"
            return Response(doc.body_gzip, media_type="application/json", headers=headers)
        return Response(doc.body(), media_type="application/json", headers=headers)

    @router.get("/athletes/{athlete_id}/activities")
    def activities_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str,
                        sport: str | None = None, offset: Annotated[int, Query(ge=0)] = 0) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        page_size = 50
        items, total = activity_svc.list_activities(ctx, actor, athlete_id, sport=sport or None, limit=page_size,
                                                    offset=offset)
        all_items, _ = activity_svc.list_activities(ctx, actor, athlete_id, limit=500)
        sports = sorted({a.sport for a in all_items} | ({sport} if sport else set()))
        return renderer.page(
            request, "activities.html", athlete=athlete, nav="activities", items=items, total=total, sport=sport,
            titles={a.id: activity_view.activity_title(a, athlete.tz) for a in items},
            starts={a.id: activity_view.local_start(a, athlete.tz).strftime("%H:%M") for a in items},
            sports=sports, prev_offset=max(0, offset - page_size) if offset > 0 else None,
            next_offset=offset + page_size if offset + page_size < total else None,
        )

    @router.get("/athletes/{athlete_id}/activities/{activity_id}")
    def activity_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str,
                      activity_id: str, done: str | None = None) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        detail = activity_svc.get_activity(ctx, actor, athlete_id, activity_id, max_points=2000)
        user = user_svc.get_user(ctx, actor, actor.user_id) if actor.user_id else None
        units = user.units if user is not None else "metric"
        specs, data = figures.activity_charts(detail, units)
        a = detail.summary
        means = figures.stream_means(detail)
        avg_hr = a.avg_hr_bpm if a.avg_hr_bpm is not None else means.get("avg_hr")
        max_hr = a.max_hr_bpm if a.max_hr_bpm is not None else means.get("max_hr")
        avg_power = a.avg_power_w if a.avg_power_w is not None else means.get("avg_power")
        step_min = 5 if (a.duration_s or 0) <= 2 * 3600 else 10
        return renderer.page(
            request, "activity.html", athlete=athlete, nav="activities", a=a, detail=detail,
            title=activity_view.activity_title(a, athlete.tz), when=activity_view.activity_when(a, athlete.tz),
            device=activity_view.device_name(a.device), is_run=figures.is_run(a.sport),
            avg_hr=avg_hr, max_hr=max_hr, avg_power=avg_power,
            from_stream=(a.avg_hr_bpm is None and "avg_hr" in means) or (a.avg_power_w is None and "avg_power" in means),
            specs=specs, chart_page={"specs": specs, "data": data, "sync": "activity"},
            table=figures.activity_table(specs, data, step_min=step_min), step_min=step_min,
            load_rows=activity_view.load_rows(detail.metrics or {}, a.sport),
            load_source=activity_view.load_source_text(detail.metrics or {}), track=figures.track_svg(detail),
            zones=figures.zone_rows(detail),
            charts_js=bool(specs) or bool(detail.streams.get("lat_deg")),
            flash=ACTIVITY_DONE.get(done or ""), flash_kind="ok",
        )

    @router.post("/athletes/{athlete_id}/activities/{activity_id}/race")
    def activity_race_post(ctx: CtxDep, actor: UserActorDep, athlete_id: str, activity_id: str,
                           race: Annotated[str, Form(max_length=1)] = "") -> Response:
        """Mark a session as a race (``race=1``) or as not a race (``race=0``): the same service as
        the API's PATCH (same access rule, audited), which recomputes the days through the write
        pipeline; then back to the activity with a confirmation (redirect after POST)."""
        if race not in ("0", "1"):
            raise InvalidInputError("choose whether this session was a race", field="race")
        a = activity_svc.set_activity_race(ctx, actor, athlete_id, activity_id, race=race == "1")
        done = "race" if a.race else "not_race"
        return RedirectResponse(f"/athletes/{athlete_id}/activities/{activity_id}?done={done}", status_code=303)

    @router.get("/athletes/{athlete_id}/import")
    def import_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        return renderer.page(request, "import.html", athlete=athlete, nav="import", results=None)

    @router.post("/athletes/{athlete_id}/import")
    async def import_post(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str) -> Response:
        athlete = await run_in_threadpool(athlete_for, ctx, actor, athlete_id)
        form = await request.form()
        uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile) and f.filename]
        if not uploads:
            raise InvalidInputError("choose at least one file to import", field="files")
        started = time.perf_counter()
        results: list[importing.ItemResult] = []
        async with request_budget(request, ctx.settings.upload_time_budget_s) as budget:
            for up in uploads:
                data = await up.read()
                name = up.filename or "upload"
                report = await run_recompute_work(ctx.settings, _import_one, ctx, actor, athlete_id, name, data, budget)
                results.extend(report.items)
        trends_cache_note = round(time.perf_counter() - started, 1)
        counts = {k: sum(1 for r in results if r.outcome == k) for k in ("imported", "duplicate", "failed", "skipped")}
        return renderer.page(request, "import.html", athlete=athlete, nav="import", results=results, counts=counts,
                             elapsed_s=trends_cache_note)

    # ------------------------------------------------------------------ settings

    def _settings_page(request: Request, ctx: Context, actor: Actor, athlete_id: str, *, flash: str | None = None,
                       error: str | None = None, status_code: int = 200, form: dict[str, str] | None = None) -> Response:
        athlete = athlete_for(ctx, actor, athlete_id)
        history = athlete_svc.list_thresholds(ctx, actor, athlete_id)
        by_kind: dict[str, list[athlete_svc.ThresholdValue]] = {}
        for t in history:
            by_kind.setdefault(t.kind, []).append(t)
        config = athlete.baseline_config or {}
        windows = [{"name": n, "label": lbl, "min": lo, "max": hi, "value": int(config.get(n, default))}
                   for n, lbl, lo, hi, default in SETTINGS_WINDOWS]
        return renderer.page(
            request, "settings.html", status_code=status_code, athlete=athlete, nav="settings",
            thresholds=by_kind, threshold_labels=THRESHOLD_LABELS, threshold_names=THRESHOLD_NAMES, windows=windows,
            hrv_kind=config.get("hrv_kind") or "", today=trends.athlete_today(ctx, actor, athlete_id),
            flash=flash or error, flash_kind="error" if error else "ok", timezones=_timezones(), form=form or {},
        )

    def _settings_done(athlete_id: str, what: str) -> Response:
        """Redirect after a successful POST (a reload does not submit the form again)."""
        return RedirectResponse(f"/athletes/{athlete_id}/settings?done={what}", status_code=303)

    @router.get("/athletes/{athlete_id}/settings")
    def settings_page(request: Request, ctx: CtxDep, actor: ActorDep, athlete_id: str,
                      done: str | None = None) -> Response:
        return _settings_page(request, ctx, actor, athlete_id, flash=SETTINGS_DONE.get(done or ""))

    @router.post("/athletes/{athlete_id}/settings/profile")
    def settings_profile(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str,
                         name: Annotated[str, Form()], tz: Annotated[str, Form()],
                         sex: Annotated[str, Form()] = "", birth_year: Annotated[str, Form()] = "",
                         units: Annotated[str, Form()] = "") -> Response:
        try:
            year = int(birth_year) if birth_year.strip() else None
        except ValueError:
            return _settings_page(request, ctx, actor, athlete_id, error="The birth year must be a number, e.g. 1990.",
                                  status_code=422)
        try:
            athlete_svc.update_profile(ctx, actor, athlete_id, name=name, tz=tz, sex=sex or None, birth_year=year)
            if units:
                user_svc.update_account(ctx, actor, units=units)
        except InvalidInputError as exc:
            return _settings_page(request, ctx, actor, athlete_id, error=_human(str(exc)), status_code=422)
        return _settings_done(athlete_id, "profile")

    @router.post("/athletes/{athlete_id}/settings/threshold")
    def settings_threshold(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str,
                           kind: Annotated[str, Form()], value: Annotated[str, Form()],
                           valid_from: Annotated[str, Form()]) -> Response:
        user = user_svc.get_user(ctx, actor, actor.user_id) if actor.user_id else None
        units = user.units if user is not None else "metric"
        try:
            day = _parse_day(valid_from, field="valid_from")
            if day is None:
                raise InvalidInputError("Choose the day the value is valid from.", field="valid_from")
            number = _threshold_value(kind, value, units)
            athlete_svc.set_threshold(ctx, actor, athlete_id, kind=kind, value=number, valid_from=day)
        except InvalidInputError as exc:
            return _settings_page(request, ctx, actor, athlete_id, error=_human(str(exc)), status_code=422,
                                  form={"kind": kind, "value": value, "valid_from": valid_from})
        return _settings_done(athlete_id, "threshold")

    @router.post("/athletes/{athlete_id}/settings/baselines")
    async def settings_baselines(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str) -> Response:
        form = await request.form()
        config: dict[str, Any] = {}
        try:
            for n, label, lo, hi, _default in SETTINGS_WINDOWS:
                raw = form.get(n)
                if isinstance(raw, str) and raw.strip():
                    try:
                        v = int(raw)
                    except ValueError as exc:
                        raise InvalidInputError(f"{label} must be a whole number", field=n) from exc
                    if not lo <= v <= hi:
                        raise InvalidInputError(f"{label} must be between {lo} and {hi}", field=n)
                    config[n] = v
            kind = form.get("hrv_kind")
            if isinstance(kind, str) and kind:
                if kind not in ("morning", "overnight"):
                    raise InvalidInputError("HRV readings must be 'morning' or 'overnight'", field="hrv_kind")
                config["hrv_kind"] = kind
            if config.get("window_days", 7) < 4:
                raise InvalidInputError("the current window must be at least 4 days", field="window_days")
            await run_in_threadpool(lambda: athlete_svc.update_profile(ctx, actor, athlete_id,
                                                                        baseline_config=config))
        except InvalidInputError as exc:
            message = str(exc)
            return await run_in_threadpool(lambda: _settings_page(request, ctx, actor, athlete_id, error=message,
                                                                  status_code=422))
        return _settings_done(athlete_id, "baselines")

    # ------------------------------------------------------------------ coach

    @router.get("/roster")
    def roster_page(request: Request, ctx: CtxDep, actor: UserActorDep) -> Response:
        stamp = trends.roster_stamp(ctx, actor)  # the visible athletes' fingerprint (access rule included)
        if stamp is None:
            raise AuthenticationError("log in first")

        def build() -> str:  # read after the stamp: the list is at least as new as its key
            entries = coaching.roster(ctx, actor)
            lines = trends.sparklines(ctx, actor, [e.athlete_id for e in entries])
            rows = [{"e": e, "spark": _spark_svg(lines.get(e.athlete_id)),
                     "attention": bool(e.proposed_changes) or e.trending
                     or (e.stage or "normal") not in ("normal", "calibrating")}
                    for e in entries]
            return renderer.fragment("_roster_list.html", rows=rows)

        roster_list = cache.get_or_build(("roster", stamp.key), build)
        own = athlete_svc.get_athlete(ctx, actor, stamp.own_athlete_id) if stamp.own_athlete_id else None
        return renderer.page(request, "roster.html", nav="roster", roster_list=Markup(roster_list),
                             athlete=own, own=own)

    @router.post("/profile")
    def create_profile(request: Request, ctx: CtxDep, actor: UserActorDep, name: Annotated[str, Form()],
                       tz: Annotated[str, Form()] = "UTC") -> Response:
        a = athlete_svc.create_athlete(ctx, actor, name=name, tz=tz, user_id=actor.user_id)
        return RedirectResponse(f"/athletes/{a.id}/today", status_code=303)

    return router


def _threshold_value(kind: str, text: str, units: str) -> float:
    """A threshold typed on the settings page in its display unit (a pace as m:ss per km or mile),
    in its stored unit, checked against the service's range with a message in plain words."""
    name, unit = THRESHOLD_NAMES.get(kind, (kind, ""))
    if kind not in athlete_svc.THRESHOLD_RANGES:
        raise InvalidInputError("Choose a threshold from the list.", field="kind")
    lo, hi = athlete_svc.THRESHOLD_RANGES[kind]
    per = "mile" if units == "imperial" else "km"
    if kind == "threshold_speed_mps":
        try:
            value = parse_pace(text, units)
        except ValueError as exc:
            raise InvalidInputError(f"Type the threshold pace as minutes:seconds per {per}, e.g. 4:15.",
                                    field="value") from exc
        if not lo <= value <= hi:
            raise InvalidInputError(f"{name} must be between {pace_text(hi, units)} and {pace_text(lo, units)} "
                                    f"per {per}.", field="value")
        return value
    try:
        value = float(text.replace(",", "."))
    except ValueError as exc:
        raise InvalidInputError(f"{name} must be a number of {unit}, e.g. {lo + (hi - lo) / 3:.0f}.",
                                field="value") from exc
    if not lo <= value <= hi:
        raise InvalidInputError(f"{name} must be between {lo:.0f} and {hi:.0f} {unit}.", field="value")
    return value


def _human(message: str) -> str:
    """A service message for people: internal field names replaced by plain ones, a capital and a stop."""
    for key, (name, _unit) in THRESHOLD_NAMES.items():
        message = message.replace(key, name)
    for key, label, *_ in SETTINGS_WINDOWS:
        message = message.replace(key, label)
    message = message.replace("birth_year", "birth year")
    message = message[:1].upper() + message[1:]
    return message if message.endswith((".", "!", "?")) else message + "."


def _import_one(ctx: Context, actor: Actor, athlete_id: str, name: str, data: bytes,
                budget: importing.WorkBudget | None = None) -> importing.ImportReport:
    return importing.import_upload(ctx, actor, athlete_id, name=name, data=data, budget=budget)


def _safe_day(text: str | None, fallback: date) -> date:
    try:
        return _parse_day(text) or fallback
    except InvalidInputError:
        return fallback


def _spark_svg(line: trends.Sparkline | None) -> dict[str, Any] | None:
    """Points of a 120×32 inline SVG sparkline (server-side, no script)."""
    if line is None:
        return None
    vals = line.values
    present = [v for v in vals if v is not None]
    if len(present) < 2:
        return None
    lo, hi = min(present), max(present)
    if line.band is not None:
        lo, hi = min(lo, line.band[0]), max(hi, line.band[1])
    span = (hi - lo) or 1.0
    n = max(1, len(vals) - 1)
    # Plain arithmetic and one format per point: the roster draws 200 of these per view.
    sx, sy = 120.0 / n, 28.0 / span

    def y(v: float) -> float:
        return round(30 - sy * (v - lo), 1)

    segments: list[str] = []
    current: list[str] = []
    for i, v in enumerate(vals):
        if v is None:
            if len(current) > 1:
                segments.append(" ".join(current))
            current = []
            continue
        current.append(f"{i * sx:.1f},{30 - sy * (v - lo):.1f}")
    if len(current) > 1:
        segments.append(" ".join(current))
    band = None
    if line.band is not None:
        top, bottom = y(line.band[1]), y(line.band[0])
        band = {"y": top, "h": max(1.0, round(bottom - top, 1))}
    label, unit_text = _SPARK_LABELS.get(line.label, (line.label, f"{present[-1]:.2f}"))
    last = present[-1]
    last_text = (f"{math.exp(last):.0f} ms" if unit_text == "ms" else z_words(last) if unit_text == "z"
                 else f"{last:.0f}")
    return {"label": label, "segments": segments, "band": band, "last": last, "last_text": last_text}


#: The roster sparkline's series in plain words (service label -> caption, how the last value reads).
_SPARK_LABELS: dict[str, tuple[str, str]] = {
    "ln rMSSD, 7-day mean": ("HRV, 7-day average, last 6 weeks", "ms"),
    "check-in score (z)": ("How they feel (check-ins), last 6 weeks", "z"),
    "form (TSB)": ("Form (TSB), last 6 weeks", "au"),
}


def _timezones() -> list[str]:
    import zoneinfo

    return sorted(z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/")))


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


__all__ = ["PageCache", "build_router", "login_redirect"]
