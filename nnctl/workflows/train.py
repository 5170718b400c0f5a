"""One training run from a config: data, network, run directory, callbacks, test metrics.

`train_run` is what ``nnctl train`` calls. It loads the data, builds the network
(`nnctl.workflows.build`), creates (or, with ``resume``, reopens) the run directory, trains through
`Trainer` with the run's callbacks, and records the outcome in ``run.json``
(`nnctl.workflows.records`): ``completed``, ``interrupted``, ``diverged`` or ``failed``
(`nnctl.workflows.stopping`). Nothing here prints; progress goes to the callback the caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from nnctl.config.loader import Config, config_to_yaml
from nnctl.data import Datasets, load_training_data
from nnctl.inspection.layer_stats import LayerStatsWriter, probe_split
from nnctl.nn.network import Network
from nnctl.store.bundle import is_checkpoint_file, load_bundle
from nnctl.store.files import write_json, write_text
from nnctl.store.layer_stats import layer_stats_file, resumed_rows
from nnctl.store.locks import run_lock
from nnctl.store.metrics import MetricsFile
from nnctl.store.record import RunRecord
from nnctl.store.runs import (
    CHECKPOINTS,
    CONFIG_FILE,
    LAYER_STATS_FILE,
    METRICS_FILE,
    SUMMARY_FILE,
    create_run_dir,
    resolve_run,
    runs_root,
)
from nnctl.training.callbacks import Callback, MetricsWriter, metrics_columns
from nnctl.training.monitors import Checkpointer, EarlyStopping
from nnctl.training.trainer import Trainer
from nnctl.workflows.build import build_network, build_schedule
from nnctl.workflows.checkpoints import RunCheckpoints
from nnctl.workflows.records import RunRecorder, monitored, now, run_summary, start_record
from nnctl.workflows.resume import resolve_config
from nnctl.workflows.stopping import fit_recorded


@dataclass
class RunResult:
    """What ``nnctl train`` reports: the run directory and its final record."""

    path: Path
    record: RunRecord
    test_metrics: dict[str, float] | None

    @property
    def info(self) -> dict[str, Any]:
        """The record as ``run.json`` holds it."""
        return self.record.to_json()

    def summary(self) -> dict[str, Any]:
        """``nnctl train --json``'s object (`nnctl.workflows.records.run_summary`)."""
        return run_summary(self.path, self.record, self.test_metrics)


def training_config(
    config: Path | None, overrides: Sequence[str], resume: Path | None, runs_dir: Path | None
) -> tuple[Config, Path | None]:
    """The config to train and the run directory ``resume`` names (a path or a run's name).

    On resume the config may differ from the run's only in ``training.epochs``
    (`nnctl.workflows.resume.resolve_config`).
    """
    run = resolve_run(resume, runs_dir) if resume is not None else None
    return resolve_config(config, overrides, run, runs_dir), run


def train_run(
    cfg: Config,
    *,
    name: str | None = None,
    runs_dir: Path | None = None,
    resume: Path | None = None,
    progress: Callback | None = None,
    command: Sequence[str] = (),
    config_path: Path | None = None,
    loading: Callable[[], AbstractContextManager[object]] = nullcontext,
    run_dir: Path | None = None,
) -> RunResult:
    """Train the network ``cfg`` describes in a new run directory (or continue ``resume``).

    ``config_path`` is the file ``cfg`` came from, for messages. The data is read inside
    ``loading()``, where the caller may show that it is (nothing here prints). ``run_dir`` is a
    new, empty run directory the caller made (a sweep's trial records it before training).
    """
    seeds = np.random.SeedSequence(cfg.seed).spawn(2)
    with loading():
        data = load_training_data(cfg)
    if config_path is None and resume is not None:
        config_path = resume / CONFIG_FILE
    network = build_network(cfg, data, seeds[0], str(config_path or "config"))
    run = resume or run_dir or create_run_dir(runs_root(runs_dir), name or cfg.name or "run")
    with run_lock(run):
        return _train_in(run, cfg, data, network, seeds[1], resume, progress, command)


