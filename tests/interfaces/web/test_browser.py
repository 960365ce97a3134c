"""The pages in a real browser (Debian's Chromium driven by Playwright) against a live server.

The server runs uvicorn in a thread on a free loopback port over a temporary SQLite store
seeded by the demo service. Every page must load with no console error, no request may
leave the machine, charts must draw their data, and the check-in must change Today.
Skipped when /usr/bin/chromium is missing, unless LYDIARD_REQUIRE_CHROMIUM=1 (CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[3]
SHOTS = REPO / "test-artifacts" / "screenshots"
#: The desktop viewport of these tests (laptop-sized; the phone is the shared "phone").
DESKTOP = {"width": 1280, "height": 900}


@dataclass
class LiveServer:
    url: str
    info: Any
    settings: Any


@pytest.fixture(scope="module")
def live_server(tmp_path_factory: pytest.TempPathFactory, serve_app: Callable[[Any], str]) -> Iterator[LiveServer]:
    from lydiard.config import Settings
    from lydiard.services.context import open_context
    from lydiard.services.demo import load_demo

    home = tmp_path_factory.mktemp("live")
    settings = Settings(home=home, database_url=f"sqlite:///{home}/lydiard.sqlite3")
    ctx = open_context(settings)
    info = load_demo(ctx, days=150, pmdata=False)
    ctx.close()
    yield LiveServer(serve_app(settings), info, settings)


def _open(open_tab: Callable[..., Any], *, mobile: bool = True) -> Any:
    return open_tab("phone" if mobile else DESKTOP)


def _login(w: Any, server: LiveServer, role: str) -> None:
    w.login_as(server.url, server.info.logins, role)


def _shot(w: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    w.page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _plots_with_points(w: Any) -> int:
    """How many charts are drawn with at least one point on their x axis."""
    return int(w.page.evaluate(
        """() => Array.from(document.querySelectorAll('[data-chart][data-rendered="1"]')).filter(
              el => el._uplot && el._uplot.data[0].length > 0).length"""))


def test_every_athlete_page_loads_cleanly(live_server: LiveServer, open_tab: Callable[..., Any]) -> None:
    w = _open(open_tab)
    _login(w, live_server, "athlete")
    aid = live_server.info.athlete_id
    assert w.page.url.endswith(f"/athletes/{aid}/today")
    for name in ("today", "checkin", "trends", "activities", "import", "settings"):
        w.page.goto(f"{live_server.url}/athletes/{aid}/{name}")
        w.page.wait_for_load_state("networkidle")
        if name == "trends":
            w.page.wait_for_function("() => document.querySelectorAll('[data-chart][data-rendered]').length >= 5",
                                     timeout=60_000)
        _shot(w, f"athlete-{name}")
    w.page.goto(f"{live_server.url}/athletes/{aid}/today")
    headline = w.page.inner_text("[data-testid=headline]")
    assert headline.strip()
    assert w.page.locator(".rangebar").count() >= 1
    w.assert_clean()
    w.page.context.close()


def test_trends_charts_draw_the_history(live_server: LiveServer, open_tab: Callable[..., Any]) -> None:
    w = _open(open_tab, mobile=False)
    _login(w, live_server, "athlete")
    w.page.goto(f"{live_server.url}/athletes/{live_server.info.athlete_id}/trends")
    w.page.wait_for_function("() => document.querySelectorAll('[data-chart][data-rendered=\"1\"]').length >= 7",
                             timeout=60_000)
    assert _plots_with_points(w) >= 7
    n_days = w.page.evaluate("document.querySelector('[data-chart=pmc]')._uplot.data[0].length")
    assert n_days >= 150
    assert w.page.locator("[data-range]:visible").count() >= 5
    w.page.hover("[data-chart=pmc] .u-over", position={"x": 300, "y": 80})
    w.page.wait_for_function("() => /\\d/.test(document.querySelector('[data-chart=pmc] .u-legend .u-value').textContent)",
                             timeout=5_000)
    _shot(w, "trends-desktop")
    w.assert_clean()
    w.page.context.close()


def test_checkin_submits_with_fetch_and_today_changes(live_server: LiveServer, open_tab: Callable[..., Any]) -> None:
    w = _open(open_tab)
    _login(w, live_server, "athlete")
    aid = live_server.info.athlete_id
    before = w.page.inner_text("[data-testid=advice]")
    w.page.goto(f"{live_server.url}/athletes/{aid}/checkin")
    for item in ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress"):
        w.page.click(f"label[for={item}-1]")
    w.page.click("label[for=readiness-1]")
    w.page.fill("#sleep_h", "4.5")
    w.page.check("input[name=illness]")
    w.page.click("[data-testid=checkin-more] summary")  # the note sits in the optional part
    w.page.fill("#note", "fever since last night")
    _shot(w, "checkin-filled")
    posts: list[str] = []
    w.page.on("request", lambda r: posts.append(r.headers.get("accept", "")) if r.method == "POST" else None)
    w.page.click("#checkin-form button[type=submit]")
    w.page.wait_for_url(f"**/athletes/{aid}/today?saved=1", timeout=60_000)
    w.page.wait_for_load_state("networkidle")
    assert posts and "application/json" in posts[0], "the check-in went through fetch"
    after = w.page.inner_text("[data-testid=advice]")
    assert after != before
    assert "Rest" in after, after
    assert w.page.locator("[data-testid=checked-in]").count() == 1
    _shot(w, "today-after-checkin")
    w.assert_clean()
    w.page.context.close()


def test_activity_detail_streams_and_track(live_server: LiveServer, open_tab: Callable[..., Any], make_gpx: Any) -> None:
    from lydiard.services.access import Actor
    from lydiard.services.context import open_context
    from lydiard.services.importing import import_upload

    aid = live_server.info.athlete_id
    # An activity with heart rate and a GPS track of our own (no dependence on the shared corpus).
    ctx = open_context(live_server.settings)
    try:
        report = import_upload(ctx, Actor.system(), aid, name="track-and-hr.gpx",
                               data=make_gpx(datetime(2024, 4, 6, 8, 0, tzinfo=UTC), n=1200))
    finally:
        ctx.close()
    assert [it.outcome for it in report.items] == ["imported"], report.items
    activity_id = report.items[0].activity_id
    w = _open(open_tab, mobile=False)
    _login(w, live_server, "athlete")
    w.page.goto(f"{live_server.url}/athletes/{aid}/activities")
    assert w.page.locator("[data-testid=activities] tbody a").count() > 0, "the activity list shows activities"
    w.page.goto(f"{live_server.url}/athletes/{aid}/activities/{activity_id}")
    w.page.wait_for_load_state("networkidle")
    assert w.page.locator("[data-testid=track]").count(), "the GPS track is drawn"
    assert w.page.locator("[data-chart=hr_bpm]").count(), "the heart rate is drawn"
    w.page.wait_for_selector("[data-chart=hr_bpm][data-rendered='1']", timeout=20_000)
    assert _plots_with_points(w) >= 2, "an activity with heart rate and a GPS track shows both"
    _shot(w, "activity-detail")
    w.assert_clean()
    w.page.context.close()


def test_import_shows_progress_and_results(live_server: LiveServer, open_tab: Callable[..., Any], tmp_path: Path,
                                           make_gpx: Any) -> None:
    w = _open(open_tab)
    _login(w, live_server, "athlete")
    aid = live_server.info.athlete_id
    gpx = tmp_path / "morning-run.gpx"
    gpx.write_bytes(make_gpx(datetime(2024, 3, 2, 7, 0, tzinfo=UTC)))
    w.page.goto(f"{live_server.url}/athletes/{aid}/import")
    w.page.set_input_files("#files", str(gpx))
    w.page.click("#import-form button[type=submit]")
    w.page.wait_for_selector("[data-testid=import-results]", timeout=60_000)
    assert w.page.locator("#import-form progress").evaluate("p => p.value > 0 && !p.hidden")
    assert "imported" in w.page.inner_text("[data-testid=import-results]")
    assert w.page.url.endswith("/import"), "the upload ran in place (XHR), not as a page load"
    _shot(w, "import-result")
    w.assert_clean()
    w.page.context.close()


def test_coach_roster_ranked_with_sparklines(live_server: LiveServer, open_tab: Callable[..., Any]) -> None:
    w = _open(open_tab)
    _login(w, live_server, "coach")
    assert w.page.url.endswith("/roster")
    items = w.page.locator("[data-testid=roster] > li")
    n = items.count()
    assert n == len(live_server.info.roster_ids)
    needs = [float(items.nth(i).get_attribute("data-need") or "nan") for i in range(n)]
    assert needs == sorted(needs, reverse=True)
    assert w.page.locator("[data-testid=roster] svg.spark polyline").count() >= n - 1
    _shot(w, "coach-roster")
    items.nth(0).locator("a").first.click()
    w.page.wait_for_load_state("networkidle")
    assert "/today" in w.page.url and w.page.locator("[data-testid=headline]").count() == 1
    _shot(w, "coach-athlete-today")
    w.assert_clean()
    w.page.context.close()
