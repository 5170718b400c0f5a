"""Metrics of predictions: accuracy, precision/recall/F1, confusion matrix; MSE, RMSE, MAE, R².

Training reports metrics from the batches' own forward passes, so every metric here is computed
from sufficient statistics that add up batch by batch: a confusion matrix for classification,
sums of errors and of targets for regression. `MetricAccumulator` keeps them; `update` takes one
batch, `result` gives the metrics of everything seen so far.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

Task = Literal["classification", "binary", "regression"]

Direction = Literal["min", "max"]

CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")

DIRECTIONS: dict[str, Direction] = {
    "loss": "min",
    "accuracy": "max",
    "precision": "max",
    "recall": "max",
    "f1": "max",
    "mse": "min",
    "rmse": "min",
    "mae": "min",
    "r2": "max",
}
"""Whether a smaller (``min``) or a larger (``max``) value of each logged quantity is better."""


def direction(name: str) -> Direction:
    """``max`` when a larger value of ``name`` is better, else ``min``: the one rule for both.

    ``val_accuracy`` goes the way ``accuracy`` does; a name `DIRECTIONS` does not know (a loss,
    an error) is ``min``.
    """
    return DIRECTIONS.get(name.removeprefix("val_"), "min")


# How a regression loss grows with the target's unit: ``L(s r) = s**power L(r)`` for residuals
# ``r``; for huber, with its ``delta`` scaled by ``s`` too (see `loss_scale`).
LOSS_UNIT_POWER = {"mse": 2, "mae": 1, "huber": 2}


SQUARED_UNITS = ("mse", "huber", "rmse", "r2")
"""The losses and metrics computed from squared residuals in the target's units."""


def target_scale_problem(names: Sequence[str], target_std: float) -> str | None:
    """Why the losses and metrics ``names`` cannot be computed in the target's units, or None.

    Squared residuals of a target whose standard deviation is beyond 1.3e+154 overflow float64:
    ``loss inf`` would read as a diverged training, ``r2 nan`` as a broken one.
    """
    squared = [name for name in SQUARED_UNITS if name in names]
    if not squared or abs(target_std) < math.sqrt(sys.float_info.max):
        return None
    return (
        f"its standard deviation, {target_std:.3g}, squared is beyond the float64 range: "
        f"{', '.join(squared)} cannot be computed in the target's units"
    )


def loss_scale(loss_name: str, target_std: float) -> float:
    """The factor that turns a loss on the standardized target into the target's own units.

    Regression targets are trained standardized, ``y_std = (y - mean) / std``, so residuals are
    ``r = r_real / std``. The optimizer minimizes the loss of ``r``; people read it in the units
    of their metrics, ``loss_real = loss * std**power``.

    Parameters
    ----------
    loss_name : str
        The loss's registry name (``mse``, ``huber``, ...).
    target_std : float
        The training target's standard deviation (1.0 for classification).

    Returns
    -------
    float
        ``std**2`` for mse, ``std`` for mae, ``std**2`` for huber, 1.0 for the cross-entropies.

    Notes
    -----
    All three are exact. For mse and mae it is the mean of ``r_real**2`` or ``|r_real|``. Huber
    with threshold ``delta`` on the standardized target is, times ``std**2``, Huber of the real
    residuals with threshold ``delta * std``: with ``r_real = std r`` and ``d = std delta``,
    ``0.5 r_real**2 = std**2 (0.5 r**2)`` and ``d (|r_real| - 0.5 d) = std**2 delta (|r| - 0.5
    delta)``. So the reported huber is in the target's squared units, its ``delta`` the
    configured one times ``std``.
    """
    power = LOSS_UNIT_POWER.get(loss_name)
    return 1.0 if power is None else float(target_std) ** power


def predicted_classes(task: Task, output: np.ndarray) -> np.ndarray:
    """Class indices from a network's output: argmax of softmax rows, or sigmoid >= 0.5."""
    if task == "binary":
        return (output.reshape(-1) >= 0.5).astype(np.int64)
    classes: np.ndarray = np.argmax(output, axis=1)
    return classes


def finite_rows(output: np.ndarray) -> np.ndarray:
    """Which rows of a network's ``output`` hold only finite numbers (a mask)."""
    mask: np.ndarray = np.isfinite(output.reshape(len(output), -1)).all(axis=1)
    return mask


def unfinished_rows(output: np.ndarray) -> np.ndarray:
    """The rows of a network's ``output`` that hold NaN or infinity (it overflowed), as indices."""
    return np.flatnonzero(~finite_rows(output))


def true_classes(task: Task, y: np.ndarray) -> np.ndarray:
    """Class indices of targets: integer indices as they are, binary 0/1 floats as integers."""
    if task == "binary":
        return y.reshape(-1).astype(np.int64)
    return y.astype(np.int64, copy=False)


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """Counts ``C[i, j]`` of samples of true class ``i`` predicted as class ``j``.

    Parameters
    ----------
    y_true, y_pred : ndarray of shape (n_samples,)
        Class indices in ``[0, n_classes)``.
    n_classes : int

    Returns
    -------
    ndarray of shape (n_classes, n_classes), int64
    """
    flat = y_true.astype(np.int64) * n_classes + y_pred.astype(np.int64)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)


