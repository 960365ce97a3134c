"""Importing an athlete's history: workout files, archives, folders and daily-data exports.

Each workout file is imported atomically (one transaction: activity, samples, laps,
RR intervals, session metrics); the original bytes are kept content-addressed so
every metric can be recomputed later. A failure in one file is recorded with its
reason and the batch carries on. Re-running an import adds nothing twice: files are
de-duplicated by SHA-256, activities by (sport, start within a minute), daily rows by
(day, source), logged sessions by their source id.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, insert, select, update
from sqlalchemy.exc import IntegrityError

from lydiard.domain.activity import Activity
from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.errors import IngestError, LydiardError, UnsupportedFormatError
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import load_athlete, threshold_history
from lydiard.services.context import Context, new_id
from lydiard.services.session_metrics import compute_session_metrics, session_metrics_row
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.streams import write_streams
from lydiard.storage.tables import (
    activities,
    daily_observations,
    import_items,
    laps,
    rr_intervals,
    session_logs,
    session_metrics,
    stored_files,
)

log = logging.getLogger(__name__)

DUPLICATE_START_TOLERANCE = timedelta(seconds=60)
OBSERVATION_FIELDS: tuple[str, ...] = tuple(
    f for f in DailyObservation.__dataclass_fields__ if f not in ("day", "source")
)


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome of one file (or archive member)."""

    source: str  #: what the user named (a path)
    item: str  #: the file, or the member inside an archive
    outcome: str  #: "imported" | "duplicate" | "failed" | "skipped"
    reason: str | None = None
    activity_id: str | None = None
    days: tuple[date, ...] = ()  #: local days touched, for recompute


