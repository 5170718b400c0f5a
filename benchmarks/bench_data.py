"""Time and peak memory of loading MNIST-shaped data: a 60,000 x 785 CSV and 60,000 IDX images.

Targets (issue: the data layer): the CSV, loaded and prepared by ``load_training_data`` (read,
split, fit, transform), in under 1.5 s with a peak resident size under 700 MB; the IDX training
set in under 0.3 s holding one float32 copy (188 MB) of the images.

The data are synthetic, with MNIST's shape and sparsity (about 80% zero pixels, the rest 1..255,
the border always 0); they are written once to a temporary folder. Each measurement runs in a fresh
subprocess, whose peak memory is ``resource.getrusage(RUSAGE_SELF).ru_maxrss`` (kB on Linux).

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

import numpy as np

from nnctl.data.idx import write_idx

CHILD = textwrap.dedent(
    """
    import json, resource, sys, time
    from nnctl.config import load_config
    from nnctl.data import load_training_data
    cfg = load_config(sys.argv[1])
    start = time.perf_counter()
    ds = load_training_data(cfg)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mb": peak, "train": list(ds.train.X.shape)}))
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


def mnist_like(rows: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Random uint8 images (rows, 28, 28), ~80% zeros and a zero border, and labels 0..9."""
    rng = np.random.default_rng(seed)
    images = rng.integers(1, 256, size=(rows, 28, 28), dtype=np.uint8)
    images[rng.random(images.shape) < 0.8] = 0
    images[:, :2, :] = images[:, -2:, :] = images[:, :, :2] = images[:, :, -2:] = 0
    return images, rng.integers(0, 10, size=rows, dtype=np.uint8)


def write_csv(path: Path, images: np.ndarray, labels: np.ndarray) -> None:
    """The layout of the widely shared mnist_train.csv: label, then 1x1 ... 28x28."""
    names = ["label"] + [f"{r}x{c}" for r in range(1, 29) for c in range(1, 29)]
    text = [str(i) for i in range(256)]
    with path.open("w") as handle:
        handle.write(",".join(names) + "\n")
        for label, row in zip(labels, images.reshape(len(images), -1), strict=True):
            handle.write(text[label] + "," + ",".join([text[v] for v in row]) + "\n")


def measure(config: Path, repeat: int) -> dict[str, float]:
    """Best time and largest peak memory over ``repeat`` fresh subprocesses."""
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(config)], check=True, capture_output=True, text=True
        )
        runs.append(json.loads(out.stdout))
    return {
        "seconds": min(r["seconds"] for r in runs),
        "peak_mb": max(r["peak_mb"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=60_000)
    args = parser.parse_args()
    images, labels = mnist_like(args.rows)
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        write_csv(tmp / "mnist_train.csv", images, labels)
        write_idx(tmp / "train-images-idx3-ubyte.gz", images)
        write_idx(tmp / "train-labels-idx1-ubyte.gz", labels)
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
        print(f"{'format':<7} {'normalize':<10} {'seconds':>8} {'peak MB':>8}")
        for fmt, label, data, normalize in cases:
            config = tmp / f"{fmt}-{label.replace(' ', '')}.yaml"
            config.write_text(CONFIG.format(data=data, normalize=normalize))
            result = measure(config, args.repeat)
            print(f"{fmt:<7} {label:<10} {result['seconds']:8.2f} {result['peak_mb']:8.0f}")


if __name__ == "__main__":
    main()
