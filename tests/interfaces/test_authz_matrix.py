"""Authorisation matrix: every route × every role, with the owner's real IDs.

Routes are enumerated from ``app.routes`` (the API and, once mounted, the web pages), so a
new route is checked automatically. A route that is public by design must be named in
``PUBLIC``; a route with a path parameter this test cannot fill makes it fail, so that
whoever adds it also adds a real ID for it here.
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.routing import APIRoute
from starlette.routing import Mount, Route

from lydiard.services import coaching
from lydiard.services import tokens as token_svc
from lydiard.services.context import new_id
from lydiard.services.users import actor_for
from lydiard.storage import tables as t

#: (method, path template) public by design; "*" = any method. Mounts are listed by path.
PUBLIC: set[tuple[str, str]] = {
    ("GET", "/openapi.json"),
    ("GET", "/api/docs"),
    ("POST", "/api/v1/auth/login"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/static/v/{digest}/{path:path}"),
    ("GET", "/static/{path:path}"),
}
#: Routes about the caller's own account, run last for each role (they may end its session).
SELF_LAST = ("/logout", "/api/v1/auth/logout", "/api/v1/auth/me/delete", "/api/v1/auth/password")
UNAUTHORISED = ("anonymous", "other_athlete", "coach_without_link", "revoked_coach", "admin")
AUTHORISED = ("owner", "active_coach")
PARAM_RE = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _routes(app: Any) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):  # FastAPI ≥ 0.16x keeps included routers lazily
            for rc in r.effective_route_contexts():
                original = rc.original_route
                if isinstance(original, Mount):
                    out.append(("MOUNT", rc.path))
                    continue
                for m in sorted(rc.methods or {"GET"}):
                    if m != "HEAD":
                        out.append((m, rc.path))
        elif isinstance(r, Mount):
            out.append(("MOUNT", r.path))
        elif isinstance(r, APIRoute | Route):
            for m in sorted(r.methods or {"GET"}):
                if m != "HEAD":
                    out.append((m, r.path))
        else:
            raise AssertionError(f"unknown kind of route {r!r}: teach test_authz_matrix about it")
    return out


def _json_body(method: str, path: str, ids: dict[str, str], attacker_email: str) -> dict[str, Any]:
    bodies: dict[str, dict[str, Any]] = {
        "/api/v1/athletes/{athlete_id}/checkins/{day}": {"energy": 1, "note": "overwritten"},
        "/api/v1/athletes/{athlete_id}": {"name": "Hacked"},
        "/api/v1/athletes/{athlete_id}/thresholds/{kind}": {"value": 250, "valid_from": ids["day"]},
        "/api/v1/athletes/{athlete_id}/hand-over": {"user_email": attacker_email},
        "/api/v1/coach-links": {"athlete_email": ids["owner_email"]},
        "/api/v1/auth/tokens": {"name": "matrix", "scope": "read"},
        "/api/v1/auth/me": {"display_name": "Matrix"},
        "/api/v1/auth/password": {"current_password": "not the password 1", "new_password": "another long pass 9"},
        "/api/v1/auth/me/delete": {"password": "not the password 1"},
        "/api/v1/admin/users": {"email": f"made-{uuid.uuid4().hex[:6]}@example.org",
                                "password": "a fine long password 77", "display_name": "Made"},
        "/api/v1/admin/users/{user_id}": {"is_active": True},
        "/api/v1/athletes": {"name": "New one"},
    }
    return bodies.get(path, {})


def _form(ids: dict[str, str], csrf: str) -> dict[str, str]:
    return {"csrf_token": csrf, "energy": "1", "mood": "1", "note": "overwritten", "name": "Hacked",
            "kind": "ftp_w", "value": "250", "valid_from": ids["day"], "email": "x@example.org",
            "password": "not the password 1"}


def _fill(path: str, ids: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        assert name in ids, (f"route {path} has a path parameter {{{name}}} that test_authz_matrix cannot fill: "
                             "add a real ID of the owner's object to `ids`")
        return ids[name]

    return PARAM_RE.sub(sub, path)


def _seed_plan(ctx: Any, athlete_id: str, marker: str) -> tuple[str, str]:
    now = ctx.clock()
    cid, sid = new_id(), new_id()
    day = (now.date() + timedelta(days=1)).isoformat()
    before = {"day": day, "sport": "running", "session_type": "easy", "duration_s": 2400.0,
              "intensity_target": "Z2", "expected_load_au": 40.0, "notes": f"plan {marker}"}
    after = {**before, "duration_s": 1800.0, "expected_load_au": 30.0}
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(t.planned_sessions).values(
            id=sid, athlete_id=athlete_id, day=now.date() + timedelta(days=1), sport="running",
            session_type="easy", duration_s=2400.0, expected_load_au=40.0, notes=f"plan {marker}",
            origin="manual", created_at=now, updated_at=now))
        conn.execute(sa.insert(t.plan_changes).values(
            id=cid, athlete_id=athlete_id, for_day=now.date() + timedelta(days=1), status="proposed",
            stage="surface_fatigue", reason={"text": f"why {marker}"},
            diff=[{"session_id": sid, "action": "modify", "before": before, "after": after,
                   "describe": f"shorter {marker}"}], created_at=now))
    return cid, sid


def test_every_route_refuses_unauthorised_roles(world: Any, app: Any, ctx: Any) -> None:
    owner = world.user("owner")
    ids = world.seed(owner)
    marker = ids["marker"]
    name_marker = f"NAME-{uuid.uuid4().hex}"
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.athletes).where(t.athletes.c.id == owner.athlete_id)
                     .values(name=f"Owner {name_marker}"))
    change_id, session_id = _seed_plan(ctx, owner.athlete_id, marker)

    other = world.user("other")
    world.seed(other)
    active = world.user("coach-active", athlete=False)
    none = world.user("coach-none", athlete=False)
    revoked = world.user("coach-revoked", athlete=False)
    admin = world.user("admin", admin=True, athlete=False)
    owner_actor = actor_for(owner.user)
    for coach in (active, revoked):
        coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    links = {link.coach_user_id: link.id for link in coaching.list_links(ctx, owner_actor)}
    coaching.respond_to_invitation(ctx, owner_actor, links[active.user.id], accept=True)
    coaching.respond_to_invitation(ctx, owner_actor, links[revoked.user.id], accept=True)
    coaching.revoke_link(ctx, owner_actor, links[revoked.user.id])
    coaching.invite_athlete(ctx, actor_for(none.user), athlete_email=owner.user.email)  # pending, never accepted
    pending = {link.coach_user_id: link.id for link in coaching.list_links(ctx, owner_actor)}[none.user.id]
    token = token_svc.create_token(ctx, owner_actor, name="owner's", scope="write")

    ids.update(owner_email=owner.user.email, kind="ftp_w", token_id=token.info.id, link_id=links[active.user.id],
               user_id=owner.user.id, run_id=new_id(), change_id=change_id, session_id=session_id,
               planned_session_id=session_id, plan_session_id=session_id)
    anonymous = world.user("anon", athlete=False)
    anonymous.client.cookies.clear()
    anonymous.csrf = ""
    roles = {"anonymous": anonymous, "other_athlete": other, "coach_without_link": none, "revoked_coach": revoked,
             "admin": admin, "owner": owner, "active_coach": active}

    routes = _routes(app)
    checked = 0
    failures: list[str] = []
    server_errors: list[str] = []  # not a leak, but a crash on hostile input is a bug too
    unsafe_order = sorted(routes, key=lambda mp: (mp[1] in SELF_LAST, mp[0] == "DELETE"))
    for role in UNAUTHORISED:
        p = roles[role]
        for method, template in unsafe_order:
            if (method, template) in PUBLIC or method == "MOUNT":
                assert (method, template) in PUBLIC, f"mounted app at {template} is not in PUBLIC"
                continue
            path = _fill(template, ids)
            headers = {"X-CSRF-Token": p.csrf} if p.csrf else {}
            kwargs: dict[str, Any] = {"headers": headers, "follow_redirects": False}
            if method in ("POST", "PUT", "PATCH", "DELETE"):
                if template.endswith("/imports"):
                    kwargs["files"] = {"files": ("x.gpx", b"<gpx/>", "application/gpx+xml")}
                elif template.startswith("/api/"):
                    kwargs["json"] = _json_body(method, template, ids, p.user.email)
                else:
                    kwargs["data"] = _form(ids, p.csrf)
            r = p.client.request(method, path, **kwargs)
            checked += 1
            text = r.text + " ".join(r.headers.values())
            where = f"{role} {method} {path} -> {r.status_code}"
            if marker in text or name_marker in text:
                failures.append(f"{where}: response contains the owner's marker")
            owner_object = any(f"{{{k}}}" in template for k in ("athlete_id", "activity_id", "change_id",
                                                                   "link_id", "token_id", "session_id",
                                                                   "planned_session_id", "plan_session_id",
                                                                   "user_id"))
            admin_route = role == "admin" and template.startswith("/api/v1/admin/")
            if owner_object and not admin_route and 200 <= r.status_code < 300:
                failures.append(f"{where}: an unauthorised role got a 2xx for the owner's object")
            if r.status_code >= 500:
                server_errors.append(f"{where}: server error")
    assert not failures, "\n".join(failures)
    assert checked >= 30

    # The owner's data are unchanged by all of that.
    with ctx.engine.connect() as conn:
        obs = conn.execute(sa.select(t.daily_observations).where(
            t.daily_observations.c.athlete_id == owner.athlete_id, t.daily_observations.c.source == "checkin")).one()
        ath = conn.execute(sa.select(t.athletes).where(t.athletes.c.id == owner.athlete_id)).one()
        n_thr = conn.execute(sa.select(sa.func.count()).select_from(t.thresholds)
                             .where(t.thresholds.c.athlete_id == owner.athlete_id)).scalar_one()
        statuses = dict(conn.execute(sa.select(t.coach_links.c.id, t.coach_links.c.status)).all())
    assert marker in obs.note and obs.energy == 4
    assert ath.name == f"Owner {name_marker}" and ath.user_id == owner.user.id
    assert n_thr == 0 and statuses[pending] == "invited" and statuses[links[active.user.id]] == "active"

    # Positive control: the owner and the active coach do see the data through the same routes.
    for role in AUTHORISED:
        p = roles[role]
        seen = 0
        for method, template in routes:
            if method != "GET" or "{athlete_id}" not in template or (method, template) in PUBLIC:
                continue
            r = p.client.get(_fill(template, ids), follow_redirects=False)
            if r.status_code >= 500:
                server_errors.append(f"{role} GET {template} -> {r.status_code}: server error")
            seen += marker in r.text
        assert seen >= 3, f"{role} saw the owner's marker in only {seen} routes"
    r = active.client.get("/api/v1/roster")
    assert r.status_code == 200 and name_marker in r.text
    assert not server_errors, "\n".join(server_errors)


def test_revocation_ends_access_at_once(world: Any, ctx: Any) -> None:
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
