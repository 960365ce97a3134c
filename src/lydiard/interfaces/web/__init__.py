"""The server-rendered web pages (Jinja2 over the services), mounted on the app built by ``lydiard.interfaces.app``.

``mount(app)`` (called by the composition root, ``lydiard.interfaces.app``) adds the page routes, the static files (``/static/*``), plotly.js from the
installed ``plotly`` package (``/static/vendor/plotly.min.js``; never copied into the repo
nor fetched from a CDN) and the HTML error renderer (a 401 on a page redirects to login).
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from fastapi.staticfiles import StaticFiles

from lydiard.interfaces.http.errors import Problem
from lydiard.interfaces.web import account_pages, plan_pages
from lydiard.interfaces.web.pages import PageCache, build_router, login_redirect
from lydiard.interfaces.web.render import STATIC_DIR, Renderer, plotly_css

__all__ = ["mount", "plotly_js_path"]


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` shipped inside the installed ``plotly`` Python package."""
    import importlib.resources

    path = Path(str(importlib.resources.files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():  # pragma: no cover - a broken plotly installation
        raise FileNotFoundError(f"plotly.min.js not found in the installed plotly package ({path})")
    return path


def mount(app: FastAPI) -> None:
    """Add the pages, static files and HTML error pages to ``app``."""
    renderer = Renderer()
    cache = PageCache()
    app.state.web_cache = cache
    plotly_path = plotly_js_path()

    css = plotly_css(plotly_path.read_text(encoding="utf-8"))

    async def plotly_js() -> Response:
        return FileResponse(plotly_path, media_type="text/javascript",
                            headers={"cache-control": "public, max-age=86400"})

    async def plotly_stylesheet() -> Response:
        return Response(css, media_type="text/css", headers={"cache-control": "public, max-age=86400"})

    # Registered before the /static mount so that it wins.
    app.add_api_route("/static/vendor/plotly.min.js", plotly_js, methods=["GET"], include_in_schema=False)
    app.add_api_route("/static/vendor/plotly.css", plotly_stylesheet, methods=["GET"], include_in_schema=False)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
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
