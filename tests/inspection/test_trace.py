"""``nnctl trace``: by hand on the checkpoint's arrays, against predict, and its gradients."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.errors import UsageError
from nnctl.inspection.backward import float64_copy
from nnctl.inspection.trace import trace_row
from nnctl.nn.gradcheck import numerical_gradient
from nnctl.store.model import load_model
from tests.helpers import DATASETS
from tests.inspection.conftest import arrays


def test_each_layer_by_hand(iris_run: Path) -> None:
    report = trace_row(iris_run, 2, split="validation", top=2)
    w = arrays(iris_run)
    x = np.asarray(report["input"]["x"])
    for layer in report["layers"]:
        W, b = w[f"layers.{layer['index']}.W"], w[f"layers.{layer['index']}.b"]
        z = x @ W + b
        assert layer["z"] == pytest.approx(z.tolist(), rel=1e-5, abs=1e-6)
        assert len(layer["units"]) == 2
        for unit in layer["units"]:
            j = unit["unit"]
            products = x * W[:, j]
            top = sorted(np.argsort(-np.abs(products))[:2].tolist())
            assert [t["input"] for t in unit["terms"]] == top
            total = sum(t["product"] for t in unit["terms"]) + unit["rest"] + unit["bias"]
            assert total == pytest.approx(unit["z"], rel=1e-5, abs=1e-6)
            if layer["activation"] == "relu":
                assert (unit["state"] == "inactive") == (unit["z"] <= 0)
        x = np.asarray(layer["a"])
    p = np.asarray(report["output"]["probabilities"])
    assert p.sum() == pytest.approx(1.0)
    true = report["output"]["classes"].index(report["output"]["true_label"])
    assert report["loss"] == pytest.approx(-np.log(p[true]), rel=1e-4)
    assert report["input"]["raw"]["species"] == report["output"]["true_label"]


def test_trace_equals_predict_proba_through_the_cli(iris_run: Path, tmp_path: Path) -> None:
    rows = (DATASETS / "iris.csv").read_text().splitlines()
    data = tmp_path / "few.csv"
    data.write_text("\n".join(rows[:8]) + "\n")
    runner = CliRunner()
    predicted = runner.invoke(app, ["predict", str(iris_run), "--input", str(data), "--proba"])
    assert predicted.exit_code == 0, predicted.output
    table = list(csv.DictReader(io.StringIO(predicted.stdout)))
    for n in (0, 6):
        out = runner.invoke(app, ["trace", str(iris_run), "--input", str(data), "--row", str(n),
                                  "--json"])  # fmt: skip
        assert out.exit_code == 0, out.output
        output = json.loads(out.stdout)["output"]
        expected = [float(table[n][f"proba_{c}"]) for c in output["classes"]]
        assert output["probabilities"] == pytest.approx(expected, rel=1e-6, abs=1e-7)
        assert output["label"] == table[n]["species"]


def test_backward_is_the_engines_and_finite_differences(iris_run: Path) -> None:
    report = trace_row(iris_run, 0, split="test", backward=True, top=3)
    back = report["backward"]
    model = load_model(iris_run)
    net = float64_copy(model.network)
    x = np.asarray([report["input"]["x"]])
    y = np.asarray([report["output"]["classes"].index(report["output"]["true_label"])])
    net.loss_and_gradient(x, y, training=False)
    grads = net.gradients()
    for layer in back["layers"]:
        i = layer["index"]
        assert layer["dL_db"] == pytest.approx(grads[f"layers.{i}.b"].tolist())
        for entry in layer["dL_dW_top"]:
            assert entry["value"] == pytest.approx(
                grads[f"layers.{i}.W"][entry["input"], entry["unit"]]
            )
    W0 = net.parameters()["layers.2.b"]
    numeric = numerical_gradient(lambda: net.loss_value(x, y), W0)
    assert back["layers"][2]["dL_db"] == pytest.approx(numeric.tolist(), rel=1e-5, abs=1e-8)
    step = back["sgd_step"]
    assert step["learning_rate"] == 0.05
    assert step["predicted_change"] == pytest.approx(-0.05 * back["gradient_norm"] ** 2)
    assert step["actual_change"] == pytest.approx(step["predicted_change"], rel=0.2, abs=1e-9)


def test_refusals_are_usage_errors(iris_run: Path) -> None:
    with pytest.raises(UsageError, match="--row 999: the test split has"):
        trace_row(iris_run, 999)
    with pytest.raises(UsageError, match="--split tests: expected one of"):
        trace_row(iris_run, 0, split="tests")
    out = CliRunner().invoke(app, ["trace", str(iris_run), "--row", "0", "--top", "0"])
    assert out.exit_code == 2 and "--top 0" in out.stderr


def test_text_marks_units_and_shows_the_step(iris_run: Path) -> None:
    out = CliRunner().invoke(app, ["trace", str(iris_run), "--row", "1", "--backward"])
    assert out.exit_code == 0, out.output
    assert "z = x @ W + b" in out.stdout and "predicted:" in out.stdout
    assert "one SGD step, lr 0.05000" in out.stdout and "dL/dz" in out.stdout
