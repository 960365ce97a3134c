"""The pipeline after a write: what each writer triggers, in one transaction, checked once."""

from __future__ import annotations

import sys
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lydiard.errors import InvalidInputError, NotFoundError
from lydiard.services import access, pipeline, planning, trends
from lydiard.services import athletes as athlete_svc
from lydiard.services import checkin as checkin_svc
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.metrics import local_today, recompute_athlete
from lydiard.storage import tables as t

SYSTEM = Actor.system()


def _athlete_with_history(ctx: Context) -> str:
    a = athlete_svc.create_athlete(ctx, SYSTEM, name="Piper", tz="UTC")
    today = local_today(ctx, "UTC")
    for k in range(21):
        checkin_svc.submit_checkin(ctx, SYSTEM, a.id, day=today - timedelta(days=20 - k), energy=4, mood=4,
                                   sleep_h=7.5)
    return a.id


def _metrics_rows(ctx: Context, athlete_id: str) -> int:
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(t.daily_metrics)
                                .where(t.daily_metrics.c.athlete_id == athlete_id)).scalar_one())


def test_a_checkin_checks_access_once_and_derives_everything(ctx: Context,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    aid = _athlete_with_history(ctx)
    today = local_today(ctx, "UTC")
    planning.create_session(ctx, SYSTEM, aid, day=today + timedelta(days=1), sport="run",
                            session_type="intervals", duration_s=3600.0)
    calls: list[str] = []
    real = access.check_athlete

    def counting(conn: sa.Connection, actor: Actor, athlete_id: str, *, write: bool = False) -> None:
        if actor is SYSTEM:  # the caller's checks (refreshing the charts' cache is system work)
            calls.append(athlete_id)
        real(conn, actor, athlete_id, write=write)

    for name, module in list(sys.modules.items()):  # every service that could check again
        if name.startswith("lydiard.services.") and getattr(module, "check_athlete", None) is real:
            monkeypatch.setattr(module, "check_athlete", counting)
    checkin_svc.submit_checkin(ctx, SYSTEM, aid, day=today, energy=1, mood=2, illness=True)
    assert calls == [aid], "one access check for the write and everything it triggers"
    with ctx.engine.connect() as conn:
        row = conn.execute(sa.select(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid,
                                                            t.daily_metrics.c.day == today)).one()
        proposed = conn.execute(sa.select(t.plan_changes).where(t.plan_changes.c.athlete_id == aid)).all()
        stored_doc = conn.execute(sa.select(t.athlete_trends.c.version)
                                  .where(t.athlete_trends.c.athlete_id == aid)).scalar()
    assert row.recommendation_code is not None
    assert [p.status for p in proposed] == ["proposed"], "illness today adapts tomorrow's intervals"
    assert stored_doc == trends.trends_version(ctx, SYSTEM, aid), "the charts' document is current"


def test_baseline_settings_are_validated_by_the_service_and_recompute(ctx: Context) -> None:
    aid = _athlete_with_history(ctx)
    for bad in ({"window_days": 2}, {"hrv_baseline_days": 500}, {"hrv_kind": "evening"}, {"bogus_days": 30},
                {"sleep_baseline_days": "28"}):
        with pytest.raises(InvalidInputError):
            athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config=bad)
    assert athlete_svc.get_athlete(ctx, SYSTEM, aid).baseline_config is None, "nothing stored on bad input"
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid))
    info = athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config={"hrv_baseline_days": 30, "hrv_kind": "morning"})
    assert info.baseline_config == {"hrv_baseline_days": 30, "hrv_kind": "morning"}
    assert _metrics_rows(ctx, aid) == 21, "a baseline change recomputes every day"
    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(t.daily_metrics).where(t.daily_metrics.c.athlete_id == aid))
    athlete_svc.update_profile(ctx, SYSTEM, aid, name="Piper B.")
    assert _metrics_rows(ctx, aid) == 0, "a new name changes no metric"


def test_deleting_a_threshold_that_does_not_exist_changes_nothing(ctx: Context) -> None:
    aid = _athlete_with_history(ctx)
    with pytest.raises(NotFoundError):
        athlete_svc.delete_threshold(ctx, SYSTEM, aid, kind="ftp_w", valid_from=local_today(ctx, "UTC"))
    stranger = Actor(user_id="nobody")
    with pytest.raises(NotFoundError):
        athlete_svc.set_threshold(ctx, stranger, aid, kind="ftp_w", value=250, valid_from=local_today(ctx, "UTC"))
    assert athlete_svc.list_thresholds(ctx, SYSTEM, aid) == []


