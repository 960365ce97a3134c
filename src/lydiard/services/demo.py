"""The demo store, from a clone alone: a coach and a roster of simulated athletes that tells the story.

Today's roster (:data:`STORY`): the demo athlete in deep fatigue with a half-marathon plan
and a proposed change waiting for a decision, one athlete just after a race, one ill, one
recovered; each with months of daily data, recent check-ins and simulated workout files
(TCX, :mod:`lydiard.ingest.tcx_writer`) imported through the real importer. With the
shared folder present, real workout files of its corpus and the PMData participants are
added.

Passwords are generated (``secrets``) and returned once in :class:`DemoInfo`; they are
never fixed, so a demo store exposed beyond the loopback is not open to anyone who read
this file. :func:`seed_cohort` writes a large synthetic roster through the bulk paths
for benchmarks.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import func, insert, select

from lydiard.domain.daily import (
    CHECKIN_FLAGS,
    CHECKIN_ITEMS,
    DailyImport,
    DailyObservation,
    SessionLog,
)
from lydiard.domain.load.srpe import SRPE_AU_PER_TSS
from lydiard.domain.recovery import REC_CODES, STAGE_NAMES, stage_matrix
from lydiard.domain.simulate import simulate_athlete, simulate_cohort
from lydiard.services import batch_io, pipeline
from lydiard.services import users as user_svc
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, set_threshold
from lydiard.services.context import Context, new_id
from lydiard.services.importing import import_paths, import_upload, store_daily_import
from lydiard.services.metrics import (
    OBS_FIELDS,
    compute_daily,
    frame_matrix_inputs,
    local_today,
    logged_session_loads,
    write_daily_metrics,
)
from lydiard.services.signals import sessions_table, signal_matrices
from lydiard.storage.bulk import copy_rows
from lydiard.storage.engine import translate_db_errors
from lydiard.storage.tables import (
    athletes,
    coach_links,
    daily_metrics,
    daily_observations,
    session_logs,
    users,
)

log = logging.getLogger(__name__)

DEMO_COACH_EMAIL = "coach@demo.lydiard.org"
DEMO_ATHLETE_EMAIL = "athlete@demo.lydiard.org"
DEMO_TZ = "Europe/Oslo"
DEMO_SOURCE = "demo"
OBSERVATION_COLUMNS: tuple[str, ...] = OBS_FIELDS

#: Real workout files of the shared corpus shown on the demo athlete's Activities page
#: (GPS tracks, heart rate, power); missing files are skipped.
CORPUS_FILES: tuple[str, ...] = (
    "python-fitparse/tests/files/activity-small-fenix2-run.fit",
    "python-fitparse/tests/files/Edge810-Vector-2013-08-16-15-35-10.fit",
    "python-fitparse/tests/files/sample-activity.fit",
    "sweatpy/sweat/examples/data/4801048867.fit",
    "sports-lib/src/specs/fixtures/runs/gpx/2067489619.gpx",
    "gpxpy/test_files/korita-zbevnica.gpx",
    "python-tcxparser/tests/files/test.tcx",
)

#: The demo's story, told on today's roster: (scenario, name, seed, the moment shown as today).
#: The first is the demo athlete (the athlete login): in deep fatigue, with a plan and a
#: proposed change waiting for a decision. Each simulation is cut at the day of its moment
#: (the assessment is causal, so cutting changes nothing before it) and dated to end today.
STORY: tuple[tuple[str, str, int, str], ...] = (
    ("overreaching", "Demo Athlete", 13, "deep_fatigue"),
    ("taper", "Sim: Racing Rasmus", 16, "after_race"),
    ("illness", "Sim: Ill Ingrid", 14, "ill"),
    ("crash_and_recovery", "Sim: Recovered Olav", 3, "recovered"),
)
#: Days (up to today) whose sessions are simulated workout files imported through the importer.
ACTIVITY_DAYS = 21
#: Days of history a story athlete has before its moment may be shown (baselines calibrated).
MIN_HISTORY_DAYS = 60
#: Recommendations that show an ill athlete (the engine's advice on an illness day).
ILL_RECOMMENDATIONS = frozenset(("rest", "stop_see_doctor"))
#: Days simulated beyond the shown history, so the moment can fall late enough.
EXTRA_DAYS = 150
#: Seeds tried (``seed``, ``seed + 101``, ...) before a story athlete falls back to its last days.
SEED_ATTEMPTS = 6
#: Histories staged in one engine call while searching a moment.
WINDOW_CHUNK = 40
#: Histories imported for a story athlete before the store's stage is accepted as it is.
STORED_ATTEMPTS = 3
#: Days (up to today) with a check-in.
CHECKIN_DAYS = 14
#: Seconds between the samples of a simulated workout file (a watch's "smart recording").
SAMPLE_INTERVAL_S = 5.0


@dataclass(frozen=True, slots=True)
class DemoLogin:
    email: str
    password: str
    role: str  #: "coach" or "athlete"


@dataclass(frozen=True, slots=True)
class DemoInfo:
    """What the demo created: the logins (shown once) and the athletes."""

    logins: tuple[DemoLogin, ...]
    athlete_id: str
    roster_ids: tuple[str, ...]
    corpus_activities: int
    pmdata_participants: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def shared_dir() -> Path | None:
    """The shared folder (``LYDIARD_SHARED`` or ``../shared`` next to a source checkout), if present."""
    env = os.environ.get("LYDIARD_SHARED")
    if env:
        p = Path(env)
        return p if p.is_dir() else None
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "pyproject.toml").exists():
            candidate = parent.parent / "shared"
            return candidate if candidate.is_dir() else None
    return None


def store_is_empty(ctx: Context) -> bool:
    """True when the store has no user accounts yet."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(users)).scalar_one()) == 0


