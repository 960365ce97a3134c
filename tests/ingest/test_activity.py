"""read_activity: sniffing, gzip, limits, cleaning, and the same ride in three formats."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from pathlib import Path

import numpy as np
import pytest
from workout_builders import Point, gpx, line, tcx

from lydiard.domain.columns import Col
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    TruncatedFileError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from lydiard.ingest.activity import read_activity, sniff_format

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(50)
#: a FIT file header (14 bytes): size, protocol, profile, data size, ".FIT", CRC
FIT_HEADER = bytes([14, 0x20, 0x08, 0x08, 0, 0, 0, 0]) + b".FIT" + b"\x00\x00"


def test_sniff_format() -> None:
    assert sniff_format(FIT_HEADER) == "fit"
    assert sniff_format(bytes([12, 0x10, 0, 0, 0, 0, 0, 0]) + b".FIT") == "fit"
    assert sniff_format(bytes([13, 0x10, 0, 0, 0, 0, 0, 0]) + b".FIT") is None
    assert sniff_format(tcx([line(2)])) == "tcx"
    assert sniff_format(gpx([line(2)])) == "gpx"
    assert sniff_format(b"\n  " + tcx([line(2)])) == "tcx"
    assert sniff_format(gpx([line(2)]).decode().encode("utf-16")) == "gpx"
    assert sniff_format(b"<?xml version='1.0'?><x:gpx xmlns:x='http://www.topografix.com/GPX/1/1'>"
                        ) == "gpx"
    assert sniff_format(gzip.compress(b"x")) == "gzip"
    assert sniff_format(b"PK\x03\x04rest") == "zip"
    assert sniff_format(PNG) is None
    assert sniff_format(b"<?xml version='1.0'?><kml/>") is None
    assert sniff_format(b"") is None


def test_reads_tcx_and_gpx_bytes_and_paths(tmp_path: Path) -> None:
    data = tcx([line(10, hr_bpm=140)])
    from_bytes = read_activity(data, name="ride.tcx")
    assert from_bytes.source_format == "tcx"
    path = tmp_path / "misnamed.fit"  # the content decides, not the extension
    path.write_bytes(gpx([line(10, hr_bpm=140)]))
    from_path = read_activity(path)
    assert from_path.source_format == "gpx"
    assert len(from_path.records) == len(from_bytes.records) == 10
    assert from_path.summary.avg_hr_bpm == from_bytes.summary.avg_hr_bpm == 140.0


def test_gzip_wrapped_file() -> None:
    activity = read_activity(gzip.compress(gpx([line(5)])), name="a.gpx.gz")
    assert activity.source_format == "gpx"
    assert len(activity.records) == 5


def test_cleaning_is_applied_and_reported() -> None:
    points = line(6, hr_bpm=150, power_w=200)
    points[2] = Point(t_s=2, lat_deg=46.0002, hr_bpm=255, power_w=65535)
    points[4] = Point(t_s=3, lat_deg=46.0003, hr_bpm=150, power_w=200)  # duplicate time
    activity = read_activity(tcx([points]), name="glitchy.tcx")
    counts = activity.cleaning.counts
    assert counts["hr_out_of_range"] == 1
    assert counts["power_out_of_range"] == 1
    assert counts["time_duplicate"] == 1
    assert activity.records[Col.TIME.value].is_unique
    assert activity.records[Col.HR_BPM.value].max() == 150
    assert activity.summary.max_hr_bpm == 150  # recomputed from the cleaned samples
    assert activity.summary.avg_power_w == pytest.approx(200)


def test_zero_bytes(tmp_path: Path) -> None:
    path = tmp_path / "empty.fit"
    path.write_bytes(b"")
    with pytest.raises(EmptyFileError, match="empty") as info:
        read_activity(path)
    assert info.value.source == str(path)
    with pytest.raises(EmptyFileError):
        read_activity(gzip.compress(b""), name="empty.gz")


def test_png_named_fit_is_unsupported(tmp_path: Path) -> None:
    path = tmp_path / "ride.fit"
    path.write_bytes(PNG)
    with pytest.raises(UnsupportedFormatError, match="PNG") as info:
        read_activity(path)
    assert str(path) in str(info.value)
    with pytest.raises(UnsupportedFormatError, match="zip"):
        read_activity(b"PK\x03\x04" + bytes(30), name="x.zip")
    with pytest.raises(UnsupportedFormatError, match="unrecognised"):
        read_activity(b"hello, world", name="hello.txt")


def test_too_large(tmp_path: Path) -> None:
    data = gpx([line(50)])
    path = tmp_path / "big.gpx"
    path.write_bytes(data)
    with pytest.raises(UnsafeInputError, match="larger than 100 bytes"):
        read_activity(path, max_bytes=100)
    with pytest.raises(UnsafeInputError):
        read_activity(data, max_bytes=len(data) - 1)
    assert len(read_activity(data, max_bytes=len(data)).records) == 50


def test_gzip_bomb_is_refused_without_inflating_it() -> None:
    # 200 MB of zeros compresses to under 1 MB (fast level); build it in chunks
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [compressor.compress(chunk) for _ in range(200)]
    bomb = b"".join(parts) + compressor.flush()
    assert len(bomb) < 2_000_000
    tracemalloc.start()
    try:
        with pytest.raises(UnsafeInputError, match="gzip bomb"):
            read_activity(bomb, name="bomb.fit.gz", max_bytes=10 * 1024**2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 40 * 1024**2  # far below the 200 MB the bomb inflates to


def test_damaged_gzip() -> None:
    data = gzip.compress(gpx([line(50)]))
    with pytest.raises(TruncatedFileError):
        read_activity(data[: len(data) // 2], name="cut.gpx.gz")
    damaged = data[:20] + bytes(len(data) - 28) + data[-8:]
    with pytest.raises(CorruptFileError):
        read_activity(damaged, name="damaged.gpx.gz")


def test_missing_file(tmp_path: Path) -> None:
    from lydiard.errors import IngestError

    with pytest.raises(IngestError, match="no such file"):
        read_activity(tmp_path / "nope.fit")


def test_fit_dispatch(tmp_path: Path) -> None:
    pytest.importorskip("lydiard.ingest.fit")
    from lydiard.errors import IngestError

    # a header announcing data that is not there: the FIT reader must refuse it
    with pytest.raises(IngestError):
        read_activity(FIT_HEADER[:8].replace(b"\x00\x00\x00\x00", b"\x10\x00\x00\x00")
                      + FIT_HEADER[8:], name="short.fit")


SWEAT = "sweatpy/sweat/examples/data"


def _span_s(records: object) -> float:
    times = records[Col.TIME.value]  # type: ignore[index]
    return float((times.max() - times.min()).total_seconds())


@pytest.mark.corpus
def test_same_ride_as_fit_tcx_and_gpx(corpus_dir: Path) -> None:
    data = corpus_dir / SWEAT
    rides = {
        "tcx": read_activity(data / "activity_5039744860.tcx"),
        "gpx": read_activity(data / "activity_5039744860.gpx"),
    }
    try:
        import lydiard.ingest.fit  # noqa: F401
    except ImportError:  # pragma: no cover - the FIT reader is written alongside
        pass
    else:
        rides["fit"] = read_activity(data / "2020-06-01-16-52-40.fit")
    spans = {fmt: _span_s(a.records) for fmt, a in rides.items()}
    hrs = {fmt: a.summary.avg_hr_bpm for fmt, a in rides.items()}
    reference_span, reference_hr = spans["tcx"], hrs["tcx"]
    assert reference_hr is not None
    for fmt, activity in rides.items():
        assert activity.summary.sport == "ride", fmt
        assert activity.summary.started_at == rides["tcx"].summary.started_at, fmt
        assert spans[fmt] == pytest.approx(reference_span, rel=0.01), fmt
        assert hrs[fmt] == pytest.approx(reference_hr, abs=1.0), fmt
        assert len(activity.records) == len(rides["tcx"].records), fmt
    # TCX and GPX summaries measure duration the same way
    assert rides["gpx"].summary.duration_s == pytest.approx(rides["tcx"].summary.duration_s,
                                                            rel=0.01)
    hr_tcx = rides["tcx"].records[Col.HR_BPM.value].to_numpy()
    hr_gpx = rides["gpx"].records[Col.HR_BPM.value].to_numpy()
    np.testing.assert_array_equal(hr_tcx, hr_gpx)


@pytest.mark.corpus
def test_same_ride_as_fit_and_strava_gpx(corpus_dir: Path) -> None:
    pytest.importorskip("lydiard.ingest.fit")
    data = corpus_dir / SWEAT
    fit = read_activity(data / "4801048867.fit")
    strava = read_activity(data / "4801048867_strava.gpx")
    assert strava.summary.duration_s == pytest.approx(fit.summary.duration_s, rel=0.01)
    assert _span_s(strava.records) == pytest.approx(_span_s(fit.records), rel=0.01)
    assert fit.summary.avg_hr_bpm is not None and strava.summary.avg_hr_bpm is not None
    assert strava.summary.avg_hr_bpm == pytest.approx(fit.summary.avg_hr_bpm, abs=1.0)
    assert strava.summary.distance_m == pytest.approx(fit.summary.distance_m, rel=0.01)
