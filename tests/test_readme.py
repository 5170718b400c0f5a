"""The README documents every command and every config key."""

from __future__ import annotations

import re
import types
import typing
from pathlib import Path

import pytest
import typer
from pydantic import BaseModel

from nnctl.cli import app
from nnctl.config.loader import Config
from nnctl.errors import EXIT_DATA, EXIT_DIVERGED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_USAGE

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def _commands(typer_app: typer.Typer, prefix: str = "nnctl") -> list[str]:
    found = [f"{prefix} {command.name}" for command in typer_app.registered_commands]
    for group in typer_app.registered_groups:
        assert group.typer_instance is not None
        found += _commands(group.typer_instance, f"{prefix} {group.name}")
    return found


@pytest.mark.parametrize("command", _commands(app))
def test_every_command_is_documented_with_an_example(command: str) -> None:
    assert f"### `{command}" in README or f"`{command} " in README, command
    example = re.compile(rf"^{re.escape(command)}\b", re.MULTILINE)
    assert example.search(README) or f"$({command}" in README, f"no example of {command}"


def _models(annotation: object) -> list[type[BaseModel]]:
    """Every pydantic model inside a (possibly Annotated, Union, list) annotation."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _models(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        return [m for arg in typing.get_args(annotation) for m in _models(arg)]
    return []


def _keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        keys.append(prefix + name)
        for sub in _models(field.annotation):
            keys += _keys(sub, f"{prefix}{name}.")
    return keys


@pytest.mark.parametrize("key", sorted(set(_keys(Config))))
def test_every_config_key_is_documented(key: str) -> None:
    section, _, name = key.rpartition(".")
    key = key.replace("model.layers.", "model.layers[i].")
    if section.split(".")[0] in ("", "data", "training", "model"):
        assert f"`{key}" in README, key  # as a dotted path: `data.train`, `training.epochs`
    else:  # a section's own key, as a path or alone: `loss.delta`, `beta_1`, `warmup_epochs`
        assert f"`{key}" in README or f"`{name}" in README, key


@pytest.mark.parametrize(
    "code", [0, EXIT_INTERNAL, EXIT_USAGE, EXIT_DATA, EXIT_DIVERGED, EXIT_INTERRUPTED]
)
def test_every_exit_code_is_documented(code: int) -> None:
    assert f"| {code} |" in README


INSTALL = 'python3 -m venv .venv && .venv/bin/pip install -e ".[dev]"'


def test_the_quickstart_is_the_two_commands() -> None:
    # In a virtual environment: a system Python under PEP 668 (Debian, Ubuntu) refuses
    # `pip install` ("externally-managed-environment").
    train = ".venv/bin/nnctl train configs/digits.yaml"
    test = "scripts/test                # the tests: pytest, after installing chromium, binutils, "
    assert f"```sh\n{INSTALL} && {train}\n{test}postgresql if missing\n```" in README


def test_ci_installs_as_the_readme_says() -> None:
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text(encoding="utf-8")
    in_ci = (
        INSTALL.replace("venv .venv", 'venv "$venv"')
        .replace(".venv/bin/pip", '"$venv/bin/pip"')
        .replace("install -e", "install --quiet -e")
    )
    assert in_ci in ci
    assert "pip install --upgrade" not in ci  # what a user does not do, CI does not either
    # ... and CI tests with the README's test command, which provisions what the tests need
    assert "\nscripts/test -q\n" in ci
    assert "pytest" not in ci
