"""The plan forecast never prints an absurd interval, and a run goal is not measured in watts."""

from __future__ import annotations

import pytest

from lydiard.services.plan_forecasts import _MEASURES, _plausible_interval


@pytest.mark.parametrize(("perf", "shown"), [
    ({"value": 99.0, "lower": -3172.2, "upper": 3370.2}, False),  # the interval of the bug report
    ({"value": 280.0, "lower": 265.0, "upper": 296.0}, True),
    ({"value": 4.1, "lower": 1.0, "upper": 4.3}, False),  # wider than half the value below it
    ({"value": float("nan"), "lower": 1.0, "upper": 2.0}, False),
])
def test_only_a_meaningful_interval_is_shown(perf: dict[str, float], shown: bool) -> None:
    assert _plausible_interval(perf) is shown


def test_a_run_goal_is_measured_by_running_speed() -> None:
    assert [unit for _, unit in _MEASURES["run"]] == ["m/s (5-min best running speed)"]
    assert all("W" not in unit for _, unit in _MEASURES["run"])
