"""Learning-rate schedules: values per epoch, plateau logic, state, validation."""

from __future__ import annotations

import itertools
import math

import pytest

from nnctl.nn.errors import EngineConfigError
from nnctl.nn.optim.schedules import get_schedule


def test_constant_is_the_default():
    for name in (None, "constant"):
        s = get_schedule(name, base_lr=0.1, epochs=5)
        assert [s.lr(e) for e in range(3)] == [0.1, 0.1, 0.1]


def test_step_and_exponential():
    s = get_schedule("step", base_lr=1.0, step_size=2, gamma=0.5)
    assert [s.lr(e) for e in range(5)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    e = get_schedule("exponential", base_lr=2.0, gamma=0.5)
    assert [e.lr(i) for i in range(3)] == [2.0, 1.0, 0.5]


def test_cosine_warms_up_linearly_then_decays_to_min_lr_at_the_last_epoch():
    s = get_schedule("cosine", base_lr=1.0, epochs=7, warmup_epochs=2, min_lr=0.1)
    lrs = [s.lr(e) for e in range(7)]
    assert lrs[:2] == [0.5, 1.0]  # warm-up reaches base_lr at its last epoch
    assert lrs[2] == pytest.approx(1.0)  # cosine starts at base_lr...
    assert lrs[4] == pytest.approx(0.1 + 0.9 * (1 + math.cos(math.pi / 2)) / 2)
    assert lrs[6] == pytest.approx(0.1)  # ...and ends at min_lr on the last epoch
    assert all(a >= b for a, b in itertools.pairwise(lrs[2:]))


def test_reduce_on_plateau_waits_patience_epochs():
    s = get_schedule("reduce_on_plateau", base_lr=1.0, patience=2, factor=0.5, min_lr=0.2)
    losses = [1.0, 0.9, 0.95, 0.92, 0.91, 0.89, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95]
    lrs = []
    for epoch, loss in enumerate(losses):
        lrs.append(s.lr(epoch))
        s.on_epoch_end(epoch, {"val_loss": loss, "loss": 0.0})
    # no improvement after epochs 2, 3 -> halve at the end of epoch 3; 0.89 improves at 5;
    # then epochs 6, 7 -> 0.25; 8, 9 -> 0.2 (min_lr)
    assert lrs == [1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.2, 0.2]


def test_reduce_on_plateau_maximizes_accuracy_and_round_trips_its_state():
    s = get_schedule("reduce_on_plateau", base_lr=1.0, monitor="val_accuracy", patience=0)
    s.set_direction("max")  # what the workflow passes for accuracy (training.metrics.direction)
    s.on_epoch_end(0, {"val_accuracy": 0.5})
    s.on_epoch_end(1, {"val_accuracy": 0.6})  # better: higher
    assert s.lr(2) == 1.0
    s.on_epoch_end(2, {"val_accuracy": 0.55})
    assert s.lr(3) == pytest.approx(0.1)
    restored = get_schedule("reduce_on_plateau", base_lr=1.0, monitor="val_accuracy", patience=0)
    restored.load_state_dict(s.state_dict())
    assert restored.state_dict() == s.state_dict()
    with pytest.raises(EngineConfigError, match="monitors 'val_accuracy'"):
        s.on_epoch_end(3, {"val_loss": 1.0})


@pytest.mark.parametrize(
    ("name", "params", "match"),
    [
        ("cosine", {"warmup_epochs": 10}, "warmup_epochs .10. must be less than"),
        ("cosine", {"min_lr": 1.0}, "min_lr"),
        ("step", {"gamma": 0.0}, "gamma"),
        ("step", {"step_size": 0}, "step_size"),
        ("reduce_on_plateau", {"factor": 1.0}, "factor"),
        ("exponential", {"step_size": 3}, "does not take 'step_size'"),
        ("cosin", {}, "did you mean 'cosine'"),
    ],
)
def test_bad_parameters_are_rejected(name, params, match):
    with pytest.raises(EngineConfigError, match=match):
        get_schedule(name, base_lr=0.1, epochs=10, **params)
