"""The reference dense layer: gradients, the formula, dropout, argument checks."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.errors import EngineConfigError
from nnctl.nn.layers.dense import Dense


def make_dense(activation: str, dropout: float = 0.0, dtype=np.float64) -> Dense:
    return Dense(4, 3, activation, dropout=dropout, rng=np.random.default_rng(0), dtype=dtype)


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_dense_gradients_match_finite_differences(activation, dropout, numgrad, rel_error):
    layer = make_dense(activation, dropout)
    layer.b[...] = np.random.default_rng(1).standard_normal(3) * 0.1
    X = np.random.default_rng(2).standard_normal((5, 4))
    R = np.random.default_rng(3).standard_normal((5, 3))  # L = sum(R * Y)

    def loss() -> float:  # the same dropout mask on every call
        return float(np.sum(R * layer.forward(X, True, np.random.default_rng(4))))

    loss()
    dX = layer.backward(R.copy())
    analytic = {"W": layer.dW.copy(), "b": layer.db.copy(), "X": dX.copy()}
    for name, array in (("W", layer.W), ("b", layer.b), ("X", X)):
        assert rel_error(analytic[name], numgrad(loss, array)) < 1e-6, name


def test_forward_is_x_at_w_plus_b_and_first_layer_skips_dx():
    layer = make_dense("linear")
    X = np.arange(8.0).reshape(2, 4)
    np.testing.assert_allclose(layer.forward(X), X @ layer.W + layer.b)
    assert layer.backward(np.ones((2, 3)), need_dX=False) is None
    np.testing.assert_allclose(layer.dW, X.T @ np.ones((2, 3)))
    np.testing.assert_allclose(layer.db, [2, 2, 2])


def test_dropout_only_in_training_and_inverted():
    layer = make_dense("linear", dropout=0.5)
    layer.W[...] = 0.0
    layer.b[...] = 1.0
    X = np.zeros((2000, 4))
    np.testing.assert_array_equal(layer.forward(X), 1.0)  # inference: no dropout
    Y = layer.forward(X, training=True, rng=np.random.default_rng(0))
    assert set(np.unique(Y)) == {0.0, 2.0}  # kept outputs scaled by 1 / (1 - 0.5)
    assert abs((Y == 0).mean() - 0.5) < 0.02
    assert abs(Y.mean() - 1.0) < 0.04  # the expectation is unchanged
    with pytest.raises(ValueError, match="rng"):
        layer.forward(X, training=True)


@pytest.mark.parametrize(("units", "dropout"), [(0, 0.0), (3, 1.0), (3, -0.1)])
def test_bad_layer_arguments_are_rejected(units, dropout):
    with pytest.raises(EngineConfigError):
        Dense(4, units, dropout=dropout, rng=np.random.default_rng(0))
