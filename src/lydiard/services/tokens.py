"""Personal API tokens: shown once at creation, kept only as a SHA-256, scoped ``read`` or ``write``.

A token expires (``settings.token_default_days`` unless asked otherwise, at most
``settings.token_max_days``), is listed with its last use, and is revoked when the account's
password changes. Creating one needs the account's current password (the HTTP layer also
requires a browser session: tokens cannot mint tokens).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, update

from lydiard.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from lydiard.services.access import Actor
from lydiard.services.context import Context, new_id
from lydiard.services.users import (
    LAST_SEEN_RESOLUTION,
    _aware,
    _info,
    actor_for,
    confirm_password,
    sha256_hex,
)
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import api_tokens, users

TOKEN_PREFIX = "lyd_"
SCOPES = ("read", "write")


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: str
    name: str
    scope: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class NewToken:
    """A freshly created token: ``token`` is shown once and never stored."""

    info: TokenInfo
    token: str


def _expires_at(ctx: Context, row: Any) -> datetime:
    if row.expires_at is not None:
        return _aware(row.expires_at)
    return _aware(row.created_at) + timedelta(days=ctx.settings.token_default_days)


def _tinfo(ctx: Context, row: Any) -> TokenInfo:
    return TokenInfo(id=row.id, name=row.name, scope=row.scope, created_at=row.created_at,
                     last_used_at=row.last_used_at, revoked_at=row.revoked_at, expires_at=_expires_at(ctx, row))


def _audit_token(conn: Any, ctx: Context, actor: Actor, action: str, token_id: str, **detail: Any) -> None:
    from lydiard.services import audit

    audit.record(conn, actor, athlete_id=None, action=action, at=ctx.clock(), token_id=token_id, **detail)


def _user_id(actor: Actor) -> str:
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    return actor.user_id


def create_token(ctx: Context, actor: Actor, *, name: str, scope: str, password: str,
                 expires_in_days: int | None = None) -> NewToken:
    """Create a personal API token for the actor's own account, confirming its current ``password``."""
    uid = _user_id(actor)
    if actor.scope != "write":
        raise PermissionDeniedError("API tokens cannot create API tokens; log in with a password")
    if scope not in SCOPES:
        raise InvalidInputError("scope must be 'read' or 'write'", field="scope")
    name = name.strip()
    if not (1 <= len(name) <= 100):
        raise InvalidInputError("the token name must be 1-100 characters", field="name")
    days = ctx.settings.token_default_days if expires_in_days is None else expires_in_days
    if not (1 <= days <= ctx.settings.token_max_days):
        raise InvalidInputError(f"a token lives 1-{ctx.settings.token_max_days} days", field="expires_in_days")
    confirm_password(ctx, actor, password)
    now = ctx.clock()
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tid = new_id()
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(insert(api_tokens).values(id=tid, user_id=uid, name=name, token_sha256=sha256_hex(token),
                                               scope=scope, created_at=now, expires_at=now + timedelta(days=days)))
        _audit_token(conn, ctx, actor, "token.create", tid, scope=scope, days=days)
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == tid)).one()
    return NewToken(info=_tinfo(ctx, row), token=token)


def list_tokens(ctx: Context, actor: Actor) -> list[TokenInfo]:
    """The actor's own tokens (without their secret)."""
    uid = _user_id(actor)
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(api_tokens).where(api_tokens.c.user_id == uid)
                            .order_by(api_tokens.c.created_at, api_tokens.c.id)).all()
    return [_tinfo(ctx, r) for r in rows]


def revoke_token(ctx: Context, actor: Actor, token_id: str) -> TokenInfo:
    """Revoke one of the actor's tokens; it is refused from now on."""
    uid = _user_id(actor)
    if actor.scope != "write":
        raise PermissionDeniedError("a read-only token cannot revoke tokens")
    with translate_db_errors(), ctx.engine.begin() as conn:
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id, api_tokens.c.user_id == uid)).first()
        if row is None:
            raise NotFoundError("token not found", token_id=token_id)
        if row.revoked_at is None:
            conn.execute(update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=ctx.clock()))
            _audit_token(conn, ctx, actor, "token.revoke", token_id)
        row = conn.execute(select(api_tokens).where(api_tokens.c.id == token_id)).one()
    return _tinfo(ctx, row)


def actor_for_token(ctx: Context, token: str) -> Actor:
    """The actor a bearer token acts for; :class:`AuthenticationError` if unknown, revoked or inactive."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise AuthenticationError("invalid API token")
    key = sha256_hex(token)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(
            select(api_tokens.c.id.label("token_id"), api_tokens.c.scope, api_tokens.c.revoked_at,
                   api_tokens.c.last_used_at, api_tokens.c.expires_at, api_tokens.c.created_at.label("token_created_at"),
                   users)
            .join(users, users.c.id == api_tokens.c.user_id).where(api_tokens.c.token_sha256 == key)
        ).first()
    if row is None or row.revoked_at is not None or not row.is_active:
        raise AuthenticationError("invalid API token")
    expires = (_aware(row.expires_at) if row.expires_at is not None
               else _aware(row.token_created_at) + timedelta(days=ctx.settings.token_default_days))
    if now >= expires:
        raise AuthenticationError("this API token has expired; create a new one")
    if row.last_used_at is None or now - _aware(row.last_used_at) >= LAST_SEEN_RESOLUTION:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(update(api_tokens).where(api_tokens.c.id == row.token_id).values(last_used_at=now))
    return actor_for(_info(row), scope=row.scope)
