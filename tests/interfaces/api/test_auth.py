"""Authentication: passwords, sessions, rate limits, cookies, CSRF, API tokens, headers."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from lydiard.errors import InvalidInputError
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.storage import tables as t

PASSWORD = "correct horse battery staple 42"


def _login(client: Any, email: str, password: str = PASSWORD) -> Any:
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def test_production_hasher_is_argon2id_with_rfc9106_parameters() -> None:
    h = user_svc.PasswordHasher()
    assert h.time_cost >= 3 and h.memory_cost >= 65536
    assert h.hash("x" * 12).startswith("$argon2id$")


def test_password_stored_as_argon2id(ctx: Any) -> None:
    u = user_svc.create_user(ctx, Actor.system(), email="a@example.org", password=PASSWORD, display_name="A")
    with ctx.engine.connect() as conn:
        h = conn.execute(sa.select(t.users.c.password_hash).where(t.users.c.id == u.id)).scalar_one()
    assert h.startswith("$argon2id$") and PASSWORD not in h
    assert PasswordHasher().verify(h, PASSWORD)


@pytest.mark.parametrize("pw", ["short1!", "password123", "1234567890", "qwertyuiop", "P@ssw0rd2024!",
                                "aaaaaaaaaaaa", "abcdefghijkl", "marianne.smith!"])
def test_weak_passwords_refused(pw: str) -> None:
    with pytest.raises(InvalidInputError):
        user_svc.check_password_policy(pw, email="marianne.smith@example.org", display_name="Marianne Smith")


def test_good_password_accepted() -> None:
    user_svc.check_password_policy("lantern orbit seventeen gravel", email="m@example.org")


def test_only_admin_or_system_creates_users(ctx: Any) -> None:
    u = user_svc.create_user(ctx, Actor.system(), email="a@example.org", password=PASSWORD, display_name="A")
    with pytest.raises(Exception, match="administrator"):
        user_svc.create_user(ctx, user_svc.actor_for(u), email="b@example.org", password=PASSWORD, display_name="B")


def test_login_sets_safe_cookie_and_rotates(world: Any, client: Any, ctx: Any) -> None:
    p = world.user("alice", athlete=False)
    r = _login(client, p.user.email)
    assert r.status_code == 200
    cookie = r.headers["set-cookie"]
    assert "lydiard_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie.replace("Lax", "lax")
    assert "Path=/" in cookie and "Secure" not in cookie
    first = client.cookies.get("lydiard_session")
    n = user_svc.count_sessions(ctx, p.user.id)
    assert _login(client, p.user.email).status_code == 403  # logged in: a new login needs the CSRF token
    r = client.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD},
                    headers={"X-CSRF-Token": r.json()["csrf_token"]})
    assert r.status_code == 200, r.text
    second = client.cookies.get("lydiard_session")
    assert second != first
    assert user_svc.count_sessions(ctx, p.user.id) == n  # the old session of this browser was deleted
    assert user_svc.resolve_session(ctx, first) is None
    with ctx.engine.connect() as conn:
        keys = conn.execute(sa.select(t.login_sessions.c.token_sha256)).scalars().all()
    assert second not in keys and user_svc.sha256_hex(second) in keys


def test_secure_cookie_behind_https(settings: Any, ctx: Any) -> None:
    from fastapi.testclient import TestClient

    from lydiard.interfaces.app import create_app

    settings.https = True
    user_svc.create_user(ctx, Actor.system(), email="s@example.org", password=PASSWORD, display_name="S")
    with TestClient(create_app(settings, context=ctx), base_url="https://testserver") as c:
        r = _login(c, "s@example.org")
    assert "Secure" in r.headers["set-cookie"]


def test_logout_expires_session(world: Any, ctx: Any) -> None:
    p = world.user("bob", athlete=False)
    token = p.client.cookies.get("lydiard_session")
    assert p.client.get("/api/v1/auth/me").status_code == 200
    r = p.client.post("/api/v1/auth/logout", headers=p.headers)
    assert r.status_code == 204
    assert user_svc.resolve_session(ctx, token) is None
    p.client.cookies.set("lydiard_session", token)
    assert p.client.get("/api/v1/auth/me").status_code == 401


def test_idle_expiry(world: Any, ctx: Any, clock: Any) -> None:
    p = world.user("carol", athlete=False)
    clock.now += timedelta(seconds=ctx.settings.session_idle_s - 60)
    assert p.client.get("/api/v1/auth/me").status_code == 200  # activity refreshes last_seen_at
    clock.now += timedelta(seconds=ctx.settings.session_idle_s - 60)
    assert p.client.get("/api/v1/auth/me").status_code == 200
    clock.now += timedelta(seconds=ctx.settings.session_idle_s + 1)
    r = p.client.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")


def test_same_error_for_unknown_email_and_wrong_password(world: Any, client: Any) -> None:
    p = world.user("dave", athlete=False)
    a = _login(client, "nobody@example.org")
    b = _login(client, p.user.email, "wrong password here")
    assert a.status_code == b.status_code == 401
    assert a.json() == b.json() and a.json()["detail"] == "email or password is wrong"


def test_rate_limit_per_account(world: Any, app: Any, ctx: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("erin", athlete=False)
    limit = ctx.settings.login_attempts_per_15min
    for i in range(limit):
        # different client addresses: only the account counter trips
        with TestClient(app, client=(f"10.0.0.{i}", 1234)) as c:
            assert _login(c, p.user.email, "wrong password here").status_code == 401
    with TestClient(app, client=("10.0.1.1", 1234)) as c:
        r = _login(c, p.user.email)  # even the right password is refused now
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
        clock.now += timedelta(minutes=16)
        assert _login(c, p.user.email).status_code == 200


def test_rate_limit_per_address(world: Any, app: Any, ctx: Any) -> None:
    from fastapi.testclient import TestClient

    limit = ctx.settings.login_attempts_per_15min
    p = world.user("fred", athlete=False)
    with TestClient(app, client=("10.9.9.9", 1234)) as c:
        for i in range(limit):
            assert _login(c, f"user{i}@example.org", "wrong password here").status_code == 401
        assert _login(c, p.user.email).status_code == 429
    with TestClient(app, client=("10.9.9.8", 1234)) as c:
        assert _login(c, p.user.email).status_code == 200


def test_csrf_required_for_cookie_auth(world: Any) -> None:
    p = world.user("gina")
    body = {"name": "Gina G"}
    r = p.client.patch(f"/api/v1/athletes/{p.athlete_id}", json=body)
    assert r.status_code == 403 and "CSRF" in r.json()["detail"]
    r = p.client.patch(f"/api/v1/athletes/{p.athlete_id}", json=body, headers={"X-CSRF-Token": "wrong"})
    assert r.status_code == 403
    r = p.client.patch(f"/api/v1/athletes/{p.athlete_id}", json=body,
                       headers={**p.headers, "Origin": "https://evil.example"})
    assert r.status_code == 403
    r = p.client.patch(f"/api/v1/athletes/{p.athlete_id}", json=body, headers=p.headers)
    assert r.status_code == 200 and r.json()["name"] == "Gina G"


def test_api_tokens(world: Any, app: Any, ctx: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("hank")
    r = p.client.post("/api/v1/auth/tokens", json={"name": "script", "scope": "read"}, headers=p.headers)
    assert r.status_code == 201
    read_token, read_id = r.json()["token"], r.json()["info"]["id"]
    listed = p.client.get("/api/v1/auth/tokens").json()
    assert [x["id"] for x in listed] == [read_id] and read_token not in str(listed)
    with ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(t.api_tokens.c.token_sha256)).scalars().all()
    assert stored == [user_svc.sha256_hex(read_token)]
    w = p.client.post("/api/v1/auth/tokens", json={"name": "w", "scope": "write"}, headers=p.headers).json()
    with TestClient(app) as c:
        bearer = {"Authorization": f"Bearer {read_token}"}
        assert c.get(f"/api/v1/athletes/{p.athlete_id}", headers=bearer).status_code == 200
        r = c.patch(f"/api/v1/athletes/{p.athlete_id}", json={"name": "X"}, headers=bearer)
        assert r.status_code == 403  # read scope cannot write (and no CSRF needed for bearer)
        r = c.patch(f"/api/v1/athletes/{p.athlete_id}", json={"name": "Hank H"},
                    headers={"Authorization": f"Bearer {w['token']}"})
        assert r.status_code == 200
        assert p.client.delete(f"/api/v1/auth/tokens/{read_id}", headers=p.headers).status_code == 200
        assert c.get(f"/api/v1/athletes/{p.athlete_id}", headers=bearer).status_code == 401
        assert c.get("/api/v1/auth/me", headers={"Authorization": "Bearer lyd_nonsense"}).status_code == 401
    with ctx.engine.connect() as conn:
        used = conn.execute(sa.select(t.api_tokens.c.last_used_at).where(t.api_tokens.c.id == w["info"]["id"]))
        assert used.scalar_one() is not None


def test_security_headers_on_every_response(world: Any, client: Any) -> None:
    p = world.user("ivy")
    responses = [client.get("/openapi.json"), client.get("/api/v1/auth/me"), client.get("/no/such/page"),
                 p.client.get(f"/api/v1/athletes/{p.athlete_id}"), _login(client, "x@example.org", "bad")]
    for r in responses:
        csp = r.headers["content-security-policy"]
        assert "unsafe-inline" not in csp and "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["x-frame-options"] == "DENY"
        assert r.headers["referrer-policy"] == "same-origin"


def test_problem_json_and_openapi(client: Any) -> None:
    r = client.get("/api/v1/athletes/0123456789abcdef0123456789abcdef")
    assert r.status_code == 404 and r.json()["status"] == 404 and "title" in r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    spec = client.get("/openapi.json").json()
    assert "/api/v1/athletes/{athlete_id}/checkins/{day}" in spec["paths"]
