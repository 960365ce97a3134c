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
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, and_, bindparam, insert, select, update
from sqlalchemy.exc import IntegrityError

from lydiard.domain.activity import Activity
from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.errors import IngestError, LydiardError, UnsupportedFormatError
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import AthleteInfo, ThresholdValue, load_athlete, threshold_history
from lydiard.services.context import Context, new_id
from lydiard.services.session_metrics import compute_session_metrics, session_metrics_row
from lydiard.storage.engine import StagedFile, translate_db_errors
from lydiard.storage.streams import insert_sample_blocks, sample_block_rows
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
    with ImportBatch(ctx, actor, athlete_id) as batch:
        for it in items:
            if it.kind == "strava_activities_csv":
                continue
            if it.kind == "activity" and it.error is None and it.data is not None:
                meta = _strava_lookup(strava_meta, it.name)
                done = batch.add(data=it.data, name=it.name, source=source, meta=meta)
            elif it.kind == "other" and it.error is None:
                done = batch.note(ItemResult(source, it.name, "skipped", "not a workout or daily-data file"))
            elif it.error is not None or it.data is None:
                done = batch.note(ItemResult(source, it.name, "failed", it.error or "unreadable"))
            else:  # daily data may link logged sessions to activities: commit those first
                for result in batch.flush():
                    _emit(ctx, report, athlete_id, result, progress)
                done = [_import_daily_bytes(ctx, actor, athlete_id, name=it.name, data=it.data, source=source)]
            for result in done:
                _emit(ctx, report, athlete_id, result, progress)
        for result in batch.flush():
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
    with ImportBatch(ctx, actor, athlete_id, background=False) as batch:
        results = batch.add(data=data, name=name, source=source, meta=meta)
        results += batch.flush()
    return results[0]


@dataclass
class _Pending:
    """A parsed and checked file whose rows wait for its original to be durable."""

    name: str
    source: str
    sha: str
    sport: str
    started_at: datetime
    day: date
    activity_id: str
    staged: StagedFile
    durable: Future[None] | None  #: the background fsync of the original (None: done)
    stored_file_row: dict[str, Any]
    activity_row: dict[str, Any]
    block_rows: list[dict[str, object]]
    lap_rows: list[dict[str, Any]]
    rr_rows: list[dict[str, Any]]
    metrics_row: dict[str, Any]
    duration_s: float
    now: datetime


_SEEN_FILE = select(stored_files.c.original_name).where(
    stored_files.c.athlete_id == bindparam("athlete_id"), stored_files.c.sha256 == bindparam("sha256"))
_SAME_START = select(activities.c.id, activities.c.name).where(
    activities.c.athlete_id == bindparam("athlete_id"),
    activities.c.sport == bindparam("sport"),
    activities.c.started_at >= bindparam("earliest", type_=activities.c.started_at.type),
    activities.c.started_at <= bindparam("latest", type_=activities.c.started_at.type),
)
_INSERT_STORED_FILE = insert(stored_files)
_INSERT_ACTIVITY = insert(activities)
_INSERT_LAPS = insert(laps)
_INSERT_RR = insert(rr_intervals)
_INSERT_METRICS = insert(session_metrics)
_LAP_FIELDS = ("duration_s", "distance_m", "avg_hr_bpm", "max_hr_bpm", "avg_power_w")
#: RR intervals per stored chunk (one row).
RR_PER_CHUNK = 65536


