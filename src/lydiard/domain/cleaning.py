"""Sample cleaning: documented, counted rules that make recorded streams plausible.

:func:`clean_records` applies the rules below, in this order, to a records frame (the
``time`` column plus the unit-named columns of :class:`lydiard.domain.columns.Col`).
Every rule is vectorised and every change is counted in
:attr:`lydiard.domain.activity.CleaningReport.counts` under the rule's name, so that
nothing is altered silently. Rules that act on rows count rows; rules that act on
values count the cells they set to NaN (a cell that was already NaN is not counted).
Columns that are absent are skipped.

Row rules
---------
``time_missing``
    Rows without a timestamp (NaT) are dropped: a sample that cannot be placed in
    time cannot be used by any time-based metric.
``time_unsorted``
    Rows are sorted by time (stable sort). The count is the number of rows that
    moved. Devices and exporters sometimes write laps or merged sensor streams out
    of order; every downstream computation (dt, rolling windows) assumes ascending
    time.
``time_duplicate``
    Of several rows with the same timestamp only the last one is kept (after the
    stable sort, i.e. the last one written). Duplicates appear at lap boundaries
    and in merged files; keeping the last matches what most devices display.

Value rules (the offending value becomes NaN, the row stays)
-------------------------------------------------------------
``hr_out_of_range``
    ``hr_bpm`` outside [25, 250]. Below 25 bpm is below any recorded human resting
    heart rate (elite bradycardia reaches the high 20s); above 250 bpm exceeds any
    physiological maximum. Typical sources are strap drop-outs (0) and invalid
    markers (255).
``power_out_of_range``
    ``power_w`` below 0 or above 2,500 W. Elite track sprinters peak near 2,500 W
    for a second; larger values are meter glitches or invalid markers (65,535).
``speed_out_of_range``
    ``speed_mps`` below 0 or above 30 m/s (108 km/h): faster than a fast road
    descent on a bike, so only a GPS or sensor error produces it.
``cadence_out_of_range``
    ``cadence_rpm`` below 0 or above 250 rpm, beyond track-sprint pedalling and
    running stride rates.
``distance_negative``
    ``distance_m`` below 0: cumulative distance cannot be negative.
``altitude_out_of_range``
    ``altitude_m`` outside [-500, 9,000] m: lower than the Dead Sea shore, higher
    than Everest's summit; barometric and GPS glitches.
``temperature_out_of_range``
    ``temperature_c`` outside [-60, 70] °C: beyond any outdoor or sensor-plausible
    reading.
``position_invalid``
    ``lat_deg`` outside [-90, 90], ``lon_deg`` outside [-180, 180], the exact pair
    (0, 0) ("null island", the default of many receivers without a fix), or only
    one half of the pair present: both halves become NaN.
``gps_jump``
    A GPS fix whose implied speed from its neighbouring fixes exceeds
    ``max_gps_speed_mps`` (default 50 m/s = 180 km/h, far above any human-powered
    sport, so a single threshold serves every sport). Fixes are split into
    segments at every such jump; a segment that is strictly shorter (fewer fixes)
    than each of its neighbouring segments is the implausible one and its fixes
    become NaN (both halves; 2 cells per fix). The test repeats until no jump is
    left or no segment is unambiguously shorter (at most 100 passes): a single
    spike is a one-fix segment between two long ones, and a brief excursion of a
    few fixes is removed likewise, without sacrificing the good fix that follows
    the spike (as a naive "drop the fix after each jump" rule would).

References
----------
Physiological limits: Tanaka H et al. (2001) Age-predicted maximal heart rate
revisited. J Am Coll Cardiol 37:153-156; Dorel S et al. (2005) Torque and power-
velocity relationships in cycling, Int J Sports Med 26:739-746 (sprint power).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from lydiard.domain.activity import CleaningReport
from lydiard.domain.columns import Col
from lydiard.domain.frames import fast_frame, float_column, frame_arrays

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
#: Implied speed between consecutive fixes above which a fix is a GPS jump, m/s.
GPS_JUMP_SPEED_MPS = 50.0
#: Most passes of the GPS jump rule.
GPS_JUMP_MAX_PASSES = 100

HR_MIN_BPM, HR_MAX_BPM = 25.0, 250.0
POWER_MAX_W = 2500.0
SPEED_MAX_MPS = 30.0
CADENCE_MAX_RPM = 250.0
ALTITUDE_MIN_M, ALTITUDE_MAX_M = -500.0, 9000.0
TEMPERATURE_MIN_C, TEMPERATURE_MAX_C = -60.0, 70.0

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]




def haversine_m(
    lat1_deg: ArrayLike, lon1_deg: ArrayLike, lat2_deg: ArrayLike, lon2_deg: ArrayLike
) -> FloatArray:
    """Great-circle distance in metres between points given in degrees (NaN propagates).

    Uses the haversine formula on a sphere of radius :data:`EARTH_RADIUS_M`; the
    error against the WGS-84 ellipsoid is below 0.5 %, negligible for sample steps.

    >>> round(float(haversine_m(0.0, 0.0, 0.0, 1.0)))
    111195
    """
    lat1 = np.radians(np.asarray(lat1_deg, dtype=np.float64))
    lat2 = np.radians(np.asarray(lat2_deg, dtype=np.float64))
    lon1 = np.radians(np.asarray(lon1_deg, dtype=np.float64))
    lon2 = np.radians(np.asarray(lon2_deg, dtype=np.float64))
    return _haversine_rad_m(lat1, lon1, lat2, lon2, np.cos(lat1), np.cos(lat2))


def _haversine_rad_m(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray,
    cos_lat1: FloatArray, cos_lat2: FloatArray,
) -> FloatArray:
    """:func:`haversine_m` on radians, with the cosines of the latitudes given.

    Non-finite coordinates give NaN distances (no floating-point warning).
    """
    with np.errstate(invalid="ignore", over="ignore"):
        dlat = lat2 - lat1
        dlon = lon2 - lon1
        a = np.sin(dlat / 2.0) ** 2 + cos_lat1 * cos_lat2 * np.sin(dlon / 2.0) ** 2
        return np.asarray(2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def _outside(low: float, high: float) -> Callable[[FloatArray], BoolArray]:
    def test(values: FloatArray) -> BoolArray:
        with np.errstate(invalid="ignore"):
            return np.asarray((values < low) | (values > high))

    return test


#: value rules: rule name -> (column, predicate that flags bad values)
_VALUE_RULES: tuple[tuple[str, str, Callable[[FloatArray], BoolArray]], ...] = (
    ("hr_out_of_range", Col.HR_BPM.value, _outside(HR_MIN_BPM, HR_MAX_BPM)),
    ("power_out_of_range", Col.POWER_W.value, _outside(0.0, POWER_MAX_W)),
    ("speed_out_of_range", Col.SPEED_MPS.value, _outside(0.0, SPEED_MAX_MPS)),
    ("cadence_out_of_range", Col.CADENCE_RPM.value, _outside(0.0, CADENCE_MAX_RPM)),
    ("distance_negative", Col.DISTANCE_M.value, _outside(0.0, np.inf)),
    ("altitude_out_of_range", Col.ALTITUDE_M.value, _outside(ALTITUDE_MIN_M, ALTITUDE_MAX_M)),
    (
        "temperature_out_of_range",
        Col.TEMPERATURE_C.value,
        _outside(TEMPERATURE_MIN_C, TEMPERATURE_MAX_C),
    ),
)


def _time_ns(column: Any) -> NDArray[np.int64]:
    """Nanoseconds since the epoch of a ``time`` column array (NaT -> int64 min).

    Naive datetimes count as UTC (as ``pd.to_datetime(..., utc=True)`` does).
    """
    if isinstance(column.dtype, pd.DatetimeTZDtype) or column.dtype.kind == "M":
        return np.asarray(pd.DatetimeIndex(column).as_unit("ns").asi8, dtype=np.int64)
    times = pd.to_datetime(pd.Series(column, copy=False), utc=True)
    return np.asarray(times.dt.as_unit("ns").to_numpy(dtype="datetime64[ns]").view(np.int64))


def _jump_fixes(
    lat_deg: FloatArray, lon_deg: FloatArray, time_s: FloatArray, *, max_speed_mps: float
) -> NDArray[np.intp]:
    """Row positions of fixes that the GPS jump rule removes (see the module docstring)."""
    alive = np.flatnonzero(~np.isnan(lat_deg) & ~np.isnan(lon_deg))
    removed: list[NDArray[np.intp]] = []
    # Radians and cosines once per fix (elementwise, so the same values as per pair).
    lat_rad = np.radians(lat_deg)
    lon_rad = np.radians(lon_deg)
    cos_lat = np.cos(lat_rad)
    for _ in range(GPS_JUMP_MAX_PASSES):
        if alive.size < 2:
            break
        a, b = alive[:-1], alive[1:]
        step_m = _haversine_rad_m(lat_rad[a], lon_rad[a], lat_rad[b], lon_rad[b], cos_lat[a], cos_lat[b])
        dt_s = np.diff(time_s[alive])
        with np.errstate(divide="ignore", invalid="ignore"):
            implied_mps = np.where(dt_s > 0, step_m / np.where(dt_s > 0, dt_s, 1.0), np.inf)
        # two fixes at one instant but the same place are not a jump
        jump = (implied_mps > max_speed_mps) & ~((dt_s <= 0) & (step_m == 0))
        if not jump.any():
            break
        segment = np.concatenate(([0], np.cumsum(jump)))
        seg_len = np.bincount(segment).astype(np.float64)
        prev_len = np.concatenate(([np.inf], seg_len[:-1]))
        next_len = np.concatenate((seg_len[1:], [np.inf]))
        bad_segment = (seg_len < prev_len) & (seg_len < next_len)
        if not bad_segment.any():
            break
        bad_fix = bad_segment[segment]
        removed.append(alive[bad_fix])
        alive = alive[~bad_fix]
    if not removed:
        return np.array([], dtype=np.intp)
    return np.sort(np.concatenate(removed))


def clean_records(
    records: pd.DataFrame, *, max_gps_speed_mps: float = GPS_JUMP_SPEED_MPS
) -> tuple[pd.DataFrame, CleaningReport]:
    """Apply the cleaning rules of this module to a records frame.

    Parameters
    ----------
    records
        One row per sample: a tz-aware ``time`` column and unit-named float columns.
        Not modified.
    max_gps_speed_mps
        Implied speed between fixes, m/s, above which the ``gps_jump`` rule acts.

    Returns
    -------
    (cleaned, report)
        ``cleaned`` is a new frame (never more rows than ``records``, index reset to
        0..n-1, same columns); ``report.counts`` maps each rule that changed
        something to the number of rows (row rules) or cells (value rules) changed.
    """
    counts: dict[str, int] = {}
    time_col = Col.TIME.value
    series = frame_arrays(records)  # one pass: column look-ups by label are slow
    names = list(series)
    # Work on numpy arrays: ``rows`` selects and orders the kept rows (None = all, as
    # they are); ``changed`` holds the new float64 values of columns a rule altered.
    rows: NDArray[np.intp] | None = None
    time_ns: NDArray[np.int64] | None = None
    changed: dict[str, FloatArray] = {}

    if time_col in names and len(records) > 0:
        time_ns = _time_ns(series[time_col])
        missing = time_ns == np.iinfo(np.int64).min
        if missing.any():
            counts["time_missing"] = int(missing.sum())
            rows = np.flatnonzero(~missing)
            time_ns = time_ns[rows]
        order = np.argsort(time_ns, kind="stable")
        moved = int((order != np.arange(order.size)).sum())
        if moved:
            counts["time_unsorted"] = moved
            rows = order if rows is None else rows[order]
            time_ns = time_ns[order]
        duplicate = np.zeros(time_ns.size, dtype=bool)
        if time_ns.size > 1:
            duplicate[:-1] = time_ns[:-1] == time_ns[1:]  # keep the last of each run
        if duplicate.any():
            counts["time_duplicate"] = int(duplicate.sum())
            keep = np.flatnonzero(~duplicate)
            rows = keep if rows is None else rows[keep]
            time_ns = time_ns[keep]

    def values_of(column: str) -> FloatArray:
        """The current float64 values of ``column`` on the kept rows (a new array)."""
        if column in changed:
            return changed[column]
        values = float_column(series[column], copy=False)
        return values[rows] if rows is not None else values.copy()

    for rule, column, is_bad in _VALUE_RULES:
        if column not in names:
            continue
        values = values_of(column)
        bad = is_bad(values) & ~np.isnan(values)
        if bad.any():
            counts[rule] = int(bad.sum())
            values[bad] = np.nan
            changed[column] = values

    lat_col, lon_col = Col.LAT_DEG.value, Col.LON_DEG.value
    if lat_col in names and lon_col in names:
        lat = values_of(lat_col)
        lon = values_of(lon_col)
        with np.errstate(invalid="ignore"):
            invalid = (
                (lat < -90.0) | (lat > 90.0) | (lon < -180.0) | (lon > 180.0)
                | ((lat == 0.0) & (lon == 0.0))
                | (np.isnan(lat) != np.isnan(lon))
            )
        n_changed = int((invalid & ~np.isnan(lat)).sum() + (invalid & ~np.isnan(lon)).sum())
        if n_changed:
            counts["position_invalid"] = n_changed
            lat[invalid] = np.nan
            lon[invalid] = np.nan
        if time_ns is not None and time_ns.size > 1:
            time_s = time_ns.astype(np.float64) / 1e9
            jumps = _jump_fixes(lat, lon, time_s, max_speed_mps=max_gps_speed_mps)
            if jumps.size:
                counts["gps_jump"] = 2 * int(jumps.size)
                lat[jumps] = np.nan
                lon[jumps] = np.nan
        if n_changed or counts.get("gps_jump"):
            changed[lat_col] = lat
            changed[lon_col] = lon

    index = records.index
    if rows is None and isinstance(index, pd.RangeIndex) and index.start == 0 and index.step == 1:
        # No row changed: a copy of the frame (one copy per block) with the altered columns.
        frame = records.copy(deep=True)
        for column, values in changed.items():
            frame[column] = values
        return frame, CleaningReport(counts=counts)
    columns: dict[Hashable, object] = {}
    for name in names:
        if name in changed:
            columns[name] = changed[name]
            continue
        data = series[name]
        columns[name] = data.take(rows) if rows is not None else data.copy()
    frame = fast_frame(columns, len(rows) if rows is not None else len(records))
    frame.attrs = dict(records.attrs)
    return frame, CleaningReport(counts=counts)
