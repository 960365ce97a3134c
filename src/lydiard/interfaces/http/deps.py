"""``Annotated`` dependency aliases for routes (API and web)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from lydiard.interfaces.http.auth import (
    current_actor,
    current_user,
    get_context,
    require_session,
    require_user,
)
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.users import UserInfo

# The dependencies are ``async def``: the request policy (``auth.enforce_request_policy``, run
# before every route) has already resolved the caller, so each is a read of request state. As
# plain ``def`` FastAPI would run each in the thread pool: two or three thread hops per request.


async def _context(request: Request) -> Context:
    return get_context(request)


async def _actor(request: Request) -> Actor:
    return current_actor(request)


async def _user_actor(request: Request) -> Actor:
    return require_user(request)


async def _session_actor(request: Request) -> Actor:
    return require_session(request)


async def _user(request: Request) -> UserInfo | None:
    return current_user(request)


#: The service context opened by ``create_app``.
CtxDep = Annotated[Context, Depends(_context)]
#: The caller, possibly ``Actor.anonymous()`` (services refuse what anonymous may not see).
ActorDep = Annotated[Actor, Depends(_actor)]
#: The caller, who must be logged in (401 otherwise).
UserActorDep = Annotated[Actor, Depends(_user_actor)]
#: The caller, logged in with a browser session, not a token (401/403 otherwise): account actions.
SessionActorDep = Annotated[Actor, Depends(_session_actor)]
#: The logged-in browser user (None for anonymous and bearer callers).
UserDep = Annotated[UserInfo | None, Depends(_user)]
