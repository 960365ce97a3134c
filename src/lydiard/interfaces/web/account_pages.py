"""The athlete's control pages: "My coach" (who sees my data: accept, decline, revoke; hand-over
offers), "Sessions" (where I am logged in: end one) and the athlete's access log.

Forms post back here and redirect (303) to the page with a short message; every check is in
the services (``coaching``, ``users``, ``privacy``), every form carries the CSRF token.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from lydiard.interfaces.http.auth import current_session
from lydiard.interfaces.http.deps import CtxDep, UserActorDep
from lydiard.interfaces.web.render import Renderer
from lydiard.services import athletes as athlete_svc
from lydiard.services import coaching, privacy
from lydiard.services import users as user_svc

#: Messages shown after a form, by the ``done`` query parameter (never echoing user input).
DONE_MESSAGES = {
    "accept": "Accepted.", "decline": "Declined.", "revoke": "Access revoked: that coach no longer sees your data.",
    "offer-accept": "The profile is yours now. The coach who offered it can still see it until you revoke below.",
    "offer-decline": "Offer declined; nothing changed.", "ended": "That session has ended.",
}


def _flash(done: str | None) -> str | None:
    return DONE_MESSAGES.get(done or "")


def build_router(renderer: Renderer) -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/my-coach")
    def my_coach(request: Request, ctx: CtxDep, actor: UserActorDep, done: str | None = None) -> Response:
        links = [x for x in coaching.list_links(ctx, actor) if x.role == "athlete"]
        own = [a for a in athlete_svc.list_athletes(ctx, actor) if a.user_id == actor.user_id]
        return renderer.page(request, "my_coach.html", nav="my-coach", flash=_flash(done),
                             active=[x for x in links if x.status == "active"],
                             pending=[x for x in links if x.status == "invited"],
                             past=[x for x in links if x.status in ("revoked", "declined")],
                             offers=coaching.list_offers(ctx, actor), athlete=own[0] if own else None)

    @router.post("/my-coach/links/{link_id}/{action}")
    def link_action(link_id: str, action: Literal["accept", "decline", "revoke"], ctx: CtxDep,
                    actor: UserActorDep) -> Response:
        if action == "revoke":
            coaching.revoke_link(ctx, actor, link_id)
        else:
            coaching.respond_to_invitation(ctx, actor, link_id, accept=action == "accept")
        return RedirectResponse(f"/my-coach?done={action}", status_code=303)

    @router.post("/my-coach/offers/{offer_id}/{action}")
    def offer_action(offer_id: str, action: Literal["accept", "decline"], ctx: CtxDep,
                     actor: UserActorDep) -> Response:
        coaching.respond_to_offer(ctx, actor, offer_id, accept=action == "accept")
        return RedirectResponse(f"/my-coach?done=offer-{action}", status_code=303)

    @router.get("/sessions")
    def sessions_page(request: Request, ctx: CtxDep, actor: UserActorDep, done: str | None = None) -> Response:
        session = current_session(request)
        rows = user_svc.list_sessions(ctx, actor, current_id=session.id if session else "")
        return renderer.page(request, "sessions.html", nav="sessions", sessions=rows, flash=_flash(done))

    @router.post("/sessions/{login_session_id}/end")
    def end_session(login_session_id: str, request: Request, ctx: CtxDep, actor: UserActorDep) -> Response:
        session = current_session(request)
        user_svc.end_session(ctx, actor, login_session_id)
        if session is not None and session.id == login_session_id:
            return RedirectResponse("/login", status_code=303)
        return RedirectResponse("/sessions?done=ended", status_code=303)

    @router.get("/athletes/{athlete_id}/audit")
    def audit_page(request: Request, ctx: CtxDep, actor: UserActorDep, athlete_id: str) -> Response:
        entries = privacy.audit_entries(ctx, actor, athlete_id, limit=500)
        athlete = athlete_svc.get_athlete(ctx, actor, athlete_id)
        return renderer.page(request, "audit.html", nav="audit", athlete=athlete, entries=entries)

    return router
