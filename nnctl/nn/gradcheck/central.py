"""Whole arrays against central finite differences, in float64.

Each ``check_*`` function computes the analytic gradients of a scalar ``L`` (the ones the engine's
backward passes give) and the numerical ones, ``(L(x + h) - L(x - h)) / 2h`` for each entry ``x``
in turn, and returns a `GradCheck`: one `Check` per array, with its relative error
``||a - n|| / (||a|| + ||n||)`` (0 when they agree; about 1e-9 or less is a correct gradient in
float64 with ``h = 1e-6``; 1 for unrelated ones). The tests and ``nnctl gradcheck`` call them.

- `check_activation`: ``L = sum(R * f(Z))``, so ``dL/dA = R``; checks ``dZ``.
- `check_loss`: a loss fused with its output activation (``dL/dZ`` of the logits), else ``dL/dA``.
- `check_layer`: ``L = sum(R * layer(X))`` with the same dropout mask every time; checks every
  parameter and ``X``.
- `check_network`: the network's mean loss on a batch, with the same dropout masks every time;
  checks every parameter (`as_float64` makes a float64 copy of a float32 network).

Inputs at a kink (relu at 0, mae at a zero residual) give a large error there: keep them at least
``h`` away (`nnctl.nn.gradcheck.entries` finds the entries where they are not).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from nnctl.nn.activations import Activation, get_activation
from nnctl.nn.layers.base import Layer
from nnctl.nn.losses import Loss
from nnctl.nn.network import Network

Array = np.ndarray

#: The step of the central differences.
H = 1e-6


def numerical_gradient(f: Callable[[], float], x: Array, h: float = H) -> Array:
    """``dL/dx`` by central differences ``(f(x + h) - f(x - h)) / 2h``; perturbs ``x`` in place.

    Parameters
    ----------
    f : callable
        Computes ``L`` from the current values of ``x`` (and whatever else it reads).
    x : ndarray
        Changed one entry at a time and restored; must be writable (a view is fine).
    h : float
        The step.

    Returns
    -------
    ndarray of float64, shape of ``x``
    """
    grad = np.zeros_like(x, dtype=np.float64)
    flat, out = x.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + h
        up = f()
        flat[i] = saved - h
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * h)
    return grad


def relative_error(analytic: Array, numeric: Array) -> float:
    """``||a - n|| / (||a|| + ||n||)``: 0 for equal arrays, 1 for unrelated ones (0 if both 0)."""
    a, n = np.asarray(analytic, np.float64), np.asarray(numeric, np.float64)
    scale = np.linalg.norm(a) + np.linalg.norm(n)
    return float(np.linalg.norm(a - n) / scale) if scale > 0 else 0.0


@dataclass(frozen=True)
class Check:
    """One array's analytic gradient against its numerical one.

    Attributes
    ----------
    name : str
        The array: a parameter (``W``, ``layers.0.b``), or ``X``, ``Z``, ``A``.
    error : float
        `relative_error` of the two.
    analytic_norm, numeric_norm : float
        Their L2 norms (a zero analytic gradient against a non-zero numerical one is telling).
    size : int
        The number of entries compared.
    """

    name: str
    error: float
    analytic_norm: float
    numeric_norm: float
    size: int


@dataclass(frozen=True)
class GradCheck:
    """The checks of one object (``what``), with the step ``h`` used."""

    what: str
    checks: tuple[Check, ...]
    h: float

    @property
    def max_error(self) -> float:
        """The largest relative error of any array."""
        return max((check.error for check in self.checks), default=0.0)

    @property
    def worst(self) -> Check:
        """The check with the largest error."""
        return max(self.checks, key=lambda check: check.error)

    def passed(self, tolerance: float = 1e-6) -> bool:
        """Whether every array's relative error is below ``tolerance``."""
        return self.max_error < tolerance


def _compare(
    what: str, f: Callable[[], float], analytic: Mapping[str, Array],
    arrays: Mapping[str, Array], h: float,
) -> GradCheck:  # fmt: skip
    """`numerical_gradient` of ``f`` for each of ``arrays`` against ``analytic`` (same names)."""
    checks = []
    for name, array in arrays.items():
        numeric = numerical_gradient(f, array, h)
        a = np.asarray(analytic[name], np.float64)
        checks.append(Check(name, relative_error(a, numeric), float(np.linalg.norm(a)),
                            float(np.linalg.norm(numeric)), int(array.size)))  # fmt: skip
    return GradCheck(what, tuple(checks), h)


