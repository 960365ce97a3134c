"""An upload's processing has a time budget and stops when the client goes away."""

from __future__ import annotations

import asyncio
import io
import threading
import time
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from lydiard.errors import WorkStoppedError
from lydiard.interfaces.app import create_app
from lydiard.interfaces.http.work import request_budget
from lydiard.services import importing
from lydiard.services.access import Actor
from lydiard.storage import tables as t


def _tiny_gpx(i: int, start: datetime) -> bytes:
    pts = "".join(f'<trkpt lat="{59.9 + k * 1e-4:.5f}" lon="10.7"><time>'
                  f'{(start + timedelta(seconds=k)).strftime("%Y-%m-%dT%H:%M:%SZ")}</time></trkpt>' for k in range(3))
    return ('<?xml version="1.0"?><gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
            f"<trk><name>r{i}</name><trkseg>{pts}</trkseg></trk></gpx>").encode()


def _many_tiny_gpx(n: int) -> bytes:
    buf = io.BytesIO()
    start = datetime(2025, 1, 1, 7, tzinfo=UTC)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            zf.writestr(f"run{i:05d}.gpx", _tiny_gpx(i, start + timedelta(hours=i)))
    return buf.getvalue()


def test_budget_spent_stops_a_zip_of_many_tiny_files(world: Any, ctx: Any) -> None:
    p = world.user("uma")
    ctx.settings = ctx.settings.model_copy(update={"upload_time_budget_s": 1.0})
    app = create_app(ctx.settings, context=ctx)
    data = _many_tiny_gpx(3000)
    with TestClient(app) as c:
        c.cookies.update(p.client.cookies)
        t0 = time.monotonic()
        r = c.post(f"/api/v1/athletes/{p.athlete_id}/imports", headers=p.headers,
                   files={"files": ("many.zip", data, "application/zip")})
        elapsed = time.monotonic() - t0
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["title"] == "Processing stopped" and "budget of 1 s" in body["detail"]
    assert elapsed < 30  # stopped near the budget, not after 3,000 files
    with ctx.engine.connect() as conn:
        n_acts = conn.execute(sa.select(sa.func.count()).select_from(t.activities)
                              .where(t.activities.c.athlete_id == p.athlete_id)).scalar_one()
        n_items = conn.execute(sa.select(sa.func.count()).select_from(t.import_items)
                               .where(t.import_items.c.run_id == body["run_id"])).scalar_one()
    assert n_acts < 3000 and f"{n_acts} file(s) imported before that are kept" in body["detail"]
    assert n_items <= 3000  # the outcomes of what was done are recorded under the run id


def test_cancel_stops_the_import_at_once(world: Any, ctx: Any) -> None:
    p = world.user("vic")
    data = _many_tiny_gpx(2000)
    budget = importing.WorkBudget(600.0)
    threading.Timer(0.3, budget.cancel).start()
    t0 = time.monotonic()
    with pytest.raises(WorkStoppedError, match="client went away"):
        importing.import_upload(ctx, Actor.system(), p.athlete_id, name="many.zip", data=data, budget=budget)
    assert time.monotonic() - t0 < 20


def test_request_budget_is_cancelled_when_the_client_disconnects() -> None:
    class Gone:
        async def is_disconnected(self) -> bool:
            return True

    async def run() -> bool:
        async with request_budget(Gone(), 600.0) as budget:  # type: ignore[arg-type]
            await asyncio.sleep(0.1)
            try:
                budget.check()
            except WorkStoppedError:
                return True
        return False

    assert asyncio.run(run())
