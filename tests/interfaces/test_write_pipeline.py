"""One way through the services: the same threshold change made through the JSON API, the web
form and the CLI leaves byte-identical stored results (re-scored sessions, daily metrics, plan
proposals), because all three call the same service, which runs the one pipeline."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from lydiard.config import Settings
from lydiard.interfaces.app import create_app
from lydiard.interfaces.cli.main import build_app
from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services import context as context_module
from lydiard.services import pipeline, planning
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context, open_context
from lydiard.storage import tables as t
from lydiard.storage.streams import write_streams

NOW = datetime(2025, 6, 30, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
ATHLETE_ID = "0123456789abcdef0123456789abcdef"
EMAIL = "runner@example.org"
PASSWORD = "correct horse battery staple 42"
SYSTEM = Actor.system()
CHANGE_FROM = TODAY - timedelta(days=10)


def _fixed() -> datetime:
    return NOW


def _seed(home: Path) -> tuple[Settings, Context]:
    """The same athlete in a fresh store: sessions with heart rate, check-ins, a plan, derived data."""
    settings = Settings(home=home, database_url=None)
    ctx = open_context(settings, clock=_fixed)
    user = user_svc.create_user(ctx, SYSTEM, email=EMAIL, password=PASSWORD, display_name="Runner")
    athlete_svc.create_athlete(ctx, SYSTEM, name="Runner", sex="m", tz="UTC", user_id=user.id,
                               athlete_id=ATHLETE_ID)
    athlete_svc.set_threshold(ctx, SYSTEM, ATHLETE_ID, kind="hr_rest_bpm", value=48, valid_from=TODAY - timedelta(days=60))
    athlete_svc.set_threshold(ctx, SYSTEM, ATHLETE_ID, kind="hr_max_bpm", value=192, valid_from=TODAY - timedelta(days=60))
    athlete_svc.set_threshold(ctx, SYSTEM, ATHLETE_ID, kind="lthr_bpm", value=172, valid_from=TODAY - timedelta(days=60))
    with ctx.engine.begin() as conn:
        for k in range(30):
            day = TODAY - timedelta(days=30 - k)
            aid = f"act{k:02d}"
            started = datetime.combine(day, datetime.min.time(), tzinfo=UTC) + timedelta(hours=7)
            conn.execute(sa.insert(t.activities).values(
                id=aid, athlete_id=ATHLETE_ID, file_sha256=None, source_format="gpx", sport="running",
                name=f"Run {k}", started_at=started, day=day, duration_s=1800.0, moving_time_s=1790.0,
                distance_m=6000.0, avg_hr_bpm=150.0, max_hr_bpm=175.0, n_samples=60, created_at=NOW))
            idx = np.arange(60, dtype=np.float64)
            write_streams(conn, aid, elapsed_s=idx * 30.0, channels={
                "hr_bpm": 140.0 + (idx + k) % 30, "speed_mps": np.full(60, 3.3)})
    for k in range(20):
        checkin_svc.submit_checkin(ctx, SYSTEM, ATHLETE_ID, day=TODAY - timedelta(days=19 - k),
                                   energy=2 if k > 16 else 4, mood=3, soreness=2 if k > 16 else 4,
                                   sleep_h=7.0 + (k % 3) * 0.5, illness=k == 19)
    for k in range(1, 5):
        planning.create_session(ctx, SYSTEM, ATHLETE_ID, day=TODAY + timedelta(days=k), sport="run",
                                session_type="intervals" if k % 2 else "easy", duration_s=3600.0)
    pipeline.after_change(ctx, SYSTEM, ATHLETE_ID, pipeline.Change.thresholds(since=None))  # score the sessions
    return settings, ctx


def _dump(ctx: Context) -> bytes:
    """The athlete's stored results, as bytes (random row ids left out; the clock is fixed)."""
    out: dict[str, Any] = {}
    with ctx.engine.connect() as conn:
        # random ids of planned sessions and plan changes, named by their order instead
        names = {r.id: f"session-{k}" for k, r in enumerate(conn.execute(
            sa.select(t.planned_sessions.c.id).order_by(t.planned_sessions.c.day, t.planned_sessions.c.created_at)))}
        names.update({r.id: f"change-{k}" for k, r in enumerate(conn.execute(
            sa.select(t.plan_changes.c.id).order_by(t.plan_changes.c.created_at, t.plan_changes.c.for_day)))})
        for name, table, drop in (("session_metrics", t.session_metrics, ()),
                                  ("daily_metrics", t.daily_metrics, ()),
                                  ("thresholds", t.thresholds, ("id",)),
                                  ("plan_changes", t.plan_changes, ("id",)),
                                  ("planned_sessions", t.planned_sessions, ("id",))):
            rows = [{k: v for k, v in r._asdict().items() if k not in drop}
                    for r in conn.execute(sa.select(table)).all()]
            out[name] = sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
    text = json.dumps(out, sort_keys=True, default=str)
    for random_id, name in names.items():
        text = text.replace(random_id, name)
    return text.encode()


