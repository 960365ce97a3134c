"""The plan's JSON API on both backends: sessions, generation, changes and decisions, ICS."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from lydiard.interfaces.api.routes import plan as plan_routes
from lydiard.interfaces.http.auth import same_csrf
from lydiard.services import coaching
from lydiard.services import users as user_svc
from lydiard.services.context import Context
from lydiard.storage import tables as t

API = "/api/v1"


@pytest.fixture(autouse=True)
def plan_router(app: FastAPI) -> None:
    """Mount the plan routes when the API router does not include them (yet)."""
    if not any("/plan/" in getattr(r, "path", "") for r in app.router.routes):
        app.include_router(plan_routes.routes(), prefix=API)


def deep_fatigue(ctx: Context, athlete_id: str, day: date) -> None:
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(t.daily_metrics).values(
            athlete_id=athlete_id, day=day, load_au=50.0, ctl=40.0, atl=45.0, tsb=-5.0, stage="deep_fatigue",
            confidence=0.8, recommendation_code="back_off", computed_at=ctx.clock(),
            detail={"evidence": {}, "recommendation": {"code": "back_off", "text": "Back off", "days": 4,
                                                       "volume_pct": 30}}))


def add_week(p: Any, today: date) -> list[dict[str, Any]]:
    out = []
    for i, (kind, minutes) in enumerate([("intervals", 75), ("easy", 45), ("tempo", 60), ("easy", 40)]):
        r = p.client.post(f"{API}/athletes/{p.athlete_id}/plan/sessions", headers=p.headers,
                          json={"day": (today + timedelta(days=i)).isoformat(), "sport": "run",
                                "session_type": kind, "duration_s": minutes * 60})
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def test_sessions_crud_and_validation(world: Any, ctx: Context) -> None:
    p = world.user("solo")
    today: date = ctx.clock().date()
    base = f"{API}/athletes/{p.athlete_id}/plan"
    week = add_week(p, today)
    assert week[0]["expected_load_au"] == pytest.approx(118.8, abs=0.1)
    for body, field in (({"session_type": "nap"}, "session_type"), ({"duration_s": 0}, "duration_s"),
                        ({"duration_s": 90000}, "duration_s"), ({"day": "1900-01-01"}, "day")):
        payload = {"day": today.isoformat(), "session_type": "easy", "duration_s": 1800, **body}
        r = p.client.post(f"{base}/sessions", headers=p.headers, json=payload)
        assert r.status_code == 422, (body, r.text)
        assert field in r.text
    r = p.client.patch(f"{base}/sessions/{week[1]['id']}", headers=p.headers, json={"notes": "hills"})
    assert r.status_code == 200 and r.json()["notes"] == "hills"
    listed = p.client.get(f"{base}/sessions", params={"start": today.isoformat(),
                                                      "end": (today + timedelta(days=1)).isoformat()})
    assert [s["id"] for s in listed.json()] == [week[0]["id"], week[1]["id"]]
    assert p.client.delete(f"{base}/sessions/{week[3]['id']}", headers=p.headers).status_code == 204
    assert p.client.get(f"{base}/sessions/{week[3]['id']}").status_code == 404
    # CSRF: a cookie-authenticated write without the token is refused
    assert p.client.post(f"{base}/sessions", json={"day": today.isoformat(), "session_type": "easy",
                                                   "duration_s": 600}).status_code == 403
    # a stranger learns nothing
    stranger = world.user("stranger")
    assert stranger.client.get(f"{base}/sessions").status_code == 404
    assert stranger.client.post(f"{base}/changes/propose", headers=stranger.headers).status_code == 404


def test_generate_propose_accept_and_forecast(world: Any, ctx: Context) -> None:
    p = world.user("solo")
    today: date = ctx.clock().date()
    base = f"{API}/athletes/{p.athlete_id}/plan"
    r = p.client.post(f"{base}/generate", headers=p.headers,
                      json={"goal_day": (today + timedelta(weeks=12)).isoformat(), "goal_sport": "run",
                            "goal_distance_m": 10000, "weekly_hours": 6, "recovery_pattern": [3, 1]})
    assert r.status_code == 201, r.text
    assert any(s["notes"] == "recovery" for s in r.json())
    assert p.client.post(f"{base}/changes/propose", headers=p.headers).json() == {"change": None}
    deep_fatigue(ctx, p.athlete_id, today)
    change = p.client.post(f"{base}/changes/propose", headers=p.headers).json()["change"]
    assert change["status"] == "proposed" and change["load_change_au"] < 0 and change["diffs"]
    assert p.client.get(f"{base}/changes/pending").json()["change"]["id"] == change["id"]

    view = p.client.get(f"{base}").json()
    assert view["pending"]["id"] == change["id"] and not view["coach_managed"]
    fc = view["forecast"]
    assert fc["model_used"] is False and "tsb_planned" in fc["series"] and "tsb_adapted" in fc["series"]
    assert p.client.get(f"{base}/forecast").json()["race_day"] == (today + timedelta(weeks=12)).isoformat()

    r = p.client.post(f"{base}/changes/{change['id']}/approve", headers=p.headers, json={})
    assert r.status_code == 403  # not a coach
    r = p.client.post(f"{base}/changes/{change['id']}/override", headers=p.headers, json={})
    assert r.status_code == 422  # a note is required
    r = p.client.post(f"{base}/changes/{change['id']}/accept", headers=p.headers, json={"note": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    touched = {d["session_id"] for d in change["diffs"]}
    sessions = p.client.get(f"{base}/sessions").json()
    assert all(s["origin"] == "adapted" and s["original"] for s in sessions if s["id"] in touched)
    r = p.client.post(f"{base}/changes/{change['id']}/accept", headers=p.headers, json={})
    assert r.status_code == 409
    assert [c["status"] for c in p.client.get(f"{base}/changes").json()] == ["accepted"]


def test_coach_approves_edits_or_rejects(world: Any, ctx: Context) -> None:
    runner = world.user("runner")
    coach = world.user("coach", athlete=False)
    coaching.invite_athlete(ctx, user_svc.actor_for(coach.user), athlete_email=runner.user.email)
    link = coaching.list_links(ctx, user_svc.actor_for(runner.user))[0]
    coaching.respond_to_invitation(ctx, user_svc.actor_for(runner.user), link.id, accept=True)
    today: date = ctx.clock().date()
    base = f"{API}/athletes/{runner.athlete_id}/plan"
    week = add_week(runner, today)
    deep_fatigue(ctx, runner.athlete_id, today)
    change = runner.client.post(f"{base}/changes/propose", headers=runner.headers).json()["change"]
    assert runner.client.post(f"{base}/changes/{change['id']}/accept", headers=runner.headers,
                              json={}).status_code == 409
    r = coach.client.post(f"{base}/changes/{change['id']}/reject", headers=coach.headers, json={"note": "no"})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert runner.client.get(f"{base}/sessions/{week[0]['id']}").json()["session_type"] == "intervals"

    # the next proposal is edited by the coach, then applied
    change = coach.client.post(f"{base}/changes/propose", headers=coach.headers).json()["change"]
    assert change is not None
    r = coach.client.post(f"{base}/changes/{change['id']}/edit", headers=coach.headers,
                          json={"sessions": {week[0]["id"]: {"session_type": "rest", "duration_s": 0}},
                                "note": "take the day off"})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "approved" and r.json()["decided_by_user_id"] == coach.user.id
    assert runner.client.get(f"{base}/sessions/{week[0]['id']}").json()["session_type"] == "rest"


def test_ics_export_and_upload(world: Any, ctx: Context) -> None:
    p = world.user("solo")
    today: date = ctx.clock().date()
    base = f"{API}/athletes/{p.athlete_id}/plan"
    add_week(p, today)
    r = p.client.get(f"{base}/export.ics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/calendar")
    assert r.text.count("BEGIN:VEVENT") == 4
    up = p.client.post(f"{base}/import", headers=p.headers,
                       files={"file": ("plan.ics", r.content, "text/calendar")})
    assert up.status_code == 200, up.text
    assert (up.json()["created"], up.json()["unchanged"]) == (0, 4)
    csv = f"day,session_type,duration_min\n{(today + timedelta(days=5)).isoformat()},long,100\n".encode()
    up = p.client.post(f"{base}/import", headers=p.headers, files={"file": ("plan.csv", csv, "text/csv")},
                       data={"sport": "ride"})
    assert up.status_code == 200 and up.json()["sessions"][0]["sport"] == "ride"
    bad = p.client.post(f"{base}/import", headers=p.headers, files={"file": ("x.csv", b"nonsense", "text/csv")})
    assert bad.status_code == 422


# ----------------------------------------------------------------------------- the web page


@pytest.fixture
def plan_page(app: FastAPI) -> None:
    """Mount the plan page when the web package does not include it (yet)."""
    from lydiard.interfaces.web import plan_pages
    from lydiard.interfaces.web.render import Renderer

    if not any(getattr(r, "path", "") == "/athletes/{athlete_id}/plan" for r in app.router.routes):
        app.include_router(plan_pages.build_router(Renderer()))


def test_plan_page_self_coached(world: Any, ctx: Context, plan_page: None) -> None:
    p = world.user("solo")
    today: date = ctx.clock().date()
    add_week(p, today)
    deep_fatigue(ctx, p.athlete_id, today)
    change = p.client.post(f"{API}/athletes/{p.athlete_id}/plan/changes/propose", headers=p.headers).json()["change"]
    page = p.client.get(f"/athletes/{p.athlete_id}/plan")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-testid="calendar"' in html and "<del>Intervals 75 min" in html and "<ins>" in html
    assert 'data-testid="accept-form"' in html and 'data-testid="approve-form"' not in html
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert form_token is not None and same_csrf(form_token.group(1), p.csrf), "the form carries the session's CSRF token"
    assert '<script type="application/json" id="chart-page">' in html and "<script>" not in html
    assert 'data-chart="forecast"' in html and 'charts.js" defer></script>' in html, "the forecast chart is drawn"
    # overriding without a note re-renders with the error; with a note it is recorded
    r = p.client.post(f"/athletes/{p.athlete_id}/plan/changes/{change['id']}/override",
                      data={"csrf_token": p.csrf, "note": " "}, follow_redirects=False)
    assert r.status_code == 422 and "note is required" in r.text
    r = p.client.post(f"/athletes/{p.athlete_id}/plan/changes/{change['id']}/accept", data={"note": "x"},
                      follow_redirects=False)
    assert r.status_code == 403  # no CSRF token
    r = p.client.post(f"/athletes/{p.athlete_id}/plan/changes/{change['id']}/accept",
                      data={"csrf_token": p.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=accepted")
    html = p.client.get(r.headers["location"]).text
    assert "Change accepted" in html and "adapted" in html and 'data-testid="pending-change"' not in html


def test_plan_page_coach_sees_approve(world: Any, ctx: Context, plan_page: None) -> None:
    runner = world.user("runner")
    coach = world.user("coach", athlete=False)
    coaching.invite_athlete(ctx, user_svc.actor_for(coach.user), athlete_email=runner.user.email)
    link = coaching.list_links(ctx, user_svc.actor_for(runner.user))[0]
    coaching.respond_to_invitation(ctx, user_svc.actor_for(runner.user), link.id, accept=True)
    today: date = ctx.clock().date()
    add_week(runner, today)
    deep_fatigue(ctx, runner.athlete_id, today)
    change = coach.client.post(f"{API}/athletes/{runner.athlete_id}/plan/changes/propose",
                               headers=coach.headers).json()["change"]
    html = coach.client.get(f"/athletes/{runner.athlete_id}/plan").text
    assert 'data-testid="approve-form"' in html and 'data-testid="reject-form"' in html
    assert 'data-testid="accept-form"' not in html
    assert 'data-testid="waiting"' in runner.client.get(f"/athletes/{runner.athlete_id}/plan").text
    r = coach.client.post(f"/athletes/{runner.athlete_id}/plan/changes/{change['id']}/approve",
                          data={"csrf_token": coach.csrf, "note": "rest well"}, follow_redirects=False)
    assert r.status_code == 303
    assert world.user("stranger").client.get(f"/athletes/{runner.athlete_id}/plan").status_code == 404


def test_plan_page_add_import_generate(world: Any, ctx: Context, plan_page: None) -> None:
    """Planned sessions can be created from the web too: a form, a CSV/ICS upload, the generator."""
    p = world.user("solo")
    base = f"/athletes/{p.athlete_id}/plan"
    today: date = ctx.clock().date()
    html = p.client.get(base).text
    for form in ("add-session-form", "import-plan-form", "generate-plan-form"):
        assert f'data-testid="{form}"' in html

    def sessions() -> list[dict[str, Any]]:
        out = p.client.get(f"{API}/athletes/{p.athlete_id}/plan", headers=p.headers).json()["sessions"]
        assert isinstance(out, list)
        return out

    day = (today + timedelta(days=2)).isoformat()
    r = p.client.post(f"{base}/sessions", data={"csrf_token": p.csrf, "day": day, "session_type": "tempo",
                                                "sport": "run", "minutes": "50", "intensity_target": "Z3"},
                      follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].endswith("?done=added")
    assert [(s["day"], s["session_type"], s["duration_s"]) for s in sessions()] == [(day, "tempo", 3000.0)]
    # bad input: a clear 4xx message and nothing stored changes
    bad = p.client.post(f"{base}/sessions", data={"csrf_token": p.csrf, "day": day, "session_type": "nap"})
    assert bad.status_code == 422 and "session_type" in bad.text
    assert len(sessions()) == 1
    csv = f"day,sport,session_type,duration_min\n{(today + timedelta(days=3)).isoformat()},run,easy,40\n".encode()
    r = p.client.post(f"{base}/import", data={"csrf_token": p.csrf}, files={"file": ("plan.csv", csv, "text/csv")},
                      follow_redirects=False)
    assert r.status_code == 303, r.text
    assert len(sessions()) == 2
    r = p.client.post(f"{base}/generate", data={"csrf_token": p.csrf, "goal_day": (today + timedelta(weeks=12)).isoformat(),
                                                "goal_sport": "run", "weekly_hours": "6", "pattern": "3:1"},
                      follow_redirects=False)
    assert r.status_code == 303
    from lydiard.services import planning
    from lydiard.services.access import Actor

    planned = planning.list_sessions(ctx, Actor.system(), p.athlete_id, start=today, end=today + timedelta(weeks=13))
    assert [s.session_type for s in planned].count("race") == 1 and len(planned) > 20
