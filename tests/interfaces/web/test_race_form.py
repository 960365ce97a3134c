"""The activity page's race form (issue 15): a session marked as a race from the web dashboard
goes through the same service and write pipeline as the API's PATCH, so the stored days and
Today read the days after it as race recovery; redirect after POST with a confirmation; the
same access rule as the API; the CSRF token is required."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi.testclient import TestClient

from lydiard.interfaces.http.auth import same_csrf
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.storage import tables as t

TZ = "Europe/Oslo"


def _import_yesterdays_run(client: TestClient, csrf: str, aid: str, ctx: Context,
                           make_gpx: Callable[..., bytes]) -> tuple[str, Any]:
    """A 15-minute run yesterday, imported through the web form; its activity id and day."""
    day = local_today(ctx, TZ) - timedelta(days=1)
    start = datetime.combine(day, time(8, 0), tzinfo=ZoneInfo(TZ)).astimezone(UTC)
    r = client.post(f"/athletes/{aid}/import", data={"csrf_token": csrf},
                    files=[("files", ("run.gpx", make_gpx(start), "application/gpx+xml"))])
    assert r.status_code == 200 and re.search(r"1 imported", r.text), r.text
    with ctx.engine.connect() as conn:
        activity_id = conn.execute(sa.select(t.activities.c.id).where(
            t.activities.c.athlete_id == aid, t.activities.c.day == day)).scalar_one()
    return str(activity_id), day


def _stored(ctx: Context, aid: str, day: Any) -> Any:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(t.daily_metrics.c.stage, t.daily_metrics.c.recommendation_code,
                                      t.daily_metrics.c.detail, t.daily_metrics.c.computed_at).where(
            t.daily_metrics.c.athlete_id == aid, t.daily_metrics.c.day == day)).one()


def _race_flag(ctx: Context, activity_id: str) -> bool | None:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(t.activities.c.race).where(t.activities.c.id == activity_id)).scalar_one()


def _headline(html: str) -> str:
    m = re.search(r'data-testid="headline">([^<]+)<', html)
    assert m, "Today has a headline"
    return m.group(1).strip()


def test_the_race_form_reaches_the_stored_days_and_today(
        app_client: TestClient, seeded: Any, ctx: Context, clock: Any, login: Callable[..., str],
        make_gpx: Callable[..., bytes]) -> None:
    csrf = login(app_client)
    aid = seeded.athlete_id
    activity_id, race_day = _import_yesterdays_run(app_client, csrf, aid, ctx, make_gpx)
    today = local_today(ctx, TZ)
    url = f"/athletes/{aid}/activities/{activity_id}"
    page = app_client.get(url).text
    assert 'data-testid="race-form"' in page and f'action="{url}/race"' in page
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert form_token is not None and same_csrf(form_token.group(1), csrf), "the form carries the session's CSRF token"
    assert "Not marked as a race." in page and ">Mark as a race</button>" in page and ">Not a race</button>" in page
    before = _stored(ctx, aid, today)
    assert "race" not in (before.detail.get("evidence") or {}), "a 15-minute run is no race by itself"
    today_before = app_client.get(f"/athletes/{aid}/today").text
    assert _headline(today_before) != "Race recovery"

    clock.now += timedelta(minutes=5)  # the recompute stamps its rows: a new time shows it ran
    r = app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "1"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"{url}?done=race"
    page = app_client.get(r.headers["location"]).text
    assert "Marked as a race: the days from this session on were recalculated" in page, "a confirmation"
    status = re.search(r'data-testid="race-status">(.*?)</p>', page, re.S)
    assert status and '<span class="badge">Race</span>' in status.group(1)
    assert ">Not a race</button>" in page and 'name="race" value="0"' in page
    assert "Marked as a race" not in app_client.get(url).text.split('data-testid="race-status"')[0], \
        "the confirmation is shown once, after the POST"
    assert _race_flag(ctx, activity_id) is True
    assert re.search(rf'{activity_id}">[^<]+</a> <span class="badge">Race</span>',
                     app_client.get(f"/athletes/{aid}/activities").text), "the list marks the race"

    # the write pipeline recomputed the days from the race day: the stored evidence names the race
    after = _stored(ctx, aid, today)
    assert after.computed_at != before.computed_at
    race = after.detail["evidence"]["race"]
    assert race["rule"] == "flagged" and race["day"] == race_day.isoformat()
    assert after.detail["recommendation"]["reason"] == "race"
    assert (after.recommendation_code, after.detail["recommendation"]) != \
        (before.recommendation_code, before.detail["recommendation"])
    today_html = app_client.get(f"/athletes/{aid}/today").text
    assert _headline(today_html) == "Race recovery", "Today reads the day after the race as race recovery"
    assert "low markers after a race are expected" in today_html
    with ctx.engine.connect() as conn:
        entry = conn.execute(sa.select(t.audit_log.c.actor_user_id, t.audit_log.c.detail).where(
            t.audit_log.c.action == "activity.race")).one()
    assert entry.actor_user_id == seeded.athlete_user_id and entry.detail["race"] is True

    # taking it back: the days are recomputed again and Today no longer speaks of a race
    r = app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "0"}, follow_redirects=True)
    assert r.status_code == 200 and str(r.url).endswith("?done=not_race")
    assert "Marked as not a race: Lydiard will not read this session as a race" in r.text
    status = re.search(r'data-testid="race-status">(.*?)</p>', r.text, re.S)
    assert status and status.group(1).startswith("Marked as not a race")
    assert ">Mark as a race</button>" in r.text and ">Not a race</button>" not in r.text
    assert _race_flag(ctx, activity_id) is False
    assert "race" not in (_stored(ctx, aid, today).detail.get("evidence") or {})
    assert _headline(app_client.get(f"/athletes/{aid}/today").text) != "Race recovery"
    r = app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "maybe"})
    assert r.status_code == 422 and _race_flag(ctx, activity_id) is False
    r = app_client.post(f"/athletes/{aid}/activities/nope/race", data={"csrf_token": csrf, "race": "1"})
    assert r.status_code == 404


def test_the_race_form_needs_the_csrf_token(app_client: TestClient, seeded: Any, ctx: Context,
                                            login: Callable[..., str], make_gpx: Callable[..., bytes]) -> None:
    csrf = login(app_client)
    aid = seeded.athlete_id
    activity_id, _ = _import_yesterdays_run(app_client, csrf, aid, ctx, make_gpx)
    url = f"/athletes/{aid}/activities/{activity_id}/race"
    for data in ({"race": "1"}, {"csrf_token": "not-the-token", "race": "1"}):
        r = app_client.post(url, data=data, headers={"accept": "text/html"}, follow_redirects=False)
        assert r.status_code == 403, data
    r = app_client.post(url, data={"csrf_token": csrf, "race": "1"},
                        headers={"origin": "https://evil.example"}, follow_redirects=False)
    assert r.status_code == 403
    assert _race_flag(ctx, activity_id) is None, "nothing was stored"


def test_the_race_form_follows_the_apis_access_rule(app_client: TestClient, seeded: Any, ctx: Context,
                                                    login: Callable[..., str],
                                                    make_gpx: Callable[..., bytes]) -> None:
    """The web form calls the API's service: a stranger (or a coach without an active link) gets
    404 from both and changes nothing; the linked coach may mark a session (the API's rule:
    sessions are training data a coach may change, unlike the athlete's own check-in), audited
    under the coach's name; the athlete's check-in race flag stays the athlete's own."""
    from lydiard.services import coaching
    from lydiard.services.users import actor_for, get_user

    csrf = login(app_client)
    aid = seeded.athlete_id
    activity_id, race_day = _import_yesterdays_run(app_client, csrf, aid, ctx, make_gpx)
    url = f"/athletes/{aid}/activities/{activity_id}"
    api = f"/api/v1/athletes/{aid}/activities/{activity_id}"

    app_client.cookies.clear()
    csrf = login(app_client, "stranger@example.org")
    assert app_client.get(url, headers={"accept": "text/html"}).status_code == 404
    assert app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "1"}).status_code == 404
    assert app_client.patch(api, json={"race": True}, headers={"X-CSRF-Token": csrf}).status_code == 404
    assert _race_flag(ctx, activity_id) is None

    app_client.cookies.clear()
    csrf = login(app_client, "coach@example.org")
    assert 'data-testid="race-form"' in app_client.get(url).text
    r = app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "1"}, follow_redirects=False)
    assert r.status_code == 303 and _race_flag(ctx, activity_id) is True
    r = app_client.patch(api, json={"race": False}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200 and _race_flag(ctx, activity_id) is False, "the API gives the coach the same"
    with ctx.engine.connect() as conn:
        who = {r.actor_user_id for r in conn.execute(sa.select(t.audit_log.c.actor_user_id).where(
            t.audit_log.c.action == "activity.race"))}
    assert who == {seeded.coach_user_id}
    r = app_client.post(f"/athletes/{aid}/checkin", data={"csrf_token": csrf, "day": race_day.isoformat(),
                                                          "race": "1"})
    assert r.status_code == 403, "the check-in's race flag is the athlete's own report"

    # a revoked link ends the coach's access to the form as to the API
    coach = get_user(ctx, Actor.system(), seeded.coach_user_id)
    link = next(x for x in coaching.list_links(ctx, actor_for(coach)) if x.athlete_id == aid)
    coaching.revoke_link(ctx, actor_for(coach), link.id)
    assert app_client.post(f"{url}/race", data={"csrf_token": csrf, "race": "1"}).status_code == 404
    assert app_client.patch(api, json={"race": True}, headers={"X-CSRF-Token": csrf}).status_code == 404
    assert _race_flag(ctx, activity_id) is False
