"""``lydiard recompute``: daily metrics, baselines and stages for one or all athletes, on Dask."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from lydiard.errors import InvalidInputError
from lydiard.interfaces.cli.common import console, friendly_errors, resolve_athlete, state


def register(app: typer.Typer) -> None:
    @app.command("recompute")
    def recompute_cmd(
        ctx: typer.Context,
        athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Recompute one athlete (name or id)")] = None,
        all_: Annotated[bool, typer.Option("--all", help="Recompute every athlete")] = False,
        since: Annotated[str | None, typer.Option(help="Rewrite only days on or after DAY (YYYY-MM-DD)")] = None,
        scheduler: Annotated[str | None, typer.Option(help="Dask scheduler, tcp://HOST:PORT (default: a local cluster)")] = None,
        workers: Annotated[int | None, typer.Option(help="Local cluster worker processes (default: one per CPU)")] = None,
        chunk: Annotated[int, typer.Option(help="Athletes per task")] = 500,
        detail_days: Annotated[int, typer.Option(help="Recent days per athlete that get evidence/recommendation JSON")] = 7,
    ) -> None:
        """Recompute daily metrics, baselines and stages in parallel (Dask), chunk by chunk."""
        st = state(ctx)
        with friendly_errors():
            if (athlete is None) == (not all_):
                raise InvalidInputError("give either --athlete ID or --all", field="athlete")
            since_day = _day(since) if since else None
            # imported here so that other commands do not pay for importing Dask
            from lydiard.batch import cluster
            from lydiard.batch import recompute as batch

            url = st.settings.effective_database_url
            _ = st.ctx  # opens the store: creates or upgrades the schema before the workers read it
            ids = [resolve_athlete(st, athlete).id] if athlete else None
            with cluster.make_client(scheduler=scheduler, n_workers=workers) as client, Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[rate]}"), console=console.get(), transient=False,
            ) as progress:
                task = progress.add_task("Recomputing", total=None, rate="")

                def tick(p: Any) -> None:
                    progress.update(task, completed=p.chunks_done, total=p.chunks_total,
                                    rate=f"{p.athletes_done} athletes, {p.athlete_days_done:,} athlete-days")

                report = batch.recompute(client, url, athlete_ids=ids, since=since_day, chunk_athletes=chunk,
                                         detail_days=detail_days, on_progress=tick)
        console.print(
            f"Recomputed {report.athletes} athlete(s): {report.athlete_days:,} athlete-days, "
            f"{report.rows_written:,} rows written in {report.seconds:.1f} s "
            f"({report.athlete_days_per_s:,.0f} athlete-days/s)."
        )


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidInputError(f"not a date (YYYY-MM-DD): {text!r}", field="since") from exc
