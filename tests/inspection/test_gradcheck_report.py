"""`nnctl gradcheck`: every registry entry passes, a broken backward fails with exit 5."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.inspection.gradcheck import band, gradcheck_network
from nnctl.nn.activations import ACTIVATIONS, ReLU, Tanh
from nnctl.nn.losses import LOSSES, OUTPUT_LAYERS
from nnctl.nn.network import Network
from nnctl.workflows.gradcheck import gradcheck
from tests.helpers import CONFIGS, iris_config, run_nnctl

RNG = np.random.default_rng(5)
X = RNG.standard_normal((4, 3))


def _targets(loss: str, units: int) -> np.ndarray:
    rng = np.random.default_rng(1)
    if loss == "categorical_crossentropy":
        return rng.integers(0, units, 4)
    if loss == "binary_crossentropy":
        return rng.integers(0, 2, (4, units)).astype(float)
    return rng.standard_normal((4, units))


def _check(hidden: str, loss: str, units: int = 3, out: str | None = None):  # type: ignore[no-untyped-def]
    out = out or OUTPUT_LAYERS[loss].activation or "linear"
    layers = [{"units": 5, "activation": hidden}, {"units": units, "activation": out}]
    net = Network.build(3, layers, loss, np.random.default_rng(0))
    net.parameters()["layers.0.b"][...] = 0.1
    return gradcheck_network(net, X, _targets(loss, units), source="test", inputs="4 rows")


def test_the_bands_are_cs231ns() -> None:
    assert [band(e) for e in (1e-9, 5e-6, 1e-3, 0.5)] == ["excellent", "fine", "suspect", "wrong"]
    assert band(1e-7) == "fine" and band(1e-4) == "suspect" and band(1e-2) == "wrong"


@pytest.mark.parametrize("hidden", list(ACTIVATIONS))
def test_every_activation_passes(hidden: str) -> None:
    report = _check(hidden, "mse")
    assert report.passed, report.verdict()
    assert [t.check.name for t in report.terms] == [f"layers.{i}.{p}" for i in (0, 1) for p in "Wb"]


@pytest.mark.parametrize("loss", list(LOSSES))
def test_every_loss_passes(loss: str) -> None:
    report = _check("tanh", loss, units=3)
    assert report.passed, report.verdict()
    assert all(t.band == "excellent" for t in report.terms), [t.check.error for t in report.terms]


def test_a_wrong_backward_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """tanh' = 1 - A**2; the broken one forgets the square."""
    monkeypatch.setattr(Tanh, "backward", lambda self, dA, Z, A, out=None: dA * (1 - A))
    report = _check("tanh", "mse")
    assert not report.passed
    assert {t.check.name for t in report.failing} == {"layers.0.W", "layers.0.b"}
    assert all(t.band == "wrong" for t in report.failing)
    assert report.verdict().startswith("gradient check failed: layers.0.")
    assert "and 1 more tensor;" in report.verdict()


def test_weight_decay_is_its_own_term_and_adamw_is_not_a_gradient() -> None:
    net = Network.build(3, [{"units": 2, "activation": "linear"}], "mse", np.random.default_rng(0))
    y = _targets("mse", 2)
    l2 = gradcheck_network(net, X, y, source="t", inputs="t", weight_decay=0.01)
    assert [t.term for t in l2.terms] == ["loss", "loss", "weight_decay"] and l2.passed
    assert "checked apart from the data loss" in l2.decay_note
    adamw = gradcheck_network(net, X, y, source="t", inputs="t", weight_decay=0.01, decoupled=True)
    assert [t.term for t in adamw.terms] == ["loss", "loss"] and "not checked" in adamw.decay_note


def test_cli_json_of_a_config(runner: CliRunner) -> None:
    result = runner.invoke(app, ["gradcheck", str(CONFIGS / "iris.yaml"), "--json",
                                 "--per-param", "4", "--rows", "2"])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["inputs"] == {"description": "the first 2 rows of the training split",
                                "rows": 2, "random": False}  # fmt: skip
    assert [t["name"] for t in report["tensors"]] == ["layers.0.W", "layers.0.b",
                                                      "layers.1.W", "layers.1.b"]  # fmt: skip
    assert [t["checked"] for t in report["tensors"]] == [4, 4, 4, 3]  # b of 3 entries: all
    assert report["passed"] is True and report["dtype"] == "float64"
    assert report["bands"] == {"excellent": 1e-7, "fine": 1e-4, "suspect": 1e-2}
    first = report["tensors"][0]["entries"][0]
    assert set(first) == {"index", "analytic", "numeric", "error", "kink"}


def test_cli_a_broken_relu_exits_5_with_one_line(runner: CliRunner, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(ReLU, "backward", lambda self, dA, Z, A, out=None: dA * 1.0)  # no mask
    result = runner.invoke(app, ["gradcheck", str(CONFIGS / "iris.yaml")])
    assert result.exit_code == 5
    assert "layers.0.W" in result.stdout and "wrong" in result.stdout
    [line] = result.stderr.splitlines()
    assert line.startswith("nnctl: error: gradient check failed: layers.0.")


def test_a_model_uses_its_test_split_else_random_rows(runner: CliRunner, tmp_path: Path) -> None:
    trained = runner.invoke(app, ["train", str(iris_config(tmp_path, epochs=2)),
                                  "--runs-dir", str(tmp_path / "runs"), "--quiet"])  # fmt: skip
    run = Path(trained.stdout.strip())
    report = gradcheck(run)
    assert report.inputs == f"the first 3 rows of the test split of {run}"
    assert report.passed and not report.random_inputs
    alone = tmp_path / "alone.npz"
    shutil.copy(run / "checkpoints" / "best.npz", alone)
    result = runner.invoke(app, ["gradcheck", str(alone)])
    assert result.exit_code == 0, result.stderr
    assert "3 random rows (standard normal inputs), because the checkpoint is outside" in (
        result.stdout
    )
    assert "note: the rows are random" in result.stdout


def test_mistakes_are_usage_errors(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["gradcheck", str(CONFIGS / "iris.yaml"), "--rows", "0"])
    assert result.exit_code == 2 and "--rows" in result.stderr
    result = runner.invoke(app, ["gradcheck", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2 and "none.yaml" in result.stderr and result.stdout == ""
    result = runner.invoke(app, ["gradcheck", str(tmp_path / "no-run")])
    assert result.exit_code == 2 and "no-run" in result.stderr


def test_the_real_command() -> None:
    done = run_nnctl("gradcheck", CONFIGS / "diabetes.yaml")
    assert done.returncode == 0, done.stderr
    assert "weight decay" in done.stdout and "result: every tensor passed" in done.stdout
