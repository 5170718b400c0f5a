"""A training run's ``run.json``: the record at the start or resumption, kept current each epoch.

`start_record` makes the record of a new run, or reopens a resumed run's (refusing data files that
changed since it started); `RunRecorder` writes it after every epoch and when the run ends;
`run_summary` is what ``nnctl train --json`` prints of it.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from nnctl import __version__
from nnctl.config.loader import Config
from nnctl.data import Datasets
from nnctl.data.inputs import input_sha256
from nnctl.errors import DataError
from nnctl.store.record import RunRecord, read_record, write_record
from nnctl.training.callbacks import Callback
from nnctl.training.monitors import Checkpointer

SUMMARY_KEYS = ("status", "stop_reason", "epochs_done", "best_epoch", "monitor", "best_value")
"""The keys of the record in ``nnctl train --json``'s summary, in its order."""


def now() -> str:
    """The local time, to the second, as ``run.json`` records it."""
    return datetime.now().astimezone().isoformat(timespec="seconds")


def monitored(requested: str, has_validation: bool) -> str:
    """The monitored value: ``val_*`` falls back to the training value with no validation data."""
    if not has_validation and requested.startswith("val_"):
        return requested.removeprefix("val_")
    return requested


def run_summary(run: Path, record: RunRecord, test: dict[str, float] | None) -> dict[str, Any]:
    """``nnctl train --json``'s object: the run, how it stopped, its best epoch, test metrics."""
    return {"run": str(run), **{key: getattr(record, key) for key in SUMMARY_KEYS}, "test": test}


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
        write_record(self.run, self.record)


def start_record(
    cfg: Config, data: Datasets, run: Path, command: Sequence[str], resume: Path | None
) -> RunRecord:
    """The content of ``run.json`` at the start (or resumption) of a run."""
    if resume is not None:
        record = read_record(run)
        _check_same_data(run, record, data)
        record.resumed.append(now())
        record.status, record.epochs_planned, record.ended = "running", cfg.training.epochs, None
        record.stop_reason = None
        return record
    return RunRecord(
        name=run.name,
        epochs_planned=cfg.training.epochs,
        monitor=monitored(cfg.training.checkpoint.monitor, data.validation is not None),
        seed=cfg.seed,
        command=list(command) or sys.argv,
        versions={
            "nnctl": __version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
        data_files=[{"path": str(path), "sha256": input_sha256(path)} for path in data.files],
        started=now(),
    )


def _check_same_data(run: Path, record: RunRecord, data: Datasets) -> None:
    """Refuse to resume on data files that changed since the run started (their sha256)."""
    recorded = {item["path"]: item["sha256"] for item in record.data_files}
    for path in data.files:
        before = recorded.get(str(path))
        if before is not None and input_sha256(path) != before:
            raise DataError(
                f"{path}: changed since {run} started (its sha256 differs from run.json's); "
                "resuming on other data would not continue the same training",
                hint="restore the original file, or train a new run",
            )