@dataclass
class ImportReport:
    run_id: str
    items: list[ItemResult] = field(default_factory=list)

    def counts_by_source(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for it in self.items:
            out.setdefault(it.source, Counter())[it.outcome] += 1
        return out

    @property
    def earliest_day(self) -> date | None:
        days = [d for it in self.items if it.outcome == "imported" for d in it.days]
        return min(days) if days else None

    def failures(self) -> list[ItemResult]:
        return [it for it in self.items if it.outcome == "failed"]


ProgressFn = Callable[[ItemResult], None]


# ----------------------------------------------------------------------------- entry points

def import_paths(
    ctx: Context,
    actor: Actor,
    athlete_id: str,
    paths: Iterable[Path],
    *,
    progress: ProgressFn | None = None,
    recompute: bool = True,
) -> ImportReport:
    """Import every file, folder and archive in ``paths`` for one athlete."""
    from lydiard.ingest.archive import ArchiveLimits, iter_sources

    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
    report = ImportReport(run_id=new_id())
    limits = ArchiveLimits(
        max_member_bytes=ctx.settings.max_file_bytes,
        max_total_bytes=ctx.settings.max_archive_total_bytes,
        max_members=ctx.settings.max_archive_members,
    )
    for path in paths:
        source = str(path)
        if not path.exists():
            _emit(ctx, report, athlete_id, ItemResult(source, source, "failed", "no such file or folder"), progress)
            continue
        if path.is_dir():
            handled = _import_daily_folder(ctx, actor, athlete_id, path, source, report, progress)
            if handled:
                continue
        try:
            items = list(_items(iter_sources(path, limits=limits)))
        except LydiardError as exc:
            _emit(ctx, report, athlete_id, ItemResult(source, source, "failed", str(exc)), progress)
            continue
        _import_items(ctx, actor, athlete_id, source, items, report, progress)
    _finish(ctx, actor, athlete_id, report, recompute=recompute)
    return report


def import_upload(
    ctx: Context, actor: Actor, athlete_id: str, *, name: str, data: bytes, recompute: bool = True,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import one uploaded file or archive (held in memory)."""
    from lydiard.ingest.archive import ArchiveLimits, iter_bytes

    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
    report = ImportReport(run_id=new_id())
    limits = ArchiveLimits(
        max_member_bytes=ctx.settings.max_file_bytes,
        max_total_bytes=ctx.settings.max_archive_total_bytes,
        max_members=ctx.settings.max_archive_members,
    )
    try:
        items = list(_items(iter_bytes(name, data, limits=limits)))
    except LydiardError as exc:
        _emit(ctx, report, athlete_id, ItemResult(name, name, "failed", str(exc)), progress)
        items = []
    _import_items(ctx, actor, athlete_id, name, items, report, progress)
    _finish(ctx, actor, athlete_id, report, recompute=recompute)
    return report


# ----------------------------------------------------------------------------- internals

@dataclass(frozen=True, slots=True)
class _Item:
    name: str
    kind: str
    data: bytes | None
    error: str | None


def _items(it: Iterator[Any]) -> Iterator[_Item]:
    for src in it:
        err = getattr(src, "error", None)
        data = None
        if err is None:
            try:
                data = src.read() if hasattr(src, "read") else src.data
            except LydiardError as exc:
                err = str(exc)
        yield _Item(name=src.name, kind=getattr(src, "kind", "activity"), data=data,
                    error=str(err) if err is not None else None)


def _emit(ctx: Context, report: ImportReport, athlete_id: str, result: ItemResult, progress: ProgressFn | None) -> None:
    report.items.append(result)
    if progress is not None:
        progress(result)


def _import_items(
    ctx: Context, actor: Actor, athlete_id: str, source: str, items: list[_Item], report: ImportReport,
    progress: ProgressFn | None,
) -> None:
    # Strava's activities.csv supplies names, gear and perceived exertion: read it first.
    strava_meta: dict[str, Any] = {}
    for it in items:
        if it.kind == "strava_activities_csv" and it.data is not None:
            try:
                from lydiard.ingest.strava import strava_meta_by_filename

                strava_meta.update(strava_meta_by_filename(it.data, source=it.name))
                _emit(ctx, report, athlete_id, ItemResult(source, it.name, "skipped", "Strava activity index (names, gear, RPE)"), progress)
            except LydiardError as exc:
                _emit(ctx, report, athlete_id, ItemResult(source, it.name, "failed", str(exc)), progress)
    for it in items:
        if it.kind == "strava_activities_csv":
            continue
        if it.kind == "other" and it.error is None:
            _emit(ctx, report, athlete_id, ItemResult(source, it.name, "skipped", "not a workout or daily-data file"), progress)
            continue
        if it.error is not None or it.data is None:
            _emit(ctx, report, athlete_id, ItemResult(source, it.name, "failed", it.error or "unreadable"), progress)
            continue
        if it.kind == "activity":
            meta = _strava_lookup(strava_meta, it.name)
            result = import_activity_bytes(ctx, actor, athlete_id, data=it.data, name=it.name, source=source,
                                           meta=meta)
        else:
            result = _import_daily_bytes(ctx, actor, athlete_id, name=it.name, data=it.data, source=source)
        _emit(ctx, report, athlete_id, result, progress)


def _strava_lookup(meta: dict[str, Any], name: str) -> Any:
    if not meta:
        return None
    from lydiard.ingest.strava import match_strava_meta

    return match_strava_meta(meta, name)


def _local_day(started_at: datetime, tz: str) -> date:
    return started_at.astimezone(ZoneInfo(tz)).date()


def import_activity_bytes(
    ctx: Context, actor: Actor, athlete_id: str, *, data: bytes, name: str, source: str, meta: Any = None,
) -> ItemResult:
    """Parse and store one workout file atomically; never raises for bad input (the result says why)."""
    from lydiard.ingest.activity import read_activity

    sha = hashlib.sha256(data).hexdigest()
    with translate_db_errors(), ctx.engine.connect() as conn:
        seen = conn.execute(
            select(stored_files.c.original_name).where(
                stored_files.c.athlete_id == athlete_id, stored_files.c.sha256 == sha)
        ).first()
    if seen is not None:
        return ItemResult(source, name, "duplicate", f"same file already imported ({seen.original_name})")
    try:
        act = read_activity(data, name=name, max_bytes=ctx.settings.max_file_bytes)
    except LydiardError as exc:
        return ItemResult(source, name, "failed", str(exc))
    except Exception as exc:  # a parser bug must not stop the batch; it is reported, not hidden
        log.exception("unexpected error reading %s", name)
        return ItemResult(source, name, "failed", f"internal error while reading ({type(exc).__name__}: {exc})")
    if meta is not None:
        act = replace(act, summary=replace(act.summary, name=getattr(meta, "name", None) or act.summary.name))
    try:
        return _store_activity(ctx, actor, athlete_id, act=act, data=data, sha=sha, name=name, source=source, meta=meta)
    except LydiardError as exc:
        return ItemResult(source, name, "failed", str(exc))


def _store_activity(
    ctx: Context, actor: Actor, athlete_id: str, *, act: Activity, data: bytes, sha: str, name: str, source: str,
    meta: Any,
) -> ItemResult:
    started_at = act.summary.started_at
    with translate_db_errors(), ctx.engine.connect() as conn:
        athlete = load_athlete(conn, athlete_id)
        dup = conn.execute(
            select(activities.c.id, activities.c.name).where(
                and_(
                    activities.c.athlete_id == athlete_id,
                    activities.c.sport == act.summary.sport,
                    activities.c.started_at >= started_at - DUPLICATE_START_TOLERANCE,
                    activities.c.started_at <= started_at + DUPLICATE_START_TOLERANCE,
                )
            )
        ).first()
        history = threshold_history(conn, athlete_id)
    day = _local_day(started_at, athlete.tz)
    if dup is not None:
        return ItemResult(source, name, "duplicate",
                          f"an activity with the same sport and start ({started_at:%Y-%m-%d %H:%M} UTC) exists",
                          activity_id=dup.id)
    rpe = getattr(meta, "perceived_exertion", None) if meta is not None else None
    metrics = compute_session_metrics(act, day=day, history=history, sex=athlete.sex, rpe=rpe)
    activity_id = new_id()
    ctx.files.put(data)  # content-addressed and atomic; an orphan after a crash is harmless
    now = ctx.clock()
    rec = act.records
    t0 = pd.Timestamp(started_at)
    try:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(insert(stored_files).values(athlete_id=athlete_id, sha256=sha, size_bytes=len(data),
                                                     original_name=name[:500], created_at=now))
            s = act.summary
            conn.execute(insert(activities).values(
                id=activity_id, athlete_id=athlete_id, file_sha256=sha, source_format=act.source_format,
                sport=s.sport, sub_sport=s.sub_sport, name=(s.name or Path(name).stem)[:300],
                gear=getattr(meta, "gear", None) if meta is not None else None,
                device=(s.device or None), started_at=started_at, day=day, duration_s=float(s.duration_s),
                moving_time_s=float(s.moving_time_s), distance_m=_f(s.distance_m), avg_hr_bpm=_f(s.avg_hr_bpm),
                max_hr_bpm=_f(s.max_hr_bpm), avg_power_w=_f(s.avg_power_w), rpe=_f(rpe), n_samples=len(rec),
                cleaning=dict(act.cleaning.counts) or None, created_at=now,
            ))
            if len(rec):
                elapsed_s = (rec[Col.TIME.value] - t0).dt.total_seconds().to_numpy(dtype=np.float64)
                write_streams(conn, activity_id, elapsed_s=np.asarray(elapsed_s, dtype=np.float64),
                              channels={c: rec[c].to_numpy(dtype=np.float64) for c in SAMPLE_COLUMNS})
            if len(act.laps):
                lap_rows = []
                for i, lap in enumerate(act.laps.itertuples(index=False)):
                    st = getattr(lap, "started_at", None)
                    lap_rows.append((activity_id, i, None if pd.isna(st) else pd.Timestamp(st).to_pydatetime(),
                                     _f(lap.duration_s), _f(lap.distance_m), _f(lap.avg_hr_bpm),
                                     _f(lap.max_hr_bpm), _f(lap.avg_power_w)))
                conn.execute(insert(laps), [dict(zip(("activity_id", "lap_index", "started_at", "duration_s",
                                                        "distance_m", "avg_hr_bpm", "max_hr_bpm", "avg_power_w"),
                                                       r, strict=True)) for r in lap_rows])
            if act.rr_ms.size:
                rr = np.asarray(act.rr_ms, dtype="<f4")
                chunk = 65536
                conn.execute(insert(rr_intervals), [
                    {"activity_id": activity_id, "chunk": i // chunk, "rr_ms_f32": rr[i:i + chunk].tobytes()}
                    for i in range(0, rr.size, chunk)
                ])
            conn.execute(insert(session_metrics).values(**session_metrics_row(activity_id, metrics, now)))
            _link_session_logs(conn, athlete_id, activity_id, act, day)
            audit.record(conn, actor, athlete_id=athlete_id, action="activity.import", at=now,
                         activity_id=activity_id, file=name[:200])
    except IntegrityError:
        # A concurrent import of the same file won the race: nothing of ours was kept.
        return ItemResult(source, name, "duplicate", "imported concurrently by another run")
    return ItemResult(source, name, "imported", None, activity_id=activity_id, days=(day,))


def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


def _link_session_logs(conn: Connection, athlete_id: str, activity_id: str, act: Activity, day: date) -> None:
    """A logged session (sRPE app, Fitbit) that is this file's session is linked, not counted twice."""
    rows = conn.execute(
        select(session_logs.c.id, session_logs.c.started_at, session_logs.c.sport, session_logs.c.rpe).where(
            session_logs.c.athlete_id == athlete_id, session_logs.c.day == day,
            session_logs.c.activity_id.is_(None))
    ).all()
    for r in rows:
        if _same_session(r.started_at, act.summary.started_at, act.summary.duration_s):
            conn.execute(update(session_logs).where(session_logs.c.id == r.id).values(activity_id=activity_id))
            if r.rpe is not None:
                conn.execute(update(activities).where(activities.c.id == activity_id).values(rpe=r.rpe))
            break


def _same_session(log_started_at: datetime | None, started_at: datetime, duration_s: float) -> bool:
    if log_started_at is None:
        return False
    if log_started_at.tzinfo is None:
        from datetime import UTC

        log_started_at = log_started_at.replace(tzinfo=UTC)
    return abs((log_started_at - started_at).total_seconds()) <= max(1800.0, 0.5 * duration_s)


# ----------------------------------------------------------------------------- daily data

def _import_daily_folder(ctx: Context, actor: Actor, athlete_id: str, path: Path, source: str,
                         report: ImportReport, progress: ProgressFn | None) -> bool:
    """Import a recognised daily-data folder (PMData participant, Fitbit export); False if not one."""
    try:
        from lydiard.ingest.daily.sniff import read_daily_folder
    except ImportError:  # pragma: no cover - the module ships with the package
        return False
    with ctx.engine.connect() as conn:
        tz = load_athlete(conn, athlete_id).tz
    try:
        daily = read_daily_folder(path, tz=tz)
    except UnsupportedFormatError:
        return False
    except LydiardError as exc:
        _emit(ctx, report, athlete_id, ItemResult(source, source, "failed", str(exc)), progress)
        return True
    _emit(ctx, report, athlete_id, store_daily_import(ctx, actor, athlete_id, daily, source=source, item=source), progress)
    return True


def _import_daily_bytes(ctx: Context, actor: Actor, athlete_id: str, *, name: str, data: bytes, source: str) -> ItemResult:
    from lydiard.ingest.daily.sniff import read_daily_source

    with ctx.engine.connect() as conn:
        tz = load_athlete(conn, athlete_id).tz
    try:
        daily = read_daily_source(name, data, tz=tz)
    except UnsupportedFormatError:
        return ItemResult(source, name, "skipped", "not a workout or daily-data file Lydiard recognises")
    except LydiardError as exc:
        return ItemResult(source, name, "failed", str(exc))
    return store_daily_import(ctx, actor, athlete_id, daily, source=source, item=name)


def store_daily_import(ctx: Context, actor: Actor, athlete_id: str, daily: DailyImport, *, source: str, item: str) -> ItemResult:
    """Upsert daily observations (by day and source) and logged sessions (by source id), atomically."""
    now = ctx.clock()
    days: set[date] = set()
    new_obs = 0
    new_sessions = 0
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        for obs in daily.observations:
            changed = upsert_observation(conn, athlete_id, obs, now=now)
            if changed:
                new_obs += 1
                days.add(obs.day)
        for sl in daily.sessions:
            if _insert_session_log(conn, athlete_id, sl, now=now):
                new_sessions += 1
                days.add(sl.day)
        audit.record(conn, actor, athlete_id=athlete_id, action="daily.import", at=now, item=item[:200],
                     observations=new_obs, sessions=new_sessions)
    if not days:
        return ItemResult(source, item, "duplicate", "every day and session was already present")
    what = f"{new_obs} day(s) of recovery/wellness data, {new_sessions} logged session(s)"
    if daily.warnings:
        what += "; " + "; ".join(daily.warnings[:3])
    return ItemResult(source, item, "imported", what, days=tuple(sorted(days)))


def upsert_observation(conn: Connection, athlete_id: str, obs: DailyObservation, *, now: datetime) -> bool:
    """Insert or update one (day, source) row; True when something changed."""
    values = {f: getattr(obs, f) for f in OBSERVATION_FIELDS}
    key = and_(daily_observations.c.athlete_id == athlete_id, daily_observations.c.day == obs.day,
               daily_observations.c.source == obs.source)
    existing = conn.execute(select(daily_observations).where(key)).first()
    if existing is None:
        conn.execute(insert(daily_observations).values(athlete_id=athlete_id, day=obs.day, source=obs.source,
                                                       updated_at=now, **values))
        return True
    merged = {k: (v if v is not None else getattr(existing, k)) for k, v in values.items()}
    if all(_eq(getattr(existing, k), v) for k, v in merged.items()):
        return False
    conn.execute(update(daily_observations).where(key).values(updated_at=now, **merged))
    return True


def _eq(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) < 1e-9
    return bool(a == b)


def _insert_session_log(conn: Connection, athlete_id: str, sl: SessionLog, *, now: datetime) -> bool:
    ext = sl.external_id or f"{sl.day.isoformat()}|{sl.started_at.isoformat() if sl.started_at else ''}|{sl.sport}|{sl.duration_s:.0f}"
    exists = conn.execute(
        select(session_logs.c.id).where(session_logs.c.athlete_id == athlete_id, session_logs.c.source == sl.source,
                                        session_logs.c.external_id == ext[:100])
    ).first()
    if exists is not None:
        return False
    # Link to a stored activity of the same session so its load is not counted twice.
    activity_id = None
    for r in conn.execute(
        select(activities.c.id, activities.c.started_at, activities.c.duration_s).where(
            activities.c.athlete_id == athlete_id, activities.c.day == sl.day)
    ).all():
        if sl.started_at is not None and _same_session(sl.started_at, _aware(r.started_at), r.duration_s):
            activity_id = r.id
            if sl.rpe is not None:
                conn.execute(update(activities).where(activities.c.id == r.id).values(rpe=sl.rpe))
            break
    conn.execute(insert(session_logs).values(
        id=new_id(), athlete_id=athlete_id, day=sl.day, started_at=sl.started_at, source=sl.source,
        sport=sl.sport, duration_s=float(sl.duration_s), rpe=sl.rpe, name=sl.name, avg_hr_bpm=sl.avg_hr_bpm,
        distance_m=sl.distance_m, external_id=ext[:100], activity_id=activity_id, created_at=now,
    ))
    return True


def _aware(ts: datetime) -> datetime:
    from datetime import UTC

    return ts if ts.tzinfo is not None else ts.replace(tzinfo=UTC)


def _finish(ctx: Context, actor: Actor, athlete_id: str, report: ImportReport, *, recompute: bool) -> None:
    now = ctx.clock()
    rows = [
        {"run_id": report.run_id, "athlete_id": athlete_id, "source": it.source[:500], "item": it.item[:500],
         "outcome": it.outcome, "reason": it.reason, "activity_id": it.activity_id, "at": now}
        for it in report.items
    ]
    if rows:
        with translate_db_errors(), ctx.engine.begin() as conn:
            conn.execute(insert(import_items), rows)
    if recompute and report.earliest_day is not None:
        from lydiard.services.metrics import recompute_athlete

        recompute_athlete(ctx, actor, athlete_id, since=report.earliest_day)
        from lydiard.services.planning import refresh_plan_after_recompute

        refresh_plan_after_recompute(ctx, actor, athlete_id)


def import_run_items(ctx: Context, actor: Actor, athlete_id: str, run_id: str) -> list[ItemResult]:
    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id)
        rows = conn.execute(select(import_items).where(import_items.c.run_id == run_id,
                                                       import_items.c.athlete_id == athlete_id)
                            .order_by(import_items.c.id)).all()
    return [ItemResult(r.source, r.item, r.outcome, r.reason, r.activity_id) for r in rows]


__all__ = [
    "ImportReport",
    "IngestError",
    "ItemResult",
    "import_activity_bytes",
    "import_paths",
    "import_run_items",
    "import_upload",
    "store_daily_import",
    "upsert_observation",
]
