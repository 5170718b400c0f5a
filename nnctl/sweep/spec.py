"""The sweep file: its own YAML, read with positions so that every mistake is ``file:line``.

A sweep file names a base config, fixed ``set`` overrides, the objective (a ``metrics.csv``
column, its goal, its best or last epoch's value), the sampler, the trial budget, the pruner and
the parameters (dotted ``--set`` keys, each a ``{low, high[, log, step]}`` range or a list of
``values``). `load_sweep` checks the file's own shape; `check_against_base` checks every
parameter's extreme values against the base config, as ``nnctl validate`` would.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nnctl.config import yaml_source
from nnctl.config.keys import KeyPath, dotted, unknown_key
from nnctl.config.loader import Config, load_config
from nnctl.errors import ConfigError

METHODS = ("tpe", "random", "grid", "cmaes")
PRUNERS = ("median", "hyperband", "none")
GOALS = ("max", "min")
VALUES = ("best", "last")
TOP_KEYS = ("base", "set", "objective", "method", "trials", "seed", "pruner", "parameters", "name")
OBJECTIVE_KEYS = ("metric", "goal", "value")
PRUNER_KEYS = ("name", "warmup_epochs")
RANGE_KEYS = ("low", "high", "log", "step")


@dataclass(frozen=True)
class Parameter:
    """One searched key: a list of ``values``, or a range ``low``..``high`` (ints stay ints)."""

    key: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None

    @property
    def is_int(self) -> bool:
        """A range whose bounds (and step) are integers: sampled as integers."""
        bounds = (self.low, self.high, *(() if self.step is None else (self.step,)))
        return self.values is None and all(isinstance(b, int) for b in bounds)

    def extremes(self) -> list[Any]:
        """The values to check against the base config: every listed value, or both bounds."""
        return list(self.values) if self.values is not None else [self.low, self.high]


@dataclass(frozen=True)
class Sweep:
    """A validated sweep file."""

    path: Path
    name: str
    base: Path
    overrides: tuple[str, ...]
    metric: str
    goal: str
    value: str
    method: str
    trials: int
    seed: int
    pruner: str
    warmup_epochs: int
    parameters: tuple[Parameter, ...]
    spans: dict[KeyPath, yaml_source.Span] = field(default_factory=dict, compare=False)

    def fingerprint(self) -> dict[str, Any]:
        """What must not change under an existing study (the study stores it)."""
        return {
            "base": str(self.base),
            "set": list(self.overrides),
            "objective": {"metric": self.metric, "goal": self.goal, "value": self.value},
            "method": self.method,
            "seed": self.seed,
            "pruner": {"name": self.pruner, "warmup_epochs": self.warmup_epochs},
            "parameters": {p.key: _param_json(p) for p in self.parameters},
        }

    def where(self, path: KeyPath) -> str:
        """``file:line:column`` of ``path`` in the sweep file (its line 1 when unknown)."""
        while path and path not in self.spans:
            path = path[:-1]
        span = self.spans.get(path)
        line, column = (span.key or span.value) if span else (1, 1)
        return f"{self.path}:{line}:{column}"


def override_text(key: str, value: Any) -> str:
    """``KEY=VALUE`` for `load_config`, the value as YAML (JSON floats round-trip exactly)."""
    return f"{key}={json.dumps(value)}"


def _param_json(p: Parameter) -> dict[str, Any]:
    if p.values is not None:
        return {"values": list(p.values)}
    return {"low": p.low, "high": p.high, "log": p.log, "step": p.step}


class _Problems:
    """Problems of a sweep file, each at its key's line."""

    def __init__(self, source: str, spans: dict[KeyPath, yaml_source.Span]) -> None:
        self.source, self.spans = source, spans
        self.found: list[tuple[tuple[int, int], str]] = []

    def add(self, path: KeyPath, message: str, at_key: bool = False) -> None:
        probe = path
        while probe and probe not in self.spans:
            probe = probe[:-1]
        span = self.spans.get(probe)
        mark = (span.key if at_key and span.key else span.value) if span else (1, 1)
        self.found.append((mark, f"{self.source}:{mark[0]}:{mark[1]}: {dotted(path)}: {message}"))

    def raise_any(self) -> None:
        if self.found:
            texts = [text for _, text in sorted(self.found, key=lambda item: item[0])]
            raise ConfigError(texts[0], problems=texts)


