"""Every signal reaches the engine through the stored pipeline (issue 15): scenarios imported as
activity files (generated FIT) and daily data / check-ins through the services, then the stored
stage and recommendation read back.

Each call is checked twice: that the inputs reach the engine (the matrices ``compute_daily``
passes to ``stage_matrix``), and that the engine's call on them is right.
"""

from __future__ import annotations

import io
import sys
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingest"))

from fitbuilder import (
    FILE_ID,
    FILE_ID_FIELDS,
    LAP,
    LAP_FIELDS,
    RECORD,
    RECORD_FIELDS,
    SESSION,
    SESSION_FIELDS,
    FitBuilder,
    fit_s,
)

from lydiard import assess_days
from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.domain.recovery import INPUT_COLUMNS
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete, load_athlete, set_threshold
from lydiard.services.checkin import submit_checkin
from lydiard.services.context import Context
from lydiard.services.importing import import_upload, store_daily_import
from lydiard.services.metrics import (
    daily_inputs,
    frame_matrix_inputs,
    local_today,
    recompute_athlete,
)
from lydiard.services.planning import create_session
from lydiard.services.readiness import day_view
from lydiard.storage.tables import activities, daily_metrics
from lydiard.storage.tables import session_metrics as sm

SYSTEM = Actor.system()
TZ = "UTC"
HISTORY_DAYS = 70
GOOD_DAY = "a good day for the key session"


