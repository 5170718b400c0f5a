"""Evaluate a trained model on a data set: the loss and the metrics of its task.

Classification: accuracy, per-class precision, recall and F1, their macro averages and the
confusion matrix. Regression: MSE, RMSE, MAE and R² in the target's original units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.loader import load_config
from nnctl.data import load_eval_data, read_split, test_split
from nnctl.errors import UsageError
from nnctl.store.bundle import model_file
from nnctl.store.model import Model
from nnctl.store.runs import CONFIG_FILE, RUN_FILE, locate_run
from nnctl.training.metrics import (
    classification_report,
    loss_scale,
    predicted_classes,
    regression_report,
    true_classes,
)
from nnctl.training.trainer import Split


def run_of(model: Path) -> Path | None:
    """The run directory a MODEL argument (a path, or a run's name) belongs to, if any."""
    located = locate_run(model)
    if located.is_dir():
        return located
    run = model_file(model).parent.parent
    return run if (run / RUN_FILE).is_file() else None


def evaluation_data(
    model: Model, model_arg: Path, data: Path | None, labels: Path | None
) -> tuple[Split, str]:
    """The data to evaluate on and its description: ``--data`` or the run's test split.

    The data is read in the network's float type, so that a float64 model sees values that
    float32 would round or could not hold.
    """
    dtype = model.network.dtype.type
    if data is not None:
        split = load_eval_data(model.preprocessor, data, labels, dtype=dtype)
        return Split(X=split.X, y=split.y), str(data)
    run = run_of(model_arg)
    if run is None:
        raise UsageError(
            f"{model_arg}: a checkpoint outside a run directory has no test split; "
            "give the data with --data PATH"
        )
    cfg = load_config(run / CONFIG_FILE)
    if cfg.data.test is not None:
        split = read_split(model.preprocessor, cfg.data.test, cfg.data.test_labels, "test", dtype)
        return Split(X=split.X, y=split.y), f"test split of {run}"
    test = test_split(model.preprocessor, cfg, dtype)
    if test is None:
        raise UsageError(
            f"{run}: the run has no test split (data.test_split is 0 and no data.test file); "
            "give the data with --data PATH"
        )
    return Split(X=test.X, y=test.y), f"test split of {run}"


def evaluate_model(model: Model, split: Split) -> dict[str, Any]:
    """Loss and metrics of ``model`` on ``split``, as plain JSON-able data."""
    network, pre = model.network, model.preprocessor
    X = split.X.astype(network.dtype, copy=False)
    loss, output = network.evaluate(X, split.y)
    # In the target's units, as training reports it (the network's loss is on the standardized
    # target).
    loss *= loss_scale(network.loss.name, pre.target.std)
    result: dict[str, Any] = {"n_samples": len(X), "loss": float(loss)}
    if model.task == "regression":
        y_true = pre.inverse_target(np.asarray(split.y))
        y_pred = pre.inverse_target(output)
        result.update(regression_report(y_true, y_pred))
        return result
    names = pre.class_names or [str(k) for k in range(max(pre.n_outputs, 2))]
    y_true = true_classes(model.task, split.y)  # type: ignore[arg-type]
    y_pred = predicted_classes(model.task, output)  # type: ignore[arg-type]
    result.update(classification_report(y_true, y_pred, names))
    return result
