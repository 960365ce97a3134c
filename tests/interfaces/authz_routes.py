"""Shared by the black-box authorisation matrix and the access-audit walk: every route of the
app (the OpenAPI schema's and the pages'), how to fill its path, and a seeded world of roles."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount, Route

from lydiard.services import coaching
from lydiard.services import tokens as token_svc
from lydiard.services.context import new_id
from lydiard.services.users import actor_for
from lydiard.storage import tables as t

PASSWORD = "correct horse battery staple 42"  #: the fixtures' password (tests/interfaces/conftest.py)
PARAM_RE = re.compile(r"{([^}:]+)(?::[^}]*)?}")
#: Path parameters naming an object of the owner's (an unauthorised 2xx on them is a failure).
OWNER_OBJECT_PARAMS = ("athlete_id", "activity_id", "change_id", "link_id", "token_id", "session_id",
                       "planned_session_id", "plan_session_id", "user_id", "offer_id", "login_session_id")


def routes(app: Any) -> list[tuple[str, str]]:
    """Every (method, path template) of the app, mounts as ("MOUNT", path)."""
    out: list[tuple[str, str]] = []
    for r in app.routes:
        if hasattr(r, "effective_route_contexts"):  # FastAPI ≥ 0.16x keeps included routers lazily
            for rc in r.effective_route_contexts():
                if isinstance(rc.original_route, Mount):
                    out.append(("MOUNT", rc.path))
                    continue
                out.extend((m, rc.path) for m in sorted(rc.methods or {"GET"}) if m != "HEAD")
        elif isinstance(r, Mount):
            out.append(("MOUNT", r.path))
        elif isinstance(r, APIRoute | Route):
            out.extend((m, r.path) for m in sorted(r.methods or {"GET"}) if m != "HEAD")
        else:
            raise AssertionError(f"unknown kind of route {r!r}: teach authz_routes about it")
    return out


def openapi_routes(client: TestClient) -> set[tuple[str, str]]:
    """(method, path) of every operation in ``/openapi.json``."""
    spec = client.get("/openapi.json").json()
    return {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m != "parameters"}


def fill(path: str, ids: dict[str, str]) -> str:
    """``path`` with each ``{param}`` replaced by the owner's real object id."""
    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "action":  # the web's accept/decline/revoke forms: the most damaging one that parses
            return "accept" if "/offers/" in path else "revoke"
        assert name in ids, (f"route {path} has a path parameter {{{name}}} that the authorisation matrix "
                             "cannot fill: add a real ID of the owner's object to `ids` in authz_routes.py")
        return ids[name]

    return PARAM_RE.sub(sub, path)


def seed_plan(ctx: Any, athlete_id: str, marker: str) -> tuple[str, str]:
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


@dataclass
class Caller:
    """A role: a client, the headers it sends, and whether it acts as the owner."""

    client: TestClient
    headers: dict[str, str]
    csrf: str
    email: str


@dataclass
class Scene:
    owner: Any
    active: Any
    ids: dict[str, str]
    markers: tuple[str, ...]
    pending_link: str
    offer_id: str
    owner_read_token: str
    coach_read_token: str


def build_scene(world: Any, ctx: Any) -> Scene:
    """The owner (with markers in the check-in, activity, plan and name), an active coach, a
    revoked one, one invited but never accepted, a coach who offered a profile to the owner
    (ignored: the owner has one) and to another user (pending), and tokens."""
    owner = world.user("owner")
    ids = world.seed(owner)
    marker = ids["marker"]
    name_marker = f"NAME-{uuid.uuid4().hex}"
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.athletes).where(t.athletes.c.id == owner.athlete_id)
                     .values(name=f"Owner {name_marker}"))
    change_id, session_id = seed_plan(ctx, owner.athlete_id, marker)
    owner_actor = actor_for(owner.user)
    active = world.user("coach-active", athlete=False)
    revoked = world.user("coach-revoked", athlete=False)
    none = world.user("coach-none", athlete=False)
    for coach in (active, revoked):
        coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    links = {link.coach_user_id: link.id for link in coaching.list_links(ctx, owner_actor)}
    coaching.respond_to_invitation(ctx, owner_actor, links[active.user.id], accept=True)
    coaching.respond_to_invitation(ctx, owner_actor, links[revoked.user.id], accept=True)
    coaching.revoke_link(ctx, owner_actor, links[revoked.user.id])
    coaching.invite_athlete(ctx, actor_for(none.user), athlete_email=owner.user.email)  # never accepted
    pending = {link.coach_user_id: link.id for link in coaching.list_links(ctx, owner_actor)}[none.user.id]
    # hand-over: an offer to the owner (ignored) and one to a user without a profile (pending)
    offering = world.user("coach-offering", athlete=False)
    receiver = world.user("receiver", athlete=False)
    r = offering.client.post("/api/v1/athletes", json={"name": "Offered"}, headers=offering.headers)
    offered = r.json()["id"]
    for email in (owner.user.email, receiver.user.email):
        r = offering.client.post(f"/api/v1/athletes/{offered}/hand-over", json={"user_email": email},
                                 headers=offering.headers)
        assert r.status_code == 202
    offer_id = coaching.list_offers(ctx, actor_for(receiver.user))[0].id
    wtoken = token_svc.create_token(ctx, owner_actor, name="owner's", scope="write", password=PASSWORD)
    rtoken = token_svc.create_token(ctx, owner_actor, name="owner read", scope="read", password=PASSWORD)
    ctoken = token_svc.create_token(ctx, actor_for(active.user), name="coach read", scope="read", password=PASSWORD)
    login_session = next(s for s in owner.client.get("/api/v1/auth/sessions").json() if s["current"])
    ids.update(owner_email=owner.user.email, kind="ftp_w", token_id=wtoken.info.id, link_id=links[active.user.id],
               user_id=owner.user.id, run_id=new_id(), change_id=change_id, session_id=session_id,
               planned_session_id=session_id, plan_session_id=session_id, offer_id=offer_id,
               login_session_id=login_session["id"], name_marker=name_marker)
    world.extra = {"revoked": revoked, "none": none, "offering": offering, "receiver": receiver}
    return Scene(owner=owner, active=active, ids=ids, markers=(marker, name_marker), pending_link=pending,
                 offer_id=offer_id, owner_read_token=rtoken.token, coach_read_token=ctoken.token)
