"""Security headers on every response: a strict CSP (no inline script or style), nosniff, no framing,
``Cache-Control: no-store`` on everything but static assets (pages and API answers carry health
data), and HSTS when served over https (``settings.https``)."""

from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'self'; form-action 'self'"
)
#: HSTS sent when ``settings.https`` (one year; ASVS 9.1.1, 14.4.5).
HSTS = (b"strict-transport-security", b"max-age=31536000; includeSubDomains")
#: Paths whose responses may be cached (versioned static assets, no personal data).
CACHEABLE_PREFIXES = ("/static/",)
#: Headers added to every response (no inline script or style anywhere).
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
)


class SecurityHeadersMiddleware:
    """Add :data:`SECURITY_HEADERS` to every HTTP response, ``no-store`` to every response outside
    :data:`CACHEABLE_PREFIXES` (replacing any weaker cache directive), and :data:`HSTS` when ``https``.
    """

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.extra = (HSTS,) if https else ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cacheable = str(scope.get("path", "")).startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                if not cacheable:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                present = {k.lower() for k, _ in headers}
                headers.extend((k, v) for k, v in (*SECURITY_HEADERS, *self.extra) if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class DeclaredSizeLimitMiddleware:
    """Limit request bodies to ``max_bytes``: a larger declared ``Content-Length`` is refused
    before anything is read; a body without one (chunked) is counted while it streams and
    refused (413, problem+json via the app's handler) as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope.get("headers", []):
                if key == b"content-length":
                    try:
                        declared = int(value)
                    except ValueError:
                        declared = -1
                    if declared > self.max_bytes or declared < 0:
                        await _problem_413(send, self.max_bytes)
                        return
            received = 0

            async def counting_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_bytes:
                        raise HTTPException(status_code=413, detail="the upload is larger than this server accepts")
                return message

            await self.app(scope, counting_receive, send)
            return
        await self.app(scope, receive, send)


async def _problem_413(send: Send, max_bytes: int) -> None:
    import json

    body = json.dumps({"type": "about:blank", "title": "Content too large", "status": 413,
                       "detail": f"the upload is larger than this server accepts ({max_bytes} bytes)",
                       "limit_bytes": max_bytes}).encode()
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), *SECURITY_HEADERS]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})
