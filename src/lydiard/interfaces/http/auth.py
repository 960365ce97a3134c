"""Who is calling: session cookies, bearer tokens, the request policy, CSRF, and login/logout.

* A browser holds ``lydiard_session`` (HttpOnly, SameSite=Lax, Path=/; with ``settings.https``
  it is ``__Host-lydiard_session`` and Secure): a random token whose server-side session row
  also holds a CSRF token.
* Scripts send ``Authorization: Bearer lyd_...`` (a personal API token, scope read/write).
* Unsafe requests (POST, PUT, PATCH, DELETE) authenticated by the cookie must carry the
  session's CSRF token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field.
  Bearer requests are exempt (browsers do not add that header by themselves). Any unsafe
  request whose ``Origin`` names another site is refused, which also stops login CSRF.

:func:`enforce_request_policy` is THE one place, run before every route, where these rules
hold for every route alike (a new route cannot forget them):

1. an anonymous caller of ``/api/*`` gets 401 (except logging in and out);
2. a read-scope token changes nothing (any unsafe method, its own account included: 403);
3. account actions (``/api/v1/auth/*`` and ``/api/v1/admin/*`` changes: password, tokens,
   sessions, profile, deletion) need a browser session, never a token (403); the sensitive
   ones (password, tokens, deletion) also confirm the current password in their service;
4. every string of a JSON or form body is valid Unicode (a lone UTF-16 surrogate is a 422);
5. cross-site requests and cookie requests without the CSRF token are refused (403).

Pages embed the CSRF token **masked**: a fresh random pad per response, ``pad || token XOR
pad`` (base64url), so no secret byte repeats between responses and the compressed size of a
page reveals nothing about the token (the BREACH attack on HTTP compression, Gluck, Harris &
Prado 2013; the same defence as Django's and Rails' masked tokens). The check accepts the
masked form and the plain token that the login API returns to scripts.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import itertools
import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from starlette.concurrency import run_in_threadpool

from lydiard.errors import AuthenticationError, InvalidInputError, PermissionDeniedError
from lydiard.services import tokens as token_svc
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.users import SessionInfo, UserInfo

SESSION_COOKIE = "lydiard_session"
#: The cookie's name behind https: ``__Host-`` binds it to this host, path / and Secure.
SECURE_SESSION_COOKIE = "__Host-lydiard_session"
#: API routes an anonymous caller may use.
PUBLIC_API_PATHS = frozenset({"/api/v1/auth/login", "/api/v1/auth/logout"})
#: Unsafe requests under these prefixes change an account: a browser session only, never a token.
SESSION_ONLY_PREFIXES = ("/api/v1/auth/", "/api/v1/admin/")
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
_STATE_ACTOR = "lydiard_actor"
_STATE_SESSION = "lydiard_session"
_STATE_KIND = "lydiard_auth_kind"


def get_context(request: Request) -> Context:
    """The service context opened by ``create_app``."""
    ctx = request.app.state.ctx
    assert isinstance(ctx, Context)
    return ctx


def session_cookie_name(request: Request) -> str:
    """``__Host-lydiard_session`` behind https, ``lydiard_session`` otherwise."""
    return SECURE_SESSION_COOKIE if get_context(request).settings.https else SESSION_COOKIE


def session_token(request: Request) -> str | None:
    """The session token the browser sent, if any."""
    return request.cookies.get(session_cookie_name(request))


def client_address(request: Request) -> str:
    """The client's address: the TCP peer, or, when the peer is one of ``settings.trusted_proxies``,
    the right-most address of ``X-Forwarded-For`` that is not itself a trusted proxy.

    Only trusted proxies are believed: anyone can send the header (ASVS 2.2.1 throttling keys on this).
    """
    peer = request.client.host if request.client is not None else "unknown"
    trusted = get_context(request).settings.trusted_proxy_networks
    if not trusted or not _in(peer, trusted):
        return peer
    hops = [h.strip() for h in ",".join(request.headers.getlist("x-forwarded-for")).split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted):
            return hop[:100]
    return peer


def _in(address: str, networks: tuple[Any, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in n for n in networks)


def _resolve(request: Request) -> None:
    if hasattr(request.state, _STATE_ACTOR):
        return
    ctx = get_context(request)
    actor = Actor.anonymous()
    session: SessionInfo | None = None
    kind = "anonymous"
    auth = request.headers.get("authorization")
    if auth is not None:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("use 'Authorization: Bearer <token>'")
        actor = token_svc.actor_for_token(ctx, token.strip())
        kind = "bearer"
    else:
        cookie = session_token(request)
        if cookie:
            session = user_svc.resolve_session(ctx, cookie)
            if session is not None:
                actor = user_svc.actor_for(session.user)
                kind = "session"
    setattr(request.state, _STATE_ACTOR, actor)
    setattr(request.state, _STATE_SESSION, session)
    setattr(request.state, _STATE_KIND, kind)


def current_actor(request: Request) -> Actor:
    """The caller: a logged-in user, a token's user, or ``Actor.anonymous()``."""
    _resolve(request)
    actor = getattr(request.state, _STATE_ACTOR)
    assert isinstance(actor, Actor)
    return actor


