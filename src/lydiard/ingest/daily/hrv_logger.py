"""HRV Logger (Marco Altini's app) exports: one recording is several CSV files read together.

A recording ``<prefix>`` is exported as (header lines as the app writes them, with spaces):

=========================  =====================================  ==========================
file                       columns                                 used
=========================  =====================================  ==========================
``<prefix>_RRIntervals``   ``timestamp, rr, since_start``          every beat: rMSSD, mean HR
``<prefix>_HR.csv``        ``timestamp, since_start, heart_rate``  not needed (HR from beats)
``<prefix>_Features.csv``  ``timestamp, HR, AVNN, SDNN, rMSSD,``   not used: the app's own
                           ``pNN50, LF, HF, LFHF, alpha_1,``       windowed features; rMSSD is
                           ``artifacts_removed``                   recomputed from the beats
``<prefix>_Event.csv``     the events tagged during the reading    not used
=========================  =====================================  ==========================

``timestamp`` is Unix time in **milliseconds** (e.g. ``1675889367255`` = 2023-02-08 20:49:27
UTC); older exports wrote a local date-time instead, which is read too. ``rr`` is in ms.

The recording gives one morning value on the local day of its first beat: rMSSD after
artefact correction (:func:`lydiard.domain.hrv.correct_rr`, Lipponen & Tarvainen 2019) with
the N denominator (Task Force 1996), and ``rhr_bpm`` = 60000 / mean corrected RR.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.domain.hrv import correct_rr, rmssd_ms
from lydiard.errors import CorruptFileError, EmptyFileError
from lydiard.ingest.daily._common import (
    csv_rows,
    decode_text,
    header_key,
    local_day,
    zone,
)
from lydiard.ingest.daily.rr import parse_instant

SOURCE = "hrv-logger"
#: File kinds of one recording, by the suffix of the file name.
KINDS: tuple[str, ...] = ("RRIntervals", "Features", "HR", "Event")
_NAME_RE = re.compile(r"^(?P<prefix>.+)_(?P<kind>RRIntervals|Features|HR|Event)\.csv$", re.IGNORECASE)
#: Fewer beats than this cannot give a meaningful rMSSD (≈ 20 s).
MIN_BEATS = 20
#: The same in the file name is one recording: a later one of the same day is not a morning value.
MORNING = "morning"


def recording_part(name: str) -> tuple[str, str] | None:
    """``(prefix, kind)`` when ``name`` is a file of an HRV Logger recording, else None."""
    base = name.rsplit("/", 1)[-1]
    match = _NAME_RE.match(base)
    if match is None:
        return None
    kind = next(k for k in KINDS if k.lower() == match.group("kind").lower())
    return name[: len(name) - len(base)] + match.group("prefix"), kind


def is_features_header(keys: list[str]) -> bool:
    """Whether normalised header keys are an HRV Logger ``_Features.csv`` (not an HRV4Training export)."""
    return {"rmssd", "avnn"} <= set(keys) and bool({"artifacts_removed", "alpha_1", "lfhf"} & set(keys))


@dataclass(frozen=True, slots=True)
class Recording:
    """One recording's morning value and when it started."""

    started_at: datetime  #: aware, or naive local
    observation: DailyObservation


def read_recording(name: str, rr_data: bytes, *, tz: str) -> Recording:
    """Read a recording's ``_RRIntervals.csv`` into its day's morning rMSSD and mean HR."""
    zone_info = zone(tz)
    rows = csv_rows(decode_text(rr_data, source=name), source=name)
    keys = [header_key(h) for h in rows[0][1]]
    if "rr" not in keys:
        raise CorruptFileError(name, "no 'rr' column: not an HRV Logger RR-intervals file")
    rr_col = keys.index("rr")
    t_col = keys.index("timestamp") if "timestamp" in keys else (keys.index("date") if "date" in keys else None)
    values: list[float] = []
    started_at: datetime | None = None
    for line, cells in rows[1:]:
        if rr_col >= len(cells) or not cells[rr_col]:
            continue
        try:
            values.append(float(cells[rr_col]))
        except ValueError:
            raise CorruptFileError(name, f"line {line}: {cells[rr_col]!r} is not an RR interval") from None
        if started_at is None and t_col is not None and t_col < len(cells):
            started_at = parse_instant(cells[t_col])
    if len(values) < MIN_BEATS:
        raise EmptyFileError(name, f"only {len(values)} RR intervals: at least {MIN_BEATS} are needed")
    if started_at is None:
        raise CorruptFileError(name, "no readable timestamp: the recording's day is unknown")
    correction = correct_rr(np.asarray(values, dtype=np.float64))
    rr = correction.rr_ms
    day: date = local_day(started_at, tz=zone_info)
    return Recording(started_at, DailyObservation(
        day=day, source=SOURCE, rmssd_ms=round(rmssd_ms(rr), 2), hrv_kind=MORNING,
        rr_corrected_fraction=round(correction.corrected_fraction, 4),
        rhr_bpm=round(60000.0 / float(np.mean(rr)), 1),
    ))


def as_import(recording: Recording, *, name: str, warn_fraction: float = 0.05) -> DailyImport:
    """A recording as a daily import (with a warning when many beats were corrected)."""
    fraction = recording.observation.rr_corrected_fraction or 0.0
    warnings = ((f"{name}: {fraction:.0%} of beats corrected; the reading may be unreliable",)
                if fraction > warn_fraction else ())
    return DailyImport(observations=(recording.observation,), warnings=warnings)


__all__ = ["KINDS", "SOURCE", "Recording", "as_import", "is_features_header", "parse_instant", "read_recording",
           "recording_part"]
