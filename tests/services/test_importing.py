"""Import service: atomic per-file import, de-duplication, per-file errors, recompute (both backends)."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from workout_builders import line, tcx

from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, set_threshold
from lydiard.services.importing import (
    WARNING_PREFIX,
    import_paths,
    import_upload,
    store_daily_import,
)
from lydiard.services.metrics import daily_series, recompute_athlete
from lydiard.services.readiness import day_view
from lydiard.storage.streams import count_samples
from lydiard.storage.tables import activities, daily_metrics, session_metrics, stored_files

SYSTEM = Actor.system()


def _ride(minutes: int = 30, *, hr: float = 150.0, power: float = 220.0) -> bytes:
    return tcx([line(minutes * 60, dt_s=1.0, hr_bpm=hr, power_w=power, speed_mps=8.0)], sport="Biking")


def _count(ctx, table) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_import_stores_samples_metrics_and_is_idempotent(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Ann", sex="f", tz="Europe/Oslo")
    set_threshold(ctx, SYSTEM, athlete.id, kind="ftp_w", value=250, valid_from=date(2020, 1, 1))
    path = tmp_path / "ride.tcx"
    path.write_bytes(_ride())
    report = import_paths(ctx, SYSTEM, athlete.id, [path])
    assert [it.outcome for it in report.items] == ["imported"], report.items
    assert _count(ctx, activities) == 1
    assert _samples(ctx) == 30 * 60
    with ctx.engine.connect() as conn:
        m = conn.execute(sa.select(session_metrics)).one()
    assert m.load_source == "power_tss"
    # 30 min at 220 W with FTP 250: TSS = 0.5 h * (0.88)^2 * 100 = 38.7
    assert abs(m.load_au - 0.5 * (220 / 250) ** 2 * 100) < 1.0
    assert ctx.files.exists(_count_sha(ctx))
    again = import_paths(ctx, SYSTEM, athlete.id, [path])
    assert [it.outcome for it in again.items] == ["duplicate"]
    assert _count(ctx, activities) == 1 and _samples(ctx) == 30 * 60


def _samples(ctx) -> int:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        aid = conn.execute(sa.select(activities.c.id)).scalar_one()
        return count_samples(conn, aid)


def _count_sha(ctx) -> str:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return str(conn.execute(sa.select(stored_files.c.sha256)).scalar_one())


def test_bad_files_fail_with_reasons_and_the_batch_carries_on(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Bo", tz="UTC")
    (tmp_path / "empty.fit").write_bytes(b"")
    (tmp_path / "fake.fit").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    (tmp_path / "broken.tcx").write_bytes(_ride()[:5000])
    (tmp_path / "good.tcx").write_bytes(_ride(10))
    report = import_paths(ctx, SYSTEM, athlete.id, [tmp_path, tmp_path / "missing.gpx"])
    outcomes = {Path(it.item).name: (it.outcome, it.reason or "") for it in report.items}
    assert outcomes["good.tcx"][0] == "imported"
    for bad in ("empty.fit", "fake.fit", "broken.tcx", "missing.gpx"):
        assert outcomes[bad][0] == "failed", outcomes
        assert outcomes[bad][1], f"{bad} has no reason"
    assert "PNG" in outcomes["fake.fit"][1]
    assert _count(ctx, activities) == 1


def test_a_fit_file_with_only_a_bad_file_crc_is_imported_with_a_warning(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from fitbuilder import simple_activity

    athlete = create_athlete(ctx, SYSTEM, name="Di", tz="UTC")
    bad_crc = bytearray(simple_activity(n_records=120))
    bad_crc[-1] ^= 0x40
    (tmp_path / "crc.fit").write_bytes(bytes(bad_crc))
    torn = bytearray(simple_activity(start_unix_s=1_700_100_000, n_records=120))
    (tmp_path / "torn.fit").write_bytes(bytes(torn[: len(torn) // 2]))
    report = import_paths(ctx, SYSTEM, athlete.id, [tmp_path])
    by = {Path(it.item).name: it for it in report.items}
    assert by["crc.fit"].outcome == "imported"
    assert (by["crc.fit"].reason or "").startswith(WARNING_PREFIX) and "CRC" in (by["crc.fit"].reason or "")
    assert report.warnings() == [by["crc.fit"]]
    assert by["torn.fit"].outcome == "failed"  # truncation is still an error
    assert _count(ctx, activities) == 1


def test_zip_upload_with_traversal_member_imports_the_rest(ctx) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Cy", tz="UTC")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../evil.tcx", _ride(5))
        zf.writestr("activities/ok.tcx", _ride(6))
    report = import_upload(ctx, SYSTEM, athlete.id, name="export.zip", data=buf.getvalue())
    by = {it.item: it for it in report.items}
    assert by["activities/ok.tcx"].outcome == "imported"
    assert by["../evil.tcx"].outcome == "failed" and "traversal" in (by["../evil.tcx"].reason or "")


def test_recompute_after_late_import_updates_exactly_the_affected_days(ctx, clock) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Di", tz="UTC")
    start = clock().date() - timedelta(days=40)
    obs = tuple(DailyObservation(day=start + timedelta(days=i), source="csv", rmssd_ms=60.0 + (i % 5),
                                 rhr_bpm=50.0, energy=4.0) for i in range(41))
    store_daily_import(ctx, SYSTEM, athlete.id, DailyImport(observations=obs), source="t", item="t")
    first = recompute_athlete(ctx, SYSTEM, athlete.id)
    assert first.days_written == 41
    again = recompute_athlete(ctx, SYSTEM, athlete.id)
    assert again.days_written == 0 and again.days_unchanged == 41
    # A logged session 10 days ago changes the load from that day on: exactly those 11 days
    # are rewritten (the kernels are causal), earlier days are untouched.
    late_day = clock().date() - timedelta(days=10)
    late = DailyImport(observations=(), sessions=(SessionLog(day=late_day, source="srpe", sport="run",
                                                            duration_s=3600, rpe=7, external_id="x1"),))
    store_daily_import(ctx, SYSTEM, athlete.id, late, source="t", item="t")
    res = recompute_athlete(ctx, SYSTEM, athlete.id, since=start)
    assert res.days_written == 11 and res.days_unchanged == 30
    series = daily_series(ctx, SYSTEM, athlete.id)
    assert series["load_au"].sum() > 0
    view = day_view(ctx, SYSTEM, athlete.id)
    assert view.day == clock().date()
    assert view.stage in {"calibrating", "normal", "surface_fatigue", "deep_fatigue", "overreaching_suspected",
                          "overtraining_suspected"}
    assert view.recommendation.get("code")
    with ctx.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(daily_metrics)).scalar_one() >= 41


def test_logged_session_load_matches_session_metrics_without_records() -> None:
    import pandas as pd

    from lydiard.domain.activity import empty_records
    from lydiard.domain.load.session import Thresholds, session_metrics
    from lydiard.services.metrics import logged_session_loads

    for sport, duration_s, rpe in (("run", 3600.0, 7.0), ("strength", 2700.0, 6.0), ("ride", 5400.0, None),
                                   ("kayak", 1800.0, None), ("swim", 1200.0, 0.0)):
        m = session_metrics(empty_records(), sport=sport, thresholds=Thresholds(), duration_s=duration_s, rpe=rpe)
        loads = logged_session_loads(pd.Series([sport]), pd.Series([duration_s]), pd.Series([rpe], dtype=float))
        assert float(loads[0]) == m.load_au
        assert m.load_source == ("srpe" if rpe is not None else "duration_default")


def test_batch_finds_duplicates_inside_one_archive_and_keeps_the_order(ctx) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    athlete = create_athlete(ctx, SYSTEM, name="Di", tz="UTC")
    later = tcx([[replace(p, t_s=p.t_s + 86_400) for p in line(600, hr_bpm=140.0, power_w=200.0)]])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("a.tcx", _ride(20))
        zf.writestr("b.tcx", _ride(20))  # the same bytes as a.tcx
        zf.writestr("c.tcx", _ride(21))  # other bytes, same sport and start as a.tcx
        zf.writestr("readme.txt", "hello")
        zf.writestr("d.tcx", later)
    report = import_upload(ctx, SYSTEM, athlete.id, name="export.zip", data=buf.getvalue(), recompute=False)
    items = [(it.item, it.outcome) for it in report.items]
    assert items == [("a.tcx", "imported"), ("b.tcx", "duplicate"), ("c.tcx", "duplicate"),
                     ("readme.txt", "skipped"), ("d.tcx", "imported")], report.items
    assert "same file already imported (a.tcx)" in (report.items[1].reason or "")
    assert _count(ctx, activities) == 2 and _count(ctx, stored_files) == 2
    for sha in _shas(ctx):
        assert ctx.files.exists(sha)
    assert not list(ctx.files.root.rglob(".tmp-*"))


def _shas(ctx) -> list[str]:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return [str(s) for s in conn.execute(sa.select(stored_files.c.sha256)).scalars()]


def _ride_on(day: date, *, minutes: int = 20, hr: float = 140.0, power: float | None = 200.0) -> bytes:
    """A ride on ``day`` (the builders put every workout on one day)."""
    pts = line(minutes * 60, dt_s=1.0, hr_bpm=hr, power_w=power, speed_mps=7.0)
    return tcx([pts], sport="Biking").replace(b"2024-05-01T", f"{day.isoformat()}T".encode())


def _batch_files() -> list[tuple[str, bytes]]:
    first = date(2024, 3, 1)
    files = [(f"w{i:02d}.tcx", _ride_on(first + timedelta(days=i), hr=120.0 + 3 * i, power=150.0 + 10 * i))
             for i in range(12)]
    files.insert(3, ("same-bytes.tcx", files[1][1]))  # a duplicate file
    files.insert(6, ("same-start.tcx", _ride_on(first + timedelta(days=2), minutes=21)))  # a duplicate session
    files.insert(8, ("broken.tcx", b"<?xml version='1.0'?><TrainingCenterDatabase><Activities>"))
    files.insert(10, ("pause.tcx", _ride_on(first + timedelta(days=40), minutes=1, power=None)))
    from fitbuilder import simple_activity

    for i in range(2):
        files.insert(5 + i, (f"f{i}.fit", simple_activity(start_unix_s=1_700_000_000 + 86_400 * i, n_records=600)))
    return files


def _stored(ctx, athlete_id: str) -> list[tuple[object, ...]]:  # type: ignore[no-untyped-def]
    """Every row an import wrote for the athlete, without generated ids and times."""
    from lydiard.storage.tables import laps, sample_blocks

    out: list[tuple[object, ...]] = []
    with ctx.engine.connect() as conn:
        acts = conn.execute(sa.select(activities).where(activities.c.athlete_id == athlete_id)
                            .order_by(activities.c.started_at)).all()
        for a in acts:
            row = a._asdict()
            for key in ("id", "athlete_id", "created_at"):
                row.pop(key)
            metrics = conn.execute(sa.select(session_metrics).where(session_metrics.c.activity_id == a.id)).one()
            m = metrics._asdict()
            m.pop("activity_id")
            m.pop("computed_at")
            blocks = [b._asdict() for b in conn.execute(
                sa.select(sample_blocks).where(sample_blocks.c.activity_id == a.id).order_by(sample_blocks.c.block))]
            lap_rows = [lap._asdict() for lap in conn.execute(
                sa.select(laps).where(laps.c.activity_id == a.id).order_by(laps.c.lap_index))]
            for r in blocks + lap_rows:
                r.pop("activity_id")
                r.pop("id", None)
            out.append((sorted(row.items()), sorted(m.items()), blocks, lap_rows))
    return out


def test_worker_processes_import_exactly_what_one_process_imports(ctx) -> None:  # type: ignore[no-untyped-def]
    from lydiard.services.importing import ImportBatch

    files = _batch_files()
    results = {}
    stored = {}
    for workers in (0, 2):
        athlete = create_athlete(ctx, SYSTEM, name=f"W{workers}", tz="Europe/Oslo")
        set_threshold(ctx, SYSTEM, athlete.id, kind="ftp_w", value=250, valid_from=date(2020, 1, 1))
        got = []
        with ImportBatch(ctx, SYSTEM, athlete.id, workers=workers) as batch:
            for name, data in files:
                got += batch.add(data=data, name=name, source="test")
            got += batch.flush()
        results[workers] = [(r.item, r.outcome, r.reason) for r in got]
        stored[workers] = _stored(ctx, athlete.id)
    assert results[2] == results[0]
    outcomes = [outcome for _, outcome, _ in results[0]]
    assert outcomes.count("imported") == 15 and outcomes.count("duplicate") == 2, results[0]
    assert outcomes.count("failed") == 1
    assert [name for name, _, _ in results[0]] == [name for name, _ in files]  # in the order added
    assert stored[2] == stored[0]
    assert len(stored[0]) == 15


def test_parse_workers_only_for_large_batches() -> None:
    from lydiard.services.importing import PARALLEL_MIN_FILES, parse_workers

    assert parse_workers(1) == 0
    assert parse_workers(PARALLEL_MIN_FILES - 1) == 0
    assert parse_workers(PARALLEL_MIN_FILES) >= 0


def test_a_file_imported_concurrently_costs_the_rest_of_its_commit_group_nothing(ctx) -> None:  # type: ignore[no-untyped-def]
    """Files are committed in groups; a conflict in a group retries each file on its own."""
    from datetime import UTC, datetime
    from hashlib import sha256

    from lydiard.services.importing import COMMIT_GROUP_FILES, ImportBatch

    athlete = create_athlete(ctx, SYSTEM, name="Race", tz="UTC")
    files = [(f"r{i}.tcx", _ride_on(date(2024, 6, 1) + timedelta(days=i))) for i in range(3)]
    assert len(files) < COMMIT_GROUP_FILES  # all three wait for one commit
    got = []
    with ImportBatch(ctx, SYSTEM, athlete.id) as batch:
        for name, data in files:
            got += batch.add(data=data, name=name, source="test")
        assert got == []
        # Another run stores the second file meanwhile.
        with ctx.engine.begin() as conn:
            conn.execute(sa.insert(stored_files).values(
                athlete_id=athlete.id, sha256=sha256(files[1][1]).hexdigest(), size_bytes=len(files[1][1]),
                original_name="other-run.tcx", created_at=datetime.now(UTC)))
        got += batch.flush()
    assert [(r.item, r.outcome) for r in got] == [("r0.tcx", "imported"), ("r1.tcx", "duplicate"),
                                                  ("r2.tcx", "imported")]
    assert got[1].reason == "imported concurrently by another run"
    assert _count(ctx, activities) == 2
