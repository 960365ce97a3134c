"""Start-up time of ``lydiard --help`` against the interpreter's own start-up (``python -c pass``).

Both run as fresh processes in the same run, alternating, so the figures share the
machine's load; the script prints the median (and min) of each and their difference
(Lydiard's own share). The target is ``lydiard --help`` under 0.5 s on a quiet machine:
the CLI imports services (numpy, pandas, SQLAlchemy, FastAPI) only when a command runs.

    .venv/bin/python benchmarks/cli_startup.py [--runs 15]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

TARGET_S = 0.5


def _time(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    lydiard = Path(sys.executable).with_name("lydiard")
    cli = [str(lydiard), "--help"] if lydiard.exists() else [sys.executable, "-m", "lydiard.interfaces.cli.main", "--help"]
    peer = [sys.executable, "-c", "pass"]
    _time(cli), _time(peer)  # warm the file cache
    cli_s: list[float] = []
    peer_s: list[float] = []
    for _ in range(args.runs):
        cli_s.append(_time(cli))
        peer_s.append(_time(peer))
    med_cli, med_peer = statistics.median(cli_s), statistics.median(peer_s)
    print(f"runs: {args.runs} each, alternating")
    print(f"python -c pass   median {med_peer * 1000:7.1f} ms   min {min(peer_s) * 1000:7.1f} ms")
    print(f"lydiard --help   median {med_cli * 1000:7.1f} ms   min {min(cli_s) * 1000:7.1f} ms")
    print(f"lydiard's own share (median difference): {(med_cli - med_peer) * 1000:.1f} ms; "
          f"ratio {med_cli / med_peer:.1f}x the bare interpreter")
    print(f"target: lydiard --help under {TARGET_S * 1000:.0f} ms -> {'met' if med_cli < TARGET_S else 'NOT met'}")


if __name__ == "__main__":
    main()
