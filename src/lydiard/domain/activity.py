"""The in-memory activity: samples, laps, RR intervals and a summary.

Every ingest adapter (FIT, TCX, GPX...) produces an :class:`Activity`. Samples are
a pandas DataFrame with a tz-aware UTC ``time`` column and the unit-named columns
of :class:`lydiard.domain.columns.Col` (float64, NaN where the device did not
record the channel).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from lydiard.domain.columns import LAP_COLUMNS, SAMPLE_COLUMNS, Col

#: Sports Lydiard knows; anything else is ``"other"``.
SPORTS: tuple[str, ...] = (
    "run", "ride", "swim", "walk", "hike", "row", "ski", "strength", "other",
)


@dataclass(frozen=True, slots=True)
class ActivitySummary:
    """Whole-session summary values (SI units in the names)."""

    sport: str
    started_at: datetime  #: tz-aware UTC
    duration_s: float  #: elapsed time, first to last sample (or the device's total)
    moving_time_s: float  #: time with speed above the moving threshold (or timer time)
    distance_m: float | None
    avg_hr_bpm: float | None
    max_hr_bpm: float | None
    avg_power_w: float | None
    sub_sport: str | None = None
    device: str | None = None  #: manufacturer/product as reported by the file
    name: str | None = None


@dataclass(frozen=True, slots=True)
class CleaningReport:
    """What the sample cleaner changed, per rule, so nothing is silently altered."""

    counts: dict[str, int] = field(default_factory=dict)  #: rule name -> samples set to NaN

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class Activity:
    """One recorded session."""

    records: pd.DataFrame  #: one row per recorded sample; ``time`` + unit-named columns
    summary: ActivitySummary
    laps: pd.DataFrame  #: one row per lap (columns of ``LapCol``)
    rr_ms: NDArray[np.float64]  #: RR intervals in ms from HRV messages, or empty
    source_format: str  #: "fit", "tcx", "gpx"
    cleaning: CleaningReport = field(default_factory=CleaningReport)
    warnings: tuple[str, ...] = ()  #: non-fatal problems met while reading


def empty_records() -> pd.DataFrame:
    """An empty records frame with the canonical columns and dtypes."""
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in SAMPLE_COLUMNS})
    frame.insert(0, Col.TIME.value, pd.Series([], dtype="datetime64[ns, UTC]"))
    return frame


def empty_laps() -> pd.DataFrame:
    """An empty laps frame with the canonical columns."""
    frame = pd.DataFrame({c: pd.Series([], dtype="float64") for c in LAP_COLUMNS[1:]})
    frame.insert(0, LAP_COLUMNS[0], pd.Series([], dtype="datetime64[ns, UTC]"))
    return frame
