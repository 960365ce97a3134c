"""The import summary the CLI prints: a row per input, what was read, every problem (capped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table

from lydiard.interfaces.cli.common import console

if TYPE_CHECKING:
    from lydiard.services.importing import ImportReport, ItemResult

#: Files listed per kind (failed, duplicate, skipped...); the rest are counted.
MAX_LISTED = 50


def _short(it: ItemResult) -> str:
    return it.item[len(it.source):].lstrip("/") if it.item.startswith(it.source) and it.item != it.source else it.item


def _listing(items: list[ItemResult], heading: str, title: str, *, with_problems: bool = False) -> None:
    if not items:
        return
    table = Table("file", heading, title=f"{len(items)} {title}")
    for column in table.columns:
        column.overflow = "fold"
    for it in items[:MAX_LISTED]:
        reason = (it.reason or "").replace(f"{it.item}: ", "")
        if with_problems and it.problems and "nothing usable" not in reason:
            reason += "\n" + "\n".join(f"• {p}" for p in it.problems)
        table.add_row(escape(_short(it)), escape(reason))
    if len(items) > MAX_LISTED:
        table.add_row(f"… and {len(items) - MAX_LISTED} more", "")
    console.print(table)


def print_report(report: ImportReport) -> None:
    """Print the summary, the lists of failed, duplicate, skipped and partly read files, and hints."""
    table = Table("source", "imported", "already present", "failed", "skipped", title="Import summary")
    table.columns[0].overflow = "fold"
    for source, counts in report.counts_by_source().items():
        table.add_row(escape(source), str(counts["imported"]), str(counts["duplicate"]), str(counts["failed"]),
                      str(counts["skipped"]))
    console.print(table)
    read = report.read_counts()
    console.print(f"Read: {read['activities']} new activit{'y' if read['activities'] == 1 else 'ies'}, "
                  f"{read['days']} day(s) of daily data, {read['sessions']} logged session(s).")
    _listing(report.failures(), "why it failed", "file(s) failed", with_problems=True)
    _listing(report.warnings() + [it for it in report.by_outcome("imported") if it.problems],
             "warning", "file(s) imported with a warning or skipped rows", with_problems=True)
    _listing(report.by_outcome("duplicate"), "already present as", "duplicate file(s) (not imported again)",
             with_problems=True)
    _listing(report.by_outcome("skipped"), "why", "file(s) skipped")
    guessed = report.guessed_loads()
    if guessed:
        first = min(d for it in guessed for d in it.days) if any(it.days for it in guessed) else None
        since = f" --from {first}" if first else ""
        console.print(
            f"[yellow]warning:[/] {len(guessed)} activit{'y has' if len(guessed) == 1 else 'ies have'} a load guessed "
            "from duration only: no heart-rate, power or pace threshold covers their day. A heart-rate load needs "
            f"three: `lydiard athlete threshold hr_rest_bpm 50{since}`, `... hr_max_bpm 190{since}` and "
            f"`... lthr_bpm 170{since}` (with your own values; loads are recomputed).")
    status = report.exit_status()
    if status == 3:
        console.print("[bold red]Nothing was imported[/] (every input failed or was skipped).")
    elif status == 1:
        console.print(f"[bold red]{len(report.failures())} file(s) failed[/]; the others were imported.")
