"""The Trends series, the roster sparklines and the demo/benchmark seeding services (both backends)."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from lydiard.domain.simulate import simulate_athlete
from lydiard.errors import NotFoundError
from lydiard.services import trends
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.checkin import submit_checkin
from lydiard.services.context import Context
from lydiard.services.demo import (
    _write_simulated_metrics,
    daily_frame,
    seed_cohort,
    simulated_import,
)
from lydiard.services.importing import store_daily_import
from lydiard.services.metrics import daily_series, local_today, recompute_athlete

SYSTEM = Actor.system()
TZ = "Europe/Oslo"


def _simulated(ctx: Context, scenario: str, *, days: int = 120, seed: int = 4, **kw: str) -> str:
    a = create_athlete(ctx, SYSTEM, name=f"Sim {scenario}", tz=TZ, **kw)
    start = local_today(ctx, TZ) - timedelta(days=days - 1)
    imp = simulated_import(simulate_athlete(seed, days, scenario, start=start).days)
    store_daily_import(ctx, SYSTEM, a.id, imp, source="demo", item="test")
    _write_simulated_metrics(ctx, a.id, imp, days=days)
    return a.id


def test_simulated_import_keeps_the_load(ctx: Context) -> None:
    sim = simulate_athlete(2, 60, "normal")
    imp = simulated_import(sim.days)
    assert len(imp.observations) == 60
    frame = daily_frame(imp, start=sim.days["day"].iloc[0], end=sim.days["day"].iloc[-1])
    expected = sim.days["load_au"].to_numpy()
    got = frame["load_au"].to_numpy()
    assert max(abs(g - e) for g, e in zip(got, expected, strict=True) if e > 0.5) < 0.05
    assert all(1 <= s.rpe <= 10 for s in imp.sessions if s.rpe is not None)


def test_direct_metrics_equal_recompute(ctx: Context) -> None:
    aid = _simulated(ctx, "overreaching")
    result = recompute_athlete(ctx, SYSTEM, aid)
    assert result.days_written == 0 and result.days_unchanged == 120, "the bulk path stores what recompute would"


def test_trends_data_is_aligned_and_versioned(ctx: Context) -> None:
    user = user_svc.create_user(ctx, SYSTEM, email="t@example.org", password="a long enough passphrase 9",
                                display_name="T")
    aid = _simulated(ctx, "normal", user_id=user.id)
    actor = user_svc.actor_for(user)
    data = trends.trends_data(ctx, actor, aid)
    assert len(data.days) == 120 and len(data.stages) == 120
    for name, values in data.series.items():
        assert len(values) == 120, name
    stored = daily_series(ctx, actor, aid)
    assert data.series["ctl"][-1] == pytest.approx(float(stored["ctl"].iloc[-1]))
    rm = [v for v in data.series["rmssd_ms"] if v is not None]
    ln = [v for v in data.series["ln_rmssd"] if v is not None]
    assert ln[0] == pytest.approx(math.log(rm[0]))
    v1 = trends.trends_version(ctx, actor, aid)
    submit_checkin(ctx, actor, aid, day=local_today(ctx, TZ), sleep_h=2.5)
    assert trends.trends_version(ctx, actor, aid) != v1
    assert trends.trends_data(ctx, actor, aid).series["sleep_h"][-1] == 2.5, "the check-in wins over other sources"
    stranger = user_svc.create_user(ctx, SYSTEM, email="s@example.org", password="another long passphrase 7",
                                    display_name="S")
    with pytest.raises(NotFoundError):
        trends.trends_data(ctx, user_svc.actor_for(stranger), aid)


def test_sparklines_pick_hrv_and_respect_access(ctx: Context) -> None:
    coach = user_svc.create_user(ctx, SYSTEM, email="c@example.org", password="coach passphrase long 3",
                                 display_name="C")
    mine = _simulated(ctx, "normal", managed_by_user_id=coach.id)
    other = _simulated(ctx, "illness", seed=9)
    lines = trends.sparklines(ctx, user_svc.actor_for(coach), [mine, other], days=28)
    assert set(lines) == {mine}, "only visible athletes get a sparkline"
    assert lines[mine].label.startswith("ln rMSSD") and len(lines[mine].values) == 28
    assert lines[mine].band is not None and lines[mine].band[0] < lines[mine].band[1]


@pytest.mark.slow
def test_seed_cohort_writes_everything_in_bulk(ctx: Context) -> None:
    info = seed_cohort(ctx, athletes_n=3, days=60, seed=5)
    coach = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="test").user
    actor = user_svc.actor_for(coach)
    for aid in info.athlete_ids:
        frame = daily_series(ctx, actor, aid)
        assert len(frame) == 60
        assert frame["ctl"].iloc[-1] > 0
    assert recompute_athlete(ctx, SYSTEM, info.athlete_ids[0]).days_written == 0
