"""Jinja2 environment, formatting helpers (units) and the page renderer."""

from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from lydiard.interfaces.http.auth import CSRF_FIELD, CSRF_HEADER, csrf_token_for, current_user
from lydiard.interfaces.web.assets import StaticAssets

HERE = Path(__file__).resolve().parent
TEMPLATES_DIR = HERE / "templates"
STATIC_DIR = HERE / "static"

KM_PER_MI = 1.609344
FT_PER_M = 3.280839895


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) or math.isinf(f) else f


def fmt(v: Any, digits: int = 1) -> str:
    """A number for people: "–" when missing."""
    f = _num(v)
    if f is None:
        return "–"
    return f"{f:.{digits}f}"


def fmt_distance(m: Any, units: str = "metric") -> str:
    f = _num(m)
    if f is None:
        return "–"
    if units == "imperial":
        return f"{f / 1000.0 / KM_PER_MI:.2f} mi"
    return f"{f / 1000.0:.2f} km"


def fmt_elevation(m: Any, units: str = "metric") -> str:
    f = _num(m)
    if f is None:
        return "–"
    return f"{f * FT_PER_M:.0f} ft" if units == "imperial" else f"{f:.0f} m"


def fmt_duration(s: Any) -> str:
    f = _num(s)
    if f is None:
        return "–"
    total = round(f)
    h, rem = divmod(total, 3600)
    m, sec = divmod(rem, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def fmt_pace(distance_m: Any, duration_s: Any, units: str = "metric") -> str:
    d, t = _num(distance_m), _num(duration_s)
    if not d or not t or d < 10:
        return "–"
    per = 1000.0 * (KM_PER_MI if units == "imperial" else 1.0)
    sec = t / (d / per)
    m, s = divmod(round(sec), 60)
    return f"{m}:{s:02d} /{'mi' if units == 'imperial' else 'km'}"


def pace_text(speed_mps: Any, units: str = "metric") -> str:
    """A speed (m/s) as a pace "m:ss" per km (per mile for ``imperial``), without the unit."""
    f = _num(speed_mps)
    if not f or f <= 0:
        return "–"
    per = 1000.0 * (KM_PER_MI if units == "imperial" else 1.0)
    m, s = divmod(round(per / f), 60)
    return f"{m}:{s:02d}"


def parse_pace(text: str, units: str = "metric") -> float:
    """A pace typed as "m:ss" (or whole minutes, "4.5" = 4:30) per km (per mile for ``imperial``)
    as a speed in m/s. Raises ``ValueError`` on anything else."""
    t = text.strip().replace(",", ".")
    if ":" in t:
        mins, _, secs = t.partition(":")
        if not mins.isdigit() or not secs.isdigit() or len(secs) != 2 or int(secs) >= 60:
            raise ValueError(text)
        total = int(mins) * 60 + int(secs)
    else:
        total = round(float(t) * 60)
    if total <= 0:
        raise ValueError(text)
    per = 1000.0 * (KM_PER_MI if units == "imperial" else 1.0)
    return per / total


def fmt_day(d: Any) -> str:
    if isinstance(d, datetime):
        return d.strftime("%a %d %b %Y %H:%M")
    if isinstance(d, date):
        return d.strftime("%a %d %b %Y")
    return str(d) if d is not None else "–"


def json_block(value: Any) -> Markup:
    """JSON safe to place inside ``<script type="application/json">`` (never executed)."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def make_env() -> Environment:
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True, auto_reload=False)
    env.filters.update(fmt=fmt, distance=fmt_distance, elevation=fmt_elevation, duration=fmt_duration,
                       day=fmt_day, json_block=json_block)
    env.globals.update(pace=fmt_pace, pace_text=pace_text, csrf_field=CSRF_FIELD, csrf_header=CSRF_HEADER)
    return env


class Renderer:
    """Renders a template with the common page context (user, CSRF token, navigation)."""

    def __init__(self, assets: StaticAssets | None = None) -> None:
        self.env = make_env()
        self.assets = assets if assets is not None else StaticAssets(STATIC_DIR)
        self.env.globals["static_url"] = self.assets.url

    def page(self, request: Request, template: str, *, status_code: int = 200,
             headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
        user = current_user(request)
        base = {
            "request": request,
            "user": user,
            "units": user.units if user is not None else "metric",
            "csrf": csrf_token_for(request),
            "path": request.url.path,
        }
        base.update(context)
        html = self.env.get_template(template).render(base)
        resp = HTMLResponse(html, status_code=status_code, headers=headers)
        resp.headers.setdefault("cache-control", "no-store")
        return resp


    def fragment(self, template: str, **context: Any) -> str:
        """A template rendered on its own (no page context): a part a page may keep and reuse."""
        return self.env.get_template(template).render(context)
