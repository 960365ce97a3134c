"""``Annotated`` dependency aliases for routes (API and web)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

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

#: The service context opened by ``create_app``.
CtxDep = Annotated[Context, Depends(get_context)]
#: The caller, possibly ``Actor.anonymous()`` (services refuse what anonymous may not see).
ActorDep = Annotated[Actor, Depends(current_actor)]
#: The caller, who must be logged in (401 otherwise).
UserActorDep = Annotated[Actor, Depends(require_user)]
#: The caller, logged in with a browser session, not a token (401/403 otherwise): account actions.
SessionActorDep = Annotated[Actor, Depends(require_session)]
#: The logged-in browser user (None for anonymous and bearer callers).
UserDep = Annotated[UserInfo | None, Depends(current_user)]
