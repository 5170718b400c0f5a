"""Run records through the real command line: a run killed with ``kill -9``, run names."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

from nnctl.store.files import read_json
from nnctl.store.metrics import read_metrics
from tests.helpers import iris_config, nnctl_executable, run_nnctl


def _start_training(config: Path, runs: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start a long training; return once its first epoch is in metrics.csv (or fail)."""
    process = subprocess.Popen(
        [*nnctl_executable(), "train", str(config), "--runs-dir", str(runs), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(runs.glob("*/metrics.csv"))
        if found and read_metrics(found[0]):
            return process, found[0].parent
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"training did not get going: {process.communicate()[1]}")


def test_a_killed_run_is_shown_stopped_and_resumes_by_name(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    process, run = _start_training(iris_config(tmp_path, epochs=400), runs)
    listed = run_nnctl("runs", "list", "--runs-dir", runs, "--json")
    assert json.loads(listed.stdout)["status"] == "running"  # it is: the lock is held
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert read_json(run / "run.json")["status"] == "running"  # nobody could record the end

    listed = run_nnctl("runs", "list", "--runs-dir", runs, "--json")
    assert listed.returncode == 0, listed.stderr
    summary = json.loads(listed.stdout)
    assert (summary["name"], summary["status"], summary["resumable"]) == (run.name, "stopped", True)
    table = run_nnctl("runs", "list", "--runs-dir", runs)
    assert "stopped (killed?)" in table.stdout
    shown = run_nnctl("runs", "show", run.name, "--runs-dir", runs)
    assert shown.returncode == 0, shown.stderr
    assert "killed?" in shown.stdout and "--resume" in shown.stdout

    resumed = run_nnctl(
        "train", "--resume", run.name, "--runs-dir", runs, "--quiet", "--json", timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["status"] == "completed"
    assert json.loads(run_nnctl("runs", "list", "--runs-dir", runs, "--json").stdout)["status"] == (
        "completed"
    )


def test_a_missing_run_is_exit_2_and_a_damaged_one_does_not_hide_the_others(
    tmp_path: Path,
) -> None:
    runs = tmp_path / "runs"
    trained = run_nnctl("train", iris_config(tmp_path, epochs=2), "--runs-dir", runs, "--quiet")
    assert trained.returncode == 0, trained.stderr
    damaged = runs / "broken-20260101-000000"
    damaged.mkdir()
    (damaged / "run.json").write_text('{"name": 5}')
    listed = run_nnctl("runs", "list", "--runs-dir", runs, "--json")
    assert listed.returncode == 0, listed.stderr
    assert [json.loads(line)["run"] for line in listed.stdout.splitlines()] == [
        trained.stdout.strip()
    ]
    assert f"nnctl: warning: skipped {damaged}" in listed.stderr
    for args in (["evaluate", "gone"], ["predict", "gone", "-"], ["runs", "show", "gone"]):
        result = run_nnctl(*args, cwd=tmp_path)
        assert result.returncode == 2, result.stderr
        assert result.stderr.startswith("nnctl: error: gone: no such"), result.stderr
        assert "Traceback" not in result.stderr
