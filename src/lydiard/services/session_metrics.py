"""Per-session metrics with the thresholds valid on the session's day."""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from lydiard.domain.activity import Activity
from lydiard.domain.load.session import SessionMetrics, Thresholds, session_metrics
from lydiard.domain.thresholds import ThresholdValue, thresholds_on

_COLUMNS = (
    "trimp_banister", "hr_tss", "np_w", "intensity_factor", "power_tss", "running_tss", "srpe_au",
    "efficiency_factor", "decoupling_pct", "elevation_gain_m",
)


def thresholds_for(history: list[ThresholdValue], day: date, *, sex: str | None) -> tuple[Thresholds, dict[str, Any]]:
    """The domain ``Thresholds`` valid on ``day``, and a record of what was used."""
    valid = thresholds_on(history, day)
    values = {k: v.value for k, v in valid.items()}
    used = {k: {"value": v.value, "valid_from": v.valid_from.isoformat(), "estimated": v.estimated}
            for k, v in valid.items()}
    return Thresholds(
        hr_rest_bpm=values.get("hr_rest_bpm"), hr_max_bpm=values.get("hr_max_bpm"),
        lthr_bpm=values.get("lthr_bpm"), ftp_w=values.get("ftp_w"),
        threshold_speed_mps=values.get("threshold_speed_mps"), sex=sex,
    ), used


def compute_session_metrics(
    act: Activity, *, day: date, history: list[ThresholdValue], sex: str | None, rpe: float | None,
) -> tuple[SessionMetrics, dict[str, Any]]:
    th, used = thresholds_for(history, day, sex=sex)
    m = session_metrics(act.records, sport=act.summary.sport, thresholds=th,
                        duration_s=act.summary.duration_s, rpe=rpe)
    return m, used


def _clean(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, float | np.floating):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else v
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, pd.Series):
        keys = [str(int(k)) if isinstance(k, int | np.integer) else str(k) for k in value.index.tolist()]
        if value.dtype == np.float64:  # the curves: NaN and inf are stored as None
            return {k: (v if math.isfinite(v) else None) for k, v in zip(keys, value.to_numpy().tolist(), strict=True)}
        return {k: _clean(v) for k, v in zip(keys, value.tolist(), strict=True)}
    if isinstance(value, np.ndarray):
        return [_clean(x) for x in value.tolist()]
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _clean(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return value


def session_metrics_row(activity_id: str, computed: tuple[SessionMetrics, dict[str, Any]], now: datetime) -> dict[str, Any]:
    """A ``session_metrics`` table row: headline numbers in columns, the rest as JSON."""
    m, used = computed
    data = _clean(m)
    assert isinstance(data, dict)
    row: dict[str, Any] = {c: data.get(c) for c in _COLUMNS if c != "srpe_au"}
    row["srpe_au"] = data.get("srpe_load_au")
    row.update(activity_id=activity_id, load_au=float(data.get("load_au") or 0.0),
               load_source=str(data.get("load_source") or "none"), thresholds_used=used or None,
               computed_at=now)
    row["details"] = {k: v for k, v in data.items() if k not in _COLUMNS and k not in ("load_au", "load_source", "srpe_load_au")}
    return row
