"""Every setting is documented: each ``Settings`` field (and its environment variable) appears in
``docs/configuration.md``, and the page documents no setting that does not exist."""

from __future__ import annotations

import re
from pathlib import Path

from lydiard.config import Settings

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"


def test_every_setting_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields
               if f"`{name}`" not in text or f"`LYDIARD_{name.upper()}`" not in text]
    assert not missing, f"document these settings in {DOC.name}: {missing}"


def test_no_documented_setting_is_gone() -> None:
    rows = re.findall(r"^\| `LYDIARD_(\w+)` \| `(\w+)` \|", DOC.read_text(encoding="utf-8"), re.M)
    assert rows, "the settings table is missing"
    for env, name in rows:
        assert name in Settings.model_fields, f"{DOC.name} documents {name!r}, which Settings does not have"
        assert env == name.upper()
