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
    problems: tuple[str, ...] = ()  #: what was skipped inside the file (rows, values), capped with a count
    n_days: int = 0  #: days of daily data read from the file
    n_sessions: int = 0  #: logged sessions read from the file
    load_source: str | None = None  #: how an imported activity's load was computed (``duration_default``: a guess)


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

    def by_outcome(self, outcome: str) -> list[ItemResult]:
        return [it for it in self.items if it.outcome == outcome]

    def read_counts(self) -> dict[str, int]:
        """What the import read: activities imported, days of daily data and logged sessions."""
        return {
            "activities": sum(1 for it in self.items if it.outcome == "imported" and it.activity_id is not None),
            "days": sum(it.n_days for it in self.items if it.outcome in ("imported", "duplicate")),
            "sessions": sum(it.n_sessions for it in self.items if it.outcome in ("imported", "duplicate")),
        }

    def guessed_loads(self) -> list[ItemResult]:
        """Imported activities whose load is a duration guess (no threshold covers their day)."""
        return [it for it in self.items if it.outcome == "imported" and it.load_source == "duration_default"]

    def exit_status(self) -> int:
        """0: every input imported or already present; 1: some failed; 3: nothing usable was imported."""
        if not any(it.outcome in ("imported", "duplicate") for it in self.items):
            return 3
        return 1 if self.failures() else 0

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
