"""`nnctl.nn.gradcheck`: every registry entry passes, and a wrong gradient is caught."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import gradcheck
from nnctl.nn.activations import ACTIVATIONS, Softmax
from nnctl.nn.fast.dense import FastDense
from nnctl.nn.layers.dense import Dense
from nnctl.nn.losses import LOSSES, get_loss
from nnctl.nn.network import Network

rng0 = np.random.default_rng(0)
Z_TEST = rng0.choice([-1.0, 1.0], size=(5, 4)) * rng0.uniform(0.05, 3.0, size=(5, 4))


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_every_activation_passes(name):
    result = gradcheck.check_activation(name, Z_TEST)
    assert result.passed(1e-6), result.worst
    assert [c.name for c in result.checks] == ["Z"] and result.checks[0].size == Z_TEST.size


class DiagonalSoftmax(Softmax):
    """The warning example: the Jacobian's diagonal only, ``dZ = dA * A * (1 - A)``."""

    def backward(self, dA, Z, A, out=None):
        return dA * A * (1 - A)


def test_a_softmax_with_only_the_diagonal_is_caught():
    result = gradcheck.check_activation(DiagonalSoftmax(), Z_TEST)
    assert result.max_error > 0.1
    assert not result.passed()


@pytest.mark.parametrize("name", list(LOSSES))
def test_every_loss_passes(name):
    loss, rng = get_loss(name), np.random.default_rng(1)
    if loss.activation == "softmax":
        Z, y = rng.standard_normal((6, 3)), rng.integers(0, 3, 6)
    elif loss.activation == "sigmoid":
        Z, y = rng.standard_normal((6, 3)), rng.integers(0, 2, (6, 3)).astype(float)
    else:  # residuals away from the kinks of mae and huber
        y = rng.standard_normal((6, 3))
        Z = y + rng.choice([-1.0, 1.0], y.shape) * rng.uniform(0.05, 0.25, y.shape)
    result = gradcheck.check_loss(loss, Z, y)
    assert result.passed(1e-6), result.worst
    assert result.checks[0].name == ("A" if loss.activation is None else "Z")


@pytest.mark.parametrize("cls", [Dense, FastDense])
@pytest.mark.parametrize("dropout", [0.0, 0.4])
def test_dense_layers_pass_for_every_array(cls, dropout):
    layer = cls(4, 3, "tanh", dropout=dropout, rng=np.random.default_rng(0), dtype=np.float64)
    layer.b[...] = 0.1
    result = gradcheck.check_layer(layer, np.random.default_rng(2).standard_normal((5, 4)))
    assert [c.name for c in result.checks] == ["W", "b", "X"]
    assert result.passed(1e-6), result.worst


def test_a_layer_that_forgets_its_bias_gradient_is_caught():
    layer = Dense(4, 3, "linear", rng=np.random.default_rng(0), dtype=np.float64)
    original = layer.backward

    def backward(dY, need_dX=True, from_logits=False):
        dX = original(dY, need_dX, from_logits)
        layer.db[...] = 0.0
        return dX

    layer.backward = backward  # type: ignore[method-assign]
    result = gradcheck.check_layer(layer, np.ones((5, 4)))
    assert result.worst.name == "b" and result.worst.analytic_norm == 0.0
    assert result.worst.numeric_norm > 0 and result.max_error == pytest.approx(1.0)


def test_a_network_passes_and_a_float32_one_is_copied_first():
    layers = [{"units": 5, "activation": "tanh", "dropout": 0.3},
              {"units": 3, "activation": "softmax"}]  # fmt: skip
    net = Network.build(4, layers, "categorical_crossentropy", np.random.default_rng(0))
    X, y = np.random.default_rng(1).standard_normal((6, 4)), np.array([0, 1, 2, 0, 1, 2])
    with pytest.raises(ValueError, match="float64"):
        gradcheck.check_network(net, X, y)
    copy = gradcheck.as_float64(net)
    assert copy.dtype == np.float64
    np.testing.assert_allclose(copy.parameters()["layers.0.W"], net.parameters()["layers.0.W"])
    result = gradcheck.check_network(copy, X, y)
    assert [c.name for c in result.checks] == list(net.parameters())
    assert result.passed(1e-6), result.worst


def test_relative_error_is_zero_for_equal_and_one_for_opposite_arrays():
    a = np.array([1.0, -2.0])
    assert gradcheck.relative_error(a, a) == 0.0
    assert gradcheck.relative_error(a, -a) == pytest.approx(1.0)
    assert gradcheck.relative_error(np.zeros(2), np.zeros(2)) == 0.0
