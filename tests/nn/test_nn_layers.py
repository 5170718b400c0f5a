"""Dense layers and initializers: gradients, dropout, initial weights."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.errors import ConfigError
from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.initializers import INITIALIZERS, default_initializer, get_initializer
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


def test_buffers_are_reused_across_steps():
    layer = make_dense("relu", dtype=np.float32)
    X = np.ones((8, 4), dtype=np.float32)
    first = layer.forward(X)
    assert layer.forward(X) is first
    assert first.dtype == np.float32 and layer.W.dtype == np.float32


@pytest.mark.parametrize(("units", "dropout"), [(0, 0.0), (3, 1.0), (3, -0.1)])
def test_bad_layer_arguments_are_rejected(units, dropout):
    with pytest.raises(ConfigError):
        Dense(4, units, dropout=dropout, rng=np.random.default_rng(0))


# --- initializers -------------------------------------------------------------------------------

# (name, expected standard deviation for fan_in=400, fan_out=200)
EXPECTED_STD = {
    "glorot_uniform": np.sqrt(6 / 600) / np.sqrt(3),
    "glorot_normal": np.sqrt(2 / 600),
    "he_uniform": np.sqrt(6 / 400) / np.sqrt(3),
    "he_normal": np.sqrt(2 / 400),
    "lecun_normal": np.sqrt(1 / 400),
    "zeros": 0.0,
}


@pytest.mark.parametrize("name", list(INITIALIZERS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_initializer_scale_shape_dtype(name, dtype):
    W = get_initializer(name)((400, 200), np.random.default_rng(0), np.dtype(dtype))
    assert W.shape == (400, 200) and W.dtype == dtype
    assert W.std() == pytest.approx(EXPECTED_STD[name], rel=0.02, abs=1e-12)
    assert abs(W.mean()) < 0.01


@pytest.mark.parametrize("name", list(INITIALIZERS))
def test_initializer_is_deterministic(name):
    f = get_initializer(name)
    a = f((30, 20), np.random.default_rng(7), np.dtype(np.float32))
    b = f((30, 20), np.random.default_rng(7), np.dtype(np.float32))
    np.testing.assert_array_equal(a, b)


def test_default_initializer_suits_the_activation():
    for relu_like in ("relu", "leaky_relu", "elu", "gelu"):
        assert default_initializer(relu_like) == "he_uniform"
    for other in ("tanh", "sigmoid", "linear", "softmax", "softplus"):
        assert default_initializer(other) == "glorot_uniform"
    layer = Dense(1000, 50, "relu", rng=np.random.default_rng(0))
    assert np.abs(layer.W).max() <= np.sqrt(6 / 1000)
    assert np.abs(layer.W).max() > np.sqrt(6 / 1050)  # wider than Glorot would allow
    np.testing.assert_array_equal(layer.b, 0.0)


def test_unknown_initializer_is_rejected():
    with pytest.raises(ConfigError, match="did you mean 'he_normal'"):
        get_initializer("he_norml")
