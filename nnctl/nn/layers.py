"""The dense (fully-connected) layer with optional inverted dropout.

``Dense.forward(X)`` computes ``Z = X @ W + b``, ``H = f(Z)`` and, in training with dropout,
``Y = H * mask``; it keeps what ``backward`` needs. ``Dense.backward(dY)`` fills ``dW`` and ``db``
and returns ``dX``; it never changes ``W`` or ``b``. Working arrays are allocated once per batch
size and reused, so a training step allocates nothing large; the arrays a method returns are those
buffers and stay valid until the next call with the same batch size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from nnctl.errors import ConfigError
from nnctl.nn.activations import Activation, get_activation
from nnctl.nn.initializers import default_initializer, get_initializer

Array = np.ndarray

_MAX_CACHED_BATCH_SIZES = 4


@dataclass
class _Buffers:
    """Working arrays for one batch size; dropout and ``dX`` arrays are made on first use."""

    Z: Array
    H: Array
    dZ: Array
    extra: dict[str, Array] = field(default_factory=dict)


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
            raise ConfigError(f"expected a positive integer for units, got units={units!r}")
        if not (0.0 <= dropout < 1.0):
            raise ConfigError(f"dropout must be in [0, 1), got dropout={dropout!r}")
        self.n_in, self.units = n_in, units
        self.activation: Activation = get_activation(activation, **(activation_params or {}))
        self.dropout = float(dropout)
        self.initializer = initializer
        init = get_initializer(initializer or default_initializer(activation))
        self.dtype = np.dtype(dtype)
        self.W: Array = init((n_in, units), rng, self.dtype)
        self.b: Array = np.zeros(units, dtype=self.dtype)
        self.dW: Array = np.zeros_like(self.W)
        self.db: Array = np.zeros_like(self.b)
        self.X: Array | None = None
        self._dZ: Array | None = None
        self.Z: Array | None = None
        self.output: Array | None = None
        self._dropped = False
        self._buffers: dict[int, _Buffers] = {}

    def bind(self, W: Array, b: Array, dW: Array, db: Array) -> None:
        """Move the parameters into the given arrays (e.g. views of a flat buffer)."""
        W[...] = self.W
        b[...] = self.b
        self.W, self.b, self.dW, self.db = W, b, dW, db

    @property
    def n_params(self) -> int:
        """``n_in * units + units``."""
        return int(self.W.size + self.b.size)

    def buffers_for(self, n: int) -> _Buffers:
        """The working arrays for batches of ``n`` samples (made on first use)."""
        buffers = self._buffers.get(n)
        if buffers is None:
            if len(self._buffers) >= _MAX_CACHED_BATCH_SIZES:
                self._buffers.clear()
            shape = (n, self.units)
            empty = np.empty(shape, dtype=self.dtype)
            buffers = _Buffers(Z=empty, H=np.empty_like(empty), dZ=np.empty_like(empty))
            self._buffers[n] = buffers
        return buffers

    def _extra(self, buffers: _Buffers, key: str, shape: tuple[int, ...], dtype: object) -> Array:
        array = buffers.extra.get(key)
        if array is None:
            array = buffers.extra[key] = np.empty(shape, dtype=dtype)  # type: ignore[call-overload]
        return array

    def forward(
        self, X: Array, training: bool = False, rng: np.random.Generator | None = None
    ) -> Array:
        """The layer's output for a batch ``X`` of shape ``(n, n_in)``; shape ``(n, units)``.

        Dropout is applied only when ``training`` is true, with ``rng`` drawing the mask.
        """
        buffers = self.buffers_for(X.shape[0])
        Z = np.matmul(X, self.W, out=buffers.Z)
        Z += self.b
        H = self.activation.forward(Z, out=buffers.H)
        self.X, self.Z, self.output, self._dropped = X, Z, H, False
        if training and self.dropout > 0.0:
            if rng is None:
                raise ValueError("a training forward pass with dropout needs an rng")
            self.output = self._drop(H, buffers, rng)
        return self.output

    def _drop(self, H: Array, buffers: _Buffers, rng: np.random.Generator) -> Array:
        u = self._extra(buffers, "u", H.shape, self.dtype)
        keep = self._extra(buffers, "keep", H.shape, np.bool_)
        mask = self._extra(buffers, "mask", H.shape, self.dtype)
        rng.random(out=u, dtype=self.dtype.type)
        np.greater_equal(u, self.dropout, out=keep)
        np.multiply(keep, 1.0 / (1.0 - self.dropout), out=mask)
        self._dropped = True
        Y = self._extra(buffers, "Y", H.shape, self.dtype)
        np.multiply(H, mask, out=Y)
        return Y

    def backward(
        self, dY: Array, need_dX: bool = True, from_logits: bool = False, fill_dW: bool = True
    ) -> Array | None:
        """Fill ``dW`` and ``db`` from ``dY = dL/dY``; return ``dX = dL/dX``, or None.

        Parameters
        ----------
        dY : ndarray, shape (n, units)
            Gradient of the loss with respect to this layer's output; with ``from_logits`` it is
            already ``dL/dZ`` (a loss fused with the output activation), and the activation's
            backward is skipped.
        need_dX : bool
            False for the first layer: its input needs no gradient.
        fill_dW : bool
            False leaves ``dW`` to `fill_dW_rows` (which two threads can share).
        """
        if self.X is None:
            raise RuntimeError("backward called before forward")
        buffers = self.buffers_for(dY.shape[0])
        if from_logits:
            dZ = dY
        else:
            dH = dY
            if self._dropped:
                mask = buffers.extra["mask"]
                dH = np.multiply(dY, mask, out=self._extra(buffers, "dH", dY.shape, self.dtype))
            dZ = self.activation.backward(dH, buffers.Z, buffers.H, out=buffers.dZ)
        self._dZ = dZ
        if fill_dW:
            np.matmul(self.X.T, dZ, out=self.dW)
        np.add.reduce(dZ, axis=0, out=self.db)
        if not need_dX:
            return None
        dX = self._extra(buffers, "dX", self.X.shape, self.dtype)
        return np.matmul(dZ, self.W.T, out=dX)

    def fill_dW_rows(self, start: int, stop: int) -> None:
        """Rows ``start:stop`` of ``dW = X.T @ dZ``, after a ``backward(..., fill_dW=False)``."""
        if self.X is None or self._dZ is None:
            raise RuntimeError("fill_dW_rows called before backward")
        np.matmul(self.X[:, start:stop].T, self._dZ, out=self.dW[start:stop])
