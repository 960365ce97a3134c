"""The athlete's rights: see the audit log, export everything, delete everything.

Only the athlete's own account (or, for an athlete without a login, the coach who manages
them) may export, delete or read the audit log; a linked coach may not.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, select, union

from lydiard.errors import (
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from lydiard.services import audit
from lydiard.services.access import Actor, check_owner
from lydiard.services.context import Context
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    ATHLETE_TABLES,
    activities,
    athletes,
    audit_log,
    coach_links,
    daily_metrics,
    daily_observations,
    import_items,
    laps,
    login_counters,
    plan_changes,
    planned_sessions,
    session_logs,
    session_metrics,
    stored_files,
    thresholds,
    users,
)

#: Tables written to the export, by file stem.
EXPORT_TABLES: tuple[tuple[str, Table], ...] = (
    ("daily_observations", daily_observations), ("daily_metrics", daily_metrics), ("activities", activities),
    ("session_logs", session_logs), ("planned_sessions", planned_sessions), ("plan_changes", plan_changes),
    ("thresholds", thresholds), ("coach_links", coach_links), ("import_items", import_items),
    ("stored_files", stored_files), ("audit_log", audit_log),
)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_user_id: str | None
    actor_name: str | None
    action: str
    detail: dict[str, Any] | None


def _owner_check(conn: Connection, actor: Actor, athlete_id: str, *, write: bool) -> Any:
    """The athlete row, if ``actor`` is its owner (its user, or its manager when it has no login)."""
    return check_owner(conn, actor, athlete_id, write=write)


def audit_entries(ctx: Context, actor: Actor, athlete_id: str, *, limit: int = 100,
                  offset: int = 0) -> list[AuditEntry]:
    """Who viewed or changed the athlete's data, newest first."""
    if not (1 <= limit <= 1000) or offset < 0:
        raise InvalidInputError("limit must be 1-1000 and offset ≥ 0", field="limit")
    with translate_db_errors(), ctx.engine.connect() as conn:
        _owner_check(conn, actor, athlete_id, write=False)
        rows = conn.execute(
            select(audit_log, users.c.display_name).outerjoin(users, users.c.id == audit_log.c.actor_user_id)
            .where(audit_log.c.athlete_id == athlete_id).order_by(audit_log.c.at.desc(), audit_log.c.id.desc())
            .limit(limit).offset(offset)
        ).all()
    return [AuditEntry(at=r.at, actor_user_id=r.actor_user_id, actor_name=r.display_name, action=r.action,
                       detail=r.detail) for r in rows]


def _jsonable(v: Any) -> Any:
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, float) and v != v:
        return None
    return v


def _table_rows(conn: Connection, name: str, table: Table, athlete_id: str) -> list[dict[str, Any]]:
    if name == "activities":
        q = select(activities).where(activities.c.athlete_id == athlete_id).order_by(activities.c.started_at)
    else:
        q = select(table).where(table.c.athlete_id == athlete_id)
    return [{k: _jsonable(v) for k, v in r._asdict().items()} for r in conn.execute(q).all()]


