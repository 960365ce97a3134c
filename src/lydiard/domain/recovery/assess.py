"""Per-athlete daily assessment: a thin pandas wrapper over :func:`stage_matrix`.

:func:`assess_days` reshapes one athlete's daily frame into a 1 × days matrix, calls
the same kernel the batch uses, and only then builds the structured evidence and the
recommendation for each day.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from lydiard.domain.daily import CHECKIN_ITEMS
from lydiard.domain.recovery.baselines import BaselineConfig, other_kind
from lydiard.domain.recovery.recommend import recommendation_for
from lydiard.domain.recovery.stage import INPUT_COLUMNS, STAGE_NAMES, Stage, stage_matrix
from lydiard.errors import InvalidInputError

__all__ = ["OUTPUT_COLUMNS", "assess_days"]

#: Columns of the frame returned by :func:`assess_days`.
OUTPUT_COLUMNS: tuple[str, ...] = (
    "stage",
    "confidence",
    "risk_score",
    "evidence",
    "recommendation",
    "data_feel_agree",
    "ln_rmssd_7d",
    "ln_rmssd_low",
    "ln_rmssd_high",
    "rhr_7d",
    "rhr_base",
    "wellness_z",
)
#: Numeric baseline columns copied from the matrix kernel: output name -> kernel key.
_BASELINE_COLUMNS: dict[str, str] = {
    "ln_rmssd_7d": "ln_rmssd_7d",
    "ln_rmssd_low": "hrv_band_low",
    "ln_rmssd_high": "hrv_band_high",
    "rhr_7d": "rhr_7d",
    "rhr_base": "rhr_base",
    "wellness_z": "wellness_z",
}

_FLAGS = ("illness", "injury", "travel", "race")


def _to_matrix_inputs(days: pd.DataFrame, cfg: BaselineConfig) -> tuple[pd.Index, dict[str, Any]]:
    frame = days.copy()
    if "day" in frame.columns:
        key = pd.to_datetime(frame["day"])
    elif isinstance(frame.index, pd.DatetimeIndex):
        key = pd.Series(frame.index, index=frame.index)
    else:
        try:
            key = pd.Series(pd.to_datetime(frame.index), index=frame.index)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                "days needs a 'day' column or a date index", field="day"
            ) from exc
    if key.isna().any():
        raise InvalidInputError("a row has no day", field="day")
    key = key.dt.normalize() if hasattr(key, "dt") else key
    frame.index = pd.DatetimeIndex(np.asarray(key))
    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InvalidInputError(f"day {dup.date()} appears twice", field="day")
    frame = frame.sort_index()
    if cfg.hrv_kind is not None and "hrv_kind" in frame.columns and "rmssd_ms" in frame.columns:
        frame.loc[other_kind(frame["hrv_kind"].to_numpy(dtype=object), cfg), "rmssd_ms"] = np.nan
    full = pd.date_range(frame.index[0], frame.index[-1], freq="D")
    frame = frame.reindex(full)
    inputs: dict[str, Any] = {}
    for name in INPUT_COLUMNS:
        if name not in frame.columns:
            continue
        col = frame[name]
        if name in _FLAGS:
            values = col.map(lambda v: np.nan if v is None or v is pd.NA or v != v else float(bool(v)))
            inputs[name] = values.to_numpy(dtype=np.float64)
        else:
            try:
                inputs[name] = pd.to_numeric(col, errors="raise").to_numpy(
                    dtype=np.float64, na_value=np.nan
                )
            except (ValueError, TypeError) as exc:
                raise InvalidInputError(f"{name} is not numeric", field=name) from exc
    return full, inputs


def _num(v: Any) -> float | None:
    f = float(v)
    return round(f, 4) if math.isfinite(f) else None


def _entry(
    value: Any, low: Any, high: Any, days_out: Any, threshold: str, source: str
) -> dict[str, Any]:
    return {
        "value": _num(value),
        "low": _num(low) if low is not None else None,
        "high": _num(high) if high is not None else None,
        "days_out_of_range": int(days_out),
        "threshold": threshold,
        "source": source,
    }


@functools.lru_cache(maxsize=16)
def _thresholds(cfg: BaselineConfig) -> dict[str, str]:
    """The threshold texts of the evidence: they depend on the configuration only, so they
    are formatted once per configuration rather than once per day."""
    texts = {
        "ln_rmssd_7d": (
            f"7-day mean (≥ {cfg.min_valid_days} valid days) inside the {cfg.hrv_baseline_days}-day "
            f"baseline mean ± {cfg.hrv_band_sd:g} SD (baseline ends {cfg.baseline_lag_days} days "
            f"ago); below for ≥ {cfg.deep_hrv_run_days} days plus a supporting marker = deep fatigue"
        ),
        "ln_rmssd": f"today's value above baseline mean − {cfg.hrv_today_low_sd:g} SD",
        "cv_ln_rmssd_7d": f"7-day CV (%) of ln rMSSD below its baseline mean + {cfg.cv_swc_sd:g} SD",
        "rhr_7d": f"7-day resting HR below baseline + {cfg.rhr_high_bpm:g} bpm",
        "sleep_h_7d": (
            f"7-day sleep within {cfg.sleep_deficit_h:g} h of the athlete's "
            f"{cfg.sleep_baseline_days}-day usual"
        ),
        "wellness_z": (
            f"composite check-in z above {cfg.wellness_low_z:g} ({cfg.wellness_baseline_days}-day "
            f"baseline); ≤ {cfg.wellness_low_z:g} on ≥ {cfg.wellness_low_days} of 7 days supports "
            f"deep fatigue; 7-day mean ≤ {cfg.wellness_deep_mean_z:g} is deep fatigue on its own"
        ),
        "perf": f"recent {cfg.perf_window_days}-day mean within {cfg.perf_drop_pct:g} % of baseline",
        "srpe": f"sRPE per unit external load up less than {cfg.srpe_rise_pct:g} %",
        "decoupling": f"aerobic decoupling ≤ {cfg.decoupling_high_pct:g} %",
    }
    for item in CHECKIN_ITEMS:
        texts[f"{item}_z"] = (
            f"{item} z above {cfg.wellness_low_z:g} ({cfg.wellness_baseline_days}-day baseline)"
        )
    return texts


def _evidence(g: dict[str, Any], cfg: BaselineConfig) -> dict[str, Any]:
    """The evidence of one day: ``g`` maps each ``stage_matrix`` output to its value that day
    (Python scalars). Every leaf is JSON-safe (finite float, int, str, bool or None)."""
    texts = _thresholds(cfg)
    ev: dict[str, Any] = {}
    below, above = int(g["hrv_below_run"]), int(g["hrv_above_run"])
    ev["ln_rmssd_7d"] = _entry(
        g["ln_rmssd_7d"],
        g["hrv_band_low"],
        g["hrv_band_high"],
        max(below, above),
        texts["ln_rmssd_7d"],
        "Plews 2012/2014; Javaloyes 2019; Vesterinen 2016; Altini (HRV4Training)",
    )
    ev["ln_rmssd_7d"]["valid_days_7d"] = int(g["hrv_valid_days_7d"])
    ev["ln_rmssd_7d"]["direction"] = "below" if below else ("above" if above else "inside")
    today_low = g["hrv_base_mean"] - cfg.hrv_today_low_sd * g["hrv_base_sd"]
    ev["ln_rmssd"] = _entry(
        g["ln_rmssd"],
        today_low,
        None,
        int(math.isfinite(g["ln_rmssd"]) and g["ln_rmssd"] < today_low),
        texts["ln_rmssd"],
        "Kiviniemi 2007",
    )
    ev["cv_ln_rmssd_7d"] = _entry(
        g["cv_ln_rmssd_7d"],
        None,
        g["cv_ln_rmssd_high"],
        g["cv_up_run"],
        texts["cv_ln_rmssd_7d"],
        "Flatt & Esco 2015; Flatt 2017",
    )
    ev["rhr_7d"] = _entry(
        g["rhr_7d"],
        None,
        g["rhr_base"] + cfg.rhr_high_bpm,
        g["rhr_high_run"],
        texts["rhr_7d"],
        "Polar; Restwise; Dressendorfer 1985 (RHR alone is insensitive: Uusitalo 1998)",
    )
    ev["sleep_h_7d"] = _entry(
        g["sleep_h_7d"],
        g["sleep_h_base"] - cfg.sleep_deficit_h,
        None,
        g["sleep_low_run"],
        texts["sleep_h_7d"],
        "Lydiard heuristic",
    )
    ev["wellness_z"] = _entry(
        g["wellness_z"],
        cfg.wellness_low_z,
        None,
        g["wellness_low_run"],
        texts["wellness_z"],
        "AthleteMonitoring z bands; Saw 2016 (subjective measures weighted heavily)",
    )
    ev["wellness_z"]["mean_7d"] = _num(g["wellness_z_7d"])
    ev["wellness_z"]["low_days_7d"] = int(g["wellness_low_days_7d"])
    for item in CHECKIN_ITEMS:
        if f"{item}_z" in g:
            ev[f"{item}_z"] = _entry(
                g[f"{item}_z"],
                cfg.wellness_low_z,
                None,
                g[f"{item}_low_run"],
                texts[f"{item}_z"],
                "AthleteMonitoring z bands",
            )
    for name, thr, src in (
        ("ef_change_pct", -cfg.perf_drop_pct, "Friel/Allen efficiency factor"),
        ("perf_at_hr_change_pct", -cfg.perf_drop_pct, "Bourdon 2017; Nuuttila 2022 HR-speed"),
    ):
        if name in g:
            ev[name] = _entry(g[name], thr, None, g["perf_down_run"], texts["perf"], src)
    if "srpe_per_external_change_pct" in g:
        ev["srpe_per_external_change_pct"] = _entry(
            g["srpe_per_external_change_pct"], None, cfg.srpe_rise_pct, g["perf_down_run"],
            texts["srpe"], "Foster 2001 sRPE; Lydiard heuristic",
        )
    if "decoupling_pct_recent" in g:
        ev["decoupling_pct"] = _entry(
            g["decoupling_pct_recent"], None, cfg.decoupling_high_pct, g["perf_down_run"],
            texts["decoupling"], "Friel",
        )
    tsb_out = int(math.isfinite(g["tsb"]) and g["tsb"] < cfg.tsb_low_au)
    ev["tsb"] = _entry(
        g["tsb"], cfg.tsb_low_au, None, tsb_out,
        "context only: form (CTL − ATL of yesterday) above −30", "intervals.icu convention",
    )
    acwr_out = int(math.isfinite(g["acwr_ewma"]) and g["acwr_ewma"] > cfg.acwr_high)
    ev["acwr_ewma"] = _entry(
        g["acwr_ewma"], None, cfg.acwr_high, acwr_out,
        "context only (a load-spike flag, not an injury risk)", "Williams 2017; Gabbett 2016",
    )
    if int(g["stage"]) == Stage.CALIBRATING:
        cal: dict[str, Any] = {}
        for key, label, need in (
            ("hrv_days_remaining", "ln rMSSD", cfg.hrv_min_baseline_days),
            ("rhr_days_remaining", "resting HR", cfg.rhr_min_baseline_days),
            ("wellness_days_remaining", "check-in", cfg.wellness_min_baseline_days),
        ):
            rem = int(g[key])
            cal[label] = {
                "days_needed": need,
                "days_remaining": None if rem < 0 else rem,
                "missing": "no readings yet" if rem < 0 else f"{rem} more day(s) of readings",
            }
        ev["calibration"] = cal
    agree = int(g["data_feel_agree"])
    if agree == 0:
        ev["data_feel"] = (
            "HRV/RHR and the check-in disagree; the check-in is weighted more (Saw 2016)"
        )
    return ev


#: Days after a fatigue episode during which "what the back-off bought" is shown.
PROGRESS_DAYS = 28


def _progress(g: dict[str, Any]) -> dict[str, Any] | None:
    """What the last back-off bought (the seed's "no applause for stopping early": recovery
    shown as progress), for the ``PROGRESS_DAYS`` days after a fatigue episode ended."""
    since = int(g["since_episode_end"])
    if since < 0 or since > PROGRESS_DAYS:
        return None
    to_range = int(g["last_days_to_range"])
    length = int(g["last_episode_days"])
    gain = _num(g["last_tsb_gain"])
    escalated = int(g["episode_peak"]) > Stage.DEEP_FATIGUE
    parts = [f"After {length} days of backing off, your markers were back in range in {to_range} days"]
    if gain is not None:
        parts.append(f"your form (TSB) rose by {gain:.0f}" if gain >= 0 else
                     f"your form (TSB) changed by {gain:.0f}")
    parts.append(
        "the episode went beyond deep fatigue before it settled" if escalated
        else "the fatigue did not escalate to overreaching"
    )
    return {
        "text": ", ".join(parts) + ".",
        "days_since_episode_end": since,
        "episode_days": length,
        "days_to_markers_in_range": to_range,
        "tsb_gained": gain,
        "escalated": escalated,
        "peak_stage": STAGE_NAMES[int(g["episode_peak"])],
    }


def _calibration_text(ev: dict[str, Any]) -> str:
    parts = []
    for label, info in ev["calibration"].items():
        if info["days_remaining"] is None:
            parts.append(f"{label}: no readings yet")
        else:
            parts.append(f"{label}: about {info['days_remaining']} more day(s)")
    return "Calibrating personal baselines (" + "; ".join(parts) + ")."


def day_details(
    r: dict[str, Any], row: int, days: Iterable[int], config: BaselineConfig
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Evidence and recommendation of chosen days of one athlete, from a
    ``stage_matrix(..., detail=True)`` result: ``(evidence, recommendation)`` per column in
    ``days`` of row ``row``, exactly what :func:`assess_days` returns for those days.

    Building the evidence costs far more than the stage itself (a dict of markers per day),
    so callers that store only some days (the batch: the last week; a check-in: the days
    from its own on) ask for those days only. Both dicts are JSON-ready: every leaf is a
    finite float, an int, a str, a bool or None (non-finite values are None), so they are
    stored as they are.
    """
    cols = list(days)
    if not cols:
        return []
    # the chosen days of every output as Python scalars, in one conversion per output
    per_day = {
        k: v[row, cols].tolist() if getattr(v, "ndim", 0) == 2 else [v] * len(cols)
        for k, v in r.items()
    }
    out = []
    for i in range(len(cols)):
        g = {k: values[i] for k, values in per_day.items()}
        ev = _evidence(g, config)
        rec = recommendation_for(
            int(g["rec_code"]),
            days=int(g["rec_days"]),
            volume_pct=int(g["rec_volume_pct"]),
            reason=int(g["rec_reason"]),
            config=config,
            facts={
                "episode_day": int(g["episode_day"]),
                "reduced_days": int(g["reduced_load_run"]),
                "race_history": (
                    int(g["race_history_n"]), int(g["race_history_lo"]), int(g["race_history_hi"])
                ),
                "illness_episodes_90d": int(g["illness_episodes_90d"]),
            },
        )
        progress = _progress(g)
        if progress is not None:
            ev["progress"] = progress
        ev["episode"] = {
            "day": int(g["episode_day"]),
            "return_criteria_met_days": int(g["ok_run"]),
            "reduced_load_days": int(g["reduced_load_run"]),
            "pre_episode_load_au": _num(g["pre_episode_load"]),
            "anchored": bool(int(g["episode_day"]) > 0),
        }
        if int(g["stage"]) == Stage.CALIBRATING and rec["code"] == "train_as_planned":
            rec["text"] = _calibration_text(ev) + " Train as planned and go by feel."
        out.append((ev, rec))
    return out


