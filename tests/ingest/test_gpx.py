"""GPX reader: generated documents, extensions, distances, and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from workout_builders import M_PER_1E4_DEG_LAT, T0, Point, gpx, line

from lydiard.domain.columns import SAMPLE_COLUMNS, Col
from lydiard.errors import CorruptFileError, EmptyFileError, LydiardError, UnsafeInputError
from lydiard.ingest.gpx import read_gpx


def test_reads_points_extensions_and_metadata() -> None:
    points = line(6, hr_bpm=120, cad_rpm=80, power_w=210, temp_c=18.5)
    activity = read_gpx(gpx([points], track_type="cycling", name="Morning Ride"), source="a.gpx")
    records = activity.records
    assert list(records.columns) == [Col.TIME.value, *SAMPLE_COLUMNS]
    assert str(records[Col.TIME.value].dtype) == "datetime64[ns, UTC]"
    assert len(records) == 6
    np.testing.assert_allclose(records[Col.HR_BPM.value], 120)
    np.testing.assert_allclose(records[Col.CADENCE_RPM.value], 80)
    np.testing.assert_allclose(records[Col.POWER_W.value], 210)
    np.testing.assert_allclose(records[Col.TEMPERATURE_C.value], 18.5)
    np.testing.assert_allclose(records[Col.ALTITUDE_M.value], 500.0)
    # 0.0001 degree of latitude per second
    np.testing.assert_allclose(records[Col.DISTANCE_M.value],
                               np.arange(6) * M_PER_1E4_DEG_LAT, rtol=1e-4)
    assert np.isnan(records[Col.SPEED_MPS.value].iloc[0])
    np.testing.assert_allclose(records[Col.SPEED_MPS.value].iloc[1:], M_PER_1E4_DEG_LAT, rtol=1e-4)
    summary = activity.summary
    assert summary.sport == "ride"
    assert summary.name == "Morning Ride"
    assert summary.device == "Lydiard tests"
    assert summary.started_at == T0
    assert summary.duration_s == 5.0
    assert summary.distance_m == pytest.approx(5 * M_PER_1E4_DEG_LAT, rel=1e-4)
    assert summary.avg_hr_bpm == 120.0
    assert activity.laps.empty
    assert activity.source_format == "gpx"


def test_segments_do_not_add_the_gap_distance() -> None:
    first = line(3)
    second = [Point(t_s=100 + i, lat_deg=46.01 + i * 1e-4) for i in range(3)]  # 1 km away
    records = read_gpx(gpx([first, second]), source="two.gpx").records
    distance = records[Col.DISTANCE_M.value].to_numpy()
    assert distance[-1] == pytest.approx(4 * M_PER_1E4_DEG_LAT, rel=1e-4)
    assert np.isnan(records[Col.SPEED_MPS.value].iloc[3])


def test_gps_jump_adds_no_distance() -> None:
    points = line(5)
    points[2] = Point(t_s=2, lat_deg=47.0)  # 110 km away for one second
    activity = read_gpx(gpx([points]), source="jump.gpx")
    assert activity.summary.distance_m is not None
    assert activity.summary.distance_m < 10 * M_PER_1E4_DEG_LAT
    assert (activity.records[Col.SPEED_MPS.value].dropna() < 50).all()


def test_gpx_10_speed_and_strava_type() -> None:
    points = line(4, speed_mps=3.3, hr_bpm=None, cad_rpm=None)
    activity = read_gpx(gpx([points], version="1.0", track_type="9"), source="run.gpx")
    np.testing.assert_allclose(activity.records[Col.SPEED_MPS.value], 3.3)
    assert activity.summary.sport == "run"
    assert activity.records[Col.HR_BPM.value].isna().all()


def test_no_type_is_other_and_bom_unicode_name() -> None:
    data = "\ufeff".encode() + gpx([line(3)], track_type=None, name="Žabljak – Ćuprija")
    activity = read_gpx(data, source="bom.gpx")
    assert activity.summary.sport == "other"
    assert activity.summary.name == "Žabljak – Ćuprija"


def test_latin1_declared_encoding() -> None:
    text = gpx([line(2)], name="Köln", prolog='<?xml version="1.0" encoding="ISO-8859-1"?>')
    data = text.decode("utf-8").encode("latin-1")
    assert read_gpx(data, source="latin1.gpx").summary.name == "Köln"


def test_routes_and_waypoints_are_not_tracks() -> None:
    with pytest.raises(EmptyFileError, match="no track points"):
        read_gpx(gpx([line(5)], routes=True), source="route.gpx")
    with pytest.raises(EmptyFileError, match="no track points"):
        read_gpx(gpx([]), source="waypoints.gpx")


def test_points_without_time() -> None:
    data = gpx([line(3)]).replace(b"<time>", b"<cmt>").replace(b"</time>", b"</cmt>")
    with pytest.raises(EmptyFileError, match="valid time"):
        read_gpx(data, source="notime.gpx")


def test_dtd_and_broken_xml() -> None:
    doctype = b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY e SYSTEM "http://x/">]><gpx/>'
    with pytest.raises(UnsafeInputError):
        read_gpx(doctype, source="xxe.gpx")
    with pytest.raises(CorruptFileError):
        read_gpx(gpx([line(3)]).replace(b"<trkseg>", b"<trkseg", 1), source="bad.gpx")


#: corpus GPX files without any timed track point: routes, waypoints, metadata only
NO_TRACK = {
    "MetadataOnly.gpx", "A_ride_mapped_on_11_22_2011.gpx", "custom_schema_locations.gpx",
    "default_schema_locations.gpx", "gpx1.1_with_extensions.gpx", "route.gpx",
    "gpx1.1_with_extensions_without_namespaces.gpx", "gpx_with_garmin_extension.gpx",
    "track-with-extremes.gpx", "track-with-small-floats.gpx", "track_with_dilution_errors.gpx",
    "unicode.gpx", "unicode2.gpx", "unicode_with_bom.gpx", "unicode_with_bom_noencoding.gpx",
}


@pytest.mark.corpus
def test_every_corpus_gpx_parses_or_is_empty(corpus_dir: Path) -> None:
    files = sorted(p for p in corpus_dir.rglob("*") if p.suffix.lower() == ".gpx")
    assert len(files) == 43
    empty: set[str] = set()
    for path in files:
        try:
            activity = read_gpx(path.read_bytes(), source=str(path))
        except EmptyFileError:
            empty.add(path.name)
            continue
        except LydiardError as exc:  # pragma: no cover - reported by the assertion
            pytest.fail(f"{path}: {exc!r}")
        assert len(activity.records) > 0
        assert activity.records[Col.TIME.value].notna().all()
    # every file is well-formed XML; those without timed track points say so
    assert empty == NO_TRACK


@pytest.mark.corpus
def test_strava_gpx(corpus_dir: Path) -> None:
    path = corpus_dir / "sweatpy/sweat/examples/data/4801048867_strava.gpx"
    activity = read_gpx(path.read_bytes(), source=path.name)
    assert activity.summary.sport == "ride"  # <type>1</type>
    assert activity.summary.name == "Rondje achterhoek"
    assert activity.summary.distance_m == pytest.approx(36_300, rel=0.01)
    assert activity.records[Col.TEMPERATURE_C.value].notna().all()


def test_points_with_impossible_times_are_dropped_with_a_warning() -> None:
    data = gpx([line(4)])
    first_time = data.index(b"<time>2024-05-01T06:30:01")
    data = data[:first_time] + b"<time>3000" + data[first_time + 10:]
    activity = read_gpx(data, source="future.gpx")
    assert len(activity.records) == 3
    assert activity.warnings == ("1 track points without a valid time were dropped",)
