"""`nnctl.nn.gradcheck.entries`: CS231n's error by hand, the sample, kinks, weight decay."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.nn import gradcheck
from nnctl.nn.activations import ACTIVATIONS
from nnctl.nn.losses import LOSSES
from nnctl.nn.network import Network


def test_entry_error_is_cs231ns_with_a_floor() -> None:
    assert gradcheck.entry_error(1.0, 1.1) == pytest.approx(0.1 / 1.1)
    assert gradcheck.entry_error(-2.0, 2.0) == pytest.approx(2.0)  # opposite signs
    assert gradcheck.entry_error(0.0, 0.0) == 0.0
    assert gradcheck.entry_error(1e-12, 3e-12, floor=1e-8) == pytest.approx(2e-4)
    # resolution: MARGIN * eps * scale / h
    eps = np.finfo(np.float64).eps
    assert gradcheck.resolution(2.0, 1e-6) == pytest.approx(gradcheck.MARGIN * eps * 2.0 / 1e-6)


def test_the_sample_is_distinct_ordered_seeded_and_whole_when_small() -> None:
    picked = gradcheck.sample_indices((4, 5), 6, np.random.default_rng(3))
    assert len(set(picked)) == 6 and picked == sorted(picked)
    assert all(0 <= i < 4 and 0 <= j < 5 for i, j in picked)
    assert picked == gradcheck.sample_indices((4, 5), 6, np.random.default_rng(3))
    assert gradcheck.sample_indices((3,), 10, np.random.default_rng(0)) == [(0,), (1,), (2,)]


def test_every_registry_entry_is_either_kinked_or_smooth() -> None:
    kinked, smooth = gradcheck.KINKED_ACTIVATIONS, gradcheck.SMOOTH_ACTIVATIONS
    assert kinked | smooth == set(ACTIVATIONS) and not kinked & smooth
    kinked, smooth = gradcheck.KINKED_LOSSES, gradcheck.SMOOTH_LOSSES
    assert kinked | smooth == set(LOSSES) and not kinked & smooth


def _relu_net() -> Network:
    layers = [{"units": 2, "activation": "relu"}, {"units": 1, "activation": "linear"}]
    net = Network.build(2, layers, "mse", np.random.default_rng(0), dtype=np.float64)
    params = net.parameters()
    params["layers.0.W"][...] = [[1.0, -1.0], [0.5, 2.0]]
    params["layers.0.b"][...] = [0.0, 0.3]
    params["layers.1.W"][...] = [[2.0], [-1.0]]
    return net


def test_a_difference_across_a_relu_kink_is_marked_and_not_counted() -> None:
    """Row [0, 1]: unit 0's Z = 0 * 1 + 1 * 0.5 + b0, with b0 = -0.5 exactly at the kink."""
    net = _relu_net()
    net.parameters()["layers.0.b"][0] = -0.5
    X, y = np.array([[0.0, 1.0]]), np.array([[1.0]])
    checks = {c.name: c for c in gradcheck.check_network_entries(net, X, y, per_param=10)}
    b0 = next(e for e in checks["layers.0.b"].entries if e.index == (0,))
    # dL/db0 backprop: relu'(0) = 0 -> 0; the difference averages slopes 0 and 2 * (y_hat - y) * 2
    assert b0.kink and b0.analytic == 0.0 and abs(b0.numeric) > 0.1 and b0.error > 0.5
    assert checks["layers.0.b"].kinks == 1 and checks["layers.0.b"].error < 1e-6
    assert all(not e.kink for e in checks["layers.1.W"].entries)


def test_away_from_kinks_every_entry_agrees_and_the_analytic_side_is_by_hand() -> None:
    """One row [1, 1]: Z = [1.5, 1.3], A = Z, y_hat = 2 * 1.5 - 1.3 = 1.7, L = (1.7 - 1)**2."""
    net = _relu_net()
    X, y = np.array([[1.0, 1.0]]), np.array([[1.0]])
    checks = {c.name: c for c in gradcheck.check_network_entries(net, X, y, per_param=10)}
    dL = 2 * (1.7 - 1.0)  # dL/dy_hat
    by_hand = {("layers.1.W", (0, 0)): dL * 1.5, ("layers.1.b", (0,)): dL,
               ("layers.0.b", (1,)): dL * -1.0, ("layers.0.W", (0, 0)): dL * 2.0}  # fmt: skip
    for (name, index), value in by_hand.items():
        entry = next(e for e in checks[name].entries if e.index == index)
        assert entry.analytic == pytest.approx(value) and entry.numeric == pytest.approx(value)
    assert max(c.error for c in checks.values()) < 1e-7
    assert sum(c.kinks for c in checks.values()) == 0


def test_weight_decay_is_checked_on_the_weights_alone() -> None:
    net = _relu_net()
    checks = gradcheck.check_weight_decay(net, 0.1, per_param=10)
    assert [c.name for c in checks] == ["layers.0.W", "layers.1.W"]
    entry = next(e for e in checks[0].entries if e.index == (1, 1))
    assert entry.analytic == pytest.approx(0.1 * 2.0) and entry.error < 1e-7
    assert net.parameters()["layers.0.W"][1, 1] == 2.0  # the network itself is not stepped


def test_a_float32_network_is_refused() -> None:
    layers = [{"units": 1, "activation": "linear"}]
    net = Network.build(2, layers, "mse", np.random.default_rng(0))
    with pytest.raises(ValueError, match="float64"):
        gradcheck.check_network_entries(net, np.ones((1, 2)), np.ones((1, 1)))
