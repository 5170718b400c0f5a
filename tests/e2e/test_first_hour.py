"""A new user's first hour: the loss in the target's units, even number formats, a readable
``runs list`` at 80 columns, an ETA and a loading status, and a diabetes example that works."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from nnctl.cli.render import TrainingProgress, loading_status, print_runs
from nnctl.cli.render.formats import format_duration, format_metric, time_left
from nnctl.config.loader import Config, load_config
from nnctl.data import load_training_data
from nnctl.errors import DataError
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.training.metrics import loss_scale
from nnctl.training.monitors import EarlyStopping
from nnctl.training.split import Split
from nnctl.training.trainer import Trainer
from nnctl.workflows.train import train_run
from tests.helpers import CONFIGS, ROOT, iris_config, run_nnctl

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


@pytest.fixture(scope="module")
def diabetes_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A short diabetes run: its directory and what ``nnctl train`` printed on stderr."""
    runs = tmp_path_factory.mktemp("runs")
    trained = run_nnctl(
        "train",
        CONFIGS / "diabetes.yaml",
        "--set",
        "training.epochs=3",
        "--set",
        "metrics=[mse, mae, r2]",
        "--runs-dir",
        runs,
        cwd=ROOT,
    )
    assert trained.returncode == 0, trained.stderr
    return Path(trained.stdout.strip()), trained.stderr


def test_train_summary_metrics_csv_and_evaluate_report_the_loss_in_target_units(
    diabetes_run: tuple[Path, str],
) -> None:
    run, _ = diabetes_run
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


# --- one number format ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "shown"),
    [
        (18040.0, "mse", "18,040"),
        (12154.5, "loss", "12,154"),
        (999.97, "mae", "1,000"),
        (74.954, "val_mae", "74.95"),
        (12.0, "loss", "12.00"),
        (0.027, "loss", "0.02700"),
        (1.0, "accuracy", "1.0000"),
        (0.93333, "val_accuracy", "0.9333"),
        (0.05, "test f1", "0.0500"),
        (0.45, "r2", "0.4500"),
        (-0.66042, "r2", "-0.6604"),
        (np.float32(0.5), "precision", "0.5000"),
        (2.5e-4, "loss", "2.500e-04"),
        (3.25e8, "mse", "325,000,000"),
        (3.25e9, "mse", "3.250e+09"),
        (0.0, "loss", "0.000"),
        (float("nan"), "val_loss", "-"),
        (None, "loss", "-"),
        (float("inf"), "loss", "inf"),
        (57, "epochs", "57"),
        (0.001, "lr", "0.001"),
        (1.23456, "seconds", "1.23"),
    ],
)
def test_one_format_for_every_metric_value(value: object, name: str, shown: str) -> None:
    assert format_metric(value, name) == shown


def test_progress_summary_and_evaluate_show_numbers_alike(diabetes_run: tuple[Path, str]) -> None:
    run, stderr = diabetes_run
    assert "e+0" not in stderr and "e-0" not in stderr  # no scientific notation for these
    summary = json.loads((run / "summary.json").read_text())
    for key in ("loss", "mse", "mae", "r2"):
        assert re.search(rf"test {key} +{re.escape(format_metric(summary[key], key))}\b", stderr)
    epoch_lines = [line for line in stderr.splitlines() if line.startswith("epoch ")]
    assert len(epoch_lines) == 3
    for line in epoch_lines:
        assert re.search(r"  loss [\d,]+  mse [\d,]+  mae \d+\.\d\d  r2 -?\d\.\d+  ", line)
    table = run_nnctl("evaluate", run)
    report = json.loads(run_nnctl("evaluate", run, "--json").stdout)
    for key in ("loss", "mse", "rmse", "mae", "r2"):
        assert re.search(rf"{key} +{re.escape(format_metric(report[key], key))}\b", table.stdout)


# --- runs list on a narrow terminal ---------------------------------------------------------------


def _run(name: str, status: str = "completed", best: float | None = 0.04545) -> dict[str, object]:
    return {
        "run": f"runs/{name}",
        "name": name,
        "status": status,
        "epochs": 57,
        "best_epoch": 45 if best is not None else None,
        "monitor": "val_loss",
        "best_value": best,
        "created": "2026-12-01T10:15:00+01:00",
    }


def _runs_list(runs: list[dict[str, object]], width: int) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=False)
    print_runs(runs, console)
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_runs_list_at_80_columns_shows_whole_run_names() -> None:
    runs = [
        _run("price-20261201-101500", best=3.25e8),
        _run("house-prices-regression-20261201-101500-2", "interrupted", best=None),
        _run("digits-20261201-215348"),
    ]
    out = _runs_list(runs, 80)
    assert "…" not in out
    for run in runs:
        assert re.search(rf"^  {re.escape(str(run['name']))} ", out, re.MULTILINE), out
    assert "interrupted" in out and "325,000,000" in out
    assert max(len(line) for line in out.splitlines()) <= 84  # the name alone is 41 wide


def test_runs_list_drops_created_before_it_cuts_anything() -> None:
    runs = [_run("price-20261201-101500"), _run("digits-20261201-215348")]
    wide, narrow = _runs_list(runs, 120), _runs_list(runs, 80)
    assert "created" in wide and "2026-12-01 10:15" in wide
    assert "created" not in narrow and "…" not in narrow
    assert "val_loss 0.04545 (epoch 45)" in narrow
    assert max(len(line) for line in narrow.splitlines()) <= 80


