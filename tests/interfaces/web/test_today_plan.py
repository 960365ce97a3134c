"""The Today page's planned session and proposed change, and the Trends chart's planned future,
from the planning service (both backends); precomputed data never go stale."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from lydiard.services import planning
from lydiard.services.access import Actor
from lydiard.services.context import Context
from lydiard.services.metrics import local_today
from lydiard.storage import tables as t

SYSTEM = Actor.system()
TZ = "Europe/Oslo"


def deep_fatigue_today(ctx: Context, athlete_id: str) -> None:
    """Replace today's stored assessment with a deep-fatigue one (as a recompute would write it)."""
    today = local_today(ctx, TZ)
    detail = {"evidence": {}, "recommendation": {"code": "back_off", "text": "Back off for four days.", "days": 4,
                                                   "volume_pct": 30, "reason": "stage", "return_criteria": []}}
    with ctx.engine.begin() as conn:
        conn.execute(sa.update(t.daily_metrics).where(t.daily_metrics.c.athlete_id == athlete_id,
                                                      t.daily_metrics.c.day == today)
                     .values(stage="deep_fatigue", recommendation_code="back_off", detail=detail))


def test_today_shows_the_planned_session_and_the_proposed_change(
        app_client: TestClient, seeded: Any, ctx: Context, login: Callable[..., str]) -> None:
    login(app_client)
    aid = seeded.athlete_id
    today = local_today(ctx, TZ)
    url = f"/athletes/{aid}/today"
    assert "No session planned today" in app_client.get(url).text
    planning.create_session(ctx, SYSTEM, aid, day=today, sport="run", session_type="intervals", duration_s=75 * 60.0,
                            intensity_target="5 × 4 min at threshold")
    planning.create_session(ctx, SYSTEM, aid, day=today + timedelta(days=1), sport="run", session_type="easy",
                            duration_s=45 * 60.0)
    html = app_client.get(url).text
    session = re.search(r'data-testid="planned-session">(.*?)</p>', html, re.S)
    assert session is not None
    assert "Intervals" in session.group(1) and "75 min" in session.group(1) and "threshold" in session.group(1)
    assert 'data-testid="pending-change"' not in html

    deep_fatigue_today(ctx, aid)
    change = planning.propose_adaptation(ctx, SYSTEM, aid)
    assert change is not None and any(d.day == today for d in change.diffs)
    html = app_client.get(url).text
    assert 'data-testid="pending-change"' in html
    block = html[html.index('data-testid="pending-change"'):]
    assert "deep fatigue" in block and "→" in block, "the change's reason and today's session diff are shown"
    assert "Back off for four days." in block, "the why is in plain words"
    assert f'href="/athletes/{aid}/plan#change-h"' in block
    # The headline follows the rewritten row (its stage differs from the summary's: no stale run length).
    assert "Deep fatigue: day 1" in html

    # A decided change leaves Today's review card; its decision and note are shown instead.
    planning.reject_change(ctx, SYSTEM, aid, change_id=change.id, note="race on Sunday, keep the sharpening")
    html = app_client.get(url).text
    assert 'data-testid="pending-change"' not in html
    decision = html[html.index('data-testid="last-decision"'):]
    assert "rejected" in decision and "race on Sunday, keep the sharpening" in decision


def test_trends_fitness_chart_has_a_planned_future_when_a_plan_exists(
        app_client: TestClient, seeded: Any, ctx: Context, login: Callable[..., str]) -> None:
    login(app_client)
    aid = seeded.athlete_id
    url = f"/athletes/{aid}/trends/data.json"
    before = app_client.get(url).json()
    assert not before["planned"], "no plan, no future series"
    today = local_today(ctx, TZ)
    for i, (kind, minutes) in enumerate([("intervals", 75), ("easy", 45), ("tempo", 60), ("long", 120)]):
        planning.create_session(ctx, SYSTEM, aid, day=today + timedelta(days=i), sport="run", session_type=kind,
                                duration_s=minutes * 60.0)
    after = app_client.get(url).json()
    assert after["version"] != before["version"], "a plan change invalidates the cached Trends data"
    future = after["planned"]
    for key in ("ctl", "atl", "tsb"):
        assert len(future[key]) == len(future["days"]), key
    assert future["days"][0] >= today.isoformat() and len(future["days"]) >= 4
    assert all(v is not None for v in future["ctl"])
