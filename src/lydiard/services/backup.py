"""Backing up and restoring a SQLite store: the database and the original files, in one archive.

A backup is one uncompressed tar file (the originals are already compressed formats or
small XML; the database compresses poorly):

::

    manifest.json            format, schema revision, created_at, row counts,
                             size and SHA-256 of every member
    lydiard.sqlite3          a consistent copy made with SQLite's online backup API
    files/ab/cd/<sha256>     every original file the copied database refers to

The database copy is taken first, with SQLite's online backup API in one step (a
consistent snapshot; writers are not blocked under WAL); then the files it refers to
are copied, each checked against its SHA-256 (the store is content-addressed). Files
written by an import that had not committed when the snapshot was taken are left out
(they are orphans for that snapshot). The archive is written under a temporary name and
renamed, so a crash never leaves a half-written backup under the final name.

:func:`restore` verifies the whole archive (manifest, sizes, checksums, schema revision)
before it touches the target, refuses a store that already holds data unless ``force``,
and upgrades the restored database to the newest schema.

PostgreSQL stores are backed up with ``pg_dump`` / ``pg_restore`` (see
``docs/operations.md``); :func:`backup` and :func:`restore` refuse them with a clear error.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from sqlalchemy import Engine, func, inspect, select, union

from lydiard import __version__
from lydiard.config import Settings
from lydiard.errors import (
    ConflictError,
    CorruptFileError,
    LydiardError,
    NotFoundError,
    StorageUnavailableError,
)
from lydiard.services.context import Context
from lydiard.storage.engine import FileStore, is_sqlite, make_engine, translate_db_errors
from lydiard.storage.migrate import all_revisions, current_revision, upgrade
from lydiard.storage.tables import activities, metadata, stored_files

log = logging.getLogger(__name__)

#: Version of the archive layout (bumped when the layout changes).
BACKUP_FORMAT = 1
MANIFEST_NAME = "manifest.json"
DATABASE_NAME = "lydiard.sqlite3"
FILES_PREFIX = "files/"
#: Bytes read at a time when hashing and copying.
CHUNK_BYTES = 1 << 20
#: Where the PostgreSQL procedure is documented.
OPERATIONS_DOC = "docs/operations.md"


@dataclass(frozen=True, slots=True)
class BackupInfo:
    """What a backup holds."""

    path: Path  #: the archive
    schema_revision: str | None  #: Alembic revision of the copied database
    created_at: datetime  #: when the database snapshot was taken (UTC)
    database_bytes: int  #: size of the database copy
    n_files: int  #: original files included
    files_bytes: int  #: their total size
    missing_files: tuple[str, ...]  #: SHA-256 of referenced files absent from the file store
    row_counts: dict[str, int]  #: rows per table in the snapshot


@dataclass(frozen=True, slots=True)
class RestoreInfo:
    """What a restore put back."""

    schema_revision_backup: str | None  #: revision recorded in the backup
    schema_revision_now: str | None  #: revision after the upgrade to the newest schema
    n_files: int  #: original files restored
    row_counts: dict[str, int]  #: rows per table after the restore


# ----------------------------------------------------------------------------- helpers

def _refuse_postgres(url: str, what: str) -> None:
    if not url.startswith("sqlite"):
        raise LydiardError(
            f"{what} handles SQLite stores only; back up a PostgreSQL store with pg_dump and restore it with "
            f"pg_restore (see {OPERATIONS_DOC}, 'PostgreSQL')",
            scheme=url.split(":", 1)[0],
        )


def _sqlite_file(engine: Engine) -> Path:
    database = engine.url.database
    if not database or database == ":memory:":
        raise LydiardError("an in-memory SQLite database cannot be backed up or restored")
    return Path(database)


def _sha256_file(path: Path) -> tuple[str, int]:
    h = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest(), size


def _row_counts(engine: Engine) -> dict[str, int]:
    with translate_db_errors(), engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in metadata.sorted_tables}


def _referenced_hashes(engine: Engine) -> list[str]:
    q = union(select(stored_files.c.sha256),
              select(activities.c.file_sha256).where(activities.c.file_sha256.is_not(None)))
    with translate_db_errors(), engine.connect() as conn:
        return sorted({str(r[0]) for r in conn.execute(q)})


def _add_file(tar: tarfile.TarFile, arcname: str, path: Path, *, mtime: float) -> None:
    info = tar.gettarinfo(str(path), arcname=arcname)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = 0o600
    info.mtime = int(mtime)
    with path.open("rb") as fh:
        tar.addfile(info, fh)


def _add_bytes(tar: tarfile.TarFile, arcname: str, data: bytes, *, mtime: float) -> None:
    info = tarfile.TarInfo(arcname)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(mtime)
    tar.addfile(info, io.BytesIO(data))


@contextlib.contextmanager
def _atomic_output(dest: Path) -> Iterator[IO[bytes]]:
    """A file that appears under ``dest`` only when complete (fsynced, then renamed)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