def _csv(rows: list[dict[str, Any]], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({k: json.dumps(v) if isinstance(v, dict | list) else v for k, v in r.items()})
    return buf.getvalue()


def _safe_name(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch if ch.isalnum() or ch in "._- " else "_" for ch in base).strip(" .")
    return cleaned[:120] or "file"


def export_athlete(ctx: Context, actor: Actor, athlete_id: str) -> bytes:
    """A zip of everything stored about the athlete: original files, CSV and JSON of every table."""
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        athlete = _owner_check(conn, actor, athlete_id, write=False)
        audit.record(conn, actor, athlete_id=athlete_id, action="athlete.export", at=now)
        tables = {name: _table_rows(conn, name, t, athlete_id) for name, t in EXPORT_TABLES}
        act_ids = select(activities.c.id).where(activities.c.athlete_id == athlete_id)
        tables["session_metrics"] = [{k: _jsonable(v) for k, v in r._asdict().items()} for r in conn.execute(
            select(session_metrics).where(session_metrics.c.activity_id.in_(act_ids))).all()]
        tables["laps"] = [{k: _jsonable(v) for k, v in r._asdict().items()} for r in conn.execute(
            select(laps).where(laps.c.activity_id.in_(act_ids)).order_by(laps.c.activity_id, laps.c.lap_index)).all()]
    columns = {name: [c.name for c in t.columns] for name, t in EXPORT_TABLES}
    columns["session_metrics"] = [c.name for c in session_metrics.columns]
    columns["laps"] = [c.name for c in laps.columns]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        profile = {k: _jsonable(v) for k, v in athlete._asdict().items()}
        zf.writestr("athlete.json", json.dumps(profile, indent=2))
        for name, rows in tables.items():
            zf.writestr(f"json/{name}.json", json.dumps(rows, indent=1, default=str))
            zf.writestr(f"csv/{name}.csv", _csv(rows, columns[name]))
        used: set[str] = set()
        for f in tables["stored_files"]:
            sha = str(f["sha256"])
            if not ctx.files.exists(sha):
                continue
            arc = f"files/{sha[:12]}-{_safe_name(str(f['original_name']))}"
            if arc in used:
                continue
            used.add(arc)
            zf.writestr(arc, ctx.files.get(sha))
        zf.writestr("README.txt", "Everything Lydiard stores about this athlete.\n"
                    "files/: the original uploads; csv/ and json/: one file per table (units in column names).\n")
    return buf.getvalue()


def _delete_athlete_rows(conn: Connection, athlete_id: str) -> set[str]:
    """Delete every row of the athlete; return the file hashes they referenced."""
    # Lock the athlete row first: writers of daily_metrics (no foreign key) lock it too, so a
    # concurrent batch either commits before the deletes below (which then see its rows) or
    # finds the athlete gone.
    conn.execute(select(athletes.c.id).where(athletes.c.id == athlete_id).with_for_update())
    shas = {r.sha256 for r in conn.execute(select(stored_files.c.sha256).where(stored_files.c.athlete_id == athlete_id))}
    shas |= {r.file_sha256 for r in conn.execute(select(activities.c.file_sha256).where(
        activities.c.athlete_id == athlete_id, activities.c.file_sha256.is_not(None)))}
    for t in ATHLETE_TABLES:
        conn.execute(delete(t).where(t.c.athlete_id == athlete_id))
    conn.execute(delete(activities).where(activities.c.athlete_id == athlete_id))  # samples, laps... cascade
    conn.execute(delete(athletes).where(athletes.c.id == athlete_id))
    return shas


def _unreferenced(conn: Connection, shas: set[str]) -> list[str]:
    if not shas:
        return []
    q = union(select(stored_files.c.sha256.label("sha")).where(stored_files.c.sha256.in_(shas)),
              select(activities.c.file_sha256.label("sha")).where(activities.c.file_sha256.in_(shas)))
    still = {r.sha for r in conn.execute(q)}
    return sorted(shas - still)


def delete_athlete(ctx: Context, actor: Actor, athlete_id: str) -> int:
    """Delete the athlete and every row and original file that is theirs alone; returns files removed."""
    with translate_db_errors(), ctx.engine.begin() as conn:
        _owner_check(conn, actor, athlete_id, write=True)
        shas = _delete_athlete_rows(conn, athlete_id)
        orphans = _unreferenced(conn, shas)
        audit.record(conn, actor, athlete_id=None, action="athlete.delete", at=ctx.clock())
    for sha in orphans:
        ctx.files.delete(sha)
    return len(orphans)


def delete_account(ctx: Context, actor: Actor, user_id: str) -> None:
    """Delete an account (one's own; admins any): its athlete, the athletes it manages, sessions, tokens."""
    if actor.user_id is None and not actor.is_system:
        raise AuthenticationError("log in first")
    if actor.user_id != user_id and not (actor.is_admin or actor.is_system):
        raise NotFoundError("user not found", user_id=user_id)
    if actor.scope != "write":
        raise PermissionDeniedError("a read-only token cannot delete an account")
    orphans: list[str] = []
    with translate_db_errors(), ctx.engine.begin() as conn:
        user = conn.execute(select(users).where(users.c.id == user_id)).first()
        if user is None:
            raise NotFoundError("user not found", user_id=user_id)
        owned = conn.execute(select(athletes.c.id).where(
            (athletes.c.user_id == user_id) | ((athletes.c.managed_by_user_id == user_id) & athletes.c.user_id.is_(None))
        )).all()
        shas: set[str] = set()
        for a in owned:
            shas |= _delete_athlete_rows(conn, a.id)
        conn.execute(delete(login_counters).where(login_counters.c.key.startswith(f"acct:{user.email}|",
                                                                                   autoescape=True)))
        conn.execute(delete(users).where(users.c.id == user_id))  # sessions, tokens, coach links cascade
        orphans = _unreferenced(conn, shas)
        audit.record(conn, actor if actor.user_id != user_id else Actor.anonymous(), athlete_id=None,
                     action="user.delete", at=ctx.clock())
    for sha in orphans:
        ctx.files.delete(sha)
    checkpoint_wal(ctx)


def checkpoint_wal(ctx: Context) -> None:
    """On SQLite, copy the WAL into the database file and truncate it, so that deleted rows do
    not linger in the write-ahead log (``PRAGMA wal_checkpoint(TRUNCATE)``); nothing elsewhere.

    A checkpoint blocked by a concurrent reader is not an error: the next one completes it.
    """
    if ctx.engine.dialect.name != "sqlite":
        return
    with translate_db_errors(), ctx.engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
