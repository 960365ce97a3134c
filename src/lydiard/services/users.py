"""Accounts: users, passwords (argon2id), login sessions and the login rate limit.

Sessions are server-side rows in ``login_sessions``; the browser holds a random token
whose SHA-256 is the row's key, so a stolen database does not yield usable cookies.
Each session has its own CSRF token. A login always creates a new session (and deletes
the one the browser presented), logout deletes it, and a session idle for longer than
``settings.session_idle_s`` is refused and deleted.

Login throttling (ASVS 2.2.1) is a counter per *account and client address*
(``acct:<email>|<address>``, ``settings.login_attempts_per_15min``) and one per *client
address* (``addr:<address>``, ``settings.login_attempts_per_address_15min``), each bumped
atomically in the database (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) *before*
the password is checked: a burst of parallel attempts cannot pass the limit, and an attempt
over it costs no hashing. Failures from one address never lock the owner out from another
(a correct password from a client with no recent failures passes); a success clears its
account+address counter. Every argon2id hashing or verification waits for one of
``settings.password_check_concurrency`` slots (:attr:`Context.password_slots`), so a burst
cannot exhaust memory. Unknown email and wrong password produce the same error, after the
same amount of hashing work.

Changing the password ends every other session and revokes every API token of the account.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.resources
import itertools
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import Connection, and_, bindparam, case, delete, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from lydiard.errors import (
    AuthenticationError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
)
from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.context import Context, new_id
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import api_tokens, login_counters, login_sessions, users

MIN_PASSWORD_LENGTH = 12  #: ASVS 2.1.1
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
    id: str = ""  #: the session's public id (a hash of its key; never the cookie)


@dataclass(frozen=True, slots=True)
class SessionEntry:
    """One of the user's open sessions, for the list of sessions (never the cookie)."""

    id: str
    created_at: datetime
    last_seen_at: datetime
    user_agent: str | None
    address: str | None
    current: bool


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
    """The argon2id hash of ``password`` (callers serving requests hold a :func:`password_slot`)."""
    return _hasher().hash(password)


#: How long a request waits for a free password slot before it is told to retry, in seconds.
PASSWORD_SLOT_WAIT_S = 20.0


@contextlib.contextmanager
def password_slot(ctx: Context) -> Iterator[None]:
    """Hold one of the ``settings.password_check_concurrency`` argon2 slots (64 MiB each)."""
    if not ctx.password_slots.acquire(timeout=PASSWORD_SLOT_WAIT_S):
        raise RateLimitedError("the server is busy checking passwords; try again shortly", retry_after_s=5)
    try:
        yield
    finally:
        ctx.password_slots.release()


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
    with password_slot(ctx):
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
                    keep_session_token: str | None = None) -> int:
    """Change one's password; every other session ends and every API token is revoked.

    Returns how many tokens were revoked.
    """
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == actor.user_id)).one()
    with password_slot(ctx):
        ok = _verify(row.password_hash, current_password)
    if not ok:
        raise AuthenticationError("the current password is wrong")
    check_password_policy(new_password, email=row.email, display_name=row.display_name)
    with password_slot(ctx):
        new_hash = hash_password(new_password)
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == actor.user_id).values(password_hash=new_hash))
        q = delete(login_sessions).where(login_sessions.c.user_id == actor.user_id)
        if keep_session_token is not None:
            q = q.where(login_sessions.c.token_sha256 != sha256_hex(keep_session_token))
        conn.execute(q)
        revoked = conn.execute(update(api_tokens).where(api_tokens.c.user_id == actor.user_id,
                                                        api_tokens.c.revoked_at.is_(None))
                               .values(revoked_at=now)).rowcount
        _audit(conn, actor, ctx, action="user.password", user_id=actor.user_id, tokens_revoked=revoked)
    return int(revoked)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# ----------------------------------------------------------------------------- login

def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _bump(conn: Connection, key: str, now: datetime) -> tuple[int, datetime]:
    """Count one attempt under ``key`` atomically; returns (attempts in the window, window start).

    One statement (``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``, SQLite ≥ 3.35 and
    PostgreSQL): concurrent attempts each see their own count, so no burst passes the limit.
    A window older than :data:`RATE_WINDOW` restarts at 1.
    """
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stale = login_counters.c.window_start <= now - RATE_WINDOW
    stmt = dialect.insert(login_counters).values(key=key, window_start=now, attempts=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[login_counters.c.key],
        set_={"attempts": case((stale, 1), else_=login_counters.c.attempts + 1),
              "window_start": case((stale, now), else_=login_counters.c.window_start)},
    ).returning(login_counters.c.attempts, login_counters.c.window_start)
    row = conn.execute(stmt).one()
    return int(row.attempts), _aware(row.window_start)


def throttle_keys(email: str, address: str) -> tuple[str, str]:
    """The counter keys of a login attempt: (account at this address, this address)."""
    addr = address[:100]
    return f"acct:{email.strip().lower()[:290]}|{addr}", f"addr:{addr}"


