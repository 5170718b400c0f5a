"""A small iris run (tanh hidden layer, 2 epochs), trained once for the inspection tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, write_config


@pytest.fixture(scope="session")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("inspection")
    config = write_config(
        folder,
        f"""
version: 1
name: iris
seed: 1
data: {{train: {DATASETS / "iris.csv"}, target: species}}
model:
  layers:
    - {{units: 6, activation: relu}}
    - {{units: 4, activation: tanh}}
    - {{units: 3, activation: softmax}}
loss: categorical_crossentropy
optimizer: {{name: sgd, learning_rate: 0.05}}
training: {{epochs: 2, batch_size: 16}}
""",
    )
    return train_run(load_config(config), runs_dir=folder / "runs").path


def arrays(run: Path) -> dict[str, np.ndarray]:
    """The weights of the run's best checkpoint, by name (``layers.0.W``, ...), in float64."""
    with np.load(run / "checkpoints" / "best.npz", allow_pickle=False) as npz:
        return {k.removeprefix("weights/"): npz[k].astype(np.float64) for k in npz.files
                if k.startswith("weights/")}  # fmt: skip
