"""Imports that never store nonsense, and honest reports (both backends)."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import date
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from workout_builders import line, tcx

from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.importing import import_paths, import_upload
from lydiard.storage.tables import daily_observations, stored_files

SYSTEM = Actor.system()


def _days(ctx) -> list[date]:  # type: ignore[no-untyped-def]
    with ctx.engine.connect() as conn:
        return sorted(r.day for r in conn.execute(sa.select(daily_observations.c.day)))


def test_daily_days_outside_the_plausible_window_are_skipped_and_named(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="Europe/Oslo")  # the clock: 2025-06-30 12:00 UTC
    path = tmp_path / "daily.csv"
    path.write_text("day,rmssd_ms,rhr_bpm\n1677-01-12,50,50\n2025-06-29,60,48\n2025-07-01,61,48\n"
                    "2025-07-02,62,47\n2099-01-01,55,50\n")
    report = import_paths(ctx, SYSTEM, athlete.id, [path])
    (item,) = report.items
    assert item.outcome == "imported", item
    assert _days(ctx) == [date(2025, 6, 29), date(2025, 7, 1)]  # tomorrow is kept, later days are not
    problems = " | ".join(item.problems)
    assert "1677-01-12, before 1900-01-01" in problems
    assert "2025-07-02, after 2025-07-01" in problems and "2099-01-01" in problems
    assert item.n_days == 2 and report.read_counts()["days"] == 2
    # the original is kept, content-addressed, for backups, exports and reprocessing
    with ctx.engine.connect() as conn:
        (stored,) = conn.execute(sa.select(stored_files)).all()
    assert stored.original_name.endswith("daily.csv") and ctx.files.exists(stored.sha256)


def test_a_daily_file_with_nothing_usable_fails_with_every_problem(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="UTC")
    path = tmp_path / "daily.csv"
    path.write_text("day,rmssd_ms\n1677-01-12,50\n2099-01-01,55\n")
    report = import_paths(ctx, SYSTEM, athlete.id, [path])
    (item,) = report.items
    assert item.outcome == "failed" and "nothing usable" in (item.reason or "")
    assert "1677-01-12" in item.reason and "2099-01-01" in item.reason  # type: ignore[operator]
    assert _days(ctx) == [] and report.exit_status() == 3


def test_an_activity_dated_in_the_future_is_refused(ctx) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="UTC")
    report = import_upload(ctx, SYSTEM, athlete.id, name="ride.tcx",
                           data=tcx([line(600, hr_bpm=140)]).replace(b"2024-05-01", b"2031-05-01"))
    (item,) = report.items
    assert item.outcome == "failed" and "outside the plausible" in (item.reason or ""), item


def test_every_input_has_a_row_and_the_status_tells_what_happened(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="UTC")
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w"):
        pass
    nothing = import_paths(ctx, SYSTEM, athlete.id, [empty, tmp_path / "missing.fit"])
    assert [(it.source, it.outcome) for it in nothing.items] == [(str(empty), "skipped"),
                                                                 (str(tmp_path / "missing.fit"), "failed")]
    assert nothing.exit_status() == 3
    ride = tmp_path / "ride.tcx"
    ride.write_bytes(tcx([line(600, hr_bpm=140)]))
    mixed = import_paths(ctx, SYSTEM, athlete.id, [ride, tmp_path / "missing.fit"])
    assert mixed.exit_status() == 1
    assert mixed.read_counts()["activities"] == 1
    assert [it.load_source for it in mixed.guessed_loads()] == ["duration_default"]  # no threshold set
    again = import_paths(ctx, SYSTEM, athlete.id, [ride])
    assert again.exit_status() == 0 and [it.outcome for it in again.items] == ["duplicate"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w"):
        pass
    upload = import_upload(ctx, SYSTEM, athlete.id, name="up.zip", data=buf.getvalue())
    assert [it.outcome for it in upload.items] == ["skipped"]


def test_hrv_logger_export_imports_one_morning_value_per_recording(ctx) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest" / "daily"))
    from test_daily_hrv_logger import beats, features_csv, hr_csv, rr_csv

    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="Europe/Oslo")
    buf = io.BytesIO()
    first = datetime(2025, 6, 28, 5, 0, tzinfo=UTC)
    with zipfile.ZipFile(buf, "w") as zf:
        for i, start in enumerate([first, first + timedelta(days=1), first + timedelta(days=1, hours=12)]):
            prefix = f"HRV Logger/2025-06-2{8 + (i > 0)} rec{i}"
            zf.writestr(f"{prefix}_RRIntervals.csv", rr_csv(start, beats(artefact_at=None)))
            zf.writestr(f"{prefix}_HR.csv", hr_csv(start))
            zf.writestr(f"{prefix}_Features.csv", features_csv(start))
            zf.writestr(f"{prefix}_Event.csv", b"timestamp, event\n")
        zf.writestr("HRV Logger/lonely_Features.csv", features_csv(first))
    report = import_upload(ctx, SYSTEM, athlete.id, name="hrvlogger.zip", data=buf.getvalue())
    outcomes = {it.item.rsplit("/", 1)[-1]: it.outcome for it in report.items}
    assert len(outcomes) == 13, "every file has a row"
    assert outcomes["2025-06-28 rec0_RRIntervals.csv"] == "imported"
    assert outcomes["2025-06-29 rec1_RRIntervals.csv"] == "imported"
    assert outcomes["2025-06-29 rec2_RRIntervals.csv"] == "skipped"  # the evening one of the same day
    assert outcomes["lonely_Features.csv"] == "skipped"
    assert not report.failures(), report.failures()
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(daily_observations.c.day, daily_observations.c.rmssd_ms)
                            .order_by(daily_observations.c.day)).all()
        n_originals = conn.execute(sa.select(sa.func.count()).select_from(stored_files)).scalar_one()
    assert [r.day for r in rows] == [date(2025, 6, 28), date(2025, 6, 29)]
    assert all(abs(r.rmssd_ms - 40.0) < 1.0 for r in rows), rows
    assert n_originals >= 8  # the files of the recordings kept (identical Event files are stored once)


def _same_swim_twice() -> tuple[bytes, bytes]:
    from fitbuilder import simple_activity
    from workout_builders import T0

    fit = simple_activity(start_unix_s=int(T0.timestamp()), n_records=600, sport=5)  # swimming, HR, power
    other = tcx([line(600, hr_bpm=None, cad_rpm=None, lon_deg=None)], sport="Other")  # no HR, no track
    return fit, other


def test_the_same_session_in_two_formats_is_imported_once_keeping_the_richer(ctx) -> None:  # type: ignore[no-untyped-def]
    from lydiard.storage.tables import activities

    fit, other = _same_swim_twice()
    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="UTC")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("swim.tcx", other)
        zf.writestr("swim.fit", fit)
    report = import_upload(ctx, SYSTEM, athlete.id, name="export.zip", data=buf.getvalue())
    by_name = {it.item.rsplit("/", 1)[-1]: it for it in report.items}
    assert by_name["swim.tcx"].outcome == "imported"
    assert by_name["swim.fit"].outcome == "imported" and "poorer copy" in (by_name["swim.fit"].reason or "")
    with ctx.engine.connect() as conn:
        rows = conn.execute(sa.select(activities.c.sport, activities.c.source_format)).all()
    assert [(r.sport, r.source_format) for r in rows] == [("swim", "fit")]
    again = import_upload(ctx, SYSTEM, athlete.id, name="swim-copy.tcx", data=other + b" ")
    (item,) = again.items
    assert item.outcome == "duplicate" and "as rich or richer" in (item.reason or ""), item


def test_the_files_of_a_daily_data_folder_are_kept_as_originals(ctx, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest" / "daily"))
    from test_daily_pmsys import WELLNESS

    athlete = create_athlete(ctx, SYSTEM, name="Ann", tz="Europe/Oslo")
    folder = tmp_path / "p99"
    (folder / "pmsys").mkdir(parents=True)
    (folder / "pmsys" / "wellness.csv").write_text(WELLNESS)
    report = import_paths(ctx, SYSTEM, athlete.id, [folder])
    assert [it.outcome for it in report.items] == ["imported"], report.items
    assert report.read_counts()["days"] >= 1
    with ctx.engine.connect() as conn:
        names = [r.original_name for r in conn.execute(sa.select(stored_files.c.original_name))]
    assert names == ["daily:p99/pmsys/wellness.csv"]
