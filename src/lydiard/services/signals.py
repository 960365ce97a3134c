"""Engine signals from stored sessions, for the per-athlete recompute and the batch alike.

Both paths read the same stored columns (:data:`FILE_COLUMNS` of a recorded session,
:data:`LOG_COLUMNS` of a logged session without a file, planned race days), turn them into
one sessions table (:func:`sessions_table`) and call
:func:`lydiard.domain.load.markers.day_signals` once: the markers, race days and the rule
that made each race day are derived in one place. :func:`engine_inputs` passes on only
the columns the stage engine understands (``stage.INPUT_COLUMNS`` at run time).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import ColumnElement, Integer, Select, cast, select

from lydiard.domain.load.markers import MARKER_COLUMNS, RACE_RULES, day_signals, last_race
from lydiard.domain.recovery import INPUT_COLUMNS as STAGE_INPUTS
from lydiard.storage.tables import activities, planned_sessions, session_logs
from lydiard.storage.tables import session_metrics as sm

#: Stored columns of a recorded session read for the signals (after athlete id and day).
FILE_COLUMNS: tuple[str, ...] = (
    "sport", "duration_s", "avg_hr_bpm", "load_au", "hr_tss", "power_tss", "running_tss", "srpe_au",
    "efficiency_factor", "decoupling_pct", "intensity_factor", "race_flag",
)
#: Stored columns of a logged session without a file (after athlete id and day).
LOG_COLUMNS: tuple[str, ...] = ("sport", "duration_s", "rpe")
#: Signal columns added to the daily inputs (engine inputs and evidence).
SIGNAL_COLUMNS: tuple[str, ...] = (*MARKER_COLUMNS, "race", "race_rule")
#: How long after a race its rule is shown in a day's evidence (days).
RACE_EVIDENCE_DAYS: int = 21

_FILE_SOURCES: dict[str, ColumnElement[Any]] = {
    "sport": activities.c.sport, "duration_s": activities.c.duration_s, "avg_hr_bpm": activities.c.avg_hr_bpm,
    "race_flag": cast(activities.c.race, Integer),  # the athlete's race flag on the activity (1/0/NULL)
}


def file_columns_select(where: ColumnElement[bool]) -> Select[Any]:
    """SELECT athlete_id, day, :data:`FILE_COLUMNS` of recorded sessions matching ``where``."""
    cols = [_FILE_SOURCES[c] if c in _FILE_SOURCES else sm.c[c] for c in FILE_COLUMNS]
    return (select(activities.c.athlete_id, activities.c.day, *cols)
            .join(sm, sm.c.activity_id == activities.c.id).where(where))


def log_columns_select(where: ColumnElement[bool]) -> Select[Any]:
    """SELECT athlete_id, day, :data:`LOG_COLUMNS` of logged sessions without a file matching ``where``."""
    return (select(session_logs.c.athlete_id, session_logs.c.day, *(session_logs.c[c] for c in LOG_COLUMNS))
            .where(where, session_logs.c.activity_id.is_(None)))


def planned_race_select(where: ColumnElement[bool]) -> Select[Any]:
    """SELECT athlete_id, day of planned race sessions matching ``where``."""
    return (select(planned_sessions.c.athlete_id, planned_sessions.c.day)
            .where(where, planned_sessions.c.session_type == "race"))


def _num(frame: pd.DataFrame, name: str) -> npt.NDArray[np.float64]:
    if name not in frame.columns or len(frame) == 0:
        return np.full(len(frame), np.nan)
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)


def sessions_table(files: pd.DataFrame, logs: pd.DataFrame, *, log_load_au: npt.NDArray[np.float64]) -> pd.DataFrame:
    """One sessions table (:data:`~lydiard.domain.load.markers.SESSION_COLUMNS`) from stored rows.

    ``files`` and ``logs`` carry ``a`` (athlete row) and ``c`` (day column) plus
    :data:`FILE_COLUMNS` / :data:`LOG_COLUMNS`; ``log_load_au`` is the logged sessions'
    load by the project's rule (``metrics.logged_session_loads``). External load = power
    TSS, else running TSS; HR load = hrTSS; a logged session's sRPE = RPE × minutes.
    """
    power, running = _num(files, "power_tss"), _num(files, "running_tss")
    file_sport, log_sport = _sport_codes(files, logs)
    file_part = {
        "a": _num(files, "a"), "c": _num(files, "c"),
        "sport": file_sport,
        "duration_s": _num(files, "duration_s"), "load_au": _num(files, "load_au"),
        "hr_load_au": _num(files, "hr_tss"), "external_load_au": np.where(np.isfinite(power), power, running),
        "srpe_au": _num(files, "srpe_au"), "ef": _num(files, "efficiency_factor"),
        "avg_hr_bpm": _num(files, "avg_hr_bpm"), "decoupling_pct": _num(files, "decoupling_pct"),
        "intensity_factor": _num(files, "intensity_factor"), "race_flag": _num(files, "race_flag"),
    }
    n = len(logs)
    dur = _num(logs, "duration_s")
    log_part = {
        "a": _num(logs, "a"), "c": _num(logs, "c"),
        "sport": log_sport,
        "duration_s": dur, "load_au": np.asarray(log_load_au, dtype=np.float64),
        "srpe_au": _num(logs, "rpe") * dur / 60.0,
    }
    cols = {k: np.concatenate([np.asarray(v), np.asarray(log_part.get(k, np.full(n, np.nan)))])
            for k, v in file_part.items()}
    return pd.DataFrame(cols)


def _sport_codes(files: pd.DataFrame, logs: pd.DataFrame) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """One integer code per sport name across both tables (names as text or categoricals:
    each distinct name is converted once, not each row)."""
    parts: list[tuple[npt.NDArray[np.int64], pd.Index]] = []
    for frame in (files, logs):
        if len(frame) == 0 or "sport" not in frame.columns:
            parts.append((np.zeros(len(frame), dtype=np.int64), pd.Index([], dtype=object)))
            continue
        codes, uniques = pd.factorize(frame["sport"])
        parts.append((codes.astype(np.int64), pd.Index([str(u) for u in uniques], dtype=object)))
    names = parts[0][1].append(parts[1][1])
    common, _ = pd.factorize(names)
    offset = len(parts[0][1])
    out = []
    for (codes, _uniq), base in zip(parts, (0, offset), strict=True):
        table = common[base:base + len(_uniq)].astype(np.int64)
        out.append(np.where(codes >= 0, table[np.maximum(codes, 0)] if len(table) else -1, -1).astype(np.int64))
    return out[0], out[1]


def signal_matrices(sessions: pd.DataFrame, *, shape: tuple[int, int], load_au: npt.NDArray[np.float64],
                    planned_race: npt.NDArray[np.bool_] | None,
                    race_flag: npt.NDArray[np.float64] | None = None) -> dict[str, Any]:
    """The signal matrices of :data:`SIGNAL_COLUMNS` (the one call both paths make).

    ``race_flag``: the check-in's race flag per athlete × day (1/0/NaN, merged across sources);
    a session's own flag (``activities.race``) comes with the sessions table.
    """
    return day_signals(sessions, shape=shape, load_au=load_au, planned_race=planned_race, race_flag=race_flag)


def engine_inputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """``inputs`` restricted to the stage engine's input columns (its ``INPUT_COLUMNS`` at run time)."""
    return {k: v for k, v in inputs.items() if k in STAGE_INPUTS}


def race_evidence(race_rule: npt.NDArray[Any], load_au: npt.NDArray[np.float64], first_day: Any,
                  days: range) -> list[dict[str, Any] | None]:
    """Per day of ``days`` (columns of one athlete's row): the latest race within
    :data:`RACE_EVIDENCE_DAYS` as ``{"day", "days_since", "rule", "load_au"}``, or None.

    ``first_day``: the date of column 0.
    """
    since, code = last_race(np.asarray(race_rule, dtype=np.int8)[None, :], within_days=RACE_EVIDENCE_DAYS)
    out: list[dict[str, Any] | None] = []
    start = pd.Timestamp(first_day)
    for d in days:
        s = int(since[0, d])
        if s < 0:
            out.append(None)
            continue
        col = d - s
        out.append({"day": (start + pd.Timedelta(days=col)).date().isoformat(), "days_since": s,
                    "rule": RACE_RULES[int(code[0, d])], "load_au": float(load_au[col])})
    return out
