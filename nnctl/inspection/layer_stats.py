"""Per-layer statistics of a network as it trains: what ``layer_stats.csv`` holds.

For each dense layer ``i`` (``layers.i.W`` of shape ``(n_in, units)``, ``layers.i.b`` of shape
``(units,)``) and each epoch (0 = at initialization, before any step)::

    w_mean, w_std      mean and standard deviation (ddof 0) of the entries of W
    w_norm, b_norm     ||W|| = sqrt(sum W_jk^2) (Frobenius), ||b||
    grad_norm          ||dL/dW|| on the probe rows (below), in eval mode (no dropout)
    update_ratio       ||W - W_before|| / ||W||: the epoch's last optimizer step over the weights
                       it left (empty at epoch 0); Karpathy's rule of thumb puts it near 1e-3
    a_mean, a_std      mean and standard deviation of every entry of A = f(X @ W + b), over the
                       rows and units of the validation pass (the probe rows without validation)
    dead_fraction      relu family (relu, leaky_relu, elu, gelu): the fraction of units whose
                       output is never positive over those rows (empty for other activations)
    saturated_fraction sigmoid, tanh: the fraction of units within NEAR_BOUND = 0.01 of a bound
                       (0 or 1; -1 or 1) on more than SATURATED_ROWS = 99% of the rows, i.e. whose
                       mean over rows of [|a - bound| <= 0.01] > 0.99 (empty for others: linear,
                       softmax, softplus have no saturating bound here)
    lr                 the learning rate of the epoch's steps (empty at epoch 0)

The loss ``L`` is the mean over the probe rows of the loss the optimizer minimizes (standardized
targets for regression), without weight decay. The probe is `PROBE_ROWS` training rows drawn once
from the config's seed with a generator of its own (spawn key `PROBE_STREAM`, which nothing else
uses), so that computing the statistics draws nothing from training's generators and changes no
weight: the same seed gives the same checkpoints with or without them.

The functions here are pure (a network or arrays in, numbers out); `LayerStatsWriter` is the
callback that computes them during training, reading the activations off the validation pass the
trainer already runs (`nnctl.training.callbacks.Callback.on_validation_batch_end`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from nnctl._platform import one_blas_thread
from nnctl.nn.network import Network
from nnctl.training.callbacks import Callback, Logs
from nnctl.training.split import Split
from nnctl.training.trainer import Trainer

Array = np.ndarray

PROBE_STREAM = 0x1A57  # the spawn key of the probe's random stream (the split's is 0x5B1)
PROBE_ROWS = 256
NEAR_BOUND = 0.01
SATURATED_ROWS = 0.99
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})
BOUNDS: dict[str, tuple[float, float]] = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def probe_indices(n_rows: int, seed: int, size: int = PROBE_ROWS) -> Array:
    """``min(size, n_rows)`` distinct row indices in ``[0, n_rows)``, sorted, drawn from ``seed``.

    The generator is ``default_rng(SeedSequence(seed, spawn_key=(PROBE_STREAM,)))``: its own
    stream, independent of the weights', the shuffling's, dropout's and the split's.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(PROBE_STREAM,)))
    return np.sort(rng.choice(n_rows, size=min(size, n_rows), replace=False))


def norm(array: Array) -> float:
    """``sqrt(sum(array**2))``, the Frobenius norm of a matrix.

    Summed pairwise in the array's own dtype (NumPy's ``sum``: a relative error of about
    ``log2(size) * eps``, 1e-6 for a float32 matrix of a million entries), twice as fast as
    casting every entry to float64.
    """
    return math.sqrt(float(np.square(array).sum()))


def weight_stats(W: Array, b: Array) -> dict[str, float]:
    """``w_mean``, ``w_std`` (ddof 0), ``w_norm`` of ``W`` (any shape) and ``b_norm`` of ``b``."""
    return {
        "w_mean": float(np.mean(W)),
        "w_std": float(np.std(W)),
        "w_norm": norm(W),
        "b_norm": norm(b),
    }


def update_ratio(W_before: Array, W: Array) -> float:
    """``||W - W_before|| / ||W||``: an update's size against the weights it left (nan if 0)."""
    size = norm(W)
    step = norm(W - W_before)
    return step / size if size > 0 else math.nan


