"""THE one place where errors become HTTP statuses, rendered as ``application/problem+json``.

``/api/*`` requests (and any request when no HTML renderer is registered, or that does
not accept HTML) get RFC 9457 problem details. For HTML pages the web package registers
``app.state.html_error_renderer(request, problem) -> Response``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from lydiard.errors import (
    AuthenticationError,
    ConflictError,
    IngestError,
    InsufficientDataError,
    InvalidInputError,
    LydiardError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    StorageUnavailableError,
    UnsafeInputError,
    WorkStoppedError,
)
from lydiard.interfaces.http.security import SECURITY_HEADERS

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

#: Error class → (HTTP status, short title). The first matching class (most specific first) wins.
STATUS_BY_ERROR: tuple[tuple[type[LydiardError], int, str], ...] = (
    (UnsafeInputError, 413, "Input refused"),
    (IngestError, 422, "File could not be read"),
    (InvalidInputError, 422, "Invalid input"),
    (NotFoundError, 404, "Not found"),
    (PermissionDeniedError, 403, "Forbidden"),
    (AuthenticationError, 401, "Authentication required"),
    (ConflictError, 409, "Conflict"),
    (RateLimitedError, 429, "Too many requests"),
    (WorkStoppedError, 422, "Processing stopped"),
    (StorageUnavailableError, 503, "Service unavailable"),
    (InsufficientDataError, 422, "Not enough data"),
    (LydiardError, 400, "Bad request"),
)

#: Context keys that may be shown to the caller (never paths, SQL or internal state).
SAFE_CONTEXT_KEYS = frozenset({"field", "retry_after_s", "day", "kind", "scope", "limit_bytes", "source", "reason",
                               "run_id", "budget_s"})


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem, ready to render as JSON or HTML."""

    status: int
    title: str
    detail: str
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"type": "about:blank", "title": self.title, "status": self.status, "detail": self.detail,
                **self.extra}


HtmlErrorRenderer = Callable[[Request, Problem], Response]


def status_for(exc: LydiardError) -> tuple[int, str]:
    """The HTTP status and title for a Lydiard error."""
    for cls, status, title in STATUS_BY_ERROR:
        if isinstance(exc, cls):
            return status, title
    return 400, "Bad request"  # pragma: no cover - LydiardError is the last row


def problem_for(exc: LydiardError) -> Problem:
    status, title = status_for(exc)
    extra = {k: v for k, v in exc.context.items()
             if k in SAFE_CONTEXT_KEYS and v is not None and isinstance(v, str | int | float | bool)}
    if isinstance(exc, IngestError):
        extra["source"] = exc.source.rsplit("/", 1)[-1]  # a name, never a server path
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitedError | StorageUnavailableError):
        headers["Retry-After"] = str(max(1, int(exc.retry_after_s)))
    if isinstance(exc, AuthenticationError):
        headers["WWW-Authenticate"] = 'Bearer realm="lydiard"'
    return Problem(status=status, title=title, detail=exc.message, extra=extra, headers=headers)


def wants_problem_json(request: Request) -> bool:
    """True for API requests and for clients that do not ask for HTML."""
    if request.url.path.startswith("/api/"):
        return True
    if getattr(request.app.state, "html_error_renderer", None) is None:
        return True
    return "text/html" not in request.headers.get("accept", "")


def render_problem(request: Request, problem: Problem) -> Response:
    """Problem details for API clients; the web package's renderer for pages."""
    renderer: HtmlErrorRenderer | None = getattr(request.app.state, "html_error_renderer", None)
    if renderer is not None and not wants_problem_json(request):
        return renderer(request, problem)
    return JSONResponse(problem.body(), status_code=problem.status, headers=problem.headers,
                        media_type=PROBLEM_JSON)


async def _lydiard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LydiardError)
    problem = problem_for(exc)
    if problem.status >= 500:
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    return render_problem(request, problem)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large", 401: "Authentication required",
              403: "Forbidden"}
    detail = exc.detail if isinstance(exc.detail, str) else "request refused"
    if exc.status_code == 413:
        detail = "the upload is larger than this server accepts"
    return render_problem(request, Problem(status=exc.status_code, title=titles.get(exc.status_code, "Error"),
                                           detail=detail, headers=dict(exc.headers or {})))


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": ".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path")),
         "message": str(e.get("msg", ""))}
        for e in exc.errors()
    ]
    detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return render_problem(request, Problem(status=422, title="Invalid input", detail=detail or "invalid input",
                                           extra={"errors": errors}))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    # ServerErrorMiddleware sends this outside the middleware stack: add the security headers here.
    headers = {k.decode(): v.decode() for k, v in SECURITY_HEADERS}
    return render_problem(request, Problem(status=500, title="Internal error",
                                           detail="something went wrong on the server; it has been logged",
                                           headers=headers))


def install_error_handlers(app: FastAPI) -> None:
    """Register every error handler of the application."""
    app.add_exception_handler(LydiardError, _lydiard_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