def _password() -> str:
    return "demo-" + secrets.token_urlsafe(12)


def _link_coach(ctx: Context, coach_user_id: str, athlete_id: str) -> None:
    """An active coach link, as if the athlete had accepted the invitation."""
    now = ctx.clock()
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(insert(coach_links).values(id=new_id(), coach_user_id=coach_user_id, athlete_id=athlete_id,
                                                status="active", invited_at=now, decided_at=now))


def simulated_import(frame: pd.DataFrame, *, source: str = DEMO_SOURCE, sport: str = "run") -> DailyImport:
    """Turn a simulator ``days`` frame into daily observations and logged sessions.

    The daily load (TSS scale) becomes one session whose CR-10 RPE grows with the load
    and whose duration gives back the same load through session-RPE
    (``load = rpe · minutes / SRPE_AU_PER_TSS``).
    """
    obs: list[DailyObservation] = []
    sessions: list[SessionLog] = []
    cols = set(frame.columns)
    rows: Any = frame.itertuples(index=False)
    for row in rows:
        day: date = row.day
        values: dict[str, Any] = {}
        for name in ("rmssd_ms", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS, "readiness"):
            if name in cols:
                v = getattr(row, name)
                values[name] = None if v is None or not np.isfinite(v) else round(float(v), 3)
        for name in CHECKIN_FLAGS:
            if name in cols:
                values[name] = bool(getattr(row, name)) or None
        if values.get("rmssd_ms") is not None:
            values["hrv_kind"] = "morning"
        obs.append(DailyObservation(day=day, source=source, **values))
        load = float(row.load_au)
        if np.isfinite(load) and load > 0.5:
            rpe = float(min(8.0, max(2.0, round(2.0 + load / 30.0))))
            minutes = load * SRPE_AU_PER_TSS / rpe
            sessions.append(SessionLog(day=day, source=source, sport=sport, duration_s=round(minutes * 60.0, 1),
                                       rpe=rpe, name="Hard session" if rpe >= 6 else "Easy run",
                                       external_id=f"{source}-{day.isoformat()}"))
    return DailyImport(observations=tuple(obs), sessions=tuple(sessions))


def _simulated_athlete(ctx: Context, *, name: str, scenario: str, seed: int, days: int,
                       user_id: str | None = None, managed_by: str | None = None) -> tuple[str, DailyImport]:
    system = Actor.system()
    a = create_athlete(ctx, system, name=name, sex="f" if seed % 2 else "m", birth_year=1985 + seed % 15,
                       tz=DEMO_TZ, user_id=user_id, managed_by_user_id=managed_by)
    today = local_today(ctx, DEMO_TZ)
    start = today - timedelta(days=days - 1)
    sim = simulate_athlete(seed, days, scenario, start=start)
    for kind, value in (("hr_rest_bpm", 48.0), ("hr_max_bpm", 190.0), ("lthr_bpm", 168.0), ("ftp_w", 260.0)):
        set_threshold(ctx, system, a.id, kind=kind, value=value, valid_from=start)
    imp = simulated_import(sim.days)
    store_daily_import(ctx, system, a.id, imp, source=DEMO_SOURCE, item=f"simulated {scenario}")
    return a.id, imp


