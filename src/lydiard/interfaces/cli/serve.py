"""``lydiard serve`` (the web app under uvicorn) and ``lydiard demo`` (load the demo store).

The server is started from the factory string ``lydiard.interfaces.app:create_app_from_env``
so the CLI never imports the HTTP or web modules; the data directory comes from
``LYDIARD_HOME`` (or ``--home``), passed to the server process through the environment.

Demo passwords are generated at random and printed once: they are never fixed, so a demo
store is safe to serve beyond the loopback interface too (anyone still needs the printed
password). Re-running ``--demo`` on a store that has users loads nothing.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer

from lydiard.interfaces.cli.common import console, friendly_errors, state

APP_FACTORY = "lydiard.interfaces.app:create_app_from_env"


def _print_demo(info: object, *, url: str | None) -> None:
    from lydiard.services.demo import DemoInfo

    assert isinstance(info, DemoInfo)
    console.print("[bold]Demo loaded.[/] The passwords are shown only now:")
    for login in info.logins:
        console.print(f"  {login.role:8s} [bold]{login.email}[/]  password [bold]{login.password}[/]")
    for note in info.notes:
        console.print(f"  · {note}")
    if url:
        console.print(f"Open [bold]{url}[/] and log in.")


def register(app: typer.Typer) -> None:
    """Add the ``serve`` and ``demo`` commands to the CLI."""

    @app.command("serve")
    def serve_cmd(
        ctx: typer.Context,
        host: Annotated[str, typer.Option(help="Interface to listen on (127.0.0.1 = this machine only)")] = "127.0.0.1",
        port: Annotated[int, typer.Option(help="TCP port")] = 8000,
        demo: Annotated[bool, typer.Option("--demo", help="Load the demo first when the store has no users")] = False,
        workers: Annotated[int, typer.Option(help="Server processes (PostgreSQL or SQLite WAL)")] = 1,
        home: Annotated[Path | None, typer.Option(help="Data directory (default: LYDIARD_HOME)")] = None,
    ) -> None:
        """Serve the web pages and the JSON API."""
        import uvicorn

        st = state(ctx)
        if home is not None:
            os.environ["LYDIARD_HOME"] = str(home)
            st.settings.home = home
        os.environ.setdefault("LYDIARD_HOME", str(st.settings.home))
        url = f"http://{host if host not in ('0.0.0.0', '::') else '127.0.0.1'}:{port}/"
        if demo or st.settings.demo:
            from lydiard.services.demo import load_demo, store_is_empty

            with friendly_errors():
                if store_is_empty(st.ctx):
                    console.print("Loading the demo (a simulated year, real workouts, the PMData roster)…")
                    t0 = time.perf_counter()
                    info = load_demo(st.ctx)
                    console.print(f"Demo loaded in {time.perf_counter() - t0:.0f} s.")
                    _print_demo(info, url=url)
                else:
                    console.print("The store has users already: the demo is not loaded again.")
        st.close()
        st._ctx = None
        console.print(f"Lydiard at [bold]{url}[/] (data in {st.settings.home}); Ctrl-C stops it.")
        uvicorn.run(APP_FACTORY, factory=True, host=host, port=port, workers=workers if workers > 1 else None,
                    proxy_headers=False, log_level="info")

    @app.command("demo")
    def demo_cmd(ctx: typer.Context) -> None:
        """Load the demo into an empty store and print the demo logins (shown once)."""
        from lydiard.services.demo import load_demo, store_is_empty

        st = state(ctx)
        with friendly_errors():
            if not store_is_empty(st.ctx):
                console.print("The store has users already: the demo needs an empty store (set LYDIARD_HOME).")
                raise typer.Exit(1)
            info = load_demo(st.ctx)
        _print_demo(info, url=None)
