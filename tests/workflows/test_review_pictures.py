"""Review of ``nnctl plot`` and ``nnctl report`` on careless input: what they said and exited."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.report import _cell
from nnctl.workflows.train import train_run
from tests.helpers import iris_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A 2-epoch iris run with a test split, and one without."""
    folder = tmp_path_factory.mktemp("review_pictures")
    found = {}
    for name, extra in (("iris", ""), ("notest", "")):
        config = load_config(iris_config(folder, epochs=2, extra=extra))
        if name == "notest":
            data = config.data.model_copy(update={"test_split": 0.0})
            config = config.model_copy(update={"data": data})
        found[name] = train_run(config, name=name, runs_dir=folder / "runs").path
    return found


def _copy(run: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(run, tmp_path / run.name))


def test_report_of_a_run_json_with_a_best_epoch_and_no_value(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = _copy(runs["iris"], tmp_path)
    record = json.loads((run / "run.json").read_text())
    record["best_value"] = None  # run.json allows it: the epoch without its value
    (run / "run.json").write_text(json.dumps(record))
    result = CliRunner().invoke(app, ["report", str(run), "-o", str(tmp_path / "r.html")])
    assert result.exit_code == 0, result.output  # was 1: "this is a bug in nnctl"
    page = (tmp_path / "r.html").read_text()
    assert f"<td>{record['best_epoch']} (by val_loss)</td>" in page


def test_report_into_a_folder_that_does_not_exist(runs: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "nothere" / "r.html"
    result = CliRunner().invoke(app, ["report", str(runs["iris"]), "-o", str(target)])
    assert result.exit_code == 2  # was 3, with "free some space and resume the run"
    assert f"the folder {target.parent} does not exist" in result.stderr
    assert "free some space" not in result.stderr


def test_plot_onto_a_directory_named_like_a_picture(runs: dict[str, Path], tmp_path: Path) -> None:
    folder = tmp_path / "curves.png"
    folder.mkdir()
    result = CliRunner().invoke(app, ["plot", str(runs["iris"]), "-o", str(folder)])
    assert result.exit_code == 2  # was 3, with "free some space and resume the run"
    assert "is a directory" in result.stderr and "free some space" not in result.stderr
    assert list(folder.iterdir()) == []


def test_plot_of_a_run_without_test_split_gives_no_advice_plot_cannot_take(
    runs: dict[str, Path],
) -> None:
    result = CliRunner().invoke(app, ["plot", str(runs["notest"])])
    assert result.exit_code == 0
    assert "no confusion matrix" in result.stderr and "the run has no test split" in result.stderr
    assert "--data" not in result.stderr  # plot has no --data option
    asked = CliRunner().invoke(app, ["plot", str(runs["notest"]), "--what", "confusion"])
    assert asked.exit_code == 2 and "--data" not in asked.stderr


def test_report_without_test_split_says_there_are_no_activations(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(runs["notest"]), "-o", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text()
    assert "activations on the no data" not in page
    assert "no activations: the run has no test split" in page


def test_report_of_a_metrics_csv_without_epochs_draws_no_empty_chart(
    runs: dict[str, Path], tmp_path: Path
) -> None:
    run = _copy(runs["iris"], tmp_path)
    header = (run / "metrics.csv").read_text().splitlines()[0]
    (run / "metrics.csv").write_text(header + "\n")
    target = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", str(run), "-o", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text()
    assert "metrics.csv has no epoch: no learning curves." in page
    assert 'alt="loss per epoch"' not in page


def test_a_missing_cell_is_shown_empty_as_in_the_file() -> None:
    assert _cell(float("nan")) == ""  # was "nan", for a cell the file leaves empty
    assert _cell(None) == ""
    assert _cell(131.39999389648438) == "131.4"
    assert _cell("red") == "red"


def test_plot_of_the_confusion_matrix_alone_starts_with_its_title(runs: dict[str, Path]) -> None:
    result = CliRunner().invoke(app, ["plot", str(runs["iris"]), "--what", "confusion"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("confusion matrix - ")  # was: a blank first line
