"""The cost of ``layer_stats.csv``: an epoch with and without `LayerStatsWriter`.

Workload (MNIST-sized, as ``bench_engine.py``): 60,000 x 784 float32 inputs uniform in [0, 1),
random labels of 10 classes, 54,000 rows to train on and 6,000 for validation (``validation_split:
0.1`` as in the mnist and digits configs); 784-256-128-10 relu/softmax, categorical cross-entropy,
Adam (lr 1e-3), shuffled mini-batches, through `Trainer` as ``nnctl train`` runs it (validation
pass included). Two trainers with the same network take turns, one epoch each per round, in
alternating order, after a warm-up epoch each; one writes ``layer_stats.csv`` to a temporary
folder. The table gives the best and the median epoch of each, the median over rounds of each
round's ratio (with / without), and the time spent in the writer's own hooks per epoch (measured
around them, so not subject to the noise between two epochs) as a share of the epoch.

Run::

    python benchmarks/bench_layer_stats.py [--batch-sizes 32 128] [--repeat 5] [--samples 60000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from machine import describe

from nnctl.inspection.layer_stats import LayerStatsWriter, probe_split
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.store.layer_stats import layer_stats_file
from nnctl.training.callbacks import Callback, Logs
from nnctl.training.split import Split
from nnctl.training.trainer import Trainer

LAYERS = [(256, "relu"), (128, "relu"), (10, "softmax")]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--samples", type=int, default=60_000)
    parser.add_argument("--repeat", type=int, default=5, help="timed rounds after the warm-up")
    return parser.parse_args()


class Timed(LayerStatsWriter):
    """`LayerStatsWriter` that adds up the seconds spent in its per-epoch hooks."""

    seconds = 0.0

    def _timed(self, hook: Callable[[int, Logs], None], number: int, logs: Logs) -> None:
        start = time.perf_counter()
        hook(number, logs)
        Timed.seconds += time.perf_counter() - start

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        self._timed(super().on_epoch_begin, epoch, logs)

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        self._timed(super().on_batch_end, batch, logs)

    def on_validation_batch_end(self, batch: int, logs: Logs) -> None:
        self._timed(super().on_validation_batch_end, batch, logs)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self._timed(super().on_epoch_end, epoch, logs)


def make_splits(n: int) -> tuple[Split, Split]:
    rng = np.random.default_rng(0)
    X = rng.random((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n)
    cut = n - n // 10
    return Split(X[:cut], y[:cut]), Split(X[cut:], y[cut:])


def trainer(train: Split, val: Split, batch: int, callbacks: list[Callback]) -> Trainer:
    specs = [{"units": u, "activation": a} for u, a in LAYERS]
    net = Network.build(784, specs, get_loss("categorical_crossentropy"), np.random.default_rng(0))
    net.attach_optimizer(get_optimizer("adam", learning_rate=1e-3))
    return Trainer(net, train, val, task="classification", metrics=["accuracy"], epochs=0,
                   batch_size=batch, shuffle=True, schedule=get_schedule("constant", base_lr=1e-3,
                   epochs=1000), rng=np.random.default_rng(1), n_classes=10,
                   callbacks=callbacks)  # fmt: skip


def epoch_of(t: Trainer) -> Callable[[], float]:
    def run() -> float:
        t.epochs, t.stop_reason = t.epochs + 1, None
        start = time.perf_counter()
        t.fit()
        return time.perf_counter() - start

    return run


def measure(train: Split, val: Split, batch: int, rounds: int, folder: Path) -> list[str]:
    writer = Timed(layer_stats_file(folder / f"layer_stats-{batch}.csv"), probe_split(train, 0))
    runs = {"without": epoch_of(trainer(train, val, batch, [])),
            "with": epoch_of(trainer(train, val, batch, [writer]))}  # fmt: skip
    for run in runs.values():
        run()  # warm-up (and, with the writer, epoch 0's rows)
    Timed.seconds = 0.0
    times: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(rounds):
        for name in list(runs) if r % 2 == 0 else list(runs)[::-1]:
            times[name].append(runs[name]())
    ratio = statistics.median(w / wo for w, wo in zip(times["with"], times["without"], strict=True))
    hooks = Timed.seconds / rounds
    cells = [f"{min(v):.3f} [{statistics.median(v):.3f}]" for v in times.values()]
    share = hooks / statistics.median(times["with"])
    return [
        str(batch),
        *cells,
        f"{(ratio - 1) * 100:+.1f}%",
        f"{hooks * 1e3:.1f} ms",
        f"{share:.2%}",
    ]


def main() -> None:
    args = parse_args()
    print(describe())
    train, val = make_splits(args.samples)
    print(f"\n{len(train.X)} training rows, {len(val.X)} validation rows, 784-256-128-10, "
          f"{args.repeat} rounds\n")  # fmt: skip
    header = ["batch", "without s [median]", "with s [median]", "median ratio - 1",
              "writer's hooks / epoch", "share of epoch"]  # fmt: skip
    print(" | ".join(header), flush=True)
    with tempfile.TemporaryDirectory() as folder:
        for batch in args.batch_sizes:
            print(" | ".join(measure(train, val, batch, args.repeat, Path(folder))), flush=True)
    return None


if __name__ == "__main__":
    sys.exit(main())
