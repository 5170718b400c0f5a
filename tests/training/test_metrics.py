"""Metrics against values worked out by hand, and batch accumulation against whole-set values."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.training.metrics import (
    MetricAccumulator,
    classification_report,
    confusion_matrix,
    per_class_scores,
    regression_report,
)


def test_confusion_matrix_counts_true_rows_and_predicted_columns() -> None:
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    assert confusion_matrix(y_true, y_pred, 3).tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_per_class_scores_by_hand() -> None:
    cm = np.array([[1, 1, 0], [0, 1, 0], [1, 0, 2]])
    scores = per_class_scores(cm)
    # class 0: tp 1, predicted 2, support 2 -> p 0.5, r 0.5, f1 0.5
    # class 1: tp 1, predicted 2, support 1 -> p 0.5, r 1.0, f1 2/3
    # class 2: tp 2, predicted 2, support 3 -> p 1.0, r 2/3, f1 0.8
    np.testing.assert_allclose(scores["precision"], [0.5, 0.5, 1.0])
    np.testing.assert_allclose(scores["recall"], [0.5, 1.0, 2 / 3])
    np.testing.assert_allclose(scores["f1"], [0.5, 2 / 3, 0.8])


def test_a_class_never_predicted_scores_zero_not_nan() -> None:
    scores = per_class_scores(np.array([[2, 0], [1, 0]]))
    assert scores["precision"].tolist() == [2 / 3, 0.0]
    assert not np.isnan(scores["f1"]).any()


def test_classification_report() -> None:
    report = classification_report(np.array([0, 1, 1]), np.array([0, 1, 0]), ["cat", "dog"])
    assert report["accuracy"] == pytest.approx(2 / 3)
    assert report["confusion_matrix"] == {"labels": ["cat", "dog"], "matrix": [[1, 0], [1, 1]]}
    assert report["per_class"]["dog"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": 2 / 3,
        "support": 2,
    }
    assert report["macro"]["recall"] == pytest.approx(0.75)


def test_regression_report_by_hand() -> None:
    y = np.array([[1.0], [2.0], [3.0], [4.0]])
    p = np.array([[1.0], [2.0], [3.0], [6.0]])
    report = regression_report(y, p)
    assert report["mse"] == pytest.approx(1.0)  # (0 + 0 + 0 + 4) / 4
    assert report["rmse"] == pytest.approx(1.0)
    assert report["mae"] == pytest.approx(0.5)
    assert report["r2"] == pytest.approx(1 - 4 / 5)  # total sum of squares: 2.25+0.25+0.25+2.25


@pytest.mark.parametrize("task", ["classification", "binary", "regression"])
def test_accumulated_batches_equal_the_whole_set(task: str) -> None:
    rng = np.random.default_rng(0)
    n = 103
    if task == "classification":
        y = rng.integers(0, 4, n)
        out = rng.dirichlet(np.ones(4), n)
        names = ["accuracy", "precision", "recall", "f1"]
        k = 4
    elif task == "binary":
        y = rng.integers(0, 2, (n, 1)).astype(float)
        out = rng.random((n, 1))
        names = ["accuracy", "f1"]
        k = 2
    else:
        y = rng.normal(size=(n, 1))
        out = y + rng.normal(scale=0.3, size=(n, 1))
        names = ["mse", "rmse", "mae", "r2"]
        k = 2
    whole = MetricAccumulator(task, k, target_scale=2.0)  # type: ignore[arg-type]
    whole.update(y, out)
    batched = MetricAccumulator(task, k, target_scale=2.0)  # type: ignore[arg-type]
    for start in range(0, n, 10):
        batched.update(y[start : start + 10], out[start : start + 10])
    a, b = whole.result(names), batched.result(names)
    for name in names:
        assert a[name] == pytest.approx(b[name], rel=1e-12)


def test_regression_metrics_are_reported_in_original_units() -> None:
    y = np.array([[0.0], [1.0]])
    out = np.array([[0.5], [1.0]])
    acc = MetricAccumulator("regression", target_scale=10.0)
    acc.update(y, out)
    result = acc.result(["mse", "mae", "r2"])
    assert result["mse"] == pytest.approx(0.125 * 100)
    assert result["mae"] == pytest.approx(0.25 * 10)
    assert result["r2"] == pytest.approx(1 - 0.25 / 0.5)  # scale-free
