"""The charts (Trends, activity, plan forecast) and /api/docs in a real browser, phone and desktop.

Debian's Chromium driven by Playwright against a live uvicorn over a temporary SQLite store
(the demo athlete with 200 days, a generated GPX run with heart rate, and a few planned
sessions). Every chart must draw with its caption and table, fit its viewport without
horizontal overflow, label every stage row, share the crosshair with the other charts of the
page, raise no CSP violation and request nothing from outside the machine; without JavaScript
the page must still give the numbers. Skipped when /usr/bin/chromium is missing, unless
LYDIARD_REQUIRE_CHROMIUM=1 (CI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TRENDS_KEYS = ("pmc", "hrv", "rhr", "sleep", "checkin", "stages", "monotony")


def _gpx(start: datetime, *, n: int) -> bytes:
    """A GPX run with heart rate, one point a second (speeds vary: a pace chart has a shape)."""
    pts, lat = [], 59.9
    for i in range(n):
        lat += (2.2e-5 if (i // 120) % 2 else 3.2e-5)
        t = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(f'<trkpt lat="{lat:.6f}" lon="{10.7 + i * 1e-5:.6f}"><ele>{100 + i % 50}</ele><time>{t}</time>'
                   f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{140 + i % 20}</gpxtpx:hr>"
                   "</gpxtpx:TrackPointExtension></extensions></trkpt>")
    return ('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
            f'<trk><type>running</type><trkseg>{"".join(pts)}</trkseg></trk></gpx>').encode()


@dataclass
class Server:
    url: str
    athlete_id: str
    activity_id: str
    email: str
    password: str


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app: Callable[[Any], str]) -> Iterator[Server]:
    from lydiard.config import Settings
    from lydiard.services import importing, planning
    from lydiard.services.access import Actor
    from lydiard.services.context import open_context
    from lydiard.services.demo import load_demo
    from lydiard.services.metrics import local_today

    home = tmp_path_factory.mktemp("charts")
    settings = Settings(home=home, database_url=f"sqlite:///{home}/lydiard.sqlite3",
                        secret_key="browser-charts-secret-" + "x" * 32)
    ctx = open_context(settings)
    info = load_demo(ctx, days=200, pmdata=False, roster_scenarios=False, shared=tmp_path_factory.mktemp("none"))
    aid = info.athlete_id
    system = Actor.system()
    today = local_today(ctx, "Europe/Oslo")
    report = importing.import_upload(ctx, system, aid, name="2025-06-28-070000.gpx",
                                     data=_gpx(datetime.now(UTC) - timedelta(days=2), n=1800))
    activity_id = next(it.activity_id for it in report.items if it.outcome == "imported")
    for i, (kind, minutes) in enumerate([("intervals", 75), ("easy", 45), ("tempo", 60), ("long", 120)]):
        planning.create_session(ctx, system, aid, day=today + timedelta(days=i + 1), sport="run", session_type=kind,
                                duration_s=minutes * 60.0)
    ctx.close()
    login = next(x for x in info.logins if x.role == "athlete")
    yield Server(serve_app(settings), aid, str(activity_id), login.email, login.password)


def _open(open_tab: Callable[..., Any], server: Server, viewport: str, *, scripts: bool = True) -> Any:
    tab = open_tab(viewport, scripts=scripts, csp=True)
    tab.login(server.url, server.email, server.password, wait="load")
    return tab


def _wait_charts(tab: Any, keys: tuple[str, ...]) -> None:
    sel = ",".join(f"[data-chart={k}]" for k in keys)
    tab.page.wait_for_function(
        f"() => Array.from(document.querySelectorAll('{sel}')).filter(e => e.getAttribute('data-rendered') === '1')"
        f".length === {len(keys)}", timeout=60_000)


def _chart_box(tab: Any, key: str) -> dict[str, float]:
    return dict(tab.page.evaluate(
        """(k) => { const el = document.querySelector('[data-chart=' + k + ']'); const u = el._uplot;
                    const c = el.querySelector('canvas').getBoundingClientRect();
                    return { w: c.width, h: c.height, plotW: u.bbox.width / devicePixelRatio,
                             plotH: u.bbox.height / devicePixelRatio, overflow: el.scrollWidth - el.clientWidth,
                             right: c.right, cardRight: el.closest('.card').getBoundingClientRect().right,
                             left: u.bbox.left / devicePixelRatio }; }""", key))


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_trends_charts_read_on_phone_and_desktop(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = _open(open_tab, server, viewport)
    tab.page.goto(f"{server.url}/athletes/{server.athlete_id}/trends")
    _wait_charts(tab, TRENDS_KEYS)
    lefts = set()
    for key in TRENDS_KEYS:
        box = _chart_box(tab, key)
        assert box["overflow"] <= 0 and box["right"] <= box["cardRight"], f"{key} is clipped on the right: {box}"
        assert box["plotW"] >= (200 if viewport == "phone" else 700), f"{key} plot too narrow: {box}"
        assert box["plotH"] >= 100, f"{key} plot too flat: {box}"
        lefts.add(round(box["left"]))
        assert tab.page.locator(f"[data-testid=caption-{key}]").inner_text().strip()
        assert tab.page.locator(f"[data-testid=table-{key}] tbody tr").count() >= 7
    assert len(lefts) == 1, f"the stack's plot areas start at different x: {lefts} (no shared date axis)"
    # Every stage row is labelled.
    labels = tab.page.evaluate("() => document.querySelector('[data-chart=stages]')._uplot.axes[1]._values")
    assert len([x for x in labels if x]) == 6, labels
    # The range buttons are visible and not covered by anything.
    for label in ("1m", "3m", "6m", "1y"):
        btn = tab.page.locator("[data-range]", has_text=label)
        assert btn.is_visible()
        covered = btn.evaluate("""b => { const r = b.getBoundingClientRect();
            const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
            return !(hit === b || b.contains(hit)); }""")
        assert not covered, f"the {label} button is covered"
    # 1m narrows every chart's date range the same way.
    tab.page.locator("[data-range]", has_text="1m").click()
    spans = tab.page.evaluate(f"""() => {list(TRENDS_KEYS)!r}.map(k => {{
        const u = document.querySelector('[data-chart=' + k + ']')._uplot; return [u.scales.x.min, u.scales.x.max]; }})""")
    assert len({tuple(s) for s in spans}) == 1, spans
    assert spans[0][1] - spans[0][0] <= 80 * 86400, "1m shows about a month (and the planned weeks)"
    # One crosshair: hovering the first chart moves the cursor of the others to the same day.
    over = tab.page.locator("[data-chart=pmc] .u-over")
    b = over.bounding_box()
    over.hover(position={"x": b["width"] * 0.6, "y": b["height"] / 2})
    tab.page.wait_for_timeout(100)
    idx = tab.page.evaluate(f"""() => {list(TRENDS_KEYS)!r}.map(k =>
        document.querySelector('[data-chart=' + k + ']')._uplot.cursor.idx)""")
    assert idx[0] is not None and len(set(idx)) == 1, f"crosshair not synced: {idx}"
    readout = tab.page.locator("[data-chart=stages] ~ [data-readout]").inner_text()
    assert readout.strip(), "the stage chart says which stage the crosshair's day had"
    tab.no_horizontal_overflow()
    tab.assert_clean()
    tab.page.context.close()


def test_trends_without_javascript_gives_the_numbers(server: Server, open_tab: Callable[..., Any]) -> None:
    tab = _open(open_tab, server, "phone", scripts=False)
    tab.page.goto(f"{server.url}/athletes/{server.athlete_id}/trends")
    body = tab.page.inner_text("main")
    assert "Loading charts" not in body
    assert tab.page.locator(".nojs-note").first.is_visible()
    for key in TRENDS_KEYS:
        tab.page.locator(f"[data-testid=table-{key}] summary").click()
        assert tab.page.locator(f"[data-testid=table-{key}] tbody tr").first.is_visible(), key
    assert not tab.page.locator("[data-range]").first.is_visible(), "range buttons need script: hidden without"
    tab.no_horizontal_overflow()
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_activity_streams_share_one_time_axis(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = _open(open_tab, server, viewport)
    tab.page.goto(f"{server.url}/athletes/{server.athlete_id}/activities/{server.activity_id}")
    keys = ("hr_bpm", "pace", "altitude")
    _wait_charts(tab, keys)
    title = tab.page.inner_text("h1")
    assert "gpx" not in title.lower() and "run" in title.lower(), title
    widths = {round(_chart_box(tab, k)["plotW"]) for k in keys}
    assert len(widths) == 1, f"streams are not stacked on one axis: {widths}"
    main_w = tab.page.evaluate("document.querySelector('main').clientWidth")
    assert _chart_box(tab, "hr_bpm")["w"] >= main_w * 0.8, "streams are full width"
    assert tab.page.locator("[data-testid=avg-hr]").inner_text().strip() not in ("", "–")
    assert tab.page.locator("[data-testid=laps] th", has_text="Pace").count() in (0, 1)
    over = tab.page.locator("[data-chart=hr_bpm] .u-over")
    b = over.bounding_box()
    over.hover(position={"x": b["width"] * 0.5, "y": b["height"] / 2})
    tab.page.wait_for_timeout(100)
    idx = tab.page.evaluate(f"() => {list(keys)!r}.map(k => document.querySelector('[data-chart=' + k + ']')"
                            "._uplot.cursor.idx)")
    assert idx[0] is not None and len(set(idx)) == 1, idx
    pace_label = tab.page.evaluate("() => document.querySelector('[data-chart=pace]')._uplot.axes[1]._values")
    assert any(":" in str(v) for v in pace_label), f"pace reads as m:ss: {pace_label}"
    assert tab.page.locator("[data-testid=track] polyline").count() == 1
    tab.no_horizontal_overflow()
    tab.assert_clean()
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_plan_forecast_chart_is_drawn(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = _open(open_tab, server, viewport)
    tab.page.goto(f"{server.url}/athletes/{server.athlete_id}/plan")
    assert tab.page.locator("[data-chart=forecast]").count() == 1, "the plan has a forecast"
    _wait_charts(tab, ("forecast",))
    box = _chart_box(tab, "forecast")
    assert box["plotH"] >= 150 and box["overflow"] <= 0 and box["right"] <= box["cardRight"], box
    drawn = tab.page.evaluate("() => document.querySelector('[data-chart=forecast]')._uplot.series.length")
    assert drawn >= 4, "x plus CTL, ATL and TSB as planned"
    tab.page.locator("[data-testid=table-forecast] summary").click()
    assert tab.page.locator("[data-testid=table-forecast] tbody tr").count() >= 1
    tab.no_horizontal_overflow()
    tab.assert_clean()
    tab.page.context.close()


def test_api_docs_work_under_the_csp_with_nothing_from_outside(server: Server, open_tab: Callable[..., Any]) -> None:
    tab = _open(open_tab, server, "desktop")
    tab.page.goto(f"{server.url}/api/docs")
    tab.page.wait_for_selector(".swagger-ui .opblock", timeout=60_000)
    assert tab.page.locator(".swagger-ui .opblock").count() > 10
    csp = tab.page.evaluate("() => fetch('/api/docs').then(r => r.headers.get('content-security-policy'))")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    tab.assert_clean()
    tab.page.context.close()