def test_a_name_wider_than_the_terminal_is_printed_whole() -> None:
    name = "a-very-long-experiment-name-for-the-house-prices-20261201-101500"
    out = _runs_list([_run(name)], 40)
    assert f"  {name} " in out and "…" not in out


# --- time left, and a status while the data loads -----------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0.4, "0:00"), (7.2, "0:07"), (754, "12:34"), (3723, "1:02:03")]
)
def test_a_duration_reads_as_a_clock(seconds: float, shown: str) -> None:
    assert format_duration(seconds) == shown


def test_time_left_from_the_epoch_so_far_then_from_finished_epochs() -> None:
    # 10 of 20 batches in 5 s: 5 s left in the epoch; 2 more epochs of 10 s at this pace.
    assert time_left(10, 20, 5.0, 2, []) == (5.0, 25.0)
    # Finished epochs took 12 s and 8 s (validation and checkpoints included): 10 s each.
    assert time_left(10, 20, 5.0, 2, [12.0, 8.0]) == (5.0, 25.0)
    assert time_left(20, 20, 9.0, 0, [9.0]) == (0.0, 0.0)


def test_the_live_bar_shows_time_left_in_the_epoch_and_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(TrainingProgress, "REFRESH_SECONDS", 0.0)  # redraw at every batch
    console = Console(file=io.StringIO(), force_terminal=True, width=160)
    trainer = _regression_trainer("mse", 1.0, epochs=2)
    trainer.callbacks.append(TrainingProgress(2, ["mse", "mae"], console=console))
    trainer.fit()
    file = console.file
    assert isinstance(file, io.StringIO)
    assert re.search(r"\d+:\d\d left, run \d+:\d\d", file.getvalue())


def _status(console: Console, fail: bool = False) -> str:
    with loading_status("datasets/big.csv", console):
        if fail:
            raise DataError("datasets/big.csv: no column 'price'")
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_loading_is_a_plain_line_before_and_its_time_after_in_a_pipe() -> None:
    out = _status(Console(file=io.StringIO(), force_terminal=False))
    first, second = out.splitlines()
    assert first == "loading datasets/big.csv..."
    assert re.fullmatch(r"loaded datasets/big\.csv in \d+\.\d\ds", second)


def test_loading_is_a_spinner_in_a_terminal() -> None:
    out = _status(Console(file=io.StringIO(), force_terminal=True, width=80))
    assert "loading datasets/big.csv..." in out and "\x1b[" in out
    assert re.search(r"loaded datasets/big\.csv in \d+\.\d\ds\n$", out)


def test_a_load_that_fails_says_nothing_more() -> None:
    console = Console(file=io.StringIO(), force_terminal=False)
    with pytest.raises(DataError):
        _status(console, fail=True)
    file = console.file
    assert isinstance(file, io.StringIO)
    assert file.getvalue() == "loading datasets/big.csv...\n"


def test_train_says_what_it_loads_before_the_first_epoch(diabetes_run: tuple[Path, str]) -> None:
    _, stderr = diabetes_run  # run from the checkout: the path is shown relative to it
    lines = stderr.splitlines()
    assert lines[0] == "loading datasets/diabetes.csv..."
    assert re.fullmatch(r"loaded datasets/diabetes\.csv in \d+\.\d\ds", lines[1])
    assert lines[2].startswith("epoch 1/3 ")


def test_train_quiet_says_nothing_of_loading(tmp_path: Path) -> None:
    trained = run_nnctl(
        "train", CONFIGS / "iris.yaml", "--set", "training.epochs=1", "-q", "--runs-dir", tmp_path
    )
    assert trained.returncode == 0 and trained.stderr == ""


def test_train_shows_the_loading_line_before_a_data_error(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=1).read_text().replace("target: species", "target: kind")
    path = tmp_path / "bad.yaml"
    path.write_text(config)
    trained = run_nnctl("train", path, "--runs-dir", tmp_path / "runs")
    assert trained.returncode == 3
    lines = trained.stderr.splitlines()
    assert lines[0].startswith("loading ") and lines[1].startswith("nnctl: error: ")
    assert "kind" in lines[1] and not (tmp_path / "runs").exists()


# --- the diabetes example is representative -------------------------------------------------------


def _least_squares_r2(cfg: Config) -> float:
    data = load_training_data(cfg, dtype=np.float64)
    X = np.hstack([data.train.X, np.ones((len(data.train.X), 1))])
    w, *_ = np.linalg.lstsq(X, data.train.y, rcond=None)
    assert data.test is not None
    pred = np.hstack([data.test.X, np.ones((len(data.test.X), 1))]) @ w
    y = data.test.y
    return 1 - float(((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())


@pytest.mark.parametrize("seed", range(5))
def test_diabetes_is_close_to_least_squares_at_every_seed(seed: int, tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / "diabetes.yaml", [f"seed={seed}"])
    result = train_run(cfg, runs_dir=tmp_path)
    assert result.test_metrics is not None
    assert result.test_metrics["r2"] >= _least_squares_r2(cfg) - 0.02


def test_the_shipped_diabetes_run_scores_like_least_squares(tmp_path: Path) -> None:
    cfg = load_config(CONFIGS / "diabetes.yaml")
    result = train_run(cfg, runs_dir=tmp_path)
    assert result.test_metrics is not None
    assert result.test_metrics["r2"] >= 0.45  # not a number that reads as broken
    assert _least_squares_r2(cfg) == pytest.approx(0.48, abs=0.01)  # a typical split