def login(ctx: Context, *, email: str, password: str, address: str, old_token: str | None = None,
          user_agent: str | None = None) -> LoginResult:
    """Check the password and open a new session (the browser's previous one, if any, ends).

    Raises :class:`RateLimitedError` when this address has tried this account, or any
    accounts, too often in the last 15 minutes (the attempt is counted before the password
    is checked), and :class:`AuthenticationError` for a wrong email or password.
    """
    now = ctx.clock()
    acct_key, addr_key = throttle_keys(email, address)
    limits = {acct_key: ctx.settings.login_attempts_per_15min, addr_key: ctx.settings.login_attempts_per_address_15min}
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(delete(login_counters).where(login_counters.c.window_start <= now - RATE_WINDOW))
        counts = {key: _bump(conn, key, now) for key in limits}
    for key, (n, start) in counts.items():
        if n > limits[key]:
            wait_s = int((start + RATE_WINDOW - now).total_seconds()) + 1
            raise RateLimitedError("too many failed logins; try again later", retry_after_s=max(wait_s, 1))
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == email.strip().lower())).first()
    with password_slot(ctx):
        ok = _verify(row.password_hash if row is not None else _dummy_hash(), password)
    if row is None or not ok or not row.is_active:
        raise AuthenticationError(WRONG_CREDENTIALS)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    new_hash = None
    if _hasher().check_needs_rehash(row.password_hash):
        with password_slot(ctx):
            new_hash = hash_password(password)
    with translate_db_errors(), ctx.engine.begin() as conn:
        if old_token:
            conn.execute(delete(login_sessions).where(login_sessions.c.token_sha256 == sha256_hex(old_token)))
        # a success clears this client's count for the account and does not use up the address's
        conn.execute(delete(login_counters).where(login_counters.c.key == acct_key))
        conn.execute(update(login_counters).where(login_counters.c.key == addr_key, login_counters.c.attempts > 0)
                     .values(attempts=login_counters.c.attempts - 1))
        conn.execute(insert(login_sessions).values(token_sha256=sha256_hex(token), user_id=row.id, csrf_token=csrf,
                                                   created_at=now, last_seen_at=now,
                                                   user_agent=(user_agent or "")[:200] or None,
                                                   address=address[:100]))
        idle = timedelta(seconds=ctx.settings.session_idle_s)
        conn.execute(delete(login_sessions).where(login_sessions.c.user_id == row.id,
                                                  login_sessions.c.last_seen_at < now - idle))
        if new_hash is not None:
            conn.execute(update(users).where(users.c.id == row.id).values(password_hash=new_hash))
    return LoginResult(user=_info(row), token=token, csrf_token=csrf)


#: Built once: every request resolves its session, and building the statement cost three times
#: more than running it.
_SESSION_QUERY = (
    select(login_sessions.c.last_seen_at, login_sessions.c.csrf_token, login_sessions.c.token_sha256, users)
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
    return SessionInfo(user=_info(row), csrf_token=row.csrf_token, id=session_public_id(row.token_sha256))


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
    """Raise :class:`AuthenticationError` unless ``password`` is the actor's (before a sensitive action)."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users.c.password_hash).where(users.c.id == actor.user_id)).first()
    with password_slot(ctx):
        ok = row is not None and _verify(row.password_hash, password)
    if not ok:
        raise AuthenticationError("the password is wrong")


# ----------------------------------------------------------------------------- sessions

def session_public_id(token_sha256: str) -> str:
    """A session's id in lists and URLs: a hash of the stored key (which is itself a hash of the cookie)."""
    return hashlib.sha256(("session:" + token_sha256).encode()).hexdigest()[:32]


def list_sessions(ctx: Context, actor: Actor, *, current_id: str = "") -> list[SessionEntry]:
    """The actor's open sessions, most recently used first (``current_id``: the caller's own)."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(login_sessions).where(login_sessions.c.user_id == actor.user_id)
                            .order_by(login_sessions.c.last_seen_at.desc())).all()
    out = []
    for r in rows:
        sid = session_public_id(r.token_sha256)
        out.append(SessionEntry(id=sid, created_at=r.created_at, last_seen_at=r.last_seen_at,
                                user_agent=r.user_agent, address=r.address, current=sid == current_id))
    return out


def end_session(ctx: Context, actor: Actor, session_id: str) -> None:
    """End one of the actor's sessions (:class:`NotFoundError` for any other id)."""
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    if actor.scope != "write":
        raise PermissionDeniedError("a read-only token cannot end sessions")
    with translate_db_errors(), ctx.engine.begin() as conn:
        keys = conn.execute(select(login_sessions.c.token_sha256)
                            .where(login_sessions.c.user_id == actor.user_id)).scalars().all()
        match = [k for k in keys if session_public_id(k) == session_id]
        if not match:
            raise NotFoundError("session not found", session_id=session_id)
        conn.execute(delete(login_sessions).where(login_sessions.c.token_sha256 == match[0]))
        _audit(conn, actor, ctx, action="user.session_end", user_id=actor.user_id)


def reset_password(ctx: Context, actor: Actor, *, email: str, new_password: str) -> UserInfo:
    """Set an account's password without the current one (the operator's CLI or an admin).

    Every session of the account ends, every API token is revoked (as on a password change) and
    its failed-login counters are cleared, so a locked-out user can log in at once.
    """
    _require_admin(actor)
    address = normalise_email(email)
    with translate_db_errors(), ctx.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.email == address)).first()
    if row is None:
        raise NotFoundError(f"no account with the email {address}", field="email")
    check_password_policy(new_password, email=row.email, display_name=row.display_name)
    with password_slot(ctx):
        new_hash = hash_password(new_password)
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(update(users).where(users.c.id == row.id).values(password_hash=new_hash))
        conn.execute(delete(login_sessions).where(login_sessions.c.user_id == row.id))
        revoked = conn.execute(update(api_tokens).where(api_tokens.c.user_id == row.id,
                                                        api_tokens.c.revoked_at.is_(None))
                               .values(revoked_at=ctx.clock())).rowcount
        conn.execute(delete(login_counters).where(login_counters.c.key.startswith(f"acct:{address}|")))
        _audit(conn, actor, ctx, action="user.password_reset", user_id=row.id, tokens_revoked=revoked)
        row = conn.execute(select(users).where(users.c.id == row.id)).one()
    return _info(row)
