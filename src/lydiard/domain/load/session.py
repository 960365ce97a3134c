"""Everything Lydiard computes about one session, and its one daily-load number.

:func:`session_metrics` turns the samples of a recorded session (and/or a logged RPE)
into :class:`SessionMetrics`, including ``load_au``: one load in a common unit, the
**TSS scale (one hour at threshold = 100)**, with ``load_source`` naming how it was
obtained. Order of preference:

1. ``power_tss``: power + FTP (Allen & Coggan);
2. ``running_tss``: a run with speed + threshold speed (NGS from Minetti grade-adjusted
   speed);
3. ``hr_tss``: heart rate + rest/max/threshold HR (GoldenCheetah TRIMP(100));
4. ``srpe``: session RPE × minutes / 4.2 (see :data:`~lydiard.domain.load.srpe.SRPE_AU_PER_TSS`);
5. ``duration_default``: hours × a per-sport default (:data:`DEFAULT_TSS_PER_HOUR`).

**Strength** (and other resistance) sessions: heart rate badly underestimates their
load (short sets, long rests), so for ``sport == "strength"`` sRPE is preferred and
heart-rate TSS is never used for ``load_au``; without an RPE the per-sport default
applies. A session of sport ``"other"`` (circuits, classes, anything the device could not
name) with an RPE is also scored by sRPE (:data:`SRPE_FIRST_SPORTS`): its heart rate says
as little about its load; without an RPE it keeps the order below. A session both recorded (HR file) and logged (RPE) is passed once, with its
``rpe``: it yields exactly one ``load_au`` (de-duplicating a file and a log of the same
session is the importer's job; this function never adds the two).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
import pandas as pd

from lydiard.domain._streams import (
    DEFAULT_MAX_GAP_S,
    FloatArray,
    elapsed_s,
    grid_1hz,
    hold_durations_s,
)
from lydiard.domain.columns import Col
from lydiard.domain.frames import float_column, frame_arrays
from lydiard.domain.load.efficiency import aerobic_decoupling, efficiency_factor
from lydiard.domain.load.mmp import DEFAULT_DURATIONS_S, mean_maximal_1hz
from lydiard.domain.load.power import fourth_power_mean, intensity_factor, power_tss
from lydiard.domain.load.running import grade_adjusted_speed, running_tss
from lydiard.domain.load.srpe import srpe_load, srpe_to_tss
from lydiard.domain.load.trimp import hr_tss, trimp_banister, trimp_edwards, trimp_lucia
from lydiard.domain.zones import hr_zone_bounds_bpm, power_zone_bounds_w, time_in_zones
from lydiard.errors import InsufficientDataError, InvalidInputError

#: Default load per hour (TSS-equivalent) when nothing else is known: ``100·IF²`` for a
#: typical steady session (run IF ≈ 0.77, ride ≈ 0.71, walk ≈ 0.45, strength ≈ RPE 5-6).
DEFAULT_TSS_PER_HOUR: dict[str, float] = {
    "run": 60.0,
    "ride": 50.0,
    "swim": 55.0,
    "walk": 20.0,
    "hike": 35.0,
    "row": 60.0,
    "ski": 55.0,
    "strength": 45.0,
    "other": 40.0,
}
#: Speed (m/s) at or above which a second counts as moving.
MOVING_SPEED_MPS: float = 0.5
#: Centred moving-average window (s) applied to altitude before summing the climbs.
ELEVATION_SMOOTHING_S: int = 30
#: Sports whose ``load_au`` never comes from heart rate (prefer sRPE).
RESISTANCE_SPORTS: frozenset[str] = frozenset({"strength"})
#: Sports whose ``load_au`` is the session RPE whenever one is given (e.g. 45 min at RPE 7
#: = 315 sRPE AU = 75 AU on the TSS scale), before any measured load.
SRPE_FIRST_SPORTS: frozenset[str] = RESISTANCE_SPORTS | {"other"}
#: VT1 heart rate as a fraction of LTHR when only LTHR is known (top of Friel's zone 2,
#: 89 % LTHR); VT2 ≈ LTHR. Used for the Lucia TRIMP.
VT1_FRACTION_OF_LTHR: float = 0.89


@dataclass(frozen=True, slots=True)
class Thresholds:
    """An athlete's physiological thresholds for one sport (each optional)."""

    hr_rest_bpm: float | None = None
    hr_max_bpm: float | None = None
    lthr_bpm: float | None = None  #: lactate-threshold heart rate
    ftp_w: float | None = None  #: functional threshold power
    threshold_speed_mps: float | None = None  #: ~1-hour race speed (running threshold pace)
    sex: str | None = None  #: "male" / "female" (TRIMP weighting); None = male weighting


