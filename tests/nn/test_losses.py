"""Losses: gradients against finite differences, stability at extreme logits, pairings."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.activations import get_activation
from nnctl.nn.errors import EngineConfigError
from nnctl.nn.losses import LOSSES, OUTPUT_LAYERS, check_loss_activation, get_loss

PARAMS = {"huber": [{}, {"delta": 0.3}]}
CASES = [(name, p) for name in LOSSES for p in PARAMS.get(name, [{}])]


def make_targets(name: str, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """Integer classes for softmax losses, 0/1 for sigmoid ones, floats for regression."""
    activation = LOSSES[name].activation
    if activation == "softmax":
        return rng.integers(0, shape[1], size=shape[0])
    if activation == "sigmoid":
        return rng.integers(0, 2, size=shape).astype(np.float64)
    return rng.standard_normal(shape)


def output_activation(name: str):
    return get_activation(LOSSES[name].activation or "linear")


@pytest.mark.parametrize(("name", "params"), CASES)
def test_gradient_matches_finite_differences(name, params, numgrad, rel_error):
    loss, act = get_loss(name, **params), output_activation(name)
    rng = np.random.default_rng(0)
    Z = rng.standard_normal((6, 3))
    y = make_targets(name, Z.shape, rng)
    if loss.activation is None:  # keep residuals away from the kinks of mae and huber
        Z = y + rng.choice([-1.0, 1.0], Z.shape) * rng.uniform(0.05, 0.25, Z.shape)
        Z[0, 0] = y[0, 0] + 2.0  # and one beyond huber's delta

    if loss.activation is None:  # dL/dA of the output

        def value() -> float:
            return loss.value(Z, Z, y)

        analytic = loss.gradient(Z, Z, y)
    else:  # fused: dL/dZ of the logits

        def value() -> float:
            return loss.value(Z, act.forward(Z), y)

        analytic = loss.gradient(Z, act.forward(Z), y)
    assert rel_error(analytic, numgrad(value, Z)) < 1e-6


def test_categorical_labels_as_integers_or_one_hot_agree():
    loss, rng = get_loss("categorical_crossentropy"), np.random.default_rng(1)
    Z = rng.standard_normal((5, 4))
    A = get_activation("softmax").forward(Z)
    labels = np.array([0, 3, 1, 1, 2])
    one_hot = np.eye(4)[labels]
    assert loss.value(Z, A, labels) == pytest.approx(loss.value(Z, A, one_hot), rel=1e-12)
    np.testing.assert_allclose(loss.gradient(Z, A, labels), loss.gradient(Z, A, one_hot))
    expected = -np.mean(np.log(A[np.arange(5), labels]))
    assert loss.value(Z, A, labels) == pytest.approx(expected, rel=1e-12)


def test_categorical_rejects_out_of_range_labels():
    loss = get_loss("categorical_crossentropy")
    Z = np.zeros((2, 3))
    with pytest.raises(ValueError, match="class label 3 is out of range for 3"):
        loss.gradient(Z, Z + 1 / 3, np.array([0, 3]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropies_are_finite_for_logits_of_1000(dtype):
    Z = np.array([[1000.0, -1000.0], [-1000.0, 1000.0]], dtype=dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        cce = get_loss("categorical_crossentropy")
        A = get_activation("softmax").forward(Z)
        # right with certainty, then wrong with certainty: (0 + 2000) / 2
        assert cce.value(Z, A, np.array([0, 0])) == pytest.approx(1000.0)
        np.testing.assert_allclose(cce.gradient(Z, A, np.array([0, 0])), [[0, 0], [-0.5, 0.5]])
        bce = get_loss("binary_crossentropy")
        A = get_activation("sigmoid").forward(Z)
        Y = np.array([[1.0, 0.0], [1.0, 1.0]], dtype=dtype)
        # losses per element: 0, 0, 1000, 0 -> mean 250
        assert bce.value(Z, A, Y) == pytest.approx(250.0)
        np.testing.assert_allclose(bce.gradient(Z, A, Y), [[0, 0], [-0.25, 0]])


def test_regression_values():
    A, y = np.array([[1.0], [4.0]]), np.array([0.0, 1.0])  # (n,) targets accepted for 1 unit
    assert get_loss("mse").value(A, A, y) == pytest.approx((1 + 9) / 2)
    assert get_loss("mae").value(A, A, y) == pytest.approx((1 + 3) / 2)
    # huber, delta 1: 0.5 * 1**2 and 1 * (3 - 0.5)
    assert get_loss("huber").value(A, A, y) == pytest.approx((0.5 + 2.5) / 2)
    with pytest.raises(ValueError, match="do not match"):
        get_loss("mse").value(A, A, np.zeros((2, 2)))


@pytest.mark.parametrize(
    ("loss", "activation", "units", "match"),
    [
        ("categorical_crossentropy", "relu", 10, "needs a softmax output layer.*'relu'"),
        ("categorical_crossentropy", "softmax", 1, "2 or more output units"),
        ("binary_crossentropy", "softmax", 2, "needs a sigmoid output layer"),
        ("binary_crossentropy", "linear", 1, "needs a sigmoid output layer"),
        ("crossentropy", "softmax", 3, "unknown loss"),
    ],
)
def test_mismatched_output_activation_is_rejected(loss, activation, units, match):
    with pytest.raises(EngineConfigError, match=match):
        check_loss_activation(loss, activation, units)


@pytest.mark.parametrize(
    ("loss", "activation", "units"),
    [
        ("categorical_crossentropy", "softmax", 3),
        ("binary_crossentropy", "sigmoid", 1),
        ("binary_crossentropy", "sigmoid", 4),
        ("mse", "linear", 2),
        ("mae", "relu", 1),
        ("huber", "sigmoid", 1),
    ],
)
def test_valid_pairings_pass(loss, activation, units):
    check_loss_activation(loss, activation, units)


@pytest.mark.parametrize("name", list(LOSSES))
def test_the_output_layer_table_has_every_loss_and_is_what_the_check_applies(name):
    rule = OUTPUT_LAYERS[name]
    assert rule.activation == LOSSES[name].activation  # the table is the losses' own pairing
    units = rule.min_units or 1
    check_loss_activation(name, rule.activation or "linear", units)
    if rule.activation is not None:
        other = "linear" if rule.activation != "linear" else "relu"
        with pytest.raises(EngineConfigError, match=f"needs a {rule.activation} output layer"):
            check_loss_activation(name, other, units)
    if rule.min_units is not None:
        with pytest.raises(EngineConfigError, match=rule.why) as error:
            check_loss_activation(name, rule.activation or "linear", rule.min_units - 1)
        assert error.value.hint == rule.hint


def test_bad_loss_parameters_are_rejected():
    with pytest.raises(EngineConfigError, match="delta must be a positive number"):
        get_loss("huber", delta=0.0)
    with pytest.raises(EngineConfigError, match="takes no parameters"):
        get_loss("mse", delta=1.0)
    assert get_loss("huber", delta=2.0).spec() == {"name": "huber", "params": {"delta": 2.0}}


@pytest.mark.parametrize("name", list(LOSSES))
@pytest.mark.parametrize("scale", [1.0, 1000.0])  # 1000: true-class probabilities underflow to 0
def test_value_and_gradient_agree_with_the_separate_methods(name, scale):
    loss, act = get_loss(name), output_activation(name)
    rng = np.random.default_rng(5)
    Z = rng.standard_normal((8, 3)).astype(np.float32) * scale
    y = make_targets(name, Z.shape, rng)
    A = act.forward(Z)
    value, grad = loss.value_and_gradient(Z, A, y)
    assert np.isfinite(value)
    assert value == pytest.approx(loss.value(Z, A, y), rel=1e-6)
    np.testing.assert_allclose(grad, loss.gradient(Z, A, y), rtol=1e-6)