def _float64(array: Array) -> Array:
    return np.array(array, dtype=np.float64)


def check_activation(
    activation: Activation | str, Z: Array, rng: np.random.Generator | None = None, h: float = H
) -> GradCheck:
    """``backward`` of an activation against differences of ``L = sum(R * f(Z))``.

    Parameters
    ----------
    activation : Activation or str
        The activation, or its registry name.
    Z : ndarray, shape (n, units)
        Where to check (copied to float64).
    rng : numpy.random.Generator, optional
        Draws ``R``, the weights of the outputs in ``L`` (default seed 0).
    """
    act = get_activation(activation) if isinstance(activation, str) else activation
    Z = _float64(Z)
    R = (rng or np.random.default_rng(0)).standard_normal(Z.shape)
    analytic = act.backward(R.copy(), Z, act.forward(Z))
    return _compare(act.name, lambda: float(np.sum(R * act.forward(Z))), {"Z": analytic},
                    {"Z": Z}, h)  # fmt: skip


def check_loss(loss: Loss, Z: Array, y: Array, h: float = H) -> GradCheck:
    """A loss's ``gradient`` against differences of its ``value``.

    A loss fused with an output activation is checked with respect to the logits ``Z``
    (``A = f(Z)``); any other with respect to the outputs, taken as ``A = Z``.
    """
    Z, y = _float64(Z), np.asarray(y)
    if loss.activation is None:
        analytic, name = loss.gradient(Z, Z, y), "A"

        def value() -> float:
            return loss.value(Z, Z, y)
    else:
        act = get_activation(loss.activation)
        analytic, name = loss.gradient(Z, act.forward(Z), y), "Z"

        def value() -> float:
            return loss.value(Z, act.forward(Z), y)

    return _compare(loss.name, value, {name: analytic}, {name: Z}, h)


def check_layer(
    layer: Layer, X: Array, training: bool = True, seed: int = 0, h: float = H
) -> GradCheck:
    """A float64 layer's ``backward`` against differences of ``L = sum(R * layer(X))``.

    The layer's ``rng`` is reset to ``seed`` before every forward pass, so that dropout draws the
    same mask each time. Checks every parameter and ``X``.
    """
    X = _float64(X)
    R = np.random.default_rng(seed + 1).standard_normal((X.shape[0], *_width(layer)))

    def value() -> float:
        layer.rng = np.random.default_rng(seed)
        return float(np.sum(R * layer.forward(X, training)))

    value()
    dX = layer.backward(R.copy())
    analytic = {name: g.copy() for name, g in layer.grads.items()}
    analytic["X"] = np.asarray(dX)
    return _compare(type(layer).__name__, value, analytic, {**layer.params, "X": X}, h)


def _width(layer: Layer) -> tuple[int, ...]:
    return tuple(int(d) for d in layer.output_shape[1:] if d is not None)


def check_network(
    network: Network, X: Array, y: Array, training: bool = True, h: float = H
) -> GradCheck:
    """A float64 network's gradients against differences of its mean loss on ``(X, y)``.

    The dropout generator's state is restored before every evaluation, so every pass draws the
    same masks. Checks every parameter (``layers.0.W`` ...). Raises `ValueError` for a float32
    network: central differences need float64 (see `as_float64`).
    """
    if network.dtype != np.float64:
        raise ValueError("a gradient check needs a float64 network; see as_float64()")
    state = network.rng_state()

    def value() -> float:
        network.set_rng_state(state)
        return network.loss_and_gradient(X, y, training)

    value()
    analytic = {name: g.copy() for name, g in network.gradients().items()}
    return _compare("network", value, analytic, network.parameters(), h)


def as_float64(network: Network) -> Network:
    """A float64 copy of ``network``: the same architecture, weights and dropout generator."""
    spec = {**network.spec(), "dtype": "float64"}
    copy = Network.from_spec(spec)
    copy.load_state_dict(network.state_dict())
    copy.set_rng_state(network.rng_state())
    return copy
