"""Evaluate the fatigue-stage rules on simulated athletes with known truth, and time the kernel.

Run:  .venv/bin/python benchmarks/staging_eval.py [--athletes 600] [--days 365] [--timing-athletes 10000]

Reports, with 30 % of HRV mornings missing:

* sensitivity: overreaching athletes whose hidden maladaptation reached the deep level
  (truth ``M ≥ 0.5``) and who were staged ≥ ``deep_fatigue`` between the block start and
  the performance low point (inclusive);
* median lead time: low-point day − first such flag (days);
* false-alarm rate: share of normal-training days (truth normal/surface, no illness within
  7 days, outside any block and its aftermath, not calibrating) staged ≥ ``deep_fatigue``;
* single hard days: of the mornings after a single very hard day, how many are staged
  ``surface_fatigue`` vs ``deep_fatigue`` or worse;
* timing: athlete-days/s of load → PMC → baselines → stage on a 10,000 × 1,095 cohort.

Targets: sensitivity ≥ 90 %, median lead ≥ 3 days, false alarms ≤ 5 %.
"""

from __future__ import annotations

import argparse
import os
import time
from typing import Any

import numpy as np

from lydiard.domain.recovery.baselines import BaselineConfig
from lydiard.domain.recovery.stage import Stage, stage_matrix
from lydiard.domain.simulate import M_DEEP, simulate_cohort

MIX = {
    "normal": 0.35,
    "single_hard_days": 0.15,
    "overreaching": 0.25,
    "taper": 0.1,
    "illness": 0.05,
    "noisy_hrv": 0.05,
    "missing_data": 0.05,
}


def evaluate(
    athletes: int,
    days: int,
    *,
    seed: int = 7,
    hrv_missing_frac: float = 0.3,
    config: BaselineConfig | None = None,
) -> dict[str, Any]:
    """Simulate a mixed cohort, stage it and compute the metrics."""
    rng = np.random.default_rng(seed)
    names = list(MIX)
    scen = [str(s) for s in rng.choice(names, size=athletes, p=[MIX[k] for k in names])]
    cohort = simulate_cohort(
        seed, athletes, days, scenarios=scen, hrv_missing_frac=hrv_missing_frac, truth=True
    )
    inputs = {k: v for k, v in cohort.items() if not k.startswith("truth_")}
    res = stage_matrix(inputs, config=config)
    stage = res["stage"]
    sc = np.asarray(scen)
    idx = np.arange(days)

    # --- overreaching blocks
    mal = cohort["truth_maladaptation"]
    bs = cohort["truth_block_start"][:, 0].astype(int)
    low = cohort["truth_low_point"][:, 0].astype(int)
    is_or = sc == "overreaching"
    reached = is_or & (np.where(idx >= bs[:, None], mal, 0).max(axis=1) >= M_DEEP)
    detected, leads = 0, []
    any_block_flag = 0
    for a in np.nonzero(is_or)[0]:
        win = (idx >= bs[a]) & (idx <= low[a])
        flags = np.nonzero(win & (stage[a] >= Stage.DEEP_FATIGUE))[0]
        if flags.size:
            any_block_flag += 1
        if reached[a] and flags.size:
            detected += 1
            leads.append(int(low[a] - flags[0]))
    n_reached = int(reached.sum())

    # --- false alarms on normal training days
    ill = cohort["truth_ill"] > 0
    ill_near = np.zeros_like(ill)
    for shift in range(-7, 8):
        ill_near |= np.roll(ill, shift, axis=1)
    tstage = cohort["truth_stage"]
    be = cohort["truth_block_end"][:, 0]
    in_or = (bs[:, None] >= 0) & (idx >= bs[:, None]) & (idx <= be[:, None] + 42)
    normal_day = (tstage <= 1) & ~ill_near & ~in_or & (stage >= 0)
    false_alarm = float((stage[normal_day] >= Stage.DEEP_FATIGUE).mean())
    nfor_false = float((stage[normal_day] >= Stage.OVERREACHING_SUSPECTED).mean())

    # --- true non-functional overreaching (truth stage 3 on some day)
    true_nfor = np.any(tstage >= 3, axis=1)
    last_nfor = np.where(true_nfor, days - 1 - np.argmax((tstage >= 3)[:, ::-1], axis=1), -1)
    nfor_win = (idx >= bs[:, None]) & (idx <= last_nfor[:, None] + 14) & (bs[:, None] >= 0)
    nfor_hit = np.any(nfor_win & (stage >= Stage.OVERREACHING_SUSPECTED), axis=1)

    # --- stage changes per athlete-year (calibrating days left out)
    both = (stage[:, 1:] >= 0) & (stage[:, :-1] >= 0)
    changes = np.sum(both & (stage[:, 1:] != stage[:, :-1]), axis=1) * 365.0 / max(days - 1, 1)
    by_scen = {
        s: float((stage[(sc == s)[:, None] & normal_day] >= Stage.DEEP_FATIGUE).mean())
        for s in names
        if np.any((sc == s)[:, None] & normal_day)
    }

    # --- single hard days: the two mornings after
    ev = cohort["truth_hard_event"] > 0
    surf = deep = calm = 0
    for a, d in zip(*np.nonzero(ev), strict=True):
        nxt = stage[a, d + 1 : d + 3]
        if nxt.size == 0 or np.any(nxt < 0):
            continue
        worst = int(nxt.max())
        if worst >= Stage.DEEP_FATIGUE:
            deep += 1
        elif worst == Stage.SURFACE_FATIGUE:
            surf += 1
        else:
            calm += 1
    return {
        "athletes": athletes,
        "days": days,
        "overreaching_athletes": int(is_or.sum()),
        "reached_deep": n_reached,
        "sensitivity": detected / n_reached if n_reached else float("nan"),
        "any_flag_in_block": any_block_flag / max(int(is_or.sum()), 1),
        "median_lead_days": float(np.median(leads)) if leads else float("nan"),
        "lead_p25_p75": (
            (float(np.percentile(leads, 25)), float(np.percentile(leads, 75)))
            if leads
            else (float("nan"), float("nan"))
        ),
        "false_alarm_rate": false_alarm,
        "false_alarm_by_scenario": by_scen,
        "nfor_athletes": int(true_nfor.sum()),
        "nfor_detected": int((nfor_hit & true_nfor).sum()),
        "nfor_rate": float((nfor_hit & true_nfor).sum() / max(int(true_nfor.sum()), 1)),
        "nfor_false": nfor_false,
        "changes_median": float(np.median(changes)),
        "normal_days": int(normal_day.sum()),
        "hard_days": surf + deep + calm,
        "hard_surface": surf,
        "hard_deep": deep,
        "hard_normal": calm,
        "calibrating_share": float((stage < 0).mean()),
    }


