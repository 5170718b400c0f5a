"""The training loop: mini-batch gradient descent over epochs. It prints nothing; it reports.

One epoch::

    lr = schedule.lr(epoch)
    for each shuffled mini-batch (X_b, y_b):
        loss_b, output_b = network.train_step(X_b, y_b, learning_rate=lr)  # forward, backward, step
        add loss_b and the metrics of output_b to the epoch's running totals
    evaluate the validation split; hand the epoch's logs to the schedule and the callbacks

Training metrics come from the batches' own forward passes (with dropout, as Keras reports them),
never from an extra pass over the data. Everything random comes from generators seeded by the
config's ``seed``, and their states are part of `Trainer.state_dict`, so a run resumed from a
checkpoint continues bit for bit as if it had never stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nnctl._platform import one_blas_thread
from nnctl.errors import Interrupted
from nnctl.training.boundary import engine_errors
from nnctl.training.metrics import MetricAccumulator, Task, loss_scale
from nnctl.training.split import Split

if TYPE_CHECKING:
    from nnctl.nn.network import Network
    from nnctl.nn.optim.optimizers import Optimizer
    from nnctl.nn.optim.schedules import Schedule

Logs = dict[str, Any]


class Hooks(Protocol):
    """What the loop calls on each of its callbacks (`nnctl.training.callbacks.Callback`).

    The callbacks know the trainer, the trainer knows only these hooks: so the two modules do
    not import each other.
    """

    def on_train_begin(self, trainer: Trainer) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None: ...

    def on_batch_end(self, batch: int, logs: Logs) -> None: ...

    def on_validation_batch_end(self, batch: int, logs: Logs) -> None: ...

    def on_epoch_end(self, epoch: int, logs: Logs) -> None: ...

    def on_train_end(self, logs: Logs) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...


class Trainer:
    """Holds what one training run needs and runs its epochs.

    Parameters
    ----------
    network : Network
        The network, with its optimizer attached.
    train, validation : Split
        Training data and optional validation data.
    task : {"classification", "binary", "regression"}
    metrics : sequence of str
        Metric names to log (``accuracy``, ``mse``, ...); ``loss`` is always logged.
    epochs, batch_size : int
    shuffle : bool
        Draw a new order of the training samples every epoch.
    schedule : Schedule
        Gives the learning rate of each epoch.
    rng : numpy.random.Generator
        The shuffling generator.
    n_classes : int
        For classification metrics (2 for binary).
    target_scale : float
        Regression targets are standardized; metrics are reported in original units.
    callbacks : sequence of Hooks
        Called in order at each point of the loop (`nnctl.training.callbacks`).

    Notes
    -----
    The optimizer minimizes the loss of the standardized target; every logged ``loss`` and
    ``val_loss`` is that loss times `loss_scale` (``std**2`` for mse), in the target's units
    beside the metrics. A positive factor changes no comparison between epochs, so early
    stopping and checkpoints pick the same epochs; their ``min_delta`` is in the logged units.
    """

    def __init__(
        self,
        network: Network,
        train: Split,
        validation: Split | None,
        *,
        task: Task,
        metrics: Sequence[str],
        epochs: int,
        batch_size: int,
        shuffle: bool,
        schedule: Schedule,
        rng: np.random.Generator,
        n_classes: int = 2,
        target_scale: float = 1.0,
        callbacks: Sequence[Hooks] = (),
    ) -> None:
        self.network = network
        self.train_split = train
        self.validation = validation
        self.task = task
        self.metrics = list(metrics)
        self.epochs = epochs
        self.batch_size = min(batch_size, len(train.X))
        self.shuffle = shuffle
        self.schedule = schedule
        self.rng = rng
        self.callbacks = list(callbacks)
        self.accumulator = MetricAccumulator(task, n_classes, target_scale)
        self.loss_scale = loss_scale(network.loss.name, target_scale)
        self.epoch = 0  # epochs completed
        self.history: list[dict[str, Any]] = []
        self.stop_reason: str | None = None
        self.interrupt_requested = False
        self.epoch_started = time.perf_counter()
        self._validation_batches = 0
        self._batch_X = np.empty((self.batch_size, train.X.shape[1]), dtype=train.X.dtype)
        self._batch_y = np.empty((self.batch_size, *train.y.shape[1:]), dtype=train.y.dtype)

    def stop(self, reason: str) -> None:
        """Ask the loop to stop after the current epoch (early stopping does)."""
        self.stop_reason = reason

    def request_interrupt(self) -> None:
        """Ask the loop to stop after the current batch (a signal handler does)."""
        self.interrupt_requested = True

    def fit(self) -> list[dict[str, Any]]:
        """Train from epoch ``self.epoch + 1`` to ``self.epochs``; return the history of logs."""
        for callback in self.callbacks:
            callback.on_train_begin(self)
        # The engine's errors (a non-finite loss; a schedule's monitor missing) are nnctl's.
        with one_blas_thread(), engine_errors():  # one_blas_thread: the same bytes on any cores
            while self.epoch < self.epochs and self.stop_reason is None:
                self._run_epoch(self.epoch + 1)
        if self.stop_reason is None:
            self.stop_reason = f"completed {self.epochs} epochs"
        final = self.history[-1] if self.history else {}
        for callback in self.callbacks:
            callback.on_train_end(final)
        return self.history

    def _run_epoch(self, epoch: int) -> Logs:
        self.epoch_started = time.perf_counter()
        lr = float(self.schedule.lr(epoch - 1))
        logs: Logs = {"lr": lr}
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch, logs)
        logs = self._train_batches(epoch, lr)
        if self.validation is not None:
            self._validation_batches = 0
            observe = self._validation_batch_end
            logs.update(self.evaluate(self.validation, prefix="val_", on_batch=observe))
        logs["lr"] = lr
        self.schedule.on_epoch_end(epoch - 1, logs)
        self.epoch = epoch  # the epoch is complete: callbacks may checkpoint it
        # So far; the metrics writer, which runs after the checkpointer, makes it the whole epoch.
        logs["seconds"] = time.perf_counter() - self.epoch_started
        self.history.append(logs)
        for callback in self.callbacks:
            callback.on_epoch_end(epoch, logs)
        return logs

    def _train_batches(self, epoch: int, lr: float) -> Logs:
        X, y = self.train_split.X, self.train_split.y
        n = len(X)
        order = self.rng.permutation(n) if self.shuffle else np.arange(n)
        self.accumulator.reset()
        total = 0.0
        batch_logs: Logs = {"epoch": epoch, "samples": 0, "total": n}
        for batch, start in enumerate(range(0, n, self.batch_size)):
            index = order[start : start + self.batch_size]
            xb, yb = self._batch_X[: len(index)], self._batch_y[: len(index)]
            # The indices are in range (a permutation); NumPy buffers `out` with mode="raise"
            # and copies it again, which doubled the gather's time at batch 512.
            self.network.take_batch(X, index, xb)
            np.take(y, index, axis=0, out=yb, mode="clip")
            loss, output = self.network.train_step(xb, yb, learning_rate=lr)
            self.accumulator.update(yb, output)
            total += loss * len(index)
            batch_logs["samples"] = start + len(index)
            batch_logs["loss"] = total / batch_logs["samples"] * self.loss_scale
            for callback in self.callbacks:
                callback.on_batch_end(batch, batch_logs)
            if self.interrupt_requested:
                raise Interrupted(
                    f"interrupted during epoch {epoch}; {self.epoch} complete epochs are saved"
                )
        return {"loss": total / n * self.loss_scale, **self.accumulator.result(self.metrics)}

    def _validation_batch_end(self, start: int, stop: int) -> None:
        """Hand each callback a batch of the validation pass (the layers hold its activations)."""
        logs: Logs = {"start": start, "stop": stop}
        for callback in self.callbacks:
            callback.on_validation_batch_end(self._validation_batches, logs)
        self._validation_batches += 1

    def evaluate(
        self, split: Split, prefix: str = "", on_batch: Callable[[int, int], None] | None = None
    ) -> dict[str, float]:
        """Loss and metrics of the network on ``split`` (no dropout), keys prefixed.

        ``on_batch(start, stop)`` is called after each batch's forward pass (`Network.evaluate`).
        """
        with one_blas_thread():
            loss, output = self.network.evaluate(split.X, split.y, on_batch=on_batch)
        accumulator = MetricAccumulator(
            self.task, self.accumulator.n_classes, self.accumulator.target_scale
        )
        accumulator.update(split.y, output)
        values = {"loss": loss * self.loss_scale, **accumulator.result(self.metrics)}
        return {prefix + key: value for key, value in values.items()}

    def state_dict(self) -> tuple[dict[str, Any], dict[str, dict[str, np.ndarray]]]:
        """What a resume needs beyond the weights: JSON-able state, and groups of arrays."""
        meta = {
            "epoch": self.epoch,
            "shuffle_rng": self.rng.bit_generator.state,
            "network_rng": self.network.rng_state(),
            "schedule": self.schedule.state_dict(),
            "callbacks": {
                type(callback).__name__: callback.state_dict()
                for callback in self.callbacks
                if callback.state_dict()
            },
            "history": self.history,
        }
        arrays = {"optimizer": self._optimizer().state_dict()}
        return meta, arrays

    def load_state_dict(
        self, meta: Mapping[str, Any], arrays: Mapping[str, Mapping[str, np.ndarray]]
    ) -> None:
        """Restore what `state_dict` gave, so that training continues exactly."""
        self.epoch = int(meta["epoch"])
        self.rng.bit_generator.state = meta["shuffle_rng"]
        self.network.set_rng_state(meta["network_rng"])
        self.schedule.load_state_dict(meta["schedule"])
        states = meta["callbacks"]
        for callback in self.callbacks:
            if type(callback).__name__ in states:
                callback.load_state_dict(states[type(callback).__name__])
        self.history = list(meta["history"])
        self._optimizer().load_state_dict(arrays["optimizer"])

    def _optimizer(self) -> Optimizer:
        if self.network.optimizer is None:
            raise RuntimeError("the network has no optimizer attached")
        return self.network.optimizer