def gradient_norms(network: Network, X: Array, y: Array) -> list[float]:
    """``||dL/dW||`` of each layer for the mean loss over rows ``X`` (n, n_in), targets ``y``.

    Eval mode: no dropout mask is drawn. The network's gradient buffers are overwritten (the
    next training step fills them again); its parameters are not changed.
    """
    with np.errstate(all="ignore"):
        network.loss_and_gradient(X, y, training=False)
    grads = network.gradients()
    return [norm(grads[f"layers.{i}.W"]) for i in range(len(network.layers))]


class ActivationStats:
    """Running statistics of one layer's activations ``A`` over batches of rows.

    Parameters
    ----------
    activation : str
        The layer's activation name: it decides whether ``dead_fraction`` (`RELU_FAMILY`) or
        ``saturated_fraction`` (`BOUNDS`) applies.
    units : int
        The layer's width, ``A.shape[1]``.

    Notes
    -----
    Over all ``rows`` added, with ``N = rows * units``::

        a_mean = sum(A) / N
        a_std = sqrt(sum(A**2) / N - a_mean**2)
        dead_fraction = mean_j [max_r A[r, j] <= 0]
        saturated_fraction = mean_j [mean_r [|A[r, j] - c| >= h - NEAR_BOUND] > SATURATED_ROWS]

    where ``c`` is the middle of the bounds and ``h`` half their distance (sigmoid: 0.5, 0.5;
    tanh: 0, 1), so ``|A - c| >= h - 0.01`` is "within 0.01 of a bound".
    """

    def __init__(self, activation: str, units: int) -> None:
        self.activation, self.units = activation, units
        self.reset()

    def reset(self) -> None:
        """Forget every row added."""
        self.rows, self.total, self.squares = 0, 0.0, 0.0
        self.maxima = np.full(self.units, -np.inf)
        self.near = np.zeros(self.units, dtype=np.int64)

    def add(self, A: Array) -> None:
        """Add a batch of activations ``A`` of shape ``(rows, units)``."""
        self.rows += A.shape[0]
        self.total += float(A.sum())  # pairwise within a batch, float64 across batches
        self.squares += float(np.square(A).sum())
        if self.activation in RELU_FAMILY:
            np.maximum(self.maxima, A.max(axis=0, initial=-np.inf), out=self.maxima)
        if self.activation in BOUNDS:
            low, high = BOUNDS[self.activation]
            middle, half = (low + high) / 2, (high - low) / 2
            self.near += np.count_nonzero(np.abs(A - middle) >= half - NEAR_BOUND, axis=0)

    def result(self) -> dict[str, float | None]:
        """``a_mean``, ``a_std``, ``dead_fraction``, ``saturated_fraction`` (None: no rows, or
        a fraction that does not apply to the activation)."""
        if self.rows == 0:
            return dict.fromkeys(("a_mean", "a_std", "dead_fraction", "saturated_fraction"))
        n = self.rows * self.units
        mean = self.total / n
        dead = saturated = None
        if self.activation in RELU_FAMILY:
            dead = float(np.mean(self.maxima <= 0))
        if self.activation in BOUNDS:
            saturated = float(np.mean(self.near / self.rows > SATURATED_ROWS))
        return {
            "a_mean": mean,
            "a_std": math.sqrt(max(self.squares / n - mean * mean, 0.0)),
            "dead_fraction": dead,
            "saturated_fraction": saturated,
        }


def activation_names(network: Network) -> list[str]:
    """Each layer's activation name (from its spec)."""
    return [str(layer.spec().get("activation", "linear")) for layer in network.layers]


def activation_stats(network: Network, X: Array, y: Array) -> list[dict[str, float | None]]:
    """`ActivationStats` of every layer over rows ``X`` (eval mode), in `Network.evaluate`'s
    batches; ``y`` is only for the loss that pass also computes."""
    widths = [layer.output_shape[-1] or 0 for layer in network.layers]
    stats = [ActivationStats(*pair) for pair in zip(activation_names(network), widths, strict=True)]

    def observe(start: int, stop: int) -> None:
        for layer_stats, layer in zip(stats, network.layers, strict=True):
            assert layer.output is not None
            layer_stats.add(layer.output)

    network.evaluate(X, y, on_batch=observe)
    return [s.result() for s in stats]


