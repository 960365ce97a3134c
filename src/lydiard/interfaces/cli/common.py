"""Shared plumbing of the CLI: settings, context, athlete resolution, error display."""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from lydiard.errors import InvalidInputError, LydiardError

if TYPE_CHECKING:
    from lydiard.config import Settings
    from lydiard.services.athletes import AthleteInfo
    from lydiard.services.context import Context


class LazyModule(ModuleType):
    """A module imported on first attribute access.

    The CLI's modules name the services they call at module level but import them only
    when a command runs, so ``lydiard --help`` does not load numpy, pandas, SQLAlchemy or
    FastAPI (``benchmarks/cli_startup.py`` measures it).
    """

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.__lazy_target = name

    def __getattr__(self, attr: str) -> Any:
        module = importlib.import_module(self.__lazy_target)
        return getattr(module, attr)


def lazy(name: str) -> Any:
    """A stand-in for module ``name`` that imports it when first used."""
    return LazyModule(name)


def parse_day(text: str, *, field: str = "day", today: date | None = None) -> date:
    """A calendar day from ``YYYY-MM-DD``, or ``+12w`` / ``+84d`` (weeks or days after ``today``,
    default the machine's today); an impossible date (2026-02-30) is named as such."""
    import re
    from datetime import timedelta

    relative = re.fullmatch(r"\+(\d{1,4})([dw])", text.strip())
    if relative is not None:
        n = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        return (today or date.today()) + timedelta(days=n)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip()):
        raise InvalidInputError(f"not a date in the form YYYY-MM-DD: {text!r}", field=field)
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{text!r} is not a valid date ({exc})", field=field) from exc


class _CurrentConsole:
    """A Rich console made for the current invocation (not at import time).

    Rich reads the terminal width (``COLUMNS``) when a console is created; creating it per
    call keeps each invocation (and each test) faithful to its own environment.
    """

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr

    def get(self) -> Console:
        return Console(stderr=self._stderr)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.get(), name)


console = _CurrentConsole()
err_console = _CurrentConsole(stderr=True)


@dataclass
class State:
    """Per-invocation state: settings are created once, the context lazily."""

    settings: Settings
    _ctx: Context | None = field(default=None)

    @property
    def ctx(self) -> Context:
        if self._ctx is None:
            from lydiard.services.context import open_context

            self._ctx = open_context(self.settings)
        return self._ctx

    def close(self) -> None:
        if self._ctx is not None:
            self._ctx.close()


def state(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    assert isinstance(obj, State)
    return obj


@contextlib.contextmanager
def friendly_errors() -> Iterator[None]:
    """Show a LydiardError as one clear line and exit 1 (no traceback)."""
    try:
        yield
    except LydiardError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(1) from exc


def local_tz_name() -> str:
    """The machine's IANA time zone name, or UTC."""
    tz = os.environ.get("TZ")
    if tz and "/" in tz:
        return tz
    with contextlib.suppress(OSError):
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            return target.split("zoneinfo/", 1)[1]
    with contextlib.suppress(OSError):
        name = Path("/etc/timezone").read_text().strip()
        if name:
            return name
    return "UTC"


def resolve_athlete(st: State, name_or_id: str | None, *, create: bool = False, tz: str | None = None) -> AthleteInfo:
    """The athlete named, or the only athlete, or (when ``create``) a new one called "Me"."""
    from lydiard.services.access import Actor
    from lydiard.services.athletes import create_athlete, find_athlete, list_athletes

    actor = Actor.system()
    if name_or_id:
        return find_athlete(st.ctx, actor, name_or_id)
    athletes = list_athletes(st.ctx, actor)
    if len(athletes) == 1:
        return athletes[0]
    if not athletes and create:
        athlete = create_athlete(st.ctx, actor, name="Me", tz=tz or local_tz_name())
        console.print(f"Created athlete [bold]{athlete.name}[/] (id {athlete.id}, time zone {athlete.tz}); "
                      "change it with `lydiard athlete set --tz ZONE --sex m|f`.")
        return athlete
    if not athletes:
        raise LydiardError("no athlete yet: run `lydiard import` or `lydiard athlete create NAME`")
    names = ", ".join(a.name for a in athletes[:10])
    raise LydiardError(f"several athletes ({names}…): choose one with --athlete")
