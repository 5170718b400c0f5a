"""``layer_stats.csv`` in a real run: its shape, resume byte for byte, turned off, no RNG drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from nnctl.cli import app
from nnctl.config.loader import load_config
from nnctl.errors import Interrupted
from nnctl.store.layer_stats import LAYER_STATS_COLUMNS
from nnctl.store.metrics import read_metrics
from nnctl.workflows.resume import resolve_config
from nnctl.workflows.train import train_run
from tests.helpers import CONFIGS, iris_config, run_nnctl
from tests.workflows.test_train import InterruptAfter

HEADER = (
    "epoch,layer,w_mean,w_std,w_norm,b_norm,grad_norm,update_ratio,a_mean,a_std,"
    "dead_fraction,saturated_fraction,lr"
)


def _train(config: Path, runs: Path, overrides: tuple[str, ...] = (), **kw: Any) -> Path:
    return train_run(load_config(config, list(overrides)), runs_dir=runs, **kw).path


def arrays(path: Path) -> dict[str, bytes]:
    """Every array of a checkpoint but its JSON (which holds the epochs' wall times)."""
    with np.load(path, allow_pickle=False) as npz:
        return {key: npz[key].tobytes() for key in npz.files if key != "__nnctl__"}


def test_one_row_per_epoch_and_layer_from_epoch_0(tmp_path: Path) -> None:
    run = _train(iris_config(tmp_path, epochs=3), tmp_path / "runs")
    text = (run / "layer_stats.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == HEADER == ",".join(LAYER_STATS_COLUMNS)
    rows = read_metrics(run / "layer_stats.csv")
    assert [(r["epoch"], r["layer"]) for r in rows] == [
        (str(e), str(i)) for e in range(4) for i in (0, 1)
    ]
    start, later = rows[0], rows[2]
    assert (start["update_ratio"], start["lr"]) == ("", "")
    assert start["b_norm"] == "0"  # biases start at zero
    assert later["lr"] == "0.01" and float(later["update_ratio"]) > 0
    assert start["dead_fraction"] != "" and start["saturated_fraction"] == ""  # relu
    assert rows[1]["dead_fraction"] == rows[1]["saturated_fraction"] == ""  # softmax
    assert float(rows[1]["a_mean"]) == pytest.approx(1 / 3)  # probabilities of 3 classes


@pytest.mark.parametrize("overrides", [(), ("data.validation_split=0",)])
def test_a_resumed_run_writes_the_same_bytes(tmp_path: Path, overrides: tuple[str, ...]) -> None:
    config = iris_config(tmp_path, epochs=6)
    whole = _train(config, tmp_path / "whole", overrides)
    with pytest.raises(Interrupted):
        _train(config, tmp_path / "parts", overrides, progress=InterruptAfter(3))
    (run,) = (tmp_path / "parts").iterdir()
    assert len(read_metrics(run / "layer_stats.csv")) == 4 * 2
    train_run(resolve_config(None, [], run), resume=run)
    expected = (whole / "layer_stats.csv").read_bytes()
    assert (run / "layer_stats.csv").read_bytes() == expected
    assert len(expected.splitlines()) == 1 + 7 * 2


def test_a_resume_drops_rows_past_the_checkpoint(tmp_path: Path) -> None:
    """Killed between an epoch's rows and its checkpoint: the rows are written again, the same."""
    config = iris_config(tmp_path, epochs=5)
    whole = _train(config, tmp_path / "whole")
    with pytest.raises(Interrupted):
        _train(config, tmp_path / "parts", progress=InterruptAfter(2))
    (run,) = (tmp_path / "parts").iterdir()
    stats = run / "layer_stats.csv"
    stats.write_text(stats.read_text() + "3,0,9,9,9,9,9,9,9,9,,,9\n3,1,9,9,9,9,9,9,9,9,,,9\n")
    train_run(resolve_config(None, [], run), resume=run)
    assert stats.read_bytes() == (whole / "layer_stats.csv").read_bytes()


def test_layer_stats_false_writes_no_file_and_the_same_checkpoints(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=4)
    on = _train(config, tmp_path / "on")
    off = _train(config, tmp_path / "off", ("diagnostics.layer_stats=false",))
    assert not (off / "layer_stats.csv").exists()
    assert "layer_stats: false" in (off / "config.yaml").read_text()
    for name in ("last.npz", "best.npz"):  # dropout on: the probe drew nothing from training
        assert arrays(on / "checkpoints" / name) == arrays(off / "checkpoints" / name)


def test_the_shipped_iris_config_trains_the_same_weights_with_and_without(
    tmp_path: Path, runner: CliRunner
) -> None:
    runs = []
    for value in ("true", "false"):
        args = ["train", str(CONFIGS / "iris.yaml"), "--runs-dir", str(tmp_path / value)]
        args += ["--set", f"diagnostics.layer_stats={value}", "--set", "training.epochs=5"]
        result = runner.invoke(app, [*args, "--quiet"])
        assert result.exit_code == 0, result.stderr
        runs.append(Path(result.stdout.strip()))
    assert arrays(runs[0] / "checkpoints/last.npz") == arrays(runs[1] / "checkpoints/last.npz")
    assert (runs[0] / "layer_stats.csv").exists() and not (runs[1] / "layer_stats.csv").exists()


def test_a_wrong_value_names_the_key(tmp_path: Path, runner: CliRunner) -> None:
    config = iris_config(tmp_path, epochs=1, extra="diagnostics: {layer_stats: maybe}")
    result = runner.invoke(app, ["train", str(config), "--runs-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "diagnostics.layer_stats" in result.stderr


def test_the_real_command_writes_it(tmp_path: Path) -> None:
    config = iris_config(tmp_path, epochs=2)
    result = run_nnctl("train", config, "--runs-dir", tmp_path / "runs", "--quiet")
    assert result.returncode == 0, result.stderr
    lines = (Path(result.stdout.strip()) / "layer_stats.csv").read_text().splitlines()
    assert lines[0] == HEADER and len(lines) == 1 + 3 * 2
