"""Daily-measure exports of HRV apps: HRV4Training and Elite HRV.

The app's own rMSSD is used (we have no RR intervals to correct). Mappings:

**HRV4Training** (``MyMeasurements*.csv``; iOS ``timestamp_measurement,...`` 2017, iOS
``date,timestamp_measurement,...`` 2018 with old-Mac ``\\r`` line ends and ``-`` for empty,
Android ``date, time, ...`` with dates written ``YYYY-DD-MM``):

====================  =========================  ===========================================
column                field                      conversion
====================  =========================  ===========================================
rMSSD                 rmssd_ms                   as is (ms); 0 = no measurement
HR                    rhr_bpm                    mean HR of the morning reading; 0 = none
(always)              hrv_kind                   "morning" (HRV4Training is a morning test)
sleep_quality         sleep_quality              0-10 -> 1-5: 1 + 4·x/10
sleep_time            sleep_h                    ``hh:mm`` -> hours; ``00:00`` = not entered
fatigue               energy                     0-10 -> 1-5 (falls back to mental_energy)
muscle_soreness       soreness                   0-10 -> 1-5
trainingMotivation    motivation                 0-10 -> 1-5
physical_condition    readiness                  0-10, as is
sickness              illness                    "sick" -> True, "not sick" -> False
traveling             travel                     "traveling" -> True, "not traveling" -> False
HRV4T_Recovery_Points (not used)                 a transform of ln rMSSD, not a separate signal
====================  =========================  ===========================================

HRV4Training's sliders are taken as 0-10 with 10 = best for every item (the app averages
them into one subjective score); the exports do not state the direction, so this is an
assumption. The day is the app's ``date`` column (the day the app filed the reading under);
the 2017 iOS export has only ``timestamp_measurement`` (UTC), turned into the local day in
``tz``.

**Elite HRV** (``Member,Date,Datetime,Type,HRV,lnRmssd,Rmssd,...``):

==========  ============  ========================================================
column      field         conversion
==========  ============  ========================================================
Rmssd       rmssd_ms      as is (ms)
HR          rhr_bpm       mean HR of the reading
Score       readiness     Elite HRV's 1-10 morning readiness score, as is (0-10)
Type        hrv_kind      "readiness" -> "morning"; other reading types are skipped
Date        day           as is (the app's local day)
HRV         (not used)    Elite's "HRV score" = a 0-100 rescaling of ln rMSSD
==========  ============  ========================================================
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from lydiard.domain.daily import DailyImport, DailyObservation
from lydiard.errors import InvalidInputError, UnsupportedFormatError
from lydiard.ingest.daily._common import (
    FIELD_RANGES,
    app10_to_5,
    cell,
    csv_rows,
    decode_text,
    header_key,
    local_day,
    merge_observations,
    number,
    parse_datetime,
    parse_day,
    zone,
)

_HHMM_RE = re.compile(r"^(\d{1,2}):(\d{2})$")
_YMD_RE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})")


def is_hrv4training(header_keys: Sequence[str]) -> bool:
    """Whether normalised header keys are an HRV4Training export's."""
    keys = set(header_keys)
    return "hrv4t_recovery_points" in keys or {"rmssd", "avnn", "pnn50"} <= keys


def is_elite_hrv(header_keys: Sequence[str]) -> bool:
    """Whether normalised header keys are an Elite HRV export's."""
    keys = set(header_keys)
    return {"lnrmssd", "rmssd"} <= keys and ("member" in keys or "indication" in keys)


def read_hrv_app_export(name: str, data: bytes, *, tz: str) -> DailyImport:
    """Read an HRV4Training or Elite HRV export, whichever it is."""
    text = decode_text(data, source=name)
    rows = csv_rows(text, source=name)
    keys = [header_key(h) for h in rows[0][1]]
    if is_hrv4training(keys):
        return _hrv4training(name, rows, tz=tz)
    if is_elite_hrv(keys):
        return _elite_hrv(name, rows, tz=tz)
    raise UnsupportedFormatError(name, "not an HRV4Training or Elite HRV export")


