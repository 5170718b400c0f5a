"""Sampled entries against central differences, with CS231n's relative error and kinks noted.

`check_network_entries` checks a seeded sample of entries of every parameter of a float64 network
(its mean loss, dropout off), each with its own relative error ``|a - n| / max(|a|, |n|)``
(`entry_error`), and marks the entries whose difference crossed a kink (a relu's ``Z`` or mae's
residual changed sign between ``x - h`` and ``x + h``). `check_weight_decay` checks L2 weight
decay apart from the data loss. ``nnctl gradcheck`` runs both.

References
----------
CS231n, "Neural networks part 3: gradient checks", https://cs231n.github.io/neural-networks-3/
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from nnctl.nn.gradcheck.central import H, as_float64
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer

Array = np.ndarray
#: The registry entries that are not differentiable everywhere: an activation with a kink at
#: ``Z = 0`` (elu's slope jumps there unless ``alpha = 1``), a loss with one at a zero residual
#: ``A - y``. Every other entry is smooth; a test keeps the four sets covering the registries.
KINKED_ACTIVATIONS = frozenset({"relu", "leaky_relu", "elu"})
SMOOTH_ACTIVATIONS = frozenset({"linear", "gelu", "sigmoid", "tanh", "softplus", "softmax"})
KINKED_LOSSES = frozenset({"mae"})
SMOOTH_LOSSES = frozenset({"mse", "huber", "binary_crossentropy", "categorical_crossentropy"})

#: How far below ``|a - n|`` rounding must stay. A central difference of a float64 loss is off by
#: about ``eps * scale / h`` from rounding alone, where ``scale`` is the size of the numbers the
#: loss is computed from (the loss, and the logits its log-sum-exp starts from: 2e-9 for logits
#: near 10 and ``h = 1e-6``); an entry's denominator is at least `MARGIN` times that
#: (`resolution`), so rounding alone never makes an error above about ``1 / MARGIN``.
MARGIN = 1e5

#: What a value returns: the loss, the size of the numbers it came from (see `MARGIN`), and the
#: side of every kink it is on (boolean arrays).
Evaluation = tuple[float, float, tuple[Array, ...]]


def resolution(scale: float, h: float = H) -> float:
    """``MARGIN * eps * scale / h``: the smallest gradient a difference of step ``h`` resolves."""
    return MARGIN * float(np.finfo(np.float64).eps) * scale / h


def entry_error(analytic: float, numeric: float, floor: float = 0.0) -> float:
    """CS231n's relative error of one entry, ``|a - n| / max(|a|, |n|, floor)`` (0 when all are 0).

    ``floor`` is the `resolution` of the difference: below it, a difference is rounding.
    """
    scale = max(abs(analytic), abs(numeric), floor)
    return abs(analytic - numeric) / scale if scale > 0 else 0.0


@dataclass(frozen=True)
class Entry:
    """One entry of a parameter: its index, both gradients, their `entry_error`.

    ``kink`` is true when the central difference crossed a kink (a relu's ``Z`` or mae's residual
    changed sign between ``x - h`` and ``x + h``): the numerical gradient there is an average of
    two slopes, and a large error is no sign of a wrong backward.
    """

    index: tuple[int, ...]
    analytic: float
    numeric: float
    error: float
    kink: bool


@dataclass(frozen=True)
class TensorCheck:
    """The sampled entries of one parameter (``layers.0.W``), shape ``shape``."""

    name: str
    shape: tuple[int, ...]
    entries: tuple[Entry, ...]

    @property
    def error(self) -> float:
        """The largest `entry_error` of the entries whose difference crossed no kink."""
        return max((e.error for e in self.entries if not e.kink), default=0.0)

    @property
    def kinks(self) -> int:
        """How many entries' differences crossed a kink (not counted in `error`)."""
        return sum(e.kink for e in self.entries)


def sample_indices(
    shape: tuple[int, ...], k: int, rng: np.random.Generator
) -> list[tuple[int, ...]]:
    """``k`` distinct indices of an array of ``shape`` (all of them when it has fewer), in order."""
    size = int(np.prod(shape))
    flat = np.sort(rng.choice(size, size=min(k, size), replace=False))
    return [tuple(int(i) for i in np.unravel_index(f, shape)) for f in flat]