def test_changes_merge_to_the_earliest_day_and_every_stage() -> None:
    d1, d2 = date(2025, 3, 1), date(2025, 2, 1)
    merged = pipeline.Change.data(since=d1).merge(pipeline.Change.thresholds(since=d2))
    assert merged == pipeline.Change(since=d2, rescore=True, recompute=True, propose=True)
    # a plan edit has no first day of its own: it does not widen the recompute
    assert pipeline.Change.plan().merge(pipeline.Change.data(since=d1)).since == d1
    assert pipeline.Change.plan().merge(pipeline.Change.plan()) == pipeline.Change.plan()
    assert pipeline.Change.data(since=None).merge(pipeline.Change.data(since=d1)).since is None


def _simulated_athlete(ctx: Context, *, name: str = "Hollis", days: int = 90, seed: int = 12) -> str:
    from lydiard.domain.simulate import simulate_athlete
    from lydiard.services.demo import simulated_import
    from lydiard.services.importing import store_daily_import

    a = athlete_svc.create_athlete(ctx, SYSTEM, name=name, tz="UTC")
    start = local_today(ctx, "UTC") - timedelta(days=days - 1)
    sim = simulate_athlete(seed, days, "overreaching", start=start)
    store_daily_import(ctx, SYSTEM, a.id, simulated_import(sim.days), source="hrv4training", item="sim")
    recompute_athlete(ctx, SYSTEM, a.id)  # every day (the import's pipeline run may stop at its own days)
    return a.id


def _stored(ctx: Context, athlete_id: str) -> dict[date, tuple[object, ...]]:
    cols = ("ln_rmssd_low", "ln_rmssd_high", "rhr_base", "wellness_z", "stage", "risk_score", "recommendation_code")
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(t.daily_metrics).where(t.daily_metrics.c.athlete_id == athlete_id)).all()
    return {r.day: tuple(getattr(r, c) for c in cols) for r in rows}


def test_the_stored_hrv_window_changes_the_stored_baselines_and_stages(ctx: Context) -> None:
    """Issue 14: the athlete's baseline settings reach the engine through the pipeline's recompute."""
    import numpy as np

    from lydiard.domain.recovery import stage_matrix
    from lydiard.domain.recovery.baselines import BaselineConfig
    from lydiard.services.metrics import daily_inputs, frame_matrix_inputs

    aid = _simulated_athlete(ctx)
    before = _stored(ctx, aid)
    athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config={"hrv_baseline_days": 21})
    after = _stored(ctx, aid)
    assert before.keys() == after.keys()
    changed = [d for d in before if before[d][:2] != after[d][:2]]
    assert len(changed) > 30, "a 21-day HRV normal range is not the 60-day one"
    # the stored band is the engine's with the athlete's configuration, day by day
    with ctx.engine.connect() as conn:
        frame = daily_inputs(conn, aid, until=local_today(ctx, "UTC"), sex=None)
    ref = stage_matrix(frame_matrix_inputs(frame), config=BaselineConfig(hrv_baseline_days=21))
    days = sorted(after)
    low = np.array([np.nan if after[d][0] is None else after[d][0] for d in days])
    np.testing.assert_allclose(low, ref["hrv_band_low"][0], rtol=1e-12, equal_nan=True)
    # settings equal to the defaults (the web form sends every window) give the default results back
    athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config={"window_days": 7, "hrv_baseline_days": 60})
    assert _stored(ctx, aid) == before


def test_only_the_chosen_kind_of_hrv_readings_is_used(ctx: Context) -> None:
    aid = _simulated_athlete(ctx, name="Kim")  # every simulated reading is a morning one
    athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config={"hrv_kind": "overnight"})
    stored = _stored(ctx, aid)
    assert all(v[0] is None and v[1] is None for v in stored.values()), "no overnight reading: no HRV band"
    athlete_svc.update_profile(ctx, SYSTEM, aid, baseline_config={"hrv_kind": "morning"})
    assert sum(v[0] is not None for v in _stored(ctx, aid).values()) > 30
