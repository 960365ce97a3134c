"""The athlete's rights: export everything, and read the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from lydiard.interfaces.api.schemas import AuditEntryOut
from lydiard.interfaces.http.deps import ActorDep, CtxDep
from lydiard.services import privacy


def routes() -> APIRouter:
    r = APIRouter(tags=["privacy"])

    @r.get("/athletes/{athlete_id}/export", response_class=Response,
           responses={200: {"content": {"application/zip": {}}}})
    def export(athlete_id: str, ctx: CtxDep, actor: ActorDep) -> Response:
        """A zip of everything stored about the athlete (original files, CSV and JSON)."""
        data = privacy.export_athlete(ctx, actor, athlete_id)
        day = ctx.clock().date().isoformat()
        return Response(content=data, media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="lydiard-export-{day}.zip"'})

    @r.get("/athletes/{athlete_id}/audit", response_model=list[AuditEntryOut])
    def audit_log(athlete_id: str, ctx: CtxDep, actor: ActorDep,
                  limit: Annotated[int, Query(ge=1, le=1000)] = 100,
                  offset: Annotated[int, Query(ge=0)] = 0) -> list[AuditEntryOut]:
        """Who viewed or changed the athlete's data, newest first."""
        return [AuditEntryOut.model_validate(e) for e in privacy.audit_entries(ctx, actor, athlete_id, limit=limit,
                                                                               offset=offset)]

    return r
