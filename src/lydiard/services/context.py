"""The service context: settings, engine, file store and clock, created once per process."""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine

from lydiard.config import Settings
from lydiard.storage.engine import FileStore, make_engine, translate_db_errors
from lydiard.storage.migrate import upgrade

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    """A random, URL-safe, unguessable identifier (128 bits)."""
    return secrets.token_hex(16)


@dataclass
class Context:
    """Everything a service needs, passed down explicitly."""

    settings: Settings
    engine: Engine
    files: FileStore
    clock: Clock = field(default=utc_now)
    #: Bounds the password hashings/verifications running at once (argon2id: 64 MiB each), so a
    #: burst of logins cannot exhaust memory (``settings.password_check_concurrency``).
    password_slots: threading.Semaphore = field(default_factory=lambda: threading.BoundedSemaphore(2))

    def close(self) -> None:
        self.engine.dispose()


def open_context(settings: Settings, *, migrate: bool = True, clock: Clock | None = None, pool: bool = True) -> Context:
    """Open the store named by ``settings`` (creating/upgrading its schema when ``migrate``)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url, pool=pool)
    if migrate:
        with translate_db_errors():
            upgrade(engine)
    return Context(settings=settings, engine=engine, files=FileStore(settings.files_dir), clock=clock or utc_now,
                   password_slots=threading.BoundedSemaphore(settings.password_check_concurrency))
