"""The JSON API router (mounted under ``/api/v1`` by ``lydiard.interfaces.app.create_app``)."""

from __future__ import annotations

from fastapi import APIRouter

from lydiard.config import Settings
from lydiard.interfaces.api.routes import (
    activities,
    athletes,
    auth,
    coaching,
    days,
    imports,
    plan,
    privacy,
)

#: Largest JSON body accepted by the API (uploads have their own, larger limit).
API_BODY_LIMIT_BYTES = 1024 * 1024


def build_router(settings: Settings) -> APIRouter:
    """Every API route, built once per application from ``settings``."""
    router = APIRouter(max_body_size=API_BODY_LIMIT_BYTES)
    for sub in (auth.routes(), athletes.routes(), days.routes(), activities.routes(), imports.routes(settings),
                coaching.routes(), plan.routes(), privacy.routes()):
        router.include_router(sub)
    return router
