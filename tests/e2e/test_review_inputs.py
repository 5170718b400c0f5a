"""Review of the inputs work: siblings of the hostile cases that still ended badly.

Unreadable files are made with chmod 000 and the command runs without the capabilities that
bypass file modes (`tests.e2e.test_hostile_files._unprivileged`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest

from tests.e2e.test_hostile_files import _failed, _run, _unprivileged
from tests.helpers import iris_config, run_nnctl, write_config


@pytest.fixture()
def iris_run(tmp_path: Path) -> Path:
    result = run_nnctl("train", iris_config(tmp_path, epochs=2), "--quiet", "--runs-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip())


def _digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_resume_with_an_unreadable_checkpoints_folder_is_exit_3(iris_run: Path) -> None:
    prefix = _unprivileged()
    checkpoints = iris_run / "checkpoints"
    before = _digests(checkpoints)
    checkpoints.chmod(0)
    try:
        result = _run("train", "--resume", iris_run, prefix=prefix)
    finally:
        checkpoints.chmod(0o755)
    _failed(result, 3, "checkpoints/last.npz: permission denied")
    assert _digests(checkpoints) == before
    assert json.loads((iris_run / "run.json").read_text())["epochs_done"] == 2


def test_predict_and_evaluate_refuse_a_repeated_column_name_as_train_does(
    iris_run: Path, tmp_path: Path
) -> None:
    lines = (Path(__file__).parents[2] / "datasets" / "iris.csv").read_text().splitlines()
    repeated = "sepal_length,sepal_length,petal_length,petal_width,species"
    data = tmp_path / "repeated.csv"
    data.write_text("\n".join([repeated, *lines[1:]]) + "\n")
    message = "the header repeats column names: sepal_length"
    _failed(run_nnctl("predict", iris_run, data), 3, f"{data}: {message}")
    _failed(run_nnctl("predict", iris_run, "-", stdin=data.read_text()), 3, f"<stdin>: {message}")
    _failed(run_nnctl("evaluate", iris_run, "--data", data), 3, message)


def _idx_config(folder: Path, images: bytes, compress: bool) -> Path:
    n_images = 30
    labels = struct.pack(">HBBI", 0, 8, 1, n_images) + bytes(i % 3 for i in range(n_images))
    name = "images.idx" + (".gz" if compress else "")
    (folder / name).write_bytes(gzip.compress(images, mtime=0) if compress else images)
    (folder / "labels.idx").write_bytes(labels)
    return write_config(
        folder,
        f"""
version: 1
data: {{train: {name}, train_labels: labels.idx}}
model: {{layers: [{{units: 3, activation: softmax}}]}}
loss: categorical_crossentropy
training: {{epochs: 1}}
""",
    )


@pytest.mark.parametrize(
    ("claimed", "extra", "compress", "message"),
    [
        (10**9, 0, True, "truncated IDX file: the header promises 64000000000 bytes"),
        (10**9, 0, False, "truncated IDX file: the header promises 64000000000 bytes"),
        (30, 5, False, "5 unexpected bytes after the IDX data, from byte offset 1936"),
    ],
)
def test_validate_checks_an_idx_header_claim_as_train_does(
    tmp_path: Path, claimed: int, extra: int, compress: bool, message: str
) -> None:
    header = struct.pack(">HBBIII", 0, 8, 3, claimed, 8, 8)
    config = _idx_config(tmp_path, header + bytes(30 * 64 + extra), compress)
    _failed(run_nnctl("validate", config), 3, message)
    _failed(run_nnctl("train", config, "--runs-dir", tmp_path / "runs"), 3, message)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


@pytest.mark.parametrize("dtype", ["complex64", "<U3"])
def test_a_checkpoint_whose_weights_are_not_real_numbers_is_refused(
    iris_run: Path, tmp_path: Path, dtype: str
) -> None:
    source = iris_run / "checkpoints" / "best.npz"
    damaged = tmp_path / "damaged.npz"
    with np.load(source, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    arrays["weights/layers.0.W"] = arrays["weights/layers.0.W"].astype(dtype)
    np.savez(damaged, **arrays)
    before = damaged.read_bytes()
    message = f"parameter 'layers.0.W' holds {np.dtype(dtype)} values; expected real numbers"
    features = Path(__file__).parents[2] / "datasets" / "iris.csv"
    _failed(run_nnctl("predict", damaged, features), 3, f"{damaged}: ", message)
    _failed(run_nnctl("evaluate", damaged, "--data", features), 3, message)
    assert damaged.read_bytes() == before
