"""Lydiard: a self-hosted, fatigue-aware training system.

The public Python API is listed in ``__all__``; names are loaded lazily so that
``import lydiard`` stays cheap (the CLI and the server import only what they use).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:  # the real signatures for type checkers; at run time names load lazily (__getattr__)
    from lydiard.domain.activity import Activity as Activity
    from lydiard.domain.activity import ActivitySummary as ActivitySummary
    from lydiard.domain.cleaning import clean_records as clean_records
    from lydiard.domain.hrv import correct_rr as correct_rr
    from lydiard.domain.hrv import rmssd_ms as rmssd_ms
    from lydiard.domain.load.banister import BanisterModel as BanisterModel
    from lydiard.domain.load.efficiency import aerobic_decoupling as aerobic_decoupling
    from lydiard.domain.load.efficiency import efficiency_factor as efficiency_factor
    from lydiard.domain.load.mmp import mean_maximal as mean_maximal
    from lydiard.domain.load.pmc import acwr as acwr
    from lydiard.domain.load.pmc import daily_metrics_matrix as daily_metrics_matrix
    from lydiard.domain.load.pmc import monotony_strain as monotony_strain
    from lydiard.domain.load.pmc import pmc as pmc
    from lydiard.domain.load.power import intensity_factor as intensity_factor
    from lydiard.domain.load.power import normalized_power as normalized_power
    from lydiard.domain.load.power import power_tss as power_tss
    from lydiard.domain.load.running import grade_adjusted_speed as grade_adjusted_speed
    from lydiard.domain.load.running import minetti_cost_j_per_kg_m as minetti_cost_j_per_kg_m
    from lydiard.domain.load.running import normalized_graded_speed as normalized_graded_speed
    from lydiard.domain.load.running import running_tss as running_tss
    from lydiard.domain.load.session import SessionMetrics as SessionMetrics
    from lydiard.domain.load.session import Thresholds as Thresholds
    from lydiard.domain.load.session import estimate_thresholds as estimate_thresholds
    from lydiard.domain.load.session import session_metrics as session_metrics
    from lydiard.domain.load.srpe import srpe_load as srpe_load
    from lydiard.domain.load.srpe import srpe_to_tss as srpe_to_tss
    from lydiard.domain.load.trimp import hr_tss as hr_tss
    from lydiard.domain.load.trimp import trimp_banister as trimp_banister
    from lydiard.domain.load.trimp import trimp_edwards as trimp_edwards
    from lydiard.domain.load.trimp import trimp_lucia as trimp_lucia
    from lydiard.domain.plan.adapt import DayAssessment as DayAssessment
    from lydiard.domain.plan.adapt import adapt_plan as adapt_plan
    from lydiard.domain.plan.forecast import forecast as forecast
    from lydiard.domain.plan.generate import generate_plan as generate_plan
    from lydiard.domain.plan.models import PlannedSession as PlannedSession
    from lydiard.domain.recovery.assess import assess_days as assess_days
    from lydiard.domain.recovery.baselines import BaselineConfig as BaselineConfig
    from lydiard.domain.recovery.stage import stage_matrix as stage_matrix
    from lydiard.domain.simulate import simulate_athlete as simulate_athlete
    from lydiard.domain.simulate import simulate_cohort as simulate_cohort
    from lydiard.domain.zones import time_in_zones as time_in_zones
    from lydiard.ingest.activity import read_activity as read_activity
    from lydiard.ingest.fit import read_fit as read_fit
    from lydiard.ingest.gpx import read_gpx as read_gpx
    from lydiard.ingest.tcx import read_tcx as read_tcx

__all__ = [
    "Activity",
    "ActivitySummary",
    "BanisterModel",
    "BaselineConfig",
    "DayAssessment",
    "LydiardError",
    "PlannedSession",
    "SessionMetrics",
    "Thresholds",
    "__version__",
    "acwr",
    "adapt_plan",
    "aerobic_decoupling",
    "assess_days",
    "clean_records",
    "correct_rr",
    "daily_metrics_matrix",
    "efficiency_factor",
    "estimate_thresholds",
    "forecast",
    "generate_plan",
    "grade_adjusted_speed",
    "hr_tss",
    "intensity_factor",
    "mean_maximal",
    "minetti_cost_j_per_kg_m",
    "monotony_strain",
    "normalized_graded_speed",
    "normalized_power",
    "pmc",
    "power_tss",
    "read_activity",
    "read_fit",
    "read_gpx",
    "read_tcx",
    "rmssd_ms",
    "running_tss",
    "session_metrics",
    "simulate_athlete",
    "simulate_cohort",
    "srpe_load",
    "srpe_to_tss",
    "stage_matrix",
    "time_in_zones",
    "trimp_banister",
    "trimp_edwards",
    "trimp_lucia",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lydiard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
