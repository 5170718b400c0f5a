"""The network: whole-network gradients, a step by hand, state, determinism, learning."""

from __future__ import annotations

import json

import numpy as np
import pytest

from nnctl.nn.errors import EngineConfigError, NonFiniteError
from nnctl.nn.losses import LOSSES, get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer


def layer(units: int, activation: str = "linear", dropout: float = 0.0, **extra) -> dict:
    return {"units": units, "activation": activation, "activation_params": {},
            "dropout": dropout, "initializer": None, **extra}  # fmt: skip


def targets(loss_name: str, n: int, units: int, rng: np.random.Generator) -> np.ndarray:
    activation = LOSSES[loss_name].activation
    if activation == "softmax":
        return rng.integers(0, units, n)
    if activation == "sigmoid":
        return rng.integers(0, 2, (n, units)).astype(np.float64)
    return rng.standard_normal((n, units))


def fit(net: Network, X, y, epochs: int, batch_size: int, rng: np.random.Generator) -> float:
    """A minimal training loop: shuffled mini-batches, as the real one does."""
    loss = float("nan")
    for _ in range(epochs):
        order = rng.permutation(len(X))
        for start in range(0, len(X), batch_size):
            idx = order[start : start + batch_size]
            loss, _ = net.train_step(X[idx], y[idx])
    return loss


@pytest.mark.parametrize("loss_name", list(LOSSES))
def test_whole_network_gradient_matches_finite_differences(loss_name, numgrad, rel_error):
    out_act = LOSSES[loss_name].activation or "linear"
    layers = [layer(5, "tanh", dropout=0.3), layer(4, "softplus"), layer(3, out_act)]
    net = Network.build(4, layers, get_loss(loss_name), np.random.default_rng(0), np.float64)
    for b in net.parameters().values():  # non-zero biases, so their gradients are checked too
        if b.ndim == 1:
            b[...] = np.random.default_rng(1).standard_normal(b.shape) * 0.1
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((6, 4)), targets(loss_name, 6, 3, rng)
    state = net.rng_state()  # the same dropout masks on every evaluation

    def loss() -> float:
        net.set_rng_state(state)
        return net.loss_and_gradient(X, y, training=True)

    loss()
    analytic = {k: g.copy() for k, g in net.gradients().items()}
    for name, param in net.parameters().items():
        assert rel_error(analytic[name], numgrad(loss, param)) < 1e-6, name


def test_one_sgd_step_worked_by_hand():
    net = Network.build(2, [layer(2, "relu"), layer(1)], "mse", np.random.default_rng(0),
                        np.float64)  # fmt: skip
    net.load_state_dict({
        "layers.0.W": [[0.1, 0.2], [0.3, -0.4]], "layers.0.b": [0.0, 0.1],
        "layers.1.W": [[0.5], [-0.6]], "layers.1.b": [0.2],
    })  # fmt: skip
    net.attach_optimizer(get_optimizer("sgd", learning_rate=0.1))
    loss, output = net.train_step(np.array([[1.0, 2.0]]), np.array([[1.0]]))
    # Z0 = [1*0.1 + 2*0.3 + 0, 1*0.2 + 2*(-0.4) + 0.1] = [0.7, -0.5];  H0 = relu(Z0) = [0.7, 0]
    # A = 0.7*0.5 + 0*(-0.6) + 0.2 = 0.55;  L = (0.55 - 1)**2 = 0.2025
    assert loss == pytest.approx(0.2025)
    assert output[0, 0] == pytest.approx(0.55)
    # dA = 2 (0.55 - 1) = -0.9;  dW1 = H0.T dA = [[-0.63], [0]];  db1 = [-0.9]
    # dH0 = dA W1.T = [-0.45, 0.54];  dZ0 = dH0 * [1, 0] = [-0.45, 0]
    # dW0 = X.T dZ0 = [[-0.45, 0], [-0.9, 0]];  db0 = [-0.45, 0]
    # p = p - 0.1 * grad
    p = net.parameters()
    np.testing.assert_allclose(p["layers.0.W"], [[0.145, 0.2], [0.39, -0.4]])
    np.testing.assert_allclose(p["layers.0.b"], [0.045, 0.1])
    np.testing.assert_allclose(p["layers.1.W"], [[0.563], [-0.6]])
    np.testing.assert_allclose(p["layers.1.b"], [0.29])


def build(seed: int, dropout: float = 0.2, dtype=np.float32) -> Network:
    layers = [layer(16, "relu", dropout), layer(8, "tanh"), layer(3, "softmax")]
    return Network.build(5, layers, "categorical_crossentropy", np.random.default_rng(seed), dtype)


