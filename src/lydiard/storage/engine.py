"""Engines and the content-addressed file store.

SQLite is the embedded default (one file, WAL journal, foreign keys on, a busy
timeout so concurrent readers/writers wait rather than fail). PostgreSQL serves
multi-user deployments. Connection failures are translated to
:class:`lydiard.errors.StorageUnavailableError` at this boundary.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.pool import NullPool

from lydiard.errors import LydiardError, StorageUnavailableError


def make_engine(url: str, *, pool: bool = True) -> Engine:
    """Create an engine for ``url`` with the pragmas Lydiard relies on."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            poolclass=None if pool else NullPool,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA secure_delete=ON")  # deleted health data is overwritten, not left in free pages
            cur.close()

        return engine
    if url.startswith("postgresql"):
        if not pool:
            return create_engine(url, poolclass=NullPool, connect_args={"connect_timeout": 5})
        return create_engine(
            url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args={"connect_timeout": 5},
        )
    raise LydiardError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}", url=url)


def _fsync_dir(path: Path) -> None:
    """Persist the entries of a directory (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover - filesystems that refuse fsync on directories
        pass
    finally:
        os.close(fd)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


@contextlib.contextmanager
def translate_db_errors() -> Iterator[None]:
    """Turn "database unreachable" into :class:`StorageUnavailableError`."""
    try:
        yield
    except OperationalError as exc:
        if exc.connection_invalidated or "could not connect" in str(exc) or "Connection refused" in str(exc) or "server closed" in str(exc):
            raise StorageUnavailableError("the database is not reachable right now", retry_after_s=5) from exc
        if "database is locked" in str(exc):
            raise StorageUnavailableError("the database is busy", retry_after_s=2) from exc
        raise
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise StorageUnavailableError("the database connection was lost", retry_after_s=5) from exc
        raise


@dataclass(frozen=True, slots=True)
class StagedFile:
    """A file written by :meth:`FileStore.stage`, not yet durable nor visible."""

    sha256: str
    dest: Path
    tmp: Path | None  #: None when the content was stored already
    new_dirs: tuple[Path, ...]  #: directories created for it, outermost first


class FileStore:
    """Original files kept by SHA-256 under ``root/ab/cd/<sha256>``; writes are atomic.

    A stored file is durable once :meth:`put` (or :meth:`commit` of a staged file)
    returns: its data is fsynced before the rename that makes it visible, and the
    directory holding the new name (and any directory created for it) is fsynced after.
    Callers that reference a file from a database row commit the row only afterwards.
    ``stage`` + ``commit`` split that work so the slow fsyncs can run on another thread
    while the caller computes; a staged file is invisible (a ``.tmp-`` name, which
    :meth:`all_hashes` ignores) until committed.
    """

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, data: bytes) -> str:
        """Store ``data`` durably (idempotent) and return its SHA-256 hex digest."""
        staged = self.stage(data)
        self.commit(staged)
        return staged.sha256

    def stage(self, data: bytes, *, sha256: str | None = None) -> StagedFile:
        """Write ``data`` to a temporary file beside its final place (no fsync yet).

        ``sha256``, when given, must be the caller's digest of ``data``.
        """
        sha = sha256 or hashlib.sha256(data).hexdigest()
        dest = self.path_for(sha)
        if dest.exists():
            return StagedFile(sha, dest, None, ())
        new_dirs = tuple(d for d in (dest.parent.parent, dest.parent) if not d.exists())
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        return StagedFile(sha, dest, Path(tmp), new_dirs)

    def commit(self, staged: StagedFile) -> None:
        """Make a staged file durable, then visible under its content address."""
        if staged.tmp is None:
            # Stored already (its data was fsynced before its rename); its name may have
            # been written just now by another process: make sure it is on disk too.
            _fsync_dir(staged.dest.parent)
            return
        try:
            fd = os.open(staged.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(staged.tmp, staged.dest)
        except BaseException:
            self.discard(staged)
            raise
        # The new name lives in its directory; directories created for it live in theirs.
        for directory in {staged.dest.parent, *(d.parent for d in staged.new_dirs)}:
            _fsync_dir(directory)

    def discard(self, staged: StagedFile) -> None:
        """Remove a staged file that will not be committed."""
        if staged.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(staged.tmp)

    def get(self, sha256: str) -> bytes:
        return self.path_for(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path_for(sha256).exists()

    def delete(self, sha256: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path_for(sha256).unlink()

    def all_hashes(self) -> list[str]:
        if not self.root.exists():
            return []
        return [p.name for p in self.root.glob("*/*/*") if p.is_file() and not p.name.startswith(".tmp-")]
