"""Evaluate a trained model on a data set: the loss and the metrics of its task.

Classification: accuracy, per-class precision, recall and F1, their macro averages and the
confusion matrix. Regression: MSE, RMSE, MAE and R² in the target's original units.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.loader import load_config
from nnctl.data import load_eval_data, read_split, test_split
from nnctl.data.encoding import describe_rows
from nnctl.errors import NnctlWarning, UsageError
from nnctl.store.bundle import locate_model, model_file
from nnctl.store.model import Model, load_model
from nnctl.store.runs import CONFIG_FILE, RUN_FILE, locate_run
from nnctl.training.metrics import (
    classification_report,
    loss_scale,
    predicted_classes,
    regression_report,
    true_classes,
)
from nnctl.training.split import Split
from nnctl.workflows.predict import lost_rows


def evaluate(
    model: Path, data: Path | None, labels: Path | None, runs_dir: Path | None = None
) -> dict[str, Any]:
    """``nnctl evaluate``'s report: the model, the data, the task, the loss and the metrics.

    ``model`` is a MODEL argument (a run directory, a run's name, a checkpoint file); without
    ``data`` the run's test split is scored.
    """
    located = locate_model(model, runs_dir)
    loaded = load_model(located)
    split, source = evaluation_data(loaded, located, data, labels)
    report = {"model": str(loaded.path), "data": source, "task": loaded.task}
    return report | evaluate_model(loaded, split, source if data is not None else None)


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
        return load_eval_data(model.preprocessor, data, labels, dtype=dtype), str(data)
    run = run_of(model_arg)
    if run is None:
        raise UsageError(
            f"{model_arg}: a checkpoint outside a run directory has no test split; "
            "give the data with --data PATH"
        )
    cfg = load_config(run / CONFIG_FILE)
    if cfg.data.test is not None:
        split = read_split(model.preprocessor, cfg.data.test, cfg.data.test_labels, "test", dtype)
        return split, f"test split of {run}"
    test = test_split(model.preprocessor, cfg, dtype)
    if test is None:
        raise UsageError(
            f"{run}: the run has no test split (data.test_split is 0 and no data.test file); "
            "give the data with --data PATH"
        )
    return test, f"test split of {run}"


def evaluate_model(model: Model, split: Split, file: str | None = None) -> dict[str, Any]:
    """Loss and metrics of ``model`` on ``split``, as plain JSON-able data.

    ``file`` names the data when the split is all of a file's rows, in order: a warning about
    rows whose output is not finite then gives their numbers.
    """
    network, pre = model.network, model.preprocessor
    X = split.X.astype(network.dtype, copy=False)
    loss, output = network.evaluate(X, split.y)
    lost = lost_rows(model, output)
    if len(lost):
        _warn_unfinished(model, lost, len(X), file)
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
    y_true = true_classes(model.task, split.y)
    y_pred = predicted_classes(model.task, output)
    y_pred[lost] = -1  # no prediction: a wrong answer, in no column of the confusion matrix
    result.update(classification_report(y_true, y_pred, names))
    return result


def _warn_unfinished(model: Model, lost: np.ndarray, n: int, file: str | None) -> None:
    where = f"{file}: {describe_rows(lost)}" if file is not None else f"{len(lost)} of {n} rows"
    counted = (
        "the loss and metrics are not finite"
        if model.task == "regression"
        else f"{'each' if len(lost) > 1 else 'it'} counts as a wrong prediction, in no column of "
        "the confusion matrix"
    )
    warnings.warn(
        f"{where}: the network's output is not finite (its values are too large for the model's "
        f"float type); {counted}",
        NnctlWarning,
        stacklevel=3,
    )
