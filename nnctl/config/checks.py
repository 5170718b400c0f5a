"""Checks that need several sections of a config at once, and the names training will report.

Each check returns problems as ``(key path, message)`` pairs, the path from the top of the file,
which `nnctl.config.keys.raise_problems` hands to pydantic. The checks read a config through
`Whole`, the part of `nnctl.config.loader.Config` they need, so that this module does not import
the loader that calls it. Which output layer a loss needs is the engine's table
(`nnctl.nn.losses.LOSSES`: each loss's fused ``activation``); the number of output units follows
from the data: one unit per class, else one target column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel

from nnctl.config.data import DataConfig
from nnctl.config.keys import KeyPath, Problem
from nnctl.config.model import ModelConfig
from nnctl.config.optimizer import OptimizerSection
from nnctl.config.schedule import ScheduleSection
from nnctl.config.training import TrainingConfig
from nnctl.nn.losses import LOSSES
from nnctl.nn.registry import did_you_mean
from nnctl.training.metrics import CLASSIFICATION_METRICS, REGRESSION_METRICS, Task


class Whole(Protocol):
    """What the checks read of a whole config (`nnctl.config.loader.Config` has it)."""

    @property
    def data(self) -> DataConfig: ...
    @property
    def model(self) -> ModelConfig: ...
    @property
    def metrics(self) -> list[str]: ...
    @property
    def optimizer(self) -> OptimizerSection: ...
    @property
    def schedule(self) -> ScheduleSection | None: ...
    @property
    def training(self) -> TrainingConfig: ...
    @property
    def loss_name(self) -> str: ...
    @property
    def task(self) -> Task: ...


# --- the whole config -----------------------------------------------------------------------------


def config_problems(cfg: Whole) -> list[Problem]:
    """What is inconsistent across sections: loss and output layer, metrics, monitors, schedule."""
    return [
        *_output_problems(cfg),
        *_metric_problems(cfg),
        *_monitor_problems(cfg),
        *_schedule_problems(cfg),
    ]


def _output_problems(cfg: Whole) -> list[Problem]:
    """The output layer against the loss: the activation a fused loss needs (the engine's), and
    the units the data gives: one per class, at least 2, for categorical_crossentropy, else one;
    softmax of one unit, always 1, fits no regression loss."""
    i = len(cfg.model.layers) - 1
    last = cfg.model.layers[i]
    activation, units = ("model", "layers", i, "activation"), ("model", "layers", i, "units")
    loss, got, problems = cfg.loss_name, last.activation_name, list[Problem]()
    required = LOSSES[loss].activation
    if required is not None and got != required:
        problems.append((activation, f"{loss} needs a {required} output layer, got {got}"))
    wrong_units = _units_problem(loss, cfg.task, last.units)
    if wrong_units is not None:
        problems.append((units, wrong_units))
    if required is None and got == "softmax":
        problems.append(
            (
                activation,
                f"softmax of one output is always 1: with loss {loss} use linear "
                "(or sigmoid for targets in [0, 1])",
            )
        )
    return problems


def _units_problem(loss: str, task: Task, units: int) -> str | None:
    """Why an output layer of ``units`` does not fit the task's targets, or None when it does."""
    if task == "classification" and units < 2:
        return (
            f"{loss} needs one output unit per class (at least 2), got {units}; "
            "for two classes use 1 sigmoid unit and binary_crossentropy"
        )
    if task == "binary" and units != 1:
        return (
            f"{loss} needs 1 output unit, got {units}; "
            "for more classes use softmax and categorical_crossentropy"
        )
    if task == "regression" and units != 1:
        return f"loss {loss} predicts one target column: the output layer needs 1 unit, got {units}"
    return None


def _metric_problems(cfg: Whole) -> list[Problem]:
    regression = cfg.task == "regression"
    allowed = REGRESSION_METRICS if regression else CLASSIFICATION_METRICS
    kind = "a regression" if regression else "a classification"
    problems: list[Problem] = []
    for i, metric in enumerate(cfg.metrics):
        if metric in cfg.metrics[:i]:
            problems.append((("metrics", i), f"{metric} is listed twice"))
        elif metric not in allowed:
            problems.append(
                (
                    ("metrics", i),
                    f"{metric} does not fit {kind} task (loss {cfg.loss_name}); "
                    f"expected one of: {', '.join(allowed)}",
                )
            )
    return problems


def available_monitors(cfg: Whole) -> list[str]:
    """The names of the values training reports each epoch, which a monitor may watch.

    ``loss`` and each metric (``accuracy``), and with validation data their ``val_`` versions.
    """
    names = list(dict.fromkeys(["loss", *cfg.metrics]))
    if cfg.data.has_validation_data:
        names += [f"val_{name}" for name in names]
    return names


def _monitor_problems(cfg: Whole) -> list[Problem]:
    early = cfg.training.early_stopping
    monitors: list[tuple[KeyPath, str]] = []
    if early is None or cfg.training.checkpoint.monitor != early.monitor:  # else reported once
        monitors.append((("training", "checkpoint", "monitor"), cfg.training.checkpoint.monitor))
    if cfg.training.early_stopping is not None:
        monitors.append(
            (("training", "early_stopping", "monitor"), cfg.training.early_stopping.monitor)
        )
    schedule = {} if cfg.schedule is None else cfg.schedule.model_dump()
    if "monitor" in schedule:
        monitors.append((("schedule", "monitor"), schedule["monitor"]))
    problems: list[Problem] = []
    for path, name in monitors:
        message = monitor_problem(cfg, name)
        if message is not None:
            problems.append((path, message))
    return problems


def monitor_problem(cfg: Whole, name: str) -> str | None:
    """Why training will not report ``name``, or None when it will."""
    available = available_monitors(cfg)
    if name in available:
        return None
    expected = f"expected one of: {', '.join(available)}"
    base = name.removeprefix("val_")
    if name.startswith("val_") and base in available:
        return (
            f"'{name}' will not exist: there is no validation data (data.validation_split is 0 "
            f"and there is no data.validation file); {expected}"
        )
    if base in CLASSIFICATION_METRICS + REGRESSION_METRICS:
        return (
            f"'{name}' will not exist: {base} is not in metrics; add it there, "
            f"or use one of: {', '.join(available)}"
        )
    return f"must be one of: {', '.join(available)}, got '{name}'{did_you_mean(name, available)}"


def _schedule_problems(cfg: Whole) -> list[Problem]:
    schedule = {} if cfg.schedule is None else cfg.schedule.model_dump()
    epochs, rate, problems = cfg.training.epochs, cfg.optimizer.learning_rate, list[Problem]()
    if schedule.get("warmup_epochs", 0) >= epochs:
        problems.append(
            (
                ("schedule", "warmup_epochs"),
                f"must be less than training.epochs ({epochs}), got {schedule['warmup_epochs']}",
            )
        )
    if "min_lr" in schedule and schedule["min_lr"] >= rate:
        problems.append(
            (
                ("schedule", "min_lr"),
                f"must be less than optimizer.learning_rate ({rate:g}), got {schedule['min_lr']:g}",
            )
        )
    return problems


# --- defaults that depend on other keys -----------------------------------------------------------


def default_monitors(raw: Any) -> Any:
    """Fill in the monitors left out of raw config data, from the keys that were given.

    A monitor left out means ``val_loss``, which does not exist without validation data; there it
    means ``loss``. A ``training.checkpoint`` without a monitor follows early stopping (its
    monitor and mode), so that ``best.npz`` holds the weights early stopping restores. Runs before
    validation, on the data as given (mappings or section objects).
    """
    if not isinstance(raw, dict):
        return raw
    raw, validation = dict(raw), _has_validation(raw.get("data"))
    training = _plain(raw.get("training", {}))
    if isinstance(training, dict):
        training = dict(training)
        early = _plain(training.get("early_stopping"))
        if not validation and isinstance(early, dict) and "monitor" not in early:
            training["early_stopping"] = early = {**early, "monitor": "loss"}
        checkpoint = _plain(training.get("checkpoint", {}))
        if isinstance(checkpoint, dict) and "monitor" not in checkpoint:
            if isinstance(early, dict):
                followed = {"monitor": early.get("monitor", "val_loss"), "mode": early.get("mode")}
                checkpoint = {**{k: v for k, v in followed.items() if v is not None}, **checkpoint}
            elif not validation:
                checkpoint = {**checkpoint, "monitor": "loss"}
            training["checkpoint"] = checkpoint
        raw["training"] = training
    schedule = _plain(raw.get("schedule"))
    if (
        not validation
        and isinstance(schedule, dict)
        and schedule.get("name") == "reduce_on_plateau"
    ):
        raw["schedule"] = {"monitor": "loss", **schedule}
    return raw


def _plain(value: Any) -> Any:
    """A section object as the mapping of the keys it was given; anything else as it is."""
    return value.model_dump(exclude_unset=True) if isinstance(value, BaseModel) else value


def _has_validation(data: Any) -> bool:
    """Whether raw data has validation data; True when it cannot tell (validation will fail)."""
    if isinstance(data, DataConfig):
        return data.has_validation_data
    if not isinstance(data, dict):
        return True
    if data.get("validation") is not None:
        return True
    split = data.get("validation_split", DataConfig.model_fields["validation_split"].default)
    try:
        return float(split) > 0
    except (TypeError, ValueError, OverflowError):
        return True


def output_units_problem(
    cfg: Whole, n_classes: int | None, classes: Sequence[str] | None = None
) -> str | None:
    """Why the output layer does not fit data with ``n_classes`` classes (None: regression).

    With the class names, ``classes``, the message ends with the first ten: ``(a, b, c)``.
    """
    i = len(cfg.model.layers) - 1
    units = cfg.model.layers[i].units
    where = f"model.layers[{i}].units"
    names = f" ({', '.join(classes[:10])})" if classes else ""
    if cfg.task == "classification" and n_classes is not None and units != n_classes:
        return (
            f"{where}: the data has {n_classes} classes, so the output layer needs "
            f"{n_classes} units, got {units}{names}"
        )
    if cfg.task == "binary" and n_classes is not None and n_classes != 2:
        return (
            f"loss: binary_crossentropy needs 2 classes, the data has {n_classes}; "
            f"use categorical_crossentropy and {n_classes} softmax units{names}"
        )
    return None
