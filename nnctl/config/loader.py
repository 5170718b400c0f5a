"""The config file: YAML in, a validated, immutable `Config` out, and back to YAML.

`load_config` reads a file with safe YAML only, applies ``--set`` overrides, and validates the
result into `Config`; every mistake in the file, all of them at once, becomes one line of a
`ConfigError` naming the file, line, column and key path. `Config` is the whole file; each of its
sections has its own module (`nnctl.config.data`, `model`, `loss`, `optimizer`, `schedule`,
`training`, `diagnostics`), and the checks across sections are in `nnctl.config.checks`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal, NoReturn

from pydantic import Field, ValidationError, model_validator

from nnctl.config import checks, yaml_source
from nnctl.config.data import DataConfig
from nnctl.config.diagnostics import DiagnosticsConfig
from nnctl.config.keys import KeyPath, dotted, raise_problems
from nnctl.config.loss import Loss, MetricName, task_of
from nnctl.config.messages import locate_problems, translate_errors
from nnctl.config.model import ModelConfig
from nnctl.config.optimizer import OPTIMIZER_SECTIONS, OptimizerConfig
from nnctl.config.overrides import apply_overrides
from nnctl.config.schedule import ScheduleConfig
from nnctl.config.section import Section
from nnctl.config.training import TrainingConfig
from nnctl.errors import ConfigError
from nnctl.training.metrics import Task

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
NAME_LENGTH = 100
MAX_PROBLEMS = 50


class Config(Section):
    """An nnctl config file: data, network, loss, optimizer and training."""

    version: Literal[1] = Field(default=1, description="The version of the config format.")
    name: Annotated[str, Field(pattern=NAME_PATTERN, max_length=NAME_LENGTH)] | None = Field(
        default=None,
        description="The prefix of run directory names (letters, digits, '.', '_', '-'); "
        "default: the config file's name without .yaml.",
    )
    seed: Annotated[int, Field(strict=True, ge=0)] = Field(
        default=0, description="Seeds weights, shuffling, splits and dropout: same seed, same run."
    )
    data: DataConfig = Field(description="Where the data is and how it is prepared.")
    model: ModelConfig = Field(description="The network.")
    loss: Loss = Field(description="A loss name, or {name: huber, delta: ...}.")
    metrics: list[MetricName] = Field(
        default=[],
        description="Reported every epoch: accuracy, precision, recall, f1 (classification); "
        "mse, rmse, mae, r2 (regression).",
    )
    optimizer: OptimizerConfig = Field(
        OPTIMIZER_SECTIONS["adam"].model_validate({"name": "adam"}),
        description="A name plus that optimizer's own parameters.",
    )
    schedule: ScheduleConfig | None = Field(
        default=None,
        description="How the learning rate changes per epoch; null: it stays constant.",
    )
    training: TrainingConfig = Field(default=TrainingConfig(), description="The training loop.")
    diagnostics: DiagnosticsConfig = Field(
        default=DiagnosticsConfig(), description="What the run records about its network."
    )

    @property
    def loss_name(self) -> str:
        """The loss's name, whichever form it was given in."""
        return self.loss if isinstance(self.loss, str) else self.loss.name

    @property
    def loss_params(self) -> dict[str, float]:
        """The loss's parameters (``{"delta": 2.0}``), empty for its defaults."""
        if isinstance(self.loss, str) or self.loss.delta is None:
            return {}
        return {"delta": self.loss.delta}

    @property
    def task(self) -> Task:
        """What the loss implies: multi-class, binary (one sigmoid unit), or regression."""
        return task_of(self.loss_name)

    @model_validator(mode="before")
    @classmethod
    def _default_monitors(cls, data: Any) -> Any:
        return checks.default_monitors(data)

    @model_validator(mode="after")
    def _check(self) -> Config:
        raise_problems(checks.config_problems(self))
        return self


