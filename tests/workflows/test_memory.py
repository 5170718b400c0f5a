"""The memory check counts a batch as training holds it: at most the training rows."""

from __future__ import annotations

from pathlib import Path

from nnctl.config.loader import load_config
from nnctl.workflows.memory import network_memory_problem, training_bytes
from tests.helpers import iris_config, run_nnctl

HUGE_BATCH = "training.batch_size=1000000000000"


def test_a_batch_size_beyond_the_rows_trains_and_validates(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=1)
    for command in (["validate", config], ["validate", config, "--no-data"]):
        result = run_nnctl(*command, "--set", HUGE_BATCH)
        assert result.returncode == 0, result.stderr
    result = run_nnctl("train", config, "--set", HUGE_BATCH, "--quiet", "--runs-dir", tmp_path)
    assert result.returncode == 0, result.stderr
    assert "internal error" not in result.stderr


def test_the_batch_counts_at_most_the_training_rows(tmp_path: Path) -> None:
    cfg = load_config(iris_config(tmp_path), [HUGE_BATCH])
    assert training_bytes(cfg, 4, 120) == training_bytes(
        load_config(iris_config(tmp_path), ["training.batch_size=120"]), 4
    )


def test_a_batch_too_big_is_blamed_on_the_batch_size(tmp_path: Path) -> None:
    cfg = load_config(
        iris_config(tmp_path),
        ["model.layers.0.units=100000", "training.batch_size=100000"],
    )
    one_row = training_bytes(cfg, 4, 1)[0]
    problem = network_memory_problem(cfg, 4, available=one_row * 2, n_rows=200000)
    assert problem is not None and problem.startswith(
        "training.batch_size: a batch of 100,000 rows through 100,003 units;"
    )
    units = network_memory_problem(cfg, 4, available=one_row // 2, n_rows=200000)
    assert units is not None and units.startswith("model.layers[0].units: 100000 units on 4")
