"""Recognise a daily-data file or folder and dispatch to its reader.

Files (:func:`read_daily_source`), tried in this order:

1. XML whose root is ``<HealthData>``: Apple Health ``export.xml``;
2. JSON lists: Fitbit ``sleep`` (``dateOfSleep``), ``resting_heart_rate`` (``value.value``),
   ``exercise`` (``activityName``);
3. CSV by header: HRV4Training / Elite HRV daily measures, PMSys ``wellness`` / ``srpe`` /
   ``injury``, Fitbit ``sleep_score.csv``, the generic daily CSV (a ``day``/``date`` column and
   Lydiard field names), a session-RPE log (date + duration + RPE);
4. RR-interval recordings (numbers one per line or comma separated, or an RR header).

Anything else raises :class:`UnsupportedFormatError`.

Folders (:func:`read_daily_folder`): a PMData participant folder (``pmsys/`` and/or
``fitbit/``), a Fitbit account export (``sleep*.json``, ``resting_heart_rate*.json``...), a
PMSys folder, or an Apple Health export folder (``export.xml``).
"""

from __future__ import annotations

import json
from pathlib import Path

from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.errors import EmptyFileError, IngestError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    csv_rows,
    decode_text,
    header_key,
    merge_observations,
    zone,
)
from lydiard.ingest.daily.apple_health import read_apple_health
from lydiard.ingest.daily.fitbit import (
    is_fitbit_folder,
    read_fitbit_exercise,
    read_fitbit_folder,
    read_fitbit_resting_hr,
    read_fitbit_sleep,
    read_fitbit_sleep_score,
)
from lydiard.ingest.daily.generic_csv import CSV_FIELDS, read_daily_csv
from lydiard.ingest.daily.hrv_logger import (
    as_import,
    is_features_header,
    read_recording,
    recording_part,
)
from lydiard.ingest.daily.hrvapps import (
    is_elite_hrv,
    is_hrv4training,
    read_elite_hrv,
    read_hrv4training,
)
from lydiard.ingest.daily.pmsys import (
    INJURY_COLUMNS,
    SRPE_COLUMNS,
    WELLNESS_COLUMNS,
    is_pmsys_folder,
    read_pmsys_folder,
    read_pmsys_injury,
    read_pmsys_srpe,
    read_pmsys_wellness,
)
from lydiard.ingest.daily.rr import parse_rr, read_rr
from lydiard.ingest.daily.srpe_log import is_srpe_log, read_srpe_log

#: An RR recording with more corrected beats than this gets a warning (Kubios: > 5 %
#: corrected makes the reading questionable).
RR_CORRECTED_WARN_FRACTION = 0.05
_SNIFF_BYTES = 64 * 1024


def read_daily_source(name: str, data: bytes, *, tz: str) -> DailyImport:
    """Recognise the format of one daily-data file and read it."""
    zone(tz)
    if not data.strip():
        raise EmptyFileError(name, "the file is empty")
    head = data[:_SNIFF_BYTES].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"<"):
        if b"<HealthData" in head:
            return read_apple_health(data, tz=tz, name=name)
        raise UnsupportedFormatError(name, "XML but not an Apple Health export (<HealthData>)")
    if head.startswith((b"[", b"{")):
        return _read_json(name, data, tz=tz)
    return _read_text(name, data, tz=tz)


def _read_json(name: str, data: bytes, *, tz: str) -> DailyImport:
    try:
        value = json.loads(decode_text(data, source=name))
    except json.JSONDecodeError as exc:
        raise UnsupportedFormatError(name, f"not valid JSON: {exc.msg}") from exc
    first = value[0] if isinstance(value, list) and value and isinstance(value[0], dict) else None
    if first is None:
        raise UnsupportedFormatError(name, "JSON that is not a Fitbit export (a list of logs)")
    if "dateOfSleep" in first:
        return read_fitbit_sleep(name, data, tz=tz)
    if "activityName" in first:
        return read_fitbit_exercise(name, data, tz=tz)
    if isinstance(first.get("value"), dict) and "value" in first["value"]:
        if "resting_heart_rate" in name.lower() or "restingheartrate" in name.lower():
            return read_fitbit_resting_hr(name, data, tz=tz)
        raise UnsupportedFormatError(
            name, "a Fitbit daily-value export other than resting_heart_rate")
    raise UnsupportedFormatError(name, "JSON that is not a Fitbit sleep/exercise/resting HR log")


