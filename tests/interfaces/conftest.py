"""Fixtures for the HTTP interfaces: the app on each backend, users, logins and seeded data."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from lydiard.interfaces.app import create_app
from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Still argon2id, with a cheap cost: the production parameters are checked in test_auth."""
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def app(settings: Any, ctx: Context) -> FastAPI:
    return create_app(settings, context=ctx)


def new_client(app: FastAPI) -> TestClient:
    return TestClient(app, base_url="http://testserver", raise_server_exceptions=False)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with new_client(app) as c:
        yield c


def gpx_bytes(name: str, start: datetime, *, n: int = 900, hr_bpm: int = 140) -> bytes:
    """A small running GPX track named ``name`` with heart rate, one point a second."""
    pts = []
    for i in range(n):
        t = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(
            f'<trkpt lat="{59.9 + i * 1e-5:.6f}" lon="{10.7 + i * 1e-5:.6f}"><ele>10</ele><time>{t}</time>'
            f"<extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr_bpm + (i % 7)}</gpxtpx:hr>"
            "</gpxtpx:TrackPointExtension></extensions></trkpt>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1" '
        'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
        f"<trk><name>{name}</name><type>running</type><trkseg>{''.join(pts)}</trkseg></trk></gpx>"
    ).encode()


@dataclass
class Person:
    """A user, their athlete profile (if any) and a logged-in client."""

    user: user_svc.UserInfo
    client: TestClient
    csrf: str
    athlete_id: str | None = None
    markers: list[str] = field(default_factory=list)

    @property
    def headers(self) -> dict[str, str]:
        return {"X-CSRF-Token": self.csrf}


class World:
    """Builds users and data through the real services."""

    def __init__(self, app: FastAPI, ctx: Context) -> None:
        self.app = app
        self.ctx = ctx
        self.clients: list[TestClient] = []
        self.extra: dict[str, Any] = {}  #: named people of a scene (see authz_routes.build_scene)

    def user(self, label: str, *, admin: bool = False, athlete: bool = True) -> Person:
        email = f"{label}-{uuid.uuid4().hex[:6]}@example.org"
        u = user_svc.create_user(self.ctx, Actor.system(), email=email, password=PASSWORD,
                                 display_name=label.title(), is_admin=admin)
        c = new_client(self.app)
        self.clients.append(c)
        r = c.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        p = Person(user=u, client=c, csrf=r.json()["csrf_token"])
        if athlete:
            a = athlete_svc.create_athlete(self.ctx, Actor.system(), name=f"{label.title()} Runner",
                                           user_id=u.id, tz="UTC")
            p.athlete_id = a.id
        return p

    def seed(self, p: Person) -> dict[str, str]:
        """Distinctive data for ``p``'s athlete: a check-in note and an activity name with markers."""
        assert p.athlete_id is not None
        marker = f"SECRET-{uuid.uuid4().hex}"
        p.markers.append(marker)
        day = self.ctx.clock().date()
        checkin_svc.submit_checkin(self.ctx, Actor.system(), p.athlete_id, day=day, energy=4, mood=4,
                                   soreness=3, readiness=7, note=f"note {marker}")
        activity_id = self.activity(p.athlete_id, name=f"Run {marker}", day=day - timedelta(days=1))
        return {"athlete_id": p.athlete_id, "activity_id": activity_id, "day": day.isoformat(),
                "marker": marker}

    def activity(self, athlete_id: str, *, name: str, day: date) -> str:
        """Store one activity with samples, a lap and session metrics (rows written directly: the
        importers are tested elsewhere, this is test setup)."""
        import numpy as np
        import sqlalchemy as sa

        from lydiard.services.context import new_id
        from lydiard.storage import tables as t
        from lydiard.storage.streams import write_streams

        aid = new_id()
        started = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
        now = self.ctx.clock()
        with self.ctx.engine.begin() as conn:
            conn.execute(sa.insert(t.activities).values(
                id=aid, athlete_id=athlete_id, file_sha256=None, source_format="gpx", sport="running", name=name,
                started_at=started, day=day, duration_s=1800.0, moving_time_s=1790.0, distance_m=6000.0,
                avg_hr_bpm=142.0, max_hr_bpm=170.0, n_samples=60, created_at=now))
            idx = np.arange(60, dtype=np.float64)
            write_streams(conn, aid, elapsed_s=idx * 30.0, channels={
                "hr_bpm": 130.0 + idx % 20, "speed_mps": np.full(60, 3.3),
                "lat_deg": 59.9 + idx * 1e-4, "lon_deg": np.full(60, 10.7)})
            conn.execute(sa.insert(t.laps).values(activity_id=aid, lap_index=0, started_at=started, duration_s=1800.0,
                                                  distance_m=6000.0, avg_hr_bpm=142.0))
            conn.execute(sa.insert(t.session_metrics).values(activity_id=aid, load_au=55.0, load_source="hr",
                                                             trimp_banister=55.0, details={"note": name},
                                                             computed_at=now))
        return aid

    def close(self) -> None:
        for c in self.clients:
            c.close()


@pytest.fixture
def world(app: FastAPI, ctx: Context) -> Iterator[World]:
    w = World(app, ctx)
    yield w
    w.close()


def as_date(s: str) -> date:
    return date.fromisoformat(s)
