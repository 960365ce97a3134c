"""The athlete's control pages: My coach (accept, revoke, hand-over offers), Sessions, access log."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from lydiard.services import coaching
from lydiard.services.users import actor_for

PASSWORD = "correct horse battery staple 42"


def _form_actions(html: str) -> list[str]:
    return re.findall(r'<form[^>]*action="([^"]+)"', html)


def test_my_coach_shows_who_sees_my_data_and_revokes(world: Any, ctx: Any) -> None:
    owner = world.user("olga")
    ids = world.seed(owner)
    coach = world.user("coach", athlete=False)
    coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    html = owner.client.get("/my-coach").text
    assert "Coach" in html and "No coach sees your data" in html
    accept = next(a for a in _form_actions(html) if a.endswith("/accept"))
    assert owner.client.post(accept, data={}, follow_redirects=False).status_code == 403  # no CSRF token
    r = owner.client.post(accept, data={"csrf_token": owner.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/my-coach?done=accept"
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}").status_code == 200
    html = owner.client.get("/my-coach").text
    assert "Revoke access" in html
    revoke = next(a for a in _form_actions(html) if a.endswith("/revoke"))
    assert coach.client.post(revoke.replace("revoke", "accept"), data={"csrf_token": coach.csrf},
                             follow_redirects=False).status_code == 404  # not the coach's to answer
    r = owner.client.post(revoke, data={"csrf_token": owner.csrf}, follow_redirects=False)
    assert r.status_code == 303
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}").status_code == 404


def test_hand_over_offer_accepted_on_the_web(world: Any, ctx: Any) -> None:
    coach = world.user("coach", athlete=False)
    new = world.user("newbie", athlete=False)
    managed = coach.client.post("/api/v1/athletes", json={"name": "Kept For You"}, headers=coach.headers).json()["id"]
    coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": new.user.email},
                      headers=coach.headers)
    html = new.client.get("/my-coach").text
    assert "Kept For You" in html
    accept = next(a for a in _form_actions(html) if "/offers/" in a and a.endswith("/accept"))
    r = new.client.post(accept, data={"csrf_token": new.csrf}, follow_redirects=False)
    assert r.status_code == 303
    html = new.client.get("/my-coach").text
    assert "Revoke access" in html and "Coach" in html
    assert new.client.get(f"/athletes/{managed}/audit").status_code == 200


def test_sessions_page_ends_another_session(world: Any, app: Any) -> None:
    p = world.user("sally", athlete=False)
    with TestClient(app, headers={"User-Agent": "Phone/2"}) as phone:
        assert phone.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD}).status_code == 200
        html = p.client.get("/sessions").text
        assert "Phone/2" in html and "(this one)" in html
        rows = re.findall(r"<tr>(.*?)</tr>", html, flags=re.S)
        phone_row = next(r for r in rows if "Phone/2" in r)
        assert "(this one)" not in phone_row
        r = p.client.post(_form_actions(phone_row)[0], data={"csrf_token": p.csrf}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/sessions?done=ended"
        assert phone.get("/api/v1/auth/me").status_code == 401
        assert p.client.get("/api/v1/auth/me").status_code == 200


def test_access_log_page_shows_coach_reads(world: Any, ctx: Any) -> None:
    owner = world.user("otto")
    ids = world.seed(owner)
    coach = world.user("coach", athlete=False)
    coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    link = coaching.list_links(ctx, actor_for(owner.user))[0]
    coaching.respond_to_invitation(ctx, actor_for(owner.user), link.id, accept=True)
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}").status_code == 200
    html = owner.client.get(f"/athletes/{ids['athlete_id']}/audit").text
    assert "Coach" in html and "GET /api/v1/athletes/{athlete_id}/checkins/{day}" in html
    assert coach.client.get(f"/athletes/{ids['athlete_id']}/audit").status_code in (403, 404)
