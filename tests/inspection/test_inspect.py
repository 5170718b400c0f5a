"""``nnctl inspect``: each statistic against numpy on the checkpoint's own arrays."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.data.load import run_split
from nnctl.errors import UsageError
from nnctl.inspection.heatmap import block_average, top_inputs
from nnctl.inspection.inspect import inspect_model
from nnctl.inspection.stats import ActivationStats
from nnctl.store.model import load_model
from tests.inspection.conftest import arrays


def _relu(z: np.ndarray) -> np.ndarray:
    return np.maximum(z, 0)


def test_weight_statistics_are_numpys(iris_run: Path) -> None:
    report = inspect_model(iris_run)
    w = arrays(iris_run)
    total = sum(a.size for a in w.values())
    assert report["total_params"] == total == 6 * 4 + 6 + 4 * 6 + 4 + 3 * 4 + 3
    assert report["bytes"] == 4 * total
    for row in report["layers"]:
        W, b = w[f"layers.{row['index']}.W"], w[f"layers.{row['index']}.b"]
        assert (row["n_in"], row["units"]) == W.shape and row["params"] == W.size + b.size
        assert row["share"] == pytest.approx((W.size + b.size) / total)
        assert row["weights"]["mean"] == pytest.approx(W.mean())
        assert row["weights"]["std"] == pytest.approx(W.std())
        assert row["weights"]["norm"] == pytest.approx(np.sqrt((W**2).sum()))
        assert (row["weights"]["min"], row["weights"]["max"]) == (W.min(), W.max())
        assert row["bias"]["norm"] == pytest.approx(np.linalg.norm(b))
        assert row["dead_fraction"] is None and row["saturated_fraction"] is None
    # relu: he_uniform, sqrt(2 / n_in); tanh and softmax: glorot, sqrt(2 / (n_in + units)).
    stds = [row["init_std"] for row in report["layers"]]
    assert stds == pytest.approx([np.sqrt(2 / 4), np.sqrt(2 / 10), np.sqrt(2 / 7)])
    assert report["epochs"] == 2 and report["best_epoch"] in (1, 2)
    assert report["optimizer_state"] is not None


def test_activation_statistics_by_hand(iris_run: Path) -> None:
    report = inspect_model(iris_run, data="validation")
    model = load_model(iris_run)
    split = run_split(model.preprocessor, load_config(iris_run / "config.yaml"), "validation",
                      np.float32)  # fmt: skip
    assert split is not None
    w = arrays(iris_run)
    z0 = split.split.X.astype(np.float64) @ w["layers.0.W"] + w["layers.0.b"]
    a0 = _relu(z0)
    a1 = np.tanh(a0 @ w["layers.1.W"] + w["layers.1.b"])
    assert report["n_rows"] == len(split.split)
    first, second, last = report["layers"]
    assert first["activations"]["mean"] == pytest.approx(a0.mean(), rel=1e-5)
    assert first["activations"]["std"] == pytest.approx(a0.std(), rel=1e-4)
    assert first["dead_fraction"] == pytest.approx(np.mean(z0.max(axis=0) <= 0))
    assert first["saturated_fraction"] is None
    assert second["activations"]["mean"] == pytest.approx(a1.mean(), rel=1e-4, abs=1e-6)
    near = np.minimum(np.abs(a1 + 1), np.abs(a1 - 1)) < 0.01
    assert second["saturated_fraction"] == pytest.approx(np.mean(near.mean(axis=0) > 0.99))
    assert second["dead_fraction"] is None and last["dead_fraction"] is None


def test_dead_and_saturated_units_are_counted() -> None:
    relu = ActivationStats("relu", 3)
    Z = np.array([[-1.0, 2.0, 0.0], [-0.5, -1.0, 0.0]])
    relu.add(Z, np.maximum(Z, 0))
    assert relu.dead_fraction() == pytest.approx(2 / 3)  # units 0 and 2 never positive
    sig = ActivationStats("sigmoid", 2)
    A = np.vstack([np.full((199, 2), 0.995), [[0.5, 0.995]]])  # unit 0 near 1 on 199/200 rows
    sig.add(A, A)
    assert sig.saturated_fraction() == pytest.approx(1.0)  # 99.5% > 99%
    sig.add(np.array([[0.5, 0.5]] * 2), np.array([[0.5, 0.5]] * 2))
    assert sig.saturated_fraction() == pytest.approx(0.5)  # unit 0: 199/202 = 98.5%


def test_block_average_and_top_inputs() -> None:
    W = np.arange(24, dtype=float).reshape(6, 4)
    blocks = block_average(W, 3, 2)
    assert blocks["row_edges"] == [0, 2, 4, 6] and blocks["col_edges"] == [0, 2, 4]
    assert blocks["values"][0] == [W[:2, :2].mean(), W[:2, 2:].mean()]
    assert block_average(W, 10, 10)["values"] == W.tolist()
    top = top_inputs(np.array([[1.0, -1.0], [0.0, 5.0], [-3.0, 0.5]]), ["a", "b", "c"], k=2)
    assert [(t["name"], t["total_abs_w"]) for t in top] == [("b", 5.0), ("c", 3.5)]


def test_layer_heatmap_names_the_csv_columns(iris_run: Path) -> None:
    detail = inspect_model(iris_run, layer=0)["layer"]
    assert detail["shape"] == [4, 6]
    assert {t["name"] for t in detail["top_inputs"]} == {
        "sepal_length", "sepal_width", "petal_length", "petal_width"}  # fmt: skip
    with pytest.raises(UsageError, match="--layer 3: the network has layers 0 to 2"):
        inspect_model(iris_run, layer=3)


def test_cli_json_table_and_errors(iris_run: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["inspect", str(iris_run), "--json", "--data", "test"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.stdout)
    assert set(report["layers"][0]) >= {"index", "n_in", "units", "activation", "params",
        "weights", "bias", "init_std", "dead_fraction", "saturated_fraction"}  # fmt: skip
    assert report["total_params"] == 73
    text = runner.invoke(app, ["inspect", str(iris_run), "--data", "train", "--layer", "1"])
    assert text.exit_code == 0 and "W 6x4" in text.stdout and "saturated" in text.stdout
    assert "#" in text.stdout or "@" in text.stdout  # ASCII heatmap: not a terminal
    bad = runner.invoke(app, ["inspect", str(iris_run), "--data", "nowhere.csv"])
    assert bad.exit_code == 3 and "nowhere.csv" in bad.stderr and "Traceback" not in bad.output
    (tmp_path / "x.npz").write_bytes(b"junk")
    assert runner.invoke(app, ["inspect", str(tmp_path / "x.npz")]).exit_code == 3
