"""Import every FIT payload of the corpus into a fresh SQLite store, and parse them with fitdecode.

Prints both throughputs in MB/s, their ratio, files imported/failed, and peak RSS.
Targets (issue "Import an athlete's whole training history"): whole import ≥ 20 MB/s,
≥ 40× fitdecode in the same run, peak RSS < 300 MB.

    .venv/bin/python benchmarks/import_corpus.py [--repeat 3] [--fitdecode-repeat 1]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _corpus import corpus_or_exit, fit_payloads

from lydiard.config import Settings
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.context import open_context
from lydiard.services.importing import import_activity_bytes


def lydiard_import(payloads: list[tuple[str, bytes]]) -> tuple[float, dict[str, int]]:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = open_context(Settings(home=Path(tmp)))
        athlete = create_athlete(ctx, Actor.system(), name="bench", tz="UTC")
        outcomes: dict[str, int] = {}
        t0 = time.perf_counter()
        for name, data in payloads:
            res = import_activity_bytes(ctx, Actor.system(), athlete.id, data=data, name=name, source="corpus")
            outcomes[res.outcome] = outcomes.get(res.outcome, 0) + 1
        elapsed = time.perf_counter() - t0
        ctx.close()
    return elapsed, outcomes


def fitdecode_parse(payloads: list[tuple[str, bytes]]) -> tuple[float, int]:
    import io

    import fitdecode

    ok = 0
    t0 = time.perf_counter()
    for _name, data in payloads:
        try:
            with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.DISABLED) as reader:
                for frame in reader:
                    if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                        frame.get_value("heart_rate", fallback=None)
            ok += 1
        except Exception:  # fitdecode raises many types on corrupt files; we only count
            pass
    return time.perf_counter() - t0, ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--fitdecode-repeat", type=int, default=1)
    args = ap.parse_args()
    payloads = fit_payloads(corpus_or_exit())
    mb = sum(len(d) for _, d in payloads) / 1e6
    print(f"corpus: {len(payloads)} unique FIT payloads, {mb:.1f} MB")
    ours = [lydiard_import(payloads) for _ in range(args.repeat)]
    t_ours = statistics.median(t for t, _ in ours)
    print(f"lydiard import (parse + summary + metrics + samples into fresh SQLite): "
          f"median {t_ours:.2f} s = {mb / t_ours:.1f} MB/s; outcomes {ours[0][1]}")
    fd = [fitdecode_parse(payloads) for _ in range(args.fitdecode_repeat)]
    t_fd = statistics.median(t for t, _ in fd)
    print(f"fitdecode (parse records only): median {t_fd:.2f} s = {mb / t_fd:.2f} MB/s; decoded {fd[0][1]} files")
    print(f"ratio lydiard/fitdecode: {t_fd / t_ours:.1f}x")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
