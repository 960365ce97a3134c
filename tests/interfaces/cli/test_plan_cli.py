"""``lydiard plan`` through Typer's CliRunner against a temporary SQLite store (``LYDIARD_HOME``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from lydiard.config import Settings
from lydiard.interfaces.cli.main import build_app
from lydiard.services import athletes as athlete_svc
from lydiard.services import planning
from lydiard.services.access import Actor
from lydiard.services.context import Context, open_context
from lydiard.storage import tables as t


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LYDIARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


@pytest.fixture
def store(home: Path) -> Iterator[Context]:
    ctx = open_context(Settings())
    yield ctx
    ctx.close()


def today() -> date:
    return datetime.now(UTC).date()


def seed(ctx: Context) -> tuple[str, list[planning.SessionView]]:
    """One athlete with a week of sessions and a deep-fatigue assessment today."""
    aid = athlete_svc.create_athlete(ctx, Actor.system(), name="Ann", tz="UTC").id
    d0 = today()
    week = [planning.create_session(ctx, Actor.system(), aid, day=d0 + timedelta(days=i), sport="run",
                                    session_type=k, duration_s=m * 60.0)
            for i, (k, m) in enumerate([("intervals", 75), ("easy", 45), ("tempo", 60), ("easy", 40)])]
    with ctx.engine.begin() as conn:
        conn.execute(sa.insert(t.daily_metrics).values(
            athlete_id=aid, day=d0, load_au=50.0, ctl=40.0, atl=45.0, tsb=-5.0, stage="deep_fatigue",
            confidence=0.8, recommendation_code="back_off", computed_at=datetime.now(UTC),
            detail={"evidence": {}, "recommendation": {"code": "back_off", "text": "Back off for 4 days",
                                                       "days": 4, "volume_pct": 30}}))
    return aid, week


def run(*args: str) -> str:
    result = CliRunner().invoke(build_app(), list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.output


def test_show_propose_diff_approve(store: Context) -> None:
    aid, week = seed(store)
    out = run("plan", "show")
    assert "Intervals" in out and week[0].id in out and "Forecast" in out
    assert "(TSB) only" in out

    out = run("plan", "propose")
    assert "Proposed change" in out and "Back off for 4 days" in out
    out = run("plan", "diff")
    assert "Intervals 75 min" in out and "→" in out and "Load change" in out
    assert "waiting" in run("plan", "show")

    out = run("plan", "approve", "--note", "fine")
    assert "approved" in out
    sessions = planning.list_sessions(store, Actor.system(), aid)
    assert sessions[0].session_type == "easy" and sessions[0].origin == "adapted"
    assert "No change is waiting" in run("plan", "diff")
    result = CliRunner().invoke(build_app(), ["plan", "approve"])
    assert result.exit_code == 1 and "no plan change is waiting" in result.output


def test_reject_override_and_errors(store: Context) -> None:
    aid, week = seed(store)
    run("plan", "propose")
    assert "rejected" in run("plan", "reject", "--note", "no")
    assert planning.get_session(store, Actor.system(), aid, week[0].id).session_type == "intervals"
    run("plan", "propose")
    result = CliRunner().invoke(build_app(), ["plan", "override"])
    assert result.exit_code != 0  # --note is required
    assert "overridden" in run("plan", "override", "--note", "race prep")
    bad = CliRunner().invoke(build_app(), ["plan", "add", "--day", today().isoformat(), "--type", "nap",
                                           "--minutes", "30"])
    assert bad.exit_code == 1 and "session_type" in bad.output


def test_generate_add_export_import(store: Context, tmp_path: Path) -> None:
    aid = athlete_svc.create_athlete(store, Actor.system(), name="Ann", tz="UTC").id
    goal = today() + timedelta(weeks=10)
    out = run("plan", "generate", "--goal-day", goal.isoformat(), "--sport", "run", "--hours", "6",
              "--distance-km", "10", "--pattern", "2:1")
    assert "Planned" in out
    run("plan", "add", "--day", (today() + timedelta(days=2)).isoformat(), "--type", "strength", "--minutes", "30",
        "--sport", "strength")
    ics = tmp_path / "plan.ics"
    out = run("plan", "export", "--out", str(ics))
    n = len(planning.list_sessions(store, Actor.system(), aid))
    assert f"Wrote {n} session(s)" in out and ics.read_text().startswith("BEGIN:VCALENDAR")
    assert f"0 session(s) added, 0 updated, {n} already present" in run("plan", "import", str(ics))
    csv = tmp_path / "extra.csv"
    csv.write_text(f"day,session_type,duration_min\n{(today() + timedelta(days=3)).isoformat()},easy,30\n")
    assert "1 session(s) added" in run("plan", "import", str(csv))
