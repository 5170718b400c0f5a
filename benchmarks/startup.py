"""Start-up time of ``nnctl --version`` against ``python -c pass``.

nnctl is called from shell scripts, so ``--version`` and ``--help`` must not import NumPy, pandas
or pydantic. Target: ``nnctl --version`` under 0.25 s of wall time on the reference machine.

Run: python benchmarks/startup.py [--repeat 20]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from machine import describe


def wall_times(command: list[str], repeat: int) -> list[float]:
    """Wall-clock seconds of ``repeat`` runs of ``command``, after one warm-up run."""
    subprocess.run(command, check=True, capture_output=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(describe(), flush=True)
    nnctl = shutil.which("nnctl")
    if nnctl is None:
        sys.exit("nnctl is not on PATH: pip install -e '.[dev]'")
    rows = [
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("nnctl --version", [nnctl, "--version"]),
        ("nnctl --help", [nnctl, "--help"]),
    ]
    print(f"{'command':<18} {'median s':>9} {'min s':>7}")
    for label, command in rows:
        times = wall_times(command, args.repeat)
        print(f"{label:<18} {statistics.median(times):9.3f} {min(times):7.3f}")


if __name__ == "__main__":
    main()
