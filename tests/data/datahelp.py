"""Helpers for the data-layer tests: configs built in code, small CSV and IDX files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.loader import Config
from nnctl.data.formats.idx import write_idx

ROOT = Path(__file__).resolve().parents[2]
DATASETS = ROOT / "datasets"

OUTPUT = {
    "categorical_crossentropy": "softmax",
    "binary_crossentropy": "sigmoid",
    "mse": "linear",
}


def make_config(data: dict[str, Any], loss: str = "categorical_crossentropy", **top: Any) -> Config:
    """A config with ``data`` and a one-layer model fitting ``loss``."""
    units = 1 if loss != "categorical_crossentropy" else top.pop("units", 3)
    return Config.model_validate(
        {
            "data": data,
            "model": {"layers": [{"units": units, "activation": OUTPUT[loss]}]},
            "loss": loss,
            **top,
        }
    )


def write_text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def iris_like_file(tmp_path: Path) -> Path:
    """40 rows: two numeric columns, a text column, a constant column, string labels."""
    rng = np.random.default_rng(1)
    lines = ["x1,x2,color,const,label"]
    for i in range(40):
        label = ["cat", "dog"][i % 2]
        color = ["red", "green", "blue"][i % 3]
        lines.append(f"{rng.normal(10, 2):.3f},{rng.integers(0, 5)},{color},7,{label}")
    return write_text(tmp_path / "small.csv", "\n".join(lines) + "\n")


def write_idx_pair(folder: Path, n: int, prefix: str = "train", seed: int = 0) -> tuple[Path, Path]:
    """Random 4 x 4 byte images and labels 0..2, as gzip IDX files."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 4, 4), dtype=np.uint8)
    labels = (np.arange(n) % 3).astype(np.uint8)
    images_path = folder / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = folder / f"{prefix}-labels-idx1-ubyte.gz"
    write_idx(images_path, images)
    write_idx(labels_path, labels)
    return images_path, labels_path
