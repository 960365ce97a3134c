from __future__ import annotations

import sqlalchemy as sa

from lydiard.storage.engine import make_engine
from lydiard.storage.migrate import (
    all_revisions,
    current_revision,
    downgrade,
    head_revision,
    upgrade,
)
from lydiard.storage.tables import metadata


def test_upgrade_creates_every_table_and_downgrade_removes_them(db_url: str) -> None:
    engine = make_engine(db_url)
    upgrade(engine)
    assert current_revision(engine) == head_revision(engine)
    names = set(sa.inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} <= names
    downgrade(engine, "base")
    assert current_revision(engine) is None
    assert not ({t.name for t in metadata.sorted_tables} & set(sa.inspect(engine).get_table_names()))
    engine.dispose()


def test_migrations_match_the_metadata(db_url: str) -> None:
    """Autogenerate against the upgraded store finds no difference: the migrations are complete."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = make_engine(db_url)
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    engine.dispose()
    assert diff == []


def test_revisions_are_linear() -> None:
    engine = make_engine("sqlite://")
    revs = all_revisions(engine)
    assert revs and revs[-1] == head_revision(engine)
    assert len(revs) == len(set(revs))


def test_concurrent_upgrades_of_a_fresh_store_do_not_fail(db_url: str) -> None:
    """Several server workers start at once on an empty store: each upgrade waits its turn."""
    from concurrent.futures import ThreadPoolExecutor

    def one() -> str | None:
        engine = make_engine(db_url)
        try:
            upgrade(engine)
            return current_revision(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(lambda _: one(), range(3)))
    engine = make_engine(db_url)
    assert results == [head_revision(engine)] * 3
    engine.dispose()
