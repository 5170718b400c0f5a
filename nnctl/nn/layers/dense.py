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

        Dropout is applied only when ``training`` is true, with ``rng`` drawing the mask. The same
        as `prepare` followed by `forward_rows` over all rows.
        """
        output = self.prepare(X, training, rng)
        self.forward_rows(0, X.shape[0])
        return output

    def prepare(
        self, X: Array, training: bool = False, rng: np.random.Generator | None = None
    ) -> Array:
        """Take ``X`` as the batch's input and draw its dropout mask; return the output buffer.

        Nothing is computed yet: `forward_rows` fills the output, a block of rows at a time (two
        threads may fill different rows at once). The returned array is the next layer's input.
        """
        buffers = self.buffers_for(X.shape[0])
        self.X, self.Z, self.output, self._dropped = X, buffers.Z, buffers.H, False
        if training and self.dropout > 0.0:
            if rng is None:
                raise ValueError("a training forward pass with dropout needs an rng")
            self._draw_mask(buffers, rng)
            self.output = self._extra(buffers, "Y", buffers.H.shape, self.dtype)
        return self.output

    def _draw_mask(self, buffers: _Buffers, rng: np.random.Generator) -> None:
        shape = buffers.H.shape
        u = self._extra(buffers, "u", shape, self.dtype)
        keep = self._extra(buffers, "keep", shape, np.bool_)
        mask = self._extra(buffers, "mask", shape, self.dtype)
        rng.random(out=u, dtype=self.dtype.type)
        np.greater_equal(u, self.dropout, out=keep)
        np.multiply(keep, 1.0 / (1.0 - self.dropout), out=mask)
        self._dropped = True

    def forward_rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` of the output, after `prepare`; returns them (a view)."""
        if self.X is None or self.Z is None or self.output is None:
            raise RuntimeError("forward_rows called before prepare")
        buffers = self.buffers_for(self.X.shape[0])
        Z = np.matmul(self.X[start:stop], self.W, out=self.Z[start:stop])
        Z += self.b
        H = self.activation.forward(Z, out=buffers.H[start:stop])
        if not self._dropped:
            return H
        Y: Array = np.multiply(H, buffers.extra["mask"][start:stop], out=self.output[start:stop])
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

        The same as `backward_rows` and `input_gradient_rows` over all rows, then
        `fill_gradients`.
        """
        if self.X is None:
            raise RuntimeError("backward called before forward")
        n = dY.shape[0]
        self.backward_rows(dY, 0, n, from_logits)
        self.fill_gradients(fill_dW)
        if not need_dX:
            return None
        self.input_gradient_rows(0, n)
        dX: Array = self.buffers_for(n).extra["dX"]
        return dX

    def backward_rows(self, dY: Array, start: int, stop: int, from_logits: bool = False) -> Array:
        """Rows ``start:stop`` of ``dZ = dL/dZ`` from the same rows of ``dY``; returns them.

        ``dY`` holds only those rows; with ``from_logits`` it already is ``dL/dZ``.
        """
        if self.X is None or self.Z is None:
            raise RuntimeError("backward called before forward")
        buffers = self.buffers_for(self.X.shape[0])
        self._dZ = buffers.dZ
        dZ = buffers.dZ[start:stop]
        if from_logits:
            if not np.may_share_memory(dY, dZ):  # else dY is these rows of dZ already
                np.copyto(dZ, dY)
            return dZ
        dH = dY
        if self._dropped:
            mask = buffers.extra["mask"][start:stop]
            dH_buffer = self._extra(buffers, "dH", buffers.dZ.shape, self.dtype)
            dH = np.multiply(dY, mask, out=dH_buffer[start:stop])
        return self.activation.backward(dH, self.Z[start:stop], buffers.H[start:stop], out=dZ)

    def reserve_backward(self, need_dX: bool) -> None:
        """Make the arrays `backward_rows` and `input_gradient_rows` write into, after `prepare`.

        Two threads filling different rows of one batch must find them made (`backward` makes
        them on first use otherwise).
        """
        if self.X is None:
            raise RuntimeError("reserve_backward called before prepare")
        buffers = self.buffers_for(self.X.shape[0])
        if self._dropped:
            self._extra(buffers, "dH", buffers.dZ.shape, self.dtype)
        if need_dX:
            self._extra(buffers, "dX", self.X.shape, self.dtype)

    def input_gradient_rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` of ``dX = dZ @ W.T``, after `backward_rows` filled them."""
        if self.X is None or self._dZ is None:
            raise RuntimeError("input_gradient_rows called before backward")
        dX = self._extra(self.buffers_for(self.X.shape[0]), "dX", self.X.shape, self.dtype)
        return np.matmul(self._dZ[start:stop], self.W.T, out=dX[start:stop])

    def fill_gradients(self, fill_dW: bool = True) -> None:
        """``db = sum(dZ)`` and (unless ``fill_dW`` is false) ``dW = X.T @ dZ``, every row of ``dZ``
        filled."""
        if self.X is None or self._dZ is None:
            raise RuntimeError("fill_gradients called before backward")
        if fill_dW:
            np.matmul(self.X.T, self._dZ, out=self.dW)
        np.add.reduce(self._dZ, axis=0, out=self.db)

    def fill_dW_rows(self, start: int, stop: int) -> None:
        """Rows ``start:stop`` of ``dW = X.T @ dZ``, after a ``backward(..., fill_dW=False)``."""
        if self.X is None or self._dZ is None:
            raise RuntimeError("fill_dW_rows called before backward")
        np.matmul(self.X[:, start:stop].T, self._dZ, out=self.dW[start:stop])
