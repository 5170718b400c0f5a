"""Memory and speed of ``nnctl predict`` on a long input read from stdin.

Trains a small iris model, generates N rows of iris-shaped CSV, pipes them through
``nnctl predict RUN - > /dev/null`` for several N, and reports seconds, rows per second and the
peak resident memory of the nnctl process (ru_maxrss of the child). Memory should stay flat as N
grows, because predict reads and writes in chunks.

Run: python benchmarks/bench_predict.py [--rows 100000 1000000]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from machine import describe

ROOT = Path(__file__).resolve().parent.parent


def nnctl() -> list[str]:
    found = shutil.which("nnctl")
    return [found] if found else [sys.executable, "-m", "nnctl"]


def train(folder: Path) -> str:
    command = [*nnctl(), "train", str(ROOT / "configs/iris.yaml"), "--runs-dir", str(folder)]
    command += ["--quiet", "--set", "training.epochs=5"]
    return subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()


def write_rows(path: Path, rows: int) -> None:
    values = np.random.default_rng(0).uniform(0, 8, size=(rows, 4)).round(1)
    header = "sepal_length,sepal_width,petal_length,petal_width"
    np.savetxt(path, values, fmt="%.1f", delimiter=",", header=header, comments="")


def measure(run: str, data: Path) -> tuple[float, float]:
    """Seconds and peak RSS (MB) of one `nnctl predict RUN - --proba` over ``data``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    with data.open("rb") as stdin:
        subprocess.run(
            [*nnctl(), "predict", run, "-", "--proba"],
            stdin=stdin,
            stdout=subprocess.DEVNULL,
            check=True,
        )
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return seconds, max(peak, before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        run = train(folder / "runs")
        print(f"{'rows':>10} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}")
        for rows in sorted(args.rows):
            data = folder / f"rows-{rows}.csv"
            write_rows(data, rows)
            seconds, peak = measure(run, data)
            print(f"{rows:>10,} {seconds:8.2f} {rows / seconds:10,.0f} {peak:12.0f}")
            data.unlink()


if __name__ == "__main__":
    main()
