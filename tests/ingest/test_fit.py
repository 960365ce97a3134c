"""Tests of the FIT decoder: synthetic files from our own encoder, fuzzing, and the corpus."""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import struct
import time
import warnings
import zipfile
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fitbuilder import (
    BYTE,
    ENUM,
    FILE_ID,
    FILE_ID_FIELDS,
    HRV,
    RECORD,
    RECORD_FIELDS,
    SESSION,
    SESSION_FIELDS,
    SINT8,
    SPORT,
    STRING,
    UINT8,
    UINT16,
    UINT32,
    FitBuilder,
    crc16,
    fit_s,
    reseal,
    simple_activity,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lydiard.ingest.fit as fit_module
from lydiard.domain.activity import Activity
from lydiard.domain.columns import LAP_COLUMNS, SAMPLE_COLUMNS, Col
from lydiard.errors import (
    ChecksumError,
    CorruptFileError,
    EmptyFileError,
    LydiardError,
    TruncatedFileError,
    UnsupportedFormatError,
)
from lydiard.ingest.fit import ErrorPolicy, decode_fit, fit_crc16, read_fit
from shared_paths import shared_dir

T0_UNIX = 1_700_000_000
T0 = datetime.fromtimestamp(T0_UNIX, tz=UTC)


# ----------------------------------------------------------------------------- basics


@pytest.mark.parametrize("size", [0, 1, 2, 63, 64, 65, 255, 256, 257, 1000, 4097, 70_001])
def test_crc16_matches_the_fit_protocol_algorithm(size: int) -> None:
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    assert fit_crc16(data) == crc16(data)


def test_crc16_matches_garmin_sdk() -> None:
    crc_calculator = pytest.importorskip("garmin_fit_sdk.crc_calculator").CrcCalculator
    data = bytearray(np.random.default_rng(7).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    assert fit_crc16(bytes(data)) == crc_calculator.calculate_crc(data, 0, len(data))


def test_simple_activity_records() -> None:
    activity = read_fit(simple_activity(n_records=30), source="a.fit")
    records = activity.records
    assert list(records.columns) == [Col.TIME.value, *SAMPLE_COLUMNS]
    assert str(records[Col.TIME].dtype) == "datetime64[ns, UTC]"
    assert all(records[c].dtype == np.float64 for c in SAMPLE_COLUMNS)
    assert len(records) == 30
    assert records[Col.TIME].iloc[0] == pd.Timestamp(T0)
    assert records[Col.TIME].iloc[29] == pd.Timestamp(T0_UNIX + 29, unit="s", tz="UTC")
    np.testing.assert_array_equal(records[Col.HR_BPM], [120 + i % 50 for i in range(30)])
    np.testing.assert_array_equal(records[Col.POWER_W], np.arange(200, 230))
    np.testing.assert_allclose(records[Col.SPEED_MPS], 3.0)
    np.testing.assert_allclose(records[Col.DISTANCE_M], np.arange(30) * 3.0)
    np.testing.assert_allclose(records[Col.ALTITUDE_M], 100 + np.arange(30) / 5)
    np.testing.assert_allclose(records[Col.CADENCE_RPM], 80)
    np.testing.assert_allclose(records[Col.LAT_DEG].iloc[0], 45.0, atol=1e-6)
    np.testing.assert_allclose(records[Col.LON_DEG], -122.0, atol=1e-6)
    np.testing.assert_array_equal(records[Col.TEMPERATURE_C].iloc[:2], [21, -5])
    assert activity.source_format == "fit"
    assert activity.warnings == ()
    assert activity.rr_ms.size == 0


def test_simple_activity_summary_and_laps() -> None:
    activity = read_fit(simple_activity(n_records=30, sport=2, sub_sport=7), source="a.fit")
    summary = activity.summary
    assert summary.sport == "ride"
    assert summary.sub_sport == "road"
    assert summary.started_at == T0
    assert summary.duration_s == 29.0
    assert summary.moving_time_s == 28.0
    assert summary.distance_m == 87.0
    assert (summary.avg_hr_bpm, summary.max_hr_bpm, summary.avg_power_w) == (140, 169, 215)
    assert summary.device == "garmin 2697"
    laps = activity.laps
    assert list(laps.columns) == list(LAP_COLUMNS)
    assert len(laps) == 1
    assert laps["started_at"].iloc[0] == pd.Timestamp(T0)
    assert laps.iloc[0].to_dict() | {"started_at": None} == {
        "started_at": None, "duration_s": 29.0, "distance_m": 87.0,
        "avg_hr_bpm": 140.0, "max_hr_bpm": 169.0, "avg_power_w": 215.0,
    }


def test_big_endian_and_short_header_decode_the_same() -> None:
    little = read_fit(simple_activity(), source="le.fit")
    big = read_fit(simple_activity(big_endian=True, header_size=12), source="be.fit")
    pd.testing.assert_frame_equal(little.records, big.records)
    pd.testing.assert_frame_equal(little.laps, big.laps)
    assert little.summary == big.summary


def test_header_crc_zero_is_valid() -> None:
    b = FitBuilder(header_crc=False)
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8)]).data(0, [fit_s(T0_UNIX), 150])
    data = b.build()
    assert data[12:14] == b"\0\0"
    assert read_fit(data, source="zero.fit").records[Col.HR_BPM].tolist() == [150.0]


