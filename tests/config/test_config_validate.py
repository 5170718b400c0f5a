"""``nnctl validate`` (the layer table) and ``nnctl schema`` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from config_helpers import CONFIGS, VALID, Writer
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.config.summary import count_params, layer_table
from nnctl.data import DataFacts
from nnctl.errors import DataError


def test_the_layer_table_counts_parameters(write: Writer) -> None:
    config = load_config(write(VALID))
    table = layer_table(config, 4)
    assert table.columns == ("layer", "units", "activation", "output shape", "params")
    assert table.rows == [
        ("input", "4", "", "(None, 4)", ""),
        ("0", "16", "relu", "(None, 16)", "80"),
        ("1", "3", "softmax", "(None, 3)", "51"),
    ]
    assert table.footer[-1] == "131"


def test_without_the_input_width_the_first_layer_shows_question_marks(write: Writer) -> None:
    config = load_config(write(VALID), ["model.layers.0.dropout=0.25"])
    table = layer_table(config, None)
    assert table.rows[0] == ("input", "?", "", "(None, ?)", "")
    assert table.rows[1] == ("0", "16", "relu, dropout 0.25", "(None, 16)", "?")
    assert table.rows[2][-1] == "51"
    assert table.footer[-1] == "?"
    assert count_params(config, None) == [None, 51]


@pytest.fixture
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make data inspection fail as it does when the data files are not there."""

    def inspect(cfg: object) -> DataFacts:
        raise DataError("data/iris.csv: no such file")

    monkeypatch.setattr("nnctl.data.inspect", inspect)


@pytest.mark.usefixtures("no_data")
def test_validate_without_the_data_is_a_data_error(runner: CliRunner, write: Writer) -> None:
    result = runner.invoke(app, ["validate", str(write(VALID, "iris.yaml"))])
    assert result.exit_code == 3
    assert result.stdout == ""
    assert result.stderr == "nnctl: error: data/iris.csv: no such file\n"


@pytest.mark.usefixtures("no_data")
def test_validate_no_data_prints_the_table_without_the_data(
    runner: CliRunner, write: Writer
) -> None:
    result = runner.invoke(app, ["validate", str(write(VALID, "iris.yaml")), "--no-data"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].strip() == "iris: categorical_crossentropy, adam"
    assert lines[1].split() == ["layer", "units", "activation", "output", "shape", "params"]
    assert [line.split() for line in lines[3:6]] == [
        ["input", "?", "(None,", "?)"],
        ["0", "16", "relu", "(None,", "16)", "?"],
        ["1", "3", "softmax", "(None,", "3)", "51"],
    ]
    assert lines[-3].split() == ["total", "?"]
    assert lines[-1] == "diagnostics: layer_stats.csv each epoch (diagnostics.layer_stats: true)"
    assert lines[-2] == (
        "inputs: ? features, numeric columns standardized to mean 0, std 1 "
        "(normalize: standard, the default for CSV)"
    )
    assert result.stderr == ""


def test_validate_uses_the_data_for_the_input_width(
    runner: CliRunner, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nnctl.data.inspect", lambda cfg: DataFacts(4, ["a", "b", "c"]))
    result = runner.invoke(app, ["validate", str(write(VALID)), "--set", "model.layers.0.units=8"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    assert ["0", "8", "relu", "(None,", "8)", "40"] in [
        line.split() for line in result.stdout.splitlines()
    ]
    assert result.stdout.splitlines()[-3].split() == ["total", "67"]


def test_validate_checks_the_output_layer_against_the_classes(
    runner: CliRunner, write: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("nnctl.data.inspect", lambda cfg: DataFacts(4, ["a", "b", "c", "d"]))
    path = write(VALID)
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (
        f"nnctl: error: {path}: model.layers[1].units: the data has 4 classes, so the output "
        "layer needs 4 units, got 3 (a, b, c, d)\n"
    )


@pytest.mark.usefixtures("no_data")
def test_validate_reports_every_problem_and_exits_2(runner: CliRunner, write: Writer) -> None:
    path = write(VALID.replace("epochs: 100", "epochs: 0").replace("seed", "x"), "c.yaml")
    result = runner.invoke(app, ["validate", str(path), "--set", "model.layers.0.unitz=3"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"nnctl: error: {path}:13:11: training.epochs: must be greater than 0, got 0",
        "nnctl: error: --set model.layers.0.unitz=3: unknown key; did you mean 'units'?",
    ]


@pytest.mark.parametrize("kind", ["missing", "directory"])
def test_validate_a_missing_file_or_a_directory(
    runner: CliRunner, tmp_path: Path, kind: str
) -> None:
    path = tmp_path / "nope.yaml" if kind == "missing" else tmp_path
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"nnctl: error: {path}: ")
    assert "Traceback" not in result.output


def test_validate_a_shipped_config(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", str(CONFIGS / "iris.yaml")])
    assert result.exit_code == 0, result.output
    assert "softmax" in result.stdout


def test_schema_prints_the_json_schema_of_the_config(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["required"] == ["data", "model", "loss"]
    assert schema["properties"]["seed"]["description"]
    assert schema["$defs"]["AdamConfig"]["additionalProperties"] is False
