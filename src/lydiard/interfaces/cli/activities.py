"""``lydiard activities``: the athlete's imported sessions, newest first, with their load and its basis."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from lydiard.interfaces.cli.common import (
    console,
    friendly_errors,
    lazy,
    parse_day,
    resolve_athlete,
    state,
)

if TYPE_CHECKING:
    from lydiard.services import access
    from lydiard.services import activities as activity_svc
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    activity_svc = lazy("lydiard.services.activities")


def register(app: typer.Typer) -> None:
    @app.command("activities")
    def activities_cmd(
        ctx: typer.Context,
        limit: Annotated[int, typer.Option(help="How many (newest first)")] = 20,
        sport: Annotated[str | None, typer.Option(help="Only this sport (run, ride, swim...)")] = None,
        start: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD")] = None,
        end: Annotated[str | None, typer.Option("--to", help="YYYY-MM-DD")] = None,
        athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id")] = None,
    ) -> None:
        """List imported activities with their duration, distance, heart rate and load."""
        from lydiard.errors import InvalidInputError

        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            first = parse_day(start, field="from") if start else None
            last = parse_day(end, field="to") if end else None
            if first and last and first > last:
                raise InvalidInputError(f"--from {first} is after --to {last}", field="from")
            items, total = activity_svc.list_activities(st.ctx, access.Actor.system(), who.id, sport=sport,
                                                        start=first, end=last, limit=limit)
        table = Table("day", "start (UTC)", "sport", "name", "duration", "km", "avg HR", "load", "id",
                      title=f"{len(items)} of {total} activit{'y' if total == 1 else 'ies'}")
        for a in items:
            table.add_row(a.day.isoformat(), a.started_at.strftime("%H:%M"), a.sport, (a.name or "")[:30],
                          _hms(a.duration_s), f"{a.distance_m / 1000:.1f}" if a.distance_m else "–",
                          f"{a.avg_hr_bpm:.0f}" if a.avg_hr_bpm else "–",
                          f"{a.load_au:.0f}" if a.load_au is not None else "–", a.id)
        console.print(table)


def _hms(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