def test_invalid_values_become_nan_and_are_not_cleaned() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, RECORD_FIELDS)
    b.data(0, [fit_s(T0_UNIX), None, None, None, None, None, None, None, None, None])
    b.data(0, [fit_s(T0_UNIX) + 1, 0, 0, 0, 254, 0, 0, 0, 65534, -128])
    records = read_fit(b.build(), source="inv.fit").records
    assert records[list(SAMPLE_COLUMNS)].iloc[0].isna().all()
    assert records[Col.HR_BPM].iloc[1] == 254  # raw, not cleaned
    assert records[Col.POWER_W].iloc[1] == 65534
    assert records[Col.ALTITUDE_M].iloc[1] == -500.0
    assert records[Col.TEMPERATURE_C].iloc[1] == -128


def test_enhanced_speed_and_altitude_win_over_the_plain_fields() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (6, UINT16), (73, UINT32), (2, UINT16),
                             (78, UINT32)])
    b.data(0, [fit_s(T0_UNIX), 1000, 70_000, 2600, 5000])  # enhanced: 70 m/s, 500 m
    b.data(0, [fit_s(T0_UNIX) + 1, 1000, None, 2600, None])  # plain: 1 m/s, 20 m
    records = read_fit(b.build(), source="enh.fit").records
    assert records[Col.SPEED_MPS].tolist() == [70.0, 1.0]
    assert records[Col.ALTITUDE_M].tolist() == [500.0, 20.0]


def test_compressed_timestamps_roll_over_every_32_s() -> None:
    t0 = fit_s(T0_UNIX)  # T0_UNIX - epoch: t0 & 31 is what the offsets continue from
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8)])
    b.data(0, [t0, 100])
    b.definition(1, RECORD, [(3, UINT8)])
    expected = [t0]
    t = t0
    for step in [1, 1, 5, 20, 31, 2, 30]:
        t += step
        b.data(1, [101], time_offset=t & 31)
        expected.append(t)
    b.definition(2, RECORD, [(3, UINT8)])  # no timestamp, no compressed header
    b.data(2, [102])
    expected.append(t)  # the last known timestamp
    records = read_fit(b.build(), source="cts.fit").records
    got = (records[Col.TIME].astype("int64") // 10**9).tolist()
    assert got == [e + 631_065_600 for e in expected]


def test_compressed_timestamp_before_any_timestamp_is_unknown() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, [(3, UINT8)])
    b.data(0, [90], time_offset=3)
    b.definition(1, RECORD, [(253, UINT32), (3, UINT8)])
    b.data(1, [fit_s(T0_UNIX), 91])
    decoded = decode_fit(b.build(), source="early.fit")
    assert np.isnat(decoded.records["time"][0])
    assert decoded.records["time"][1] == np.datetime64(T0_UNIX, "s")


def test_timestamps_of_other_messages_feed_compressed_headers() -> None:
    t0 = fit_s(T0_UNIX)
    b = FitBuilder()
    b.definition(0, 21, [(253, UINT32), (0, ENUM)]).data(0, [t0 + 100, 0])  # an event
    b.definition(1, RECORD, [(3, UINT8)]).data(1, [150], time_offset=(t0 + 103) & 31)
    records = read_fit(b.build(), source="ev.fit").records
    assert records[Col.TIME].iloc[0] == pd.Timestamp(T0_UNIX + 103, unit="s", tz="UTC")


