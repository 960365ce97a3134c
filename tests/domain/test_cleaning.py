"""Sample cleaning rules: one test per rule plus property tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lydiard.domain.activity import empty_records
from lydiard.domain.cleaning import (
    GPS_JUMP_SPEED_MPS,
    clean_records,
    haversine_m,
)
from lydiard.domain.columns import SAMPLE_COLUMNS, Col

T0 = pd.Timestamp("2024-05-01T06:00:00Z")


def frame(n: int, **columns: list[float]) -> pd.DataFrame:
    data: dict[str, object] = {Col.TIME.value: T0 + pd.to_timedelta(np.arange(n), unit="s")}
    for name in SAMPLE_COLUMNS:
        data[name] = np.asarray(columns.get(name, [np.nan] * n), dtype=np.float64)
    return pd.DataFrame(data)


def test_haversine_one_degree_of_longitude_at_the_equator() -> None:
    assert haversine_m(0.0, 0.0, 0.0, 1.0) == pytest.approx(111_195, rel=1e-4)
    assert np.isnan(haversine_m(np.nan, 0.0, 0.0, 1.0))


@pytest.mark.parametrize(
    ("column", "values", "expected", "rule"),
    [
        ("hr_bpm", [0, 24, 25, 180, 250, 251, 255], [np.nan, np.nan, 25, 180, 250, np.nan, np.nan],
         "hr_out_of_range"),
        ("power_w", [-1, 0, 2500, 2501, 65535], [np.nan, 0, 2500, np.nan, np.nan],
         "power_out_of_range"),
        ("speed_mps", [-0.1, 0, 30, 30.5], [np.nan, 0, 30, np.nan], "speed_out_of_range"),
        ("cadence_rpm", [-1, 0, 250, 255], [np.nan, 0, 250, np.nan], "cadence_out_of_range"),
        ("altitude_m", [-600, -20, 8848, 9500], [np.nan, -20, 8848, np.nan],
         "altitude_out_of_range"),
        ("temperature_c", [-70, 22, 80], [np.nan, 22, np.nan], "temperature_out_of_range"),
        ("distance_m", [-5, 0, 10], [np.nan, 0, 10], "distance_negative"),
    ],
)
def test_value_rules(column: str, values: list[float], expected: list[float], rule: str) -> None:
    cleaned, report = clean_records(frame(len(values), **{column: values}))
    np.testing.assert_array_equal(cleaned[column].to_numpy(), np.asarray(expected, dtype=float))
    assert report.counts == {rule: int(np.isnan(expected).sum())}


def test_infinite_values_are_out_of_range() -> None:
    cleaned, report = clean_records(frame(2, hr_bpm=[np.inf, -np.inf]))
    assert cleaned[Col.HR_BPM.value].isna().all()
    assert report.counts == {"hr_out_of_range": 2}


def test_invalid_positions() -> None:
    lat = [46.0, 0.0, 91.0, 46.0, np.nan, 46.0001]
    lon = [7.0, 0.0, 7.0, 181.0, 7.0, 7.0]
    cleaned, report = clean_records(frame(6, lat_deg=lat, lon_deg=lon))
    assert cleaned[Col.LAT_DEG.value].notna().tolist() == [True, False, False, False, False, True]
    assert cleaned[Col.LON_DEG.value].notna().tolist() == [True, False, False, False, False, True]
    # (0,0): 2 cells, lat 91: 2, lon 181: 2, half pair: 1
    assert report.counts == {"position_invalid": 7}


def test_single_gps_spike_removes_only_that_fix() -> None:
    lat = list(46.0 + np.arange(10) * 1e-4)
    lat[4] = 46.5  # 55 km away for one second
    cleaned, report = clean_records(frame(10, lat_deg=lat, lon_deg=[7.0] * 10))
    kept = cleaned[Col.LAT_DEG.value].notna().to_numpy()
    assert kept.tolist() == [True] * 4 + [False] + [True] * 5
    assert report.counts == {"gps_jump": 2}


def test_short_gps_excursion_is_removed() -> None:
    lat = list(46.0 + np.arange(20) * 1e-4)
    for i in (7, 8, 9):
        lat[i] = 46.2 + i * 1e-4
    cleaned, report = clean_records(frame(20, lat_deg=lat, lon_deg=[7.0] * 20))
    assert cleaned[Col.LAT_DEG.value].isna().to_numpy().nonzero()[0].tolist() == [7, 8, 9]
    assert report.counts == {"gps_jump": 6}


def test_bad_first_fix_is_removed() -> None:
    lat = list(46.0 + np.arange(6) * 1e-4)
    lat[0] = 10.0
    cleaned, report = clean_records(frame(6, lat_deg=lat, lon_deg=[7.0] * 6))
    assert cleaned[Col.LAT_DEG.value].isna().tolist() == [True] + [False] * 5
    assert report.counts == {"gps_jump": 2}


def test_fast_but_plausible_movement_is_kept() -> None:
    step_deg = 45.0 / 111_195  # 45 m/s, under the jump threshold
    lat = list(46.0 + np.arange(5) * step_deg)
    cleaned, report = clean_records(frame(5, lat_deg=lat, lon_deg=[7.0] * 5))
    assert cleaned[Col.LAT_DEG.value].notna().all()
    assert "gps_jump" not in report.counts
    assert GPS_JUMP_SPEED_MPS == 50.0


def test_duplicates_keep_last_and_unsorted_rows_are_sorted() -> None:
    times = T0 + pd.to_timedelta([0, 2, 1, 2, 3], unit="s")
    records = frame(5, hr_bpm=[100, 120, 110, 121, 130])
    records[Col.TIME.value] = times
    original = records.copy(deep=True)
    cleaned, report = clean_records(records)
    assert cleaned[Col.TIME.value].is_monotonic_increasing
    assert cleaned[Col.HR_BPM.value].tolist() == [100, 110, 121, 130]
    assert cleaned.index.tolist() == [0, 1, 2, 3]
    assert report.counts == {"time_unsorted": 2, "time_duplicate": 1}
    pd.testing.assert_frame_equal(records, original)  # the input is untouched


def test_missing_times_are_dropped() -> None:
    records = frame(3, hr_bpm=[100, 110, 120])
    records.loc[1, Col.TIME.value] = pd.NaT
    cleaned, report = clean_records(records)
    assert cleaned[Col.HR_BPM.value].tolist() == [100, 120]
    assert report.counts == {"time_missing": 1}


def test_empty_and_clean_frames_are_unchanged() -> None:
    cleaned, report = clean_records(empty_records())
    assert cleaned.empty and report.total == 0
    good = frame(3, hr_bpm=[100, 110, 120], lat_deg=[46.0, 46.0001, 46.0002],
                 lon_deg=[7.0, 7.0, 7.0])
    cleaned, report = clean_records(good)
    pd.testing.assert_frame_equal(cleaned, good)
    assert report.counts == {}


# --- properties ----------------------------------------------------------------------------

_ANY = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True, width=64),
    st.floats(min_value=-100, max_value=300),
)


@st.composite
def noisy_records(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(min_value=0, max_value=25))
    seconds = draw(st.lists(st.integers(min_value=0, max_value=30), min_size=n, max_size=n))
    data: dict[str, object] = {
        Col.TIME.value: T0 + pd.to_timedelta(np.asarray(seconds, dtype=np.int64), unit="s")
    }
    for name in SAMPLE_COLUMNS:
        data[name] = np.asarray(draw(st.lists(_ANY, min_size=n, max_size=n)), dtype=np.float64)
    lat = draw(st.lists(st.floats(min_value=45.0, max_value=46.0), min_size=n, max_size=n))
    if draw(st.booleans()):  # realistic positions, with occasional jumps
        data[Col.LAT_DEG.value] = np.asarray(lat)
        data[Col.LON_DEG.value] = np.full(n, 7.0)
    return pd.DataFrame(data)


@settings(max_examples=50, deadline=None)
@given(noisy_records())
def test_cleaning_properties(records: pd.DataFrame) -> None:
    original = records.copy(deep=True)
    cleaned, report = clean_records(records)
    pd.testing.assert_frame_equal(records, original)  # never mutates
    assert len(cleaned) <= len(records)  # never adds rows
    assert list(cleaned.columns) == list(records.columns)

    def in_range(column: str, low: float, high: float) -> None:
        values = cleaned[column].dropna()
        assert ((values >= low) & (values <= high)).all(), column

    in_range(Col.HR_BPM.value, 25, 250)
    in_range(Col.POWER_W.value, 0, 2500)
    in_range(Col.SPEED_MPS.value, 0, 30)
    in_range(Col.CADENCE_RPM.value, 0, 250)
    in_range(Col.LAT_DEG.value, -90, 90)
    in_range(Col.LON_DEG.value, -180, 180)
    assert cleaned[Col.TIME.value].is_monotonic_increasing
    assert cleaned[Col.TIME.value].is_unique
    assert cleaned[Col.LAT_DEG.value].isna().equals(cleaned[Col.LON_DEG.value].isna())

    # counts: rows dropped by the duplicate rule, cells set to NaN by the value rules
    reference = records.sort_values(Col.TIME.value, kind="stable")
    reference = reference.drop_duplicates(Col.TIME.value, keep="last").reset_index(drop=True)
    assert report.counts.get("time_duplicate", 0) == len(records) - len(reference)
    pd.testing.assert_series_equal(cleaned[Col.TIME.value], reference[Col.TIME.value])
    changed = int((reference[list(SAMPLE_COLUMNS)].notna()
                   & cleaned[list(SAMPLE_COLUMNS)].isna()).sum().sum())
    row_rules = {"time_missing", "time_unsorted", "time_duplicate"}
    assert sum(v for k, v in report.counts.items() if k not in row_rules) == changed
    assert all(v > 0 for v in report.counts.values())
