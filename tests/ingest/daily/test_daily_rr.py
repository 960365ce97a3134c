"""RR-interval recordings -> one DailyObservation."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest

from lydiard.domain.hrv import rmssd_ms
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    InvalidInputError,
    UnsupportedFormatError,
)
from lydiard.ingest.daily.rr import parse_rr, read_rr

TZ = "Europe/Oslo"


def synthetic_rr(n_beats: int = 240, seed: int = 0) -> np.ndarray:
    """Integer-ms RR with respiratory sinus arrhythmia (6 beats a breath) and a little noise."""
    rng = np.random.default_rng(seed)
    phase = np.cumsum(2 * np.pi / 6.0 * (1 + rng.normal(0, 0.05, n_beats)))
    return np.round(1000 + 40 * np.sin(phase) + rng.normal(0, 1.5, n_beats))


def plain(rr: np.ndarray, *, header: str | None = None, seconds: bool = False) -> bytes:
    lines = [f"{x / 1000:.3f}" if seconds else f"{x:.0f}" for x in rr]
    if header:
        lines.insert(0, header)
    return ("\n".join(lines) + "\n").encode()


def hrv_logger(rr: np.ndarray, start: datetime) -> bytes:
    lines = ["date,rr,since start"]
    elapsed = 0.0
    for x in rr:
        stamp = start + timedelta(milliseconds=elapsed)
        lines.append(f"{stamp:%Y-%m-%d %H:%M:%S}.{stamp.microsecond // 1000:03d},{x:.0f},{elapsed:.0f}")
        elapsed += x
    return ("\r\n".join(lines) + "\r\n").encode()


def polar_sensor_logger(rr: np.ndarray, start: str) -> bytes:
    lines = ["Phone timestamp;RR-interval [ms]"]
    lines += [f"{start};{x:.0f}" for x in rr]
    return "\n".join(lines).encode()


def test_plain_ms() -> None:
    rr = synthetic_rr()
    obs = read_rr("reading.txt", plain(rr), tz=TZ, day=date(2024, 5, 1))
    assert obs.day == date(2024, 5, 1)
    assert obs.source == "rr-file"
    assert obs.hrv_kind == "morning"
    assert obs.rr_corrected_fraction == 0.0
    assert obs.rmssd_ms == pytest.approx(rmssd_ms(rr), abs=0.01)
    assert obs.rhr_bpm == pytest.approx(60000 / rr.mean(), abs=0.1)


def test_plain_seconds_and_header_are_detected() -> None:
    rr = synthetic_rr(seed=1)
    in_ms = read_rr("a.txt", plain(rr), tz=TZ, day=date(2024, 5, 1))
    in_s = read_rr("b.txt", plain(rr, seconds=True, header="RR"), tz=TZ, day=date(2024, 5, 1))
    assert in_s.rmssd_ms == pytest.approx(in_ms.rmssd_ms, abs=0.01)
    assert parse_rr("b.txt", plain(rr, header="RR")).format == "csv"


def test_elite_hrv_comma_separated_with_day_from_name() -> None:
    rr = synthetic_rr(seed=2)
    data = ",".join(f"{x:.0f}" for x in rr).encode()
    recording = parse_rr("2017-07-16 07-23-09.txt", data)
    assert recording.format == "elite-hrv"
    assert recording.recorded_at == datetime(2017, 7, 16, 7, 23, 9)
    obs = read_rr("2017-07-16 07-23-09.txt", data, tz=TZ)
    assert obs.day == date(2017, 7, 16)
    assert obs.rmssd_ms == pytest.approx(rmssd_ms(rr), abs=0.01)


def test_hrv_logger_local_timestamps() -> None:
    rr = synthetic_rr(seed=3)
    data = hrv_logger(rr, datetime(2025, 3, 15, 6, 50, 15))
    recording = parse_rr("2025-03-15_RR_0001.csv", data)
    assert recording.format == "hrv-logger"
    assert recording.rr_ms.size == rr.size
    obs = read_rr("2025-03-15_RR_0001.csv", data, tz=TZ)
    assert obs.day == date(2025, 3, 15)


def test_polar_sensor_logger_utc_becomes_local_day() -> None:
    rr = synthetic_rr(seed=4)
    data = polar_sensor_logger(rr, "2024-01-09T23:30:00Z")  # 00:30 in Oslo
    assert parse_rr("Polar_H10.txt", data).format == "polar-sensor-logger"
    assert read_rr("Polar_H10.txt", data, tz=TZ).day == date(2024, 1, 10)
    assert read_rr("Polar_H10.txt", data, tz="America/New_York").day == date(2024, 1, 9)


def test_artefacts_are_corrected_before_rmssd() -> None:
    rr = synthetic_rr(seed=5)
    bad = list(rr)
    bad[100:102] = [rr[100] + rr[101]]  # a missed beat
    obs = read_rr("r.txt", plain(np.asarray(bad)), tz=TZ, day=date(2024, 5, 2))
    assert obs.rr_corrected_fraction is not None and obs.rr_corrected_fraction > 0
    assert obs.rmssd_ms == pytest.approx(rmssd_ms(rr), rel=0.1)
    assert rmssd_ms(bad) > 1.5 * rmssd_ms(rr)


def test_overnight_kind_and_malik() -> None:
    obs = read_rr("r.txt", plain(synthetic_rr()), tz=TZ, day=date(2024, 5, 1),
                  hrv_kind="overnight", method="malik")
    assert obs.hrv_kind == "overnight"
    with pytest.raises(InvalidInputError):
        read_rr("r.txt", plain(synthetic_rr()), tz=TZ, day=date(2024, 5, 1), hrv_kind="noon")


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", EmptyFileError),
        (b"   \n\n", EmptyFileError),
        (b"hello world\nthis is not RR\n", UnsupportedFormatError),
        (b"\x00\x01\x02binary", UnsupportedFormatError),
        (b"1000\n1010\nabc\n" + b"1000\n" * 30, CorruptFileError),
        (b"1000\n1010\n990\n", EmptyFileError),  # too short
        (b"50000\n" * 40, CorruptFileError),  # not heart beats
        (b"RR\n1000\n1010\nxyz\n" + b"1000\n" * 30, CorruptFileError),
    ],
)
def test_garbage_is_refused_clearly(data: bytes, error: type[Exception]) -> None:
    with pytest.raises(error) as info:
        read_rr("bad.txt", data, tz=TZ, day=date(2024, 1, 1))
    assert "bad.txt" in str(info.value)


def test_no_day_anywhere() -> None:
    with pytest.raises(InvalidInputError) as info:
        read_rr("reading.txt", plain(synthetic_rr()), tz=TZ)
    assert info.value.field == "day"


def test_unknown_time_zone() -> None:
    with pytest.raises(InvalidInputError):
        read_rr("r.txt", plain(synthetic_rr()), tz="Mars/Olympus", day=date(2024, 1, 1))
