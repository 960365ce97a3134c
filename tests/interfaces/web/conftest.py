"""Fixtures of the web-page tests: an app over the ``ctx`` store (SQLite and PostgreSQL) with a
logged-in athlete, a coach and a little history; and, for the browser tests, Chromium, a live
server and a recording tab."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from lydiard.domain.simulate import simulate_athlete
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.context import Context
from lydiard.services.demo import _link_coach, _write_simulated_metrics, simulated_import
from lydiard.services.importing import store_daily_import
from lydiard.services.metrics import local_today

PASSWORD = "correct horse battery staple 42"
TZ = "Europe/Oslo"
DAYS = 90


@dataclass
class Seeded:
    athlete_user_id: str
    coach_user_id: str
    athlete_id: str
    managed_ids: dict[str, str]  # scenario -> athlete id (managed by the coach)


def seed_store(ctx: Context, *, days: int = DAYS) -> Seeded:
    """Accounts (athlete, coach, stranger), the athlete's simulated history and managed athletes."""
    system = Actor.system()
    athlete_user = user_svc.create_user(ctx, system, email="ath@example.org", password=PASSWORD,
                                        display_name="Ada Athlete")
    coach = user_svc.create_user(ctx, system, email="coach@example.org", password=PASSWORD,
                                 display_name="Carl Coach")
    user_svc.create_user(ctx, system, email="stranger@example.org", password=PASSWORD, display_name="Sam Stranger")
    today = local_today(ctx, TZ)
    start = today - timedelta(days=days - 1)

    def simulated(name: str, scenario: str, seed: int, **kw: str) -> str:
        a = create_athlete(ctx, system, name=name, tz=TZ, **kw)
        imp = simulated_import(simulate_athlete(seed, days, scenario, start=start).days)
        store_daily_import(ctx, system, a.id, imp, source="demo", item="test")
        _write_simulated_metrics(ctx, a.id, imp, days=days)
        return a.id

    aid = simulated("Ada Athlete", "normal", 5, user_id=athlete_user.id)
    _link_coach(ctx, coach.id, aid)
    managed = {sc: simulated(f"Managed {sc}", sc, 20 + i, managed_by_user_id=coach.id)
               for i, sc in enumerate(("overreaching", "illness"))}
    return Seeded(athlete_user.id, coach.id, aid, managed)


@pytest.fixture
def seeded(ctx: Context) -> Seeded:
    return seed_store(ctx)


@pytest.fixture
def app_client(ctx: Context, seeded: Seeded) -> Iterator[TestClient]:
    from lydiard.interfaces.app import create_app

    app = create_app(ctx.settings, context=ctx)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _login(client: TestClient, email: str = "ath@example.org") -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    r = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/", follow_redirects=True)
    m = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert m, "the logged-in page carries the CSRF token"
    return m.group(1)


@pytest.fixture
def login() -> Callable[..., str]:
    """``login(client, email=...)`` logs in through the form and returns the session's CSRF token."""
    return _login


def _gpx(start: datetime, *, n: int = 900, hr_bpm: int = 140) -> bytes:
    """A GPX run with heart rate: one point a second along a line north of Oslo."""
    pts = []
    for i in range(n):
        t = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(f'<trkpt lat="{59.9 + i * 2.5e-5:.6f}" lon="{10.7 + i * 1e-5:.6f}"><ele>{100 + i % 50}</ele>'
                   f"<time>{t}</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr_bpm + i % 20}"
                   "</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>")
    return ('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
            f'<trk><name>Test run</name><type>running</type><trkseg>{"".join(pts)}</trkseg></trk></gpx>').encode()


@pytest.fixture
def make_gpx() -> Callable[..., bytes]:
    return _gpx


# ------------------------------------------------------------------ browser tests (Playwright)
# Shared by test_browser.py, test_browser_charts.py and test_journeys.py: Debian's Chromium with
# the project's flags, a live uvicorn server in a thread, and a tab that records what the page
# does (console errors, requests, POSTs, CSP violations) and logs in through the form.

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
VIEWPORTS: dict[str, dict[str, int]] = {"phone": {"width": 390, "height": 844},
                                        "desktop": {"width": 1366, "height": 900}}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