# --------------------------------------------------------------------------- generated files
def fit_session(start: datetime, *, duration_s: float, speed_mps: float, hr_start: float, hr_end: float,
                sport: int = 1, sub_sport: int = 0, dt_s: int = 5) -> bytes:
    """A FIT activity: records every ``dt_s`` s at a steady speed, HR drifting linearly."""
    t0 = fit_s(int(start.timestamp()))
    n = int(duration_s // dt_s) + 1
    b = FitBuilder()
    b.definition(0, FILE_ID, FILE_ID_FIELDS)
    b.data(0, [4, 1, 2697, 12345, t0])
    b.definition(1, RECORD, RECORD_FIELDS)
    hr = np.linspace(hr_start, hr_end, n)
    for i in range(n):
        b.data(1, [t0 + i * dt_s, int(45.0 / 180 * 2**31) + i * 50, int(-122.0 / 180 * 2**31),
                   (100 + 500) * 5, round(float(hr[i])), 80, round(i * dt_s * speed_mps * 100),
                   round(speed_mps * 1000), 0xFFFF, 15])
    elapsed_ms = (n - 1) * dt_s * 1000
    dist_cm = round((n - 1) * dt_s * speed_mps * 100)
    avg_hr, max_hr = round(float(hr.mean())), round(float(hr.max()))
    b.definition(2, LAP, LAP_FIELDS)
    b.data(2, [t0 + (n - 1) * dt_s, t0, elapsed_ms, elapsed_ms, dist_cm, avg_hr, max_hr, 0xFFFF, 0])
    b.definition(3, SESSION, SESSION_FIELDS)
    b.data(3, [t0 + (n - 1) * dt_s, t0, sport, sub_sport, elapsed_ms, elapsed_ms, dist_cm, avg_hr, max_hr,
               0xFFFF, 0])
    return b.build()


def zip_of(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buf.getvalue()


@dataclass
class Run:
    """One planned file of the scenario."""

    day: date
    duration_s: float = 3000.0
    speed_mps: float = 3.0
    hr_start: float = 139.0
    hr_end: float = 141.0
    hour: int = 6


@dataclass
class Story:
    athlete_id: str
    today: date
    start: date


def new_athlete(ctx: Context, name: str, *, days: int = HISTORY_DAYS) -> Story:
    a = create_athlete(ctx, SYSTEM, name=name, tz=TZ)
    today = local_today(ctx, TZ)
    start = today - timedelta(days=days - 1)
    for kind, value in (("hr_rest_bpm", 50.0), ("hr_max_bpm", 190.0), ("lthr_bpm", 170.0),
                        ("threshold_speed_mps", 4.0)):
        set_threshold(ctx, SYSTEM, a.id, kind=kind, value=value, valid_from=start)
    return Story(a.id, today, start)


def base_runs(story: Story, *, until: date) -> list[Run]:
    """An easy run most mornings (a rest day a week) from the start to ``until`` (inclusive)."""
    return [Run(day=story.start + timedelta(days=d)) for d in range((until - story.start).days + 1) if d % 7 != 6]


def import_runs(ctx: Context, story: Story, runs: list[Run]) -> None:
    files = {
        f"run-{r.day.isoformat()}-{r.hour}.fit": fit_session(
            datetime(r.day.year, r.day.month, r.day.day, r.hour, tzinfo=UTC), duration_s=r.duration_s,
            speed_mps=r.speed_mps, hr_start=r.hr_start, hr_end=r.hr_end)
        for r in runs
    }
    report = import_upload(ctx, SYSTEM, story.athlete_id, name="runs.zip", data=zip_of(files), recompute=False)
    assert sum(1 for it in report.items if it.outcome == "imported") == len(runs), report.items


def import_mornings(ctx: Context, story: Story, *, seed: int, hrv: bool = True,
                    rhr: dict[date, float] | None = None, wellness: bool = True,
                    bad_from: date | None = None) -> None:
    """Morning HRV / resting HR (an HRV app) and wellness answers, every day of the story, steady;
    from ``bad_from`` on, the picture of non-functional overreaching (ln rMSSD −0.3, resting HR
    +6 bpm, energy, mood, motivation and soreness 2/5: Meeusen 2013; Plews 2013)."""
    rng = np.random.default_rng(seed)
    obs = []
    for d in range((story.today - story.start).days + 1):
        day = story.start + timedelta(days=d)
        bad = bad_from is not None and day >= bad_from
        obs.append(DailyObservation(
            day=day, source="hrv4training",
            rmssd_ms=float(62.0 * np.exp(rng.normal(-0.3 if bad else 0.0, 0.06))) if hrv else None,
            hrv_kind="morning" if hrv else None,
            rhr_bpm=(rhr or {}).get(day, float((56.0 if bad else 50.0) + rng.integers(-1, 2))),
            sleep_h=float(7.5 + rng.normal(0.0, 0.2)),
        ))
        if wellness:
            if bad:
                obs.append(DailyObservation(day=day, source="csv", energy=2.0, mood=2.0, motivation=2.0,
                                            soreness=2.0, sleep_quality=3.0, stress=4.0, readiness=3.0))
            else:
                obs.append(DailyObservation(day=day, source="csv", energy=float(4 - (d % 5 == 0)), mood=4.0,
                                            motivation=4.0, soreness=float(4 - (d % 4 == 0)), sleep_quality=4.0,
                                            stress=4.0, readiness=7.0))
    store_daily_import(ctx, SYSTEM, story.athlete_id, DailyImport(observations=tuple(obs)), source="hrv4training",
                       item="mornings")


def stored_days(ctx: Context, story: Story) -> pd.DataFrame:
    with ctx.engine.connect() as conn:
        rows = conn.execute(select(daily_metrics).where(daily_metrics.c.athlete_id == story.athlete_id)
                            .order_by(daily_metrics.c.day)).all()
    frame = pd.DataFrame([r._asdict() for r in rows])
    return frame.set_index("day")


def engine_inputs(ctx: Context, story: Story) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The stored path's input frame and the matrices ``compute_daily`` passes to the engine."""
    with ctx.engine.connect() as conn:
        athlete = load_athlete(conn, story.athlete_id)
        frame = daily_inputs(conn, story.athlete_id, until=story.today, sex=athlete.sex)
    return frame, frame_matrix_inputs(frame)


def column(inputs: dict[str, Any], frame: pd.DataFrame, name: str, day: date) -> float:
    return float(inputs[name][0, frame.index.get_loc(pd.Timestamp(day))])


# --------------------------------------------------------------------------- scenarios
def race_story(ctx: Context, *, planned: bool) -> Story:
    story = new_athlete(ctx, "Racer")
    race_day = story.today - timedelta(days=1)
    if planned:
        create_session(ctx, SYSTEM, story.athlete_id, day=race_day, sport="run", session_type="race",
                       duration_s=3 * 3600.0)
    runs = [r for r in base_runs(story, until=story.today - timedelta(days=3))]
    runs.append(Run(day=race_day, duration_s=3 * 3600.0, speed_mps=3.8, hr_start=166.0, hr_end=173.0, hour=8))
    import_runs(ctx, story, runs)
    import_mornings(ctx, story, seed=1)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    return story


@pytest.mark.parametrize("planned", [True, False], ids=["planned-race", "load-rule"])
def test_morning_after_a_long_race_is_not_a_good_day_for_the_key_session(ctx: Context, planned: bool) -> None:
    story = race_story(ctx, planned=planned)
    race_day = story.today - timedelta(days=1)
    days = stored_days(ctx, story)
    after = days.loc[story.today]
    assert days.loc[race_day, "load_au"] > 250  # a 3-hour race at 95 % of threshold speed
    evidence = after["detail"]["evidence"]
    assert evidence["race"]["day"] == race_day.isoformat()
    assert evidence["race"]["rule"] == ("planned_race" if planned else "load")  # WHICH rule fired
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "race", race_day) == 1.0  # the race reaches the engine
    view = day_view(ctx, SYSTEM, story.athlete_id)  # what Today and GET /api/v1/.../today show
    assert view.evidence["race"]["rule"] == evidence["race"]["rule"] and view.evidence["race"]["days_since"] == 1
    rec = after["detail"]["recommendation"]
    assert after["recommendation_code"] != "train_as_planned"
    assert GOOD_DAY not in rec["text"]


def test_library_assess_days_equals_the_stored_stage(ctx: Context) -> None:
    """The library on the stored path's own inputs gives the stages the product stored."""
    story = race_story(ctx, planned=True)
    frame, _ = engine_inputs(ctx, story)
    library = assess_days(frame[[c for c in INPUT_COLUMNS if c in frame.columns]])
    days = stored_days(ctx, story)
    assert list(library.index) == list(days.index)
    assert list(library["stage"]) == list(days["stage"])
    assert [r["code"] for r in library["recommendation"]] == list(days["recommendation_code"])
    assert library.iloc[-1]["recommendation"]["text"] == days.iloc[-1]["detail"]["recommendation"]["text"]


def harder_story(ctx: Context) -> Story:
    """Same pace, the heart working harder for the last three weeks (EF −8 %, decoupling 1 → 4 %)."""
    story = new_athlete(ctx, "Harder")
    change = story.today - timedelta(days=20)
    runs = base_runs(story, until=story.today)
    for r in runs:
        if r.day >= change:
            r.hr_start, r.hr_end = 147.0, 157.0
    import_runs(ctx, story, runs)
    import_mornings(ctx, story, seed=2)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    return story


def test_working_harder_for_the_same_output_reaches_the_engine(ctx: Context) -> None:
    story = harder_story(ctx)
    frame, inputs = engine_inputs(ctx, story)
    ef = inputs["ef"][0]
    before = np.nanmean(ef[-45:-25])
    recent = np.nanmean(ef[-10:])
    assert recent < 0.95 * before  # EF per sport, relative: down
    dec = frame["decoupling_pct"].to_numpy()
    assert np.nanmean(dec[-10:]) > np.nanmean(dec[-45:-25]) + 2.0  # decoupling up
    ratio = frame["hr_external_load_ratio"].to_numpy()
    assert np.nanmean(ratio[-10:]) > 1.2 * np.nanmean(ratio[-45:-25])  # HR load up vs the same pace load
    assert "perf_at_hr" in inputs and np.nanmean(inputs["perf_at_hr"][0][-10:]) < 0.95
    evidence = stored_days(ctx, story).iloc[-1]["detail"]["evidence"]
    assert evidence["ef_change_pct"]["value"] <= -5.0  # the engine saw the drop


def test_working_harder_for_the_same_output_is_not_plain_normal(ctx: Context) -> None:
    story = harder_story(ctx)
    last = stored_days(ctx, story).iloc[-1]
    assert not (last["stage"] == "normal" and last["recommendation_code"] == "train_as_planned")


def travel_story(ctx: Context) -> Story:
    story = new_athlete(ctx, "Traveller")
    import_runs(ctx, story, base_runs(story, until=story.today - timedelta(days=3)))
    import_mornings(ctx, story, seed=3)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    for k in (2, 1, 0):
        submit_checkin(ctx, SYSTEM, story.athlete_id, day=story.today - timedelta(days=k), energy=3.0, mood=4.0,
                       soreness=4.0, sleep_quality=2.0, stress=3.0, sleep_h=5.5, travel=True)
    return story


def test_travel_reaches_the_engine(ctx: Context) -> None:
    story = travel_story(ctx)
    frame, inputs = engine_inputs(ctx, story)
    assert [column(inputs, frame, "travel", story.today - timedelta(days=k)) for k in (2, 1, 0)] == [1.0] * 3
    assert np.isnan(column(inputs, frame, "travel", story.today - timedelta(days=3)))


def test_travel_is_named(ctx: Context) -> None:
    story = travel_story(ctx)
    text = stored_days(ctx, story).iloc[-1]["detail"]["recommendation"]["text"].lower()
    assert "travel" in text


def life_stress_story(ctx: Context) -> Story:
    """Training unchanged, then 16 days of life stress 1-2/5 (mood and sleep quality down too)
    through the athlete's own check-ins."""
    story = new_athlete(ctx, "Stressed")
    import_runs(ctx, story, base_runs(story, until=story.today))
    import_mornings(ctx, story, seed=5)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    for k in range(15, -1, -1):
        submit_checkin(ctx, SYSTEM, story.athlete_id, day=story.today - timedelta(days=k),
                       stress=float(1 + k % 2), mood=2.0, sleep_quality=2.0)
    return story


def test_life_stress_with_training_unchanged_is_named_and_not_forgotten(ctx: Context) -> None:
    story = life_stress_story(ctx)
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "stress", story.today) == 1.0
    days = stored_days(ctx, story)
    late = days.loc[story.today - timedelta(days=10):]  # days 6-16 of the spell
    assert (late["stage"] != "normal").all(), list(late["stage"])
    texts = [d["recommendation"]["text"] for d in late["detail"]]
    assert all("Training is not the only load" in t for t in texts[-3:]), texts[-3:]
    assert not any(GOOD_DAY in t for t in texts)


