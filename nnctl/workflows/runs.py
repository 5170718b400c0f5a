"""Runs read back: what ``nnctl runs list`` and ``nnctl runs show`` report of a run directory.

The status shown is the recorded one, except that a run recorded as ``running`` that no process
is training (its lock is free: ``kill -9``, a crash) is ``stopped``. A damaged ``run.json``,
``config.yaml``, ``metrics.csv`` or ``summary.json`` is a `CheckpointError` naming the file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nnctl.errors import CheckpointError, NnctlError, UsageError
from nnctl.inspection.doctor import diagnose, warnings
from nnctl.store.files import read_json
from nnctl.store.locks import is_locked
from nnctl.store.metrics import read_metrics
from nnctl.store.record import STOPPED, RunRecord, read_record
from nnctl.store.runs import (
    CONFIG_FILE,
    METRICS_FILE,
    RUN_FILE,
    SUMMARY_FILE,
    resolve_run,
    runs_root,
)


@dataclass(frozen=True)
class RunSummary:
    """What ``nnctl runs list`` shows of one run.

    ``status`` is the recorded one, except that a run recorded as ``running`` whose directory
    nobody holds locked is ``stopped``: its process died without recording how (``kill -9``, a
    crash, a power cut). ``resumable`` says whether ``nnctl train --resume`` can continue it.
    """

    path: Path
    name: str
    status: str
    epochs: int
    best_epoch: int | None
    best_value: float | None
    monitor: str | None
    created: str

    @property
    def resumable(self) -> bool:
        return self.status in RESUMABLE

    def as_dict(self) -> dict[str, Any]:
        return {
            "run": str(self.path),
            "name": self.name,
            "status": self.status,
            "resumable": self.resumable,
            "epochs": self.epochs,
            "best_epoch": self.best_epoch,
            "monitor": self.monitor,
            "best_value": self.best_value,
            "created": self.created,
        }


RESUMABLE = ("interrupted", STOPPED, "failed")


def current_status(run: Path, record: RunRecord) -> str:
    """The recorded status, or ``stopped`` for a ``running`` run that no process is training."""
    if record.status == "running" and not is_locked(run):
        return STOPPED
    return record.status


def summarize_run(path: Path) -> RunSummary:
    """Read a run's ``run.json`` into a `RunSummary`."""
    record = read_record(path)
    return RunSummary(
        path=path,
        name=path.name,  # what RUN arguments accept; run.json's name is stale after a rename
        status=current_status(path, record),
        epochs=record.epochs_done,
        best_epoch=record.best_epoch,
        best_value=record.best_value,
        monitor=record.monitor,
        created=record.started,
    )


def runs_in(
    runs_dir: Path | None, on_error: Callable[[Path, Exception], None] | None = None
) -> list[RunSummary]:
    """``nnctl runs list``: the runs of ``runs_dir`` (else ``$NNCTL_RUNS_DIR``, else ``runs``).

    A runs directory asked for by name (``--runs-dir`` or ``NNCTL_RUNS_DIR``) that is not a
    directory is a `UsageError` (exit 2): a typo must not read as "no runs".
    """
    root = runs_root(runs_dir)
    if runs_dir is not None and not root.is_dir():
        what = "is not a directory" if root.exists() else "no such directory"
        raise UsageError(f"--runs-dir {root}: {what}")
    return list_runs(root, on_error)


def list_runs(
    root: Path, on_error: Callable[[Path, Exception], None] | None = None
) -> list[RunSummary]:
    """Every run under ``root``, newest first; damaged runs go to ``on_error`` and are skipped."""
    if not root.is_dir():
        return []
    runs = []
    for child in root.iterdir():
        if not (child / RUN_FILE).is_file():
            continue
        try:
            runs.append(summarize_run(child))
        except (CheckpointError, UsageError, OSError) as error:
            if on_error is not None:
                on_error(child, error)
    return sorted(runs, key=lambda run: (run.created, run.path.name), reverse=True)


def describe_run(path: Path, runs_dir: Path | None = None) -> dict[str, Any]:
    """What ``nnctl runs show`` prints: run.json, a config summary, final metrics, the files and
    ``nnctl doctor``'s warnings.

    A damaged ``run.json``, ``config.yaml``, ``metrics.csv`` or ``summary.json`` is a
    `CheckpointError` (exit 3) that names the file and what is wrong with it.
    """
    run = resolve_run(path, runs_dir)
    record = read_record(run)
    info = record.to_json()
    status = current_status(run, record)
    if status != record.status:
        info.update(status=status, stop_reason=STOPPED_REASON.format(run=run))
    rows = read_metrics(run / METRICS_FILE)
    summary = read_json(run / SUMMARY_FILE) if (run / SUMMARY_FILE).is_file() else None
    files = sorted(p for p in run.rglob("*") if p.is_file() and not p.name.startswith("."))
    return {
        "run": str(run),
        "info": info,
        "resumable": status in RESUMABLE,
        "config": _config_summary(run / CONFIG_FILE),
        "last_epoch": _numbers(rows[-1]) if rows else None,
        "test": summary,
        "files": [{"path": str(p.relative_to(run)), "bytes": p.stat().st_size} for p in files],
        "warnings": doctor_warnings(run),
    }


def doctor_warnings(run: Path) -> list[dict[str, Any]]:
    """``nnctl doctor``'s ``warn`` findings of ``run`` (none when its files cannot be read)."""
    try:
        return warnings(diagnose(run))
    except NnctlError:
        return []


STOPPED_REASON = (
    "the process training it ended without recording how (killed?); "
    "continue it with: nnctl train --resume {run}"
)


def _numbers(row: dict[str, str]) -> dict[str, int | float | None]:
    """A ``metrics.csv`` row as numbers (an empty or unreadable cell: None), as JSON wants it."""
    values: dict[str, int | float | None] = {}
    for key, text in row.items():
        try:
            values[key] = int(text) if key == "epoch" else float(text)
        except ValueError:
            values[key] = None
    return values


def _config_summary(path: Path) -> dict[str, Any]:
    """Layers, loss, optimizer, epochs and batch size of a run's ``config.yaml``."""
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CheckpointError(f"{path}: damaged run: the file is missing") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise CheckpointError(f"{path}: damaged: not readable YAML ({first})") from None
    model = config.get("model") if isinstance(config, dict) else None
    training = config.get("training") if isinstance(config, dict) else None
    layers = model.get("layers") if isinstance(model, dict) else None
    if not isinstance(layers, list) or not all(isinstance(item, dict) for item in layers):
        raise CheckpointError(f"{path}: damaged: expected model.layers, a list of layers")
    if not isinstance(training, dict) or not isinstance(config, dict):
        raise CheckpointError(f"{path}: damaged: expected a training section")
    if not isinstance(config.get("optimizer"), dict | None):
        raise CheckpointError(f"{path}: damaged: expected optimizer to be a mapping")
    return {
        "layers": [
            f"{layer.get('units')} {_activation(layer.get('activation'))}" for layer in layers
        ],
        "loss": config.get("loss"),
        "optimizer": config.get("optimizer"),
        "epochs": training.get("epochs"),
        "batch_size": training.get("batch_size"),
    }


def _activation(value: object) -> str:
    if isinstance(value, dict):
        return str(value.get("name"))
    return str(value)
