"""Coaches and athletes: invitations, revocation, managed athletes handed over, and the roster.

A coach sees an athlete's data only after the athlete accepts the coach's invitation
(``coach_links.status == "active"``); the athlete may revoke at any time and access ends
at once. Inviting never reveals whether an email has an account: the call looks the same
either way, and the coach sees the athlete's name only once the link is active.

Handing a managed athlete (one the coach created, without a login) to an account is an
*offer*: nothing changes until the receiving user accepts it (the profile becomes theirs,
and the coach's continued access is an ordinary active coach link that they see and can
revoke), and the offer, like an invitation, never tells the coach whether the email has an
account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, or_, select, update

from lydiard.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete, visible_athletes_clause
from lydiard.services.context import Context, new_id
from lydiard.services.metrics import local_today
from lydiard.services.readiness import STAGE_ORDER, STAGE_TITLES
from lydiard.services.summaries import ensure_summaries
from lydiard.services.users import find_user_by_email, normalise_email
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    athletes,
    coach_links,
    daily_observations,
    handover_offers,
    plan_changes,
    users,
)

ROSTER_MISSING_WINDOW_D = 7


@dataclass(frozen=True, slots=True)
class CoachLink:
    id: str
    role: str  #: "coach" (the actor is the coach) or "athlete" (the actor is the athlete)
    status: str  #: invited | active | revoked | declined
    coach_user_id: str
    coach_name: str
    athlete_id: str
    athlete_name: str | None  #: hidden from the coach until the link is active
    athlete_email: str | None  #: shown to the coach (who typed it)
    invited_at: datetime
    decided_at: datetime | None


#: Trend score (:func:`lydiard.domain.recovery.patterns.trending_toward_deep`) from which the roster
#: flags an athlete as trending toward deep fatigue: half of the evidence threshold reached.
TRENDING_SCORE = 0.5


@dataclass(frozen=True, slots=True)
class RosterEntry:
    athlete_id: str
    name: str
    stage: str | None
    stage_title: str | None
    stage_days: int
    missing_checkins_7d: int
    proposed_changes: int
    last_day: date | None
    need_score: float  #: higher = needs the coach's attention sooner
    trend_score: float | None = None  #: 0-1 toward deep fatigue (summaries.trend_toward_deep)
    days_to_deep: int | None = None  #: days to deep fatigue at the last week's rise (None: not rising)

    @property
    def trending(self) -> bool:
        """Heading for deep fatigue before reaching it (:data:`TRENDING_SCORE` or more)."""
        return self.trend_score is not None and self.trend_score >= TRENDING_SCORE


def _uid(actor: Actor) -> str:
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    return actor.user_id


def invite_athlete(ctx: Context, coach: Actor, *, athlete_email: str) -> None:
    """The coach invites the athlete with this email; silently nothing when there is none."""
    coach_id = _uid(coach)
    if coach.scope != "write":
        raise InvalidInputError("a read-only token cannot invite athletes", field="scope")
    email = normalise_email(athlete_email)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        user = find_user_by_email(conn, email)
        if user is None or user.id == coach_id:
            return
        athlete = conn.execute(select(athletes.c.id).where(athletes.c.user_id == user.id)).first()
        if athlete is None:
            return
        link = conn.execute(select(coach_links).where(coach_links.c.coach_user_id == coach_id,
                                                      coach_links.c.athlete_id == athlete.id)).first()
        if link is None:
            conn.execute(insert(coach_links).values(id=new_id(), coach_user_id=coach_id, athlete_id=athlete.id,
                                                    status="invited", invited_at=now, decided_at=None))
        elif link.status in ("revoked", "declined"):
            conn.execute(update(coach_links).where(coach_links.c.id == link.id)
                         .values(status="invited", invited_at=now, decided_at=None))
        else:
            return
        audit.record(conn, coach, athlete_id=athlete.id, action="coach.invite", at=now)


def _own_link(conn: Any, actor: Actor, link_id: str) -> Any:
    """A link whose athlete belongs to the actor (the athlete side)."""
    row = conn.execute(
        select(coach_links).join(athletes, athletes.c.id == coach_links.c.athlete_id)
        .where(coach_links.c.id == link_id, athletes.c.user_id == _uid(actor))
    ).first()
    if row is None:
        raise NotFoundError("invitation not found", link_id=link_id)
    return row


def respond_to_invitation(ctx: Context, athlete: Actor, link_id: str, *, accept: bool) -> CoachLink:
    """The athlete accepts (the coach gets access) or declines a pending invitation."""
    if athlete.scope != "write":
        raise InvalidInputError("a read-only token cannot answer invitations", field="scope")
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        link = _own_link(conn, athlete, link_id)
        if link.status != "invited":
            raise ConflictError(f"this invitation is {link.status}, not pending", status=link.status)
        status = "active" if accept else "declined"
        conn.execute(update(coach_links).where(coach_links.c.id == link_id).values(status=status, decided_at=now))
        audit.record(conn, athlete, athlete_id=link.athlete_id, action=f"coach.{'accept' if accept else 'decline'}",
                     at=now, coach_user_id=link.coach_user_id)
    return _links(ctx, athlete, link_id=link_id)[0]


def revoke_link(ctx: Context, actor: Actor, link_id: str) -> CoachLink:
    """End a link: the athlete revokes a coach, or the coach withdraws. Access ends at once."""
    uid = _uid(actor)
    if actor.scope != "write":
        raise InvalidInputError("a read-only token cannot revoke a coach", field="scope")
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        link = conn.execute(
            select(coach_links).join(athletes, athletes.c.id == coach_links.c.athlete_id)
            .where(coach_links.c.id == link_id, or_(athletes.c.user_id == uid, coach_links.c.coach_user_id == uid))
        ).first()
        if link is None:
            raise NotFoundError("coach link not found", link_id=link_id)
        if link.status in ("revoked", "declined"):
            raise ConflictError(f"this link is {link.status} already", status=link.status)
        conn.execute(update(coach_links).where(coach_links.c.id == link_id).values(status="revoked", decided_at=now))
        audit.record(conn, actor, athlete_id=link.athlete_id, action="coach.revoke", at=now,
                     coach_user_id=link.coach_user_id)
    return _links(ctx, actor, link_id=link_id)[0]


def list_links(ctx: Context, actor: Actor) -> list[CoachLink]:
    """The actor's links, as coach and as athlete."""
    return _links(ctx, actor)