DATA_RNG = np.random.default_rng(42)
X_CLS = DATA_RNG.standard_normal((90, 5)).astype(np.float32)
Y_CLS = (X_CLS[:, 0] > 0).astype(np.int64) + (X_CLS[:, 1] > 0.5)


def trained(seed: int) -> Network:
    net = build(seed)
    net.attach_optimizer(get_optimizer("adam", learning_rate=0.01), clip_grad_norm=1.0)
    fit(net, X_CLS, Y_CLS, epochs=3, batch_size=16, rng=np.random.default_rng(seed))
    return net


def test_same_seed_same_bytes_different_seed_different_weights():
    a, b, c = trained(3), trained(3), trained(4)
    for name, value in a.parameters().items():
        assert value.tobytes() == b.parameters()[name].tobytes(), name
    assert not np.array_equal(a.parameters()["layers.0.W"], c.parameters()["layers.0.W"])


def test_resumed_training_is_bit_identical():
    X, y = X_CLS, Y_CLS
    net = build(5)
    opt = get_optimizer("adamw", learning_rate=0.01)
    net.attach_optimizer(opt)
    fit(net, X, y, 2, 16, np.random.default_rng(0))
    saved = (net.state_dict(), opt.state_dict(), json.loads(json.dumps(net.rng_state())))
    spec = json.loads(json.dumps(net.spec()))
    fit(net, X, y, 2, 16, np.random.default_rng(1))

    resumed = Network.from_spec(spec)
    resumed.load_state_dict(saved[0])
    opt2 = get_optimizer("adamw", learning_rate=0.01)
    resumed.attach_optimizer(opt2)
    opt2.load_state_dict(saved[1])
    resumed.set_rng_state(saved[2])
    fit(resumed, X, y, 2, 16, np.random.default_rng(1))
    for name, value in net.parameters().items():
        assert value.tobytes() == resumed.parameters()[name].tobytes(), name


def test_xor_is_solved():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([0, 1, 1, 0])
    net = Network.build(2, [layer(8, "tanh"), layer(2, "softmax")], "categorical_crossentropy",
                        np.random.default_rng(0))  # fmt: skip
    net.attach_optimizer(get_optimizer("adam", learning_rate=0.05))
    for _ in range(300):
        net.train_step(X, y)
    np.testing.assert_array_equal(net.predict(X).argmax(axis=1), y)
    assert net.loss_value(X, y) < 0.05


def test_a_linear_target_is_fitted_to_near_zero_loss():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (200, 3))
    y = X @ np.array([[2.0], [-1.0], [0.5]]) + 0.3
    net = Network.build(3, [layer(1)], "mse", np.random.default_rng(1), np.float64)
    net.attach_optimizer(get_optimizer("sgd", learning_rate=0.1, momentum=0.9))
    fit(net, X, y, epochs=60, batch_size=20, rng=rng)
    assert net.loss_value(X, y) < 1e-10
    np.testing.assert_allclose(net.parameters()["layers.0.b"], [0.3], atol=1e-5)


def test_a_hidden_network_fits_a_smooth_regression():
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    y = (np.sin(2 * X[:, :1]) + X[:, 1:] ** 2).astype(np.float32)
    net = Network.build(2, [layer(32, "gelu"), layer(1)], get_loss("huber", delta=1.0), rng)
    net.attach_optimizer(get_optimizer("adam", learning_rate=0.01))
    before = net.loss_value(X, y)
    fit(net, X, y, epochs=80, batch_size=32, rng=rng)
    assert net.loss_value(X, y) < before / 50


def test_names_counts_spec_and_dtypes():
    net = build(0)
    assert list(net.parameters()) == ["layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b",
                                      "layers.2.W", "layers.2.b"]  # fmt: skip
    assert net.parameters()["layers.0.W"].shape == (5, 16)
    assert net.n_params() == (5 * 16 + 16) + (16 * 8 + 8) + (8 * 3 + 3)
    assert [row["params"] for row in net.summary()] == [96, 136, 27]
    assert all(p.dtype == np.float32 for p in net.parameters().values())
    assert build(0, dtype=np.float64).predict(X_CLS).dtype == np.float64
    spec = net.spec()
    assert json.loads(json.dumps(spec)) == spec
    assert spec["layers"][0] == layer(16, "relu", 0.2)
    assert spec["loss"] == {"name": "categorical_crossentropy", "params": {}}


