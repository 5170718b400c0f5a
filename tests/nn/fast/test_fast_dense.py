"""`FastDense` gives what the reference `Dense` gives: outputs, every gradient, with dropout.

Over all rows at once the two run the same operations in the same order (only into reused
buffers), so they agree exactly. In blocks of rows (what two threads do) each block is its own
matrix product, and a BLAS may pick other kernels for it, which can sum a dot product in another
order: there they agree to 1e-12 relative in float64.
"""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.layers.dense import Dense


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
