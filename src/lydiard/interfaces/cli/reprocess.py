"""``lydiard reprocess``: rebuild an athlete's sessions and daily data from what is kept."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Annotated

import typer

from lydiard.interfaces.cli.common import console, friendly_errors, lazy, resolve_athlete, state

if TYPE_CHECKING:
    from lydiard.services import access, pipeline
    from lydiard.services.importing import daily as daily_import
else:  # imported when a command runs
    access = lazy("lydiard.services.access")
    daily_import = lazy("lydiard.services.importing.daily")
    pipeline = lazy("lydiard.services.pipeline")


def register(app: typer.Typer) -> None:
    @app.command("reprocess")
    def reprocess_cmd(
        ctx: typer.Context,
        athlete: Annotated[str | None, typer.Option("--athlete", "-a", help="Athlete name or id")] = None,
    ) -> None:
        """Re-score every session from its stored streams, re-read every kept daily-data original, recompute."""
        st = state(ctx)
        with friendly_errors():
            who = resolve_athlete(st, athlete)
            system = access.Actor.system()
            results = daily_import.rebuild_daily_from_originals(st.ctx, system, who.id)
            # the pipeline re-scores every session and recomputes the whole history
            done = pipeline.after_change(st.ctx, system, who.id, pipeline.Change.thresholds(since=None))
        n_sessions = done.sessions_rescored
        counts = Counter(r.outcome for r in results)
        console.print(f"{n_sessions} session(s) re-scored; {len(results)} kept daily file(s) read again "
                      f"({counts['imported']} changed something, {counts['duplicate']} unchanged, "
                      f"{counts['skipped']} skipped, {counts['failed']} failed); "
                      f"{done.days_written} day(s) rewritten.")
        for r in results:
            if r.outcome == "failed":
                console.print(f"[red]failed:[/] {r.item}: {r.reason}")
        if counts["failed"]:
            raise typer.Exit(1)