def resting_hr_story(ctx: Context) -> Story:
    story = new_athlete(ctx, "No HRV")
    import_runs(ctx, story, base_runs(story, until=story.today))
    up = {story.today - timedelta(days=k): 57.0 for k in range(8)}
    import_mornings(ctx, story, seed=4, hrv=False, rhr=up)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    return story


def test_resting_hr_without_hrv_reaches_the_engine(ctx: Context) -> None:
    story = resting_hr_story(ctx)
    frame, inputs = engine_inputs(ctx, story)
    assert np.isnan(inputs["rmssd_ms"][0]).all()
    assert [column(inputs, frame, "rhr_bpm", story.today - timedelta(days=k)) for k in range(8)] == [57.0] * 8
    last = stored_days(ctx, story).iloc[-1]
    assert last["rhr_7d"] - last["rhr_base"] >= 6.0  # the engine's own 7-day RHR sees the rise


def test_resting_hr_up_7_bpm_for_8_days_without_hrv_is_flagged(ctx: Context) -> None:
    story = resting_hr_story(ctx)
    days = stored_days(ctx, story)
    last_week = days.loc[story.today - timedelta(days=5):]
    assert (last_week["stage"] != "normal").all(), list(last_week["stage"])
    assert not any(GOOD_DAY in d["recommendation"]["text"] for d in last_week["detail"])