def _links(ctx: Context, actor: Actor, *, link_id: str | None = None) -> list[CoachLink]:
    uid = _uid(actor)
    coach = users.alias("coach")
    athlete_user = users.alias("athlete_user")
    q = (
        select(coach_links, coach.c.display_name.label("coach_name"), athletes.c.name.label("athlete_name"),
               athletes.c.user_id.label("athlete_user_id"), athlete_user.c.email.label("athlete_email"))
        .join(coach, coach.c.id == coach_links.c.coach_user_id)
        .join(athletes, athletes.c.id == coach_links.c.athlete_id)
        .outerjoin(athlete_user, athlete_user.c.id == athletes.c.user_id)
        .where(or_(coach_links.c.coach_user_id == uid, athletes.c.user_id == uid))
        .order_by(coach_links.c.invited_at.desc(), coach_links.c.id)
    )
    if link_id is not None:
        q = q.where(coach_links.c.id == link_id)
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(q).all()
    out = []
    for r in rows:
        as_coach = r.coach_user_id == uid and r.athlete_user_id != uid
        if as_coach and r.status == "invited" and link_id is None:
            continue  # a pending invitation would tell the coach that the email has an account
        out.append(CoachLink(
            id=r.id, role="coach" if as_coach else "athlete", status=r.status, coach_user_id=r.coach_user_id,
            coach_name=r.coach_name, athlete_id=r.athlete_id,
            athlete_name=r.athlete_name if (not as_coach or r.status == "active") else None,
            athlete_email=r.athlete_email if as_coach else None,
            invited_at=r.invited_at, decided_at=r.decided_at,
        ))
    return out


@dataclass(frozen=True, slots=True)
class HandOverOffer:
    """A coach's offer of a managed athlete to the receiving user (shown to that user only)."""

    id: str
    athlete_id: str
    athlete_name: str
    coach_user_id: str
    coach_name: str
    status: str  #: offered | accepted | declined | withdrawn
    created_at: datetime
    decided_at: datetime | None


