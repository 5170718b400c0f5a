"""Training runs in-process: reproducibility, exact resume, early stopping, divergence, targets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.data import load_training_data
from nnctl.errors import ConfigError, DataError, Interrupted, TrainingDiverged
from nnctl.store.files import read_json
from nnctl.store.metrics import read_metrics
from nnctl.training.callbacks import Callback
from nnctl.workflows.resume import resolve_config
from nnctl.workflows.train import train_run
from tests.helpers import CONFIGS, iris_config, weights


class InterruptAfter(Callback):
    """Asks the trainer to stop (as Ctrl-C does) once ``epoch`` epochs are complete."""

    def __init__(self, epoch: int) -> None:
        self.epoch = epoch

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        if epoch == self.epoch:
            self.trainer.request_interrupt()


def _train(config: Path, runs: Path, **kwargs: Any) -> Path:
    return train_run(load_config(config), runs_dir=runs, **kwargs).path


def test_same_seed_same_bytes_and_another_seed_differs(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=5)
    a = _train(config, tmp_path / "a")
    b = _train(config, tmp_path / "b")
    assert weights(a / "checkpoints/last.npz") == weights(b / "checkpoints/last.npz")
    other = train_run(load_config(config, ["seed=4"]), runs_dir=tmp_path / "c").path
    assert weights(a / "checkpoints/last.npz") != weights(other / "checkpoints/last.npz")


@pytest.mark.parametrize("schedule", ["", "schedule: {name: cosine, warmup_epochs: 2}"])
def test_an_interrupted_run_resumes_bit_identically(tmp_path: Path, schedule: str) -> None:
    config = iris_config(tmp_path, epochs=8, extra=schedule)
    whole = _train(config, tmp_path / "whole")
    with pytest.raises(Interrupted):
        _train(config, tmp_path / "parts", progress=InterruptAfter(3))
    (run,) = (tmp_path / "parts").iterdir()
    info = read_json(run / "run.json")
    assert (info["status"], info["epochs_done"]) == ("interrupted", 3)
    resumed = train_run(resolve_config(None, [], run), resume=run).path
    assert resumed == run
    assert weights(run / "checkpoints/last.npz") == weights(whole / "checkpoints/last.npz")
    assert weights(run / "checkpoints/best.npz") == weights(whole / "checkpoints/best.npz")
    assert [row["epoch"] for row in read_metrics(run / "metrics.csv")] == [
        str(e) for e in range(1, 9)
    ]
    assert read_json(run / "run.json")["status"] == "completed"


def test_resume_refuses_a_different_config_and_lists_the_differences(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=2)
    run = _train(config, tmp_path / "runs")
    with pytest.raises(ConfigError) as error:
        resolve_config(config, ["optimizer.learning_rate=0.5", "seed=9"], run)
    text = "\n".join(error.value.problems)
    assert "optimizer.learning_rate: 0.01 -> 0.5" in text
    assert "seed: 3 -> 9" in text
    more = resolve_config(config, ["training.epochs=4"], run)
    assert more.training.epochs == 4
    train_run(more, resume=run)
    assert len(read_metrics(run / "metrics.csv")) == 4


def test_early_stopping_stops_and_keeps_the_best_weights(tmp_path: Path) -> None:
    config = iris_config(
        tmp_path,
        epochs=200,
        extra="  early_stopping: {monitor: val_loss, patience: 2, min_delta: 0.05}",
    )
    run = _train(config, tmp_path / "runs")
    info = read_json(run / "run.json")
    assert info["epochs_done"] < 200
    assert info["stop_reason"].startswith("early stopping: val_loss did not improve")
    rows = read_metrics(run / "metrics.csv")
    assert len(rows) == info["epochs_done"]
    best = min(range(len(rows)), key=lambda i: float(rows[i]["val_loss"]))
    assert info["best_epoch"] == best + 1


def test_a_diverging_run_is_recorded_and_keeps_its_best_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnctl.nn.network import Network

    original = Network.train_step
    calls = {"n": 0}

    def explode(self: Network, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > 20:  # past the second epoch of 8 batches
            raise TrainingDiverged("training diverged at step 21: the loss is not finite")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "train_step", explode)
    config = iris_config(tmp_path, epochs=10)
    with pytest.raises(TrainingDiverged) as error:
        _train(config, tmp_path / "runs")
    assert error.value.hint is not None
    (run,) = (tmp_path / "runs").iterdir()
    assert read_json(run / "run.json")["status"] == "diverged"
    assert (run / "checkpoints/best.npz").is_file()


def test_output_width_is_checked_against_the_classes_in_the_data(tmp_path: Path) -> None:
    config = iris_config(tmp_path)
    with pytest.raises(ConfigError, match="the data has 3 classes"):
        train_run(load_config(config, ["model.layers.1.units=4"]), runs_dir=tmp_path / "r")
    assert not (tmp_path / "r").exists() or not any((tmp_path / "r").iterdir())


def test_the_checkpoint_alone_predicts_like_the_run(tmp_path: Path, runner: CliRunner) -> None:
    run = _train(iris_config(tmp_path, epochs=5), tmp_path / "runs")
    alone = tmp_path / "elsewhere" / "model.npz"
    alone.parent.mkdir()
    alone.write_bytes((run / "checkpoints/best.npz").read_bytes())
    rows = "sepal_length,sepal_width,petal_length,petal_width\n5.1,3.5,1.4,0.2\n6.7,3.0,5.2,2.3\n"
    from_run = runner.invoke(app, ["predict", str(run), "-", "--proba"], input=rows)
    from_file = runner.invoke(app, ["predict", str(alone), "-", "--proba"], input=rows)
    assert from_run.exit_code == 0, from_run.output
    assert from_run.stdout == from_file.stdout
    assert from_run.stdout.splitlines()[0] == (
        "species,proba_setosa,proba_versicolor,proba_virginica"
    )


# --- the shipped configs reach their targets ------------------------------------------------------


def _test_metrics(config: Path, tmp_path: Path) -> dict[str, Any]:
    run = _train(config, tmp_path)
    summary: dict[str, Any] = json.loads((run / "summary.json").read_text())
    return summary


def test_iris_reaches_its_target(tmp_path: Path) -> None:
    assert _test_metrics(CONFIGS / "iris.yaml", tmp_path)["accuracy"] >= 0.93


def test_digits_reaches_its_target(tmp_path: Path) -> None:
    assert _test_metrics(CONFIGS / "digits.yaml", tmp_path)["accuracy"] >= 0.96


def test_diabetes_is_no_worse_than_least_squares(tmp_path: Path) -> None:
    config = CONFIGS / "diabetes.yaml"
    data = load_training_data(load_config(config), dtype=np.float64)
    X = np.hstack([data.train.X, np.ones((len(data.train.X), 1))])
    w, *_ = np.linalg.lstsq(X, data.train.y, rcond=None)
    pred = np.hstack([data.test.X, np.ones((len(data.test.X), 1))]) @ w
    y = data.test.y
    ols_r2 = 1 - float(((pred - y) ** 2).sum() / ((y - y.mean()) ** 2).sum())
    assert _test_metrics(config, tmp_path)["r2"] >= ols_r2 - 0.02


def test_resume_refuses_data_that_changed_since_the_run_started(tmp_path: Path) -> None:
    data = tmp_path / "iris.csv"
    data.write_bytes((CONFIGS.parent / "datasets" / "iris.csv").read_bytes())
    config = iris_config(tmp_path, epochs=2)
    config.write_text(config.read_text().replace(str(CONFIGS.parent / "datasets"), str(tmp_path)))
    run = _train(config, tmp_path / "runs")
    data.write_text(data.read_text().replace("5.1,3.5", "5.2,3.5", 1))
    with pytest.raises(DataError, match="changed since"):
        train_run(resolve_config(None, ["training.epochs=3"], run), resume=run)


def test_a_failure_after_the_last_epoch_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nnctl.workflows.train

    def broken(*args: Any) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(nnctl.workflows.train, "_test_metrics", broken)
    with pytest.raises(OSError):
        _train(iris_config(tmp_path, epochs=2), tmp_path / "runs")
    (run,) = (tmp_path / "runs").iterdir()
    assert read_json(run / "run.json")["status"] == "failed"


def test_a_run_being_trained_cannot_be_resumed_at_the_same_time(tmp_path: Path) -> None:
    import fcntl
    import os

    from nnctl.errors import UsageError

    run = _train(iris_config(tmp_path, epochs=2), tmp_path / "runs")
    fd = os.open(run, os.O_RDONLY)  # as the process training it would hold it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with pytest.raises(UsageError, match="another nnctl process is training this run"):
            train_run(resolve_config(None, ["training.epochs=3"], run), resume=run)
    finally:
        os.close(fd)
    train_run(resolve_config(None, ["training.epochs=3"], run), resume=run)  # free again
    assert len(read_metrics(run / "metrics.csv")) == 3