def test_developer_fields_are_skipped() -> None:
    b = FitBuilder()
    b.definition(0, 207, [(0, 16, BYTE), (1, UINT8)])  # developer_data_id (not decoded)
    b.data(0, [[1] * 16, 0])
    b.definition(1, RECORD, [(253, UINT32), (3, UINT8), (7, UINT16)],
                 dev_fields=[(0, 2, 0), (1, 5, 0)])
    b.data(1, [fit_s(T0_UNIX), 150, None], dev_bytes=b"\x2c\x01abcde")  # dev power 300
    b.data(1, [fit_s(T0_UNIX) + 1, 151, 250], dev_bytes=b"\xff" * 7)
    records = read_fit(b.build(), source="dev.fit").records
    assert records[Col.HR_BPM].tolist() == [150.0, 151.0]
    assert np.isnan(records[Col.POWER_W].iloc[0])  # developer power is not used
    assert records[Col.POWER_W].iloc[1] == 250.0


def test_chained_files_are_concatenated_and_reset_state() -> None:
    first = simple_activity(n_records=10)
    b = FitBuilder()
    b.definition(5, RECORD, [(253, UINT32), (3, UINT8)])  # local 5, not 1: state reset
    b.data(5, [fit_s(T0_UNIX) + 100, 99])
    second = b.build()
    decoded = decode_fit(first + second, source="chain.fit")
    assert decoded.n_files == 2
    assert decoded.records["hr_bpm"].tolist()[-1] == 99
    assert decoded.records["time"].size == 11
    # A data message of a local type defined only in the first file is corrupt.
    b2 = FitBuilder()
    b2.raw(bytes([1]) + b"\0" * 25)
    with pytest.raises(CorruptFileError) as info:
        decode_fit(first + b2.build(), source="chain2.fit")
    assert info.value.offset == len(first) + 14


def test_hrv_rr_intervals_in_ms_without_invalid() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8)]).data(0, [fit_s(T0_UNIX), 60])
    b.definition(1, HRV, [(0, 10, UINT16)])
    b.data(1, [[1000, 950, None, None, None]])
    b.data(1, [[1010, None, 990, None, None]])
    activity = read_fit(b.build(), source="hrv.fit")
    assert activity.rr_ms.tolist() == [1000.0, 950.0, 1010.0, 990.0]
    assert activity.rr_ms.dtype == np.float64


def test_compressed_speed_distance_is_expanded_and_accumulated() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (8, 3, BYTE)])
    distances_16th_m = [4000, 4090, 100, 300]  # the 12-bit counter rolls over at 4096
    for i, d in enumerate(distances_16th_m):
        speed = 250 + i  # 1/100 m/s
        packed = speed | (d << 12)
        b.data(0, [fit_s(T0_UNIX) + i, list(packed.to_bytes(3, "little"))])
    records = read_fit(b.build(), source="csd.fit").records
    np.testing.assert_allclose(records[Col.SPEED_MPS], [2.50, 2.51, 2.52, 2.53])
    np.testing.assert_allclose(records[Col.DISTANCE_M], np.array([4000, 4090, 4196, 4396]) / 16)


def test_misaligned_field_is_read_as_bytes_like_the_sdk() -> None:
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (7, 3, UINT16), (3, UINT8)])  # 3 bytes of uint16
    b.raw(bytes([0]) + struct.pack("<I", fit_s(T0_UNIX)) + bytes([7, 8, 9, 140]))
    records = read_fit(b.build(), source="mis.fit").records
    assert records[Col.POWER_W].tolist() == [7.0]
    assert records[Col.HR_BPM].tolist() == [140.0]


@pytest.mark.parametrize(
    ("sport", "sub_sport", "expected"),
    [
        (1, 0, "run"), (1, 1, "run"), (2, 6, "ride"), (5, 17, "swim"), (11, 0, "walk"),
        (17, 0, "hike"), (15, 0, "row"), (12, 0, "ski"), (13, 0, "ski"),
        (10, 20, "strength"), (4, 20, "strength"), (4, 14, "row"), (4, 15, "other"),
        (19, 0, "other"), (200, 0, "other"),
    ],
)
def test_sport_mapping(sport: int, sub_sport: int, expected: str) -> None:
    data = simple_activity(sport=sport, sub_sport=sub_sport)
    assert read_fit(data, source="s.fit").summary.sport == expected


