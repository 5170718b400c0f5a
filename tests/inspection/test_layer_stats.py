"""Each statistic of ``layer_stats.csv`` against a hand computation on a tiny network."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pytest

from nnctl.inspection.layer_stats import (
    PROBE_STREAM,
    ActivationStats,
    LayerStatsWriter,
    activation_stats,
    gradient_norms,
    probe_indices,
    probe_split,
    update_ratio,
    weight_stats,
)
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.training.split import Split
from nnctl.training.trainer import Trainer

W0 = [[1.0, -1.0], [0.5, 2.0]]
B0 = [0.0, -1.0]
W1 = [[2.0], [-1.0]]
B1 = [0.5]


def tiny(dropout: float = 0.0) -> Network:
    """2 inputs -> 2 relu units -> 1 linear unit, mse, float64, with the weights above."""
    layers = [{"units": 2, "activation": "relu", "dropout": dropout}, {"units": 1}]
    net = Network.build(2, layers, get_loss("mse"), np.random.default_rng(0), np.float64)
    net.load_state_dict({"layers.0.W": np.array(W0), "layers.0.b": np.array(B0),
                         "layers.1.W": np.array(W1), "layers.1.b": np.array(B1)})  # fmt: skip
    return net


class Rows:
    """An in-memory ``layer_stats.csv``."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []

    def extend(self, rows: Sequence[Mapping[str, Any]]) -> None:
        self.rows.extend(dict(row) for row in rows)

    def at(self, epoch: int, layer: int) -> dict[str, Any]:
        (row,) = [r for r in self.rows if (r["epoch"], r["layer"]) == (epoch, layer)]
        return row


def test_weight_statistics_by_hand() -> None:
    W = np.array([[1.0, -2.0], [3.0, 0.0]], dtype=np.float32)
    stats = weight_stats(W, np.array([3.0, 4.0]))
    assert stats["w_mean"] == 0.5  # (1 - 2 + 3 + 0) / 4
    assert stats["w_std"] == pytest.approx(math.sqrt((1 + 4 + 9 + 0) / 4 - 0.25))
    assert stats["w_norm"] == pytest.approx(math.sqrt(14))
    assert stats["b_norm"] == 5.0


def test_update_ratio_is_the_step_over_the_weights_it_left() -> None:
    W = np.array([[3.0, 0.0], [0.0, 4.0]])  # ||W|| = 5
    before = W - np.array([[0.0, 0.003], [0.004, 0.0]])  # a step of norm 0.005
    assert update_ratio(before, W) == pytest.approx(1e-3)
    assert math.isnan(update_ratio(W * 0, W * 0))


def test_gradient_norms_by_hand() -> None:
    # Z0 = X @ W0 + b0 = [[2, 2], [-0.5, 2]]; A0 = relu(Z0) = [[2, 2], [0, 2]]
    # Z1 = A0 @ W1 + b1 = [[2.5], [-1.5]]; L = mean((Z1 - y)^2)
    # dL/dZ1 = 2 (Z1 - y) / 2 = [1.5, -1.5]
    # dW1 = A0.T @ dZ1 = [[3], [0]]                                   -> ||dW1|| = 3
    # dZ0 = (dZ1 @ W1.T) * [Z0 > 0] = [[3, -1.5], [0, 1.5]]
    # dW0 = X.T @ dZ0 = [[3, -3], [6, -1.5]]                          -> ||dW0|| = 7.5
    X, y = np.array([[1.0, 2.0], [-1.0, 1.0]]), np.array([[1.0], [0.0]])
    assert gradient_norms(tiny(), X, y) == pytest.approx([7.5, 3.0])
    # Eval mode: dropout (on layer 0) changes nothing and draws nothing.
    net = tiny(dropout=0.5)
    state = net.rng_state()
    assert gradient_norms(net, X, y) == pytest.approx([7.5, 3.0])
    assert net.rng_state() == state
    assert net.parameters()["layers.0.W"].tolist() == W0


def test_activation_statistics_and_dead_units_by_hand() -> None:
    # Z0 = X @ W0 + b0 = [[-0.5, 2], [-2, 1]]: unit 0 is never positive (dead), unit 1 is.
    # A0 = [[0, 2], [0, 1]]: mean 0.75, mean of squares 1.25, std sqrt(1.25 - 0.5625)
    # A1 = A0 @ W1 + b1 = [[-1.5], [-0.5]]: mean -1, std 0.5; linear: no dead or saturated units
    X, y = np.array([[-1.0, 1.0], [-2.0, 0.0]]), np.zeros((2, 1))
    first, last = activation_stats(tiny(), X, y)
    assert first["a_mean"] == 0.75
    assert first["a_std"] == pytest.approx(math.sqrt(1.25 - 0.75**2))
    assert (first["dead_fraction"], first["saturated_fraction"]) == (0.5, None)
    assert (last["a_mean"], last["a_std"]) == (-1.0, 0.5)
    assert (last["dead_fraction"], last["saturated_fraction"]) == (None, None)


