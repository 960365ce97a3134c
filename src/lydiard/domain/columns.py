"""Column names of sample streams and daily frames, with units in the names."""

from __future__ import annotations

from enum import StrEnum


class Col(StrEnum):
    """Per-sample columns of :attr:`lydiard.domain.activity.Activity.records`."""

    TIME = "time"  #: tz-aware UTC timestamp of the sample
    HR_BPM = "hr_bpm"
    POWER_W = "power_w"
    SPEED_MPS = "speed_mps"
    CADENCE_RPM = "cadence_rpm"
    DISTANCE_M = "distance_m"
    ALTITUDE_M = "altitude_m"
    LAT_DEG = "lat_deg"
    LON_DEG = "lon_deg"
    TEMPERATURE_C = "temperature_c"


#: The numeric sample columns, in canonical order (``time`` excluded).
SAMPLE_COLUMNS: tuple[str, ...] = tuple(c.value for c in Col if c is not Col.TIME)


class LapCol(StrEnum):
    """Columns of :attr:`lydiard.domain.activity.Activity.laps`."""

    STARTED_AT = "started_at"
    DURATION_S = "duration_s"
    DISTANCE_M = "distance_m"
    AVG_HR_BPM = "avg_hr_bpm"
    MAX_HR_BPM = "max_hr_bpm"
    AVG_POWER_W = "avg_power_w"


LAP_COLUMNS: tuple[str, ...] = tuple(c.value for c in LapCol)