def per_class_scores(cm: np.ndarray, support: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Precision, recall, F1 and support of every class from a confusion matrix.

    ``support`` (the rows of each true class) defaults to the matrix's row sums; it is larger
    where some rows have no prediction.

    Notes
    -----
    ``precision_k = C[k, k] / sum_i C[i, k]``, ``recall_k = C[k, k] / sum_j C[k, j]``,
    ``f1_k = 2 precision_k recall_k / (precision_k + recall_k)``; a ratio whose denominator is
    zero is 0, as scikit-learn's ``zero_division=0``.
    """
    tp = np.diag(cm).astype(np.float64)
    predicted = cm.sum(axis=0).astype(np.float64)
    support = (cm.sum(axis=1) if support is None else support).astype(np.float64)
    precision = _safe_divide(tp, predicted)
    recall = _safe_divide(tp, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def _safe_divide(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.zeros_like(a, dtype=np.float64)
    np.divide(a, b, out=out, where=b != 0)
    return out


class MetricAccumulator:
    """Adds up the sufficient statistics of metrics over batches.

    Parameters
    ----------
    task : {"classification", "binary", "regression"}
    n_classes : int
        Number of classes (2 for binary); ignored for regression.
    target_scale : float
        Regression targets are trained standardized; errors are multiplied by this (the training
        standard deviation) so that MSE, RMSE and MAE are in the target's original units.
    """

    def __init__(self, task: Task, n_classes: int = 2, target_scale: float = 1.0) -> None:
        self.task = task
        self.n_classes = n_classes
        self.target_scale = float(target_scale)
        self.reset()

    def reset(self) -> None:
        """Forget every batch seen so far."""
        self.count = 0
        self.n_values = 0
        self.cm = np.zeros((self.n_classes, self.n_classes), dtype=np.int64)
        self.support = np.zeros(self.n_classes, dtype=np.int64)  # with rows of no prediction
        self.sse = 0.0
        self.sae = 0.0
        self.sum_y = 0.0
        self.sum_y2 = 0.0

    def update(self, y: np.ndarray, output: np.ndarray) -> None:
        """Add one batch: targets ``y`` and the network's ``output`` for it."""
        self.count += len(y)
        if self.task == "regression":
            err = output.astype(np.float64) - y.reshape(output.shape)
            self.n_values += err.size
            self.sse += float(np.einsum("ij,ij->", err, err))
            self.sae += float(np.abs(err).sum())
            y64 = y.reshape(output.shape).astype(np.float64)
            self.sum_y += float(y64.sum())
            self.sum_y2 += float(np.einsum("ij,ij->", y64, y64))
        else:
            pred, true = predicted_classes(self.task, output), true_classes(self.task, y)
            made = finite_rows(output)  # else no prediction: wrong
            self.cm += confusion_matrix(true[made], pred[made], self.n_classes)
            self.support += np.bincount(true, minlength=self.n_classes)

    def result(self, names: Sequence[str]) -> dict[str, float]:
        """The metrics ``names`` of everything seen since the last `reset`."""
        if self.count == 0:
            return {name: float("nan") for name in names}
        values = self._regression() if self.task == "regression" else self._classification()
        return {name: values[name] for name in names}

    def _classification(self) -> dict[str, float]:
        scores = per_class_scores(self.cm, self.support)
        return {
            "accuracy": float(np.trace(self.cm) / self.count),
            "precision": float(scores["precision"].mean()),
            "recall": float(scores["recall"].mean()),
            "f1": float(scores["f1"].mean()),
        }

    def _regression(self) -> dict[str, float]:
        n = max(self.n_values, 1)
        mse = self.sse / n
        mean = self.sum_y / n
        total = self.sum_y2 - n * mean * mean
        s = self.target_scale
        return {
            "mse": mse * s * s,
            "rmse": float(np.sqrt(mse)) * s,
            "mae": self.sae / n * s,
            "r2": 1.0 - self.sse / total if total > 0 else float("nan"),
        }


def classification_report(
    y_true: np.ndarray, y_pred: np.ndarray, class_names: Sequence[str]
) -> dict[str, Any]:
    """Accuracy, per-class and macro precision/recall/F1 and the confusion matrix, as plain data.

    A row predicted as -1 has no prediction (its output was not finite): it counts as a wrong
    answer (in the accuracy and in its class's recall and support) and in no column of the matrix.
    """
    n = len(class_names)
    made = y_pred >= 0
    cm = confusion_matrix(y_true[made], y_pred[made], n)
    scores = per_class_scores(cm, np.bincount(y_true.astype(np.int64), minlength=n))
    per_class = {
        str(name): {key: float(scores[key][k]) for key in ("precision", "recall", "f1")}
        | {"support": int(scores["support"][k])}
        for k, name in enumerate(class_names)
    }
    return {
        "accuracy": float(np.trace(cm) / max(len(y_true), 1)),
        "macro": {key: float(scores[key].mean()) for key in ("precision", "recall", "f1")},
        "per_class": per_class,
        "confusion_matrix": {
            "labels": [str(name) for name in class_names],
            "matrix": cm.tolist(),
        },
    }


def regression_report(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MSE, RMSE, MAE and R² of predictions in the target's own units.

    Notes
    -----
    ``R² = 1 - sum (y - ŷ)² / sum (y - mean(y))²``, over all outputs together.
    """
    y = y_true.astype(np.float64).reshape(y_pred.shape)
    with np.errstate(over="ignore", invalid="ignore"):  # a prediction that overflowed: inf, NaN
        err = y_pred.astype(np.float64) - y
        mse = float(np.mean(err**2))
        mae = float(np.mean(np.abs(err)))
        sse = float(np.sum(err**2))
    total = float(np.sum((y - y.mean()) ** 2))
    return {
        "mse": mse,
        "rmse": float(np.sqrt(mse)),
        "mae": mae,
        "r2": 1.0 - sse / total if total > 0 else float("nan"),
    }
