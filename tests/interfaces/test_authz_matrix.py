"""Black-box authorisation matrix: every route of the OpenAPI schema and every page and form ×
every role, with marker strings planted in the owner's data.

Routes come from the app itself (``app.routes``, checked to include every operation of
``/openapi.json``), so a new route or form is in the matrix automatically. A route public by
design must be named in ``PUBLIC``; a path parameter the matrix cannot fill makes it fail, so
whoever adds the route also adds a real ID for it (``authz_routes.py``).

Roles that must see nothing of the owner's: anonymous, another athlete, a coach whose invitation
was never accepted, a coach whose link was revoked, an admin, a coach who offered a managed
profile to the owner's email (hand-over without consent), a logged-out cookie. Roles that act
as the owner but must change nothing: a read-only token, the owner's session without the CSRF
token, and with a foreign ``Origin``. Afterwards the owner's data, links, offers, tokens and
sessions are unchanged.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from authz_routes import (
    OWNER_OBJECT_PARAMS,
    PASSWORD,
    build_scene,
    fill,
    openapi_routes,
    routes,
)
from fastapi.testclient import TestClient

from lydiard.storage import tables as t

#: (method, path template) public by design. Mounts are listed by path.
PUBLIC: set[tuple[str, str]] = {
    ("GET", "/openapi.json"),
    ("GET", "/api/docs"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/static/v/{digest}/{path:path}"),
    ("GET", "/static/{path:path}"),
}
#: Routes about the caller's own account, run last for each role (they may end its session).
SELF_LAST = ("/logout", "/api/v1/auth/logout", "/api/v1/auth/me/delete", "/api/v1/auth/password",
             "/api/v1/auth/sessions/{login_session_id}", "/sessions/{login_session_id}/end")
READERS = ("anonymous", "other_athlete", "coach_without_link", "revoked_coach", "admin", "offering_coach",
           "logged_out_cookie")
NO_WRITE = ("read_token", "no_csrf", "foreign_origin")
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


def _json_body(path: str, ids: dict[str, str], *, password: str, email: str) -> dict[str, Any]:
    """A valid body for each writing API route (so that a missing check would let it succeed)."""
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/athletes/{athlete_id}/checkins/{day}": {"energy": 1, "note": "overwritten"},
        "/api/v1/athletes/{athlete_id}": {"name": "Hacked"},
        "/api/v1/athletes/{athlete_id}/activities/{activity_id}": {"race": True},
        "/api/v1/athletes/{athlete_id}/thresholds/{kind}": {"value": 250, "valid_from": ids["day"]},
        "/api/v1/athletes/{athlete_id}/hand-over": {"user_email": email},
        "/api/v1/coach-links": {"athlete_email": ids["owner_email"]},
        "/api/v1/auth/tokens": {"name": "matrix", "scope": "write", "password": password},
        "/api/v1/auth/me": {"display_name": "Matrix"},
        "/api/v1/auth/password": {"current_password": password, "new_password": "another long pass 9 x"},
        "/api/v1/auth/me/delete": {"password": password},
        "/api/v1/auth/login": {"email": ids["owner_email"], "password": password},
        "/api/v1/admin/users": {"email": "made-by-matrix@example.org", "password": "a fine long password 77",
                                "display_name": "Made"},
        "/api/v1/admin/users/{user_id}": {"is_active": True},  # an admin may deactivate: not a leak
        "/api/v1/athletes": {"name": "New one"},
    }
    return bodies.get(path, {})


def _form(ids: dict[str, str], csrf: str, password: str) -> dict[str, str]:
    return {"csrf_token": csrf, "energy": "1", "mood": "1", "note": "overwritten", "name": "Hacked",
            "kind": "ftp_w", "value": "250", "valid_from": ids["day"], "email": ids["owner_email"],
            "password": password, "tz": "UTC", "race": "1"}


def _logged_out_cookie(app: Any, email: str) -> TestClient:
    c = TestClient(app, raise_server_exceptions=False)
    csrf = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD}).json()["csrf_token"]
    stale = dict(c.cookies)
    assert c.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
    c.cookies.clear()
    c.cookies.update(stale)  # the browser kept (or an attacker copied) the cookie of an ended session
    return c


def _owner_state(ctx: Any, owner: Any) -> dict[str, Any]:
    with ctx.engine.connect() as conn:
        def rows(q: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(q).all()]

        return {
            "user": rows(sa.select(t.users.c.password_hash, t.users.c.display_name, t.users.c.is_active,
                                   t.users.c.email).where(t.users.c.id == owner.user.id)),
            "athlete": rows(sa.select(t.athletes).where(t.athletes.c.id == owner.athlete_id)),
            "checkins": rows(sa.select(t.daily_observations.c.day, t.daily_observations.c.energy,
                                       t.daily_observations.c.note)
                             .where(t.daily_observations.c.athlete_id == owner.athlete_id)),
            "thresholds": rows(sa.select(t.thresholds).where(t.thresholds.c.athlete_id == owner.athlete_id)),
            # anyone may invite (a new pending invitation is no access); no link may become active
            "links": rows(sa.select(t.coach_links.c.id).where(t.coach_links.c.status == "active")
                          .order_by(t.coach_links.c.id)),
            "offers": rows(sa.select(t.handover_offers.c.id, t.handover_offers.c.status)
                           .order_by(t.handover_offers.c.id)),
            "tokens": rows(sa.select(t.api_tokens.c.id, t.api_tokens.c.revoked_at).order_by(t.api_tokens.c.id)),
            "sessions": rows(sa.select(t.login_sessions.c.token_sha256).where(
                t.login_sessions.c.user_id == owner.user.id).order_by(t.login_sessions.c.token_sha256)),
            "plan": rows(sa.select(t.planned_sessions.c.id, t.planned_sessions.c.duration_s)
                         .where(t.planned_sessions.c.athlete_id == owner.athlete_id)),
            "changes": rows(sa.select(t.plan_changes.c.id, t.plan_changes.c.status)
                            .where(t.plan_changes.c.athlete_id == owner.athlete_id)),
            "managed": rows(sa.select(t.athletes.c.id).where(t.athletes.c.managed_by_user_id == owner.user.id)),
            "activities": rows(sa.select(t.activities.c.id, t.activities.c.race)
                               .where(t.activities.c.athlete_id == owner.athlete_id)),
        }


def test_every_route_refuses_every_unauthorised_role(world: Any, app: Any, ctx: Any) -> None:
    scene = build_scene(world, ctx)
    owner, ids = scene.owner, scene.ids
    other = world.user("other")
    world.seed(other)
    admin = world.user("admin", admin=True, athlete=False)
    anonymous = TestClient(app, raise_server_exceptions=False)
    world.clients.append(anonymous)
    stale = _logged_out_cookie(app, owner.user.email)
    world.clients.append(stale)

    def caller(client: TestClient, headers: dict[str, str], csrf: str) -> tuple[TestClient, dict[str, str], str]:
        return client, headers, csrf

    readers = {
        "anonymous": caller(anonymous, {}, ""),
        "other_athlete": caller(other.client, other.headers, other.csrf),
        "coach_without_link": caller(world.extra["none"].client, world.extra["none"].headers, world.extra["none"].csrf),
        "revoked_coach": caller(world.extra["revoked"].client, world.extra["revoked"].headers,
                                world.extra["revoked"].csrf),
        "admin": caller(admin.client, admin.headers, admin.csrf),
        "offering_coach": caller(world.extra["offering"].client, world.extra["offering"].headers,
                                 world.extra["offering"].csrf),
        "logged_out_cookie": caller(stale, {}, ""),
    }
    token_client = TestClient(app, raise_server_exceptions=False)
    world.clients.append(token_client)
    no_write = {
        "read_token": caller(token_client, {"Authorization": f"Bearer {scene.owner_read_token}"}, ""),
        "no_csrf": caller(owner.client, {}, ""),
        "foreign_origin": caller(owner.client, {**owner.headers, "Origin": "https://evil.example"}, owner.csrf),
    }

    all_routes = routes(app)
    assert openapi_routes(anonymous) <= set(all_routes), "an operation of /openapi.json is not in app.routes"
    for method, template in all_routes:
        if method == "MOUNT":
            assert (method, template) in PUBLIC, f"mounted app at {template} is not in PUBLIC"
    ordered = sorted((mt for mt in all_routes if mt[0] != "MOUNT"),
                     key=lambda mp: (mp[1] in SELF_LAST, mp[0] == "DELETE"))
    before = _owner_state(ctx, owner)
    failures: list[str] = []
    server_errors: list[str] = []
    checked = 0

    def send(client: TestClient, method: str, template: str, headers: dict[str, str], csrf: str,
             password: str, email: str) -> Any:
        kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
        if method in UNSAFE:
            if template.endswith("/imports") or template.endswith("/import"):
                kwargs["files"] = {"files": ("x.gpx", b"<gpx/>", "application/gpx+xml")}
                if not template.startswith("/api/"):
                    kwargs["data"] = {"csrf_token": csrf}
            elif template.startswith("/api/"):
                kwargs["json"] = _json_body(template, ids, password=password, email=email)
            else:
                kwargs["data"] = _form(ids, csrf, password)
        return client.request(method, fill(template, ids), **kwargs)

    for role, (client, headers, csrf) in readers.items():
        for method, template in ordered:
            if (method, template) in PUBLIC:
                continue
            r = send(client, method, template, headers, csrf, "not the password 1", "attacker@example.org")
            checked += 1
            where = f"{role} {method} {template} -> {r.status_code}"
            text = r.text + " ".join(r.headers.values())
            if any(m in text for m in scene.markers):
                failures.append(f"{where}: response contains the owner's marker")
            owner_object = any(f"{{{k}}}" in template for k in OWNER_OBJECT_PARAMS)
            admin_route = role == "admin" and template.startswith("/api/v1/admin/")
            if owner_object and not admin_route and 200 <= r.status_code < 300:
                failures.append(f"{where}: an unauthorised role got a 2xx for the owner's object")
            if role in ("anonymous", "logged_out_cookie") and template.startswith("/api/") and r.status_code != 401:
                failures.append(f"{where}: an anonymous API call must get 401")
            if r.status_code >= 500:
                server_errors.append(f"{where}: server error")
    for role, (client, headers, csrf) in no_write.items():
        for method, template in ordered:
            if method not in UNSAFE:
                continue
            r = send(client, method, template, headers, csrf, PASSWORD, owner.user.email)
            checked += 1
            if r.status_code != 403:
                failures.append(f"{role} {method} {template} -> {r.status_code}: a write must be refused (403)")
    assert not failures, "\n".join(failures)
    assert not server_errors, "\n".join(server_errors)
    assert checked >= 500
    after = _owner_state(ctx, owner)
    changed = [k for k in before if before[k] != after[k]]
    assert not changed, f"the owner's {changed} changed: {[(before[k], after[k]) for k in changed]}"
    assert owner.client.get("/api/v1/auth/me").status_code == 200

    # Positive control: the owner and the active coach do see the data through the same routes.
    for role, p in (("owner", owner), ("active_coach", scene.active)):
        seen = 0
        for method, template in all_routes:
            if method != "GET" or "{athlete_id}" not in template or (method, template) in PUBLIC:
                continue
            r = p.client.get(fill(template, ids), follow_redirects=False)
            assert r.status_code < 500, f"{role} GET {template} -> {r.status_code}"
            seen += scene.markers[0] in r.text
        assert seen >= 3, f"{role} saw the owner's marker in only {seen} routes"
    r = scene.active.client.get("/api/v1/roster")
    assert r.status_code == 200 and scene.markers[1] in r.text
    # ... and a read token reads
    r = token_client.get(f"/api/v1/athletes/{owner.athlete_id}/checkins/{ids['day']}",
                         headers={"Authorization": f"Bearer {scene.owner_read_token}"})
    assert r.status_code == 200 and scene.markers[0] in r.text


def test_hand_over_cannot_bypass_consent(world: Any, ctx: Any) -> None:
    """The issue's repro: a coach creates a profile, hands it to a new user, then reads what they record."""
    coach = world.user("c2", athlete=False)
    e = world.user("e", athlete=False)
    managed = coach.client.post("/api/v1/athletes", json={"name": "x"}, headers=coach.headers).json()["id"]
    r = coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": e.user.email},
                          headers=coach.headers)
    assert r.status_code == 202
    # E is not bound to it: E creates their own profile and records a private note
    r = e.client.post("/api/v1/athletes", json={"name": "E", "own_profile": True}, headers=e.headers)
    assert r.status_code == 201
    own = r.json()["id"]
    day = ctx.clock().date().isoformat()
    assert e.client.put(f"/api/v1/athletes/{own}/checkins/{day}", json={"note": "private"},
                        headers=e.headers).status_code == 200
    assert coach.client.get(f"/api/v1/athletes/{own}/checkins/{day}").status_code == 404
    assert coach.client.put(f"/api/v1/athletes/{managed}/checkins/{day}", json={"note": "x"},
                            headers=coach.headers).status_code == 200  # still the coach's managed athlete
    assert e.client.get(f"/api/v1/athletes/{managed}").status_code == 404
    # the offer cannot be taken now (E has a profile), and the coach sees no link to E
    offer = e.client.get("/api/v1/handover-offers").json()[0]
    assert e.client.post(f"/api/v1/handover-offers/{offer['id']}/accept", headers=e.headers).status_code == 409
    assert [x for x in coach.client.get("/api/v1/coach-links").json() if x["athlete_id"] == own] == []