def test_state_dict_round_trip_gives_identical_predictions():
    net = trained(1)
    other = Network.from_spec(net.spec(), rng=np.random.default_rng(99))
    other.load_state_dict(net.state_dict())
    np.testing.assert_array_equal(other.predict(X_CLS), net.predict(X_CLS))
    state = net.state_dict()
    state["layers.0.W"][...] = 0.0  # a copy: the network is untouched
    assert np.any(net.parameters()["layers.0.W"] != 0)


def test_load_state_dict_names_the_mismatch():
    net = build(0)
    state = net.state_dict()
    with pytest.raises(ValueError, match=r"'layers.1.W' has shape \(8, 16\)"):
        net.load_state_dict({**state, "layers.1.W": np.zeros((8, 16))})
    with pytest.raises(ValueError, match=r"no parameter 'layers.2.b'"):
        net.load_state_dict({k: v for k, v in state.items() if k != "layers.2.b"})
    with pytest.raises(ValueError, match=r"unexpected parameter 'layers.3.W'"):
        net.load_state_dict({**state, "layers.3.W": np.zeros(1)})


def test_predict_in_batches_matches_one_batch_and_ignores_dropout():
    net = trained(2)
    whole = net.predict(X_CLS, batch_size=1000)
    np.testing.assert_allclose(net.predict(X_CLS, batch_size=7), whole, rtol=1e-6)
    np.testing.assert_array_equal(net.predict(X_CLS), whole)  # no dropout: deterministic
    assert net.predict(X_CLS) is not net.predict(X_CLS)
    one_batch = net.loss_value(X_CLS, Y_CLS, batch_size=1000)
    assert net.loss_value(X_CLS, Y_CLS, batch_size=13) == pytest.approx(one_batch, rel=1e-5)


def test_mismatched_loss_and_output_activation_is_a_config_error():
    with pytest.raises(EngineConfigError, match=r"needs a softmax output layer.*'relu'"):
        Network.build(3, [layer(4, "relu")], "categorical_crossentropy", np.random.default_rng(0))
    with pytest.raises(EngineConfigError, match="output layer cannot have dropout"):
        Network.build(3, [layer(1, dropout=0.5)], "mse", np.random.default_rng(0))
    with pytest.raises(EngineConfigError, match="unknown key"):
        Network.build(3, [layer(1, units_=2)], "mse", np.random.default_rng(0))


def test_divergence_names_the_step_and_the_layer():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3)).astype(np.float32) * 100
    y = X @ np.ones((3, 1), dtype=np.float32) * 1e3
    net = Network.build(3, [layer(8, "relu"), layer(1)], "mse", rng)
    net.attach_optimizer(get_optimizer("sgd", learning_rate=10.0))
    with pytest.raises(NonFiniteError, match=r"at step \d+.*layer \d.*lower the learning rate"):
        for _ in range(50):
            net.train_step(X, y)
    for value in net.parameters().values():
        assert np.isfinite(value).all()  # a non-finite gradient is never applied


def test_divergence_from_bad_weights_or_inputs_points_at_them():
    net = build(0)
    net.attach_optimizer(get_optimizer("adam"))
    net.train_step(X_CLS[:8], Y_CLS[:8])
    bad = X_CLS[:8].copy()
    bad[3, 2] = np.nan
    with pytest.raises(NonFiniteError, match=r"step 2: the loss is not finite.*input batch"):
        net.train_step(bad, Y_CLS[:8])
    net.parameters()["layers.1.W"][0, 0] = np.inf
    with pytest.raises(NonFiniteError, match=r"parameters of layer 1 \(8 units, tanh\)"):
        net.train_step(X_CLS[:8], Y_CLS[:8])
    with pytest.raises(NonFiniteError, match="layer 1"):
        net.check_finite()


def test_train_step_needs_an_optimizer_and_returns_probabilities():
    net = build(0)
    with pytest.raises(RuntimeError, match="attach_optimizer"):
        net.train_step(X_CLS, Y_CLS)
    net.attach_optimizer(get_optimizer("sgd"))
    loss, output = net.train_step(X_CLS, Y_CLS, learning_rate=0.001)
    assert isinstance(loss, float) and output.shape == (90, 3)
    np.testing.assert_allclose(output.sum(axis=1), 1.0, rtol=1e-5)
    assert net.optimizer is not None and net.optimizer.iterations == 1


def test_train_step_restores_the_floating_point_mode():
    from nnctl.nn.fast import fpu

    if not fpu.FTZ_AVAILABLE:
        pytest.skip("no MXCSR on this CPU")
    before = fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS
    net = build(0)
    net.attach_optimizer(get_optimizer("adam"))
    net.train_step(X_CLS, Y_CLS)
    assert fpu.get_mxcsr() & fpu.FTZ_DAZ_BITS == before
