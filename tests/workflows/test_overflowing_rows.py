"""Rows the network overflows on: finite inputs, a NaN output. No command makes up an answer.

argmax of a NaN row is 0, so before, predict wrote the first class for it, evaluate counted it as
that class, trace and draw named it, and draw's SVG crashed on a NaN colour; NumPy's warnings named
the engine's source lines on stderr.
"""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from nnctl.config.loader import load_config
from nnctl.data.encoding import TargetMap
from nnctl.inspection.drawing.figure import NOT_FINITE, short
from nnctl.inspection.sources import open_model
from nnctl.nn.network import Network
from nnctl.store.model import load_model
from nnctl.training.metrics import MetricAccumulator, classification_report
from nnctl.training.split import Split
from nnctl.workflows.predict import lost_rows
from nnctl.workflows.report import most_wrong
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config, run_nnctl

FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
# Finite once scaled (the iris model's divisors are near 1); the network's sums overflow on some.
HUGE = [[1e38, -1e38, 1e38, -1e38], [5.1, 3.5, 1.4, 0.2], [-1e38, 1e38, -1e38, 1e38], [1e38] * 4]


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("overflowing-iris")
    return train_run(load_config(iris_config(folder)), runs_dir=folder / "runs").path


@pytest.fixture(scope="module")
def lost(iris: Path) -> np.ndarray:
    """Which rows of HUGE the model's output is not finite for, by the engine itself."""
    model = load_model(iris)
    X = model.preprocessor.transform_features(pd.DataFrame(HUGE, columns=FEATURES), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the engine's passes say nothing of it
        output = model.network.predict(X)
    rows = ~np.isfinite(output).all(axis=1)
    assert rows.any() and not rows.all()  # both kinds, or these tests say nothing
    return rows


@pytest.fixture
def huge_csv(tmp_path: Path) -> Path:
    path = tmp_path / "huge.csv"
    frame = pd.DataFrame(HUGE, columns=FEATURES)
    frame["species"] = ["setosa", "setosa", "virginica", "versicolor"]
    frame.to_csv(path, index=False)
    return path


def test_predict_leaves_them_empty_and_says_which(iris, lost, huge_csv) -> None:
    result = run_nnctl("predict", iris, huge_csv, "--proba")
    assert result.returncode == 0, result.stderr
    out = pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)
    assert len(out) == len(HUGE)
    for i, gone in enumerate(lost):
        assert (out["species"][i] == "") == gone
        assert all((out[f"proba_{c}"][i] == "") == gone for c in ("setosa", "virginica"))
    rows = [str(i + 1) for i in np.flatnonzero(lost)]
    where = f"row {rows[0]}" if len(rows) == 1 else f"rows {', '.join(rows)}"
    assert result.stderr.splitlines() == [
        f"nnctl: warning: {huge_csv}: {where}: the network's output is not finite (its values "
        "are too large for the model's float type), so the prediction is empty"
    ]


