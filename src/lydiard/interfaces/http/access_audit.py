"""Every read or change of an athlete's data by someone else is audited, for every route, here.

An ASGI middleware: when a response to a request whose route names an ``{athlete_id}`` is
about to start with a 2xx status, it records the access (who, which route, how they
authenticated, when) through :func:`lydiard.services.audit.record_access` *before* the
response goes out; if recording fails the caller gets an error instead of the data. Being
in one place, a new route cannot forget it (``tests/interfaces/test_access_audit.py`` walks
every route of the OpenAPI schema and every page and fails if a coach's read leaves no entry).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.context import Context

_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


def route_of(scope: Scope) -> tuple[str, str]:
    """(short name, path template) of the route that served ``scope``: the endpoint's name, and the
    path with each path parameter's value put back as ``{name}``."""
    route: Any = scope.get("route")
    endpoint: Any = scope.get("endpoint")
    name = getattr(route, "name", None) or getattr(endpoint, "__name__", "") or "route"
    by_value = {str(v): k for k, v in (scope.get("path_params") or {}).items()}
    template = "/".join(f"{{{by_value[seg]}}}" if seg in by_value else seg
                        for seg in str(scope.get("path", "")).split("/"))
    return str(name), template


class AccessAuditMiddleware:
    """Audit 2xx requests naming an athlete, by anyone but the athlete (see the module doc)."""

    def __init__(self, app: ASGIApp, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_audited(message: Message) -> None:
            if message["type"] == "http.response.start" and 200 <= int(message["status"]) < 300:
                await self._record(scope)
            await send(message)

        await self.app(scope, receive, send_audited)

    async def _record(self, scope: Scope) -> None:
        params = scope.get("path_params") or {}
        athlete_id = params.get("athlete_id")
        state = scope.get("state") or {}
        actor = state.get("lydiard_actor")
        if not isinstance(athlete_id, str) or not isinstance(actor, Actor) or actor.user_id is None:
            return
        method = str(scope.get("method", "GET"))
        name, template = route_of(scope)
        area = "api" if template.startswith("/api/") else "web"
        write = method not in _SAFE
        via = str(state.get("lydiard_auth_kind", ""))
        # reads are recorded once a day per action: a token's reads are told apart from the browser's
        action = f"{'change' if write else 'view'}:{area}.{name}{'+token' if via == 'bearer' else ''}"[:64]
        await run_in_threadpool(audit.record_access, self.ctx.engine, actor, athlete_id=athlete_id, action=action,
                                at=self.ctx.clock(), write=write, route=f"{method} {template}", via=via)
