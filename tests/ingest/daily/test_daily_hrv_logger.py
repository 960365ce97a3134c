"""HRV Logger's export: epoch-ms timestamps, the files of one recording read together (our own fixtures)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import numpy as np
import pytest

from lydiard.domain.hrv import correct_rr, rmssd_ms
from lydiard.errors import UnsupportedFormatError
from lydiard.ingest.daily.hrv_logger import read_recording, recording_part
from lydiard.ingest.daily.sniff import read_daily_source


def beats(n: int = 240, *, artefact_at: int | None = 100) -> list[float]:
    """Alternating 1000/1040 ms (successive differences of 40 ms), one missed beat if asked."""
    rr = [1000.0 if i % 2 else 1040.0 for i in range(n)]
    if artefact_at is not None:
        rr[artefact_at] = rr[artefact_at] + rr[artefact_at + 1]  # a missed beat: two intervals as one
    return rr


def rr_csv(start: datetime, rr: list[float]) -> bytes:
    """``timestamp, rr, since_start`` as the app writes it: epoch ms, a blank line after the header."""
    t_ms = int(start.timestamp() * 1000)
    lines = ["timestamp, rr, since_start ", ""]
    since = 0
    for value in rr:
        since += int(value)
        lines.append(f"{t_ms + since},{int(value)},{since}")
    return ("\n".join(lines) + "\n").encode()


def hr_csv(start: datetime) -> bytes:
    t_ms = int(start.timestamp() * 1000)
    return ("timestamp, since_start, heart_rate \n\n"
            + "".join(f"{t_ms + i * 1000},{i * 1000},{58 + i % 3}\n" for i in range(60))).encode()


def features_csv(start: datetime) -> bytes:
    t_ms = int(start.timestamp() * 1000)
    return ("timestamp, HR, AVNN, SDNN, rMSSD, pNN50, LF, HF, LFHF, alpha_1, artifacts_removed \n"
            f"{t_ms + 30000},59.0,1017.0,22.0,41.0,0.0,0.02,0.05,0.4,0.9,1.0\n").encode()


START = datetime(2025, 6, 29, 5, 30, tzinfo=UTC)


def test_epoch_milliseconds_give_the_local_day_and_rmssd_is_from_corrected_beats() -> None:
    rr = beats()
    rec = read_recording("2025-06-29_RRIntervals.csv", rr_csv(START, rr), tz="Europe/Oslo")
    obs = rec.observation
    assert rec.started_at.year == 2025 and obs.day == date(2025, 6, 29)  # not 1677
    expected = rmssd_ms(correct_rr(np.asarray(rr)).rr_ms)
    assert obs.rmssd_ms == pytest.approx(expected, abs=0.01)
    assert 35 <= obs.rmssd_ms <= 45, "the missed beat was corrected (raw rMSSD would be far higher)"
    assert rmssd_ms(np.asarray(rr)) > 100
    assert obs.rr_corrected_fraction and obs.rr_corrected_fraction > 0
    assert obs.hrv_kind == "morning" and obs.source == "hrv-logger"


def test_a_late_evening_recording_counts_on_its_local_day() -> None:
    late = datetime(2025, 6, 29, 22, 30, tzinfo=UTC)  # 00:30 on the 30th in Oslo
    assert read_recording("x_RRIntervals.csv", rr_csv(late, beats()), tz="Europe/Oslo").observation.day == \
        date(2025, 6, 30)


def test_recording_parts_are_recognised_by_name() -> None:
    assert recording_part("export/Morning 1_RRIntervals.csv") == ("export/Morning 1", "RRIntervals")
    assert recording_part("Morning 1_features.csv") == ("Morning 1", "Features")
    assert recording_part("Morning 1_HR.csv") == ("Morning 1", "HR")
    assert recording_part("Morning 1_Event.csv") == ("Morning 1", "Event")
    assert recording_part("MyMeasurements.csv") is None


def test_a_features_file_alone_is_not_taken_for_another_app() -> None:
    with pytest.raises(UnsupportedFormatError, match="read together"):
        read_daily_source("rec_Features.csv", features_csv(START), tz="UTC")
    with pytest.raises(UnsupportedFormatError, match="read together"):
        read_daily_source("rec_HR.csv", hr_csv(START), tz="UTC")
    imp = read_daily_source("rec_RRIntervals.csv", rr_csv(START, beats()), tz="UTC")
    assert [o.day for o in imp.observations] == [date(2025, 6, 29)]
