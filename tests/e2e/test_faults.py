"""Faults: kill -9 at random moments and during writes, a full disk, concurrent runs, signals.

Whatever happens, nothing complete is lost: a run resumes from its last complete checkpoint and
ends exactly as a run that never stopped, and every file in it parses.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.store.files import read_json
from nnctl.store.metrics import read_metrics
from nnctl.workflows.predict import CHUNK_ROWS
from tests.helpers import iris_config, nnctl_executable, run_nnctl, weights

EPOCHS = 12
WIDE = """
model:
  layers:
    - {units: 256, activation: relu}
    - {units: 256, activation: relu}
    - {units: 3, activation: softmax}
"""

# Runs nnctl in this process, but dies by SIGKILL at the N-th fsync: in the middle of writing a
# file (run.json, metrics.csv, a checkpoint), after its temporary file is written, before it is
# renamed. The kill is as real as `kill -9`; only its moment is chosen.
KILL_AT_FSYNC = """
import os, signal, sys
target, count = int(sys.argv[1]), [0]
real_fsync = os.fsync
def fsync(fd):
    count[0] += 1
    if count[0] == target:
        os.kill(os.getpid(), signal.SIGKILL)
    real_fsync(fd)
os.fsync = fsync
from nnctl.cli import app
sys.argv = ["nnctl", *sys.argv[2:]]
app()
"""


def _wide_iris(folder: Path) -> Path:
    """Iris with a wider network, so checkpoint writes take a noticeable share of the time."""
    config = iris_config(folder, epochs=EPOCHS)
    text = config.read_text().replace(
        "model:\n  layers:\n    - {units: 8, activation: relu, dropout: 0.1}\n"
        "    - {units: 3, activation: softmax}\n",
        WIDE,
    )
    config.write_text(text)
    return config


def _every_file_parses(run: Path) -> None:
    info = read_json(run / "run.json")
    assert info["status"] == "completed"
    yaml.safe_load((run / "config.yaml").read_text())
    with (run / "metrics.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["epoch"]) for row in rows] == list(range(1, EPOCHS + 1))
    assert all(len(row) == len(rows[0]) and "" not in row.values() for row in rows)
    for checkpoint in (run / "checkpoints").iterdir():
        with np.load(checkpoint, allow_pickle=False) as npz:
            assert "__nnctl__" in npz.files
    json.loads((run / "summary.json").read_text())
    assert not [p.name for p in run.rglob(".*")], "temporary files left behind"


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The wide iris config and an uninterrupted run of it."""
    folder = tmp_path_factory.mktemp("reference")
    config = _wide_iris(folder)
    result = run_nnctl("train", config, "--runs-dir", folder / "runs", "--quiet")
    assert result.returncode == 0, result.stderr
    return config, Path(result.stdout.strip())


