"""The athlete's days: check-ins, today's assessment, and the daily series."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Query, Request

from lydiard.errors import InvalidInputError
from lydiard.interfaces.api.schemas import CheckinIn, CheckinOut, DailyOut, DayOut, PatternsOut
from lydiard.interfaces.http.deps import ActorDep, CtxDep
from lydiard.interfaces.http.work import run_recompute_work
from lydiard.services import checkin as checkin_svc
from lydiard.services import metrics, patterns, readiness

MAX_DAILY_WINDOW_D = 366


def _jsonable(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if v is pd.NaT or (not isinstance(v, dict | list | str) and pd.isna(v)):
        return None
    if isinstance(v, pd.Timestamp):
        return v.isoformat()
    if hasattr(v, "item"):
        return v.item()
    return v


def routes() -> APIRouter:
    r = APIRouter(tags=["days"])

    @r.put("/athletes/{athlete_id}/checkins/{day}", response_model=CheckinOut)
    async def put_checkin(athlete_id: str, day: date, body: CheckinIn, ctx: CtxDep, actor: ActorDep) -> CheckinOut:
        """Record how the athlete feels on ``day`` (items 1-5, 5 = best; readiness 0-10); recomputes."""
        c = await run_recompute_work(ctx.settings, lambda: checkin_svc.submit_checkin(
            ctx, actor, athlete_id, day=day, **body.model_dump()))
        return CheckinOut.model_validate(c)

    @r.get("/athletes/{athlete_id}/checkins/{day}", response_model=CheckinOut)
    def get_checkin(athlete_id: str, day: date, ctx: CtxDep, actor: ActorDep) -> CheckinOut:
        """The check-in of ``day``."""
        return CheckinOut.model_validate(checkin_svc.get_checkin(ctx, actor, athlete_id, day=day))

    @r.get("/athletes/{athlete_id}/today", response_model=DayOut)
    def today(athlete_id: str, ctx: CtxDep, actor: ActorDep, day: date | None = None) -> DayOut:
        """The stage, recommendation and evidence for today (or ``day``)."""
        v = readiness.day_view(ctx, actor, athlete_id, day=day)
        return DayOut(athlete_id=v.athlete_id, day=v.day, stage=v.stage, stage_title=v.stage_title,
                      stage_days=v.stage_days, headline=v.headline, confidence=v.confidence,
                      risk_score=v.risk_score, data_feel_agree=v.data_feel_agree,
                      recommendation=v.recommendation, evidence=v.evidence, numbers=v.numbers)

    @r.get("/athletes/{athlete_id}/patterns", response_model=PatternsOut)
    def athlete_patterns(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> PatternsOut:
        """Recurring fatigue episodes: how many began after a race, a heavy block, or in a week of high life stress."""
        return PatternsOut.model_validate(patterns.athlete_patterns(ctx, actor, athlete_id))

    @r.get("/athletes/{athlete_id}/daily", response_model=DailyOut)
    def daily(athlete_id: str, request: Request, ctx: CtxDep, actor: ActorDep,
              start: Annotated[date | None, Query()] = None,
              end: Annotated[date | None, Query()] = None) -> DailyOut:
        """Daily load, fitness/fatigue/form, stage and observations; at most 366 days per request."""
        if end is None:
            end = (start + timedelta(days=MAX_DAILY_WINDOW_D - 1)) if start else ctx.clock().date()
        if start is None:
            start = end - timedelta(days=89)
        if start > end:
            raise InvalidInputError("start must not be after end", field="start")
        if (end - start).days + 1 > MAX_DAILY_WINDOW_D:
            raise InvalidInputError(f"ask for at most {MAX_DAILY_WINDOW_D} days at a time", field="end")
        frame = metrics.daily_series(ctx, actor, athlete_id, start=start, end=end)
        days: list[dict[str, Any]] = []
        for ts, row in zip(pd.DatetimeIndex(frame.index), frame.to_dict("records"), strict=True):
            rec: dict[str, Any] = {"day": ts.date().isoformat()}
            rec.update({str(k): _jsonable(v) for k, v in row.items() if k != "computed_at"})
            days.append(rec)
        nxt = None
        if end < ctx.clock().date():
            nxt = str(request.url.include_query_params(start=(end + timedelta(days=1)).isoformat(),
                                                       end=(end + timedelta(days=(end - start).days + 1)).isoformat()))
        return DailyOut(athlete_id=athlete_id, start=start, end=end, days=days, next=nxt)

    return r
