"""One trial: an ordinary run directory trained from the base config and the trial's values.

`run_trial` is the objective Optuna calls. It makes the trial's run directory under the sweep's
folder and stores its path on the trial before training, so that a trial whose worker died is
retried in the same directory, resumed from its last checkpoint (`nnctl train --resume`), and
ends bit-identical to one never interrupted. `Pruning` reports the objective every epoch and
stops the training the way early stopping does, with the stop reason ``pruned``.
"""

from __future__ import annotations

import math
import os
import socket
from pathlib import Path
from typing import Any

from nnctl import extras
from nnctl.config.loader import Config, load_config
from nnctl.errors import Interrupted, TrainingDiverged
from nnctl.store.bundle import is_checkpoint_file
from nnctl.store.metrics import read_metrics
from nnctl.store.runs import CHECKPOINTS, METRICS_FILE, create_run_dir
from nnctl.sweep.spec import Sweep, override_text
from nnctl.training.callbacks import Callback, Logs
from nnctl.workflows.train import train_run

PRUNED = "pruned"


class Skipped(Exception):
    """A trial drawn beyond the budget, or a grid point another worker drew first."""


def trial_config(sweep: Sweep, params: dict[str, Any]) -> Config:
    """The base config with ``set`` and the trial's values applied."""
    texts = [override_text(key, value) for key, value in params.items()]
    return load_config(sweep.base, [*sweep.overrides, *texts])


def suggest(trial: Any, sweep: Sweep) -> dict[str, Any]:
    """The trial's value of every parameter, in the sweep file's order."""
    values: dict[str, Any] = {}
    for p in sweep.parameters:
        if p.values is not None:
            values[p.key] = trial.suggest_categorical(p.key, list(p.values))
        elif p.is_int:
            values[p.key] = trial.suggest_int(p.key, p.low, p.high, step=p.step or 1, log=p.log)
        else:
            values[p.key] = trial.suggest_float(p.key, p.low, p.high, step=p.step, log=p.log)
    return values


def log_key(metric: str) -> str:
    """The epoch logs' name of a ``metrics.csv`` column: ``train_loss`` -> ``loss``."""
    return metric.removeprefix("train_")


def objective_value(sweep: Sweep, rows: list[dict[str, str]]) -> float:
    """The best or the last epoch's value of the objective's column."""
    values = [float(row[sweep.metric]) for row in rows if row.get(sweep.metric) not in (None, "")]
    if not values:
        return math.nan
    if sweep.value == "last":
        return values[-1]
    return max(values) if sweep.goal == "max" else min(values)


class Pruning(Callback):
    """Report the objective (best so far, or this epoch's) each epoch; stop when Optuna says.

    Values are taken as ``metrics.csv`` writes them (6 significant digits), so that what is
    reported, the trial's final value and a resumed trial's values all agree.
    """

    def __init__(self, trial: Any, sweep: Sweep, progress: Callback | None = None) -> None:
        self.trial, self.sweep, self.progress = trial, sweep, progress
        self.values: list[float] = []

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self.values.append(float(f"{float(logs[log_key(self.sweep.metric)]):.6g}"))
        rows = [{self.sweep.metric: str(v)} for v in self.values]
        self.trial.report(objective_value(self.sweep, rows), epoch)
        if self.sweep.pruner != "none" and self.trial.should_prune():
            self.trainer.stop(PRUNED)


def run_dir_of(trial: Any, folder: Path) -> tuple[Path, bool]:
    """The trial's run directory and whether to resume it (a retried trial's, with a checkpoint)."""
    previous = trial.user_attrs.get("run_dir")
    if previous and is_checkpoint_file(Path(previous) / CHECKPOINTS / "last.npz"):
        return Path(previous), True
    run = create_run_dir(folder, f"trial-{trial.number:04d}")
    return run, False


def run_trial(trial: Any, sweep: Sweep, folder: Path, command: list[str]) -> float:
    """Train the trial's run and return its objective (raise ``TrialPruned`` when pruned)."""
    optuna = extras.load("optuna", "sweep")
    cfg = trial_config(sweep, suggest(trial, sweep))
    run, resume = run_dir_of(trial, folder)
    trial.set_user_attr("run_dir", str(run.resolve()))
    trial.set_user_attr("host", socket.gethostname())
    trial.set_user_attr("pid", os.getpid())
    pruning = Pruning(trial, sweep)
    if resume:  # the epochs done before the worker died, as an uninterrupted run has them
        pruning.values = [float(row[sweep.metric]) for row in read_metrics(run / METRICS_FILE)]
    try:
        result = train_run(
            cfg,
            resume=run if resume else None,
            run_dir=None if resume else run,
            progress=pruning,
            command=command,
            config_path=sweep.base,
        )
    except Interrupted:
        trial.set_user_attr("interrupted", True)
        raise
    except TrainingDiverged as error:  # a failed trial, counted: the sampler learns to avoid it
        trial.set_user_attr("stop_reason", f"diverged: {error.message}")
        raise
    trial.set_user_attr("stop_reason", result.record.stop_reason)
    trial.set_user_attr("epochs", result.record.epochs_done)
    value = objective_value(sweep, read_metrics(run / METRICS_FILE))
    if result.record.stop_reason == PRUNED:
        raise optuna.TrialPruned(f"pruned at epoch {result.record.epochs_done}")
    return value