def daily_frame(imp: DailyImport, *, start: date, end: date) -> pd.DataFrame:
    """The ``daily_inputs`` frame of an athlete whose only data are ``imp`` (one source, logged sessions)."""
    index = pd.date_range(start, end, freq="D", name="day")
    frame = pd.DataFrame(index=index)
    per_day: dict[date, float] = {}
    for sl in imp.sessions:
        if sl.rpe is not None:
            per_day[sl.day] = per_day.get(sl.day, 0.0) + sl.rpe * sl.duration_s / 60.0 / SRPE_AU_PER_TSS
    frame["load_au"] = [per_day.get(ts.date(), 0.0) for ts in index]
    obs = {pd.Timestamp(o.day): o for o in imp.observations}
    for col in OBSERVATION_COLUMNS:
        values = [getattr(obs[ts], col) if ts in obs else None for ts in index]
        if col in CHECKIN_FLAGS:
            frame[col] = pd.array(values, dtype="boolean")
        elif col == "hrv_kind":
            frame[col] = values
        else:
            frame[col] = pd.to_numeric(pd.Series(values, index=index, dtype=object), errors="coerce").astype(float)
    # the session signals as the stored path derives them (services.signals), from the logged sessions
    load = frame["load_au"].to_numpy(dtype=np.float64)[None, :]
    sessions = _sessions_table(imp, start)
    for col, matrix in signal_matrices(sessions, shape=load.shape, load_au=load, planned_race=None).items():
        frame[col] = matrix[0]
    return frame


def _sessions_table(imp: DailyImport, start: date) -> pd.DataFrame:
    """The logged sessions of ``imp`` as :func:`~lydiard.services.signals.sessions_table` gives
    them to the signals (athlete row 0, day columns counted from ``start``)."""
    logs = pd.DataFrame({
        "a": np.zeros(len(imp.sessions)),
        "c": np.array([(sl.day - start).days for sl in imp.sessions], dtype=np.float64),
        "sport": [sl.sport for sl in imp.sessions],
        "duration_s": np.array([sl.duration_s for sl in imp.sessions], dtype=np.float64),
        "rpe": np.array([np.nan if sl.rpe is None else sl.rpe for sl in imp.sessions], dtype=np.float64),
    })
    log_load = (logged_session_loads(logs["sport"], logs["duration_s"], logs["rpe"]) if len(logs)
                else np.zeros(0))
    return sessions_table(pd.DataFrame(columns=["a", "c", "sport"]), logs, log_load_au=log_load)


def _write_simulated_metrics(ctx: Context, athlete_id: str, imp: DailyImport, *, days: int) -> None:
    """Daily metrics of a simulated athlete computed in one vectorised pass (equal to ``recompute_athlete``)."""
    today = local_today(ctx, DEMO_TZ)
    frame = daily_frame(imp, start=today - timedelta(days=days - 1), end=today)
    write_daily_metrics(ctx, athlete_id, compute_daily(frame), since=None)


def _fits(moment: str, stages: list[str], recs: list[str], ill: npt.NDArray[np.bool_],
          race: npt.NDArray[np.bool_]) -> bool:
    """Whether the last day of a history shows ``moment`` (see :data:`STORY`).

    ``stages`` and ``recs`` are the engine's stage and recommendation per day of that history;
    ``ill`` and ``race`` the simulation's illness and race days.
    """
    i = len(stages) - 1
    if i < MIN_HISTORY_DAYS:  # baselines are calibrated
        return False
    if moment == "deep_fatigue":
        return all(st == "deep_fatigue" for st in stages[i - 2:])
    if moment == "ill":
        return bool(ill[i] and ill[i - 1]) and recs[i] in ILL_RECOMMENDATIONS
    if moment == "after_race":  # the day after a race: a crash expected, not a fatigue to treat
        return bool(race[i - 1] and not race[i]) and stages[i] in ("surface_fatigue", "normal")
    if moment == "recovered":
        return (all(st == "normal" for st in stages[i - 6:])
                and any(st == "deep_fatigue" for st in stages[max(0, i - 70):i - 14]))
    raise ValueError(f"unknown story moment {moment!r}")


