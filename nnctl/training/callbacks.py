"""Callbacks: what happens around the training loop, kept out of it.

`fit` calls every callback at the same points, as Keras does: ``on_train_begin``,
``on_epoch_begin(epoch, logs)``, ``on_batch_end(batch, logs)``, ``on_validation_batch_end(batch,
logs)`` (Keras's ``on_test_batch_end``), ``on_epoch_end(epoch, logs)`` and ``on_train_end(logs)``.
``epoch`` is 1-based, as people count epochs. The ``logs`` of an epoch hold ``loss``, the
configured metrics, their ``val_`` versions, ``lr`` and, once the metrics writer has run,
``seconds``. A callback that must survive a resume has ``state_dict``/``load_state_dict``.
The callbacks that watch a monitored value (early stopping, the checkpointer) are in
`nnctl.training.monitors`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from nnctl.training.trainer import Logs as Logs  # the callbacks' half of the hooks' signature
from nnctl.training.trainer import Trainer


class Callback:
    """Base class: every hook does nothing (it meets `nnctl.training.trainer.Hooks`)."""

    trainer: Trainer

    def on_train_begin(self, trainer: Trainer) -> None:
        self.trainer = trainer

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        pass

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        pass

    def on_validation_batch_end(self, batch: int, logs: Logs) -> None:
        """After each batch of an epoch's validation pass (``logs``: its rows ``start``,
        ``stop``); the network's layers hold that batch's activations (``layer.output``)."""

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        pass

    def on_train_end(self, logs: Logs) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass


class MetricsRows(Protocol):
    """Where `MetricsWriter` puts each epoch's row: the run's ``metrics.csv``, in a workflow."""

    def append(self, row: Mapping[str, Any]) -> None: ...


class MetricsWriter(Callback):
    """Appends one row per epoch to ``metrics.csv``; ``seconds`` is the whole epoch so far.

    Put it after the checkpointer so that ``seconds`` counts the checkpoint writes the user waits
    for, as the epoch's wall time from its first batch.
    """

    def __init__(self, metrics_file: MetricsRows) -> None:
        self.file = metrics_file

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        logs["seconds"] = time.perf_counter() - self.trainer.epoch_started
        self.file.append(csv_row(epoch, logs))


def csv_row(epoch: int, logs: Mapping[str, Any]) -> dict[str, Any]:
    """An epoch's logs as a ``metrics.csv`` row: ``loss`` -> ``train_loss``, ``val_*`` as it is."""
    row: dict[str, Any] = {"epoch": epoch}
    for key, value in logs.items():
        if key in ("lr", "seconds") or key.startswith("val_"):
            row[key] = value
        elif not key.startswith("_"):
            row[f"train_{key}"] = value
    return row


def metrics_columns(metric_names: Sequence[str], has_validation: bool) -> list[str]:
    """The header of ``metrics.csv``: epoch, train_loss, val_loss, train_*, val_*, lr, seconds."""
    columns = ["epoch", "train_loss"]
    if has_validation:
        columns.append("val_loss")
    columns += [f"train_{name}" for name in metric_names]
    if has_validation:
        columns += [f"val_{name}" for name in metric_names]
    return [*columns, "lr", "seconds"]
