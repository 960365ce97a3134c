"""The ``lydiard`` command line (Typer + Rich)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from lydiard.interfaces.cli import activities, backup, batch, checkin, plan, reprocess, serve, users
from lydiard.interfaces.cli.common import (
    State,
    console,
    friendly_errors,
    lazy,
    parse_day,
    resolve_athlete,
    state,
)

if TYPE_CHECKING:
    from lydiard.services import access, importing, metrics, pipeline, readiness
    from lydiard.services import athletes as athlete_svc
else:  # imported when a command runs: `lydiard --help` stays fast
    access = lazy("lydiard.services.access")
    athlete_svc = lazy("lydiard.services.athletes")
    importing = lazy("lydiard.services.importing")
    metrics = lazy("lydiard.services.metrics")
    pipeline = lazy("lydiard.services.pipeline")
    readiness = lazy("lydiard.services.readiness")

#: The kinds of :data:`lydiard.domain.thresholds.THRESHOLD_RANGES` (spelt out: importing the
#: service for a help text would slow every command; a test checks they agree).
THRESHOLD_KINDS_HELP = "hr_rest_bpm, hr_max_bpm, lthr_bpm, ftp_w, threshold_speed_mps"

AthleteOpt = Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id (default: the only one)")]


def build_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False,
                      help="Lydiard: fatigue-aware training. Fatigue is a signal, not a failure.")

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        from lydiard.config import Settings

        ctx.obj = State(settings=Settings())
        ctx.call_on_close(ctx.obj.close)

    @app.command("import")
    def import_cmd(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Files, folders or archives (Garmin/Strava exports, FIT/TCX/GPX, HRV, Fitbit, PMSys...)")],
        athlete: AthleteOpt = None,
        tz: Annotated[str | None, typer.Option(help="Time zone of a newly created athlete (IANA name)")] = None,
    ) -> None:
        """Import an athlete's training history; running it again imports nothing twice.

        Exit status: 0 when every input was imported or already present, 1 when some file
        failed, 3 when nothing was imported at all.
        """
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete, create=True, tz=tz)
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console.get(), transient=True) as progress:
                task = progress.add_task("Importing", total=None)

                def tick(item: importing.ItemResult) -> None:
                    progress.update(task, advance=1, description=f"Importing {Path(item.item).name[:40]}")

                report = importing.import_paths(st.ctx, access.Actor.system(), who.id, paths, progress=tick)
        _print_report(report)
        if report.exit_status():
            raise typer.Exit(report.exit_status())

    athlete_app = typer.Typer(help="Athletes and their thresholds.", no_args_is_help=True)
    app.add_typer(athlete_app, name="athlete")
    from lydiard.interfaces.cli import athlete as athlete_cli

    athlete_cli.register_athlete(athlete_app)

    @athlete_app.command("create")
    def athlete_create(ctx: typer.Context, name: str, sex: Annotated[str | None, typer.Option(help="m or f")] = None,
                       birth_year: int | None = None,
                       tz: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Oslo")] = "UTC") -> None:
        """Create an athlete profile."""
        with friendly_errors():
            a = athlete_svc.create_athlete(state(ctx).ctx, access.Actor.system(), name=name, sex=sex, birth_year=birth_year, tz=tz)
        console.print(f"Created [bold]{a.name}[/] ({a.id})")

    @athlete_app.command("list")
    def athlete_list(ctx: typer.Context) -> None:
        """List athletes."""
        with friendly_errors():
            rows = athlete_svc.list_athletes(state(ctx).ctx, access.Actor.system())
        table = Table("id", "name", "sex", "tz")
        for a in rows:
            table.add_row(a.id, a.name, a.sex or "", a.tz)
        console.print(table)

    @athlete_app.command("threshold")
    def athlete_threshold(ctx: typer.Context, kind: Annotated[str, typer.Argument(help=THRESHOLD_KINDS_HELP)],
                          value: float, valid_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (default today)")] = None,
                          athlete: AthleteOpt = None) -> None:
        """Set a threshold (max HR, LTHR, FTP...) valid from a day on, then recompute."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            day = _parse_day(valid_from) if valid_from else date.today()
            done = athlete_svc.set_threshold(st.ctx, access.Actor.system(), who.id, kind=kind, value=value,
                                             valid_from=day)
        rescored = done.sessions_rescored
        console.print(f"{kind} = {value:g} from {day}; {rescored} activit{'y' if rescored == 1 else 'ies'} "
                      f"rescored, {done.days_written} day(s) updated.")
        if done.days_written == 0:
            why = (f"no activity is dated on or after {day}, the day the threshold holds from" if rescored == 0
                   else "the loads of those days came out the same: a heart-rate load needs hr_rest_bpm, "
                        "hr_max_bpm and lthr_bpm, and a power or pace threshold decides where there is one")
            console.print(f"[yellow]Nothing changed:[/] {why}. To rescore earlier activities, give the day from "
                          f"which the value holds: `lydiard athlete threshold {kind} {value:g} --from YYYY-MM-DD`.")

    @app.command("today")
    def today_cmd(ctx: typer.Context, athlete: AthleteOpt = None,
                  day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """What the data and the body say today, and what to do."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            view = readiness.day_view(st.ctx, access.Actor.system(), who.id, day=_parse_day(day) if day else None)
        if as_json:
            console.print_json(json.dumps(_view_json(view), default=str))
            return
        rec = view.recommendation
        console.print(f"[bold]{view.day}  {view.headline}[/]  (confidence {view.confidence:.0%})")
        _print_freshness(st, who.id, calibrating=view.stage == "calibrating")
        console.print(f"[bold green]→ {rec.get('text', rec.get('code', ''))}[/]")
        if view.data_feel_agree is False:
            console.print("[yellow]The data and how you feel disagree: the feeling is weighed heavily.[/]")
        table = Table("marker", "value", "normal range", "days out", "threshold (source)")
        for name, ev in (view.evidence.get("markers") or view.evidence).items():
            if isinstance(ev, dict) and "value" in ev:
                table.add_row(name, _fmt(ev.get("value")), f"{_fmt(ev.get('low'))} – {_fmt(ev.get('high'))}",
                              str(ev.get("days_out_of_range", "")), f"{ev.get('threshold', '')} ({ev.get('source', '')})")
        console.print(table)

    @app.command("replay")
    def replay_cmd(ctx: typer.Context,
                   start: Annotated[str, typer.Option("--from", help="YYYY-MM-DD")],
                   end: Annotated[str, typer.Option("--to", help="YYYY-MM-DD")],
                   athlete: AthleteOpt = None) -> None:
        """Show what Lydiard would have said each day (causal: each day sees only its past)."""
        st = state(ctx)
        with friendly_errors():
            first, last = parse_day(start, field="from"), parse_day(end, field="to")
            if first > last:
                from lydiard.errors import InvalidInputError

                raise InvalidInputError(f"--from {first} is after --to {last}", field="from")
            who = resolve_athlete(st, athlete)
            views = readiness.replay(st.ctx, access.Actor.system(), who.id, start=first, end=last)
        table = Table("day", "stage", "conf.", "TSB", "advice")
        for v in views:
            table.add_row(v.day.isoformat(), v.headline, f"{v.confidence:.0%}", _fmt(v.numbers.get("tsb")),
                          str(v.recommendation.get("code", "")))
        console.print(table)

    @app.command("recompute-athlete", hidden=True)
    def recompute_one(ctx: typer.Context, athlete: AthleteOpt = None) -> None:
        """Recompute one athlete's daily metrics in this process."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            res = pipeline.after_change(st.ctx, access.Actor.system(), who.id,
                                        pipeline.Change.data(since=None)).recompute
        if res is not None:
            console.print(f"{res.days_written} day(s) written, {res.days_unchanged} unchanged.")

    db_app = typer.Typer(help="The store.", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(ctx: typer.Context) -> None:
        """Create or upgrade the database schema to the newest revision."""
        st = state(ctx)
        with friendly_errors():
            _ = st.ctx
        console.print(f"Store at {st.settings.effective_database_url.split('@')[-1]} is up to date.")

    for module in (serve, users, plan, batch, backup, checkin, activities, reprocess):  # they register themselves
        module.register(app)
    return app


def _print_freshness(st: State, athlete_id: str, *, calibrating: bool) -> None:
    """How old the last data is; why "Calibrating" shows for an athlete with a long history."""
    from lydiard.services.freshness import freshness

    with friendly_errors():
        f = freshness(st.ctx, access.Actor.system(), athlete_id)

    def age(day: date | None) -> str:
        n = f.age_days(day)
        return "none" if day is None or n is None else (
            f"{day} (today)" if n == 0 else f"{day} ({n} day{'s' if n != 1 else ''} ago)")

    console.print(f"Last data: activity {age(f.last_activity)}, recovery/wellness {age(f.last_daily)}, "
                  f"check-in {age(f.last_checkin)}.")
    if f.guessed_loads_28d:
        console.print(f"[yellow]{f.guessed_loads_28d} activit{'y' if f.guessed_loads_28d == 1 else 'ies'} of the "
                      "last 28 days ha{} a load guessed from duration only[/]: a heart-rate load needs "
                      "hr_rest_bpm, hr_max_bpm and lthr_bpm, e.g. `lydiard athlete threshold lthr_bpm 170 "
                      "--from YYYY-MM-DD`."
                      .format("s" if f.guessed_loads_28d == 1 else "ve"))
    if f.stale and f.history_days >= 28:
        console.print(f"[yellow]No recent data:[/] you have {f.history_days} days of history, but nothing since "
                      f"{f.last_any}. {'The assessment calibrates again on recent days: ' if calibrating else ''}"
                      "import your latest files or check in (`lydiard checkin`).")


def _parse_day(text: str) -> date:
    return parse_day(text)


def _fmt(v: Any) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 10 else f"{v:.0f}"
    return str(v)


def _view_json(view: readiness.DayView) -> dict[str, Any]:
    return {"day": view.day, "stage": view.stage, "headline": view.headline, "confidence": view.confidence,
            "risk_score": view.risk_score, "data_feel_agree": view.data_feel_agree,
            "recommendation": view.recommendation, "evidence": view.evidence, "numbers": view.numbers}


def _print_report(report: importing.ImportReport) -> None:
    from lydiard.interfaces.cli.import_report import print_report

    print_report(report)


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()