def test_device_names() -> None:
    assert read_fit(simple_activity(manufacturer=32, product=31), source="w.fit").summary.device \
        == "wahoo_fitness 31"
    assert read_fit(simple_activity(manufacturer=4321, product=7), source="u.fit").summary.device \
        == "4321 7"


def test_summary_from_records_when_there_is_no_session() -> None:
    t0 = fit_s(T0_UNIX)
    b = FitBuilder()
    b.definition(0, SPORT, [(0, ENUM), (1, ENUM), (3, 16, STRING)]).data(0, [11, 0, "Walk"])
    b.definition(1, RECORD, [(253, UINT32), (3, UINT8), (6, UINT16), (5, UINT32), (7, UINT16)])
    for i in range(11):
        b.data(1, [t0 + i, 100 + i, 2000 if i < 6 else 0, i * 200, None])
    summary = read_fit(b.build(), source="ns.fit").summary
    assert summary.sport == "walk"
    assert summary.started_at == T0
    assert summary.duration_s == 10.0
    assert summary.moving_time_s == 5.0  # samples 1-5 above the moving speed
    assert summary.distance_m == 20.0
    assert summary.avg_hr_bpm == 105.0
    assert summary.max_hr_bpm == 110.0
    assert summary.avg_power_w is None


def test_multisport_sessions_are_combined() -> None:
    t0 = fit_s(T0_UNIX)
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8)]).data(0, [t0, 100])
    b.definition(1, SESSION, SESSION_FIELDS)
    b.data(1, [t0 + 600, t0, 5, 18, 600_000, 600_000, 50_000, 120, 150, None, 0])
    b.data(1, [t0 + 660, t0 + 600, 3, 0, 60_000, 60_000, 0, None, None, None, 1])
    b.data(1, [t0 + 2460, t0 + 660, 2, 7, 1_800_000, 1_700_000, 1_000_000, 150, 170, 200, 2])
    summary = read_fit(b.build(), source="tri.fit").summary
    assert (summary.sport, summary.sub_sport) == ("other", "multisport")
    assert summary.duration_s == 2460.0
    assert summary.moving_time_s == 2360.0
    assert summary.distance_m == 10_500.0
    assert summary.avg_hr_bpm == pytest.approx((120 * 600 + 150 * 1800) / 2400)
    assert summary.max_hr_bpm == 170.0
    assert summary.avg_power_w == 200.0


def test_non_activity_fit_file_has_no_usable_data() -> None:
    b = FitBuilder()
    b.definition(0, FILE_ID, FILE_ID_FIELDS).data(0, [2, 1, 1561, None, None])
    data = b.build()
    assert decode_fit(data, source="settings.fit").message_counts == {FILE_ID: 1}
    with pytest.raises(EmptyFileError, match=r"settings\.fit"):
        read_fit(data, source="settings.fit")


# ----------------------------------------------------------------------------- damage


def _records_fit(n: int = 20) -> bytes:
    b = FitBuilder()
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8), (7, UINT16)])
    for i in range(n):
        b.data(0, [fit_s(T0_UNIX) + i, 100 + i, 200])
    return b.build()


def test_empty_file() -> None:
    with pytest.raises(EmptyFileError, match=r"empty\.fit"):
        read_fit(b"", source="empty.fit")


@pytest.mark.parametrize("data", [b"<?xml version='1.0'?><gpx/>", b"\x0e" * 40, b"PK\x03\x04"])
def test_not_fit(data: bytes) -> None:
    with pytest.raises(UnsupportedFormatError, match=r"x\.fit"):
        read_fit(data, source="x.fit")


def test_bad_file_crc() -> None:
    data = bytearray(_records_fit())
    data[-1] ^= 0x40
    with pytest.raises(ChecksumError) as info:
        read_fit(bytes(data), source="crc.fit")
    assert info.value.offset == len(data) - 2
    assert "crc.fit" in str(info.value)
    activity = read_fit(bytes(data), source="crc.fit", on_error=ErrorPolicy.WARN)
    assert len(activity.records) == 20
    assert "CRC" in activity.warnings[0]
    forgiven = read_fit(bytes(data), source="crc.fit", on_error=ErrorPolicy.CRC_WARN)
    assert len(forgiven.records) == 20 and "file CRC does not match" in forgiven.warnings[0]


