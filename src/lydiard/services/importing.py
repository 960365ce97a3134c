"""Importing an athlete's history: workout files, archives, folders and daily-data exports.

Each workout file is imported atomically (one transaction: activity, samples, laps,
RR intervals, session metrics); the original bytes are kept content-addressed so
every metric can be recomputed later. A failure in one file is recorded with its
reason and the batch carries on. Re-running an import adds nothing twice: files are
de-duplicated by SHA-256, activities by (sport, start within a minute), daily rows by
(day, source), logged sessions by their source id.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
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

from lydiard.domain.activity import ActivitySummary
from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.domain.daily import DailyImport, DailyObservation, SessionLog
from lydiard.domain.frames import frame_arrays
from lydiard.errors import IngestError, LydiardError, UnsupportedFormatError
from lydiard.services import audit, pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athlete_store import (
    AthleteInfo,
    ThresholdValue,
    load_athlete,
    threshold_history,
)
from lydiard.services.context import Context, new_id
from lydiard.services.session_metrics import compute_session_metrics, session_metrics_row
from lydiard.storage.engine import translate_db_errors
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
WARNING_PREFIX = "imported with a warning: "  #: how an imported file's reason starts when it has one
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

    def warnings(self) -> list[ItemResult]:
        """Files imported with a warning (their ``reason`` says what)."""
        return [it for it in self.items
                if it.outcome == "imported" and (it.reason or "").startswith(WARNING_PREFIX)]


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
    parallel: bool = True,
) -> ImportReport:
    """Import every file, folder and archive in ``paths`` for one athlete.

    With ``parallel`` (the default, for the CLI and library callers), a batch of many
    workout files is read by forked worker processes (:func:`parse_workers`). Pass False
    from a process that runs other threads which may hold locks (a server).
    """
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
        _import_items(ctx, actor, athlete_id, source, items, report, progress, parallel=parallel)
    _finish(ctx, actor, athlete_id, report, recompute=recompute)
    return report


def import_upload(
    ctx: Context, actor: Actor, athlete_id: str, *, name: str, data: bytes, recompute: bool = True,
    progress: ProgressFn | None = None,
) -> ImportReport:
    """Import one uploaded file or archive (held in memory).

    Runs in the calling process only: uploads arrive in the web server, whose other threads
    make forking worker processes unsafe (a lock held by one of them stays held in the child).
    """
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
    _import_items(ctx, actor, athlete_id, name, items, report, progress, parallel=False)
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
    progress: ProgressFn | None, *, parallel: bool,
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
    n_files = sum(it.kind == "activity" and it.error is None and it.data is not None for it in items)
    workers = parse_workers(n_files) if parallel else 0
    with ImportBatch(ctx, actor, athlete_id, workers=workers) as batch:
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


@dataclass(frozen=True, slots=True)
class _Job:
    """What reading, cleaning and measuring one workout file needs (sent to a worker process)."""

    data: bytes
    name: str
    max_bytes: int
    tz: str  #: the athlete's time zone (the local day picks the thresholds)
    history: tuple[ThresholdValue, ...]
    sex: str | None
    rpe: float | None


@dataclass(frozen=True, slots=True)
class _Measured:
    """A workout file read, cleaned and measured, as rows without their activity id.

    ``metrics_error`` is set (and the rows are empty) when the session metrics could not
    be computed: the file then fails, unless it turns out to be a duplicate.
    """

    summary: ActivitySummary
    source_format: str
    cleaning: dict[str, int]
    n_samples: int
    day: date
    block_rows: list[dict[str, object]]
    lap_rows: list[dict[str, Any]]
    rr_rows: list[dict[str, Any]]
    metrics_row: dict[str, Any]
    metrics_error: str | None = None
    warnings: tuple[str, ...] = ()  #: non-fatal problems of the file (e.g. a FIT file CRC mismatch)


def _read_and_measure(job: _Job) -> _Measured | str:
    """Read, clean and measure one file; a string says why it cannot be imported.

    Pure computation (no database, no file store): it runs in a worker process for large
    batches, in the importing process otherwise, with the same result.
    """
    from lydiard.ingest.activity import read_activity

    try:
        act = read_activity(job.data, name=job.name, max_bytes=job.max_bytes, accept_bad_crc=True)
    except LydiardError as exc:
        return str(exc)
    except Exception as exc:  # a parser bug must not stop the batch; it is reported, not hidden
        log.exception("unexpected error reading %s", job.name)
        return f"internal error while reading ({type(exc).__name__}: {exc})"
    s = act.summary
    day = _local_day(s.started_at, job.tz)
    cleaning = dict(act.cleaning.counts)
    try:
        metrics = compute_session_metrics(act, day=day, history=list(job.history), sex=job.sex, rpe=job.rpe)
    except LydiardError as exc:
        return _Measured(s, act.source_format, cleaning, len(act.records), day, [], [], [], {}, str(exc))
    return _Measured(
        summary=s, source_format=act.source_format, cleaning=cleaning, n_samples=len(act.records), day=day,
        block_rows=_sample_rows("", act.records, s.started_at),
        lap_rows=_lap_rows("", act.laps),
        rr_rows=_rr_rows("", act.rr_ms),
        metrics_row=session_metrics_row("", metrics, None),  # type: ignore[arg-type]  # set on admission
        warnings=act.warnings,
    )


def _worker_job(job: _Job) -> _Measured | str:
    """:func:`_read_and_measure` in a worker process; an unexpected error comes back as plain text.

    (Lydiard's errors take keyword arguments, which exceptions do not carry through pickling.)
    """
    try:
        return _read_and_measure(job)
    except Exception as exc:
        raise RuntimeError(f"worker failed on {job.name}: {type(exc).__name__}: {exc}") from None


def _worker_init(parent_pid: int) -> None:
    """Set up a worker process: Ctrl-C is the parent's to handle; exit when the parent dies.

    A killed parent cannot tell its workers to stop, and a worker waiting for its next job
    would wait forever (holding the parent's stdout/stderr open), so a thread checks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        while True:
            time.sleep(0.2)
            if os.getppid() != parent_pid:
                os._exit(1)

    threading.Thread(target=watch, name="lydiard-parent-watch", daemon=True).start()


#: Threads making originals durable: their fsyncs overlap (the file system's journal
#: commits several at once), which on the shared 2-CPU test machine took the corpus's 160
#: originals from 0.86-1.2 s to 0.56-0.72 s. Each file's rows are committed only after its
#: own fsyncs and those of every file before it (files commit in order, each group after
#: all its members are durable), so a directory created for an earlier file is durable too.
DURABLE_THREADS = 4
#: A batch of at least this many workout files is read by worker processes (when it can).
PARALLEL_MIN_FILES = 8
#: Worker processes at most (a forked worker's RSS peaked at 187 MB on the shared FIT corpus,
#: most of it pages still shared with the importing process).
MAX_WORKERS = 2
#: Files whose rows are committed together, in one transaction (fewer, larger statements).
COMMIT_GROUP_FILES = 8
#: Files handed to the workers ahead of the one being admitted, per worker (a large file
#: then does not leave the other workers idle), and the most bytes those may hold.
_AHEAD_PER_WORKER = 6
AHEAD_MAX_BYTES = 64 * 1024**2


def parse_workers(n_files: int) -> int:
    """Worker processes for a batch of ``n_files`` workout files: 0 reads them in this process.

    Workers are forked (no re-import of the libraries), so only where ``fork`` is the
    platform's safe default (Linux), with at least two CPUs and enough files to pay for
    the fork.
    """
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if n_files < PARALLEL_MIN_FILES or cpus < 2 or not sys.platform.startswith("linux"):
        return 0
    return min(MAX_WORKERS, cpus)


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """Fork ``workers`` worker processes now (before this batch starts its fsync thread)."""
    pool = ProcessPoolExecutor(
        max_workers=workers, mp_context=multiprocessing.get_context("fork"),
        initializer=_worker_init, initargs=(os.getpid(),),
    )
    # With fork, every worker is forked at the first submit. Python >= 3.12 warns when it
    # forks a process that runs other threads (a lock held by one of them would stay held
    # in the child); the workers only decode and compute, taking no lock of those threads.
    # The garbage collector of a worker leaves the objects inherited from this process
    # alone (frozen at the fork): collecting would touch, hence copy, all their pages.
    gc.freeze()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            pool.submit(int).result()
    finally:
        gc.unfreeze()
    return pool


@dataclass
class _Reading:
    """A file handed to a worker (or read already), not yet checked against the store."""

    name: str
    source: str
    sha: str
    data: bytes
    meta: Any
    rpe: float | None
    result: Future[_Measured | str] | _Measured | str


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
    #: the background write of the original, giving the future of its fsync (None: done)
    durable: Future[Future[None] | None] | None
    stored_file_row: dict[str, Any]
    activity_row: dict[str, Any]
    block_rows: list[dict[str, object]]
    lap_rows: list[dict[str, Any]]
    rr_rows: list[dict[str, Any]]
    metrics_row: dict[str, Any]
    duration_s: float
    now: datetime
    warnings: tuple[str, ...] = ()


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

    Per batch, the athlete and their threshold history are read once. Each file is
    checked by SHA-256 against the store, then read, cleaned and measured — with
    ``workers > 0`` by that many forked worker processes, a few files ahead (see
    :func:`parse_workers`), else in this process. Files then go on strictly in the order
    added: a file with the same sport and start as a stored one is a duplicate; otherwise
    its original is written under a temporary name and made durable (write, fsync,
    rename, directory fsync) on a background thread while the next file is handled, and
    its rows are committed, in one transaction per file, only once its original is
    durable. So each file is still imported atomically, and a committed row never
    references a file that a crash could lose. A file that would collide with one still
    waiting (same bytes, or same sport and start) waits until the earlier one is
    committed, so duplicate checks see exactly what they would see one file at a time.

    ``add`` and ``flush`` return the results of finished files, in the order added.
    """

    def __init__(
        self, ctx: Context, actor: Actor, athlete_id: str, *, background: bool = True, workers: int = 0,
    ) -> None:
        self.ctx = ctx
        self.actor = actor
        self.athlete_id = athlete_id
        self._athlete: AthleteInfo | None = None
        self._history: list[ThresholdValue] | None = None
        self._pool = _start_pool(workers) if workers > 0 else None
        self._ahead = _AHEAD_PER_WORKER * workers
        self._group = COMMIT_GROUP_FILES if background else 1
        # One thread writes the originals, in order (so a directory is always created by an
        # earlier file than those using it); several threads make them durable.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="lydiard-store") if background else None
        self._fsyncs = (ThreadPoolExecutor(max_workers=DURABLE_THREADS, thread_name_prefix="lydiard-fsync")
                        if background else None)
        self._queue: deque[_Reading | _Pending | ItemResult] = deque()

    def __enter__(self) -> ImportBatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Give up files not committed yet (their originals may stay as harmless orphans)."""
        for entry in self._queue:
            if isinstance(entry, _Pending):
                self._settle(entry, raise_errors=False)
            elif isinstance(entry, _Reading) and isinstance(entry.result, Future):
                entry.result.cancel()
        self._queue.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        if self._fsyncs is not None:
            self._fsyncs.shutdown(wait=True)
            self._fsyncs = None

    def invalidate(self) -> None:
        """Forget the cached athlete and thresholds (after changing them mid-batch).

        Files added before are measured with the thresholds valid when they were added.
        """
        self._athlete = None
        self._history = None

    # ------------------------------------------------------------------ public steps

    def add(self, *, data: bytes, name: str, source: str, meta: Any = None) -> list[ItemResult]:
        """Check one workout file and hand it over for reading; returns the results now final."""
        try:
            entry = self._receive(data=data, name=name, source=source, meta=meta)
            self._queue.append(entry)
            self._advance(ahead=self._ahead)
        except BaseException:
            with contextlib.suppress(Exception):  # the first error is the one to report
                self._settle_all()  # files before this one are imported, as one at a time
            raise
        return self._pop_finished()

    def note(self, result: ItemResult) -> list[ItemResult]:
        """Queue the result of an item handled elsewhere, keeping the order of results."""
        self._queue.append(result)
        return self._pop_finished()

    def flush(self) -> list[ItemResult]:
        """Read and commit every waiting file; returns the remaining results."""
        self._settle_all()
        return self._pop_finished()

    # ------------------------------------------------------------------ internals

    def _pop_finished(self) -> list[ItemResult]:
        out: list[ItemResult] = []
        while self._queue and isinstance(self._queue[0], ItemResult):
            out.append(self._queue.popleft())  # type: ignore[arg-type]
        return out

    def _settle_all(self) -> None:
        self._advance(ahead=0)
        self._commit_pending(keep=None)

    def _advance(self, *, ahead: int) -> None:
        """Admit files read (oldest first) until at most ``ahead`` files, holding at most
        :data:`AHEAD_MAX_BYTES` together, are still being read.

        Admitting a file commits the files before it once :data:`COMMIT_GROUP_FILES` wait
        (its own original becomes durable while the next one is handled).
        """
        reading = sum(isinstance(e, _Reading) for e in self._queue)
        held = sum(len(e.data) for e in self._queue if isinstance(e, _Reading))
        for i, entry in enumerate(self._queue):
            if reading <= ahead and (held <= AHEAD_MAX_BYTES or reading <= 1):
                break
            if not isinstance(entry, _Reading):
                continue
            reading -= 1
            held -= len(entry.data)
            result = entry.result.result() if isinstance(entry.result, Future) else entry.result
            try:
                admitted = self._admit(entry, result)
            except LydiardError as exc:
                admitted = ItemResult(entry.source, entry.name, "failed", str(exc))
            self._queue[i] = admitted
            self._commit_pending(keep=admitted if isinstance(admitted, _Pending) else None,
                                 at_least=self._group)

    def _commit_pending(self, *, keep: _Pending | None, at_least: int = 1) -> None:
        """Commit the waiting files except ``keep``, in order, if there are ``at_least``; their results
        take their places."""
        waiting = [(i, e) for i, e in enumerate(self._queue) if isinstance(e, _Pending) and e is not keep]
        if not waiting or len(waiting) < at_least:
            return
        results = self._commit_group([e for _, e in waiting])
        for (i, _), result in zip(waiting, results, strict=True):
            self._queue[i] = result

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

    def _receive(self, *, data: bytes, name: str, source: str, meta: Any) -> _Reading | ItemResult:
        ctx = self.ctx
        sha = hashlib.sha256(data).hexdigest()
        if any(isinstance(e, _Reading | _Pending) and e.sha == sha for e in self._queue):
            self._settle_all()
        with translate_db_errors(), ctx.engine.connect() as conn:
            seen = conn.execute(_SEEN_FILE, {"athlete_id": self.athlete_id, "sha256": sha}).first()
            if seen is None:
                athlete = self._athlete_info(conn)
                history = self._threshold_history(conn)
        if seen is not None:
            return ItemResult(source, name, "duplicate", f"same file already imported ({seen.original_name})")
        rpe = getattr(meta, "perceived_exertion", None) if meta is not None else None
        job = _Job(data=data, name=name, max_bytes=ctx.settings.max_file_bytes, tz=athlete.tz,
                   history=tuple(history), sex=athlete.sex, rpe=rpe)
        result: Future[_Measured | str] | _Measured | str
        result = self._pool.submit(_worker_job, job) if self._pool is not None else _read_and_measure(job)
        return _Reading(name=name, source=source, sha=sha, data=data, meta=meta, rpe=rpe, result=result)

    def _store_original(self, data: bytes, sha: str) -> Future[None] | None:
        """Write the original under a temporary name; make it durable and visible on an fsync
        thread (whose future is returned), or here without one."""
        files = self.ctx.files
        staged = files.stage(data, sha256=sha)
        if self._fsyncs is None:
            files.commit(staged)
            return None
        return self._fsyncs.submit(files.commit, staged)

    def _admit(self, r: _Reading, measured: _Measured | str) -> _Pending | ItemResult:
        """Check a read file against the store and stage it; or say why it is not imported."""
        ctx = self.ctx
        name, source, meta = r.name, r.source, r.meta
        if isinstance(measured, str):
            return ItemResult(source, name, "failed", measured)
        s = measured.summary
        if meta is not None:
            s = replace(s, name=getattr(meta, "name", None) or s.name)
        started_at = s.started_at
        if any(p.sport == s.sport and abs(p.started_at - started_at) <= DUPLICATE_START_TOLERANCE
               for p in self._waiting()):
            self._commit_pending(keep=None)
        with translate_db_errors(), ctx.engine.connect() as conn:
            dup = conn.execute(_SAME_START, {
                "athlete_id": self.athlete_id, "sport": s.sport,
                "earliest": started_at - DUPLICATE_START_TOLERANCE, "latest": started_at + DUPLICATE_START_TOLERANCE,
            }).first()
        if dup is not None:
            return ItemResult(source, name, "duplicate",
                              f"an activity with the same sport and start ({started_at:%Y-%m-%d %H:%M} UTC) exists",
                              activity_id=dup.id)
        if measured.metrics_error is not None:
            return ItemResult(source, name, "failed", measured.metrics_error)
        # Content-addressed and atomic; made durable in the background, committed below.
        durable: Future[Future[None] | None] | None = None
        if self._executor is not None:
            durable = self._executor.submit(self._store_original, r.data, r.sha)
        else:
            self._store_original(r.data, r.sha)
        activity_id = new_id()
        now = ctx.clock()
        day = measured.day
        for rows in (measured.block_rows, measured.lap_rows, measured.rr_rows):
            for row in rows:
                row["activity_id"] = activity_id
        metrics_row = dict(measured.metrics_row, activity_id=activity_id, computed_at=now)
        return _Pending(
            name=name, source=source, sha=r.sha, sport=s.sport, started_at=started_at, day=day,
            activity_id=activity_id, durable=durable,
            stored_file_row=dict(athlete_id=self.athlete_id, sha256=r.sha, size_bytes=len(r.data),
                                 original_name=name[:500], created_at=now),
            activity_row=dict(
                id=activity_id, athlete_id=self.athlete_id, file_sha256=r.sha, source_format=measured.source_format,
                sport=s.sport, sub_sport=s.sub_sport, name=(s.name or Path(name).stem)[:300],
                gear=getattr(meta, "gear", None) if meta is not None else None,
                device=(s.device or None), started_at=started_at, day=day, duration_s=float(s.duration_s),
                moving_time_s=float(s.moving_time_s), distance_m=_f(s.distance_m), avg_hr_bpm=_f(s.avg_hr_bpm),
                max_hr_bpm=_f(s.max_hr_bpm), avg_power_w=_f(s.avg_power_w), rpe=_f(r.rpe),
                n_samples=measured.n_samples, cleaning=measured.cleaning or None, created_at=now,
            ),
            block_rows=measured.block_rows,
            lap_rows=measured.lap_rows,
            rr_rows=measured.rr_rows,
            metrics_row=metrics_row,
            duration_s=float(s.duration_s),
            now=now,
            warnings=measured.warnings,
        )

    @staticmethod
    def _settle_future(durable: Future[Future[None] | None] | None) -> None:
        if durable is not None and durable.exception() is None:  # wait; errors are the caller's to report
            fsync = durable.result()
            if fsync is not None:
                fsync.exception()

    def _settle(self, p: _Pending, *, raise_errors: bool) -> None:
        """Wait until the original of ``p`` is durable."""
        if p.durable is None:
            return
        if raise_errors:
            fsync = p.durable.result()
            if fsync is not None:
                fsync.result()
        else:
            self._settle_future(p.durable)
        p.durable = None

    def _commit_group(self, group: list[_Pending]) -> list[ItemResult]:
        """Commit the rows of ``group`` in one transaction (each file is all or nothing).

        If the transaction fails, each file is retried in a transaction of its own, so
        one file's conflict never costs another file its import.
        """
        for p in group:
            self._settle(p, raise_errors=True)  # the original is on disk before its row commits
        try:
            with translate_db_errors(), self.ctx.engine.begin() as conn:
                conn.execute(_INSERT_STORED_FILE, [p.stored_file_row for p in group])
                conn.execute(_INSERT_ACTIVITY, [p.activity_row for p in group])
                insert_sample_blocks(conn, [row for p in group for row in p.block_rows])
                lap_rows = [row for p in group for row in p.lap_rows]
                if lap_rows:
                    conn.execute(_INSERT_LAPS, lap_rows)
                rr_rows = [row for p in group for row in p.rr_rows]
                if rr_rows:
                    conn.execute(_INSERT_RR, rr_rows)
                conn.execute(_INSERT_METRICS, [p.metrics_row for p in group])
                _link_session_logs(conn, self.athlete_id, group)
                audit.record_many(conn, self.actor, [
                    (self.athlete_id, "activity.import", p.now, {"activity_id": p.activity_id, "file": p.name[:200]})
                    for p in group
                ])
        except (IntegrityError, LydiardError) as exc:
            if len(group) > 1:
                return [self._commit_group([p])[0] for p in group]
            p = group[0]
            if isinstance(exc, IntegrityError):
                # A concurrent import of the same file won the race: nothing of ours was kept.
                return [ItemResult(p.source, p.name, "duplicate", "imported concurrently by another run")]
            return [ItemResult(p.source, p.name, "failed", str(exc))]
        return [ItemResult(p.source, p.name, "imported", _warning_text(p.warnings), activity_id=p.activity_id,
                           days=(p.day,))
                for p in group]


def _warning_text(warnings: tuple[str, ...]) -> str | None:
    """An imported file's reason: its warnings, in plain words (None without any)."""
    return WARNING_PREFIX + "; ".join(warnings[:3]) if warnings else None


def _sample_rows(activity_id: str, rec: pd.DataFrame, started_at: datetime) -> list[dict[str, object]]:
    if not len(rec):
        return []
    columns = frame_arrays(rec)
    t0_ns = pd.Timestamp(started_at).value
    time_ns = pd.DatetimeIndex(columns[Col.TIME.value]).as_unit("ns").asi8
    elapsed_s = np.asarray((time_ns - t0_ns) / 1_000_000_000, dtype=np.float64)
    channels = {c: np.asarray(columns[c], dtype=np.float64) for c in SAMPLE_COLUMNS}
    return sample_block_rows(activity_id, elapsed_s=elapsed_s, channels=channels)


def _lap_rows(activity_id: str, lap_frame: pd.DataFrame) -> list[dict[str, Any]]:
    n = len(lap_frame)
    if not n:
        return []
    columns = frame_arrays(lap_frame)
    started = columns.get("started_at")
    starts: list[datetime | None] = [None] * n
    if started is not None:
        starts = [None if pd.isna(st) else pd.Timestamp(st).to_pydatetime() for st in started.tolist()]
    values = {f: _floats_or_none(columns[f]) for f in _LAP_FIELDS}
    return [
        {"activity_id": activity_id, "lap_index": i, "started_at": starts[i], **{f: values[f][i] for f in _LAP_FIELDS}}
        for i in range(n)
    ]


def _floats_or_none(values: Any) -> list[float | None]:
    """:func:`_f` of each value (NaN -> None), at list speed for a float64 array."""
    if isinstance(values, np.ndarray) and values.dtype == np.float64:
        return [None if v != v else v for v in values.tolist()]
    return [_f(v) for v in values.tolist()]


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


_OPEN_LOGS_OF_DAYS = select(
    session_logs.c.id, session_logs.c.day, session_logs.c.started_at, session_logs.c.sport, session_logs.c.rpe,
).where(
    session_logs.c.athlete_id == bindparam("athlete_id"),
    session_logs.c.day.in_(bindparam("days", expanding=True)),
    session_logs.c.activity_id.is_(None),
)


def _link_session_logs(conn: Connection, athlete_id: str, group: list[_Pending]) -> None:
    """A logged session (sRPE app, Fitbit) that is a file's session is linked, not counted twice.

    Files are matched in order; a log linked to one file is not offered to the next.
    """
    days = sorted({p.day for p in group})
    rows = conn.execute(_OPEN_LOGS_OF_DAYS, {"athlete_id": athlete_id, "days": days}).all() if days else []
    if not rows:
        return
    linked: set[str] = set()
    for p in group:
        for r in rows:
            if r.day != p.day or r.id in linked:
                continue
            if _same_session(r.started_at, p.started_at, p.duration_s):
                linked.add(r.id)
                conn.execute(update(session_logs).where(session_logs.c.id == r.id).values(activity_id=p.activity_id))
                if r.rpe is not None:
                    conn.execute(update(activities).where(activities.c.id == p.activity_id).values(rpe=r.rpe))
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
        pipeline.after_change(ctx, actor, athlete_id, pipeline.Change.data(since=report.earliest_day))


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
    "parse_workers",
    "store_daily_import",
    "upsert_observation",
]
