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


def test_minimum_length_is_12() -> None:
    """ASVS 2.1.1: at least 12 characters (and the fixtures' and demo passwords comply)."""
    with pytest.raises(InvalidInputError, match="at least 12"):
        user_svc.check_password_policy("kx7-vq2m-zp4"[:11])
    user_svc.check_password_policy("kx7-vq2m-zp4")
    from lydiard.services.demo import _password

    for pw in (PASSWORD, _password(), "a long password 123", "lantern orbit seventeen gravel"):
        user_svc.check_password_policy(pw)


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


def test_rate_limit_per_account_and_address(world: Any, app: Any, ctx: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("erin", athlete=False)
    limit = ctx.settings.login_attempts_per_15min
    with TestClient(app, client=("10.0.0.1", 1234)) as c:
        for _ in range(limit):
            assert _login(c, p.user.email, "wrong password here").status_code == 401
        r = _login(c, p.user.email)  # this client has used its attempts on this account: even the right one waits
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    with TestClient(app, client=("10.0.1.1", 1234)) as c:
        # the owner, from a client with no recent failures, is not locked out by someone else's guesses
        assert _login(c, p.user.email).status_code == 200
    with TestClient(app, client=("10.0.0.1", 1234)) as c:
        clock.now += timedelta(minutes=16)
        assert _login(c, p.user.email).status_code == 200


def test_rate_limit_per_address(world: Any, app: Any, ctx: Any) -> None:
    from fastapi.testclient import TestClient

    limit = ctx.settings.login_attempts_per_address_15min
    p = world.user("fred", athlete=False)
    with TestClient(app, client=("10.9.9.9", 1234)) as c:
        for i in range(limit):
            assert _login(c, f"user{i}@example.org", "wrong password here").status_code == 401
        assert _login(c, p.user.email).status_code == 429
    with TestClient(app, client=("10.9.9.8", 1234)) as c:
        assert _login(c, p.user.email).status_code == 200


def test_forwarded_for_only_from_trusted_proxies(world: Any, ctx: Any) -> None:
    from fastapi.testclient import TestClient

    from lydiard.interfaces.app import create_app

    p = world.user("finn", athlete=False)
    limit = ctx.settings.login_attempts_per_15min
    spoofed = {"X-Forwarded-For": "203.0.113.7"}
    # no trusted proxy: the header is ignored, the TCP peer is the client
    app = create_app(ctx.settings, context=ctx)
    with TestClient(app, client=("10.1.1.1", 1)) as c:
        for i in range(limit):
            h = {"X-Forwarded-For": f"198.51.100.{i}"}
            assert c.post("/api/v1/auth/login", json={"email": p.user.email, "password": "wrong password here"},
                          headers=h).status_code == 401
        assert c.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD},
                      headers=spoofed).status_code == 429
    # behind a trusted proxy, the forwarded address is the client: another client is not blocked
    ctx.settings = ctx.settings.model_copy(update={"trusted_proxies": "10.1.1.0/24"})
    app = create_app(ctx.settings, context=ctx)
    with TestClient(app, client=("10.1.1.1", 1)) as c:
        r = c.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD},
                   headers={"X-Forwarded-For": "198.51.100.99, 10.1.1.2"})
        assert r.status_code == 200
    sessions = user_svc.list_sessions(ctx, user_svc.actor_for(p.user))
    assert "198.51.100.99" in {s.address for s in sessions}


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


