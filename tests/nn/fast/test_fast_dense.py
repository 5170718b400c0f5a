"""`FastDense` gives what the reference `Dense` gives: outputs, every gradient, with dropout.

Over all rows at once the two run the same operations in the same order (only into reused
buffers), so they agree exactly. In blocks of rows (what two threads do) each block is its own
matrix product, and a BLAS may pick other kernels for it, which can sum a dot product in another
order: there they agree to 1e-12 relative in float64. A ReLU layer without dropout runs its
elementwise passes in the kernel (`nnctl.nn.fast.elementwise`): NumPy's bytes.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.fast import dense, elementwise, fpu
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.layers.dense import Dense

needs_kernel = pytest.mark.skipif(not elementwise.runs(), reason="x86-64 Linux with AVX")


def pair(activation: str, dropout: float, dtype: type) -> tuple[Dense, FastDense]:
    """A reference and a fast layer with the same weights and biases."""
    made = [cls(7, 5, activation, dropout=dropout, rng=np.random.default_rng(0), dtype=dtype)
            for cls in (Dense, FastDense)]  # fmt: skip
    for layer in made:
        layer.b[...] = np.random.default_rng(1).standard_normal(5) * 0.1
    reference, fast = made
    assert isinstance(fast, FastDense)
    return reference, fast


def inputs(n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(2)
    return rng.standard_normal((n, 7)).astype(dtype), rng.standard_normal((n, 5)).astype(dtype)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("dropout", [0.0, 0.3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_forward_and_backward_are_the_references_exactly(activation, dropout, dtype):
    reference, fast = pair(activation, dropout, dtype)
    X, dY = inputs(9, dtype)
    expected = reference.forward(X, True, np.random.default_rng(3))
    np.testing.assert_array_equal(fast.forward(X, True, np.random.default_rng(3)), expected)
    expected_dX = reference.backward(dY)
    np.testing.assert_array_equal(fast.backward(dY), expected_dX)
    np.testing.assert_array_equal(fast.dW, reference.dW)
    np.testing.assert_array_equal(fast.db, reference.db)
    assert fast.backward(dY, need_dX=False) is None


@pytest.mark.parametrize("from_logits", [False, True])
def test_backward_from_logits_skips_the_activation_in_both(from_logits):
    reference, fast = pair("softmax", 0.0, np.float64)
    X, dY = inputs(6, np.float64)
    reference.forward(X)
    fast.forward(X)
    np.testing.assert_array_equal(fast.backward(dY, from_logits=from_logits),
                                  reference.backward(dY, from_logits=from_logits))  # fmt: skip
    np.testing.assert_array_equal(fast.dW, reference.dW)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softmax"])
@pytest.mark.parametrize("cut", [1, 4, 8])
def test_row_blocks_give_the_references_results(activation, cut):
    reference, fast = pair(activation, 0.3, np.float64)
    X, dY = inputs(9, np.float64)
    expected = reference.forward(X, True, np.random.default_rng(3)).copy()
    expected_dX = reference.backward(dY)
    output = fast.prepare(X, True, np.random.default_rng(3))
    fast.reserve_backward(need_dX=True)
    for start, stop in ((0, cut), (cut, 9)):
        fast.forward_rows(start, stop)
        fast.backward_rows(dY[start:stop], start, stop)
        fast.input_gradient_rows(start, stop)
    fast.fill_gradients(fill_dW=False)
    fast.fill_dW_rows(0, 3)
    fast.fill_dW_rows(3, 7)
    tight = {"rtol": 1e-12, "atol": 1e-15}
    np.testing.assert_allclose(output, expected, **tight)
    np.testing.assert_allclose(fast.buffers_for(9).extra["dX"], expected_dX, **tight)
    np.testing.assert_allclose(fast.dW, reference.dW, **tight)
    np.testing.assert_allclose(fast.db, reference.db, **tight)


def test_buffers_are_reused_across_steps():
    layer = FastDense(4, 3, "relu", rng=np.random.default_rng(0), dtype=np.float32)
    X = np.ones((8, 4), dtype=np.float32)
    first = layer.forward(X)
    assert layer.forward(X) is first
    assert first.dtype == np.float32 and layer.W.dtype == np.float32


def test_the_reference_allocates_new_results():
    layer = Dense(4, 3, "relu", rng=np.random.default_rng(0), dtype=np.float32)
    X = np.ones((8, 4), dtype=np.float32)
    first = layer.forward(X).copy()
    second = layer.forward(X)
    assert second is not layer.forward(X)
    np.testing.assert_array_equal(first, second)


def special_rows(n: int, units: int, dtype: type, seed: int) -> np.ndarray:
    """Rows of numbers with zeros of both signs, subnormals, infinities and NaNs of other bits."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, units)).astype(dtype)
    tiny = np.finfo(dtype).smallest_subnormal
    specials = np.array([0.0, -0.0, tiny, -tiny, np.inf, -np.inf, np.nan, -np.nan], dtype)
    x.flat[rng.integers(0, x.size, x.size // 6)] = rng.choice(specials, x.size // 6)
    return x


@needs_kernel
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("ftz", [False, True])
@pytest.mark.parametrize("units", [1, 5, 16, 37, 300])
def test_a_relu_layers_kernel_calls_give_numpys_bytes(dtype, ftz, units, monkeypatch):
    """`forward_finish` and `backward_rows` in the kernel (`finish_call`,
    `activation_gradient_call`) give the bytes of NumPy's passes, NaNs, signed zeros and
    subnormals included, in any rows (of any size here)."""
    monkeypatch.setattr(dense, "KERNEL_MIN_ELEMENTS", 1)
    results = []
    for kernel in (True, False):
        layer = FastDense(3, units, "relu", rng=np.random.default_rng(0), dtype=dtype)
        layer.b[...] = special_rows(1, units, dtype, 1)[0]
        X = np.zeros((11, 3), dtype)
        layer.prepare(X, True)
        layer.reserve_backward(need_dX=True)
        assert layer.Z is not None
        layer.Z[...] = special_rows(11, units, dtype, 2)
        dY = special_rows(11, units, dtype, 3)
        if not kernel:  # NumPy's passes, as for a layer the kernel cannot take
            layer.finish_call = lambda start, stop: None  # type: ignore[method-assign]
            layer.activation_gradient_call = lambda dY, start, stop: None  # type: ignore[method-assign]
        mode = fpu.ftz_enter() if ftz else None
        try:
            with np.errstate(all="ignore"):
                for start, stop in ((0, 4), (4, 5), (5, 11)):
                    finish = layer.finish_call(start, stop)
                    gradient = layer.activation_gradient_call(dY[start:stop], start, stop)
                    assert (finish is not None, gradient is not None) == (kernel, kernel)
                    out = layer.forward_finish(start, stop)
                    assert out.base is layer.H
                    layer.backward_rows(dY[start:stop], start, stop)
        finally:
            fpu.ftz_exit(mode)
        assert layer.H is not None
        results.append((layer.Z.tobytes(), layer.H.tobytes(), layer.buffers_for(11).dZ.tobytes()))
    assert results[0] == results[1]


@needs_kernel
def test_what_the_kernel_cannot_take_is_left_to_numpy(monkeypatch):
    """No call for another activation, dropout, empty rows, or a ``dY`` that is strided, of another
    type or shape, or over the layer's own ``dZ``; nor for fewer elements than
    ``KERNEL_MIN_ELEMENTS`` (``CHAINED_MIN_ELEMENTS`` when asked, as the worker's halves do),
    where a call costs more than NumPy's passes."""
    layer = FastDense(3, 64, "relu", rng=np.random.default_rng(0))
    layer.prepare(np.zeros((256, 3), np.float32), True)
    layer.reserve_backward(need_dX=True)
    for least in (None, dense.CHAINED_MIN_ELEMENTS):
        rows = (dense.KERNEL_MIN_ELEMENTS if least is None else least) // 64
        for start, stop, made in ((0, rows, True), (0, rows - 1, False), (1, rows, False)):
            dY = np.ones((stop - start, 64), np.float32)
            assert (layer.finish_call(start, stop, least) is not None) == made
            assert (layer.activation_gradient_call(dY, start, stop, least) is not None) == made
    monkeypatch.setattr(dense, "KERNEL_MIN_ELEMENTS", 1)
    assert FastDense(3, 4, "tanh", rng=np.random.default_rng(0)).finish_call(0, 2) is None
    for dropout in (0.0, 0.5):
        layer = FastDense(
            3, 8, "relu", dropout=dropout, rng=np.random.default_rng(0), dtype=np.float64
        )
        layer.prepare(np.zeros((6, 3)), True, np.random.default_rng(1))
        layer.reserve_backward(need_dX=True)
        dY = np.ones((6, 8))
        calls = [layer.finish_call(0, 6), layer.activation_gradient_call(dY, 0, 6)]
        assert all(call is None for call in calls) == (dropout > 0)
    assert layer.mask is not None
    layer.mask = None
    dZ = layer.buffers_for(6).dZ
    assert layer.finish_call(2, 2) is None and layer.finish_call(0, 7) is None
    for bad in (np.ones((6, 16))[:, ::2], np.ones((6, 8), np.float32), np.ones((5, 8)), dZ):
        assert layer.activation_gradient_call(bad, 0, 6) is None
    assert layer.activation_gradient_call(np.ones((6, 8)), 0, 6) is not None