def illness_story(ctx: Context) -> tuple[Story, date, date]:
    """Nine days of illness reported in the check-in, then four symptom-free days; training and
    mornings otherwise ordinary."""
    story = new_athlete(ctx, "Ill")
    ill_first, ill_last = story.today - timedelta(days=12), story.today - timedelta(days=4)
    import_runs(ctx, story, [r for r in base_runs(story, until=story.today) if not ill_first <= r.day <= ill_last])
    import_mornings(ctx, story, seed=6)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    for k in range(12, -1, -1):
        day = story.today - timedelta(days=k)
        ill = ill_first <= day <= ill_last
        submit_checkin(ctx, SYSTEM, story.athlete_id, day=day, illness=ill, energy=2.0 if ill else 4.0)
    return story, ill_first, ill_last


def test_illness_rest_then_a_graded_return(ctx: Context) -> None:
    """Ill days are told to rest; the days after it are a graded return (2 symptom-free days, then
    as many days as the illness lasted, at most 7): never "a good day for the key session"."""
    story, ill_first, ill_last = illness_story(ctx)
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "illness", ill_first) == 1.0  # the flag reaches the engine
    assert column(inputs, frame, "illness", story.today) == 0.0
    days = stored_days(ctx, story)
    ill = days.loc[ill_first:ill_last]
    assert set(ill["recommendation_code"]) <= {"rest", "stop_see_doctor"}, list(ill["recommendation_code"])
    after = days.loc[ill_last + timedelta(days=1):]
    assert len(after) == 4
    assert not any(GOOD_DAY in d["recommendation"]["text"] for d in after["detail"])
    assert (after["recommendation_code"] != "train_as_planned").all(), list(after["recommendation_code"])


