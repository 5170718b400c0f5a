"""``nnctl gradcheck CONFIG|MODEL``: the network and rows to check, then the check itself.

A config (``.yaml``/``.yml``) gives the network it would train, at its initial weights (drawn from
the config's seed as training draws them; nothing is trained or written), and the first rows of
its training split. A model (a run directory, a run's name, a checkpoint) gives its trained
weights and the rows of its run's test split; without one (a checkpoint outside its run, a run
without a test split, data no longer there) random rows of the right width, which the report
says. `nnctl.inspection.gradcheck` does the check.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnctl.config.loader import Config, load_config
from nnctl.data import load_training_data
from nnctl.errors import DataError, UsageError
from nnctl.inspection.gradcheck import GradcheckReport, gradcheck_network
from nnctl.nn.network import Network
from nnctl.nn.optim.optimizers import Optimizer, get_optimizer
from nnctl.store.bundle import locate_model
from nnctl.store.model import Model, load_model
from nnctl.store.runs import CONFIG_FILE
from nnctl.workflows.build import build_network
from nnctl.workflows.evaluate import evaluation_data, run_of

CONFIG_SUFFIXES = (".yaml", ".yml")
Rows = tuple[np.ndarray, np.ndarray, str, bool]


def gradcheck(
    target: Path, rows: int = 3, per_param: int = 10, runs_dir: Path | None = None, seed: int = 0
) -> GradcheckReport:
    """``nnctl gradcheck``'s report for ``target``, a config file or a MODEL argument.

    ``rows`` rows of data, ``per_param`` entries of every tensor, sampled with ``seed``.
    """
    for option, value in (("--rows", rows), ("--per-param", per_param)):
        if value < 1:
            raise UsageError(f"{option} {value}: expected a positive number of {option[2:]}")
    if target.suffix.lower() in CONFIG_SUFFIXES:
        cfg = load_config(target)
        data = load_training_data(cfg)
        network = build_network(cfg, data, np.random.SeedSequence(cfg.seed).spawn(2)[0],
                                str(target))  # fmt: skip
        X, y = data.train.X[:rows], data.train.y[:rows]
        described = f"the first {len(X)} rows of the training split"
        found: Rows = (X, y, described, False)
        source = f"{target} (initial weights, seed {cfg.seed})"
    else:
        model = load_model(locate_model(target, runs_dir))
        network, source = model.network, str(model.path)
        run_cfg, found = _model_rows(model, target, rows, seed)
        if run_cfg is not None:  # the optimizer of the run's config, for its weight decay
            network.attach_optimizer(_optimizer(run_cfg))
    decay = network.optimizer.weight_decay if network.optimizer else 0.0
    decoupled = bool(network.optimizer and network.optimizer.decoupled_weight_decay)
    X, y, described, random_inputs = found
    return gradcheck_network(network, X, y, source=source, inputs=described,
                             random_inputs=random_inputs, weight_decay=decay, decoupled=decoupled,
                             per_param=per_param, seed=seed)  # fmt: skip


def _optimizer(cfg: Config) -> Optimizer:
    """The optimizer the config describes (as `nnctl.workflows.build` makes it)."""
    return get_optimizer(cfg.optimizer.name, **cfg.optimizer.model_dump(exclude={"name"}))


def _model_rows(model: Model, target: Path, rows: int, seed: int) -> tuple[Config | None, Rows]:
    """The run's config (None outside a run) and the rows: its test split's first, else random."""
    run = run_of(target)
    cfg = load_config(run / CONFIG_FILE) if run is not None else None
    why = "the checkpoint is outside a run directory, so no data split is known"
    if run is not None:
        try:
            split, where = evaluation_data(model, target, None, None)
            X, y = split.X[:rows], split.y[:rows]
            return cfg, (X, y, f"the first {len(X)} rows of the {where}", False)
        except UsageError:
            why = "the run has no test split"
        except DataError as error:
            why = f"the run's test data cannot be read ({error.message})"
    X, y = random_rows(model.network, model.task, rows, seed)
    return cfg, (X, y, f"{len(X)} random rows (standard normal inputs), because {why}", True)


def random_rows(network: Network, task: str, rows: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``rows`` standard normal inputs (what standardized features look like) and targets.

    Targets: class indices for classification, 0/1 for binary, standard normal values (a
    standardized target) for regression, drawn from a Generator seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    units = network.layers[-1].output_shape[-1] or 1
    X = rng.standard_normal((rows, network.n_inputs))
    if task == "classification":
        return X, rng.integers(0, units, rows)
    if task == "binary":
        return X, rng.integers(0, 2, (rows, units)).astype(np.float64)
    return X, rng.standard_normal((rows, units))