def load_sweep(path: Path) -> Sweep:
    """Read and check a sweep file (its shape only; `check_against_base` runs the configs).

    Raises
    ------
    ConfigError
        Every problem at once, each ``file:line:column: key: message`` (exit 2).
    """
    shown = str(path)
    document = yaml_source.parse(yaml_source.read_text(path, shown), shown)
    data = document.data
    problems = _Problems(shown, document.spans)
    for mark, text in document.duplicates:
        problems.found.append((mark, f"{shown}:{mark[0]}:{mark[1]}: {text}"))
    if not isinstance(data, dict):
        raise ConfigError(f"{shown}:1:1: expected a mapping with base, parameters, ...")
    _unknown(problems, data, (), TOP_KEYS)
    base = _base(problems, data, path)
    objective = _mapping(problems, data, "objective", OBJECTIVE_KEYS, required=True)
    pruner = _mapping(problems, data, "pruner", PRUNER_KEYS)
    sweep = Sweep(
        path=path,
        name=_name(problems, data, path),
        base=base,
        overrides=_overrides(problems, data),
        metric=_text(problems, objective, ("objective", "metric"), None),
        goal=_choice(problems, objective, ("objective", "goal"), GOALS, "max"),
        value=_choice(problems, objective, ("objective", "value"), VALUES, "best"),
        method=_choice(problems, data, ("method",), METHODS, "tpe"),
        trials=_count(problems, data, ("trials",), None, 1),
        seed=_count(problems, data, ("seed",), 0, 0),
        pruner=_choice(problems, pruner, ("pruner", "name"), PRUNERS, "none"),
        warmup_epochs=_count(problems, pruner, ("pruner", "warmup_epochs"), 0, 0),
        parameters=_parameters(problems, data),
        spans=document.spans,
    )
    if sweep.method == "grid":
        for p in sweep.parameters:
            if p.values is None:
                problems.add(("parameters", p.key), "method grid needs a list of values")
    problems.raise_any()
    return sweep


def _unknown(
    problems: _Problems, data: dict[Any, Any], path: KeyPath, allowed: tuple[str, ...]
) -> None:
    for key in data:
        if key not in allowed:
            problems.add((*path, key), unknown_key(key, allowed), at_key=True)


def _base(problems: _Problems, data: dict[Any, Any], path: Path) -> Path:
    base = data.get("base")
    if not isinstance(base, str) or not base:
        problems.add(
            ("base",), "expected the config file each trial starts from, such as iris.yaml"
        )
        return path
    resolved = (path.parent / base).resolve()
    if not resolved.is_file():
        problems.add(("base",), f"no such file: {resolved}")
    return resolved


def _name(problems: _Problems, data: dict[Any, Any], path: Path) -> str:
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name.replace("-", "").replace("_", "").isalnum():
        problems.add(("name",), f"expected letters, digits, '-' and '_', got {name!r}")
        return "sweep"
    return name


def _mapping(
    problems: _Problems,
    data: dict[Any, Any],
    key: str,
    allowed: tuple[str, ...],
    required: bool = False,
) -> dict[Any, Any]:
    value = data.get(key)
    if value is None and not required:
        return {}
    if not isinstance(value, dict):
        problems.add(
            (key,),
            f"expected a mapping with {', '.join(allowed)}, got {yaml_source.describe(value)}",
        )
        return {}
    _unknown(problems, value, (key,), allowed)
    return value


def _overrides(problems: _Problems, data: dict[Any, Any]) -> tuple[str, ...]:
    fixed = data.get("set") or {}
    if not isinstance(fixed, dict):
        problems.add(("set",), "expected a mapping of dotted keys to values")
        return ()
    return tuple(override_text(str(key), value) for key, value in fixed.items())


def _text(problems: _Problems, data: dict[Any, Any], path: KeyPath, default: str | None) -> str:
    value = data.get(path[-1], default)
    if not isinstance(value, str) or not value:
        problems.add(path, "expected a metrics.csv column such as val_accuracy or val_loss")
        return ""
    return value


