"""The ``lydiard`` command line (Typer + Rich)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from lydiard.config import Settings
from lydiard.errors import InvalidInputError
from lydiard.interfaces.cli import backup, batch, plan, serve, users
from lydiard.interfaces.cli.common import State, console, friendly_errors, resolve_athlete, state
from lydiard.services import athletes as athlete_svc
from lydiard.services import importing, pipeline, readiness
from lydiard.services.access import Actor

AthleteOpt = Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id (default: the only one)")]


def build_app() -> typer.Typer:
    app = typer.Typer(no_args_is_help=True, add_completion=False,
                      help="Lydiard: fatigue-aware training. Fatigue is a signal, not a failure.")

    @app.callback()
    def _root(ctx: typer.Context) -> None:
        ctx.obj = State(settings=Settings())
        ctx.call_on_close(ctx.obj.close)

    @app.command("import")
    def import_cmd(
        ctx: typer.Context,
        paths: Annotated[list[Path], typer.Argument(help="Files, folders or archives (Garmin/Strava exports, FIT/TCX/GPX, HRV, Fitbit, PMSys...)")],
        athlete: AthleteOpt = None,
        tz: Annotated[str | None, typer.Option(help="Time zone of a newly created athlete (IANA name)")] = None,
    ) -> None:
        """Import an athlete's training history; running it again imports nothing twice."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete, create=True, tz=tz)
            with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                          TimeElapsedColumn(), console=console.get(), transient=True) as progress:
                task = progress.add_task("Importing", total=None)

                def tick(item: importing.ItemResult) -> None:
                    progress.update(task, advance=1, description=f"Importing {Path(item.item).name[:40]}")

                report = importing.import_paths(st.ctx, Actor.system(), who.id, paths, progress=tick)
        _print_report(report)

    athlete_app = typer.Typer(help="Athletes and their thresholds.", no_args_is_help=True)
    app.add_typer(athlete_app, name="athlete")

    @athlete_app.command("create")
    def athlete_create(ctx: typer.Context, name: str, sex: Annotated[str | None, typer.Option(help="m or f")] = None,
                       birth_year: int | None = None,
                       tz: Annotated[str, typer.Option(help="IANA time zone, e.g. Europe/Oslo")] = "UTC") -> None:
        """Create an athlete profile."""
        with friendly_errors():
            a = athlete_svc.create_athlete(state(ctx).ctx, Actor.system(), name=name, sex=sex, birth_year=birth_year, tz=tz)
        console.print(f"Created [bold]{a.name}[/] ({a.id})")

    @athlete_app.command("list")
    def athlete_list(ctx: typer.Context) -> None:
        """List athletes."""
        with friendly_errors():
            rows = athlete_svc.list_athletes(state(ctx).ctx, Actor.system())
        table = Table("id", "name", "sex", "tz")
        for a in rows:
            table.add_row(a.id, a.name, a.sex or "", a.tz)
        console.print(table)

    @athlete_app.command("threshold")
    def athlete_threshold(ctx: typer.Context, kind: Annotated[str, typer.Argument(help=", ".join(athlete_svc.THRESHOLD_RANGES))],
                          value: float, valid_from: Annotated[str | None, typer.Option("--from", help="YYYY-MM-DD (default today)")] = None,
                          athlete: AthleteOpt = None) -> None:
        """Set a threshold (max HR, LTHR, FTP...) valid from a day on, then recompute."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            day = _parse_day(valid_from) if valid_from else date.today()
            athlete_svc.set_threshold(st.ctx, Actor.system(), who.id, kind=kind, value=value, valid_from=day)
        console.print(f"{kind} = {value:g} from {day}; sessions re-scored and metrics updated.")

    @app.command("today")
    def today_cmd(ctx: typer.Context, athlete: AthleteOpt = None,
                  day: Annotated[str | None, typer.Option(help="YYYY-MM-DD (default: today)")] = None,
                  as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """What the data and the body say today, and what to do."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            view = readiness.day_view(st.ctx, Actor.system(), who.id, day=_parse_day(day) if day else None)
        if as_json:
            console.print_json(json.dumps(_view_json(view), default=str))
            return
        rec = view.recommendation
        console.print(f"[bold]{view.day}  {view.headline}[/]  (confidence {view.confidence:.0%})")
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
            who = resolve_athlete(st, athlete)
            views = readiness.replay(st.ctx, Actor.system(), who.id, start=_parse_day(start), end=_parse_day(end))
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
            res = pipeline.after_change(st.ctx, Actor.system(), who.id, pipeline.Change.data(since=None)).recompute
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

    for module in (serve, users, plan, batch, backup):  # sub-commands that register themselves
        module.register(app)
    return app


def _parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(f"not a date (YYYY-MM-DD): {text!r}", field="day") from exc


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
    table = Table("source", "imported", "already present", "failed", "skipped", title="Import summary")
    table.columns[0].overflow = "fold"
    for source, counts in report.counts_by_source().items():
        table.add_row(source, str(counts["imported"]), str(counts["duplicate"]), str(counts["failed"]),
                      str(counts["skipped"]))
    console.print(table)
    for items, heading, title in ((report.failures(), "why it failed", "file(s) failed"),
                                  (report.warnings(), "warning", "file(s) imported with a warning")):
        if not items:
            continue
        ft = Table("file", heading, title=f"{len(items)} {title}")
        for column in ft.columns:
            column.overflow = "fold"
        for f in items[:200]:
            item = f.item[len(f.source):].lstrip("/") if f.item.startswith(f.source) and f.item != f.source else f.item
            reason = (f.reason or "").replace(f"{f.item}: ", "")
            ft.add_row(item, reason)
        console.print(ft)


def main() -> None:
    build_app()()


if __name__ == "__main__":
    main()
