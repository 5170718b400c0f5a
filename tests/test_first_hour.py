"""A new user's first hour: the loss in the target's units, even number formats, a readable
``runs list`` at 80 columns, an ETA and a loading status, and a diabetes example that works."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from helpers import CONFIGS, run_nnctl
from nnctl.callbacks import EarlyStopping
from nnctl.metrics import loss_scale
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optimizers import get_optimizer
from nnctl.nn.schedules import get_schedule
from nnctl.training import Split, Trainer

# --- the loss in the target's units ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "power"), [("mse", 2), ("mae", 1), ("huber", 2)])
def test_a_regression_loss_scales_with_the_target_unit(name: str, power: int) -> None:
    assert loss_scale(name, 3.0) == 3.0**power


@pytest.mark.parametrize("name", ["categorical_crossentropy", "binary_crossentropy"])
def test_a_classification_loss_is_unscaled(name: str) -> None:
    assert loss_scale(name, 1.0) == 1.0


def test_scaled_huber_is_huber_of_real_residuals_with_delta_times_std() -> None:
    rng = np.random.default_rng(0)
    std, delta = 57.0, 1.0
    y, A = rng.normal(size=(200, 1)), rng.normal(scale=2.0, size=(200, 1))  # |r| on both sides
    standardized = get_loss("huber", delta=delta).value(A, A, y)
    real = get_loss("huber", delta=delta * std).value(A * std, A * std, y * std)
    assert standardized * loss_scale("huber", std) == pytest.approx(real, rel=1e-12)


def _regression_trainer(loss: str, target_scale: float, epochs: int = 30) -> Trainer:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(120, 3))
    y = (X @ np.array([[1.0], [-2.0], [0.5]]) + 0.3 * rng.normal(size=(120, 1))).reshape(-1, 1)
    network = Network.build(
        n_inputs=3,
        layers=[{"units": 8, "activation": "relu"}, {"units": 1, "activation": "linear"}],
        loss=get_loss(loss),
        rng=np.random.default_rng(2),
        dtype=np.dtype(np.float64),
    )
    network.attach_optimizer(get_optimizer("adam", learning_rate=0.01))
    return Trainer(
        network,
        Split(X[:90], y[:90]),
        Split(X[90:], y[90:]),
        task="regression",
        metrics=["mse", "mae"],
        epochs=epochs,
        batch_size=16,
        shuffle=True,
        schedule=get_schedule("constant", base_lr=0.01),
        rng=np.random.default_rng(3),
        target_scale=target_scale,
        callbacks=[EarlyStopping(patience=2)],
    )


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_the_logged_loss_is_the_metric_of_the_same_name(loss: str) -> None:
    history = _regression_trainer(loss, target_scale=250.0).fit()
    for logs in history:
        assert logs["loss"] == pytest.approx(logs[loss], rel=1e-9)
        assert logs["val_loss"] == pytest.approx(logs[f"val_{loss}"], rel=1e-9)


def test_scaling_the_loss_changes_neither_the_training_nor_the_best_epoch() -> None:
    plain, scaled = _regression_trainer("mse", 1.0), _regression_trainer("mse", 100.0)
    plain_history, scaled_history = plain.fit(), scaled.fit()
    assert len(plain_history) == len(scaled_history) < 30  # early stopping stopped both alike
    for a, b in zip(plain_history, scaled_history, strict=True):
        assert b["val_loss"] == pytest.approx(a["val_loss"] * 100.0**2, rel=1e-9)
    for key, value in plain.network.state_dict().items():
        np.testing.assert_array_equal(value, scaled.network.state_dict()[key])


def test_train_summary_metrics_csv_and_evaluate_report_the_loss_in_target_units(
    tmp_path: Path,
) -> None:
    trained = run_nnctl(
        "train",
        CONFIGS / "diabetes.yaml",
        "--set",
        "training.epochs=3",
        "--set",
        "metrics=[mse, mae]",
        "--runs-dir",
        tmp_path,
    )
    assert trained.returncode == 0, trained.stderr
    run = Path(trained.stdout.strip())
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        assert float(row["train_loss"]) == pytest.approx(float(row["train_mse"]), rel=1e-4)
        assert float(row["val_loss"]) == pytest.approx(float(row["val_mse"]), rel=1e-4)
        assert float(row["val_loss"]) > 100  # mse of a score in the hundreds, not about 1
    summary = json.loads((run / "summary.json").read_text())
    assert summary["loss"] == pytest.approx(summary["mse"], rel=1e-4)
    evaluated = run_nnctl("evaluate", run, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    report = json.loads(evaluated.stdout)
    assert report["loss"] == pytest.approx(report["mse"], rel=1e-4)
    run_json = json.loads((run / "run.json").read_text())
    assert run_json["monitor"] == "val_loss"
    best = rows[run_json["best_epoch"] - 1]
    assert run_json["best_value"] == pytest.approx(float(best["val_loss"]), rel=1e-5)