# ----------------------------------------------------------------------------- backup

def backup(ctx: Context, dest: Path) -> BackupInfo:
    """Write a consistent backup of the SQLite store of ``ctx`` to the archive ``dest``.

    Raises :class:`LydiardError` for a PostgreSQL store (use ``pg_dump``, see
    ``docs/operations.md``) and :class:`ConflictError` when ``dest`` exists.
    """
    url = ctx.settings.effective_database_url
    _refuse_postgres(url, "lydiard backup")
    if not is_sqlite(ctx.engine):  # pragma: no cover - the URL check above covers it
        raise LydiardError("lydiard backup handles SQLite stores only")
    dest = Path(dest)
    if dest.exists():
        raise ConflictError(f"{dest} exists already: choose a new name for the backup", path=str(dest))
    source_db = _sqlite_file(ctx.engine)
    if not source_db.exists():
        raise NotFoundError(f"no database at {source_db}: nothing to back up", path=str(source_db))
    created_at = ctx.clock().astimezone(UTC)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".lydiard-backup-", dir=dest.parent) as tmp:
        snapshot = Path(tmp) / DATABASE_NAME
        _snapshot_sqlite(source_db, snapshot)
        snap_engine = make_engine(f"sqlite:///{snapshot}", pool=False)
        try:
            revision = current_revision(snap_engine)
            counts = _row_counts(snap_engine)
            hashes = _referenced_hashes(snap_engine)
        finally:
            snap_engine.dispose()
        # The engine's connect hook sets WAL: fold it back into one file before archiving.
        _checkpoint_to_single_file(snapshot)
        db_sha, db_size = _sha256_file(snapshot)
        members: dict[str, dict[str, Any]] = {DATABASE_NAME: {"sha256": db_sha, "size_bytes": db_size}}
        missing: list[str] = []
        files_bytes = 0
        mtime = created_at.timestamp()
        with _atomic_output(dest) as out, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add_file(tar, DATABASE_NAME, snapshot, mtime=mtime)
            for sha in hashes:
                path = ctx.files.path_for(sha)
                if not path.exists():
                    missing.append(sha)
                    continue
                got, size = _sha256_file(path)
                if got != sha:
                    # A damaged original must not be carried into the backup silently.
                    raise CorruptFileError(str(path), f"stored file does not match its SHA-256 ({got})")
                arcname = FILES_PREFIX + str(path.relative_to(ctx.files.root))
                _add_file(tar, arcname, path, mtime=mtime)
                members[arcname] = {"sha256": sha, "size_bytes": size}
                files_bytes += size
            manifest = {
                "format": BACKUP_FORMAT,
                "lydiard_version": __version__,
                "created_at": created_at.isoformat(),
                "schema_revision": revision,
                "database": DATABASE_NAME,
                "row_counts": counts,
                "members": members,
                "missing_files": missing,
            }
            _add_bytes(tar, MANIFEST_NAME, json.dumps(manifest, indent=1, sort_keys=True).encode(), mtime=mtime)
    if missing:
        log.warning("backup %s: %d referenced file(s) were missing from the file store", dest, len(missing))
    return BackupInfo(path=dest, schema_revision=revision, created_at=created_at, database_bytes=db_size,
                      n_files=len(members) - 1, files_bytes=files_bytes, missing_files=tuple(missing),
                      row_counts=counts)


