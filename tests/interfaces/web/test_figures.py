"""The web layer's chart specs and activity words (pure functions over service data)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from lydiard.interfaces.web import activity_view, figures
from lydiard.services.activities import ActivityDetail, ActivitySummary
from lydiard.services.readiness import STAGE_TITLES


def _summary(**kw: Any) -> ActivitySummary:
    base: dict[str, Any] = dict(
        id="a1", athlete_id="x", sport="run", sub_sport=None, name="2025-06-28-070000.fit",
        started_at=datetime(2025, 6, 28, 5, 10, tzinfo=UTC), day=date(2025, 6, 28), duration_s=1800.0,
        moving_time_s=1800.0, distance_m=6000.0, avg_hr_bpm=None, max_hr_bpm=None, avg_power_w=None, rpe=None,
        source_format="fit", device="garmin 3113", load_au=40.0)
    base.update(kw)
    return ActivitySummary(**base)


def _detail(summary: ActivitySummary, n: int = 600) -> ActivityDetail:
    speed = [None if i % 100 == 0 else 3.0 + (i % 7) * 0.1 for i in range(n)]
    speed[5] = 0.2  # standing still: no pace
    return ActivityDetail(summary=summary, laps=[], metrics={"load_source": "duration_default", "efficiency_factor": 0.024},
                          streams={"elapsed_s": [float(i) for i in range(n)], "speed_mps": speed,
                                   "hr_bpm": [None if i < 10 else 140.0 + i % 10 for i in range(n)],
                                   "lat_deg": [59.9 + i * 1e-5 for i in range(n)],
                                   "lon_deg": [10.7 + i * 2e-5 for i in range(n)]})


def test_runs_get_pace_in_minutes_per_km_and_gaps_when_standing() -> None:
    detail = _detail(_summary())
    specs, data = figures.activity_charts(detail, "metric")
    keys = [s["key"] for s in specs]
    assert keys == ["hr_bpm", "pace"], keys
    pace = data["series"]["pace"]
    assert pace[1] is not None and abs(pace[1] - 1000.0 / 3.1 / 60.0) < 1e-3  # 3.1 m/s = 5:22 /km
    assert pace[5] is None and pace[0] is None
    assert specs[1]["invert"] is True and specs[1]["axes"][0]["label"] == "min/km"
    assert figures.fmt_pace_min(pace[1]) == "5:23"
    ride_specs, ride_data = figures.activity_charts(_detail(_summary(sport="ride")), "imperial")
    assert "speed" in ride_data["series"] and ride_specs[1]["axes"][0]["label"] == "mph"


def test_stream_averages_table_and_track() -> None:
    detail = _detail(_summary())
    means = figures.stream_means(detail)
    assert 140.0 <= means["avg_hr"] <= 149.0 and means["max_hr"] == 149.0
    specs, data = figures.activity_charts(detail, "metric")
    table = figures.activity_table(specs, data, step_min=5.0)
    assert [r[0] for r in table["rows"]] == ["0–5", "5–10"]
    assert ":" in table["rows"][0][2], "pace in the table reads m:ss"
    track = figures.track_svg(detail)
    assert track is not None and len(track["points"].split()) == 600 and max(track["width"], track["height"]) == 1000


def test_activity_words() -> None:
    a = _summary()
    assert activity_view.activity_title(a, "Europe/Oslo") == "Morning run", "a file name is not a title"
    assert activity_view.activity_title(_summary(name="Hill repeats"), "UTC") == "Hill repeats"
    assert activity_view.activity_when(a, "Europe/Oslo") == "Sat 28 Jun 2025, 07:10"
    assert activity_view.device_name("garmin 3113") == "Garmin Forerunner 945"
    assert activity_view.device_name("garmin 99999") == "Garmin device 99999"
    rows = dict(activity_view.load_rows({"efficiency_factor": 0.024, "load_au": 40.2}, "run"))
    assert rows["Efficiency (m/min per bpm)"] == "1.44" and rows["Load (AU)"] == "40"
    assert dict(activity_view.load_rows({"efficiency_factor": 1.53}, "ride"))["Efficiency (W per bpm)"] == "1.53"
    text = activity_view.load_source_text({"load_source": "duration_default"})
    assert text is not None and "duration_default" not in text and "duration" in text


def test_trends_specs_label_every_stage_and_tables_take_the_last_days() -> None:
    specs = {s["key"]: s for s in figures.trends_specs()}
    assert [r["code"] for r in specs["stages"]["rows"]] == list(STAGE_TITLES)
    assert all(r["mid"] and r["short"] and len(r["short"]) <= 9 for r in specs["stages"]["rows"])
    assert all(s["caption"] for s in specs.values())
    days = [f"2026-01-{d:02d}" for d in range(1, 21)]
    doc = {"days": days, "stages": ["normal"] * 19 + ["deep_fatigue"],
           "series": {"ctl": [float(i) for i in range(20)], "sleep_h": [None] * 19 + [7.25]}}
    tables = figures.trends_tables(doc, list(specs.values()), days=14)
    assert tables["pmc"]["rows"][0] == ["2026-01-20", "19.0"] and len(tables["pmc"]["rows"]) == 14
    assert tables["stages"]["rows"][0] == ["2026-01-20", "Deep fatigue"]
    assert tables["sleep"]["rows"][0][1] == "7.2" or tables["sleep"]["rows"][0][1] == "7.3"
    assert "hrv" not in tables, "no data, no table"
