"""Server-rendered pages over both backends: login, every page, the check-in flow, CSP hygiene."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<[^>]+\sstyle\s*=", re.I)


def assert_csp_clean(html: str) -> None:
    assert not INLINE_SCRIPT.search(html), "no inline <script> (CSP script-src 'self')"
    assert not INLINE_HANDLER.search(html), "no inline event handlers"
    assert not INLINE_STYLE.search(html), "no style= attributes (CSP style-src 'self')"
    assert "<style" not in html.lower()


def pages(aid: str) -> list[str]:
    return [f"/athletes/{aid}/{p}" for p in ("today", "checkin", "trends", "activities", "import", "settings")]


def test_anonymous_pages_redirect_to_login(app_client: TestClient, seeded: Any) -> None:
    r = app_client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    r = app_client.get(f"/athletes/{seeded.athlete_id}/today", headers={"accept": "text/html"},
                       follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login?next=/athletes/")


def test_login_wrong_password_then_right(app_client: TestClient, seeded: Any) -> None:
    r = app_client.post("/login", data={"email": "ath@example.org", "password": "nope", "next": "/"})
    assert r.status_code == 401
    assert "Log in" in r.text and "lydiard_session" not in r.headers.get("set-cookie", "")
    r = app_client.post("/login", data={"email": "ath@example.org", "password": "correct horse battery staple 42",
                                        "next": "https://evil.example/"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/", "no open redirect after login"
    r = app_client.get("/", follow_redirects=False)
    assert r.headers["location"] == f"/athletes/{seeded.athlete_id}/today"


def test_every_athlete_page_renders_without_inline_code(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    login(app_client)
    for url in pages(seeded.athlete_id):
        r = app_client.get(url)
        assert r.status_code == 200, url
        assert "content-security-policy" in r.headers
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert_csp_clean(r.text)
        assert re.search(r'href="/static/v/[0-9a-f]{12}/app\.css"', r.text), url
        assert re.search(r'src="/static/v/[0-9a-f]{12}/app\.js"', r.text), url


def test_today_shows_stage_recommendation_and_range_bars(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    login(app_client)
    html = app_client.get(f"/athletes/{seeded.athlete_id}/today").text
    headline = re.search(r'data-testid="headline">([^<]+)<', html)
    assert headline and headline.group(1).strip()
    advice = re.search(r'data-testid="advice">([^<]+)<', html)
    assert advice and len(advice.group(1).strip()) > 10
    assert 'class="rangebar"' in html, "markers are drawn against their normal range"
    assert "No check-in for this day yet" in html
    assert "Your data and how you feel agree" not in html, "no agreement is claimed before a check-in"
    assert html.count('class="rangebar"') == html.count('data-marker="') - html.count('class="nobar"')
    for internal in ("Cv ln rmssd", "Acwr ewma", "Energy z", "ln_rmssd_7d</", "(normal -1.0"):
        assert internal not in html


def test_checkin_form_post_changes_today(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    csrf = login(app_client)
    aid = seeded.athlete_id
    form = {"csrf_token": csrf, "energy": "1", "mood": "1", "motivation": "2", "soreness": "1",
            "sleep_quality": "1", "stress": "2", "readiness": "2", "sleep_h": "5.5", "note": "rough night",
            "illness": "1"}
    r = app_client.post(f"/athletes/{aid}/checkin", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/athletes/{aid}/today?saved=1"
    html = app_client.get(r.headers["location"]).text
    assert "Check-in saved" in html, "the redirect after POST lands on Today with a confirmation"
    assert 'data-testid="checked-in"' in html
    assert "No check-in for this day yet" not in html
    assert "Rest" in html, "an illness check-in turns today's advice into rest"
    assert "Illness reported: rest" in html, "the headline says what the advice is about"
    assert "Check-in saved" not in app_client.get(f"/athletes/{aid}/today").text
    again = app_client.get(f"/athletes/{aid}/checkin").text
    assert 'id="energy-1" name="energy" value="1" checked' in again, "the stored answers are shown for editing"
    assert "rough night" in again


def test_checkin_json_submit_and_validation(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    csrf = login(app_client)
    aid = seeded.athlete_id
    headers = {"accept": "application/json", "X-CSRF-Token": csrf}
    r = app_client.post(f"/athletes/{aid}/checkin", data={"energy": "4", "readiness": "8"}, headers=headers)
    assert r.status_code == 200 and r.json()["redirect"] == f"/athletes/{aid}/today?saved=1"
    r = app_client.post(f"/athletes/{aid}/checkin", data={"energy": "9"}, headers=headers)
    assert r.status_code == 422 and "energy" in r.json()["detail"]
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "energy": "9"})
    assert r.status_code == 422 and "between 1 and 5" in r.text and "Save check-in" in r.text
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "rhr_bpm": "fast"})
    assert r.status_code == 422 and "Resting HR must be a number" in r.text
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "rmssd_ms": "900"})
    assert r.status_code == 422 and "morning HRV (rMSSD) must be between 1 and 500 ms" in r.text


def test_checkin_takes_a_hand_typed_morning_hrv_and_resting_hr(
        app_client: TestClient, seeded: Any, ctx: Any, login: Callable[..., str]) -> None:
    from lydiard.services import checkin as checkin_svc
    from lydiard.services.access import Actor
    from lydiard.services.metrics import local_today

    csrf = login(app_client)
    aid = seeded.athlete_id
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "energy": "4", "rmssd_ms": "62.5",
                                                          "rhr_bpm": "48"}, follow_redirects=False)
    assert r.status_code == 303
    stored = checkin_svc.get_checkin(ctx, Actor.system(), aid, day=local_today(ctx, "Europe/Oslo"))
    assert (stored.rmssd_ms, stored.rhr_bpm, stored.energy) == (62.5, 48.0, 4.0)
    again = app_client.get(f"/athletes/{aid}/checkin").text
    assert 'value="62.5"' in again and 'value="48"' in again


def test_a_coach_reads_the_athletes_checkin_and_cannot_replace_it(
        app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    aid = seeded.athlete_id
    csrf = login(app_client)
    assert app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "mood": "5"},
                           follow_redirects=False).status_code == 303
    app_client.cookies.clear()
    csrf = login(app_client, "coach@example.org")
    page = app_client.get(f"/athletes/{aid}/checkin").text
    assert 'data-testid="coach-notice"' in page and "only Ada Athlete can record or change it" in page
    assert '<fieldset class="read-only" disabled>' in page and "Save check-in" not in page
    assert 'id="mood-5" name="mood" value="5" checked' in page, "the coach reads the athlete's answers"
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "mood": "1"})
    assert r.status_code == 403
    mine = app_client.get(f"/athletes/{aid}/checkin").text
    assert 'id="mood-5" name="mood" value="5" checked' in mine, "nothing stored was lost"


def test_checkin_for_an_earlier_day(app_client: TestClient, seeded: Any, login: Callable[..., str], clock) -> None:  # type: ignore[no-untyped-def]
    csrf = login(app_client)
    aid = seeded.athlete_id
    page = app_client.get(f"/athletes/{aid}/checkin?day=2025-06-20")
    assert 'name="day" value="2025-06-20"' in page.text
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "day": "2025-06-20", "mood": "5"},
                        follow_redirects=False)
    assert r.headers["location"] == f"/athletes/{aid}/today?saved=1&day=2025-06-20"
    assert 'id="mood-5" name="mood" value="5" checked' in app_client.get(f"/athletes/{aid}/checkin?day=2025-06-20").text


def test_post_without_csrf_is_refused(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    login(app_client)
    r = app_client.post(f"/athletes/{seeded.athlete_id}/checkin", data={"energy": "3"},
                        headers={"accept": "text/html"})
    assert r.status_code == 403


def test_other_users_cannot_open_the_athlete(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    login(app_client, "stranger@example.org")
    for url in [*pages(seeded.athlete_id), f"/athletes/{seeded.athlete_id}/trends/data.json"]:
        r = app_client.get(url, headers={"accept": "text/html"})
        assert r.status_code == 404, url
        # the name, not the letters "Ada" inside the page's random (masked) CSRF token
        assert not re.search(r"(?<![A-Za-z0-9_-])Ada(?![A-Za-z0-9_-])", r.text), url


def test_trends_data_has_charts_with_points_and_is_cached(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    login(app_client)
    url = f"/athletes/{seeded.athlete_id}/trends/data.json"
    r = app_client.get(url)
    assert r.status_code == 200
    body = r.json()
    n = len(body["days"])
    assert n > 30 and len(body["stages"]) == n and any(body["stages"])
    for key in ("ctl", "atl", "tsb", "load_au", "ln_rmssd", "ln_rmssd_7d", "rhr_bpm", "sleep_h", "energy", "monotony"):
        assert len(body["series"][key]) == n, key
        assert sum(v is not None for v in body["series"][key]) > 30, key
    r2 = app_client.get(url, headers={"if-none-match": r.headers["etag"]})
    assert r2.status_code == 304


def test_trends_data_follows_a_new_checkin(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    csrf = login(app_client)
    url = f"/athletes/{seeded.athlete_id}/trends/data.json"
    before = app_client.get(url).json()
    app_client.post(f"/athletes/{seeded.athlete_id}/checkin", data={"csrf_token": csrf, "sleep_h": "3.25"})
    after = app_client.get(url).json()
    assert before["version"] != after["version"]
    assert after["series"]["sleep_h"][-1] == 3.25


def test_static_files_are_compressed_and_cached_under_versioned_urls(app_client: TestClient, seeded: Any,
                                                                    login: Callable[..., str]) -> None:
    login(app_client)
    page = app_client.get(f"/athletes/{seeded.athlete_id}/trends", headers={"accept-encoding": "gzip"})
    assert page.status_code == 200 and page.headers.get("content-encoding") == "gzip", "HTML is compressed"
    urls = re.findall(r'(?:src|href)="(/static/v/[0-9a-f]{12}/[^"]+)"', page.text)
    assert {u.rsplit("/", 1)[-1] for u in urls} >= {"app.js", "app.css", "charts.js", "charts.css",
                                                    "uPlot.iife.min.js", "uPlot.min.css"}
    js_compressed = 0
    for url in urls:
        r = app_client.get(url, headers={"accept-encoding": "gzip"})
        assert r.status_code == 200, url
        assert r.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert r.headers["content-encoding"] == "gzip" and "accept-encoding" in r.headers["vary"].lower(), url
        if url.endswith(".js"):
            js_compressed += int(r.headers["content-length"])
        again = app_client.get(url, headers={"if-none-match": r.headers["etag"]})
        assert again.status_code == 304, url
    assert js_compressed < 200 * 1024, f"{js_compressed} bytes of JavaScript (compressed) on Trends"
    # The hash is the file's content: another hash is not cached immutably; plain paths still answer.
    stale = re.sub(r"/static/v/[0-9a-f]{12}/", "/static/v/000000000000/", urls[0])
    assert "immutable" not in app_client.get(stale).headers["cache-control"]
    plain = app_client.get("/static/app.js")
    assert plain.status_code == 200 and plain.headers["cache-control"] == "public, max-age=3600"
    assert plain.headers["content-type"].startswith("text/javascript")
    assert app_client.get("/static/vendor/plotly.min.js").status_code == 404
    assert app_client.get("/static/../pyproject.toml").status_code == 404


def test_trends_page_has_captions_and_tables_without_script(app_client: TestClient, seeded: Any,
                                                            login: Callable[..., str]) -> None:
    login(app_client)
    html = app_client.get(f"/athletes/{seeded.athlete_id}/trends").text
    for key in ("pmc", "hrv", "rhr", "sleep", "checkin", "stages", "monotony"):
        assert f'data-testid="caption-{key}"' in html, key
        assert f'data-testid="table-{key}"' in html, key
    assert "Loading charts" not in html, "no status that only a script could clear"
    assert "Normal adaptation" in html or "Calibrating" in html
    assert_csp_clean(html)


def test_settings_threshold_history_and_units(app_client: TestClient, seeded: Any, login: Callable[..., str]) -> None:
    csrf = login(app_client)
    aid = seeded.athlete_id
    url = f"/athletes/{aid}/settings"
    r = app_client.post(f"{url}/threshold", follow_redirects=False,
                        data={"csrf_token": csrf, "kind": "hr_max_bpm", "value": "188", "valid_from": "2025-05-01"})
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=threshold", "redirect after POST"
    html = app_client.get(r.headers["location"]).text
    assert "Threshold saved" in html
    assert re.search(r"Max heart rate</td><td>01 May 2025</td><td class=\"num\">188 bpm<", html), "whole units"
    r = app_client.post(f"{url}/threshold", follow_redirects=False,
                        data={"csrf_token": csrf, "kind": "threshold_speed_mps", "value": "4:10",
                              "valid_from": "2025-05-01"})
    assert r.status_code == 303
    html = app_client.get(url).text
    assert re.search(r"Threshold pace</td><td>01 May 2025</td><td class=\"num\">4:10 /km<", html), "pace, not m/s"
    r = app_client.post(f"{url}/threshold",
                        data={"csrf_token": csrf, "kind": "hr_max_bpm", "value": "999", "valid_from": "2025-05-01"})
    assert r.status_code == 422 and "Max heart rate must be between 100 and 240 bpm." in r.text
    assert "hr_max_bpm must" not in r.text, "no internal names in errors"
    assert 'value="999"' in r.text, "what was typed is kept"
    r = app_client.post(f"{url}/threshold",
                        data={"csrf_token": csrf, "kind": "threshold_speed_mps", "value": "4:75",
                              "valid_from": "2025-05-01"})
    assert r.status_code == 422 and "minutes:seconds per km" in r.text
    r = app_client.post(f"{url}/profile", follow_redirects=False,
                        data={"csrf_token": csrf, "name": "Ada L.", "tz": "Europe/Oslo", "units": "imperial"})
    assert r.status_code == 303
    html = app_client.get(r.headers["location"]).text
    assert "Profile saved" in html and 'value="imperial" checked' in html
    assert "/mi<" in html and "per mile" in html, "pace follows the account's units"
    r = app_client.post(f"{url}/baselines", follow_redirects=False,
                        data={"csrf_token": csrf, "hrv_baseline_days": "45", "window_days": "7"})
    assert r.status_code == 303
    assert 'id="hrv_baseline_days-out">45<' in app_client.get(url).text


def test_import_page_uploads_and_lists_results(app_client: TestClient, seeded: Any, login: Callable[..., str],
                                                 make_gpx: Callable[..., bytes]) -> None:
    from datetime import UTC, datetime

    csrf = login(app_client)
    aid = seeded.athlete_id
    data = make_gpx(datetime(2025, 6, 28, 7, 0, tzinfo=UTC))
    files = [("files", ("run.gpx", data, "application/gpx+xml")), ("files", ("junk.txt", b"hello", "text/plain"))]
    r = app_client.post(f"/athletes/{aid}/import", data={"csrf_token": csrf}, files=files)
    assert r.status_code == 200
    assert 'data-testid="import-results"' in r.text
    assert re.search(r"1 imported", r.text)
    assert "junk.txt" in r.text
    listing = app_client.get(f"/athletes/{aid}/activities").text
    m = re.search(rf'href="/athletes/{aid}/activities/([0-9a-f]+)"', listing)
    assert m, "the imported activity is listed"
    detail = app_client.get(f"/athletes/{aid}/activities/{m.group(1)}")
    assert detail.status_code == 200
    block = re.search(r'<script type="application/json" id="chart-page">(.*?)</script>', detail.text, re.S)
    assert block
    charts = json.loads(block.group(1))
    assert charts["specs"][0]["key"] == "hr_bpm"
    assert len(charts["data"]["series"]["hr_bpm"]) == len(charts["data"]["x"]) > 100
    assert "pace" in charts["data"]["series"] and "speed" not in charts["data"]["series"], "a run shows pace"
    assert 'data-testid="track"' in detail.text, "a GPS track is drawn without map tiles"
    assert "run.gpx" not in detail.text.split("<h1>", 1)[1].split("</h1>", 1)[0], "titled by sport, not file name"
    assert_csp_clean(detail.text)
    again = app_client.post(f"/athletes/{aid}/import", data={"csrf_token": csrf},
                            files=[("files", ("run.gpx", data, "application/gpx+xml"))])
    assert "1 already present" in again.text


@pytest.mark.parametrize("email", ["coach@example.org"])
def test_roster_ranks_by_need_with_sparklines(app_client: TestClient, seeded: Any, login: Callable[..., str], email: str) -> None:
    login(app_client, email)
    r = app_client.get("/", follow_redirects=False)
    assert r.headers["location"] == "/roster", "a coach without an own profile lands on the roster"
    html = app_client.get("/roster").text
    assert_csp_clean(html)
    order = re.findall(r'<li data-athlete="([0-9a-f]+)" data-need="([0-9.]+)"', html)
    assert {a for a, _ in order} == {seeded.athlete_id, *seeded.managed_ids.values()}
    needs = [float(n) for _, n in order]
    assert needs == sorted(needs, reverse=True), "most in need first"
    assert html.count('<svg class="spark"') == 3
    assert html.count("<figcaption>") == 3 and "ln rMSSD" not in html, "each sparkline says what it shows"
    stages = re.findall(r'class="badge stage-([a-z_]+)"', html)
    flagged = sum(1 for st in stages if st not in ("normal", "calibrating"))
    assert html.count('class="attention"') >= flagged, "athletes in a fatigue stage are marked"
    assert app_client.get(f"/athletes/{seeded.managed_ids['illness']}/today").status_code == 200


def test_roster_kept_between_views_follows_a_checkin(app_client: TestClient, seeded: Any,
                                                     login: Callable[..., str]) -> None:
    """The rendered roster list is kept per roster fingerprint: a check-in shows on the next view."""
    aid = seeded.athlete_id

    def missing(html: str) -> int:
        item = re.search(rf'<li data-athlete="{aid}".*?</li>', html, re.S)
        assert item is not None
        m = re.search(r"(\d+) of 7 check-ins missing", item.group(0))
        return int(m.group(1)) if m else 0

    csrf = login(app_client)
    already = 'data-testid="checked-in"' in app_client.get(f"/athletes/{aid}/today").text
    app_client.cookies.clear()
    login(app_client, "coach@example.org")
    before = app_client.get("/roster").text

    def without_csrf(html: str) -> str:  # the CSRF token is masked afresh in every response
        return re.sub(r'(content|value)="[A-Za-z0-9_-]{80,}"', "", html)

    assert without_csrf(app_client.get("/roster").text) == without_csrf(before), "nothing changed: the same roster"
    app_client.cookies.clear()
    csrf = login(app_client)
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "energy": "2", "sleep_h": "4.5"})
    assert r.status_code in (200, 303)
    app_client.cookies.clear()
    login(app_client, "coach@example.org")
    after = app_client.get("/roster").text
    assert missing(after) == missing(before) - (0 if already else 1)


def test_pages_mask_the_csrf_token_afresh_and_every_mask_works(
        app_client: TestClient, seeded: Any, ctx: Any, login: Callable[..., str]) -> None:
    """BREACH: the token in a compressed page is masked with a new pad per response, so the raw
    secret never appears in a page; each masked form is accepted, a tampered one is refused."""
    import re

    from lydiard.services import users as user_svc

    first = login(app_client)
    aid = seeded.athlete_id
    page = app_client.get(f"/athletes/{aid}/checkin").text
    second = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert second is not None and second.group(1) != first
    with ctx.engine.connect() as conn:
        raw = conn.execute(user_svc.login_sessions.select()).first().csrf_token
    assert raw not in page and raw not in app_client.get(f"/athletes/{aid}/today").text
    for token in (first, second.group(1), raw):  # masked (two pads) and the plain one of the login API
        assert app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": token, "mood": "4"},
                               follow_redirects=False).status_code == 303
    tampered = first[:-2] + ("AA" if first[-2:] != "AA" else "BB")
    for bad in (tampered, "not base64 !", raw[:-1] + ("x" if raw[-1] != "x" else "y")):
        assert app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": bad, "mood": "4"},
                               follow_redirects=False).status_code == 403
