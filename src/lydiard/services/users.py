"""Accounts: users, passwords (argon2id), login sessions and the login rate limit.

Sessions are server-side rows in ``login_sessions``; the browser holds a random token
whose SHA-256 is the row's key, so a stolen database does not yield usable cookies.
Each session has its own CSRF token. A login always creates a new session (and deletes
the one the browser presented), logout deletes it, and a session idle for longer than
``settings.session_idle_s`` is refused and deleted.

A failed login is recorded per account (``acct:<email>``) and per address
(``addr:<ip>``); more than ``settings.login_attempts_per_15min`` failures in 15 minutes
for either key refuses further attempts with :class:`RateLimitedError`. Unknown email
and wrong password produce the same error, after the same amount of hashing work.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import importlib.resources
import itertools
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, and_, bindparam, delete, func, insert, select, update

from lydiard.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from lydiard.services.access import Actor
from lydiard.services.context import Context, new_id
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import api_tokens, login_attempts, login_sessions, users

MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024
RATE_WINDOW = timedelta(minutes=15)
#: ``last_seen_at`` is written at most this often (a write per request would serialise SQLite).
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
WRONG_CREDENTIALS = "email or password is wrong"
_EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s", "!": "i"})


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    email: str
    display_name: str
    is_admin: bool
    is_active: bool
    units: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class LoginResult:
    """A new session: ``token`` goes into the cookie and is never stored."""

    user: UserInfo
    token: str
    csrf_token: str


@dataclass(frozen=True, slots=True)
class SessionInfo:
    user: UserInfo
    csrf_token: str


def _hasher() -> PasswordHasher:
    return PasswordHasher()  # argon2id, RFC 9106 low-memory profile (t=3, m=64 MiB, p=4)


@functools.cache
def _dummy_hash() -> str:
    return _hasher().hash(secrets.token_hex(16))


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower case)."""
    text = importlib.resources.files("lydiard.services").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def sha256_hex(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not _EMAIL_RE.match(email):
        raise InvalidInputError("this is not a valid email address", field="email")
    return email


def _is_sequence(s: str) -> bool:
    if len(set(s)) <= 2:
        return True
    steps = {ord(b) - ord(a) for a, b in itertools.pairwise(s)}
    return steps <= {1} or steps <= {-1}


def check_password_policy(password: str, *, email: str = "", display_name: str = "") -> None:
    """Raise :class:`InvalidInputError` unless ``password`` is long and not guessable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password must have at least {MIN_PASSWORD_LENGTH} characters",
                                field="password")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidInputError(f"the password must have at most {MAX_PASSWORD_LENGTH} characters",
                                field="password")
    lower = password.lower()
    common = common_passwords()
    core = re.sub(r"^[\d\W_]+|[\d\W_]+$", "", lower)
    candidates = {lower, lower.translate(_LEET), core, core.translate(_LEET)}
    if any(c in common for c in candidates if len(c) >= 4) or lower in common:
        raise InvalidInputError("this password is too common; choose a longer phrase of your own",
                                field="password")
    if _is_sequence(lower):
        raise InvalidInputError("the password must not be a repeated character or a simple sequence",
                                field="password")
    names: set[str] = set()
    if email:
        local = email.split("@", 1)[0].lower()
        names.update(p for p in re.split(r"[._+\-]", local) if len(p) >= 3)
        if len(local) >= 3:
            names.add(local)
    if display_name:
        names.update(p.lower() for p in display_name.split() if len(p) >= 3)
    if any(n in lower and len(n) * 2 >= len(core or lower) for n in names) or (core and core in names):
        raise InvalidInputError("the password must not be based on your name or email", field="password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def _info(row: Any) -> UserInfo:
    return UserInfo(id=row.id, email=row.email, display_name=row.display_name, is_admin=bool(row.is_admin),
                    is_active=bool(row.is_active), units=row.units, created_at=row.created_at)


def actor_for(user: UserInfo, *, scope: str = "write") -> Actor:
    """The :class:`Actor` acting for ``user``."""
    return Actor(user_id=user.id, is_admin=user.is_admin, scope=scope)


def _require_admin(actor: Actor) -> None:
    if not (actor.is_system or actor.is_admin):
        raise PermissionDeniedError("only an administrator may manage accounts")


# ----------------------------------------------------------------------------- users

def create_user(
    ctx: Context, actor: Actor, *, email: str, password: str, display_name: str, is_admin: bool = False,
) -> UserInfo:
    """Create an account (the system actor, e.g. ``lydiard user create --admin``, or an admin)."""
    _require_admin(actor)
    email = normalise_email(email)
    display_name = display_name.strip()
    if not (1 <= len(display_name) <= 200):
        raise InvalidInputError("the display name must be 1-200 characters", field="display_name")
    check_password_policy(password, email=email, display_name=display_name)
    uid = new_id()
    pw_hash = hash_password(password)
    with translate_db_errors(), ctx.engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.email == email)).first() is not None:
            raise ConflictError("an account with this email exists already", field="email")
        conn.execute(insert(users).values(id=uid, email=email, display_name=display_name, password_hash=pw_hash,
                                          is_admin=is_admin, is_active=True, units="metric",
                                          created_at=ctx.clock()))
        _audit(conn, actor, ctx, action="user.create", user_id=uid, is_admin=is_admin)
        row = conn.execute(select(users).where(users.c.id == uid)).one()
    return _info(row)


def _audit(conn: Connection, actor: Actor, ctx: Context, *, action: str, **detail: Any) -> None:
    from lydiard.services import audit

    audit.record(conn, actor, athlete_id=None, action=action, at=ctx.clock(), **detail)


def get_user(ctx: Context, actor: Actor, user_id: str) -> UserInfo:
    """A user's account (oneself, or any for an admin)."""
    if actor.user_id != user_id:
        _require_admin(actor)
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user_id)).first()
    if row is None:
        raise NotFoundError("user not found", user_id=user_id)
    return _info(row)


