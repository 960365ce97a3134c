"""``lydiard athlete set`` and ``lydiard athlete owner``: profile settings and who owns a profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from lydiard.interfaces.cli.common import console, friendly_errors, lazy, resolve_athlete, state

if TYPE_CHECKING:
    from lydiard.services import access, ownership
    from lydiard.services import athletes as athlete_svc
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    athlete_svc = lazy("lydiard.services.athletes")
    ownership = lazy("lydiard.services.ownership")


def register_athlete(athlete_app: typer.Typer) -> None:
    """Add ``set`` and ``owner`` to the ``lydiard athlete`` group."""

    @athlete_app.command("set")
    def set_cmd(
        ctx: typer.Context,
        tz: Annotated[str | None, typer.Option("--tz", help="IANA time zone, e.g. Europe/Oslo")] = None,
        sex: Annotated[str | None, typer.Option(help="m or f")] = None,
        name: Annotated[str | None, typer.Option(help="New name")] = None,
        birth_year: Annotated[int | None, typer.Option(help="e.g. 1990")] = None,
        athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id")] = None,
    ) -> None:
        """Change an athlete's time zone, sex, name or birth year (days are recomputed when the zone changes)."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            info = athlete_svc.update_profile(st.ctx, access.Actor.system(), who.id, name=name, sex=sex,
                                              birth_year=birth_year, tz=tz)
            if tz is not None and tz != who.tz:
                from lydiard.services.metrics import recompute_athlete

                recompute_athlete(st.ctx, access.Actor.system(), who.id)
        console.print(f"[bold]{info.name}[/]: time zone {info.tz}, sex {info.sex or 'not set'}, "
                      f"birth year {info.birth_year or 'not set'}.")

    @athlete_app.command("owner")
    def owner_cmd(
        ctx: typer.Context,
        name: Annotated[str, typer.Argument(help="Athlete name or id")],
        email: Annotated[str, typer.Argument(help="The account that will own the athlete")],
    ) -> None:
        """Hand an athlete over to an account (coaches link through the invitation and consent flow instead)."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, name)
            claimed = ownership.set_owner(st.ctx, access.Actor.system(), who.id, email)
        how = "as its own athlete profile" if claimed.own else "as an athlete it manages (it has a profile already)"
        console.print(f"[bold]{claimed.name}[/] now belongs to {email} {how}.")
