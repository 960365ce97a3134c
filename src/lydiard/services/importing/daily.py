"""Daily data (recovery, wellness, logged sessions): upserted by (day, source) and source id."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, and_, insert, select, update

from lydiard.domain.daily import (
    DailyImport,
    DailyObservation,
    SessionLog,
    cap_problems,
    screen_days,
)
from lydiard.errors import LydiardError, UnsupportedFormatError
from lydiard.services import audit
from lydiard.services.access import Actor, check_athlete
from lydiard.services.athletes import load_athlete
from lydiard.services.context import Context, new_id
from lydiard.services.importing.report import ImportReport, ItemResult, ProgressFn, _emit
from lydiard.services.importing.workouts import _same_session, apply_session_log
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import activities, daily_observations, session_logs, stored_files

#: How the stored original of a daily-data file is named (``stored_files.original_name``),
#: telling it from a workout file's when daily data are rebuilt from originals.
DAILY_ORIGINAL_PREFIX = "daily:"

OBSERVATION_FIELDS: tuple[str, ...] = tuple(
    f for f in DailyObservation.__dataclass_fields__ if f not in ("day", "source")
)


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
    result = store_daily_import(ctx, actor, athlete_id, daily, source=source, item=source)
    if result.outcome in ("imported", "duplicate"):
        result = replace(result, problems=(*result.problems, *_keep_folder(ctx, athlete_id, path)))
    _emit(ctx, report, athlete_id, result, progress)
    return True


def _keep_folder(ctx: Context, athlete_id: str, path: Path) -> list[str]:
    """Keep the files of an imported daily-data folder as originals (named by their path in
    it); returns what was not kept (a file larger than the single-file limit)."""
    not_kept: list[str] = []
    for file in sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith(".")):
        name = f"{path.name}/{file.relative_to(path).as_posix()}"
        if file.stat().st_size > ctx.settings.max_file_bytes:
            not_kept.append(f"{name}: larger than {ctx.settings.max_file_bytes} bytes, original not kept")
            continue
        keep_original(ctx, athlete_id, name, file.read_bytes())
    return not_kept


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
    return store_daily_import(ctx, actor, athlete_id, daily, source=source, item=name, original=data)


def store_daily_import(ctx: Context, actor: Actor, athlete_id: str, daily: DailyImport, *, source: str, item: str,
                       original: bytes | None = None) -> ItemResult:
    """Upsert daily observations (by day and source) and logged sessions (by source id), atomically.

    Days outside the plausible window (:data:`~lydiard.domain.daily.EARLIEST_PLAUSIBLE_DAY` to
    the athlete's local tomorrow) are skipped and named in the result's ``problems``; the file
    fails only when nothing in it is usable. ``original`` (the file's bytes) is kept
    content-addressed, like a workout file's, for backups, exports and reprocessing.
    """
    from lydiard.services.metrics import local_today

    now = ctx.clock()
    with translate_db_errors(), ctx.engine.connect() as conn:
        tz = load_athlete(conn, athlete_id).tz
    read = daily
    daily = screen_days(daily, latest=local_today(ctx, tz) + timedelta(days=1))
    problems = tuple(cap_problems([w.removeprefix(f"{item}: ") for w in daily.warnings]))
    n_days = len({o.day for o in daily.observations})
    if not daily.observations and not daily.sessions:
        why = "nothing usable: " + "; ".join(problems) if problems else "no daily values or sessions in the file"
        return ItemResult(source, item, "failed", why, problems=problems,
                          n_days=len({o.day for o in read.observations}))
    days: set[date] = set()
    new_obs = 0
    new_sessions = 0
    if original is not None:
        ctx.files.put(original)  # durable before its row commits
    with translate_db_errors(), ctx.engine.begin() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        if original is not None:
            _record_original(conn, athlete_id, item, original, now=now)
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
    read_text = f"read {n_days} day(s) and {len(daily.sessions)} logged session(s)"
    if not days:
        return ItemResult(source, item, "duplicate", f"{read_text}; every day and session was already present",
                          problems=problems, n_days=n_days, n_sessions=len(daily.sessions))
    what = f"{read_text}: {new_obs} day(s) of recovery/wellness data new or changed, {new_sessions} new session(s)"
    return ItemResult(source, item, "imported", what, days=tuple(sorted(days)), problems=problems,
                      n_days=n_days, n_sessions=len(daily.sessions))


def keep_original(ctx: Context, athlete_id: str, name: str, data: bytes) -> None:
    """Keep the bytes of a daily-data file (content-addressed) and record them for the athlete."""
    ctx.files.put(data)
    with translate_db_errors(), ctx.engine.begin() as conn:
        _record_original(conn, athlete_id, name, data, now=ctx.clock())


def _record_original(conn: Connection, athlete_id: str, name: str, data: bytes, *, now: datetime) -> None:
    sha = hashlib.sha256(data).hexdigest()
    if conn.execute(select(stored_files.c.id).where(stored_files.c.athlete_id == athlete_id,
                                                    stored_files.c.sha256 == sha)).first() is None:
        conn.execute(insert(stored_files).values(athlete_id=athlete_id, sha256=sha, size_bytes=len(data),
                                                 original_name=(DAILY_ORIGINAL_PREFIX + name)[:500], created_at=now))


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
            apply_session_log(conn, athlete_id, r.id, rpe=sl.rpe, sport=sl.sport, now=now)
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


def import_hrv_logger_recordings(ctx: Context, actor: Actor, athlete_id: str, source: str,
                                 parts: list[tuple[str, str, str, bytes | None, str | None]]) -> list[ItemResult]:
    """Import HRV Logger recordings, each from its files read together; one row per file.

    ``parts`` are ``(prefix, kind, name, data, error)``. Each recording with an
    ``_RRIntervals.csv`` gives one morning value (the day's first recording; a later one
    the same day is skipped, said so); its other files are kept as originals and reported
    as read with it.
    """
    from lydiard.domain.daily import DailyImport as _Import
    from lydiard.ingest.daily.hrv_logger import as_import, read_recording

    with ctx.engine.connect() as conn:
        tz = load_athlete(conn, athlete_id).tz
    by_prefix: dict[str, dict[str, tuple[str, bytes | None, str | None]]] = {}
    for prefix, kind, name, data, error in parts:
        by_prefix.setdefault(prefix, {})[kind] = (name, data, error)
    results: list[ItemResult] = []
    read: list[tuple[Any, str, dict[str, tuple[str, bytes | None, str | None]]]] = []
    for prefix, files in by_prefix.items():
        rr = files.get("RRIntervals")
        if rr is None or rr[1] is None:
            why = rr[2] if rr is not None and rr[2] else (
                f"HRV Logger recording {prefix.rsplit('/', 1)[-1]!r} without its _RRIntervals.csv: "
                "rMSSD is computed from the beats")
            results += [ItemResult(source, name, "skipped" if rr is None else "failed", err or why)
                        for name, _, err in files.values()]
            continue
        try:
            read.append((read_recording(rr[0], rr[1], tz=tz), prefix, files))
        except LydiardError as exc:
            results += [ItemResult(source, rr[0], "failed", str(exc))]
            results += [ItemResult(source, name, "skipped", f"part of the recording {rr[0]}, which failed")
                        for kind, (name, _, _e) in files.items() if kind != "RRIntervals"]
    seen_days: dict[date, str] = {}
    local = ZoneInfo(tz)

    def start(entry: tuple[Any, str, dict[str, tuple[str, bytes | None, str | None]]]) -> float:
        at = entry[0].started_at  # aware (epoch timestamps) or naive local time
        return float(at.timestamp() if at.tzinfo is not None else at.replace(tzinfo=local).timestamp())

    for recording, _prefix, files in sorted(read, key=start):
        rr_name, rr_data, _ = files["RRIntervals"]
        day = recording.observation.day
        if day in seen_days:
            results.append(ItemResult(source, rr_name, "skipped",
                                      f"a later recording of {day}: the morning value is that day's first "
                                      f"recording ({seen_days[day]})"))
            imp: _Import | None = None
        else:
            seen_days[day] = rr_name.rsplit("/", 1)[-1]
            imp = as_import(recording, name=rr_name)
            results.append(store_daily_import(ctx, actor, athlete_id, imp, source=source, item=rr_name,
                                              original=rr_data))
        for kind, (name, data, error) in files.items():
            if kind == "RRIntervals":
                continue
            if data is not None:
                keep_original(ctx, athlete_id, name, data)
            results.append(ItemResult(source, name, "failed" if error else "skipped",
                                      error or f"read together with {rr_name.rsplit('/', 1)[-1]} "
                                      "(HRV Logger recording; original kept)"))
    return results


def rebuild_daily_from_originals(ctx: Context, actor: Actor, athlete_id: str) -> list[ItemResult]:
    """Read every kept daily-data original of the athlete again and store what it gives.

    What a reader gives may have improved since the import (a bug fixed, a format learnt):
    observations are upserted by (day, source), so values change where the reader now
    reads them differently and nothing is counted twice. HRV Logger recordings are read
    with their companion files. The caller recomputes the days (see ``lydiard reprocess``).
    """
    from lydiard.ingest.daily.hrv_logger import recording_part

    with translate_db_errors(), ctx.engine.connect() as conn:
        check_athlete(conn, actor, athlete_id, write=True)
        rows = conn.execute(select(stored_files.c.sha256, stored_files.c.original_name).where(
            stored_files.c.athlete_id == athlete_id,
            stored_files.c.original_name.startswith(DAILY_ORIGINAL_PREFIX)).order_by(stored_files.c.id)).all()
    source = "kept originals"
    results: list[ItemResult] = []
    parts: list[tuple[str, str, str, bytes | None, str | None]] = []
    for row in rows:
        name = row.original_name.removeprefix(DAILY_ORIGINAL_PREFIX)
        path = ctx.files.path_for(row.sha256)
        if not path.is_file():
            results.append(ItemResult(source, name, "failed", f"the original ({row.sha256[:12]}…) is missing"))
            continue
        data = path.read_bytes()
        part = recording_part(name)
        if part is not None:
            parts.append((part[0], part[1], name, data, None))
        else:
            results.append(_import_daily_bytes(ctx, actor, athlete_id, name=name, data=data, source=source))
    if parts:
        results += import_hrv_logger_recordings(ctx, actor, athlete_id, source, parts)
    return results
