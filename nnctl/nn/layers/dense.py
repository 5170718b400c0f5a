"""The dense (fully-connected) layer with optional inverted dropout: the reference.

``Dense.forward(X)`` computes ``Z = X @ W + b``, ``H = f(Z)`` and, in training with dropout,
``Y = H * mask``; it keeps what ``backward`` needs. ``Dense.backward(dY)`` fills ``dW`` and ``db``
and returns ``dX``; it never changes ``W`` or ``b``. The code is the formula and allocates its
results; `nnctl.nn.fast.dense.FastDense` computes the same numbers in reused buffers, a block of
rows at a time, and is what a network trains with.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from nnctl.nn.activations import Activation, get_activation
from nnctl.nn.errors import EngineConfigError
from nnctl.nn.initializers import default_initializer, get_initializer

Array = np.ndarray


class Dense:
    """A fully-connected layer: ``output = dropout(activation(X @ W + b))``.

    Parameters
    ----------
    n_in : int
        Width of the input, ``X.shape[1]``.
    units : int
        Width of the output.
    activation : str
        A key of :data:`nnctl.nn.activations.ACTIVATIONS`.
    activation_params : mapping, optional
        Its parameters, e.g. ``{"alpha": 0.1}``.
    dropout : float
        Fraction of outputs zeroed in training (inverted dropout), in ``[0, 1)``.
    initializer : str or None
        A key of :data:`nnctl.nn.initializers.INITIALIZERS`; None chooses by activation
        (`default_initializer`). Biases start at zero.
    rng : numpy.random.Generator
        Draws the initial weights.
    dtype : numpy dtype
        float32 (default) or float64.

    Raises
    ------
    EngineConfigError
        For ``units`` not a positive integer, ``dropout`` outside ``[0, 1)``, or an unknown
        activation or initializer.

    Notes
    -----
    Forward, with ``X`` of shape ``(n, n_in)`` and ``W`` of shape ``(n_in, units)``::

        Z = X @ W + b
        H = f(Z)
        Y = H * mask,  mask = [u >= dropout] / (1 - dropout),  u ~ U[0, 1)   (training only)

    Backward, from ``dY = dL/dY``::

        dH = dY * mask
        dZ = f'(Z) dH            (the activation's backward)
        dW = X.T @ dZ
        db = sum(dZ, axis=0)
        dX = dZ @ W.T            (skipped for the first layer)

    Inverted dropout scales the kept outputs at training time, so inference is a plain forward.

    References
    ----------
    Srivastava et al., "Dropout: a simple way to prevent neural networks from overfitting",
    JMLR 15, 2014.
    """

    decayed: ClassVar[frozenset[str]] = frozenset({"W"})

    def __init__(
        self,
        n_in: int,
        units: int,
        activation: str = "linear",
        activation_params: Mapping[str, float] | None = None,
        dropout: float = 0.0,
        initializer: str | None = None,
        *,
        rng: np.random.Generator,
        dtype: np.dtype[np.floating] | type[np.floating] = np.float32,
    ) -> None:
        if not (isinstance(units, int) and units > 0):
            raise EngineConfigError(f"expected a positive integer for units, got units={units!r}")
        if not (0.0 <= dropout < 1.0):
            raise EngineConfigError(f"dropout must be in [0, 1), got dropout={dropout!r}")
        self.n_in, self.units = n_in, units
        self.activation: Activation = get_activation(activation, **(activation_params or {}))
        self.dropout = float(dropout)
        self.initializer = initializer
        init = get_initializer(initializer or default_initializer(activation))
        self.dtype = np.dtype(dtype)
        W = init((n_in, units), rng, self.dtype)
        b = np.zeros(units, dtype=self.dtype)
        self.params: dict[str, Array] = {"W": W, "b": b}
        self.grads: dict[str, Array] = {"W": np.zeros_like(W), "b": np.zeros_like(b)}
        self.rng: np.random.Generator | None = None
        self.X: Array | None = None
        self.Z: Array | None = None
        self.H: Array | None = None
        self.mask: Array | None = None
        self.output: Array | None = None

    # --- parameters -----------------------------------------------------------------------------

    @property
    def W(self) -> Array:
        """The weights, shape ``(n_in, units)``."""
        return self.params["W"]

    @property
    def b(self) -> Array:
        """The biases, shape ``(units,)``."""
        return self.params["b"]

    @property
    def dW(self) -> Array:
        """``dL/dW``, filled by `backward`."""
        return self.grads["W"]

    @property
    def db(self) -> Array:
        """``dL/db``, filled by `backward`."""
        return self.grads["b"]

    def bind(self, params: Mapping[str, Array], grads: Mapping[str, Array]) -> None:
        """Move ``W`` and ``b`` into ``params`` (e.g. views of a flat buffer); use ``grads``."""
        for name, array in params.items():
            array[...] = self.params[name]
        self.params, self.grads = dict(params), dict(grads)

    @property
    def n_params(self) -> int:
        """``n_in * units + units``."""
        return int(self.W.size + self.b.size)

    @property
    def input_shape(self) -> tuple[int | None, ...]:
        """``(None, n_in)``."""
        return (None, self.n_in)

    @property
    def output_shape(self) -> tuple[int | None, ...]:
        """``(None, units)``."""
        return (None, self.units)

    # --- the formula ----------------------------------------------------------------------------

    def forward(
        self, X: Array, training: bool = False, rng: np.random.Generator | None = None
    ) -> Array:
        """The layer's output for a batch ``X`` of shape ``(n, n_in)``; shape ``(n, units)``.

        Dropout applies only when ``training`` is true, with ``rng`` (default: the layer's
        ``rng``, which its network sets) drawing the mask.
        """
        self.X = X
        self.Z = X @ self.W + self.b
        self.H = self.activation.forward(self.Z)
        self.mask = self.draw_mask(self.H.shape, rng) if training and self.dropout else None
        self.output = self.H if self.mask is None else self.H * self.mask
        return self.output

    def draw_mask(self, shape: tuple[int, ...], rng: np.random.Generator | None) -> Array:
        """``mask = [u >= dropout] / (1 - dropout)``, ``u ~ U[0, 1)`` drawn from ``rng``."""
        rng = rng if rng is not None else self.rng
        if rng is None:
            raise ValueError("a training forward pass with dropout needs an rng")
        keep = rng.random(shape, dtype=self.dtype.type) >= self.dropout
        mask: Array = keep * self.dtype.type(1.0 / (1.0 - self.dropout))
        return mask

    def backward(self, dY: Array, need_dX: bool = True, from_logits: bool = False) -> Array | None:
        """Fill ``dW`` and ``db`` from ``dY = dL/dY``; return ``dX = dL/dX``, or None.

        Parameters
        ----------
        dY : ndarray, shape (n, units)
            Gradient of the loss with respect to this layer's output; with ``from_logits`` it is
            already ``dL/dZ`` (a loss fused with the output activation), and the activation's
            backward is skipped.
        need_dX : bool
            False for the first layer: its input needs no gradient.
        """
        if self.X is None or self.Z is None or self.H is None:
            raise RuntimeError("backward called before forward")
        if from_logits:
            dZ = dY
        else:
            dH = dY if self.mask is None else dY * self.mask
            dZ = self.activation.backward(dH, self.Z, self.H)
        self.dW[...] = self.X.T @ dZ
        self.db[...] = dZ.sum(axis=0)
        return dZ @ self.W.T if need_dX else None

    # --- description ----------------------------------------------------------------------------

    def spec(self) -> dict[str, Any]:
        """``units``, ``activation``, ``activation_params``, ``dropout``, ``initializer``."""
        return {
            "units": self.units,
            "activation": self.activation.name,
            "activation_params": dict(self.activation.params),
            "dropout": self.dropout,
            "initializer": self.initializer,
        }

    def describe(self) -> str:
        """``"8 units, tanh"``."""
        return f"{self.units} units, {self.activation.name}"

    def summary(self) -> dict[str, Any]:
        """Shapes, units, activation, dropout and the parameter count."""
        return {
            "input_shape": self.input_shape,
            "output_shape": self.output_shape,
            "units": self.units,
            "activation": self.activation.name,
            "dropout": self.dropout,
            "params": self.n_params,
        }
