"""The demo tells its story from a clone alone: no shared folder, simulated files through the importer."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_demo_roster_shows_every_stage_with_files_checkins_and_a_proposed_change(tmp_path: Path) -> None:
    from lydiard.config import Settings
    from lydiard.errors import NotFoundError
    from lydiard.services.access import Actor
    from lydiard.services.activities import list_activities
    from lydiard.services.checkin import get_checkin
    from lydiard.services.context import open_context
    from lydiard.services.demo import STORY, load_demo
    from lydiard.services.metrics import local_today
    from lydiard.services.planning import list_sessions, pending_change
    from lydiard.services.readiness import day_view

    settings = Settings(home=tmp_path, database_url=f"sqlite:///{tmp_path}/demo.sqlite3")
    ctx = open_context(settings)
    try:
        info = load_demo(ctx, days=150, pmdata=False, shared=tmp_path / "no-shared-folder")
        system = Actor.system()
        assert len(info.roster_ids) == len(STORY) and info.roster_ids[0] == info.athlete_id
        assert {login.role for login in info.logins} == {"coach", "athlete"}
        today = local_today(ctx, "Europe/Oslo")
        views = {}
        for (_, name, _, moment), rid in zip(STORY, info.roster_ids, strict=True):
            items, total = list_activities(ctx, system, rid, limit=100)
            assert total >= 10 and {a.source_format for a in items} == {"tcx"}, name
            assert all(a.load_au is not None and a.avg_hr_bpm for a in items), "simulated files carry heart rate"
            recent = 0
            for back in range(7):
                try:
                    get_checkin(ctx, system, rid, day=today - timedelta(days=back))
                    recent += 1
                except NotFoundError:
                    pass
            assert recent >= 5, f"{name} checked in recently"
            views[moment] = day_view(ctx, system, rid)
        assert views["deep_fatigue"].stage == "deep_fatigue"
        assert views["recovered"].stage == "normal"
        assert views["ill"].recommendation.get("code") in ("rest", "stop_see_doctor")
        assert views["after_race"].stage in ("surface_fatigue", "normal")
        change = pending_change(ctx, system, info.athlete_id)
        assert change is not None and change.status == "proposed"
        assert list_sessions(ctx, system, info.athlete_id), "the demo athlete has a plan"
    finally:
        ctx.close()