def stalled_story(ctx: Context) -> tuple[Story, date, date]:
    """Stalled overreaching (non-functional: rest does not help): seven ordinary weeks, a
    three-week overload block, then six weeks of much reduced load while HRV stays low, resting
    HR high and the check-in poor from the second week of the block on."""
    story = new_athlete(ctx, "Stalled", days=120)
    block = story.start + timedelta(days=49)
    easy_from = block + timedelta(days=21)
    runs = []
    for d in range(120):
        day = story.start + timedelta(days=d)
        if day < block:
            if d % 7 != 6:
                runs.append(Run(day=day))
        elif day < easy_from:
            if d % 7 != 6:
                runs.append(Run(day=day, duration_s=5400.0, speed_mps=3.4, hr_start=150.0, hr_end=158.0))
        elif d % 3 != 2:
            runs.append(Run(day=day, duration_s=1800.0, speed_mps=2.8, hr_start=130.0, hr_end=132.0))
    import_runs(ctx, story, runs)
    import_mornings(ctx, story, seed=8, bad_from=block + timedelta(days=7))
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    return story, block, easy_from


def test_stalled_overreaching_reaches_overreaching_then_overtraining_with_the_referral(ctx: Context) -> None:
    story, block, easy_from = stalled_story(ctx)
    days = stored_days(ctx, story)
    stages = days["stage"]
    assert stages.loc[:block - timedelta(days=1)].isin(["calibrating", "normal", "surface_fatigue"]).all()
    reduced = days.loc[easy_from:]
    assert reduced["load_au"].mean() < 0.5 * days.loc[block:easy_from - timedelta(days=1), "load_au"].mean()
    # no forgetting: once the markers have been bad for two weeks, never "normal" again
    assert not (stages.loc[block + timedelta(days=21):] == "normal").any(), list(stages.loc[block:])
    first_or = stages[stages == "overreaching_suspected"].index.min()
    first_ot = stages[stages == "overtraining_suspected"].index.min()
    assert first_or is not None and first_or >= easy_from + timedelta(days=7), (first_or, list(stages.loc[block:]))
    assert first_ot is not None and first_ot > first_or, list(stages.loc[block:])
    last = days.iloc[-1]
    assert last["stage"] == "overtraining_suspected" and last["recommendation_code"] == "stop_see_doctor"
    text = last["detail"]["recommendation"]["text"].lower()
    assert "doctor" in text and "reduced load" in text, text
    assert GOOD_DAY not in text


