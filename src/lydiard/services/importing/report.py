"""What an import did, file by file: :class:`ItemResult` rows gathered in an :class:`ImportReport`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

WARNING_PREFIX = "imported with a warning: "  #: how an imported file's reason starts when it has one


@dataclass(frozen=True, slots=True)
class ItemResult:
    """The outcome of one file (or archive member)."""

    source: str  #: what the user named (a path)
    item: str  #: the file, or the member inside an archive
    outcome: str  #: "imported" | "duplicate" | "failed" | "skipped"
    reason: str | None = None
    activity_id: str | None = None
    days: tuple[date, ...] = ()  #: local days touched, for recompute


@dataclass
class ImportReport:
    run_id: str
    items: list[ItemResult] = field(default_factory=list)

    def counts_by_source(self) -> dict[str, Counter[str]]:
        out: dict[str, Counter[str]] = {}
        for it in self.items:
            out.setdefault(it.source, Counter())[it.outcome] += 1
        return out

    @property
    def earliest_day(self) -> date | None:
        days = [d for it in self.items if it.outcome == "imported" for d in it.days]
        return min(days) if days else None

    def failures(self) -> list[ItemResult]:
        return [it for it in self.items if it.outcome == "failed"]

    def warnings(self) -> list[ItemResult]:
        """Files imported with a warning (their ``reason`` says what)."""
        return [it for it in self.items
                if it.outcome == "imported" and (it.reason or "").startswith(WARNING_PREFIX)]


ProgressFn = Callable[[ItemResult], None]


def _emit(ctx: object, report: ImportReport, athlete_id: str, result: ItemResult, progress: ProgressFn | None) -> None:
    report.items.append(result)
    if progress is not None:
        progress(result)