def test_crc_warn_forgives_only_the_file_crc() -> None:
    """CRC_WARN (the importer's policy) still raises for every other kind of damage."""
    good = _records_fit()
    header = bytearray(good)
    header[12] ^= 1
    with pytest.raises(ChecksumError):
        read_fit(bytes(header), source="h.fit", on_error=ErrorPolicy.CRC_WARN)
    with pytest.raises(TruncatedFileError):
        read_fit(good[:-5], source="cut.fit", on_error=ErrorPolicy.CRC_WARN)
    torn = bytearray(good)
    torn[14 + 15 + 8 * 3] = 0x4F  # a definition header for an undefined layout, mid-stream
    torn[-1] ^= 0x40
    with pytest.raises(CorruptFileError):
        read_fit(bytes(torn), source="torn.fit", on_error=ErrorPolicy.CRC_WARN)
    assert read_fit(good, source="good.fit", on_error=ErrorPolicy.CRC_WARN).warnings == ()


def test_bad_header_crc() -> None:
    data = bytearray(_records_fit())
    data[12] ^= 1
    with pytest.raises(ChecksumError) as info:
        read_fit(bytes(data), source="h.fit")
    assert info.value.offset == 12


def test_truncated_file_raises_or_returns_what_came_before() -> None:
    full = _records_fit(20)
    cut = full[: 14 + 15 + 8 * 10 + 3]  # header, definition, 10 messages, part of the 11th
    with pytest.raises(TruncatedFileError) as info:
        read_fit(cut, source="cut.fit")
    assert info.value.offset == len(cut)
    activity = read_fit(cut, source="cut.fit", on_error=ErrorPolicy.WARN)
    assert len(activity.records) == 10
    assert activity.records[Col.HR_BPM].tolist() == [100.0 + i for i in range(10)]
    assert len(activity.warnings) == 1
    assert "cut.fit" in activity.warnings[0]


def test_last_message_running_past_the_data() -> None:
    fit = _records_fit(3)
    body = fit[14:-2] + b"\x00\x01"  # a data message of 8 bytes with only 2 bytes left
    with pytest.raises(CorruptFileError) as info:
        read_fit(reseal(fit[:14] + body + b"\0\0"), source="over.fit")
    assert info.value.offset == 14 + len(body)


@pytest.mark.parametrize(
    ("definition", "reason"),
    [
        (bytes([0x40, 0, 0, 20, 0, 1, 3, 0, 2]), "size 0"),
        (bytes([0x40, 0, 7, 20, 0, 1, 3, 1, 2]), "architecture 7"),
        (bytes([0x40, 0, 0, 20, 0, 1, 3, 1, 0x1F]), "unknown base type"),
        (bytes([0x60, 0, 0, 20, 0, 1, 3, 1, 2, 1, 0, 0, 0]), "size 0"),
        (bytes([0x40, 0, 0, 20, 0, 200, 3, 1, 2]), "past the end"),
    ],
)
def test_absurd_definitions(definition: bytes, reason: str) -> None:
    data = FitBuilder().raw(definition).build()
    with pytest.raises(CorruptFileError, match=reason) as info:
        read_fit(data, source="abs.fit")
    assert info.value.offset is not None and 14 <= info.value.offset < len(data)


def test_data_before_definition() -> None:
    data = FitBuilder().raw(b"\x03\x00\x00").build()
    with pytest.raises(CorruptFileError, match="local message type 3") as info:
        read_fit(data, source="nodef.fit")
    assert info.value.offset == 14


def test_corrupt_chained_header_and_zero_data_size() -> None:
    first = _records_fit()
    with pytest.raises(CorruptFileError, match="chained FIT file 2") as info:
        read_fit(first + b"\x0e\x10" + b"\0" * 20, source="chain.fit")
    assert info.value.offset == len(first)
    # The header says 0 data bytes but messages follow: the CRC cannot match.
    zero = bytearray(first)
    zero[4:8] = b"\0\0\0\0"
    zero[12:14] = struct.pack("<H", crc16(bytes(zero[:12])))
    with pytest.raises(CorruptFileError):
        read_fit(bytes(zero), source="zero.fit")


# ----------------------------------------------------------------------------- fast path


