"""The entry points of an import (paths, an upload): walk the inputs, dispatch each item to
the workout pipeline or the daily-data store, record the report and recompute."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select

from lydiard.errors import LydiardError, WorkStoppedError
from lydiard.services import pipeline
from lydiard.services.access import Actor, check_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.importing.daily import (
    _import_daily_bytes,
    _import_daily_folder,
    import_hrv_logger_recordings,
)
from lydiard.services.importing.report import ImportReport, ItemResult, ProgressFn, _emit
from lydiard.services.importing.workouts import ImportBatch, parse_workers
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    import_items,
)


class WorkBudget:
    """A wall-clock budget for one request's import, and a flag set when its client disconnects.

    :meth:`check` (called before each archive member is read and each file is parsed) raises
    :class:`WorkStoppedError` once ``budget_s`` seconds have passed since creation or
    :meth:`cancel` was called (by the HTTP layer when the client goes away).
    """

    def __init__(self, budget_s: float) -> None:
        self.budget_s = budget_s
        self._deadline = time.monotonic() + budget_s
        self._cancelled = threading.Event()

    def cancel(self) -> None:
        self._cancelled.set()

    def check(self) -> None:
        if self._cancelled.is_set():
            raise WorkStoppedError("the client went away; processing stopped", budget_s=self.budget_s)
        if time.monotonic() > self._deadline:
            raise WorkStoppedError(f"processing this upload took longer than its budget of {self.budget_s:g} s; "
                                   "send fewer or smaller files at a time", budget_s=self.budget_s)


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
    progress: ProgressFn | None = None, budget: WorkBudget | None = None,
) -> ImportReport:
    """Import one uploaded file or archive (held in memory).

    With a ``budget``, work stops (:class:`WorkStoppedError`, saying how many files were
    imported and kept) when it is spent or cancelled; what was imported before stays.

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
    stopped: WorkStoppedError | None = None
    try:
        try:
            items = list(_items(iter_bytes(name, data, limits=limits), budget))
        except WorkStoppedError:
            raise
        except LydiardError as exc:
            _emit(ctx, report, athlete_id, ItemResult(name, name, "failed", str(exc)), progress)
        else:
            _import_items(ctx, actor, athlete_id, name, items, report, progress, parallel=False,
                          budget=budget)
    except WorkStoppedError as exc:
        stopped = exc
    _finish(ctx, actor, athlete_id, report, recompute=recompute)
    if stopped is not None:
        n = sum(it.outcome == "imported" for it in report.items)
        raise WorkStoppedError(f"{stopped.message}; {n} file(s) imported before that are kept "
                               f"(import run {report.run_id})", run_id=report.run_id,
                               budget_s=stopped.context.get("budget_s"))
    return report


# ----------------------------------------------------------------------------- internals

@dataclass(frozen=True, slots=True)
class _Item:
    name: str
    kind: str
    data: bytes | None
    error: str | None


def _items(it: Iterator[Any], budget: WorkBudget | None = None) -> Iterator[_Item]:
    for src in it:
        if budget is not None:
            budget.check()
        err = getattr(src, "error", None)
        data = None
        if err is None:
            try:
                data = src.read() if hasattr(src, "read") else src.data
            except LydiardError as exc:
                err = str(exc)
        yield _Item(name=src.name, kind=getattr(src, "kind", "activity"), data=data,
                    error=str(err) if err is not None else None)


def _import_items(
    ctx: Context, actor: Actor, athlete_id: str, source: str, items: list[_Item], report: ImportReport,
    progress: ProgressFn | None, *, parallel: bool, budget: WorkBudget | None = None,
) -> None:
    if not items:  # every input has a row in the report
        _emit(ctx, report, athlete_id, ItemResult(source, source, "skipped", "empty: no file in it to import"),
              progress)
        return
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
    items = _import_hrv_logger(ctx, actor, athlete_id, source, items, report, progress)
    n_files = sum(it.kind == "activity" and it.error is None and it.data is not None for it in items)
    workers = parse_workers(n_files) if parallel else 0
    with ImportBatch(ctx, actor, athlete_id, workers=workers) as batch:
        for it in items:
            if it.kind == "strava_activities_csv":
                continue
            if budget is not None:
                try:
                    budget.check()
                except WorkStoppedError:
                    for result in batch.flush():  # keep what was read already
                        _emit(ctx, report, athlete_id, result, progress)
                    raise
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


def _import_hrv_logger(ctx: Context, actor: Actor, athlete_id: str, source: str, items: list[_Item],
                       report: ImportReport, progress: ProgressFn | None) -> list[_Item]:
    """Import the HRV Logger recordings among ``items`` (their files read together); the other items."""
    from lydiard.ingest.daily.hrv_logger import recording_part

    parts = []
    rest = []
    for it in items:
        part = recording_part(it.name) if it.kind != "strava_activities_csv" else None
        if part is None:
            rest.append(it)
        else:
            parts.append((part[0], part[1], it.name, it.data, it.error))
    if parts:
        for result in import_hrv_logger_recordings(ctx, actor, athlete_id, source, parts):
            _emit(ctx, report, athlete_id, result, progress)
    return rest


def _strava_lookup(meta: dict[str, Any], name: str) -> Any:
    if not meta:
        return None
    from lydiard.ingest.strava import match_strava_meta

    return match_strava_meta(meta, name)


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
