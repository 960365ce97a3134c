"""Benchmark: ``session_metrics`` on a simulated 6-hour 1 Hz ride (power, HR, speed, altitude).

Run: ``.venv/bin/python benchmarks/session_metrics.py``. Target: median < 50 ms.
"""

from __future__ import annotations

import resource
import statistics
import time

import numpy as np
import pandas as pd

from lydiard.domain.load.session import Thresholds, session_metrics

REPEATS = 15


def simulated_ride(duration_s: int = 6 * 3600, seed: int = 7) -> pd.DataFrame:
    """A seeded 1 Hz ride: intervals on an endurance base, a 2-min stop, rolling terrain."""
    rng = np.random.default_rng(seed)
    t = np.arange(duration_s, dtype=np.float64)
    base_w = 180 + 60 * (np.sin(t / 900) > 0.7) + 120 * ((t % 1800) < 240)
    power_w = np.clip(base_w + rng.normal(0, 25, t.size), 0, None)
    power_w[rng.random(t.size) < 0.03] = 0.0  # coasting
    hr_bpm = 95 + 0.25 * pd.Series(power_w).ewm(span=60).mean().to_numpy() + t / 900
    altitude_m = 200 + 80 * np.sin(t / 1500) + rng.normal(0, 0.3, t.size)
    speed_mps = np.clip(8 + power_w / 100 + rng.normal(0, 0.5, t.size), 0, None)
    time = pd.Timestamp("2024-05-01 07:00", tz="UTC") + pd.to_timedelta(t, unit="s")
    frame = pd.DataFrame(
        {
            "time": time,
            "hr_bpm": hr_bpm,
            "power_w": power_w,
            "speed_mps": speed_mps,
            "distance_m": np.cumsum(speed_mps),
            "altitude_m": altitude_m,
        }
    )
    return frame.drop(index=range(10_000, 10_120)).reset_index(drop=True)  # a 2-min stop


def main() -> None:
    ride = simulated_ride()
    thresholds = Thresholds(hr_rest_bpm=50, hr_max_bpm=190, lthr_bpm=165, ftp_w=250, sex="male")
    session_metrics(ride, sport="ride", thresholds=thresholds)  # warm-up
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        metrics = session_metrics(ride, sport="ride", thresholds=thresholds)
        times.append(time.perf_counter() - start)
    median_ms = statistics.median(times) * 1e3
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"samples: {len(ride)} (6 h at 1 Hz, one 2-min stop)")
    print(f"session_metrics median of {REPEATS}: {median_ms:.1f} ms (target < 50 ms)")
    print(f"min {min(times) * 1e3:.1f} ms, max {max(times) * 1e3:.1f} ms")
    print(
        f"NP {metrics.np_w:.1f} W, IF {metrics.intensity_factor:.3f}, TSS {metrics.power_tss:.1f}, "
        f"hrTSS {metrics.hr_tss:.1f}, load_au {metrics.load_au:.1f} ({metrics.load_source})"
    )
    print(f"peak RSS: {peak_rss_mb:.0f} MB")


if __name__ == "__main__":
    main()
