"""A config's engine objects: the network with its optimizer, and the learning-rate schedule.

The one place where a `Config`'s model, loss, optimizer and schedule sections become `nnctl.nn`
objects; the network is refused first when its output layer does not fit the data's classes or
when training it would not fit in this machine's memory.
"""

from __future__ import annotations

import numpy as np

from nnctl.config.checks import output_units_problem
from nnctl.config.loader import Config
from nnctl.data import Datasets
from nnctl.errors import ConfigError
from nnctl.nn.losses import get_loss
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import get_optimizer
from nnctl.nn.optim.schedules import ReduceOnPlateau, Schedule, get_schedule
from nnctl.training.boundary import engine_errors
from nnctl.training.metrics import direction
from nnctl.workflows.memory import memory_hint, network_memory_problem


def build_network(
    cfg: Config, data: Datasets, seed_seq: np.random.SeedSequence, source: str = "config"
) -> Network:
    """The network the config describes, for the data's input width and classes.

    ``source`` (the config file) starts the message when the output layer does not fit the data.
    """
    pre = data.preprocessor
    n_classes = len(pre.class_names) if pre.class_names is not None else None
    problem = output_units_problem(cfg, n_classes)
    if problem is not None:
        names = f" ({', '.join(pre.class_names[:10])})" if pre.class_names else ""
        raise ConfigError(f"{source}: {problem}{names}")
    too_big = network_memory_problem(cfg, pre.n_features, n_rows=len(data.train.X))
    if too_big is not None:
        raise ConfigError(f"{source}: {too_big}", hint=memory_hint(too_big))
    layers = [
        {
            "units": layer.units,
            "activation": layer.activation_name,
            "activation_params": layer.activation_params,
            "dropout": layer.dropout,
            "initializer": layer.initializer,
        }
        for layer in cfg.model.layers
    ]
    with engine_errors():  # the engine's exceptions as the config's, same messages
        network = Network.build(
            n_inputs=pre.n_features,
            layers=layers,
            loss=get_loss(cfg.loss_name, **cfg.loss_params),
            rng=np.random.default_rng(seed_seq),
            dtype=np.dtype(cfg.training.dtype),
        )
        options = cfg.optimizer.model_dump(exclude={"name"})
        network.attach_optimizer(
            get_optimizer(cfg.optimizer.name, **options), clip_grad_norm=cfg.training.clip_grad_norm
        )
    return network


def build_schedule(cfg: Config) -> Schedule:
    """The learning-rate schedule, constant when the config names none."""
    lr = cfg.optimizer.learning_rate
    with engine_errors():
        if cfg.schedule is None:
            return get_schedule("constant", base_lr=lr, epochs=cfg.training.epochs)
        options = cfg.schedule.model_dump(exclude={"name"})
        schedule = get_schedule(
            cfg.schedule.name, base_lr=lr, epochs=cfg.training.epochs, **options
        )
        if isinstance(schedule, ReduceOnPlateau):
            schedule.set_direction(direction(schedule.monitor))
        return schedule
