"""Application start-up: the compiled daily kernel is loaded in the background."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

from lydiard.interfaces import app as app_module


def test_start_up_warms_the_daily_kernel_up_without_waiting_for_it(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_warm_up() -> None:
        started.set()
        release.wait(10)

    monkeypatch.setattr(app_module, "warm_up_kernels", slow_warm_up)
    with TestClient(app_module.create_app(settings)) as client:
        assert started.wait(10), "the warm-up did not start"
        assert client.get("/openapi.json").status_code == 200  # served while it still runs
        release.set()


def test_warm_up_kernels_loads_the_compiled_loop() -> None:
    from lydiard.domain.load._pmc_kernel import daily_metrics_kernel
    from lydiard.services.metrics import warm_up_kernels

    warm_up_kernels()
    assert daily_metrics_kernel(7).signatures  # the default window's loop