# --------------------------------------------------------------------------- session RPE wins
def _strength_file(day: date) -> bytes:
    # FIT sport "training" / sub-sport "cardio_training": the importer cannot tell it is strength
    return fit_session(datetime(day.year, day.month, day.day, 17, tzinfo=UTC), duration_s=45 * 60.0,
                       speed_mps=0.0, hr_start=105.0, hr_end=112.0, sport=10, sub_sport=26)


def _srpe_log(day: date) -> bytes:
    return (f"date,time,sport,duration_min,rpe\n{day.isoformat()},17:00,strength,45,7\n").encode()


@pytest.mark.parametrize("log_first", [False, True], ids=["file-then-log", "log-then-file"])
def test_strength_session_with_a_matched_rpe_is_scored_by_srpe(ctx: Context, log_first: bool) -> None:
    story = new_athlete(ctx, "Lifter")
    day = story.today - timedelta(days=1)
    uploads = [("strength.fit", _strength_file(day)), ("srpe.csv", _srpe_log(day))]
    for name, data in (reversed(uploads) if log_first else uploads):
        report = import_upload(ctx, SYSTEM, story.athlete_id, name=name, data=data)
        assert all(it.outcome == "imported" for it in report.items), report.items
    with ctx.engine.connect() as conn:
        row = conn.execute(select(activities.c.sport, activities.c.rpe, sm.c.load_au, sm.c.load_source, sm.c.srpe_au)
                           .join(sm, sm.c.activity_id == activities.c.id)
                           .where(activities.c.athlete_id == story.athlete_id)).one()
    assert row.sport == "strength" and row.rpe == 7.0
    assert row.load_source == "srpe" and row.srpe_au == pytest.approx(315.0)
    assert row.load_au == pytest.approx(315.0 / 4.2)  # 75 AU, not the ~19 AU of its heart rate
    days = stored_days(ctx, story)
    assert days.loc[day, "load_au"] == pytest.approx(75.0)  # counted once (the log is linked, not added)


def test_strength_heavy_training_with_steady_markers_is_not_fatigue(ctx: Context) -> None:
    """Three logged strength sessions a week (45 min at RPE 7: 75 AU each by sRPE) beside the runs,
    markers steady: the load is counted, and no day is staged deep fatigue or worse."""
    story = new_athlete(ctx, "Strong")
    runs = [r for r in base_runs(story, until=story.today) if r.day.weekday() not in (1, 3, 5)]
    import_runs(ctx, story, runs)
    lifts = [story.start + timedelta(days=d) for d in range(HISTORY_DAYS)
             if (story.start + timedelta(days=d)).weekday() in (1, 3, 5)]
    log = "date,time,sport,duration_min,rpe\n" + "".join(f"{d.isoformat()},17:00,strength,45,7\n" for d in lifts)
    report = import_upload(ctx, SYSTEM, story.athlete_id, name="lifts.csv", data=log.encode(), recompute=False)
    assert all(it.outcome == "imported" for it in report.items), report.items
    import_mornings(ctx, story, seed=9)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    days = stored_days(ctx, story)
    assert [days.loc[d, "load_au"] for d in lifts[-3:]] == pytest.approx([75.0] * 3)  # sRPE 315 AU / 4.2
    assert not days["stage"].isin(["deep_fatigue", "overreaching_suspected", "overtraining_suspected"]).any(), \
        list(days["stage"])


