"""Pruning stops a trial's training the way early stopping does, with the stop reason ``pruned``."""

from __future__ import annotations

from pathlib import Path

from helpers import iris_config
from sweep_helpers import sweep_file

from nnctl.config.loader import load_config
from nnctl.store.metrics import read_metrics
from nnctl.store.record import read_record
from nnctl.sweep.spec import load_sweep
from nnctl.sweep.trial import Pruning
from nnctl.workflows.train import train_run


class FakeTrial:
    """What `Pruning` needs of an Optuna trial: report, and prune from epoch ``at`` on."""

    def __init__(self, at: int) -> None:
        self.at, self.reported, self.step = at, {}, 0

    def report(self, value: float, step: int) -> None:
        self.reported[step], self.step = value, step

    def should_prune(self) -> bool:
        return self.step >= self.at


def test_a_pruned_training_stops_with_reason_pruned(tmp_path: Path) -> None:
    sweep = load_sweep(sweep_file(tmp_path, pruner="median"))
    trial = FakeTrial(at=3)
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    cfg = load_config(iris_config(tmp_path, epochs=20))
    result = train_run(cfg, run_dir=run, progress=Pruning(trial, sweep))
    record = read_record(run)
    assert result.path == run
    assert (record.status, record.stop_reason, record.epochs_done) == ("completed", "pruned", 3)
    accuracies = [float(row["val_accuracy"]) for row in read_metrics(run / "metrics.csv")]
    assert list(trial.reported) == [1, 2, 3]
    best_so_far = [max(accuracies[: i + 1]) for i in range(3)]  # as metrics.csv has them
    assert list(trial.reported.values()) == best_so_far


def test_without_a_pruner_nothing_is_pruned(tmp_path: Path) -> None:
    sweep = load_sweep(sweep_file(tmp_path, pruner="none"))
    run = tmp_path / "run"
    (run / "checkpoints").mkdir(parents=True)
    cfg = load_config(iris_config(tmp_path, epochs=4))
    train_run(cfg, run_dir=run, progress=Pruning(FakeTrial(at=1), sweep))
    assert read_record(run).stop_reason == "completed 4 epochs"
