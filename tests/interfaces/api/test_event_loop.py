"""Where request work runs: off the event loop, in a small pool, uploads in a pool of their own.

* The request policy reads the session row and refreshes its last-seen time before every
  route. If that write waits for a lock (SQLite's one writer, a PostgreSQL row lock) on the
  event loop, every other request waits with it. Here a transaction holds the session row
  for a while; an anonymous page asked for at the same time must not wait for it.
* The requests' thread pool is ``settings.request_threads`` wide; an upload being imported
  runs in the uploads' pool and never holds a page view up, even with one request thread.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio.to_thread
import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))
from workout_builders import gpx, line

from lydiard.interfaces.app import create_app
from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services import importing
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.storage.tables import login_sessions

HOLD_S = 1.5
PASSWORD = "correct horse battery staple 42"


async def _both(app: FastAPI, cookies: dict[str, str], athlete_id: str) -> tuple[float, float, int, int]:
    transport = httpx.ASGITransport(app=app)
    t0 = time.monotonic()

    async def timed(client: httpx.AsyncClient, url: str) -> tuple[float, int]:
        r = await client.get(url)
        return time.monotonic() - t0, r.status_code

    async with (httpx.AsyncClient(transport=transport, base_url="http://testserver", cookies=cookies) as logged_in,
                httpx.AsyncClient(transport=transport, base_url="http://testserver") as anonymous):
        (t_a, code_a), (t_b, code_b) = await asyncio.gather(
            timed(logged_in, f"/api/v1/athletes/{athlete_id}"), timed(anonymous, "/login"))
    return t_a, t_b, code_a, code_b


def test_a_caller_waiting_on_a_locked_session_row_does_not_stall_other_requests(
        world: Any, app: FastAPI, clock: Any) -> None:
    p = world.user("lock")
    cookies = {k: v for k, v in p.client.cookies.items()}
    clock.now += timedelta(minutes=5)  # the next request refreshes the session's last-seen time
    held = threading.Event()

    def hold_the_row() -> None:
        with world.ctx.engine.begin() as conn:
            conn.execute(sa.update(login_sessions).where(login_sessions.c.user_id == p.user.id)
                         .values(last_seen_at=clock.now))
            held.set()
            time.sleep(HOLD_S)

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    assert held.wait(10)
    try:
        t_logged_in, t_anonymous, code_logged_in, code_anonymous = asyncio.run(_both(app, cookies, p.athlete_id))
    finally:
        holder.join()
    assert (code_logged_in, code_anonymous) == (200, 200)
    assert t_logged_in >= HOLD_S * 0.5, "the session refresh did not wait for the lock: the test proves nothing"
    assert t_anonymous < HOLD_S * 0.5, (
        f"the anonymous page took {t_anonymous:.2f} s: it waited for another caller's session lookup")


def test_the_request_thread_pool_is_as_wide_as_the_setting(settings: Any, ctx: Context) -> None:
    ctx.settings = settings.model_copy(update={"request_threads": 3})

    async def width() -> float:
        return anyio.to_thread.current_default_thread_limiter().total_tokens

    with TestClient(create_app(ctx.settings, context=ctx)) as client:
        assert client.portal is not None
        assert client.portal.call(width) == 3


@pytest.mark.parametrize("write", ["upload", "checkin"])
def test_a_recomputing_write_does_not_hold_page_views_up(
        settings: Any, ctx: Context, monkeypatch: pytest.MonkeyPatch, write: str) -> None:
    """With one request thread, a page view is still served while an upload's import or a
    check-in's recompute is under way: those run in the recomputing writes' pool."""
    ctx.settings = settings.model_copy(update={"request_threads": 1, "recompute_threads": 1})
    user = user_svc.create_user(ctx, Actor.system(), email="pool@example.org", password=PASSWORD,
                                display_name="Pool")
    athlete = athlete_svc.create_athlete(ctx, Actor.system(), name="Pool Runner", user_id=user.id, tz="UTC")
    work_started, release = threading.Event(), threading.Event()
    module, name = (importing, "import_upload") if write == "upload" else (checkin_svc, "submit_checkin")
    real = getattr(module, name)

    def held(*args: Any, **kwargs: Any) -> Any:  # the real service, once the page has been asked for
        work_started.set()
        release.wait(15)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, held)
    with TestClient(create_app(ctx.settings, context=ctx), base_url="http://testserver") as client:
        r = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
        headers = {"X-CSRF-Token": r.json()["csrf_token"]}
        with ThreadPoolExecutor(max_workers=1) as pool:
            if write == "upload":
                data = gpx([line(600)], track_type="running")
                sent = pool.submit(client.post, f"/api/v1/athletes/{athlete.id}/imports", headers=headers,
                                   files={"files": ("held.gpx", data, "application/gpx+xml")})
            else:
                sent = pool.submit(client.put, f"/api/v1/athletes/{athlete.id}/checkins/2025-06-30", headers=headers,
                                   json={"energy": 4, "mood": 4, "soreness": 3, "readiness": 7})
            assert work_started.wait(15), "the write never reached its service"
            t0 = time.monotonic()
            page = client.get(f"/athletes/{athlete.id}/today")
            waited_s = time.monotonic() - t0
            release.set()
            done = sent.result(timeout=60)
    assert page.status_code == 200, page.text
    assert waited_s < 5, f"the page waited {waited_s:.1f} s for a {write}"
    if write == "upload":
        assert done.status_code == 201, done.text
        assert done.json()["counts"] == {"imported": 1}
    else:
        assert done.status_code == 200, done.text
        assert done.json()["energy"] == 4
