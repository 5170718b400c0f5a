"""`FastDense`: the numbers of the reference `Dense`, in reused buffers, a block of rows at a time.

A training step allocates nothing large: working arrays are made once per batch size and reused
(the arrays a method returns are those buffers and stay valid until the next call with the same
batch size). And the passes split by rows, so that two threads can each take a block of one batch
(`nnctl.nn.fast.step`):

- `prepare` takes the batch and draws its dropout mask (in layer order, as the reference does);
- `forward_rows` computes rows of ``Z = X @ W + b``, ``H = f(Z)``, ``Y = H * mask``;
- `backward_rows` computes rows of ``dZ``; `input_gradient_rows` rows of ``dX = dZ @ W.T``;
- `fill_gradients` sums over all rows: ``db = sum(dZ)``, ``dW = X.T @ dZ`` (or `fill_dW_rows`
  computes some rows of ``dW``, so that two threads can share it).

``forward`` and ``backward`` are these over all rows: they give the reference's results
(`tests/nn/fast/test_fast_dense.py` checks it). In a ReLU layer without dropout, the passes after
a product (``Z += b`` and ``H = max(Z, 0)``; ``dZ = sign(H) * dY``) are one call of the
elementwise kernel (`nnctl.nn.fast.elementwise`) per block of rows, NumPy's bytes in one pass over
the rows instead of two or three; the worker may run it right after its product (`finish_call`,
`activation_gradient_call`, `nnctl.nn.fast.passes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from nnctl.nn.activations import ReLU
from nnctl.nn.fast import elementwise
from nnctl.nn.fast.elementwise import ADD, MUL, RELU, SIGN
from nnctl.nn.fast.worker import Call, Product, compute, moved, product
from nnctl.nn.layers.dense import Dense

Array = np.ndarray

_MAX_CACHED_BATCH_SIZES = 4
#: Products kept per layer (`FastDense._product`): the pieces of a few batch sizes.
_MAX_KEPT_PRODUCTS = 64
#: The fewest elements in a block of rows for which a ReLU's passes run in the kernel on this
#: thread, and where the worker runs them right after its product (`nnctl.nn.fast.passes`). A call
#: costs about 2 us more than NumPy's passes in Python (the tiny network's step went from 0.060 to
#: 0.065 ms at 32 x 64), and at 32 x 256, though faster alone (finish 2.9 us against 4.6), it made
#: the step 10 us slower; chained after the worker's product, 64 x 128 saved 25 us a step at batch
#: 128 (`benchmarks/README.md`).
KERNEL_MIN_ELEMENTS, CHAINED_MIN_ELEMENTS = 16384, 8192
#: Kernel calls kept per layer (`FastDense.finish_call`, `FastDense.activation_gradient_call`).
_MAX_KEPT_CALLS = 32


@dataclass
class _Buffers:
    """Working arrays for one batch size; dropout and ``dX`` arrays are made on first use."""

    Z: Array
    H: Array
    dZ: Array
    extra: dict[str, Array] = field(default_factory=dict)


class FastDense(Dense):
    """`Dense` computed in reused buffers and in blocks of rows; the same parameters and results."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._dZ: Array | None = None
        self._buffers: dict[int, _Buffers] = {}
        self._products: dict[
            tuple[str, int, int], tuple[tuple[Array, ...], tuple[int, ...], Product]
        ] = {}
        self._calls: dict[tuple[object, ...], tuple[tuple[Array, ...], Call | None]] = {}

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

    # --- forward --------------------------------------------------------------------------------

    def forward(
        self, X: Array, training: bool = False, rng: np.random.Generator | None = None
    ) -> Array:
        """`Dense.forward` into the batch size's buffers: `prepare`, then `forward_rows` of all."""
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
        self.X, self.Z, self.H, self.mask = X, buffers.Z, buffers.H, None
        self.output = buffers.H
        if training and self.dropout > 0.0:
            rng = rng if rng is not None else self.rng
            if rng is None:
                raise ValueError("a training forward pass with dropout needs an rng")
            self.mask = self._draw_mask(buffers, rng)
            self.output = self._extra(buffers, "Y", buffers.H.shape, self.dtype)
        return self.output

    def _draw_mask(self, buffers: _Buffers, rng: np.random.Generator) -> Array:
        """`Dense.draw_mask` into buffers: the same draws, the same values."""
        shape = buffers.H.shape
        u = self._extra(buffers, "u", shape, self.dtype)
        keep = self._extra(buffers, "keep", shape, np.bool_)
        mask = self._extra(buffers, "mask", shape, self.dtype)
        rng.random(out=u, dtype=self.dtype.type)
        np.greater_equal(u, self.dropout, out=keep)
        np.multiply(keep, 1.0 / (1.0 - self.dropout), out=mask)
        return mask

    def forward_rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` of the output, after `prepare`; returns them (a view)."""
        if self.X is None or self.Z is None or self.H is None or self.output is None:
            raise RuntimeError("forward_rows called before prepare")
        if start == 0 and stop == self.X.shape[0]:
            np.matmul(self.X, self.W, out=self.Z)
        else:
            compute(self.forward_product(start, stop))
        return self.forward_finish(start, stop)

    def forward_product(self, start: int, stop: int) -> Product:
        """The product of `forward_rows`: rows ``start:stop`` of ``Z = X @ W``, after `prepare`."""
        X, W, Z = self.X, self.W, self.Z
        if X is None or Z is None:
            raise RuntimeError("forward_product called before prepare")
        return self._product(
            ("Z", start, stop), (X, W, Z), lambda: (X[start:stop], W, Z[start:stop])
        )

    def forward_column_product(self, start: int, stop: int) -> Product:
        """Columns ``start:stop`` of ``Z = X @ W``, every row, after `prepare` (then
        `forward_finish` of every row)."""
        X, W, Z = self.X, self.W, self.Z
        if X is None or Z is None:
            raise RuntimeError("forward_column_product called before prepare")
        return self._product(("Zc", start, stop), (X, W, Z),
                             lambda: (X, W[:, start:stop], Z[:, start:stop]))  # fmt: skip

    def forward_finish(self, start: int, stop: int) -> Array:
        """The rest of `forward_rows` once its product is computed: ``Z += b``, ``H = f(Z)``, the
        mask; returns the rows of the output."""
        assert self.Z is not None and self.H is not None and self.output is not None
        call = self.finish_call(start, stop)
        if call is not None:
            compute(call)
            return self.H[start:stop]
        Z = self.Z[start:stop]
        Z += self.b
        H = self.activation.forward(Z, out=self.H[start:stop])
        if self.mask is None:
            return H
        Y: Array = np.multiply(H, self.mask[start:stop], out=self.output[start:stop])
        return Y

    def finish_call(self, start: int, stop: int, least: int | None = None) -> Call | None:
        """`forward_finish` of rows ``start:stop`` as one call of the elementwise kernel, where it
        gives NumPy's bytes: ``Z += b`` and ``H = np.maximum(Z, 0)`` row by row, for a ReLU layer
        without dropout, of at ``least`` elements (default `KERNEL_MIN_ELEMENTS`); else None."""
        Z, H = self.Z, self.H
        least = KERNEL_MIN_ELEMENTS if least is None else least
        if (stop - start) * self.units < least or Z is None or H is None:
            return None
        if not 0 <= start < stop <= len(Z) or self.mask is not None or not _relu(self.activation):
            return None
        b = self.b
        return self._kernel_call(("finish", start, stop), (Z, H, b), lambda: [
            (self.units, ((ADD, z, z, b.ctypes.data), (RELU, h, z, 0)))
            for z, h in zip(_row_addresses(Z, start, stop), _row_addresses(H, start, stop),
                            strict=True)])  # fmt: skip

    # --- backward -------------------------------------------------------------------------------

    def backward(
        self, dY: Array, need_dX: bool = True, from_logits: bool = False, fill_dW: bool = True
    ) -> Array | None:
        """`Dense.backward` into buffers; ``fill_dW=False`` leaves ``dW`` to `fill_dW_rows`.

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
        if self.X is None or self.Z is None or self.H is None:
            raise RuntimeError("backward called before forward")
        buffers = self.buffers_for(self.X.shape[0])
        self._dZ = buffers.dZ
        dZ = buffers.dZ[start:stop]
        if from_logits:
            if not np.may_share_memory(dY, dZ):  # else dY is these rows of dZ already
                np.copyto(dZ, dY)
            return dZ
        call = self.activation_gradient_call(dY, start, stop)
        if call is not None:
            compute(call)
            return dZ
        dH = dY
        if self.mask is not None:
            dH_buffer = self._extra(buffers, "dH", buffers.dZ.shape, self.dtype)
            dH = np.multiply(dY, self.mask[start:stop], out=dH_buffer[start:stop])
        return self.activation.backward(dH, self.Z[start:stop], self.H[start:stop], out=dZ)

    def activation_gradient_call(
        self, dY: Array, start: int, stop: int, least: int | None = None
    ) -> Call | None:
        """`backward_rows` of rows ``start:stop`` (not from logits) as one call of the elementwise
        kernel, where it gives NumPy's bytes: ``dZ = np.sign(H) * dY``, for a ReLU layer without
        dropout, of at ``least`` elements (default `KERNEL_MIN_ELEMENTS`); else None. Sets the
        layer's ``dZ`` as `backward_rows` does."""
        least = KERNEL_MIN_ELEMENTS if least is None else least
        if (stop - start) * self.units < least or self.X is None or self.H is None:
            return None
        if not 0 <= start < stop <= len(self.H) or self.mask is not None:
            return None
        if not _relu(self.activation):
            return None
        dZ, H = self.buffers_for(self.X.shape[0]).dZ, self.H
        self._dZ = dZ
        n = (stop - start) * self.units
        return self._kernel_call(("dZ", start, stop), (dZ, H, dY), lambda: [
            (n, ((SIGN, dZ[start].ctypes.data, H[start].ctypes.data, 0),
                 (MUL, dZ[start].ctypes.data, dZ[start].ctypes.data, dY.ctypes.data)))],
            rows=(start, stop))  # fmt: skip

    def _kernel_call(
        self,
        key: tuple[object, ...],
        arrays: tuple[Array, ...],
        segments: Callable[[], list[tuple[int, tuple[elementwise.RawOp, ...]]]],
        rows: tuple[int, int] | None = None,
    ) -> Call | None:
        """A kernel call over ``segments()``, kept while ``arrays`` stay where they are, laid out
        as they are; None where the kernel cannot run on them. ``arrays`` are the layer's
        buffers of the whole batch, but with ``rows`` the last is those rows only."""
        # The layer's buffers by identity (kept here, they stay where they are); the rows by
        # where they are (a new view each step).
        last = arrays[-1]
        full = (*key, *map(id, arrays[:-1]), *((last.ctypes.data, last.shape, last.strides,
                                               last.dtype) if rows else (id(last),)))  # fmt: skip
        kept = self._calls.get(full)
        if kept is not None:
            return kept[1]
        if len(self._calls) >= _MAX_KEPT_CALLS:
            self._calls.clear()
        start, stop = rows if rows is not None else (0, 0)
        shapes_agree = rows is None or arrays[-1].shape == (stop - start, self.units)
        call: Call | None = None
        if shapes_agree and elementwise.runs() and all(
            a.dtype == self.dtype and a.dtype.isnative and a.flags.c_contiguous
            and a.flags.writeable for a in arrays
        ) and not any(np.may_share_memory(a, b) for i, a in enumerate(arrays)
                      for b in arrays[i + 1:]):  # fmt: skip
            call = elementwise.kernel_call(self.dtype, segments(), arrays, lambda: None)
            call = call if call.job is not None else None
        self._calls[full] = (arrays, call)
        return call

    def reserve_backward(self, need_dX: bool) -> None:
        """Make the arrays `backward_rows` and `input_gradient_rows` write into, after `prepare`.

        Two threads filling different rows of one batch must find them made (`backward` makes
        them on first use otherwise).
        """
        if self.X is None:
            raise RuntimeError("reserve_backward called before prepare")
        buffers = self.buffers_for(self.X.shape[0])
        if self.mask is not None:
            self._extra(buffers, "dH", buffers.dZ.shape, self.dtype)
        if need_dX:
            self._extra(buffers, "dX", self.X.shape, self.dtype)

    def input_gradient_rows(self, start: int, stop: int) -> Array:
        """Rows ``start:stop`` of ``dX = dZ @ W.T``, after `backward_rows` filled them."""
        product = self.input_gradient_product(start, stop)
        if start == 0 and self.X is not None and stop == self.X.shape[0]:
            np.matmul(product.A, product.B, out=product.C)
        else:
            compute(product)
        return product.C

    def input_gradient_product(self, start: int, stop: int) -> Product:
        """The product of `input_gradient_rows` (rows ``start:stop`` of ``dX = dZ @ W.T``)."""
        dZ, W, dX = self._input_gradient_arrays()
        return self._product(("dX", start, stop), (dZ, W, dX),
                             lambda: (dZ[start:stop], W.T, dX[start:stop]))  # fmt: skip

    def _input_gradient_arrays(self) -> tuple[Array, Array, Array]:
        """``dZ``, ``W`` and the ``dX`` buffer, after `backward_rows`."""
        if self.X is None or self._dZ is None:
            raise RuntimeError("input_gradient_rows called before backward")
        dX = self._extra(self.buffers_for(self.X.shape[0]), "dX", self.X.shape, self.dtype)
        return self._dZ, self.W, dX

    def input_gradient_column_product(self, start: int, stop: int) -> Product:
        """Columns ``start:stop`` of ``dX = dZ @ W.T``, after `backward_rows` filled every row."""
        dZ, W, dX = self._input_gradient_arrays()
        return self._product(("dXc", start, stop), (dZ, W, dX),
                             lambda: (dZ, W[start:stop].T, dX[:, start:stop]))  # fmt: skip

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
        compute(self.dW_product(start, stop))

    def dW_product(self, start: int, stop: int) -> Product:
        """The product of `fill_dW_rows` (rows ``start:stop`` of ``dW = X.T @ dZ``)."""
        X, dZ, dW = self.X, self._dZ, self.dW
        if X is None or dZ is None:
            raise RuntimeError("fill_dW_rows called before backward")
        return self._product(("dW", start, stop), (X, dZ, dW),
                             lambda: (X[:, start:stop].T, dZ, dW[start:stop]))  # fmt: skip

    def _product(
        self,
        key: tuple[str, int, int],
        arrays: tuple[Array, ...],
        views: Callable[[], tuple[Array, Array, Array]],
    ) -> Product:
        """The product of ``views()`` of ``arrays``, made once while they stay the same arrays
        (a new batch is a new input array: its products are made again)."""
        kept = self._products.get(key)
        if kept is not None:
            parents, addresses, made = kept
            if all(a is b for a, b in zip(parents, arrays, strict=True)):
                return made
            if made.job is not None and all(map(_same_layout, parents, arrays)):
                # A new batch laid out as the last: its job with the pointers moved.
                pairs = zip(parents, arrays, addresses, strict=True)
                now = tuple(old if a is b else b.ctypes.data for a, b, old in pairs)
                made = moved(made, views(), [n - o for n, o in zip(now, addresses, strict=True)])
                self._products[key] = (arrays, now, made)
                return made
        if len(self._products) >= _MAX_KEPT_PRODUCTS:
            self._products.clear()
        made = product(*views())
        self._products[key] = (arrays, tuple(a.ctypes.data for a in arrays), made)
        return made


_RELU_CODE = (ReLU.forward, ReLU.backward)


def _relu(activation: object) -> bool:
    """Whether ``activation`` is a `ReLU` whose passes are ReLU's own, which the kernel gives
    (not a subclass, nor ones replaced: a test of `nnctl gradcheck` breaks them on purpose)."""
    return type(activation) is ReLU and (ReLU.forward, ReLU.backward) == _RELU_CODE


def _row_addresses(M: Array, start: int, stop: int) -> list[int]:
    """The addresses of rows ``start:stop`` of the C-contiguous 2-D ``M``."""
    base, stride = M.ctypes.data, M.strides[0]
    return [base + row * stride for row in range(start, stop)]


def _same_layout(a: Array, b: Array) -> bool:
    return a.shape == b.shape and a.strides == b.strides and a.dtype == b.dtype
