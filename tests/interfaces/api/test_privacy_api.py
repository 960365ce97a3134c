"""The athlete's rights through the API: export everything, delete everything, read the audit log."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import sqlalchemy as sa

from lydiard.storage import tables as t


def _store_file(ctx: Any, athlete_id: str, data: bytes, name: str) -> str:
    sha = ctx.files.put(data)
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(t.stored_files).values(athlete_id=athlete_id, sha256=sha, size_bytes=len(data),
                                                      original_name=name, created_at=ctx.clock()))
    return sha


def _rows_for(ctx: Any, athlete_id: str, activity_ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    with ctx.engine.connect() as conn:
        for table in t.metadata.sorted_tables:
            if "athlete_id" in table.c:
                q = sa.select(sa.func.count()).select_from(table).where(table.c.athlete_id == athlete_id)
            elif "activity_id" in table.c:
                q = sa.select(sa.func.count()).select_from(table).where(table.c.activity_id.in_(activity_ids))
            else:
                continue
            out[table.name] = conn.execute(q).scalar_one()
        out["athletes"] = conn.execute(sa.select(sa.func.count()).select_from(t.athletes)
                                       .where(t.athletes.c.id == athlete_id)).scalar_one()
    return out


def test_export_then_delete_leaves_nothing(world: Any, ctx: Any) -> None:
    owner = world.user("owner")
    ids = world.seed(owner)
    other = world.user("other")
    own_sha = _store_file(ctx, owner.athlete_id, b"<gpx>only mine</gpx>", "../../morning run.gpx")
    shared_sha = _store_file(ctx, owner.athlete_id, b"<gpx>both of us</gpx>", "shared.gpx")
    _store_file(ctx, other.athlete_id, b"<gpx>both of us</gpx>", "shared.gpx")
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.activities).where(t.activities.c.id == ids["activity_id"])
                     .values(file_sha256=own_sha))
    coach = world.user("coach", athlete=False)
    from lydiard.services import coaching
    from lydiard.services.users import actor_for

    coaching.invite_athlete(ctx, actor_for(coach.user), athlete_email=owner.user.email)
    link = owner.client.get("/api/v1/coach-links").json()[0]["id"]
    owner.client.post(f"/api/v1/coach-links/{link}/accept", headers=owner.headers)

    # A linked coach may read the data but not export or delete them.
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/export").status_code == 403
    assert coach.client.delete(f"/api/v1/athletes/{ids['athlete_id']}", headers=coach.headers).status_code == 403

    r = owner.client.get(f"/api/v1/athletes/{ids['athlete_id']}/export")
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    zf = zipfile.ZipFile(io.BytesIO(r.content))
    names = zf.namelist()
    assert all(".." not in n and not n.startswith("/") for n in names)
    files = [n for n in names if n.startswith("files/")]
    assert len(files) == 2 and any(zf.read(n) == b"<gpx>only mine</gpx>" for n in files)
    for table in ("daily_observations", "daily_metrics", "activities", "session_metrics", "planned_sessions",
                  "plan_changes", "audit_log"):
        assert f"csv/{table}.csv" in names and f"json/{table}.json" in names
    assert ids["marker"] in zf.read("csv/daily_observations.csv").decode()
    acts = json.loads(zf.read("json/activities.json"))
    assert [a["id"] for a in acts] == [ids["activity_id"]]

    audit = owner.client.get(f"/api/v1/athletes/{ids['athlete_id']}/audit").json()
    actions = [e["action"] for e in audit]
    assert "athlete.export" in actions and "coach.accept" in actions
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}/audit").status_code == 403

    before = _rows_for(ctx, owner.athlete_id, [ids["activity_id"]])
    assert before["sample_blocks"] > 0 and before["laps"] > 0 and before["session_metrics"] > 0
    r = owner.client.delete(f"/api/v1/athletes/{ids['athlete_id']}", headers=owner.headers)
    assert r.status_code == 204, r.text
    after = _rows_for(ctx, owner.athlete_id, [ids["activity_id"]])
    assert all(n == 0 for n in after.values()), after
    hashes = set(ctx.files.all_hashes())
    assert own_sha not in hashes and shared_sha in hashes  # the other athlete still references it
    assert coach.client.get(f"/api/v1/athletes/{ids['athlete_id']}").status_code == 404
    with ctx.engine.connect() as conn:
        text = json.dumps([list(map(str, r)) for r in conn.execute(sa.select(t.audit_log)).all()])
    assert ids["athlete_id"] not in text


def test_delete_account_removes_user_and_managed_athletes(world: Any, ctx: Any) -> None:
    coach = world.user("coach", athlete=False)
    r = coach.client.post("/api/v1/athletes", json={"name": "Managed Mia"}, headers=coach.headers)
    assert r.status_code == 201
    managed = r.json()["id"]
    assert r.json()["managed_by_user_id"] == coach.user.id
    assert coach.client.put(f"/api/v1/athletes/{managed}/checkins/2025-06-30", json={"energy": 2},
                            headers=coach.headers).status_code == 200
    r = coach.client.post("/api/v1/auth/me/delete", json={"password": "wrong password here"},
                          headers=coach.headers)
    assert r.status_code == 401
    r = coach.client.post("/api/v1/auth/me/delete", json={"password": "correct horse battery staple 42"},
                          headers=coach.headers)
    assert r.status_code == 204
    assert all(n == 0 for n in _rows_for(ctx, managed, []).values())
    with ctx.engine.connect() as conn:
        for table in (t.users, t.login_sessions, t.api_tokens):
            col = table.c.id if table is t.users else table.c.user_id
            assert conn.execute(sa.select(sa.func.count()).select_from(table)
                                .where(col == coach.user.id)).scalar_one() == 0


def test_hand_over_managed_athlete(world: Any, ctx: Any) -> None:
    coach = world.user("coach", athlete=False)
    kid = world.user("kid", athlete=False)
    managed = coach.client.post("/api/v1/athletes", json={"name": "Kid K"}, headers=coach.headers).json()["id"]
    assert kid.client.get(f"/api/v1/athletes/{managed}").status_code == 404
    r = coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": kid.user.email},
                          headers=coach.headers)
    assert r.status_code == 202
    # nothing changes before the receiving user accepts
    assert kid.client.get(f"/api/v1/athletes/{managed}").status_code == 404
    assert kid.client.post("/api/v1/athletes", json={"name": "Kid", "own_profile": False},
                           headers=kid.headers).status_code == 201  # the account is not blocked meanwhile
    offers = kid.client.get("/api/v1/handover-offers").json()
    assert [o["athlete_name"] for o in offers] == ["Kid K"] and offers[0]["coach_name"] == "Coach"
    assert coach.client.get("/api/v1/handover-offers").json() == []
    r = kid.client.post(f"/api/v1/handover-offers/{offers[0]['id']}/accept", headers=kid.headers)
    assert r.status_code == 200 and r.json()["status"] == "accepted"
    assert kid.client.get(f"/api/v1/athletes/{managed}").json()["user_id"] == kid.user.id
    assert coach.client.get(f"/api/v1/athletes/{managed}").status_code == 200
    link = kid.client.get("/api/v1/coach-links").json()[0]
    assert link["role"] == "athlete" and link["status"] == "active" and link["coach_name"] == "Coach"
    assert kid.client.post(f"/api/v1/coach-links/{link['id']}/revoke", headers=kid.headers).status_code == 200
    assert coach.client.get(f"/api/v1/athletes/{managed}").status_code == 404
    roster = coach.client.get("/api/v1/roster").json()
    assert roster == []


def test_hand_over_does_not_reveal_accounts(world: Any, ctx: Any) -> None:
    coach = world.user("coach", athlete=False)
    with_profile = world.user("has-profile")
    without = world.user("no-profile", athlete=False)
    managed = coach.client.post("/api/v1/athletes", json={"name": "M"}, headers=coach.headers).json()["id"]
    answers = []
    for email in ("nobody-here@example.org", with_profile.user.email, without.user.email, coach.user.email):
        r = coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": email},
                              headers=coach.headers)
        answers.append((r.status_code, r.json()))
    assert len(set(map(str, answers))) == 1 and answers[0][0] == 202
    # the last real offer went to `without` and was withdrawn by the offer to the coach's own email
    assert without.client.get("/api/v1/handover-offers").json() == []
    assert with_profile.client.get("/api/v1/handover-offers").json() == []


def test_hand_over_declined_changes_nothing(world: Any, ctx: Any) -> None:
    coach = world.user("coach", athlete=False)
    e = world.user("e", athlete=False)
    managed = coach.client.post("/api/v1/athletes", json={"name": "M"}, headers=coach.headers).json()["id"]
    coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": e.user.email},
                      headers=coach.headers)
    offer = e.client.get("/api/v1/handover-offers").json()[0]
    assert e.client.post(f"/api/v1/handover-offers/{offer['id']}/decline", headers=e.headers).json()["status"] \
        == "declined"
    assert e.client.post(f"/api/v1/handover-offers/{offer['id']}/accept", headers=e.headers).status_code == 409
    assert e.client.get(f"/api/v1/athletes/{managed}").status_code == 404
    assert coach.client.get(f"/api/v1/athletes/{managed}").json()["user_id"] is None
    # someone else cannot answer another user's offer
    coach.client.post(f"/api/v1/athletes/{managed}/hand-over", json={"user_email": e.user.email},
                      headers=coach.headers)
    offer = e.client.get("/api/v1/handover-offers").json()[0]
    assert coach.client.post(f"/api/v1/handover-offers/{offer['id']}/accept",
                             headers=coach.headers).status_code == 404
