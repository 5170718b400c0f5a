"""Activation functions: a registry of objects with ``forward`` and ``backward``.

Each activation maps the pre-activation ``Z`` of a layer, shape ``(n_samples, units)``, to its
output ``A = f(Z)``, and maps the gradient ``dA = dL/dA`` back to ``dZ = dL/dZ``. ``backward``
receives both ``Z`` and ``A`` and uses whichever is cheaper. Both methods take an optional ``out``
buffer of ``Z``'s shape and dtype; ``backward`` may be given ``out=dA`` to work in place. The
hot-path activations (linear, relu, softmax) allocate nothing when given ``out``.

Valid output-layer pairings with losses are listed in :mod:`nnctl.nn.losses`.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from nnctl.nn.registry import build_registered

Array = np.ndarray


def _buffer(out: Array | None, like: Array) -> Array:
    return np.empty_like(like) if out is None else out


class Activation:
    """Base class: identity. Subclasses override ``forward`` and ``backward``.

    Attributes
    ----------
    name : str
        The registry key.
    params : dict
        The parameters it was built with (``{"alpha": 0.01}``), as given to `get_activation`.
    """

    name: ClassVar[str] = "linear"
    defaults: ClassVar[dict[str, float]] = {}

    def __init__(self, **params: float) -> None:
        self.params = {**self.defaults, **params}

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        """``A = f(Z)``, written into ``out`` when given."""
        A = _buffer(out, Z)
        np.copyto(A, Z)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        """``dZ = dA * f'(Z)`` (a Jacobian-vector product for softmax)."""
        dZ = _buffer(out, dA)
        if dZ is not dA:
            np.copyto(dZ, dA)
        return dZ

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params})"


class Linear(Activation):
    """The identity, ``A = Z``; ``dZ = dA``."""


class ReLU(Activation):
    """Rectified linear unit.

    Notes
    -----
    ``A = max(Z, 0)``; ``dZ = dA * [A > 0]``, computed as ``dA * sign(A)`` without a mask array.
    The derivative at ``Z = 0`` is taken as 0.
    """

    name = "relu"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        A = _buffer(out, Z)
        np.maximum(Z, 0, out=A)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        if out is dA:
            dA *= np.sign(A)
            return dA
        dZ = _buffer(out, dA)
        np.sign(A, out=dZ)
        dZ *= dA
        return dZ


class LeakyReLU(Activation):
    """ReLU with a small slope ``alpha`` for negative inputs (default 0.01).

    Notes
    -----
    ``A = Z`` where ``Z > 0``, else ``alpha * Z`` (computed as ``max(Z, alpha * Z)`` for
    ``alpha <= 1``); ``dZ = dA`` where ``Z > 0``, else ``alpha * dA``.
    """

    name = "leaky_relu"
    defaults: ClassVar[dict[str, float]] = {"alpha": 0.01}

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        alpha = self.params["alpha"]
        A = _buffer(out, Z)
        np.multiply(Z, alpha, out=A)
        (np.maximum if alpha <= 1 else np.minimum)(A, Z, out=A)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        slope = np.where(Z > 0, 1.0, self.params["alpha"]).astype(dA.dtype)
        dZ = _buffer(out, dA)
        np.multiply(dA, slope, out=dZ)
        return dZ


class ELU(Activation):
    """Exponential linear unit (Clevert et al. 2016), ``alpha`` default 1.0.

    Notes
    -----
    ``A = Z`` where ``Z > 0``, else ``alpha * (exp(Z) - 1)``;
    ``dZ = dA`` where ``Z > 0``, else ``dA * (A + alpha)``. ``exp`` sees only ``min(Z, 0)``,
    so large inputs cannot overflow.

    References
    ----------
    Clevert, Unterthiner & Hochreiter, "Fast and accurate deep network learning by exponential
    linear units (ELUs)", ICLR 2016.
    """

    name = "elu"
    defaults: ClassVar[dict[str, float]] = {"alpha": 1.0}

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        alpha = self.params["alpha"]
        negative = alpha * np.expm1(np.minimum(Z, 0))
        A = _buffer(out, Z)
        np.copyto(A, np.where(Z > 0, Z, negative))
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        slope = np.where(Z > 0, 1.0, A + self.params["alpha"]).astype(dA.dtype)
        dZ = _buffer(out, dA)
        np.multiply(dA, slope, out=dZ)
        return dZ


_GELU_C = math.sqrt(2.0 / math.pi)


