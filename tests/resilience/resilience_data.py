"""Shared helpers of the resilience tests: generated workouts, archives, store snapshots."""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from workout_builders import gpx, line, tcx

#: The builders put every workout on this day; generated workouts are moved to other days.
BUILDER_DAY = "2024-05-01T"
FIRST_DAY = date(2024, 3, 1)


def workout(i: int, *, n_samples: int = 600, fmt: str = "tcx") -> bytes:
    """Workout number ``i``: a distinct day (and so a distinct start and file), ``n_samples`` at 1 Hz."""
    day = FIRST_DAY + timedelta(days=i)
    hr = 120.0 + (i * 7) % 45
    if fmt == "tcx":
        sport = "Biking" if i % 2 else "Running"
        pts = line(n_samples, dt_s=1.0, hr_bpm=hr, power_w=150.0 + (i * 11) % 120 if i % 2 else None,
                   speed_mps=7.5 if i % 2 else 3.2)
        data = tcx([pts], sport=sport)
    else:
        pts = line(n_samples, dt_s=1.0, hr_bpm=hr, power_w=None)
        data = gpx([pts], track_type="running")
    return data.replace(BUILDER_DAY.encode(), f"{day.isoformat()}T".encode())


def workout_zip(n: int, *, n_samples: int = 600) -> bytes:
    """A zip archive of ``n`` distinct generated workouts (TCX, some GPX)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for i in range(n):
            fmt = "gpx" if i % 5 == 4 else "tcx"
            zf.writestr(f"export/activities/w{i:04d}.{fmt}", workout(i, n_samples=n_samples, fmt=fmt))
    return buf.getvalue()


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _norm(v: Any) -> Any:
    """Values comparable across a round trip (SQLite returns naive datetimes for aware columns)."""
    if hasattr(v, "tzinfo") and hasattr(v, "replace") and getattr(v, "tzinfo", None) is not None:
        return v.replace(tzinfo=None) if v.utcoffset() is not None and v.utcoffset().total_seconds() == 0 else v
    return v


def table_rows(engine: sa.Engine, table: sa.Table) -> list[tuple[Any, ...]]:
    """Every row of ``table``, sorted by all columns (as text, so None sorts)."""
    with engine.connect() as conn:
        rows = [tuple(_norm(v) for v in r) for r in conn.execute(sa.select(table)).all()]
    return sorted(rows, key=lambda r: tuple(repr(v) for v in r))


def all_rows(engine: sa.Engine) -> dict[str, list[tuple[Any, ...]]]:
    from lydiard.storage.tables import metadata

    return {t.name: table_rows(engine, t) for t in metadata.sorted_tables}


def activity_integrity_problems(engine: sa.Engine, files_root: Path) -> list[str]:
    """Every activity must have all its samples, its session metrics, its stored file row and bytes."""
    from lydiard.storage import tables
    from lydiard.storage.engine import FileStore

    activities, session_metrics, stored_files = tables.activities, tables.session_metrics, tables.stored_files
    store = FileStore(files_root)
    problems: list[str] = []
    with engine.connect() as conn:
        n_by_act = _samples_by_activity(conn)
        with_metrics = {r[0] for r in conn.execute(sa.select(session_metrics.c.activity_id))}
        files = {r[0] for r in conn.execute(sa.select(stored_files.c.sha256))}
        for a in conn.execute(sa.select(activities.c.id, activities.c.n_samples, activities.c.file_sha256)):
            if n_by_act.get(a.id, 0) != a.n_samples:
                problems.append(f"{a.id}: {n_by_act.get(a.id, 0)} samples stored, n_samples={a.n_samples}")
            if a.id not in with_metrics:
                problems.append(f"{a.id}: no session_metrics")
            if a.file_sha256 not in files:
                problems.append(f"{a.id}: no stored_files row")
            if not store.exists(a.file_sha256):
                problems.append(f"{a.id}: original file missing")
        orphans = set(n_by_act) - {r[0] for r in conn.execute(sa.select(activities.c.id))}
        if orphans:
            problems.append(f"samples without activity: {sorted(orphans)[:3]}")
    return problems


def _samples_by_activity(conn: sa.Connection) -> dict[str, int]:
    """Stored samples per activity (columnar blocks, or one row per sample in older schemas)."""
    from lydiard.storage import tables

    blocks = getattr(tables, "sample_blocks", None)
    if blocks is not None:
        q = sa.select(blocks.c.activity_id, sa.func.sum(blocks.c.n_samples)).group_by(blocks.c.activity_id)
    else:  # pragma: no cover - the schema before columnar blocks
        rows = tables.samples
        q = sa.select(rows.c.activity_id, sa.func.count()).group_by(rows.c.activity_id)
    return {str(a): int(n) for a, n in conn.execute(q).all()}


def duplicate_problems(engine: sa.Engine) -> list[str]:
    from lydiard.storage.tables import activities, stored_files

    with engine.connect() as conn:
        dup_start = conn.execute(
            sa.select(activities.c.started_at, sa.func.count()).group_by(activities.c.athlete_id,
                                                                         activities.c.started_at)
            .having(sa.func.count() > 1)).all()
        dup_file = conn.execute(
            sa.select(stored_files.c.sha256, sa.func.count()).group_by(stored_files.c.athlete_id,
                                                                       stored_files.c.sha256)
            .having(sa.func.count() > 1)).all()
    return [f"duplicate start {r[0]} x{r[1]}" for r in dup_start] + [f"duplicate file {r[0]} x{r[1]}" for r in dup_file]


def activity_fingerprint(engine: sa.Engine) -> list[tuple[Any, ...]]:
    """What a clean import must produce, independent of generated ids and timestamps."""
    from lydiard.storage.tables import activities, session_metrics

    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(activities.c.file_sha256, activities.c.sport, activities.c.day, activities.c.n_samples,
                      activities.c.duration_s, session_metrics.c.load_au)
            .join(session_metrics, session_metrics.c.activity_id == activities.c.id)).all()
    return sorted((r[0], r[1], r[2], r[3], round(r[4], 6), round(r[5], 6)) for r in rows)
