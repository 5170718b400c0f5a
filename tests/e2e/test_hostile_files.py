"""Hostile and unusual inputs through the real command line: pipes, unreadable files, bombs, -o.

Unreadable files are made with chmod 000. As root (where modes are not enforced) the commands
run under ``setpriv`` without the capabilities that bypass file modes.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import struct
import subprocess
import threading
from pathlib import Path

import pytest

from tests.helpers import DATASETS, iris_config, nnctl_executable, run_nnctl

IRIS = DATASETS / "iris.csv"
FEATURES = "\n".join(",".join(line.split(",")[:4]) for line in IRIS.read_text().splitlines())


@pytest.fixture(scope="module")
def iris_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    result = run_nnctl("train", iris_config(folder, epochs=2), "--quiet", "--runs-dir", folder)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def _unprivileged() -> list[str]:
    """A command prefix under which file modes are enforced (skip the test if there is none)."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv: file modes are not enforced")
    return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search", "--"]


def _run(
    *args: str | Path, prefix: list[str] | None = None, **kw: object
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "NNCTL_DEBUG": ""}
    command = [*(prefix or []), *nnctl_executable(), *map(str, args)]
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        command, capture_output=True, text=True, timeout=120, env=env, check=False, **kw
    )


def _failed(result: subprocess.CompletedProcess[str], code: int, *expected: str) -> None:
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    for text in expected:
        assert text in result.stderr, result.stderr


def test_predict_reads_gzip_from_a_process_substitution_pipe(iris_run: Path) -> None:
    read_end, write_end = os.pipe()
    writer = threading.Thread(
        target=lambda: (os.write(write_end, gzip.compress(FEATURES.encode())), os.close(write_end))
    )
    writer.start()
    try:
        result = _run("predict", iris_run, f"/dev/fd/{read_end}", pass_fds=(read_end,))
    finally:
        writer.join()
        os.close(read_end)
    assert result.returncode == 0, result.stderr
    assert len(result.stdout.splitlines()) == len(FEATURES.splitlines())


def test_train_from_a_fifo_records_the_sha256_of_what_it_read(tmp_path: Path) -> None:
    fifo = tmp_path / "train.csv"
    os.mkfifo(fifo)

    def feed() -> None:
        with fifo.open("wb") as out:
            out.write(IRIS.read_bytes())

    threading.Thread(target=feed, daemon=True).start()
    config = iris_config(tmp_path, epochs=1)
    result = run_nnctl(
        "train", config, "--quiet", "--runs-dir", tmp_path / "runs", "--set", f"data.train={fifo}"
    )
    assert result.returncode == 0, result.stderr
    info = json.loads((Path(result.stdout.strip()) / "run.json").read_text())
    assert info["data_files"][0]["sha256"] == hashlib.sha256(IRIS.read_bytes()).hexdigest()


def test_predict_stdin_gzip_and_latin1(iris_run: Path) -> None:
    def predict(stdin: bytes) -> subprocess.CompletedProcess[bytes]:
        return subprocess.run(
            [*nnctl_executable(), "predict", str(iris_run), "-"],
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
            env={**os.environ, "NNCTL_DEBUG": ""},
        )

    ok = predict(gzip.compress(FEATURES.encode()))
    assert ok.returncode == 0, ok.stderr
    assert len(ok.stdout.splitlines()) == len(FEATURES.splitlines())
    bad = predict(b"sepal_length,sepal_width,petal_length,petal_width\n5.1,caf\xe9,1,1\n")
    assert bad.returncode == 3 and b"Traceback" not in bad.stderr, bad.stderr
    assert b"<stdin>: not UTF-8 text (line 2, byte offset 57)" in bad.stderr, bad.stderr


def test_unreadable_inputs_say_permission_denied(iris_run: Path, tmp_path: Path) -> None:
    prefix = _unprivileged()
    tmp_path.chmod(0o755)
    data = tmp_path / "d.csv"
    shutil.copy(IRIS, data)
    config = iris_config(tmp_path, epochs=1)
    config.write_text(config.read_text().replace(str(IRIS), str(data)))
    run = tmp_path / "run"
    shutil.copytree(iris_run, run)
    data.chmod(0)
    _failed(
        _run("train", config, "--runs-dir", tmp_path, prefix=prefix),
        3,
        str(data),
        "permission denied",
    )
    _failed(_run("evaluate", run, "--data", data, prefix=prefix), 3, str(data), "permission denied")
    config.chmod(0)
    _failed(_run("validate", config, prefix=prefix), 2, str(config), "permission denied")
    (run / "checkpoints" / "best.npz").chmod(0)
    _failed(
        _run("evaluate", run, "--data", IRIS, prefix=prefix), 3, "best.npz", "permission denied"
    )
    (run / "checkpoints").chmod(0)
    _failed(_run("predict", run, IRIS, prefix=prefix), 3, "checkpoints", "permission denied")
    (run / "checkpoints").chmod(0o755)
    run.chmod(0)
    _failed(_run("runs", "show", run, prefix=prefix), 3, str(run), "permission denied")
    run.chmod(0o755)


def test_predict_output_never_destroys_a_file(iris_run: Path, tmp_path: Path) -> None:
    data = tmp_path / "x.csv"
    data.write_text(FEATURES + "\n")
    best = iris_run / "checkpoints" / "best.npz"
    before = {p: p.read_bytes() for p in (data, best)}
    _failed(_run("predict", iris_run, data, "-o", data), 2, "is the input")
    _failed(_run("predict", iris_run, data, "-o", best), 2, "is the model file")
    _failed(_run("predict", iris_run, data, "-o", "/dev/full"), 3, "No space left on device")
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.csv"]  # no temporary file left


def test_validate_dev_zero_and_a_96_gib_idx_claim_end_at_once(tmp_path: Path) -> None:
    _failed(_run("validate", "/dev/zero"), 2, "/dev/zero", "larger than 1 MiB")
    images = tmp_path / "train-images-idx3-ubyte.gz"
    images.write_bytes(gzip.compress(struct.pack(">IIII", 0x803, 96 << 20, 32, 32) + bytes(40)))
    labels = tmp_path / "train-labels-idx1-ubyte"
    labels.write_bytes(struct.pack(">II", 0x801, 4) + bytes(4))
    config = tmp_path / "c.yaml"
    config.write_text(
        f"version: 1\ndata: {{train: {images.name}, train_labels: {labels.name}}}\n"
        "model: {layers: [{units: 2, activation: softmax}]}\nloss: categorical_crossentropy\n"
    )
    _failed(_run("train", config, "--runs-dir", tmp_path / "runs"), 3, str(images), "truncated")


def test_a_csv_gzip_bomb_stops_training_at_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bomb = tmp_path / "bomb.csv.gz"
    bomb.write_bytes(gzip.compress(b"a,b,y\n" + b"1,2,yes\n3,4,no\n" * 200_000, mtime=0))
    config = iris_config(tmp_path, epochs=1)
    config.write_text(config.read_text().replace(str(IRIS), str(bomb)).replace("species", "y"))
    monkeypatch.setenv("NNCTL_MAX_INPUT_BYTES", str(1 << 20))
    result = run_nnctl("train", config, "--runs-dir", tmp_path / "runs")
    _failed(result, 3, str(bomb), "inflates to more than 1 MiB", "NNCTL_MAX_INPUT_BYTES")
