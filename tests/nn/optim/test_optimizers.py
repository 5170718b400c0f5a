"""Optimizers: each update rule recomputed from its written formula; validation; state."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.fast.buffers import ParameterBuffer
from nnctl.nn.optim.optimizers import OPTIMIZERS, get_optimizer

W0 = np.array([[0.5, -1.0], [2.0, 0.25]])
B0 = np.array([0.1, -0.2])
GRADS = [  # two steps, so that state and bias correction at t = 2 are exercised
    {"layers.0.W": np.array([[0.1, -0.3], [0.05, 0.0]]), "layers.0.b": np.array([0.2, -0.1])},
    {"layers.0.W": np.array([[-0.2, 0.1], [0.4, 0.3]]), "layers.0.b": np.array([0.0, 0.5])},
]
LR = 0.1


def reference(name: str, wd: float, **h: float) -> dict[str, np.ndarray]:
    """The parameters after two steps, written from each optimizer's docstring formula."""
    p = {"layers.0.W": W0.copy(), "layers.0.b": B0.copy()}
    s: dict[str, dict[str, np.ndarray]] = {k: {} for k in ("vel", "m", "v", "acc")}
    for t, grads in enumerate(GRADS, start=1):
        for key, g in grads.items():
            decays = key.endswith(".W")  # weight decay never touches biases
            if name == "adamw" and decays:
                p[key] = p[key] - LR * wd * p[key]
            elif decays:
                g = g + wd * p[key]
            if name == "sgd":
                mu = h.get("momentum", 0.0)
                v = s["vel"][key] = mu * s["vel"].get(key, 0.0) + g
                step = g + mu * v if h.get("nesterov") else v
                p[key] = p[key] - LR * step
            elif name == "rmsprop":
                v = s["v"][key] = 0.9 * s["v"].get(key, 0.0) + 0.1 * g**2
                p[key] = p[key] - LR * g / (np.sqrt(v) + 1e-7)
            elif name == "adagrad":
                acc = s["acc"][key] = s["acc"].get(key, 0.1) + g**2
                p[key] = p[key] - LR * g / (np.sqrt(acc) + 1e-7)
            else:  # adam, adamw
                m = s["m"][key] = 0.9 * s["m"].get(key, 0.0) + 0.1 * g
                v = s["v"][key] = 0.999 * s["v"].get(key, 0.0) + 0.001 * g**2
                m_hat, v_hat = m / (1 - 0.9**t), v / (1 - 0.999**t)
                p[key] = p[key] - LR * m_hat / (np.sqrt(v_hat) + 1e-7)
    return p


CASES = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("rmsprop", {}),
    ("adagrad", {}),
    ("adam", {}),
    ("adamw", {}),
]


def run(name: str, wd: float, **h: float) -> ParameterBuffer:
    params = ParameterBuffer.from_arrays(
        {"layers.0.W": W0, "layers.0.b": B0}, decayed={"layers.0.W"}
    )
    opt = get_optimizer(name, learning_rate=1.0, weight_decay=wd, **h)
    opt.bind(params)
    for grads in GRADS:
        for key, g in grads.items():
            params.grad_view(key)[...] = g
        opt.step(learning_rate=LR)  # the schedule's rate overrides the built one
    return params


@pytest.mark.parametrize(("name", "h"), CASES)
@pytest.mark.parametrize("wd", [0.0, 0.05])
def test_two_steps_follow_the_written_formula(name, h, wd):
    params = run(name, wd, **h)
    expected = reference(name, wd, **h)
    for key, value in expected.items():
        np.testing.assert_allclose(params.view(key), value, rtol=1e-12, atol=1e-14, err_msg=key)


def test_every_registered_optimizer_is_checked_against_a_formula():
    assert {name for name, _ in CASES} == set(OPTIMIZERS)


def test_adam_first_step_moves_each_weight_by_about_the_learning_rate():
    # with bias correction, m_hat / sqrt(v_hat) = g / |g| at t = 1
    params = ParameterBuffer.from_arrays({"w": np.array([3.0, -0.001, 0.0])})
    opt = get_optimizer("adam", learning_rate=0.01)
    opt.bind(params)
    params.grad[...] = [2.0, -5.0, 0.0]
    opt.step()
    np.testing.assert_allclose(params.data, [3.0 - 0.01, -0.001 + 0.01, 0.0], rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("adam", {"learning_rate": -1.0}, "learning_rate must be positive|at least"),
        ("adam", {"learning_rate": 0.0}, "learning_rate must be positive"),
        ("adam", {"beta_1": 1.0}, r"beta_1 must be in \[0, 1\)"),
        ("adam", {"beta_2": -0.1}, "beta_2"),
        ("adam", {"epsilon": 0.0}, "epsilon must be positive"),
        ("adamw", {"weight_decay": -0.01}, "weight_decay must be at least 0"),
        ("sgd", {"momentum": 1.5}, "momentum"),
        ("sgd", {"nesterov": True}, "nesterov needs a momentum"),
        ("rmsprop", {"rho": 0.0}, "rho must be positive"),
        ("adagrad", {"initial_accumulator": -1.0}, "initial_accumulator"),
        ("adam", {"learning_rate": float("nan")}, "learning_rate"),
        ("adam", {"learning_rate": "fast"}, "must be a number"),
        ("sgd", {"beta_1": 0.9}, "does not take 'beta_1'; it takes learning_rate"),
        ("adamm", {}, "did you mean 'adam'"),
    ],
)
def test_bad_hyperparameters_are_rejected_when_built(name, params, match):
    with pytest.raises(EngineConfigError, match=match):
        get_optimizer(name, **params)


def test_state_dict_names_every_moment_and_round_trips():
    params = ParameterBuffer.from_arrays({"layers.0.W": W0, "layers.0.b": B0}, {"layers.0.W"})
    opt = get_optimizer("adam")
    opt.bind(params)
    params.grad[...] = 0.5
    opt.step()
    state = opt.state_dict()
    assert set(state) == {"iterations", "m.layers.0.W", "m.layers.0.b", "v.layers.0.W",
                          "v.layers.0.b"}  # fmt: skip
    assert int(state["iterations"]) == 1
    # stored without the (1 - beta) factors: m = M / (1 - beta_1) = g, v = V / (1 - beta_2) = g**2
    np.testing.assert_allclose(state["m.layers.0.W"], 0.5)
    np.testing.assert_allclose(state["v.layers.0.b"], 0.25)
    other = get_optimizer("adam")
    other.load_state_dict(state)  # before binding: applied on bind
    other.bind(ParameterBuffer.from_arrays({"layers.0.W": W0, "layers.0.b": B0}, {"layers.0.W"}))
    assert other.iterations == 1
    np.testing.assert_array_equal(other.state_dict()["v.layers.0.b"], state["v.layers.0.b"])
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({"iterations": np.array(1)})


def test_flush_fallback_zeroes_decayed_state():
    params = ParameterBuffer.from_arrays({"w": np.array([1.0, 1.0], dtype=np.float32)})
    opt = get_optimizer("sgd", momentum=0.5)
    opt.flush_every = 1
    opt.bind(params)
    opt.state["velocity"][...] = [1e-35, 1.0]
    params.grad[...] = 0.0
    opt.step()
    np.testing.assert_array_equal(opt.state["velocity"], [0.0, 0.5])