def current_session(request: Request) -> SessionInfo | None:
    """The browser session (None for bearer tokens and anonymous callers)."""
    _resolve(request)
    session = getattr(request.state, _STATE_SESSION)
    assert session is None or isinstance(session, SessionInfo)
    return session


def current_user(request: Request) -> UserInfo | None:
    """The logged-in user of a browser session (for page headers), or None."""
    session = current_session(request)
    return session.user if session is not None else None


def require_user(request: Request) -> Actor:
    """The caller, who must be logged in (401 otherwise)."""
    actor = current_actor(request)
    if actor.user_id is None:
        raise AuthenticationError("log in first")
    return actor


def auth_kind(request: Request) -> str:
    """How the caller authenticated: "session", "bearer" or "anonymous"."""
    _resolve(request)
    kind = getattr(request.state, _STATE_KIND)
    assert isinstance(kind, str)
    return kind


def require_session(request: Request) -> Actor:
    """The caller, who must be logged in with a browser session (not a token)."""
    actor = require_user(request)
    if auth_kind(request) != "session":
        raise PermissionDeniedError("this needs a browser session; API tokens cannot do it")
    return actor


def csrf_token_for(request: Request) -> str:
    """The CSRF token to embed in this response's forms (``<input type=hidden name=csrf_token>``),
    masked afresh (see the module doc); "" when anonymous."""
    session = current_session(request)
    return mask_csrf(session.csrf_token, _pads(request)) if session is not None else ""


class CsrfPads:
    """One-time pads for masking CSRF tokens: BLAKE2b keyed with a random per-application key over
    a counter (a pseudo-random function: unpredictable without the key, never the same twice).

    Not ``os.urandom`` per page: it releases the GIL around its system call, and under
    concurrent requests the page then waits to get it back (measured with py-spy on the
    Trends page under 4 clients: about a third of the page's samples).
    """

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)
        self._counter = itertools.count()

    def pad(self, size: int) -> bytes:
        """``size`` fresh pseudo-random bytes."""
        out = b""
        while len(out) < size:
            block = next(self._counter).to_bytes(16, "big")
            out += hashlib.blake2b(block, key=self._key, digest_size=64).digest()
        return out[:size]


def _pads(request: Request) -> CsrfPads:
    pads = getattr(request.app.state, "csrf_pads", None)
    if not isinstance(pads, CsrfPads):
        pads = request.app.state.csrf_pads = CsrfPads()
    return pads


def mask_csrf(token: str, pads: CsrfPads) -> str:
    """``token`` under a one-time pad: base64url of ``pad || (token XOR pad)``, different every call."""
    raw = token.encode()
    pad = pads.pad(len(raw))
    return base64.urlsafe_b64encode(pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))).decode().rstrip("=")


def unmask_csrf(given: str) -> str | None:
    """The token inside a masked value, or None when ``given`` is not one (wrong alphabet or length)."""
    try:
        data = base64.urlsafe_b64decode(given + "=" * (-len(given) % 4))
    except (binascii.Error, ValueError):
        return None
    if not data or len(data) % 2:
        return None
    half = len(data) // 2
    try:
        return bytes(a ^ b for a, b in zip(data[:half], data[half:], strict=True)).decode("ascii")
    except UnicodeDecodeError:
        return None


