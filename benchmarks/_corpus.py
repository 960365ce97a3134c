"""Enumerate the unique FIT payloads of the shared corpus (plain, .fit.gz, and inside .zip)."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    return Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared"))


def corpus_or_exit() -> Path:
    corpus = shared_dir() / "corpus"
    if not corpus.is_dir():
        sys.exit(f"corpus not found at {corpus}: set LYDIARD_SHARED to the shared/ folder")
    return corpus


def fit_payloads(corpus: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of every unique FIT payload, in a stable order."""
    seen: set[str] = set()
    out: list[tuple[str, bytes]] = []

    def add(name: str, data: bytes) -> None:
        sha = hashlib.sha256(data).hexdigest()
        if sha not in seen:
            seen.add(sha)
            out.append((name, data))

    for path in sorted(corpus.rglob("*")):
        if not path.is_file():
            continue
        low = path.name.lower()
        rel = str(path.relative_to(corpus))
        if low.endswith(".fit"):
            add(rel, path.read_bytes())
        elif low.endswith(".fit.gz"):
            add(rel, gzip.decompress(path.read_bytes()))
        elif low.endswith(".zip"):
            with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as zf:
                for info in zf.infolist():
                    if info.filename.lower().endswith(".fit"):
                        add(f"{rel}!{info.filename}", zf.read(info))
    return out
