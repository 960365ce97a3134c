"""The database goes away for a moment: services say "unavailable, retry", the API answers 503 with
Retry-After, and both recover on their own when the database is back (no restart).

A TCP proxy on 127.0.0.1 sits between Lydiard and PostgreSQL; cutting it closes the listener
and resets every open connection (pooled ones included), like a database restart or a
network cut.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from tcp_proxy import TcpProxy

from lydiard.config import Settings
from lydiard.errors import StorageUnavailableError
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.checkin import get_checkin, submit_checkin
from lydiard.services.context import Context, open_context
from lydiard.services.readiness import day_view
from lydiard.services.tokens import create_token

#: How long the app may take to notice the database is back, in seconds.
RECOVERY_S = 15.0


@pytest.fixture
def proxied(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TcpProxy, Settings]]:
    if db_url.startswith("sqlite"):
        pytest.skip("an embedded SQLite file cannot become unreachable; PostgreSQL only")
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    url = sa.make_url(db_url)
    with TcpProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        via = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        yield proxy, Settings(home=tmp_path / "home", database_url=via)


def _until_ok(fn: object, *, timeout_s: float = RECOVERY_S) -> float:
    """Call ``fn`` until it stops raising StorageUnavailableError; the seconds it took."""
    assert callable(fn)
    t0 = time.monotonic()
    while True:
        try:
            fn()
            return time.monotonic() - t0
        except StorageUnavailableError:
            if time.monotonic() - t0 > timeout_s:
                raise
            time.sleep(0.2)


def _seed(ctx: Context) -> tuple[str, str]:
    user = user_svc.create_user(ctx, Actor.system(), email="ops@example.org", password="a long password 123",
                                display_name="Ops")
    athlete = create_athlete(ctx, Actor.system(), name="Ops Runner", tz="UTC", user_id=user.id)
    token = create_token(ctx, user_svc.actor_for(user), name="probe", scope="write",
                         password="a long password 123").token
    return athlete.id, token


def test_services_raise_storage_unavailable_and_recover(proxied: tuple[TcpProxy, Settings]) -> None:
    proxy, settings = proxied
    ctx = open_context(settings)
    try:
        athlete_id, _token = _seed(ctx)
        day = ctx.clock().date()
        submit_checkin(ctx, Actor.system(), athlete_id, day=day, energy=4)
        assert proxy.open_connections >= 1, "the pool keeps a connection open through the proxy"
        proxy.cut()
        for call in (lambda: day_view(ctx, Actor.system(), athlete_id),
                     lambda: submit_checkin(ctx, Actor.system(), athlete_id, day=day - timedelta(days=1), mood=2),
                     lambda: get_checkin(ctx, Actor.system(), athlete_id, day=day)):
            with pytest.raises(StorageUnavailableError) as err:
                call()
            assert err.value.retry_after_s >= 1
        proxy.restore()
        _until_ok(lambda: day_view(ctx, Actor.system(), athlete_id))
        submit_checkin(ctx, Actor.system(), athlete_id, day=day - timedelta(days=1), mood=2)
        assert get_checkin(ctx, Actor.system(), athlete_id, day=day - timedelta(days=1)).mood == 2
        assert get_checkin(ctx, Actor.system(), athlete_id, day=day).energy == 4
    finally:
        ctx.close()


def test_api_answers_503_with_retry_after_and_recovers_without_restart(
        proxied: tuple[TcpProxy, Settings]) -> None:
    from lydiard.interfaces.app import create_app

    proxy, settings = proxied
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False) as client:
        ctx = app.state.ctx
        athlete_id, token = _seed(ctx)
        auth = {"Authorization": f"Bearer {token}"}
        today = f"/api/v1/athletes/{athlete_id}/today"
        checkin = f"/api/v1/athletes/{athlete_id}/checkins/{ctx.clock().date().isoformat()}"
        assert client.put(checkin, headers=auth, json={"energy": 4}).status_code == 200
        assert client.get(today, headers=auth).status_code == 200

        proxy.cut()
        for method, path, body in (("GET", today, None), ("PUT", checkin, {"energy": 2}), ("GET", checkin, None)):
            r = client.request(method, path, headers=auth, json=body)
            assert r.status_code == 503, (method, path, r.status_code, r.text)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert int(r.headers["Retry-After"]) >= 1
            problem = r.json()
            assert problem["status"] == 503 and problem["title"] and problem["detail"]
            assert "127.0.0.1" not in r.text and "psycopg" not in r.text, "no internals leak"

        proxy.restore()
        t0 = time.monotonic()
        while (r := client.get(today, headers=auth)).status_code == 503:
            assert time.monotonic() - t0 < RECOVERY_S, "the app did not recover on its own"
            time.sleep(0.2)
        assert r.status_code == 200, r.text
        assert client.get(checkin, headers=auth).json()["energy"] == 4, "the failed PUT changed nothing"
        assert client.put(checkin, headers=auth, json={"energy": 5}).status_code == 200
        assert client.get(checkin, headers=auth).json()["energy"] == 5