def _periodic_fit(pattern_seed: int) -> bytes:
    """Long runs of repeating message patterns, broken by redefinitions and odd messages."""
    rng = np.random.default_rng(pattern_seed)
    b = FitBuilder()
    t = fit_s(T0_UNIX)
    b.definition(0, RECORD, [(253, UINT32), (3, UINT8), (7, UINT16)])
    b.definition(1, HRV, [(0, 4, UINT16)])
    b.definition(2, 21, [(253, UINT32), (0, ENUM)])
    b.definition(3, RECORD, [(253, UINT32), (3, UINT8), (13, SINT8)], big_endian=True)
    swapped = False  # local 0 redefined with heart rate first
    for _ in range(12):
        period = [0, 1, 3, [0, 1], [0, 0, 1], [0, 1, 2, 1], [3, 1]][rng.integers(7)]
        kinds = period if isinstance(period, list) else [period]
        for _ in range(int(rng.integers(1, 300))):
            for kind in kinds:
                t += 1
                hr = int(rng.integers(60, 200))
                if kind == 0:
                    power = int(rng.integers(0, 500))
                    b.data(0, [hr, t, power] if swapped else [t, hr, power])
                elif kind == 3:
                    b.data(3, [t, hr, int(rng.integers(-40, 60))])
                elif kind == 1:
                    b.data(1, [[int(rng.integers(300, 1500)), None]])
                else:
                    b.data(2, [t, 3])
        if rng.random() < 0.3:  # redefine local 0 with another layout
            swapped = not swapped
            fields = [(3, UINT8), (253, UINT32), (7, UINT16)]
            b.definition(0, RECORD, fields if swapped else [fields[1], fields[0], fields[2]])
        elif rng.random() < 0.3:  # re-send the same definition
            b.definition(1, HRV, [(0, 4, UINT16)])
        if rng.random() < 0.3:
            b.data(1, [[None, None]])
    return b.build()


