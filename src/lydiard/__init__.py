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
    "correct_rr": "lydiard.domain.hrv",
    "read_fit": "lydiard.ingest.fit",
    "read_tcx": "lydiard.ingest.tcx",
    "read_gpx": "lydiard.ingest.gpx",
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
    "daily_metrics_matrix": "lydiard.domain.load.pmc",
    "session_metrics": "lydiard.domain.load.session",
    "Thresholds": "lydiard.domain.load.session",
    "SessionMetrics": "lydiard.domain.load.session",
    "estimate_thresholds": "lydiard.domain.load.session",
    "minetti_cost_j_per_kg_m": "lydiard.domain.load.running",
    "normalized_graded_speed": "lydiard.domain.load.running",
    "srpe_to_tss": "lydiard.domain.load.srpe",
    "time_in_zones": "lydiard.domain.zones",
    "clean_records": "lydiard.domain.cleaning",
    # recovery
    "assess_days": "lydiard.domain.recovery.assess",
    "stage_matrix": "lydiard.domain.recovery.stage",
    "BaselineConfig": "lydiard.domain.recovery.baselines",
    "simulate_athlete": "lydiard.domain.simulate",
    "simulate_cohort": "lydiard.domain.simulate",
    # plan
    "BanisterModel": "lydiard.domain.load.banister",
    "PlannedSession": "lydiard.domain.plan.models",
    "generate_plan": "lydiard.domain.plan.generate",
    "adapt_plan": "lydiard.domain.plan.adapt",
    "DayAssessment": "lydiard.domain.plan.adapt",
    "forecast": "lydiard.domain.plan.forecast",
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