def _window_stages(imp: DailyImport, first: date, ends: list[int], days: int) -> tuple[list[list[str]], list[list[str]]]:
    """The stored path's stage and recommendation per day of each history of ``days`` days
    ending on day ``ends[k]`` (days counted from ``first``), in one engine call.

    Each history is what the store holds once it is imported, with its own start: the
    daily inputs of :func:`daily_frame` (as :func:`~lydiard.services.metrics.frame_matrix_inputs`
    gives them to the engine) cut to the history, and the session signals (race rule,
    markers) derived again from the sessions of the history alone, as the store derives
    them. Rows of :func:`~lydiard.domain.recovery.stage_matrix` are independent athletes.
    """
    starts = [e - days + 1 for e in ends]
    whole = frame_matrix_inputs(daily_frame(imp, start=first, end=first + timedelta(days=max(ends))))
    sessions = _sessions_table(imp, first)
    parts = []
    for k, s0 in enumerate(starts):
        part = sessions[(sessions["c"] >= s0) & (sessions["c"] < s0 + days)].copy()
        part["a"] = float(k)
        part["c"] = part["c"] - s0
        parts.append(part)
    inputs = {name: np.vstack([m[0, s0:s0 + days] for s0 in starts]) for name, m in whole.items()}
    signals = signal_matrices(pd.concat(parts, ignore_index=True), shape=(len(ends), days),
                              load_au=inputs["load_au"], planned_race=None)
    for name, matrix in signals.items():
        if name in inputs:
            inputs[name] = np.asarray(matrix, dtype=np.float64)
    result = stage_matrix(inputs)
    stages = [[STAGE_NAMES[int(c)] for c in row] for row in result["stage"]]
    recs = [[REC_CODES[int(c)] for c in row] for row in result["rec_code"]]
    return stages, recs


def _story_frames(scenario: str, seed: int, moment: str, *, days: int, today: date) -> Iterator[pd.DataFrame]:
    """``days`` simulated days of a story athlete ending at its moment, dated to end ``today``;
    the best candidate first, then others (for :func:`_story_athlete` to try when the store
    disagrees).

    Simulations a little longer than ``days`` are searched for a day on which a history of
    ``days`` days ending there shows the moment *as the store will compute it* (the history
    starts with the cut: baselines and signals are computed from the cut, not from the
    longer simulation; :func:`_window_stages`). Days whose moment fits on the whole
    simulation are tried first, then every day, then the next seed. Ends with the last
    ``days`` days of the first simulation (logged) when no seed shows the moment.
    """
    first = date(2000, 1, 3)
    fallback: pd.DataFrame | None = None
    for attempt_seed in (seed, *(seed + 101 * k for k in range(1, SEED_ATTEMPTS))):
        sim = simulate_athlete(attempt_seed, days + EXTRA_DAYS, scenario, start=first)
        sim_days = sim.days
        if fallback is None:
            fallback = sim_days.iloc[len(sim_days) - days:]
        n = len(sim_days)
        ill = sim_days["illness"].to_numpy(dtype=bool) if "illness" in sim_days else np.zeros(n, dtype=bool)
        race = sim_days["race"].to_numpy(dtype=bool) if "race" in sim_days else np.zeros(n, dtype=bool)
        imp = simulated_import(sim_days)
        whole, whole_recs = _window_stages(imp, first, [n - 1], n)
        fits_whole = [j for j in range(n) if _fits(moment, whole[0][:j + 1], whole_recs[0][:j + 1],
                                                  ill[:j + 1], race[:j + 1])]
        likely = sorted({e for j in fits_whole for e in range(j - 3, j + 4) if days - 1 <= e < n}, reverse=True)
        rest = [e for e in range(n - 1, days - 2, -1) if e not in set(likely)]
        for group in (likely, rest):
            for k in range(0, len(group), WINDOW_CHUNK):
                ends = group[k:k + WINDOW_CHUNK]
                stages, recs = _window_stages(imp, first, ends, days)
                for e, st, rc in zip(ends, stages, recs, strict=True):
                    s0 = e - days + 1
                    if _fits(moment, st, rc, ill[s0:e + 1], race[s0:e + 1]):
                        yield _dated(sim_days.iloc[s0:e + 1], today)
    log.warning("demo: no %s moment found for %s (seed %d); showing its last %d days", moment, scenario, seed, days)
    assert fallback is not None
    yield _dated(fallback, today)


def _story_frame(scenario: str, seed: int, moment: str, *, days: int, today: date) -> pd.DataFrame:
    """The first of :func:`_story_frames`."""
    return next(_story_frames(scenario, seed, moment, days=days, today=today))


