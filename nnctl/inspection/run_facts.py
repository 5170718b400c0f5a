"""What ``nnctl doctor`` reads of a run: its metrics, its layer statistics, its task and classes.

``metrics.csv`` and ``layer_stats.csv`` are read as numbers (an empty cell: None; ``nan`` and
``inf`` as themselves, for a run that diverged); a cell that is not a number, or a column a rule
reads that is missing, is a `CheckpointError` naming the file, the line and the column. The task,
the loss, the number of classes and each layer's activation come from ``config.yaml``, the run's
status from ``run.json``, and a regression target's standard deviation from the run's checkpoint
(the logged loss is in the target's units).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeGuard

from nnctl.config.loss import task_of
from nnctl.errors import CheckpointError, NnctlError
from nnctl.nn.losses import LOSSES
from nnctl.store.bundle import is_checkpoint_file
from nnctl.store.layer_stats import LAYER_STATS_COLUMNS
from nnctl.store.metrics import read_metrics
from nnctl.store.model import load_model
from nnctl.store.runs import CHECKPOINTS, CONFIG_FILE, METRICS_FILE, RUN_FILE

LAYER_STATS_FILE = "layer_stats.csv"
METRICS_COLUMNS = ("epoch", "train_loss")
"""The columns of ``metrics.csv`` the rules need (``val_loss`` is there only with validation)."""

Row = dict[str, float | None]


@dataclass(frozen=True)
class RunFacts:
    """A run as the doctor's rules see it.

    Attributes
    ----------
    metrics : list of Row
        ``metrics.csv``, one row per epoch (``epoch``, ``train_loss``, ``val_loss``, ...).
    layer_stats : list of Row or None
        ``layer_stats.csv`` (``epoch``, ``layer``, ``grad_norm``, ...), None when the run has none.
    task, loss : str or None
        ``classification``, ``binary`` or ``regression``; the loss's name (None: unreadable config).
    n_classes : int or None
        The softmax output's units for classification.
    target_std : float
        A regression target's standard deviation (None without a readable checkpoint; 1.0 for
        the other tasks).
    activations : list of str
        Each layer's activation.
    status : str or None
        ``run.json``'s status (``diverged``, ``completed``, ...), None when unreadable.
    """

    run: Path
    metrics: list[Row]
    layer_stats: list[Row] | None
    task: str | None = None
    loss: str | None = None
    n_classes: int | None = None
    target_std: float | None = 1.0
    activations: list[str] = field(default_factory=list)
    status: str | None = None

    def column(self, name: str) -> list[float]:
        """A ``metrics.csv`` column with its empty and non-finite (nan, inf) cells left out."""
        return [v for row in self.metrics if is_finite(v := row.get(name))]

    def layers(self) -> dict[int, list[Row]]:
        """``layer_stats.csv``'s rows by layer index, in epoch order."""
        by_layer: dict[int, list[Row]] = {}
        for row in self.layer_stats or []:
            by_layer.setdefault(int(row["layer"] or 0), []).append(row)
        return by_layer


def is_finite(value: float | None) -> TypeGuard[float]:
    """Whether a cell holds a finite number (not empty, nan or inf)."""
    return value is not None and math.isfinite(value)


def _header(path: Path) -> list[str]:
    """The column names on the first line of a CSV file (none for an empty file)."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            first = handle.readline().strip()
    except (OSError, UnicodeDecodeError):
        return []
    return first.split(",") if first else []


def _numbers(path: Path, needed: Sequence[str]) -> list[Row]:
    """The rows of ``path`` (a ``metrics.csv`` or ``layer_stats.csv``) as numbers.

    An empty cell is None; a file without one of the ``needed`` columns, or a cell that is not a
    number, is a `CheckpointError` naming the file, the line and the column.
    """
    rows = read_metrics(path)
    header = _header(path)
    missing = [name for name in needed if header and name not in header]
    if missing:
        raise CheckpointError(
            f"{path}: damaged: no column {', '.join(map(repr, missing))}; expected the columns "
            f"{', '.join(needed)}, found {', '.join(header)}"
        )
    numbers = []
    for line, row in enumerate(rows, start=2):
        values: Row = {}
        for key, text in row.items():
            try:
                values[key] = float(text) if text.strip() else None
            except ValueError:
                raise CheckpointError(
                    f"{path}: damaged: line {line}, column '{key}': expected a number, "
                    f"found {text!r}"
                ) from None
        numbers.append(values)
    return numbers


def read_run(run: Path) -> RunFacts:
    """Read ``run``'s facts; a damaged ``metrics.csv`` or ``layer_stats.csv`` is a
    `nnctl.errors.CheckpointError` naming the file. A config or checkpoint that cannot be read
    leaves the task or the target's scale unknown (the rules that need them say so)."""
    metrics = _numbers(run / METRICS_FILE, METRICS_COLUMNS)
    stats_path = run / LAYER_STATS_FILE
    stats = _numbers(stats_path, LAYER_STATS_COLUMNS) if stats_path.is_file() else None
    status = _status(run / RUN_FILE)
    model = _model_facts(run / CONFIG_FILE)
    if model is None:
        return RunFacts(run, metrics, stats, status=status)
    loss, units, activations = model
    task = task_of(loss)
    std = _target_std(run) if task == "regression" else 1.0
    classes = units if task == "classification" else None
    return RunFacts(run, metrics, stats, task, loss, classes, std, activations, status)


def _status(path: Path) -> str | None:
    """``run.json``'s ``status``, read as plain JSON; None when it is not there."""
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    status = record.get("status") if isinstance(record, dict) else None
    return status if isinstance(status, str) else None


def _model_facts(path: Path) -> tuple[str, int, list[str]] | None:
    """The loss, the output units and the activations of a run's ``config.yaml``.

    Read as plain YAML, not validated, so that a run's config from another nnctl version (with a
    section this one does not know) still gives them; None when they are not there.
    """
    import yaml

    try:
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        layers = config["model"]["layers"]
        loss = config["loss"]
        loss = loss["name"] if isinstance(loss, dict) else loss
        activations = [str(_name(layer.get("activation", "linear"))) for layer in layers]
        if loss not in LOSSES:
            return None
        return str(loss), int(layers[-1]["units"]), activations
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, IndexError,
            ValueError, AttributeError):  # fmt: skip
        return None


def layer_stats_turned_off(run: Path) -> bool:
    """Whether the run's ``config.yaml`` says ``diagnostics: {layer_stats: false}``."""
    import yaml

    try:
        config = yaml.safe_load((run / CONFIG_FILE).read_text(encoding="utf-8"))
        return config["diagnostics"]["layer_stats"] is False
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
        return False


def _name(value: object) -> object:
    return value.get("name") if isinstance(value, dict) else value  # fmt: skip


def _target_std(run: Path) -> float | None:
    """The regression target's standard deviation, from the run's best (else last) checkpoint."""
    for name in ("best.npz", "last.npz"):
        path = run / CHECKPOINTS / name
        if is_checkpoint_file(path):
            try:
                return float(load_model(path).preprocessor.target.std)
            except NnctlError:
                continue
    return None


def as_mapping(row: Row) -> Mapping[str, float | None]:
    """A row as evidence: only its filled cells."""
    return {key: value for key, value in row.items() if value is not None}