class GELU(Activation):
    """Gaussian error linear unit, tanh approximation.

    Notes
    -----
    ``A = 0.5 * Z * (1 + tanh(u))`` with ``u = c * (Z + 0.044715 * Z**3)``, ``c = sqrt(2 / pi)``;
    ``dZ = dA * (0.5 * (1 + t) + 0.5 * Z * (1 - t**2) * c * (1 + 3 * 0.044715 * Z**2))`` with
    ``t = tanh(u)``, the exact derivative of this form. The approximation differs from
    ``Z * Phi(Z)`` by less than 1e-3 (NumPy has no ``erf``).

    References
    ----------
    Hendrycks & Gimpel, "Gaussian error linear units (GELUs)", arXiv:1606.08415, 2016.
    """

    name = "gelu"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        t = np.tanh(_GELU_C * (Z + 0.044715 * Z**3))
        A = _buffer(out, Z)
        np.multiply(0.5 * Z, 1 + t, out=A)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        t = np.tanh(_GELU_C * (Z + 0.044715 * Z**3))
        slope = 0.5 * (1 + t) + 0.5 * Z * (1 - t * t) * _GELU_C * (1 + 3 * 0.044715 * Z * Z)
        dZ = _buffer(out, dA)
        np.multiply(dA, slope, out=dZ)
        return dZ


class Sigmoid(Activation):
    """Logistic sigmoid.

    Notes
    -----
    ``A = 1 / (1 + exp(-Z))``, computed as ``0.5 * (1 + tanh(Z / 2))``, which cannot overflow;
    ``dZ = dA * A * (1 - A)``.
    """

    name = "sigmoid"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        A = _buffer(out, Z)
        np.multiply(Z, 0.5, out=A)
        np.tanh(A, out=A)
        A += 1
        A *= 0.5
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        dZ = _buffer(out, dA)
        np.multiply(dA, A * (1 - A), out=dZ)
        return dZ


class Tanh(Activation):
    """Hyperbolic tangent: ``A = tanh(Z)``; ``dZ = dA * (1 - A**2)``."""

    name = "tanh"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        A = _buffer(out, Z)
        np.tanh(Z, out=A)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        dZ = _buffer(out, dA)
        np.multiply(dA, 1 - A * A, out=dZ)
        return dZ


class Softplus(Activation):
    """Softplus, a smooth ReLU.

    Notes
    -----
    ``A = log(1 + exp(Z)) = max(Z, 0) + log1p(exp(-|Z|))`` (the second form cannot overflow);
    ``dZ = dA * sigmoid(Z)``.
    """

    name = "softplus"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        A = _buffer(out, Z)
        np.add(np.maximum(Z, 0), np.log1p(np.exp(-np.abs(Z))), out=A)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        dZ = _buffer(out, dA)
        np.multiply(dA, 0.5 * (1 + np.tanh(0.5 * Z)), out=dZ)
        return dZ


class Softmax(Activation):
    """Softmax over the units of each sample (each row sums to 1).

    Notes
    -----
    ``A[i, j] = exp(Z[i, j] - max_k Z[i, k]) / sum_k exp(Z[i, k] - max_k Z[i, k])``; subtracting
    the row maximum keeps ``exp`` from overflowing. The full Jacobian-vector product is
    ``dZ = A * (dA - sum_k(dA * A, axis=1))``, not just its diagonal. As the output of a network
    trained with categorical cross-entropy, the two are fused and this backward is skipped.
    """

    name = "softmax"

    def forward(self, Z: Array, out: Array | None = None) -> Array:
        A = _buffer(out, Z)
        np.subtract(Z, Z.max(axis=1, keepdims=True), out=A)
        np.exp(A, out=A)
        A /= A.sum(axis=1, keepdims=True)
        return A

    def backward(self, dA: Array, Z: Array, A: Array, out: Array | None = None) -> Array:
        dot = np.einsum("ij,ij->i", dA, A)[:, None]
        dZ = _buffer(out, dA)
        np.subtract(dA, dot, out=dZ)
        dZ *= A
        return dZ


ACTIVATIONS: dict[str, type[Activation]] = {
    "linear": Linear,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "elu": ELU,
    "gelu": GELU,
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "softplus": Softplus,
    "softmax": Softmax,
}

#: Activations whose layers are initialized with He (Kaiming) rather than Glorot by default.
RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu", "gelu"})


def get_activation(name: str, **params: float) -> Activation:
    """Build the activation called ``name`` with its parameters.

    Parameters
    ----------
    name : str
        A key of `ACTIVATIONS`.
    **params : float
        ``alpha`` for ``leaky_relu`` and ``elu``; no other activation takes parameters.

    Raises
    ------
    EngineConfigError
        For an unknown name, an unknown parameter or a non-positive ``alpha``.
    """
    return build_registered("activation", ACTIVATIONS, name, params)