@pytest.mark.parametrize("name, near, far", [("tanh", -0.995, 0.5), ("sigmoid", 0.995, 0.5)])
def test_saturated_means_near_a_bound_on_more_than_99_percent_of_rows(
    name: str, near: float, far: float
) -> None:
    # Unit 0 within 0.01 of a bound on all 200 rows: saturated. Unit 1 on 198 of 200 (99%, not
    # more): not. Unit 2 never. So 1 of 3.
    A = np.full((200, 3), near)
    A[:2, 1] = far
    A[:, 2] = far
    stats = ActivationStats(name, 3)
    stats.add(A[:150])
    stats.add(A[150:])  # in two batches, as the validation pass gives them
    result = stats.result()
    assert result["saturated_fraction"] == pytest.approx(1 / 3)
    assert result["dead_fraction"] is None
    assert result["a_mean"] == pytest.approx(A.mean())
    assert result["a_std"] == pytest.approx(A.std())
    A[:2, 1] = [near, far]  # unit 1 near a bound on 199 of 200 rows (> 99%): saturated too
    again = ActivationStats(name, 3)
    again.add(A)
    assert again.result()["saturated_fraction"] == pytest.approx(2 / 3)  # 199 of 200 > 99%


def test_no_rows_gives_empty_activation_statistics() -> None:
    assert set(ActivationStats("relu", 2).result().values()) == {None}


def test_the_probe_is_drawn_from_the_seed_on_a_stream_of_its_own() -> None:
    a, b = probe_indices(1000, seed=3), probe_indices(1000, seed=3)
    assert a.tolist() == b.tolist() and len(set(a.tolist())) == 256
    assert a.tolist() == sorted(a.tolist())
    assert a.tolist() != probe_indices(1000, seed=4).tolist()
    assert probe_indices(10, seed=3).tolist() == list(range(10))  # fewer rows: all of them
    training_keys = [child.spawn_key for child in np.random.SeedSequence(3).spawn(2)]
    assert (PROBE_STREAM,) not in training_keys


def _trainer(
    net: Network, train: Split, validation: Split | None, rows: Rows, **kw: Any
) -> Trainer:
    net.attach_optimizer(get_optimizer("sgd", learning_rate=0.1))
    writer = LayerStatsWriter(rows, probe_split(train, seed=0))
    schedule = get_schedule("constant", base_lr=0.1, epochs=kw.get("epochs", 2))
    return Trainer(net, train, validation, task="regression", metrics=[], shuffle=False,
                   schedule=schedule, rng=np.random.default_rng(0), callbacks=[writer],
                   **{"epochs": 2, "batch_size": 4, **kw})  # fmt: skip


def _data() -> tuple[Split, Split]:
    rng = np.random.default_rng(1)
    X = rng.standard_normal((6, 2))
    return Split(X[:4], X[:4, :1] - X[:4, 1:]), Split(X[4:], X[4:, :1])


def test_epoch_0_is_the_initial_network_and_one_step_epochs_give_lr_times_the_gradient() -> None:
    train, validation = _data()
    rows = Rows()
    trainer = _trainer(tiny(), train, validation, rows)  # one batch of all 4 rows an epoch
    trainer.fit()
    assert [(r["epoch"], r["layer"]) for r in rows.rows] == [
        (e, i) for e in range(3) for i in (0, 1)
    ]
    start = rows.at(0, 0)
    assert start["w_norm"] == pytest.approx(weight_stats(np.array(W0), np.array(B0))["w_norm"])
    assert start["grad_norm"] == pytest.approx(gradient_norms(tiny(), train.X, train.y)[0])
    assert (start["update_ratio"], start["lr"]) == (None, None)
    assert start["a_mean"] == activation_stats(tiny(), validation.X, validation.y)[0]["a_mean"]
    # The probe is every training row and each epoch one SGD step on them: the step of epoch 1
    # is lr * dW at the initial weights, so update_ratio * ||W|| = lr * grad_norm of epoch 0.
    for layer in (0, 1):
        one = rows.at(1, layer)
        assert one["lr"] == 0.1
        assert one["update_ratio"] * one["w_norm"] == pytest.approx(
            0.1 * rows.at(0, layer)["grad_norm"]
        )
        assert rows.at(2, layer)["update_ratio"] * rows.at(2, layer)["w_norm"] == pytest.approx(
            0.1 * one["grad_norm"]
        )
    # The activations of the last epoch are those of the final network on the validation rows.
    final = activation_stats(trainer.network, validation.X, validation.y)
    assert rows.at(2, 0)["a_std"] == final[0]["a_std"]


def test_the_update_ratio_is_the_epochs_last_step() -> None:
    train, validation = _data()
    rows = Rows()
    _trainer(tiny(), train, validation, rows, batch_size=1, epochs=1).fit()  # 4 steps
    by_hand = tiny()
    by_hand.attach_optimizer(get_optimizer("sgd", learning_rate=0.1))
    for i in range(3):
        by_hand.train_step(train.X[i : i + 1], train.y[i : i + 1], learning_rate=0.1)
    before = by_hand.state_dict()
    by_hand.train_step(train.X[3:], train.y[3:], learning_rate=0.1)
    after = by_hand.parameters()
    for layer in (0, 1):
        W = f"layers.{layer}.W"
        assert rows.at(1, layer)["update_ratio"] == pytest.approx(update_ratio(before[W], after[W]))


def test_without_validation_the_activations_come_from_the_probe() -> None:
    train, _ = _data()
    rows = Rows()
    trainer = _trainer(tiny(), train, None, rows, epochs=1)
    trainer.fit()
    expected = activation_stats(trainer.network, train.X, train.y)  # the probe: all 4 rows
    assert rows.at(1, 0)["a_mean"] == expected[0]["a_mean"]
    assert rows.at(1, 0)["dead_fraction"] == expected[0]["dead_fraction"]