def _resume_and_compare(run: Path, whole: Path) -> None:
    resumed = run_nnctl("train", "--resume", run, "--quiet", timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    _every_file_parses(run)
    assert weights(run / "checkpoints/last.npz") == weights(whole / "checkpoints/last.npz")
    assert weights(run / "checkpoints/best.npz") == weights(whole / "checkpoints/best.npz")


@pytest.mark.parametrize("seed", range(5))
def test_kill_9_during_a_write_then_resume(
    tmp_path: Path, reference: tuple[Path, Path], seed: int
) -> None:
    config, whole = reference
    # Each epoch writes run.json, metrics.csv and last.npz (and best.npz when it improves).
    target = int(np.random.default_rng(seed).integers(2, 4 * EPOCHS))
    runs = tmp_path / "runs"
    died = subprocess.run(
        [sys.executable, "-c", KILL_AT_FSYNC, str(target), "train", str(config),
         "--runs-dir", str(runs), "--quiet"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert died.returncode == -signal.SIGKILL, died.stderr
    (run,) = runs.iterdir()
    assert list(run.rglob(".*.tmp")), "the kill should have left a half-written temporary file"
    _resume_and_compare(run, whole)


def _wait_for_epochs(process: subprocess.Popen[bytes], runs: Path, epochs: int) -> Path:
    """Wait (up to a minute) until the run in ``runs`` has ``epochs`` rows in metrics.csv."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        found = list(runs.glob("*/metrics.csv"))
        if found and len(read_metrics(found[0])) >= epochs:
            return found[0].parent
        time.sleep(0.005)
    process.kill()
    raise AssertionError(f"no {epochs} epochs in time: {process.communicate()[1]!r}")


@pytest.mark.parametrize("seed", range(5))
def test_kill_9_at_a_random_moment_then_resume(
    tmp_path: Path, reference: tuple[Path, Path], seed: int
) -> None:
    config, whole = reference
    runs = tmp_path / "runs"
    process = subprocess.Popen(
        [*nnctl_executable(), "train", str(config), "--runs-dir", str(runs), "--quiet"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    # The moment: a random point within a random epoch that leaves at least two more to go, so
    # that the kill always lands in a running training.
    rng = np.random.default_rng(100 + seed)
    run = _wait_for_epochs(process, runs, int(rng.integers(1, EPOCHS - 2)))
    seconds = [float(row["seconds"]) for row in read_metrics(run / "metrics.csv")]
    time.sleep(float(rng.uniform(0.0, 1.0)) * min(seconds))
    process.kill()
    process.communicate(timeout=30)
    assert process.returncode == -signal.SIGKILL, "the training ended before the kill"
    _resume_and_compare(run, whole)


def test_a_full_disk_is_a_clear_error_and_the_run_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple[Path, Path]
) -> None:
    config, whole = reference
    real_fsync, calls = os.fsync, {"n": 0}

    def fsync(fd: int) -> None:
        calls["n"] += 1
        if calls["n"] == 14:  # a write in the fourth or fifth epoch
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    runs = tmp_path / "runs"
    result = CliRunner().invoke(app, ["train", str(config), "--runs-dir", str(runs), "--quiet"])
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert result.exit_code == 3, result.output
    assert "No space left on device" in result.stderr
    assert "Traceback" not in result.output
    (run,) = runs.iterdir()
    info = read_json(run / "run.json")
    assert info["status"] == "failed"
    with np.load(run / "checkpoints/last.npz", allow_pickle=False) as npz:
        saved_epoch = json.loads(npz["__nnctl__"].tobytes())["epoch"]
    assert 1 <= saved_epoch <= info["epochs_done"]
    assert not list(run.rglob(".*.tmp"))
    _resume_and_compare(run, whole)


def test_two_runs_started_together_get_their_own_directories(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=15)
    command = [*nnctl_executable(), "train", str(config), "--runs-dir", str(tmp_path / "r")]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out_a, err_a = first.communicate(timeout=120)
    out_b, err_b = second.communicate(timeout=120)
    assert first.returncode == 0 and second.returncode == 0, err_a + err_b
    a, b = Path(out_a.strip()), Path(out_b.strip())
    assert a != b
    assert weights(a / "checkpoints/last.npz") == weights(b / "checkpoints/last.npz")
    for run in (a, b):
        assert read_json(run / "run.json")["status"] == "completed"
        assert len(read_metrics(run / "metrics.csv")) == 15


@pytest.fixture(scope="module")
def big_input(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A trained iris run and a labelled CSV of 3,000,000 rows to evaluate on."""
    folder = tmp_path_factory.mktemp("big")
    result = run_nnctl("train", iris_config(folder, epochs=2), "--runs-dir", folder, "--quiet")
    assert result.returncode == 0, result.stderr
    rows = np.random.default_rng(0).uniform(0, 8, size=(3_000_000, 4)).round(1)
    text = "\n".join(",".join(f"{v:.1f}" for v in row) + ",setosa" for row in rows[:1000])
    path = folder / "big.csv"
    with path.open("w") as handle:
        handle.write(f"{FEATURES},species\n")
        for _ in range(len(rows) // 1000):
            handle.write(text + "\n")
    return Path(result.stdout.strip()), path


FEATURES = "sepal_length,sepal_width,petal_length,petal_width"


def _rows(n: int) -> bytes:
    """``n`` CSV rows of iris features."""
    return b"5.1,3.5,1.4,0.2\n" * n


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_predict_leaves_no_partial_output(
    tmp_path: Path, big_input: tuple[Path, Path], sig: signal.Signals
) -> None:
    run, _ = big_input
    out = tmp_path / "predictions.csv"
    process = subprocess.Popen(
        [*nnctl_executable(), "predict", str(run), "--input", "-", "--output", str(out)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdin is not None
    # Two chunks of rows, and stdin stays open: predict writes the first chunk, then waits for
    # more rows, so it cannot end before the signal. (Two, not one: stdin is read in blocks of
    # 256 kB, and a block waits until it is full or the input ends.)
    process.stdin.write(FEATURES.encode() + b"\n" + _rows(2 * CHUNK_ROWS))
    process.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if any(p.stat().st_size > 0 for p in tmp_path.glob(".predictions.csv.*")):
            break  # the first chunk is written to the temporary file
        time.sleep(0.005)
    assert process.poll() is None, process.communicate()
    process.send_signal(sig)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, (process.returncode, stderr)
    assert stderr.decode().endswith("nnctl: interrupted\n"), stderr
    assert b"Traceback" not in stderr and stdout == b""
    assert list(tmp_path.iterdir()) == []


def _full_pipe() -> tuple[int, int, int]:
    """A pipe with no room left: ``(read end, write end, bytes in it)``.

    A command whose stdout is its write end blocks on its first write until the pipe is read:
    it cannot end on its own.
    """
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    filled = 0
    for size in (65536, 4096, 1):
        try:
            while True:
                filled += os.write(write_end, b"x" * size)
        except BlockingIOError:
            pass
    os.set_blocking(write_end, True)
    return read_end, write_end, filled


def _wait_until_open(process: subprocess.Popen[bytes], path: Path) -> None:
    """Wait (up to a minute) until ``process`` has ``path`` open (Linux: /proc/PID/fd)."""
    fds = Path(f"/proc/{process.pid}/fd")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        with contextlib.suppress(OSError):
            if any(os.readlink(fd) == str(path) for fd in fds.iterdir()):
                return
        time.sleep(0.001)
    raise AssertionError(f"{path} was not opened: {process.communicate()[1]!r}")


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_evaluate_exits_130(
    big_input: tuple[Path, Path], sig: signal.Signals
) -> None:
    run, data = big_input
    read_end, write_end, filled = _full_pipe()
    try:
        process = subprocess.Popen(
            [*nnctl_executable(), "evaluate", str(run), "--data", str(data)],
            stdout=write_end,
            stderr=subprocess.PIPE,
        )
        os.close(write_end)
        _wait_until_open(process, data)  # reading the data; stdout is full: it cannot end
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=60)
        with os.fdopen(read_end, "rb") as pipe:
            stdout = pipe.read()
    finally:
        process.kill()
    assert process.returncode == 130, (process.returncode, stderr)
    assert stderr.decode().endswith("nnctl: interrupted\n"), stderr
    assert b"Traceback" not in stderr
    assert stdout == b"x" * filled  # nothing of the interrupted results
