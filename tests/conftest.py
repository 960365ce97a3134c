"""Shared fixtures: locations of the optional shared corpus and data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from shared_paths import REPO, shared_dir

__all__ = ["REPO", "shared_dir"]


@pytest.fixture(scope="session")
def corpus_dir() -> Path:
    path = shared_dir() / "corpus"
    if not path.is_dir():
        pytest.skip(f"workout corpus not found at {path} (set LYDIARD_SHARED to the shared/ folder)")
    return path


@pytest.fixture(scope="session")
def pmdata_dir() -> Path:
    path = shared_dir() / "data" / "pmdata"
    if not path.is_dir():
        pytest.skip(f"PMData not found at {path} (set LYDIARD_SHARED to the shared/ folder)")
    return path


# ----------------------------------------------------------------------------- stores
# Every test that takes ``ctx`` runs twice: on SQLite (a file in tmp_path) and on
# PostgreSQL (a fresh schema per test). PostgreSQL is skipped with a message when it
# cannot be reached, unless LYDIARD_REQUIRE_POSTGRES=1 (as in CI), where that fails.

import uuid  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from datetime import UTC, datetime  # noqa: E402

import sqlalchemy as sa  # noqa: E402

POSTGRES_URL = os.environ.get("LYDIARD_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_or_skip() -> None:
    try:
        engine = sa.create_engine(POSTGRES_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:
        if os.environ.get("LYDIARD_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (LYDIARD_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} ({type(exc).__name__}); set LYDIARD_TEST_POSTGRES_URL")


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database URL for an empty store, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/lydiard.sqlite3"
        return
    _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


class FixedClock:
    """A settable clock for services (the domain never reads a clock)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 6, 30, 12, 0, tzinfo=UTC))


@pytest.fixture
def settings(db_url: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    from lydiard.config import Settings

    return Settings(home=tmp_path / "home", database_url=db_url)


@pytest.fixture
def ctx(settings, clock):  # type: ignore[no-untyped-def]
    from lydiard.services.context import open_context

    context = open_context(settings, clock=clock)
    yield context
    context.close()