def test_api_tokens(world: Any, app: Any, ctx: Any, clock: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("hank")
    r = p.client.post("/api/v1/auth/tokens", json={"name": "script", "scope": "read"}, headers=p.headers)
    assert r.status_code == 422  # the current password is required
    r = p.client.post("/api/v1/auth/tokens", json={"name": "script", "scope": "read", "password": "not it at all 9"},
                      headers=p.headers)
    assert r.status_code == 401
    r = p.client.post("/api/v1/auth/tokens", json={"name": "script", "scope": "read", "password": PASSWORD},
                      headers=p.headers)
    assert r.status_code == 201
    read_token, read_id = r.json()["token"], r.json()["info"]["id"]
    expires = r.json()["info"]["expires_at"]
    listed = p.client.get("/api/v1/auth/tokens").json()
    assert [x["id"] for x in listed] == [read_id] and read_token not in str(listed)
    assert listed[0]["expires_at"] == expires and listed[0]["last_used_at"] is None
    with ctx.engine.connect() as conn:
        stored = conn.execute(sa.select(t.api_tokens.c.token_sha256)).scalars().all()
    assert stored == [user_svc.sha256_hex(read_token)]
    w = p.client.post("/api/v1/auth/tokens", json={"name": "w", "scope": "write", "password": PASSWORD},
                      headers=p.headers).json()
    too_long = p.client.post("/api/v1/auth/tokens", headers=p.headers,
                             json={"name": "w", "scope": "write", "password": PASSWORD,
                                   "expires_in_days": ctx.settings.token_max_days + 1})
    assert too_long.status_code == 422
    with TestClient(app) as c:
        bearer = {"Authorization": f"Bearer {read_token}"}
        wbearer = {"Authorization": f"Bearer {w['token']}"}
        assert c.get(f"/api/v1/athletes/{p.athlete_id}", headers=bearer).status_code == 200
        r = c.patch(f"/api/v1/athletes/{p.athlete_id}", json={"name": "X"}, headers=bearer)
        assert r.status_code == 403  # read scope cannot write (and no CSRF needed for bearer)
        r = c.patch(f"/api/v1/athletes/{p.athlete_id}", json={"name": "Hank H"}, headers=wbearer)
        assert r.status_code == 200
        # a token never makes account changes, not even a write token
        assert c.post("/api/v1/auth/tokens", json={"name": "x", "scope": "write", "password": PASSWORD},
                      headers=wbearer).status_code == 403
        assert c.delete(f"/api/v1/auth/tokens/{read_id}", headers=wbearer).status_code == 403
        assert p.client.delete(f"/api/v1/auth/tokens/{read_id}", headers=p.headers).status_code == 200
        assert c.get(f"/api/v1/athletes/{p.athlete_id}", headers=bearer).status_code == 401
        assert c.get("/api/v1/auth/me", headers={"Authorization": "Bearer lyd_nonsense"}).status_code == 401
        with ctx.engine.connect() as conn:
            used = conn.execute(sa.select(t.api_tokens.c.last_used_at).where(t.api_tokens.c.id == w["info"]["id"]))
            assert used.scalar_one() is not None
        assert p.client.get("/api/v1/auth/tokens").json()[1]["last_used_at"] is not None
        clock.now += timedelta(days=ctx.settings.token_default_days, seconds=1)
        r = c.get(f"/api/v1/athletes/{p.athlete_id}", headers=wbearer)
        assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_password_change_revokes_tokens(world: Any, app: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("holly")
    tok = p.client.post("/api/v1/auth/tokens", json={"name": "w", "scope": "write", "password": PASSWORD},
                        headers=p.headers).json()["token"]
    bearer = {"Authorization": f"Bearer {tok}"}
    with TestClient(app) as c:
        assert c.get("/api/v1/auth/me", headers=bearer).status_code == 200
        new = "a different long passphrase 55"
        assert c.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": new},
                      headers=bearer).status_code == 403  # a token cannot change the password
        r = p.client.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": new},
                          headers=p.headers)
        assert r.status_code == 200 and "1 API token(s) were revoked" in r.json()["detail"]
        assert c.get("/api/v1/auth/me", headers=bearer).status_code == 401
        assert p.client.get("/api/v1/auth/me").status_code == 200  # this session stays


def test_sessions_listed_and_ended(world: Any, app: Any) -> None:
    from fastapi.testclient import TestClient

    p = world.user("hugo", athlete=False)
    with TestClient(app, headers={"User-Agent": "OtherBrowser/1"}) as other:
        r = other.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD})
        assert r.status_code == 200
        listed = p.client.get("/api/v1/auth/sessions").json()
        assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
        mine = next(s for s in listed if s["current"])
        theirs = next(s for s in listed if not s["current"])
        assert theirs["user_agent"] == "OtherBrowser/1"
        assert set(mine) >= {"id", "created_at", "last_seen_at", "address"}
        assert p.client.delete(f"/api/v1/auth/sessions/{theirs['id']}").status_code == 403  # no CSRF token
        assert p.client.delete(f"/api/v1/auth/sessions/{theirs['id']}", headers=p.headers).status_code == 204
        assert other.get("/api/v1/auth/me").status_code == 401
        assert p.client.delete(f"/api/v1/auth/sessions/{theirs['id']}", headers=p.headers).status_code == 404
        assert p.client.get("/api/v1/auth/me").status_code == 200


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


def test_problem_json_and_openapi(world: Any, client: Any) -> None:
    r = client.get("/api/v1/athletes/0123456789abcdef0123456789abcdef")
    assert r.status_code == 401 and r.json()["status"] == 401 and "title" in r.json()  # anonymous: log in first
    p = world.user("pia", athlete=False)
    r = p.client.get("/api/v1/athletes/0123456789abcdef0123456789abcdef")
    assert r.status_code == 404 and r.json()["status"] == 404 and "title" in r.json()
    assert r.headers["content-type"].startswith("application/problem+json")
    spec = client.get("/openapi.json").json()
    assert "/api/v1/athletes/{athlete_id}/checkins/{day}" in spec["paths"]


def test_trusted_proxies_setting_is_checked_at_start() -> None:
    from lydiard.config import Settings

    assert len(Settings(trusted_proxies="127.0.0.1, 10.0.0.0/8").trusted_proxy_networks) == 2
    with pytest.raises(ValueError, match="nonsense"):
        Settings(trusted_proxies="nonsense")