def _stored_fits(ctx: Context, athlete_id: str, frame: pd.DataFrame, moment: str) -> bool:
    """Whether the stage and recommendation the store computed for the imported ``frame`` show ``moment``."""
    with translate_db_errors(), ctx.engine.connect() as conn:
        rows = conn.execute(select(daily_metrics.c.day, daily_metrics.c.stage, daily_metrics.c.recommendation_code)
                            .where(daily_metrics.c.athlete_id == athlete_id).order_by(daily_metrics.c.day)).all()
    by_day = {r.day: r for r in rows}
    days = list(frame["day"])
    stages = [str(by_day[d].stage) if d in by_day else "" for d in days]
    recs = [str(by_day[d].recommendation_code) if d in by_day else "" for d in days]
    n = len(frame)
    ill = frame["illness"].to_numpy(dtype=bool) if "illness" in frame else np.zeros(n, dtype=bool)
    race = frame["race"].to_numpy(dtype=bool) if "race" in frame else np.zeros(n, dtype=bool)
    return _fits(moment, stages, recs, ill, race)


def _dated(frame: pd.DataFrame, today: date) -> pd.DataFrame:
    out = frame.reset_index(drop=True).copy()
    out["day"] = [today - timedelta(days=len(out) - 1 - i) for i in range(len(out))]
    return out


def _recent_sessions(imp: DailyImport, *, since: date, tz: str) -> DailyImport:
    """Give the logged sessions from ``since`` on a start time (07:00 local), so that the
    simulated workout file of the same session links to its log instead of counting twice."""
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    sessions = tuple(
        replace(sl, started_at=datetime(sl.day.year, sl.day.month, sl.day.day, 7, 0, tzinfo=zone).astimezone(UTC))
        if sl.day >= since else sl for sl in imp.sessions)
    return replace(imp, sessions=sessions)


def _checkins(imp: DailyImport, *, since: date) -> DailyImport:
    """The wellness answers of the days from ``since`` on, as the athlete's check-ins."""
    fields_ = (*CHECKIN_ITEMS, *CHECKIN_FLAGS, "sleep_h", "readiness")
    obs = tuple(DailyObservation(day=o.day, source="checkin", **{f: getattr(o, f) for f in fields_})
                for o in imp.observations if o.day >= since)
    return DailyImport(observations=obs)


def simulated_workout(session: SessionLog, *, hr_rest_bpm: float, hr_max_bpm: float, lthr_bpm: float,
                      sex: str | None, seed: int) -> bytes:
    """A TCX run of a logged session: its duration, a heart rate whose load is the session's, a GPS loop.

    The session's load (sRPE, ``rpe · minutes / SRPE_AU_PER_TSS``) is matched by the file's
    heart-rate TSS (:func:`lydiard.domain.load.trimp.hr_tss`, solved for the heart-rate level
    by bisection), so importing the file changes no day's load; heart rate drifts up slowly
    with noise. The track is a loop of about 2 km around Oslo's Frognerparken at a pace that
    grows with the effort.
    """
    from lydiard.domain.load.trimp import hr_tss
    from lydiard.ingest.tcx_writer import TrackPoint, write_tcx

    assert session.started_at is not None and session.rpe is not None
    rng = np.random.default_rng(seed)
    target = session.rpe * session.duration_s / 60.0 / SRPE_AU_PER_TSS
    t = np.arange(0.0, max(session.duration_s, 600.0) + 1.0, SAMPLE_INTERVAL_S)
    shape = 4.0 * (t / t[-1]) + rng.normal(0.0, 1.5, t.size)
    sex_name = "female" if sex == "f" else "male"

    def load(base: float) -> float:
        hr = np.clip(base + shape, hr_rest_bpm + 1.0, hr_max_bpm)
        return hr_tss(hr_bpm=hr, dt_s=SAMPLE_INTERVAL_S, hr_rest_bpm=hr_rest_bpm, hr_max_bpm=hr_max_bpm,
                      lthr_bpm=lthr_bpm, sex=sex_name)

    low, high = hr_rest_bpm + 10.0, hr_max_bpm - 5.0
    for _ in range(30):
        mid = (low + high) / 2.0
        low, high = (mid, high) if load(mid) < target else (low, mid)
    hr = np.clip(low + shape, hr_rest_bpm + 1.0, hr_max_bpm)
    effort = float(np.clip((low - hr_rest_bpm) / (lthr_bpm - hr_rest_bpm), 0.4, 1.1))
    speed_mps = 1.8 + 2.2 * effort
    dist = speed_mps * t
    angle = dist / 2000.0 * 2.0 * np.pi
    lat = 59.927 + 0.0029 * np.sin(angle)
    lon = 10.700 + 0.0057 * (1.0 - np.cos(angle))
    alt = 40.0 + 8.0 * np.sin(2.0 * angle)
    cadence = 76.0 + 12.0 * effort
    points = [TrackPoint(t_s=float(t[i]), lat_deg=float(lat[i]), lon_deg=float(lon[i]), alt_m=float(alt[i]),
                         distance_m=float(dist[i]), hr_bpm=float(hr[i]), cadence_rpm=cadence)
              for i in range(t.size)]
    return write_tcx(points, started_at=session.started_at, sport="run", notes=session.name)


