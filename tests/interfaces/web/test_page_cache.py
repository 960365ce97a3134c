"""The per-process cache of rendered page parts builds a missing part once, however many ask."""

from __future__ import annotations

import threading
import time

import pytest

from lydiard.interfaces.web.pages import PageCache


def test_concurrent_misses_build_once() -> None:
    cache = PageCache()
    calls: list[int] = []
    start = threading.Barrier(12)

    def build() -> str:
        calls.append(1)
        time.sleep(0.05)
        return "<ul>roster</ul>"

    results: list[str] = []

    def ask() -> None:
        start.wait()
        results.append(cache.get_or_build(("roster", "v1"), build))

    threads = [threading.Thread(target=ask) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["<ul>roster</ul>"] * 12
    assert len(calls) == 1
    # a new version of what it shows is built again; a failed build is retried by the next caller
    assert cache.get_or_build(("roster", "v2"), lambda: "new") == "new"

    def broken() -> str:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get_or_build(("roster", "v3"), broken)
    assert cache.get_or_build(("roster", "v3"), lambda: "ok") == "ok"
