"""Time the stage kernel (``stage_matrix``) on one simulated cohort: median CPU of N runs.

Run (the figure in docs/evaluation.md §1, "Speed"; the same cohort file for both versions):

    git archive 50e894b src | tar -x -C /tmp/prev          # the previous release's src
    PYTHONPATH=src .venv/bin/python benchmarks/stage_speed.py --cohort /tmp/cohort.npz
    PYTHONPATH=/tmp/prev/src .venv/bin/python benchmarks/stage_speed.py --cohort /tmp/cohort.npz

The first call simulates the cohort (``lydiard.domain.simulate.simulate_cohort``, seed 11,
30 % of HRV mornings missing, as ``staging_eval.timing``) and saves it; later calls load it,
so every version stages the same athlete-days. Only ``stage_matrix`` and the columns in the
imported version's ``INPUT_COLUMNS`` are used, so an older ``src`` can be timed as well. A
small warm-up call first loads (or compiles) the Numba kernels; one worker thread. CPU time
is process time: on a shared machine it still rises with contention, so compare versions
interleaved, on the same machine, and quote medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import numpy as np

from lydiard.domain.recovery.stage import INPUT_COLUMNS, stage_matrix


def _cohort(path: Path, athletes: int, days: int) -> dict[str, np.ndarray]:
    if not path.exists():
        from lydiard.domain.simulate import simulate_cohort

        sim = simulate_cohort(11, athletes, days, hrv_missing_frac=0.3)
        arrays = {k: np.asarray(v) for k, v in sim.items()}
        np.savez(path, **arrays)  # type: ignore[arg-type]  # (the stubs type **kwds as allow_pickle)
    with np.load(path) as z:
        return {k: z[k] for k in z.files if k in INPUT_COLUMNS}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--athletes", type=int, default=2_000)
    p.add_argument("--days", type=int, default=1_095)
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--cohort", type=Path, default=Path("/tmp/lydiard_speed_cohort.npz"))
    args = p.parse_args()
    inputs = _cohort(args.cohort, args.athletes, args.days)
    n_ath, n_days = inputs["load_au"].shape
    stage_matrix({k: v[:8, :200] for k, v in inputs.items()}, workers=1)  # load the kernels
    cpu: list[float] = []
    for _ in range(args.runs):
        c0 = time.process_time()
        stage_matrix(inputs, workers=1)
        cpu.append(time.process_time() - c0)
    med = statistics.median(cpu)
    print(f"stage_matrix on {n_ath} × {n_days} athlete-days, {len(inputs)} input columns, "
          f"1 worker: CPU per run {', '.join(f'{c:.2f}' for c in cpu)} s; median {med:.2f} s "
          f"= {n_ath * n_days / med / 1e6:.2f} M athlete-days per CPU-second "
          f"(load average {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()