#: Collects CSP violations before any page script runs.
CSP_WATCH = ("window.__csp = []; document.addEventListener('securitypolicyviolation', "
             "function (e) { window.__csp.push(e.violatedDirective + ' ' + e.blockedURI); });")


def require_chromium() -> None:
    """Skip (fail when LYDIARD_REQUIRE_CHROMIUM=1, as in CI) when /usr/bin/chromium is missing."""
    if CHROMIUM.exists():
        return
    message = ("Chromium not found at /usr/bin/chromium; install it with "
               "`apt-get update && apt-get install -y chromium` (never `playwright install`)")
    if os.environ.get("LYDIARD_REQUIRE_CHROMIUM") == "1":
        pytest.fail(message)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def serve_app() -> Iterator[Callable[[Any], str]]:
    """``serve_app(settings)`` starts the app over ``settings`` in a uvicorn thread on a free
    loopback port and returns its base URL; the servers stop when the module's tests are done.
    Skips the module first when Chromium is missing (before any seeding)."""
    require_chromium()
    import uvicorn

    from lydiard.interfaces.app import create_app

    running: list[tuple[Any, threading.Thread]] = []

    def serve(settings: Any) -> str:
        port = _free_port()
        srv = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port,
                                            log_level="warning", lifespan="on"))
        thread = threading.Thread(target=srv.run, daemon=True)
        thread.start()
        running.append((srv, thread))
        deadline = time.monotonic() + 30
        while not srv.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        return f"http://127.0.0.1:{port}"

    yield serve
    for srv, thread in running:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, with the project's flags (one per test module)."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@dataclass
class Tab:
    """A page in a fresh browser context, with what it did recorded."""

    page: Any
    viewport: dict[str, int]
    csp: bool = False  #: CSP violations are collected (``CSP_WATCH``)
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  #: console errors and uncaught exceptions
    posts: list[str] = field(default_factory=list)  #: URLs of POST requests

    def login(self, base_url: str, email: str, password: str, *, wait: str = "networkidle") -> None:
        """Log in through the login form and wait for the landing page (``wait``: a load state)."""
        self.page.goto(base_url + "/login")
        self.page.fill("#email", email)
        self.page.fill("#password", password)
        self.page.click("main button[type=submit]")
        self.page.wait_for_load_state(wait)

    def login_as(self, base_url: str, logins: Any, role: str) -> None:
        """Log in as the demo store's user of ``role`` (``load_demo(...).logins``)."""
        login = next(x for x in logins if x.role == role)
        self.login(base_url, login.email, login.password)

    def assert_clean(self) -> None:
        """No console error, no request left the machine (and, when watched, no CSP violation)."""
        assert not self.errors, f"console errors: {self.errors}"
        foreign = [u for u in self.requests if urlsplit(u).scheme in ("http", "https", "ws", "wss")
                   and urlsplit(u).hostname not in LOCAL_HOSTS]
        assert not foreign, f"requests left the machine: {foreign}"
        assert self.requests, "requests were recorded"
        if self.csp:
            assert self.page.evaluate("window.__csp") == [], "CSP violations"

    def no_horizontal_overflow(self) -> None:
        over = self.page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert over <= 0, f"the page scrolls sideways by {over} px"


@pytest.fixture
def open_tab(browser: Any) -> Callable[..., Tab]:
    """``open_tab(viewport, *, scripts=True, csp=False)``: a :class:`Tab` in a new browser context;
    ``viewport`` is a name of ``VIEWPORTS`` or a ``{"width", "height"}`` dict."""

    def open_(viewport: str | dict[str, int], *, scripts: bool = True, csp: bool = False) -> Tab:
        size = VIEWPORTS[viewport] if isinstance(viewport, str) else viewport
        context = browser.new_context(viewport=size, device_scale_factor=1, java_script_enabled=scripts)
        if csp:
            context.add_init_script(CSP_WATCH)
        page = context.new_page()
        tab = Tab(page, size, csp=csp)
        page.on("request", lambda r: tab.requests.append(r.url))
        page.on("request", lambda r: tab.posts.append(r.url) if r.method == "POST" else None)
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: tab.errors.append(str(e)))
        return tab

    return open_
