"""One training run from a config: data, network, run directory, checkpoints, resume.

`train_run` is what ``nnctl train`` calls. It loads the config and the data, builds the network,
creates (or, with ``resume``, reopens) the run directory, trains through `Trainer` with the run's
callbacks, and records the outcome in ``run.json``: ``completed``, ``interrupted``, ``diverged`` or
``failed``. Nothing here prints; progress goes to the callback the caller passes.
"""

from __future__ import annotations

import platform
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import __version__
from nnctl.config.checks import output_units_problem
from nnctl.config.loader import Config, config_to_yaml
from nnctl.data import Datasets, load_training_data
from nnctl.data.inputs import input_sha256
from nnctl.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    Interrupted,
    TrainingDiverged,
)
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import Schedule, get_schedule
from nnctl.store import model
from nnctl.store.bundle import is_checkpoint_file, load_bundle, save_bundle
from nnctl.store.model import bundle_contents
from nnctl.store.record import RunRecord
from nnctl.store.runs import (
    CHECKPOINTS,
    CONFIG_FILE,
    METRICS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    MetricsFile,
    create_run_dir,
    read_metrics,
    read_record,
    remove_stale_temporaries,
    run_lock,
    runs_root,
    write_json,
    write_text,
)
from nnctl.training.boundary import engine_errors
from nnctl.training.callbacks import (
    Callback,
    Checkpointer,
    EarlyStopping,
    MetricsWriter,
    csv_row,
    metrics_columns,
)
from nnctl.training.trainer import Split, Trainer
from nnctl.workflows.memory import memory_hint, network_memory_problem
from nnctl.workflows.resume import check_epochs
from nnctl.workflows.resume import resolve_config as resolve_config  # the CLI's entry point


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


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def sha256(path: Path) -> str:
    """Hex SHA-256 of a data file as it was read (of the copy read, for a pipe)."""
    return input_sha256(path)


def build_network(
    cfg: Config, data: Datasets, seed_seq: np.random.SeedSequence, source: str = "config"
) -> Network:
    """The network the config describes, for the data's input width and classes.

    ``source`` (the config file) starts the message when the output layer does not fit the data.
    """
    pre = data.preprocessor
    n_classes = len(pre.class_names) if pre.class_names is not None else None
    problem = output_units_problem(cfg, n_classes)
    if problem is not None:
        names = f" ({', '.join(pre.class_names[:10])})" if pre.class_names else ""
        raise ConfigError(f"{source}: {problem}{names}")
    too_big = network_memory_problem(cfg, pre.n_features, n_rows=len(data.train.X))
    if too_big is not None:
        raise ConfigError(f"{source}: {too_big}", hint=memory_hint(too_big))
    layers = [
        {
            "units": layer.units,
            "activation": layer.activation_name,
            "activation_params": layer.activation_params,
            "dropout": layer.dropout,
            "initializer": layer.initializer,
        }
        for layer in cfg.model.layers
    ]
    options = cfg.optimizer.model_dump(exclude={"name"})
    with engine_errors():
        network = Network.build(
            n_inputs=pre.n_features,
            layers=layers,
            loss=get_loss(cfg.loss_name, **cfg.loss_params),
            rng=np.random.default_rng(seed_seq),
            dtype=np.dtype(cfg.training.dtype),
        )
        optimizer = get_optimizer(cfg.optimizer.name, **options)
        network.attach_optimizer(optimizer, clip_grad_norm=cfg.training.clip_grad_norm)
    return network


def build_schedule(cfg: Config) -> Schedule:
    """The learning-rate schedule, constant when the config names none."""
    lr, epochs = cfg.optimizer.learning_rate, cfg.training.epochs
    with engine_errors():
        if cfg.schedule is None:
            return get_schedule("constant", base_lr=lr, epochs=epochs)
        options = cfg.schedule.model_dump(exclude={"name"})
        return get_schedule(cfg.schedule.name, base_lr=lr, epochs=epochs, **options)


class RunRecorder(Callback):
    """Keeps ``run.json`` current: epochs done and the best monitored value, after each epoch."""

    def __init__(self, run: Path, record: RunRecord, checkpointer: Checkpointer) -> None:
        self.run = run
        self.record = record
        self.checkpointer = checkpointer

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self.record.epochs_done = epoch
        self.write()

    def write(self, **changes: Any) -> None:
        """Write ``run.json``: the best epoch is the one in ``best.npz``, and ``changes``."""
        tracker = self.checkpointer.tracker
        self.record.best_epoch = tracker.best_epoch
        self.record.best_value = tracker.best if tracker.best_epoch is not None else None
        for key, value in changes.items():
            setattr(self.record, key, value)
        write_json(self.run / RUN_FILE, self.record.to_json())


