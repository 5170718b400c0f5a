"""Cost of the Rich progress display during training: target under 3% of the training time.

Trains the same network on the same data with and without `TrainingProgress` (live mode, drawing
to a terminal console whose output is discarded), alternating runs of 4 epochs of each, and
reports the median epoch time of each and their ratio. Small batches make the most progress
callbacks per second; large ones the shortest epochs.

Run: python benchmarks/bench_progress.py [--rounds 6] [--batch-size 32]
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from machine import describe
from rich.console import Console

from nnctl.cli.render import TrainingProgress
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.training.trainer import Split, Trainer


class TimedProgress(TrainingProgress):
    """`TrainingProgress` that adds up the wall time spent in its own hooks."""

    inside = 0.0

    def _timed(self, hook: Callable[..., None], *args: object) -> None:
        start = time.perf_counter()
        hook(*args)
        TimedProgress.inside += time.perf_counter() - start

    def on_train_begin(self, trainer: Trainer) -> None:
        self._timed(super().on_train_begin, trainer)

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any]) -> None:
        self._timed(super().on_epoch_begin, epoch, logs)

    def on_batch_end(self, batch: int, logs: dict[str, Any]) -> None:
        self._timed(super().on_batch_end, batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
        self._timed(super().on_epoch_end, epoch, logs)

    def on_train_end(self, logs: dict[str, Any]) -> None:
        self._timed(super().on_train_end, logs)


def epoch_seconds(
    with_progress: bool, split: Split, batch_size: int, seed: int, epochs: int = 4
) -> float:
    """Seconds per epoch of a run of ``epochs`` epochs, with or without the live display."""
    rng = np.random.default_rng(seed)
    layers = [
        {"units": 256, "activation": "relu"},
        {"units": 128, "activation": "relu"},
        {"units": 10, "activation": "softmax"},
    ]
    network = Network.build(
        n_inputs=split.X.shape[1],
        layers=layers,
        loss=get_loss("categorical_crossentropy"),
        rng=rng,
        dtype=np.dtype(np.float32),
    )
    network.attach_optimizer(get_optimizer("adam", learning_rate=1e-3))
    callbacks = []
    if with_progress:
        console = Console(file=io.StringIO(), force_terminal=True, width=120)
        callbacks.append(TimedProgress(epochs, ["accuracy"], console=console))
    trainer = Trainer(
        network,
        split,
        None,
        task="classification",
        metrics=["accuracy"],
        epochs=epochs,
        batch_size=batch_size,
        shuffle=True,
        schedule=get_schedule("constant", base_lr=1e-3),
        rng=rng,
        n_classes=10,
        callbacks=callbacks,
    )
    start = time.perf_counter()
    trainer.fit()
    return (time.perf_counter() - start) / epochs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--samples", type=int, default=20_000)
    args = parser.parse_args()
    print(describe(), flush=True)
    rng = np.random.default_rng(0)
    X = rng.random((args.samples, 784), dtype=np.float32)
    split = Split(X=X, y=rng.integers(0, 10, args.samples))
    epoch_seconds(False, split, args.batch_size, 0, epochs=1)  # warm-up
    plain, shown = [], []
    for i in range(args.rounds):
        plain.append(epoch_seconds(False, split, args.batch_size, i))
        shown.append(epoch_seconds(True, split, args.batch_size, i))
    a, b = statistics.median(plain), statistics.median(shown)
    print(f"samples {args.samples}, batch {args.batch_size}, {args.rounds} runs of 4 epochs each")
    print(f"without progress: {a:.3f} s/epoch (median)")
    print(f"with progress:    {b:.3f} s/epoch (median)")
    print(f"overhead:         {100 * (b / a - 1):+.1f}% (noisy on a shared machine)")
    inside = TimedProgress.inside / (4 * args.rounds)
    print(f"inside the display's hooks: {1000 * inside:.1f} ms/epoch = {100 * inside / b:.2f}%")


if __name__ == "__main__":
    main()
