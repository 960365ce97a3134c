"""Athletes: the visible list, profiles, managed athletes and thresholds."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from lydiard.interfaces.api.routes._common import next_url
from lydiard.interfaces.api.schemas import (
    AthleteCreateIn,
    AthleteOut,
    AthletePatch,
    Page,
    ThresholdIn,
    ThresholdOut,
)
from lydiard.interfaces.http.deps import ActorDep, CtxDep, UserActorDep
from lydiard.services import athletes as athlete_svc
from lydiard.services import privacy


def routes() -> APIRouter:
    r = APIRouter(tags=["athletes"])

    @r.get("/athletes", response_model=Page[AthleteOut])
    def list_athletes(request: Request, ctx: CtxDep, actor: UserActorDep,
                      limit: Annotated[int, Query(ge=1, le=500)] = 100,
                      offset: Annotated[int, Query(ge=0)] = 0) -> Page[AthleteOut]:
        """The athletes I may see: my own profile, those I manage, those coached with consent."""
        rows = athlete_svc.list_athletes(ctx, actor)
        return Page[AthleteOut](items=[AthleteOut.model_validate(a) for a in rows[offset:offset + limit]],
                                total=len(rows), limit=limit, offset=offset,
                                next=next_url(request, offset=offset, limit=limit, total=len(rows)))

    @r.post("/athletes", response_model=AthleteOut, status_code=status.HTTP_201_CREATED)
    def create_athlete(body: AthleteCreateIn, ctx: CtxDep, actor: UserActorDep) -> AthleteOut:
        """Create my own athlete profile, or an athlete I manage (who has no login)."""
        a = athlete_svc.create_athlete(ctx, actor, name=body.name, sex=body.sex, birth_year=body.birth_year,
                                       tz=body.tz, user_id=actor.user_id if body.own_profile else None)
        return AthleteOut.model_validate(a)

    @r.get("/athletes/{athlete_id}", response_model=AthleteOut)
    def get_athlete(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> AthleteOut:
        """One athlete's profile."""
        return AthleteOut.model_validate(athlete_svc.get_athlete(ctx, actor, athlete_id))

    @r.patch("/athletes/{athlete_id}", response_model=AthleteOut)
    def patch_athlete(athlete_id: str, body: AthletePatch, ctx: CtxDep, actor: ActorDep) -> AthleteOut:
        """Change the profile."""
        return AthleteOut.model_validate(athlete_svc.update_profile(
            ctx, actor, athlete_id, name=body.name, sex=body.sex, birth_year=body.birth_year, tz=body.tz,
            hrv_guided=body.hrv_guided, baseline_config=body.baseline_config))

    @r.delete("/athletes/{athlete_id}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_athlete(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
        """Delete the athlete and everything stored about them (the athlete, or the managing coach)."""
        privacy.delete_athlete(ctx, actor, athlete_id)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    @r.get("/athletes/{athlete_id}/thresholds", response_model=list[ThresholdOut])
    def list_thresholds(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> list[ThresholdOut]:
        """Every threshold with the day it is valid from."""
        return [ThresholdOut.model_validate(t) for t in athlete_svc.list_thresholds(ctx, actor, athlete_id)]

    @r.put("/athletes/{athlete_id}/thresholds/{kind}", response_model=ThresholdOut)
    def set_threshold(athlete_id: str, kind: str, body: ThresholdIn, ctx: CtxDep, actor: ActorDep) -> ThresholdOut:
        """Set a threshold (hr_rest_bpm, hr_max_bpm, lthr_bpm, ftp_w, threshold_speed_mps) from a day on;
        the sessions from that day are re-scored and the days recomputed."""
        return ThresholdOut.model_validate(athlete_svc.set_threshold(ctx, actor, athlete_id, kind=kind,
                                                                     value=body.value, valid_from=body.valid_from).value)

    @r.delete("/athletes/{athlete_id}/thresholds/{kind}/{day}", status_code=status.HTTP_204_NO_CONTENT)
    def delete_threshold(athlete_id: str, kind: str, day: date, ctx: CtxDep, actor: ActorDep) -> Response:
        """Delete the value of ``kind`` set from ``day``: the earlier value holds again; sessions are
        re-scored and days recomputed from ``day``."""
        athlete_svc.delete_threshold(ctx, actor, athlete_id, kind=kind, valid_from=day)
        return Response(status_code=status.HTTP_204_NO_CONTENT)

    return r
