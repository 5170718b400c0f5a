"""``nnctl sweep``: a missing extra is exit 2 with the install hint; results on stdout only."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "sweep"))
from sweep_helpers import sweep_file

from nnctl.cli.main import app


def test_without_optuna_the_sweep_says_which_extra(
    tmp_path: Path, runner: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "optuna", None)
    path = sweep_file(tmp_path, trials=1)
    result = runner.invoke(app, ["sweep", "run", str(path), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "pip install 'nnctl[sweep]'" in result.stderr
    assert result.stdout == ""


def test_run_json_then_show_and_best(tmp_path: Path, runner: CliRunner) -> None:
    path = sweep_file(tmp_path, trials=2, epochs=2)
    done = runner.invoke(app, ["sweep", "run", str(path), "--runs-dir", str(tmp_path), "--json"])
    assert done.exit_code == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["trials"] == {"complete": 2} and info["budget"] == 2
    assert done.stderr.count("trial ") >= 2 and "the best 2" in done.stderr
    folder = Path(info["folder"])
    assert {p.name for p in folder.iterdir()} >= {"trials.csv", "best.yaml", "sweep.json"}
    shown = runner.invoke(app, ["sweep", "show", str(folder)])
    assert shown.exit_code == 0 and "val_accuracy" in shown.stdout
    best = runner.invoke(app, ["sweep", "best", str(folder)])
    assert best.exit_code == 0 and best.stdout.startswith("# The best trial")
    refused = runner.invoke(app, ["sweep", "best", str(folder), "-o", str(path)])
    assert refused.exit_code == 2 and "an input of the sweep" in refused.stderr