def check_entries(
    name: str, f: Callable[[], Evaluation], x: Array, analytic: Array,
    indices: list[tuple[int, ...]], h: float = H,
) -> TensorCheck:  # fmt: skip
    """``analytic`` against ``(f(x + h) - f(x - h)) / 2h`` at each of ``indices`` of ``x``.

    ``x`` is perturbed in place and restored; an entry whose two evaluations are on different
    sides of a kink is marked (`Entry.kink`).
    """
    entries = []
    for index in indices:
        saved = float(x[index])
        x[index] = saved + h
        up, up_scale, up_sides = f()
        x[index] = saved - h
        down, down_scale, down_sides = f()
        x[index] = saved
        numeric, a = (up - down) / (2 * h), float(analytic[index])
        kink = any(not np.array_equal(u, d) for u, d in zip(up_sides, down_sides, strict=True))
        error = entry_error(a, numeric, resolution(max(up_scale, down_scale), h))
        entries.append(Entry(index, a, numeric, error, kink))
    return TensorCheck(name, tuple(int(d) for d in x.shape), tuple(entries))


def network_evaluation(network: Network, X: Array, y: Array) -> Evaluation:
    """The network's mean loss on ``(X, y)`` without dropout, its scale, the sides of its kinks.

    The scale is ``max(1, |L|, max |Z|)`` of the output layer's ``Z`` (see `MARGIN`).
    """
    A, sides = np.asarray(X, dtype=network.dtype), list[Array]()
    for layer in network.layers:
        A = layer.forward(A, False)
        activation = getattr(layer, "activation", None)
        if getattr(activation, "name", None) in KINKED_ACTIVATIONS and layer.Z is not None:
            sides.append(layer.Z > 0)
    Z = network.layers[-1].Z
    if Z is None:
        raise RuntimeError("the network's last layer kept no Z")
    if network.loss.name in KINKED_LOSSES:
        sides.append(A - np.asarray(y, dtype=A.dtype).reshape(A.shape) > 0)
    value = network.loss.value(Z, A, np.asarray(y))
    return value, max(1.0, abs(value), float(np.max(np.abs(Z)))), tuple(sides)


def check_network_entries(
    network: Network, X: Array, y: Array, per_param: int = 10, seed: int = 0, h: float = H
) -> tuple[TensorCheck, ...]:
    """A float64 network's gradients of its mean loss, dropout off, at sampled entries.

    ``per_param`` entries of every parameter (all, for a smaller one) are drawn from a Generator
    seeded with ``seed``. Raises `ValueError` for a float32 network (see `as_float64`).
    """
    if network.dtype != np.float64:
        raise ValueError("a gradient check needs a float64 network; see as_float64()")
    X = np.asarray(X, dtype=np.float64)
    network.loss_and_gradient(X, y, training=False)
    analytic = {name: g.copy() for name, g in network.gradients().items()}

    def evaluate() -> Evaluation:
        return network_evaluation(network, X, y)

    rng, checks = np.random.default_rng(seed), []
    for name, param in network.parameters().items():
        indices = sample_indices(param.shape, per_param, rng)
        checks.append(check_entries(name, evaluate, param, analytic[name], indices, h))
    return tuple(checks)


def check_weight_decay(
    network: Network, weight_decay: float, per_param: int = 10, seed: int = 0, h: float = H
) -> tuple[TensorCheck, ...]:
    """L2 weight decay apart from the data loss: what the optimizer adds against its penalty.

    The penalty is ``P = weight_decay / 2 * sum(||W||**2)`` over the decayed parameters (each
    layer's ``W``), so ``dP/dW = weight_decay * W``; the analytic side is what an optimizer of the
    engine adds to a zero gradient (``g = g + wd * W``). Checks the decayed parameters only.
    """
    copy = as_float64(network)
    decayed = [f"layers.{i}.{n}" for i, layer in enumerate(copy.layers) for n in layer.decayed]
    copy.params.grad[...] = 0.0
    optimizer = get_optimizer("sgd", learning_rate=1.0, weight_decay=weight_decay)
    optimizer.bind(copy.params)
    optimizer.step()  # changes the copy's weights too, after the gradient
    added = {name: copy.gradients()[name].copy() for name in decayed}
    live = as_float64(network).parameters()

    def penalty() -> Evaluation:
        value = weight_decay / 2 * sum(float(np.sum(live[n] ** 2)) for n in decayed)
        return value, value, ()

    rng, checks = np.random.default_rng(seed), []
    for name in decayed:
        indices = sample_indices(live[name].shape, per_param, rng)
        checks.append(check_entries(name, penalty, live[name], added[name], indices, h))
    return tuple(checks)
