"""Input, caching, transport and storage hardening: surrogates, no-store, HSTS, __Host- cookies, WAL."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from lydiard.interfaces.app import create_app

PASSWORD = "correct horse battery staple 42"
SURROGATE_JSON = '"bad \\ud800 text"'


def _raw(client: TestClient, method: str, url: str, body: str, headers: dict[str, str]) -> Any:
    return client.request(method, url, content=body.encode(), headers={**headers, "content-type": "application/json"})


def test_lone_surrogate_is_422_in_every_string_field(world: Any) -> None:
    p = world.user("sue")
    day = world.ctx.clock().date().isoformat()
    cases = [
        ("PUT", f"/api/v1/athletes/{p.athlete_id}/checkins/{day}", '{"energy": 3, "note": %s}'),
        ("PATCH", f"/api/v1/athletes/{p.athlete_id}", '{"name": %s}'),
        ("PATCH", "/api/v1/auth/me", '{"display_name": %s}'),
        ("POST", "/api/v1/coach-links", '{"athlete_email": %s}'),
        ("POST", "/api/v1/auth/login", '{"email": %s, "password": "x"}'),
    ]
    for method, url, template in cases:
        r = _raw(p.client, method, url, template % SURROGATE_JSON, p.headers)
        assert r.status_code == 422, (url, r.status_code, r.text)
        assert "surrogate" in r.json()["detail"]
    # a form cannot carry a lone surrogate (its UTF-8 bytes are invalid and decode to U+FFFD): no 500
    r = p.client.post(f"/athletes/{p.athlete_id}/checkin", content=f"csrf_token={p.csrf}&note=bad%ED%A0%80text",
                      headers={"content-type": "application/x-www-form-urlencoded"}, follow_redirects=False)
    assert r.status_code < 500


def test_no_store_on_every_response_with_data(world: Any) -> None:
    p = world.user("nina")
    world.seed(p)
    aid = p.athlete_id
    for url in (f"/athletes/{aid}/trends/data.json", f"/athletes/{aid}/today", f"/api/v1/athletes/{aid}/daily",
                "/api/v1/auth/me", "/login", "/no/such/page", "/my-coach", "/sessions"):
        r = p.client.get(url, follow_redirects=False)
        assert r.headers["cache-control"] == "no-store", (url, r.headers.get("cache-control"))
    r = p.client.get("/static/app.css")
    assert r.status_code == 200 and r.headers.get("cache-control") != "no-store"  # static assets may be cached


def test_https_sets_host_cookie_and_hsts(ctx: Any, world: Any) -> None:
    p = world.user("hal", athlete=False)
    settings = ctx.settings.model_copy(update={"https": True})
    ctx.settings = settings
    app = create_app(settings, context=ctx)
    with TestClient(app, base_url="https://testserver") as c:
        r = c.post("/api/v1/auth/login", json={"email": p.user.email, "password": PASSWORD})
        assert r.status_code == 200
        cookie = r.headers["set-cookie"]
        assert cookie.startswith("__Host-lydiard_session=") and "Secure" in cookie and "Path=/" in cookie
        assert "Domain" not in cookie
        assert r.headers["strict-transport-security"].startswith("max-age=31536000")
        assert c.get("/api/v1/auth/me").status_code == 200  # the __Host- cookie is the session
        c.cookies.set("lydiard_session", c.cookies.get("__Host-lydiard_session") or "")
        del c.cookies["__Host-lydiard_session"]
        assert c.get("/api/v1/auth/me").status_code == 401  # the unprefixed name is not read behind https


def test_no_hsts_without_https(client: Any) -> None:
    assert "strict-transport-security" not in client.get("/login").headers


def test_account_deletion_leaves_nothing_in_the_sqlite_files(world: Any, ctx: Any) -> None:
    if ctx.engine.dialect.name != "sqlite":
        pytest.skip("a SQLite file check")
    p = world.user("del")
    ids = world.seed(p)
    marker = ids["marker"].encode()
    from pathlib import Path

    db = Path(str(ctx.engine.url.database))
    wal = db.with_name(db.name + "-wal")
    assert marker in db.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    r = p.client.post("/api/v1/auth/me/delete", json={"password": PASSWORD}, headers=p.headers)
    assert r.status_code == 204
    assert not wal.exists() or wal.stat().st_size == 0  # checkpointed (TRUNCATE)
    assert marker not in db.read_bytes()