# --------------------------------------------------------------------------- race flags
def flagged_race_story(ctx: Context, *, on: str) -> tuple[Story, date]:
    """An ordinary-length run the athlete marks as a race (check-in or activity): no plan, no big load."""
    story = new_athlete(ctx, f"Flagged by {on}")
    race_day = story.today - timedelta(days=1)
    runs = base_runs(story, until=story.today - timedelta(days=3))
    runs.append(Run(day=race_day, duration_s=2400.0, speed_mps=3.6, hr_start=160.0, hr_end=168.0, hour=9))
    import_runs(ctx, story, runs)
    import_mornings(ctx, story, seed=7)
    recompute_athlete(ctx, SYSTEM, story.athlete_id)
    if on == "checkin":
        submit_checkin(ctx, SYSTEM, story.athlete_id, day=race_day, energy=3.0, race=True)
    else:
        from lydiard.services.activities import set_activity_race
        with ctx.engine.connect() as conn:
            activity_id = conn.execute(select(activities.c.id).where(
                activities.c.athlete_id == story.athlete_id, activities.c.day == race_day)).scalar_one()
        set_activity_race(ctx, SYSTEM, story.athlete_id, activity_id, race=True)
    return story, race_day


@pytest.mark.parametrize("on", ["checkin", "activity"])
def test_a_race_flag_fires_the_flagged_rule_in_production(ctx: Context, on: str) -> None:
    story, race_day = flagged_race_story(ctx, on=on)
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "race", race_day) == 1.0  # the flag reaches the engine
    assert column(inputs, frame, "race", race_day - timedelta(days=2)) == 0.0
    days = stored_days(ctx, story)
    assert days.loc[race_day, "load_au"] < 150  # the load rule alone would not make it a race
    assert days.loc[story.today, "detail"]["evidence"]["race"]["rule"] == "flagged"
    assert days.loc[story.today, "detail"]["evidence"]["race"]["day"] == race_day.isoformat()
    # the batch reads the same flags from storage and stores the same call
    from lydiard.services.batch_io import recompute_chunk
    with ctx.engine.begin() as conn:
        conn.execute(daily_metrics.delete().where(daily_metrics.c.athlete_id == story.athlete_id))
    recompute_chunk(str(ctx.engine.url.render_as_string(hide_password=False)), [story.athlete_id],
                    now=ctx.clock(), detail_days=3)
    again = stored_days(ctx, story)
    assert again.loc[story.today, "detail"]["evidence"]["race"]["rule"] == "flagged"
    assert list(again["stage"]) == list(days["stage"])


def test_a_race_flag_can_be_taken_back(ctx: Context) -> None:
    story, race_day = flagged_race_story(ctx, on="checkin")
    submit_checkin(ctx, SYSTEM, story.athlete_id, day=race_day, race=False)
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "race", race_day) == 0.0
    assert "race" not in (stored_days(ctx, story).loc[story.today, "detail"]["evidence"] or {})


def test_a_big_session_said_not_to_be_a_race_is_not_read_as_one(ctx: Context) -> None:
    """The load rule reads a 3-hour effort as a race; the athlete says it was training: the day is
    no race day any more, in the per-athlete path and the batch alike."""
    from lydiard.services.activities import set_activity_race
    from lydiard.services.batch_io import recompute_chunk

    story = race_story(ctx, planned=False)
    race_day = story.today - timedelta(days=1)
    assert stored_days(ctx, story).loc[story.today, "detail"]["evidence"]["race"]["rule"] == "load"
    with ctx.engine.connect() as conn:
        activity_id = conn.execute(select(activities.c.id).where(
            activities.c.athlete_id == story.athlete_id, activities.c.day == race_day)).scalar_one()
    set_activity_race(ctx, SYSTEM, story.athlete_id, activity_id, race=False)
    frame, inputs = engine_inputs(ctx, story)
    assert column(inputs, frame, "race", race_day) == 0.0
    days = stored_days(ctx, story)
    assert "race" not in (days.loc[story.today, "detail"]["evidence"] or {})
    with ctx.engine.begin() as conn:
        conn.execute(daily_metrics.delete().where(daily_metrics.c.athlete_id == story.athlete_id))
    recompute_chunk(str(ctx.engine.url.render_as_string(hide_password=False)), [story.athlete_id],
                    now=ctx.clock(), detail_days=3)
    again = stored_days(ctx, story)
    assert "race" not in (again.loc[story.today, "detail"]["evidence"] or {})
    assert list(again["stage"]) == list(days["stage"])
