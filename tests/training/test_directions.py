"""Each metric's direction (higher or lower is better) comes from one table; its users follow it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from nnctl.cli.render.formats import format_metric
from nnctl.training.callbacks import MetricsWriter
from nnctl.training.metrics import (
    CLASSIFICATION_METRICS,
    DIRECTIONS,
    REGRESSION_METRICS,
    direction,
)
from nnctl.training.monitors import Monitor, monitor_mode
from nnctl.training.split import Split
from nnctl.training.trainer import Trainer


def test_every_metric_and_the_loss_have_a_direction() -> None:
    assert set(DIRECTIONS) == {"loss", *CLASSIFICATION_METRICS, *REGRESSION_METRICS}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("loss", "min"),
        ("val_loss", "min"),
        ("accuracy", "max"),
        ("val_f1", "max"),
        ("r2", "max"),
        ("val_mae", "min"),
        ("rmse", "min"),
        ("huber", "min"),  # not in the table: a loss, lower is better
    ],
)
def test_direction_handles_the_val_prefix(name: str, expected: str) -> None:
    assert direction(name) == expected


@pytest.mark.parametrize("name", sorted({f"{p}{m}" for p in ("", "val_") for m in DIRECTIONS}))
def test_monitors_follow_the_table_unless_the_mode_says(name: str) -> None:
    assert monitor_mode(name, "auto") == direction(name)
    assert monitor_mode(name, "min") == "min"
    assert monitor_mode(name, "max") == "max"
    tracker = Monitor(name)
    assert tracker.improved(1.0)
    tracker.record(1, 1.0)
    assert tracker.improved(2.0) is (direction(name) == "max")


def test_the_terminal_shows_the_higher_is_better_scores_with_four_decimals() -> None:
    for name, better in DIRECTIONS.items():
        shown = format_metric(0.0123456, f"val_{name}")
        assert shown == ("0.0123" if better == "max" else "0.01235"), name


class Rows:
    """A metrics file that keeps its rows in memory: anything with ``append`` will do."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def append(self, row: Mapping[str, Any]) -> None:
        self.rows.append(dict(row))


def test_the_metrics_writer_takes_any_rows_sink() -> None:
    rows = Rows()
    writer = MetricsWriter(rows)
    trainer = Trainer.__new__(Trainer)  # only what the writer reads of a trainer
    trainer.epoch_started = 0.0
    writer.on_train_begin(trainer)
    writer.on_epoch_end(3, {"loss": 0.5, "val_loss": 0.7, "lr": 0.01})
    assert rows.rows[0]["epoch"] == 3
    assert rows.rows[0]["train_loss"] == 0.5 and rows.rows[0]["val_loss"] == 0.7
    assert rows.rows[0]["seconds"] > 0


def test_split_is_the_one_type_data_and_training_share() -> None:
    from nnctl.data import Split as DataSplit

    assert DataSplit is Split
    assert len(Split(np.zeros((4, 2), dtype=np.float32), np.zeros(4))) == 4


def test_training_imports_nothing_of_store_config_data_or_workflows() -> None:
    code = (
        "import sys, nnctl.training.trainer, nnctl.training.callbacks, nnctl.training.monitors;"
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'nnctl.store', 'nnctl.config', 'nnctl.data', 'nnctl.workflows', 'nnctl.cli'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