def _story_athlete(ctx: Context, *, scenario: str, name: str, seed: int, moment: str, days: int,
                   user_id: str | None = None, managed_by: str | None = None) -> str:
    """Create one story athlete: daily data, check-ins, simulated workout files (through the importer).

    The history is chosen so that the store shows its moment (:func:`_story_frames`); once
    imported, the stored stages are checked, and should the store disagree (a signal of the
    workout files the search cannot see), the athlete is deleted and the next candidate
    history imported, up to :data:`STORED_ATTEMPTS` times (then kept, with a warning).
    """
    from lydiard.services.privacy import delete_athlete

    today = local_today(ctx, DEMO_TZ)
    frames = _story_frames(scenario, seed, moment, days=days, today=today)
    kept: str | None = None
    for _, frame in zip(range(STORED_ATTEMPTS), frames):  # noqa: B905 (frames may be longer)
        if kept is not None:
            log.info("demo: %s does not show %s as stored; trying another history", name, moment)
            delete_athlete(ctx, Actor.system(), kept)
        kept = _store_story_athlete(ctx, frame, scenario=scenario, name=name, seed=seed, user_id=user_id,
                                    managed_by=managed_by)
        if _stored_fits(ctx, kept, frame, moment):
            return kept
    log.warning("demo: %s does not show %s as stored; kept as is", name, moment)
    assert kept is not None
    return kept


def _store_story_athlete(ctx: Context, frame: pd.DataFrame, *, scenario: str, name: str, seed: int,
                         user_id: str | None, managed_by: str | None) -> str:
    """Import one story athlete's history ``frame`` (dated to end today) through the real paths."""
    import io
    import zipfile

    system = Actor.system()
    today = local_today(ctx, DEMO_TZ)
    start = frame["day"].iloc[0]
    a = create_athlete(ctx, system, name=name, sex="f" if seed % 2 else "m", birth_year=1985 + seed % 15,
                       tz=DEMO_TZ, user_id=user_id, managed_by_user_id=managed_by)
    thresholds = {"hr_rest_bpm": 48.0, "hr_max_bpm": 190.0, "lthr_bpm": 168.0, "ftp_w": 260.0}
    for kind, value in thresholds.items():
        set_threshold(ctx, system, a.id, kind=kind, value=value, valid_from=start)
    since = today - timedelta(days=ACTIVITY_DAYS - 1)
    imp = _recent_sessions(simulated_import(frame), since=since, tz=DEMO_TZ)
    store_daily_import(ctx, system, a.id, imp, source=DEMO_SOURCE, item=f"simulated {scenario}")
    store_daily_import(ctx, system, a.id, _checkins(imp, since=today - timedelta(days=CHECKIN_DAYS - 1)),
                       source=DEMO_SOURCE, item="simulated check-ins")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i, sl in enumerate(x for x in imp.sessions if x.day >= since and x.rpe is not None):
            data = simulated_workout(sl, hr_rest_bpm=thresholds["hr_rest_bpm"], hr_max_bpm=thresholds["hr_max_bpm"],
                                     lthr_bpm=thresholds["lthr_bpm"], sex=a.sex, seed=seed * 1000 + i)
            zf.writestr(f"{sl.day.isoformat()}-{'hard' if (sl.rpe or 0) >= 6 else 'easy'}-run.tcx", data)
    report = import_upload(ctx, system, a.id, name=f"{name} recent workouts.zip", data=buf.getvalue(),
                           recompute=False)
    if report.failures():
        log.warning("demo: %d simulated workout file(s) failed: %s", len(report.failures()),
                    report.failures()[0].reason)
    pipeline.after_change(ctx, system, a.id, pipeline.Change.data(since=None))
    return a.id


def _demo_plan(ctx: Context, athlete_id: str) -> None:
    """A half-marathon plan for the demo athlete and the change today's assessment proposes."""
    from lydiard.services.planning import generate_and_store_plan, propose_adaptation

    system = Actor.system()
    today = local_today(ctx, DEMO_TZ)
    generate_and_store_plan(ctx, system, athlete_id, goal_day=today + timedelta(days=70), goal_sport="run",
                            goal_type="race", goal_distance_m=21097.5, weekly_hours=6.0)
    propose_adaptation(ctx, system, athlete_id)


