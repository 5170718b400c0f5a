"""``nnctl plot``: terminal charts (ASCII under NO_COLOR, UTF-8 otherwise, as wide as asked),
picture files that decode to their size, and one message for a chart a run does not have."""

from __future__ import annotations

import shutil
import struct
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config, run_nnctl, write_config


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An iris run (validation and test splits), a second one, and a diabetes regression."""
    folder = tmp_path_factory.mktemp("plot")
    found = {}
    for name, lr in (("iris", 0.01), ("fast", 0.1)):
        config = iris_config(folder, epochs=8, extra="  early_stopping: null\n")
        cfg = load_config(config)
        cfg = cfg.model_copy(
            update={"optimizer": cfg.optimizer.model_copy(update={"learning_rate": lr})}
        )
        found[name] = train_run(cfg, name=name, runs_dir=folder / "runs").path
    diabetes = write_config(
        folder,
        f"""
version: 1
seed: 0
data: {{train: {DATASETS / "diabetes.csv"}, target: target}}
model: {{layers: [{{units: 8, activation: relu}}, {{units: 1, activation: linear}}]}}
loss: mse
metrics: [rmse, r2]
optimizer: {{name: adam, learning_rate: 0.01}}
training: {{epochs: 6, batch_size: 32}}
""",
        "diabetes.yaml",
    )
    found["diabetes"] = train_run(load_config(diabetes), runs_dir=folder / "runs").path
    return found


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_no_color_is_plain_ascii_within_the_width(runner: CliRunner, runs: dict[str, Path]) -> None:
    result = runner.invoke(app, ["plot", str(runs["iris"])], env={"NO_COLOR": "1", "COLUMNS": "64"})
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.isascii()
    assert max(len(line) for line in out.splitlines()) <= 64
    for title in ("loss (categorical_crossentropy)", "accuracy", "learning rate: 0.01, constant",
                  "update ratio", "confusion matrix"):  # fmt: skip
        assert title in out, title
    assert "* train" in out and "o validation" in out and ": best epoch" in out
    assert "+----" in out  # the x axis


def test_utf8_charts_use_box_drawing_and_symbols(runner: CliRunner, runs: dict[str, Path]) -> None:
    result = runner.invoke(
        app, ["plot", str(runs["iris"]), "--what", "loss"], env={"COLUMNS": "50"}
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(len(line) for line in lines) <= 50
    assert any("└──" in line for line in lines) and any("┤" in line for line in lines)
    assert "● train" in result.stdout and "○ validation" in result.stdout
    assert "accuracy" not in result.stdout  # only what --what asked for


def test_several_runs_are_named_in_the_legend(runner: CliRunner, runs: dict[str, Path]) -> None:
    result = runner.invoke(
        app, ["plot", str(runs["iris"]), str(runs["fast"]), "--what", "loss,lr"],
        env={"NO_COLOR": "1", "COLUMNS": "100"},
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for run in (runs["iris"], runs["fast"]):
        assert f"{run.name} train" in result.stdout and f"{run.name} validation" in result.stdout
    assert f"{runs['fast'].name} 0.1" in result.stdout  # both constant learning rates, named


def test_a_png_decodes_to_its_size_and_repeats(
    runner: CliRunner, runs: dict[str, Path], tmp_path: Path
) -> None:
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    for path in (first, second):
        result = runner.invoke(app, ["plot", str(runs["iris"]), "-o", str(path)])
        assert result.exit_code == 0, result.stderr
        assert result.stdout == f"{path}\n"
    # loss, accuracy, lr, update ratio, confusion: 5 charts, two to a row of 640 x 400
    assert png_size(first) == (1280, 1200)
    assert first.read_bytes() == second.read_bytes()
    import matplotlib.image

    assert matplotlib.image.imread(first).shape[:2] == (1200, 1280)


def test_an_svg_parses(runner: CliRunner, runs: dict[str, Path], tmp_path: Path) -> None:
    path = tmp_path / "loss.svg"
    result = runner.invoke(app, ["plot", str(runs["diabetes"]), "--what", "loss", "--log-y",
                                 "-o", str(path)])  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert ET.parse(path).getroot().tag == "{http://www.w3.org/2000/svg}svg"


def test_a_regression_has_no_confusion_matrix(runner: CliRunner, runs: dict[str, Path]) -> None:
    shown = runner.invoke(app, ["plot", str(runs["diabetes"])], env={"NO_COLOR": "1"})
    assert shown.exit_code == 0, shown.stderr
    assert "rmse" in shown.stdout and "confusion" not in shown.stdout
    asked = runner.invoke(app, ["plot", str(runs["diabetes"]), "--what", "confusion"])
    assert asked.exit_code == 2
    assert asked.stderr == (
        f"nnctl: error: --what confusion: the run {runs['diabetes'].name} has no confusion "
        "matrix: the task is regression\n"
    )
    assert asked.stdout == ""


def test_a_run_without_layer_stats(
    runner: CliRunner, runs: dict[str, Path], tmp_path: Path
) -> None:
    run = tmp_path / runs["iris"].name
    shutil.copytree(runs["iris"], run)
    (run / "layer_stats.csv").unlink()
    asked = runner.invoke(app, ["plot", str(run), "--what", "update_ratio"])
    assert asked.exit_code == 2
    assert "has no update ratios: the run has no layer_stats.csv" in asked.stderr
    assert "Traceback" not in asked.stderr
    compared = runner.invoke(app, ["plot", str(run), str(runs["fast"])], env={"NO_COLOR": "1"})
    assert compared.exit_code == 0, compared.stderr
    assert f"nnctl: note: {run.name}: no update ratios" in compared.stderr
    assert "update ratio" in compared.stdout  # the other run has them


def test_an_unknown_chart_is_named(runner: CliRunner, runs: dict[str, Path]) -> None:
    result = runner.invoke(app, ["plot", str(runs["iris"]), "--what", "loss,metrix"])
    assert result.exit_code == 2
    assert "unknown chart 'metrix'; did you mean 'metrics'?" in result.stderr


def test_an_unknown_suffix_writes_nothing(
    runner: CliRunner, runs: dict[str, Path], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["plot", str(runs["iris"]), "-o", str(tmp_path / "a.jpg")])
    assert result.exit_code == 2 and ".png, .svg, .pdf" in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_missing_folder_is_named(
    runner: CliRunner, runs: dict[str, Path], tmp_path: Path
) -> None:
    result = runner.invoke(app, ["plot", str(runs["iris"]), "-o", str(tmp_path / "no" / "a.png")])
    assert result.exit_code == 2
    folder = tmp_path / "no"
    assert result.stderr == f"nnctl: error: -o {folder / 'a.png'}: no such directory {folder}\n"


def test_a_run_with_no_epochs_yet(runner: CliRunner, runs: dict[str, Path], tmp_path: Path) -> None:
    run = tmp_path / "empty"
    shutil.copytree(runs["iris"], run)
    (run / "metrics.csv").write_text("epoch,train_loss,val_loss,lr,seconds\n")
    result = runner.invoke(app, ["plot", str(run)])
    assert result.exit_code == 2
    assert "nothing to plot: metrics.csv has no epochs yet" in result.stderr


def test_no_such_run(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["plot", str(tmp_path / "nope")])
    assert result.exit_code == 2 and "no such run" in result.stderr


def test_without_matplotlib(
    runner: CliRunner, runs: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    terminal = runner.invoke(app, ["plot", str(runs["iris"])], env={"NO_COLOR": "1"})
    assert terminal.exit_code == 0, terminal.stderr  # terminal charts need no matplotlib
    picture = runner.invoke(app, ["plot", str(runs["iris"]), "-o", str(tmp_path / "a.png")])
    assert picture.exit_code == 2
    assert "nnctl: hint: pip install 'nnctl[plot]'" in picture.stderr
    assert not (tmp_path / "a.png").exists()


def test_piped_a_real_process_writes_symbols_without_escapes(
    runs: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "70")
    monkeypatch.delenv("NO_COLOR", raising=False)
    result = run_nnctl("plot", runs["iris"], "--what", "loss,metrics")
    assert result.returncode == 0, result.stderr
    assert "\x1b[" not in result.stdout
    assert "● train" in result.stdout and "└" in result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 70
    assert result.stderr == ""
