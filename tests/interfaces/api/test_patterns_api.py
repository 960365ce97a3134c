"""Patterns in the API and on the pages: an athlete's recurring fatigue episodes
(GET /athletes/{id}/patterns and the Trends page) and the roster's trend toward deep fatigue."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from lydiard.services import coaching
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.summaries import refresh_summaries
from lydiard.storage import tables as t

API = "/api/v1"


def store_days(ctx: Context, athlete_id: str, stages: list[str], *, evidence: list[float] | None = None,
               first: date) -> None:
    """Stored daily metrics (test setup: the engine's stages are tested elsewhere)."""
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(t.daily_metrics), [
            {"athlete_id": athlete_id, "day": first + timedelta(days=k), "load_au": 50.0, "ctl": 40.0, "atl": 40.0,
             "tsb": 0.0, "stage": s, "confidence": 0.8, "computed_at": ctx.clock(),
             "evidence_sum": None if evidence is None else evidence[k]}
            for k, s in enumerate(stages)])
        refresh_summaries(conn, [athlete_id], now=ctx.clock())


def test_patterns_route_and_trends_page_say_it_in_plain_words(world: Any, ctx: Context) -> None:
    p = world.user("patterned")
    today = ctx.clock().date()
    first = today - timedelta(days=119)
    stages = ["normal"] * 120
    for s in (40, 80):
        stages[s:s + 5] = ["deep_fatigue"] * 5
    store_days(ctx, p.athlete_id, stages, first=first)
    with ctx.engine.begin() as conn:  # daily stress answers (calm), and two planned races a week before an episode
        conn.execute(sa.insert(t.daily_observations), [
            {"athlete_id": p.athlete_id, "day": first + timedelta(days=k), "source": "csv", "stress": 4.0,
             "updated_at": ctx.clock()} for k in range(120)])
        for s in (33, 73):
            conn.execute(sa.insert(t.planned_sessions).values(
                id=f"race{s}", athlete_id=p.athlete_id, day=first + timedelta(days=s), sport="run",
                session_type="race", duration_s=3600.0, expected_load_au=80.0, origin="manual",
                created_at=ctx.clock(), updated_at=ctx.clock()))
            conn.execute(sa.insert(t.session_logs).values(  # the race itself, logged
                id=f"log{s}", athlete_id=p.athlete_id, day=first + timedelta(days=s), source="manual", sport="run",
                duration_s=3600.0, rpe=8.0, external_id=f"log{s}", created_at=ctx.clock()))
    r = p.client.get(f"{API}/athletes/{p.athlete_id}/patterns")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["episodes"] == [(first + timedelta(days=s)).isoformat() for s in (40, 80)]
    assert [x["pattern"] for x in body["patterns"]] == ["after_race"]
    assert body["patterns"][0]["text"] == "2 of your 2 fatigue episodes began within 14 days after a race."
    trends_page = p.client.get(f"/athletes/{p.athlete_id}/trends")
    assert trends_page.status_code == 200 and f'href="/athletes/{p.athlete_id}/patterns"' in trends_page.text
    page = p.client.get(f"/athletes/{p.athlete_id}/patterns")
    assert page.status_code == 200
    assert 'data-testid="patterns"' in page.text
    assert "2 of your 2 fatigue episodes began within 14 days after a race." in page.text
    other = world.user("stranger")
    assert other.client.get(f"{API}/athletes/{p.athlete_id}/patterns").status_code == 404


def test_roster_shows_who_is_trending_toward_deep_fatigue(world: Any, ctx: Context) -> None:
    coach = world.user("coach", athlete=False)
    steady, rising = world.user("steady"), world.user("rising")
    today = ctx.clock().date()
    first = today - timedelta(days=29)
    for person, evidence in ((steady, [0.1] * 30), (rising, [0.0] * 22 + [0.2 + 0.4 * k for k in range(8)])):
        coaching.invite_athlete(ctx, Actor(user_id=coach.user.id), athlete_email=person.user.email)
        link = coaching.list_links(ctx, Actor(user_id=person.user.id))[0]
        coaching.respond_to_invitation(ctx, Actor(user_id=person.user.id), link.id, accept=True)
        store_days(ctx, person.athlete_id, ["normal"] * 22 + ["surface_fatigue"] * 8, evidence=evidence, first=first)
    roster = {e["athlete_id"]: e for e in coach.client.get(f"{API}/roster").json()}
    assert roster[rising.athlete_id]["trending"] is True
    assert roster[rising.athlete_id]["trend_score"] >= coaching.TRENDING_SCORE
    assert roster[rising.athlete_id]["days_to_deep"] is not None
    assert roster[steady.athlete_id]["trending"] is False
    assert roster[rising.athlete_id]["need_score"] > roster[steady.athlete_id]["need_score"]
    page = coach.client.get("/roster")
    assert page.status_code == 200
    row = page.text.split(f'data-athlete="{rising.athlete_id}"')[1].split("</li>")[0]
    assert "trending toward deep fatigue" in row
    row = page.text.split(f'data-athlete="{steady.athlete_id}"')[1].split("</li>")[0]
    assert "trending toward deep fatigue" not in row


def test_race_flags_through_the_api_and_the_check_in_form(world: Any, ctx: Context) -> None:
    p = world.user("racer")
    day = ctx.clock().date()
    activity_id = world.activity(p.athlete_id, name="10 km", day=day - timedelta(days=1))
    r = p.client.patch(f"{API}/athletes/{p.athlete_id}/activities/{activity_id}", headers=p.headers,
                       json={"race": True})
    assert r.status_code == 200, r.text
    assert r.json()["race"] is True
    got = p.client.get(f"{API}/athletes/{p.athlete_id}/activities/{activity_id}").json()
    assert got["summary"]["race"] is True
    assert p.client.patch(f"{API}/athletes/{p.athlete_id}/activities/{activity_id}", headers=p.headers,
                          json={"race": True, "sport": "x"}).status_code == 422
    assert p.client.patch(f"{API}/athletes/{p.athlete_id}/activities/nope", headers=p.headers,
                          json={"race": True}).status_code == 404
    with ctx.engine.connect() as conn:
        rule = conn.execute(sa.select(t.daily_metrics.c.detail).where(
            t.daily_metrics.c.athlete_id == p.athlete_id, t.daily_metrics.c.day == day)).scalar_one()
    assert rule["evidence"]["race"]["rule"] == "flagged"
    # the check-in: API and the web form
    r = p.client.put(f"{API}/athletes/{p.athlete_id}/checkins/{day.isoformat()}", headers=p.headers,
                     json={"energy": 3, "race": True})
    assert r.status_code == 200 and r.json()["race"] is True
    page = p.client.get(f"/athletes/{p.athlete_id}/checkin?day={day.isoformat()}")
    assert page.status_code == 200
    assert 'name="race" value="1" checked' in page.text