def load_demo(ctx: Context, *, days: int = 365, seed: int = 3, shared: Path | None = None,
              roster_scenarios: bool = True, pmdata: bool = True) -> DemoInfo:
    """Create the demo coach and athlete, a simulated year, corpus activities and the PMData roster."""
    system = Actor.system()
    notes: list[str] = []
    coach_pw, athlete_pw = _password(), _password()
    coach = user_svc.create_user(ctx, system, email=DEMO_COACH_EMAIL, password=coach_pw, display_name="Demo Coach")
    athlete_user = user_svc.create_user(ctx, system, email=DEMO_ATHLETE_EMAIL, password=athlete_pw,
                                        display_name="Demo Athlete")
    scenario, name, story_seed, moment = STORY[0]
    aid = _story_athlete(ctx, scenario=scenario, name=name, seed=story_seed + seed - 3, moment=moment, days=days,
                         user_id=athlete_user.id)
    _link_coach(ctx, coach.id, aid)
    _demo_plan(ctx, aid)

    shared = shared if shared is not None else shared_dir()
    n_corpus = 0
    corpus = shared / "corpus" if shared is not None else None
    if corpus is not None and corpus.is_dir():
        for path in (corpus / p for p in CORPUS_FILES if (corpus / p).is_file()):
            try:
                report = import_paths(ctx, system, aid, [path], recompute=False)
            except Exception as exc:  # an importer bug must not stop the demo; it is logged
                log.warning("demo: importing %s failed: %s", path.name, exc)
                notes.append(f"{path.name}: import failed ({type(exc).__name__})")
                continue
            n_corpus += sum(1 for it in report.items if it.outcome == "imported")
        notes.append(f"{n_corpus} real workout file(s) from the shared corpus")
    else:
        notes.append("shared corpus not found: simulated data only")
    pipeline.after_change(ctx, system, aid, pipeline.Change.data(since=None))

    roster: list[str] = [aid]
    if roster_scenarios:
        for scenario, name, story_seed, moment in STORY[1:]:
            roster.append(_story_athlete(ctx, scenario=scenario, name=name, seed=story_seed + seed - 3,
                                         moment=moment, days=days, managed_by=coach.id))

    n_pm = 0
    pm_dir = shared / "data" / "pmdata" if shared is not None and pmdata else None
    if pm_dir is not None and pm_dir.is_dir():
        for folder in sorted(p for p in pm_dir.iterdir() if p.is_dir() and p.name.startswith("p")):
            a = create_athlete(ctx, system, name=f"PMData {folder.name}", tz=DEMO_TZ, managed_by_user_id=coach.id)
            report = import_paths(ctx, system, a.id, [folder], recompute=False)
            if any(it.outcome == "imported" for it in report.items):
                n_pm += 1
            else:
                reasons = "; ".join(it.reason or it.outcome for it in report.items)[:200]
                notes.append(f"PMData {folder.name}: nothing imported ({reasons})")
            pipeline.after_change(ctx, system, a.id, pipeline.Change.data(since=None))
            roster.append(a.id)
        notes.append(f"{n_pm} PMData participant(s) on the coach's roster")
    elif pmdata:
        notes.append("PMData not found: the roster holds simulated athletes only")
    return DemoInfo(
        logins=(DemoLogin(DEMO_COACH_EMAIL, coach_pw, "coach"), DemoLogin(DEMO_ATHLETE_EMAIL, athlete_pw, "athlete")),
        athlete_id=aid, roster_ids=tuple(roster), corpus_activities=n_corpus, pmdata_participants=n_pm,
        notes=tuple(notes),
    )


# ----------------------------------------------------------------------------- benchmark cohort

@dataclass(frozen=True, slots=True)
class CohortInfo:
    coach_email: str
    coach_password: str
    athlete_ids: tuple[str, ...]


