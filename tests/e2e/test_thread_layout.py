"""A run gives the same bytes whatever the thread layout: two cores, one core, one BLAS thread.

`OPENBLAS_NUM_THREADS=1` (the README's way to keep training to one core) and a machine with one
core once changed a wide network's trained weights: without a helper thread the step took other
pieces, and a BLAS on two threads splits a product in a way that changes its last bits.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from nnctl import _platform
from nnctl.nn.fast.planner import ALL
from tests.helpers import CONFIGS, nnctl_executable, weights

# 64 pixels x 1100 units + 1100 x 10: past SPLIT_MIN_SIZE, so the step is shared between threads.
WIDE = ["--set", "model.layers.0.units=1100", "--set", "training.epochs=2"]


def _train(
    tmp_path: Path, name: str, batch: int, env: dict[str, str], prefix: tuple[str, ...] = ()
) -> Path:
    command = [*prefix, *nnctl_executable(), "train", str(CONFIGS / "digits.yaml"), *WIDE,
               "--set", f"training.batch_size={batch}", "--runs-dir", str(tmp_path / name),
               "--quiet"]  # fmt: skip
    done = subprocess.run(
        command, env={**os.environ, **env}, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return Path(done.stdout.strip())


def _records(run: Path) -> tuple[dict[str, bytes], str, dict[str, object]]:
    summary = json.loads((run / "summary.json").read_text())
    summary.pop("checkpoint")
    return weights(run / "checkpoints" / "last.npz"), (run / "metrics.csv").read_text(), summary


@pytest.mark.parametrize("batch", [32, 200])
def test_one_blas_thread_trains_the_same_bytes_as_two_cores(tmp_path: Path, batch: int) -> None:
    assert _platform.n_cores() >= 2, "this machine must have two cores to compare layouts"
    two = _records(_train(tmp_path, "two", batch, {}))
    one = _records(_train(tmp_path, "one", batch, {"OPENBLAS_NUM_THREADS": "1"}))
    pinned = _records(_train(tmp_path, "pinned", batch, {}, ("taskset", "-c", "0")))
    assert one[0] == two[0]  # the weights
    assert pinned[0] == two[0]
    metrics = [[line.rsplit(",", 1)[0] for line in r[1].splitlines()] for r in (two, one, pinned)]
    assert metrics[0] == metrics[1] == metrics[2]  # every value but the seconds
    assert one[2] == two[2] == pinned[2]  # test metrics


def test_the_pieces_of_a_step_do_not_depend_on_the_helper() -> None:
    """In process: the same network stepped with and without a helper thread, same bytes."""
    from nnctl.nn.losses import get_loss
    from nnctl.nn.network import Network
    from nnctl.nn.optim.optimizers import get_optimizer

    rng = np.random.default_rng(0)
    X, y = rng.random((300, 300), dtype=np.float32), rng.integers(0, 10, 300)
    results = []
    for helper in (True, False):
        layers = [{"units": 256, "activation": "relu", "dropout": 0.1},
                  {"units": 10, "activation": "softmax"}]  # fmt: skip
        net = Network.build(300, layers, get_loss("categorical_crossentropy"),
                            np.random.default_rng(0), np.float32)  # fmt: skip
        if not helper:
            net.fast.helper = None
        net.fast.planner.fixed = ALL  # the helper at every site where it is there
        net.attach_optimizer(get_optimizer("adam"))
        with _platform.one_blas_thread():
            for start, size in ((0, 200), (200, 64), (0, 100), (100, 200)):
                net.train_step(X[start : start + size], y[start : start + size])
        results.append(net.params.data.tobytes())
    assert results[0] == results[1]
