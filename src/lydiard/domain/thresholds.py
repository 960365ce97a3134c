"""An athlete's physiological thresholds through time: each value holds from its ``valid_from`` day on.

Pure rules (no storage): the plausible range of every threshold kind and which value is
valid on a given day.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

__all__ = ["THRESHOLD_RANGES", "ThresholdValue", "thresholds_on"]

#: Threshold kinds with their plausible range (inclusive), in the unit of the name.
THRESHOLD_RANGES: dict[str, tuple[float, float]] = {
    "hr_rest_bpm": (25.0, 120.0),
    "hr_max_bpm": (100.0, 240.0),
    "lthr_bpm": (80.0, 230.0),
    "ftp_w": (30.0, 700.0),
    "threshold_speed_mps": (1.0, 8.0),
}


@dataclass(frozen=True, slots=True)
class ThresholdValue:
    """One threshold ``value`` (unit of ``kind``) valid from the local day ``valid_from`` on."""

    kind: str
    value: float
    valid_from: date
    estimated: bool


def thresholds_on(history: Iterable[ThresholdValue], day: date) -> dict[str, ThresholdValue]:
    """The threshold values valid on ``day``: per kind, the one with the latest ``valid_from`` ≤ ``day``.

    ``history`` may come in any order.
    """
    out: dict[str, ThresholdValue] = {}
    for t in history:
        if t.valid_from <= day and (t.kind not in out or out[t.kind].valid_from <= t.valid_from):
            out[t.kind] = t
    return out