def find_user_by_email(conn: Connection, email: str) -> UserInfo | None:
    """Look an active user up by email (no access check: callers decide what to reveal)."""
    row = conn.execute(select(users).where(users.c.email == email.strip().lower(),
                                           users.c.is_active.is_(True))).first()
    return _info(row) if row is not None else None


def list_users(ctx: Context, actor: Actor, *, limit: int = 100, offset: int = 0) -> list[UserInfo]:
    """Every account (admins only)."""
    _require_admin(actor)
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(users).order_by(users.c.created_at, users.c.id).limit(limit).offset(offset)).all()
    return [_info(r) for r in rows]


def set_user_active(ctx: Context, actor: Actor, user_id: str, *, active: bool) -> UserInfo:
    """Deactivate (ending every session and token) or reactivate an account (admins only)."""
    _require_admin(actor)
    if not active and actor.user_id == user_id:
        raise InvalidInputError("you cannot deactivate your own account", field="user_id")
    with translate_db_errors(), ctx.engine.begin() as conn:
        if conn.execute(update(users).where(users.c.id == user_id).values(is_active=active)).rowcount == 0:
            raise NotFoundError("user not found", user_id=user_id)
        if not active:
            conn.execute(delete(login_sessions).where(login_sessions.c.user_id == user_id))
            conn.execute(update(api_tokens).where(api_tokens.c.user_id == user_id, api_tokens.c.revoked_at.is_(None))
                         .values(revoked_at=ctx.clock()))
        _audit(conn, actor, ctx, action="user.activate" if active else "user.deactivate", user_id=user_id)
        row = conn.execute(select(users).where(users.c.id == user_id)).one()
    return _info(row)


def update_account(ctx: Context, actor: Actor, *, display_name: str | None = None,
                   units: str | None = None) -> UserInfo:
    """Change one's own display name or units."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    values: dict[str, Any] = {}
    if display_name is not None:
        if not (1 <= len(display_name.strip()) <= 200):
            raise InvalidInputError("the display name must be 1-200 characters", field="display_name")
        values["display_name"] = display_name.strip()
    if units is not None:
        if units not in ("metric", "imperial"):
            raise InvalidInputError("units must be 'metric' or 'imperial'", field="units")
        values["units"] = units
    with translate_db_errors(), ctx.engine.begin() as conn:
        if values:
            conn.execute(update(users).where(users.c.id == actor.user_id).values(**values))
        row = conn.execute(select(users).where(users.c.id == actor.user_id)).one()
    return _info(row)


def change_password(ctx: Context, actor: Actor, *, current_password: str, new_password: str,
                    keep_session_token: str | None = None) -> None:
    """Change one's password; every other session of the account ends."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == actor.user_id)).one()
    if not _verify(row.password_hash, current_password):
        raise AuthenticationError("the current password is wrong")
    check_password_policy(new_password, email=row.email, display_name=row.display_name)
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == actor.user_id).values(password_hash=hash_password(new_password)))
        q = delete(login_sessions).where(login_sessions.c.user_id == actor.user_id)
        if keep_session_token is not None:
            q = q.where(login_sessions.c.token_sha256 != sha256_hex(keep_session_token))
        conn.execute(q)
        _audit(conn, actor, ctx, action="user.password", user_id=actor.user_id)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ----------------------------------------------------------------------------- login