def test_evaluate_counts_them_wrong_in_no_column(iris, lost, huge_csv) -> None:
    result = run_nnctl("evaluate", iris, "--data", huge_csv, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    predicted = pd.read_csv(io.StringIO(run_nnctl("predict", iris, huge_csv).stdout))["species"]
    truth = pd.read_csv(huge_csv)["species"]
    assert report["accuracy"] == (predicted == truth).sum() / len(HUGE)
    matrix = np.array(report["confusion_matrix"]["matrix"])
    assert matrix.sum() == len(HUGE) - lost.sum()
    supports = [report["per_class"][c]["support"] for c in report["confusion_matrix"]["labels"]]
    assert supports == [int((truth == c).sum()) for c in report["confusion_matrix"]["labels"]]
    counts = "each counts" if lost.sum() > 1 else "it counts"
    said = f"; {counts} as a wrong prediction, in no column of the confusion matrix"
    assert said in result.stderr
    assert "RuntimeWarning" not in result.stderr


def test_trace_and_draw_show_them_without_naming_a_class(iris, lost, huge_csv, tmp_path) -> None:
    row = int(np.flatnonzero(lost)[0])
    true = pd.read_csv(huge_csv)["species"][row]
    traced = run_nnctl("trace", iris, "--input", huge_csv, "--row", row, "--backward")
    assert traced.returncode == 0, traced.stderr
    assert f"predicted: none (the output is not finite)   true: {true}" in traced.stdout
    assert traced.stderr == ""
    svg = tmp_path / "row.svg"
    drawn = run_nnctl("draw", iris, "--input", huge_csv, "--row", row, "-o", svg)
    assert drawn.returncode == 0, drawn.stderr
    text = svg.read_text()
    assert f"predicted nothing (the output is not finite), true {true}" in text
    assert text.count(f"fill: {NOT_FINITE}") >= 3  # the three output neurons at least
    assert "Warning" not in drawn.stderr


def test_the_reports_worst_rows_show_them_first_with_no_guess(iris, lost, huge_csv) -> None:
    opened = open_model(iris)
    raw = pd.read_csv(huge_csv)
    pre = opened.model.preprocessor
    X = pre.transform_features(raw, np.float32)
    split = Split(X, pre.target.encode(raw["species"].to_numpy(), "huge.csv", np.float32))
    wrong = most_wrong(opened, split, raw, None)
    first = wrong[: int(lost.sum())]
    assert [w.row for w in first] == [int(i) + 1 for i in np.flatnonzero(lost)]
    assert all(w.predicted == "(no prediction)" and np.isnan(w.score) for w in first)
    assert all(w.predicted != "(no prediction)" for w in wrong[len(first) :])


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.42, "0.42"), (-3.1, "-3.10"), (152, "152"), (-9999.4, "-9999"), (9999.6, "1e4"),
     (-2.3e38, "-2e38"), (float("nan"), "nan"), (float("-inf"), "-inf")],
)  # fmt: skip
def test_a_neurons_number_fits_in_five_characters(value: float, text: str) -> None:
    assert short(value) == text
    assert len(text) <= 5


def test_the_shipped_iris_rows_are_all_answered(iris) -> None:
    result = run_nnctl("predict", iris, DATASETS / "iris.csv")
    assert result.returncode == 0 and result.stderr == ""
    assert "" not in pd.read_csv(io.StringIO(result.stdout), keep_default_na=False)["species"]


def test_a_sigmoid_of_an_infinite_logit_is_no_answer() -> None:
    net = Network.build(2, [{"units": 1, "activation": "sigmoid"}], "binary_crossentropy",
                        np.random.default_rng(0))  # fmt: skip
    net.layers[0].W[...] = 1e38  # z = 1e38 * (10 + 10): infinity; sigmoid(inf) = 1 exactly
    X = np.array([[10.0, 10.0], [1e-38, 1e-38]], dtype=np.float32)
    output = net.predict(X)
    assert np.isnan(output[0, 0]) and np.isfinite(output[1, 0])
    _, evaluated = net.evaluate(X, np.array([[1.0], [1.0]], dtype=np.float32))
    assert np.isnan(evaluated[0, 0]) and evaluated[1, 0] == output[1, 0]


def test_training_metrics_count_them_wrong_as_evaluate_does() -> None:
    metrics = MetricAccumulator("classification", n_classes=3)
    output = np.array([[0.9, 0.05, 0.05], [np.nan] * 3, [0.1, 0.8, 0.1], [np.nan] * 3])
    metrics.update(np.array([0, 0, 1, 2]), output)
    assert metrics.result(["accuracy", "recall"]) == {
        "accuracy": 0.5,  # 2 right of 4: the NaN rows are not class 0
        "recall": pytest.approx((1 / 2 + 1 + 0) / 3),
    }
    report = classification_report(np.array([0, 0, 1, 2]), np.array([0, -1, 1, -1]), "abc")
    assert report["accuracy"] == 0.5 and report["macro"]["recall"] == pytest.approx(0.5)


def test_a_regression_value_beyond_float64_in_the_targets_units_has_no_answer() -> None:
    target = TargetMap(task="regression", classes=[], mean=0.0, std=1e300, column="y")
    model = SimpleNamespace(task="regression", preprocessor=SimpleNamespace(
        inverse_target=target.inverse))  # fmt: skip
    output = np.array([[1.0], [1e10], [np.nan]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lost_rows(model, output).tolist() == [1, 2]  # type: ignore[arg-type]