def _monitor(requested: str, has_validation: bool) -> str:
    """The monitored value: ``val_*`` falls back to the training value with no validation data."""
    if not has_validation and requested.startswith("val_"):
        return requested.removeprefix("val_")
    return requested


@contextmanager
def _signals_stop(trainer: Trainer) -> Iterator[None]:
    """While training, SIGINT and SIGTERM ask the loop to stop after the current batch.

    A second signal stops at once (the last complete checkpoint is still on disk).
    """

    def handler(signum: int, frame: object) -> None:
        if trainer.interrupt_requested:
            raise KeyboardInterrupt
        trainer.request_interrupt()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


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
) -> RunResult:
    """Train the network ``cfg`` describes in a new run directory (or continue ``resume``).

    ``config_path`` is the file ``cfg`` came from, for messages. The data is read inside
    ``loading()``, where the caller may show that it is (nothing here prints).
    """
    seeds = np.random.SeedSequence(cfg.seed).spawn(2)
    with loading():
        data = load_training_data(cfg)
    if config_path is None and resume is not None:
        config_path = resume / CONFIG_FILE
    network = build_network(cfg, data, seeds[0], str(config_path or "config"))
    run = (
        resume
        if resume is not None
        else create_run_dir(runs_root(runs_dir), name or cfg.name or "run")
    )
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
    record = _run_record(cfg, data, run, command, resume)
    ckpt = cfg.training.checkpoint
    checkpointer = Checkpointer(
        lambda kind, epoch: None, _monitor(ckpt.monitor, has_val), ckpt.mode
    )
    names = list(cfg.metrics)
    metrics_file = MetricsFile(run / METRICS_FILE, metrics_columns(names, has_val))
    recorder = RunRecorder(run, record, checkpointer)
    callbacks: list[Callback] = []
    early = cfg.training.early_stopping
    if early is not None:
        es = early.model_copy(update={"monitor": _monitor(early.monitor, has_val)})
        callbacks.append(EarlyStopping(**es.model_dump()))
    callbacks += [checkpointer, MetricsWriter(metrics_file), recorder]
    if progress is not None:
        callbacks.append(progress)
    pre = data.preprocessor
    trainer = Trainer(
        network,
        _split(data.train),
        _split(data.validation) if data.validation is not None else None,
        task=cfg.task,
        metrics=names,
        epochs=cfg.training.epochs,
        batch_size=cfg.training.batch_size,
        shuffle=cfg.training.shuffle,
        schedule=build_schedule(cfg),
        rng=np.random.default_rng(shuffle_seed),
        n_classes=max(pre.n_outputs, 2),
        target_scale=pre.target.std,
        callbacks=callbacks,
    )
    saver = _Saver(run, trainer, pre, cfg.task)
    checkpointer.save = saver.save
    if resume is not None:
        saver.restore(metrics_file, cfg)
    # On resume, the new training.epochs (the one change allowed), so that the records agree.
    write_text(run / CONFIG_FILE, config_to_yaml(cfg))
    recorder.write(status="running")
    test_metrics = _fit(trainer, recorder, lambda: _test_metrics(trainer, data, run))
    recorder.write(status="completed", stop_reason=trainer.stop_reason, ended=_now())
    return RunResult(path=run, record=record, test_metrics=test_metrics)


def _fit(
    trainer: Trainer, recorder: RunRecorder, finish: Callable[[], dict[str, float] | None]
) -> dict[str, float] | None:
    """Run the epochs and ``finish``; record how the run ended when it ends in an error."""
    try:
        with _signals_stop(trainer):
            trainer.fit()
        return finish()
    except (Interrupted, KeyboardInterrupt) as error:
        recorder.write(status="interrupted", stop_reason="interrupted", ended=_now())
        done = f"{trainer.epoch} complete epoch{'s' if trainer.epoch != 1 else ''}"
        interrupted = Interrupted(
            f"training interrupted; {recorder.run} holds {done}",
            hint=f"continue with: nnctl train --resume {recorder.run}",
        )
        interrupted.run = (str(recorder.run), recorder.record.to_json())
        raise interrupted from error
    except TrainingDiverged as error:
        recorder.write(status="diverged", stop_reason=str(error), ended=_now())
        error.hint = error.hint or "lower the learning rate, or normalize the inputs"
        error.run = (str(recorder.run), recorder.record.to_json())
        raise
    except BaseException as error:
        recorder.write(
            status="failed", stop_reason=f"{type(error).__name__}: {error}", ended=_now()
        )
        raise


