"""The server-rendered web pages (Jinja2 over the services), mounted on the app built by ``lydiard.interfaces.app``.

``mount(app)`` (called by the composition root, ``lydiard.interfaces.app``) adds the page
routes, the static files (``/static/*``: compressed once, served under content-hash URLs, see
:mod:`lydiard.interfaces.web.assets`), the API's Swagger UI page (``/api/docs``, from the
vendored ``swagger-ui-dist``: no CDN, no inline script), gzip for the HTML pages and the HTML
error renderer (a 401 on a page redirects to login).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.middleware.gzip import GZipMiddleware

from lydiard.interfaces.http.errors import Problem
from lydiard.interfaces.web import account_pages, plan_pages
from lydiard.interfaces.web.assets import StaticAssets
from lydiard.interfaces.web.pages import PageCache, build_router, login_redirect
from lydiard.interfaces.web.render import STATIC_DIR, Renderer

__all__ = ["mount"]

#: Responses smaller than this are not worth compressing (bytes).
GZIP_MIN_BYTES = 1000


def mount(app: FastAPI) -> None:
    """Add the pages, static files, API docs page and HTML error pages to ``app``."""
    assets = StaticAssets(STATIC_DIR)
    renderer = Renderer(assets)
    cache = PageCache()
    app.state.web_cache = cache
    app.state.static_assets = assets

    async def versioned_static(request: Request, digest: str, path: str) -> Response:
        return assets.response(request, path, digest)

    async def plain_static(request: Request, path: str) -> Response:
        return assets.response(request, path, None)

    app.add_api_route("/static/v/{digest}/{path:path}", versioned_static, methods=["GET", "HEAD"],
                      include_in_schema=False)
    app.add_api_route("/static/{path:path}", plain_static, methods=["GET", "HEAD"], include_in_schema=False)

    async def api_docs(request: Request) -> Response:
        html = renderer.fragment("api_docs.html", static_url=assets.url, openapi_url=app.openapi_url or "")
        return Response(html, media_type="text/html; charset=utf-8", headers={"cache-control": "no-cache"})

    if app.openapi_url:
        app.add_api_route("/api/docs", api_docs, methods=["GET"], include_in_schema=False)
    app.include_router(build_router(renderer, cache))
    app.include_router(account_pages.build_router(renderer))
    app.include_router(plan_pages.build_router(renderer))
    renderer.env.globals["has_plan"] = True

    def render_error(request: Request, problem: Problem) -> Response:
        if problem.status == 401:
            return login_redirect(request)
        return renderer.page(request, "error.html", status_code=problem.status, headers=problem.headers or None,
                             problem=problem)

    app.state.html_error_renderer = render_error
    # HTML and JSON answers compressed (static files and the Trends document come compressed already).
    app.add_middleware(GZipMiddleware, minimum_size=GZIP_MIN_BYTES, compresslevel=6)
