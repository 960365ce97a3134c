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
their ratio to fitdecode, the load average, outcomes, and the import's peak RSS. Then, untimed,
the files each decoder decodes: Lydiard under the importer's policy (a file CRC mismatch in an
otherwise intact file is a warning, as in both references), fitdecode (at least one frame, no
exception) and garmin-fit-sdk (messages and no reported error), with every file a reference
decodes and Lydiard refuses listed.
Targets (issue "Import an athlete's whole training history"): whole import ≥ 20 MB/s,
≥ 40× fitdecode in the same run, decoding every file those parsers decode, peak RSS < 300 MB.

    .venv/bin/python benchmarks/import_corpus.py [--repeat 5] [--fitdecode-repeat 1] [--no-sdk]
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
from lydiard.ingest.fit import ErrorPolicy, decode_fit
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
                frames = 0
                with fitdecode.FitReader(io.BytesIO(data), check_crc=fitdecode.CrcCheck.DISABLED) as reader:
                    for frame in reader:
                        frames += 1
                        if isinstance(frame, fitdecode.FitDataMessage) and frame.name == "record":
                            frame.get_value("heart_rate", fallback=None)
                if frames:  # a 0-byte file yields no frame and no error: nothing was decoded
                    ok.add(name)
            except Exception:  # fitdecode raises many types on corrupt files; we only count
                pass
    return (time.perf_counter() - t0, time.process_time() - c0), ok


def sdk_decodes(payloads: list[tuple[str, bytes]]) -> set[str]:
    """The files Garmin's own decoder (garmin-fit-sdk) reads without reporting an error (untimed)."""
    from garmin_fit_sdk import Decoder, Stream

    ok: set[str] = set()
    for name, data in payloads:
        try:
            messages, errors = Decoder(Stream.from_byte_array(bytearray(data))).read()
        except Exception:  # counted, not diagnosed
            continue
        if not errors and messages:
            ok.add(name)
    return ok


def lydiard_decodes(payloads: list[tuple[str, bytes]]) -> dict[str, str | None]:
    """Per file, None when Lydiard's FIT decoder decodes it under the importer's policy
    (a mismatched file CRC alone is a warning), else why not (untimed)."""
    out: dict[str, str | None] = {}
    for name, data in payloads:
        try:
            decode_fit(data, source=name, on_error=ErrorPolicy.CRC_WARN)
            out[name] = None
        except LydiardError as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--fitdecode-repeat", type=int, default=1)
    ap.add_argument("--no-sdk", action="store_true", help="skip the (untimed) garmin-fit-sdk decode check")
    args = ap.parse_args()
    payloads = fit_payloads(corpus_or_exit())
    mb = sum(len(d) for _, d in payloads) / 1e6
    print(f"corpus: {len(payloads)} unique FIT payloads, {mb:.1f} MB; load average at start "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} CPUs")
    lydiard_import(payloads[:5])  # warm-up: imports, caches (not counted)
    ours = [lydiard_import(payloads) for _ in range(args.repeat)]
    # the import's high-water mark, before the reference decoders (in this process) add theirs
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
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
    references = {"fitdecode": fd_ok}
    if not args.no_sdk:
        references["garmin-fit-sdk"] = sdk_decodes(payloads)
    counts = ", ".join(f"{ref} {len(ok)}" for ref, ok in references.items())
    print(f"files decoded: lydiard {sum(v is None for v in ours_ok.values())}, {counts} of {len(payloads)}")
    missed = 0
    for ref, ok in references.items():
        for name in sorted(ok):
            if ours_ok[name] is not None:
                missed += 1
                print(f"  {ref} decodes, lydiard refuses: {name}: {ours_ok[name]}")
        for name, why in sorted(ours_ok.items()):
            if why is None and name not in ok:
                print(f"  lydiard decodes, {ref} fails: {name}")
    print(f"files a reference decodes and lydiard refuses: {missed}")
    print(f"load average at end {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    print(f"peak RSS of the import: {peak_mb:.0f} MB (largest worker process: {worker_mb:.0f} MB, most of it "
          f"shared with this process by fork); of this process by the end (reference decoders included): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
