"""Helpers of the sweep tests: a small sweep file on the shipped iris data, nnctl in a process."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import time
from pathlib import Path

from helpers import CONFIGS, ROOT

from nnctl.store.metrics import read_metrics


def sweep_file(
    folder: Path,
    *,
    name: str = "s",
    method: str = "random",
    trials: int = 4,
    epochs: int = 5,
    pruner: str = "none",
    parameters: str = "",
) -> Path:
    """A sweep file over configs/iris.yaml in ``folder``."""
    params = parameters or (
        "  optimizer.learning_rate: {low: 1.0e-3, high: 0.1, log: true}\n"
        "  model.layers.0.units: {values: [4, 8, 16]}\n"
    )
    path = folder / f"{name}.yaml"
    path.write_text(
        f"base: {CONFIGS / 'iris.yaml'}\n"
        f"set: {{training.epochs: {epochs}, training.early_stopping: null}}\n"
        "objective: {metric: val_accuracy, goal: max, value: best}\n"
        f"method: {method}\ntrials: {trials}\nseed: 0\n"
        f"pruner: {{name: {pruner}, warmup_epochs: 2}}\n"
        f"parameters:\n{params}",
        encoding="utf-8",
    )
    return path


def nnctl_argv(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "nnctl", *map(str, args)]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "NNCTL_DEBUG": ""}


def run(*args: str | Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``nnctl ARGS`` in a subprocess, stdout and stderr captured apart."""
    return subprocess.run(
        nnctl_argv(*args), capture_output=True, text=True, timeout=timeout, env=env(), check=False
    )


def trials_csv(folder: Path) -> list[dict[str, str]]:
    with (folder / "trials.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def wait_for_epochs(process: subprocess.Popen[str], pattern: Path, epochs: int) -> Path:
    """Wait (a minute at most) until a run matching ``pattern`` has ``epochs`` rows."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        for found in pattern.parent.glob(f"{pattern.name}/metrics.csv"):
            if len(read_metrics(found)) >= epochs:
                return found.parent
        time.sleep(0.01)
    process.kill()
    raise AssertionError(f"no run with {epochs} epochs in time: {process.communicate()!r}")


def without_seconds(run: Path) -> list[dict[str, str]]:
    """metrics.csv without its wall-clock column."""
    return [
        {k: v for k, v in row.items() if k != "seconds"}
        for row in read_metrics(run / "metrics.csv")
    ]
