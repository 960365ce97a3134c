"""Benchmark: Lydiard's FIT decoder against fitdecode and garmin-fit-sdk, in the same run.

Every FIT payload of the shared corpus (``*.fit``/``*.FIT``, ``*.fit.gz`` and FIT members
of ``*.zip``, de-duplicated by sha256) is decoded by each parser. Prints the median time
of the runs, MB/s, the ratio to each peer, the files each parser decodes, and the peak
RSS after each parser (``resource.getrusage``; ours is measured first).

Usage::

    .venv/bin/python benchmarks/fit_decode.py [CORPUS_DIR] [--runs 3] [--peer-runs 3]

``CORPUS_DIR`` defaults to ``$LYDIARD_SHARED/corpus`` or ``../shared/corpus``.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import os
import resource
import statistics
import sys
import time
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from lydiard.errors import LydiardError  # noqa: E402
from lydiard.ingest.fit import decode_fit, read_fit  # noqa: E402


def fit_payloads(corpus: Path) -> list[tuple[str, bytes]]:
    """Unique FIT payloads of the corpus, as (name, bytes)."""
    seen: set[str] = set()
    out: list[tuple[str, bytes]] = []
    for path in sorted(corpus.rglob("*")):
        lower = path.name.lower()
        items: list[tuple[str, bytes]] = []
        if lower.endswith(".fit"):
            items = [(str(path.relative_to(corpus)), path.read_bytes())]
        elif lower.endswith(".fit.gz"):
            items = [(str(path.relative_to(corpus)), gzip.decompress(path.read_bytes()))]
        elif lower.endswith(".zip"):
            with zipfile.ZipFile(path) as archive:
                for member in archive.namelist():
                    if member.lower().endswith(".fit") and "__MACOSX" not in member:
                        name = f"{path.relative_to(corpus)}!{member}"
                        items.append((name, archive.read(member)))
        for name, data in items:
            digest = hashlib.sha256(data).hexdigest()
            if digest not in seen:
                seen.add(digest)
                out.append((name, data))
    return out


def ours_full(name: str, data: bytes) -> int:
    return len(read_fit(data, source=name).records)


def ours_parser(name: str, data: bytes) -> int:
    return int(decode_fit(data, source=name).records["time"].size)


def fitdecode_records(name: str, data: bytes) -> int:
    import fitdecode

    count = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fitdecode.FitReader(data) as reader:
            for frame in reader:
                if isinstance(frame, fitdecode.FitDataMessage) and frame.global_mesg_num == 20:
                    count += 1
    return count


def sdk_records(name: str, data: bytes) -> int:
    from garmin_fit_sdk import Decoder, Stream

    decoder = Decoder(Stream.from_byte_array(bytearray(data)))
    messages, errors = decoder.read(
        apply_scale_and_offset=True,
        convert_datetimes_to_dates=False,
        convert_types_to_strings=True,
        expand_sub_fields=True,
        expand_components=False,
        merge_heart_rates=False,
    )
    if errors:
        raise RuntimeError(errors[0])
    return len(messages.get("record_mesgs", []))


def run(
    parser: Callable[[str, bytes], int], payloads: list[tuple[str, bytes]], runs: int
) -> tuple[float, int, int]:
    """Median seconds over ``runs``, files decoded without error, records."""
    times = []
    ok = records = 0
    for _ in range(runs):
        ok = records = 0
        start = time.perf_counter()
        for name, data in payloads:
            try:
                records += parser(name, data)
                ok += 1
            except LydiardError:
                pass
            except Exception:  # peers raise their own errors
                pass
        times.append(time.perf_counter() - start)
    return statistics.median(times), ok, records


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    default = Path(os.environ.get("LYDIARD_SHARED", REPO.parent / "shared")) / "corpus"
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("corpus", nargs="?", type=Path, default=default)
    cli.add_argument("--runs", type=int, default=3, help="runs of our decoder (median)")
    cli.add_argument("--peer-runs", type=int, default=3, help="runs of each peer (median)")
    args = cli.parse_args()

    payloads = fit_payloads(args.corpus)
    total_mb = sum(len(d) for _, d in payloads) / 1e6
    print(f"{len(payloads)} unique FIT payloads, {total_mb:.1f} MB, from {args.corpus}")
    rows: list[tuple[str, float, int, int, float]] = []
    for label, parser, runs in (
        ("lydiard read_fit (parse + summary + Activity)", ours_full, args.runs),
        ("lydiard decode_fit (parser only)", ours_parser, args.runs),
        ("fitdecode", fitdecode_records, args.peer_runs),
        ("garmin-fit-sdk", sdk_records, args.peer_runs),
    ):
        seconds, ok, records = run(parser, payloads, runs)
        rows.append((label, seconds, ok, records, peak_rss_mb()))
        print(
            f"  {label:48s} {seconds:8.3f} s {total_mb / seconds:8.2f} MB/s "
            f"files ok {ok:3d}/{len(payloads)}  records {records:8d}  "
            f"peak RSS {rows[-1][4]:6.0f} MB  (median of {runs})",
            flush=True,
        )
    peers = {label: seconds for label, seconds, *_ in rows[2:]}
    for label, seconds, *_ in rows[:2]:
        ratios = ", ".join(f"{peer_s / seconds:.0f}x {peer}" for peer, peer_s in peers.items())
        print(f"{label}: {ratios}")


if __name__ == "__main__":
    main()