def _snapshot_sqlite(source_db: Path, target: Path) -> None:
    """Copy ``source_db`` to ``target`` with the online backup API, in one step (a consistent snapshot)."""
    src = sqlite3.connect(source_db, timeout=30)
    try:
        src.execute("PRAGMA busy_timeout=30000")
        dst = sqlite3.connect(target)
        try:
            with translate_sqlite_errors():
                src.backup(dst, pages=-1)
        finally:
            dst.close()
    finally:
        src.close()


def _checkpoint_to_single_file(db: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


@contextlib.contextmanager
def translate_sqlite_errors() -> Iterator[None]:
    """Busy / locked errors of the raw sqlite3 module are "try again later"."""
    try:
        yield
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StorageUnavailableError("the database is busy; try the backup again", retry_after_s=2) from exc
        raise


# ----------------------------------------------------------------------------- verify / restore

def _read_manifest(tar: tarfile.TarFile, src: Path) -> dict[str, Any]:
    try:
        member = tar.getmember(MANIFEST_NAME)
    except KeyError as exc:
        raise CorruptFileError(str(src), "not a Lydiard backup (no manifest.json)") from exc
    fh = tar.extractfile(member)
    if fh is None:
        raise CorruptFileError(str(src), "manifest.json is not a regular file")
    try:
        manifest = json.loads(fh.read())
    except (ValueError, UnicodeDecodeError) as exc:
        raise CorruptFileError(str(src), f"manifest.json is not valid JSON ({exc})") from exc
    if not isinstance(manifest, dict) or not isinstance(manifest.get("members"), dict):
        raise CorruptFileError(str(src), "manifest.json lacks the member list")
    if manifest.get("format") != BACKUP_FORMAT:
        raise CorruptFileError(str(src), f"backup format {manifest.get('format')!r} is not supported "
                                         f"(this version reads format {BACKUP_FORMAT})")
    return manifest


def _safe_member_name(name: str) -> bool:
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts and (
        name in (MANIFEST_NAME, DATABASE_NAME) or (name.startswith(FILES_PREFIX) and len(parts) == 4))


def verify_backup(src: Path) -> dict[str, Any]:
    """Check every member of the backup ``src`` against its manifest; return the manifest."""
    src = Path(src)
    if not src.is_file():
        raise NotFoundError(f"no backup at {src}", path=str(src))
    try:
        with tarfile.open(src, mode="r:") as tar:
            manifest = _read_manifest(tar, src)
            expected: dict[str, dict[str, Any]] = manifest["members"]
            seen: set[str] = set()
            for member in tar:
                if member.name == MANIFEST_NAME:
                    continue
                if not member.isfile() or not _safe_member_name(member.name) or member.name not in expected:
                    raise CorruptFileError(str(src), f"unexpected member {member.name!r}")
                fh = tar.extractfile(member)
                assert fh is not None
                h = hashlib.sha256()
                size = 0
                while chunk := fh.read(CHUNK_BYTES):
                    h.update(chunk)
                    size += len(chunk)
                want = expected[member.name]
                if h.hexdigest() != want.get("sha256") or size != want.get("size_bytes"):
                    raise CorruptFileError(str(src), f"{member.name} does not match its checksum")
                seen.add(member.name)
    except tarfile.TarError as exc:
        raise CorruptFileError(str(src), f"not a readable backup archive ({exc})") from exc
    except EOFError as exc:
        raise CorruptFileError(str(src), "the backup archive is truncated") from exc
    absent = sorted(set(expected) - seen)
    if absent:
        raise CorruptFileError(str(src), f"{len(absent)} member(s) listed in the manifest are missing "
                                         f"(first: {absent[0]})")
    return manifest


def store_has_data(settings: Settings) -> bool:
    """True when the store named by ``settings`` holds any row or any original file."""
    if FileStore(settings.files_dir).all_hashes():
        return True
    url = settings.effective_database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[-1])
        if not path.exists() or path.stat().st_size == 0:
            return False
    engine = make_engine(url, pool=False)
    try:
        with translate_db_errors(), engine.connect() as conn:
            present = set(inspect(conn).get_table_names())
            for t in metadata.sorted_tables:
                if t.name in present and conn.execute(select(t).limit(1)).first() is not None:
                    return True
    finally:
        engine.dispose()
    return False


