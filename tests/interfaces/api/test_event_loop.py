"""Resolving the caller does its database work off the event loop.

The request policy reads the session row and refreshes its last-seen time before every
route. If that write waits for a lock (SQLite's one writer, a PostgreSQL row lock) on the
event loop, every other request waits with it. Here a transaction holds the session row
for a while; an anonymous page asked for at the same time must not wait for it.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import httpx
import sqlalchemy as sa
from fastapi import FastAPI

from lydiard.storage.tables import login_sessions

HOLD_S = 1.5


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
