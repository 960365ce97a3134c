"""Long fuzzing of the workout readers: ``python benchmarks/fuzz_long.py SECONDS [--seed N]``.

Mutates our generated FIT/TCX/GPX files and a few small corpus files (when
``../shared/corpus`` or ``$LYDIARD_SHARED/corpus`` exists) with the mutators of
``tests/resilience/fuzz_ingest.py`` and feeds each to ``lydiard.read_activity``. Every
outcome must be an ``Activity`` or a ``LydiardError``, under the CPU and memory limits.
Prints inputs tried per second and the failures; each failure is saved under
``benchmarks/out/fuzz/`` (gitignored) as ``<kind>-<sha>.bin`` with a ``.txt`` note (seed
file, edits, traceback). Runs in this process, single-threaded (the machine is shared).

Numpy's floating-point warnings are turned into errors, as the test suite does
(``filterwarnings = error``), so they are reported too; ``--allow-warnings`` relaxes that.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "resilience"))

from fuzz_ingest import cases, check_one, corpus_seeds, generated_seeds  # noqa: E402

OUT_DIR = REPO / "benchmarks" / "out" / "fuzz"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("seconds", type=float, help="how long to fuzz")
    ap.add_argument("--seed", type=int, default=None, help="random seed (default: from the clock)")
    ap.add_argument("--allow-warnings", action="store_true", help="do not treat Python warnings as failures")
    ap.add_argument("--no-corpus", action="store_true", help="only our generated seed files")
    args = ap.parse_args(argv)

    if not args.allow_warnings:
        warnings.simplefilter("error")
    seed = args.seed if args.seed is not None else int(time.time())
    rng = random.Random(seed)
    seeds = generated_seeds()
    shared = Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared"))
    if not args.no_corpus and (shared / "corpus").is_dir():
        seeds.update(corpus_seeds(shared / "corpus"))
    print(f"fuzzing {len(seeds)} seed files for {args.seconds:g} s (seed {seed})", flush=True)

    # Warm up imports so the first input is not charged for them.
    for name, data in seeds.items():
        check_one(data, name=name)

    tried = 0
    outcomes: Counter[str] = Counter()
    failures: dict[str, str] = {}
    slowest = (0.0, "")
    t0 = time.perf_counter()
    last_report = t0
    for name, data, edits in cases(seeds, rng):
        now = time.perf_counter()
        if now - t0 >= args.seconds:
            break
        out = check_one(data, name=name)
        tried += 1
        outcomes[out.kind if out.ok else "FAIL " + out.kind] += 1
        if out.cpu_s > slowest[0]:
            slowest = (out.cpu_s, f"{name} {edits}")
        if not out.ok:
            sha = hashlib.sha256(data).hexdigest()[:16]
            key = out.kind + "|" + (out.detail.strip().splitlines() or [""])[-1][:120]
            if key not in failures:
                OUT_DIR.mkdir(parents=True, exist_ok=True)
                stem = OUT_DIR / f"{out.kind.replace(':', '-')}-{sha}"
                stem.with_suffix(".bin").write_bytes(data)
                stem.with_suffix(".txt").write_text(
                    f"seed file: {name}\nedits: {edits}\nkind: {out.kind}\ncpu_s: {out.cpu_s:.3f}\n"
                    f"rss_growth_mib: {out.rss_growth_mib:.1f}\n\n{out.detail}\n")
                failures[key] = str(stem.with_suffix(".bin"))
                print(f"FAILURE {out.kind}: {name} {edits} -> {stem.with_suffix('.bin')}", flush=True)
        if now - last_report >= 10:
            print(f"  {tried} inputs, {tried / (now - t0):.0f}/s, {len(failures)} distinct failure(s)", flush=True)
            last_report = now
    elapsed = time.perf_counter() - t0
    print(f"\n{tried} inputs in {elapsed:.0f} s: {tried / max(elapsed, 1e-9):.0f} inputs/s; "
          f"{len(failures)} distinct failure(s); slowest {slowest[0]:.2f} s CPU ({slowest[1]})")
    for kind, n in outcomes.most_common():
        print(f"  {n:7d}  {kind}")
    for key, path in failures.items():
        print(f"  failure {key}\n    reproducer: {path}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