@pytest.mark.parametrize("seed", range(8))
def test_fast_forward_finds_exactly_what_the_scalar_loop_finds(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _periodic_fit(seed)
    fast = decode_fit(data, source="p.fit")
    monkeypatch.setattr(fit_module, "_fast_forward", lambda data, recent, pos, *a: pos)
    slow = decode_fit(data, source="p.fit")
    assert fast.message_counts == slow.message_counts
    for name in fast.records:
        np.testing.assert_array_equal(fast.records[name], slow.records[name])
    np.testing.assert_array_equal(fast.rr_ms, slow.rr_ms)
    assert fast.records["time"].size > 100
    assert (np.diff(fast.records["time"].astype(np.int64)) > 0).all()


# ----------------------------------------------------------------------------- fuzzing


_SEED_FILES = [
    simple_activity(n_records=12),
    simple_activity(n_records=5, big_endian=True, header_size=12),
    _periodic_fit(99)[:4000],
]


def _outcome(data: bytes) -> None:
    start = time.perf_counter()
    try:
        result = read_fit(data, source="fuzz.fit")
    except LydiardError as exc:
        assert "fuzz.fit" in str(exc)
    else:
        assert isinstance(result, Activity)
        assert len(result.records.columns) == 1 + len(SAMPLE_COLUMNS)
    with contextlib.suppress(LydiardError):
        read_fit(data, source="fuzz.fit", on_error=ErrorPolicy.WARN)
    assert time.perf_counter() - start < 1.0


def test_warn_policy_when_the_first_message_is_cut() -> None:
    data = bytearray(_SEED_FILES[0])
    data[20] ^= 1  # damage found by the fuzzer: every message ends up cut off
    activity_or_error: object
    try:
        activity_or_error = read_fit(bytes(data[:36]), source="cut.fit", on_error=ErrorPolicy.WARN)
    except LydiardError as exc:
        activity_or_error = exc
    assert isinstance(activity_or_error, EmptyFileError | Activity)
    with pytest.raises(CorruptFileError):
        read_fit(bytes(data[:36]), source="cut.fit")


@settings(max_examples=100, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.sampled_from(range(len(_SEED_FILES))),
    edits=st.lists(
        st.tuples(st.sampled_from(["flip", "insert", "delete", "set"]),
                  st.integers(0, 10**6), st.integers(0, 255)),
        min_size=1, max_size=6,
    ),
    cut=st.one_of(st.none(), st.integers(0, 10**6)),
    resealed=st.booleans(),
)
def test_fuzzed_fit_is_an_activity_or_a_lydiard_error(
    seed: int, edits: list[tuple[str, int, int]], cut: int | None, resealed: bool
) -> None:
    data = bytearray(_SEED_FILES[seed])
    header = data[0]
    for kind, where, value in edits:
        # Resealed files keep a sound header so the damage reaches the messages.
        lo = header if resealed else 0
        i = lo + where % max(1, len(data) - lo)
        if kind == "flip" and i < len(data):
            data[i] ^= 1 << (value % 8)
        elif kind == "insert":
            data.insert(i, value)
        elif kind == "delete" and i < len(data):
            del data[i]
        elif kind == "set" and i < len(data):
            data[i] = value
    if resealed and len(data) > header + 2:
        data = bytearray(reseal(bytes(data)))
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    _outcome(bytes(data))


@settings(max_examples=50, deadline=2000)
@given(st.binary(min_size=0, max_size=300))
def test_random_bytes_behind_a_valid_header(body: bytes) -> None:
    data = FitBuilder().raw(body).build()
    _outcome(data)


# ----------------------------------------------------------------------------- corpus


def _corpus_payloads(corpus: Path) -> list[tuple[str, bytes]]:
    seen: set[str] = set()
    out = []
    for path in sorted(corpus.rglob("*")):
        lower = path.name.lower()
        items: list[tuple[str, bytes]] = []
        if lower.endswith(".fit"):
            items = [(str(path.relative_to(corpus)), path.read_bytes())]
        elif lower.endswith(".fit.gz"):
            items = [(str(path.relative_to(corpus)), gzip.decompress(path.read_bytes()))]
        elif lower.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                items = [
                    (f"{path.relative_to(corpus)}!{m}", archive.read(m))
                    for m in archive.namelist()
                    if m.lower().endswith(".fit") and "__MACOSX" not in m
                ]
        for name, data in items:
            digest = hashlib.sha256(data).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append((name, data))
    return out


CORRUPT = {
    "python-fitparse/tests/files/activity-filecrc.fit": ChecksumError,
    "python-fitparse/tests/files/activity-unexpected-eof.fit": TruncatedFileError,
    "python-fitparse/tests/files/activity-activity-filecrc.fit": ChecksumError,
    "python-fitparse/tests/files/activity-settings-corruptheader.fit": CorruptFileError,
    "python-fitparse/tests/files/activity-settings-nodata.fit": TruncatedFileError,
    "python-fitparse/tests/files/nick.fit": ChecksumError,
    "sports-lib/src/specs/fixtures/others/empty-sessions.fit": EmptyFileError,
    "sports-lib/src/specs/fixtures/others/empty-activities.fit": CorruptFileError,
}


@pytest.mark.corpus
@pytest.mark.parametrize("name", sorted(CORRUPT))
def test_corpus_corrupt_files_raise_quickly(corpus_dir: Path, name: str) -> None:
    data = (corpus_dir / name).read_bytes()
    start = time.perf_counter()
    with pytest.raises(CORRUPT[name]) as info:
        read_fit(data, source=name)
    assert time.perf_counter() - start < 1.0
    assert name in str(info.value)
    assert info.value.offset is not None


@pytest.mark.corpus
@pytest.mark.parametrize("name", [n for n, kind in sorted(CORRUPT.items()) if kind is ChecksumError])
def test_corpus_bad_file_crc_is_read_with_a_warning_only_when_the_rest_is_intact(
    corpus_dir: Path, name: str
) -> None:
    """Garmin's SDK and fitdecode return the messages of a file whose only fault is its file
    CRC; so does the importer's policy (with a warning). nick.fit is damaged beyond its CRC."""
    data = (corpus_dir / name).read_bytes()
    if name.endswith("nick.fit"):
        with pytest.raises(CorruptFileError):
            read_fit(data, source=name, on_error=ErrorPolicy.CRC_WARN)
        return
    activity = read_fit(data, source=name, on_error=ErrorPolicy.CRC_WARN)
    assert len(activity.records) > 0
    assert any("file CRC does not match" in w for w in activity.warnings)


@pytest.mark.corpus
def test_corpus_zero_header_crc_and_misaligned_fields(corpus_dir: Path) -> None:
    zero = (corpus_dir / "fitparse-rs/tests/fixtures/ZeroHeaderCrc.fit").read_bytes()
    assert zero[12:14] == b"\0\0"
    assert len(read_fit(zero, source="ZeroHeaderCrc.fit").records) == 81
    coros = corpus_dir / "python-fitparse/tests/files/coros-pace-2-cycling-misaligned-fields.fit"
    assert len(read_fit(coros.read_bytes(), source=coros.name).records) == 11_272


def _sdk_reference(data: bytes) -> tuple[int, float, float] | None:
    """(records, sum of heart rate, sum of power) from garmin-fit-sdk, None if it fails."""
    from garmin_fit_sdk import Decoder, Stream

    messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read(
        apply_scale_and_offset=True, convert_datetimes_to_dates=False,
        convert_types_to_strings=True, expand_sub_fields=True, expand_components=False,
        merge_heart_rates=False,
    )
    if errors:
        return None
    records = messages.get("record_mesgs", [])
    return (len(records), _total(records, "heart_rate"), _total(records, "power"))


def _total(records: Sequence[Mapping[str, object]], key: str) -> float:
    total = 0.0
    for record in records:
        value = record.get(key)
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, int | float):
                total += item
    return total


