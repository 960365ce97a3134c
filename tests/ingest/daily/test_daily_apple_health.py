"""Apple Health export.xml, streamed."""

from __future__ import annotations

import io
import tracemalloc
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from lydiard.errors import (
    CorruptFileError,
    TruncatedFileError,
    UnsafeInputError,
    UnsupportedFormatError,
)
from lydiard.ingest.daily.apple_health import read_apple_health

TZ = "Europe/Oslo"
HEADER = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE HealthData [
<!ELEMENT HealthData (ExportDate,Me,(Record|Correlation|Workout|ActivitySummary)*)>
<!ATTLIST HealthData locale CDATA #REQUIRED>
<!ELEMENT ExportDate EMPTY>
<!ATTLIST ExportDate value CDATA #REQUIRED>
<!ELEMENT Record ((MetadataEntry|HeartRateVariabilityMetadataList)*)>
<!ATTLIST Record type CDATA #REQUIRED value CDATA #IMPLIED>
]>
<HealthData locale="en_GB">
 <ExportDate value="2020-03-01 10:00:00 +0100"/>
 <Me HKCharacteristicTypeIdentifierBiologicalSex="HKBiologicalSexFemale"/>
"""
FOOTER = "</HealthData>\n"


def record(kind: str, start: str, end: str, value: str, unit: str = "count/min",
           inner: str = "") -> str:
    attrs = (f'type="{kind}" sourceName="Apple Watch" unit="{unit}" '
             f'creationDate="{end}" startDate="{start}" endDate="{end}" value="{value}"')
    if inner:
        return f" <Record {attrs}>\n{inner} </Record>\n"
    return f" <Record {attrs}/>\n"


def sleep(start: str, end: str, value: str = "HKCategoryValueSleepAnalysisAsleepCore",
          source: str = "Apple Watch") -> str:
    return (f' <Record type="HKCategoryTypeIdentifierSleepAnalysis" sourceName="{source}" '
            f'startDate="{start}" endDate="{end}" value="{value}"/>\n')


def export(body: str) -> bytes:
    return (HEADER + body + FOOTER).encode()


def sample_export() -> bytes:
    rhr = "HKQuantityTypeIdentifierRestingHeartRate"
    sdnn = "HKQuantityTypeIdentifierHeartRateVariabilitySDNN"
    hrv_inner = ('  <HeartRateVariabilityMetadataList>\n'
                 '   <InstantaneousBeatsPerMinute bpm="60" time="7:01:02,50 AM"/>\n'
                 '  </HeartRateVariabilityMetadataList>\n')
    body = "".join([
        record(rhr, "2020-02-10 00:05:00 +0100", "2020-02-10 23:55:00 +0100", "50"),
        record(rhr, "2020-02-10 12:00:00 +0100", "2020-02-10 23:55:00 +0100", "54"),
        # 23:30 UTC on the 10th is the 11th in Oslo
        record(rhr, "2020-02-10 23:30:00 +0000", "2020-02-10 23:55:00 +0000", "60"),
        record(sdnn, "2020-02-10 07:00:00 +0100", "2020-02-10 07:01:00 +0100", "45", "ms",
               hrv_inner),
        # night of 10->11 Feb: in bed (ignored), asleep 23:00-03:00 and 03:30-06:30 (watch),
        # overlapping phone record 05:00-06:30 (counted once), awake ignored
        sleep("2020-02-10 22:30:00 +0100", "2020-02-11 07:00:00 +0100",
              "HKCategoryValueSleepAnalysisInBed"),
        sleep("2020-02-10 23:00:00 +0100", "2020-02-11 03:00:00 +0100"),
        sleep("2020-02-11 03:00:00 +0100", "2020-02-11 03:30:00 +0100",
              "HKCategoryValueSleepAnalysisAwake"),
        sleep("2020-02-11 03:30:00 +0100", "2020-02-11 06:30:00 +0100",
              "HKCategoryValueSleepAnalysisAsleepREM"),
        sleep("2020-02-11 05:00:00 +0100", "2020-02-11 06:30:00 +0100",
              "HKCategoryValueSleepAnalysisAsleep", source="iPhone"),
        # a nap the same afternoon: not added to the main sleep
        sleep("2020-02-11 14:00:00 +0100", "2020-02-11 14:30:00 +0100"),
        ' <Workout workoutActivityType="HKWorkoutActivityTypeRunning" duration="30.5" '
        'durationUnit="min" totalDistance="6.1" totalDistanceUnit="km" sourceName="Watch" '
        'startDate="2020-02-11 17:00:00 +0100" endDate="2020-02-11 17:31:00 +0100">\n'
        '  <MetadataEntry key="HKIndoorWorkout" value="0"/>\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierHeartRate" '
        'startDate="2020-02-11 17:00:00 +0100" endDate="2020-02-11 17:31:00 +0100" '
        'average="151.4" minimum="100" maximum="175" unit="count/min"/>\n'
        ' </Workout>\n',
        ' <Workout workoutActivityType="HKWorkoutActivityTypeCycling" duration="3600" '
        'durationUnit="s" sourceName="Watch" '
        'startDate="2020-02-12 06:00:00 +0100" endDate="2020-02-12 07:00:00 +0100">\n'
        '  <WorkoutStatistics type="HKQuantityTypeIdentifierDistanceCycling" '
        'sum="20" unit="mi"/>\n'
        ' </Workout>\n',
        ' <ActivitySummary dateComponents="2020-02-11" activeEnergyBurned="400"/>\n',
    ])
    return export(body)


@pytest.mark.parametrize("as_path", [False, True])
def test_sample_export(tmp_path: Path, as_path: bool) -> None:
    data = sample_export()
    if as_path:
        path = tmp_path / "export.xml"
        path.write_bytes(data)
        result = read_apple_health(path, tz=TZ)
    else:
        result = read_apple_health(data, tz=TZ, name="export.xml")
    by_day = {o.day: o for o in result.observations}
    assert by_day[date(2020, 2, 10)].rhr_bpm == 52.0
    assert by_day[date(2020, 2, 11)].rhr_bpm == 60.0
    assert by_day[date(2020, 2, 11)].sleep_h == pytest.approx(7.0)  # 4 h + 3 h, once
    assert all(o.rmssd_ms is None for o in result.observations)
    assert any("SDNN" in w and "1 HRV records" in w for w in result.warnings)

    run, ride = result.sessions
    assert run.sport == "run" and run.name == "Running"
    assert run.duration_s == 1830 and run.distance_m == 6100 and run.avg_hr_bpm == 151.4
    assert run.started_at == datetime(2020, 2, 11, 16, 0, tzinfo=UTC)
    assert run.day == date(2020, 2, 11)
    assert ride.sport == "ride" and ride.duration_s == 3600
    assert ride.distance_m == pytest.approx(32186.9, abs=0.1)


def test_file_object_input() -> None:
    result = read_apple_health(io.BytesIO(sample_export()), tz=TZ)
    assert len(result.sessions) == 2


def test_entities_are_refused() -> None:
    bomb = (b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n<!ENTITY a "aaaaaaaaaa">\n'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">\n]>\n'
            b'<HealthData><ExportDate value="&b;"/></HealthData>\n')
    with pytest.raises(UnsafeInputError):
        read_apple_health(bomb, tz=TZ, name="export.xml")
    external = (b'<?xml version="1.0"?>\n<!DOCTYPE HealthData [\n'
                b'<!ENTITY x SYSTEM "file:///etc/passwd">\n]>\n'
                b'<HealthData><ExportDate value="&x;"/></HealthData>\n')
    with pytest.raises(UnsafeInputError):
        read_apple_health(external, tz=TZ, name="export.xml")


def test_broken_files() -> None:
    with pytest.raises(UnsupportedFormatError):
        read_apple_health(b"<gpx><trk/></gpx>", tz=TZ, name="x.xml")
    with pytest.raises(UnsupportedFormatError):
        read_apple_health(b"not xml at all", tz=TZ, name="x.xml")
    data = sample_export()
    with pytest.raises(TruncatedFileError):
        read_apple_health(data[: len(data) // 2], tz=TZ, name="export.xml")
    with pytest.raises(CorruptFileError):
        read_apple_health(data.replace(b"<Workout ", b"<Workout <", 1), tz=TZ, name="e.xml")


def test_large_export_is_streamed(tmp_path: Path) -> None:
    """A large export is never held whole: peak Python memory stays far below the file size."""
    path = tmp_path / "export.xml"
    block = "".join(
        record("HKQuantityTypeIdentifierHeartRate", f"2020-01-{1 + i % 28:02d} 10:00:00 +0100",
               f"2020-01-{1 + i % 28:02d} 10:00:05 +0100", str(60 + i % 40))
        for i in range(1000)
    ) + record("HKQuantityTypeIdentifierRestingHeartRate", "2020-01-05 08:00:00 +0100",
               "2020-01-05 08:00:00 +0100", "48")
    with path.open("w") as out:
        out.write(HEADER)
        for _ in range(24):  # ~24k records, ~5 MB (a DOM of it would take ~50 MB)
            out.write(block)
        out.write(FOOTER)
    size = path.stat().st_size
    assert size > 5_000_000
    tracemalloc.start()
    try:
        result = read_apple_health(path, tz=TZ)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.observations[0].rhr_bpm == 48.0
    assert peak < 1_000_000, f"peak {peak} bytes for a {size}-byte file"
