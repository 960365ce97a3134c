"""Patterns across time and athletes, through the stored path (both backends): recurring fatigue
episodes per athlete (services.patterns), and who is trending toward deep fatigue in the roster
(the summaries' trend score), equal whichever writer (batch or per-athlete) stored the days."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from lydiard.domain.recovery import STAGE_NAMES
from lydiard.domain.recovery.patterns import trending_toward_deep
from lydiard.services import coaching, patterns
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.demo import seed_cohort
from lydiard.services.metrics import recompute_athlete
from lydiard.services.summaries import read_summaries
from lydiard.storage import tables as t

SYSTEM = Actor.system()
CODES = {name: code for code, name in STAGE_NAMES.items()}


@pytest.fixture(autouse=True)
def fast_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(user_svc, "_hasher", lambda: PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def cohort(ctx: Context) -> tuple[Actor, list[str]]:
    info = seed_cohort(ctx, athletes_n=6, days=150, seed=5, detail_days=7, chunk_athletes=4)
    coach = user_svc.login(ctx, email=info.coach_email, password=info.coach_password, address="test").user
    return user_svc.actor_for(coach), list(info.athlete_ids)


def stored_trend(ctx: Context, athlete_id: str) -> tuple[float | None, int | None]:
    """The trend recomputed naively from every stored row (the domain function on the stored days)."""
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.daily_metrics.c.stage, t.daily_metrics.c.evidence_sum)
                            .where(t.daily_metrics.c.athlete_id == athlete_id)
                            .order_by(t.daily_metrics.c.day)).all()
    assert rows and all(r.evidence_sum is not None for r in rows[-8:])
    stage = np.array([[CODES[r.stage] for r in rows]])
    ev = np.array([[np.nan if r.evidence_sum is None else r.evidence_sum for r in rows]])
    out = trending_toward_deep(stage, ev)
    score = float(out["score"][0])
    eta = int(out["days_to_threshold"][0])
    return (None if np.isnan(score) else score), (eta if eta >= 0 else None)


def test_roster_trend_equals_the_domain_rule_on_stored_days_for_both_writers(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    entries = {e.athlete_id: e for e in coaching.roster(ctx, coach)}
    scored = 0
    for aid in ids:  # written by the batch writer
        score, eta = stored_trend(ctx, aid)
        e = entries[aid]
        if score is None:
            assert e.trend_score is None and not e.trending
        else:
            scored += 1
            assert e.trend_score == pytest.approx(score, abs=2e-3)
            assert e.trending == (score >= coaching.TRENDING_SCORE)
        assert e.days_to_deep == eta
    assert scored >= 1
    # the per-athlete writer (recompute + refresh_summaries) gives the same trend
    before = {aid: (entries[aid].trend_score, entries[aid].days_to_deep) for aid in ids}
    for aid in ids[:2]:
        with ctx.engine.begin() as conn:
            conn.execute(sa.delete(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid))
        recompute_athlete(ctx, SYSTEM, aid)
        with ctx.engine.connect() as conn:
            s = read_summaries(conn, [aid], with_recent=False)[aid]
        score, eta = stored_trend(ctx, aid)
        assert s.days_to_deep == eta == before[aid][1]
        if before[aid][0] is None:
            assert s.trend_score is None
        else:
            assert s.trend_score == pytest.approx(before[aid][0], abs=2e-3)


def test_a_rising_trend_is_flagged_before_deep_fatigue(ctx: Context, cohort: Any) -> None:
    """Stored evidence rising toward the threshold: the roster flags the athlete while the stage is not deep yet."""
    coach, ids = cohort
    aid = ids[0]
    with ctx.engine.begin() as conn:
        last = conn.execute(sa.select(sa.func.max(t.daily_metrics.c.day))
                            .where(t.daily_metrics.c.athlete_id == aid)).scalar_one()
        for k in range(8):  # evidence 0.2 → 3.0 over the last week, stage surface fatigue
            conn.execute(sa.update(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid,
                                                          t.daily_metrics.c.day == last - timedelta(days=7 - k))
                         .values(evidence_sum=0.2 + 0.4 * k, stage="surface_fatigue"))
        from lydiard.services.summaries import refresh_summaries
        refresh_summaries(conn, [aid], now=ctx.clock())
    e = next(e for e in coaching.roster(ctx, coach) if e.athlete_id == aid)
    assert e.stage == "surface_fatigue" and e.trending
    assert e.trend_score is not None and e.trend_score >= coaching.TRENDING_SCORE
    assert e.days_to_deep is not None and e.days_to_deep >= 0


def test_recurring_episodes_after_races_from_stored_inputs() -> None:
    """Three episodes, two of them within two weeks after a race: 'after a race' recurs, in plain words."""
    first = date(2025, 1, 1)
    n = 120
    stage = ["normal"] * n
    for s in (40, 70, 100):
        for d in range(s, s + 5):
            stage[d] = "deep_fatigue"
    race = np.zeros(n)
    race[[33, 64]] = 1.0  # 7 and 6 days before the first two episodes
    index = pd.date_range(first, periods=n, freq="D", name="day")
    frame = pd.DataFrame({"race": race, "load_au": np.full(n, 50.0), "stress": np.full(n, 4.0)}, index=index)
    p = patterns.patterns_of("a", [(first + timedelta(days=k), s) for k, s in enumerate(stage)], frame)
    assert p.episodes == [first + timedelta(days=s) for s in (40, 70, 100)]
    assert [x.pattern for x in p.patterns] == ["after_race"]
    x = p.patterns[0]
    assert (x.episodes, x.of_total, x.days) == (2, 3, [first + timedelta(days=40), first + timedelta(days=70)])
    assert x.text == "2 of your 3 fatigue episodes began within 14 days after a race."


def test_athlete_patterns_reads_the_stored_days(ctx: Context, cohort: Any) -> None:
    coach, ids = cohort
    for aid in ids[:3]:
        got = patterns.athlete_patterns(ctx, coach, aid)
        with ctx.engine.connect() as conn:
            rows = conn.execute(sa.select(t.daily_metrics.c.day, t.daily_metrics.c.stage)
                                .where(t.daily_metrics.c.athlete_id == aid).order_by(t.daily_metrics.c.day)).all()
        starts = [r.day for i, r in enumerate(rows) if CODES[r.stage] >= 2 and (i == 0 or CODES[rows[i - 1].stage] < 2)]
        assert got.episodes == starts
        assert (got.first_day, got.last_day) == (rows[0].day, rows[-1].day)
        for x in got.patterns:
            assert set(x.days) <= set(starts) and x.episodes >= 2 and x.text
    other = Actor(user_id="nobody")
    with pytest.raises(Exception, match="not found"):
        patterns.athlete_patterns(ctx, other, ids[0])