def _recent_failures(conn: Connection, key: str, since: datetime) -> tuple[int, datetime | None]:
    row = conn.execute(
        select(func.count(), func.min(login_attempts.c.at)).where(login_attempts.c.key == key,
                                                                  login_attempts.c.at > since)
    ).one()
    return int(row[0]), row[1]


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def login(ctx: Context, *, email: str, password: str, address: str, old_token: str | None = None) -> LoginResult:
    """Check the password and open a new session (the browser's previous one, if any, ends)."""
    now = ctx.clock()
    email_key = f"acct:{email.strip().lower()[:320]}"
    addr_key = f"addr:{address[:200]}"
    limit = ctx.settings.login_attempts_per_15min
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(delete(login_attempts).where(login_attempts.c.at <= now - RATE_WINDOW))
        for key in (email_key, addr_key):
            n, oldest = _recent_failures(conn, key, now - RATE_WINDOW)
            if n >= limit:
                wait_s = int((_aware(oldest) + RATE_WINDOW - now).total_seconds()) + 1 if oldest else 60
                raise RateLimitedError("too many failed logins; try again later", retry_after_s=max(wait_s, 1))
        row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    ok = _verify(row.password_hash if row is not None else _dummy_hash(), password)
    if row is None or not ok or not row.is_active:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(insert(login_attempts), [{"key": email_key, "at": now}, {"key": addr_key, "at": now}])
        raise AuthenticationError(WRONG_CREDENTIALS)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with translate_db_errors(), ctx.engine.begin() as conn:
        if old_token:
            conn.execute(delete(login_sessions).where(login_sessions.c.token_sha256 == sha256_hex(old_token)))
        conn.execute(delete(login_attempts).where(login_attempts.c.key == email_key))
        conn.execute(insert(login_sessions).values(token_sha256=sha256_hex(token), user_id=row.id, csrf_token=csrf,
                                                   created_at=now, last_seen_at=now))
        idle = timedelta(seconds=ctx.settings.session_idle_s)
        conn.execute(delete(login_sessions).where(login_sessions.c.user_id == row.id,
                                                  login_sessions.c.last_seen_at < now - idle))
        if _hasher().check_needs_rehash(row.password_hash):
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(password)))
    return LoginResult(user=_info(row), token=token, csrf_token=csrf)


#: Built once: every request resolves its session, and building the statement cost three times
#: more than running it.
_SESSION_QUERY = (
    select(login_sessions.c.last_seen_at, login_sessions.c.csrf_token, users)
    .join(users, users.c.id == login_sessions.c.user_id).where(login_sessions.c.token_sha256 == bindparam("key"))
)


def resolve_session(ctx: Context, token: str) -> SessionInfo | None:
    """The live session for a cookie token, or None (unknown, expired or the account is inactive)."""
    if not token or len(token) > 200:
        return None
    key = sha256_hex(token)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(_SESSION_QUERY, {"key": key}).first()
    if row is None:
        return None
    last_seen = _aware(row.last_seen_at)
    if now - last_seen > timedelta(seconds=ctx.settings.session_idle_s) or not row.is_active:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(delete(login_sessions).where(login_sessions.c.token_sha256 == key))
        return None
    if now - last_seen >= LAST_SEEN_RESOLUTION:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(update(login_sessions).where(login_sessions.c.token_sha256 == key).values(last_seen_at=now))
    return SessionInfo(user=_info(row), csrf_token=row.csrf_token)


def logout(ctx: Context, token: str) -> None:
    """End the session of ``token`` (unknown tokens are ignored)."""
    if not token:
        return
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(delete(login_sessions).where(login_sessions.c.token_sha256 == sha256_hex(token)))


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), (given or "").encode())


def count_sessions(ctx: Context, user_id: str) -> int:
    """How many sessions the user has open (for tests and the account page)."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(login_sessions)
                                .where(and_(login_sessions.c.user_id == user_id))).scalar_one())


def confirm_password(ctx: Context, actor: Actor, password: str) -> None:
    """Raise :class:`AuthenticationError` unless ``password`` is the actor's (before a destructive action)."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users.c.password_hash).where(users.c.id == actor.user_id)).first()
    if row is None or not _verify(row.password_hash, password):
        raise AuthenticationError("the password is wrong")


def reset_password(ctx: Context, actor: Actor, *, email: str, new_password: str) -> UserInfo:
    """Set an account's password without the current one (the operator's CLI or an admin).

    Every session of the account ends and its failed-login count is cleared, so a locked-out
    user can log in at once.
    """
    _require_admin(actor)
    address = normalise_email(email)
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == address)).first()
    if row is None:
        raise NotFoundError(f"no account with the email {address}", field="email")
    check_password_policy(new_password, email=row.email, display_name=row.display_name)
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=hash_password(new_password)))
        conn.execute(delete(login_sessions).where(login_sessions.c.user_id == row.id))
        conn.execute(delete(login_attempts).where(login_attempts.c.key == f"acct:{address}"))
        _audit(conn, actor, ctx, action="user.password_reset", user_id=row.id)
        row = conn.execute(select(users).where(users.c.id == row.id)).one()
    return _info(row)
