"""Monitors: the best value so far of one logged quantity, and the callbacks that watch one.

`EarlyStopping` stops the loop when its monitor stops improving; `Checkpointer` saves the best
epoch's weights. Whether a larger or a smaller value is better comes from
`nnctl.training.metrics.direction`, unless the config's ``mode`` says.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from nnctl.training.callbacks import Callback, Logs
from nnctl.training.metrics import Direction, direction


def monitor_mode(monitor: str, mode: str) -> Direction:
    """``mode`` when it is ``min`` or ``max``; for ``auto``, the direction of ``monitor``."""
    if mode in ("min", "max"):
        return mode  # type: ignore[return-value]
    return direction(monitor)


class Monitor:
    """The best value so far of one logged quantity, improved by more than ``min_delta``."""

    def __init__(self, monitor: str, mode: str = "auto", min_delta: float = 0.0) -> None:
        self.monitor = monitor
        self.mode = monitor_mode(monitor, mode)
        self.min_delta = min_delta
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None

    def improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def update(self, epoch: int, logs: Mapping[str, Any]) -> bool:
        """Record ``logs[monitor]`` of ``epoch``; true when it is a new best."""
        value = float(logs[self.monitor])
        if not self.improved(value):
            return False
        self.record(epoch, value)
        return True

    def record(self, epoch: int, value: float) -> None:
        """Make ``value`` of ``epoch`` the best so far."""
        self.best, self.best_epoch = value, epoch

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.best = float(state["best"])
        self.best_epoch = state["best_epoch"]


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    As Keras's: ``wait`` counts the epochs since the last improvement, and training stops at the
    end of the epoch where ``wait >= patience`` (``patience: 0`` stops at the first epoch that does
    not improve).

    With ``restore_best_weights`` the network gets back the weights of its best epoch at the end
    (as Keras's ``EarlyStopping``), whether training stopped early or ran all its epochs.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 10,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = True,
    ) -> None:
        self.tracker = Monitor(monitor, mode, min_delta)
        self.patience = patience
        self.restore_best_weights = restore_best_weights
        self.wait = 0
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, np.ndarray] | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        if self.tracker.update(epoch, logs):
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = self.trainer.network.state_dict()
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            epochs = f"{self.wait} epoch{'s' if self.wait != 1 else ''}"
            self.trainer.stop(
                f"early stopping: {self.tracker.monitor} did not improve for {epochs}"
            )

    def on_train_end(self, logs: Logs) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            self.trainer.network.load_state_dict(self.best_weights)

    def state_dict(self) -> dict[str, Any]:
        return {**self.tracker.state_dict(), "wait": self.wait}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.tracker.load_state_dict(state)
        self.wait = int(state["wait"])


class Checkpointer(Callback):
    """Writes ``best.npz`` when ``monitor`` improves, then ``last.npz`` after every epoch.

    ``save`` is called as ``save(kind, epoch)`` with kind ``"best"`` or ``"last"``; the run module
    supplies it, so this class knows when to save and the run knows what and where. The tracker's
    best epoch moves only once ``best.npz`` holds it: a failed write (a full disk) leaves it on
    the epoch the file still has.
    """

    def __init__(self, save: Callable[[str, int], None], monitor: str, mode: str = "auto") -> None:
        self.save = save
        self.tracker = Monitor(monitor, mode)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        value = float(logs[self.tracker.monitor])
        if self.tracker.improved(value):
            self.save("best", epoch)
            self.tracker.record(epoch, value)
        self.save("last", epoch)

    def state_dict(self) -> dict[str, Any]:
        return self.tracker.state_dict()

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        self.tracker.load_state_dict(state)