def hand_over_athlete(ctx: Context, coach: Actor, athlete_id: str, *, user_email: str) -> None:
    """Offer a managed athlete (no login) to the account with ``user_email``; it waits for that user.

    Silently nothing when there is no such active account, it is the coach's own, or it has
    an athlete profile already: the coach learns nothing about the email. A newer offer of
    the same athlete replaces a pending one.
    """
    coach_id = _uid(coach)
    email = normalise_email(user_email)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, coach, athlete_id, write=True)
        row = conn.execute(select(athletes).where(athletes.c.id == athlete_id)).one()
        if row.user_id is not None or row.managed_by_user_id != coach_id:
            raise ConflictError("only an athlete you manage, without an account, can be handed over")
        conn.execute(update(handover_offers).where(handover_offers.c.athlete_id == athlete_id,
                                                   handover_offers.c.status == "offered")
                     .values(status="withdrawn", decided_at=now))
        audit.record(conn, coach, athlete_id=athlete_id, action="athlete.hand_over_offer", at=now)
        user = find_user_by_email(conn, email)
        if user is None or user.id == coach_id:
            return
        if conn.execute(select(athletes.c.id).where(athletes.c.user_id == user.id)).first() is not None:
            return
        conn.execute(insert(handover_offers).values(id=new_id(), athlete_id=athlete_id, coach_user_id=coach_id,
                                                    user_id=user.id, status="offered", created_at=now))


def list_offers(ctx: Context, actor: Actor) -> list[HandOverOffer]:
    """The hand-over offers made to the actor that are still pending."""
    uid = _uid(actor)
    coach = users.alias("coach")
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(
            select(handover_offers, athletes.c.name.label("athlete_name"), coach.c.display_name.label("coach_name"))
            .join(athletes, athletes.c.id == handover_offers.c.athlete_id)
            .join(coach, coach.c.id == handover_offers.c.coach_user_id)
            .where(handover_offers.c.user_id == uid, handover_offers.c.status == "offered")
            .order_by(handover_offers.c.created_at.desc(), handover_offers.c.id)
        ).all()
    return [HandOverOffer(id=r.id, athlete_id=r.athlete_id, athlete_name=r.athlete_name,
                          coach_user_id=r.coach_user_id, coach_name=r.coach_name, status=r.status,
                          created_at=r.created_at, decided_at=r.decided_at) for r in rows]


def respond_to_offer(ctx: Context, actor: Actor, offer_id: str, *, accept: bool) -> HandOverOffer:
    """The receiving user accepts (the profile becomes theirs; the coach keeps an active link
    they can revoke at once) or declines (nothing changes) a pending hand-over offer."""
    uid = _uid(actor)
    if actor.scope != "write":
        raise PermissionDeniedError("a read-only token cannot answer offers")
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        offer = conn.execute(select(handover_offers).where(handover_offers.c.id == offer_id,
                                                           handover_offers.c.user_id == uid)).first()
        if offer is None:
            raise NotFoundError("offer not found", offer_id=offer_id)
        if offer.status != "offered":
            raise ConflictError(f"this offer is {offer.status}, not pending", status=offer.status)
        if accept:
            athlete = conn.execute(select(athletes).where(athletes.c.id == offer.athlete_id)).one()
            if athlete.user_id is not None or athlete.managed_by_user_id != offer.coach_user_id:
                raise ConflictError("this athlete cannot be handed over any more")
            if conn.execute(select(athletes.c.id).where(athletes.c.user_id == uid)).first() is not None:
                raise ConflictError("you have an athlete profile already; delete it first to accept")
            conn.execute(update(athletes).where(athletes.c.id == offer.athlete_id).values(user_id=uid))
            existing = conn.execute(select(coach_links.c.id).where(
                coach_links.c.coach_user_id == offer.coach_user_id,
                coach_links.c.athlete_id == offer.athlete_id)).first()
            if existing is None:
                conn.execute(insert(coach_links).values(id=new_id(), coach_user_id=offer.coach_user_id,
                                                        athlete_id=offer.athlete_id, status="active",
                                                        invited_at=offer.created_at, decided_at=now))
            else:
                conn.execute(update(coach_links).where(coach_links.c.id == existing.id)
                             .values(status="active", decided_at=now))
        status = "accepted" if accept else "declined"
        conn.execute(update(handover_offers).where(handover_offers.c.id == offer_id)
                     .values(status=status, decided_at=now))
        audit.record(conn, actor, athlete_id=offer.athlete_id, action=f"athlete.hand_over_{status}", at=now,
                     coach_user_id=offer.coach_user_id)
        row = conn.execute(
            select(handover_offers, athletes.c.name.label("athlete_name"), users.c.display_name.label("coach_name"))
            .join(athletes, athletes.c.id == handover_offers.c.athlete_id)
            .join(users, users.c.id == handover_offers.c.coach_user_id)
            .where(handover_offers.c.id == offer_id)).one()
    return HandOverOffer(id=row.id, athlete_id=row.athlete_id, athlete_name=row.athlete_name,
                         coach_user_id=row.coach_user_id, coach_name=row.coach_name, status=row.status,
                         created_at=row.created_at, decided_at=row.decided_at)


