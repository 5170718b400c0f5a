"""Review of issue 12's records: siblings of the cases the first fixes covered.

A run directory copied or renamed is listed under the name RUN arguments accept; ``runs show
--json`` gives the last epoch's values as numbers (a NaN as null); a checkpoint whose scaling or
training state is not finite is refused like one whose weights are not.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner, Result

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.workflows.train import train_run
from tests.helpers import DATASETS, iris_config

RECORDS = ("config.yaml", "run.json", "metrics.csv", "checkpoints/last.npz", "checkpoints/best.npz")


def _invoke(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(arg) for arg in args])


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A completed 3-epoch iris run, trained once for the module; tests work on copies."""
    folder = tmp_path_factory.mktemp("trained")
    return train_run(load_config(iris_config(folder, epochs=3)), runs_dir=folder / "runs").path


@pytest.fixture
def run(trained: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the trained run in ``runs`` of the working folder ``tmp_path`` (relative)."""
    shutil.copytree(trained, tmp_path / "runs" / trained.name)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNCTL_RUNS_DIR", raising=False)
    yield Path("runs") / trained.name


def test_a_renamed_run_is_listed_by_the_name_commands_accept(run: Path) -> None:
    renamed = run.with_name("iris-best")
    run.rename(renamed)
    listed = json.loads(_invoke("runs", "list", "--json").stdout)
    assert listed["name"] == "iris-best"
    table = _invoke("runs", "list").stdout
    assert "iris-best" in table and run.name not in table
    for command in (["runs", "show", "iris-best"], ["evaluate", "iris-best"]):
        result = _invoke(*command)
        assert result.exit_code == 0, result.output


def test_runs_show_json_gives_the_last_epoch_as_numbers_and_nan_as_null(run: Path) -> None:
    metrics = run / "metrics.csv"
    header, *rows = metrics.read_text(encoding="utf-8").splitlines()
    cells = rows[-1].split(",")
    cells[header.split(",").index("val_loss")] = "nan"
    metrics.write_text("\n".join([header, *rows[:-1], ",".join(cells)]) + "\n", encoding="utf-8")
    result = _invoke("runs", "show", run.name, "--json")
    assert result.exit_code == 0, result.output
    last = json.loads(result.stdout)["last_epoch"]
    assert last["epoch"] == 3
    assert isinstance(last["train_loss"], float) and last["val_loss"] is None
    shown = _invoke("runs", "show", run.name).stdout
    assert "last val_loss" in shown and "nan" not in shown


def _damaged_copy(source: Path, target: Path, key: str, value: float) -> Path:
    """``source`` (a checkpoint) with the first element of array ``key`` set to ``value``."""
    with np.load(source) as npz:
        arrays = {name: npz[name] for name in npz.files}
    arrays[key] = arrays[key].copy()
    arrays[key].flat[0] = value
    np.savez(target, **arrays)
    return target


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("preprocessor/data.shift", np.nan, "preprocessor/data.shift holds 1 non-finite value"),
        ("preprocessor/data.divide", np.inf, "preprocessor/data.divide holds 1 non-finite value"),
        ("preprocessor/data.divide", 0.0, "the preprocessor's scaling"),
    ],
)
def test_a_checkpoint_with_a_non_finite_scaling_is_refused(
    run: Path, tmp_path: Path, key: str, value: float, message: str
) -> None:
    bad = _damaged_copy(run / "checkpoints/best.npz", tmp_path / "bad.npz", key, value)
    for command in (["predict", bad, "--input", DATASETS / "iris.csv"], ["evaluate", bad]):
        result = _invoke(*command)
        assert result.exit_code == 3, result.output
        assert f"{bad}: {message}" in result.stderr
        assert result.stdout == ""


@pytest.mark.parametrize("key", ["weights/layers.0.W", "optimizer/m.layers.0.W"])
def test_resuming_from_a_non_finite_last_checkpoint_is_refused(run: Path, key: str) -> None:
    last = run / "checkpoints/last.npz"
    _damaged_copy(last, last, key, np.nan)
    record = json.loads((run / "run.json").read_text(encoding="utf-8"))
    (run / "run.json").write_text(json.dumps({**record, "status": "interrupted"}), "utf-8")
    before = {name: (run / name).read_bytes() for name in RECORDS}
    result = _invoke("train", "--resume", run.name, "--set", "training.epochs=6", "--quiet")
    assert result.exit_code == 3, result.output
    assert f"{last}: {key} holds 1 non-finite value" in result.stderr
    assert {name: (run / name).read_bytes() for name in RECORDS} == before


@pytest.mark.parametrize(
    ("damage", "message"), [(None, "config.yaml: no such file"), (b"model: [\n", "invalid YAML")]
)
def test_resuming_a_run_whose_config_yaml_is_damaged_is_exit_3(
    run: Path, damage: bytes | None, message: str
) -> None:
    config = run / "config.yaml"
    if damage is None:
        config.unlink()
    else:
        config.write_bytes(config.read_bytes() + damage)
    before = {name: (run / name).read_bytes() for name in RECORDS if (run / name).exists()}
    result = _invoke("train", "--resume", run.name, "--set", "training.epochs=6", "--quiet")
    assert result.exit_code == 3, result.output
    assert message in result.stderr and "this run's record is damaged" in result.stderr
    assert str(config) in result.stderr
    assert {name: (run / name).read_bytes() for name in before} == before


def test_evaluate_and_predict_look_names_up_in_runs_dir(run: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    shutil.move(run.parent, elsewhere)
    listed = json.loads(_invoke("runs", "list", "--runs-dir", elsewhere, "--json").stdout)
    name = listed["name"]
    evaluated = _invoke("evaluate", name, "--runs-dir", elsewhere, "--json")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.stdout)["model"] == str(elsewhere / name / "checkpoints/best.npz")
    predicted = _invoke("predict", name, DATASETS / "iris.csv", "--runs-dir", elsewhere)
    assert predicted.exit_code == 0 and predicted.stdout.startswith("species")
    for command in (["evaluate", "nope"], ["predict", "nope", DATASETS / "iris.csv"]):
        missing = _invoke(*command, "--runs-dir", elsewhere)
        assert missing.exit_code == 2
        where = f"(here, or in the runs directory {elsewhere})"
        assert f"nope: no such run directory or checkpoint file {where}" in missing.stderr