class _Saver:
    """Writes and reads the run's checkpoints for the `Checkpointer`."""

    def __init__(self, run: Path, trainer: Trainer, preprocessor: Any, task: str) -> None:
        self.run = run
        self.trainer = trainer
        self.preprocessor = preprocessor
        self.task = task

    def save(self, kind: str, epoch: int) -> None:
        meta, groups = bundle_contents(self.trainer.network, self.preprocessor, self.task)
        meta["epoch"] = epoch
        if kind == "last":
            meta["training"], arrays = self.trainer.state_dict()
            groups = {**groups, **arrays, **self._early_stopping_weights()}
        save_bundle(self.run / CHECKPOINTS / f"{kind}.npz", meta, groups)

    def _early_stopping_weights(self) -> dict[str, dict[str, np.ndarray]]:
        for callback in self.trainer.callbacks:
            if isinstance(callback, EarlyStopping) and callback.best_weights is not None:
                return {"early_stopping": callback.best_weights}
        return {}

    def restore(self, metrics_file: MetricsFile, cfg: Config) -> None:
        """Continue from ``last.npz``: weights, optimizer, RNGs, schedule, callbacks, history.

        ``metrics.csv`` keeps its rows up to the checkpoint's epoch; a row the checkpoint has but
        the file lacks (a kill between the two writes), or every row of a damaged file, comes
        from the checkpoint's history.
        """
        remove_stale_temporaries(self.run)
        path = self.run / CHECKPOINTS / "last.npz"
        if not is_checkpoint_file(path):
            return  # stopped before the first epoch ended: start from the beginning
        bundle = load_bundle(path)
        model.check_finite(bundle, ("weights", "optimizer", "early_stopping"))
        check_epochs(self.run, int(bundle.meta.get("epoch", 0)), cfg, (), None)
        try:
            self.trainer.network.load_state_dict(bundle.group("weights"))
            self.trainer.load_state_dict(bundle.meta["training"], bundle.groups)
        except (KeyError, TypeError, ValueError) as error:
            raise CheckpointError(
                f"{path}: does not fit this run's network and config ({error})",
                hint="resume with the config the run was trained with",
            ) from None
        for callback in self.trainer.callbacks:
            if isinstance(callback, EarlyStopping) and bundle.group("early_stopping"):
                callback.best_weights = dict(bundle.group("early_stopping"))
        try:
            saved = {int(row["epoch"]): row for row in read_metrics(metrics_file.path)}
        except CheckpointError:
            saved = {}  # damaged: rebuilt from the checkpoint, which has every epoch's logs
        metrics_file.rows = [
            saved.get(epoch) or csv_row(epoch, logs)
            for epoch, logs in enumerate(self.trainer.history, start=1)
        ]


def _split(split: Any) -> Split:
    return Split(X=split.X, y=split.y)


def _test_metrics(trainer: Trainer, data: Datasets, run: Path) -> dict[str, float] | None:
    """Test-split loss and metrics of the best checkpoint's weights, written to summary.json."""
    if data.test is None:
        return None
    best = run / CHECKPOINTS / "best.npz"
    if is_checkpoint_file(best):
        trainer.network.load_state_dict(load_bundle(best).group("weights"))
    metrics = trainer.evaluate(_split(data.test))
    write_json(run / SUMMARY_FILE, {"split": "test", "checkpoint": str(best), **metrics})
    return metrics


def _check_same_data(run: Path, record: RunRecord, data: Datasets) -> None:
    """Refuse to resume on data files that changed since the run started (their sha256)."""
    recorded = {item["path"]: item["sha256"] for item in record.data_files}
    for path in data.files:
        before = recorded.get(str(path))
        if before is not None and sha256(path) != before:
            raise DataError(
                f"{path}: changed since {run} started (its sha256 differs from run.json's); "
                "resuming on other data would not continue the same training",
                hint="restore the original file, or train a new run",
            )


def _run_record(
    cfg: Config, data: Datasets, run: Path, command: Sequence[str], resume: Path | None
) -> RunRecord:
    """The content of ``run.json`` at the start (or resumption) of a run."""
    if resume is not None:
        record = read_record(run)
        _check_same_data(run, record, data)
        record.resumed.append(_now())
        record.status, record.epochs_planned, record.ended = "running", cfg.training.epochs, None
        record.stop_reason = None
        return record
    return RunRecord(
        name=run.name,
        epochs_planned=cfg.training.epochs,
        monitor=_monitor(cfg.training.checkpoint.monitor, data.validation is not None),
        seed=cfg.seed,
        command=list(command) or sys.argv,
        versions={
            "nnctl": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        data_files=[{"path": str(path), "sha256": sha256(path)} for path in data.files],
        started=_now(),
    )
