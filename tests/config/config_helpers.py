"""Shared by the config tests: paths, a valid config text, and `problems_of`."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from nnctl.config.loader import load_config
from nnctl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
CONFIGS = ROOT / "configs"
BROKEN = Path(__file__).resolve().parent / "broken"

VALID = """\
version: 1
data:
  train: data/iris.csv
  target: species
model:
  layers:
    - {units: 16, activation: relu}
    - {units: 3, activation: softmax}
loss: categorical_crossentropy
metrics: [accuracy]
optimizer: {name: adam, learning_rate: 0.01}
training:
  epochs: 100
  batch_size: 16
  early_stopping: {monitor: val_loss, patience: 20}
"""
"""A small valid config; line numbers in the tests refer to it."""


def problems_of(path: Path | str, overrides: Sequence[str] = ()) -> list[str]:
    """The problems `load_config` reports; fails the test if the config loads."""
    with pytest.raises(ConfigError) as caught:
        load_config(path, overrides)
    return caught.value.problems


Writer = Callable[..., Path]