def _read_text(name: str, data: bytes, *, tz: str) -> DailyImport:
    text = decode_text(data, source=name)
    first_line = text.lstrip().splitlines()[0]
    if not any(ch.isalpha() for ch in first_line):
        return _read_rr(name, data, tz=tz)  # bare numbers: an RR recording
    delimiter = ";" if first_line.count(";") > first_line.count(",") else (
        "\t" if "\t" in first_line else ",")
    header = csv_rows(first_line, source=name, delimiter=delimiter)[0][1]
    keys = [header_key(h) for h in header]
    key_set = set(keys)
    part = recording_part(name)
    if is_features_header(keys) or (part is not None and part[1] != "RRIntervals"):
        raise UnsupportedFormatError(
            name, "a file of an HRV Logger recording: it is read together with the recording's "
            "_RRIntervals.csv (rMSSD is computed from the beats)")
    if part is not None:
        return as_import(read_recording(name, data, tz=tz), name=name)
    if is_hrv4training(keys):
        return read_hrv4training(name, data, tz=tz)
    if is_elite_hrv(keys):
        return read_elite_hrv(name, data, tz=tz)
    if set(WELLNESS_COLUMNS) <= key_set:
        return read_pmsys_wellness(name, data, tz=tz)
    if set(SRPE_COLUMNS) <= key_set:
        return read_pmsys_srpe(name, data, tz=tz)
    if set(INJURY_COLUMNS) <= key_set:
        return read_pmsys_injury(name, data, tz=tz)
    if {"timestamp", "sleep_log_entry_id", "overall_score"} <= key_set:
        return read_fitbit_sleep_score(name, data, tz=tz)
    has_day = bool(key_set & {"day", "date"})
    daily_fields = key_set & (set(CSV_FIELDS) - {"day", "note"})
    if has_day and daily_fields:
        return read_daily_csv(name, data)
    if is_srpe_log(header):
        return read_srpe_log(name, data, tz=tz)
    try:
        parse_rr(name, data)
    except IngestError:
        pass
    else:
        return _read_rr(name, data, tz=tz)
    raise UnsupportedFormatError(
        name, "not a recognised daily-data format (HRV app export, PMSys, Fitbit, daily CSV, "
        f"session-RPE log or RR intervals); header: {first_line[:80]!r}")


def _read_rr(name: str, data: bytes, *, tz: str) -> DailyImport:
    observation: DailyObservation = read_rr(name, data, tz=tz)
    warnings: tuple[str, ...] = ()
    fraction = observation.rr_corrected_fraction or 0.0
    if fraction > RR_CORRECTED_WARN_FRACTION:
        warnings = (f"{name}: {fraction:.0%} of beats corrected; the reading may be unreliable",)
    return DailyImport(observations=(observation,), warnings=warnings)


def _apple_export(path: Path) -> Path | None:
    for candidate in (path / "export.xml", path / "apple_health_export" / "export.xml"):
        if candidate.is_file():
            return candidate
    return None


def read_daily_folder(path: Path, *, tz: str) -> DailyImport:
    """Read a PMData participant folder, a Fitbit export, a PMSys folder or an Apple export."""
    zone(tz)
    if not path.is_dir():
        raise UnsupportedFormatError(str(path), "not a folder")
    parts: list[DailyImport] = []
    if is_pmsys_folder(path):
        parts.append(read_pmsys_folder(path, tz=tz))
    if is_fitbit_folder(path):
        parts.append(read_fitbit_folder(path, tz=tz))
    apple = _apple_export(path)
    if apple is not None:
        parts.append(read_apple_health(apple, tz=tz))
    if not parts:
        raise UnsupportedFormatError(
            str(path), "not a PMData participant, Fitbit export, PMSys or Apple Health folder")
    observations = [o for part in parts for o in part.observations]
    sessions = sorted(
        (s for part in parts for s in part.sessions),
        key=lambda s: (s.day, s.started_at.timestamp() if s.started_at else 0.0),
    )
    return DailyImport(
        observations=merge_observations(observations),
        sessions=tuple(sessions),
        warnings=tuple(w for part in parts for w in part.warnings),
    )
