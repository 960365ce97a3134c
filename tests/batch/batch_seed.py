"""Seeded stores for the batch tests: a few athletes with every kind of input (shared helpers)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select

from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.domain.simulate import simulate_athlete
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, set_threshold
from lydiard.services.context import Context, new_id
from lydiard.services.demo import simulated_import
from lydiard.services.importing import store_daily_import
from lydiard.services.metrics import recompute_athlete
from lydiard.storage.tables import (
    activities,
    daily_metrics,
    daily_observations,
    planned_sessions,
    session_logs,
)
from lydiard.storage.tables import session_metrics as sm

#: Days for which the batch writes detail in these tests.
DETAIL_DAYS = 5


@dataclass(frozen=True)
class Seeded:
    athlete_ids: tuple[str, ...]
    today: date


def _activity(conn: Any, athlete_id: str, day: date, sport: str, load_au: float, now: datetime, hour: int,
              duration_s: float = 3600.0, **metrics: float) -> str:
    """A stored session; ``metrics``: session_metrics columns (EF, decoupling, TSS kinds...) and ``avg_hr_bpm``."""
    aid = new_id()
    conn.execute(insert(activities).values(
        id=aid, athlete_id=athlete_id, source_format="fit", sport=sport,
        started_at=datetime(day.year, day.month, day.day, hour, tzinfo=UTC),
        day=day, duration_s=duration_s, moving_time_s=duration_s - 100.0, n_samples=0, created_at=now,
        file_sha256=new_id() + new_id(), avg_hr_bpm=metrics.pop("avg_hr_bpm", None),
    ))
    conn.execute(insert(sm).values(activity_id=aid, load_au=load_au, load_source="hr_tss", computed_at=now,
                                   **metrics))
    return aid


def _marker_sessions(conn: Any, athlete_id: str, first: date, days: int, now: datetime) -> None:
    """Runs and rides with the session markers the signals read (EF, decoupling, HR / external TSS,
    sRPE), drifting so the per-sport normalisation and every marker are exercised; one session far
    above the chronic load (the ``load`` race rule)."""
    for d in range(0, days, 2):
        day = first + timedelta(days=d)
        drift = 1.0 - 0.002 * d
        _activity(conn, athlete_id, day, "run", 55.0 + d % 7, now, 6, duration_s=3000.0 + 60.0 * (d % 5),
                  avg_hr_bpm=140.0 + d % 9, efficiency_factor=0.021 * drift, decoupling_pct=1.0 + 0.05 * d,
                  hr_tss=50.0 + 0.3 * d, running_tss=55.0 + d % 7, srpe_au=250.0 + 2 * d)
        if d % 6 == 0:
            _activity(conn, athlete_id, day, "ride", 70.0, now, 17, duration_s=5400.0, avg_hr_bpm=130.0,
                      efficiency_factor=1.6 * drift, decoupling_pct=2.5, hr_tss=66.0, power_tss=70.0,
                      intensity_factor=0.7, np_w=210.0)
    _activity(conn, athlete_id, first + timedelta(days=days - 4), "run", 280.0, now, 9, duration_s=10800.0,
              avg_hr_bpm=168.0, efficiency_factor=0.022, hr_tss=300.0, running_tss=280.0)


def seed_store(ctx: Context) -> Seeded:
    """Four athletes: simulated histories, files, logs, several sources, an empty one, other time zones,
    and one stored implausible value (treated as missing by both paths)."""
    system = Actor.system()
    now = ctx.clock()
    today = now.date()
    ids: list[str] = []
    for k, (scenario, days, tz) in enumerate((("normal", 75, "Europe/Oslo"), ("overreaching", 66, "UTC"),
                                              ("illness", 50, "America/Los_Angeles"))):
        a = create_athlete(ctx, system, name=f"Athlete {k}", sex="f" if k % 2 else "m", tz=tz)
        start = today - timedelta(days=days - 1 + 3 * k)
        sim = simulate_athlete(11 + k, days, scenario, start=start)
        set_threshold(ctx, system, a.id, kind="lthr_bpm", value=168.0, valid_from=start)
        store_daily_import(ctx, system, a.id, simulated_import(sim.days), source="hrv4training", item="sim")
        ids.append(a.id)
    # athlete 1: a second source overriding some fields, files (two sessions on some days), odd logs
    a1 = ids[1]
    first = today - timedelta(days=68)
    extra_obs = tuple(
        DailyObservation(day=first + timedelta(days=d), source="checkin", energy=float(1 + d % 5),
                         rhr_bpm=None if d % 3 else 51.0 + d % 4, illness=True if d == 40 else None)
        for d in range(0, 60, 2)
    )
    extra_logs = (
        SessionLog(day=first + timedelta(days=5), source="srpe-app", sport="strength", duration_s=2700.0, rpe=6.0,
                   external_id="s1"),
        SessionLog(day=first + timedelta(days=9), source="srpe-app", sport="kitesurf", duration_s=5400.0,
                   external_id="s2"),
        SessionLog(day=first + timedelta(days=9), source="srpe-app", sport="ride", duration_s=1234.5, rpe=3.5,
                   external_id="s3"),
    )
    store_daily_import(ctx, system, a1, DailyImport(observations=extra_obs, sessions=extra_logs), source="checkin",
                       item="extra")
    with ctx.engine.begin() as conn:
        for h, d in enumerate((3, 9, 9, 50, 51)):
            _activity(conn, a1, first + timedelta(days=d), "run", 40.0 + 7.3 * d, now, 6 + h)
        linked = _activity(conn, a1, first + timedelta(days=60), "ride", 80.0, now, 7)
        log_id = conn.execute(select(session_logs.c.id).where(session_logs.c.athlete_id == a1)
                              .order_by(session_logs.c.day)).first()
        assert log_id is not None
        conn.execute(session_logs.update().where(session_logs.c.id == log_id[0]).values(activity_id=linked))
    # athlete 0: sessions with markers, a planned race that was run, and a planned race not run
    a0 = ids[0]
    first0 = today - timedelta(days=70)
    with ctx.engine.begin() as conn:
        _marker_sessions(conn, a0, first0, 70, now)
        for d in (first0 + timedelta(days=40), today + timedelta(days=3)):
            conn.execute(insert(planned_sessions).values(
                id=new_id(), athlete_id=a0, day=d, sport="run", session_type="race", duration_s=7200.0,
                expected_load_au=180.0, origin="manual", created_at=now, updated_at=now))
    # an athlete without any data, and one with only a few late observations (another time zone)
    ids.append(create_athlete(ctx, system, name="Empty", tz="Asia/Tokyo").id)
    late = create_athlete(ctx, system, name="Late", tz="Pacific/Auckland")
    obs = tuple(DailyObservation(day=today - timedelta(days=d), source="fitbit", rhr_bpm=55.0 + d % 3, sleep_h=7.5)
                for d in range(12))
    store_daily_import(ctx, system, late.id, DailyImport(observations=obs), source="fitbit", item="late")
    with ctx.engine.begin() as conn:  # one implausible value, as an older version or a bulk load could store
        conn.execute(daily_observations.update()
                     .where(daily_observations.c.athlete_id == late.id,
                            daily_observations.c.day == today - timedelta(days=3))
                     .values(rhr_bpm=19.0))
    ids.append(late.id)
    return Seeded(athlete_ids=tuple(sorted(ids)), today=today)


def per_athlete_rows(ctx: Context, ids: tuple[str, ...]) -> dict[tuple[str, date], dict[str, Any]]:
    """``daily_metrics`` as written by ``recompute_athlete`` for every athlete (the reference)."""
    with ctx.engine.begin() as conn:
        conn.execute(delete(daily_metrics))
    for aid in ids:
        recompute_athlete(ctx, Actor.system(), aid)
    return stored_rows(ctx)


def stored_rows(ctx: Context) -> dict[tuple[str, date], dict[str, Any]]:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(daily_metrics)).all()
    return {(r.athlete_id, r.day): r._asdict() for r in rows}


def assert_same_rows(batch: dict[tuple[str, date], dict[str, Any]], ref: dict[tuple[str, date], dict[str, Any]],
                     *, detail_days: int) -> None:
    """Every column identical (floats bit for bit); detail only for each athlete's last ``detail_days`` days."""
    assert batch.keys() == ref.keys()
    last: dict[str, date] = {}
    for aid, day in ref:
        last[aid] = max(last.get(aid, day), day)
    for key, r in ref.items():
        b = batch[key]
        for col, v in r.items():
            if col == "computed_at":
                continue
            if col == "detail":
                if (last[key[0]] - key[1]).days < detail_days:
                    assert b[col] == v, key
                else:
                    assert b[col] is None, key
                continue
            w = b[col]
            if isinstance(v, float) and math.isnan(v):
                assert isinstance(w, float) and math.isnan(w), (key, col)
            else:
                assert w == v, (key, col, w, v)