class ImportBatch:
    """Imports workout files of one athlete, one after another, fast and durably.

    Per batch, the athlete and their threshold history are read once. Per file, the original is written under a temporary
    name and made durable (fsync, rename, directory fsync) on a background thread
    while the next file is parsed and measured; the file's rows are committed, in one
    transaction per file, only once its original is durable. So each file is still
    imported atomically, and a committed row never references a file that a crash
    could lose. A file that would collide with one still waiting (same bytes, or same
    sport and start) waits until the earlier one is committed, so duplicate checks see
    exactly what they would see one file at a time.

    ``add`` and ``flush`` return the results of finished files, in the order added.
    """

    def __init__(self, ctx: Context, actor: Actor, athlete_id: str, *, background: bool = True) -> None:
        self.ctx = ctx
        self.actor = actor
        self.athlete_id = athlete_id
        self._athlete: AthleteInfo | None = None
        self._history: list[ThresholdValue] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lydiard-fsync") if background else None
        self._queue: deque[_Pending | ItemResult] = deque()

    def __enter__(self) -> ImportBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Give up files not committed yet (their originals may stay as harmless orphans)."""
        for entry in self._queue:
            if isinstance(entry, _Pending):
                self._settle(entry, raise_errors=False)
        self._queue.clear()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def invalidate(self) -> None:
        """Forget the cached athlete and thresholds (after changing them mid-batch)."""
        self._athlete = None
        self._history = None

    # ------------------------------------------------------------------ public steps

    def add(self, *, data: bytes, name: str, source: str, meta: Any = None) -> list[ItemResult]:
        """Read, check and stage one workout file; returns the results now final."""
        try:
            entry = self._prepare(data=data, name=name, source=source, meta=meta)
        except BaseException:
            self._commit_pending(keep=None)  # files before this one are imported, as one at a time
            raise
        # Keep the newest file waiting (its fsync overlaps the next file's parsing);
        # everything before it can be committed now.
        self._commit_pending(keep=entry if isinstance(entry, _Pending) else None)
        self._queue.append(entry)
        return self._pop_finished()

    def note(self, result: ItemResult) -> list[ItemResult]:
        """Queue the result of an item handled elsewhere, keeping the order of results."""
        self._queue.append(result)
        return self._pop_finished()

    def flush(self) -> list[ItemResult]:
        """Commit every waiting file; returns the remaining results."""
        self._commit_pending(keep=None)
        return self._pop_finished()

    # ------------------------------------------------------------------ internals

    def _pop_finished(self) -> list[ItemResult]:
        out: list[ItemResult] = []
        while self._queue and isinstance(self._queue[0], ItemResult):
            out.append(self._queue.popleft())  # type: ignore[arg-type]
        return out

    def _commit_pending(self, *, keep: _Pending | None) -> None:
        """Commit every waiting file except ``keep``, in order; their results take their places."""
        for i, entry in enumerate(self._queue):
            if isinstance(entry, _Pending) and entry is not keep:
                self._queue[i] = self._commit(entry)

    def _athlete_info(self, conn: Connection) -> AthleteInfo:
        if self._athlete is None:
            self._athlete = load_athlete(conn, self.athlete_id)
        return self._athlete

    def _threshold_history(self, conn: Connection) -> list[ThresholdValue]:
        if self._history is None:
            self._history = threshold_history(conn, self.athlete_id)
        return self._history

    def _waiting(self) -> list[_Pending]:
        return [e for e in self._queue if isinstance(e, _Pending)]

    def _prepare(self, *, data: bytes, name: str, source: str, meta: Any) -> _Pending | ItemResult:
        from lydiard.ingest.activity import read_activity

        ctx = self.ctx
        sha = hashlib.sha256(data).hexdigest()
        if any(p.sha == sha for p in self._waiting()):
            self._commit_pending(keep=None)
        with translate_db_errors(), ctx.engine.connect() as conn:
            seen = conn.execute(_SEEN_FILE, {"athlete_id": self.athlete_id, "sha256": sha}).first()
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
            return self._check_and_stage(act, data=data, sha=sha, name=name, source=source, meta=meta)
        except LydiardError as exc:
            return ItemResult(source, name, "failed", str(exc))

    def _check_and_stage(
        self, act: Activity, *, data: bytes, sha: str, name: str, source: str, meta: Any,
    ) -> _Pending | ItemResult:
        ctx = self.ctx
        s = act.summary
        started_at = s.started_at
        if any(p.sport == s.sport and abs(p.started_at - started_at) <= DUPLICATE_START_TOLERANCE
               for p in self._waiting()):
            self._commit_pending(keep=None)
        with translate_db_errors(), ctx.engine.connect() as conn:
            athlete = self._athlete_info(conn)
            dup = conn.execute(_SAME_START, {
                "athlete_id": self.athlete_id, "sport": s.sport,
                "earliest": started_at - DUPLICATE_START_TOLERANCE, "latest": started_at + DUPLICATE_START_TOLERANCE,
            }).first()
            history = self._threshold_history(conn)
        day = _local_day(started_at, athlete.tz)
        if dup is not None:
            return ItemResult(source, name, "duplicate",
                              f"an activity with the same sport and start ({started_at:%Y-%m-%d %H:%M} UTC) exists",
                              activity_id=dup.id)
        rpe = getattr(meta, "perceived_exertion", None) if meta is not None else None
        metrics = compute_session_metrics(act, day=day, history=history, sex=athlete.sex, rpe=rpe)
        # Content-addressed and atomic; made durable in the background, committed below.
        staged = ctx.files.stage(data, sha256=sha)
        durable: Future[None] | None = None
        if self._executor is not None:
            durable = self._executor.submit(ctx.files.commit, staged)
        else:
            ctx.files.commit(staged)
        activity_id = new_id()
        now = ctx.clock()
        rec = act.records
        try:
            block_rows = _sample_rows(activity_id, rec, started_at)
            pending = _Pending(
                name=name, source=source, sha=sha, sport=s.sport, started_at=started_at, day=day,
                activity_id=activity_id, staged=staged, durable=durable,
                stored_file_row=dict(athlete_id=self.athlete_id, sha256=sha, size_bytes=len(data),
                                     original_name=name[:500], created_at=now),
                activity_row=dict(
                    id=activity_id, athlete_id=self.athlete_id, file_sha256=sha, source_format=act.source_format,
                    sport=s.sport, sub_sport=s.sub_sport, name=(s.name or Path(name).stem)[:300],
                    gear=getattr(meta, "gear", None) if meta is not None else None,
                    device=(s.device or None), started_at=started_at, day=day, duration_s=float(s.duration_s),
                    moving_time_s=float(s.moving_time_s), distance_m=_f(s.distance_m), avg_hr_bpm=_f(s.avg_hr_bpm),
                    max_hr_bpm=_f(s.max_hr_bpm), avg_power_w=_f(s.avg_power_w), rpe=_f(rpe), n_samples=len(rec),
                    cleaning=dict(act.cleaning.counts) or None, created_at=now,
                ),
                block_rows=block_rows,
                lap_rows=_lap_rows(activity_id, act.laps),
                rr_rows=_rr_rows(activity_id, act.rr_ms),
                metrics_row=session_metrics_row(activity_id, metrics, now),
                duration_s=float(s.duration_s),
                now=now,
            )
        except BaseException:
            self._settle_future(durable)
            raise
        return pending

    @staticmethod
    def _settle_future(durable: Future[None] | None) -> None:
        if durable is not None:
            durable.exception()  # wait; the error (if any) is the caller's to report

    def _settle(self, p: _Pending, *, raise_errors: bool) -> None:
        """Wait until the original of ``p`` is durable."""
        if p.durable is None:
            return
        if raise_errors:
            p.durable.result()
        else:
            self._settle_future(p.durable)
        p.durable = None

    def _commit(self, p: _Pending) -> ItemResult:
        self._settle(p, raise_errors=True)  # the original is on disk before its row commits
        try:
            with translate_db_errors(), self.ctx.engine.begin() as conn:
                conn.execute(_INSERT_STORED_FILE, p.stored_file_row)
                conn.execute(_INSERT_ACTIVITY, p.activity_row)
                insert_sample_blocks(conn, p.block_rows)
                if p.lap_rows:
                    conn.execute(_INSERT_LAPS, p.lap_rows)
                if p.rr_rows:
                    conn.execute(_INSERT_RR, p.rr_rows)
                conn.execute(_INSERT_METRICS, p.metrics_row)
                _link_session_logs(conn, self.athlete_id, p.activity_id, p.started_at, p.duration_s, p.day)
                audit.record(conn, self.actor, athlete_id=self.athlete_id, action="activity.import", at=p.now,
                             activity_id=p.activity_id, file=p.name[:200])
        except IntegrityError:
            # A concurrent import of the same file won the race: nothing of ours was kept.
            return ItemResult(p.source, p.name, "duplicate", "imported concurrently by another run")
        except LydiardError as exc:
            return ItemResult(p.source, p.name, "failed", str(exc))
        return ItemResult(p.source, p.name, "imported", None, activity_id=p.activity_id, days=(p.day,))


def _sample_rows(activity_id: str, rec: pd.DataFrame, started_at: datetime) -> list[dict[str, object]]:
    if not len(rec):
        return []
    columns = dict(rec.items())
    t0_ns = pd.Timestamp(started_at).value
    time_ns = pd.DatetimeIndex(columns[Col.TIME.value]).as_unit("ns").asi8
    elapsed_s = np.asarray((time_ns - t0_ns) / 1_000_000_000, dtype=np.float64)
    channels = {c: columns[c].to_numpy(dtype=np.float64) for c in SAMPLE_COLUMNS}
    return sample_block_rows(activity_id, elapsed_s=elapsed_s, channels=channels)


def _lap_rows(activity_id: str, lap_frame: pd.DataFrame) -> list[dict[str, Any]]:
    n = len(lap_frame)
    if not n:
        return []
    columns = dict(lap_frame.items())
    started = columns.get("started_at")
    starts: list[datetime | None] = [None] * n
    if started is not None:
        starts = [None if pd.isna(st) else pd.Timestamp(st).to_pydatetime() for st in started.tolist()]
    values = {f: [_f(v) for v in columns[f].tolist()] for f in _LAP_FIELDS}
    return [
        {"activity_id": activity_id, "lap_index": i, "started_at": starts[i], **{f: values[f][i] for f in _LAP_FIELDS}}
        for i in range(n)
    ]


def _rr_rows(activity_id: str, rr_ms: NDArray[np.float64]) -> list[dict[str, Any]]:
    if not rr_ms.size:
        return []
    rr = np.asarray(rr_ms, dtype="<f4")
    return [
        {"activity_id": activity_id, "chunk": i // RR_PER_CHUNK, "rr_ms_f32": rr[i:i + RR_PER_CHUNK].tobytes()}
        for i in range(0, rr.size, RR_PER_CHUNK)
    ]


def _f(x: Any) -> float | None:
    if x is None:
        return None
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(v) else v


_OPEN_LOGS_OF_DAY = select(session_logs.c.id, session_logs.c.started_at, session_logs.c.sport, session_logs.c.rpe).where(
    session_logs.c.athlete_id == bindparam("athlete_id"),
    session_logs.c.day == bindparam("day", type_=session_logs.c.day.type),
    session_logs.c.activity_id.is_(None),
)


def _link_session_logs(conn: Connection, athlete_id: str, activity_id: str, started_at: datetime, duration_s: float,
                       day: date) -> None:
    """A logged session (sRPE app, Fitbit) that is this file's session is linked, not counted twice."""
    rows = conn.execute(_OPEN_LOGS_OF_DAY, {"athlete_id": athlete_id, "day": day}).all()
    for r in rows:
        if _same_session(r.started_at, started_at, duration_s):
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
    "ImportBatch",
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