class StatsRows(Protocol):
    """Where `LayerStatsWriter` puts an epoch's rows: the run's ``layer_stats.csv``."""

    def extend(self, rows: Sequence[Mapping[str, Any]]) -> None: ...


def probe_split(train: Split, seed: int, size: int = PROBE_ROWS) -> Split:
    """The probe: the rows `probe_indices` picks from the training split."""
    index = probe_indices(len(train), seed, size)
    return Split(X=train.X[index], y=train.y[index])


class LayerStatsWriter(Callback):
    """Adds each epoch's rows of ``layer_stats.csv`` (and epoch 0's when training starts).

    Parameters
    ----------
    rows : StatsRows
        Where the rows go (a `nnctl.store.metrics.MetricsFile`).
    probe : Split
        The rows ``grad_norm`` is computed on (`probe_split`); also those of the activations when
        the trainer has no validation split.

    Notes
    -----
    ``W_before`` for ``update_ratio`` is a copy of the weights taken before the epoch's last step
    (after its second-to-last batch, or at the epoch's start when it has one batch): one copy an
    epoch. Activations are gathered during the trainer's validation pass; epoch 0 runs one pass
    of its own. Put this callback before the checkpointer, so that an epoch's rows are written
    before its checkpoint: a resume keeps the rows up to the checkpoint's epoch and never lacks one.
    """

    def __init__(self, rows: StatsRows, probe: Split) -> None:
        self.file, self.probe = rows, probe
        self.stats: list[ActivationStats] = []
        self.before: list[Array] = []
        self.batches = 0

    def on_train_begin(self, trainer: Trainer) -> None:
        super().on_train_begin(trainer)
        network = trainer.network
        widths = [W.shape[-1] for W in self._weights()]
        self.stats = [
            ActivationStats(*pair) for pair in zip(activation_names(network), widths, strict=True)
        ]
        self.before = [np.empty_like(W) for W in self._weights()]
        self.batches = -(-len(trainer.train_split) // trainer.batch_size)
        if trainer.epoch == 0:
            with one_blas_thread():  # as in the loop: the same bytes on any number of cores
                validation = trainer.validation
                self._observe(self.probe if validation is None else validation)
                self.file.extend(self._rows(0, None))

    def on_epoch_begin(self, epoch: int, logs: Logs) -> None:
        for stats in self.stats:
            stats.reset()
        if self.batches == 1:
            self._remember()

    def on_batch_end(self, batch: int, logs: Logs) -> None:
        if batch == self.batches - 2:
            self._remember()

    def on_validation_batch_end(self, batch: int, logs: Logs) -> None:
        for stats, layer in zip(self.stats, self.trainer.network.layers, strict=True):
            assert layer.output is not None
            stats.add(layer.output)

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        with one_blas_thread():
            if self.trainer.validation is None:
                self._observe(self.probe)
            self.file.extend(self._rows(epoch, float(logs["lr"])))

    def _weights(self) -> list[Array]:
        live = self.trainer.network.parameters()
        return [live[f"layers.{i}.W"] for i in range(len(self.trainer.network.layers))]

    def _remember(self) -> None:
        for copy, W in zip(self.before, self._weights(), strict=True):
            np.copyto(copy, W)

    def _observe(self, split: Split) -> None:
        """Activations of a pass of its own over ``split`` (eval mode), as the validation's."""
        for stats in self.stats:
            stats.reset()
        self.trainer.network.evaluate(split.X, split.y, on_batch=self._observe_batch)

    def _observe_batch(self, start: int, stop: int) -> None:
        self.on_validation_batch_end(0, {"start": start, "stop": stop})

    def _rows(self, epoch: int, lr: float | None) -> list[dict[str, Any]]:
        """The epoch's row of each layer; ``lr`` None at epoch 0 (no step yet)."""
        network = self.trainer.network
        grads = gradient_norms(network, self.probe.X, self.probe.y)
        live = network.parameters()
        rows = []
        for i, W in enumerate(self._weights()):
            ratio = None if lr is None else update_ratio(self.before[i], W)
            rows.append({"epoch": epoch, "layer": i, **weight_stats(W, live[f"layers.{i}.b"]),
                         "grad_norm": grads[i], "update_ratio": ratio,
                         **self.stats[i].result(), "lr": lr})  # fmt: skip
        return rows