@dataclass(frozen=True, slots=True)
class ThresholdEstimate:
    """Thresholds with, per field, whether the value was estimated from data."""

    thresholds: Thresholds
    estimated: dict[str, bool]


@dataclass(frozen=True, slots=True)
class SessionMetrics:
    """Metrics of one session; ``None`` where the data or thresholds do not allow it."""

    sport: str
    duration_s: float
    moving_time_s: float
    load_au: float  #: the daily-load contribution, TSS scale (1 h at threshold = 100)
    load_source: str  #: power_tss | running_tss | hr_tss | srpe | duration_default
    distance_m: float | None = None
    elevation_gain_m: float | None = None
    avg_hr_bpm: float | None = None
    max_hr_bpm: float | None = None
    avg_power_w: float | None = None
    np_w: float | None = None
    intensity_factor: float | None = None
    power_tss: float | None = None
    avg_gas_mps: float | None = None  #: mean grade-adjusted speed (runs)
    ngs_mps: float | None = None  #: normalised graded speed (runs)
    running_tss: float | None = None
    trimp_banister: float | None = None
    trimp_edwards: float | None = None
    trimp_lucia: float | None = None
    hr_tss: float | None = None
    srpe_load_au: float | None = None  #: RPE × minutes (Foster AU, not TSS scale)
    efficiency_factor: float | None = None
    decoupling_pct: float | None = None
    time_in_hr_zones_s: tuple[float, ...] | None = None
    time_in_power_zones_s: tuple[float, ...] | None = None
    mmp_power_w: pd.Series | None = field(default=None, compare=False)
    mmp_speed_mps: pd.Series | None = field(default=None, compare=False)
    mmp_hr_bpm: pd.Series | None = field(default=None, compare=False)


def _channel(columns: dict[Any, Any], n: int, column: str) -> FloatArray:
    if column not in columns:
        return np.full(n, np.nan)
    return float_column(columns[column], copy=True)


