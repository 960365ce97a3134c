"""Project CTL/ATL/TSB (and Banister performance) over a plan.

The projection runs the PMC kernel (:func:`lydiard.domain.load.pmc.daily_metrics_matrix`,
the one CTL/ATL/TSB implementation of Lydiard) over the realised history followed by the
planned loads. Alignment follows the project convention
(style.md §3): ``ctl``/``atl`` are values at the end of ``day`` (today's load
included) and ``tsb = ctl(d−1) − atl(d−1)`` is the form going into ``day``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np
import pandas as pd

from lydiard.domain.load.banister import BanisterModel, EwmaConvention, daily_series
from lydiard.domain.load.pmc import daily_metrics_matrix
from lydiard.domain.plan.models import PlannedSession
from lydiard.errors import InsufficientDataError, InvalidInputError

__all__ = ["compare_forecasts", "forecast", "peak_form_day", "planned_load_series"]


def planned_load_series(planned: Sequence[PlannedSession]) -> pd.Series:
    """Daily expected load (AU) of a plan, summed per day, every day filled (0)."""
    if not planned:
        raise InsufficientDataError("the plan has no sessions")
    frame = pd.DataFrame(
        {"day": pd.to_datetime([s.day for s in planned]),
         "load_au": [s.expected_load_au for s in planned]}
    )
    per_day = frame.groupby("day")["load_au"].sum()
    full = pd.date_range(per_day.index.min(), per_day.index.max(), freq="D", name="day")
    return per_day.reindex(full, fill_value=0.0).astype(np.float64).rename("load_au")


def forecast(
    history_load_au: pd.Series,
    planned: Sequence[PlannedSession],
    *,
    ctl_days: float = 42.0,
    atl_days: float = 7.0,
    convention: EwmaConvention = "exp",
    model: BanisterModel | None = None,
    level: float = 0.95,
) -> pd.DataFrame:
    """Projected ctl/atl/tsb over the plan horizon.

    Parameters
    ----------
    history_load_au : pandas.Series
        Realised daily load (AU) indexed by date; may be empty (start from 0).
        Days of the plan already covered by history use the realised load.
    planned : sequence of PlannedSession
        The plan; its loads are summed per day.
    ctl_days, atl_days : float
        EWMA time constants (days).
    convention : {"exp", "tp"}
        EWMA coefficient convention (see :func:`~lydiard.domain.load.pmc.pmc_gain`).
    model : BanisterModel, optional
        A fitted model: adds ``performance``, ``performance_lower`` and
        ``performance_upper`` (prediction interval at ``level``).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``day`` (``DatetimeIndex``) from the first to the last planned
        day; columns ``load_au``, ``ctl``, ``atl``, ``tsb`` and, with a model,
        the performance columns.
    """
    plan = planned_load_series(planned)
    if len(history_load_au):
        hist = daily_series(history_load_au, field="history_load_au")
        if not isinstance(hist.index, pd.DatetimeIndex):
            raise InvalidInputError("history_load_au must be indexed by dates",
                                    field="history_load_au")
        start = min(hist.index.min(), plan.index.min())
        end = max(hist.index.max(), plan.index.max())
        days = pd.date_range(start, end, freq="D", name="day")
        load = plan.reindex(days, fill_value=0.0)
        covered = days[days <= hist.index.max()]
        load.loc[covered] = hist.reindex(covered, fill_value=0.0)
    else:
        load = plan.copy()
    w = load.to_numpy(dtype=np.float64)
    pmc = daily_metrics_matrix(w, ctl_days=ctl_days, atl_days=atl_days, convention=convention)
    ctl, atl, tsb = pmc["ctl"][0], pmc["atl"][0], pmc["tsb"][0]
    out = pd.DataFrame({"load_au": w, "ctl": ctl, "atl": atl, "tsb": tsb}, index=load.index)
    if model is not None:
        band = model.prediction_interval(pd.Series(w, index=load.index), level=level)
        out["performance"] = band["performance"].to_numpy()
        out["performance_lower"] = band["lower"].to_numpy()
        out["performance_upper"] = band["upper"].to_numpy()
    horizon = (out.index >= plan.index.min()) & (out.index <= plan.index.max())
    result: pd.DataFrame = out.loc[horizon].copy()
    result.index.name = "day"
    return result


def compare_forecasts(as_planned: pd.DataFrame, adapted: pd.DataFrame) -> pd.DataFrame:
    """Side-by-side forecasts: ``{col}_planned``, ``{col}_adapted``, ``{col}_delta``.

    Only the days and columns both frames share are compared; delta = adapted −
    planned.
    """
    cols = [c for c in as_planned.columns if c in adapted.columns]
    days = as_planned.index.intersection(adapted.index)
    if not cols or len(days) == 0:
        raise InvalidInputError("the forecasts share no days or columns", field="adapted")
    parts: dict[str, pd.Series] = {}
    for c in cols:
        a = as_planned.loc[days, c]
        b = adapted.loc[days, c]
        parts[f"{c}_planned"] = a
        parts[f"{c}_adapted"] = b
        parts[f"{c}_delta"] = b - a
    return pd.DataFrame(parts, index=days)


def peak_form_day(
    forecast_df: pd.DataFrame,
    *,
    start: date | None = None,
    end: date | None = None,
    by: str = "auto",
) -> date:
    """Day of best form within [start, end] (e.g. the taper).

    ``by="performance"`` uses the predicted performance, ``"tsb"`` the TSB,
    ``"auto"`` the performance when present, else TSB. Ties → first day.
    """
    if by == "auto":
        by = "performance" if "performance" in forecast_df.columns else "tsb"
    if by not in forecast_df.columns:
        raise InvalidInputError(f"forecast has no column {by!r}", field="by")
    idx = pd.DatetimeIndex(forecast_df.index)
    mask = np.ones(len(idx), dtype=bool)
    if start is not None:
        mask &= idx >= pd.Timestamp(start)
    if end is not None:
        mask &= idx <= pd.Timestamp(end)
    if not mask.any():
        raise InsufficientDataError("no forecast days in the requested window")
    values = forecast_df[by].to_numpy(dtype=np.float64)[mask]
    best = int(np.argmax(values))
    day: date = idx[mask][best].date()
    return day
