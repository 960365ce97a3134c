"""The TCX writer writes what the TCX reader reads (a round trip)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from lydiard.ingest.activity import read_activity
from lydiard.ingest.tcx_writer import TrackPoint, write_tcx


def test_round_trip_keeps_time_track_heart_rate_and_power() -> None:
    start = datetime(2025, 3, 1, 6, 30, tzinfo=UTC)
    points = [TrackPoint(t_s=5.0 * i, lat_deg=59.9 + i * 1e-5, lon_deg=10.7, alt_m=40.0, distance_m=15.0 * i,
                         hr_bpm=140.0 + i % 5, cadence_rpm=85.0, power_w=210.0) for i in range(240)]
    act = read_activity(write_tcx(points, started_at=start, sport="ride", notes="Tempo <&>"), name="x.tcx")
    s = act.summary
    assert s.sport == "ride" and s.started_at == start
    assert s.duration_s == pytest.approx(5.0 * 239, abs=1.0)
    assert s.distance_m == pytest.approx(15.0 * 239, abs=1.0)
    assert s.avg_hr_bpm == pytest.approx(142.0, abs=0.5)
    assert s.avg_power_w == pytest.approx(210.0, abs=0.5)
    assert act.records["lat_deg"].notna().all()


def test_refuses_a_naive_start_and_an_empty_track() -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        write_tcx([TrackPoint(0.0)], started_at=datetime(2025, 3, 1, 6, 30))
    with pytest.raises(ValueError, match="at least one point"):
        write_tcx([], started_at=datetime(2025, 3, 1, 6, 30, tzinfo=UTC))
