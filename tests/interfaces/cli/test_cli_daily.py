"""The CLI's daily loop and a single-user install: check-in, activities, settings, owners, passwords, dates."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "ingest"))

from workout_builders import line, tcx

from lydiard.interfaces.cli.main import THRESHOLD_KINDS_HELP, build_app

PASSWORD = "Correct-horse-battery-42"


@pytest.fixture
def runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("LYDIARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return CliRunner()


def _imported(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "ride.tcx").write_bytes(tcx([line(600, hr_bpm=140, power_w=180)]))
    result = runner.invoke(build_app(), ["import", str(tmp_path / "ride.tcx"), "--tz", "Europe/Oslo"])
    assert result.exit_code == 0, result.output


def test_first_account_owns_the_athlete_imported_before_it(runner: CliRunner, tmp_path: Path) -> None:
    from lydiard.config import Settings
    from lydiard.services.activities import list_activities
    from lydiard.services.context import open_context
    from lydiard.services.users import login

    _imported(runner, tmp_path)
    created = runner.invoke(build_app(), ["user", "create", "me@example.org", "--password-stdin"],
                            input=PASSWORD + "\n")
    assert created.exit_code == 0, created.output
    assert "owns Me" in created.output
    second = runner.invoke(build_app(), ["user", "create", "coach@example.org", "--password-stdin"],
                           input=PASSWORD + "x\n")
    assert second.exit_code == 0 and "owns" not in second.output, second.output
    ctx = open_context(Settings())
    try:
        session = login(ctx, email="me@example.org", password=PASSWORD, address="127.0.0.1")
        from lydiard.services.athletes import list_athletes
        from lydiard.services.users import actor_for

        mine = list_athletes(ctx, actor_for(session.user))
        assert [a.name for a in mine] == ["Me"]
        _items, total = list_activities(ctx, actor_for(session.user), mine[0].id)
        assert total == 1
    finally:
        ctx.close()
    handed = runner.invoke(build_app(), ["athlete", "owner", "Me", "coach@example.org"])
    assert handed.exit_code == 0 and "now belongs to coach@example.org" in handed.output, handed.output
    missing = runner.invoke(build_app(), ["athlete", "owner", "Me", "nobody@example.org"])
    assert missing.exit_code == 1 and "no account" in missing.output


def test_password_reset_lets_the_user_log_in(runner: CliRunner) -> None:
    from lydiard.config import Settings
    from lydiard.errors import AuthenticationError
    from lydiard.services.context import open_context
    from lydiard.services.users import login

    assert runner.invoke(build_app(), ["user", "create", "a@example.org", "--password-stdin"],
                         input=PASSWORD + "\n").exit_code == 0
    new = "Another-long-passphrase-7"
    reset = runner.invoke(build_app(), ["user", "password", "a@example.org", "--password-stdin"], input=new + "\n")
    assert reset.exit_code == 0, reset.output
    ctx = open_context(Settings())
    try:
        with pytest.raises(AuthenticationError):
            login(ctx, email="a@example.org", password=PASSWORD, address="127.0.0.1")
        assert login(ctx, email="a@example.org", password=new, address="127.0.0.1").user.email == "a@example.org"
    finally:
        ctx.close()
    weak = runner.invoke(build_app(), ["user", "password", "a@example.org", "--password-stdin"], input="short\n")
    assert weak.exit_code == 1
    unknown = runner.invoke(build_app(), ["user", "password", "b@example.org", "--password-stdin"], input=new + "\n")
    assert unknown.exit_code == 1 and "no account" in unknown.output


def test_checkin_uses_the_services_rules_and_changes_today(runner: CliRunner, tmp_path: Path) -> None:
    _imported(runner, tmp_path)
    bad = runner.invoke(build_app(), ["checkin", "--mood", "9"])
    assert bad.exit_code == 1 and "mood must be between 1 and 5" in bad.output
    future = runner.invoke(build_app(), ["checkin", "--energy", "3", "--day", "2099-01-01"])
    assert future.exit_code == 1 and "future" in future.output
    ok = runner.invoke(build_app(), ["checkin", "--energy", "2", "--ill", "--note", "sore throat"])
    assert ok.exit_code == 0, ok.output
    assert "Checked in" in ok.output and "illness" in ok.output
    today = runner.invoke(build_app(), ["today"])
    assert "illness" in today.output, today.output


def test_checkin_race_flag_is_stored_and_reaches_the_engine(runner: CliRunner, tmp_path: Path) -> None:
    _imported(runner, tmp_path)
    ok = runner.invoke(build_app(), ["checkin", "--energy", "3", "--race"])
    assert ok.exit_code == 0, ok.output
    assert "race" in ok.output
    import sqlalchemy as sa

    from lydiard.config import Settings
    from lydiard.services.context import open_context
    from lydiard.storage import tables as t
    ctx = open_context(Settings(home=tmp_path / "home"))
    try:
        with ctx.engine.connect() as conn:
            flags = conn.execute(sa.select(t.daily_observations.c.race).where(
                t.daily_observations.c.source == "checkin")).scalars().all()
            details = conn.execute(sa.select(t.daily_metrics.c.detail).order_by(t.daily_metrics.c.day.desc())
                                   .limit(1)).scalar_one()
    finally:
        ctx.close()
    assert flags == [True]
    assert details["evidence"]["race"]["rule"] == "flagged"


def test_activities_lists_imported_sessions(runner: CliRunner, tmp_path: Path) -> None:
    _imported(runner, tmp_path)
    result = runner.invoke(build_app(), ["activities"])
    assert result.exit_code == 0, result.output
    assert "1 of 1 activity" in result.output and "ride" in result.output
    backwards = runner.invoke(build_app(), ["activities", "--from", "2024-06-01", "--to", "2024-05-01"])
    assert backwards.exit_code == 1 and "after" in backwards.output


def test_athlete_settings_change_time_zone_and_sex(runner: CliRunner, tmp_path: Path) -> None:
    _imported(runner, tmp_path)
    result = runner.invoke(build_app(), ["athlete", "set", "--tz", "America/New_York", "--sex", "f"])
    assert result.exit_code == 0, result.output
    listed = runner.invoke(build_app(), ["athlete", "list"])
    assert "America/New_York" in listed.output and " f " in listed.output
    bad = runner.invoke(build_app(), ["athlete", "set", "--sex", "x"])
    assert bad.exit_code == 1 and "sex must be" in bad.output


@pytest.mark.parametrize(("args", "message"), [
    (["today", "--day", "2026-02-30"], "is not a valid date"),
    (["today", "--day", "30/02/2026"], "not a date in the form YYYY-MM-DD"),
    (["replay", "--from", "2024-05-10", "--to", "2024-05-01"], "is after --to"),
])
def test_dates_are_validated_with_the_right_message(runner: CliRunner, tmp_path: Path, args: list[str],
                                                    message: str) -> None:
    _imported(runner, tmp_path)
    result = runner.invoke(build_app(), args)
    assert result.exit_code == 1, result.output
    assert message in result.output


def test_threshold_help_names_every_kind() -> None:
    from lydiard.services.athletes import THRESHOLD_RANGES

    assert THRESHOLD_KINDS_HELP.split(", ") == list(THRESHOLD_RANGES)


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys; from lydiard.interfaces.cli.main import build_app; app = build_app()\n"
            "try:\n    app(['--help'])\nexcept SystemExit:\n    pass\n"
            "heavy = sorted(m for m in ('numpy', 'pandas', 'sqlalchemy', 'fastapi', 'scipy') if m in sys.modules)\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []", out


def test_today_says_how_old_the_last_data_is(runner: CliRunner, tmp_path: Path) -> None:
    from datetime import date, timedelta

    _imported(runner, tmp_path)  # a ride on 2024-05-01
    days = [date(2024, 3, 1) + timedelta(days=i) for i in range(70)]
    (tmp_path / "daily.csv").write_text("day,rmssd_ms,rhr_bpm\n" + "".join(f"{d},60,50\n" for d in days))
    assert runner.invoke(build_app(), ["import", str(tmp_path / "daily.csv")]).exit_code == 0
    result = runner.invoke(build_app(), ["today"])
    assert result.exit_code == 0, result.output
    assert "Last data: activity 2024-05-01 (" in result.output and "days ago)" in result.output
    assert "No recent data" in result.output and "70 days of history" in result.output


def test_reprocess_rebuilds_daily_data_from_the_kept_originals(runner: CliRunner, tmp_path: Path) -> None:
    import tarfile

    import sqlalchemy as sa

    from lydiard.config import Settings
    from lydiard.services.context import open_context
    from lydiard.storage.tables import daily_observations, stored_files

    _imported(runner, tmp_path)
    (tmp_path / "daily.csv").write_text("day,rmssd_ms,rhr_bpm\n2024-04-30,61,49\n2024-05-01,63,48\n")
    assert runner.invoke(build_app(), ["import", str(tmp_path / "daily.csv")]).exit_code == 0
    ctx = open_context(Settings())
    try:
        with ctx.engine.begin() as conn:  # as if an older reader had stored a wrong value
            conn.execute(sa.update(daily_observations).values(rmssd_ms=5.0))
            (sha,) = conn.execute(sa.select(stored_files.c.sha256)
                                  .where(stored_files.c.original_name.like("daily:%"))).one()
    finally:
        ctx.close()
    result = runner.invoke(build_app(), ["reprocess"])
    assert result.exit_code == 0, result.output
    assert "1 kept daily file(s) read again (1 changed something" in result.output
    ctx = open_context(Settings())
    try:
        with ctx.engine.connect() as conn:
            values = sorted(r.rmssd_ms for r in conn.execute(sa.select(daily_observations.c.rmssd_ms)))
    finally:
        ctx.close()
    assert values == [61.0, 63.0]
    backup = runner.invoke(build_app(), ["backup", str(tmp_path / "b.tar")])
    assert backup.exit_code == 0, backup.output
    with tarfile.open(tmp_path / "b.tar") as tar:
        assert any(m.name.endswith(sha) for m in tar.getmembers()), "the daily original is in the backup"


def test_today_warns_when_recent_loads_are_duration_guesses(runner: CliRunner, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from lydiard.ingest.tcx_writer import TrackPoint, write_tcx

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    points = [TrackPoint(t_s=5.0 * i, hr_bpm=140.0, distance_m=15.0 * i) for i in range(600)]
    (tmp_path / "run.tcx").write_bytes(write_tcx(points, started_at=start, sport="run"))
    imported = runner.invoke(build_app(), ["import", str(tmp_path / "run.tcx"), "--tz", "UTC"])
    assert imported.exit_code == 0 and "load guessed from duration only" in imported.output, imported.output
    today = runner.invoke(build_app(), ["today"])
    assert "1 activity of the last 28 days has a load guessed from duration only" in today.output, today.output
    runner.invoke(build_app(), ["athlete", "threshold", "hr_max_bpm", "190", "--from", "2020-01-01"])
    runner.invoke(build_app(), ["athlete", "threshold", "hr_rest_bpm", "50", "--from", "2020-01-01"])
    runner.invoke(build_app(), ["athlete", "threshold", "lthr_bpm", "170", "--from", "2020-01-01"])
    assert "guessed" not in runner.invoke(build_app(), ["today"]).output
