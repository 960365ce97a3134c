"""``lydiard serve`` starts uvicorn with the app factory (never importing the web modules) and
``--demo`` loads the demo once into an empty store, printing the generated logins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner


def test_serve_demo_loads_once_and_runs_the_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn

    from lydiard.interfaces.cli.main import build_app
    from lydiard.services import demo

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: calls.append((a, k)))
    real = demo.load_demo
    monkeypatch.setattr(demo, "load_demo", lambda ctx: real(ctx, days=120, pmdata=False, roster_scenarios=False))
    monkeypatch.setenv("LYDIARD_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("LYDIARD_DATABASE_URL", raising=False)
    runner = CliRunner()
    result = runner.invoke(build_app(), ["serve", "--demo", "--port", "8123"])
    assert result.exit_code == 0, result.output
    assert "coach@demo.lydiard.org" in result.output and "athlete@demo.lydiard.org" in result.output
    assert "password demo-" in result.output
    assert "http://127.0.0.1:8123/" in result.output
    (args, kwargs), = calls
    assert args == ("lydiard.interfaces.app:create_app_from_env",)
    assert kwargs["factory"] is True and kwargs["host"] == "127.0.0.1" and kwargs["port"] == 8123
    again = runner.invoke(build_app(), ["serve", "--demo"])
    assert again.exit_code == 0 and "not loaded again" in again.output
    assert "password demo-" not in again.output
