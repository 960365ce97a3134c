"""The composition root: one FastAPI app serving the JSON API and the web pages.

Built from plain imports: ``http`` (security, errors, CSRF) sits under ``api`` and ``web``,
and this module, above all three, assembles them (import-linter checks the direction).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI

from lydiard.config import Settings
from lydiard.interfaces import web
from lydiard.interfaces.api.router import build_router
from lydiard.interfaces.http.access_audit import AccessAuditMiddleware
from lydiard.interfaces.http.auth import enforce_request_policy
from lydiard.interfaces.http.errors import install_error_handlers
from lydiard.interfaces.http.security import DeclaredSizeLimitMiddleware, SecurityHeadersMiddleware
from lydiard.interfaces.http.work import limit_request_threads
from lydiard.services.context import Context, open_context
from lydiard.services.metrics import warm_up_kernels

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"


def create_app(settings: Settings, *, context: Context | None = None) -> FastAPI:
    """Build the application; the service context is opened once (or ``context`` is used)."""
    ctx = context if context is not None else open_context(settings)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # in the background: serving starts at once; a first check-in waits only for the rest
        threading.Thread(target=warm_up_kernels, name="lydiard-warm-up", daemon=True).start()
        limit_request_threads(settings)
        yield
        if context is None:  # we opened it, we close it
            ctx.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Lydiard",
        version="1",
        summary="Self-hosted, fatigue-aware training: load, recovery, fatigue stages and adaptive plans.",
        openapi_url="/openapi.json",
        docs_url=None,  # /api/docs is served by the web layer with vendored Swagger UI (strict CSP)
        redoc_url=None,
        dependencies=[Depends(enforce_request_policy)],
    )
    app.state.ctx = ctx
    app.state.settings = settings
    app.state.html_error_renderer = None
    app.add_middleware(DeclaredSizeLimitMiddleware, max_bytes=settings.max_upload_bytes)
    app.add_middleware(AccessAuditMiddleware, ctx=ctx)
    app.add_middleware(SecurityHeadersMiddleware, https=settings.https)
    install_error_handlers(app)

    app.include_router(build_router(settings), prefix=API_PREFIX)
    web.mount(app)

    return app


def create_app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory lydiard.interfaces.app:create_app_from_env``."""
    return create_app(Settings())
