"""Lydiard: a self-hosted, fatigue-aware training system.

The public Python API is listed in ``__all__``; names are loaded lazily so that
``import lydiard`` stays cheap (the CLI and the server import only what they use).
"""

from __future__ import annotations

import importlib
from typing import Any

from lydiard.errors import LydiardError

__version__ = "0.1.0"

#: public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # ingest
    "read_activity": "lydiard.ingest.activity",
    "Activity": "lydiard.domain.activity",
    "ActivitySummary": "lydiard.domain.activity",
    "rmssd_ms": "lydiard.domain.hrv",
    # load
    "pmc": "lydiard.domain.load.pmc",
    "trimp_banister": "lydiard.domain.load.trimp",
    "trimp_edwards": "lydiard.domain.load.trimp",
    "trimp_lucia": "lydiard.domain.load.trimp",
    "normalized_power": "lydiard.domain.load.power",
    "intensity_factor": "lydiard.domain.load.power",
    "power_tss": "lydiard.domain.load.power",
    "hr_tss": "lydiard.domain.load.trimp",
    "running_tss": "lydiard.domain.load.running",
    "grade_adjusted_speed": "lydiard.domain.load.running",
    "srpe_load": "lydiard.domain.load.srpe",
    "efficiency_factor": "lydiard.domain.load.efficiency",
    "aerobic_decoupling": "lydiard.domain.load.efficiency",
    "mean_maximal": "lydiard.domain.load.mmp",
    "acwr": "lydiard.domain.load.pmc",
    "monotony_strain": "lydiard.domain.load.pmc",
    # recovery
    "assess_days": "lydiard.domain.recovery.assess",
    "simulate_athlete": "lydiard.domain.simulate",
    # plan
    "BanisterModel": "lydiard.domain.load.banister",
}

__all__ = ["LydiardError", "__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lydiard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
