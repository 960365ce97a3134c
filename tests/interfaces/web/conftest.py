"""Fixtures of the web-page tests: an app over the ``ctx`` store (SQLite and PostgreSQL) with a
logged-in athlete, a coach and a little history."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from lydiard.domain.simulate import simulate_athlete
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.context import Context
from lydiard.services.demo import _link_coach, _write_simulated_metrics, simulated_import
from lydiard.services.importing import store_daily_import
from lydiard.services.metrics import local_today

PASSWORD = "correct horse battery staple 42"
TZ = "Europe/Oslo"
DAYS = 90


@dataclass
class Seeded:
    athlete_user_id: str
    coach_user_id: str
    athlete_id: str
    managed_ids: dict[str, str]  # scenario -> athlete id (managed by the coach)


def seed_store(ctx: Context, *, days: int = DAYS) -> Seeded:
    """Accounts (athlete, coach, stranger), the athlete's simulated history and managed athletes."""
    system = Actor.system()
    athlete_user = user_svc.create_user(ctx, system, email="ath@example.org", password=PASSWORD,
                                        display_name="Ada Athlete")
    coach = user_svc.create_user(ctx, system, email="coach@example.org", password=PASSWORD,
                                 display_name="Carl Coach")
    user_svc.create_user(ctx, system, email="stranger@example.org", password=PASSWORD, display_name="Sam Stranger")
    today = local_today(ctx, TZ)
    start = today - timedelta(days=days - 1)

    def simulated(name: str, scenario: str, seed: int, **kw: str) -> str:
        a = create_athlete(ctx, system, name=name, tz=TZ, **kw)
        imp = simulated_import(simulate_athlete(seed, days, scenario, start=start).days)
        store_daily_import(ctx, system, a.id, imp, source="demo", item="test")
        _write_simulated_metrics(ctx, a.id, imp, days=days)
        return a.id

    aid = simulated("Ada Athlete", "normal", 5, user_id=athlete_user.id)
    _link_coach(ctx, coach.id, aid)
    managed = {sc: simulated(f"Managed {sc}", sc, 20 + i, managed_by_user_id=coach.id)
               for i, sc in enumerate(("overreaching", "illness"))}
    return Seeded(athlete_user.id, coach.id, aid, managed)


@pytest.fixture
def seeded(ctx: Context) -> Seeded:
    return seed_store(ctx)


@pytest.fixture
def app_client(ctx: Context, seeded: Seeded) -> Iterator[TestClient]:
    from lydiard.interfaces.app import create_app

    app = create_app(ctx.settings, context=ctx)
    with TestClient(app, base_url="http://testserver") as client:
        yield client


def _login(client: TestClient, email: str = "ath@example.org") -> str:
    """Log in through the form; returns the CSRF token of the new session."""
    r = client.post("/login", data={"email": email, "password": PASSWORD, "next": "/"}, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = client.get("/", follow_redirects=True)
    m = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert m, "the logged-in page carries the CSRF token"
    return m.group(1)


@pytest.fixture
def login() -> Callable[..., str]:
    """``login(client, email=...)`` logs in through the form and returns the session's CSRF token."""
    return _login


def _gpx(start: datetime, *, n: int = 900, hr_bpm: int = 140) -> bytes:
    """A GPX run with heart rate: one point a second along a line north of Oslo."""
    pts = []
    for i in range(n):
        t = (start + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ")
        pts.append(f'<trkpt lat="{59.9 + i * 2.5e-5:.6f}" lon="{10.7 + i * 1e-5:.6f}"><ele>{100 + i % 50}</ele>'
                   f"<time>{t}</time><extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>{hr_bpm + i % 20}"
                   "</gpxtpx:hr></gpxtpx:TrackPointExtension></extensions></trkpt>")
    return ('<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="test" '
            'xmlns="http://www.topografix.com/GPX/1/1" '
            'xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">'
            f'<trk><name>Test run</name><type>running</type><trkseg>{"".join(pts)}</trkseg></trk></gpx>').encode()


@pytest.fixture
def make_gpx() -> Callable[..., bytes]:
    return _gpx