def roster(ctx: Context, coach: Actor) -> list[RosterEntry]:
    """The athletes the coach may see (not their own profile), those needing attention first.

    Three queries whatever the roster's size: the visible athletes with their summaries
    (stage and its run length, precomputed with the daily metrics), the check-in days of
    the last week and the proposed plan changes per athlete.
    """
    uid = _uid(coach)
    out: list[RosterEntry] = []
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(athletes.c.id, athletes.c.name, athletes.c.tz)
                            .where(visible_athletes_clause(coach),
                                   or_(athletes.c.user_id.is_(None), athletes.c.user_id != uid))
                            .order_by(athletes.c.name)).all()
        if not rows:
            return []
        ids = [a.id for a in rows]
        summaries = ensure_summaries(ctx, conn, ids, with_recent=False)
        today_of = {a.id: local_today(ctx, a.tz) for a in rows}
        window_d = ROSTER_MISSING_WINDOW_D - 1
        lo = min(today_of.values()) - timedelta(days=window_d)
        hi = max(today_of.values())
        checked: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            for r in conn.execute(select(daily_observations.c.athlete_id, daily_observations.c.day).where(
                    daily_observations.c.athlete_id.in_(ids[i:i + 500]), daily_observations.c.source == "checkin",
                    daily_observations.c.day >= lo, daily_observations.c.day <= hi)):
                today = today_of[r.athlete_id]
                if today - timedelta(days=window_d) <= r.day <= today:
                    checked[r.athlete_id] = checked.get(r.athlete_id, 0) + 1
        proposed: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            proposed.update((r[0], int(r[1])) for r in conn.execute(
                select(plan_changes.c.athlete_id, func.count()).where(
                    plan_changes.c.athlete_id.in_(ids[i:i + 500]), plan_changes.c.status == "proposed")
                .group_by(plan_changes.c.athlete_id)))
    for a in rows:
        summary = summaries.get(a.id)
        stage = summary.stage if summary is not None else None
        days = summary.stage_days if summary is not None else 0
        n_proposed = proposed.get(a.id, 0)
        missing = ROSTER_MISSING_WINDOW_D - checked.get(a.id, 0)
        severity = STAGE_ORDER.get(stage, 0) if stage else 0
        trend = summary.trend_score if summary is not None else None
        score = severity * 10.0 + min(days, 28) * 0.25 + n_proposed * 3.0 + missing * 1.0
        if trend is not None and trend >= TRENDING_SCORE:  # before the stage says so: between two stages
            score += 5.0 * trend
        out.append(RosterEntry(athlete_id=a.id, name=a.name, stage=stage,
                               stage_title=STAGE_TITLES.get(stage, stage) if stage else None,
                               stage_days=days, missing_checkins_7d=missing, proposed_changes=n_proposed,
                               last_day=summary.last_day if summary is not None else None, need_score=score,
                               trend_score=trend,
                               days_to_deep=summary.days_to_deep if summary is not None else None))
    out.sort(key=lambda e: (-e.need_score, e.name))
    now = ctx.clock()
    for e in out:  # the roster shows each athlete's stage and check-ins: a read, audited once a day
        audit.record_access(ctx.engine, coach, athlete_id=e.athlete_id, action="view:roster", at=now, write=False,
                            route="roster")
    return out
