"""Time and peak memory of loading MNIST-shaped data: a 60,000 x 785 CSV and 60,000 IDX images.

Targets (issue: the data layer): the CSV, loaded and prepared by ``load_training_data`` (read,
split, fit, transform), in under 1.5 s with a peak resident size under 700 MB; the IDX training
set in under 0.3 s holding one float32 copy (188 MB) of the images.

The data are synthetic, with MNIST's shape and sparsity (about 80% zero pixels, the rest 1..255,
the border always 0); they are written once to a temporary folder. Each measurement runs in a fresh
subprocess started by a parent that holds no data (Linux carries a parent's resident size into a
child's ``ru_maxrss`` across fork and exec); its peak memory is
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (kB on Linux), shown with ``VmHWM`` from
/proc/self/status as a cross-check.

Run: python benchmarks/bench_data.py [--repeat 3] [--rows 60000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from machine import describe

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from nnctl.config.loader import load_config
    from nnctl.data import load_training_data
    cfg = load_config(sys.argv[1])
    start = time.perf_counter()
    ds = load_training_data(cfg)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    status = open("/proc/self/status").read() if sys.platform == "linux" else ""
    hwm = [int(line.split()[1]) / 1024 for line in status.splitlines() if line.startswith("VmHWM")]
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "hwm_mb": hwm[0] if hwm else peak}))
    """
)

CONFIG = """\
data:
  {data}
  validation_split: 0.1
  test_split: 0.0
  normalize: {normalize}
model:
  layers: [{{units: 10, activation: softmax}}]
loss: categorical_crossentropy
"""


def mnist_like(rows: int, seed: int = 0) -> tuple[Any, Any]:
    """Random uint8 images (rows, 28, 28), ~80% zeros and a zero border, and labels 0..9."""
    import numpy as np

    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, size=(rows, 28, 28), dtype=np.uint8)
    images[rng.random(images.shape) < 0.8] = 0
    images[:, :2, :] = images[:, -2:, :] = images[:, :, :2] = images[:, :, -2:] = 0
    return images, rng.integers(0, 10, size=rows, dtype=np.uint8)


def write_csv(path: Path, images: Any, labels: Any) -> None:
    """The layout of the widely shared mnist_train.csv: label, then 1x1 ... 28x28."""
    names = ["label"] + [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
    text = [str(i) for i in range(256)]
    with path.open("w") as handle:
        handle.write(",".join(names) + "\n")
        for label, row in zip(labels, images.reshape(len(images), -1), strict=True):
            handle.write(text[label] + "," + ",".join([text[v] for v in row]) + "\n")


def measure(config: Path, repeat: int) -> dict[str, float]:
    """Best time and peak memory over ``repeat`` fresh subprocesses (the least disturbed run)."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(config)], check=True, capture_output=True, text=True
        )
        runs.append(json.loads(out.stdout))
    return {key: min(r[key] for r in runs) for key in ("seconds", "peak_mb", "hwm_mb")}


def generate(folder: Path, rows: int) -> None:
    """Write the CSV and IDX files (in a subprocess, so the measuring parent stays small)."""
    from nnctl.data.formats.idx import write_idx

    images, labels = mnist_like(rows)
    write_csv(folder / "mnist_train.csv", images, labels)
    write_idx(folder / "train-images-idx3-ubyte.gz", images)
    write_idx(folder / "train-labels-idx1-ubyte.gz", labels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=60_000)
    parser.add_argument("--generate", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.generate is not None:
        generate(args.generate, args.rows)
        return
    print(describe(), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        command = [sys.executable, __file__, "--generate", folder, "--rows", str(args.rows)]
        subprocess.run(command, check=True)
        csv_data = "train: mnist_train.csv\n  target: label"
        idx_data = "train: train-images-idx3-ubyte.gz\n  train_labels: train-labels-idx1-ubyte.gz"
        cases = [
            ("csv", "scale 255", csv_data, "scale\n  scale: 255"),
            ("csv", "minmax", csv_data, "minmax"),
            ("csv", "standard", csv_data, "standard"),
            ("idx", "none", idx_data, "none"),
            ("idx", "standard", idx_data, "standard"),
        ]
        size = (tmp / "mnist_train.csv").stat().st_size / 1e6
        print(f"{args.rows} rows; CSV {size:.0f} MB; best of {args.repeat} runs")
        print(f"{'format':<7} {'normalize':<10} {'seconds':>8} {'maxrss MB':>10} {'VmHWM MB':>9}")
        for fmt, label, data, normalize in cases:
            config = tmp / f"{fmt}-{label.replace(' ', '')}.yaml"
            config.write_text(CONFIG.format(data=data, normalize=normalize))
            result = measure(config, args.repeat)
            seconds, peak, hwm = result["seconds"], result["peak_mb"], result["hwm_mb"]
            print(f"{fmt:<7} {label:<10} {seconds:8.2f} {peak:10.0f} {hwm:9.0f}")


if __name__ == "__main__":
    main()
