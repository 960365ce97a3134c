"""Every read of an athlete's data by someone else is audited, on every route.

Walks every GET route naming an ``{athlete_id}`` (the OpenAPI schema's and the pages'), as the
athlete's coach with a browser session and with a read token, and fails if a successful read
leaves no entry naming the coach, the route and how they authenticated. The athlete's own
reads leave none. Changes by the coach are recorded every time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from authz_routes import build_scene, fill, openapi_routes, routes
from fastapi.testclient import TestClient

from lydiard.storage import tables as t


def _entries(ctx: Any, athlete_id: str, who: str) -> list[Any]:
    with ctx.engine.connect() as conn:
        return conn.execute(sa.select(t.audit_log).where(t.audit_log.c.athlete_id == athlete_id,
                                                         t.audit_log.c.actor_user_id == who)).all()


def _routes_of(entries: list[Any], via: str) -> set[str]:
    return {e.detail["route"] for e in entries if e.detail and e.detail.get("via") == via}


def test_every_coach_read_is_audited(world: Any, app: Any, ctx: Any) -> None:
    scene = build_scene(world, ctx)
    owner, coach, ids = scene.owner, scene.active, scene.ids
    athlete_routes = sorted({tpl for m, tpl in routes(app) if m == "GET" and "{athlete_id}" in tpl})
    api_routes = {tpl for m, tpl in openapi_routes(coach.client) if m == "GET" and "{athlete_id}" in tpl}
    assert api_routes <= set(athlete_routes) and len(athlete_routes) >= 15
    read = 0
    missing: list[str] = []
    token_client = TestClient(app, raise_server_exceptions=False)
    world.clients.append(token_client)
    bearer = {"Authorization": f"Bearer {scene.coach_read_token}"}
    for template in athlete_routes:
        r = coach.client.get(fill(template, ids), follow_redirects=False)
        if 200 <= r.status_code < 300:
            read += 1
            if f"GET {template}" not in _routes_of(_entries(ctx, owner.athlete_id, coach.user.id), "session"):
                missing.append(f"session GET {template} -> {r.status_code}: no audit entry")
        if template.startswith("/api/"):
            r = token_client.get(fill(template, ids), headers=bearer)
            if 200 <= r.status_code < 300 and \
                    f"GET {template}" not in _routes_of(_entries(ctx, owner.athlete_id, coach.user.id), "bearer"):
                missing.append(f"token GET {template} -> {r.status_code}: no audit entry")
    assert not missing, "\n".join(missing)
    assert read >= 12, f"the coach could read only {read} routes: the walk proves little"
    # the athlete sees it, through the API
    log = owner.client.get(f"/api/v1/athletes/{owner.athlete_id}/audit", params={"limit": 1000}).json()
    seen = {e["detail"].get("route") for e in log if e["actor_user_id"] == coach.user.id and e["detail"]}
    assert "GET /api/v1/athletes/{athlete_id}/checkins/{day}" in seen
    assert "GET /athletes/{athlete_id}/trends/data.json" in seen
    # reads are recorded once a day per route: reading again adds nothing
    n = len(_entries(ctx, owner.athlete_id, coach.user.id))
    coach.client.get(fill("/api/v1/athletes/{athlete_id}/checkins/{day}", ids))
    assert len(_entries(ctx, owner.athlete_id, coach.user.id)) == n
    # the athlete's own reads are not logged
    for template in athlete_routes:
        owner.client.get(fill(template, ids), follow_redirects=False)
    assert [e for e in _entries(ctx, owner.athlete_id, owner.user.id) if e.action.startswith("view:")] == []


def test_coach_changes_are_recorded_and_limited(world: Any, app: Any, ctx: Any) -> None:
    scene = build_scene(world, ctx)
    owner, coach, ids = scene.owner, scene.active, scene.ids
    aid = owner.athlete_id
    r = coach.client.put(f"/api/v1/athletes/{aid}/thresholds/ftp_w", json={"value": 250, "valid_from": ids["day"]},
                         headers=coach.headers)
    assert r.status_code == 200
    for _ in range(2):
        assert coach.client.put(f"/api/v1/athletes/{aid}/thresholds/ftp_w",
                                json={"value": 251, "valid_from": ids["day"]}, headers=coach.headers).status_code == 200
    changes = [e for e in _entries(ctx, aid, coach.user.id) if e.action.startswith("change:")]
    assert len(changes) == 3 and changes[0].detail["route"] == "PUT /api/v1/athletes/{athlete_id}/thresholds/{kind}"
    # what a coach may not change: the athlete's own check-in and profile
    r = coach.client.put(f"/api/v1/athletes/{aid}/checkins/{ids['day']}", json={"note": "coach wrote"},
                         headers=coach.headers)
    assert r.status_code == 403
    r = coach.client.patch(f"/api/v1/athletes/{aid}", json={"name": "Renamed"}, headers=coach.headers)
    assert r.status_code == 403
    assert coach.client.delete(f"/api/v1/athletes/{aid}", headers=coach.headers).status_code == 403
    r = owner.client.get(f"/api/v1/athletes/{aid}/checkins/{ids['day']}")
    assert "coach wrote" not in r.text and ids["marker"] in r.text


def test_roster_views_are_audited(world: Any, app: Any, ctx: Any) -> None:
    scene = build_scene(world, ctx)
    assert scene.active.client.get("/api/v1/roster").status_code == 200
    actions = {e.action for e in _entries(ctx, scene.owner.athlete_id, scene.active.user.id)}
    assert "view:roster" in actions