def same_csrf(a: str, b: str) -> bool:
    """Whether two CSRF values (each plain or masked) carry the same token."""
    def plain(v: str) -> str | None:  # a session's token is 43 characters; a masked one 115
        return unmask_csrf(v) if len(v) > 64 else v
    pa, pb = plain(a), plain(b)
    return pa is not None and pb is not None and user_svc.csrf_matches(pa, pb)


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


def _has_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, dict):
        return any(_has_surrogate(k) or _has_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_surrogate(v) for v in value)
    return False


async def _check_strings(request: Request) -> None:
    """Every string of the body is valid Unicode (JSON escapes can encode a lone surrogate)."""
    ctype = request.headers.get("content-type", "")
    bad = False
    if ctype.startswith("application/json"):
        body = await request.body()
        try:
            bad = _has_surrogate(json.loads(body)) if body else False
        except ValueError:
            return  # malformed JSON: the route's own validation says so
    elif ctype.startswith("application/x-www-form-urlencoded"):
        form = await request.form()
        bad = any(_has_surrogate(v) for v in form.values() if isinstance(v, str))
    if bad or _has_surrogate(dict(request.query_params)):
        raise InvalidInputError("text must be valid Unicode (a lone UTF-16 surrogate is not)", field="body")


async def enforce_request_policy(request: Request) -> None:
    """The rules every route obeys, checked in one place before any route runs (see the module doc)."""
    if not hasattr(request.state, _STATE_ACTOR):
        # Resolving reads the session or token row and may write its last-seen time: database
        # work that must not hold the event loop (a write waiting on SQLite's lock, or a
        # PostgreSQL that is slow to answer, would stall every other request). Later
        # ``_resolve`` calls read the request state.
        await run_in_threadpool(_resolve, request)
    path = request.url.path
    kind = getattr(request.state, _STATE_KIND)
    if path.startswith("/api/") and kind == "anonymous" and path not in PUBLIC_API_PATHS:
        raise AuthenticationError("log in, or send 'Authorization: Bearer <token>'")
    if request.method in SAFE_METHODS:
        return
    if kind == "bearer":
        actor = getattr(request.state, _STATE_ACTOR)
        if actor.scope != "write":
            raise PermissionDeniedError("this API token is read-only", scope=actor.scope)
        if path.startswith(SESSION_ONLY_PREFIXES):
            raise PermissionDeniedError("account changes need a browser session; API tokens cannot make them")
    await _check_strings(request)
    await csrf_protect(request)


async def csrf_protect(request: Request) -> None:
    """Refuse cross-site unsafe requests and cookie-authenticated ones without the CSRF token."""
    if request.method in SAFE_METHODS:
        return
    _resolve(request)
    if getattr(request.state, _STATE_KIND) == "bearer":
        return
    if not _same_origin(request):
        raise PermissionDeniedError("cross-site request refused")
    session = current_session(request)
    if session is None:
        return  # anonymous: nothing to ride on (login itself is covered by the Origin check)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not given or not same_csrf(session.csrf_token, given):
        raise PermissionDeniedError("missing or wrong CSRF token; reload the page and try again")


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    ctx = get_context(request)
    response.set_cookie(session_cookie_name(request), token, max_age=None, path="/", httponly=True, samesite="lax",
                        secure=ctx.settings.https)


def login_response(request: Request, response: Response, *, email: str, password: str) -> user_svc.LoginResult:
    """Check the credentials, open a new session and set its cookie on ``response``.

    Raises :class:`AuthenticationError` (same message for an unknown email and a wrong
    password) or :class:`RateLimitedError`.
    """
    ctx = get_context(request)
    result = user_svc.login(ctx, email=email, password=password, address=client_address(request),
                            old_token=session_token(request), user_agent=request.headers.get("user-agent"))
    _set_session_cookie(request, response, result.token)
    return result


def logout(request: Request, response: Response) -> None:
    """End the browser's session and clear its cookie."""
    ctx = get_context(request)
    token = session_token(request)
    if token:
        user_svc.logout(ctx, token)
    response.delete_cookie(session_cookie_name(request), path="/", httponly=True, samesite="lax",
                           secure=ctx.settings.https)
