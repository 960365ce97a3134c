"""Where the optional shared folder is (corpus, PMData): one definition for conftest and test modules.

A module of its own because ``from conftest import ...`` is ambiguous: several ``conftest.py``
files exist, and which one Python calls ``conftest`` depends on the collection order.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The read-only shared folder (corpus, PMData); ``LYDIARD_SHARED`` overrides."""
    return Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared"))
