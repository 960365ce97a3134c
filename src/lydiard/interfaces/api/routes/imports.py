"""Uploading workout files, archives and daily-data exports."""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, Request, status
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from lydiard.config import Settings
from lydiard.errors import InvalidInputError
from lydiard.interfaces.api.schemas import ImportItemOut, ImportOut
from lydiard.interfaces.http.deps import ActorDep, CtxDep
from lydiard.interfaces.http.work import request_budget, run_recompute_work
from lydiard.services import athletes, importing

MAX_FILES_PER_UPLOAD = 100

_UPLOAD_BODY = {
    "requestBody": {
        "required": True,
        "content": {"multipart/form-data": {"schema": {
            "type": "object", "required": ["files"],
            "properties": {"files": {"type": "array", "items": {"type": "string", "format": "binary"}}},
        }}},
    }
}


def _base_name(name: str | None) -> str:
    base = (name or "upload").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:200] or "upload"


def routes(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["imports"])

    @r.post("/athletes/{athlete_id}/imports", response_model=ImportOut, status_code=status.HTTP_201_CREATED,
            openapi_extra=_UPLOAD_BODY, max_body_size=settings.max_upload_bytes)
    async def upload(athlete_id: str, request: Request, ctx: CtxDep, actor: ActorDep) -> ImportOut:
        """Import files (FIT, TCX, GPX, zip/gz exports, HRV/wellness CSV) sent as multipart ``files``.

        The body is limited to ``max_upload_bytes`` while it streams (413 beyond). Each file or
        archive member gets its own outcome: imported, duplicate, failed (with the reason) or skipped.
        Processing has a time budget (``upload_time_budget_s``) and stops when the client
        disconnects: then a 422 says how many files were imported (and kept) before it stopped.
        """
        # Refuse strangers before reading anything of the body.
        await run_in_threadpool(athletes.get_athlete, ctx, actor, athlete_id)
        async with request.form(max_files=MAX_FILES_PER_UPLOAD, max_fields=20) as form:
            uploads = [f for f in form.getlist("files") if isinstance(f, UploadFile)]
            if not uploads:
                raise InvalidInputError("send one or more files in the multipart field 'files'", field="files")
            items: list[importing.ItemResult] = []
            run_id = ""
            # one budget for the whole request; work stops when it is spent or the client leaves
            async with request_budget(request, ctx.settings.upload_time_budget_s) as budget:
                for up in uploads:
                    data = await up.read()
                    report = await run_recompute_work(ctx.settings, importing.import_upload, ctx, actor, athlete_id,
                                                   name=_base_name(up.filename), data=data, budget=budget)
                    items.extend(report.items)
                    run_id = run_id or report.run_id
        counts = Counter(it.outcome for it in items)
        return ImportOut(run_id=run_id, items=[ImportItemOut.model_validate(it) for it in items],
                         counts=dict(counts))

    @r.get("/athletes/{athlete_id}/imports/{run_id}", response_model=list[ImportItemOut])
    def import_run(athlete_id: str, run_id: str, ctx: CtxDep, actor: ActorDep) -> list[ImportItemOut]:
        """The per-file outcomes of an earlier import."""
        return [ImportItemOut.model_validate(it) for it in importing.import_run_items(ctx, actor, athlete_id, run_id)]

    return r
