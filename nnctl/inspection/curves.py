"""A run's learning curves as plain data: what ``nnctl plot`` and ``nnctl report`` draw.

`read_curves` reads a run directory once: ``metrics.csv`` (the training and validation loss, each
metric, the learning rate), ``layer_stats.csv`` (each layer's update ratio ``||dW|| / ||W||``) and
``run.json`` (the run's name, its best epoch and the value it was chosen by). Nothing here draws;
`nnctl.inspection.figures` makes matplotlib figures of these, and the CLI terminal charts.

A missing value (an empty cell, a column a run does not have at that epoch, the ``inf`` of a run
that diverged) is ``nan`` in a `Curve`, so that a line drawn through it breaks there instead of
jumping to 0 or off the chart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from nnctl.inspection.run_facts import Row, read_run
from nnctl.store.record import read_record
from nnctl.store.runs import resolve_run
from nnctl.training.metrics import direction

#: The charts ``nnctl plot --what`` knows, in the order they are shown.
KINDS = ("loss", "metrics", "lr", "update_ratio", "confusion")

#: The split each ``metrics.csv`` prefix names, as a legend says it.
SPLITS = {"train": "train", "val": "validation"}

#: ``metrics.csv`` columns that are not a ``train_``/``val_`` metric.
_NOT_METRICS = {"epoch", "lr", "seconds"}

#: The update ratio's rule of thumb (CS231n: "somewhere around 1e-3"), drawn as a reference line.
UPDATE_RATIO_REFERENCE = 1e-3


@dataclass(frozen=True)
class Curve:
    """One line of a chart: ``y[i]`` at epoch ``x[i]`` (``nan`` where there is no value).

    Attributes
    ----------
    label : str
        What the legend says: ``train``, ``validation``, ``layer 0``, ``lr``.
    x : tuple of int
        Epochs, increasing.
    y : tuple of float
        The values, the same length as ``x``.
    """

    label: str
    x: tuple[int, ...]
    y: tuple[float, ...]

    def finite(self) -> list[tuple[int, float]]:
        """The ``(epoch, value)`` points with a finite value."""
        return [(x, y) for x, y in zip(self.x, self.y, strict=True) if math.isfinite(y)]

    def is_constant(self) -> bool:
        """Whether every finite value is the same (a learning rate without a schedule)."""
        return len({y for _, y in self.finite()}) <= 1


@dataclass(frozen=True)
class RunCurves:
    """Everything ``nnctl plot`` draws of one run, except the confusion matrix.

    Attributes
    ----------
    name : str
        The run's name (``run.json``), the legend's label when runs are compared.
    path : Path
        The run directory.
    loss_name : str or None
        The loss (``categorical_crossentropy``, ``mse``), None when the config is unreadable.
    task : str or None
        ``classification``, ``binary`` or ``regression``.
    loss : list of Curve
        ``train`` and, with a validation split, ``validation``.
    metrics : dict of str to list of Curve
        Each metric (``accuracy``, ``rmse``) with its ``train`` and ``validation`` curves.
    lr : Curve or None
        The learning rate per epoch.
    update_ratio : list of Curve or None
        ``||dW|| / ||W||`` per epoch, one curve per layer (``layer 0``...); None without
        ``layer_stats.csv``.
    best_epoch : int or None
        The epoch of the best checkpoint, chosen by ``monitor`` (``val_loss``), at ``best_value``.
    """

    name: str
    path: Path
    loss_name: str | None
    task: str | None
    loss: list[Curve]
    metrics: dict[str, list[Curve]]
    lr: Curve | None
    update_ratio: list[Curve] | None
    best_epoch: int | None
    monitor: str | None
    best_value: float | None

    @property
    def has_validation(self) -> bool:
        """Whether the run has a validation loss (a validation split)."""
        return any(curve.label == "validation" for curve in self.loss)


@dataclass(frozen=True)
class Confusion:
    """A confusion matrix to draw: ``matrix[i][j]`` rows of true class ``labels[i]`` predicted
    ``labels[j]``; ``title`` says whose and on what data."""

    matrix: list[list[int]]
    labels: list[str]
    title: str = ""


def read_curves(run: Path, runs_dir: Path | None = None) -> RunCurves:
    """The curves of ``run`` (a run directory or a run's name in the runs directory).

    A run that does not exist is a `UsageError` (exit 2); a damaged ``metrics.csv``,
    ``layer_stats.csv`` or ``run.json`` a `CheckpointError` (exit 3) naming the file.
    """
    path = resolve_run(run, runs_dir)
    record = read_record(path)
    facts = read_run(path)
    epochs = tuple(int(row["epoch"] or 0) for row in facts.metrics)
    columns = _columns(facts.metrics)
    loss = [
        _curve(SPLITS[prefix], epochs, facts.metrics, f"{prefix}_loss")
        for prefix in SPLITS
        if f"{prefix}_loss" in columns and _has_values(facts.metrics, f"{prefix}_loss")
    ]
    return RunCurves(
        name=record.name,
        path=path,
        loss_name=facts.loss,
        task=facts.task,
        loss=loss,
        metrics=_metrics(epochs, facts.metrics, columns),
        lr=_curve("lr", epochs, facts.metrics, "lr") if "lr" in columns else None,
        update_ratio=None if facts.layer_stats is None else _update_ratios(facts.layer_stats),
        best_epoch=record.best_epoch,
        monitor=record.monitor,
        best_value=record.best_value,
    )


def log_scale_suits(name: str, curves: Sequence[Curve]) -> bool:
    """Whether ``--log-y`` applies to the chart of ``name`` (``loss``, a metric, ``lr``).

    An error (loss, rmse, mae, a learning rate that changes) whose values are all above 0 goes on
    a log scale; a score (accuracy, r2, a larger-is-better metric) stays linear, as r2 can be
    negative and accuracy's last percent is what a log scale would squash.
    """
    values = [y for curve in curves for _, y in curve.finite()]
    if not values or min(values) <= 0 or direction(name) != "min":
        return False
    return not (name == "lr" and len(set(values)) == 1)


def _columns(rows: list[Row]) -> list[str]:
    """The columns of the rows, in the file's order."""
    return list(rows[0]) if rows else []


def _has_values(rows: list[Row], column: str) -> bool:
    return any(row.get(column) is not None for row in rows)


def _curve(label: str, epochs: tuple[int, ...], rows: list[Row], column: str) -> Curve:
    values = tuple(_value(row.get(column)) for row in rows)
    return Curve(label, epochs, values)


def _value(cell: float | None) -> float:
    """A cell as a value to draw: empty, ``inf`` (a run that diverged) and ``nan`` are ``nan``."""
    return cell if cell is not None and math.isfinite(cell) else math.nan


def _metrics(
    epochs: tuple[int, ...], rows: list[Row], columns: list[str]
) -> dict[str, list[Curve]]:
    """``{"accuracy": [train, validation], ...}`` from the ``train_X`` and ``val_X`` columns."""
    names: list[str] = []
    for column in columns:
        prefix, _, name = column.partition("_")
        if prefix in SPLITS and name and name != "loss" and name not in names:
            names.append(name)
    return {
        name: [
            _curve(SPLITS[prefix], epochs, rows, f"{prefix}_{name}")
            for prefix in SPLITS
            if f"{prefix}_{name}" in columns and _has_values(rows, f"{prefix}_{name}")
        ]
        for name in names
        if name not in _NOT_METRICS
    }


def _update_ratios(rows: list[Row]) -> list[Curve]:
    """One curve per layer of ``layer_stats.csv``'s ``update_ratio`` (epoch 0 has none)."""
    by_layer: dict[int, list[tuple[int, float]]] = {}
    for row in rows:
        epoch, ratio = int(row["epoch"] or 0), row.get("update_ratio")
        if epoch > 0:
            by_layer.setdefault(int(row["layer"] or 0), []).append((epoch, _value(ratio)))
    return [
        Curve(f"layer {layer}", tuple(e for e, _ in points), tuple(v for _, v in points))
        for layer, points in sorted(by_layer.items())
    ]