def _choice(
    problems: _Problems, data: dict[Any, Any], path: KeyPath, allowed: tuple[str, ...], default: str
) -> str:
    value = data.get(path[-1], default)
    if value not in allowed:
        from nnctl.nn.registry import did_you_mean

        hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
        problems.add(
            path, f"unknown {path[-1]} {value!r}{hint}; expected one of: {', '.join(allowed)}"
        )
        return default
    return str(value)


def _count(
    problems: _Problems, data: dict[Any, Any], path: KeyPath, default: int | None, least: int
) -> int:
    value = data.get(path[-1], default)
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        problems.add(path, f"expected an integer >= {least}, got {yaml_source.describe(value)}")
        return least
    return value


def _parameters(problems: _Problems, data: dict[Any, Any]) -> tuple[Parameter, ...]:
    params = data.get("parameters")
    if not isinstance(params, dict) or not params:
        problems.add(
            ("parameters",), "expected a mapping of dotted keys to {low, high} or {values}"
        )
        return ()
    found = []
    for key, spec in params.items():
        parameter = _parameter(problems, ("parameters", key), str(key), spec)
        if parameter is not None:
            found.append(parameter)
    return tuple(found)


def _parameter(problems: _Problems, path: KeyPath, key: str, spec: Any) -> Parameter | None:
    if not isinstance(spec, dict):
        problems.add(path, "expected {low: L, high: H} or {values: [...]}")
        return None
    if "values" in spec:
        _unknown(problems, spec, path, ("values",))
        values = spec["values"]
        if not isinstance(values, list) or not values:
            problems.add((*path, "values"), "expected a non-empty list")
            return None
        return Parameter(key, values=tuple(values))
    _unknown(problems, spec, path, RANGE_KEYS)
    low, high, step = spec.get("low"), spec.get("high"), spec.get("step")
    numbers = [v for v in (low, high) if isinstance(v, int | float) and not isinstance(v, bool)]
    if len(numbers) < 2 or not all(math.isfinite(v) for v in numbers):
        problems.add(path, "expected numbers low and high (or a list of values)")
        return None
    log = spec.get("log", False)
    low, high = numbers
    if low >= high:
        problems.add((*path, "high"), f"expected high > low, got low {low} and high {high}")
    if log is True and low <= 0:
        problems.add((*path, "low"), f"a log range needs low > 0, got {low}")
    if step is not None and (not isinstance(step, int | float) or step <= 0 or log is True):
        problems.add((*path, "step"), "expected a number > 0, and no step with log: true")
    return Parameter(key, low=low, high=high, log=log is True, step=step)


def check_against_base(sweep: Sweep) -> Config:
    """Load the base config with ``set``, then with each parameter's extreme values.

    Returns the base config with ``set`` applied. Raises a `ConfigError` listing, at the sweep
    file's lines, each value that the config refuses (units 0, an unknown key...).
    """
    problems = _Problems(str(sweep.path), sweep.spans)
    try:
        base = load_config(sweep.base, sweep.overrides)
    except ConfigError as error:  # the base config's own problems, or those of `set`
        for reason in error.problems:
            typed = reason.partition("--set ")[2].partition("=")[0]
            problems.add(("set", typed) if typed else ("base",), reason)
        problems.raise_any()
        raise
    for p in sweep.parameters:
        for value in p.extremes():
            try:
                load_config(sweep.base, [*sweep.overrides, override_text(p.key, value)])
            except ConfigError as error:
                reason = error.problems[0] if error.problems else error.message
                problems.add(("parameters", p.key), f"value {value!r} is refused: {reason}")
    columns = [
        "train_loss",
        "val_loss",
        *(f"{s}_{m}" for s in ("train", "val") for m in base.metrics),
    ]
    if sweep.metric not in columns:
        from nnctl.nn.registry import did_you_mean

        problems.add(
            ("objective", "metric"),
            f"{sweep.metric!r} is not a metrics.csv column of this config"
            f"{did_you_mean(sweep.metric, columns)}; expected one of: {', '.join(columns)}",
        )
    problems.raise_any()
    return base