def load_config(path: str | os.PathLike[str], overrides: Sequence[str] = ()) -> Config:
    """Read, override and validate a config file.

    Parameters
    ----------
    path
        The YAML file; messages name it as given. Relative paths in ``data`` are resolved against
        its folder, and ``name`` defaults to its stem.
    overrides
        ``KEY=VALUE`` strings (``model.layers.0.units=64``), applied in order; VALUE is YAML.

    Returns
    -------
    Config
        The validated config, every data path absolute.

    Raises
    ------
    ConfigError
        With one entry in ``problems`` per mistake: ``file:line:column: key.path: message``.
    """
    shown = os.fspath(path)
    text = yaml_source.read_text(Path(shown), shown)
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", Path(shown).stem).strip("-._")[:NAME_LENGTH]
    default_name = stem or None
    return parse_config(
        text, source=shown, base_dir=Path(shown).parent, overrides=overrides, name=default_name
    )


def parse_config(
    text: str,
    *,
    source: str = "<config>",
    base_dir: str | os.PathLike[str] | None = None,
    overrides: Sequence[str] = (),
    name: str | None = None,
) -> Config:
    """Validate config text as `load_config` does a file; ``source`` names it in messages.

    Relative data paths are resolved against ``base_dir`` (kept as written when it is None), and
    ``name`` is the default of the ``name`` key.
    """
    document = yaml_source.parse(text, source)
    if document.data is None:
        _fail([f"{source}:1:1: the file is empty; a config needs at least data, model and loss"])
    if not isinstance(document.data, dict):
        line, column = document.spans[()].value
        found = yaml_source.describe(document.data)
        _fail([f"{source}:{line}:{column}: expected a mapping of config keys, got {found}"])
    raw, applied, problems = apply_overrides(document.data, overrides)
    if raw.get("name") is None and name is not None:
        raw["name"] = name
    located = [
        ((mark), f"{source}:{mark[0]}:{mark[1]}: {text}") for mark, text in document.duplicates
    ]
    located += problems
    context = {"base_dir": None if base_dir is None else os.path.abspath(base_dir)}
    try:
        config = Config.model_validate(raw, context=context)
    except ValidationError as error:
        translated = translate_errors(error.errors(), Config)
        located += locate_problems(translated, document.spans, applied, source)
    if located:
        _fail([text for _, text in sorted(located, key=lambda item: item[0])])
    return config


def _fail(problems: list[str]) -> NoReturn:
    if len(problems) > MAX_PROBLEMS:
        more = len(problems) - MAX_PROBLEMS
        problems = [*problems[:MAX_PROBLEMS], f"... and {more} more problems"]
    raise ConfigError(problems[0], problems=problems)


def config_to_yaml(config: Config) -> str:
    """The config as YAML with every key, defaults filled in; loading it gives an equal config."""
    return yaml_source.dump(config.model_dump(mode="json"))


def config_differences(old: Config, new: Config) -> list[str]:
    """Every key whose value differs, as ``"training.epochs: 100 -> 50"``, in file order."""
    return [
        f"{dotted(path)}: {_shown(a)} -> {_shown(b)}"
        for path, a, b in _differences(old.model_dump(mode="json"), new.model_dump(mode="json"))
    ]


def _shown(value: Any) -> str:
    """A value of a difference in full (a whole path, a list): ``'adam'``, ``["accuracy"]``."""
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, list | dict):
        return json.dumps(value)
    return yaml_source.describe(value)


def _differences(old: Any, new: Any, path: KeyPath = ()) -> list[tuple[KeyPath, Any, Any]]:
    if isinstance(old, dict) and isinstance(new, dict):
        keys = list(dict.fromkeys([*old, *new]))
        return [d for key in keys for d in _differences(old.get(key), new.get(key), (*path, key))]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            d
            for i, (a, b) in enumerate(zip(old, new, strict=True))
            for d in _differences(a, b, (*path, i))
        ]
    return [] if old == new else [(path, old, new)]


def config_json_schema() -> dict[str, Any]:
    """The JSON Schema of a config file, for editors (``# yaml-language-server: $schema=...``)."""
    schema = Config.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