def test_read_token_changes_nothing_of_its_own_account(world: Any, app: Any, ctx: Any) -> None:
    """The issue's list: PATCH /auth/me, POST /athletes, DELETE /auth/tokens/{id}, POST /auth/password."""
    p = world.user("reader", athlete=False)
    tok = p.client.post("/api/v1/auth/tokens", json={"name": "r", "scope": "read", "password": PASSWORD},
                        headers=p.headers).json()
    w = p.client.post("/api/v1/auth/tokens", json={"name": "w", "scope": "write", "password": PASSWORD},
                      headers=p.headers).json()
    bearer = {"Authorization": f"Bearer {tok['token']}"}
    with TestClient(app) as c:
        assert c.patch("/api/v1/auth/me", json={"display_name": "X"}, headers=bearer).status_code == 403
        assert c.post("/api/v1/athletes", json={"name": "X"}, headers=bearer).status_code == 403
        assert c.delete(f"/api/v1/auth/tokens/{w['info']['id']}", headers=bearer).status_code == 403
        assert c.post("/api/v1/auth/password", json={"current_password": PASSWORD,
                                                     "new_password": "something else long 1"},
                      headers=bearer).status_code == 403
        assert c.get("/api/v1/auth/me", headers=bearer).json()["display_name"] == "Reader"
    assert p.client.get("/api/v1/auth/me").status_code == 200
    listed = {x["id"]: x for x in p.client.get("/api/v1/auth/tokens").json()}
    assert listed[w["info"]["id"]]["revoked_at"] is None


def test_revocation_ends_access_at_once(world: Any, ctx: Any) -> None:
    from lydiard.services import coaching
    from lydiard.services.users import actor_for

    owner = world.user("owner")
    ids = world.seed(owner)
    coach = world.user("coach", athlete=False)
    coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    r = coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}")
    assert r.status_code == 404  # invited is not accepted
    link_id = owner.client.get("/api/v1/coach-links").json()[0]["id"]
    r = owner.client.post(f"/api/v1/coach-links/{link_id}/accept", headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "active"
    r = coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}")
    assert r.status_code == 200 and ids["marker"] in r.text
    r = owner.client.post(f"/api/v1/coach-links/{link_id}/revoke", headers=owner.headers)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    r = coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/checkins/{ids['day']}")
    assert r.status_code == 404 and ids["marker"] not in r.text
