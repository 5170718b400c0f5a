"""Helpers shared by the training and end-to-end tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
CONFIGS = ROOT / "configs"
DATASETS = ROOT / "datasets"


def nnctl_executable() -> list[str]:
    """The installed ``nnctl`` script, else ``python -m nnctl``."""
    found = shutil.which("nnctl")
    return [found] if found else [sys.executable, "-m", "nnctl"]


def run_nnctl(
    *args: str | Path, cwd: Path | None = None, stdin: str | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run the real ``nnctl`` in a subprocess and capture stdout and stderr apart."""
    env = {**os.environ, "NNCTL_DEBUG": ""}
    return subprocess.run(
        [*nnctl_executable(), *map(str, args)],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )


def write_config(folder: Path, text: str, name: str = "c.yaml") -> Path:
    """Write a config file into ``folder`` and return its path."""
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def iris_config(folder: Path, epochs: int = 20, extra: str = "") -> Path:
    """A small iris config in ``folder`` that refers to the shipped data."""
    return write_config(
        folder,
        f"""
version: 1
name: iris
seed: 3
data: {{train: {DATASETS / "iris.csv"}, target: species}}
model:
  layers:
    - {{units: 8, activation: relu, dropout: 0.1}}
    - {{units: 3, activation: softmax}}
loss: categorical_crossentropy
metrics: [accuracy]
optimizer: {{name: adam, learning_rate: 0.01}}
training:
  epochs: {epochs}
  batch_size: 16
{extra}
""",
    )


def weights(path: Path) -> dict[str, bytes]:
    """The raw bytes of every weight array in a checkpoint."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key].tobytes() for key in npz.files if key.startswith("weights/")}
