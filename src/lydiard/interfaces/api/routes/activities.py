"""Activities: the list (paginated, by sport) and one activity with laps, metrics and streams."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from lydiard.interfaces.api.routes._common import next_url
from lydiard.interfaces.api.schemas import ActivityDetailOut, ActivityOut, ActivityPatch, Page
from lydiard.interfaces.http.deps import ActorDep, CtxDep
from lydiard.services import activities as activity_svc


def routes() -> APIRouter:
    r = APIRouter(tags=["activities"])

    @r.get("/athletes/{athlete_id}/activities", response_model=Page[ActivityOut])
    def list_activities(athlete_id: str, request: Request, ctx: CtxDep, actor: ActorDep,
                        sport: Annotated[str | None, Query(max_length=16)] = None,
                        start: date | None = None, end: date | None = None,
                        limit: Annotated[int, Query(ge=1, le=500)] = 50,
                        offset: Annotated[int, Query(ge=0)] = 0) -> Page[ActivityOut]:
        """The athlete's activities, newest first."""
        rows, total = activity_svc.list_activities(ctx, actor, athlete_id, sport=sport, start=start, end=end,
                                                   limit=limit, offset=offset)
        return Page[ActivityOut](items=[ActivityOut.model_validate(a) for a in rows], total=total, limit=limit,
                                 offset=offset, next=next_url(request, offset=offset, limit=limit, total=total))

    @r.get("/athletes/{athlete_id}/activities/{activity_id}", response_model=ActivityDetailOut)
    def get_activity(athlete_id: str, activity_id: str, ctx: CtxDep, actor: ActorDep,
                     max_points: Annotated[int, Query(ge=10, le=100_000)] = activity_svc.MAX_STREAM_POINTS,
                     ) -> ActivityDetailOut:
        """One activity: summary, laps, session metrics and streams (downsampled to ``max_points``)."""
        d = activity_svc.get_activity(ctx, actor, athlete_id, activity_id, max_points=max_points)
        return ActivityDetailOut(summary=ActivityOut.model_validate(d.summary), laps=d.laps, metrics=d.metrics,
                                 streams=d.streams, stream_step=d.stream_step, cleaning=d.cleaning)

    @r.patch("/athletes/{athlete_id}/activities/{activity_id}", response_model=ActivityOut)
    def patch_activity(athlete_id: str, activity_id: str, body: ActivityPatch, ctx: CtxDep,
                       actor: ActorDep) -> ActivityOut:
        """Mark a session as a race (or not): its day becomes a race day for the engine; recomputes."""
        return ActivityOut.model_validate(
            activity_svc.set_activity_race(ctx, actor, athlete_id, activity_id, race=body.race))

    return r