def _finite_or_none(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def _elevation_gain_m(altitude_1hz: FloatArray) -> float | None:
    ok = np.isfinite(altitude_1hz)
    if ok.sum() < 2:
        return None
    idx = np.arange(altitude_1hz.size)
    alt = np.interp(idx, idx[ok], altitude_1hz[ok])
    window = min(ELEVATION_SMOOTHING_S, alt.size)
    kernel = np.ones(window) / window
    padded = np.pad(alt, (window // 2, window - 1 - window // 2), mode="edge")
    smooth = np.convolve(padded, kernel, mode="valid")
    points = np.r_[smooth[::window], smooth[-1]]  # one point per window, and the end
    return float(np.sum(np.clip(np.diff(points), 0.0, None)))


def _mean_or_none(values: FloatArray) -> float | None:
    ok = np.isfinite(values)
    return float(np.mean(values[ok])) if ok.any() else None


def session_metrics(
    records: pd.DataFrame,
    *,
    sport: str,
    thresholds: Thresholds,
    duration_s: float | None = None,
    rpe: float | None = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    durations_s: Sequence[int] = DEFAULT_DURATIONS_S,
) -> SessionMetrics:
    """Compute every per-session metric and the session's ``load_au``.

    Parameters
    ----------
    records : pandas.DataFrame
        Samples with a ``time`` column and the unit-named columns of
        :class:`~lydiard.domain.columns.Col` (missing columns = not recorded). May be empty
        for a logged session (then ``duration_s`` is required).
    sport : str
        One of :data:`lydiard.domain.activity.SPORTS`.
    thresholds : Thresholds
        The athlete's thresholds for this sport.
    duration_s : float, optional
        Elapsed duration (s); default: first to last sample plus the last sample's hold.
    rpe : float, optional
        Session RPE (CR-10, 0-10).
    max_gap_s : float
        Longest sample interval (s) still treated as continuous recording.
    durations_s : sequence of int
        Durations of the mean-maximal curves.

    Returns
    -------
    SessionMetrics

    Notes
    -----
    Samples are put on a 1 Hz grid with a zero-order hold (see
    :mod:`lydiard.domain._streams`). NP, NGS, TSS, TRIMPs, zones and decoupling use
    the gap-collapsed series (pauses removed; TSS duration = recorded time); mean-maximal
    curves use the elapsed grid (pauses = 0 W, invalid for speed/HR).
    Elevation gain: altitude on the 1 Hz series, gaps interpolated, a centred 30-s moving
    average (removes the metre-level noise of GPS/barometric altitude), sampled every
    30 s, then the sum of the rises between those points (the coarse step acts as a
    hysteresis: noise cannot add a climb between two neighbouring seconds). ``moving_time_s``: recorded seconds with speed ≥ 0.5 m/s (all recorded
    seconds when there is no speed).
    """
    if "time" not in records.columns and len(records):
        raise InvalidInputError("records need a 'time' column", field="records")
    sport = sport if sport in DEFAULT_TSS_PER_HOUR else "other"
    n = len(records)
    columns = frame_arrays(records)  # one pass: column look-ups by label are slow
    time_col = columns["time"] if n else None
    time_s = (
        np.zeros(0) if time_col is None
        else elapsed_s(time_col if isinstance(time_col, pd.arrays.DatetimeArray) else pd.Series(time_col, copy=False))
    )
    hold = hold_durations_s(time_s, max_gap_s=max_gap_s)
    grid = grid_1hz(
        time_s,
        max_gap_s=max_gap_s,
        max_gap_kept_s=float(max(durations_s, default=1)) + 1.0,
        hold_s=hold,
    )
    if duration_s is None:
        if n == 0:
            raise InvalidInputError(
                "a session without samples needs duration_s", field="duration_s"
            )
        duration_s = float(time_s[-1] + hold[-1])
    if not duration_s >= 0:
        raise InvalidInputError("duration_s must be >= 0", field="duration_s")
    t = thresholds
    raw = {
        c: _channel(columns, n, c)
        for c in (Col.HR_BPM, Col.POWER_W, Col.SPEED_MPS, Col.ALTITUDE_M, Col.DISTANCE_M)
    }
    moving = {c: grid.take_moving(v) for c, v in raw.items()}  # gap-collapsed 1 Hz
    hr, power, speed = moving[Col.HR_BPM], moving[Col.POWER_W], moving[Col.SPEED_MPS]
    recorded_s = float(hr.size)
    has_hr = bool(np.isfinite(hr).any())
    has_power = bool(np.isfinite(power).any())
    has_speed = bool(np.isfinite(speed).any())
    out: dict[str, Any] = {}

    out["moving_time_s"] = float(np.sum(speed >= MOVING_SPEED_MPS)) if has_speed else recorded_s
    dist_raw = raw[Col.DISTANCE_M][np.isfinite(raw[Col.DISTANCE_M])]
    if dist_raw.size >= 2:
        out["distance_m"] = float(dist_raw[-1] - dist_raw[0])
    elif has_speed:
        out["distance_m"] = float(np.nansum(speed))
    out["elevation_gain_m"] = _elevation_gain_m(moving[Col.ALTITUDE_M])

    # heart rate
    if has_hr:
        out["avg_hr_bpm"] = _mean_or_none(hr)
        out["max_hr_bpm"] = float(np.nanmax(raw[Col.HR_BPM]))
        if t.hr_rest_bpm is not None and t.hr_max_bpm is not None:
            out["trimp_banister"] = trimp_banister(
                hr_bpm=hr, hr_rest_bpm=t.hr_rest_bpm, hr_max_bpm=t.hr_max_bpm, sex=t.sex
            )
            if t.lthr_bpm is not None:
                out["hr_tss"] = hr_tss(
                    hr_bpm=hr,
                    hr_rest_bpm=t.hr_rest_bpm,
                    hr_max_bpm=t.hr_max_bpm,
                    lthr_bpm=t.lthr_bpm,
                    sex=t.sex,
                )
        if t.hr_max_bpm is not None:
            out["trimp_edwards"] = trimp_edwards(hr_bpm=hr, hr_max_bpm=t.hr_max_bpm)
        if t.lthr_bpm is not None:
            out["trimp_lucia"] = trimp_lucia(
                hr_bpm=hr, vt1_hr_bpm=VT1_FRACTION_OF_LTHR * t.lthr_bpm, vt2_hr_bpm=t.lthr_bpm
            )
        if t.lthr_bpm is not None or t.hr_max_bpm is not None:
            bounds = hr_zone_bounds_bpm(lthr_bpm=t.lthr_bpm, hr_max_bpm=t.hr_max_bpm)
            out["time_in_hr_zones_s"] = tuple(time_in_zones(hr, 1.0, bounds).tolist())

    # power
    if has_power:
        power0 = np.nan_to_num(power, nan=0.0)
        out["avg_power_w"] = float(np.mean(power0))
        np_w = _finite_or_none(fourth_power_mean(power0))
        out["np_w"] = np_w
        if t.ftp_w is not None and np_w is not None:
            out["intensity_factor"] = intensity_factor(np_w=np_w, ftp_w=t.ftp_w)
            out["power_tss"] = power_tss(duration_s=recorded_s, np_w=np_w, ftp_w=t.ftp_w)
        if t.ftp_w is not None:
            out["time_in_power_zones_s"] = tuple(
                time_in_zones(power, 1.0, power_zone_bounds_w(ftp_w=t.ftp_w)).tolist()
            )

    # running: grade-adjusted speed on the raw samples, then the 1 Hz recipe
    output_for_ef: FloatArray | None = power if has_power and sport != "run" else None
    ef_value: float | None = out.get("np_w")
    if sport == "run" and has_speed:
        distance = raw[Col.DISTANCE_M]
        if np.isfinite(distance).sum() < 2:
            distance = np.cumsum(np.nan_to_num(raw[Col.SPEED_MPS]) * hold)
        gas_raw = grade_adjusted_speed(
            speed_mps=raw[Col.SPEED_MPS], altitude_m=raw[Col.ALTITUDE_M], distance_m=distance
        )
        gas = grid.take_moving(gas_raw)
        out["avg_gas_mps"] = _mean_or_none(gas)
        ngs = _finite_or_none(fourth_power_mean(gas))
        out["ngs_mps"] = ngs
        if ngs is not None and t.threshold_speed_mps is not None:
            out["running_tss"] = running_tss(
                duration_s=recorded_s, ngs_mps=ngs, threshold_speed_mps=t.threshold_speed_mps
            )
        output_for_ef = gas
        ef_value = ngs if ngs is not None else out["avg_gas_mps"]
    if has_hr and out.get("avg_hr_bpm") and ef_value is not None:
        out["efficiency_factor"] = efficiency_factor(ef_value, avg_hr_bpm=out["avg_hr_bpm"])
    if has_hr and output_for_ef is not None:
        with contextlib.suppress(InsufficientDataError):  # too few HR samples: leave None
            out["decoupling_pct"] = aerobic_decoupling(
                np.nan_to_num(output_for_ef, nan=0.0), hr_bpm=hr
            )

    # mean-maximal curves on the elapsed grid
    if n:
        if has_power:
            out["mmp_power_w"] = _curve(
                grid.take(raw[Col.POWER_W], gap_value=0.0), durations_s, zero=True
            )
        if has_speed:
            out["mmp_speed_mps"] = _curve(grid.take(raw[Col.SPEED_MPS]), durations_s, zero=False)
        if has_hr:
            out["mmp_hr_bpm"] = _curve(grid.take(raw[Col.HR_BPM]), durations_s, zero=False)

    if rpe is not None:
        out["srpe_load_au"] = float(srpe_load(rpe=rpe, duration_min=duration_s / 60.0))
    load_au, load_source = _choose_load(sport, out, duration_s=duration_s)
    return SessionMetrics(
        sport=sport, duration_s=float(duration_s), load_au=load_au, load_source=load_source, **out
    )


def _mean_maximal_complete(x: FloatArray, durations_s: Sequence[int]) -> FloatArray | None:
    """:func:`mean_maximal_1hz` for a series without invalid seconds (None otherwise).

    The same arithmetic (same shift, same cumulative sum, same window sums), so the
    same values, without the bookkeeping of invalid seconds that a complete series
    does not need (power after pauses are set to 0 W is always complete).
    """
    if x.size == 0 or not np.isfinite(x).all() or any(int(d) < 1 for d in durations_s):
        return None
    shift = float(np.mean(x))
    cs = np.concatenate(([0.0], np.cumsum(x - shift)))
    best = np.full(len(durations_s), np.nan)
    for k, duration in enumerate(durations_s):
        d = int(duration)
        if d <= x.size:
            best[k] = float(np.max(cs[d:] - cs[:-d])) / d + shift
    return best


@functools.lru_cache(maxsize=16)
def _shared_curve_index(durations_s: tuple[int, ...]) -> pd.Index:
    return pd.Index(np.array(durations_s, dtype=np.int64), name="duration_s")


def _curve_index(durations_s: Sequence[int]) -> pd.Index:
    """Index of a mean-maximal curve by its durations: built once per set of durations, each
    curve getting its own view of it."""
    return _shared_curve_index(tuple(int(d) for d in durations_s)).view()


def _curve(values_1hz: FloatArray, durations_s: Sequence[int], *, zero: bool) -> pd.Series:
    x = np.nan_to_num(values_1hz, nan=0.0) if zero else values_1hz
    best = _mean_maximal_complete(x, durations_s)
    values = best if best is not None else mean_maximal_1hz(x, durations_s=durations_s)
    return pd.Series(np.asarray(values, dtype=np.float64), index=_curve_index(durations_s), copy=False)


def _choose_load(sport: str, metrics: dict[str, Any], *, duration_s: float) -> tuple[float, str]:
    """Pick ``load_au`` by the documented order of preference (module docstring)."""
    if sport in RESISTANCE_SPORTS:
        order: tuple[str, ...] = ("srpe",)
    elif sport in SRPE_FIRST_SPORTS and metrics.get("srpe_load_au") is not None:
        order = ("srpe",)
    else:
        order = ("power_tss", "running_tss", "hr_tss", "srpe")
    for source in order:
        if source == "srpe":
            value = metrics.get("srpe_load_au")
            if value is not None:
                return srpe_to_tss(value), "srpe"
        else:
            value = metrics.get(source)
            if value is not None and np.isfinite(value):
                return float(value), source
    return duration_s / 3600.0 * DEFAULT_TSS_PER_HOUR[sport], "duration_default"


def estimate_thresholds(
    history: Iterable[SessionMetrics],
    *,
    known: Thresholds | None = None,
    resting_hr_bpm: Sequence[float] = (),
) -> ThresholdEstimate:
    """Fill the thresholds left unset from past sessions; flag which were estimated.

    Rules (each used only when the field is unset in ``known``):

    * ``hr_max_bpm``: the highest session max HR seen.
    * ``lthr_bpm``: ``max(best 60-min HR, 0.95 × best 20-min HR)`` (Friel: LTHR ≈ average
      HR of a 30-min solo time trial's last 20 min); when no session was hard enough for
      that to reach 85 % of HRmax, ``0.9 × hr_max_bpm``.
    * ``ftp_w``: ``0.95 × best 20-min power`` (Allen & Coggan 2010).
    * ``threshold_speed_mps``: ``max(best 60-min speed, 0.95 × best 30-min speed)`` over runs.
    * ``hr_rest_bpm``: the median of ``resting_hr_bpm`` (morning readings); otherwise
      60 bpm, a population default.
    * ``sex`` is never estimated.

    Returns
    -------
    ThresholdEstimate
        The completed thresholds and ``estimated[field]`` for every field.
    """
    base = known if known is not None else Thresholds()
    max_hr: list[float] = []
    hr20: list[float] = []
    hr60: list[float] = []
    p20: list[float] = []
    v30: list[float] = []
    v60: list[float] = []

    def best(curve: pd.Series | None, seconds: int, into: list[float]) -> None:
        if curve is not None and seconds in curve.index and np.isfinite(curve[seconds]):
            into.append(float(curve[seconds]))

    for session in history:
        if session.max_hr_bpm is not None:
            max_hr.append(session.max_hr_bpm)
        best(session.mmp_hr_bpm, 1200, hr20)
        best(session.mmp_hr_bpm, 3600, hr60)
        best(session.mmp_power_w, 1200, p20)
        if session.sport == "run":
            best(session.mmp_speed_mps, 1800, v30)
            best(session.mmp_speed_mps, 3600, v60)

    values: dict[str, Any] = {}
    if base.hr_max_bpm is None and max_hr:
        values["hr_max_bpm"] = max(max_hr)
    hr_max = values.get("hr_max_bpm", base.hr_max_bpm)
    if base.lthr_bpm is None:
        candidates = [0.95 * max(hr20)] if hr20 else []
        candidates += [max(hr60)] if hr60 else []
        lthr = max(candidates) if candidates else None
        if hr_max is not None and (lthr is None or lthr < 0.85 * hr_max):
            lthr = 0.9 * hr_max
        if lthr is not None:
            values["lthr_bpm"] = lthr
    if base.ftp_w is None and p20:
        values["ftp_w"] = 0.95 * max(p20)
    if base.threshold_speed_mps is None and (v30 or v60):
        speeds = ([0.95 * max(v30)] if v30 else []) + ([max(v60)] if v60 else [])
        values["threshold_speed_mps"] = max(speeds)
    if base.hr_rest_bpm is None:
        rest = [r for r in resting_hr_bpm if np.isfinite(r) and r > 0]
        values["hr_rest_bpm"] = float(np.median(rest)) if rest else 60.0
    estimated = {f.name: f.name in values for f in fields(Thresholds)}
    return ThresholdEstimate(thresholds=replace(base, **values), estimated=estimated)
