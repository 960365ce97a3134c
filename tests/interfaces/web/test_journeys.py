"""The athlete's and the coach's journeys in a real browser, at a phone (390×844) and a desktop
(1366×900) viewport, each page scanned with axe-core for serious or critical accessibility
violations, touch targets measured (≥ 24 px, WCAG 2.2 2.5.8) and page titles checked.

Debian's Chromium driven by Playwright against a live server over a demo store with a
generated plan and a plan change waiting for the coach. Skipped when /usr/bin/chromium is
missing, unless LYDIARD_REQUIRE_CHROMIUM=1 (CI).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NOTE = "Keep Thursday easy too, we race on Sunday"


@dataclass
class Server:
    url: str
    info: Any
    athlete_id: str
    athlete_name: str


def _seed(ctx: Any) -> tuple[Any, str]:
    """The demo store, a generated plan for every demo athlete and, for the demo athlete (who has a
    coach), today's assessment rewritten to deep fatigue so a plan change waits for the coach."""
    import sqlalchemy as sa

    from lydiard.services import athletes as athlete_svc
    from lydiard.services import planning
    from lydiard.services.access import Actor
    from lydiard.services.demo import load_demo
    from lydiard.services.metrics import local_today
    from lydiard.storage import tables as t

    system = Actor.system()
    info = load_demo(ctx, days=120, pmdata=False)
    aid = info.athlete_id
    athlete = athlete_svc.get_athlete(ctx, system, aid)
    today = local_today(ctx, athlete.tz)
    for a in info.roster_ids:
        planning.generate_and_store_plan(ctx, system, a, goal_day=today + timedelta(days=70), goal_sport="run",
                                         weekly_hours=6)
        planning.propose_adaptation(ctx, system, a)
    with ctx.engine.begin() as conn:
        row = conn.execute(sa.select(t.daily_metrics.c.detail).where(
            t.daily_metrics.c.athlete_id == aid, t.daily_metrics.c.day == today)).one()
        detail = dict(row.detail or {})
        detail["recommendation"] = {"code": "back_off", "days": 4, "volume_pct": 30, "reason": "stage",
                                    "text": "Back off for 4 days: low intensity only, volume down 30 %.",
                                    "return_criteria": [{"marker": "ln_rmssd_7d", "criterion": "x", "days": 2}]}
        conn.execute(sa.update(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid,
                                                      t.daily_metrics.c.day == today)
                     .values(stage="deep_fatigue", recommendation_code="back_off", detail=detail))
    change = planning.propose_adaptation(ctx, system, aid)
    assert change is not None, "the demo athlete has a plan change to review"
    return info, athlete.name


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, serve_app: Callable[[Any], str]) -> Iterator[Server]:
    from lydiard.config import Settings
    from lydiard.services.context import open_context

    home = tmp_path_factory.mktemp("journeys")
    settings = Settings(home=home, database_url=f"sqlite:///{home}/lydiard.sqlite3",
                        secret_key="journey-test-secret-" + "x" * 32)
    ctx = open_context(settings)
    info, name = _seed(ctx)
    ctx.close()
    yield Server(serve_app(settings), info, info.athlete_id, name)


def _login(tab: Any, server: Server, role: str) -> None:
    tab.login_as(server.url, server.info.logins, role)


