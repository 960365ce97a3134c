"""Shared fixtures: locations of the optional shared corpus and data sets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The read-only shared folder (corpus, PMData); ``LYDIARD_SHARED`` overrides."""
    return Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared"))


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
