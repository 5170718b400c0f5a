"""Activations: gradients against finite differences, known values, stability, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.activations import ACTIVATIONS, get_activation
from nnctl.nn.errors import EngineConfigError

# Inputs keep away from 0 so that the kinks of relu and friends are not straddled by +-h.
rng0 = np.random.default_rng(0)
Z_TEST = rng0.choice([-1.0, 1.0], size=(5, 4)) * rng0.uniform(0.05, 3.0, size=(5, 4))

PARAMS = {"leaky_relu": [{}, {"alpha": 0.2}, {"alpha": 1.5}], "elu": [{}, {"alpha": 0.5}]}
CASES = [(name, p) for name in ACTIVATIONS for p in PARAMS.get(name, [{}])]


@pytest.mark.parametrize(("name", "params"), CASES)
def test_backward_matches_finite_differences(name, params, numgrad, rel_error):
    act = get_activation(name, **params)
    Z = Z_TEST.copy()
    R = np.random.default_rng(1).standard_normal(Z.shape)  # L = sum(R * f(Z)), so dL/dA = R

    def loss() -> float:
        return float(np.sum(R * act.forward(Z)))

    A = act.forward(Z)
    analytic = act.backward(R.copy(), Z, A)
    assert rel_error(analytic, numgrad(loss, Z)) < 1e-6


@pytest.mark.parametrize(("name", "params"), CASES)
def test_out_buffers_and_in_place_backward_agree(name, params):
    act = get_activation(name, **params)
    Z = Z_TEST.copy()
    dA = np.random.default_rng(2).standard_normal(Z.shape)
    A = act.forward(Z)
    A_out = act.forward(Z, out=np.empty_like(Z))
    np.testing.assert_array_equal(A, A_out)
    dZ = act.backward(dA.copy(), Z, A)
    in_place = dA.copy()
    result = act.backward(in_place, Z, A, out=in_place)
    np.testing.assert_allclose(result, dZ, rtol=1e-15)
    np.testing.assert_array_equal(Z, Z_TEST)  # forward and backward leave Z alone


@pytest.mark.parametrize(("name", "params"), CASES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extreme_inputs_stay_finite_and_keep_dtype(name, params, dtype):
    act = get_activation(name, **params)
    Z = np.array([[-1000.0, -30.0, 0.0, 30.0, 1000.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # underflow is fine
        A = act.forward(Z)
        dZ = act.backward(np.ones_like(Z), Z, A)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert np.isfinite(A).all() and np.isfinite(dZ).all()


def test_known_values():
    z = np.array([[-2.0, 0.0, 3.0]])
    np.testing.assert_allclose(get_activation("relu").forward(z), [[0, 0, 3]])
    np.testing.assert_allclose(get_activation("leaky_relu", alpha=0.1).forward(z), [[-0.2, 0, 3]])
    np.testing.assert_allclose(get_activation("elu").forward(z), [[np.expm1(-2), 0, 3]])
    np.testing.assert_allclose(get_activation("sigmoid").forward(z), 1 / (1 + np.exp(-z)))
    np.testing.assert_allclose(get_activation("tanh").forward(z), np.tanh(z))
    np.testing.assert_allclose(get_activation("softplus").forward(z), np.log1p(np.exp(z)))
    np.testing.assert_allclose(get_activation("linear").forward(z), z)
    # GELU(x) ~ x * Phi(x): Phi(-2) = 0.02275, Phi(3) = 0.99865
    np.testing.assert_allclose(
        get_activation("gelu").forward(z), [[-2 * 0.02275, 0, 3 * 0.99865]], atol=1e-3
    )
    softmax = get_activation("softmax").forward(z)
    np.testing.assert_allclose(softmax, np.exp(z) / np.exp(z).sum())


def test_softmax_rows_sum_to_one_for_huge_logits():
    A = get_activation("softmax").forward(np.array([[1000.0, -1000.0, 999.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(A.sum(axis=1), 1.0)
    np.testing.assert_allclose(A[0], [1 / (1 + np.exp(-1)), 0, np.exp(-1) / (1 + np.exp(-1))])


def test_unknown_name_suggests_the_closest():
    with pytest.raises(EngineConfigError, match="did you mean 'relu'"):
        get_activation("rleu")


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("relu", {"alpha": 0.1}, "takes no parameters"),
        ("leaky_relu", {"beta": 0.1}, "takes alpha"),
        ("elu", {"alpha": -1.0}, "positive"),
        ("elu", {"alpha": float("nan")}, "positive"),
    ],
)
def test_bad_parameters_are_rejected(name, params, match):
    with pytest.raises(EngineConfigError, match=match):
        get_activation(name, **params)
