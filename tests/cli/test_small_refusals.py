"""Nothing silently ignored: --name on a resume, a missing --runs-dir, --json of a stopped run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from tests.helpers import CONFIGS, iris_config


def test_a_resume_refuses_a_new_name(runner: CliRunner, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    trained = runner.invoke(app, ["train", str(iris_config(tmp_path, epochs=2)),
                                  "--runs-dir", str(runs), "--quiet"])  # fmt: skip
    assert trained.exit_code == 0, trained.stderr
    run = Path(trained.stdout.strip())
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    result = runner.invoke(app, ["train", "--resume", str(run), "--name", "other", "--quiet"])
    assert result.exit_code == 2
    assert "--name" in result.stderr and "leave out --name" in result.stderr
    assert result.stdout == ""
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    assert sorted(runs.iterdir()) == [run]


def test_runs_list_of_a_missing_runs_dir_is_an_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(tmp_path / "nothere")])
    assert result.exit_code == 2
    assert result.stderr == f"nnctl: error: --runs-dir {tmp_path / 'nothere'}: no such directory\n"
    assert result.stdout == ""
    afile = tmp_path / "afile"
    afile.write_text("x")
    result = runner.invoke(app, ["runs", "list", "--runs-dir", str(afile)])
    assert result.exit_code == 2 and "is not a directory" in result.stderr


def test_runs_list_without_a_runs_folder_is_empty(
    runner: CliRunner, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NNCTL_RUNS_DIR", raising=False)
    result = runner.invoke(app, ["runs", "list", "--json"])
    assert result.exit_code == 0 and result.stdout == ""


def test_train_json_prints_the_summary_of_a_run_that_diverged(
    runner: CliRunner, tmp_path: Path
) -> None:
    """A script reading ``--json`` learns the status and the run even when training stops."""
    runs = tmp_path / "runs"
    config, sgd = str(CONFIGS / "diabetes.yaml"), "optimizer={name: sgd, learning_rate: 1000}"
    result = runner.invoke(
        app, ["train", config, "--runs-dir", str(runs), "--json", "--quiet", "--set", sgd]
    )
    assert result.exit_code == 4
    summary = json.loads(result.stdout)
    (run,) = runs.iterdir()
    assert summary["run"] == str(run) and summary["status"] == "diverged"
    assert summary["stop_reason"].startswith("training diverged at step")
    assert json.loads((run / "run.json").read_text())["status"] == "diverged"
    assert result.stderr.startswith("nnctl: error: training diverged")


def test_train_json_prints_the_summary_of_an_interrupted_run(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nnctl.nn.network import Network

    original, calls = Network.train_step, [0]

    def interrupted(self: Network, *args: Any, **kwargs: Any) -> Any:
        calls[0] += 1
        if calls[0] == 20:  # in the third epoch of 8 batches
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Network, "train_step", interrupted)
    runs = tmp_path / "runs"
    config = str(iris_config(tmp_path, epochs=10))
    result = runner.invoke(app, ["train", config, "--runs-dir", str(runs), "--json", "--quiet"])
    assert result.exit_code == 130
    summary = json.loads(result.stdout)
    (run,) = runs.iterdir()
    assert (summary["run"], summary["status"]) == (str(run), "interrupted")
    assert summary["epochs_done"] == 2