def assess_days(days: pd.DataFrame, *, config: BaselineConfig | None = None) -> pd.DataFrame:
    """Assess one athlete's days: fatigue stage, confidence, evidence and a prescription.

    Parameters
    ----------
    days : pandas.DataFrame
        One row per day, with a ``day`` column or a date index. Any of
        :data:`~lydiard.domain.recovery.stage.INPUT_COLUMNS` may be present; every one
        may be missing (NaN) on any day. Missing calendar days are allowed. If
        ``config.hrv_kind`` is set, only readings with that ``hrv_kind`` are used.
    config : BaselineConfig, optional
        Windows and thresholds.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day`` (every calendar day from the first to the last input day),
        with ``stage`` (name), ``confidence`` (0-1), ``risk_score`` (0-1, NaN while
        calibrating), ``evidence`` (dict per marker: ``value``, ``low``, ``high``,
        ``days_out_of_range``, ``threshold``, ``source``), ``recommendation`` (dict:
        ``code``, ``text``, ``days``, ``volume_pct``, ``return_criteria``) and
        ``data_feel_agree`` (bool, or None when unknown). Day ``d`` depends only on
        rows up to ``d``.

    Raises
    ------
    InvalidInputError
        No day, duplicate days, a non-numeric column, or a value outside its scale.
    """
    cfg = config if config is not None else BaselineConfig()
    if len(days) == 0:
        raise InvalidInputError("days is empty", field="day")
    index, inputs = _to_matrix_inputs(days, cfg)
    if not inputs:
        inputs = {"load_au": np.full(len(index), np.nan)}
    r = stage_matrix(inputs, config=cfg, detail=True)
    rows = []
    for d, (ev, rec) in enumerate(day_details(r, 0, range(len(index)), cfg)):
        code = int(r["stage"][0, d])
        agree = int(r["data_feel_agree"][0, d])
        rows.append(
            {
                "stage": STAGE_NAMES[code],
                "confidence": float(r["confidence"][0, d]),
                "risk_score": float(r["risk_score"][0, d]),
                "evidence": ev,
                "recommendation": rec,
                "data_feel_agree": None if agree < 0 else bool(agree),
                **{col: float(r[key][0, d]) for col, key in _BASELINE_COLUMNS.items()},
            }
        )
    day_index = pd.Index(pd.DatetimeIndex(index).date, name="day")
    out = pd.DataFrame(rows, index=day_index, columns=list(OUTPUT_COLUMNS))
    return out
