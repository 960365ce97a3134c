"""The batch pipeline of workout files: read, clean and measure (in worker processes for
large batches), check for duplicates, keep the original durably, commit each file atomically."""

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
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from lydiard.domain.activity import SPORTS, ActivitySummary
from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.domain.frames import frame_arrays
from lydiard.errors import LydiardError
from lydiard.services import audit
from lydiard.services.access import Actor
from lydiard.services.athlete_store import (
    AthleteInfo,
    ThresholdValue,
    load_athlete,
    threshold_history,
)
from lydiard.services.context import Context, new_id
from lydiard.services.importing.report import WARNING_PREFIX, ItemResult
from lydiard.services.reprocess import rescore_activity
from lydiard.services.session_metrics import compute_session_metrics, session_metrics_row
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.streams import insert_sample_blocks, sample_block_rows
from lydiard.storage.tables import (
    activities,
    laps,
    rr_intervals,
    session_logs,
    session_metrics,
    stored_files,
)

log = logging.getLogger(__name__)

DUPLICATE_START_TOLERANCE = timedelta(seconds=60)


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
    replaces: str | None = None  #: a stored, poorer copy of the same session, deleted when this commits


#: Two files are one session when they start within :data:`DUPLICATE_START_TOLERANCE` and
#: have the same sport or durations within this fraction (a FIT "swim" and a TCX "other").
SAME_SESSION_DURATION_FRACTION = 0.02


def same_duration(duration_a_s: float, duration_b_s: float) -> bool:
    """Durations within :data:`SAME_SESSION_DURATION_FRACTION` of each other: two copies of one recording."""
    longest = max(duration_a_s, duration_b_s)
    return longest > 0 and abs(duration_a_s - duration_b_s) <= SAME_SESSION_DURATION_FRACTION * longest


def same_session(sport_a: str, duration_a_s: float, sport_b: str, duration_b_s: float) -> bool:
    """Whether two activities starting within a minute are one session (the same sport, or the same
    duration under two sport names). Only copies of the same duration compete on richness."""
    return sport_a == sport_b or same_duration(duration_a_s, duration_b_s)


def richness(sport: str, n_samples: int | None, hr_bpm: float | None, distance_m: float | None,
             power_w: float | None) -> tuple[int, int]:
    """How much a copy of a session holds: channels (known sport, heart rate, distance, power), then samples."""
    channels = sum(v is not None and v == v for v in (hr_bpm, distance_m, power_w)) + (sport != "other")
    return channels, int(n_samples or 0)


_SEEN_FILE = select(stored_files.c.original_name).where(
    stored_files.c.athlete_id == bindparam("athlete_id"), stored_files.c.sha256 == bindparam("sha256"))
_SAME_START = select(activities.c.id, activities.c.name, activities.c.sport, activities.c.started_at,
                     activities.c.duration_s, activities.c.n_samples, activities.c.avg_hr_bpm,
                     activities.c.distance_m, activities.c.avg_power_w, activities.c.source_format).where(
    activities.c.athlete_id == bindparam("athlete_id"),
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

    def _plausible_days(self) -> tuple[date, date]:
        """The days an activity may be dated: not before 1900, not after the athlete's local tomorrow."""
        from lydiard.domain.daily import EARLIEST_PLAUSIBLE_DAY

        tz = self._athlete.tz if self._athlete is not None else "UTC"
        return EARLIEST_PLAUSIBLE_DAY, _local_day(self.ctx.clock(), tz) + timedelta(days=1)

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
        if any(abs(p.started_at - started_at) <= DUPLICATE_START_TOLERANCE for p in self._waiting()):
            self._commit_pending(keep=None)
        with translate_db_errors(), ctx.engine.connect() as conn:
            candidates = conn.execute(_SAME_START, {
                "athlete_id": self.athlete_id,
                "earliest": started_at - DUPLICATE_START_TOLERANCE, "latest": started_at + DUPLICATE_START_TOLERANCE,
            }).all()
        dup = next((c for c in candidates if same_session(c.sport, c.duration_s, s.sport, s.duration_s)), None)
        replaces: str | None = None
        if dup is not None:
            stored_score = richness(dup.sport, dup.n_samples, dup.avg_hr_bpm, dup.distance_m, dup.avg_power_w)
            new_score = richness(s.sport, measured.n_samples, s.avg_hr_bpm, s.distance_m, s.avg_power_w)
            what = (f"the same session as the stored {dup.source_format.upper()} {dup.name!r} ({dup.sport}, "
                    f"start {started_at:%Y-%m-%d %H:%M} UTC)")
            copy = same_duration(dup.duration_s, s.duration_s)
            if not copy or new_score <= stored_score or measured.metrics_error is not None:
                kept = "the stored file is as rich or richer, kept" if copy else "kept the stored one"
                return ItemResult(source, name, "duplicate", f"{what}; {kept}", activity_id=dup.id)
            replaces = dup.id
            measured = replace(measured, warnings=(f"replaces {what}, a poorer copy", *measured.warnings))
        window = self._plausible_days()
        if not window[0] <= measured.day <= window[1]:
            return ItemResult(source, name, "failed",
                              f"the activity's day {measured.day} is outside the plausible {window[0]} to "
                              f"{window[1]} (the athlete's tomorrow): a wrong clock or a misread timestamp")
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
            activity_id=activity_id, durable=durable, replaces=replaces,
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
                replaced = [p.replaces for p in group if p.replaces is not None]
                if replaced:  # samples, laps, metrics cascade; a linked log is relinked below
                    conn.execute(delete(activities).where(activities.c.id.in_(replaced)))
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
                           days=(p.day,), load_source=p.metrics_row.get("load_source"))
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
                apply_session_log(conn, athlete_id, p.activity_id, rpe=r.rpe, sport=r.sport, now=p.now)
                break


def apply_session_log(conn: Connection, athlete_id: str, activity_id: str, *, rpe: float | None, sport: str,
                      now: datetime) -> None:
    """Session RPE wins: a log matched to a recorded session sets its RPE and sport and re-scores it.

    The log's sport replaces the file's when the file's is ``"other"`` (the device could not
    name it) or the log says ``"strength"`` (a strength session recorded as a workout of
    another kind). Re-scoring applies the load rule of ``domain.load.session`` with the RPE:
    strength and "other" sessions are then scored by sRPE, not by heart rate. Nothing
    changes without an RPE or a better sport.
    """
    row = conn.execute(select(activities.c.sport, activities.c.rpe).where(activities.c.id == activity_id)).first()
    if row is None:
        return
    values: dict[str, Any] = {}
    if rpe is not None and rpe != row.rpe:
        values["rpe"] = rpe
    if sport in SPORTS and sport not in ("other", row.sport) and (row.sport == "other" or sport == "strength"):
        values["sport"] = sport
    if not values:
        return
    conn.execute(update(activities).where(activities.c.id == activity_id).values(**values))
    rescore_activity(conn, athlete_id, activity_id, now=now)


def _same_session(log_started_at: datetime | None, started_at: datetime, duration_s: float) -> bool:
    if log_started_at is None:
        return False
    if log_started_at.tzinfo is None:
        from datetime import UTC

        log_started_at = log_started_at.replace(tzinfo=UTC)
    return abs((log_started_at - started_at).total_seconds()) <= max(1800.0, 0.5 * duration_s)
