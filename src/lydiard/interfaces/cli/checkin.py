"""``lydiard checkin``: how the athlete feels today, through the same service (and rules) as the web and API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lydiard.interfaces.cli.common import (
    console,
    friendly_errors,
    lazy,
    parse_day,
    resolve_athlete,
    state,
)

if TYPE_CHECKING:
    from lydiard.services import access, metrics, readiness
    from lydiard.services import checkin as checkin_svc
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    checkin_svc = lazy("lydiard.services.checkin")
    metrics = lazy("lydiard.services.metrics")
    readiness = lazy("lydiard.services.readiness")



def register(app: typer.Typer) -> None:
    @app.command("checkin")
    def checkin_cmd(
        ctx: typer.Context,
        energy: Annotated[float | None, typer.Option(help="1-5 (5 = fresh)")] = None,
        mood: Annotated[float | None, typer.Option(help="1-5 (5 = great)")] = None,
        motivation: Annotated[float | None, typer.Option(help="1-5 (5 = eager)")] = None,
        soreness: Annotated[float | None, typer.Option(help="1-5 (5 = no soreness)")] = None,
        sleep_quality: Annotated[float | None, typer.Option(help="1-5 (5 = slept great)")] = None,
        stress: Annotated[float | None, typer.Option(help="1-5 (5 = relaxed)")] = None,
        sleep_h: Annotated[float | None, typer.Option(help="Hours slept, 0-24")] = None,
        readiness_: Annotated[float | None, typer.Option("--readiness", help="0-10")] = None,
        ill: Annotated[bool | None, typer.Option("--ill/--not-ill", help="Ill (fever, infection)")] = None,
        injured: Annotated[bool | None, typer.Option("--injured/--not-injured")] = None,
        travel: Annotated[bool | None, typer.Option("--travel/--no-travel", help="Travelling or jet-lagged")] = None,
        race: Annotated[bool | None, typer.Option("--race/--no-race", help="Raced today (a race day for the engine)")] = None,
        note: Annotated[str | None, typer.Option(help="A note (at most 2,000 characters)")] = None,
        day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: the athlete's today)")] = None,
        athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id")] = None,
    ) -> None:
        """Check in for a day (how you feel); Today's advice is recomputed at once."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            the_day = parse_day(day) if day else metrics.local_today(st.ctx, who.tz)
            c = checkin_svc.submit_checkin(
                st.ctx, access.Actor.system(), who.id, day=the_day, energy=energy, mood=mood, motivation=motivation,
                soreness=soreness, sleep_quality=sleep_quality, stress=stress, sleep_h=sleep_h,
                readiness=readiness_, illness=ill, injury=injured, travel=travel, race=race, note=note)
            view = readiness.day_view(st.ctx, access.Actor.system(), who.id, day=the_day)
        answered = [f for f in ("energy", "mood", "motivation", "soreness", "sleep_quality", "stress", "sleep_h",
                                "readiness", "illness", "injury", "travel", "race", "note") if getattr(c, f) is not None]
        console.print(f"Checked in for {c.day} ({', '.join(answered) or 'nothing answered'}).")
        rec = view.recommendation
        console.print(f"[bold]{view.day}  {view.headline}[/] → {rec.get('text', rec.get('code', ''))}")
