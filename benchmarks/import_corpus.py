"""Import every FIT payload of the corpus into a fresh SQLite store, and parse them with fitdecode.

What is timed for Lydiard is exactly the import of a batch, as ``import_paths`` runs
it (``ImportBatch``): per file the SHA-256 and duplicate checks, decoding, cleaning,
summary, session metrics, the original stored content-addressed and durable (fsync of
the file and its directory), and one transaction of rows (activity, sample blocks,
laps, RR intervals, metrics, audit) into a fresh SQLite store created per repeat
(store creation, schema migration and clean-up are not timed).
fitdecode is timed parsing the same payloads (every frame, reading each record's heart
rate), in the same run, as the reference.

Prints wall-clock and CPU throughputs in MB/s (CPU: ``time.process_time`` of this process
plus the CPU time of the worker processes a large batch forks, see ``parse_workers``),
their ratio to fitdecode, the load average, files decoded by each, outcomes, and peak RSS.
Targets (issue "Import an athlete's whole training history"): whole import ≥ 20 MB/s,
≥ 40× fitdecode in the same run, peak RSS < 300 MB.

    .venv/bin/python benchmarks/import_corpus.py [--repeat 5] [--fitdecode-repeat 1]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from _corpus import corpus_or_exit, fit_payloads

from lydiard.config import Settings
from lydiard.errors import LydiardError
from lydiard.ingest.fit import decode_fit
from lydiard.services.access import Actor
from lydiard.services.athletes import create_athlete
from lydiard.services.context import open_context
from lydiard.services.importing import ImportBatch, ItemResult, parse_workers

Timing = tuple[float, float]  # (wall s, CPU s of this process and of the worker processes it waited for)


def _cpu_s() -> float:
    """CPU time of this process (all threads) plus that of its terminated, waited-for children."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def lydiard_import(payloads: list[tuple[str, bytes]]) -> tuple[Timing, dict[str, int]]:
    with tempfile.TemporaryDirectory(dir=os.environ.get("LYDIARD_BENCH_DIR")) as tmp:
        ctx = open_context(Settings(home=Path(tmp)))
        athlete = create_athlete(ctx, Actor.system(), name="bench", tz="UTC")
        results: list[ItemResult] = []
        t0, c0 = time.perf_counter(), _cpu_s()
        # As import_paths runs a batch: worker processes for a batch this large (when it can),
        # shut down (and their CPU time counted) when the batch closes.
        with ImportBatch(ctx, Actor.system(), athlete.id, workers=parse_workers(len(payloads))) as batch:
            for name, data in payloads:
                results += batch.add(data=data, name=name, source="corpus")
            results += batch.flush()
        timing = (time.perf_counter() - t0, _cpu_s() - c0)
        ctx.close()
    outcomes: dict[str, int] = {}
    for res in results:
        outcomes[res.outcome] = outcomes.get(res.outcome, 0) + 1
    return timing, outcomes


def fitdecode_parse(payloads: list[tuple[str, bytes]]) -> tuple[Timing, set[str]]:
    import fitdecode

    ok: set[str] = set()
    t0, c0 = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, data in payloads:
            try:
                with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.DISABLED) as reader:
                    for frame in reader:
                        if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                            frame.get_value("heart_rate", fallback=None)
                ok.add(name)
            except Exception:  # fitdecode raises many types on corrupt files; we only count
                pass
    return (time.perf_counter() - t0, time.process_time() - c0), ok


def lydiard_decodes(payloads: list[tuple[str, bytes]]) -> dict[str, str | None]:
    """Per file, None when Lydiard's FIT decoder decodes it, else why not (untimed)."""
    out: dict[str, str | None] = {}
    for name, data in payloads:
        try:
            decode_fit(data, source=name)
            out[name] = None
        except LydiardError as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--fitdecode-repeat", type=int, default=1)
    args = ap.parse_args()
    payloads = fit_payloads(corpus_or_exit())
    mb = sum(len(d) for _, d in payloads) / 1e6
    print(f"corpus: {len(payloads)} unique FIT payloads, {mb:.1f} MB; load average at start "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    lydiard_import(payloads[:5])  # warm-up: imports, caches (not counted)
    ours = [lydiard_import(payloads) for _ in range(args.repeat)]
    wall = statistics.median(t[0] for t, _ in ours)
    cpu = statistics.median(t[1] for t, _ in ours)
    workers = parse_workers(len(payloads))
    print(f"lydiard import (decode + clean + summary + metrics + samples + durable original, fresh SQLite; "
          f"{workers} worker processes): "
          f"median wall {wall:.2f} s = {mb / wall:.1f} MB/s; median CPU (all processes) {cpu:.2f} s = "
          f"{mb / cpu:.1f} MB/s (walls {', '.join(f'{t[0]:.2f}' for t, _ in ours)}); outcomes {ours[0][1]}")
    fd = [fitdecode_parse(payloads) for _ in range(args.fitdecode_repeat)]
    fd_wall = statistics.median(t[0] for t, _ in fd)
    fd_cpu = statistics.median(t[1] for t, _ in fd)
    print(f"fitdecode (parse every frame, CRC not checked): median wall {fd_wall:.2f} s = {mb / fd_wall:.2f} MB/s; "
          f"median CPU {fd_cpu:.2f} s = {mb / fd_cpu:.2f} MB/s")
    print(f"ratio lydiard/fitdecode: wall {fd_wall / wall:.1f}x, CPU {fd_cpu / cpu:.1f}x")
    ours_ok = lydiard_decodes(payloads)
    fd_ok = fd[0][1]
    print(f"files decoded: lydiard {sum(v is None for v in ours_ok.values())}, fitdecode {len(fd_ok)} "
          f"of {len(payloads)}")
    for name in sorted(fd_ok):
        if ours_ok[name] is not None:
            print(f"  fitdecode decodes, lydiard refuses: {name}: {ours_ok[name]}")
    for name, why in sorted(ours_ok.items()):
        if why is None and name not in fd_ok:
            print(f"  lydiard decodes, fitdecode fails: {name}")
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak RSS: {peak_mb:.0f} MB (largest worker process: {worker_mb:.0f} MB, most of it shared with "
          f"this process by fork)")


if __name__ == "__main__":
    main()