def _cohort_rows(aid: str, inputs: dict[str, Any], i: int, day_list: list[date], now: Any,
                 ) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Athlete ``i``'s observation and logged-session rows: what :func:`simulated_import` makes, vectorised."""
    n = len(day_list)

    def values(name: str) -> list[float | None]:
        v = np.round(np.asarray(inputs[name][i], dtype=np.float64), 3)
        obj = v.astype(object)
        obj[~np.isfinite(v)] = None
        return list(obj)

    numeric = {c: values(c) for c in ("rmssd_ms", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS, "readiness")}
    flags = {c: [True if f else None for f in (np.asarray(inputs[c][i]) > 0.5)] for c in CHECKIN_FLAGS}
    kind = ["morning" if v is not None else None for v in numeric["rmssd_ms"]]
    obs_rows = list(zip([aid] * n, day_list, [DEMO_SOURCE] * n, numeric["rmssd_ms"], kind, numeric["rhr_bpm"],
                        numeric["sleep_h"], *(numeric[c] for c in CHECKIN_ITEMS), numeric["readiness"],
                        *(flags[c] for c in CHECKIN_FLAGS), [now] * n, strict=True))
    load = np.round(np.asarray(inputs["load_au"][i], dtype=np.float64), 3)
    sess_rows: list[tuple[Any, ...]] = []
    for k in np.flatnonzero(np.isfinite(load) & (load > 0.5)):
        value = float(load[k])
        rpe = float(min(8.0, max(2.0, round(2.0 + value / 30.0))))
        minutes = value * SRPE_AU_PER_TSS / rpe
        day = day_list[int(k)]
        sess_rows.append((new_id(), aid, day, DEMO_SOURCE, "run", round(minutes * 60.0, 1), rpe,
                          "Hard session" if rpe >= 6 else "Easy run", f"{DEMO_SOURCE}-{day.isoformat()}", now))
    return obs_rows, sess_rows


def seed_cohort(ctx: Context, *, athletes_n: int = 200, days: int = 730, seed: int = 1,
                coach_email: str = "bench-coach@demo.lydiard.org", detail_days: int | None = None,
                chunk_athletes: int = 50) -> CohortInfo:
    """A coach following ``athletes_n`` simulated athletes with ``days`` of history, written in bulk.

    Observations and logged sessions go in with the bulk path (COPY on PostgreSQL,
    executemany on SQLite); the daily metrics are computed by the batch kernels, chunk by
    chunk of athletes, and written as the batch recompute writes them
    (:mod:`lydiard.services.batch_io`: one transaction per chunk, summaries included).
    ``detail_days``: days (from each athlete's latest) whose evidence JSON is built, as
    ``lydiard recompute --detail-days``; None = every day, exactly what
    ``recompute_athlete`` stores (slower: about 1 ms per athlete-day).
    """
    system = Actor.system()
    password = _password()
    coach = user_svc.create_user(ctx, system, email=coach_email, password=password, display_name="Bench Coach")
    today = local_today(ctx, DEMO_TZ)
    start = today - timedelta(days=days - 1)
    day_list = [start + timedelta(days=k) for k in range(days)]
    inputs = simulate_cohort(seed, athletes_n, days)
    now = ctx.clock()
    ids = [new_id() for _ in range(athletes_n)]
    with translate_db_errors(), ctx.engine.begin() as conn:
        conn.execute(insert(athletes), [
            {"id": aid, "name": f"Athlete {i + 1:03d}", "tz": DEMO_TZ, "managed_by_user_id": coach.id,
             "hrv_guided": False, "created_at": now} for i, aid in enumerate(ids)
        ])
    obs_columns = ["athlete_id", "day", "source", "rmssd_ms", "hrv_kind", "rhr_bpm", "sleep_h", *CHECKIN_ITEMS,
                   "readiness", *CHECKIN_FLAGS, "updated_at"]
    session_columns = ["id", "athlete_id", "day", "source", "sport", "duration_s", "rpe", "name", "external_id",
                       "created_at"]
    for c0 in range(0, athletes_n, max(1, chunk_athletes)):
        part = ids[c0:c0 + chunk_athletes]
        obs_rows: list[tuple[Any, ...]] = []
        sess_rows: list[tuple[Any, ...]] = []
        for k, aid in enumerate(part):
            o, sl = _cohort_rows(aid, inputs, c0 + k, day_list, now)
            obs_rows += o
            sess_rows += sl
        with translate_db_errors(), ctx.engine.begin() as conn:
            copy_rows(conn, daily_observations, obs_columns, obs_rows)
            copy_rows(conn, session_logs, session_columns, sess_rows)
        with translate_db_errors(), ctx.engine.connect() as conn:
            chunk = batch_io.read_chunk(conn, part, now=now)
        result = batch_io.compute_chunk(chunk, detail_days=days if detail_days is None else detail_days)
        with translate_db_errors(), ctx.engine.begin() as conn:
            batch_io.write_chunk(conn, result, since=None, computed_at=now)
    pipeline.after_batch(ctx, ids)  # plan proposals and Trends documents, as after the batch recompute
    return CohortInfo(coach_email=coach_email, coach_password=password, athlete_ids=tuple(ids))


__all__ = ["CohortInfo", "DemoInfo", "DemoLogin", "load_demo", "seed_cohort", "shared_dir", "store_is_empty"]
