"""Initializers: scale, shape, dtype, determinism, the default by activation, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.initializers import INITIALIZERS, default_initializer, get_initializer
from nnctl.nn.layers.dense import Dense

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
    with pytest.raises(EngineConfigError, match="did you mean 'he_normal'"):
        get_initializer("he_norml")
