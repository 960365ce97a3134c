"""Who is calling: session cookies, bearer tokens, CSRF, and the login/logout helpers.

* A browser holds ``lydiard_session`` (HttpOnly, SameSite=Lax, Path=/, Secure when
  ``settings.https``): a random token whose server-side session row also holds a CSRF token.
* Scripts send ``Authorization: Bearer lyd_...`` (a personal API token, scope read/write).
* Unsafe requests (POST, PUT, PATCH, DELETE) authenticated by the cookie must carry the
  session's CSRF token in the ``X-CSRF-Token`` header or the ``csrf_token`` form field.
  Bearer requests are exempt (browsers do not add that header by themselves). Any unsafe
  request whose ``Origin`` names another site is refused, which also stops login CSRF.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from fastapi import Request, Response

from lydiard.errors import AuthenticationError, PermissionDeniedError
from lydiard.services import tokens as token_svc
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.users import SessionInfo, UserInfo

SESSION_COOKIE = "lydiard_session"
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


def client_address(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


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
        cookie = request.cookies.get(SESSION_COOKIE)
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


def csrf_token_for(request: Request) -> str:
    """The CSRF token to embed in forms (``<input type=hidden name=csrf_token>``); "" when anonymous."""
    session = current_session(request)
    return session.csrf_token if session is not None else ""


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc.lower() == host.lower()


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
    if not user_svc.csrf_matches(session.csrf_token, given):
        raise PermissionDeniedError("missing or wrong CSRF token; reload the page and try again")


def _set_session_cookie(request: Request, response: Response, token: str) -> None:
    ctx = get_context(request)
    response.set_cookie(SESSION_COOKIE, token, max_age=None, path="/", httponly=True, samesite="lax",
                        secure=ctx.settings.https)


def login_response(request: Request, response: Response, *, email: str, password: str) -> user_svc.LoginResult:
    """Check the credentials, open a new session and set its cookie on ``response``.

    Raises :class:`AuthenticationError` (same message for an unknown email and a wrong
    password) or :class:`RateLimitedError`.
    """
    ctx = get_context(request)
    result = user_svc.login(ctx, email=email, password=password, address=client_address(request),
                            old_token=request.cookies.get(SESSION_COOKIE))
    _set_session_cookie(request, response, result.token)
    return result


def logout(request: Request, response: Response) -> None:
    """End the browser's session and clear its cookie."""
    ctx = get_context(request)
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        user_svc.logout(ctx, token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=ctx.settings.https)
