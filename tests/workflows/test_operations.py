"""Each command's operation called as a library: what the cli files hand to render or JSON."""

from __future__ import annotations

from pathlib import Path

import pytest

from nnctl.config.loader import load_config
from nnctl.errors import ConfigError, UsageError
from nnctl.store.record import read_record
from nnctl.workflows.build import build_schedule
from nnctl.workflows.evaluate import evaluate
from nnctl.workflows.records import SUMMARY_KEYS
from nnctl.workflows.runs import runs_in
from nnctl.workflows.train import train_run
from nnctl.workflows.validate import validate
from tests.helpers import CONFIGS, iris_config


def test_validate_without_data_leaves_the_input_width_unknown() -> None:
    checked = validate(CONFIGS / "iris.yaml", read_data=False)
    assert len(checked.table.rows) == 1 + len(checked.config.model.layers)  # the input row too
    assert checked.table.rows[1][-1] == "?" and checked.table.footer[-1] == "?"
    assert checked.inputs.startswith("inputs: ? features")
    with_data = validate(CONFIGS / "iris.yaml")
    assert with_data.table.rows[1][-1] == str(4 * 16 + 16)
    assert with_data.inputs.startswith("inputs: 4 features")


def test_validate_refuses_what_training_refuses() -> None:
    with pytest.raises(ConfigError, match=r"model\.layers\[1\]\.units"):
        validate(CONFIGS / "iris.yaml", ["model.layers.1.units=2"])


def test_runs_in_a_missing_runs_dir_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such directory"):
        runs_in(tmp_path / "nowhere")
    assert runs_in(tmp_path) == []


def test_train_then_evaluate_and_the_summary_follow_the_record(tmp_path: Path) -> None:
    result = train_run(load_config(iris_config(tmp_path, epochs=2)), runs_dir=tmp_path / "runs")
    summary = result.summary()
    assert list(summary) == ["run", *SUMMARY_KEYS, "test"]
    record = read_record(result.path)
    assert summary["status"] == record.status == "completed"
    assert summary["epochs_done"] == record.epochs_done == 2
    assert summary["test"] == result.test_metrics
    [found] = runs_in(tmp_path / "runs")
    assert found.path == result.path and found.epochs == 2
    report = evaluate(result.path, None, None)
    assert report["model"].endswith("best.npz") and report["task"] == "classification"
    assert report["data"] == f"test split of {result.path}"
    assert report["loss"] == pytest.approx(summary["test"]["loss"], rel=1e-5)


@pytest.mark.parametrize(("monitor", "kept"), [("val_accuracy", True), ("val_loss", False)])
def test_reduce_on_plateau_follows_the_monitors_direction(tmp_path: Path, monitor: str, kept: bool):
    """The engine knows no metrics: the workflow gives the schedule its monitor's direction."""
    extra = f"schedule: {{name: reduce_on_plateau, monitor: {monitor}, patience: 0}}"
    schedule = build_schedule(load_config(iris_config(tmp_path, extra=extra)))
    schedule.on_epoch_end(0, {monitor: 0.5})
    schedule.on_epoch_end(1, {monitor: 0.6})  # higher: better for accuracy, worse for a loss
    assert schedule.lr(2) == pytest.approx(0.01 if kept else 0.001)
