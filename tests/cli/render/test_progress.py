"""What a person sees of training: a live display in a terminal, plain lines in a pipe."""

from __future__ import annotations

import io

import numpy as np
from rich.console import Console

from nnctl.cli.render import TrainingProgress
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.training.trainer import Split, Trainer


def _train_with(console: Console, epochs: int = 3) -> str:
    rng = np.random.default_rng(0)
    X = rng.random((64, 5)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    network = Network.build(
        n_inputs=5,
        layers=[{"units": 4, "activation": "relu"}, {"units": 3, "activation": "softmax"}],
        loss=get_loss("categorical_crossentropy"),
        rng=rng,
        dtype=np.dtype(np.float32),
    )
    network.attach_optimizer(get_optimizer("adam", learning_rate=0.01))
    progress = TrainingProgress(epochs, ["accuracy"], console=console)
    Trainer(
        network,
        Split(X, y),
        Split(X[:16], y[:16]),
        task="classification",
        metrics=["accuracy"],
        epochs=epochs,
        batch_size=8,
        shuffle=True,
        schedule=get_schedule("constant", base_lr=0.01),
        rng=rng,
        n_classes=3,
        callbacks=[progress],
    ).fit()
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue()


def test_a_pipe_gets_one_plain_line_per_epoch() -> None:
    out = _train_with(Console(file=io.StringIO(), force_terminal=False, width=40))
    lines = out.splitlines()
    assert len(lines) == 3
    assert "\x1b[" not in out
    for epoch, line in enumerate(lines, start=1):
        assert line.startswith(f"epoch {epoch}/3  loss ")
        assert "val_loss" in line and "val_accuracy" in line and " lr 0.01 " in line


def test_a_terminal_gets_a_table_row_per_epoch() -> None:
    out = _train_with(Console(file=io.StringIO(), force_terminal=True, width=120))
    assert "\x1b[" in out  # a live display: cursor movement and style
    header = next(line for line in out.splitlines() if "val_accuracy" in line)
    for name in ("epoch", "loss", "accuracy", "val_loss", "lr", "seconds"):
        assert name in header
    for epoch in (1, 2, 3):
        assert f"{epoch}/3" in out