def read_hrv4training(name: str, data: bytes, *, tz: str) -> DailyImport:
    """Read an HRV4Training ``MyMeasurements`` export."""
    rows = csv_rows(decode_text(data, source=name), source=name)
    if not is_hrv4training([header_key(h) for h in rows[0][1]]):
        raise UnsupportedFormatError(name, "not an HRV4Training export (no rMSSD/AVNN/pNN50)")
    return _hrv4training(name, rows, tz=tz)


def read_elite_hrv(name: str, data: bytes, *, tz: str) -> DailyImport:
    """Read an Elite HRV readings export."""
    rows = csv_rows(decode_text(data, source=name), source=name)
    if not is_elite_hrv([header_key(h) for h in rows[0][1]]):
        raise UnsupportedFormatError(name, "not an Elite HRV export (no lnRmssd/Rmssd)")
    return _elite_hrv(name, rows, tz=tz)


class _Columns:
    """Column lookup by normalised header key."""

    def __init__(self, header: Sequence[str]) -> None:
        self.index = {header_key(h): i for i, h in enumerate(header)}

    def get(self, row: Sequence[str], key: str) -> str | None:
        return cell(row, self.index.get(key))


def _plausible(field: str, value: float | None, *, line: int, name: str,
               warnings: list[str]) -> float | None:
    if value is None:
        return None
    low, high = FIELD_RANGES[field]
    if low <= value <= high:
        return value
    warnings.append(f"{name}: line {line}: {field} {value:g} outside {low:g}-{high:g}, ignored")
    return None


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def _day_order(raw_days: Sequence[str]) -> str:
    """``"ymd"`` or ``"ydm"``: HRV4Training for Android writes ``YYYY-DD-MM``."""
    parts = [tuple(int(x) for x in m.groups()) for m in map(_YMD_RE.match, raw_days) if m]
    if any(p[1] > 12 for p in parts):
        return "ydm"
    if any(p[2] > 12 for p in parts):
        return "ymd"
    as_ymd = [(y, a, b) for y, a, b in parts]
    as_ydm = [(y, b, a) for y, a, b in parts]
    if as_ydm == sorted(as_ydm) and as_ymd != sorted(as_ymd):
        return "ydm"
    return "ymd"


def _hrv4training(name: str, rows: list[tuple[int, list[str]]], *, tz: str) -> DailyImport:
    zone_info = zone(tz)
    cols = _Columns(rows[0][1])
    warnings: list[str] = []
    observations: list[DailyObservation] = []
    has_date = "date" in cols.index
    order = _day_order([cols.get(r, "date") or "" for _, r in rows[1:]]) if has_date else "ymd"
    skipped = 0
    for line, row in rows[1:]:

        def num(key: str, line: int = line, row: list[str] = row) -> float | None:
            return number(cols.get(row, key), source=name, line=line, column=key)

        if has_date:
            raw = cols.get(row, "date") or ""
            match = _YMD_RE.match(raw)
            if match is None:
                raise InvalidInputError(f"{name}: line {line}: unreadable date {raw!r}",
                                        field="date", source=name, line=line)
            year, first, second = (int(x) for x in match.groups())
            month, dom = (second, first) if order == "ydm" else (first, second)
            day = parse_day(f"{year:04d}-{month:02d}-{dom:02d}")
        else:
            moment = parse_datetime(cols.get(row, "timestamp_measurement") or "")
            day = local_day(moment, tz=zone_info) if moment is not None else None
        if day is None:
            raise InvalidInputError(f"{name}: line {line}: no readable date", field="date",
                                    source=name, line=line)

        def scaled(key: str, line: int = line) -> float | None:
            value = num(key)
            if value is None:
                return None
            if not 0 <= value <= 10:
                warnings.append(f"{name}: line {line}: {key} {value:g} outside 0-10, ignored")
                return None
            return round(app10_to_5(value), 3)

        rmssd = _plausible("rmssd_ms", _positive(num("rmssd")), line=line, name=name,
                           warnings=warnings)
        rhr = _plausible("rhr_bpm", _positive(num("hr")), line=line, name=name,
                         warnings=warnings)
        energy = scaled("fatigue")
        if energy is None:
            energy = scaled("mental_energy")
        readiness = num("physical_condition")
        readiness = _plausible("readiness", readiness, line=line, name=name, warnings=warnings)
        sleep_h = _hours(cols.get(row, "sleep_time"))
        sick = _flag(cols.get(row, "sickness"), yes="sick")
        travel = _flag(cols.get(row, "traveling"), yes="traveling")
        observation = DailyObservation(
            day=day,
            source="hrv4training",
            rmssd_ms=round(rmssd, 2) if rmssd is not None else None,
            hrv_kind="morning" if rmssd is not None else None,
            rhr_bpm=round(rhr, 1) if rhr is not None else None,
            sleep_quality=scaled("sleep_quality"),
            sleep_h=_plausible("sleep_h", sleep_h, line=line, name=name, warnings=warnings),
            energy=energy,
            soreness=scaled("muscle_soreness"),
            motivation=scaled("trainingmotivation"),
            readiness=readiness,
        )
        if observation == DailyObservation(day=day, source="hrv4training"):
            skipped += 1  # a day the app lists without a reading or a check-in
            continue
        observations.append(replace(observation, illness=sick, travel=travel))
    if skipped:
        warnings.append(f"{name}: {skipped} rows without a measurement skipped")
    return DailyImport(observations=merge_observations(observations), warnings=tuple(warnings))


