"""Daily data: recovery (HRV, resting HR, sleep), wellness check-ins and logged sessions.

Every reader takes the file's name and bytes (Apple Health: a path or stream) and the
athlete's IANA time zone, and returns domain objects from :mod:`lydiard.domain.daily`.
:func:`read_daily_source` and :func:`read_daily_folder` recognise the format.
"""

from __future__ import annotations

from lydiard.ingest.daily.apple_health import read_apple_health
from lydiard.ingest.daily.fitbit import (
    read_fitbit_exercise,
    read_fitbit_folder,
    read_fitbit_resting_hr,
    read_fitbit_sleep,
    read_fitbit_sleep_score,
)
from lydiard.ingest.daily.generic_csv import read_daily_csv
from lydiard.ingest.daily.hrvapps import read_elite_hrv, read_hrv4training, read_hrv_app_export
from lydiard.ingest.daily.pmsys import (
    read_pmsys_folder,
    read_pmsys_injury,
    read_pmsys_srpe,
    read_pmsys_wellness,
)
from lydiard.ingest.daily.rr import parse_rr, read_rr
from lydiard.ingest.daily.sniff import read_daily_folder, read_daily_source
from lydiard.ingest.daily.srpe_log import read_srpe_log

__all__ = [
    "parse_rr",
    "read_apple_health",
    "read_daily_csv",
    "read_daily_folder",
    "read_daily_source",
    "read_elite_hrv",
    "read_fitbit_exercise",
    "read_fitbit_folder",
    "read_fitbit_resting_hr",
    "read_fitbit_sleep",
    "read_fitbit_sleep_score",
    "read_hrv4training",
    "read_hrv_app_export",
    "read_pmsys_folder",
    "read_pmsys_injury",
    "read_pmsys_srpe",
    "read_pmsys_wellness",
    "read_rr",
    "read_srpe_log",
]
