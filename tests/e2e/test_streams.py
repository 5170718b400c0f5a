"""Standard streams closed, full or gone, a terminal on stdin, Ctrl-C while reading.

stdout carries results: a reader that went away (a closed pipe) ends the command quietly with
exit 0; stdout closed (``>&-``) or full (``/dev/full``) is one line on stderr and exit 3. stderr
carries progress: when it goes away the command carries on. Every test waits for an event (a
line, a file, a prompt), never for a guess of time.
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

import pytest

from nnctl.store.files import read_json
from nnctl.store.metrics import read_metrics
from tests.helpers import DATASETS, ROOT, iris_config, nnctl_executable, run_nnctl

ENV = {**os.environ, "NNCTL_DEBUG": ""}
FEATURES = b"sepal_length,sepal_width,petal_length,petal_width\n"
CLOSED = "nnctl: error: cannot write the results to stdout: it is closed"
FULL = "nnctl: error: cannot write the results to stdout: No space left on device"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """An iris config and a run trained from it."""
    folder = tmp_path_factory.mktemp("streams")
    config = iris_config(folder, epochs=2)
    result = run_nnctl("train", config, "--runs-dir", folder / "runs", "--quiet")
    assert result.returncode == 0, result.stderr
    return config, Path(result.stdout.strip())


COMMANDS = {
    "version": lambda c, r, t: ["--version"],
    "help": lambda c, r, t: ["--help"],
    "schema": lambda c, r, t: ["schema"],
    "runs-list": lambda c, r, t: ["runs", "list", "--runs-dir", r.parent],
    "runs-list-json": lambda c, r, t: ["runs", "list", "--runs-dir", r.parent, "--json"],
    "runs-show": lambda c, r, t: ["runs", "show", r],
    "evaluate": lambda c, r, t: ["evaluate", r],
    "evaluate-json": lambda c, r, t: ["evaluate", r, "--json"],
    "validate": lambda c, r, t: ["validate", c],
    "predict": lambda c, r, t: ["predict", r, DATASETS / "iris.csv"],
    "train": lambda c, r, t: ["train", c, "--runs-dir", t / "runs", "--quiet"],
}


def _command(name: str, trained: tuple[Path, Path], tmp_path: Path) -> list[str]:
    config, run = trained
    return [*nnctl_executable(), *map(str, COMMANDS[name](config, run, tmp_path))]


def _shell(command: list[str], redirect: str) -> subprocess.CompletedProcess[str]:
    """Run ``command`` with a shell redirection (``>&-``, ``>/dev/full``, ``<&-``)."""
    return subprocess.run(
        ["bash", "-c", f'exec "$0" "$@" {redirect}', *command],
        capture_output=True, text=True, timeout=120, env=ENV, check=False,
    )  # fmt: skip


def _one_error_line(stderr: str, expected: str) -> None:
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert stderr.splitlines()[-1].startswith(expected), stderr


@pytest.mark.parametrize("name", COMMANDS)
def test_a_closed_stdout_is_an_error_with_exit_3(
    trained: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    result = _shell(_command(name, trained, tmp_path), ">&-")
    assert result.returncode == 3, result.stderr
    _one_error_line(result.stderr, CLOSED)
    if name == "train":  # the training itself completed, and its record says so
        (run,) = (tmp_path / "runs").iterdir()
        assert read_json(run / "run.json")["status"] == "completed"


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("name", ["version", "help", "schema", "runs-show", "evaluate", "predict"])
def test_a_full_stdout_is_an_error_with_exit_3(
    trained: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    result = _shell(_command(name, trained, tmp_path), ">/dev/full")
    assert result.returncode == 3, result.stderr
    _one_error_line(result.stderr, FULL)


@pytest.mark.parametrize("name", COMMANDS)
def test_a_closed_pipe_on_stdout_ends_quietly_with_exit_0(
    trained: tuple[Path, Path], tmp_path: Path, name: str
) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first write: every write fails
    try:
        result = subprocess.run(
            _command(name, trained, tmp_path),
            stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120, env=ENV,
            check=False,
        )  # fmt: skip
    finally:
        os.close(write_end)
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("name", ["runs-show", "runs-list", "evaluate", "schema", "predict"])
def test_head_1_in_a_shell_pipeline(trained: tuple[Path, Path], tmp_path: Path, name: str) -> None:
    command = " ".join(f"'{part}'" for part in _command(name, trained, tmp_path))
    result = subprocess.run(
        ["bash", "-c", f'{command} | head -1; exit "${{PIPESTATUS[0]}}"'],
        capture_output=True, text=True, timeout=120, env=ENV, check=False,
    )  # fmt: skip
    assert (result.returncode, result.stderr) == (0, "")
    assert len(result.stdout.splitlines()) == 1


def test_a_closed_stdin_is_an_error_for_predict(trained: tuple[Path, Path]) -> None:
    _, run = trained
    for args in (["predict", str(run)], ["predict", str(run), "--input", "-", "-o", "out.csv"]):
        result = _shell([*nnctl_executable(), *args], "<&-")
        assert result.returncode == 3, result.stderr
        _one_error_line(result.stderr, "nnctl: error: <stdin>: cannot read the input")
        assert "standard input is closed" in result.stderr


def test_a_training_does_not_need_stdin(trained: tuple[Path, Path], tmp_path: Path) -> None:
    result = _shell(_command("train", trained, tmp_path), "<&-")
    assert result.returncode == 0, result.stderr
    assert read_json(Path(result.stdout.strip()) / "run.json")["status"] == "completed"


def _training(config: Path, runs: Path, **streams: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*nnctl_executable(), "train", str(config), "--runs-dir", str(runs)], env=ENV, **streams
    )


def _epochs_done(runs: Path) -> int:
    found = list(runs.glob("*/metrics.csv"))
    return len(read_metrics(found[0])) if found else 0


@pytest.mark.parametrize("together", [False, True], ids=["stderr", "2>&1"])
def test_a_training_whose_progress_reader_goes_away_completes(
    tmp_path: Path, together: bool
) -> None:
    epochs = 300
    config, runs = iris_config(tmp_path, epochs=epochs), tmp_path / "runs"
    stderr = subprocess.STDOUT if together else subprocess.PIPE
    process = _training(config, runs, stdout=subprocess.PIPE, stderr=stderr)
    progress = process.stdout if together else process.stderr
    assert progress is not None and process.stdout is not None
    assert _first_epoch_line(progress).startswith(b"epoch 1/")
    progress.close()  # as `| head -1` does after its line
    done_at_close = _epochs_done(runs)
    stdout = b"" if together else process.stdout.read()
    assert process.wait(timeout=120) == 0
    process.stdout.close()
    assert done_at_close <= epochs - 2, "the training ended before its reader went away"
    (run,) = runs.iterdir()
    info = read_json(run / "run.json")
    assert (info["status"], info["epochs_done"]) == ("completed", epochs)
    if not together:
        assert stdout.decode() == f"{run}\n"


def _first_epoch_line(stream: IO[bytes]) -> bytes:
    """The first line of training progress after the data is loaded ('loading ...' lines)."""
    line = stream.readline()
    while line.startswith((b"loading ", b"loaded ")):
        line = stream.readline()
    return line


def test_ctrl_c_still_interrupts_a_training_whose_stderr_is_gone(tmp_path: Path) -> None:
    config, runs = iris_config(tmp_path, epochs=5000), tmp_path / "runs"
    process = _training(config, runs, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stderr is not None and process.stdout is not None
    assert _first_epoch_line(process.stderr).startswith(b"epoch 1/")
    process.stderr.close()
    deadline = time.monotonic() + 60
    while _epochs_done(runs) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)  # a few epochs written to the closed pipe
    assert _epochs_done(runs) >= 3, "training wrote no 3 epochs within 60 s"
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 130
    process.stdout.close()
    (run,) = runs.iterdir()
    assert read_json(run / "run.json")["status"] == "interrupted"


@pytest.mark.parametrize("redirect", ["2>&-", "2>/dev/full"])
def test_a_training_without_stderr_completes(tmp_path: Path, redirect: str) -> None:
    config = iris_config(tmp_path, epochs=5)
    result = _shell(
        [*nnctl_executable(), "train", str(config), "--runs-dir", str(tmp_path)], redirect
    )
    assert result.returncode == 0
    info = read_json(Path(result.stdout.strip()) / "run.json")
    assert (info["status"], info["epochs_done"]) == ("completed", 5)


def test_an_error_keeps_its_exit_code_without_stderr(tmp_path: Path) -> None:
    config = iris_config(tmp_path, extra="  epochs_typo: 3\n")
    assert _shell([*nnctl_executable(), "validate", str(config)], "2>&-").returncode == 2


# --- a terminal on stdin --------------------------------------------------------------------------


def _predict_on_a_terminal(run: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``nnctl predict RUN`` with a pseudo-terminal on stdin; returns it and the master side."""
    master, slave = pty.openpty()
    process = subprocess.Popen(
        [*nnctl_executable(), "predict", str(run)],
        stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    os.close(slave)
    return process, master


NOTE = b"nnctl: reading CSV from stdin (a terminal); end with Ctrl-D, or give INPUT\n"


def test_predict_reads_a_terminal_until_one_ctrl_d(trained: tuple[Path, Path]) -> None:
    _, run = trained
    process, master = _predict_on_a_terminal(run)
    try:
        assert process.stderr is not None
        assert process.stderr.readline() == NOTE
        os.write(master, FEATURES + b"5.1,3.5,1.4,0.2\n6.3,3.3,6.0,2.5\n\x04")
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(master)
    assert (process.returncode, stderr) == (0, b"")
    assert len(stdout.splitlines()) == 3 and stdout.startswith(b"species\n")


def test_ctrl_c_while_predict_reads_a_terminal_exits_130(trained: tuple[Path, Path]) -> None:
    _, run = trained
    process, master = _predict_on_a_terminal(run)
    try:
        assert process.stderr is not None
        assert process.stderr.readline() == NOTE  # it waits for rows now
        os.write(master, FEATURES)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(master)
    assert process.returncode == 130, stderr
    assert (stdout, stderr) == (b"", b"nnctl: interrupted\n")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_predict_waits_on_a_pipe_exits_130(
    trained: tuple[Path, Path], sig: signal.Signals
) -> None:
    """Not pandas' "Calling read(nbytes) on source failed" and exit 3."""
    _, run = trained
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [*nnctl_executable(), "predict", str(run), "-"],
        stdin=read_end, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV,
    )  # fmt: skip
    os.close(read_end)
    try:
        # The first chunk of predictions comes out only when stdin ends: wait until stdin has
        # been read (the pipe is empty again), then signal.
        os.write(write_end, FEATURES + b"5.1,3.5,1.4,0.2\n")
        deadline = time.monotonic() + 60
        while _unread(write_end) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert not _unread(write_end), "predict did not read stdin within 60 s"
        process.send_signal(sig)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        os.close(write_end)
    assert process.returncode == 130, stderr
    assert (stdout, stderr) == (b"", b"nnctl: interrupted\n")


def _unread(fd: int) -> int:
    """How many bytes written to the pipe ``fd`` nobody has read yet (Linux FIONREAD)."""
    import fcntl
    import struct
    import termios

    return int(struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0])


def test_an_idx_model_refuses_a_terminal(tmp_path: Path) -> None:
    train = run_nnctl(
        "train", "configs/digits.yaml", "--runs-dir", tmp_path, "--quiet",
        "--set", "training.epochs=1", cwd=ROOT,
    )  # fmt: skip
    assert train.returncode == 0, train.stderr
    process, master = _predict_on_a_terminal(Path(train.stdout.strip()))
    try:
        stdout, stderr = process.communicate(timeout=60)
    finally:
        os.close(master)
    assert process.returncode == 2, stderr
    assert stderr.decode().startswith("nnctl: error: INPUT: the model reads IDX images")
    assert stdout == b""