def _elite_hrv(name: str, rows: list[tuple[int, list[str]]], *, tz: str) -> DailyImport:
    zone_info = zone(tz)
    cols = _Columns(rows[0][1])
    warnings: list[str] = []
    observations: list[DailyObservation] = []
    other_types: dict[str, int] = {}
    for line, row in rows[1:]:
        kind = (cols.get(row, "type") or "readiness").lower()
        if kind not in ("readiness", "morning_readiness", "morning readiness"):
            other_types[kind] = other_types.get(kind, 0) + 1
            continue
        day = parse_day(cols.get(row, "date") or "")
        if day is None:
            moment = parse_datetime(cols.get(row, "datetime") or "")
            day = local_day(moment, tz=zone_info) if moment is not None else None
        if day is None:
            raise InvalidInputError(f"{name}: line {line}: no readable Date", field="Date",
                                    source=name, line=line)

        def num(key: str, line: int = line, row: list[str] = row) -> float | None:
            return number(cols.get(row, key), source=name, line=line, column=key)

        rmssd = _plausible("rmssd_ms", _positive(num("rmssd")), line=line, name=name,
                           warnings=warnings)
        if rmssd is None:
            continue
        rhr = _plausible("rhr_bpm", _positive(num("hr")), line=line, name=name,
                         warnings=warnings)
        readiness = _plausible("readiness", num("score"), line=line, name=name,
                               warnings=warnings)
        observations.append(DailyObservation(
            day=day, source="elite-hrv", rmssd_ms=round(rmssd, 2), hrv_kind="morning",
            rhr_bpm=round(rhr, 1) if rhr is not None else None, readiness=readiness,
        ))
    for kind, count in sorted(other_types.items()):
        warnings.append(f"{name}: {count} {kind!r} readings skipped (not morning readiness)")
    return DailyImport(observations=merge_observations(observations), warnings=tuple(warnings))


def _hours(text: str | None) -> float | None:
    """``hh:mm`` -> hours; ``00:00`` (the app's "not entered") -> None."""
    if text is None:
        return None
    match = _HHMM_RE.match(text)
    if match is None:
        return None
    hours = int(match.group(1)) + int(match.group(2)) / 60.0
    return round(hours, 3) if hours > 0 else None


def _flag(text: str | None, *, yes: str) -> bool | None:
    if text is None:
        return None
    value = text.strip().lower()
    if value == yes:
        return True
    if value == f"not {yes}":
        return False
    return None
