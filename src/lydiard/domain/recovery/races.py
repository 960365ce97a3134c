"""The post-race recovery window: one rule, used by the fatigue call and by the planner.

``post_race_recovery_days(load) = clip(round(load / 20), 3, 28)`` days: longer, harder races
need longer recovery. A practitioners' heuristic (``docs/science.md`` §3: "about one easy
day per mile raced" for a marathon; a 3-hour race of ~270 AU gives 14 days), not a
validated cut-off. Once an athlete has two or more races on record, the fatigue call uses
the athlete's own post-race crash length instead (:mod:`._episode_kernel`).
"""

from __future__ import annotations

from typing import overload

import numpy as np
from numpy.typing import NDArray

__all__ = ["RACE_AU_PER_DAY", "RACE_MAX_DAYS", "RACE_MIN_DAYS", "post_race_recovery_days"]

RACE_AU_PER_DAY = 20.0  #: one recovery day per 20 AU raced (heuristic)
RACE_MIN_DAYS = 3
RACE_MAX_DAYS = 28


@overload
def post_race_recovery_days(race_load_au: float) -> int: ...
@overload
def post_race_recovery_days(race_load_au: NDArray[np.float64]) -> NDArray[np.float64]: ...
def post_race_recovery_days(
    race_load_au: float | NDArray[np.float64],
) -> int | NDArray[np.float64]:
    """Days of post-race recovery for a race of ``race_load_au`` (AU): ``clip(round(load / 20), 3, 28)``.

    Arrays are mapped element-wise (NaN stays NaN).

    Examples
    --------
    >>> post_race_recovery_days(260.0)
    13
    """
    if isinstance(race_load_au, np.ndarray):
        out: NDArray[np.float64] = np.clip(
            np.round(race_load_au / RACE_AU_PER_DAY), RACE_MIN_DAYS, RACE_MAX_DAYS
        )
        return out
    return int(min(max(round(float(race_load_au) / RACE_AU_PER_DAY), RACE_MIN_DAYS), RACE_MAX_DAYS))