def timing(athletes: int, days: int, *, workers: int) -> dict[str, float]:
    """Athlete-days per second of stage_matrix (PMC included) on a simulated cohort."""
    load_start = os.getloadavg()[0]
    t0, c0 = time.perf_counter(), time.process_time()
    cohort = simulate_cohort(11, athletes, days, hrv_missing_frac=0.3)
    t_sim = time.perf_counter() - t0
    cpu_sim = time.process_time() - c0
    t0, c0 = time.perf_counter(), time.process_time()
    stage_matrix(cohort, workers=workers)
    t_stage = time.perf_counter() - t0
    cpu_stage = time.process_time() - c0
    return {
        "stage_cpu_s": cpu_stage,
        "athlete_days_per_cpu_s": athletes * days / cpu_stage,
        "simulate_s": t_sim,
        "simulate_cpu_s": cpu_sim,
        "load_start": load_start,
        "stage_s": t_stage,
        "athlete_days_per_s": athletes * days / t_stage,
        "simulate_athlete_days_per_s": athletes * days / t_sim,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--athletes", type=int, default=600)
    p.add_argument("--days", type=int, default=365)
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--timing-athletes", type=int, default=10_000)
    p.add_argument("--timing-days", type=int, default=1_095)
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    args = p.parse_args()

    r = evaluate(args.athletes, args.days, seed=args.seed)
    print(f"Staging evaluation: {r['athletes']} simulated athletes × {r['days']} days, "
          "30 % of HRV mornings missing")
    print(f"{'metric':<52}{'value':>12}{'target':>10}")
    rows = [
        ("overreaching athletes (reached deep M ≥ 0.5)",
         f"{r['overreaching_athletes']} ({r['reached_deep']})", ""),
        ("sensitivity (≥ deep before the low point)", f"{100 * r['sensitivity']:.1f} %", "≥ 90 %"),
        ("  any ≥ deep flag in block, all OR athletes", f"{100 * r['any_flag_in_block']:.1f} %", ""),
        ("median lead time before the low point", f"{r['median_lead_days']:.1f} d", "≥ 3 d"),
        ("  lead time 25th-75th percentile",
         f"{r['lead_p25_p75'][0]:.0f}-{r['lead_p25_p75'][1]:.0f} d", ""),
        ("false alarms (normal days staged ≥ deep)",
         f"{100 * r['false_alarm_rate']:.2f} %", "≤ 5 %"),
        ("  normal training days evaluated", f"{r['normal_days']}", ""),
    ]
    rows += [
        (f"  false alarms, {k}", f"{100 * v:.2f} %", "") for k, v in r["false_alarm_by_scenario"].items()
    ]
    n_hard = max(r["hard_days"], 1)
    rows += [
        ("single hard days (next 2 mornings)", f"{r['hard_days']}", ""),
        ("  called surface_fatigue", f"{100 * r['hard_surface'] / n_hard:.1f} %", ""),
        ("  called deep_fatigue or worse", f"{100 * r['hard_deep'] / n_hard:.1f} %", ""),
        ("  called normal", f"{100 * r['hard_normal'] / n_hard:.1f} %", ""),
        ("days still calibrating", f"{100 * r['calibrating_share']:.1f} %", ""),
    ]
    for name, value, target in rows:
        print(f"{name:<52}{value:>12}{target:>10}")

    if args.timing_athletes > 0:
        t = timing(args.timing_athletes, args.timing_days, workers=args.workers)
        print()
        print(f"Timing on {args.timing_athletes} × {args.timing_days} athlete-days "
              f"({args.workers} worker threads, {os.cpu_count()} cores):")
        print(f"  simulate_cohort: {t['simulate_s']:.1f} s wall, {t['simulate_cpu_s']:.1f} s CPU "
              f"({t['simulate_athlete_days_per_s']:.3g} athlete-days/s wall)")
        print(f"  stage_matrix (load → PMC → baselines → stage): {t['stage_s']:.1f} s "
              f"= {t['athlete_days_per_s']:.3g} athlete-days/s wall (target ≥ 1e6)")
        print(f"  CPU time {t['stage_cpu_s']:.1f} s = {t['athlete_days_per_cpu_s']:.3g} "
              f"athlete-days per CPU-second; load average {t['load_start']:.1f} at start, "
              f"{os.getloadavg()[0]:.1f} now "
              "(other processes share the cores)")


if __name__ == "__main__":
    main()