def _axe(page: Any) -> list[str]:
    """Serious and critical axe-core violations on the page (WCAG 2.x A/AA and best practices)."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:4]}"
            for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]


_SMALL_TARGETS = """() => {
  const out = [];
  const seen = new Set();
  const targets = document.querySelectorAll(
    'button, select, textarea, summary, input:not([type=hidden]), .nav a, a.button, a.review, .taps label');
  for (const el of targets) {
    let box = el;
    if (el.matches('input[type=radio], input[type=checkbox]')) {
      box = el.closest('label') || document.querySelector('label[for="' + el.id + '"]') || el;
    }
    if (seen.has(box)) continue;
    seen.add(box);
    const r = box.getBoundingClientRect();
    const style = getComputedStyle(box);
    if (r.width === 0 || r.height === 0 || style.visibility === 'hidden') continue;
    if (r.width < 24 || r.height < 24) {
      out.push((box.id || box.getAttribute('name') || box.textContent.trim().slice(0, 20) || box.tagName)
               + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
    }
  }
  return out;
}"""


def _check_page(tab: Any, what: str, *, title_has: str | None = None) -> None:
    page = tab.page
    assert not _axe(page), f"{what}: {_axe(page)}"
    small = page.evaluate(_SMALL_TARGETS)
    assert not small, f"{what}: touch targets under 24 px: {small}"
    if title_has:
        assert title_has in page.title(), f"{what}: the title {page.title()!r} names {title_has}"


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_athlete_today_answers_on_one_screen(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    _login(tab, server, "athlete")
    page = tab.page
    assert page.url.endswith(f"/athletes/{server.athlete_id}/today")
    height = tab.viewport["height"]
    for part in ("headline", "advice", "plan"):
        box = page.locator(f"[data-testid={part}]").bounding_box()
        assert box is not None and box["y"] + box["height"] <= height, f"{part} is on the first screen"
    assert page.inner_text("[data-testid=headline]").startswith("Deep fatigue")
    text = page.inner_text("main")
    for internal in ("Cv ln rmssd", "Acwr ewma", "Energy z", "ln_rmssd", "(normal -1.0", "risk score"):
        assert internal not in text, internal
    assert "Your data and how you feel agree" not in text or "Checked in" in text
    assert page.locator("[data-testid=markers] > li").count() == page.locator(".rangebar").count() + \
        page.locator(".markers .nobar").count()
    assert not page.locator("[data-testid=why] .rules").is_visible(), "rules and sources are folded"
    page.click("[data-testid=why] summary")
    assert page.locator("[data-testid=why] .rules").is_visible(), "one tap opens the why"
    status = page.locator("[data-testid=change-status]")
    if page.locator("[data-testid=pending-change]").count():
        assert "waiting for your coach" in status.inner_text()
        assert page.locator("[data-testid=today-approve]").count() == 0, "only the coach approves"
    assert page.locator("nav a, .nav a", has_text="Athletes").count() == 0, "no empty roster in the menu"
    _check_page(tab, f"today ({viewport})", title_has=server.athlete_name)
    assert not tab.errors
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_coach_reviews_the_change_from_the_roster(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    _login(tab, server, "coach")
    page = tab.page
    assert page.url.endswith("/roster")
    _check_page(tab, f"roster ({viewport})")
    row = page.locator(f"[data-testid=roster] > li[data-athlete='{server.athlete_id}']")
    if viewport == "desktop":
        link = row.locator("[data-testid=review-change]")
        assert link.inner_text() == "1 plan change to review"
        assert "attention" in (row.get_attribute("class") or "")
        link.click()
        page.wait_for_load_state("networkidle")
        assert re.search(r"/plan#change-h$", page.url)
        assert page.locator("[data-testid=change-diff]").is_visible(), "the before/after view"
        assert "Lydiard found deep fatigue" in page.inner_text("[data-testid=change-reason]")
        _check_page(tab, "plan with a change (coach)", title_has=server.athlete_name)
        page.goto(f"{server.url}/athletes/{server.athlete_id}/today")
        card = page.locator("[data-testid=pending-change]")
        assert card.is_visible()
        _check_page(tab, "today (coach)", title_has=server.athlete_name)
        page.fill("#t-approve-note", NOTE)
        page.click("[data-testid=today-approve] button[type=submit]")
        page.wait_for_url(re.compile(r"/today\?done=approved$"))
        assert "Change approved" in page.inner_text(".flash")
        assert NOTE in page.inner_text("[data-testid=last-decision]")
        tab.page.context.close()
        athlete = open_tab(viewport)
        _login(athlete, server, "athlete")
        assert NOTE in athlete.page.inner_text("[data-testid=decision-note]"), "the athlete sees the coach's note"
        athlete.page.context.close()
    else:
        assert row.locator("figcaption").count() == 1
        row.locator(".name a").click()
        page.wait_for_load_state("networkidle")
        assert page.locator("[data-testid=headline]").count() == 1
        tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_checkin_fits_one_screen_saves_and_the_coach_reads_it(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    _login(tab, server, "athlete")
    page = tab.page
    page.goto(f"{server.url}/athletes/{server.athlete_id}/checkin")
    save = page.locator("#checkin-form button[type=submit]").bounding_box()
    assert save is not None and save["y"] + save["height"] <= tab.viewport["height"], "one screen"
    names = page.locator("button[data-clear]").evaluate_all("bs => bs.map(b => b.getAttribute('aria-label'))")
    assert len(names) == 7 and len(set(names)) == 7 and all(n.startswith("Clear ") for n in names)
    _check_page(tab, f"check-in ({viewport})", title_has=server.athlete_name)
    for item in ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress"):
        page.click(f"label[for={item}-4]")
    page.click("label[for=readiness-8]")
    page.click("button[aria-label='Clear Mood']")
    assert not page.locator("#mood-4").is_checked(), "clear empties one question"
    page.fill("#sleep_h", "7.5")
    if not page.locator("#rmssd_ms").is_visible():  # folded until the day has a reading
        page.click("[data-testid=checkin-more] summary")
    page.fill("#rmssd_ms", "66")
    page.fill("#rhr_bpm", "49")
    page.click("#checkin-form button[type=submit]")
    page.wait_for_url(re.compile(r"/today\?saved=1$"), timeout=60_000)
    assert "Check-in saved" in page.inner_text(".flash")
    assert page.locator("[data-testid=checked-in]").count() == 1
    page.goto(f"{server.url}/athletes/{server.athlete_id}/checkin")
    assert page.input_value("#rmssd_ms") == "66" and page.input_value("#rhr_bpm") == "49"
    assert not page.locator("#mood-4").is_checked()
    tab.page.context.close()

    coach = open_tab(viewport)
    _login(coach, server, "coach")
    cp = coach.page
    cp.goto(f"{server.url}/athletes/{server.athlete_id}/checkin")
    notice = cp.locator("[data-testid=coach-notice]")
    assert notice.is_visible() and "can record or change it" in notice.inner_text()
    _check_page(coach, f"check-in read by the coach ({viewport})")
    assert cp.locator("#checkin-form button[type=submit]").count() == 0, "a coach has nothing to save"
    assert cp.locator("#energy-4").is_checked() and cp.locator("#energy-4").is_disabled()
    assert not coach.errors
    coach.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_settings_take_a_pace_and_redirect_after_post(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    _login(tab, server, "athlete")
    page = tab.page
    page.goto(f"{server.url}/athletes/{server.athlete_id}/settings")
    _check_page(tab, f"settings ({viewport})", title_has=server.athlete_name)
    page.select_option("#kind", "threshold_speed_mps")
    page.fill("#value", "4:15" if viewport == "phone" else "4:20")
    page.click("form[action$='/settings/threshold'] button[type=submit]")
    page.wait_for_url(re.compile(r"/settings\?done=threshold$"), timeout=60_000)
    assert "Threshold saved" in page.inner_text(".flash")
    assert ("4:15 /km" if viewport == "phone" else "4:20 /km") in page.inner_text("[data-testid=thresholds]")
    posts = len(tab.posts)
    page.reload()
    page.wait_for_load_state("networkidle")
    assert len(tab.posts) == posts, "a reload does not submit the form again"
    page.select_option("#kind", "hr_max_bpm")
    page.fill("#value", "300")
    page.click("form[action$='/settings/threshold'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "Max heart rate must be between 100 and 240 bpm." in page.inner_text(".flash")
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_plan_reads_on_a_phone_and_shows_the_calendar_first(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    _login(tab, server, "athlete")
    page = tab.page
    page.goto(f"{server.url}/athletes/{server.athlete_id}/plan")
    _check_page(tab, f"plan ({viewport})", title_has=server.athlete_name)
    order = page.evaluate("""() => [document.getElementById('cal-h'), document.getElementById('edit-h')]
        .map(h => h.getBoundingClientRect().top)""")
    assert order[0] < order[1], "the calendar comes before the editing tools"
    width = tab.viewport["width"]
    if viewport == "phone":
        assert page.locator("[data-testid=agenda]").is_visible()
        assert not page.locator("[data-testid=calendar]").is_visible()
        assert "Sun" in page.inner_text("[data-testid=agenda]") and "TSS" in page.inner_text("[data-testid=agenda]")
    else:
        assert page.locator("[data-testid=calendar]").is_visible()
        last = page.locator("[data-testid=calendar] thead th").last.bounding_box()
        assert last is not None and last["x"] + last["width"] <= width, "the weekly total is not cut off"
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "no sideways scrolling"
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_every_page_passes_the_accessibility_scan(server: Server, open_tab: Callable[..., Any], viewport: str) -> None:
    tab = open_tab(viewport)
    page = tab.page
    page.goto(server.url + "/login")
    _check_page(tab, f"login ({viewport})")
    _login(tab, server, "athlete")
    for name in ("today", "checkin", "plan", "trends", "activities", "import", "settings"):
        page.goto(f"{server.url}/athletes/{server.athlete_id}/{name}")
        page.wait_for_load_state("networkidle")
        assert not _axe(page), f"{name} ({viewport}): {_axe(page)}"
        assert server.athlete_name in page.title(), f"{name}: {page.title()}"
    page.goto(f"{server.url}/athletes/{server.athlete_id}/nowhere")
    assert not _axe(page), f"error page ({viewport}): {_axe(page)}"
    assert not tab.errors or all("404" in e for e in tab.errors), tab.errors
    tab.page.context.close()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_session_is_marked_as_a_race_from_its_page(server: Server, open_tab: Callable[..., Any], viewport: str,
                                                     make_gpx: Callable[..., bytes], tmp_path: Path) -> None:
    """Issue 15: the race form on the activity page, by the coach who manages a roster athlete
    (not the demo athlete, whose Today the other journeys read): labelled, ≥ 24 px, no serious
    accessibility violation, redirect after POST with a confirmation and the race status."""
    other = next(a for a in server.info.roster_ids if a != server.athlete_id)
    tab = open_tab(viewport)
    _login(tab, server, "coach")
    page = tab.page
    gpx = tmp_path / "race.gpx"
    started = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    gpx.write_bytes(make_gpx(started - timedelta(days=2 if viewport == "phone" else 3)))
    page.goto(f"{server.url}/athletes/{other}/import")
    page.set_input_files("#files", str(gpx))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("[data-testid=import-results] a", timeout=60_000)
    page.click("[data-testid=import-results] a")
    page.wait_for_load_state("networkidle")
    assert "Not marked as a race." in page.inner_text("[data-testid=race-status]")
    mark = page.get_by_role("button", name="Mark as a race")
    assert mark.get_attribute("aria-describedby") == "race-status"
    _check_page(tab, f"activity with the race form ({viewport})")
    mark.click()
    page.wait_for_url(re.compile(r"\?done=race$"), timeout=60_000)
    assert "Marked as a race" in page.inner_text(".flash")
    assert page.inner_text("[data-testid=race-status] .badge") == "Race"
    assert page.get_by_role("button", name="Not a race").is_visible()
    _check_page(tab, f"activity marked as a race ({viewport})")
    assert not tab.errors
    tab.page.context.close()
