"""TCX reader: generated documents, safety, and the shared corpus."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from workout_builders import T0, Point, line, tcx

from lydiard.domain.columns import SAMPLE_COLUMNS, Col, LapCol
from lydiard.errors import (
    CorruptFileError,
    EmptyFileError,
    LydiardError,
    TruncatedFileError,
    UnsafeInputError,
)
from lydiard.ingest._common import normalise_sport
from lydiard.ingest.tcx import read_tcx

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&lol4;</Id>
</Activity></Activities></TrainingCenterDatabase>"""

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE foo [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<TrainingCenterDatabase><Activities><Activity Sport="Running"><Id>&xxe;</Id>
</Activity></Activities></TrainingCenterDatabase>"""


def test_reads_trackpoints_laps_and_extensions() -> None:
    lap1 = line(5, hr_bpm=130, cad_rpm=88, speed_mps=6.5, power_w=200)
    lap2 = [Point(t_s=5 + i, lat_deg=46.001 + i * 1e-4, dist_m=50.0 + i, hr_bpm=150,
                  cad_rpm=90, speed_mps=7.0, power_w=250) for i in range(5)]
    activity = read_tcx(tcx([lap1, lap2], sport="Biking", device="Edge 530"), source="a.tcx")

    records = activity.records
    assert list(records.columns) == [Col.TIME.value, *SAMPLE_COLUMNS]
    assert str(records[Col.TIME.value].dtype) == "datetime64[ns, UTC]"
    assert len(records) == 10
    assert records[Col.TIME.value].iloc[0] == pd.Timestamp(T0)
    np.testing.assert_allclose(records[Col.HR_BPM.value], [130] * 5 + [150] * 5)
    np.testing.assert_allclose(records[Col.POWER_W.value], [200] * 5 + [250] * 5)
    np.testing.assert_allclose(records[Col.SPEED_MPS.value], [6.5] * 5 + [7.0] * 5)
    np.testing.assert_allclose(records[Col.CADENCE_RPM.value], [88] * 5 + [90] * 5)
    np.testing.assert_allclose(records[Col.ALTITUDE_M.value], 500.0)
    assert records[Col.LAT_DEG.value].iloc[1] == pytest.approx(46.0001)
    assert records[Col.TEMPERATURE_C.value].isna().all()

    laps = activity.laps
    assert len(laps) == 2
    assert laps[LapCol.DURATION_S.value].tolist() == [4.0, 4.0]
    assert laps[LapCol.AVG_HR_BPM.value].tolist() == [130.0, 150.0]
    assert laps[LapCol.AVG_POWER_W.value].tolist() == [200.0, 250.0]

    summary = activity.summary
    assert summary.sport == "ride"
    assert summary.device == "Edge 530"
    assert summary.started_at == T0
    assert summary.duration_s == 9.0
    assert summary.moving_time_s == 8.0  # lap timer totals
    assert summary.avg_hr_bpm == pytest.approx(140.0)
    assert summary.max_hr_bpm == 150.0
    assert summary.avg_power_w == pytest.approx(225.0)
    assert activity.source_format == "tcx"


def test_trackpoints_without_channels_give_nan() -> None:
    points = [Point(t_s=i, lat_deg=None, lon_deg=None, alt_m=None, hr_bpm=None, cad_rpm=None)
              for i in range(3)]
    activity = read_tcx(tcx([points], sport="Running"), source="indoor.tcx")
    assert len(activity.records) == 3
    assert activity.records[list(SAMPLE_COLUMNS)].isna().all().all()
    assert activity.summary.avg_hr_bpm is None
    assert activity.summary.sport == "run"


def test_leading_whitespace_and_bom_are_tolerated() -> None:
    body = tcx([line(3)])
    for data in (b"\n\r\n  " + body, b"\xef\xbb\xbf" + body, b"\xef\xbb\xbf\n " + body):
        assert len(read_tcx(data, source="ws.tcx").records) == 3


def test_course_trackpoints_are_not_recordings() -> None:
    data = tcx([line(4)], courses=[line(50, dt_s=10)])
    activity = read_tcx(data, source="with-course.tcx")
    assert len(activity.records) == 4
    assert len(activity.laps) == 1


@pytest.mark.parametrize(("document", "what"), [(BILLION_LAUGHS, "billion laughs"), (XXE, "xxe")])
def test_entity_attacks_are_refused(document: bytes, what: str) -> None:
    with pytest.raises(UnsafeInputError, match="DTD") as info:
        read_tcx(document, source=f"{what}.tcx")
    assert info.value.source == f"{what}.tcx"


def test_utf16_doctype_is_refused() -> None:
    with pytest.raises(UnsafeInputError):
        read_tcx(XXE.decode().replace('version="1.0"', 'version="1.0" encoding="UTF-16"')
                 .encode("utf-16"), source="u16.tcx")


def test_malformed_and_truncated_xml() -> None:
    data = tcx([line(20)])
    with pytest.raises(TruncatedFileError):
        read_tcx(data[: len(data) // 2], source="cut.tcx")
    with pytest.raises(CorruptFileError, match="not well-formed") as info:
        read_tcx(data.replace(b"</Lap>", b"</Lapp>"), source="bad.tcx")
    assert info.value.source == "bad.tcx"


def test_no_activity_is_empty() -> None:
    document = (b'<?xml version="1.0"?><TrainingCenterDatabase xmlns="http://www.garmin.com/'
                b'xmlschemas/TrainingCenterDatabase/v2"><Activities/></TrainingCenterDatabase>')
    with pytest.raises(EmptyFileError, match="no track points"):
        read_tcx(document, source="empty.tcx")


@pytest.mark.parametrize(
    ("name", "sport"),
    [("Running", "run"), ("Biking", "ride"), ("Other", "other"), ("VirtualRide", "ride"),
     ("TrailRun", "run"), ("Swim", "swim"), ("NordicSki", "ski"), ("WeightTraining", "strength"),
     ("Rowing", "row"), ("Hike", "hike"), ("Walk", "walk"), ("road_biking", "ride"),
     ("9", "run"), ("1", "ride"), (None, "other"), ("", "other"), ("Yoga", "other")],
)
def test_sport_names(name: str | None, sport: str) -> None:
    assert normalise_sport(name) == sport


def _corpus_files(corpus_dir: Path, suffix: str) -> list[Path]:
    return sorted(p for p in corpus_dir.rglob("*") if p.suffix.lower() == suffix and p.is_file())


@pytest.mark.corpus
def test_every_corpus_tcx_parses(corpus_dir: Path) -> None:
    files = _corpus_files(corpus_dir, ".tcx")
    assert len(files) == 27
    failures: dict[str, str] = {}
    for path in files:
        try:
            activity = read_tcx(path.read_bytes(), source=str(path))
        except LydiardError as exc:
            failures[path.name] = str(exc)
            continue
        assert len(activity.records) > 0, path
        assert activity.records[Col.TIME.value].notna().all()
        assert activity.summary.started_at.tzinfo is not None
    # all direct TCX files parse, the one with whitespace before <?xml included
    assert failures == {}


@pytest.mark.corpus
def test_polar_whitespace_tcx_parses(corpus_dir: Path) -> None:
    path = corpus_dir / "sports-lib/src/specs/fixtures/runs/tcx/6281425038.tcx"
    data = path.read_bytes()
    assert not data.startswith(b"<?xml")
    activity = read_tcx(data, source=path.name)
    assert activity.summary.sport == "run"
    assert activity.summary.device == "Polar V800"
    assert len(activity.records) > 1000


def test_laps_without_trackpoints() -> None:
    data = tcx([line(3)]).replace(b"<Track>", b"<Track><!--").replace(b"</Track>", b"--></Track>")
    activity = read_tcx(data, source="manual.tcx")
    assert activity.records.empty
    assert len(activity.laps) == 1
    assert activity.summary.started_at == T0
    assert activity.summary.duration_s == 2.0
    assert activity.summary.avg_hr_bpm is None
