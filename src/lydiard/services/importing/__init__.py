"""Importing an athlete's history: workout files, archives, folders and daily-data exports.

Each workout file is imported atomically (one transaction: activity, samples, laps,
RR intervals, session metrics); the original bytes are kept content-addressed so
every metric can be recomputed later. A failure in one file is recorded with its
reason and the batch carries on. Re-running an import adds nothing twice: files are
de-duplicated by SHA-256, activities by (sport, start within a minute), daily rows by
(day, source), logged sessions by their source id.

Modules: :mod:`.entry` (entry points), :mod:`.report` (the per-file report),
:mod:`.workouts` (the batch pipeline of workout files), :mod:`.daily` (daily data).
"""

from __future__ import annotations

from lydiard.errors import IngestError
from lydiard.services.importing.daily import (
    OBSERVATION_FIELDS,
    store_daily_import,
    upsert_observation,
)
from lydiard.services.importing.entry import (
    WorkBudget,
    import_paths,
    import_run_items,
    import_upload,
)
from lydiard.services.importing.report import WARNING_PREFIX, ImportReport, ItemResult, ProgressFn
from lydiard.services.importing.workouts import (
    COMMIT_GROUP_FILES,
    DUPLICATE_START_TOLERANCE,
    PARALLEL_MIN_FILES,
    ImportBatch,
    import_activity_bytes,
    parse_workers,
)

__all__ = [
    "COMMIT_GROUP_FILES",
    "DUPLICATE_START_TOLERANCE",
    "OBSERVATION_FIELDS",
    "PARALLEL_MIN_FILES",
    "WARNING_PREFIX",
    "ImportBatch",
    "ImportReport",
    "IngestError",
    "ItemResult",
    "ProgressFn",
    "WorkBudget",
    "apply_session_log",
    "import_activity_bytes",
    "import_paths",
    "import_run_items",
    "import_upload",
    "parse_workers",
    "store_daily_import",
    "upsert_observation",
]
