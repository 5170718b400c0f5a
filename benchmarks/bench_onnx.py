"""onnxruntime on an exported model against nnctl's own prediction, on the same rows.

Trains two small models (iris: 4 numeric columns, 4-16-3; digits: 8 x 8 IDX pixels, 64-128-10),
exports each with ``nnctl export``, then times, on the same raw rows held in memory:

- nnctl: what ``nnctl predict`` does per chunk without the CSV reading and writing: the stored
  preprocessing (`Preprocessor.transform_features`, or pixels / 255 and `transform_images`),
  `Network.predict`, the labels and probabilities;
- onnxruntime: one ``InferenceSession.run`` of the exported graph (preprocessing included), on
  the CPU provider with its default threads.

For 1, 1,000 and 100,000 rows: the median of several calls (more for small batches), and the
ratio. Run: python benchmarks/bench_onnx.py [--rows 1 1000 100000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from machine import describe

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from nnctl.export.verify import nnctl_answers  # noqa: E402
from nnctl.store.model import load_model  # noqa: E402

MODELS = {"iris": ("configs/iris.yaml", 5), "digits": ("configs/digits.yaml", 2)}


def nnctl() -> list[str]:
    found = shutil.which("nnctl")
    return [found] if found else [sys.executable, "-m", "nnctl"]


def train_and_export(name: str, folder: Path) -> tuple[Path, Path]:
    """A run of the shipped config (a few epochs) and its ONNX file."""
    config, epochs = MODELS[name]
    command = [*nnctl(), "train", str(ROOT / config), "--runs-dir", str(folder), "--quiet"]
    command += ["--set", f"training.epochs={epochs}"]
    run = subprocess.run(command, check=True, capture_output=True, text=True).stdout.strip()
    out = folder / f"{name}.onnx"
    export = [*nnctl(), "export", run, "--format", "onnx", "-o", str(out)]
    subprocess.run(export, check=True, capture_output=True)
    return Path(run), out


def raw_rows(model: Any, n: int) -> dict[str, np.ndarray]:
    """``n`` raw rows: pixels 0-255, or numbers around each column's training mean."""
    pre, dtype = model.preprocessor, model.network.dtype
    rng = np.random.default_rng(0)
    if pre.input == "idx":
        return {"pixels": rng.integers(0, 256, (n, len(pre.numeric.shift))).astype(dtype)}
    spread = rng.normal(size=(n, len(pre.numeric.shift)))
    return {"numeric": (pre.numeric.shift + pre.numeric.divide * spread).astype(dtype)}


def median_seconds(call: Callable[[], object], repeats: int) -> float:
    call()  # warm up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 1_000, 100_000])
    args = parser.parse_args()
    print(describe(), flush=True)
    print(f"onnxruntime {ort.__version__}")
    print(f"{'model':<8} {'rows':>8} {'nnctl ms':>10} {'onnxruntime ms':>15} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in MODELS:
            run, path = train_and_export(name, Path(tmp) / name)
            model = load_model(run)
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            for rows in sorted(args.rows):
                feeds = raw_rows(model, rows)
                repeats = 5 if rows >= 100_000 else 50 if rows >= 1000 else 500
                ours = median_seconds(lambda f=feeds, m=model: nnctl_answers(m, f), repeats)
                theirs = median_seconds(lambda f=feeds, s=session: s.run(None, f), repeats)
                print(
                    f"{name:<8} {rows:>8,} {ours * 1e3:10.3f} {theirs * 1e3:15.3f} "
                    f"{ours / theirs:7.1f}x",
                    flush=True,
                )


if __name__ == "__main__":
    main()
