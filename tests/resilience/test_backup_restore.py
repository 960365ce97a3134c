"""Backup and restore: a round trip keeps every row and every original; damage and overwrites are refused."""

from __future__ import annotations

import tarfile
import threading
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from resilience_data import activity_integrity_problems, all_rows, workout, workout_zip
from typer.testing import CliRunner

from lydiard.config import Settings
from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.errors import ConflictError, CorruptFileError, LydiardError
from lydiard.services import backup as backup_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, set_threshold
from lydiard.services.checkin import submit_checkin
from lydiard.services.context import Context, open_context
from lydiard.services.importing import import_upload, store_daily_import
from lydiard.services.metrics import recompute_athlete

SYSTEM = Actor.system()


def _populate(ctx: Context) -> str:
    athlete = create_athlete(ctx, SYSTEM, name="Ann", sex="f", tz="Europe/Oslo")
    set_threshold(ctx, SYSTEM, athlete.id, kind="ftp_w", value=250, valid_from=date(2020, 1, 1))
    set_threshold(ctx, SYSTEM, athlete.id, kind="hr_max_bpm", value=190, valid_from=date(2020, 1, 1))
    report = import_upload(ctx, SYSTEM, athlete.id, name="export.zip", data=workout_zip(6, n_samples=300))
    assert [it.outcome for it in report.items].count("imported") == 6, report.items
    start = date(2024, 3, 1)
    obs = tuple(DailyObservation(day=start + timedelta(days=i), source="csv", rmssd_ms=55.0 + (i % 7),
                                 rhr_bpm=48.0 + (i % 3), sleep_h=7.5, energy=4.0, note=f"day {i} ✓")
                for i in range(30))
    store_daily_import(ctx, SYSTEM, athlete.id, DailyImport(observations=obs), source="wellness.csv", item="w")
    submit_checkin(ctx, SYSTEM, athlete.id, day=ctx.clock().date(), energy=4, mood=3, soreness=2, readiness=7,
                   note="legs heavy")
    recompute_athlete(ctx, SYSTEM, athlete.id)
    return athlete.id


def _restored_settings(tmp_path: Path, name: str = "restored") -> Settings:
    return Settings(home=tmp_path / name)


def test_round_trip_keeps_every_row_file_and_metric(ctx: Context, settings: Settings, tmp_path: Path,
                                                     clock: Any) -> None:
    athlete_id = _populate(ctx)
    dest = tmp_path / "out" / "backup.tar"
    if not settings.effective_database_url.startswith("sqlite"):
        with pytest.raises(LydiardError, match="pg_dump") as err:
            backup_svc.backup(ctx, dest)
        assert "docs/operations.md" in str(err.value)
        assert not dest.exists()
        return
    info = backup_svc.backup(ctx, dest)
    assert dest.is_file() and info.n_files == 6 and not info.missing_files
    assert info.row_counts["activities"] == 6 and info.row_counts["daily_metrics"] > 400
    assert list(dest.parent.iterdir()) == [dest], "no temporary files are left next to the backup"
    with pytest.raises(ConflictError):
        backup_svc.backup(ctx, dest)

    target = _restored_settings(tmp_path)
    restored = backup_svc.restore(target, dest)
    assert restored.schema_revision_now == info.schema_revision
    assert restored.n_files == 6 and restored.row_counts == info.row_counts
    rctx = open_context(target, clock=clock)
    try:
        before = all_rows(ctx.engine)
        assert all_rows(rctx.engine) == before
        assert sorted(rctx.files.all_hashes()) == sorted(ctx.files.all_hashes())
        for sha in ctx.files.all_hashes():
            assert rctx.files.get(sha) == ctx.files.get(sha)
        assert activity_integrity_problems(rctx.engine, target.files_dir) == []
        # The same inputs give the same metrics: a recompute on the restored store changes nothing.
        res = recompute_athlete(rctx, SYSTEM, athlete_id)
        assert res.days_written == 0 and res.days_unchanged == info.row_counts["daily_metrics"]
        assert all_rows(rctx.engine) == before
        # A restored store keeps working: importing a new file there succeeds.
        more = import_upload(rctx, SYSTEM, athlete_id, name="w99.tcx", data=workout(99, n_samples=120))
        assert [it.outcome for it in more.items] == ["imported"]
    finally:
        rctx.close()

    # Restoring onto a store with data is refused unless forced; forcing gives back the backup.
    with pytest.raises(ConflictError, match="already holds data"):
        backup_svc.restore(target, dest)
    backup_svc.restore(target, dest, force=True)
    rctx = open_context(target, clock=clock)
    try:
        assert all_rows(rctx.engine) == before
    finally:
        rctx.close()