def _fitdecode_reference(data: bytes) -> tuple[int, float, float] | None:
    import fitdecode

    n, hr, power = 0, 0.0, 0.0
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            reader = fitdecode.FitReader(
                data, check_crc=fitdecode.CrcCheck.RAISE,
                error_handling=fitdecode.ErrorHandling.RAISE,
            )
            with reader:
                for frame in reader:
                    if not (isinstance(frame, fitdecode.FitDataMessage)
                            and frame.global_mesg_num == RECORD):
                        continue
                    n += 1
                    for field in frame.fields:
                        if field.field_def is None or field.field_def.is_dev:
                            continue
                        if field.field_def.def_num == 3 and field.value is not None:
                            hr += field.value
                        if field.field_def.def_num == 7 and field.value is not None:
                            power += field.value
    except Exception:  # any fitdecode failure: no reference
        return None
    return n, hr, power


@functools.cache
def _cached_payloads(corpus: Path) -> dict[str, bytes]:
    """The corpus payloads, read once per process (collection and every golden case share them)."""
    return dict(_corpus_payloads(corpus))


def _golden_cases() -> list[Any]:
    """One case per distinct FIT payload of the corpus (each xdist worker takes its share);
    without the corpus, one case that skips with the fixture's message."""
    corpus = shared_dir() / "corpus"
    names = sorted(_cached_payloads(corpus)) if corpus.is_dir() else []
    return names or [pytest.param(None, id="no-corpus")]


@pytest.mark.corpus
def test_corpus_golden_covers_the_corpus(corpus_dir: Path) -> None:
    assert len(_cached_payloads(corpus_dir)) >= 145, "the golden comparison needs the whole corpus"


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", _golden_cases())
def test_corpus_golden_against_garmin_sdk_and_fitdecode(corpus_dir: Path, name: str | None) -> None:
    pytest.importorskip("garmin_fit_sdk")
    pytest.importorskip("fitdecode")
    assert name is not None
    data = _cached_payloads(corpus_dir)[name]
    if not data:  # 0 bytes: the references call it "ok, 0 records"; we refuse it
        pytest.skip("empty file: refused on purpose")
    reference = _sdk_reference(data)
    if reference is None:  # e.g. the SDK rejects compressed timestamps: ask fitdecode
        reference = _fitdecode_reference(data)
    if reference is None:
        pytest.skip("neither reference decodes it")
    try:
        decoded = decode_fit(data, source=name)
    except LydiardError as exc:
        pytest.fail(f"{name}: references decode it, we raise {exc}")
    ours = (
        decoded.records["time"].size,
        float(np.nansum(decoded.records["hr_bpm"])),
        float(np.nansum(decoded.records["power_w"])),
    )
    assert ours == reference, f"{name}: ours {ours} != reference {reference}"


@pytest.mark.corpus
def test_corpus_every_file_reads_or_raises_a_lydiard_error(corpus_dir: Path) -> None:
    ok = 0
    for name, data in _corpus_payloads(corpus_dir):
        start = time.perf_counter()
        try:
            activity = read_fit(data, source=name)
        except LydiardError as exc:
            assert name in str(exc)
        else:
            ok += 1
            assert str(activity.records[Col.TIME].dtype) == "datetime64[ns, UTC]"
            assert activity.summary.started_at.tzinfo is not None
        assert time.perf_counter() - start < 2.0, name
    assert ok >= 135
