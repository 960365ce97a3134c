"""Who owns an athlete profile: the first account of a store, and handing a profile over.

A single-user install creates its athlete with ``lydiard import`` (no account yet) and its
account afterwards; without an owner the data would be invisible on the web and in the
API. So the first account created on a store takes every athlete that no account owns
(its own profile when there is exactly one such athlete, athletes it manages otherwise),
and ``lydiard athlete owner NAME EMAIL`` hands one over later. Coaches are never made
owners here: they link through the consent flow (:mod:`lydiard.services.coaching`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, func, select, update

from lydiard.errors import NotFoundError, PermissionDeniedError
from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import athletes, users


@dataclass(frozen=True, slots=True)
class Claimed:
    """An athlete given to an account: as its own profile (``own``) or as one it manages."""

    athlete_id: str
    name: str
    own: bool


def claim_unowned_if_first(conn: Connection, actor: Actor, user_id: str, *, at: object) -> list[Claimed]:
    """Give the athletes no account owns to ``user_id`` when it is the store's only account.

    Runs in the caller's transaction (right after the account was created). With
    exactly one unowned athlete it becomes the account's own profile (unless the account
    has one already); with several, the account manages them all.
    """
    if conn.execute(select(func.count()).select_from(users)).scalar_one() != 1:
        return []
    rows = conn.execute(
        select(athletes.c.id, athletes.c.name).where(athletes.c.user_id.is_(None),
                                                     athletes.c.managed_by_user_id.is_(None))
        .order_by(athletes.c.created_at, athletes.c.id)
    ).all()
    if not rows:
        return []
    has_own = conn.execute(select(athletes.c.id).where(athletes.c.user_id == user_id)).first() is not None
    own = len(rows) == 1 and not has_own
    for r in rows:
        values = {"user_id": user_id} if own else {"managed_by_user_id": user_id}
        conn.execute(update(athletes).where(athletes.c.id == r.id).values(**values))
        audit.record(conn, actor, athlete_id=r.id, action="athlete.owner", at=at, user_id=user_id,
                     own=own, reason="first account of the store")
    return [Claimed(r.id, r.name, own) for r in rows]


def claim_for_first_account(ctx: Context, actor: Actor, user_id: str) -> list[Claimed]:
    """:func:`claim_unowned_if_first` in a transaction of its own (the operator's ``lydiard user create``)."""
    if not (actor.is_system or actor.is_admin):
        raise PermissionDeniedError("only an administrator may assign athletes")
    with translate_db_errors(), ctx.engine.begin() as conn:
        return claim_unowned_if_first(conn, actor, user_id, at=ctx.clock())


def owned_by(ctx: Context, user_id: str) -> list[Claimed]:
    """The athletes an account owns or manages (its own profile first)."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(
            select(athletes.c.id, athletes.c.name, athletes.c.user_id).where(
                (athletes.c.user_id == user_id)
                | ((athletes.c.managed_by_user_id == user_id) & athletes.c.user_id.is_(None)))
            .order_by(athletes.c.user_id.is_(None), athletes.c.name)
        ).all()
    return [Claimed(r.id, r.name, r.user_id == user_id) for r in rows]


def set_owner(ctx: Context, actor: Actor, athlete_id: str, email: str) -> Claimed:
    """Hand athlete ``athlete_id`` over to the account ``email`` (the operator or an admin only).

    The account becomes the athlete's own account when it has no athlete profile yet,
    and the athlete's manager otherwise. Existing coach links are kept.
    """
    from lydiard.services.users import normalise_email

    if not (actor.is_system or actor.is_admin):
        raise PermissionDeniedError("only an administrator may hand an athlete over")
    address = normalise_email(email)
    with translate_db_errors(), ctx.engine.begin() as conn:
        user = conn.execute(select(users.c.id).where(users.c.email == address)).first()
        if user is None:
            raise NotFoundError(f"no account with the email {address}: create it with `lydiard user create {address}`",
                                field="email")
        row = conn.execute(select(athletes.c.id, athletes.c.name, athletes.c.user_id)
                           .where(athletes.c.id == athlete_id)).first()
        if row is None:
            raise NotFoundError("no such athlete", field="athlete")
        other = conn.execute(select(athletes.c.id).where(athletes.c.user_id == user.id,
                                                         athletes.c.id != athlete_id)).first()
        own = other is None
        values = ({"user_id": user.id, "managed_by_user_id": None} if own
                  else {"user_id": None, "managed_by_user_id": user.id})
        conn.execute(update(athletes).where(athletes.c.id == athlete_id).values(**values))
        audit.record(conn, actor, athlete_id=athlete_id, action="athlete.owner", at=ctx.clock(), user_id=user.id,
                     own=own, previous_user_id=row.user_id)
    return Claimed(row.id, row.name, own)


__all__ = ["Claimed", "claim_for_first_account", "claim_unowned_if_first", "owned_by", "set_owner"]