def restore(settings: Settings, src: Path, *, force: bool = False) -> RestoreInfo:
    """Restore the backup ``src`` into the SQLite store named by ``settings``.

    The archive is verified completely before anything is written. A store that holds
    data is refused with :class:`ConflictError` unless ``force`` (then its database is
    replaced and the backup's files are added to its file store).
    """
    url = settings.effective_database_url
    _refuse_postgres(url, "lydiard restore")
    src = Path(src)
    manifest = verify_backup(src)
    revision = manifest.get("schema_revision")
    target_db = Path(url.split("///", 1)[-1])
    known = all_revisions(make_engine("sqlite://", pool=False))
    if revision is not None and revision not in known:
        raise LydiardError(f"the backup's schema revision {revision!r} is newer than this version of Lydiard "
                           f"knows ({known[-1] if known else 'none'}): upgrade Lydiard first", revision=revision)
    if store_has_data(settings) and not force:
        raise ConflictError(f"the store in {settings.home} already holds data; restore into an empty home "
                            "(LYDIARD_HOME) or pass --force to replace it", path=str(settings.home))
    settings.home.mkdir(parents=True, exist_ok=True)
    target_db.parent.mkdir(parents=True, exist_ok=True)
    files = FileStore(settings.files_dir)
    n_files = 0
    with tempfile.TemporaryDirectory(prefix=".lydiard-restore-", dir=target_db.parent) as tmp, \
            tarfile.open(src, mode="r:") as tar:
        staged_db = Path(tmp) / DATABASE_NAME
        for member in tar:
            if member.name == MANIFEST_NAME:
                continue
            fh = tar.extractfile(member)
            assert fh is not None
            if member.name == DATABASE_NAME:
                with staged_db.open("wb") as out:
                    shutil.copyfileobj(fh, out, CHUNK_BYTES)
                    out.flush()
                    os.fsync(out.fileno())
            else:
                data = fh.read()
                sha = files.put(data)  # content-addressed: the name is checked once more
                if sha != Path(member.name).name:
                    raise CorruptFileError(str(src), f"{member.name} does not match its name")
                n_files += 1
        _check_sqlite(staged_db, src)
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{target_db}{suffix}")
        os.replace(staged_db, target_db)
    engine = make_engine(url, pool=False)
    try:
        with translate_db_errors():
            upgrade(engine)
        now_revision = current_revision(engine)
    finally:
        engine.dispose()
    return RestoreInfo(schema_revision_backup=revision, schema_revision_now=now_revision, n_files=n_files,
                       row_counts=_row_counts_url(url))


def _row_counts_url(url: str) -> dict[str, int]:
    engine = make_engine(url, pool=False)
    try:
        return _row_counts(engine)
    finally:
        engine.dispose()


def _check_sqlite(db: Path, src: Path) -> None:
    conn = sqlite3.connect(db)
    try:
        result = conn.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise CorruptFileError(str(src), f"the database in the backup is damaged ({exc})") from exc
    finally:
        conn.close()
    if result is None or result[0] != "ok":
        raise CorruptFileError(str(src), f"the database in the backup fails its integrity check ({result})")


__all__ = ["BackupInfo", "RestoreInfo", "backup", "restore", "store_has_data", "verify_backup"]
