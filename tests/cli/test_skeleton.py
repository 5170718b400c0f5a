"""The command-line skeleton: help, version, the error handler, and a fast start-up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from nnctl import __version__
from nnctl.cli import app
from nnctl.errors import ConfigError, DataError

COMMANDS = [
    ["train"],
    ["evaluate"],
    ["predict"],
    ["validate"],
    ["schema"],
    ["runs"],
    ["runs", "list"],
    ["runs", "show"],
    ["data"],
    ["data", "fetch"],
]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(runner: CliRunner, command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage: nnctl " + " ".join(command) in result.stdout


def test_version(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"nnctl {__version__}\n"


def test_unknown_command_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(app, ["trian"])
    assert result.exit_code == 2
    assert result.stdout == ""


@pytest.fixture
def failing_commands() -> Iterator[None]:
    """Add commands that raise, for the duration of one test."""

    def config_error() -> None:
        raise ConfigError("c.yaml:3:5: optimizer.learning_rate: must be greater than 0, got -1")

    def data_error() -> None:
        raise DataError("iris.csv: no column 'species'", hint="columns found: a, b")

    def bug() -> None:
        raise ZeroDivisionError("division by zero")

    def interrupted() -> None:
        raise KeyboardInterrupt

    before = list(app.registered_commands)
    for function in (config_error, data_error, bug, interrupted):
        app.command(function.__name__.replace("_", "-"))(function)
    yield
    app.registered_commands[:] = before


@pytest.mark.usefixtures("failing_commands")
def test_config_error_gives_exit_2_and_one_line(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config-error"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        "nnctl: error: c.yaml:3:5: optimizer.learning_rate: must be greater than 0, got -1\n"
    )
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("failing_commands")
def test_data_error_gives_exit_3_with_its_hint(runner: CliRunner) -> None:
    result = runner.invoke(app, ["data-error"])
    assert result.exit_code == 3
    assert result.stderr.splitlines() == [
        "nnctl: error: iris.csv: no column 'species'",
        "nnctl: hint: columns found: a, b",
    ]


@pytest.mark.usefixtures("failing_commands")
def test_unexpected_error_gives_exit_1_without_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NNCTL_DEBUG", raising=False)
    result = runner.invoke(app, ["bug"])
    assert result.exit_code == 1
    assert "internal error: ZeroDivisionError: division by zero" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.usefixtures("failing_commands")
@pytest.mark.parametrize("how", ["flag", "env"])
def test_debug_shows_the_traceback(
    runner: CliRunner, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    args = ["bug"]
    if how == "flag":
        args = ["--debug", "bug"]
    else:
        monkeypatch.setenv("NNCTL_DEBUG", "1")
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "Traceback" in result.stderr
    assert "ZeroDivisionError" in result.stderr


@pytest.mark.usefixtures("failing_commands")
def test_keyboard_interrupt_exits_130(runner: CliRunner) -> None:
    result = runner.invoke(app, ["interrupted"])
    assert result.exit_code == 130
    assert "Traceback" not in result.output


def test_exit_codes_of_the_error_classes() -> None:
    from nnctl.errors import CheckpointError, TrainingDiverged, UsageError

    assert ConfigError("x").exit_code == 2
    assert UsageError("x").exit_code == 2
    assert DataError("x").exit_code == 3
    assert CheckpointError("x").exit_code == 3
    assert TrainingDiverged("x").exit_code == 4
    assert isinstance(typer.Exit(3), Exception)


def test_importing_the_cli_does_not_import_heavy_libraries() -> None:
    code = (
        "import sys, nnctl.cli; "
        "print(sorted(m for m in ('numpy', 'pandas', 'pydantic') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_installed_executable_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "nnctl", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout == f"nnctl {__version__}\n"