def _login(client: TestClient) -> str:
    r = client.post("/api/v1/auth/login", json={"email": EMAIL, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return str(r.json()["csrf_token"])


Stores = dict[str, tuple[Settings, Context]]


@contextlib.contextmanager
def _identical_stores(seed: Callable[[Path], tuple[Settings, Context]], root: Path,
                      names: tuple[str, str, str]) -> Iterator[tuple[Stores, bytes]]:
    """One freshly seeded store per way in (``names``), checked identical; closed on exit."""
    stores = {name: seed(root / name) for name in names}
    try:
        before = _dump(stores[names[0]][1])
        assert before == _dump(stores[names[1]][1]) == _dump(stores[names[2]][1]), "the seeding is deterministic"
        yield stores, before
    finally:
        for _, c in stores.values():
            c.close()


def _assert_changed_alike(stores: Stores, before: bytes, why: str) -> None:
    """Every store holds the same results after its way in, and they differ from ``before``."""
    a, b, c = (_dump(ctx) for _, ctx in stores.values())
    assert a == b == c
    assert a != before, why


def test_threshold_change_through_api_web_and_cli_stores_identical_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(context_module, "utc_now", _fixed)  # the CLI opens its own context
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    with _identical_stores(_seed, tmp_path, ("api", "web", "cli")) as (stores, before):
        settings, ctx = stores["api"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.put(f"/api/v1/athletes/{ATHLETE_ID}/thresholds/lthr_bpm", headers={"X-CSRF-Token": csrf},
                           json={"value": 158, "valid_from": CHANGE_FROM.isoformat()})
            assert r.status_code == 200, r.text

        settings, ctx = stores["web"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.post(f"/athletes/{ATHLETE_ID}/settings/threshold", headers={"X-CSRF-Token": csrf},
                            data={"kind": "lthr_bpm", "value": "158", "valid_from": CHANGE_FROM.isoformat()})
            assert r.status_code == 200 and "metrics were recalculated" in r.text, r.text

        settings, ctx = stores["cli"]
        monkeypatch.setenv("LYDIARD_HOME", str(settings.home))
        result = CliRunner().invoke(build_app(), ["athlete", "threshold", "lthr_bpm", "158", "--from",
                                                  CHANGE_FROM.isoformat(), "--athlete", ATHLETE_ID])
        assert result.exit_code == 0, result.output

        _assert_changed_alike(stores, before, "the change re-scored the sessions and recomputed the days")


def _hr_tss(ctx: Context, day: date) -> float:
    with ctx.engine.connect() as conn:
        return float(conn.execute(sa.select(t.session_metrics.c.hr_tss).join(
            t.activities, t.activities.c.id == t.session_metrics.c.activity_id).where(
            t.activities.c.day == day)).scalar_one())


def test_threshold_set_and_delete_through_the_api_rescore_and_recompute(tmp_path: Path) -> None:
    settings, ctx = _seed(tmp_path / "store")
    day = TODAY - timedelta(days=3)
    first, earlier = _hr_tss(ctx, day), _hr_tss(ctx, day - timedelta(days=1))
    with ctx.engine.connect() as conn:
        ctl_before = conn.execute(sa.select(t.daily_metrics.c.ctl).where(t.daily_metrics.c.day == TODAY)).scalar_one()
    with TestClient(create_app(settings, context=ctx)) as client:
        csrf = _login(client)
        r = client.put(f"/api/v1/athletes/{ATHLETE_ID}/thresholds/lthr_bpm", headers={"X-CSRF-Token": csrf},
                       json={"value": 150, "valid_from": day.isoformat()})
        assert r.status_code == 200, r.text
        changed = _hr_tss(ctx, day)
        assert changed > first, "a lower threshold HR scores the same session higher"
        assert _hr_tss(ctx, day - timedelta(days=1)) == earlier, "sessions before the day keep their score"
        with ctx.engine.connect() as conn:
            ctl_after = conn.execute(sa.select(t.daily_metrics.c.ctl).where(t.daily_metrics.c.day == TODAY)).scalar_one()
        assert ctl_after > ctl_before, "the daily metrics follow the re-scored sessions"

        r = client.delete(f"/api/v1/athletes/{ATHLETE_ID}/thresholds/lthr_bpm/{day.isoformat()}",
                          headers={"X-CSRF-Token": csrf})
        assert r.status_code == 204, r.text
        assert _hr_tss(ctx, day) == pytest.approx(first), "the earlier value holds again"
        r = client.delete(f"/api/v1/athletes/{ATHLETE_ID}/thresholds/lthr_bpm/{day.isoformat()}",
                          headers={"X-CSRF-Token": csrf})
        assert r.status_code == 404
    ctx.close()



BASELINES = {"window_days": 5, "hrv_baseline_days": 21, "hrv_kind": "morning"}


def _with_hrv_history(home: Path) -> tuple[Settings, Context]:
    """The seeded athlete with 90 days of simulated morning HRV, resting HR and sleep, recomputed."""
    from lydiard.domain.daily import DailyImport
    from lydiard.domain.simulate import simulate_athlete
    from lydiard.services.demo import simulated_import
    from lydiard.services.importing import store_daily_import

    settings, ctx = _seed(home)
    sim = simulate_athlete(7, 90, "overreaching", start=TODAY - timedelta(days=89))
    obs = simulated_import(sim.days).observations  # the readings only: the sessions are the seeded ones
    store_daily_import(ctx, SYSTEM, ATHLETE_ID, DailyImport(observations=obs), source="hrv4training",
                       item="sim")
    pipeline.after_change(ctx, SYSTEM, ATHLETE_ID, pipeline.Change.data(since=None))
    return settings, ctx


def test_baseline_settings_through_api_web_and_service_store_identical_results(tmp_path: Path) -> None:
    """Issue 14: the baseline settings changed through the API, the web Settings page (which sends
    every window) and the service recompute the same days identically. The CLI has no such setting."""
    with _identical_stores(_with_hrv_history, tmp_path, ("api", "web", "service")) as (stores, before):
        settings, ctx = stores["api"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.patch(f"/api/v1/athletes/{ATHLETE_ID}", headers={"X-CSRF-Token": csrf},
                             json={"baseline_config": BASELINES})
            assert r.status_code == 200 and r.json()["baseline_config"] == BASELINES, r.text
            r = client.patch(f"/api/v1/athletes/{ATHLETE_ID}", headers={"X-CSRF-Token": csrf},
                             json={"baseline_config": {"hrv_baseline_days": 500}})
            assert r.status_code == 422, "validated by the service"

        settings, ctx = stores["web"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.post(f"/athletes/{ATHLETE_ID}/settings/baselines", headers={"X-CSRF-Token": csrf},
                            data={"window_days": "5", "hrv_baseline_days": "21", "rhr_baseline_days": "60",
                                  "sleep_baseline_days": "28", "wellness_baseline_days": "28", "hrv_kind": "morning"})
            assert r.status_code == 200, r.text

        _, ctx = stores["service"]
        athlete_svc.update_profile(ctx, SYSTEM, ATHLETE_ID, baseline_config=BASELINES)

        _assert_changed_alike(stores, before, "the athlete's windows changed the stored baselines")


def test_race_mark_through_api_web_and_service_stores_identical_results(tmp_path: Path) -> None:
    """Issue 15: a session marked as a race through the API's PATCH, the activity page's form and
    the service recompute the same days identically (one service, one pipeline)."""
    from lydiard.services import activities as activity_svc

    race_day = TODAY - timedelta(days=2)
    activity_id = f"act{30 - 2:02d}"  # the seeded run of that day
    with _identical_stores(_seed, tmp_path, ("api", "web", "service")) as (stores, before):
        settings, ctx = stores["api"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.patch(f"/api/v1/athletes/{ATHLETE_ID}/activities/{activity_id}", headers={"X-CSRF-Token": csrf},
                             json={"race": True})
            assert r.status_code == 200 and r.json()["day"] == race_day.isoformat(), r.text

        settings, ctx = stores["web"]
        with TestClient(create_app(settings, context=ctx)) as client:
            csrf = _login(client)
            r = client.post(f"/athletes/{ATHLETE_ID}/activities/{activity_id}/race", data={"csrf_token": csrf, "race": "1"},
                            follow_redirects=False)
            assert r.status_code == 303, r.text

        _, ctx = stores["service"]
        activity_svc.set_activity_race(ctx, SYSTEM, ATHLETE_ID, activity_id, race=True)

        _assert_changed_alike(stores, before, "the race mark recomputed the days")
        with stores["web"][1].engine.connect() as conn:
            detail = conn.execute(sa.select(t.daily_metrics.c.detail).where(t.daily_metrics.c.day == TODAY)).scalar_one()
        assert detail["evidence"]["race"] == {**detail["evidence"]["race"], "rule": "flagged", "day": race_day.isoformat()}
