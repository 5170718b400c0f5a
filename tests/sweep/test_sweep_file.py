"""The sweep file: file:line errors, did-you-mean, values checked against the base config."""

from __future__ import annotations

from pathlib import Path

import pytest
from sweep_helpers import sweep_file
from typer.testing import CliRunner

from nnctl.cli.main import app
from nnctl.errors import ConfigError
from nnctl.sweep.spec import check_against_base, load_sweep


def test_the_shipped_example_validates(runner: CliRunner) -> None:
    result = runner.invoke(app, ["sweep", "validate", "configs/iris-sweep.yaml"])
    assert result.exit_code == 0, result.output
    assert "20 trials (tpe)" in result.stdout


def test_mistakes_are_file_line_errors_all_at_once(tmp_path: Path, runner: CliRunner) -> None:
    path = sweep_file(
        tmp_path, method="tpee", parameters="  model.layers.0.units: {values: [0, 8]}\n"
    )
    text = path.read_text().replace("goal: max", "goal: up").replace("seed", "sed")
    path.write_text(text)
    result = runner.invoke(app, ["sweep", "validate", str(path)])
    assert result.exit_code == 2
    err = result.stderr
    assert f"{path}:3:" in err and "unknown goal 'up'" in err
    assert f"{path}:4:9: method: unknown method 'tpee'; did you mean 'tpe'?" in err
    assert f"{path}:6:1: sed: unknown key; did you mean 'seed'?" in err
    assert "Traceback" not in err


def test_an_impossible_value_is_refused_at_its_line(tmp_path: Path) -> None:
    path = sweep_file(
        tmp_path,
        parameters="  model.layers.0.units: {values: [8, 0]}\n"
        "  optimizer.learnig_rate: {low: 0.001, high: 0.1}\n",
    )
    with pytest.raises(ConfigError) as caught:
        check_against_base(load_sweep(path))
    problems = caught.value.problems
    assert any(
        p.startswith(f"{path}:9:") and "value 0 is refused" in p and "greater than 0" in p
        for p in problems
    ), problems
    assert any(
        p.startswith(f"{path}:10:") and "did you mean 'learning_rate'" in p for p in problems
    ), problems


def test_ranges_are_checked(tmp_path: Path) -> None:
    path = sweep_file(
        tmp_path,
        parameters="  optimizer.learning_rate: {low: 0, high: 0.1, log: true}\n"
        "  training.batch_size: {low: 64, high: 16}\n",
    )
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    text = "\n".join(caught.value.problems)
    assert "a log range needs low > 0, got 0" in text
    assert "expected high > low, got low 64 and high 16" in text


def test_grid_needs_values_and_the_objective_a_column(tmp_path: Path) -> None:
    path = sweep_file(tmp_path, method="grid")
    with pytest.raises(ConfigError, match="method grid needs a list of values"):
        load_sweep(path)
    path = sweep_file(tmp_path, parameters="  model.layers.0.units: {values: [4]}\n")
    path.write_text(path.read_text().replace("metric: val_accuracy", "metric: val_acc"))
    with pytest.raises(ConfigError, match="did you mean 'val_accuracy'"):
        check_against_base(load_sweep(path))


def test_a_bad_fixed_override_is_refused_at_its_line(tmp_path: Path) -> None:
    path = sweep_file(tmp_path)
    path.write_text(path.read_text().replace("training.epochs:", "training.epoch:"))
    with pytest.raises(ConfigError) as caught:
        check_against_base(load_sweep(path))
    first = caught.value.problems[0]
    assert first.startswith(f"{path}:2:") and "training.epoch" in first, first
    assert "did you mean 'epochs'" in first, first
