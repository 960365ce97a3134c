"""Domain: recovery — personal baselines, fatigue stages, recommendations.

Public API: :func:`assess_days` (one athlete, pandas) and :func:`stage_matrix` (the
vectorised (athletes × days) kernel the batch uses; ``assess_days`` is built on it).
"""

from __future__ import annotations

from lydiard.domain.recovery.assess import OUTPUT_COLUMNS, assess_days
from lydiard.domain.recovery.baselines import BaselineConfig
from lydiard.domain.recovery.patterns import recurring_episodes, trending_toward_deep
from lydiard.domain.recovery.races import post_race_recovery_days
from lydiard.domain.recovery.recommend import REC_CODES, Rec, recommendation_for
from lydiard.domain.recovery.stage import INPUT_COLUMNS, STAGE_NAMES, Stage, stage_matrix

__all__ = [
    "INPUT_COLUMNS",
    "OUTPUT_COLUMNS",
    "REC_CODES",
    "STAGE_NAMES",
    "BaselineConfig",
    "Rec",
    "Stage",
    "assess_days",
    "post_race_recovery_days",
    "recommendation_for",
    "recurring_episodes",
    "stage_matrix",
    "trending_toward_deep",
]
