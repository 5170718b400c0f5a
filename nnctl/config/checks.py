"""Checks that need several keys of a config at once, and the names training will report.

Each check returns problems as ``(key path, message)`` pairs, the path relative to the model that
is checked; `raise_problems` hands them to pydantic as one error whose context keeps the pairs, so
that the loader can put each at its own line and column.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel
from pydantic_core import PydanticCustomError

if TYPE_CHECKING:
    from nnctl.config.loader import Config

Key = str | int
KeyPath = tuple[Key, ...]
Problem = tuple[KeyPath, str]

PROBLEMS_ERROR = "nnctl_problems"
CLASSIFICATION_METRICS = ("accuracy", "precision", "recall", "f1")
REGRESSION_METRICS = ("mse", "rmse", "mae", "r2")


def dotted(path: Sequence[Any]) -> str:
    """A key path as the user reads it: ``model.layers[1].units``."""
    text = ""
    for key in path:
        text += f"[{key}]" if isinstance(key, int) and not isinstance(key, bool) else f".{key}"
    return text.lstrip(".")


def did_you_mean(word: object, choices: Sequence[str]) -> str:
    """``"; did you mean 'relu'?"`` for the closest choice, or ``""`` when nothing is close."""
    text = str(word).lower()
    matches = difflib.get_close_matches(text, list(choices), n=1, cutoff=0.6)
    if not matches and len(text) >= 2:
        matches = [choice for choice in choices if choice.lower().startswith(text)][:1]
    return f"; did you mean '{matches[0]}'?" if matches else ""


def raise_problems(problems: Sequence[Problem]) -> None:
    """Raise the problems, if any, as one pydantic error of type ``nnctl_problems``."""
    if problems:
        summary = "; ".join(f"{dotted(path)}: {message}" for path, message in problems)
        context = {"summary": summary, "problems": tuple(problems)}
        raise PydanticCustomError(PROBLEMS_ERROR, "{summary}", context)


# --- the whole config -----------------------------------------------------------------------------


def config_problems(cfg: Config) -> list[Problem]:
    """What is inconsistent across sections: loss and output layer, metrics, monitors, schedule."""
    return [
        *_output_problems(cfg),
        *_metric_problems(cfg),
        *_monitor_problems(cfg),
        *_schedule_problems(cfg),
    ]


def _output_problems(cfg: Config) -> list[Problem]:
    """The pairs that work: softmax + categorical_crossentropy (>= 2 units), sigmoid +
    binary_crossentropy (1 unit), and for mse/mae/huber one unit of any activation but softmax."""
    i = len(cfg.model.layers) - 1
    last = cfg.model.layers[i]
    activation, units = ("model", "layers", i, "activation"), ("model", "layers", i, "units")
    loss, problems = cfg.loss_name, list[Problem]()
    if loss == "categorical_crossentropy":
        if last.activation_name != "softmax":
            problems.append(
                (activation, f"{loss} needs a softmax output layer, got {last.activation_name}")
            )
        if last.units < 2:
            problems.append(
                (
                    units,
                    f"{loss} needs one output unit per class (at least 2), got {last.units}; "
                    "for two classes use 1 sigmoid unit and binary_crossentropy",
                )
            )
    elif loss == "binary_crossentropy":
        if last.activation_name != "sigmoid":
            problems.append(
                (activation, f"{loss} needs a sigmoid output layer, got {last.activation_name}")
            )
        if last.units != 1:
            problems.append(
                (
                    units,
                    f"{loss} needs 1 output unit, got {last.units}; "
                    "for more classes use softmax and categorical_crossentropy",
                )
            )
    else:
        if last.units != 1:
            problems.append(
                (
                    units,
                    f"loss {loss} predicts one target column: the output layer needs 1 unit, "
                    f"got {last.units}",
                )
            )
        if last.activation_name == "softmax":
            problems.append(
                (
                    activation,
                    f"softmax of one output is always 1: with loss {loss} use linear "
                    "(or sigmoid for targets in [0, 1])",
                )
            )
    return problems


def _metric_problems(cfg: Config) -> list[Problem]:
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


def available_monitors(cfg: Config) -> list[str]:
    """The names of the values training reports each epoch, which a monitor may watch.

    ``loss`` and each metric (``accuracy``), and with validation data their ``val_`` versions.
    """
    names = list(dict.fromkeys(["loss", *cfg.metrics]))
    if cfg.data.has_validation_data:
        names += [f"val_{name}" for name in names]
    return names


def _monitor_problems(cfg: Config) -> list[Problem]:
    early = cfg.training.early_stopping
    monitors: list[tuple[KeyPath, str]] = []
    if early is None or cfg.training.checkpoint.monitor != early.monitor:  # else reported once
        monitors.append((("training", "checkpoint", "monitor"), cfg.training.checkpoint.monitor))
    if cfg.training.early_stopping is not None:
        monitors.append(
            (("training", "early_stopping", "monitor"), cfg.training.early_stopping.monitor)
        )
    if cfg.schedule is not None and cfg.schedule.name == "reduce_on_plateau":
        monitors.append((("schedule", "monitor"), cfg.schedule.monitor))
    problems: list[Problem] = []
    for path, name in monitors:
        message = monitor_problem(cfg, name)
        if message is not None:
            problems.append((path, message))
    return problems


def monitor_problem(cfg: Config, name: str) -> str | None:
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


def _schedule_problems(cfg: Config) -> list[Problem]:
    schedule, problems = cfg.schedule, list[Problem]()
    epochs, rate = cfg.training.epochs, cfg.optimizer.learning_rate
    if schedule is not None and schedule.name == "cosine" and schedule.warmup_epochs >= epochs:
        problems.append(
            (
                ("schedule", "warmup_epochs"),
                f"must be less than training.epochs ({epochs}), got {schedule.warmup_epochs}",
            )
        )
    if schedule is not None and schedule.name in ("cosine", "reduce_on_plateau"):
        min_lr = schedule.min_lr
        if min_lr >= rate:
            problems.append(
                (
                    ("schedule", "min_lr"),
                    f"must be less than optimizer.learning_rate ({rate:g}), got {min_lr:g}",
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
    from nnctl.config.sections import DataConfig

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
    cfg: Config, n_classes: int | None, classes: Sequence[str] | None = None
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
