from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from lydiard.storage.engine import FileStore, make_engine


def test_sqlite_uses_wal_and_foreign_keys(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/x.db")
    with engine.connect() as conn:
        assert conn.execute(sa.text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(sa.text("PRAGMA foreign_keys")).scalar() == 1
    engine.dispose()


def test_file_store_is_content_addressed_and_idempotent(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    sha = store.put(b"hello")
    assert sha == "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert store.put(b"hello") == sha
    assert store.get(sha) == b"hello"
    assert store.all_hashes() == [sha]
    assert not list((tmp_path / "files").rglob(".tmp-*"))
    store.delete(sha)
    assert not store.exists(sha)


def test_staged_file_is_invisible_until_committed(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files")
    staged = store.stage(b"workout")
    assert staged.tmp is not None and staged.tmp.exists()
    assert not store.exists(staged.sha256) and store.all_hashes() == []
    store.commit(staged)
    assert store.get(staged.sha256) == b"workout"
    assert store.all_hashes() == [staged.sha256]
    assert not list((tmp_path / "files").rglob(".tmp-*"))
    again = store.stage(b"workout")  # already stored: nothing to write
    assert again.tmp is None
    store.commit(again)
    gone = store.stage(b"abandoned")
    store.discard(gone)
    assert store.all_hashes() == [staged.sha256]
    assert not list((tmp_path / "files").rglob(".tmp-*"))
