"""The batch recompute ends as the per-athlete pipeline does: same daily metrics, same plan
proposals, current Trends documents."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from batch_seed import DETAIL_DAYS, Seeded, assert_same_rows, stored_rows
from distributed import Client

from lydiard.batch.cluster import make_client
from lydiard.batch.recompute import recompute
from lydiard.services import checkin as checkin_svc
from lydiard.services import pipeline, planning, trends
from lydiard.services.access import Actor
from lydiard.services.athletes import get_athlete
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.storage import tables as t

SYSTEM = Actor.system()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with make_client(n_workers=1, processes=False) as c:
        yield c


def _proposals(ctx: Context) -> list[dict[str, Any]]:
    with ctx.engine.connect() as conn:
        sessions = {r.id: (r.athlete_id, r.day.isoformat(), r.session_type)
                    for r in conn.execute(sa.select(t.planned_sessions)).all()}
        rows = conn.execute(sa.select(t.plan_changes).where(t.plan_changes.c.status == "proposed")).all()
    out = []
    for r in rows:
        text = json.dumps({"athlete_id": r.athlete_id, "for_day": r.for_day.isoformat(), "stage": r.stage,
                           "reason": r.reason, "diff": r.diff}, sort_keys=True, default=str)
        for sid, name in sessions.items():
            text = text.replace(sid, "|".join(name))
        out.append(json.loads(text))
    return sorted(out, key=lambda p: p["athlete_id"])


def test_batch_and_per_athlete_path_agree_plan_proposals_included(ctx: Context, seeded: Seeded,
                                                                  client: Client) -> None:
    today = seeded.today
    for aid in seeded.athlete_ids[:3]:
        for k in range(1, 4):
            planning.create_session(ctx, SYSTEM, aid, day=today + timedelta(days=k), sport="run",
                                    session_type="intervals" if k % 2 else "easy", duration_s=3600.0)
    # one athlete reports illness today: the assessment asks for rest, the plan must adapt
    ill = seeded.athlete_ids[0]
    last = local_today(ctx, get_athlete(ctx, SYSTEM, ill).tz)
    checkin_svc.submit_checkin(ctx, SYSTEM, ill, day=last, energy=1, mood=2, illness=True)
    for aid in seeded.athlete_ids:  # the per-athlete path, from scratch
        pipeline.after_change(ctx, SYSTEM, aid, pipeline.Change.data(since=None))
    ref_rows, ref_plan = stored_rows(ctx), _proposals(ctx)
    assert any(p["athlete_id"] == ill for p in ref_plan), "the ill athlete's plan gets a proposal"

    with ctx.engine.begin() as conn:
        conn.execute(sa.delete(t.plan_changes))
        conn.execute(sa.delete(t.daily_metrics))
        conn.execute(sa.delete(t.athlete_trends))
    report = recompute(client, ctx.settings, now=ctx.clock(), chunk_athletes=2, detail_days=DETAIL_DAYS)
    assert report.plan_changes_proposed == len(ref_plan)
    assert_same_rows(stored_rows(ctx), ref_rows, detail_days=DETAIL_DAYS)
    assert _proposals(ctx) == ref_plan
    assert trends.precompute_trends(ctx, seeded.athlete_ids) == 0, "the batch left every Trends document current"
