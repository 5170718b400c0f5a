"""The real ``nnctl`` executable in subprocesses: the quickstart, pipelines, signals, resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nnctl.store.files import read_json
from nnctl.store.metrics import read_metrics
from tests.helpers import DATASETS, ROOT, iris_config, nnctl_executable, run_nnctl, weights


def test_the_quickstart_trains_digits_and_prints_only_the_run(tmp_path: Path) -> None:
    result = run_nnctl(
        "train", "configs/digits.yaml", "--runs-dir", tmp_path, cwd=ROOT, timeout=300
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    run = Path(lines[0])
    assert run.parent == tmp_path and run.name.startswith("digits-")
    assert read_json(run / "run.json")["status"] == "completed"
    assert "\x1b[" not in result.stderr  # stderr is a pipe: plain lines, no escape codes
    assert "epoch 1/" in result.stderr


def test_train_then_predict_in_a_shell_pipeline(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=30)
    nnctl = " ".join(nnctl_executable())
    script = (
        f"run=$({nnctl} train {config} --runs-dir {tmp_path / 'runs'} --quiet) && "
        f'cut -d, -f1-4 {DATASETS / "iris.csv"} | {nnctl} predict "$run" --input - '
        "| sort | uniq -c"
    )
    result = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stderr
    counts = {line.split()[1]: int(line.split()[0]) for line in result.stdout.splitlines()}
    assert counts.pop("species") == 1  # the header line
    assert set(counts) <= {"setosa", "versicolor", "virginica"}
    assert sum(counts.values()) == 150  # one prediction per input row
    assert result.stderr == ""


def test_evaluate_json_is_one_parseable_object(tmp_path: Path) -> None:
    train = run_nnctl("train", iris_config(tmp_path), "--runs-dir", tmp_path, "--quiet")
    assert train.returncode == 0, train.stderr
    result = run_nnctl("evaluate", train.stdout.strip(), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["task"] == "classification"
    assert report["n_samples"] > 0
    assert 0 <= report["accuracy"] <= 1
    assert set(report["per_class"]) == {"setosa", "versicolor", "virginica"}
    assert len(report["confusion_matrix"]["matrix"]) == 3


def test_train_json_summary(tmp_path: Path) -> None:
    result = run_nnctl("train", iris_config(tmp_path, epochs=3), "--runs-dir", tmp_path, "--json")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "completed"
    assert summary["epochs_done"] == 3
    assert Path(summary["run"]).is_dir()
    assert set(summary["test"]) == {"loss", "accuracy"}


def _start_training(config: Path, runs: Path) -> tuple[subprocess.Popen[str], Path]:
    """Start a long training and wait until it has completed two epochs."""
    process = subprocess.Popen(
        [*nnctl_executable(), "train", str(config), "--runs-dir", str(runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = list(runs.glob("*/metrics.csv"))
        if found and len(read_metrics(found[0])) >= 2:
            return process, found[0].parent
        if process.poll() is not None:
            break
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"training did not get going: {process.communicate()[1]}")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_saves_and_the_run_resumes_bit_identically(
    tmp_path: Path, sig: signal.Signals
) -> None:
    epochs = 400
    config = iris_config(tmp_path, epochs=epochs)
    process, run = _start_training(config, tmp_path / "runs")
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert f"nnctl train --resume {run}" in stderr
    info = read_json(run / "run.json")
    assert info["status"] == "interrupted"
    assert len(read_metrics(run / "metrics.csv")) == info["epochs_done"]

    resumed = run_nnctl("train", "--resume", run, "--quiet", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.strip() == str(run)
    whole = run_nnctl("train", config, "--runs-dir", tmp_path / "whole", "--quiet", timeout=300)
    assert whole.returncode == 0, whole.stderr
    assert weights(run / "checkpoints/last.npz") == weights(
        Path(whole.stdout.strip()) / "checkpoints/last.npz"
    )
    rows = read_metrics(run / "metrics.csv")
    assert [int(row["epoch"]) for row in rows] == list(range(1, epochs + 1))


def test_kill_9_leaves_a_resumable_run(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=300)
    process, run = _start_training(config, tmp_path / "runs")
    os.kill(process.pid, signal.SIGKILL)
    process.communicate(timeout=30)
    assert read_json(run / "run.json")["status"] == "running"  # nobody could record the end
    resumed = run_nnctl("train", "--resume", run, "--quiet", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    info = read_json(run / "run.json")
    assert (info["status"], info["epochs_done"]) == ("completed", 300)
    assert [int(row["epoch"]) for row in read_metrics(run / "metrics.csv")] == list(range(1, 301))
    assert not [p for p in run.rglob(".*") if p.is_file()]  # no temporary files left behind


def test_predict_reads_idx_images_from_stdin(tmp_path: Path) -> None:
    images = DATASETS / "digits" / "test-images-idx3-ubyte.gz"
    train = run_nnctl(
        "train", "configs/digits.yaml", "--runs-dir", tmp_path, "--quiet",
        "--set", "training.epochs=2", cwd=ROOT,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    run = train.stdout.strip()
    from_file = run_nnctl("predict", run, "--input", images)
    piped = subprocess.run(
        [*nnctl_executable(), "predict", run, "-"],
        input=images.read_bytes(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == from_file.stdout
    lines = from_file.stdout.splitlines()
    assert lines[0] == "label" and len(lines) == 361
    assert set(lines[1:]) <= {str(d) for d in range(10)}


def test_nothing_is_written_outside_the_runs_directory_and_named_outputs(tmp_path: Path) -> None:
    work, configs, runs = tmp_path / "work", tmp_path / "configs", tmp_path / "runs"
    work.mkdir()
    configs.mkdir()
    config = iris_config(configs, epochs=3)
    before = {p for p in tmp_path.rglob("*")}
    train = run_nnctl("train", config, "--runs-dir", runs, "--quiet", cwd=work)
    assert train.returncode == 0, train.stderr
    run = train.stdout.strip()
    assert run_nnctl("evaluate", run, "--json", cwd=work).returncode == 0
    predict = run_nnctl("predict", run, "--input", DATASETS / "iris.csv", "-o", "p.csv", cwd=work)
    assert predict.returncode == 0, predict.stderr
    created = {p for p in tmp_path.rglob("*")} - before
    outside = [p for p in created if not p.is_relative_to(runs) and p != work / "p.csv"]
    assert outside == []
