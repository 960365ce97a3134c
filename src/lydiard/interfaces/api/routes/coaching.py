"""Coach links (invite, accept, decline, revoke), handing a managed athlete over, and the roster."""

from __future__ import annotations

from fastapi import APIRouter, status

from lydiard.interfaces.api.schemas import (
    CoachLinkOut,
    HandOverIn,
    HandOverOfferOut,
    InviteIn,
    Message,
    RosterEntryOut,
)
from lydiard.interfaces.http.deps import CtxDep, UserActorDep
from lydiard.services import coaching


def routes() -> APIRouter:
    r = APIRouter(tags=["coaching"])

    @r.get("/coach-links", response_model=list[CoachLinkOut])
    def list_links(ctx: CtxDep, actor: UserActorDep) -> list[CoachLinkOut]:
        """My links, as coach and as athlete (pending invitations show on the athlete's side)."""
        return [CoachLinkOut.model_validate(link) for link in coaching.list_links(ctx, actor)]

    @r.post("/coach-links", response_model=Message, status_code=status.HTTP_202_ACCEPTED)
    def invite(body: InviteIn, ctx: CtxDep, actor: UserActorDep) -> Message:
        """As a coach, invite an athlete by email (the reply never says whether the email has an account)."""
        coaching.invite_athlete(ctx, actor, athlete_email=body.athlete_email)
        return Message(detail="if an athlete has this email, they will see your invitation")

    @r.post("/coach-links/{link_id}/accept", response_model=CoachLinkOut)
    def accept(link_id: str, ctx: CtxDep, actor: UserActorDep) -> CoachLinkOut:
        """As the athlete, accept a coach: they may see and change my data until I revoke."""
        return CoachLinkOut.model_validate(coaching.respond_to_invitation(ctx, actor, link_id, accept=True))

    @r.post("/coach-links/{link_id}/decline", response_model=CoachLinkOut)
    def decline(link_id: str, ctx: CtxDep, actor: UserActorDep) -> CoachLinkOut:
        """As the athlete, decline an invitation."""
        return CoachLinkOut.model_validate(coaching.respond_to_invitation(ctx, actor, link_id, accept=False))

    @r.post("/coach-links/{link_id}/revoke", response_model=CoachLinkOut)
    def revoke(link_id: str, ctx: CtxDep, actor: UserActorDep) -> CoachLinkOut:
        """End a link (the athlete, or the coach withdrawing); access ends at once."""
        return CoachLinkOut.model_validate(coaching.revoke_link(ctx, actor, link_id))

    @r.post("/athletes/{athlete_id}/hand-over", response_model=Message, status_code=status.HTTP_202_ACCEPTED)
    def hand_over(athlete_id: str, body: HandOverIn, ctx: CtxDep, actor: UserActorDep) -> Message:
        """Offer an athlete I manage to their own account. Nothing changes until that user accepts;
        then the profile is theirs and my access is a coach link they see and may revoke. The reply
        never says whether the email has an account."""
        coaching.hand_over_athlete(ctx, actor, athlete_id, user_email=body.user_email)
        return Message(detail="if an account without an athlete profile has this email, it will see your offer")

    @r.get("/handover-offers", response_model=list[HandOverOfferOut])
    def list_offers(ctx: CtxDep, actor: UserActorDep) -> list[HandOverOfferOut]:
        """Pending offers of an athlete profile made to me by a coach."""
        return [HandOverOfferOut.model_validate(o) for o in coaching.list_offers(ctx, actor)]

    @r.post("/handover-offers/{offer_id}/accept", response_model=HandOverOfferOut)
    def accept_offer(offer_id: str, ctx: CtxDep, actor: UserActorDep) -> HandOverOfferOut:
        """Take the offered profile as mine; the coach who offered it keeps a link I may revoke."""
        return HandOverOfferOut.model_validate(coaching.respond_to_offer(ctx, actor, offer_id, accept=True))

    @r.post("/handover-offers/{offer_id}/decline", response_model=HandOverOfferOut)
    def decline_offer(offer_id: str, ctx: CtxDep, actor: UserActorDep) -> HandOverOfferOut:
        """Refuse the offer; nothing changes."""
        return HandOverOfferOut.model_validate(coaching.respond_to_offer(ctx, actor, offer_id, accept=False))

    @r.get("/roster", response_model=list[RosterEntryOut])
    def roster(ctx: CtxDep, actor: UserActorDep) -> list[RosterEntryOut]:
        """My athletes, those needing attention first (stage, days in stage, missing check-ins, proposals)."""
        return [RosterEntryOut.model_validate(e) for e in coaching.roster(ctx, actor)]

    return r