def _train_in(
    run: Path,
    cfg: Config,
    data: Datasets,
    network: Network,
    shuffle_seed: np.random.SeedSequence,
    resume: Path | None,
    progress: Callback | None,
    command: Sequence[str],
) -> RunResult:
    """Train in the locked run directory ``run``: callbacks, resume, fit, test metrics."""
    has_val = data.validation is not None
    record = start_record(cfg, data, run, command, resume)
    ckpt = cfg.training.checkpoint
    checkpointer = Checkpointer(
        lambda kind, epoch: None, monitored(ckpt.monitor, has_val), ckpt.mode
    )
    metrics_file = MetricsFile(run / METRICS_FILE, metrics_columns(list(cfg.metrics), has_val))
    recorder = RunRecorder(run, record, checkpointer)
    stats_file = layer_stats_file(run / LAYER_STATS_FILE)
    callbacks = [*_early_stopping(cfg, has_val), *_layer_stats(cfg, data, stats_file)]
    callbacks += [checkpointer, MetricsWriter(metrics_file)]
    callbacks += [recorder] if progress is None else [recorder, progress]
    trainer = _trainer(cfg, data, network, shuffle_seed, callbacks)
    checkpoints = RunCheckpoints(run, trainer, data.preprocessor, cfg.task)
    checkpointer.save = checkpoints.save
    if resume is not None:
        checkpoints.restore(metrics_file, cfg)
        stats_file.rows = resumed_rows(stats_file.path, trainer.epoch)  # like metrics.csv's
    # On resume, the new training.epochs (the one change allowed), so that the records agree.
    write_text(run / CONFIG_FILE, config_to_yaml(cfg))
    recorder.write(status="running")
    test_metrics = fit_recorded(trainer, recorder, lambda: _test_metrics(trainer, data, run))
    recorder.write(status="completed", stop_reason=trainer.stop_reason, ended=now())
    return RunResult(path=run, record=record, test_metrics=test_metrics)


def _layer_stats(cfg: Config, data: Datasets, file: MetricsFile) -> list[Callback]:
    """The writer of ``layer_stats.csv``, unless ``diagnostics.layer_stats`` is false.

    Before the checkpointer, so that an epoch's rows are on disk before its checkpoint.
    """
    if not cfg.diagnostics.layer_stats:
        return []
    return [LayerStatsWriter(file, probe_split(data.train, cfg.seed))]


def _early_stopping(cfg: Config, has_validation: bool) -> list[Callback]:
    """The config's early stopping, watching the training value without validation data."""
    early = cfg.training.early_stopping
    if early is None:
        return []
    options = early.model_copy(update={"monitor": monitored(early.monitor, has_validation)})
    return [EarlyStopping(**options.model_dump())]


def _trainer(
    cfg: Config,
    data: Datasets,
    network: Network,
    shuffle_seed: np.random.SeedSequence,
    callbacks: Sequence[Callback],
) -> Trainer:
    """The loop over the config's epochs and batches, with the run's callbacks."""
    pre = data.preprocessor
    return Trainer(
        network,
        data.train,
        data.validation,
        task=cfg.task,
        metrics=list(cfg.metrics),
        epochs=cfg.training.epochs,
        batch_size=cfg.training.batch_size,
        shuffle=cfg.training.shuffle,
        schedule=build_schedule(cfg),
        rng=np.random.default_rng(shuffle_seed),
        n_classes=max(pre.n_outputs, 2),
        target_scale=pre.target.std,
        callbacks=callbacks,
    )


def _test_metrics(trainer: Trainer, data: Datasets, run: Path) -> dict[str, float] | None:
    """Test-split loss and metrics of the best checkpoint's weights, written to summary.json."""
    if data.test is None:
        return None
    best = run / CHECKPOINTS / "best.npz"
    if is_checkpoint_file(best):
        trainer.network.load_state_dict(load_bundle(best).group("weights"))
    metrics = trainer.evaluate(data.test)
    write_json(run / SUMMARY_FILE, {"split": "test", "checkpoint": str(best), **metrics})
    return metrics