def _rewrite_member(src: Path, dst: Path, name: str, mutate: Any) -> None:
    with tarfile.open(src) as tin, tarfile.open(dst, "w") as tout:
        for m in tin:
            fh = tin.extractfile(m)
            data = fh.read() if fh is not None else b""
            if m.name == name:
                data = mutate(data)
                m.size = len(data)
            import io

            tout.addfile(m, io.BytesIO(data))


def test_damaged_backups_are_refused_before_anything_is_written(ctx: Context, settings: Settings,
                                                                tmp_path: Path) -> None:
    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite backups only (PostgreSQL uses pg_dump, checked in the round-trip test)")
    _populate(ctx)
    good = tmp_path / "good.tar"
    backup_svc.backup(ctx, good)
    manifest = backup_svc.verify_backup(good)
    a_file = next(n for n in manifest["members"] if n.startswith("files/"))
    damaged = {
        "flipped-file": lambda p: _rewrite_member(good, p, a_file, lambda b: bytes([b[0] ^ 1]) + b[1:]),
        "flipped-db": lambda p: _rewrite_member(good, p, "lydiard.sqlite3",
                                                lambda b: b[:5000] + bytes([b[5000] ^ 0x40]) + b[5001:]),
        "bad-manifest": lambda p: _rewrite_member(good, p, "manifest.json", lambda b: b"{not json"),
        "truncated": lambda p: p.write_bytes(good.read_bytes()[: good.stat().st_size // 2]),
        "not-a-tar": lambda p: p.write_bytes(b"hello" * 100),
    }
    for label, make in damaged.items():
        path = tmp_path / f"{label}.tar"
        make(path)
        target = _restored_settings(tmp_path, f"restore-{label}")
        with pytest.raises(CorruptFileError):
            backup_svc.restore(target, path)
        assert not target.sqlite_path.exists(), label
        assert not target.files_dir.exists() or not any(target.files_dir.rglob("*")), label


def test_backup_while_importing_is_a_consistent_snapshot(ctx: Context, settings: Settings, tmp_path: Path,
                                                         clock: Any) -> None:
    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite backups only")
    athlete = create_athlete(ctx, SYSTEM, name="Bo", tz="UTC")
    errors: list[BaseException] = []

    def importer() -> None:
        try:
            import_upload(ctx, SYSTEM, athlete.id, name="many.zip", data=workout_zip(20, n_samples=400),
                          recompute=False)
        except BaseException as exc:  # surfaced in the main thread
            errors.append(exc)

    t = threading.Thread(target=importer)
    t.start()
    backups = []
    try:
        for k in range(4):
            dest = tmp_path / f"b{k}.tar"
            backups.append(backup_svc.backup(ctx, dest))
    finally:
        t.join(timeout=120)
    assert not errors, errors
    for k, info in enumerate(backups):
        target = _restored_settings(tmp_path, f"r{k}")
        backup_svc.restore(target, info.path)
        rctx = open_context(target, clock=clock)
        try:
            assert activity_integrity_problems(rctx.engine, target.files_dir) == []
        finally:
            rctx.close()


def test_cli_backup_and_restore(ctx: Context, settings: Settings, tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    from lydiard.interfaces.cli.main import build_app

    if not settings.effective_database_url.startswith("sqlite"):
        pytest.skip("SQLite backups only")
    _populate(ctx)
    app = build_app()
    runner = CliRunner()
    env = {"LYDIARD_HOME": str(settings.home), "LYDIARD_DATABASE_URL": settings.effective_database_url}
    out = tmp_path / "cli.tar"
    r = runner.invoke(app, ["backup", str(out)], env=env)
    assert r.exit_code == 0, r.output
    assert "6 original file(s)" in " ".join(r.output.split()), r.output
    r = runner.invoke(app, ["restore", "--verify", str(out)], env=env)
    assert r.exit_code == 0 and "intact" in r.output, r.output
    r = runner.invoke(app, ["restore", str(out)], env=env)
    assert r.exit_code == 1 and "already holds data" in " ".join(r.output.split()), r.output
    new_home = tmp_path / "cli-restored"
    r = runner.invoke(app, ["restore", str(out)], env={"LYDIARD_HOME": str(new_home), "LYDIARD_DATABASE_URL": ""})
    assert r.exit_code == 0, r.output
    target = _restored_settings(tmp_path, "cli-restored")
    rctx = open_context(target)
    try:
        assert all_rows(rctx.engine) == all_rows(ctx.engine)
    finally:
        rctx.close()
