"""The engine's errors become nnctl's at the boundary: the same message, hint and exit code."""

from __future__ import annotations

import numpy as np
import pytest

from nnctl.errors import EXIT_DIVERGED, EXIT_USAGE, ConfigError, TrainingDiverged
from nnctl.nn.errors import EngineConfigError, NonFiniteError
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import get_schedule
from nnctl.training.boundary import engine_errors, translate
from nnctl.training.trainer import Split, Trainer


def test_translate_keeps_the_message_and_hint_and_gives_the_exit_code():
    config = translate(EngineConfigError("unknown loss 'mse2'", hint="use mse"))
    assert isinstance(config, ConfigError) and config.exit_code == EXIT_USAGE
    assert (config.message, config.hint, config.problems) == ("unknown loss 'mse2'", "use mse",
                                                              ["unknown loss 'mse2'"])  # fmt: skip
    diverged = translate(NonFiniteError("training diverged at step 3", hint="lower it"))
    assert isinstance(diverged, TrainingDiverged) and diverged.exit_code == EXIT_DIVERGED
    assert (str(diverged), diverged.hint) == ("training diverged at step 3", "lower it")


def test_engine_errors_translates_engine_errors_only():
    with pytest.raises(ConfigError, match="did you mean 'relu'") as error, engine_errors():
        Network.build(3, [{"units": 2, "activation": "rleu"}], "mse", np.random.default_rng(0))
    assert error.value.__cause__ is None and not isinstance(error.value, EngineConfigError)
    with pytest.raises(KeyError), engine_errors():
        raise KeyError("not the engine's")


def _trainer(X: np.ndarray, y: np.ndarray, schedule_monitor: str | None = None) -> Trainer:
    net = Network.build(2, [{"units": 1}], get_loss("mse"), np.random.default_rng(0))
    net.attach_optimizer(get_optimizer("sgd", learning_rate=1e6))
    schedule = (get_schedule("reduce_on_plateau", base_lr=1e6, monitor=schedule_monitor)
                if schedule_monitor else get_schedule("constant", base_lr=1e6))  # fmt: skip
    rng = np.random.default_rng(0)
    return Trainer(net, Split(X, y), None, task="regression", metrics=[], epochs=50,
                   batch_size=4, shuffle=False, schedule=schedule, rng=rng)  # fmt: skip


def test_the_trainer_reports_divergence_as_training_diverged():
    X = np.full((8, 2), 1e20, dtype=np.float32)
    with pytest.raises(TrainingDiverged, match="training diverged at step"):
        _trainer(X, np.ones((8, 1), dtype=np.float32)).fit()


def test_the_trainer_reports_a_schedule_monitoring_nothing_as_a_config_error():
    X, y = np.zeros((8, 2), dtype=np.float32), np.zeros((8, 1), dtype=np.float32)
    with pytest.raises(ConfigError, match="monitors 'val_loss', which is not among"):
        _trainer(X, y, schedule_monitor="val_loss").fit()
