"""A run's learning curves read as plain data: loss, metrics, lr, update ratios, best epoch."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

from nnctl.errors import CheckpointError, UsageError
from nnctl.inspection.curves import Curve, log_scale_suits, read_curves


def test_the_curves_of_a_run_match_its_files(iris_run: Path) -> None:
    curves = read_curves(iris_run)
    assert curves.name == iris_run.name
    assert [c.label for c in curves.loss] == ["train", "validation"]
    assert curves.loss[0].x == (1, 2)
    first = (iris_run / "metrics.csv").read_text().splitlines()[1].split(",")
    assert curves.loss[0].y[0] == pytest.approx(float(first[1]))
    assert curves.lr is not None and curves.lr.y == (0.05, 0.05)
    assert curves.update_ratio is not None
    assert [c.label for c in curves.update_ratio] == ["layer 0", "layer 1", "layer 2"]
    assert curves.update_ratio[0].x == (1, 2)  # epoch 0 (initialization) has no update
    assert curves.best_epoch in (1, 2) and curves.monitor == "val_loss"
    assert curves.task == "classification"


def test_metrics_are_grouped_by_name(tmp_path: Path, iris_run: Path) -> None:
    run = tmp_path / "r"
    shutil.copytree(iris_run, run)
    (run / "metrics.csv").write_text(
        "epoch,train_loss,train_accuracy,val_accuracy,lr,seconds\n1,0.9,0.5,,0.1,0.1\n2,0.5,0.7,,0.1,0.1\n"
    )
    (run / "layer_stats.csv").unlink()
    curves = read_curves(run)
    assert [c.label for c in curves.loss] == ["train"]
    assert not curves.has_validation
    assert list(curves.metrics) == ["accuracy"]
    assert [c.label for c in curves.metrics["accuracy"]] == ["train"]  # empty column left out
    assert curves.update_ratio is None


def test_an_empty_cell_is_nan(tmp_path: Path, iris_run: Path) -> None:
    run = tmp_path / "r"
    shutil.copytree(iris_run, run)
    (run / "metrics.csv").write_text("epoch,train_loss,val_loss,lr\n1,0.9,,0.1\n2,0.5,0.4,0.1\n")
    curve = read_curves(run).loss[1]
    assert math.isnan(curve.y[0]) and curve.finite() == [(2, 0.4)]


def test_a_damaged_metrics_file_names_the_file(tmp_path: Path, iris_run: Path) -> None:
    run = tmp_path / "r"
    shutil.copytree(iris_run, run)
    (run / "metrics.csv").write_text("epoch,train_loss\n1,abc\n")
    with pytest.raises(CheckpointError, match=r"metrics.csv.*line 2.*train_loss"):
        read_curves(run)


def test_no_such_run_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such run"):
        read_curves(tmp_path / "nothing")


def test_log_scale_only_for_positive_errors() -> None:
    up = Curve("train", (1, 2), (0.5, 0.25))
    assert log_scale_suits("loss", [up])
    assert not log_scale_suits("accuracy", [up])
    assert not log_scale_suits("loss", [Curve("train", (1, 2), (0.5, 0.0))])
    assert not log_scale_suits("lr", [Curve("lr", (1, 2), (0.1, 0.1))])
    assert log_scale_suits("lr", [Curve("lr", (1, 2), (0.1, 0.01))])
