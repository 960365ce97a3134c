"""The Today answer is built in one place and never contradicts its own markers."""

from __future__ import annotations

from datetime import date
from typing import Any

from lydiard.domain.recovery.recommend import recommendation_for
from lydiard.interfaces.web import today_view
from lydiard.services.readiness import DayView


def _ev(value: float, low: float | None, high: float | None, days_out: int = 0) -> dict[str, Any]:
    return {"value": value, "low": low, "high": high, "days_out_of_range": days_out, "threshold": "t", "source": "s"}


def _view(stage: str, rec: dict[str, Any], evidence: dict[str, Any], agree: bool | None = True) -> DayView:
    return DayView(athlete_id="a", day=date(2026, 3, 2), stage=stage, stage_title=stage.replace("_", " ").title(),
                   stage_days=1, confidence=0.8, risk_score=0.1, data_feel_agree=agree, recommendation=rec,
                   evidence=evidence)


EVIDENCE = {
    "ln_rmssd_7d": _ev(4.11, 4.04, 4.16),
    "cv_ln_rmssd_7d": _ev(3.07, None, 2.70, 6),
    "rhr_7d": _ev(57.3, None, 63.5),
    "energy_z": _ev(1.1, -1.0, None),
    "tsb": _ev(8.2, -30.0, None),
    "acwr_ewma": _ev(0.77, None, 1.5),
}


def test_train_as_planned_never_claims_every_marker_in_range_beside_an_out_of_range_one() -> None:
    rec = recommendation_for(0, days=0, volume_pct=0)
    view = _view("normal", rec, EVIDENCE)
    rows = today_view.marker_rows(view.evidence)
    ans = today_view.answer(view, rows, checked_in=True)
    assert "normal range" in rec["text"], "the engine's own text would contradict the marker"
    assert "every marker" not in ans.advice and "HRV day-to-day swings" in ans.advice
    assert ans.summary.startswith("1 of 4 markers outside")
    assert {r.key for r in rows} == {"ln_rmssd_7d", "cv_ln_rmssd_7d", "rhr_7d", "energy_z"}, "TSB/ACWR: load card"
    assert all(r.bar is not None for r in rows), "every marker with a reading has a range bar"
    by_key = {r.key: r for r in rows}
    assert by_key["rhr_7d"].normal_text == "normal below 64 bpm"
    assert by_key["cv_ln_rmssd_7d"].normal_text == "normal below 2.7 %" and by_key["cv_ln_rmssd_7d"].out
    assert by_key["ln_rmssd_7d"].value_text == "61 ms"
    assert by_key["energy_z"].value_text == "better than usual"
    in_range = _view("normal", rec, {"ln_rmssd_7d": _ev(4.11, 4.04, 4.16)})
    assert "every marker" in today_view.answer(in_range, today_view.marker_rows(in_range.evidence),
                                               checked_in=True).advice


def test_agreement_is_only_claimed_on_a_day_with_a_check_in() -> None:
    view = _view("normal", recommendation_for(0, days=0, volume_pct=0), EVIDENCE, agree=True)
    rows = today_view.marker_rows(view.evidence)
    assert today_view.answer(view, rows, checked_in=True).agree == "Your data and how you feel agree."
    without = today_view.answer(view, rows, checked_in=False)
    assert without.agree is not None and "agree" not in without.agree


def test_illness_heads_the_page_and_criteria_are_plain_words() -> None:
    from lydiard.domain.recovery.recommend import Reason, Rec

    rec = recommendation_for(int(Rec.REST), days=3, volume_pct=100, reason=int(Reason.ILLNESS))
    assert rec["reason"] == "illness" and rec["text"].startswith("Rest: you reported illness")
    view = _view("surface_fatigue", rec, EVIDENCE)
    ans = today_view.answer(view, today_view.marker_rows(view.evidence), checked_in=True)
    assert ans.headline == "Illness reported: rest" and ans.tone == "bad"
    assert ans.criteria and all(" z " not in c and "_" not in c for c in ans.criteria)
    assert any("resting heart rate is below 64 bpm" in c for c in ans.criteria)


def test_one_sided_range_bar_runs_to_the_edge() -> None:
    bar = today_view.range_bar(57.0, None, 63.0)
    assert bar is not None and bar["x0"] == 0.0 and bar["cx"] < bar["x0"] + bar["w"]
    bar = today_view.range_bar(2.0, 1.0, None)
    assert bar is not None and round(bar["x0"] + bar["w"]) == 200


def test_the_last_back_off_result_is_shown_when_the_engine_gives_it() -> None:
    from dataclasses import replace

    rec = recommendation_for(0, days=0, volume_pct=0)
    view = replace(_view("normal", rec, EVIDENCE),
                   progress={"text": "The 4-day back-off brought your HRV back into range.", "days": 4})
    ans = today_view.answer(view, today_view.marker_rows(view.evidence), checked_in=True)
    assert ans.progress == "The 4-day back-off brought your HRV back into range."
    assert today_view.answer(_view("normal", rec, EVIDENCE), [], checked_in=True).progress is None


def test_calibrating_says_what_it_still_needs() -> None:
    rec = recommendation_for(0, days=0, volume_pct=0)
    ev = {**EVIDENCE, "calibration": {"ln rMSSD": {"days_needed": 14, "days_remaining": 5,
                                                   "missing": "5 more day(s) of readings"}}}
    view = _view("calibrating", rec, ev)
    ans = today_view.answer(view, today_view.marker_rows(view.evidence), checked_in=False)
    assert ans.headline == "Learning your normal ranges"
    assert ans.advice == "Train as planned while Lydiard learns your normal ranges."
    assert "5 more day(s) of readings" in ans.summary
    assert ans.agree is not None and "not counted" in ans.agree
